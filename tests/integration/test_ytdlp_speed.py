"""yt-dlp under haul's speed limits (real yt-dlp, the test origin): it waits in its progress
hook on the same budgets as the HTTP engine, so a limit holds its rate, and a limit lifted
while it runs speeds it up at once."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

from haul.engine import ytdlp
from haul.engine.bandwidth import Budgets, JobThrottle
from haul.engine.base import EngineJob, StopSignal
from tests.support.origin import Origin
from tests.support.wait import wait_for

MB = 1_000_000


def video(origin: Origin, size: int) -> str:
    origin.add_file("/v/clip.mp4", os.urandom(size), "video/mp4")
    return origin.url("/v/clip.mp4")


def test_yt_dlp_keeps_to_a_downloads_limit(origin: Origin, tmp_path: Path) -> None:
    budgets = Budgets()
    throttle = budgets.throttle(7, "local", rate=MB)
    job = EngineJob(download_id=7, url=video(origin, 2 * MB), dest_dir=tmp_path)
    began = time.monotonic()
    result = ytdlp.run_download(
        _with(job, throttle),
        lambda _p: None,
        StopSignal(),
    )
    rate = 2 * MB / (time.monotonic() - began)
    assert result.files and result.files[0].stat().st_size == 2 * MB
    assert 0.4 * MB < rate <= 1.1 * MB, f"yt-dlp moved {rate / MB:.2f} MB/s under 1 MB/s"


def test_a_limit_lifted_reaches_a_running_yt_dlp(origin: Origin, tmp_path: Path) -> None:
    budgets = Budgets()
    throttle = budgets.throttle(7, "local", rate=200_000)
    job = _with(EngineJob(download_id=7, url=video(origin, 3 * MB), dest_dir=tmp_path), throttle)
    arrived = [0]
    done = threading.Event()

    def run() -> None:
        try:
            ytdlp.run_download(
                job, lambda p: arrived.__setitem__(0, p.downloaded_bytes), StopSignal()
            )
        finally:
            done.set()

    began = time.monotonic()
    thread = threading.Thread(target=run)
    thread.start()
    wait_for(lambda: arrived[0] > 100_000, 20, what="yt-dlp to be under way")
    budgets.set_download_limit(7, None)
    assert done.wait(10), "yt-dlp did not speed up"
    thread.join()
    assert time.monotonic() - began < 7.5  # 15 s at 200 KB/s


def _with(job: EngineJob, throttle: JobThrottle) -> EngineJob:
    return dataclasses.replace(job, throttle=throttle)
