"""The web UI: server-rendered pages that the script in ``static/haul.js`` keeps live."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from haul.web.deps import get_account
from haul.web.ui import (
    accounts,
    add,
    clients,
    cookies,
    downloads,
    library,
    login,
    logs,
    settings,
    subscriptions,
    users,
)
from haul.web.ui.render import STATIC


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (downloads, add, clients, logs, settings, login, accounts, users, cookies):
        app.include_router(module.router)
    # The library belongs to people with an account, not to anonymous visitors.
    app.include_router(library.router, dependencies=[Depends(get_account)])
    app.include_router(subscriptions.router, dependencies=[Depends(get_account)])
