"""``haul backup FILE`` and ``haul restore FILE``: the instance's database and the data
folder's key file, saved into one file and put back (see :mod:`haul.store.backup`).

Both work on the instance itself, as ``haul serve`` finds it (``HAUL_DATA_DIR``,
``HAUL_DATABASE_URL``), not through a server: a backup is made while haul runs, a restore
only when it is stopped.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from haul import __version__
from haul.cli.common import console
from haul.cli.render import text
from haul.core.units import size_text
from haul.errors import BackupError

FileArg = Annotated[Path, typer.Argument(help="The backup file.", dir_okay=False)]


def backup(file: FileArg) -> None:
    """Save this instance's database and its key file (which seals site cookies and proxy
    passwords) into FILE; haul may keep running meanwhile. The downloaded files and the
    library are not in it: back their folders up as files."""
    from haul.settings import load_settings
    from haul.store.backup import make_backup
    from haul.store.backup_archive import KIND_NAMES

    settings = load_settings()
    made = make_backup(file, settings.sqlalchemy_url, settings.data_dir, haul_version=__version__)
    key = "and its key file " if made.has_key else ""
    console.print(
        text(
            f"backed up the {KIND_NAMES[made.database]} database (revision {made.revision}) "
            f"{key}into {file} ({size_text(file.stat().st_size)}). It holds password hashes"
            f"{' and the key' if made.has_key else ''}: keep it as safe as the data folder."
        ),
        soft_wrap=True,
    )


def restore(
    file: FileArg,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace an instance that holds downloads, accounts or library items.",
        ),
    ] = False,
) -> None:
    """Put a backup made by 'haul backup' in place of this instance's database and key file.
    haul must be stopped (every 'haul serve' and 'haul worker' of the instance)."""
    from haul.settings import load_settings
    from haul.store.backup import check_kind, instance_state, restore_backup
    from haul.store.backup_archive import KIND_NAMES, read_backup

    settings = load_settings()
    # a file that is no backup, or of the other database, is refused before the instance is read
    check_kind(read_backup(file), settings.sqlalchemy_url, file)
    state = instance_state(settings.sqlalchemy_url, lease_ttl=settings.lease_ttl)
    if state.running:
        raise BackupError(
            f"haul is running on this instance ({', '.join(state.running)}): stop it first "
            "(every 'haul serve' and 'haul worker'), then restore. A haul that stopped "
            f"without saying so counts as stopped {settings.lease_ttl:g} s after it did."
        )
    if state.in_use and not replace:
        counts = [f"{n} {name}{'' if n == 1 else 's'}" for name, n in state.holds.items()]
        held = f"{', '.join(counts[:-1])} and {counts[-1]}"
        raise BackupError(
            f"This instance holds {held}; restoring replaces them with the backup's. Add "
            "--replace to go ahead."
        )
    restored = restore_backup(file, settings.sqlalchemy_url, settings.data_dir)
    made = restored.manifest
    # Pictures cached for the replaced downloads' ids would show beside the restored ones.
    shutil.rmtree(settings.thumbnails_dir, ignore_errors=True)
    key = " and its key file" if made.has_key else ""
    console.print(
        text(
            f"restored the {KIND_NAMES[made.database]} database of {made.created_at} (haul "
            f"{made.haul_version}){key}. Start haul to use it; it brings the database up to "
            "date first."
            + (
                f" The database it replaced is kept as {restored.kept}."
                if restored.kept is not None
                else ""
            )
        ),
        soft_wrap=True,
    )
