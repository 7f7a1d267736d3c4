"""Routing: which client takes a download, and the sentence when none can."""

from __future__ import annotations

import pytest

from haul.core.routing import Candidate, Roster, SourceKind, check_requested, route
from haul.errors import NoClient, UnknownClient

TORRENTS: frozenset[SourceKind] = frozenset({"torrent"})
FILES_AND_TORRENTS: frozenset[SourceKind] = frozenset({"file", "torrent"})


def torrent_client(name: str, priority: int = 1, *, enabled: bool = True) -> Candidate:
    return Candidate(name, "qBittorrent", TORRENTS, priority, enabled)


def aria2(name: str, *, preferred: bool = False, enabled: bool = True) -> Candidate:
    """A client that also fetches files, ranked after dedicated torrent clients."""
    return Candidate(name, "aria2", FILES_AND_TORRENTS, 1, enabled, preferred, rank=1)


QBIT = torrent_client("qbit", 2)
TRANS = torrent_client("trans", 1)
ARIA = aria2("aria", preferred=True)
PLAIN_ARIA = aria2("aria-plain")


def test_torrents_go_to_the_best_priority_torrent_client() -> None:
    assert route("torrent", [QBIT, TRANS, ARIA]) == "trans"
    assert route("torrent", [QBIT, torrent_client("q0", 0)]) == "q0"


def test_dedicated_torrent_clients_come_before_aria2() -> None:
    assert route("torrent", [ARIA, QBIT]) == "qbit"
    assert route("torrent", [ARIA]) == "aria"


def test_disabled_clients_take_nothing() -> None:
    off = torrent_client("off", 0, enabled=False)
    assert route("torrent", [off, QBIT]) == "qbit"
    with pytest.raises(NoClient, match="none is enabled"):
        route("torrent", [off])


def test_no_torrent_client_says_what_is_needed() -> None:
    with pytest.raises(NoClient, match="need a torrent client"):
        route("torrent", [])
    off = Roster((aria2("off", enabled=False),), ("qBittorrent", "Transmission", "aria2"))
    with pytest.raises(NoClient, match=r"\(qBittorrent, Transmission or aria2\), and none"):
        route("torrent", off)


def test_direct_files_go_to_a_preferred_aria2_else_builtin() -> None:
    assert route("file", [QBIT, ARIA]) == "aria"
    assert route("file", [PLAIN_ARIA, QBIT]) is None
    assert route("media", [ARIA]) is None


def test_the_users_choice_wins_when_it_can_take_the_source() -> None:
    assert route("torrent", [QBIT, TRANS], requested="qbit") == "qbit"
    assert route("file", [ARIA], requested="builtin") is None
    assert route("file", [PLAIN_ARIA], requested="aria-plain") == "aria-plain"


@pytest.mark.parametrize(
    ("source", "requested", "reason"),
    [
        ("file", "qbit", "qbit \\(qBittorrent\\) cannot download direct files"),
        ("media", "aria", "only the built-in engine runs yt-dlp"),
        ("torrent", "builtin", "built-in engine cannot download torrents"),
        ("torrent", "gone", "not configured or disabled"),
    ],
)
def test_a_choice_that_cannot_work_is_refused_with_a_reason(
    source: str, requested: str, reason: str
) -> None:
    with pytest.raises(NoClient, match=reason):
        route(source, [QBIT, ARIA], requested=requested)  # type: ignore[arg-type]


def test_submits_naming_an_unknown_or_disabled_client_are_refused() -> None:
    check_requested(None, [])
    check_requested("builtin", [])
    check_requested("qbit", [QBIT])
    with pytest.raises(UnknownClient, match="no download client named 'nope'; there are: "):
        check_requested("nope", [QBIT])
    with pytest.raises(UnknownClient, match="disabled"):
        check_requested("x", [aria2("x", enabled=False)])


def test_a_torrent_passes_over_a_client_that_is_down() -> None:
    assert route("torrent", [QBIT, TRANS], down={"trans"}) == "qbit"
    assert route("torrent", [QBIT, TRANS, ARIA], down={"trans", "qbit"}) == "aria"
    # every able client down: the preferred one is kept, and the download waits for it
    assert route("torrent", [QBIT, TRANS], down={"trans", "qbit"}) == "trans"
    # a client the user named is never passed over
    assert route("torrent", [QBIT, TRANS], requested="trans", down={"trans"}) == "trans"
    # direct files and pages are not torrents: no failover among torrent clients for them
    assert route("file", [ARIA], down={"aria"}) == "aria"
