# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The one backoff: full-jitter exponential, honouring Retry-After, bounded by a deadline.

Clients decide *what* is retryable (``should_retry``); this file decides *when* to try again.
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


def retry_call(func, *, retries, should_retry, deadline=None, base_delay=0.5, max_delay=30.0,
               sleep=time.sleep, clock=time.monotonic, rand=random.random):
    """Call ``func()``; retry it while ``should_retry(exc)`` says so.

    ``should_retry(exc)`` returns ``(retry, retry_after_seconds_or_None)``. Between tries we
    sleep the server's Retry-After when given, else a full-jitter exponential delay. At most
    ``retries`` more tries are made, and none that would start after ``deadline`` (a
    ``time.monotonic()`` value). The last exception is re-raised unchanged.
    """
    attempt = 0
    while True:
        try:
            return func()
        except Exception as exc:  # noqa: B902 - should_retry decides; others re-raise
            retry, retry_after = should_retry(exc)
            if not retry or attempt >= retries:
                raise
            if retry_after is not None:
                delay = max(0.0, float(retry_after))
            else:
                delay = backoff_delay(attempt, base_delay, max_delay, rand)
            if deadline is not None and clock() + delay > deadline:
                raise
            sleep(delay)
            attempt += 1
