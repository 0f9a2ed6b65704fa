"""Stopping background tasks at shutdown without hanging.

redis-py (asyncio) can swallow a task's cancellation when it arrives in the middle of a command
(redis/redis-py#2028, #2551), so `task.cancel(); await task` may never return. Every loop of the
server also checks a flag or a sentinel; `stop_tasks` waits a bounded time and says which tasks
did not end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

logger = logging.getLogger(__name__)


async def stop_tasks(tasks: Collection[asyncio.Future[None]], timeout_s: float = 5.0) -> None:
    """Wait (at most `timeout_s`) for tasks that were told to stop (cancelled, a flag set);
    log the ones still running. Their exceptions, if any, are retrieved and logged."""
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed at shutdown", exc_info=task.exception())
    for task in pending:
        logger.warning("background task did not stop in %.0f s: %r", timeout_s, task)
