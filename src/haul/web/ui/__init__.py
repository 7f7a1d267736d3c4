"""The web UI: server-rendered pages that the script in ``static/haul.js`` keeps live."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from haul.web.ui import add, clients, downloads, library, logs, settings
from haul.web.ui.render import STATIC


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (downloads, add, library, clients, logs, settings):
        app.include_router(module.router)
