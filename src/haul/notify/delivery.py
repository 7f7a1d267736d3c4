"""Sending one notification to one target: one attempt, and the retry loop around it.

An attempt never raises: it returns an :class:`Attempt` saying whether it worked and whether
trying again may help. Errors are put in plain words that carry no credential (no URL path,
query or token, no secret), so they can be logged and shown to the person testing a target.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

import httpx

from haul.errors import AddressRefused
from haul.net.guard import reworded
from haul.notify import apprise_urls, signing
from haul.notify.backoff import Backoff, retry_after_seconds, status_retryable
from haul.notify.targets import Target, location

log = logging.getLogger(__name__)

Blocking = Callable[[Callable[[], bool]], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Message:
    """One event for one target: the same on every attempt (retries repeat ``delivery``)."""

    kind: str
    delivery: str
    body: bytes  # the webhook's JSON body, exactly as signed
    title: str  # for Apprise
    text: str  # for Apprise


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    retryable: bool = False
    error: str | None = None
    status: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a delivery ended, after every attempt it was allowed."""

    ok: bool
    attempts: int
    error: str | None = None
    status: int | None = None


async def post_webhook(
    http: httpx.AsyncClient, target: Target, message: Message, *, timeout: float, cap: float
) -> Attempt:
    """POST the signed JSON body once. Redirects are not followed (a webhook that moved
    should be reconfigured, and a POST must not silently become a GET elsewhere)."""
    headers = signing.headers(
        message.kind,
        message.delivery,
        message.body,
        secret=target.secret,
        timestamp=int(time.time()),
    )
    where = location(target.kind, target.url)
    try:
        response = await http.post(
            target.url,
            content=message.body,
            headers=headers,
            timeout=timeout,
            follow_redirects=False,
        )
    except AddressRefused as exc:  # the client's transport checks the address it connects to
        return Attempt(False, error=f"{where} cannot be notified: {_refusal(exc, target.url)}")
    except httpx.TimeoutException:
        return Attempt(False, retryable=True, error=f"{where} did not answer within {timeout:g} s")
    except httpx.TransportError as exc:
        return Attempt(False, retryable=True, error=f"cannot connect to {where} ({_kind_of(exc)})")
    status = response.status_code
    if 200 <= status < 300:
        return Attempt(True, status=status)
    error = f"{where} answered {_status_words(status)}"
    if 300 <= status < 400:
        return Attempt(False, error=f"{error}, a redirect haul does not follow", status=status)
    return Attempt(
        False,
        retryable=status_retryable(status),
        error=error,
        status=status,
        retry_after=retry_after_seconds(response.headers.get("Retry-After"), cap=cap),
    )


async def send_apprise(target: Target, message: Message, run: Blocking) -> Attempt:
    """Notify through Apprise once, in a thread (``run``); any failure may be retried."""
    where = location(target.kind, target.url)

    def call() -> bool:
        return apprise_urls.send(target.url, message.title, message.text, message.kind)

    try:
        delivered = await run(call)
    except AddressRefused as exc:
        return Attempt(False, error=f"{where} cannot be notified: {exc.message}")
    except Exception as exc:  # a service plug-in failed in a way of its own
        return Attempt(False, retryable=True, error=f"{where} failed ({_kind_of(exc)})")
    if delivered:
        return Attempt(True)
    return Attempt(False, retryable=True, error=f"Apprise could not deliver to {where}")


async def deliver(
    once: Callable[[], Awaitable[Attempt]],
    backoff: Backoff,
    *,
    label: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> Outcome:
    """Attempt until it works, a failure is final, or ``backoff`` allows no more attempts.
    Each failed attempt is logged with ``label``, which must carry no credential."""
    attempt = 0
    while True:
        attempt += 1
        result = await once()
        if result.ok:
            if attempt > 1:
                log.info("notification to %s delivered on attempt %d", label, attempt)
            return Outcome(True, attempt, status=result.status)
        wait = backoff.delay(attempt, retry_after=result.retry_after, rng=rng)
        if not result.retryable or wait is None:
            why = "not retried" if not result.retryable else "no attempt left"
            log.warning(
                "notification to %s failed on attempt %d/%d (%s): %s",
                label,
                attempt,
                backoff.attempts,
                why,
                result.error,
            )
            return Outcome(False, attempt, error=result.error, status=result.status)
        log.warning(
            "notification to %s failed on attempt %d/%d, next in %.1f s: %s",
            label,
            attempt,
            backoff.attempts,
            wait,
            result.error,
        )
        await sleep(wait)


def _refusal(exc: AddressRefused, url: str) -> str:
    """Why a webhook may not be called, naming hosts and addresses only (never the URL)."""
    return reworded(exc, url).message


def _status_words(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


_ERROR_WORDS = {
    "ConnectError": "connection refused or host unknown",
    "RemoteProtocolError": "the server broke the HTTP exchange",
    "ReadError": "the connection broke",
    "WriteError": "the connection broke",
    "ProxyError": "the proxy refused",
    "UnsupportedProtocol": "unsupported protocol",
}


def _kind_of(exc: BaseException) -> str:
    """Words for an error that never include its message (it may quote the URL)."""
    return _ERROR_WORDS.get(type(exc).__name__, type(exc).__name__)
