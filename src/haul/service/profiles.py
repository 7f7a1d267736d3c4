"""Download profiles: list, add, change, remove; at most one is the default.

A download submitted without a profile gets the default one (see
:mod:`haul.service.submitting`). A profile that unfinished downloads use cannot be removed
(they would run with other settings than the ones they were asked with); once they are done it
can: the finished downloads stay in the history without it (their profile becomes empty, the
files recorded of them keep its name).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haul.core.paths import inside, stays_inside
from haul.core.profiles import FLAGS, FRAGMENTS_DEFAULT, check_profile, combination_problems
from haul.core.proxies import credentials, is_shown_form, shown
from haul.core.sources import METADATA_HOSTS
from haul.engine.base import Profile as EngineProfile
from haul.errors import (
    Conflict,
    InvalidProfile,
    ProfileExists,
    ProfileInUse,
    ProfileNotFound,
    SealedUnreadable,
)
from haul.net.guard import AddressPolicy
from haul.store.database import Database
from haul.store.models import Profile
from haul.store.profiles import (
    any_profile,
    in_name_order,
    open_downloads_using,
    with_proxy_in_clear,
)
from haul.store.profiles import by_name as _by_name
from haul.store.profiles import clear_default as _clear_default
from haul.store.sealed import KeyFile

log = logging.getLogger(__name__)

#: The address policy of an instance that allows private addresses (the default here).
PRIVATE_ALLOWED = AddressPolicy(allow_private=True)
#: What the first start of an instance offers (see :meth:`ProfileService.seed_defaults`).
DEFAULT_PROFILES: list[dict[str, Any]] = [
    {"name": "default", "is_default": True},
    {
        "name": "best-mp4",
        "format": "bv*[ext=mp4]+ba[ext=m4a]/b[ext=mp4]/bv*+ba/b",
        "container": "mp4",
    },
    {"name": "720p", "format": "bv*[height<=720]+ba/b[height<=720]/b", "container": "mkv"},
    {"name": "audio", "format": "ba/b"},
    {"name": "with-subtitles", "subtitles": ["en", "eng"]},
]


def profile_json(row: Profile) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "format": row.format,
        "container": row.container,
        "subtitles": list(row.subtitles or []),
        "output_template": row.output_template,
        "target_dir": row.target_dir,
        "is_default": row.is_default,
        "audio_format": row.audio_format,
        "audio_quality": row.audio_quality,
        **{flag: bool(getattr(row, flag)) for flag in FLAGS},
        "sponsorblock_remove": list(row.sponsorblock_remove or []),
        "sponsorblock_mark": list(row.sponsorblock_mark or []),
        "proxy": shown(row.proxy),
        "extractor_args": dict(row.extractor_args or {}),
        "concurrent_fragments": row.concurrent_fragments or FRAGMENTS_DEFAULT,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def stored_proxy(row: Profile, key: KeyFile | None) -> str | None:
    """The whole proxy URL of a stored profile, its sealed credentials opened with ``key``;
    :class:`SealedUnreadable` when they cannot be opened here."""
    if row.proxy_sealed is None:
        return row.proxy  # no credentials, or stored in clear before they were sealed
    if key is None:
        raise SealedUnreadable("There is no key file here to open the proxy's credentials.")
    return key.open(row.proxy_sealed).decode()


def seal_proxy(row: Profile, proxy: str | None, key: KeyFile | None) -> None:
    """Store ``proxy`` on ``row``: shown (its credentials masked) in ``proxy``, and whole,
    sealed with ``key``, in ``proxy_sealed`` when it has credentials."""
    if proxy is None or credentials(proxy) is None or key is None:
        row.proxy, row.proxy_sealed = proxy, None
        return
    row.proxy, row.proxy_sealed = shown(proxy), key.seal(proxy.encode())


def engine_profile(row: Profile, key: KeyFile | None = None) -> EngineProfile:
    """What the engine reads of a stored profile (its proxy's credentials opened with
    ``key``; when they cannot be, the profile is :attr:`~EngineProfile.unusable`)."""
    unusable = None
    try:
        proxy = stored_proxy(row, key)
    except SealedUnreadable as exc:
        proxy = None
        unusable = (
            f"The proxy of the profile {row.name!r} cannot be used here: {exc.message} "
            "The download is not made without it."
        )
    return EngineProfile(
        name=row.name,
        format=row.format,
        container=row.container,
        subtitles=tuple(row.subtitles or ()),
        output_template=row.output_template or EngineProfile().output_template,
        target_dir=row.target_dir,
        audio_format=row.audio_format,
        audio_quality=row.audio_quality,
        **{flag: bool(getattr(row, flag)) for flag in FLAGS},
        sponsorblock_remove=tuple(row.sponsorblock_remove or ()),
        sponsorblock_mark=tuple(row.sponsorblock_mark or ()),
        proxy=proxy,
        unusable=unusable,
        concurrent_fragments=row.concurrent_fragments or FRAGMENTS_DEFAULT,
        extractor_args={
            name: {arg: tuple(values) for arg, values in args.items()}
            for name, args in (row.extractor_args or {}).items()
        },
    )


class ProfileService:
    def __init__(
        self,
        db: Database,
        *,
        downloads_root: Path,
        changed: Callable[[], None] = lambda: None,
        addresses: AddressPolicy = PRIVATE_ALLOWED,
        key: KeyFile | None = None,
    ) -> None:
        self.db = db
        self.root = downloads_root
        #: The data folder's key file: proxy credentials are sealed with it (None: kept in
        #: clear, for tests of other things only).
        self.key = key
        #: The addresses downloads may reach: a proxy at one they may not is refused.
        self.addresses = addresses
        #: Told after every change (the jobs' copy of the profiles, haul.store.kept).
        self.changed = changed

    async def seed_defaults(self) -> None:
        """Add :data:`DEFAULT_PROFILES` when there is no profile at all (the first start);
        later an administrator's removals stay removed."""
        async with self.db.write() as s:
            if await any_profile(s):
                return
            for spec in DEFAULT_PROFILES:
                s.add(Profile(**spec))

    async def seal_proxies(self) -> int:
        """Seal the proxy credentials stored in clear (before revision 0014); how many.
        The server runs it when it starts: a migration cannot, the key file is not the
        database's."""
        if self.key is None:
            return 0
        sealed = 0
        async with self.db.write() as s:
            for row in await with_proxy_in_clear(s):
                if row.proxy is not None and credentials(row.proxy) is not None:
                    if shown(row.proxy) == row.proxy:
                        continue  # masked already: nothing in clear to seal
                    seal_proxy(row, row.proxy, self.key)
                    sealed += 1
        if sealed:
            log.info("profiles: sealed the credentials of %d proxies", sealed)
            self.changed()
        return sealed

    async def list(self) -> list[dict[str, Any]]:
        async with self.db.read() as s:
            rows = await in_name_order(s)
        return [profile_json(row) for row in rows]

    async def get(self, name: str) -> dict[str, Any]:
        async with self.db.read() as s:
            return profile_json(await self._row(s, name))

    async def create(self, given: Mapping[str, Any]) -> dict[str, Any]:
        clean = check_profile(given)
        if "name" not in clean:
            raise InvalidProfile({"name": "A profile needs a name."})
        await self._check_proxy(clean)
        await self._check_paths(clean)
        problems = combination_problems(clean)
        if problems:
            raise InvalidProfile(problems)
        try:
            async with self.db.write() as s:
                if await _by_name(s, clean["name"]) is not None:
                    raise _exists(clean["name"])
                if clean.get("is_default"):
                    await _clear_default(s)
                fields = {k: v for k, v in clean.items() if k != "proxy"}
                row = Profile(**{"subtitles": [], "extractor_args": {}, **fields})
                seal_proxy(row, clean.get("proxy"), self.key)
                s.add(row)
                await s.flush()
                made = profile_json(row)
        except IntegrityError as exc:  # the same name, added by another request just now
            raise _clash(exc, clean["name"]) from exc
        self.changed()
        return made

    async def update(self, name: str, given: Mapping[str, Any]) -> dict[str, Any]:
        """Change the given fields (a rename included); null empties a field."""
        clean = check_profile(given)
        await self._check_proxy(clean)
        await self._check_paths(clean)
        new_name = clean.get("name", name)
        try:
            async with self.db.write() as s:
                row = await self._row(s, name)
                if new_name != row.name and await _by_name(s, new_name) is not None:
                    raise _exists(new_name)
                if clean.get("is_default") and not row.is_default:
                    await _clear_default(s)
                problems = combination_problems({**profile_json(row), **clean})
                if problems:
                    raise InvalidProfile(problems)
                if is_shown_form(given.get("proxy"), row.proxy):
                    clean.pop("proxy", None)  # the masked form sent back: unchanged
                for field, value in clean.items():
                    if field == "proxy":
                        seal_proxy(row, value, self.key)
                    else:
                        setattr(row, field, value)
                await s.flush()
                changed = profile_json(row)
        except IntegrityError as exc:
            raise _clash(exc, new_name) from exc
        self.changed()
        return changed

    async def delete(self, name: str) -> None:
        async with self.db.write() as s:
            row = await self._row(s, name)
            using = await open_downloads_using(s, row.id)
            if using:
                noun, they = (
                    ("download uses", "it is") if using == 1 else ("downloads use", "they are")
                )
                raise ProfileInUse(
                    f"{using} unfinished {noun} the profile {row.name!r}; remove the profile "
                    f"once {they} finished or canceled."
                )
            await s.delete(row)
        self.changed()

    async def _row(self, s: AsyncSession, name: str) -> Profile:
        row = await _by_name(s, name)
        if row is None:
            raise ProfileNotFound(f"There is no profile named {name!r}.")
        return row

    async def _check_proxy(self, clean: Mapping[str, Any]) -> None:
        """A proxy at an address downloads may not reach is refused, as a download from there
        would be: link-local and metadata addresses always, private and loopback ones unless
        HAUL_ALLOW_PRIVATE_ADDRESSES is set. Its host is looked up (so that ``2852039166`` or
        a name of 169.254.169.254 is seen for what it is); a name that does not resolve now
        is taken (it may resolve where haul runs later), and checked by the proxy's use."""
        proxy = clean.get("proxy")
        if not proxy:
            return
        host = (urlsplit(proxy).hostname or "").lower().rstrip(".")
        if host in METADATA_HOSTS:
            raise InvalidProfile(
                {"proxy": f"The proxy {host} is a cloud metadata service; give another proxy."}
            )
        for address in await _addresses_of(host):
            refusal = self.addresses.check(address, host)
            if refusal is not None:
                named = "" if host == address else f" {host}"
                raise InvalidProfile(
                    {"proxy": f"The proxy{named} is at {refusal.words}; give another proxy."}
                )

    async def _check_paths(self, clean: Mapping[str, Any]) -> None:
        """What the text alone cannot tell: a folder that leads out through a link, and an
        output template yt-dlp cannot read."""
        target = clean.get("target_dir")
        if target is not None and not inside(self.root / target, self.root):
            raise InvalidProfile(
                {"target_dir": f"target_dir {target!r} leads out of the download folder."}
            )
        template = clean.get("output_template")
        if template is not None:
            problem = await asyncio.to_thread(_template_problem, template)
            if problem is not None:
                raise InvalidProfile({"output_template": problem})


