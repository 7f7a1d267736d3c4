"""The API tokens ``haul login`` saved, one per server, in a file only its owner can read.

The file is ``$XDG_CONFIG_HOME/haul/credentials.json`` (``~/.config/haul/credentials.json``
when that variable is unset): a JSON object keyed by server URL, each entry holding the token,
its id on the server (what ``haul logout`` revokes) and the user name it logs in. It is
written whole to a new file made with mode 0600 and renamed over the old one, so a reader never
sees half a file and the token is never readable by others, not even for a moment.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from haul.errors import CredentialsFileError

FILE_NAME = "credentials.json"


@dataclass(frozen=True, slots=True)
class SavedLogin:
    token: str
    token_id: int
    username: str


def credentials_path() -> Path:
    """Where the saved logins live (XDG base directories; a relative XDG path is ignored)."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "haul" / FILE_NAME


def server_key(server: str) -> str:
    """The key of a server in the file: its URL without a trailing slash."""
    return server.strip().rstrip("/")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CredentialsFileError(f"Cannot read the saved logins in {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CredentialsFileError(f"{path} is not a file of saved logins (a JSON object).")
    return data


def _parse(entry: object) -> SavedLogin | None:
    if not isinstance(entry, dict):
        return None
    token, token_id = entry.get("token"), entry.get("token_id")
    if not isinstance(token, str) or not isinstance(token_id, int):
        return None
    return SavedLogin(token, token_id, str(entry.get("username") or ""))


def saved_login(server: str, path: Path | None = None) -> SavedLogin | None:
    """The login saved for ``server``, if any."""
    return _parse(_read(path or credentials_path()).get(server_key(server)))


def saved_token(server: str) -> str | None:
    login = saved_login(server)
    return login.token if login else None


def save_login(server: str, login: SavedLogin, path: Path | None = None) -> Path:
    """Save (or replace) the login of ``server``; the file's path."""
    path = path or credentials_path()
    data = _read(path)
    data[server_key(server)] = asdict(login)
    _write(path, data)
    return path


def forget_login(server: str, path: Path | None = None) -> bool:
    """Remove the login saved for ``server``; whether there was one."""
    path = path or credentials_path()
    data = _read(path)
    if data.pop(server_key(server), None) is None:
        return False
    _write(path, data)
    return True


def _write(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fresh = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            fresh.unlink()
        # O_EXCL with mode 0600: the token is never in a file others could open.
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2, sort_keys=True)
                out.write("\n")
            fresh.replace(path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                fresh.unlink()
            raise
    except OSError as exc:
        raise CredentialsFileError(f"Cannot save the login in {path}: {exc}") from exc
