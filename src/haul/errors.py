"""The one exception tree of haul.

Every error haul raises on purpose derives from :class:`HaulError`. Foreign errors (httpx,
yt-dlp, SQLAlchemy, client libraries) are translated into this tree at the boundary where they
arrive, with ``raise ... from exc``. The HTTP layer maps the tree to status codes in one place
(``haul.web.errors``). A class docstring is the default message a person reads.

    HaulError
    ├── BadSettings                a HAUL_* setting haul cannot use
    ├── InputError                 the request itself is wrong (HTTP 422)
    │   ├── InvalidFields          several fields at once, each with its sentence
    │   │   ├── InvalidConfig
    │   │   ├── InvalidAccount
    │   │   ├── InvalidProfile
    │   │   ├── InvalidChoice      a download's own format or audio choice
    │   │   └── InvalidSubscription
    │   ├── InvalidURL
    │   ├── ForbiddenAddress
    │   ├── TorrentsNotAllowed
    │   ├── InvalidTorrent
    │   ├── UnknownProfile
    │   ├── UnknownClient
    │   ├── NoClientForSource
    │   ├── InvalidMediaItem
    │   ├── InvalidTemplate
    │   ├── FormatsUnavailable     a page whose formats cannot be listed (why: the message)
    │   ├── OutsideLibrary
    │   ├── UnknownEventKind
    │   ├── InvalidTargetURL
    │   ├── InvalidLinkRequest
    │   ├── GlobalNeedsAdmin
    │   └── InvalidCursor
    ├── NotFound                   no such download / file (HTTP 404)
    │   ├── ProfileNotFound
    │   ├── InvalidLink            a file link that is malformed, was tampered with, or whose
    │   │                          download was deleted (one answer for all)
    │   └── IptvNotFound           no such provider, stream, series or episode
    ├── Unauthorized               nobody is logged in, or the credentials are wrong (HTTP 401)
    │   └── LoginFailed
    ├── Forbidden                  the caller may not do that (HTTP 403)
    │   ├── NoAccount
    │   └── CsrfRejected
    ├── Gone                       it existed, and no longer does (HTTP 410)
    │   └── ExpiredLink            a file link past its expiry
    ├── Conflict                   the request collides with existing state (HTTP 409)
    │   ├── DuplicateDownload
    │   ├── InvalidTransition
    │   ├── ProfileExists
    │   ├── ProfileInUse
    │   └── ProviderDisabled
    ├── PayloadTooLarge            an upload larger than haul accepts (HTTP 413)
    ├── LimitExceeded              over an admission limit with policy ``reject`` (HTTP 429)
    │   └── TooManyListings        over the limit of format listings (HTTP 429)
    ├── TooManyAttempts            too many failed logins from one place (HTTP 429)
    ├── StartRefused               haul will not start as configured (the CLI says why)
    ├── ClientError                a download client failed or cannot be reached (HTTP 502)
    │   ├── ClientUnavailable
    │   ├── ClientItemNotFound     the client does not hold that item; ``ref`` says which
    │   ├── ClientAuthFailed
    │   ├── ClientVersionUnsupported
    │   └── ClientRefused
    ├── ProviderError              an IPTV provider failed or cannot be reached (HTTP 502)
    │   ├── ProviderAuthFailed
    │   ├── ProviderUnavailable
    │   └── ProviderBadAnswer
    ├── TransferError              moving bytes failed; ``transient`` says if a retry may help
    │   ├── TransientTransferError
    │   │   ├── LengthMismatch
    │   │   ├── DiskFull           no room on the disk: the download waits for space, no retry spent
    │   │   └── ClientGone         its external client cannot be reached: the download waits
    │   ├── PermanentTransferError
    │   │   ├── UnsupportedSource
    │   │   ├── PlaylistRefused
    │   │   ├── AddressRefused     a connection that would reach a forbidden address
    │   │   └── NoClient           no configured client can take the download
    │   └── TransferStopped        paused or canceled on purpose; not a failure
    ├── StorageError               the database misbehaved or its schema is not current (HTTP 503)
    │   └── SealedUnreadable       sealed data (site cookies) and the key file here disagree
    ├── CredentialsFileError       the CLI cannot read or write its file of saved logins
    ├── BackupError                a backup cannot be made or restored (the message says why)
    ├── ApiError                   the CLI's request was refused by the server
    │   └── LoginNeeded
    └── ServerUnreachable          the CLI cannot reach the server

Adapters may keep private subclasses of a public class for their own use, never caught by
name outside the adapter: aria2's ``Aria2RpcError`` (with aria2's code and words) and its
``Aria2Unauthorized`` (a :class:`ClientAuthFailed`) and ``Aria2ItemNotFound`` (a
:class:`ClientItemNotFound`); the direct engine's ``RangesRefused`` (a server that does not
serve ranges as promised: the engine goes on over one connection) and ``_Short`` (a range's
answer that ended early), both :class:`TransientTransferError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


class HaulError(Exception):
    """Something went wrong in haul."""

    #: A short machine-readable code stored with failures and returned by the API.
    code = "error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or self.code).strip().splitlines()[0]
        super().__init__(self.message)


class BadSettings(HaulError):
    """A ``HAUL_*`` setting has a value haul cannot use."""

    code = "bad_settings"


class InputError(HaulError):
    """The request is not valid."""

    code = "invalid_input"


class InvalidFields(InputError):
    """Some fields of the request have values they cannot take."""

    code = "invalid_fields"

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        #: field -> the sentence saying what is wrong with it (the API returns it as ``errors``).
        self.problems = dict(problems)


class InvalidConfig(InvalidFields):
    """A setting has a value it cannot take."""

    code = "invalid_config"


class InvalidAccount(InvalidFields):
    """The account's details cannot be used."""


