"""The `privline` command line."""

from privline.entrypoints.cli.main import app, main

__all__ = ["app", "main"]
