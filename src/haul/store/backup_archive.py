"""The file a backup is: a gzip-compressed tar archive whose members are read by name only
(nothing is ever extracted by the archive's own paths). See :mod:`haul.store.backup`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from haul.errors import BackupError
from haul.store.models import utcnow
from haul.store.sealed import KEY_FILE_NAME

FORMAT = "haul-backup"
VERSION = 1
MANIFEST = "haul-backup.json"
MEMBERS = {"sqlite": "haul.db", "postgresql": "haul.pgdump"}
Kind = Literal["sqlite", "postgresql"]
KIND_NAMES: dict[Kind, str] = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup holds."""

    database: Kind
    revision: str
    haul_version: str
    created_at: str
    has_key: bool

    @classmethod
    def read(cls, blob: bytes, source: Path) -> Manifest:
        try:
            data = json.loads(blob)
        except ValueError:
            raise not_a_backup(source) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise not_a_backup(source)
        version = data.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise BackupError(
                f"{source} is a haul backup of a newer kind ({version}) than this haul reads "
                f"({VERSION}): restore it with the haul that made it "
                f"({data.get('haul_version')}) or a newer one."
            )
        fields = {
            "database": data.get("database"),
            "revision": data.get("revision"),
            "haul_version": data.get("haul_version"),
            "created_at": data.get("created_at"),
            "has_key": data.get("has_key"),
        }
        texts = ("revision", "haul_version", "created_at")
        if fields["database"] not in MEMBERS or not isinstance(fields["has_key"], bool):
            raise not_a_backup(source)
        if not all(isinstance(fields[name], str) for name in texts):
            raise not_a_backup(source)
        return cls(**fields)  # type: ignore[arg-type]

    def as_json(self) -> bytes:
        body = {"format": FORMAT, "version": VERSION, **asdict(self)}
        return json.dumps(body, indent=2).encode()


#: The largest manifest read (it is a few hundred bytes).
_MANIFEST_MAX = 64 * 1024


def read_backup(source: Path) -> Manifest:
    """The manifest of the backup ``source``; :class:`BackupError` when it is none."""
    with open_archive(source) as archive:
        return read_manifest(archive, source)


def not_a_backup(source: Path) -> BackupError:
    """The one answer to a file that is not a backup, whatever is wrong with it."""
    return BackupError(f"{source} is not a haul backup (made by 'haul backup FILE').")


@contextlib.contextmanager
def open_archive(source: Path) -> Iterator[tarfile.TarFile]:
    """The archive ``source``, open for reading."""
    if not source.is_file():
        raise BackupError(f"There is no file {source}.")
    try:
        archive = tarfile.open(source, mode="r:*")  # noqa: SIM115 (closed below)
    except (tarfile.TarError, EOFError, OSError):
        raise not_a_backup(source) from None
    with archive:
        yield archive


def read_manifest(archive: tarfile.TarFile, source: Path) -> Manifest:
    """The archive's manifest, checked, and that the database it names is in it."""
    blob = member(archive, MANIFEST, source, limit=_MANIFEST_MAX)
    manifest = Manifest.read(blob, source)
    _entry(archive, MEMBERS[manifest.database], source)
    return manifest


def member(archive: tarfile.TarFile, name: str, source: Path, limit: int = 4096) -> bytes:
    """The bytes of a small member (the manifest, the key)."""
    entry = _entry(archive, name, source)
    if entry.size > limit:
        raise not_a_backup(source)
    stream = archive.extractfile(entry)
    if stream is None:
        raise not_a_backup(source)
    with stream:
        return stream.read(limit)


def extract(archive: tarfile.TarFile, name: str, into: Path, source: Path) -> None:
    """The member ``name`` copied into the file ``into`` (the archive's own paths unused)."""
    stream = archive.extractfile(_entry(archive, name, source))
    if stream is None:
        raise not_a_backup(source)
    try:
        with stream, into.open("wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{source} is damaged: {exc}.") from None


def write_archive(draft: Path, manifest: Manifest, copy: Path, key: bytes | None) -> None:
    """A backup in the new file ``draft`` (its owner's only, synced): the manifest, the
    database ``copy`` and the ``key`` when there is one."""
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz") as archive:
            _add(archive, MANIFEST, manifest.as_json())
            archive.add(copy, arcname=copy.name, recursive=False, filter=_plain)
            if key is not None:
                _add(archive, KEY_FILE_NAME, key + b"\n")
        raw.flush()
        os.fsync(raw.fileno())


def _entry(archive: tarfile.TarFile, name: str, source: Path) -> tarfile.TarInfo:
    try:
        entry = archive.getmember(name)
    except (KeyError, tarfile.TarError, EOFError, OSError):
        raise not_a_backup(source) from None
    if not entry.isfile():
        raise not_a_backup(source)
    return entry


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    entry = tarfile.TarInfo(name)
    entry.size = len(data)
    entry.mode = 0o600
    entry.mtime = int(utcnow().timestamp())
    archive.addfile(entry, io.BytesIO(data))


def _plain(entry: tarfile.TarInfo) -> tarfile.TarInfo:
    """An entry with no owner of this machine in it."""
    entry.uid = entry.gid = 0
    entry.uname = entry.gname = ""
    entry.mode = 0o600
    return entry
