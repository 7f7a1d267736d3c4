"""`haul backup` and `haul restore` on real instances, on SQLite and on PostgreSQL.

An instance with a download made with sealed site cookies, filed into a library item, and a
changed setting is backed up while it runs; the backup restores into a new data folder (and,
on PostgreSQL, a new database), and the haul started there shows the same downloads, library,
settings and cookie sets, and can still open the cookies: a site that wants them lets the
restored instance download. The files stay where they are (the download and library folders
are shared): a backup holds the database and the key, not the media.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from haul.store.migrate import upgrade
from tests.support.origin import Origin
from tests.support.pg import fresh_database
from tests.support.server import HaulServer

LATER = 4102444800  # 2100-01-01
COOKIE = "sid=sealed-at-rest-5c1e"


def local(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A `haul` command on the instance itself (no server)."""
    return subprocess.run(
        [sys.executable, "-m", "haul", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        input=input,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """The database settings of the instance backed up, and of the one restored into."""
    if request.param == "sqlite":
        yield {}, {}  # each in its data folder
        return
    server = request.getfixturevalue("pg_server")
    with fresh_database(server) as first, fresh_database(server) as second:
        yield {"HAUL_DATABASE_URL": first}, {"HAUL_DATABASE_URL": second}


def seen(server: HaulServer) -> dict[str, Any]:
    """What a person sees of an instance: its downloads, library, settings and cookie sets."""

    def get(path: str) -> Any:
        answer = server.api("GET", path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    downloads = get("/downloads?limit=100")["items"]
    return {
        "downloads": [get(f"/downloads/{d['id']}") for d in downloads],
        "library": [get(f"/media/{m['id']}") for m in get("/media")["items"]],
        "settings": get("/config"),
        "cookies": get("/cookies")["items"],
    }


def test_a_restored_instance_has_the_downloads_library_settings_and_cookies(
    tmp_path: Path, origin: Origin, databases: tuple[dict[str, str], dict[str, str]]
) -> None:
    files = {
        "HAUL_DOWNLOAD_DIR": str(tmp_path / "downloads"),
        "HAUL_LIBRARY_DIR": str(tmp_path / "library"),
    }
    first_db, second_db = databases
    data = os.urandom(200_000)
    origin.add_file("/private/heat.mp4", data, filename="heat.mp4")
    origin.require_cookie("/private/heat.mp4", COOKIE)
    cookies = tmp_path / "cookies.txt"
    name, value = COOKIE.split("=")
    line = "\t".join(("127.0.0.1", "FALSE", "/", "FALSE", str(LATER), name, value))
    cookies.write_text(f"# Netscape HTTP Cookie File\n{line}\n")
    backup = tmp_path / "haul.backup"

    old = HaulServer(tmp_path / "old", env={**files, **first_db})
    try:
        old.start(timeout=90)
        for command in (
            ("cookies", "add", str(cookies)),
            ("media", "add", "movie", "Heat", "--year", "1995"),
            ("add", "--wait", "--media", "1", origin.url("/private/heat.mp4")),
            ("config", "set", "limit_global", "4"),
        ):
            done = old.cli(*command)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
        before = seen(old)
        assert [d["status"] for d in before["downloads"]] == ["completed"]
        assert before["library"][0]["files"], before["library"]

        made = local(old.env, "backup", str(backup))  # while it runs
        assert made.returncode == 0, made.stderr
        assert "and its key file" in made.stdout
        assert backup.stat().st_mode & 0o777 == 0o600

        busy = local(old.env, "restore", str(backup), "--replace")
        assert busy.returncode == 1
        assert "haul is running on this instance" in " ".join(busy.stderr.split())
    finally:
        stopped = old.stop()
    assert stopped == 0, old.log.read_text()[-3000:]

    # a stopped instance that holds downloads is replaced only when asked
    kept = " ".join(local(old.env, "restore", str(backup)).stderr.split())
    assert "This instance holds 1 download, 0 accounts and 1 library item" in kept, kept

    new_dir = tmp_path / "new"
    new = HaulServer(new_dir, env={**files, **second_db})
    restored = local(new.env, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    key = new_dir / "cookies.key"
    assert key.read_bytes() == (tmp_path / "old" / "cookies.key").read_bytes()
    assert key.stat().st_mode & 0o777 == 0o600

    try:
        new.start(timeout=90)
        after = seen(new)
        assert after == before
        # the sealed cookie opens with the restored key: the site lets this instance in too
        again = new.cli("add", "--wait", origin.url("/private/heat.mp4"))
        assert again.returncode == 0, again.stdout + again.stderr
        assert origin.requests_for("/private/heat.mp4")[-1].headers["Cookie"] == COOKIE
    finally:
        stopped = new.stop()
    assert stopped == 0, new.log.read_text()[-3000:]


def test_restore_refuses_a_file_that_is_not_a_haul_backup(tmp_path: Path) -> None:
    env = {**os.environ, "HAUL_DATA_DIR": str(tmp_path / "data")}
    text = tmp_path / "notes.txt"
    text.write_text("not an archive\n")
    other = tmp_path / "photos.tar.gz"
    with tarfile.open(other, "w:gz") as archive:
        entry = tarfile.TarInfo("haul-backup.json")
        body = b'{"format": "something else"}'
        entry.size = len(body)
        archive.addfile(entry, io.BytesIO(body))
    for path in (text, other):
        refused = local(env, "restore", str(path))
        assert refused.returncode == 1
        said = " ".join(refused.stderr.split())
        assert f"{path} is not a haul backup (made by 'haul backup FILE')." in said, said
    assert not (tmp_path / "data").exists()  # nothing was touched


@pytest.mark.postgres
def test_without_pg_dump_the_backup_says_what_to_run(tmp_path: Path, pg_server: str) -> None:
    bare = tmp_path / "bin"  # a PATH with none of PostgreSQL's programs
    bare.mkdir()
    with fresh_database(pg_server) as url:
        upgrade(url)
        env = {
            **os.environ,
            "PATH": str(bare),
            "HAUL_DATA_DIR": str(tmp_path / "data"),
            "HAUL_DATABASE_URL": url,
        }
        done = local(env, "backup", str(tmp_path / "haul.backup"))
    said = " ".join(done.stderr.split())
    assert done.returncode == 1, said
    assert "pg_dump, a program of PostgreSQL's client tools, is not installed here" in said
    assert "pg_dump --format=custom --file=haul.pgdump 'postgresql://" in said, said
    assert "keep a copy of the data folder's cookies.key with it" in said
    assert not (tmp_path / "haul.backup").exists()


@pytest.mark.postgres
def test_a_backup_restores_over_a_database_a_later_haul_added_tables_to(
    tmp_path: Path, pg_server: str
) -> None:
    """A table of a later migration, with a foreign key to the accounts, is not in the
    backup: the restore drops it too, and haul starts on what the backup holds."""
    with fresh_database(pg_server) as first, fresh_database(pg_server) as second:
        upgrade(first)
        backup = tmp_path / "haul.backup"
        old = {**os.environ, "HAUL_DATA_DIR": str(tmp_path / "old"), "HAUL_DATABASE_URL": first}
        made = local(old, "backup", str(backup))
        assert made.returncode == 0, made.stderr

        upgrade(second)
        with psycopg.connect(second, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE later_feature (id serial PRIMARY KEY, "
                "user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE)"
            )
        new = HaulServer(tmp_path / "new", env={"HAUL_DATABASE_URL": second})
        restored = local(new.env, "restore", str(backup), "--replace")
        assert restored.returncode == 0, restored.stderr
        with psycopg.connect(second) as conn:
            tables = {
                r[0]
                for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            }
        assert "later_feature" not in tables
        assert {"users", "downloads", "alembic_version"} <= tables, tables
        try:
            new.start(timeout=90)
            answer = new.api("GET", "/downloads")
            assert answer.status_code == 200, answer.text
            assert answer.json()["items"] == []
        finally:
            stopped = new.stop()
        assert stopped == 0, new.log.read_text()[-3000:]


def test_restoring_over_a_sqlite_database_keeps_the_one_it_replaced(tmp_path: Path) -> None:
    envs = {}
    for name in ("old", "new"):
        folder = tmp_path / name
        upgrade(f"sqlite:///{folder / 'haul.db'}")
        with contextlib.closing(sqlite3.connect(folder / "haul.db")) as db, db:
            db.execute("CREATE TABLE notes (said TEXT)")
            db.execute("INSERT INTO notes VALUES (?)", (name,))
        envs[name] = {**os.environ, "HAUL_DATA_DIR": str(folder)}
    backup = tmp_path / "haul.backup"
    assert local(envs["old"], "backup", str(backup)).returncode == 0

    restored = local(envs["new"], "restore", str(backup), "--replace")
    assert restored.returncode == 0, restored.stderr
    kept = list((tmp_path / "new").glob("haul.db.replaced-*"))
    assert len(kept) == 1, kept
    said = " ".join(restored.stdout.split())
    assert f"The database it replaced is kept as {kept[0]}." in said, said
    assert (tmp_path / "new" / "haul.db").stat().st_mode & 0o777 == 0o600
    for path, note in ((kept[0], "new"), (tmp_path / "new" / "haul.db", "old")):
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("SELECT said FROM notes").fetchall() == [(note,)]


def test_a_backup_of_a_running_instance_restores_again_at_once(
    tmp_path: Path, databases: tuple[dict[str, str], dict[str, str]]
) -> None:
    """The backup names the processes that ran the backed-up instance; restored elsewhere
    they do not run there, so a second restore right after the first is not refused as if
    haul ran on the new instance."""
    first_db, second_db = databases
    backup = tmp_path / "haul.backup"
    old = HaulServer(tmp_path / "old", env=first_db)
    try:
        old.start(timeout=90)
        made = local(old.env, "backup", str(backup))  # while it runs: its heartbeat is fresh
        assert made.returncode == 0, made.stderr
    finally:
        stopped = old.stop()
    assert stopped == 0, old.log.read_text()[-3000:]

    new = {**os.environ, "HAUL_DATA_DIR": str(tmp_path / "new"), **second_db}
    for args in (("restore", str(backup)), ("restore", str(backup), "--replace")):
        done = local(new, *args)
        assert done.returncode == 0, " ".join(done.stderr.split())


@pytest.mark.postgres
def test_a_sqlite_backup_is_refused_by_a_postgres_instance_before_its_data_is_counted(
    tmp_path: Path, pg_server: str
) -> None:
    old = {**os.environ, "HAUL_DATA_DIR": str(tmp_path / "old")}
    upgrade(f"sqlite:///{tmp_path / 'old' / 'haul.db'}")
    backup = tmp_path / "haul.backup"
    assert local(old, "backup", str(backup)).returncode == 0
    with fresh_database(pg_server) as url:
        upgrade(url)
        env = {**os.environ, "HAUL_DATA_DIR": str(tmp_path / "new"), "HAUL_DATABASE_URL": url}
        done = local(
            env, "users", "create-admin", "admin", "--password-stdin", input="pw 12345678\n"
        )
        assert done.returncode == 0, done.stderr
        refused = local(env, "restore", str(backup))  # no --replace: the kind is what is wrong
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 1
    assert f"{backup} holds a SQLite database, and this instance uses PostgreSQL" in said, said
