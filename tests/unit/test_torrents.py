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


def test_magnet_hashes_hex_and_base32() -> None:
    digest = hashlib.sha1(b"x", usedforsecurity=False).digest()
    hexed = digest.hex()
    b32 = base64.b32encode(digest).decode()
    assert magnet_info_hash(f"magnet:?xt=urn:btih:{hexed.upper()}&dn=a") == hexed
    assert magnet_info_hash(f"magnet:?dn=a&xt=urn:btih:{b32}") == hexed
    with pytest.raises(InvalidTorrent):
        magnet_info_hash("magnet:?dn=nothing")
