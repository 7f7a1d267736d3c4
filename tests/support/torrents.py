"""Make real .torrent files for the tests (a file or a folder, no tracker needed).

    data = tmp_path / "seed" / "film.mkv"; data.write_bytes(os.urandom(1 << 20))
    blob = make_torrent(data)                 # bytes of a valid v1 .torrent
    parse_torrent(blob).info_hash             # what every client will call it

A fresh random payload per test gives a fresh info-hash, so clients never confuse tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

Bencodable = int | str | bytes | list["Bencodable"] | dict[str, "Bencodable"]


def bencode(value: Bencodable) -> bytes:
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    items = sorted((k.encode(), v) for k, v in value.items())
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"


def make_torrent(
    path: Path,
    *,
    piece_length: int = 16384,
    trackers: Sequence[str] = (),
    private: bool = False,
) -> bytes:
    """A v1 .torrent for the file or folder at ``path`` (named after it)."""
    if path.is_dir():
        members = sorted(p for p in path.rglob("*") if p.is_file())
        files: list[Bencodable] = [
            {"length": p.stat().st_size, "path": list(p.relative_to(path).parts)} for p in members
        ]
    else:
        members = [path]
        files = []
    pieces = bytearray()
    buffer = b""
    for member in members:
        with member.open("rb") as fh:
            while chunk := fh.read(piece_length - len(buffer)):
                buffer += chunk
                if len(buffer) == piece_length:
                    pieces += hashlib.sha1(buffer, usedforsecurity=False).digest()
                    buffer = b""
    if buffer:
        pieces += hashlib.sha1(buffer, usedforsecurity=False).digest()
    info: dict[str, Bencodable] = {
        "name": path.name,
        "piece length": piece_length,
        "pieces": bytes(pieces),
    }
    if files:
        info["files"] = files
    else:
        info["length"] = path.stat().st_size
    if private:
        info["private"] = 1
    meta: dict[str, Bencodable] = {"info": info, "created by": "haul tests"}
    if trackers:
        meta["announce"] = trackers[0]
        meta["announce-list"] = [[t] for t in trackers]
    return bencode(meta)
