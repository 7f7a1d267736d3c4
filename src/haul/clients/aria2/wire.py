"""aria2's JSON-RPC 2.0 interface, one method per call haul uses, nothing more.

Answers are aria2's raw dicts and lists (numbers arrive as strings); making sense of them is
:mod:`haul.clients.aria2.mapping`'s job. Foreign errors stop here: a daemon that cannot be
reached raises :class:`~haul.errors.ClientUnavailable`, an error aria2 answers raises
:class:`Aria2RpcError` (a :class:`~haul.errors.ClientError`) carrying aria2's code and message,
and an unknown GID is a :class:`~haul.errors.ClientItemNotFound` as well.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

import httpx

from haul.errors import ClientAuthFailed, ClientError, ClientItemNotFound, ClientUnavailable

#: What a ``system.multicall`` entry is: the method name and its parameters (without token).
Call = tuple[str, Sequence[Any]]

#: How aria2 names the GID it does not know ("GID 2089b05ecca3d829 is not found").
_UNKNOWN_GID = re.compile(r"GID (\S+) is not found")


class Aria2RpcError(ClientError):
    """aria2 answered with an error."""

    def __init__(self, message: str, *, aria2_code: int | None, aria2_message: str) -> None:
        super().__init__(message)
        #: aria2's own error code (1 for most RPC errors) and its words.
        self.aria2_code = aria2_code
        self.aria2_message = aria2_message


class Aria2Unauthorized(Aria2RpcError, ClientAuthFailed):
    """aria2 rejected the RPC secret."""


class Aria2ItemNotFound(Aria2RpcError, ClientItemNotFound):
    """aria2 does not know that GID."""


class Aria2Wire:
    """A thin async JSON-RPC client for one aria2 daemon. Close it with :meth:`aclose`."""

    def __init__(
        self,
        url: str,
        secret: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parsed = httpx.URL(url)
        if parsed.path in ("", "/"):
            parsed = parsed.copy_with(path="/jsonrpc")
        self.url = parsed
        self.where = f"{parsed.host}:{parsed.port or 80}"
        self.timeout = timeout
        self._token = f"token:{secret}" if secret else None
        self._ids = itertools.count(1)
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout), transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Aria2Wire:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- the calls -------------------------------------------------------------------------

    async def add_uri(self, uris: Sequence[str], options: dict[str, Any]) -> str:
        """``aria2.addUri``; ``options`` may carry our own 16-hex ``gid``. Returns the GID."""
        return str(await self.call("aria2.addUri", list(uris), options))

    async def add_torrent(self, torrent_b64: str, options: dict[str, Any]) -> str:
        """``aria2.addTorrent`` with the base64 of a .torrent file. Returns the GID."""
        return str(await self.call("aria2.addTorrent", torrent_b64, [], options))

    async def tell_status(self, gid: str, keys: Sequence[str] = ()) -> dict[str, Any]:
        params: list[Any] = [gid, list(keys)] if keys else [gid]
        result: dict[str, Any] = await self.call("aria2.tellStatus", *params)
        return result

    async def multicall(self, calls: Sequence[Call]) -> list[Any]:
        """``system.multicall``: one request, one answer per call, in order.

        A call that succeeded gives its result; a call that failed gives an
        :class:`Aria2RpcError` in its place (not raised: the caller decides).
        """
        entries = [
            {"methodName": method, "params": self._params(method, params)}
            for method, params in calls
        ]
        answers = await self._post("system.multicall", [entries])
        if not isinstance(answers, list) or len(answers) != len(entries):
            raise ClientError(f"aria2 at {self.where} answered a multicall with a wrong shape")
        results: list[Any] = []
        for (method, _), answer in zip(calls, answers, strict=True):
            if isinstance(answer, list) and len(answer) == 1:
                results.append(answer[0])
            elif isinstance(answer, dict):
                results.append(self._error(method, answer))
            else:
                results.append(ClientError(f"aria2 answered {method} with a wrong shape"))
        return results

    async def pause(self, gid: str) -> str:
        return str(await self.call("aria2.pause", gid))

    async def force_pause(self, gid: str) -> str:
        return str(await self.call("aria2.forcePause", gid))

    async def unpause(self, gid: str) -> str:
        return str(await self.call("aria2.unpause", gid))

    async def remove(self, gid: str) -> str:
        return str(await self.call("aria2.remove", gid))

    async def force_remove(self, gid: str) -> str:
        return str(await self.call("aria2.forceRemove", gid))

    async def remove_download_result(self, gid: str) -> str:
        return str(await self.call("aria2.removeDownloadResult", gid))

    async def change_global_option(self, options: dict[str, str]) -> str:
        """``aria2.changeGlobalOption`` (values are strings, as aria2 takes them)."""
        return str(await self.call("aria2.changeGlobalOption", options))

    async def get_global_option(self) -> dict[str, Any]:
        """``aria2.getGlobalOption``."""
        return dict(await self.call("aria2.getGlobalOption"))

    async def get_version(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("aria2.getVersion")
        return result

    # -- the protocol ----------------------------------------------------------------------

    async def call(self, method: str, *params: Any) -> Any:
        """Call one RPC method (the secret is added here) and return its ``result``."""
        return await self._post(method, self._params(method, params))

    def _params(self, method: str, params: Sequence[Any]) -> list[Any]:
        if self._token is None or method.startswith("system."):
            return list(params)
        return [self._token, *params]

    async def _post(self, method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": str(next(self._ids)), "method": method, "params": params}
        try:
            response = await self._http.post(self.url, json=body)
        except httpx.ConnectTimeout as exc:
            raise ClientUnavailable(
                f"aria2 at {self.where} did not accept a connection within {self.timeout:g} s"
            ) from exc
        except httpx.TimeoutException as exc:
            raise ClientUnavailable(
                f"aria2 at {self.where} did not answer within {self.timeout:g} s"
            ) from exc
        except httpx.ConnectError as exc:
            reason = "refused the connection" if _refused(exc) else f"cannot be reached ({exc})"
            raise ClientUnavailable(f"aria2 at {self.where} {reason}") from exc
        except httpx.TransportError as exc:
            raise ClientUnavailable(
                f"the connection to aria2 at {self.where} failed ({exc or type(exc).__name__})"
            ) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
            raise ClientError(
                f"{self.where} does not answer like aria2's JSON-RPC "
                f"(HTTP {response.status_code} at {self.url.path})"
            )
        if "error" in answer:
            raise self._error(method, answer["error"])
        return answer["result"]

    def _error(self, method: str, error: Any) -> Aria2RpcError:
        error = error if isinstance(error, dict) else {}
        message = str(error.get("message") or "no message")
        code = error.get("code")
        aria2_code = code if isinstance(code, int) else None
        if message == "Unauthorized":
            text = f"aria2 at {self.where} rejected the RPC secret: check the configured secret"
            return Aria2Unauthorized(text, aria2_code=aria2_code, aria2_message=message)
        text = f"aria2 at {self.where} refused {method}: {message} (code {code})"
        if "is not found" in message:
            missing = Aria2ItemNotFound(text, aria2_code=aria2_code, aria2_message=message)
            gid = _UNKNOWN_GID.search(message)
            missing.ref = gid.group(1) if gid else None
            return missing
        return Aria2RpcError(text, aria2_code=aria2_code, aria2_message=message)


def _refused(exc: BaseException) -> bool:
    """Whether a connect error was a refusal (nothing listens), looking through its causes."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False
