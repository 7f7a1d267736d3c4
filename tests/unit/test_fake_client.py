"""The in-memory fake client answers as the real adapters do, so tests built on it hold for
aria2, qBittorrent, Transmission and the built-in client alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from haul.clients.base import AddRequest, DownloadClient
from haul.clients.builtin.client import BuiltinClient
from haul.clients.fake import FakeClient
from haul.core.status import Status
from haul.errors import ClientError, ClientItemNotFound, ClientUnavailable


def request(paused: bool = False) -> AddRequest:
    return AddRequest(
        download_id=1, url="http://example.test/file.bin", dest_dir=Path("/d"), paused=paused
    )


def test_it_is_a_download_client() -> None:
    assert isinstance(FakeClient(), DownloadClient)


@pytest.mark.parametrize("call", ["pause", "resume", "remove"])
async def test_an_unknown_ref_is_not_found_with_its_ref(call: str) -> None:
    fake = FakeClient("fake")
    with pytest.raises(ClientItemNotFound, match="holds no item nope") as raised:
        if call == "remove":
            await fake.remove("nope", delete_data=False)
        else:
            await getattr(fake, call)("nope")
    assert raised.value.ref == "nope"
    assert isinstance(raised.value, ClientError)
    assert raised.value.code == "client_item_not_found"


async def test_items_leave_unknown_refs_out() -> None:
    fake = FakeClient()
    ref = await fake.add(request())
    assert list(await fake.items([ref, "nope"])) == [ref]


async def test_a_removed_item_is_not_found_afterwards() -> None:
    fake = FakeClient()
    ref = await fake.add(request())
    await fake.remove(ref, delete_data=False)
    with pytest.raises(ClientItemNotFound):
        await fake.remove(ref, delete_data=False)


async def test_pause_and_resume_change_the_state() -> None:
    fake = FakeClient()
    ref = await fake.add(request())
    await fake.pause(ref)
    assert (await fake.items([ref]))[ref].status is Status.PAUSED
    await fake.resume(ref)
    assert (await fake.items([ref]))[ref].status is Status.DOWNLOADING


async def test_an_unreachable_fake_is_unavailable_before_not_found() -> None:
    fake = FakeClient()
    fake.down = "no route to host"
    with pytest.raises(ClientUnavailable, match="no route to host"):
        await fake.pause("nope")
    assert not (await fake.health()).ok


async def test_the_builtin_client_says_not_found_for_a_ref_that_names_no_download(
    tmp_path: Path,
) -> None:
    builtin = BuiltinClient(tmp_path)
    with pytest.raises(ClientItemNotFound) as raised:
        await builtin.pause("not-an-id")
    assert raised.value.ref == "not-an-id"
    with pytest.raises(ClientItemNotFound):
        await builtin.remove("not-an-id", delete_data=True)