class InvalidProfile(InvalidFields):
    """A profile field has a value it cannot take."""

    code = "invalid_profile"


class InvalidChoice(InvalidFields):
    """The format or audio chosen for this download cannot be used."""

    code = "invalid_choice"


class InvalidSubscription(InvalidFields):
    """Some settings of the subscription cannot be used."""

    code = "invalid_subscription"


class InvalidURL(InputError):
    """That is not a URL haul can download."""

    code = "invalid_url"


class ForbiddenAddress(InputError):
    """That address is not allowed as a download source."""

    code = "forbidden_address"


class TorrentsNotAllowed(InputError):
    """Visitors of this instance may not download torrents."""

    code = "torrents_not_allowed"


class InvalidTorrent(InputError):
    """That is not a valid .torrent file."""

    code = "invalid_torrent"


class UnknownProfile(InputError):
    """There is no profile with that name."""

    code = "unknown_profile"


class UnknownClient(InputError):
    """There is no download client by that name."""

    code = "unknown_client"


class NoClientForSource(InputError):
    """No configured download client can take this source."""

    code = "no_client"


class InvalidMediaItem(InputError):
    """That media item is not valid."""

    code = "invalid_media_item"


class InvalidTemplate(InputError):
    """That naming template cannot be used."""

    code = "invalid_template"


class FormatsUnavailable(InputError):
    """haul could not list the formats of that page."""

    code = "formats_unavailable"


class OutsideLibrary(InputError):
    """That path would leave the library."""

    code = "outside_library"


class UnknownEventKind(InputError):
    """That is not an event kind haul sends."""

    code = "unknown_event_kind"


class InvalidTargetURL(InputError):
    """That is not a URL haul can send notifications to."""

    code = "invalid_notification_url"


class InvalidLinkRequest(InputError):
    """A link cannot be made that way."""

    code = "invalid_link_request"


class GlobalNeedsAdmin(InputError):
    """Only an administrator can set up notifications for everyone's downloads."""

    code = "global_needs_admin"


class InvalidCursor(InputError):
    """The cursor is not one this server handed out."""

    code = "invalid_cursor"


class NotFound(HaulError):
    """No such download."""

    code = "not_found"


