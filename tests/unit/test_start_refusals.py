"""Why `haul serve` will not open an instance without a login to the network, in words that fit
the case."""

from __future__ import annotations

import pytest

from haul.core.modes import refuse_start
from haul.errors import StartRefused


def test_single_user_mode_beyond_loopback_says_the_mode_not_that_accounts_are_missing() -> None:
    with pytest.raises(StartRefused) as refused:
        refuse_start("single", host="0.0.0.0", loopback=False, has_accounts=True)
    said = refused.value.message
    assert "single-user mode" in said and "HAUL_MODE=accounts" in said
    assert "no accounts" not in said and "create-admin" not in said


def test_auto_mode_without_an_account_asks_for_the_first_administrator() -> None:
    with pytest.raises(StartRefused, match="create-admin"):
        refuse_start("auto", host="0.0.0.0", loopback=False, has_accounts=False)
    refuse_start("auto", host="0.0.0.0", loopback=False, has_accounts=True)
    refuse_start("single", host="127.0.0.1", loopback=True, has_accounts=False)
