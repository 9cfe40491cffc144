"""The per-person flood limit: a token bucket for each (channel, user), kept in memory.

A person may send ``capacity`` messages at once, and then one more each
``period / capacity`` seconds: with 12 in 10 s, an album of ten photos with a
caption goes through, a script sending hundreds a second does not. When the
bucket is empty the first message of a window gets a polite answer and every
other one is dropped unprocessed, until the window has passed.

Officers are not limited; the runtime decides who is one and marks them
exempt here for a window, so that their messages cost no lookup either.
The buckets live in one process, which is how the bot runs; a restart forgets
them, which only ever lets a person send more.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

PRUNE_EVERY = 1024  # takes between two sweeps of idle buckets


class Verdict(enum.Enum):
    PASS = "pass"  # process the message
    WARN = "warn"  # do not process it; tell the person to slow down
    DROP = "drop"  # do not process it; say nothing (already told in this window)


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned_at: float = -math.inf
    exempt_until: float = -math.inf


class FloodLimiter:
    """Token buckets keyed by (channel, user id); time is in seconds from any fixed origin."""

    def __init__(self, capacity: int, period: float) -> None:
        if capacity < 1 or period <= 0:
            raise ValueError("a flood limit needs a capacity of at least 1 and a positive period")
        self.capacity = capacity
        self.period = period
        self.rate = capacity / period  # tokens regained per second
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._takes = 0

    def take(self, key: tuple[str, str], now: float) -> Verdict:
        """Spend one message of ``key``'s allowance at ``now``."""
        self._takes += 1
        if self._takes % PRUNE_EVERY == 0:
            self._prune(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = _Bucket(tokens=self.capacity - 1, updated=now)
            return Verdict.PASS
        if now < bucket.exempt_until:
            return Verdict.PASS
        # A clock that went back (a wall clock adjusted) refills nothing rather than draining.
        bucket.tokens = min(self.capacity, bucket.tokens + max(0.0, now - bucket.updated) * self.rate)
        bucket.updated = max(bucket.updated, now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.PASS
        if now - bucket.warned_at >= self.period or now < bucket.warned_at:
            bucket.warned_at = now
            return Verdict.WARN
        return Verdict.DROP

    def exempt(self, key: tuple[str, str], now: float) -> None:
        """Let ``key`` through for one period without counting (an officer)."""
        bucket = self._buckets.setdefault(key, _Bucket(tokens=self.capacity, updated=now))
        bucket.exempt_until = now + self.period
        bucket.warned_at = -math.inf

    def __len__(self) -> int:
        return len(self._buckets)

    def _prune(self, now: float) -> None:
        """Forget buckets that are full again and hold no recent warning or exemption."""
        idle = [
            key
            for key, bucket in self._buckets.items()
            if now - bucket.updated >= self.period
            and now - bucket.warned_at >= self.period
            and now >= bucket.exempt_until
        ]
        for key in idle:
            del self._buckets[key]
