"""What a .torrent file or a magnet link says, read without trusting it (pure: no I/O).

The info-hash is the SHA-1 of the info dictionary's bytes *exactly as they appear in the
file*. Decoders that rebuild the dictionary and encode it again give a different hash for a
torrent whose keys are not in canonical order, so the decoder here remembers where the info
dictionary starts and ends. It is also strict and bounded (nesting depth, string lengths checked
against what is left), so a hostile file fails with :class:`InvalidTorrent`, never with a crash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import parse_qs, urlsplit

from haul.errors import InvalidTorrent

#: Largest .torrent haul accepts (big multi-file torrents are a few MB).
MAX_TORRENT_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 32

Value = int | bytes | list["Value"] | dict[bytes, "Value"]


@dataclass(frozen=True, slots=True)
class TorrentFile:
    path: str  # relative, "/"-separated, as the torrent names it
    size: int


@dataclass(frozen=True, slots=True)
class TorrentMeta:
    info_hash: str  # v1 info-hash, 40 lowercase hex digits
    name: str
    files: tuple[TorrentFile, ...]
    private: bool = False
    #: (what, URL) of every tracker and web seed it names (see haul.core.trackers)
    addresses: tuple[tuple[str, str], ...] = ()

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def magnet(self) -> str:
        return f"magnet:?xt=urn:btih:{self.info_hash}"


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.info_span: tuple[int, int] | None = None

    def fail(self, what: str) -> InvalidTorrent:
        return InvalidTorrent(f"That is not a valid .torrent file: {what} at byte {self.pos}.")

    def value(self, depth: int = 0) -> Value:
        if depth > MAX_DEPTH:
            raise self.fail("nesting too deep")
        if self.pos >= len(self.data):
            raise self.fail("unexpected end")
        lead = self.data[self.pos : self.pos + 1]
        if lead == b"i":
            return self._int()
        if lead == b"l":
            self.pos += 1
            items: list[Value] = []
            while self._peek() != b"e":
                items.append(self.value(depth + 1))
            self.pos += 1
            return items
        if lead == b"d":
            return self._dict(depth)
        if lead.isdigit():
            return self._bytes()
        raise self.fail(f"unexpected {lead!r}")

    def _peek(self) -> bytes:
        if self.pos >= len(self.data):
            raise self.fail("unexpected end")
        return self.data[self.pos : self.pos + 1]

    def _int(self) -> int:
        end = self.data.find(b"e", self.pos)
        if end < 0:
            raise self.fail("unterminated integer")
        text = self.data[self.pos + 1 : end]
        if not text or len(text) > 20 or not text.lstrip(b"-").isdigit():
            raise self.fail("bad integer")
        self.pos = end + 1
        return int(text)

    def _bytes(self) -> bytes:
        colon = self.data.find(b":", self.pos, self.pos + 12)
        if colon < 0 or not self.data[self.pos : colon].isdigit():
            raise self.fail("bad string length")
        length = int(self.data[self.pos : colon])
        start = colon + 1
        if start + length > len(self.data):
            raise self.fail("string runs past the end")
        self.pos = start + length
        return self.data[start : self.pos]

    def _dict(self, depth: int) -> dict[bytes, Value]:
        self.pos += 1
        found: dict[bytes, Value] = {}
        while self._peek() != b"e":
            if not self._peek().isdigit():
                raise self.fail("dictionary key is not a string")
            key = self._bytes()
            start = self.pos
            found[key] = self.value(depth + 1)
            if depth == 0 and key == b"info":
                self.info_span = (start, self.pos)
        self.pos += 1
        return found


def parse_torrent(data: bytes) -> TorrentMeta:
    """The info-hash, name and files of a .torrent, or :class:`InvalidTorrent` saying why not."""
    if not data:
        raise InvalidTorrent("The .torrent file is empty.")
    if len(data) > MAX_TORRENT_BYTES:
        raise InvalidTorrent(
            f"The .torrent file is larger than {MAX_TORRENT_BYTES // (1024 * 1024)} MB."
        )
    decoder = _Decoder(data)
    top = decoder.value()
    if decoder.pos != len(data):
        raise decoder.fail("data after the end")
    if not isinstance(top, dict) or decoder.info_span is None:
        raise InvalidTorrent("That is not a valid .torrent file: it has no info dictionary.")
    info = top[b"info"]
    if not isinstance(info, dict):
        raise InvalidTorrent("That is not a valid .torrent file: its info is not a dictionary.")
    start, end = decoder.info_span
    info_hash = hashlib.sha1(data[start:end], usedforsecurity=False).hexdigest()
    name = _part(info.get(b"name.utf-8", info.get(b"name")), "name")
    files = _files(info, name)
    _check_pieces(info, sum(f.size for f in files))
    return TorrentMeta(
        info_hash,
        name,
        files,
        private=info.get(b"private") == 1,
        addresses=tuple(torrent_addresses(top)),
    )


def torrent_addresses(top: dict[bytes, Value]) -> list[tuple[str, str]]:
    """The (what, URL) pairs a decoded .torrent makes a client contact: its trackers
    (``announce``, ``announce-list``) and web seeds (``url-list``, ``httpseeds``)."""
    found: list[tuple[str, str]] = []
    found.extend(("tracker", url) for url in _strings(top.get(b"announce")))
    tiers = top.get(b"announce-list")
    if isinstance(tiers, list):
        for tier in tiers:
            found.extend(("tracker", url) for url in _strings(tier))
    for key in (b"url-list", b"httpseeds"):
        found.extend(("web seed", url) for url in _strings(top.get(key)))
    return found


def _strings(value: Value | None) -> list[str]:
    """A bencoded string, or a list of them, as text (anything else names nothing)."""
    items = value if isinstance(value, list) else [value]
    return [item.decode("utf-8", "replace") for item in items if isinstance(item, bytes) and item]


def _text(value: Value | None, what: str) -> str:
    if not isinstance(value, bytes) or not value:
        raise InvalidTorrent(f"That is not a valid .torrent file: it has no {what}.")
    return value.decode("utf-8", "replace")


def _part(value: Value | None, what: str) -> str:
    """One component of a file's path: a name that stays in its folder (no separator, no
    ``.``/``..``, no NUL). A torrent client joins these with its save path; one that left
    it could write anywhere the client may."""
    text = _text(value, what)
    if text in (".", "..") or "/" in text or "\x00" in text or ".." in text.split("\\"):
        raise InvalidTorrent(
            f"That is not a valid .torrent file: the {what} {text!r} would leave its folder."
        )
    return text


def _check_pieces(info: dict[bytes, Value], total: int) -> None:
    """The piece hashes must be there, and as many as the size of the files asks for."""
    length, pieces = info.get(b"piece length"), info.get(b"pieces")
    if not isinstance(length, int) or length <= 0:
        raise InvalidTorrent("That is not a valid .torrent file: it has no valid piece length.")
    if not isinstance(pieces, bytes) or not pieces or len(pieces) % 20:
        raise InvalidTorrent("That is not a valid .torrent file: it has no pieces.")
    if len(pieces) // 20 != -(-total // length):
        raise InvalidTorrent(
            f"That is not a valid .torrent file: it has {len(pieces) // 20} pieces, and its "
            f"files of {total} bytes need {-(-total // length)}."
        )


def _size(value: Value | None) -> int:
    if not isinstance(value, int) or value < 0:
        raise InvalidTorrent("That is not a valid .torrent file: a file has no valid length.")
    return value


def _files(info: dict[bytes, Value], name: str) -> tuple[TorrentFile, ...]:
    listed = info.get(b"files")
    if listed is None:
        return (TorrentFile(name, _size(info.get(b"length"))),)
    if not isinstance(listed, list) or not listed:
        raise InvalidTorrent("That is not a valid .torrent file: its file list is empty.")
    files = []
    for entry in listed:
        if not isinstance(entry, dict):
            raise InvalidTorrent("That is not a valid .torrent file: a file entry is broken.")
        parts = entry.get(b"path.utf-8", entry.get(b"path"))
        if not isinstance(parts, list) or not parts:
            raise InvalidTorrent("That is not a valid .torrent file: a file has no path.")
        names = [_part(part, "file name") for part in parts]
        files.append(TorrentFile(str(PurePosixPath(name, *names)), _size(entry.get(b"length"))))
    return tuple(files)


def magnet_info_hash(url: str) -> str:
    """The v1 info-hash of a magnet link as 40 lowercase hex digits (base32 ones converted)."""
    topics = parse_qs(urlsplit(url).query).get("xt", [])
    for topic in topics:
        if not topic.lower().startswith("urn:btih:"):
            continue
        value = topic[9:]
        if len(value) == 40:
            try:
                return bytes.fromhex(value).hex()
            except ValueError:
                break
        if len(value) == 32:
            try:
                return base64.b32decode(value.upper()).hex()
            except binascii.Error:
                break
        break
    raise InvalidTorrent("The magnet link has no valid BitTorrent info-hash (xt=urn:btih:...).")
