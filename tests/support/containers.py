"""Podman for the container test: haul's image built from the repository's Dockerfile on a
Debian base made here, and containers run from it, each stopped and removed by its id.

No image registry is reachable from the test machines, so the base image
(``localhost/debian:bookworm-slim``) is bootstrapped once with debootstrap from the Debian
archive apt uses, and kept in podman's store for the next runs. The build reuses podman's
cache of its steps: after the first build, a change to haul's code rebuilds the last step only.
This machine's root cannot raise resource limits and crun fails on its cgroups, so podman is
given a containers.conf with the limits it has and runc.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.daemons import require

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "localhost/debian:bookworm-slim"
IMAGE = "localhost/haul:test"
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
#: The host's certificates, handed to pip in the build as a secret (nothing stays in the image).
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
LOCK = Path(tempfile.gettempdir()) / "haul-test-podman.lock"


@dataclass(frozen=True)
class Podman:
    env: dict[str, str]

    def run(
        self, *args: str, timeout: float = 120, check: bool = True, stdin: int | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["podman", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=stdin,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)}: {done.stderr[-3000:] or done.stdout}")
        return done


def podman(folder: Path) -> Podman:
    """Podman with a configuration this machine allows (written into ``folder``); the test
    errs without podman in CI (``CI=true``) and is skipped elsewhere."""
    require("podman", "podman buildah runc")
    require("runc", "runc")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = 1_048_576 if hard == resource.RLIM_INFINITY else hard
    conf = folder / "containers.conf"
    conf.write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=32768:32768"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
    )
    return Podman({**os.environ, "CONTAINERS_CONF": str(conf)})


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One run at a time makes the base image or builds (two test runs on one machine)."""
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _mirror() -> str:
    for line in SOURCES.read_text().splitlines():
        if line.startswith("URIs:"):
            return line.split()[1]
    raise RuntimeError(f"no URIs line in {SOURCES}")


def ensure_base_image(pod: Podman) -> None:
    """The Debian base image in podman's store: made once (about 35 s), then reused."""
    if pod.run("image", "exists", BASE_IMAGE, check=False).returncode == 0:
        return
    debootstrap = require("debootstrap", "debootstrap")
    with tempfile.TemporaryDirectory(prefix="haul-rootfs-") as folder:
        rootfs = Path(folder)
        made = subprocess.run(
            [debootstrap, "--variant=minbase", "bookworm", str(rootfs), _mirror()],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if made.returncode != 0:
            raise RuntimeError(f"debootstrap failed: {made.stderr[-3000:] or made.stdout[-3000:]}")
        # apt in the image reads the archive (and its updates) the way the host's apt does
        shutil.copy(SOURCES, rootfs / "etc/apt/sources.list.d" / SOURCES.name)
        (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):  # as the public image
            for entry in (rootfs / cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
        )
        assert tar.stdout is not None
        try:
            pod.run(
                "import",
                "--change",
                'CMD ["bash"]',
                "-",
                BASE_IMAGE,
                timeout=600,
                stdin=tar.stdout.fileno(),
            )
        finally:
            tar.stdout.close()
            tar.wait(60)


def build_image(pod: Podman) -> str:
    """haul's image from this tree's Dockerfile on the local base; its id. The previous test
    image is removed by its id once a new one replaces it (its cached steps stay)."""
    with _locked():
        ensure_base_image(pod)
        before = pod.run("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False)
        secret = ["--secret", f"id=pip_ca,src={CA_BUNDLE}"] if CA_BUNDLE.is_file() else []
        pod.run(
            "build",
            "--format",
            "docker",  # OCI images have no HEALTHCHECK
            "--pull=never",
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            *secret,
            "--tag",
            IMAGE,
            str(ROOT),
            timeout=1500,
        )
        image = pod.run("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
        old = before.stdout.strip() if before.returncode == 0 else ""
        if old and old != image:
            pod.run("rmi", old, check=False)
        return image


@dataclass
class Container:
    pod: Podman
    id: str

    def logs(self) -> str:
        done = self.pod.run("logs", self.id, check=False)
        return done.stdout + done.stderr

    def remove(self) -> None:
        self.pod.run("stop", "--time", "10", self.id, check=False, timeout=60)
        self.pod.run("rm", "--force", self.id, check=False, timeout=60)


@contextlib.contextmanager
def running(pod: Podman, image: str, *args: str) -> Iterator[Container]:
    """``podman run -d ... image`` with ``args`` before the image (options); stopped and
    removed by its id afterwards, whatever happens."""
    started = pod.run("run", "--detach", *args, image, timeout=120)
    container = Container(pod, started.stdout.strip().splitlines()[-1])
    try:
        yield container
    finally:
        container.remove()
