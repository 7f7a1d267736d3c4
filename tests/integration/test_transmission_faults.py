"""A Transmission daemon that loses what haul handed it: killed right after a hand-over
(before it saved haul's label), or no longer holding the torrent at all. What haul recorded
(the info-hash) keeps the download tracked; a download the daemon lost is retried from its
source (real transmission-daemon)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from pathlib import Path

import pytest
import transmission_rpc

from haul.clients.transmission.wire import TransmissionWire
from tests.conftest import App
from tests.integration.test_external_torrents import configure, magnet, status_is
from tests.support.transmission import TransmissionDaemon, transmission_daemon

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


def rpc(daemon: TransmissionDaemon) -> transmission_rpc.Client:
    return transmission_rpc.Client(
        host=daemon.host, port=daemon.port, username=daemon.username, password=daemon.password
    )


async def handed_over(app: App) -> tuple[int, str]:
    created = (await app.post("/downloads", json={"url": magnet()})).json()
    ref = str((await status_is(app, created["id"], "downloading"))["client_ref"])
    return int(created["id"]), ref


async def test_a_torrent_that_lost_its_label_is_still_hauls(app: App, tmp_path: Path) -> None:
    with transmission_daemon(tmp_path / "tr") as daemon:
        await configure(app, "trans", "transmission", daemon)
        download_id, ref = await handed_over(app)
        rpc(daemon).change_torrent(ref, labels=[])  # as after a crash before it was saved
        listed = {i["id"]: i for i in (await app.get("/downloads")).json()["items"]}
        assert listed[download_id]["status"] == "downloading"
        assert (await app.post(f"/downloads/{download_id}/pause")).json()["status"] == "paused"
        [torrent] = rpc(daemon).get_torrents([ref], arguments=["hashString", "labels"])
        assert torrent.labels == ["haul"]  # given back when haul looked at it
        canceled = await app.post(f"/downloads/{download_id}/cancel", json={"delete_files": True})
        assert canceled.json()["status"] == "canceled"
        assert rpc(daemon).get_torrents([ref], arguments=["hashString"]) == []


async def test_a_torrent_the_daemon_lost_is_missing_and_retried_from_its_source(
    app: App, tmp_path: Path
) -> None:
    with transmission_daemon(tmp_path / "tr") as daemon:
        await configure(app, "trans", "transmission", daemon)
        download_id, ref = await handed_over(app)
        rpc(daemon).remove_torrent(ref, delete_data=True)
        await status_is(app, download_id, "missing")
        page = await app.http.get(f"/downloads/{download_id}")  # the page offers a retry
        assert f'action="/downloads/{download_id}/retry"' in page.text
        retried = await app.post(f"/downloads/{download_id}/retry")
        assert retried.status_code == 200, retried.text
        back = await status_is(app, download_id, "downloading")
        assert back["client_ref"] == ref
        assert [t.hash_string for t in rpc(daemon).get_torrents([ref])] == [ref]
        kinds = [e["kind"] for e in (await app.get(f"/downloads/{download_id}/events")).json()]
        assert kinds[-3:] == ["retry_requested", "admitted", "handed_over"]
        # a download its client still holds is not retried behind its back
        again = await app.post(f"/downloads/{download_id}/retry")
        assert again.status_code == 409
        assert "failed, canceled or missing" in again.json()["detail"]


async def test_a_daemon_killed_right_after_the_hand_over_keeps_the_download(
    app: App, tmp_path: Path
) -> None:
    root = tmp_path / "tr"
    with contextlib.ExitStack() as stack:
        daemon = stack.enter_context(transmission_daemon(root))
        await configure(app, "trans", "transmission", daemon)
        download_id, ref = await handed_over(app)
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.process.wait(10)
        restarted = stack.enter_context(transmission_daemon(root))
        changed = await app.http.patch(
            "/api/v1/clients/trans",
            json={"url": restarted.url, "secret": restarted.password},
        )
        assert changed.status_code == 200, changed.text
        seen = await status_is(app, download_id, "downloading", "missing", timeout=30)
        if seen["status"] == "missing":  # the daemon had not saved the torrent at all
            assert (await app.post(f"/downloads/{download_id}/retry")).status_code == 200
            seen = await status_is(app, download_id, "downloading")
        assert seen["client_ref"] == ref
        assert [t.hash_string for t in rpc(restarted).get_torrents([ref])] == [ref]


async def test_a_hand_over_cut_short_after_the_add_is_taken_up_again(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """haul stops between Transmission's add and the label (set by a second call on
    Transmission 3): the next attempt finds the unlabeled torrent and knows it for haul's by
    the info-hash recorded before the add."""
    real = TransmissionWire.set_labels
    labeled: list[str] = []

    async def stopped_once(wire: TransmissionWire, info_hash: str, labels: Sequence[str]) -> None:
        labeled.append(info_hash)
        if len(labeled) == 1:
            raise asyncio.CancelledError  # the hand-over is cut short here, the lease given back
        await real(wire, info_hash, labels)

    monkeypatch.setattr(TransmissionWire, "set_labels", stopped_once)
    with transmission_daemon(tmp_path / "tr") as daemon:
        await configure(app, "trans", "transmission", daemon)
        download_id, ref = await handed_over(app)
        assert labeled[0] == ref  # the first attempt did add it, and stopped there
        [torrent] = rpc(daemon).get_torrents([ref], arguments=["hashString", "labels"])
        assert torrent.labels == ["haul"]
        kinds = [e["kind"] for e in (await app.get(f"/downloads/{download_id}/events")).json()]
        assert kinds.count("handed_over") == 1


async def test_a_retry_never_takes_over_the_users_own_torrent(app: App, tmp_path: Path) -> None:
    """The daemon already holds the torrent, without haul's label (the user's own): the hand-over
    is refused, and so is every retry; the user's torrent keeps its labels."""
    link = magnet()
    with transmission_daemon(tmp_path / "tr") as daemon:
        await configure(app, "trans", "transmission", daemon)
        theirs = rpc(daemon).add_torrent(link, paused=True)
        rpc(daemon).change_torrent(theirs.hash_string, labels=["mine"])
        created = (await app.post("/downloads", json={"url": link})).json()
        failed = await status_is(app, created["id"], "failed")
        assert "outside haul" in failed["error"]
        for _ in range(2):
            retried = await app.post(f"/downloads/{created['id']}/retry")
            assert retried.status_code == 200, retried.text
            failed = await status_is(app, created["id"], "failed")
            assert "outside haul" in failed["error"]
        [torrent] = rpc(daemon).get_torrents(
            [theirs.hash_string], arguments=["hashString", "labels"]
        )
        assert torrent.labels == ["mine"]
