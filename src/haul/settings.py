"""Settings: read once, from ``HAUL_*`` environment variables and an optional config file.

Only the app factory and the CLI call :func:`load_settings`; everything else receives the
values it needs through its constructor.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from haul.core.bandwidth import parse_rate, parse_schedule, zone
from haul.core.config import ATTEMPTS_MAX, CENTURY, LIMIT_MAX, MONTH
from haul.core.credentials import check_username
from haul.core.hosts import host_name
from haul.core.profiles import SPONSORBLOCK_API
from haul.core.sites import parse_rules
from haul.errors import BadSettings, InvalidAccount, InvalidTemplate
from haul.media.naming import (
    EPISODE_TEMPLATE,
    MOVIE_TEMPLATE,
    MOVIE_TRAILER_TEMPLATE,
    SERIES_TRAILER_TEMPLATE,
    check_template,
)

OverLimitPolicy = Literal["queue", "reject"]
BASE_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")
HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,99}")
#: Headers that carry something else than a proxy's word on who is asking.
NOT_AUTH_HEADERS = frozenset(
    {"authorization", "cookie", "host", "origin", "content-type", "content-length"}
)
ModeSetting = Literal["auto", "single", "accounts", "public"]


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "haul"


class Settings(BaseSettings):
    """Every setting haul reads at start-up. Runtime-editable ones also live in the config table."""

    model_config = SettingsConfigDict(
        env_prefix="HAUL_", env_file=None, extra="ignore", validate_default=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    download_dir: Path | None = None  # default: <data_dir>/downloads
    #: Where downloads that belong to a media item are filed (default: <data_dir>/library).
    library_dir: Path | None = None
    #: Naming templates of the library (see haul.media.naming for the fields).
    movie_template: str = MOVIE_TEMPLATE
    episode_template: str = EPISODE_TEMPLATE
    movie_trailer_template: str = MOVIE_TRAILER_TEMPLATE
    series_trailer_template: str = SERIES_TRAILER_TEMPLATE
    #: How often finished files are looked for on disk (``file_exists``), in seconds; 0: never.
    rescan_interval: float = Field(default=6 * 3600.0, ge=0, le=MONTH)
    database_url: str | None = None  # default: SQLite at <data_dir>/haul.db

    host: str = "127.0.0.1"
    port: int = Field(default=8680, ge=1, le=65535)
    #: Further host names (or addresses) browsers may use to reach haul, comma-separated;
    #: ``*``: any (see haul.web.hosts). Loopback names and HAUL_HOST are always known.
    allowed_hosts: str = ""
    #: The path haul lives under behind a reverse proxy (``/haul``): its pages, API, events,
    #: static files and cookies; empty: the root (see haul.web.basepath).
    base_path: str = ""
    #: Reverse proxies whose ``X-Forwarded-For``, ``-Proto`` and ``-Host`` haul believes, and
    #: whose HAUL_AUTH_HEADER signs people in: addresses and networks, comma-separated
    #: (``127.0.0.1, 10.0.0.0/8``). Unset: uvicorn's own default (``X-Forwarded-For`` and
    #: ``-Proto`` from loopback, see haul.web.proxies).
    trusted_proxies: str | None = None
    #: The request header a trusted proxy names the signed-in person in (``Remote-User``);
    #: unset: none is read. From any other address it is ignored.
    auth_header: str | None = None
    #: The role of an account made when the proxy first names someone haul does not know.
    auth_header_role: Literal["admin", "user"] = "user"

    limit_global: int = Field(default=10, ge=1, le=LIMIT_MAX)
    limit_per_owner: int | None = Field(default=None, ge=1, le=LIMIT_MAX)
    over_limit: OverLimitPolicy = "queue"
    #: Rules for being polite to sites (JSON, see haul.core.sites); editable while haul runs.
    site_rules: str = ""
    #: Download speed limits (bytes per second, or "2M", "500K"; empty: none), the speed
    #: schedule (JSON, see haul.core.bandwidth) and its time zone; editable while haul runs.
    speed_limit_global: str = ""
    speed_limit_per_owner: str = ""
    speed_schedule: str = ""
    speed_timezone: str = "UTC"
    #: Folders of yt-dlp plug-in packages (extractors, PO token providers...), separated by
    #: the system's path separator (``:``); yt-dlp loads them at start (haul.engine.ytdlp_plugins).
    ytdlp_plugin_dirs: str = ""

    allow_private_addresses: bool | None = None  # default: allowed in single-user mode

    #: Largest request body haul reads (JSON, forms), in bytes; a larger one is refused (413).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Largest request uploading a .torrent (multipart), in bytes: the largest .torrent haul
    #: takes (10 MiB, haul.core.torrents) with room for the add form's other fields.
    max_upload_bytes: int = Field(default=12 * 1024 * 1024, ge=1024)

    #: Who may use this instance (see haul.core.modes): auto, single, accounts or public.
    mode: ModeSetting = "auto"
    #: Days a login session lasts without being used.
    session_days: float = Field(default=30.0, gt=0, le=CENTURY)
    #: Public mode: downloads an anonymous visitor, and one IP address, may have unfinished.
    public_limit_per_session: int = Field(default=1, ge=1)
    public_limit_per_ip: int = Field(default=1, ge=1)
    #: Public mode: the only sites anonymous visitors may download from (comma-separated host
    #: names, subdomains included); empty: any site.
    public_sites: str = ""
    #: Public mode: whether anonymous visitors may add magnet links and .torrent files (their
    #: trackers and peers are contacted by the torrent client, outside haul's guard).
    public_torrents: bool = False
    #: Failed logins allowed per client address (and per user name) in 15 minutes.
    login_attempts: int = Field(default=10, ge=1)
    #: A file holding the password of the first administrator (a container's secret): while
    #: the instance has no account, `haul serve` makes ``admin_username`` with it at start.
    #: Read then only; the password is never logged.
    admin_password_file: Path | None = None
    admin_username: str = "admin"

    #: How often live progress of an active download is pushed to subscribers (seconds).
    progress_interval: float = Field(default=0.5, gt=0, le=0.5)
    #: A worker whose heartbeat is older than this has lost its jobs (seconds).
    lease_ttl: float = Field(default=30.0, gt=1)
    heartbeat_interval: float = Field(default=5.0, gt=0)
    #: How many yt-dlp transfers may run at once in one worker (they hold threads).
    ytdlp_threads: int = Field(default=4, ge=1)
    #: A direct file of at least ``segment_threshold`` bytes, from a server that takes
    #: ranges, is fetched over up to ``connections_per_download`` connections, and the
    #: transfers of one worker hold at most ``connections_per_host`` to one host
    #: (haul.engine.segmented); a site rule's ``connections`` caps a site's downloads.
    connections_per_download: int = Field(default=4, ge=1, le=16)
    connections_per_host: int = Field(default=4, ge=1, le=64)
    segment_threshold: int = Field(default=16 << 20, ge=1 << 20)
    #: The SponsorBlock server profiles that cut or mark segments ask (an http(s) address).
    sponsorblock_api: str = SPONSORBLOCK_API
    #: Listing a page's formats (GET /api/v1/formats): how many one owner may run at once,
    #: how many per minute, the seconds one may take, and how long an answer is kept.
    formats_at_once: int = Field(default=2, ge=1, le=100)
    formats_per_minute: int = Field(default=20, ge=1, le=10_000)
    formats_timeout: float = Field(default=60.0, gt=0, le=3600)
    formats_keep: float = Field(default=300.0, ge=0, le=86_400)
    #: Subscriptions: seconds between a worker's looks for due ones (0: this worker checks
    #: none on its own), checks one worker runs at once, the seconds a listing may take, and
    #: up to how many seconds of pause before each check (so checks spread out).
    subscription_poll_interval: float = Field(default=30.0, ge=0, le=86_400)
    subscription_checks_at_once: int = Field(default=2, ge=1, le=50)
    subscription_timeout: float = Field(default=300.0, gt=0, le=3600)
    subscription_jitter: float = Field(default=5.0, ge=0, le=3600)
    #: Seconds a check holds its subscription unless renewed (renewed every third of it): a
    #: worker that dies mid-check hands its subscriptions to others this long after.
    subscription_lease: float = Field(default=60.0, ge=1, le=3600)
    worker_concurrency: int = Field(default=10, ge=1)
    #: Whether `haul serve` runs a worker in its own process (turn off for API-only nodes of a
    #: PostgreSQL instance whose workers run elsewhere).
    embedded_worker: bool = True

    #: A transfer with no new bytes for this long shows a warning, then fails (and is retried).
    stall_warning: float = Field(default=60.0, gt=0)
    stall_timeout: float = Field(default=300.0, gt=0)
    #: A live stream being recorded that stops answering or stops growing for this long has
    #: ended: the recording finishes with what it has (a shorter outage is waited out).
    live_hiccup: float = Field(default=30.0, gt=0)
    #: Seconds of media after which a live recording ends by itself (None: no limit).
    live_max_duration: float | None = Field(default=None, gt=0)
    #: How often a worker re-applies the wanted state (paused, canceled) to its running jobs.
    reconcile_interval: float = Field(default=1.0, gt=0)
    #: How often a worker asks the external clients about everything they hold for haul
    #: (completion, failures, sticky pause, owed removals): one bulk call per client.
    monitor_interval: float = Field(default=2.0, gt=0)

    #: Automatic retries of transient failures: attempts, then exponential backoff with jitter.
    retry_max_attempts: int = Field(default=5, ge=0, le=ATTEMPTS_MAX)
    retry_base_delay: float = Field(default=5.0, ge=0, le=MONTH)
    retry_max_delay: float = Field(default=600.0, ge=0, le=MONTH)

    #: Finished downloads (and their files) of accounts and the local user are removed after
    #: this many days; None keeps them forever.
    retention_days: float | None = Field(default=None, gt=0, le=CENTURY)
    #: Finished downloads of anonymous browser sessions are removed after this many days.
    anonymous_retention_days: float = Field(default=1.0, gt=0, le=CENTURY)
    #: Seconds between two retention runs of a worker; 0: never on its own (only on demand).
    retention_interval: float = Field(default=3600.0, ge=0, le=MONTH)

    @field_validator("host")
    @classmethod
    def _host_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("HAUL_HOST must name an address to listen on")
        return value.strip()

    @field_validator("admin_username")
    @classmethod
    def _admin_name_usable(cls, value: str) -> str:
        try:
            return check_username(value)
        except InvalidAccount as exc:
            raise ValueError(exc.message) from exc

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_are_names(cls, value: str) -> str:
        for entry in (e.strip() for e in value.split(",")):
            if entry and entry != "*" and host_name(entry) is None:
                raise ValueError(f"{entry!r} is not a host name or address (such as nas.local)")
        return value

    @field_validator("base_path")
    @classmethod
    def _base_path_is_path(cls, value: str) -> str:
        path = value.strip().rstrip("/")
        if path and (
            not BASE_PATH.fullmatch(path) or any(p in (".", "..") for p in path.split("/"))
        ):
            raise ValueError(
                "a base path is like /haul or /apps/haul: parts of letters, digits, '.', '-', "
                "'_' or '~', each after a '/'"
            )
        return path

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        entries = []
        for entry in (e.strip() for e in value.split(",")):
            if not entry:
                continue
            try:
                # uvicorn reads the list strictly: 10.0.0.1/8 would match nobody, 10.0.0.0/8 does
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (such as 127.0.0.1 or 10.0.0.0/8)"
                ) from None
            is_address = "/" not in entry
            entries.append(str(network.network_address if is_address else network))
        return ",".join(entries)

    @field_validator("auth_header")
    @classmethod
    def _auth_header_usable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        name = value.strip()
        if not HEADER_NAME.fullmatch(name) or name.lower() in NOT_AUTH_HEADERS:
            raise ValueError("name a header the proxy sets, such as Remote-User")
        if not info.data.get("trusted_proxies"):
            raise ValueError(
                "it is believed only from trusted proxies: set HAUL_TRUSTED_PROXIES to the "
                "proxy's address as well"
            )
        return name

    @field_validator("speed_limit_global", "speed_limit_per_owner")
    @classmethod
    def _speed_valid(cls, value: str) -> str:
        parse_rate(value)  # its sentence says what a speed looks like
        return value

    @field_validator("speed_schedule")
    @classmethod
    def _schedule_valid(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("speed_timezone")
    @classmethod
    def _timezone_valid(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("site_rules")
    @classmethod
    def _site_rules_valid(cls, value: str) -> str:
        parse_rules(value)  # its sentence names what is wrong
        return value

    @field_validator("ytdlp_plugin_dirs")
    @classmethod
    def _plugin_dirs_exist(cls, value: str) -> str:
        for entry in (e.strip() for e in value.split(os.pathsep)):
            if entry and not Path(entry).expanduser().is_dir():
                raise ValueError(f"{entry!r} is not a folder (of yt-dlp plug-ins)")
        return value

    @field_validator("sponsorblock_api")
    @classmethod
    def _sponsorblock_api_is_web(cls, value: str) -> str:
        address = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", address, flags=re.IGNORECASE):
            raise ValueError(
                f"{value!r} is not a web address such as {SPONSORBLOCK_API} (http or https)"
            )
        return address

    @field_validator(
        "movie_template", "episode_template", "movie_trailer_template", "series_trailer_template"
    )
    @classmethod
    def _template_usable(cls, value: str) -> str:
        try:
            return check_template(value)
        except InvalidTemplate as exc:
            raise ValueError(exc.message) from exc

    @property
    def ytdlp_plugin_folders(self) -> tuple[Path, ...]:
        entries = (e.strip() for e in self.ytdlp_plugin_dirs.split(os.pathsep))
        return tuple(Path(e).expanduser().resolve() for e in entries if e)

    @property
    def library_root(self) -> Path:
        return (self.library_dir or self.data_dir / "library").resolve()

    @property
    def thumbnails_dir(self) -> Path:
        """Where pictures of downloads and library items are kept (a cache)."""
        return self.data_dir / "thumbnails"

    @property
    def downloads_root(self) -> Path:
        return (self.download_dir or self.data_dir / "downloads").resolve()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'haul.db').resolve()}"

    @property
    def bound_to_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def private_addresses_allowed(self) -> bool:
        """Whether downloads may use private and loopback addresses: by default only in
        single-user mode (a NAS on the LAN is a normal source for one person at home)."""
        if self.allow_private_addresses is not None:
            return self.allow_private_addresses
        return self.bound_to_loopback and self.mode in ("auto", "single")

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxies' addresses and networks (empty when none is set)."""
        return [e for e in (self.trusted_proxies or "").split(",") if e]

    @property
    def public_site_list(self) -> tuple[str, ...]:
        sites = (s.strip().lower().rstrip(".") for s in self.public_sites.split(","))
        return tuple(s.removeprefix("www.") for s in sites if s)


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment; keyword overrides win (used by the CLI).
    A value haul cannot use is :class:`~haul.errors.BadSettings`, one sentence per setting."""
    values = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise BadSettings(settings_problems(exc)) from None


_SECRET = re.compile(r"url|secret|password|token|key", re.IGNORECASE)  # values not repeated


def settings_problems(exc: ValidationError) -> str:
    """``HAUL_PORT=99999: Input should be less than or equal to 65535.`` for each problem."""
    lines = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "settings"
        name = f"HAUL_{field.upper()}"
        given = error.get("input")
        plain = isinstance(given, str | int | float) and not _SECRET.search(field)
        shown = f"={given}" if plain and field != "settings" else ""
        message = str(error["msg"]).rstrip(".")
        lines.append(f"{name}{shown}: {message}.")
    return " ".join(lines)
