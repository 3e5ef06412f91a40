# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The one retry policy: full-jitter exponential backoff, honouring Retry-After, bounded by
a deadline.

Clients decide *what* is worth retrying (``should_retry``); ``RetryPolicy`` decides *when* to
try again and when to stop. One layer retries each operation: a client that runs inside
another's retry (a request inside a blob transfer) makes a single try.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def backoff_delay(attempt, base_delay=0.5, max_delay=30.0, rand=random.random):
    """Full jitter: a uniform delay in [0, min(max_delay, base_delay * 2**attempt)]."""
    return rand() * min(max_delay, base_delay * (2 ** attempt))


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if unusable."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class RetryPolicy:
    """How hard to try again, for every client of the collection (IAM, the management API,
    the registry, the copy engine).

    At most ``retries`` more tries; between tries the server's Retry-After when given, else a
    full-jitter exponential delay; and no try that would start more than ``timeout`` seconds
    after the first one (or, with ``deadline_from_each_try``, after the start of the try
    that just failed: a long blob transfer that breaks late is still tried again). ``sleep``,
    ``clock`` and ``rand`` are injectable for tests. Clients decide what is worth retrying
    (``should_retry(exc) -> (retry, retry_after_or_None)``); the last exception is re-raised
    unchanged.
    """

    def __init__(self, retries=5, timeout=60, base_delay=0.5, max_delay=30.0,
                 sleep=time.sleep, clock=time.monotonic, rand=random.random):
        self.retries = retries
        self.timeout = timeout
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.clock = clock
        self.rand = rand

    def call(self, func, should_retry, retries=None, deadline_from_each_try=False):
        """``func()``, tried again while ``should_retry`` says so and the policy allows."""
        retries = self.retries if retries is None else retries
        attempt = 0
        window_start = self.clock()
        while True:
            if deadline_from_each_try:
                window_start = self.clock()
            try:
                return func()
            except Exception as exc:  # noqa: B902 - should_retry decides; others re-raise
                retry, retry_after = should_retry(exc)
                if not retry or attempt >= retries:
                    raise
                if retry_after is not None:
                    delay = max(0.0, float(retry_after))
                else:
                    delay = backoff_delay(attempt, self.base_delay, self.max_delay, self.rand)
                if self.timeout is not None and self.clock() + delay > window_start + self.timeout:
                    raise
                self.sleep(delay)
                attempt += 1