#: Pages a template is tried on when a profile is saved: one with the usual fields, one
#: without (so both the replacement ``&`` and the default ``|`` texts are seen).
_SAMPLE_PAGES: tuple[dict[str, object], ...] = (
    {
        "id": "id",
        "title": "title",
        "ext": "mp4",
        "uploader": "uploader",
        "channel": "channel",
        "extractor": "generic",
        "playlist": "playlist",
        "playlist_index": 1,
        "upload_date": "20240101",
    },
    {"id": "id", "ext": "mp4"},
)


def _template_problem(template: str) -> str | None:
    """yt-dlp's opinion of an output template's grammar (yt-dlp loads here, not at start),
    and where it writes for a couple of sample pages: a replacement text such as
    ``%(title&..|)s/`` is no field and passes the text rule
    (:func:`haul.core.profiles.check_output_template`, which the engine applies before every
    run, with a check of the real name yt-dlp makes for each page)."""
    from yt_dlp import YoutubeDL

    error = YoutubeDL.validate_outtmpl(template)
    if error is not None:
        return f"output_template is not a template yt-dlp can read ({error})."
    with YoutubeDL({"ignoreconfig": True, "quiet": True, "no_warnings": True}) as ydl:
        for page in _SAMPLE_PAGES:
            name = ydl.evaluate_outtmpl(template, dict(page), True)
            if not stays_inside(name):
                return (
                    f"output_template names {name!r} for a page whose title is "
                    f"{page.get('title', '(none)')!r}, which is outside the download folder."
                )
    return None


def _clash(exc: IntegrityError, name: str) -> Conflict:
    """What another request did at the same moment: took the name, or made its profile the
    default (one default at most: the database holds it)."""
    if "is_default" in str(exc.orig):
        return Conflict(
            "Another profile was made the default at the same moment; load the profiles "
            "again and choose."
        )
    return _exists(name)


def _exists(name: str) -> ProfileExists:
    return ProfileExists(f"There is already a profile named {name!r}.")


async def _addresses_of(host: str) -> list[str]:
    """The addresses ``host`` resolves to now (an IP address: itself, in any of the forms the
    resolver reads); none when it does not resolve within a few seconds."""
    if host == "localhost" or host.endswith(".localhost"):
        return ["127.0.0.1"]
    loop = asyncio.get_running_loop()
    try:
        found = await asyncio.wait_for(loop.getaddrinfo(host, None), timeout=5)
    except (OSError, TimeoutError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in found})