class ProfileNotFound(NotFound):
    """There is no profile with that name."""

    code = "profile_not_found"


class InvalidLink(NotFound):
    """This link does not lead to a file."""

    code = "invalid_link"


class IptvNotFound(NotFound):
    """The IPTV provider has no such stream, series or episode."""

    code = "iptv_not_found"


class Unauthorized(HaulError):
    """Log in first: this haul needs an account (a session cookie or an API token)."""

    code = "unauthorized"


class LoginFailed(Unauthorized):
    """That user name and password do not match an account."""

    code = "login_failed"


class Forbidden(HaulError):
    """You are not allowed to do that."""

    code = "forbidden"


class NoAccount(Forbidden):
    """The local user of a single-user haul has no account; make one on the Users page."""

    code = "no_account"


class CsrfRejected(Forbidden):
    """This form was not sent by a haul page: reload the page and try again."""

    code = "csrf_failed"


class Gone(HaulError):
    """That is no longer available."""

    code = "gone"


class ExpiredLink(Gone):
    """This link has expired."""

    code = "link_expired"

    def __init__(self, message: str | None = None, *, expired_at: datetime | None = None) -> None:
        super().__init__(message)
        self.expired_at = expired_at


class Conflict(HaulError):
    """The request conflicts with the current state."""

    code = "conflict"


class DuplicateDownload(Conflict):
    """The same source is already being downloaded."""

    code = "duplicate"
    #: How a person asks for it anyway, said the same way in every interface.
    AGAIN = (
        'to download it again, add it with force (haul add --force, or "force": true in the API)'
    )

    def __init__(self, message: str | None = None, *, existing_id: int | None = None) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class InvalidTransition(Conflict):
    """The download cannot do that in its current state."""

    code = "invalid_transition"


class ProfileExists(Conflict):
    """There is already a profile with that name."""

    code = "profile_exists"


class ProfileInUse(Conflict):
    """Unfinished downloads use that profile."""

    code = "profile_in_use"


class ProviderDisabled(Conflict):
    """The IPTV provider is disabled."""

    code = "provider_disabled"


class PayloadTooLarge(HaulError):
    """The upload is larger than haul accepts."""

    code = "too_large"


class LimitExceeded(HaulError):
    """Too many active downloads; try again when one has finished."""

    code = "limit_exceeded"


class TooManyListings(LimitExceeded):
    """You are listing pages (their formats, a subscription checked now) too often; wait a
    little before asking again."""

    code = "too_many_listings"

    def __init__(self, message: str | None = None, *, retry_after: float = 5.0) -> None:
        super().__init__(message)
        #: Seconds until the caller may ask again.
        self.retry_after = retry_after


