"""The .torrent reader: info-hash from the exact bytes, names and sizes, hostile files refused."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from haul.core.torrents import magnet_info_hash, parse_torrent
from haul.errors import InvalidTorrent
from tests.support.torrents import bencode, make_torrent


def test_single_file_torrent(tmp_path: Path) -> None:
    data = tmp_path / "film.mkv"
    data.write_bytes(os.urandom(40_000))
    meta = parse_torrent(make_torrent(data))
    assert meta.name == "film.mkv"
    assert [(f.path, f.size) for f in meta.files] == [("film.mkv", 40_000)]
    assert meta.total_size == 40_000
    assert len(meta.info_hash) == 40
    assert meta.magnet == f"magnet:?xt=urn:btih:{meta.info_hash}"


def test_folder_torrent_lists_every_file_under_its_name(tmp_path: Path) -> None:
    root = tmp_path / "Show"
    (root / "Season 01").mkdir(parents=True)
    (root / "Season 01" / "e1.mkv").write_bytes(b"a" * 100)
    (root / "notes.txt").write_bytes(b"b" * 7)
    meta = parse_torrent(make_torrent(root))
    assert sorted((f.path, f.size) for f in meta.files) == [
        ("Show/Season 01/e1.mkv", 100),
        ("Show/notes.txt", 7),
    ]


def test_info_hash_is_taken_from_the_bytes_as_written() -> None:
    # keys out of canonical order: re-encoding would change the hash; the file's bytes rule
    info = b"d6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:" + b"p" * 20 + b"e"
    swapped = b"d4:name1:x6:lengthi5e12:piece lengthi16384e6:pieces20:" + b"p" * 20 + b"e"
    for raw in (info, swapped):
        blob = b"d4:info" + raw + b"e"
        assert parse_torrent(blob).info_hash == hashlib.sha1(raw, usedforsecurity=False).hexdigest()


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "empty"),
        (b"not a torrent", "not a valid"),
        (b"d4:infoi3ee", "info is not a dictionary"),
        (b"d3:foo3:bare", "no info dictionary"),
        (b"d4:infod4:name1:xe", "unexpected end"),
        (b"d4:infod4:name1:xee", "no valid length"),
        (b"d4:infod4:name99:xee", "runs past the end"),
        (b"l" * 100 + b"e" * 100, "nesting too deep"),
        (bencode({"info": {"name": "x", "files": []}}), "file list is empty"),
        (bencode({"info": {"name": "x", "length": 1}}) + b"junk", "data after the end"),
    ],
)
def test_hostile_torrents_are_refused_with_a_reason(blob: bytes, reason: str) -> None:
    with pytest.raises(InvalidTorrent, match=reason):
        parse_torrent(blob)


def _info(**fields: object) -> bytes:
    """A one-file torrent of 1 byte whose info has ``fields`` changed (None: left out)."""
    info: dict[str, object] = {
        "name": "x",
        "length": 1,
        "piece length": 16384,
        "pieces": b"p" * 20,
    }
    info.update(fields)
    return bencode({"info": {k: v for k, v in info.items() if v is not None}})  # type: ignore[dict-item]


def _files(*paths: list[str]) -> bytes:
    files = [{"length": 1, "path": path} for path in paths]
    return _info(length=None, files=files, pieces=b"p" * 20 * len(paths), **{"piece length": 1})


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (_info(pieces=b""), "no pieces"),
        (_info(pieces=None), "no pieces"),
        (_info(pieces=b"p" * 19), "no pieces"),
        (_info(pieces=b"p" * 40), "it has 2 pieces, and its files of 1 bytes need 1"),
        (_info(**{"piece length": 0}), "no valid piece length"),
        (_info(**{"piece length": -5}), "no valid piece length"),
        (_info(length=-1), "no valid length"),
        (b"d4:infod6:lengthi" + b"9" * 400 + b"ee", "bad integer"),
        (b"l" * 10_000 + b"e" * 10_000, "nesting too deep"),
        (b"d4:info" + b"d1:a" * 10_000, "nesting too deep"),
        (_info(name=".."), "would leave its folder"),
        (_info(name="../../etc/cron.d/x"), "would leave its folder"),
        (_info(name="/etc/passwd"), "would leave its folder"),
        (_info(name="x\x00y"), "would leave its folder"),
        (_files(["ok"], [".."]), "would leave its folder"),
        (_files(["..", "..", "x"]), "would leave its folder"),
        (_files(["a/../../b"]), "would leave its folder"),
        (_files(["/abs"]), "would leave its folder"),
        (_files(["..\\..\\win.ini"]), "would leave its folder"),
        (_files(["nul\x00.txt"]), "would leave its folder"),
        (_files(["."]), "would leave its folder"),
    ],
)
def test_torrents_that_lie_about_pieces_or_escape_their_folder_are_refused(
    blob: bytes, reason: str
) -> None:
    with pytest.raises(InvalidTorrent, match=reason) as caught:
        parse_torrent(blob)
    assert caught.value.message.startswith("That is not a valid .torrent file")


def test_names_with_dots_inside_them_are_fine() -> None:
    meta = parse_torrent(_files(["Season 1", "..hidden.. x.mkv"], ["a..b"]))
    assert [f.path for f in meta.files] == ["x/Season 1/..hidden.. x.mkv", "x/a..b"]


def test_magnet_hashes_hex_and_base32() -> None:
    digest = hashlib.sha1(b"x", usedforsecurity=False).digest()
    hexed = digest.hex()
    b32 = base64.b32encode(digest).decode()
    assert magnet_info_hash(f"magnet:?xt=urn:btih:{hexed.upper()}&dn=a") == hexed
    assert magnet_info_hash(f"magnet:?dn=a&xt=urn:btih:{b32}") == hexed
    with pytest.raises(InvalidTorrent):
        magnet_info_hash("magnet:?dn=nothing")
