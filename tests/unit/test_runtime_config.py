"""The runtime settings' rules (pure): what a value may be, and the sentence when it is not."""

from __future__ import annotations

from typing import Any

import pytest

from haul.core.config import BY_KEY, KEYS, RuntimeValues, check_changes, is_private, parse, readable
from haul.errors import InvalidConfig

DEFAULTS: dict[str, Any] = {
    "limit_global": 10,
    "limit_per_owner": None,
    "over_limit": "queue",
    "retry_max_attempts": 5,
    "retry_base_delay": 5.0,
    "retry_max_delay": 600.0,
    "retention_days": None,
    "anonymous_retention_days": 1.0,
}


@pytest.mark.parametrize(
    ("key", "given", "clean"),
    [
        ("limit_global", 3, 3),
        ("limit_global", "3", 3),
        ("limit_global", " 12 ", 12),
        ("limit_global", 4.0, 4),
        ("limit_per_owner", "none", None),
        ("limit_per_owner", "None", None),
        ("limit_per_owner", 2, 2),
        ("over_limit", "reject", "reject"),
        ("over_limit", "QUEUE", "queue"),
        ("retry_max_attempts", 0, 0),
        ("retry_base_delay", "0.5", 0.5),
        ("retry_base_delay", 2, 2.0),
        ("retention_days", "none", None),
        ("retention_days", "0.25", 0.25),
        ("anonymous_retention_days", 7, 7.0),
    ],
)
def test_good_values_are_cleaned(key: str, given: object, clean: object) -> None:
    value = parse(BY_KEY[key], given)
    assert value == clean and type(value) is type(clean)


@pytest.mark.parametrize(
    ("key", "given", "sentence"),
    [
        ("limit_global", 0, "limit_global must be a whole number of at least 1."),
        ("limit_global", "many", "limit_global must be a whole number of at least 1."),
        ("limit_global", 2.5, "limit_global must be a whole number of at least 1."),
        ("limit_global", True, "limit_global must be a whole number of at least 1."),
        ("limit_global", "none", "limit_global must be a whole number of at least 1."),
        (
            "limit_per_owner",
            0,
            "limit_per_owner must be a whole number of at least 1, or none (no limit).",
        ),
        ("over_limit", "drop", "over_limit must be one of: queue, reject."),
        ("over_limit", 1, "over_limit must be one of: queue, reject."),
        (
            "retry_base_delay",
            -1,
            "retry_base_delay must be a number of seconds of at least 0.",
        ),
        ("retry_base_delay", "inf", "retry_base_delay must be a number of seconds of at least 0."),
        ("retry_base_delay", "nan", "retry_base_delay must be a number of seconds of at least 0."),
        (
            "retention_days",
            0,
            "retention_days must be a number of days greater than 0, or none (keep forever).",
        ),
        (
            "anonymous_retention_days",
            "none",
            "anonymous_retention_days must be a number of days greater than 0.",
        ),
        ("retry_max_attempts", [1], "retry_max_attempts must be a whole number of at least 0."),
    ],
)
def test_bad_values_get_a_sentence(key: str, given: object, sentence: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse(BY_KEY[key], given)
    assert str(caught.value) == sentence


def test_a_batch_is_refused_whole_naming_every_bad_key() -> None:
    with pytest.raises(InvalidConfig) as caught:
        check_changes(
            {"limit_global": 0, "over_limit": "reject", "speed": 3, "secret.file_links": "x"},
            defaults=DEFAULTS,
            stored={},
        )
    problems = caught.value.problems
    assert set(problems) == {"limit_global", "speed", "secret.file_links"}
    assert problems["speed"].startswith("There is no setting named 'speed'; the settings are: ")
    assert all(key in problems["speed"] for key in KEYS)
    assert "limit_global must be a whole number of at least 1." in caught.value.message
    assert caught.value.code == "invalid_config"


def test_null_means_back_to_the_default() -> None:
    clean = check_changes(
        {"limit_global": None, "limit_per_owner": "none", "over_limit": "reject"},
        defaults=DEFAULTS,
        stored={"limit_global": 3},
    )
    assert clean == {
        "limit_global": (False, None),
        "limit_per_owner": (True, None),
        "over_limit": (True, "reject"),
    }


def test_the_first_retry_cannot_wait_longer_than_the_longest_wait() -> None:
    with pytest.raises(InvalidConfig) as caught:
        check_changes({"retry_base_delay": 700}, defaults=DEFAULTS, stored={})
    assert caught.value.problems == {
        "retry_base_delay": "retry_base_delay (700 seconds) cannot be more than "
        "retry_max_delay (10 minutes)."
    }
    # Both at once is fine, and so is lowering the maximum to a stored base.
    check_changes({"retry_base_delay": 700, "retry_max_delay": 900}, defaults=DEFAULTS, stored={})
    with pytest.raises(InvalidConfig):
        check_changes({"retry_max_delay": 1}, defaults=DEFAULTS, stored={"retry_base_delay": 2})


def test_stored_overrides_win_and_bad_ones_fall_back_to_the_default() -> None:
    good, bad = readable(
        {"limit_global": 2, "limit_per_owner": None, "over_limit": "sometimes", "unknown": 1}
    )
    assert good == {"limit_global": 2, "limit_per_owner": None}
    assert bad == {"over_limit": "over_limit must be one of: queue, reject."}
    values = RuntimeValues.merged({**DEFAULTS, "limit_per_owner": 4}, good)
    assert values.limit_global == 2 and values.limit_per_owner is None
    assert values.over_limit == "queue"


def test_secret_keys_are_private() -> None:
    assert is_private("secret.file_links")
    assert not any(is_private(key) for key in KEYS)
