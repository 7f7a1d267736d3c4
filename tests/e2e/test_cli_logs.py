"""`haul logs errors/unsupported/summary/clear` against a real server with real failed
downloads."""

from __future__ import annotations

from tests.support import media
from tests.support.origin import Origin
from tests.support.server import HaulServer, failed_download


def test_cli_lists_counts_and_clears_the_logs(server: HaulServer, origin: Origin) -> None:
    server.env["COLUMNS"] = "200"  # the tables fold long cells on a narrow terminal
    origin.add_file("/gone.bin", b"x")
    origin.fault("/gone.bin", "404", times=None)
    origin.add_page("/blog", media.page_without_media())
    gone = failed_download(server, origin.url("/gone.bin"))
    failed_download(server, origin.url("/blog"))
    failed_download(server, origin.url("/gone.bin").replace("127.0.0.1", "localhost"))

    listing = server.cli("logs", "errors")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count("http_404") == 2 and "unsupported_url" in listing.stdout
    assert gone["error"] in listing.stdout

    only = server.cli("logs", "errors", "--domain", "localhost")
    assert only.returncode == 0, only.stderr
    assert only.stdout.count("http_404") == 1 and "unsupported_url" not in only.stdout
    first = server.cli("logs", "errors", "--limit", "1")
    assert first.stdout.count("http_404") == 1 and "more: haul logs errors --cursor" in first.stdout
    cursor = first.stdout.rsplit("--cursor", 1)[1].split()[0]
    rest = server.cli("logs", "errors", "--cursor", cursor)
    assert "unsupported_url" in rest.stdout and rest.stdout.count("http_404") == 1

    links = server.cli("logs", "unsupported")
    assert links.returncode == 0, links.stderr
    assert origin.url("/blog") in links.stdout

    summary = server.cli("logs", "summary")
    assert summary.returncode == 0, summary.stderr
    lines = [" ".join(line.split()) for line in summary.stdout.splitlines()]
    assert "failed downloads: 3" in lines and "unsupported links: 1" in lines
    assert "2 127.0.0.1" in lines and "1 localhost" in lines
    assert "2 http_404" in lines and "1 unsupported_url" in lines

    refused = server.cli("logs", "clear", "errors")
    assert refused.returncode == 2 and "--older-than-days N or --all-entries" in refused.stderr
    kept = server.cli("logs", "clear", "all", "--older-than-days", "30")
    assert kept.returncode == 0, kept.stderr
    assert "removed 0 failed downloads older than 30 days" in kept.stdout
    cleared = server.cli("logs", "clear", "errors", "--all-entries")
    assert "removed 3 failed downloads" in cleared.stdout
    empty = server.cli("logs", "errors")
    assert empty.returncode == 0 and "No failed download is logged." in empty.stdout
    bad = server.cli("logs", "errors", "--cursor", "nope")
    assert bad.returncode == 1 and "cursor" in bad.stderr
