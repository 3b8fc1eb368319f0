"""The web portal: professionals register numbers; staff review them. Server-rendered.

Importing this package loads nothing heavy: the CLI reads the session secret through
:mod:`privline.entrypoints.web.session` without pulling in templates.
"""
