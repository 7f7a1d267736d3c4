"""Notifications: webhooks (signed JSON, retried with backoff) and Apprise URLs.

    kinds.py         the event kinds a target subscribes to
    payload.py       the download summary, the JSON body, the text for chat services (pure)
    signing.py       the webhook headers and their HMAC-SHA256 signature; ``verify`` (pure)
    backoff.py       how long to wait before trying again (pure)
    targets.py       a configured target as a value; checks and redaction of its URL
    apprise_urls.py  the Apprise library behind a small interface
    delivery.py      one attempt, and the retry loop around it
    notifier.py      :class:`Notifier`: ``emit`` an event, deliveries run in the background

The worker calls ``notifier.emit_ended(kind, row)`` when a download completes or fails, and
``notifier.emit(kind, owner_key, download_summary(...))`` for other events.
Targets are configured through :class:`haul.service.notifications.NotificationService`.
"""

from haul.notify.backoff import Backoff
from haul.notify.kinds import EVENT_KINDS, EventKind
from haul.notify.notifier import Notifier
from haul.notify.payload import DownloadSummary, StoredDownload, download_summary, summary_of
from haul.notify.signing import verify
from haul.notify.targets import Target

__all__ = [
    "EVENT_KINDS",
    "Backoff",
    "DownloadSummary",
    "EventKind",
    "Notifier",
    "StoredDownload",
    "Target",
    "download_summary",
    "summary_of",
    "verify",
]
