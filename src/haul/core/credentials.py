"""Passwords, API tokens and session cookies: made and checked here (no I/O).

- Passwords are kept as argon2id hashes (argon2-cffi's defaults, which follow RFC 9106's
  recommendations); a hash made with older parameters is replaced at the next login.
- API tokens and session secrets are random (256 bits) and kept only as their SHA-256, which is
  enough for a secret of that strength and lets a request find its row by an index.
- An anonymous visitor's cookie is ``<uuid>.<HMAC>``: haul knows whom it gave the cookie to
  without a database read, and a visitor cannot make up another's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from haul.errors import InvalidAccount

TOKEN_PREFIX = "haul_"  # noqa: S105 (a prefix, not a secret)
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def check_username(name: str) -> str:
    name = name.strip()
    if not USERNAME.match(name):
        raise InvalidAccount(
            {
                "username": "A user name is 1 to 64 letters, digits, dots, dashes, "
                "underscores or @, starting with a letter or digit."
            }
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidAccount({"password": f"A password needs at least {MIN_PASSWORD} characters."})
    if len(password) > MAX_PASSWORD or "\x00" in password:
        raise InvalidAccount(
            {"password": f"A password has at most {MAX_PASSWORD} characters and no NUL."}
        )
    return password


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    ok: bool
    #: The hash was made with weaker parameters than today's: store this new one.
    rehashed: str | None = None


def verify_password(stored_hash: str | None, password: str) -> PasswordCheck:
    """Whether ``password`` matches; costs one hash even without a stored hash (no timing hint
    tells a missing account from a wrong password)."""
    hasher = _hasher()
    if not stored_hash:
        hasher.hash(password)
        return PasswordCheck(False)
    try:
        hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(False)
    if hasher.check_needs_rehash(stored_hash):
        return PasswordCheck(True, hasher.hash(password))
    return PasswordCheck(True)


def digest(secret: str) -> str:
    """What is stored of a token or session secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hint(token: str) -> str:
    """The start of a token, shown in lists so a person can tell their tokens apart."""
    return token[: len(TOKEN_PREFIX) + 6]


def new_session() -> tuple[str, str]:
    """A login session: its id (stored) and the cookie that proves it (id + secret)."""
    session_id = str(uuid.uuid4())
    return session_id, f"{session_id}.{secrets.token_urlsafe(32)}"


def split_cookie(cookie: str) -> tuple[str, str] | None:
    """The session id and secret of a login cookie, or None when it has another shape."""
    session_id, _, secret = cookie.partition(".")
    if not secret or len(cookie) > 200 or not _is_uuid(session_id):
        return None
    return session_id, secret


def visitor_cookie(key: bytes, visitor: str | None = None) -> tuple[str, str]:
    """An anonymous visitor's id and the signed cookie that carries it."""
    visitor = visitor or str(uuid.uuid4())
    return visitor, f"{visitor}.{_sign(key, visitor)}"


def visitor_of(key: bytes, cookie: str) -> str | None:
    """The visitor id a cookie carries, or None when it was not made by this instance."""
    visitor, _, signature = cookie.partition(".")
    if not _is_uuid(visitor) or not hmac.compare_digest(signature, _sign(key, visitor)):
        return None
    return visitor


def _sign(key: bytes, value: str) -> str:
    return hmac.new(key, f"visitor:{value}".encode(), hashlib.sha256).hexdigest()[:43]


def _is_uuid(value: str) -> bool:
    if len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
