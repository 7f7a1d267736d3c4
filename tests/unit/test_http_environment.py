"""The HTTP engine reads proxies and ~/.netrc once, and applies them per request as aiohttp's
``trust_env`` would (without its two trips to a thread per request), except that a site's
.netrc credentials are never sent (the operator's logins are not for other people's URLs)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from haul.engine.http import _Environment

PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "absent-netrc"))


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def test_no_proxy_and_no_netrc_means_no_options() -> None:
    environment = _Environment.read()
    assert environment.proxy("http://example.test/a.bin") == {}


def test_proxy_per_scheme_with_its_credentials_and_no_proxy_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("http_proxy", "http://user:p%40ss@proxy.test:3128")
    monkeypatch.setenv("no_proxy", "internal.test")
    environment = _Environment.read()
    options = environment.proxy("http://example.test/a.bin")
    assert options == {
        "proxy": "http://proxy.test:3128",
        "proxy_headers": {"Proxy-Authorization": basic("user", "p@ss")},
    }
    assert environment.proxy("https://example.test/a.bin") == {}  # no https proxy set
    assert environment.proxy("http://internal.test/a.bin") == {}


def test_netrc_gives_credentials_for_the_proxy_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine files.test login alice password s3cret\n"
        "machine proxy.test login bob password pr0xy\n"
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("https_proxy", "http://proxy.test:8080")
    environment = _Environment.read()
    proxy_headers = environment.proxy("https://files.test/a.bin")["proxy_headers"]
    assert proxy_headers == {"Proxy-Authorization": basic("bob", "pr0xy")}
