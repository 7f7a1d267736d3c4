"""The rules of the web guards, without a server: which policy a response gets, how limits
read, where a NUL hides."""

from __future__ import annotations

import pytest

from haul.errors import InvalidFields
from haul.web.headers import DOCS_POLICY, FILE_POLICY, OTHER_POLICY, PAGE_POLICY, secured
from haul.web.ids import id_or_none
from haul.web.limits import declared_length, shown_size, too_large_message
from haul.web.nul import (
    body_kind,
    form_holds_nul,
    json_holds_nul,
    refuse_nul_fields,
    request_holds_nul,
)

HTML = [(b"content-type", b"text/html; charset=utf-8")]
JSON = [(b"content-type", b"application/json")]


def headers_of(path: str, raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in secured(path, raw)}


@pytest.mark.parametrize(
    ("path", "raw", "policy"),
    [
        ("/", HTML, PAGE_POLICY),
        ("/downloads/3", HTML, PAGE_POLICY),
        ("/api/v1/downloads", JSON, OTHER_POLICY),
        ("/api/v1/events", [(b"content-type", b"text/event-stream")], OTHER_POLICY),
        ("/static/haul.js", [(b"content-type", b"text/javascript")], OTHER_POLICY),
        ("/api/v1/docs", HTML, DOCS_POLICY),
        ("/api/v1/downloads/7/file", HTML, FILE_POLICY),  # a downloaded page is a file
        ("/files/abc.def", [(b"content-type", b"image/svg+xml")], FILE_POLICY),
        (
            "/elsewhere",
            [*HTML, (b"content-disposition", b"attachment; filename=x.html")],
            FILE_POLICY,
        ),
    ],
)
def test_each_response_gets_its_policy(
    path: str, raw: list[tuple[bytes, bytes]], policy: str
) -> None:
    found = headers_of(path, raw)
    assert found["content-security-policy"] == policy
    assert found["x-content-type-options"] == "nosniff"
    assert found["x-frame-options"] == "DENY"
    assert found["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in found["permissions-policy"]
    referrer = "no-referrer" if policy == FILE_POLICY else "same-origin"
    assert found["referrer-policy"] == referrer


def test_pages_allow_no_inline_code_and_files_are_sandboxed() -> None:
    assert "'unsafe-inline'" not in PAGE_POLICY and "'unsafe-eval'" not in PAGE_POLICY
    for rule in ("frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"):
        assert rule in PAGE_POLICY
    assert "sandbox" in FILE_POLICY.split("; ") and "default-src 'none'" in FILE_POLICY


def test_a_header_the_route_set_is_kept_and_none_is_doubled() -> None:
    raw = [*JSON, (b"content-security-policy", b"default-src 'self'"), (b"x-frame-options", b"X")]
    found = secured("/api/v1/x", raw)
    names = [k for k, _ in found]
    assert len(names) == len(set(names))
    assert dict(found)[b"content-security-policy"] == b"default-src 'self'"
    assert dict(found)[b"x-frame-options"] == b"X"


def test_limits_read_as_people_say_them() -> None:
    assert shown_size(1024 * 1024) == "1 MB"
    assert shown_size(12 * 1024 * 1024) == "12 MB"
    assert shown_size(512 * 1024) == "512 KB"
    assert shown_size(1000) == "1000 bytes"
    assert too_large_message(1024 * 1024) == (
        "The request body is larger than 1 MB, the most haul accepts here."
    )
    assert declared_length({"headers": [(b"content-length", b"42")]}) == 42
    assert declared_length({"headers": [(b"content-length", b"lots")]}) is None
    assert declared_length({"headers": []}) is None


@pytest.mark.parametrize(
    ("body", "holds"),
    [
        (b'{"url": "http://x/a"}', False),
        (b'{"url": "http://x/\\u0000"}', True),
        (b'{"a": ["b", {"c\\u0000": 1}]}', True),
        (b'{"text": "\\\\u0000"}', False),  # a backslash, then the letters u0000
        (b'{"broken": "\\u0000', True),  # not JSON: the route refuses it anyway
        (b"[" * 100_000 + b'"\\u0000"' + b"]" * 100_000, True),
    ],
)
def test_a_nul_is_found_in_any_string_of_a_json_body(body: bytes, holds: bool) -> None:
    assert json_holds_nul(body) is holds


def test_a_nul_is_found_in_forms_and_addresses() -> None:
    assert form_holds_nul(b"urls=http%3A%2F%2Fx%2Fa%00b&csrf=t")
    assert not form_holds_nul(b"urls=http%3A%2F%2Fx%2F%2500&csrf=t")  # a literal "%00"
    assert request_holds_nul({"path": "/clients/a\x00", "query_string": b""})
    assert request_holds_nul({"path": "/", "query_string": b"q=%00"})
    assert not request_holds_nul({"path": "/", "query_string": b"q=%2500"})


def test_multipart_fields_with_a_nul_are_named() -> None:
    refuse_nul_fields({"title": "fine", "profile": None})
    with pytest.raises(InvalidFields) as caught:
        refuse_nul_fields({"title": "a\x00", "client": "b\x00", "profile": "ok"})
    assert list(caught.value.problems) == ["title", "client"]
    assert caught.value.problems["title"] == "title cannot contain NUL characters (\\u0000)."


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("application/json", "json"),
        ("Application/JSON; charset=utf-8", "json"),
        ("application/merge-patch+json", "json"),
        ("application/vnd.api+json ; ext=x", "json"),
        ("application/x-www-form-urlencoded", "form"),
        ("multipart/form-data; boundary=x", None),
        ("text/json", None),
        ("", None),
    ],
)
def test_every_body_read_as_json_or_a_form_is_checked(content_type: str, kind: str | None) -> None:
    assert body_kind(content_type) == kind


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), (" 42 ", 42), ("2147483647", 2147483647), ("2147483648", None), ("0", None),
     ("99999999999999999999", None), ("²", None), ("-1", None), ("", None), ("1e3", None)],
)  # fmt: skip
def test_an_id_is_a_whole_number_a_database_holds(text: str, value: int | None) -> None:
    assert id_or_none(text) == value
