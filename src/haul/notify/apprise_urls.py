"""The Apprise library behind one small interface: check a URL, hide it, send through it.

Apprise is synchronous (it uses requests and each service's own SDK), so :func:`send` is
meant to run in a worker thread; :class:`haul.notify.Notifier` does that. Apprise URLs embed
tokens and passwords (``tgram://<bot token>/<chat>``): outside this module they are shown only
as their scheme (:func:`redact`).
"""

from __future__ import annotations

import threading
import warnings
from types import ModuleType
from typing import Final

_loaded = threading.Lock()
_module: ModuleType | None = None

#: Apprise's notify types by event kind (``success``, ``failure``, ``info``).
NOTIFY_TYPES: Final = {"completed": "success", "imported": "success", "failed": "failure"}


def _plugins() -> ModuleType:
    """Import Apprise and load its plugins once, when an Apprise URL is first used (about
    20 MiB a server without Apprise targets never pays). Some plugins import modules that
    Python 3.11 deprecates (``imghdr``): that warning is Apprise's business, not a user's."""
    global _module
    if _module is not None:
        return _module
    with _loaded:
        if _module is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                import apprise

                apprise.Apprise.instantiate("json://localhost")  # any URL loads every plug-in
            _module = apprise
    return _module


def scheme(url: str) -> str:
    head, sep, _ = url.strip().partition("://")
    return head.lower() if sep and head.isascii() and head.replace("+", "").isalnum() else ""


def redact(url: str) -> str:
    """What may be shown of an Apprise URL: its scheme only (the rest holds tokens)."""
    found = scheme(url)
    return f"{found}://…" if found else "…"


def understood(url: str) -> bool:
    """True when Apprise has a service for ``url`` and its details are well-formed."""
    return _plugins().Apprise.instantiate(url) is not None


def send(url: str, title: str, body: str, kind: str) -> bool:
    """Notify through ``url`` once (blocking); True when the service took it."""
    apprise = _plugins()
    service = apprise.Apprise()
    if not service.add(url):
        return False
    notify_type = apprise.NotifyType(NOTIFY_TYPES.get(kind, "info"))
    return bool(service.notify(body=body, title=title, notify_type=notify_type))
