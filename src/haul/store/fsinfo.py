"""Which filesystem a path lives on, read from /proc/mounts."""

from __future__ import annotations

import os
from pathlib import Path

NETWORK_FILESYSTEMS = frozenset(
    {
        "cifs",
        "smb3",
        "smbfs",
        "nfs",
        "nfs4",
        "9p",
        "fuse.sshfs",
        "sshfs",
        "afs",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "davfs",
        "fuse.rclone",
        "lustre",
        "beegfs",
    }
)


def parse_mounts(text: str) -> list[tuple[str, str]]:
    """(mount point, filesystem type) pairs from /proc/mounts text, octal escapes decoded."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            point = fields[1].encode().decode("unicode_escape")
            mounts.append((point, fields[2]))
    return mounts


def filesystem_type(path: Path, mounts: list[tuple[str, str]]) -> str | None:
    """The type of the longest mount point that contains ``path``."""
    target = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for point, fstype in mounts:
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > best[0]):
            best = (len(point), fstype)
    return best[1] if best else None


def is_network_filesystem(path: Path, mounts_file: Path = Path("/proc/mounts")) -> bool:
    try:
        mounts = parse_mounts(mounts_file.read_text())
    except OSError:
        return False
    fstype = filesystem_type(path, mounts)
    return fstype is not None and fstype in NETWORK_FILESYSTEMS
