"""SQLAlchemy models: intent, association, schedule and history. Never live transfer state.

A download row says what a person asked for (source, owner, profile, media item, whether it
should be paused or canceled), which client holds it and under which id, where it is in haul's
own lifecycle (:class:`~haul.core.status.Phase`) and when things happened. Progress, speed and
ETA are read from the client when asked and travel as events; they have no column here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: ``__table_args__`` of every table with an integer key: ids are never given out twice (a
#: deleted row's id would pass its owner, its links and its webhooks to a newcomer).
#: PostgreSQL's sequences never go back; SQLite needs AUTOINCREMENT (migration 0009).
NEVER_REUSE: dict[str, Any] = {"sqlite_autoincrement": True}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL keeps it as ``timestamptz``; SQLite has no time zones, so values are stored as
    naive UTC (which also keeps their text sortable) and read back as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    __table_args__ = NEVER_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")  # admin | user
    limit_active: Mapped[int | None] = mapped_column(Integer)  # overrides HAUL_LIMIT_PER_OWNER
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = NEVER_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    #: The first characters of the token, shown in lists (the token itself is never kept).
    hint: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class BrowserSession(Base):
    """A login session or an anonymous browser session (public mode)."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID
    #: A login session: its user, and the SHA-256 of the secret in its cookie. An anonymous
    #: session (public mode) has neither: its cookie is signed (haul.core.credentials).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (
        # one default at most (migration 0008)
        Index(
            "uq_profiles_is_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default = 1"),
        ),
        NEVER_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    format: Mapped[str | None] = mapped_column(String(500))
    container: Mapped[str | None] = mapped_column(String(16))
    subtitles: Mapped[list[Any]] = mapped_column(default=list)
    output_template: Mapped[str | None] = mapped_column(String(500))
    target_dir: Mapped[str | None] = mapped_column(String(500))  # relative to the download root
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # audio only (migration 0010): the format converted to (None: not audio only), its quality
    audio_format: Mapped[str | None] = mapped_column(String(16))
    audio_quality: Mapped[str | None] = mapped_column(String(16))
    # what is embedded into the file and written beside it (haul.core.profiles.FLAGS)
    embed_metadata: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    embed_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    embed_chapters: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    embed_subtitles: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    write_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    write_info_json: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    write_nfo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # SponsorBlock categories cut out of the file, and marked as chapters
    sponsorblock_remove: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    sponsorblock_mark: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    #: Fragments of an HLS or DASH stream yt-dlp fetches at once (migration 0017).
    concurrent_fragments: Mapped[int] = mapped_column(Integer, default=4, server_default="4")
    #: yt-dlp's (and the direct engine's) proxy: an http or https URL as it is shown, its
    #: credentials masked (``http://***@proxy.lan:3128``, haul.core.proxies); one without
    #: credentials as it is. A row stored before revision 0014 may still hold them in clear
    #: until the server's next start seals them.
    proxy: Mapped[str | None] = mapped_column(String(1000))
    #: The whole proxy URL, credentials included, sealed with the data folder's key file
    #: (haul.store.sealed); None when the proxy has no credentials.
    proxy_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: yt-dlp's extractor_args: extractor -> argument -> values.
    extractor_args: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MediaItem(Base):
    """A library entry: a movie (a VOD stream is a movie with a provider reference), a series,
    an episode of a series (season and number), or a trailer of a movie or a series.

    ``external_ids`` holds ``imdb``, ``tmdb``, ``tvdb`` and the provider's ``stream``,
    ``series`` or ``episode`` id (with ``provider_id`` naming the IPTV provider).
    """

    __tablename__ = "media_items"
    __table_args__ = (Index("ix_media_items_kind_title", "kind", "title"), NEVER_REUSE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # movie | series | episode | trailer
    title: Mapped[str] = mapped_column(String(500))
    year: Mapped[int | None] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("media_items.id", ondelete="CASCADE"), index=True
    )
    season: Mapped[int | None] = mapped_column(Integer)
    episode: Mapped[int | None] = mapped_column(Integer)
    external_ids: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("iptv_providers.id", ondelete="SET NULL"), index=True
    )
    owner_key: Mapped[str] = mapped_column(String(64), default="local", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MediaFile(Base):
    """A finished file on disk with what its probe found (history: kept after the download).

    Deleting the media item deletes its file records (never the files on disk); a download's
    files stay recorded while the download is kept, and a file filed into the library stays
    recorded with its media item after its download is gone (``download_id`` then empty).
    """

    __tablename__ = "media_files"
    __table_args__ = (UniqueConstraint("download_id", "path"), NEVER_REUSE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    download_id: Mapped[int | None] = mapped_column(
        ForeignKey("downloads.id", ondelete="CASCADE"), index=True
    )
    media_id: Mapped[int | None] = mapped_column(
        ForeignKey("media_items.id", ondelete="CASCADE"), index=True
    )
    #: Relative to the download root when inside it; absolute elsewhere (in the library).
    path: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(String(1000))
    size: Mapped[int | None] = mapped_column(BigInteger)
    mtime: Mapped[float | None] = mapped_column(Float)
    is_media: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)  # why it is not media, or is broken
    container: Mapped[str | None] = mapped_column(String(64))
    duration: Mapped[float | None] = mapped_column(Float)
    video_codec: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    audio_codec: Mapped[str | None] = mapped_column(String(64))
    audio_channels: Mapped[int | None] = mapped_column(Integer)
    subtitle_languages: Mapped[list[Any]] = mapped_column(default=list)
    profile: Mapped[str | None] = mapped_column(String(100))
    youtube_id: Mapped[str | None] = mapped_column(String(11), index=True)
    file_exists: Mapped[bool] = mapped_column(Boolean, default=True)
    probed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Where the download left the file, when an import filed it elsewhere.
    original_path: Mapped[str | None] = mapped_column(Text)
    import_mode: Mapped[str | None] = mapped_column(String(16))  # hardlink | move | copy
    imported_at: Mapped[datetime | None]


class IptvProvider(Base):
    """An IPTV provider speaking the Xtream Codes API. ``password`` is never returned by the
    API, never logged, never put in an event or a download's source."""

    __tablename__ = "iptv_providers"
    __table_args__ = NEVER_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(1000))
    username: Mapped[str] = mapped_column(String(255))
    password: Mapped[str] = mapped_column(String(1000))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    timeout: Mapped[float] = mapped_column(Float, default=10.0)
    owner_key: Mapped[str] = mapped_column(String(64), default="local")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationTarget(Base):
    """Where to tell people about downloads: a webhook (JSON signed with HMAC-SHA256 of
    ``secret``) or an Apprise URL. ``owner_key`` None is global (every owner's events); else
    only that owner's. ``events`` lists the kinds sent: completed, failed, imported."""

    __tablename__ = "notification_targets"
    __table_args__ = NEVER_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    owner_key: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook | apprise
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(String(255))
    events: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CookieSet(Base):
    """One cookies.txt an owner uploaded. The cookies are kept sealed (Fernet, with the key
    file of the data folder: :mod:`haul.store.sealed`); only what the lists show (the sites,
    how many, the first expiry) is in the clear."""

    __tablename__ = "cookie_sets"
    __table_args__ = NEVER_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_key: Mapped[str] = mapped_column(String(64), index=True)
    domains: Mapped[list[Any]] = mapped_column(default=list)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None]
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClientConfig(Base):
    """A configured download client (aria2, qBittorrent, Transmission), like Sonarr's.

    ``secret`` is the password or RPC secret: stored so haul can connect, never returned by the
    API, never logged. ``category`` is the category, label or tag that marks haul's items in the
    client. ``priority``: lower is preferred when several clients can take a download.
    """

    __tablename__ = "clients"
    __table_args__ = NEVER_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # aria2 | qbittorrent | transmission
    url: Mapped[str] = mapped_column(String(1000))
    username: Mapped[str | None] = mapped_column(String(255))
    secret: Mapped[str | None] = mapped_column(String(1000))
    category: Mapped[str] = mapped_column(String(100), default="haul")
    priority: Mapped[int] = mapped_column(Integer, default=1)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    slot_limit: Mapped[int | None] = mapped_column(Integer)
    prefer_for_files: Mapped[bool] = mapped_column(Boolean, default=False)
    timeout: Mapped[float] = mapped_column(Float, default=5.0)
    #: Seeding goal: remove the item from the client (data kept) once it is met.
    remove_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    seed_ratio: Mapped[float | None] = mapped_column(Float)
    seed_minutes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Worker(Base):
    """A running worker. Its heartbeat keeps the leases of all its jobs alive in one write."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Download(Base):
    __tablename__ = "downloads"
    __table_args__ = (
        UniqueConstraint("client", "client_ref"),
        Index("ix_downloads_admission", "phase", "queue_rank", "id"),
        Index("ix_downloads_owner_phase", "owner_key", "phase", "queue_rank"),
        Index("ix_downloads_dedupe", "dedupe_key", "owner_key", "phase"),
        Index("ix_downloads_retry", "phase", "retry_next_at"),
        Index("ix_downloads_claim", "phase", "lease_worker_id"),
        Index("ix_downloads_phase_id", "phase", "id"),
        Index("ix_downloads_client_phase", "client", "phase"),
        Index("ix_downloads_site_phase", "site", "phase"),
        NEVER_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # intent
    owner_key: Mapped[str] = mapped_column(String(64))  # "local", "user:<id>", "session:<uuid>"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    ip: Mapped[str | None] = mapped_column(String(45))
    source_url: Mapped[str] = mapped_column(Text)
    #: The host of the source URL, lower case and ASCII (haul.core.sites): site rules count
    #: the transfers per site. None: no host (a magnet link, a .torrent).
    site: Mapped[str | None] = mapped_column(String(255))
    #: .torrent bytes; deferred: only the hand-over to a client reads them.
    source_blob: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    dedupe_key: Mapped[str] = mapped_column(String(64))  # sha256 of the normalised source
    title: Mapped[str | None] = mapped_column(String(1000))
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id", ondelete="SET NULL"))
    media_id: Mapped[int | None] = mapped_column(
        ForeignKey("media_items.id", ondelete="SET NULL"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("downloads.id", ondelete="CASCADE"), index=True
    )
    playlist_index: Mapped[int | None] = mapped_column(Integer)
    #: An IPTV download: the provider, what it is (``movie`` or ``episode``), the provider's
    #: downloadable id; season and episode for a series episode. The stream URL (which carries
    #: the provider's credentials) is asked for at each attempt, never stored.
    iptv_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("iptv_providers.id", ondelete="SET NULL")
    )
    iptv_kind: Mapped[str | None] = mapped_column(String(16))
    iptv_ref: Mapped[str | None] = mapped_column(String(64))
    season: Mapped[int | None] = mapped_column(Integer)
    episode: Mapped[int | None] = mapped_column(Integer)
    requested_client: Mapped[str | None] = mapped_column(String(64))
    #: What this download asks yt-dlp for instead of its profile's (None: the profile's): a
    #: format selector, and for audio only the format to convert to and its quality.
    format: Mapped[str | None] = mapped_column(String(500))
    audio_format: Mapped[str | None] = mapped_column(String(16))
    audio_quality: Mapped[str | None] = mapped_column(String(16))
    #: Its own download speed limit in bytes per second (migration 0016; None: none).
    speed_limit: Mapped[int | None] = mapped_column(BigInteger)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    desired_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    canceled_at: Mapped[datetime | None]
    cancel_delete_partial: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)  # removed from view
    # association
    client: Mapped[str | None] = mapped_column(String(64))
    client_ref: Mapped[str | None] = mapped_column(String(128))
    #: When haul let go of the client's item (removed after cancel or after its seeding goal).
    client_released_at: Mapped[datetime | None] = mapped_column()
    # schedule
    phase: Mapped[str] = mapped_column(String(16), default="queued")
    queue_rank: Mapped[int] = mapped_column(BigInteger, default=0)
    retry_attempt: Mapped[int] = mapped_column(Integer, default=0)
    retry_next_at: Mapped[datetime | None]
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    lease_worker_id: Mapped[str | None] = mapped_column(
        ForeignKey("workers.id", ondelete="SET NULL"), index=True
    )
    # history
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    admitted_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    files: Mapped[list[Any]] = mapped_column(default=list)

    events: Mapped[list[DownloadEvent]] = relationship(
        back_populates="download", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_vod(self) -> bool:
        """Whether this downloads an IPTV provider's VOD film."""
        return self.iptv_kind == "movie"

    @property
    def is_series_episode(self) -> bool:
        """Whether this downloads an episode of an IPTV provider's series."""
        return self.iptv_kind == "episode"


