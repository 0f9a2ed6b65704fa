"""Live state: what is happening now (agents, waiting calls, today's counters, agent claims).

Memory for one server process, Redis when several processes share the queues.
"""

from __future__ import annotations

from contactcenter.livestate.errors import LiveStateUnavailable
from contactcenter.livestate.memory import MemoryLiveState
from contactcenter.livestate.redis import RedisLiveState
from contactcenter.ports import LiveState

__all__ = ["LiveStateUnavailable", "MemoryLiveState", "RedisLiveState", "open_live_state"]


def open_live_state(redis_url: str | None, prefix: str = "cc:") -> LiveState:
    """Redis when a URL is given, else in-process memory. Nothing connects yet."""
    if redis_url:
        return RedisLiveState(redis_url, prefix=prefix)
    return MemoryLiveState()
