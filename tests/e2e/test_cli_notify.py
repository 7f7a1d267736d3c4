"""`haul notify add/ls/test/rm` against a real server and a real webhook receiver."""

from __future__ import annotations

from tests.support.server import HaulServer
from tests.support.webhooks import WebhookReceiver

SECRET = "cli-secret-value"


def test_cli_adds_lists_tests_and_removes_notification_targets(server: HaulServer) -> None:
    server.env["COLUMNS"] = "160"  # the table folds long cells on a narrow terminal
    with WebhookReceiver(secret=SECRET) as hooks:
        added = server.cli(
            "notify", "add", "--webhook", hooks.url(), "--secret", SECRET,
            "--on", "completed,failed", "--name", "home",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert "added 1 home" in added.stdout and SECRET not in added.stdout
        apprise = server.cli(
            "notify", "add", "--apprise", f"json://127.0.0.1:{hooks.port}/apprise", "--global",
            "--on", "imported",
        )  # fmt: skip
        assert apprise.returncode == 0, apprise.stderr

        listing = server.cli("notify", "ls")
        assert listing.returncode == 0, listing.stderr
        assert "home" in listing.stdout and "completed, failed" in listing.stdout
        assert "json://…" in listing.stdout and "global" in listing.stdout
        assert SECRET not in listing.stdout and "/apprise" not in listing.stdout
        stored = server.api("GET", "/notifications").json()["items"]
        assert [(t["name"], t["scope"], t["has_secret"]) for t in stored] == [
            ("home", "owner", True),
            ("json", "global", False),
        ]

        tested = server.cli("notify", "test", "home")
        assert tested.returncode == 0, tested.stderr
        assert "test event delivered" in tested.stdout
        [request] = hooks.requests  # the CLI returned after the server heard back
        assert request.signature_ok and request.json["event"] == "test"

        hooks.answer_always(400)
        refused = server.cli("notify", "test", "1")
        assert refused.returncode == 1
        assert "answered 400 Bad Request" in refused.stderr

        wrong = server.cli("notify", "add", "--webhook", hooks.url(), "--on", "done")
        assert wrong.returncode == 1
        assert "haul sends no 'done' event" in wrong.stderr
        both = server.cli("notify", "add", "--webhook", hooks.url(), "--apprise", "json://x")
        assert both.returncode == 2 and "either --webhook URL or --apprise URL" in both.stderr

        assert server.cli("notify", "rm", "home", "2").returncode == 0
        assert server.api("GET", "/notifications").json()["items"] == []
        gone = server.cli("notify", "rm", "home")
        assert gone.returncode == 1 and "no notification target is named 'home'" in gone.stderr
