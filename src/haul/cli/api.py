"""A thin HTTP client of haul's API for the CLI (sync httpx; SSE read line by line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from haul.errors import ApiError, LoginNeeded, ServerUnreachable


class Api:
    def __init__(self, server: str, token: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.has_token = bool(token)
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=f"{self.server}/api/v1", headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(
                f"Cannot reach the haul server at {self.server} ({exc}). Is `haul serve` running?"
            ) from exc
        if response.status_code >= 400:
            raise self._error(response)
        return response.json() if response.content else None

    def _error(self, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text}
        if not isinstance(body, dict):
            body = {"detail": response.text}
        detail = str(body.get("detail", response.text))
        if response.status_code == 401:
            return LoginNeeded(self.server, detail, body, sent_token=self.has_token)
        return ApiError(response.status_code, detail, body)

    def events(self, download_ids: list[int] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield (event type, data) from the SSE stream until the server closes it; the
        server's keep-alive comments come out as ``("ping", {})``. A stream the server ended
        because its caller may no longer read it (a ``closed`` event) is an :class:`ApiError`
        saying why."""
        params = {"download": [str(i) for i in download_ids or []]}
        try:
            with self.http.stream(
                "GET", "/events", params=params, timeout=httpx.Timeout(30.0, read=None)
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._error(response)
                kind = "message"
                for line in response.iter_lines():
                    if line.startswith(":"):  # the server's keep-alive comment
                        yield "ping", {}
                    elif line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data = json.loads(line[5:].strip())
                        if kind == "closed":
                            detail = str(data.get("detail") or "")
                            raise ApiError(401, f"The event stream ended: {detail}", data)
                        yield kind, data
                    elif not line:
                        kind = "message"
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"Lost the event stream of {self.server}: {exc}") from exc
