"""The API's interactive documentation (``/api/v1/docs``): Swagger UI, served by haul.

FastAPI's own page loads Swagger UI's script and style from a CDN, so it is blank on a machine
without internet access (or behind a policy that blocks CDNs). The same files ship in the
``fastapi-offline`` package, which keeps them current; haul serves them under
``/api/v1/docs/assets`` and FastAPI's page points there.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from haul.web.basepath import base_of

ASSETS = Path(fastapi_offline.__file__).parent / "static"


def install(app: FastAPI, prefix: str) -> None:
    """``{prefix}/docs`` and its assets, for the schema at ``app.openapi_url``."""
    assets = f"{prefix}/docs/assets"
    schema = str(app.openapi_url)
    title = f"{app.title} - Swagger UI"

    async def docs(request: Request) -> HTMLResponse:
        base = base_of(request.scope)
        return get_swagger_ui_html(
            openapi_url=base + schema,
            title=title,
            swagger_js_url=f"{base}{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{assets}/swagger-ui.css",
            swagger_favicon_url=f"{base}/static/haul.svg",
            oauth2_redirect_url=None,
        )

    app.add_api_route(f"{prefix}/docs", docs, include_in_schema=False)
    app.mount(assets, StaticFiles(directory=ASSETS), name="docs-assets")
