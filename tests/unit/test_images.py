"""What an image is by its bytes, and which thumbnail address a download keeps."""

from __future__ import annotations

from typing import Any

import pytest

from haul.core.images import download_thumbnail, sniff, source_of


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"GIF87a\x01\x00\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # a sound, not a picture
        (b"<svg xmlns='http://www.w3.org/2000/svg'>", None),  # may carry script
        (b"<!doctype html><title>404</title>", None),
        (b"", None),
    ],
)
def test_an_image_is_known_by_its_first_bytes(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


@pytest.mark.parametrize(
    ("info", "source"),
    [
        ({"thumbnail": "https://i.example/a.jpg"}, "https://i.example/a.jpg"),
        ({"thumbnails": [{"url": "http://x/1.jpg"}, {"url": "http://x/2.jpg"}]}, "http://x/2.jpg"),
        ({"thumbnail": "file:///etc/passwd"}, None),
        ({"thumbnail": "javascript:alert(1)"}, None),
        ({"thumbnail": "https://i.example/a b.jpg"}, None),
        ({"thumbnail": "https://i.example/" + "a" * 3000}, None),
        ({"thumbnails": ["not a dict"]}, None),
        # Addresses haul never fetches: no thumbnail to try (and no box on the page).
        ({"thumbnail": "http://169.254.169.254/latest/thumb.jpg"}, None),
        ({"thumbnail": "http://[fe80::1]/a.jpg"}, None),
        ({"thumbnail": "http://metadata.google.internal/a.jpg"}, None),
        ({"thumbnail": "http://127.0.0.1:8000/a.jpg"}, "http://127.0.0.1:8000/a.jpg"),
        ({}, None),
    ],
)
def test_only_a_web_address_is_kept_as_a_thumbnail_source(
    info: dict[str, Any], source: str | None
) -> None:
    assert source_of(info) == source


def test_a_download_s_thumbnail_is_what_its_run_found_else_its_page() -> None:
    page = {"resolved": {"thumbnail": "https://a/page.jpg"}}
    assert download_thumbnail(page) == "https://a/page.jpg"
    ran = {**page, "result": {"thumbnail": "https://a/run.jpg"}}
    assert download_thumbnail(ran) == "https://a/run.jpg"
    assert download_thumbnail({"resolved": {"thumbnail": "data:image/png;base64,AA"}}) is None
    assert download_thumbnail({"resolved": None}) is None
