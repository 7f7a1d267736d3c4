"""Who may use an instance: the three modes, and which one applies (pure).

- ``single``: no accounts and no login; everything belongs to the one local user. Only on
  loopback, where nobody else can reach haul.
- ``accounts``: everyone logs in (a session cookie in the browser, an API token for programs);
  each user sees their own downloads, administrators see all.
- ``public``: like a public yt-dlp front end. Visitors without an account get an anonymous
  browser session with small limits; accounts can still log in.

``HAUL_MODE=auto`` (the default) picks ``accounts`` as soon as an account exists, else
``single`` on loopback; bound to any other address with no account, haul refuses to start.
"""

from __future__ import annotations

from typing import Literal

from haul.errors import StartRefused

ModeSetting = Literal["auto", "single", "accounts", "public"]
Mode = Literal["single", "accounts", "public"]


def effective_mode(setting: ModeSetting, *, has_accounts: bool) -> Mode:
    """The mode in effect, given what is configured and whether an account exists (on a
    network address with none, :func:`refuse_start` has stopped ``auto`` already)."""
    if setting != "auto":
        return setting
    return "accounts" if has_accounts else "single"


def refuse_start(setting: ModeSetting, *, host: str, loopback: bool, has_accounts: bool) -> None:
    """Raise :class:`StartRefused` when haul would be open to a network without a login."""
    if loopback:
        return
    if setting == "single":
        raise StartRefused(
            f"haul is set to listen on {host}, which other machines can reach, in single-user "
            "mode (HAUL_MODE=single: no login), so anyone there could use it. Set "
            "HAUL_MODE=accounts or HAUL_MODE=auto (logins, once an administrator exists) or "
            "HAUL_MODE=public (anonymous visitors with small limits), or listen on 127.0.0.1."
        )
    if setting == "auto" and not has_accounts:
        raise StartRefused(
            f"haul is set to listen on {host}, which other machines can reach, and it has no "
            "accounts, so anyone there could use it. Create the first administrator with "
            "'haul users create-admin NAME', or set HAUL_MODE=accounts (the first visitor "
            "of /setup then needs the setup code haul prints) or HAUL_MODE=public (anonymous "
            "visitors with small limits), or listen on 127.0.0.1."
        )
