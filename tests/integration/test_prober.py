"""FFmpeg in a child process: the server's probes give probe_file's results, and a file that
kills or stalls FFmpeg fails alone."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from haul.errors import NotFound
from haul.media.probe import probe_file
from haul.media.prober import Prober
from tests.support import probe_media as pm
from tests.support.daemons import require

MISBEHAVING = (sys.executable, str(Path(__file__).parents[1] / "support" / "probe_children.py"))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not waited for yet is a zombie: gone for our purpose.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[-1][0] != "Z"


def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    require("ffmpeg", "ffmpeg")
    root = tmp_path_factory.mktemp("prober")
    mp4 = pm.make_tagged_mp4(root / "tagged.mp4")
    return [
        mp4,
        pm.make_surround_mkv(root / "surround.mkv"),
        pm.make_audio_with_cover(root / "cover.m4a"),
        pm.make_text(root / "notes.txt"),
        pm.make_garbled(mp4, root / "garbled.mp4"),
    ]


@pytest.fixture
def prober() -> Iterator[Prober]:
    prober = Prober()
    try:
        yield prober
    finally:
        prober.close()


def test_the_child_reads_what_probe_file_reads(prober: Prober, media: list[Path]) -> None:
    for path in media:
        assert prober.probe(path, profile="p") == probe_file(path, profile="p"), path
    assert prober.pid is not None and prober.pid != os.getpid()


def test_the_server_never_loads_ffmpeg(media: list[Path]) -> None:
    """In a fresh interpreter (this one has PyAV from other tests): a probe leaves no FFmpeg
    library in the process that asked."""
    script = (
        "import sys; from haul.media.prober import Prober; p = Prober(); "
        "r = p.probe(sys.argv[1]); p.close(); print(r.is_media, r.container, 'av' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(media[0])], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "mp4", "False"]


def test_a_missing_file_is_not_found(prober: Prober, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file or directory"):
        prober.probe(tmp_path / "gone.mp4")


def test_threads_share_one_child(prober: Prober, media: list[Path]) -> None:
    results: dict[Path, object] = {}

    def read(path: Path) -> None:
        results[path] = prober.probe(path)

    threads = [threading.Thread(target=read, args=(p,)) for p in media * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert {p: results[p] for p in media} == {p: probe_file(p) for p in media}


def test_an_idle_child_leaves_and_the_next_file_starts_another(media: list[Path]) -> None:
    prober = Prober(idle=0.3)
    try:
        first = prober.probe(media[0])
        pid = prober.pid
        assert pid is not None
        wait_for(lambda: not alive(pid))
        assert prober.probe(media[0]) == first
        assert prober.pid not in (None, pid)
    finally:
        prober.close()


def test_a_file_that_kills_the_child_fails_alone(media: list[Path], tmp_path: Path) -> None:
    crash = tmp_path / "crash.mp4"
    crash.write_bytes(media[0].read_bytes())
    prober = Prober(command=MISBEHAVING)
    try:
        result = prober.probe(crash, profile="p")
        assert not result.is_media
        assert result.error == "FFmpeg stopped reading it (SIGSEGV): the file may be damaged"
        assert (result.size, result.profile) == (crash.stat().st_size, "p")
        assert prober.probe(media[0]) == probe_file(media[0])  # a new child
    finally:
        prober.close()


def test_a_file_that_stalls_the_child_times_out(media: list[Path], tmp_path: Path) -> None:
    hang = tmp_path / "hang.mkv"
    hang.write_bytes(b"x" * 100)
    prober = Prober(command=MISBEHAVING, timeout=0.5)
    try:
        started = time.monotonic()
        result = prober.probe(hang)
        assert time.monotonic() - started < 5
        assert (result.is_media, result.error) == (
            False,
            "FFmpeg did not finish reading it in 0.5 s",
        )
        assert prober.probe(media[1]) == probe_file(media[1])
    finally:
        prober.close()
    assert prober.pid is None


def test_an_answer_about_another_file_is_not_believed(media: list[Path], tmp_path: Path) -> None:
    liar = tmp_path / "liar.mp4"
    liar.write_bytes(media[0].read_bytes())
    prober = Prober(command=MISBEHAVING)
    try:
        result = prober.probe(liar)
        assert (result.path, result.is_media) == (liar, False)
        assert result.error == (
            "the probe gave an answer about something else; the file was not read"
        )
        assert prober.probe(media[0]) == probe_file(media[0])
    finally:
        prober.close()
