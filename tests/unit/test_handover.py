"""The hand-over to external clients on a fake client and the in-memory job store: what a
pass hands to which client, and what is recorded when a client takes, refuses or cannot be
reached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from haul.clients.base import AddRequest
from haul.clients.fake import FakeClient
from haul.core.status import Status
from haul.errors import ClientError, ClientUnavailable, PermanentTransferError
from tests.support.external import MAGNET, Clients, spec


class Refusing(FakeClient):
    """A client that refuses whatever it is given, as a client refuses a broken torrent."""

    async def add(self, request: AddRequest) -> str:
        self._check("add")
        raise ClientError(f"{self.name} refused it: not a valid torrent")


@pytest.fixture
async def clients(tmp_path: Path) -> AsyncIterator[Clients]:
    setup = Clients(tmp_path)
    setup.fakes["refusing"] = Refusing
    await setup.start()
    yield setup
    await setup.aclose()


async def test_a_pass_hands_each_client_what_it_has_room_for(clients: Clients) -> None:
    await clients.configure(spec("qbit", slot_limit=1), spec("trans", kind="transmission"))
    first = clients.admitted("qbit", source_url=MAGNET)
    second = clients.admitted("qbit", source_url=MAGNET.replace("c", "d"))
    others = [clients.admitted("trans") for _ in range(3)]  # no limit there
    assert await clients.dispatch() == 4
    assert clients.seen(first).status is Status.DOWNLOADING
    assert clients.history(first) == ["handed_over"]
    assert clients.seen(second).status is Status.RESOLVING  # admitted, waiting for the slot
    assert second.phase == "admitted" and clients.history(second) == []
    assert all(clients.seen(job).status is Status.DOWNLOADING for job in others)
    assert await clients.dispatch() == 0  # still full
    clients.clients["qbit"].advance(str(first.client_ref), 10_000)
    await clients.external.monitor()  # the first is done: its slot is free
    assert await clients.dispatch() == 1
    assert clients.seen(second).status is Status.DOWNLOADING
    assert len(clients.clients["qbit"].store) == 2
    assert [row.id for row in clients.published][:1] == [first.id]


async def test_a_hand_over_the_client_refuses_fails_the_download(clients: Clients) -> None:
    await clients.configure(spec("refusing"))
    job = clients.admitted("refusing", source_url=MAGNET)
    await clients.dispatch()
    seen = clients.seen(job)
    assert seen.status is Status.FAILED
    assert seen.error == "refusing refused it: not a valid torrent"
    assert clients.history(job) == ["failed"]
    assert "handing" not in job.meta  # nothing of the refused item is taken for haul's later


async def test_a_client_that_cannot_be_reached_keeps_the_download_waiting(
    clients: Clients,
) -> None:
    await clients.configure(spec("qbit"))
    job = clients.admitted("qbit")
    clients.clients["qbit"].down = "connection refused"
    await clients.dispatch()
    assert job.phase == "admitted"  # waits for its client, no attempt used up
    assert job.retry_attempt == 0
    assert clients.history(job) == []
    clients.clients["qbit"].down = None
    clients.clock.now += 60  # past the directory's backoff
    await clients.dispatch()
    assert clients.seen(job).status is Status.DOWNLOADING


async def test_a_torrent_whose_client_is_down_goes_to_another(clients: Clients) -> None:
    await clients.configure(spec("qbit"), spec("trans", kind="transmission"))
    clients.clients["qbit"].down = "connection refused"
    with pytest.raises(ClientUnavailable):  # a failed call: the client is backed off
        await clients.directory.call("qbit", lambda c: c.items())
    job = clients.admitted("qbit", source_url=MAGNET)
    await clients.dispatch()
    assert job.client == "trans"
    assert clients.history(job) == ["rerouted", "handed_over"]
    assert clients.seen(job).status is Status.DOWNLOADING


async def test_a_download_whose_client_was_removed_goes_to_the_builtin_engine(
    clients: Clients,
) -> None:
    await clients.configure(spec("qbit"))
    job = clients.admitted("gone")
    await clients.dispatch()
    assert job.client is None and job.lease_worker_id is None
    assert job.phase == "admitted"  # the built-in engine takes it up


async def test_a_download_whose_client_was_removed_goes_to_one_that_takes_it(
    clients: Clients,
) -> None:
    await clients.configure(spec("qbit"), spec("aria", kind="aria2", prefer_for_files=True))
    file = clients.admitted("gone")
    torrent = clients.admitted("gone", source_url=MAGNET)
    await clients.dispatch()
    assert (file.client, torrent.client) == ("aria", "qbit")
    assert clients.seen(file).status is Status.DOWNLOADING
    assert clients.seen(torrent).status is Status.DOWNLOADING


async def test_a_pause_during_the_hand_over_keeps_the_slot_free(clients: Clients) -> None:
    await clients.configure(spec("qbit"))
    job = clients.admitted("qbit")
    fake = clients.clients["qbit"]
    add = fake.add

    async def paused_meanwhile(request: AddRequest) -> str:
        job.desired_paused = True  # its owner pauses it while the client adds it
        return await add(request)

    fake.add = paused_meanwhile  # type: ignore[method-assign]
    await clients.dispatch()
    assert job.phase == "queued"
    assert clients.seen(job).status is Status.PAUSED
    await clients.external.monitor()  # the item is paused on the client too
    item = clients.item(job)
    assert item is not None and item.status is Status.PAUSED


async def test_a_resolved_source_is_handed_to_the_client_that_takes_it(
    clients: Clients,
) -> None:
    await clients.configure(spec("aria", kind="aria2", prefer_for_files=True))
    job = clients.admitted("builtin")
    row = job.row()
    resolved = {"kind": "file", "url": "https://example.invalid/clip.mp4", "filename": "clip.mp4"}
    assert await clients.external.handoff(row, resolved)
    assert job.client == "aria" and clients.seen(job).status is Status.DOWNLOADING
    assert job.meta["file_name"] == "clip.mp4"  # the name haul chose, kept for a retry
    assert job.meta["resolved"]["kind"] == "file"
    assert not await clients.external.handoff(row, {"kind": "media", "url": row.source_url})


async def test_a_visitor_may_not_hand_a_torrent_over_when_it_is_forbidden(
    clients: Clients,
) -> None:
    await clients.configure(spec("qbit"))
    clients.external.handovers.config.visitor_torrents = False
    job = clients.state.add("session:1a2b3c4d", client="builtin", phase="active")
    with pytest.raises(PermanentTransferError, match="Visitors of this instance"):
        await clients.external.handoff(job.row(), {"kind": "torrent", "url": MAGNET})
    assert job.client == "builtin" and clients.history(job) == []
    assert clients.clients["qbit"].store == {}
