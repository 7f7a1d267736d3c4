"""Who is asking: an API token, a login cookie, the local single user or an anonymous visitor.

- ``Authorization: Bearer <token>`` is an API token (programs, the CLI). A wrong one is a 401,
  never a fall-back to something else.
- The ``haul_login`` cookie is a login session of the pages (``SameSite=Lax``, HttpOnly).
  Requests that change something and carry cookies are guarded against other sites twice:
  :mod:`haul.web.origin` refuses what a browser sends for another site, and the pages' forms
  carry a CSRF token (:mod:`haul.web.ui.csrf`).
- Behind a trusted proxy that signs people in (``HAUL_AUTH_HEADER``, such as ``Remote-User``
  from Authelia, Authentik or oauth2-proxy), the person it names is the caller, their account
  made on first sight with ``HAUL_AUTH_HEADER_ROLE``. The header is read only on requests
  that came through one of ``HAUL_TRUSTED_PROXIES`` (:mod:`haul.web.proxies`).
- In single-user mode (loopback, no accounts) everyone is the local administrator.
- In public mode a visitor without a login gets the signed ``haul_visitor`` cookie, set by
  :class:`VisitorCookies` on their first request, and an owner of their own.
"""

from __future__ import annotations

import logging

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from haul.core import credentials
from haul.core.modes import Mode, effective_mode, refuse_start
from haul.errors import Forbidden, Unauthorized
from haul.service.accounts import AccountService
from haul.service.values import Owner
from haul.settings import Settings
from haul.web.proxies import via_trusted_proxy

log = logging.getLogger(__name__)

LOGIN_COOKIE = "haul_login"
VISITOR_COOKIE = "haul_visitor"
LOCAL = "local"
#: Set in the scope when a login cookie in use should be given its full lifetime again.
RENEW_LOGIN = "haul.renew_login"


def cookie_header(
    scope: Scope, name: str, value: str, max_age: int, *, secure: bool = False
) -> tuple[bytes, bytes]:
    """A ``Set-Cookie`` header of haul's (HttpOnly, SameSite=Lax, Secure over HTTPS)."""
    attributes = f"; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    if secure or scope.get("scheme") in ("https", "wss"):
        attributes += "; Secure"
    return b"set-cookie", f"{name}={value}{attributes}".encode("latin-1")


class Gate:
    def __init__(self, settings: Settings, accounts: AccountService) -> None:
        self.settings = settings
        self.accounts = accounts

    async def mode(self) -> Mode:
        if self.settings.mode != "auto":
            return self.settings.mode  # no need to ask the database
        return effective_mode("auto", has_accounts=await self.accounts.has_accounts())

    async def check_start(self) -> None:
        """Refuse to open an instance without a login to the network; tell how to make the
        first administrator when an instance that needs accounts has none."""
        settings = self.settings
        has_accounts = await self.accounts.has_accounts()
        refuse_start(
            settings.mode,
            host=settings.host,
            loopback=settings.bound_to_loopback,
            has_accounts=has_accounts,
        )
        if not has_accounts and await self.mode() != "single":
            log.warning(
                "haul has no account yet: open %s/setup and enter the setup code %s to make "
                "the first administrator, or run 'haul users create-admin NAME'",
                settings.base_path,
                self.accounts.setup_code,
            )

    async def owner(self, conn: HTTPConnection) -> Owner:
        """The caller, or :class:`~haul.errors.Unauthorized` when this mode needs a login."""
        known: Owner | None = conn.scope.get("haul.owner")
        if known is not None:
            return known
        found = await self.fresh_owner(conn)
        conn.scope["haul.owner"] = found
        return found

    async def fresh_owner(self, conn: HTTPConnection) -> Owner:
        """:meth:`owner`, asked again (a live stream checks that its caller still is who it
        was; the credentials' short cache still applies)."""
        ip = conn.client.host if conn.client else None
        header = conn.headers.get("authorization")
        signed_in = self.proxy_user(conn)
        scheme, _, token = (header or "").partition(" ")
        # Another kind of Authorization (a proxy's own Basic sign-in, passed on) is the
        # proxy's business when it named the person.
        if header is not None and (scheme.lower() == "bearer" or signed_in is None):
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
            return (await self.accounts.user_of_token(token.strip())).owner(ip)
        if signed_in is not None:
            role = self.settings.auth_header_role
            return (await self.accounts.user_of_proxy(signed_in, role)).owner(ip)
        cookie = conn.cookies.get(LOGIN_COOKIE)
        if cookie:
            user, seen = await self.accounts.login_of_cookie(cookie)
            if user is not None:
                if seen:
                    conn.scope[RENEW_LOGIN] = cookie  # see SlidingLogin
                return user.owner(ip)
        mode = await self.mode()
        if mode == "single":
            return Owner(key=LOCAL, ip=ip, is_admin=True)
        visitor: str | None = conn.scope.get("haul.visitor")
        if mode == "public" and visitor is not None:
            await self.accounts.visitor_seen(visitor, ip)
            return Owner(
                key=f"session:{visitor}",
                session_id=visitor,
                ip=ip,
                is_admin=False,
                limit=self.settings.public_limit_per_session,
                ip_limit=self.settings.public_limit_per_ip,
            )
        raise Unauthorized()

    def proxy_user(self, conn: HTTPConnection) -> str | None:
        """The name a trusted proxy signed the caller in as (``HAUL_AUTH_HEADER``); None when
        none is configured, the request did not come through a trusted proxy (anyone can send
        the header), or it named nobody. More than one such header is :class:`Forbidden`:
        which of them the proxy set cannot be told."""
        header = self.settings.auth_header
        if header is None or not via_trusted_proxy(conn.scope):
            return None
        names = conn.headers.getlist(header)
        if len(names) > 1:
            raise Forbidden(
                f"The request names the signed-in person in {len(names)} {header} headers; "
                "haul takes exactly one, set by the proxy (which should replace any the "
                "browser sent)."
            )
        return (names[0].strip() or None) if names else None


class VisitorCookies:
    """Public mode: every browser gets a signed visitor cookie on its first request (no
    database write: the session row is made when the visitor first does something)."""

    def __init__(self, app: ASGIApp, accounts: AccountService, *, secure: bool = False) -> None:
        self.app = app
        self.accounts = accounts
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        key = await self.accounts.visitor_key.get()
        sent = HTTPConnection(scope).cookies.get(VISITOR_COOKIE)
        visitor = credentials.visitor_of(key, sent) if sent else None
        if visitor is not None or scope["type"] == "websocket":
            scope["haul.visitor"] = visitor
            await self.app(scope, receive, send)
            return
        visitor, cookie = credentials.visitor_cookie(key)
        scope["haul.visitor"] = visitor
        header = cookie_header(scope, VISITOR_COOKIE, cookie, 31_536_000, secure=self.secure)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class SlidingLogin:
    """A login lasts ``HAUL_SESSION_DAYS`` after its last use, so its cookie must too: when a
    request records a use of the login (at most once a minute), its answer gives the browser
    the cookie again with its full lifetime (unless the answer sets or clears it itself)."""

    def __init__(self, app: ASGIApp, *, max_age: int) -> None:
        self.app = app
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        prefix = f"{LOGIN_COOKIE}=".encode()

        async def send_renewed(message: Message) -> None:
            cookie = scope.get(RENEW_LOGIN)
            if message["type"] == "http.response.start" and cookie is not None:
                headers = list(message.get("headers", []))
                if not any(k == b"set-cookie" and v.startswith(prefix) for k, v in headers):
                    headers.append(cookie_header(scope, LOGIN_COOKIE, cookie, self.max_age))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_renewed)
