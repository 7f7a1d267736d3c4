"""Who owns a download, told from its owner key (pure).

Keys: ``local`` (the single user of a loopback instance), ``user:<id>`` (an account) and
``session:<uuid>`` (an anonymous browser session of a public instance).
"""

from __future__ import annotations

from collections.abc import Mapping

ANONYMOUS_PREFIX = "session:"
USER_PREFIX = "user:"


def is_anonymous(owner_key: str) -> bool:
    """Whether the key names an anonymous browser session rather than a person's account."""
    return owner_key.startswith(ANONYMOUS_PREFIX)


def owner_name(owner_key: str, user_names: Mapping[int, str]) -> str:
    """An owner as a person reads it: the account's user name, ``visitor 1a2b3c4d`` (the
    start of an anonymous session's id), ``local``; ``user 7`` for an account gone since."""
    if owner_key.startswith(USER_PREFIX):
        user_id = owner_key[len(USER_PREFIX) :]
        found = user_names.get(int(user_id)) if user_id.isdigit() else None
        return found or f"user {user_id}"
    if is_anonymous(owner_key):
        return f"visitor {owner_key[len(ANONYMOUS_PREFIX) :][:8]}"
    return owner_key
