"""The Apprise library behind one small interface: check a URL, hide it, send through it.

Apprise is synchronous (it uses requests and each service's own SDK), so :func:`send` is
meant to run in a worker thread; :class:`haul.notify.Notifier` does that. Apprise URLs embed
tokens and passwords (``tgram://<bot token>/<chat>``): outside this module they are shown only
as their scheme (:func:`redact`).
"""

from __future__ import annotations

import threading
import warnings
from typing import Final

import apprise

_loaded = threading.Lock()
_ready = False

NOTIFY_TYPES: Final = {
    "completed": apprise.NotifyType.SUCCESS,
    "imported": apprise.NotifyType.SUCCESS,
    "failed": apprise.NotifyType.FAILURE,
}


def _plugins() -> None:
    """Load Apprise's plugins once. Some import modules that Python 3.11 deprecates
    (``imghdr``): that warning is Apprise's business, not a haul user's."""
    global _ready
    if _ready:
        return
    with _loaded:
        if _ready:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            apprise.Apprise.instantiate("json://localhost")  # any URL loads every plug-in
        _ready = True


def scheme(url: str) -> str:
    head, sep, _ = url.strip().partition("://")
    return head.lower() if sep and head.isascii() and head.replace("+", "").isalnum() else ""


def redact(url: str) -> str:
    """What may be shown of an Apprise URL: its scheme only (the rest holds tokens)."""
    found = scheme(url)
    return f"{found}://…" if found else "…"


def understood(url: str) -> bool:
    """True when Apprise has a service for ``url`` and its details are well-formed."""
    _plugins()
    return apprise.Apprise.instantiate(url) is not None


def send(url: str, title: str, body: str, kind: str) -> bool:
    """Notify through ``url`` once (blocking); True when the service took it."""
    _plugins()
    service = apprise.Apprise()
    if not service.add(url):
        return False
    notify_type = NOTIFY_TYPES.get(kind, apprise.NotifyType.INFO)
    return bool(service.notify(body=body, title=title, notify_type=notify_type))
