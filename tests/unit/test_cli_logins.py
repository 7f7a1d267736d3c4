"""The file of saved logins: private, one entry per server, whole or not at all."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from haul.cli.logins import SavedLogin, credentials_path, forget_login, save_login, saved_login
from haul.errors import CredentialsFileError


def test_the_file_lives_under_xdg_config_home_or_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert credentials_path() == tmp_path / "xdg" / "haul" / "credentials.json"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert credentials_path() == tmp_path / "home" / ".config" / "haul" / "credentials.json"


def test_logins_are_kept_per_server_in_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    path = tmp_path / "haul" / "credentials.json"
    save_login("http://a:8680/", SavedLogin("haul_a", 1, "alice"), path)
    save_login("http://b:8680", SavedLogin("haul_b", 2, "bob"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert saved_login("http://a:8680", path) == SavedLogin("haul_a", 1, "alice")

    save_login("http://a:8680", SavedLogin("haul_c", 3, "alice"), path)
    assert saved_login("http://a:8680/", path) == SavedLogin("haul_c", 3, "alice")
    assert forget_login("http://a:8680", path) is True
    assert forget_login("http://a:8680", path) is False
    assert saved_login("http://a:8680", path) is None
    assert saved_login("http://b:8680", path) == SavedLogin("haul_b", 2, "bob")
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]  # no temporary left


def test_a_damaged_file_is_named_in_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text("{not json")
    with pytest.raises(
        CredentialsFileError, match=r"Cannot read the saved logins in .*credentials"
    ):
        saved_login("http://a:8680", path)
    path.write_text("[]")
    with pytest.raises(CredentialsFileError, match="is not a file of saved logins"):
        saved_login("http://a:8680", path)
    path.write_text('{"http://a:8680": {"token": 5}}')
    assert saved_login("http://a:8680", path) is None  # an entry it cannot use is no login
