"""A HAUL_* value haul cannot use is a sentence naming the variable, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from haul.errors import BadSettings
from haul.settings import load_settings


def test_each_bad_value_is_named_with_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HAUL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HAUL_PORT", "99999")
    monkeypatch.setenv("HAUL_RETRY_MAX_DELAY", "1e30")
    with pytest.raises(BadSettings) as caught:
        load_settings()
    assert caught.value.message == (
        "HAUL_PORT=99999: Input should be less than or equal to 65535. "
        "HAUL_RETRY_MAX_DELAY=1e30: Input should be less than or equal to 2592000."
    )


def test_the_ceilings_match_the_runtime_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HAUL_DATA_DIR", str(tmp_path))
    for name, beyond in (
        ("LIMIT_GLOBAL", "10001"),
        ("RETRY_MAX_ATTEMPTS", "1001"),
        ("RETENTION_DAYS", "36501"),
    ):
        monkeypatch.setenv(f"HAUL_{name}", beyond)
        with pytest.raises(BadSettings, match=f"HAUL_{name}={beyond}: Input should be less"):
            load_settings()
        monkeypatch.delenv(f"HAUL_{name}")


def test_a_value_that_may_hold_a_secret_is_not_repeated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HAUL_DATA_DIR", str(tmp_path))
    with pytest.raises(BadSettings) as caught:
        load_settings(database_url=12345)
    assert caught.value.message == "HAUL_DATABASE_URL: Input should be a valid string."


def test_haul_serve_says_it_and_exits(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "haul", "serve"],
        env={"HAUL_DATA_DIR": str(tmp_path), "HAUL_PORT": "0x50", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "HAUL_PORT=0x50: Input should be a valid integer" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_the_sponsorblock_server_is_a_web_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HAUL_DATA_DIR", str(tmp_path))
    assert load_settings().sponsorblock_api == "https://sponsor.ajay.app"
    monkeypatch.setenv("HAUL_SPONSORBLOCK_API", " http://127.0.0.1:8080/sb/ ")
    assert load_settings().sponsorblock_api == "http://127.0.0.1:8080/sb"
    for bad in ("ftp://sponsor.example", "sponsor.ajay.app", "https://", "https://a b"):
        monkeypatch.setenv("HAUL_SPONSORBLOCK_API", bad)
        with pytest.raises(BadSettings, match=r"HAUL_SPONSORBLOCK_API=.*is not a web address"):
            load_settings()


def test_proxy_settings_say_what_is_wrong() -> None:
    with pytest.raises(BadSettings) as refused:
        load_settings(auth_header="Remote-User")
    assert refused.value.message == (
        "HAUL_AUTH_HEADER=Remote-User: Value error, it is believed only from trusted proxies: "
        "set HAUL_TRUSTED_PROXIES to the proxy's address as well."
    )
    with pytest.raises(
        BadSettings, match=r"HAUL_TRUSTED_PROXIES=10\.0\.0\.1, nas\.lan: .*'nas\.lan' is not"
    ):
        load_settings(trusted_proxies="10.0.0.1, nas.lan")
    with pytest.raises(BadSettings, match=r"HAUL_BASE_PATH=/haul/\.\./x: .*like /haul"):
        load_settings(base_path="/haul/../x")
    with pytest.raises(BadSettings, match=r"HAUL_AUTH_HEADER=Cookie: .*Remote-User"):
        load_settings(trusted_proxies="127.0.0.1", auth_header="Cookie")
    assert load_settings(base_path="/haul/").base_path == "/haul"
    assert load_settings(base_path="/").base_path == ""
    assert load_settings().trusted_proxies is None
    proxies = load_settings(trusted_proxies=" 127.0.0.1 , 10.0.0.0/8,")
    assert proxies.trusted_proxy_list == ["127.0.0.1", "10.0.0.0/8"]
    assert load_settings(trusted_proxies="").trusted_proxy_list == []


def test_a_network_written_with_host_bits_trusts_the_whole_network() -> None:
    from uvicorn.middleware.proxy_headers import _TrustedHosts

    proxies = load_settings(trusted_proxies="10.0.0.1/8, 192.168.1.7, fd00::5/64, ::1")
    assert proxies.trusted_proxy_list == ["10.0.0.0/8", "192.168.1.7", "fd00::/64", "::1"]
    trusted = _TrustedHosts(proxies.trusted_proxy_list)
    assert "10.20.30.40" in trusted and "fd00::9" in trusted and "192.168.1.7" in trusted
    assert "11.0.0.1" not in trusted and "192.168.1.8" not in trusted
