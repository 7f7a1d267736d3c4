"""FastAPI dependencies as typed aliases.

A route names what it uses (``DownloadsDep``, ``MediaDep``, ``ProfilesDep``, ...); each is
read from the :class:`~haul.runtime.Runtime` (made by :func:`~haul.runtime.build`) the app
factory keeps in ``app.state``. The functions take an
:class:`~starlette.requests.HTTPConnection`, so a WebSocket route and a template helper can
call them too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from haul.clients.builtin.client import BuiltinClient
from haul.clients.directory import ClientDirectory
from haul.engine.live import LiveJobs
from haul.errors import Forbidden
from haul.events.bus import EventBus
from haul.runtime import Runtime
from haul.service import DownloadService, Owner
from haul.service.accounts import AccountService
from haul.service.clients import ClientService
from haul.service.config import ConfigService
from haul.service.formats import FormatService
from haul.service.iptv import IptvService
from haul.service.iptv_downloads import IptvDownloads
from haul.service.links import FileLinks
from haul.service.logs import LogService
from haul.service.media import MediaService
from haul.service.notifications import NotificationService
from haul.service.ownership import OwnershipService
from haul.service.profiles import ProfileService
from haul.service.retention import RetentionService
from haul.service.subscriptions import SubscriptionService
from haul.service.thumbnails import ThumbnailCache
from haul.settings import Settings
from haul.store.database import Database
from haul.web.auth import Gate


def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


def get_settings(conn: HTTPConnection) -> Settings:
    return get_runtime(conn).settings


def get_database(conn: HTTPConnection) -> Database:
    return get_runtime(conn).db


def get_bus(conn: HTTPConnection) -> EventBus:
    return get_runtime(conn).bus


def get_runs_worker(conn: HTTPConnection) -> bool:
    """Whether transfers run in this process (``haul serve`` without a separate worker)."""
    return get_runtime(conn).run_worker


def get_builtin(conn: HTTPConnection) -> BuiltinClient:
    return get_runtime(conn).builtin


def get_live(conn: HTTPConnection) -> LiveJobs:
    return get_runtime(conn).live


def get_directory(conn: HTTPConnection) -> ClientDirectory:
    return get_runtime(conn).directory


def get_downloads(conn: HTTPConnection) -> DownloadService:
    return get_runtime(conn).service


def get_media(conn: HTTPConnection) -> MediaService:
    return get_runtime(conn).media


def get_thumbnails(conn: HTTPConnection) -> ThumbnailCache:
    return get_runtime(conn).thumbnails


def get_profiles(conn: HTTPConnection) -> ProfileService:
    return get_runtime(conn).profiles


def get_clients(conn: HTTPConnection) -> ClientService:
    return get_runtime(conn).client_service


def get_config(conn: HTTPConnection) -> ConfigService:
    return get_runtime(conn).config


def get_retention(conn: HTTPConnection) -> RetentionService:
    return get_runtime(conn).retention


def get_accounts(conn: HTTPConnection) -> AccountService:
    return get_runtime(conn).accounts


def get_ownership(conn: HTTPConnection) -> OwnershipService:
    return get_runtime(conn).ownership


def get_links(conn: HTTPConnection) -> FileLinks:
    return get_runtime(conn).links


def get_iptv(conn: HTTPConnection) -> IptvService:
    return get_runtime(conn).iptv


def get_iptv_downloads(conn: HTTPConnection) -> IptvDownloads:
    return get_runtime(conn).iptv_downloads


def get_notifications(conn: HTTPConnection) -> NotificationService:
    return get_runtime(conn).notification_service


def get_subscriptions(conn: HTTPConnection) -> SubscriptionService:
    return get_runtime(conn).subscriptions


def get_formats(conn: HTTPConnection) -> FormatService:
    return get_runtime(conn).formats


def get_logs(conn: HTTPConnection) -> LogService:
    return LogService(get_database(conn))


async def get_owner(conn: HTTPConnection) -> Owner:
    """Who is asking (see :mod:`haul.web.auth`); 401 when this instance needs a login."""
    gate: Gate = conn.app.state.gate
    return await gate.owner(conn)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
BusDep = Annotated[EventBus, Depends(get_bus)]
RunsWorkerDep = Annotated[bool, Depends(get_runs_worker)]
BuiltinDep = Annotated[BuiltinClient, Depends(get_builtin)]
LiveDep = Annotated[LiveJobs, Depends(get_live)]
DirectoryDep = Annotated[ClientDirectory, Depends(get_directory)]
DownloadsDep = Annotated[DownloadService, Depends(get_downloads)]
MediaDep = Annotated[MediaService, Depends(get_media)]
ThumbnailsDep = Annotated[ThumbnailCache, Depends(get_thumbnails)]
ProfilesDep = Annotated[ProfileService, Depends(get_profiles)]
ClientsDep = Annotated[ClientService, Depends(get_clients)]
ConfigDep = Annotated[ConfigService, Depends(get_config)]
RetentionDep = Annotated[RetentionService, Depends(get_retention)]
AccountsDep = Annotated[AccountService, Depends(get_accounts)]
OwnershipDep = Annotated[OwnershipService, Depends(get_ownership)]
LinksDep = Annotated[FileLinks, Depends(get_links)]
IptvDep = Annotated[IptvService, Depends(get_iptv)]
IptvDownloadsDep = Annotated[IptvDownloads, Depends(get_iptv_downloads)]
NotificationsDep = Annotated[NotificationService, Depends(get_notifications)]
FormatsDep = Annotated[FormatService, Depends(get_formats)]
SubscriptionsDep = Annotated[SubscriptionService, Depends(get_subscriptions)]
LogsDep = Annotated[LogService, Depends(get_logs)]
OwnerDep = Annotated[Owner, Depends(get_owner)]


def get_admin(owner: OwnerDep) -> Owner:
    """The caller, when an administrator (403 otherwise)."""
    if not owner.is_admin:
        raise Forbidden("Only an administrator can do that.")
    return owner


AdminDep = Annotated[Owner, Depends(get_admin)]


def get_account(owner: OwnerDep) -> Owner:
    """The caller, when they have an account or are the local user (403 for visitors)."""
    if owner.anonymous:
        raise Forbidden("Visitors without an account cannot do that here; log in first.")
    return owner


AccountDep = Annotated[Owner, Depends(get_account)]
