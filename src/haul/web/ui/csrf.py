"""Cross-site request forgery protection for the pages' forms: a double-submit token.

Every page carries a random token in a ``SameSite=Strict`` cookie and in its forms (and in a
``<meta>`` the script sends as ``X-CSRF-Token``). A form post is accepted only when both agree
and, when the browser says where the post came from (``Origin``), it came from this host. A page
on another site can make a browser post to haul, but it can neither read the token nor send the
cookie along with a strict same-site policy.
"""

from __future__ import annotations

import hmac
import re
import secrets

from fastapi import Request
from starlette.responses import Response

from haul.errors import CsrfRejected
from haul.web.origin import page_scheme, same_origin

COOKIE = "haul_csrf"
HEADER = "x-csrf-token"
FIELD = "csrf"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def csrf_token(request: Request) -> str:
    """The token of this browser, made now when it has none (see :func:`remember`)."""
    known = request.cookies.get(COOKIE, "")
    if _TOKEN.match(known):
        return known
    made: str | None = getattr(request.state, "csrf_made", None)
    if made is None:
        made = secrets.token_urlsafe(32)
        request.state.csrf_made = made
    return made


def remember(request: Request, response: Response) -> None:
    """Give the browser the token a page was rendered with, if it is new."""
    made = getattr(request.state, "csrf_made", None)
    if made is not None:
        response.set_cookie(
            COOKIE,
            made,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )


def check(request: Request, sent: str | None) -> None:
    """Refuse a state-changing request whose token or origin is not this site's."""
    cookie = request.cookies.get(COOKIE, "")
    sent = sent or request.headers.get(HEADER, "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfRejected()
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if origin and origin != "null" and not same_origin(origin, host, page_scheme(request.scope)):
        raise CsrfRejected("This form came from another site, so haul did not act on it.")
