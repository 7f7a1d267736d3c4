"""Faults while a finished download is filed, in-process (SQLite and PostgreSQL): a database
that fails a read the filing needs, a full folder at the move a restarted job still owes, a
noted file deleted meanwhile. None of them may fail the download for good, fetch it twice or
leave a file in the download root that no download records."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from haul.core.retry import Backoff
from haul.errors import StorageError
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.support.origin import Origin

DATA = os.urandom(256 * 1024 + 3)


def refusing(call: Callable[[str], Awaitable[str]], times: int) -> Callable[[str], Awaitable[str]]:
    """``call``, refused by the database its first ``times`` calls (as during a restart)."""
    left = [times]

    async def read(owner_key: str) -> str:
        if left[0] > 0:
            left[0] -= 1
            raise StorageError("The database failed: server closed the connection unexpectedly")
        return await call(owner_key)

    return read


async def test_a_refused_read_of_the_owners_folder_delays_the_completion_not_fails_it(
    app: App, origin: Origin
) -> None:
    ctx = app.runtime.runner.ctx
    ctx.storage_backoff = Backoff(base_delay=0.05, max_delay=0.1)
    ctx.owner_folder = refusing(app.runtime.service.owner_folder, 3)
    origin.add_file("/clip.bin", DATA)
    item = await finished(app, (await submit(app, origin.url("/clip.bin")))["id"])
    assert item["status"] == "completed", item
    assert [f["path"] for f in item["files"]] == ["clip.bin"]
    assert (app.runtime.builtin.root / "clip.bin").read_bytes() == DATA
    gets = [r for r in origin.requests_for("/clip.bin") if r.method == "GET"]
    assert len(gets) == 1
