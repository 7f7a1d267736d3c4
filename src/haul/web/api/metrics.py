"""``/metrics`` in Prometheus format: queue depth, transfers, speed, retries, failures, clients.

Figures come from the database (shared by every process) and from this process's live jobs;
they are computed at scrape time into a fresh registry, so nothing here keeps counters that a
restart would reset.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from haul.core.status import Phase
from haul.store.models import Download, DownloadEvent
from haul.web.deps import DatabaseDep, DirectoryDep, LiveDep

router = APIRouter(tags=["system"])


class Snapshot(Collector):
    def __init__(self, families: list[GaugeMetricFamily | CounterMetricFamily]) -> None:
        self.families = families

    def collect(self):  # type: ignore[no-untyped-def]
        yield from self.families


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(db: DatabaseDep, live_jobs: LiveDep, directory: DirectoryDep) -> Response:
    async with db.read() as s:
        by_phase = dict(
            (await s.execute(select(Download.phase, func.count()).group_by(Download.phase))).all()
        )
        failures = (
            await s.execute(
                select(Download.last_error_code, func.count())
                .where(Download.phase == Phase.FAILED.value)
                .group_by(Download.last_error_code)
            )
        ).all()
        retries = await s.scalar(
            select(func.count())
            .select_from(DownloadEvent)
            .where(DownloadEvent.kind == "retry_scheduled")
        )
    queue = GaugeMetricFamily("haul_downloads", "Downloads by lifecycle phase.", labels=["phase"])
    for phase in Phase:
        queue.add_metric([phase.value], float(by_phase.get(phase.value, 0)))
    live = live_jobs.downloading()
    active = GaugeMetricFamily("haul_active_transfers", "Transfers running in this process.")
    active.add_metric([], float(len(live)))
    speed = GaugeMetricFamily("haul_transfer_bytes_per_second", "Download speed of this process.")
    speed.add_metric([], float(sum((j.progress.speed or 0) for j in live if j.progress)))
    retried = CounterMetricFamily("haul_retries", "Automatic retries scheduled.")
    retried.add_metric([], float(retries or 0))
    failed = GaugeMetricFamily(
        "haul_failed_downloads", "Failed downloads by reason.", labels=["reason"]
    )
    for reason, count in failures:
        failed.add_metric([reason or "unknown"], float(count))
    clients = GaugeMetricFamily(
        "haul_client_up", "Whether a download client answers.", labels=["client"]
    )
    for name, client in directory.clients.items():
        clients.add_metric([name], 1.0 if (await client.health()).ok else 0.0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Snapshot([queue, active, speed, retried, failed, clients]))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
