"""Reports: a compliance statement rendered as a PDF for a judge or a monitor.

WeasyPrint lays out HTML from a Jinja2 template; matplotlib draws the charts as SVG.
Both are imported only when a PDF is rendered.
"""

from privline.adapters.reports.pdf import RenderError, render_pdf

__all__ = ["RenderError", "render_pdf"]