class DownloadEvent(Base):
    """Append-only history of a download: state changes, never progress ticks."""

    __tablename__ = "download_events"
    __table_args__ = (Index("ix_download_events_download", "download_id", "id"), NEVER_REUSE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    download_id: Mapped[int] = mapped_column(ForeignKey("downloads.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    download: Mapped[Download] = relationship(back_populates="events")


class Subscription(Base):
    """A listing haul checks every so often, downloading what is new in it (a playlist or
    channel page, an RSS or Atom feed, an IPTV series): what its owner asked for, and when
    it is checked. A worker checking it holds it (``lease_worker_id`` until ``lease_until``)."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_due", "paused", "next_check_at"), NEVER_REUSE)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_key: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # playlist | feed | iptv_series
    title: Mapped[str | None] = mapped_column(String(1000))
    #: The profile's name its downloads use (None: the default profile).
    profile: Mapped[str | None] = mapped_column(String(100))
    interval_minutes: Mapped[int] = mapped_column(Integer)
    backfill: Mapped[str] = mapped_column(String(16))  # none | all | a number of newest
    since: Mapped[datetime | None]
    title_filter: Mapped[str | None] = mapped_column(String(200))
    max_per_check: Mapped[int | None] = mapped_column(Integer)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media_items.id", ondelete="SET NULL"))
    keep_last: Mapped[int | None] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Its first check was made (``backfill`` applied).
    primed: Mapped[bool] = mapped_column(Boolean, default=False)
    next_check_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_checked_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    #: Failed checks in a row (the next one backs off).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lease_worker_id: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SubscriptionEntry(Base):
    """An entry a subscription's checks saw, and the download it became (None: remembered
    only, ``skipped`` says why; or its download was deleted since). One row per entry, ever:
    the unique key is what makes an entry one download at most."""

    __tablename__ = "subscription_entries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "key"),
        Index("ix_subscription_entries_seen", "subscription_id", "id"),
        NEVER_REUSE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(1000))
    published_at: Mapped[datetime | None]
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    download_id: Mapped[int | None] = mapped_column(
        ForeignKey("downloads.id", ondelete="SET NULL"), index=True
    )
    #: Why it was not downloaded (backfill, since, filter, no_link, refused), or the refusal.
    skipped: Mapped[str | None] = mapped_column(String(16))
    #: The sentence of a download refused when it was made.
    error: Mapped[str | None] = mapped_column(Text)


class ConfigEntry(Base):
    __tablename__ = "config"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UnsupportedUrl(Base):
    __tablename__ = "unsupported_urls"
    __table_args__ = NEVER_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    error: Mapped[str] = mapped_column(Text)
    owner_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ErrorLog(Base):
    __tablename__ = "error_log"
    __table_args__ = NEVER_REUSE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    download_id: Mapped[int | None] = mapped_column(
        ForeignKey("downloads.id", ondelete="SET NULL"), index=True
    )
    domain: Mapped[str | None] = mapped_column(String(255), index=True)
    error_code: Mapped[str] = mapped_column(String(64), index=True)
    message: Mapped[str] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(500))
    media_type: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = [
    "ApiToken",
    "Base",
    "BrowserSession",
    "ConfigEntry",
    "Download",
    "DownloadEvent",
    "ErrorLog",
    "IptvProvider",
    "MediaFile",
    "MediaItem",
    "NotificationTarget",
    "Profile",
    "Subscription",
    "SubscriptionEntry",
    "UnsupportedUrl",
    "User",
    "Worker",
    "utcnow",
]
