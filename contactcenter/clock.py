"""The one clock. Nothing else in the code base reads the time of day.

Times are float seconds since the Unix epoch (UTC). `to_datetime` converts for persistence.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told to. Used by tests and by the simulator's virtual time."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now += seconds

    def set(self, at: float) -> None:
        if at < self._now:
            raise ValueError("a clock does not go backwards")
        self._now = at


def to_datetime(ts: float) -> datetime:
    """Epoch seconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ts, tz=UTC)


def from_datetime(dt: datetime) -> float:
    """An aware (or naive UTC) datetime to epoch seconds."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def utc_day(ts: float) -> str:
    """The UTC calendar day of a timestamp, as YYYY-MM-DD (the key of 'today' counters)."""
    return to_datetime(ts).strftime("%Y-%m-%d")
