"""The sentences worded from the client kinds (given kinds, not the registry's)."""

from __future__ import annotations

from haul.clients import kind_hints
from haul.clients.base import DownloadClient
from haul.clients.kinds import ClientKind
from haul.core.client_specs import ClientSpec


def _never(spec: ClientSpec) -> DownloadClient:
    raise AssertionError("not built here")


FETCHER = ClientKind(
    "fetcher",
    "Fetcher",
    "http://h:1",
    frozenset({"file", "torrent"}),
    _never,
    preferable_for_files=True,
    username=False,
    auth_option="--key",
)
TORRENT_A = ClientKind("ta", "TorA", "http://h:2", frozenset({"torrent"}), _never, marker="tag")
TORRENT_B = ClientKind("tb", "TorB", "http://h:3", frozenset({"torrent"}), _never, marker="label")
KINDS = (FETCHER, TORRENT_A, TORRENT_B)


def test_lists_read_as_a_sentence() -> None:
    assert kind_hints.either(["a"]) == "a"
    assert kind_hints.either(["a", "b", "c"]) == "a, b or c"
    assert kind_hints.both(["a", "b"]) == "a and b"


def test_kinds_are_grouped_by_what_they_take() -> None:
    assert kind_hints.takes_sentence(KINDS) == (
        "Fetcher takes direct files and torrents; TorA and TorB take torrents."
    )


def test_the_field_hints_name_the_kinds_they_concern() -> None:
    assert kind_hints.username_sentence(KINDS) == "TorA and TorB; Fetcher has none."
    assert kind_hints.username_sentence(KINDS[1:]) == "TorA and TorB."
    assert kind_hints.file_labels(KINDS) == "Fetcher"
    assert kind_hints.marker_words(KINDS) == [("TorA", "tag"), ("TorB", "label")]
