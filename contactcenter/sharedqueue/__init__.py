"""Shared queues: queue contents, agent states and assignments that several server nodes route
together (see ports.py for the operations and routing rules).

Memory for one server process (the embedded default), Redis when several processes share the
queues: there every "pick a call and an agent" is one atomic Lua script.
"""

from __future__ import annotations

from contactcenter.sharedqueue.memory import MemorySharedQueues
from contactcenter.sharedqueue.ports import (
    AgentLogin,
    AgentStateConflict,
    AgentStatus,
    Answered,
    Assignment,
    Moved,
    MoveTargetLoggedOut,
    QueueCall,
    QueueNotEmpty,
    Requeued,
    RouteContext,
    ServiceLevel,
    SharedQueueError,
    SharedQueues,
    SharedQueueUnavailable,
    UnknownAgent,
    WaitInfo,
)
from contactcenter.sharedqueue.redis import RedisSharedQueues

__all__ = [
    "AgentLogin",
    "AgentStateConflict",
    "AgentStatus",
    "Answered",
    "Assignment",
    "MemorySharedQueues",
    "MoveTargetLoggedOut",
    "Moved",
    "QueueCall",
    "QueueNotEmpty",
    "RedisSharedQueues",
    "Requeued",
    "RouteContext",
    "ServiceLevel",
    "SharedQueueError",
    "SharedQueueUnavailable",
    "SharedQueues",
    "UnknownAgent",
    "WaitInfo",
    "open_shared_queues",
]


def open_shared_queues(redis_url: str | None, prefix: str = "cc:") -> SharedQueues:
    """Redis when a URL is given, else in-process memory. Nothing connects yet."""
    if redis_url:
        return RedisSharedQueues(redis_url, prefix=prefix)
    return MemorySharedQueues()
