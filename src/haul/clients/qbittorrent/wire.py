"""qBittorrent's Web API v2 through ``qbittorrent-api``, one method per call haul uses.

The library is synchronous: every call runs in a thread (:func:`asyncio.to_thread`), one at a
time per wire, because its session (a ``requests.Session`` with the login cookie) is rebuilt on
re-login. It logs in on the first call and again, once, when qBittorrent answers 403 (an expired
or revoked session); it uses the 4.x or 5.x name of a renamed call (``pause``/``stop``,
``resume``/``start``, ``paused``/``stopped``) after asking for the Web API version.

Foreign errors stop here: a daemon that cannot be reached or does not answer in time raises
:class:`~haul.errors.ClientUnavailable`; refused credentials :class:`~haul.errors.ClientAuthFailed`;
an unknown info-hash :class:`~haul.errors.ClientItemNotFound`; a Web API that lacks a call
:class:`~haul.errors.ClientVersionUnsupported`; anything else qBittorrent refuses
:class:`~haul.errors.ClientRefused` or :class:`~haul.errors.ClientError`. No message ever
carries the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import qbittorrentapi
import requests

from haul.errors import (
    ClientAuthFailed,
    ClientError,
    ClientItemNotFound,
    ClientRefused,
    ClientUnavailable,
    ClientVersionUnsupported,
)

T = TypeVar("T")


class QbitWire:
    """A thin async face on one qBittorrent Web API. Close it with :meth:`aclose`.

    ``timeout`` bounds each call: qbittorrent-api tries a failed request twice, so each try
    gets half of it.
    """

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.where = f"qBittorrent at {_public(url)}"
        self.timeout = timeout
        self._lock = threading.Lock()
        self._answered = False  # whether the last call got an answer (a session may exist)
        self._api = qbittorrentapi.Client(
            host=url,
            username=username,
            password=password,
            FORCE_SCHEME_FROM_HOST=True,
            REQUESTS_ARGS={"timeout": timeout / 2},
            HTTPADAPTER_ARGS={"max_retries": 0},
            RAISE_NOTIMPLEMENTEDERROR_FOR_UNIMPLEMENTED_API_ENDPOINTS=True,
            SIMPLE_RESPONSES=True,
            DISABLE_LOGGING_DEBUG_OUTPUT=True,
        )

    async def aclose(self) -> None:
        """End the session (when there is one) and close the connections."""
        await asyncio.to_thread(self._close)

    async def __aenter__(self) -> QbitWire:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- the calls -------------------------------------------------------------------------

    async def app_version(self) -> str:
        """``app/version``, e.g. ``v4.5.2``."""
        return str(await self._call("ask for its version", self._api.app_version))

    async def web_api_version(self) -> str:
        """``app/webapiVersion``, e.g. ``2.8.19``; a 404 means a pre-4.1 Web API (v1)."""
        try:
            answer = await self._call("ask for its Web API version", self._api.app_web_api_version)
        except ClientItemNotFound as exc:
            raise ClientVersionUnsupported(
                f"{self.where} has no Web API v2 (qBittorrent 4.1 or newer is needed)."
            ) from exc
        return str(answer)

    async def torrents_info(
        self, *, category: str | None = None, hashes: Collection[str] | None = None
    ) -> list[dict[str, Any]]:
        """``torrents/info``, narrowed by category and by info-hashes."""
        answer = await self._call(
            "list its torrents",
            lambda: self._api.torrents_info(
                category=category, torrent_hashes=None if hashes is None else list(hashes)
            ),
        )
        return _dicts(answer, self.where, "torrents/info")

    async def torrents_files(self, torrent_hash: str) -> list[dict[str, Any]]:
        """``torrents/files`` of one torrent (names relative to its save path)."""
        answer = await self._call(
            f"list the files of torrent {torrent_hash}",
            lambda: self._api.torrents_files(torrent_hash),
            ref=torrent_hash,
        )
        return _dicts(answer, self.where, "torrents/files")

    async def categories(self) -> dict[str, Any]:
        """``torrents/categories``: name -> its settings."""
        answer = await self._call("list its categories", self._api.torrents_categories)
        return dict(answer or {})

    async def create_category(self, name: str) -> None:
        """``torrents/createCategory`` (409 when it exists or the name is not valid)."""
        await self._call(
            f"create the category {name!r}", lambda: self._api.torrents_create_category(name)
        )

    async def add(
        self,
        *,
        torrent: bytes | None = None,
        url: str | None = None,
        save_path: str,
        category: str,
        stopped: bool,
        download_limit: int | None = None,
    ) -> bool:
        """``torrents/add`` of one .torrent or one URL (``dlLimit``: its own download limit,
        bytes per second); whether qBittorrent took it.

        qBittorrent answers "Ok." or "Fails." (a duplicate, or a magnet it cannot use), 5.x
        may answer 409 for a duplicate, and Web API 2.14+ answers counts instead of words.
        """

        def add() -> Any:
            try:
                return self._api.torrents_add(
                    urls=url,
                    torrent_files=torrent,
                    save_path=save_path,
                    category=category,
                    is_stopped=stopped,
                    use_auto_torrent_management=False,
                    download_limit=download_limit,
                )
            except qbittorrentapi.Conflict409Error:
                return "Fails."

        answer = await self._call("add a torrent", add)
        if isinstance(answer, dict):
            return bool(answer.get("success_count") or answer.get("pending_count"))
        return str(answer).strip() == "Ok."

    async def stop(self, torrent_hash: str) -> None:
        """``torrents/stop`` (5.x) or ``torrents/pause`` (4.x); silent for an unknown hash."""
        await self._call(
            f"pause torrent {torrent_hash}", lambda: self._api.torrents_stop(torrent_hash)
        )

    async def start(self, torrent_hash: str) -> None:
        """``torrents/start`` (5.x) or ``torrents/resume`` (4.x); silent for an unknown hash."""
        await self._call(
            f"resume torrent {torrent_hash}", lambda: self._api.torrents_start(torrent_hash)
        )

    async def delete(self, torrent_hash: str, *, delete_files: bool) -> None:
        """``torrents/delete``; qBittorrent deletes files after it answers."""
        await self._call(
            f"remove torrent {torrent_hash}",
            lambda: self._api.torrents_delete(
                delete_files=delete_files, torrent_hashes=torrent_hash
            ),
        )

    async def set_download_limit(self, limit: int) -> None:
        """``transfer/setDownloadLimit``: the global limit in bytes per second (0: none)."""
        await self._call(
            "set the download speed limit",
            lambda: self._api.transfer_set_download_limit(limit=limit),
        )

    async def set_torrents_download_limit(self, hashes: Sequence[str], limit: int) -> None:
        """``torrents/setDownloadLimit`` of the torrents of ``hashes``: bytes per second (-1:
        none); unknown hashes are passed over."""
        await self._call(
            "set the download speed limit of torrents",
            lambda: self._api.torrents_set_download_limit(
                limit=limit, torrent_hashes="|".join(hashes)
            ),
        )

    async def download_limit(self) -> int:
        """``transfer/downloadLimit``: the global limit in bytes per second (0: none)."""
        return int(
            await self._call("read the download speed limit", self._api.transfer_download_limit)
        )

    async def logout(self) -> None:
        """``auth/logout``: the next call logs in again."""
        await self._call("log out", self._api.auth_log_out)

    # -- the boundary ----------------------------------------------------------------------

    async def _call(self, what: str, call: Callable[[], T], *, ref: str | None = None) -> T:
        return await asyncio.to_thread(self._run, what, call, ref)

    def _run(self, what: str, call: Callable[[], T], ref: str | None) -> T:
        with self._lock:
            try:
                answer = call()
            except NotImplementedError as exc:
                raise ClientVersionUnsupported(f"{self.where} is too old to {what}: {exc}") from exc
            except qbittorrentapi.APIError as exc:
                self._answered = not isinstance(exc, qbittorrentapi.APIConnectionError)
                raise self._translate(what, exc, ref) from exc
            except ValueError as exc:  # a version or an answer it cannot parse
                raise ClientError(
                    f"{self.where} did not answer like qBittorrent's Web API when asked to "
                    f"{what}: {_text(exc)}"
                ) from exc
            self._answered = True
            return answer

    def _translate(self, what: str, exc: qbittorrentapi.APIError, ref: str | None) -> ClientError:
        text = _text(exc)
        if isinstance(exc, qbittorrentapi.LoginFailed):
            return ClientAuthFailed(f"{self.where} refused the username or password.")
        if isinstance(exc, qbittorrentapi.Forbidden403Error):
            if "ban" in text.lower():
                return ClientAuthFailed(
                    f"{self.where} has banned haul's address after failed logins: {text}"
                )
            return ClientAuthFailed(f"{self.where} denied haul access when asked to {what}.")
        if isinstance(exc, qbittorrentapi.Unauthorized401Error):
            return ClientAuthFailed(
                f"{self.where} answered 401 Unauthorized when asked to {what} "
                "(wrong credentials, or its host-header or CSRF protection refused haul)."
            )
        if isinstance(exc, qbittorrentapi.NotFound404Error):
            if ref is not None:
                return ClientItemNotFound(f"{self.where} holds no torrent {ref}.", ref=ref)
            return ClientItemNotFound(f"{self.where} answered 404 Not Found when asked to {what}.")
        if isinstance(exc, qbittorrentapi.UnsupportedMediaType415Error):
            return ClientRefused(f"{self.where} says the .torrent file is not valid: {text}")
        if isinstance(exc, qbittorrentapi.HTTP4XXError):
            return ClientRefused(f"{self.where} refused to {what}: {text or exc.http_status_code}")
        if isinstance(exc, qbittorrentapi.HTTPError):
            return ClientError(
                f"{self.where} failed to {what} (HTTP {exc.http_status_code}): {text}"
            )
        if isinstance(exc, qbittorrentapi.APIConnectionError):
            return ClientUnavailable(self._unreachable(exc))
        return ClientError(f"{self.where} did not answer like qBittorrent's Web API: {text}")

    def _unreachable(self, exc: BaseException) -> str:
        causes = list(_chain(exc))
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return f"{self.where} refused the connection (is it running, on that port?)"
        if any(isinstance(c, requests.ConnectTimeout) for c in causes):
            return f"{self.where} did not accept a connection within {self.timeout:g} s"
        if any(isinstance(c, requests.Timeout | TimeoutError) for c in causes):
            return f"{self.where} did not answer within {self.timeout:g} s"
        first = next((c for c in causes if not isinstance(c, qbittorrentapi.APIError)), exc)
        return f"{self.where} cannot be reached ({type(first).__name__})"

    def _close(self) -> None:
        with self._lock:
            if self._answered:  # end the session, best effort
                with contextlib.suppress(qbittorrentapi.APIError, NotImplementedError):
                    self._api.auth_log_out()
                self._answered = False
            self._api._trigger_session_initialization()  # close the pooled connections


def _public(url: str) -> str:
    """The URL without credentials a person may have put in it."""
    parts = urlsplit(url if "//" in url else f"http://{url}")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path.rstrip('/')}"


def _text(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _dicts(answer: Any, where: str, call: str) -> list[dict[str, Any]]:
    if not isinstance(answer, list) or not all(isinstance(entry, dict) for entry in answer):
        raise ClientError(f"{where} answered {call} with something that is not a list of objects")
    return answer
