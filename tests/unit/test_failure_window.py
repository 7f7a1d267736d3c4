"""Failed logins counted per key in a sliding window (pure: the clock is passed in)."""

from __future__ import annotations

from haul.core.ratelimit import FailureWindow


def test_a_key_waits_once_it_failed_too_often_and_is_free_once_the_window_slides() -> None:
    window = FailureWindow(allowed=3, window=100.0)
    for now in (0.0, 10.0, 20.0):
        assert window.wait("ip:a", now) == 0.0
        window.failed("ip:a", now)
    assert window.wait("ip:a", 30.0) == 70.0  # until the first failure leaves the window
    assert window.wait("ip:b", 30.0) == 0.0  # another key is not touched
    assert window.wait("ip:a", 100.0) == 0.0
    assert window.count("ip:a", 100.0) == 2


def test_a_larger_limit_is_judged_on_the_same_failures() -> None:
    window = FailureWindow(allowed=2, window=100.0)
    for now in range(5):
        window.failed("name:root", float(now))
    assert window.wait("name:root", 5.0) > 0
    assert window.wait("name:root", 5.0, allowed=6) == 0.0
    # past the larger limit, the wait ends when enough failures have left the window
    assert window.wait("name:root", 5.0, allowed=5) == 95.0
    window.succeeded("name:root")
    assert window.count("name:root", 5.0) == 0
