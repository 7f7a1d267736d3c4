"""The rules behind the library and clients forms: every problem at once, each with its field."""

from __future__ import annotations

import pytest

from haul.clients.base import ClientHealth
from haul.clients.registry import check_spec, spec_problems
from haul.core import media_items as rules
from haul.core.client_specs import ClientSpec
from haul.errors import InputError, InvalidMediaItem
from haul.web.ui.client_form import ClientForm, health_text, read_spec, shown_url


@pytest.mark.parametrize(
    ("shape", "fields"),
    [
        (rules.Shape("movie", "Heat", 1995), []),
        (rules.Shape("episode", "Pilot", None, "series", 1, 1), []),
        (rules.Shape("episode", "Pilot", None, "series", 0, 0), []),
        (rules.Shape("trailer", "Teaser", None, "movie"), []),
        (rules.Shape("film", "Heat"), ["kind"]),
        (rules.Shape("movie", " ", 1700, "series", 1), ["title", "year", "parent", "season"]),
        (rules.Shape("episode", "", None, None, None, 2), ["title", "parent", "season"]),
        (rules.Shape("episode", "x", None, "series", -1, 2), ["season"]),
        (rules.Shape("trailer", "x", None, "episode", 1, None), ["parent", "season"]),
    ],
)
def test_media_item_problems_name_their_fields(shape: rules.Shape, fields: list[str]) -> None:
    found = rules.problems(shape)
    assert [where for where, _ in found] == fields
    if found:  # check() raises the first, as before
        with pytest.raises(InvalidMediaItem, match=found[0][1][:20]):
            rules.check(shape)
    else:
        rules.check(shape)


def test_client_spec_problems_name_their_fields() -> None:
    good = ClientSpec("qbit", "qbittorrent", "http://127.0.0.1:8080")
    assert spec_problems(good) == []
    bad = ClientSpec(
        "builtin", "transmission", "127.0.0.1:9091", slot_limit=0, prefer_for_files=True
    )
    assert [where for where, _ in spec_problems(bad)] == [
        "name",
        "url",
        "slot_limit",
        "prefer_for_files",
    ]
    with pytest.raises(InputError, match="belongs to haul's own engine"):
        check_spec(bad)
    assert [w for w, _ in spec_problems(ClientSpec("x", "ftp", "ftp://x"))] == ["kind"]


def test_the_client_form_reads_numbers_and_keeps_the_stored_secret() -> None:
    form = ClientForm("aria2", " a2 ", " http://127.0.0.1:6800/jsonrpc ", priority="5")
    spec = read_spec(form, "")
    assert spec is not None and (spec.name, spec.priority, spec.secret) == ("a2", 5, None)
    base = ClientSpec("a2", "aria2", "http://x:1/jsonrpc", secret="stored", timeout=9.0)
    kept = read_spec(ClientForm("aria2", "a2", "http://x:2/jsonrpc"), "", base)
    assert kept is not None and (kept.secret, kept.timeout) == ("stored", 9.0)
    cleared = read_spec(
        ClientForm("aria2", "a2", "http://x:2/jsonrpc", clear_secret=True), "", base
    )
    assert cleared is not None and cleared.secret is None

    wrong = ClientForm(
        "aria2", "a b", "http://u:pw@h:1/", category="", priority="x", slot_limit="0"
    )
    assert read_spec(wrong, "") is None
    assert set(wrong.errors) == {"name", "url", "category", "priority", "slot_limit"}
    assert wrong.url == "http://u:***@h:1/"  # what goes back to the page


def test_what_the_page_says_about_health_and_urls() -> None:
    assert health_text(ClientHealth(True, version="1.36.0")) == "Connected: 1.36.0"
    assert health_text(ClientHealth(True, version="builtin"), builtin=True) == "Ready."
    assert health_text(ClientHealth(False, "aria2 at h:1 refused the connection")) == (
        "aria2 at h:1 refused the connection"
    )
    assert health_text(None) == "Disabled: not asked."
    assert shown_url("http://admin:hunter2@nas:8080/x?y=1") == "http://admin:***@nas:8080/x?y=1"
    assert shown_url("http://nas:8080/") == "http://nas:8080/"
