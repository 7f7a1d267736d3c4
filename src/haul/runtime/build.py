"""Wiring: builds database, bus, clients, engines, worker and services from the settings.

Every part is made once, bottom-up, and given everything it uses in its constructor; nothing
is set on a part after it is made. Where two parts need each other, the cycle is broken so
the dependency runs one way:

- **Waking workers.** The download service (a submit, a resume) and the runtime settings (a
  raised limit) wake the worker, which is made last because it runs what they publish. The
  signal is made first (:class:`~haul.runtime.wakeups.Wakeups`: an event the worker is given
  when made, and the bridge's NOTIFY for other processes) and handed to both sides.
- **Settings and the PostgreSQL bridge.** The settings tell the other processes of a change
  through the bridge, and the bridge reloads the settings when another process changed them.
  The bridge sends from the moment it is made, so it is made early and the settings take its
  ``config_changed``; what it does with what arrives (reload the settings, wake the worker,
  catch the pages up) is given to its start (:class:`~haul.events.pg.Listeners`).
- **Downloads and the library.** Downloads follow the rules of the library items they are
  linked to, and the library wakes the processing step, which publishes downloads. The
  processing step's wake-up event is made first: the library takes its ``set``, the download
  service takes the library, the processing step takes the download service's publishing and
  the event.
- **A job and the external clients.** A job hands a resolved source over to the external
  clients, which record a failed hand-over as the job's outcome. The outcomes are made first
  from the job context, the external clients take them, and the runner takes both.
- **The worker's id.** The job store, the processing step and the external clients lease rows
  to this process's worker; its id is made first and given to all of them and to the worker.

The retry policy and the retention ages are read from the runtime settings when they are
needed, so a change an administrator makes reaches the next failure and the next pass.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import timedelta

import httpx

from haul import __version__
from haul.clients.builtin.client import BuiltinClient
from haul.clients.directory import ClientDirectory
from haul.core.admission import Limits
from haul.core.sites import caps as site_caps
from haul.engine.bandwidth import Budgets
from haul.engine.hls import LiveRecorder
from haul.engine.http import HttpEngine
from haul.engine.live import LiveJobs
from haul.engine.media import MediaEngine
from haul.engine.segmented import Segmenting
from haul.events.bus import EventBus
from haul.media.naming import Templates
from haul.media.prober import Prober
from haul.net.guard import AddressPolicy
from haul.net.transport import GuardedTransport
from haul.notify import Notifier
from haul.periodic import Periodic
from haul.runtime.process import Runtime, read_clients
from haul.runtime.seams import JobSeams
from haul.runtime.wakeups import Wakeups
from haul.service import DownloadService
from haul.service.accounts import AccountService
from haul.service.clients import ClientService
from haul.service.config import ConfigService, defaults_from
from haul.service.cookies import CookieService
from haul.service.formats import FormatService
from haul.service.iptv import IptvService
from haul.service.iptv_downloads import IptvDownloads, IptvStreamUrls
from haul.service.links import FileLinks
from haul.service.media import MediaService
from haul.service.notifications import NotificationService
from haul.service.ownership import OwnershipService
from haul.service.profiles import ProfileService
from haul.service.retention import RetentionService
from haul.service.speeds import held_message
from haul.service.subscriptions import IptvSeries, SubscriptionNews, SubscriptionService
from haul.service.thumbnails import ThumbnailCache
from haul.settings import Settings
from haul.store.database import Database
from haul.store.sealed import KEY_FILE_NAME, KeyFile
from haul.store.sql_handoffs import SqlHandoffStore
from haul.store.sql_jobs import SqlJobStore
from haul.store.sql_processing import SqlProcessingStore
from haul.store.sql_subscriptions import SqlSubscriptionStore
from haul.worker.bandwidth import SpeedKeeper, speed_settings
from haul.worker.client_speeds import ClientSpeeds
from haul.worker.context import JobContext
from haul.worker.external import ExternalClients, ExternalConfig
from haul.worker.listings import Listings
from haul.worker.loops import Worker, WorkerConfig, new_worker_id
from haul.worker.outcomes import Outcomes
from haul.worker.processing import LibraryConfig, Processor
from haul.worker.runner import JobRunner
from haul.worker.subscriptions import Checker, CheckerConfig, Telling

log = logging.getLogger("haul.runtime")  # the name its log lines have always carried


def build(settings: Settings, *, run_worker: bool = True, seams: JobSeams | None = None) -> Runtime:
    """Every part of one haul process, made and connected (nothing started yet); ``seams``:
    what stands between the worker's jobs and the parts they call (see
    :mod:`haul.runtime.seams`)."""
    seams = seams or JobSeams()
    root = settings.downloads_root
    allow_private = settings.private_addresses_allowed
    db = Database(settings.sqlalchemy_url)
    worker_id = new_worker_id()  # fixed before anything is made
    jobs = SqlJobStore(db, worker_id=worker_id)  # the worker's operations on rows
    bus = EventBus()
    bridge = None
    if not db.is_sqlite:
        from haul.events.pg import PgEventBridge  # psycopg is loaded for PostgreSQL only

        bridge = PgEventBridge(settings.sqlalchemy_url, bus)
    wakeups = Wakeups(run_worker, bridge.wake if bridge is not None else None)
    config = ConfigService(
        db,
        defaults_from(settings),
        tell_others=bridge.config_changed if bridge is not None else lambda: None,
        listeners=[wakeups.on_limits],
    )
    live = LiveJobs()
    builtin = BuiltinClient(root, live, stall_warning=settings.stall_warning)
    directory = ClientDirectory(builtin)
    # Where haul connects for downloads and URLs people give (not to download clients).
    addresses = AddressPolicy(allow_private=allow_private)
    http = httpx.AsyncClient(
        transport=GuardedTransport(
            addresses,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        ),
        follow_redirects=True,
        timeout=httpx.Timeout(60.0, connect=15.0),
        headers={"User-Agent": f"haul/{__version__}"},
    )

    def limits() -> Limits:
        caps = {n: spec.slot_limit for n, spec in directory.specs.items() if spec.slot_limit}
        values = config.current
        return Limits(
            values.limit_global, values.limit_per_owner, caps, site_caps(values.site_rules)
        )

    thumbnails = ThumbnailCache(settings.thumbnails_dir, http)
    #: The data folder's key: site cookies and proxy credentials are sealed with it.
    key = KeyFile(settings.data_dir / KEY_FILE_NAME)
    processing_wakeup = asyncio.Event()  # the processing step waits on it
    media = MediaService(
        db, downloads_root=root, library_root=settings.library_root, wake=processing_wakeup.set
    )
    service = DownloadService(
        db,
        bus,
        directory,
        limits=limits,
        policy=lambda: config.current.over_limit,
        allow_private=allow_private,
        wake=wakeups.everywhere,
        library_root=settings.library_root,
        visitor_sites=settings.public_site_list,
        visitor_torrents=settings.public_torrents,
        media=media,
        removed_thumbnail=thumbnails.forget,
        thumbnail_failed=thumbnails.failed,
        key=key,
        held=lambda: held_message(config.current),
    )
    profiles = ProfileService(
        db,
        downloads_root=root,
        changed=service.profiles.forget,
        addresses=addresses,
        key=key,
    )
    accounts = AccountService(
        db, session_days=settings.session_days, login_attempts=settings.login_attempts
    )
    reload_clients = functools.partial(read_clients, db, directory)
    client_service = ClientService(db, directory, reload=reload_clients)
    iptv = IptvService(db, http, allow_private=allow_private)
    notifier = Notifier(db, http, addresses=addresses)
    notification_service = NotificationService(db, notifier, allow_private=allow_private)
    prober = Prober()
    processor = Processor(
        SqlProcessingStore(db),
        LibraryConfig(
            downloads_root=root,
            library_root=settings.library_root,
            templates=Templates(
                movie=settings.movie_template,
                episode=settings.episode_template,
                movie_trailer=settings.movie_trailer_template,
                series_trailer=settings.series_trailer_template,
            ),
        ),
        worker_id=worker_id,
        published=service.publish_ids,
        notifier=notifier,
        poll_interval=settings.heartbeat_interval,
        probe=prober.probe,
        wakeup=processing_wakeup,
    )
    iptv_streams = IptvStreamUrls(db, http)
    cookies = CookieService(
        db,
        key,
        tell_others=bridge.config_changed if bridge is not None else lambda: None,
    )
    segmenting = Segmenting(
        connections=settings.connections_per_download,
        per_host=settings.connections_per_host,
        threshold=settings.segment_threshold,
    )
    direct = HttpEngine(addresses=addresses, segmenting=segmenting)
    recorder = LiveRecorder(
        http, hiccup=settings.live_hiccup, max_duration=settings.live_max_duration
    )
    if settings.ytdlp_plugin_folders:
        from haul.engine import ytdlp_plugins  # loads yt-dlp: only when plug-ins are asked for

        ytdlp_plugins.load(settings.ytdlp_plugin_folders)
    budgets = Budgets()
    speeds = SpeedKeeper(budgets, lambda: speed_settings(config.current))
    config.on_change(lambda old, new: speeds.changed())
    ctx = seams.context(
        JobContext(
            jobs=jobs,
            builtin=builtin,
            live=live,
            direct=direct,
            media=MediaEngine(
                settings.ytdlp_threads, addresses, sponsorblock_api=settings.sponsorblock_api
            ),
            retry=config.retry_policy,
            publish=service.publish,
            profiles=service.engine_profile,
            owner_folder=service.owner_folder,
            processed=processor.enqueue,
            iptv=iptv_streams.fresh,
            failed=lambda row: notifier.emit_ended("failed", row),
            completed=lambda row: notifier.emit_ended("completed", row),
            probe=processor.probe_only,
            addresses=addresses,
            cookies=cookies.for_owner,
            recorder=recorder,
            site_rules=lambda: config.current.site_rules,
            budgets=budgets,
        )
    )
    outcomes = Outcomes(ctx)
    external = ExternalClients(
        SqlHandoffStore(db),
        directory,
        http,
        ExternalConfig(
            root=root,
            monitor_interval=settings.monitor_interval,
            addresses=addresses,
            visitor_torrents=settings.public_torrents,
            owner_folder=service.owner_folder,
            owner_limit=lambda: budgets.owner_limit,
        ),
        publish=service.publish,
        fail=outcomes.failed,
        worker_id=worker_id,
        processed=processor.enqueue,
        iptv=iptv_streams.fresh,
    )
    runner = JobRunner(ctx, outcomes=outcomes, handoff=seams.handoff(external.handoff))
    retention = RetentionService(
        db,
        bus,
        ages=config.retention_ages,
        directory=directory,
        downloads_root=root,
        library_root=settings.library_root,
        work_root=builtin.work_root,
    )

    iptv_series = IptvSeries(iptv, media)
    news = SubscriptionNews(db, bus, service, notifier)
    checker = Checker(
        SqlSubscriptionStore(db, limits),
        Listings(
            http,
            addresses,
            iptv=iptv_series.listing,
            cookies=cookies.for_owner,
            timeout=settings.subscription_timeout,
        ),
        worker_id=worker_id,
        config=CheckerConfig(
            at_once=settings.subscription_checks_at_once,
            poll_interval=settings.subscription_poll_interval,
            timeout=settings.subscription_timeout,
            jitter=settings.subscription_jitter,
            lease=timedelta(seconds=settings.subscription_lease),
            allow_private=allow_private,
        ),
        telling=Telling(
            published=service.publish_ids,
            told=news.told,
            prune=news.prune,
            wake=wakeups.everywhere,
        ),
        prepare=iptv_series.prepare,
        forget=iptv_series.forget,
    )

    async def refresh() -> None:
        """What a worker re-reads now and then: clients and runtime settings (another process
        may have changed them and its notification may not have arrived)."""
        await reload_clients()
        await config.reload()

    worker = Worker(
        jobs,
        bus,
        builtin,
        live,
        runner,
        limits,
        WorkerConfig(
            concurrency=settings.worker_concurrency,
            heartbeat_interval=settings.heartbeat_interval,
            lease_ttl=settings.lease_ttl,
            progress_interval=settings.progress_interval,
            stall_timeout=settings.stall_timeout,
            reconcile_interval=settings.reconcile_interval,
        ),
        on_admitted=service.publish_each,
        external=external,
        refresh_clients=refresh,
        processor=processor,
        worker_id=worker_id,
        wakeup=wakeups.local,
        speeds=speeds,
        client_speeds=ClientSpeeds(
            lambda: directory.clients,
            lambda: budgets.global_limit,
            owner_rate=lambda: budgets.owner_limit,
        ),
    )
    return Runtime(
        settings=settings,
        run_worker=run_worker,
        db=db,
        bus=bus,
        config=config,
        live=live,
        builtin=builtin,
        directory=directory,
        http=http,
        direct=direct,
        prober=prober,
        notifier=notifier,
        service=service,
        media=media,
        profiles=profiles,
        accounts=accounts,
        client_service=client_service,
        iptv=iptv,
        iptv_downloads=IptvDownloads(iptv, media, service),
        notification_service=notification_service,
        ownership=OwnershipService(db, accounts, service, media, cookies),
        cookies=cookies,
        formats=FormatService(
            addresses=addresses,
            allow_private=allow_private,
            cookies=cookies.for_owner,
            visitor_sites=settings.public_site_list,
            at_once=settings.formats_at_once,
            per_minute=settings.formats_per_minute,
            timeout=settings.formats_timeout,
            keep=settings.formats_keep,
        ),
        retention=retention,
        links=FileLinks(db, service),
        thumbnails=thumbnails,
        worker=worker,
        bridge=bridge,
        subscriptions=SubscriptionService(
            db,
            bus,
            allow_private=allow_private,
            media=media,
            iptv=iptv,
            checker=checker if run_worker else None,
            checks_at_once=settings.formats_at_once,  # a check now lists a page, as formats do
        ),
        checker=checker,
        periodic=_periodic(settings, media, retention, checker),
        limits_in_effect=limits,
        wakeups=wakeups,
    )


def _periodic(
    settings: Settings, media: MediaService, retention: RetentionService, checker: Checker
) -> list[Periodic]:
    """The background jobs of a worker process (started with the worker)."""
    jobs: list[Periodic] = []
    if settings.rescan_interval > 0:

        async def rescan() -> None:
            """Keep ``file_exists`` of the recorded files true (a person may delete or move
            them)."""
            found = await media.rescan()
            log.info("rescan: %d files, %d missing", found.checked, found.missing)

        jobs.append(Periodic("rescan", rescan, settings.rescan_interval))
    if settings.retention_interval > 0:
        interval = settings.retention_interval
        # A minute after the start, then every interval; it logs what it removed.
        first = min(60.0, interval)
        jobs.append(Periodic("retention", retention.run, interval, first_delay=first))
    if settings.subscription_poll_interval > 0:
        # Due subscriptions are leased and checked (a few at once, see haul.worker.subscriptions).
        poll = settings.subscription_poll_interval
        jobs.append(Periodic("subscriptions", checker.run_pass, poll, first_delay=min(5.0, poll)))
    return jobs
