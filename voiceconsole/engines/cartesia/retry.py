"""What a failed Cartesia connection means, and how long to wait before trying again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

RETRYABLE_CLOSE_CODES = frozenset({1001, 1005, 1006, 1011, 1012, 1013, 1014, 1015})
FATAL_CLOSE_CODES = frozenset({1002, 1003, 1007, 1008, 1009, 1010})


def close_disposition(code: int | None) -> Literal["normal", "retry", "fatal"]:
    """What a close code means: ``normal`` (1000), ``fatal`` (protocol or policy violation) or ``retry``."""
    if code == 1000:
        return "normal"
    if code in FATAL_CLOSE_CODES:
        return "fatal"
    return "retry"


def status_disposition(status: int) -> Literal["auth", "rate_limited", "server", "rejected"]:
    """What an HTTP status on the websocket upgrade means."""
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if status >= 500 or status in (408, 425):
        return "server"
    return "rejected"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: ``initial_s`` doubling up to ``max_s``.

    ``jitter`` is the fraction of each delay drawn at random (0.25: the delay lies in
    [0.75 d, d]); ``start_attempts`` bounds the tries of the first connection (a server that
    is not there at start is reported, not waited for forever); ``rate_limit_min_s`` is the
    least wait after a 429; ``retry_after_max_s`` caps a server's ``Retry-After`` (a server
    asking for an hour gets this many seconds).
    """

    initial_s: float = 0.5
    max_s: float = 8.0
    factor: float = 2.0
    jitter: float = 0.25
    start_attempts: int = 3
    rate_limit_min_s: float = 2.0
    retry_after_max_s: float = 30.0


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
    base = min(policy.max_s, policy.initial_s * policy.factor ** max(0, attempt - 1))
    draw = (rng or random).random()
    return base * (1.0 - policy.jitter * draw)
