from pathlib import Path

from haul.store.engines import journal_mode_for
from haul.store.fsinfo import filesystem_type, is_network_filesystem, parse_mounts

MOUNTS = """\
/dev/vda1 / ext4 rw,relatime 0 0
nas:/export /mnt/nas nfs4 rw 0 0
//server/share /mnt/smb\\040share cifs rw 0 0
tmpfs /mnt/nas/cache tmpfs rw 0 0
"""


def test_longest_mount_point_wins() -> None:
    mounts = parse_mounts(MOUNTS)
    assert filesystem_type(Path("/mnt/nas/films/a.mkv"), mounts) == "nfs4"
    assert filesystem_type(Path("/mnt/nas/cache/x"), mounts) == "tmpfs"
    assert filesystem_type(Path("/mnt/smb share/x"), mounts) == "cifs"
    assert filesystem_type(Path("/mnt/nasty"), mounts) == "ext4"


def test_network_filesystems_use_the_delete_journal(tmp_path: Path) -> None:
    mounts_file = tmp_path / "mounts"
    mounts_file.write_text(MOUNTS)
    assert is_network_filesystem(Path("/mnt/nas/haul"), mounts_file)
    assert not is_network_filesystem(Path("/var/lib/haul"), mounts_file)
    assert journal_mode_for(tmp_path / "haul.db") == "WAL"
