"""The CLI prints what a server says as written: titles, URLs, errors and format selectors
that look like Rich markup or carry terminal control sequences, against a real server."""

from __future__ import annotations

import subprocess

from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.server import HaulServer, failed_download

#: Markup Rich would read (a closing tag with no opening one crashes it), an emoji code, and a
#: control sequence that clears the screen.
HOSTILE = "[/b] [red]x[/red] [link=http://evil.example]click[/link] :smile: \x1b[2J end"
#: What a person must see of it: the same text, the escape character written as ``\x1b``.
SHOWN = "[/b] [red]x[/red] [link=http://evil.example]click[/link] :smile: \\x1b[2J end"


def _run(server: HaulServer, *args: str) -> subprocess.CompletedProcess[str]:
    result = server.cli(*args)
    out = result.stdout + result.stderr
    assert "Traceback" not in out and "MarkupError" not in out, out
    assert "\x1b" not in out, f"a raw escape character reached the terminal: {out!r}"
    return result


def test_titles_urls_and_errors_are_shown_as_written(
    server: HaulServer, origin: Origin, media_files: MediaFiles
) -> None:
    server.env["COLUMNS"] = "400"  # one line per row: the table folds cells on a narrow one
    origin.add_file("/m/clip.mp4", media_files.mp4, content_type="video/mp4")
    # Fetched with the brackets percent-encoded; queued and shown as the person wrote it.
    page = media.page_with_video(origin.url("/m/clip.mp4"), title=HOSTILE)
    origin.add_page("/watch/%5B/b%5D", page)
    page_url = origin.url("/watch/[/b]")

    added = _run(server, "add", "--wait", page_url)
    assert added.returncode == 0, added.stdout + added.stderr
    assert f"queued 1 {page_url}" in added.stdout
    assert SHOWN[:40] in added.stdout  # the progress bar's label: the title's first 40

    origin.add_page("/blog/%5Bred%5Dx%5B/red%5D", media.page_without_media())
    failed = failed_download(server, origin.url("/blog/[red]x[/red]"))
    assert "[red]x[/red]" in failed["error"]
    titled = server.api("POST", "/downloads", json={"url": origin.url("/t"), "title": HOSTILE})
    assert titled.status_code == 201, titled.text

    listing = _run(server, "ls")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count(SHOWN) == 2  # the page's title and the one given
    assert failed["error"] in listing.stdout

    shown = _run(server, "show", "1")
    assert shown.returncode == 0, shown.stderr
    assert SHOWN in shown.stdout and page_url in shown.stdout
    shown = _run(server, "show", str(failed["id"]))
    assert failed["error"] in shown.stdout

    refused = _run(server, "add", "ftp://host/[/b][red]x[/red]")
    assert refused.returncode == 1
    assert "ftp://host/[/b][red]x[/red]: " in refused.stderr

    errors = _run(server, "logs", "errors")
    assert errors.returncode == 0, errors.stderr
    assert "[red]x[/red]" in errors.stdout


def test_format_selectors_keep_their_brackets(server: HaulServer) -> None:
    server.env["COLUMNS"] = "400"
    selector = "bv*[height<=720][ext=mp4]+ba/b[/b]"
    added = _run(server, "profiles", "add", "hostile", "--format", selector)
    assert added.returncode == 0, added.stderr
    listing = _run(server, "profiles", "ls")
    assert listing.returncode == 0, listing.stderr
    assert selector in listing.stdout
