"""What ``haul add`` sends: one request for its links, one upload per .torrent file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from haul.cli import main as cli
from haul.cli.api import Api
from haul.cli.render import details, live_text

ITEM = {"id": 1, "url": "http://example.org/a.mkv", "status": "queued"}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path.endswith("/torrent"):
            return httpx.Response(201, json=ITEM)
        return httpx.Response(201, json={"items": [ITEM], "errors": []})

    def api_for(server: str, token: str | None) -> Api:
        api = Api(server, token)
        api.http.close()
        api.http = httpx.Client(
            base_url=f"{api.server}/api/v1", transport=httpx.MockTransport(answer)
        )
        return api

    monkeypatch.setattr(cli, "api_for", api_for)
    return requests


def run(*args: str) -> None:
    result = CliRunner().invoke(cli.app, ["add", *args])
    assert result.exit_code == 0, result.output


def body(request: httpx.Request) -> dict[str, Any]:
    return dict(json.loads(request.content))


def test_links_go_in_one_request_with_the_options_asked(sent: list[httpx.Request]) -> None:
    run("--profile", "audio", "--client", "aria2", "--paused", "http://a.test/1", "http://a.test/2")
    (request,) = sent
    assert request.url.path == "/api/v1/downloads"
    assert body(request) == {
        "urls": ["http://a.test/1", "http://a.test/2"],
        "profile": "audio",
        "client": "aria2",
        "paused": True,
    }


def test_the_media_item_and_force_are_sent_only_with_a_media_item(
    sent: list[httpx.Request],
) -> None:
    run("--force", "http://a.test/1")
    run("--media", "5", "--force", "http://a.test/1")
    without, with_media = (body(r) for r in sent)
    assert "media_id" not in without
    assert "force" not in without
    assert with_media["media_id"] == 5
    assert with_media["force"] is True


def test_a_torrent_file_is_uploaded_with_the_options_as_form_fields(
    sent: list[httpx.Request], tmp_path: Path
) -> None:
    torrent = tmp_path / "debian.torrent"
    torrent.write_bytes(b"d4:infod4:name6:debianee")
    run("--paused", "--media", "3", str(torrent))
    (request,) = sent
    assert request.url.path == "/api/v1/downloads/torrent"
    content = request.read().decode()
    for name, value in (("paused", "true"), ("media_id", "3"), ("force", "false")):
        assert f'name="{name}"\r\n\r\n{value}\r\n' in content
    assert 'name="profile"' not in content  # not asked: left to the server's default


def test_a_live_recording_reads_as_rec_and_its_length() -> None:
    item = {"live": True, "status": "downloading", "recorded_seconds": 754.2}
    assert live_text(item) == "REC 12:34"
    assert live_text({**item, "stop_requested": True}) == "stopping"
    assert live_text({**item, "status": "completed"}) == "live 12:34"
    assert live_text({"status": "downloading", "progress": 0.5}) is None


def test_show_says_how_a_recording_ended_and_its_limit() -> None:
    item = {
        "id": 7,
        "title": "index",
        "status": "completed",
        "live": True,
        "recorded_seconds": 120.0,
        "max_duration": 120.0,
        "live_ended_by": "max_duration",
    }
    console = Console(width=120, record=True)
    console.print(details(item, []))
    shown = console.export_text()
    assert re.search(r"max_duration\s+2:00", shown)
    assert re.search(r"live_ended_by\s+max_duration", shown)
    plain = Console(width=120, record=True)
    plain.print(details({"id": 8, "title": "x", "status": "completed"}, []))
    assert "max_duration" not in plain.export_text()


def test_add_wait_says_why_a_download_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    said = (
        "Waiting: at most 1 download at once from 127.0.0.1 (a site rule); "
        "it starts when one of those ends."
    )
    queued = {**ITEM, "message": said}
    done = {**ITEM, "status": "completed", "message": None, "total_bytes": 10}

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/downloads" and request.method == "POST":
            return httpx.Response(201, json={"items": [ITEM], "errors": []})
        if path == "/api/v1/downloads/1":
            return httpx.Response(200, json=queued)
        if path == "/api/v1/events":
            body = f"event: status\ndata: {json.dumps({'download': done})}\n\n"
            return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
        return httpx.Response(404, json={"detail": "no"})

    def api_for(server: str, token: str | None) -> Api:
        api = Api(server, token)
        api.http.close()
        api.http = httpx.Client(
            base_url=f"{api.server}/api/v1", transport=httpx.MockTransport(answer)
        )
        return api

    monkeypatch.setattr(cli, "api_for", api_for)
    result = CliRunner().invoke(cli.app, ["add", "--wait", "http://a.test/1"])
    assert result.exit_code == 0, result.output
    assert said in " ".join(result.output.split()), result.output
