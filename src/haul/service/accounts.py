"""Accounts, login sessions, API tokens and anonymous visitors.

Who is asking is answered from the request's credentials at most every few seconds per
credential (a short cache), so a page polled every 3 s or a busy API client costs no database
read per request; a token revoked, a user disabled or a password changed in this process takes
effect at once, in another process within :data:`CACHE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haul.core import credentials
from haul.core.ratelimit import FailureWindow
from haul.errors import (
    Conflict,
    Forbidden,
    InvalidAccount,
    LoginFailed,
    NotFound,
    TooManyAttempts,
    Unauthorized,
)
from haul.service.keys import StoredKey
from haul.service.values import Owner
from haul.store import accounts as rows
from haul.store.database import Database
from haul.store.models import ApiToken, BrowserSession, User, utcnow

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
#: How often ``last_seen_at`` / ``last_used_at`` is written for one session or token.
SEEN_EVERY = 60.0
LOGIN_WINDOW = 15 * 60.0
#: Failures of a name (or of setup) from all addresses together, in login limits, past which
#: only addresses that have not failed at it may try (see AccountService._may_guess).
SHARED_FACTOR = 10
ROLES = ("admin", "user")


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    username: str
    role: str
    limit: int | None
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def owner(self, ip: str | None) -> Owner:
        return Owner(
            key=f"user:{self.id}", user_id=self.id, ip=ip, is_admin=self.is_admin, limit=self.limit
        )

    @classmethod
    def of(cls, row: User) -> UserView:
        return cls(
            row.id,
            row.username,
            row.role,
            row.limit_active,
            row.disabled,
            row.created_at,
            row.last_login_at,
        )


@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    user_id: int
    name: str
    hint: str | None
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Login:
    user: UserView
    cookie: str


class AccountService:
    def __init__(
        self,
        db: Database,
        *,
        session_days: float = 30.0,
        login_attempts: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.session_age = timedelta(days=session_days)
        self.clock = clock
        self.failures = FailureWindow(login_attempts, LOGIN_WINDOW)
        self.visitor_key = StoredKey(db, "secret.visitor_cookies")
        #: A one-time code that lets the first visitor of /setup create the first administrator
        #: of an instance that has no account yet (printed by ``haul serve``).
        self.setup_code = secrets.token_hex(4)
        #: credential -> (when read, the session's stored secret hash, its account)
        self._cache: dict[str, tuple[float, str, UserView | None]] = {}
        self._accounts: tuple[float, bool] | None = None
        self._seen: dict[str, float] = {}
        #: Counts the changes to accounts, logins and tokens made in this process: a live
        #: stream seeing it move asks again at once who its caller is.
        self.changes = 0

    # -- users ------------------------------------------------------------------------------

    async def has_accounts(self) -> bool:
        now = self.clock()
        if self._accounts is not None and now - self._accounts[0] < CACHE_SECONDS:
            return self._accounts[1]
        async with self.db.read() as s:
            found = await rows.any_user(s)
        self._accounts = (now, found)
        return found

    async def create_user(
        self,
        username: str,
        password: str,
        *,
        role: str = "user",
        limit: int | None = None,
        first: bool = False,
    ) -> UserView:
        """A new account (``first``: only while there is none, atomically)."""
        username = credentials.check_username(username)
        credentials.check_password(password)
        _check_role(role)
        hashed = credentials.hash_password(password)
        try:
            async with self.db.write(admission=first) as s:
                if first and await rows.any_user(s):
                    raise Conflict("This haul already has an administrator; log in instead.")
                if await rows.name_taken(s, username):
                    raise Conflict(f"There is already a user named {username!r}.")
                row = User(username=username, password_hash=hashed, role=role, limit_active=limit)
                s.add(row)
                await s.flush()
                view = UserView.of(row)
        except IntegrityError:
            raise Conflict(f"There is already a user named {username!r}.") from None
        self._changed()
        log.info("account %s created (%s)", username, role)
        return view

    async def create_first_admin(
        self, username: str, password: str, code: str | None, *, ip: str | None = None
    ) -> UserView:
        """The first administrator, from the setup page: only while no account exists, and
        only with the setup code (unless ``code`` is None: the local single user asks).
        Wrong codes are limited per address; once many addresses have failed, an address that
        failed too may not try again for a while, one that did not still may (see
        :meth:`_may_guess`): nobody can lock the real operator out of setup."""
        if code is not None:
            now = self._may_guess(f"setup-ip:{ip}", "setup", "attempts")
            if not secrets.compare_digest(code.strip(), self.setup_code):
                for key in (f"setup-ip:{ip}", "setup"):
                    self.failures.failed(key, now)
                raise LoginFailed("That setup code is not the one haul printed when it started.")
        return await self.create_user(username, password, role="admin", first=True)

    async def users(self) -> list[UserView]:
        async with self.db.read() as s:
            users = await rows.all_users(s)
        return [UserView.of(r) for r in users]

    async def user(self, user_id: int) -> UserView:
        async with self.db.read() as s:
            row = await s.get(User, user_id)
        if row is None:
            raise NotFound(f"There is no user {user_id}.")
        return UserView.of(row)

    async def update_user(
        self,
        user_id: int,
        *,
        role: str | None = None,
        limit: int | None = None,
        clear_limit: bool = False,
        disabled: bool | None = None,
        password: str | None = None,
        revoke_tokens: bool = False,
    ) -> UserView:
        """Change an account. A new password ends every login session of the account; its
        API tokens keep working unless ``revoke_tokens`` (they are for programs, which would
        stop without a word: the person who changes the password chooses, seeing them)."""
        if role is not None:
            _check_role(role)
        hashed = None
        if password is not None:
            hashed = credentials.hash_password(credentials.check_password(password))
        async with self.db.write(admission=True) as s:
            row = await s.get(User, user_id)
            if row is None:
                raise NotFound(f"There is no user {user_id}.")
            losing_admin = row.role == "admin" and (
                (role is not None and role != "admin") or disabled is True
            )
            if losing_admin and await rows.admins_left(s, but=user_id) == 0:
                raise Conflict(f"{row.username} is the only administrator; make another first.")
            if role is not None:
                row.role = role
            if limit is not None or clear_limit:
                row.limit_active = limit
            if disabled is not None:
                row.disabled = disabled
            if hashed is not None:
                row.password_hash = hashed
                # A new password ends every login session of the account.
                await rows.end_sessions(s, user_id)
            if revoke_tokens:
                await rows.revoke_tokens(s, user_id)
            view = UserView.of(row)
        self._changed()
        return view

    async def delete_user(self, user_id: int) -> None:
        """Delete the account with its logins and tokens (what it owns is dealt with first:
        :mod:`haul.service.ownership`)."""
        async with self.db.write(admission=True) as s:
            row = await self._deletable(s, user_id)
            await s.delete(row)
        self._changed()

    async def check_deletable(self, user_id: int) -> UserView:
        """The account, if it may be deleted (it exists and is not the only administrator)."""
        async with self.db.read() as s:
            return UserView.of(await self._deletable(s, user_id))

    async def lock_out(self, user_id: int) -> UserView:
        """Before an account is deleted: disable it and end its logins and tokens, so that
        nothing new arrives while what it owns is deleted or handed over."""
        async with self.db.write(admission=True) as s:
            row = await self._deletable(s, user_id)
            row.disabled = True
            await rows.end_sessions(s, user_id)
            await rows.delete_tokens(s, user_id)
            view = UserView.of(row)
        self._changed()
        return view

    async def _deletable(self, s: AsyncSession, user_id: int) -> User:
        row = await s.get(User, user_id)
        if row is None:
            raise NotFound(f"There is no user {user_id}.")
        if row.role == "admin" and await rows.admins_left(s, but=user_id) == 0:
            raise Conflict(f"{row.username} is the only administrator; make another first.")
        return row

    async def change_password(
        self, user_id: int, current: str, new: str, *, revoke_tokens: bool = False
    ) -> list[TokenView]:
        """Change a password knowing the current one (wrong guesses count as failed logins);
        every login session of the account ends, and its API tokens with ``revoke_tokens``.
        Returns the tokens that still work, for the person to see (and revoke)."""
        keys = [f"user:{user_id}"]
        now = self._may_try(keys, "attempts")
        async with self.db.read() as s:
            stored = await rows.password_hash(s, user_id)
        check = await asyncio.to_thread(credentials.verify_password, stored, current)
        if not check.ok:
            self.failures.failed(keys[0], now)
            raise LoginFailed("The current password is not right.")
        await self.update_user(user_id, password=new, revoke_tokens=revoke_tokens)
        return await self.tokens(user_id)

    # -- logins -----------------------------------------------------------------------------

    async def login(self, username: str, password: str, ip: str | None) -> Login:
        """A new login session for the account (see :meth:`authenticate`)."""
        user = await self.authenticate(username, password, ip)
        return Login(user, await self.start_session(user.id, ip))

    async def authenticate(self, username: str, password: str, ip: str | None) -> UserView:
        """The account, when the password is its own; else :class:`LoginFailed`. Too many
        failures from one address (for any names) answer :class:`TooManyAttempts` a while; a
        name that many addresses have failed for is closed only to those addresses (see
        :meth:`_may_guess`), so its owner still logs in from anywhere else."""
        name = username.strip().lower()
        pair = f"ip:{ip}|name:{name}"
        self._may_try([f"ip:{ip}"])
        now = self._may_guess(pair, f"name:{name}")
        keys = [pair, f"ip:{ip}", f"name:{name}"]
        async with self.db.read() as s:
            row = await rows.find_user(s, username)
        check = await asyncio.to_thread(
            credentials.verify_password, row.password_hash if row else None, password
        )
        if row is None or not check.ok or row.disabled:
            for key in keys:
                self.failures.failed(key, now)
            if row is not None and check.ok and row.disabled:
                raise LoginFailed("This account is disabled; ask an administrator.")
            raise LoginFailed()
        self.failures.succeeded(pair)  # the address's and the name's counts stay
        values: dict[str, object] = {"last_login_at": utcnow()}
        if check.rehashed:
            values["password_hash"] = check.rehashed
        async with self.db.write() as s:
            await rows.set_user(s, row.id, values)
        log.info("login of %s from %s", row.username, ip)
        return UserView.of(row)

    async def start_session(self, user_id: int, ip: str | None) -> str:
        """A new login session of an account whose owner has just proved who they are (a
        password, or the account made or changed a moment ago); its cookie."""
        session_id, cookie = credentials.new_session()
        secret = cookie.partition(".")[2]
        async with self.db.write() as s:
            s.add(
                BrowserSession(
                    id=session_id, user_id=user_id, secret_hash=credentials.digest(secret), ip=ip
                )
            )
        return cookie

    async def logout(self, cookie: str) -> None:
        parts = credentials.split_cookie(cookie)
        if parts is None:
            return
        async with self.db.write() as s:
            await rows.end_session(s, parts[0])
        self._cache.pop(f"s:{parts[0]}", None)
        self.changes += 1

    async def user_of_cookie(self, cookie: str) -> UserView | None:
        """The account a login cookie belongs to (None: no such login, or it expired)."""
        return (await self.login_of_cookie(cookie))[0]

    async def login_of_cookie(self, cookie: str) -> tuple[UserView | None, bool]:
        """:meth:`user_of_cookie`, and whether this use of the login was just recorded (at most
        once a minute): then the browser's cookie is given its full lifetime again."""
        parts = credentials.split_cookie(cookie)
        if parts is None:
            return None, False
        session_id, secret = parts
        cache_key = f"s:{session_id}"
        hit = self._cached(cache_key)
        if hit is None:
            hit = await self._load_session(session_id)
            self._cache[cache_key] = (self.clock(), *hit)
        stored, view = hit
        if view is None or not secrets.compare_digest(stored, credentials.digest(secret)):
            return None, False
        if not self._due(f"session:{session_id}"):
            return view, False
        async with self.db.write() as s:
            await rows.session_seen(s, session_id)
        return view, True

    async def _load_session(self, session_id: str) -> tuple[str, UserView | None]:
        async with self.db.read() as s:
            found = await rows.session_with_user(s, session_id)
        if found is None:
            return "", None
        stored, last_seen, user = found
        if user.disabled or utcnow() - last_seen >= self.session_age:
            return "", None
        return stored or "", UserView.of(user)

    # -- people a trusted proxy signed in ------------------------------------------------------

    async def user_of_proxy(self, name: str, role: str) -> UserView:
        """The account of the person a trusted proxy signed in as ``name``, made with ``role``
        the first time the proxy names them (without a password: they sign in through the
        proxy); the first account of an instance is its administrator, whatever ``role``. The
        proxy's names are haul's user names: an account that already has the name is theirs.
        A name haul cannot take, or a disabled account, is :class:`Forbidden`."""
        try:
            username = credentials.check_username(name)
        except InvalidAccount as exc:
            raise Forbidden(
                f"The proxy signed you in as {name[:64]!r}, which is not a user name haul "
                f"takes: {exc.problems['username']}"
            ) from None
        cache_key = f"p:{username.lower()}"
        hit = self._cached(cache_key)
        view = hit[1] if hit is not None else None
        if view is None:
            view = await self._proxy_account(username, role)
            self._cache[cache_key] = (self.clock(), "", view)
        if view.disabled:
            raise Forbidden("This account is disabled; ask an administrator.")
        return view

    async def _proxy_account(self, username: str, role: str) -> UserView:
        _check_role(role)
        async with self.db.read() as s:
            row = await rows.find_user(s, username)
        if row is not None:
            return UserView.of(row)
        try:
            async with self.db.write(admission=True) as s:
                if not await rows.any_user(s):
                    role = "admin"  # the first account is the administrator, as on /setup
                made = User(username=username, password_hash=None, role=role)
                s.add(made)
                await s.flush()
                view = UserView.of(made)
        except IntegrityError:  # another request of theirs made it first
            async with self.db.read() as s:
                row = await rows.find_user(s, username)
            if row is None:
                raise
            return UserView.of(row)
        self._changed()
        log.info("account %s created for the person the proxy signed in (%s)", username, view.role)
        return view

    # -- API tokens -------------------------------------------------------------------------

    async def create_token(self, user_id: int, name: str) -> tuple[TokenView, str]:
        name = name.strip() or "token"
        if len(name) > 100 or "\x00" in name:
            raise InvalidAccount({"name": "A token's name has at most 100 characters."})
        token = credentials.new_token()
        async with self.db.write() as s:
            row = ApiToken(
                user_id=user_id,
                name=name,
                token_hash=credentials.digest(token),
                hint=credentials.token_hint(token),
            )
            s.add(row)
            await s.flush()
            view = _token_view(row)
        return view, token

    async def tokens(self, user_id: int | None) -> list[TokenView]:
        """The live tokens of one user (None: of everyone)."""
        async with self.db.read() as s:
            live = await rows.live_tokens(s, user_id)
        return [_token_view(r) for r in live]

    async def revoke_token(self, token_id: int, user_id: int | None) -> None:
        """Revoke a token of ``user_id`` (None: of anyone, for an administrator)."""
        async with self.db.write() as s:
            row = await s.get(ApiToken, token_id)
            if (
                row is None
                or row.revoked_at is not None
                or (user_id is not None and row.user_id != user_id)
            ):
                raise NotFound(f"There is no token {token_id}.")
            row.revoked_at = utcnow()
        self._changed()

    async def user_of_token(self, token: str) -> UserView:
        """The account an API token belongs to, or :class:`Unauthorized`."""
        hashed = credentials.digest(token)
        cache_key = f"t:{hashed}"
        hit = self._cached(cache_key)
        view = hit[1] if hit is not None else await self._load_token(hashed, cache_key)
        if view is None:
            raise Unauthorized(
                "This API token is not valid: it was revoked, mistyped, or its account disabled."
            )
        return view

    async def _load_token(self, hashed: str, cache_key: str) -> UserView | None:
        async with self.db.read() as s:
            found = await rows.token_with_user(s, hashed)
        view = None if found is None or found[2].disabled else UserView.of(found[2])
        self._cache[cache_key] = (self.clock(), "", view)
        if found is not None and self._due(f"token:{found[0]}"):
            async with self.db.write() as s:
                await rows.token_used(s, found[0])
        return view

    # -- anonymous visitors (public mode) -----------------------------------------------------

    async def visitor_seen(self, visitor: str, ip: str | None) -> None:
        """Keep the visitor's session row (made on first sight): its address and last visit."""
        if not self._due(f"visitor:{visitor}"):
            return
        async with self.db.write() as s:
            row = await s.get(BrowserSession, visitor)
            if row is None:
                s.add(BrowserSession(id=visitor, ip=ip))
            elif row.user_id is None:
                row.last_seen_at = utcnow()
                row.ip = ip

    # -- helpers ----------------------------------------------------------------------------

    def _cached(self, key: str) -> tuple[str, UserView | None] | None:
        hit = self._cache.get(key)
        if hit is None or self.clock() - hit[0] >= CACHE_SECONDS:
            return None
        return hit[1], hit[2]

    def _may_guess(self, own: str, shared: str, what: str = "logins") -> float:
        """Now, when ``own`` (one address guessing one thing) may try; else TooManyAttempts.

        ``own`` may fail ``login_attempts`` times a window. ``shared`` counts the failures of
        every address: past ``SHARED_FACTOR`` times that, the thing is under attack from many
        addresses, and only addresses that have not failed at it lately may try (each
        attacking address then gets one guess a window, and the owner, who has not failed,
        is never locked out by someone else's guesses).
        """
        now = self._may_try([own], what)
        under_attack = self.failures.wait(
            shared, now, allowed=self.failures.allowed * SHARED_FACTOR
        )
        if under_attack and self.failures.count(own, now):
            raise TooManyAttempts(
                f"Too many failed {what}; try again in "
                f"{max(1, round(under_attack / 60))} minute(s).",
                retry_after=under_attack,
            )
        return now

    def _may_try(self, keys: list[str], what: str = "logins") -> float:
        """Now, when none of ``keys`` has failed too often lately; else TooManyAttempts."""
        now = self.clock()
        wait = max(self.failures.wait(k, now) for k in keys)
        if wait > 0:
            raise TooManyAttempts(
                f"Too many failed {what}; try again in {max(1, round(wait / 60))} minute(s).",
                retry_after=wait,
            )
        return now

    def _changed(self) -> None:
        self._cache.clear()
        self._accounts = None
        self.changes += 1

    def _due(self, key: str) -> bool:
        now = self.clock()
        if now - self._seen.get(key, -SEEN_EVERY) < SEEN_EVERY:
            return False
        if len(self._seen) > 50_000:
            self._seen.clear()
        self._seen[key] = now
        return True


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidAccount({"role": "A role is admin or user."})


def _token_view(row: ApiToken) -> TokenView:
    return TokenView(row.id, row.user_id, row.name, row.hint, row.created_at, row.last_used_at)
