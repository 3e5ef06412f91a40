# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
from email.utils import formatdate

import pytest

from ansible_collections.icr.registry.plugins.module_utils.retry import (
    RETRYABLE_STATUS, RetryPolicy, backoff_delay, parse_retry_after)


class Flaky(Exception):
    def __init__(self, status, retry_after=None):
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


def by_status(exc):
    return (getattr(exc, "status", None) in RETRYABLE_STATUS, getattr(exc, "retry_after", None))


def failing_then(results):
    """A callable that raises each exception in ``results`` in turn, then returns the value."""
    calls = []

    def func():
        calls.append(1)
        item = results[len(calls) - 1]
        if isinstance(item, Exception):
            raise item
        return item
    return func, calls


def test_succeeds_after_retryable_errors():
    func, calls = failing_then([Flaky(503), Flaky(429), "ok"])
    slept = []
    assert RetryPolicy(retries=5, sleep=slept.append, rand=lambda: 1.0).call(func, by_status) == "ok"
    assert len(calls) == 3
    assert slept == [0.5, 1.0]  # full jitter upper bound: base * 2**attempt


def test_retry_after_wins_over_backoff():
    func = failing_then([Flaky(429, retry_after=7), "ok"])[0]
    slept = []
    RetryPolicy(retries=1, sleep=slept.append).call(func, by_status)
    assert slept == [7.0]


def test_non_retryable_raises_at_once():
    func, calls = failing_then([Flaky(404), "ok"])
    with pytest.raises(Flaky):
        RetryPolicy(retries=5, sleep=lambda s: None).call(func, by_status)
    assert len(calls) == 1


def test_gives_up_after_retries_and_reraises_last():
    errors = [Flaky(500), Flaky(502), Flaky(503)]
    func, calls = failing_then(errors + ["never"])
    with pytest.raises(Flaky) as info:
        RetryPolicy(retries=2, sleep=lambda s: None).call(func, by_status)
    assert info.value is errors[2]
    assert len(calls) == 3


def test_deadline_stops_retrying():
    func, calls = failing_then([Flaky(503, retry_after=10), "ok"])
    with pytest.raises(Flaky):
        RetryPolicy(retries=5, timeout=5, clock=lambda: 100.0, sleep=lambda s: None).call(func, by_status)
    assert len(calls) == 1


def test_the_deadline_counts_from_the_first_try_unless_told_otherwise():
    now = [0.0]

    def slow_failure():
        now[0] += 40  # each try takes 40 s and fails
        raise Flaky(503)
    policy = RetryPolicy(retries=5, timeout=60, clock=lambda: now[0], sleep=lambda s: None, rand=lambda: 0.0)
    with pytest.raises(Flaky):
        policy.call(slow_failure, by_status)
    assert now[0] == 80  # a third try would start 80 s after the first: not made
    now[0] = 0.0
    with pytest.raises(Flaky):
        policy.call(slow_failure, by_status, deadline_from_each_try=True)
    assert now[0] == 240  # every try starts within 60 s of the last one's start: all 6 made


def test_retries_can_be_raised_for_one_call():
    func, calls = failing_then([Flaky(503), Flaky(503), "ok"])
    assert RetryPolicy(retries=0, sleep=lambda s: None).call(func, by_status, retries=2) == "ok"
    assert len(calls) == 3


def test_backoff_is_capped_and_jittered():
    assert backoff_delay(10, base_delay=0.5, max_delay=30.0, rand=lambda: 1.0) == 30.0
    assert backoff_delay(3, base_delay=0.5, max_delay=30.0, rand=lambda: 0.5) == 2.0
    assert backoff_delay(0, rand=lambda: 0.0) == 0.0


@pytest.mark.parametrize("value,expected", [("5", 5.0), (" 0 ", 0.0), ("-3", 0.0), ("", None),
                                            (None, None), ("soon", None)])
def test_parse_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    now = 1_800_000_000.0
    assert parse_retry_after(formatdate(now + 12, usegmt=True), now=now) == pytest.approx(12.0)
    assert parse_retry_after(formatdate(now - 12, usegmt=True), now=now) == 0.0
