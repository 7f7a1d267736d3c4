import random

from haul.core.retry import RetryPolicy


def test_backoff_grows_is_capped_and_bounded() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=1, factor=2, max_delay=5, jitter=0)
    assert [policy.delay(a) for a in range(5)] == [1, 2, 4, 5, None]


def test_jitter_stays_within_its_band() -> None:
    policy = RetryPolicy(base_delay=10, jitter=0.2)
    rng = random.Random(7)
    delays = [policy.delay(0, rng=rng) for _ in range(200)]
    assert all(d is not None and 8 <= d <= 12 for d in delays)
    assert len({round(d or 0, 3) for d in delays}) > 50


def test_retry_after_is_honoured_when_longer() -> None:
    policy = RetryPolicy(base_delay=1, jitter=0, max_delay=600)
    assert policy.delay(0, retry_after=30) == 30
    assert policy.delay(0, retry_after=0.1) == 1
    assert policy.delay(0, retry_after=10_000) == 600
