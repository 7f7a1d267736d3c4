"""What ``haul subscriptions`` sends and prints: add with its settings, ls, show with what was
seen, check (what it found, or why it failed), pause, resume, rm."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from haul.cli import main as cli
from haul.cli import subscriptions as subscriptions_cli
from haul.cli.api import Api

SUB: dict[str, Any] = {
    "id": 3,
    "url": "https://videos.example/@someone",
    "kind": "playlist",
    "title": "Someone's videos",
    "owner": "local",
    "owner_name": "local",
    "profile": None,
    "interval_minutes": 120,
    "backfill": "none",
    "since": None,
    "title_filter": "review",
    "max_per_check": None,
    "media_id": None,
    "keep_last": 5,
    "paused": False,
    "next_check_at": "2026-03-01T12:00:00+00:00",
    "last_checked_at": "2026-03-01T10:00:00+00:00",
    "last_error": None,
    "last_error_at": None,
    "failures": 0,
    "checking": False,
    "entries": 40,
    "downloads": 2,
    "created_at": "2026-02-01T10:00:00+00:00",
    "updated_at": "2026-02-01T10:00:00+00:00",
}
ENTRIES = [
    {"id": 9, "key": "y:b", "title": "A review", "url": "https://v.example/b", "download_id": 7}
    | {"download_status": "completed", "skipped": None, "error": None},
    {"id": 8, "key": "y:a", "title": "Old", "url": "https://v.example/a", "download_id": None}
    | {"download_status": None, "skipped": "backfill", "error": None},
]


class Server:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.check: dict[str, Any] = {"checked": True, "downloads": [7, 8], "remembered": 1}
        self.check |= {"deferred": 0, "error": None, "subscription": SUB}
        self.listed: list[dict[str, Any]] = [SUB]
        self.one: dict[str, Any] = SUB

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, method = request.url.path, request.method
        if path.endswith("/entries"):
            return httpx.Response(200, json={"items": ENTRIES, "next_cursor": None})
        if path.endswith("/check"):
            return httpx.Response(200, json=self.check)
        if method == "DELETE":
            return httpx.Response(204)
        if path == "/api/v1/subscriptions" and method == "GET":
            return httpx.Response(200, json={"items": self.listed})
        if method == "POST":
            return httpx.Response(201, json=SUB)
        return httpx.Response(200, json=self.one)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Server:
    answering = Server()

    def api_for(url: str, token: str | None) -> Api:
        api = Api(url, token)
        api.http.close()
        api.http = httpx.Client(
            base_url=f"{api.server}/api/v1", transport=httpx.MockTransport(answering)
        )
        return api

    monkeypatch.setattr(subscriptions_cli, "api_for", api_for)
    return answering


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli.app, ["subscriptions", *args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result


def test_add_sends_the_settings_asked_and_checks_when_told(server: Server) -> None:
    out = run(
        "add",
        SUB["url"],
        "--every",
        "120",
        "--backfill",
        "3",
        "--filter",
        "review",
        "--keep-last",
        "5",
        "--check",
    ).output
    made, checked = server.requests
    assert json.loads(made.content) == {
        "url": SUB["url"],
        "backfill": "3",
        "paused": False,
        "interval_minutes": 120,
        "title_filter": "review",
        "keep_last": 5,
    }
    assert checked.url.path == "/api/v1/subscriptions/3/check"
    assert "added 3: https://videos.example/@someone (playlist)" in out
    assert "3: 2 new downloads (7, 8), 1 remembered without downloading" in out


def test_ls_and_show(server: Server) -> None:
    listed = run("ls").output
    assert "Someone's videos" in listed and "120 min" in listed and "ok" in listed
    shown = run("show", "3").output
    assert "40 entries, 2 downloads" in shown and "review" in shown
    assert "download 7 (completed)" in shown and "skipped: backfill" in shown
    server.listed = [SUB | {"last_checked_at": None}]
    assert "not checked yet" in run("ls").output
    asked = len(server.requests)
    assert "less than or equal to 500" in run("show", "3", "--entries", "1000", code=2).output
    assert len(server.requests) == asked  # refused before asking the server
    server.one = SUB | {"entries": 1, "downloads": 1}
    assert re.search(r"1 entry, 1 download *$", run("show", "3").output, re.MULTILINE)


def test_ls_names_the_owners_when_it_shows_several(server: Server) -> None:
    assert "owner" not in run("ls").output  # one's own: no column of the same name
    bobs = SUB | {"id": 4, "owner": "user:2", "owner_name": "bob", "title": "Bob's videos"}
    server.listed = [bobs, SUB]
    lines = run("ls").output.splitlines()
    assert any("owner" in line for line in lines)
    assert any("bob" in line and "Bob's videos" in line for line in lines)
    assert any("local" in line and "Someone's videos" in line for line in lines)


def test_a_failed_check_says_why_and_exits_1(server: Server) -> None:
    server.check |= {"error": "The server answered 404 Not Found.", "downloads": []}
    result = run("check", "3", code=1)
    assert "3: The server answered 404 Not Found." in result.output


def test_pause_resume_and_rm(server: Server) -> None:
    assert "paused 3" in run("pause", "3").output
    assert "resumed 3" in run("resume", "3").output
    assert "removed 3" in run("rm", "3").output
    bodies = [json.loads(r.content) for r in server.requests if r.method == "PATCH"]
    assert bodies == [{"paused": True}, {"paused": False}]
    assert server.requests[-1].method == "DELETE"


def test_edit_sends_only_what_it_names_and_clears_what_it_is_told(server: Server) -> None:
    out = run("edit", "3", "--every", "30", "--clear", "keep-last", "--clear", "filter").output
    [changed] = server.requests
    assert (changed.method, changed.url.path) == ("PATCH", "/api/v1/subscriptions/3")
    assert json.loads(changed.content) == {
        "interval_minutes": 30,
        "keep_last": None,
        "title_filter": None,
    }
    assert "changed 3: Someone's videos" in out
    assert "Name at least one setting" in run("edit", "3", code=2).output
    assert "--clear takes profile, since" in run("edit", "3", "--clear", "title", code=2).output
    both = run("edit", "3", "--keep-last", "2", "--clear", "keep-last", code=2).output
    assert "both set and cleared" in both
    assert len(server.requests) == 1  # nothing sent for a wrong command line
