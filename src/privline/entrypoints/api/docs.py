"""/docs: the OpenAPI explorer served from this package, under the pages' CSP.

FastAPI's own /docs and /redoc pull scripts from a CDN (no integrity check) onto the same
origin as the staff pages, and start them with an inline script. Here Swagger UI's files
come from the swagger-ui-py package (its ``static`` folder), the page has no inline script
or style, and every answer carries the same security headers as every portal page.
/redoc is gone; /openapi.json stays.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from privline.entrypoints.web.render import SECURITY_HEADERS

router = APIRouter(prefix="/docs", include_in_schema=False)

_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
           "favicon-32x32.png": "image/png"}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>privline API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""

# A file, not an inline script: the CSP allows scripts from this server only.
_START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""

_CACHE = {"Cache-Control": "public, max-age=3600"}


def _headers(**extra: str) -> dict[str, str]:
    return SECURITY_HEADERS | extra


@router.get("")
def docs_page() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers=_headers(**{"Cache-Control": "no-store"}))


@router.get("/start.js")
def docs_start() -> Response:
    return Response(_START, media_type="text/javascript", headers=_headers(**_CACHE))


@router.get("/{name}")
def docs_asset(name: str) -> Response:
    media_type = _ASSETS.get(name)
    if media_type is None:  # only the files named above, never a path into the package
        return Response(status_code=404, headers=_headers())
    data = resources.files("swagger_ui").joinpath("static", name).read_bytes()
    return Response(data, media_type=media_type, headers=_headers(**_CACHE))
