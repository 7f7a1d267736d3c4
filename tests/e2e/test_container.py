"""haul's container image, built from the repository's Dockerfile and run for real with podman:
it starts as an unprivileged user given at run time, makes its first administrator from a
password file, answers /healthz (and its HEALTHCHECK says healthy), downloads a file from an
origin into the mounted downloads folder as that user, and a new container on the same
folders (what an update does) still has the account and the history. Run as a user the
folders do not belong to, it stops at once saying so.

The container shares the host's network (the origin listens on 127.0.0.1 only), and haul in
it listens on loopback only; like any container, it runs in accounts mode. Skipped without
podman, an error in CI (``CI=true``).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.containers import Container, Podman, build_image, podman, running
from tests.support.origin import Origin
from tests.support.server import free_port
from tests.support.wait import wait_for

OWNER = (4321, 4322)  # uid and gid haul runs as, chosen at run time
PASSWORD = "a container's first password"


def start(
    pod: Podman, image: str, folders: dict[str, Path], port: int
) -> AbstractContextManager[Container]:
    return running(
        pod,
        image,
        "--network=host",
        "--user",
        f"{OWNER[0]}:{OWNER[1]}",
        "--env",
        "HAUL_HOST=127.0.0.1",
        "--env",
        f"HAUL_PORT={port}",
        "--env",
        "HAUL_ALLOW_PRIVATE_ADDRESSES=true",  # the origin is on loopback
        "--env",
        "HAUL_ADMIN_PASSWORD_FILE=/run/secrets/admin_password",
        "--volume",
        f"{folders['data']}:/data",
        "--volume",
        f"{folders['downloads']}:/downloads",
        "--volume",
        f"{folders['secret']}:/run/secrets/admin_password:ro",
    )


def answers(container: Container, url: str) -> bool:
    state = container.pod.run("inspect", "--format", "{{.State.Status}}", container.id)
    if state.stdout.strip() != "running":
        raise AssertionError(f"the container stopped: {container.logs()[-3000:]}")
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.timeout(1800)
def test_the_image_runs_as_its_user_downloads_and_keeps_its_history(
    tmp_path: Path, origin: Origin
) -> None:
    pod = podman(tmp_path)
    image = build_image(pod)

    folders = {name: tmp_path / name for name in ("data", "downloads")}
    for folder in folders.values():
        folder.mkdir()
        os.chown(folder, *OWNER)
    folders["secret"] = tmp_path / "admin_password"
    folders["secret"].write_text(PASSWORD + "\n")
    os.chown(folders["secret"], *OWNER)
    folders["secret"].chmod(0o600)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = os.urandom(300_000)
    origin.add_file("/films/clip.bin", data, filename="clip.bin")

    with start(pod, image, folders, port) as first:
        wait_for(lambda: answers(first, url), 120, what="haul in the container to answer")
        health = pod.run("healthcheck", "run", first.id, check=False)
        assert health.returncode == 0, health.stdout + health.stderr
        logs = first.logs()
        assert "created the first administrator admin" in logs, logs
        assert PASSWORD not in logs

        # accounts mode: nothing without a login, and the administrator from the file logs in
        assert httpx.get(f"{url}/api/v1/downloads", timeout=10).status_code == 401
        login = {"username": "admin", "password": PASSWORD, "name": "test"}
        made = httpx.post(f"{url}/api/v1/auth/token", json=login, timeout=30)
        assert made.status_code == 201, made.text
        auth = {"Authorization": f"Bearer {made.json()['token']}"}

        added = httpx.post(
            f"{url}/api/v1/downloads",
            json={"url": origin.url("/films/clip.bin")},
            headers=auth,
            timeout=30,
        )
        assert added.status_code == 201, added.text
        download_id = added.json()["id"]

        def finished() -> dict[str, Any] | None:
            item: dict[str, Any] = httpx.get(
                f"{url}/api/v1/downloads/{download_id}", headers=auth, timeout=10
            ).json()
            return item if item["status"] in ("completed", "failed") else None

        item = wait_for(finished, 120, what="the download to finish")
        assert item["status"] == "completed", item
        [saved] = list(folders["downloads"].rglob("clip.bin"))
        assert saved.read_bytes() == data
        for path in (saved, saved.parent, folders["data"] / "haul.db"):
            assert (path.stat().st_uid, path.stat().st_gid) == OWNER, path

    # a new container on the same folders: the account, its token and the history are there
    with start(pod, image, folders, port) as second:
        wait_for(lambda: answers(second, url), 120, what="the new container to answer")
        assert "created the first administrator" not in second.logs()
        again = httpx.get(f"{url}/api/v1/downloads/{download_id}", headers=auth, timeout=10)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "completed"
        assert again.json()["files"] == item["files"]

    # run as a user the mounted folders do not belong to: one sentence, not a traceback
    stranger = pod.run(
        "run",
        "--rm",
        "--network=host",
        "--user",
        "5555:5555",
        "--env",
        "HAUL_HOST=127.0.0.1",
        "--env",
        f"HAUL_PORT={port}",
        "--volume",
        f"{folders['data']}:/data",
        image,
        check=False,
    )
    said = " ".join((stranger.stdout + stranger.stderr).split())
    assert stranger.returncode == 2, said
    assert (
        f"haul cannot write to /data (HAUL_DATA_DIR): it belongs to user {OWNER[0]} (group "
        f"{OWNER[1]}) and haul runs as user 5555 (group 5555)" in said
    ), said
    assert "Traceback" not in said