class TooManyAttempts(HaulError):
    """Too many failed logins; wait a little before trying again."""

    code = "too_many_attempts"

    def __init__(self, message: str | None = None, *, retry_after: float = 60.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StartRefused(HaulError):
    """haul will not start with these settings."""

    code = "start_refused"


class ClientError(HaulError):
    """The download client reported an error."""

    code = "client_error"


class ClientUnavailable(ClientError):
    """The download client cannot be reached."""

    code = "client_unavailable"


class ClientItemNotFound(ClientError):
    """The download client does not hold that item."""

    code = "client_item_not_found"

    def __init__(self, message: str | None = None, *, ref: str | None = None) -> None:
        super().__init__(message)
        #: The client's reference for the item it did not know (a GID, an info-hash), if known.
        self.ref = ref


class ClientAuthFailed(ClientError):
    """The download client refused haul's credentials."""

    code = "client_auth_failed"


class ClientVersionUnsupported(ClientError):
    """The download client's version is not one haul supports."""

    code = "client_version_unsupported"


class ClientRefused(ClientError):
    """The download client refused the request."""

    code = "client_refused"


class ProviderError(HaulError):
    """The IPTV provider failed. Messages never contain its credentials.

    ``transient`` says whether asking again later may help (an unreachable or overloaded
    provider), as for :class:`TransferError`.
    """

    code = "provider_error"
    transient = False


class ProviderAuthFailed(ProviderError):
    """The IPTV provider refused the username or password (or the account is not active)."""

    code = "provider_auth_failed"


class ProviderUnavailable(ProviderError):
    """The IPTV provider cannot be reached or is overloaded."""

    code = "provider_unavailable"
    transient = True


class ProviderBadAnswer(ProviderError):
    """The IPTV provider answered with something that is not the Xtream Codes API."""

    code = "provider_bad_answer"
    transient = True


class TransferError(HaulError):
    """The transfer failed."""

    code = "transfer_failed"
    transient = False

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        #: Seconds the remote side asked us to wait (HTTP ``Retry-After``), when it said so.
        self.retry_after = retry_after


class TransientTransferError(TransferError):
    """The transfer failed for a reason that may go away (timeout, reset, HTTP 5xx or 429)."""

    code = "transient"
    transient = True


class LengthMismatch(TransientTransferError):
    """The file that arrived does not have the length the server announced."""

    code = "length_mismatch"


class DiskFull(TransientTransferError):
    """The disk the download is written to is full.

    Not a failure of the source: the download waits for space (queued, its part kept) and
    spends no retry (see :meth:`haul.worker.outcomes.Outcomes.waiting_for_space`).
    """

    code = "disk_full"

    def __init__(
        self, message: str | None = None, *, needed: int | None = None, free: int | None = None
    ) -> None:
        super().__init__(message)
        #: Bytes the download still has to write, when known.
        self.needed = needed
        #: Bytes it found free for it (after what running downloads claimed), when measured.
        self.free = free


class ClientGone(TransientTransferError):
    """The client cannot be reached now; the download waits for it."""


class PermanentTransferError(TransferError):
    """The transfer failed for a reason a retry will not fix."""

    code = "permanent"


class UnsupportedSource(PermanentTransferError):
    """No extractor or engine understands that URL."""

    code = "unsupported_url"


class PlaylistRefused(PermanentTransferError):
    """Visitors without an account may download single videos only; this page is a playlist."""

    code = "playlist_refused"


class AddressRefused(PermanentTransferError):
    """haul does not connect to that address (link-local, cloud metadata, or a private one
    where this instance does not allow them), however the source led there: its host name,
    a redirect or a link. Raised by :mod:`haul.net.guard` before the connection is made."""

    code = "forbidden_address"

    def __init__(
        self, message: str | None = None, *, address: str = "", host: str | None = None
    ) -> None:
        super().__init__(message)
        #: The IP address haul refused to connect to, and the host name it came from if known.
        self.address = address
        self.host = host


class NoClient(PermanentTransferError):
    """No configured download client can take this download."""

    code = "no_client"


class TransferStopped(TransferError):
    """The transfer was stopped on purpose (pause, cancel or shutdown)."""

    code = "stopped"


class StorageError(HaulError):
    """The database is not usable."""

    code = "storage_error"


class SealedUnreadable(StorageError):
    """Sealed data cannot be opened here: the key file is missing or is another one."""

    code = "sealed_unreadable"


class CredentialsFileError(HaulError):
    """The file of saved logins cannot be read or written."""


class BackupError(HaulError):
    """The backup cannot be made or restored."""

    code = "backup_error"


class ApiError(HaulError):
    """The server refused the request."""

    def __init__(self, status: int, detail: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.body = body or {}


class LoginNeeded(ApiError):
    """The server answered 401: nobody is logged in, or the token was refused. ``detail`` is
    the server's own sentence (a login command shows that one: a wrong password)."""

    def __init__(self, server: str, detail: str, body: dict[str, Any], *, sent_token: bool) -> None:
        message = f"haul at {server} needs a login: run 'haul login' or set HAUL_TOKEN"
        if sent_token:
            message += f" (the token was refused: {detail})"
        super().__init__(401, message, body)
        self.detail = detail


class ServerUnreachable(HaulError):
    """The haul server cannot be reached."""
