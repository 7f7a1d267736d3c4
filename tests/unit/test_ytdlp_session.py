"""What yt-dlp writes into an ``.info.json`` goes through :func:`without_secrets` first."""

from __future__ import annotations

import json
from typing import Any

from haul.engine.ytdlp_session import open_session, without_secrets

PROXY = "http://ann:pr0xy-pass@proxy.lan:3128"


def info() -> dict[str, Any]:
    headers = {"User-Agent": "x", "Cookie": "sid=1", "authorization": "Bearer t"}
    fmt = {
        "url": "https://example.test/v.mp4",
        "cookies": "sid=1; Domain=example.test; Path=/",
        "http_headers": dict(headers, **{"Proxy-Authorization": "Basic eA=="}),
    }
    return {
        "title": "A film",
        "http_headers": headers,
        "formats": [fmt],
        "requested_formats": (fmt,),
        "thumbnails": [{"url": "https://example.test/t.jpg", "http_headers": headers}],
        "note": f"fetched through {PROXY}",
    }


def test_no_cookie_credential_header_or_proxy_password_is_left_at_any_depth() -> None:
    clean = without_secrets(info(), PROXY)
    text = json.dumps(clean)
    for secret in ("sid=1", "Bearer t", "Basic eA==", "pr0xy-pass", "ann:"):
        assert secret not in text
    assert clean["title"] == "A film"
    assert clean["formats"][0]["http_headers"] == {"User-Agent": "x"}
    assert clean["requested_formats"][0]["url"] == "https://example.test/v.mp4"
    assert clean["thumbnails"][0]["http_headers"] == {"User-Agent": "x"}
    assert "proxy.lan:3128" in clean["note"]


def test_the_session_cleans_the_copy_yt_dlp_writes_and_leaves_the_original() -> None:
    original = info()
    with open_session("[test]", socket_timeout=1, proxy=PROXY) as ydl:
        written = ydl.sanitize_info(original, True)
    assert "pr0xy-pass" not in json.dumps(written) and "cookies" not in json.dumps(written)
    assert written["title"] == "A film"
    assert original["formats"][0]["cookies"]  # the download itself still has what it needs
