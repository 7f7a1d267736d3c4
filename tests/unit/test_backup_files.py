"""What `haul restore` accepts as a backup, and the key file a backup carries (no database)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from haul.errors import BackupError, SealedUnreadable
from haul.store.backup_archive import read_backup
from haul.store.sealed import KeyFile

MANIFEST = {
    "format": "haul-backup",
    "version": 1,
    "database": "sqlite",
    "revision": "0014",
    "haul_version": "0.1.0",
    "created_at": "2026-12-07T03:00:00+00:00",
    "has_key": False,
}


def archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as out:
        for name, data in members.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            out.addfile(entry, io.BytesIO(data))
    return path


def manifest(**changes: Any) -> bytes:
    return json.dumps({**MANIFEST, **changes}).encode()


def test_a_well_formed_backup_is_read(tmp_path: Path) -> None:
    made = archive(tmp_path / "b.tar.gz", {"haul-backup.json": manifest(), "haul.db": b"x"})
    read = read_backup(made)
    assert (read.database, read.revision, read.has_key) == ("sqlite", "0014", False)


@pytest.mark.parametrize(
    "members",
    [
        {"notes.txt": b"hello"},
        {"haul-backup.json": b"{not json", "haul.db": b"x"},
        {"haul-backup.json": manifest(format="other"), "haul.db": b"x"},
        {"haul-backup.json": manifest(database="mysql"), "haul.db": b"x"},
        {"haul-backup.json": manifest(revision=14), "haul.db": b"x"},
        {"haul-backup.json": manifest()},  # no database in it
        {"haul-backup.json": manifest(database="postgresql"), "haul.db": b"x"},
        {"haul-backup.json": b" " * 70_000 + manifest(), "haul.db": b"x"},
    ],
    ids=[
        "other archive",
        "bad json",
        "other format",
        "other database",
        "bad revision",
        "no database",
        "wrong member",
        "huge manifest",
    ],
)
def test_what_is_not_a_haul_backup_is_refused(tmp_path: Path, members: dict[str, bytes]) -> None:
    made = archive(tmp_path / "b.tar.gz", members)
    with pytest.raises(BackupError) as refused:
        read_backup(made)
    assert refused.value.message == f"{made} is not a haul backup (made by 'haul backup FILE')."


def test_a_file_that_is_no_archive_or_none_at_all_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(BackupError, match="is not a haul backup"):
        read_backup(text)
    with pytest.raises(BackupError, match="There is no file"):
        read_backup(tmp_path / "missing.tar.gz")


def test_a_backup_of_a_newer_kind_says_which_haul_reads_it(tmp_path: Path) -> None:
    made = archive(
        tmp_path / "b.tar.gz",
        {"haul-backup.json": manifest(version=2, haul_version="9.0"), "haul.db": b"x"},
    )
    with pytest.raises(BackupError, match=r"restore it with the haul that made it \(9.0\)"):
        read_backup(made)


def test_an_installed_key_opens_what_it_sealed_elsewhere(tmp_path: Path) -> None:
    there = KeyFile(tmp_path / "there" / "cookies.key")
    sealed = there.seal(b"sid=abc")
    key = there.exported()
    assert key is not None

    here = KeyFile(tmp_path / "here" / "cookies.key")
    here.seal(b"made its own key first")
    with pytest.raises(SealedUnreadable):
        here.open(sealed)
    here.install(key)
    assert here.open(sealed) == b"sid=abc"
    assert here.path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in here.path.parent.iterdir()) == ["cookies.key"]
    with pytest.raises(SealedUnreadable):
        here.install(b"not a key")
    assert KeyFile(tmp_path / "none" / "cookies.key").exported() is None
