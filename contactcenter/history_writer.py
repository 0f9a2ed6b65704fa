"""Writes to the call history, one at a time and in order, off the call path.

A caller must not wait for the database: the ACD queues the call and the agent's desktop
rings while the facts are being written. One writer task applies the writes in the order they
were made (so a call's row exists before its updates), which also spares SQLite the lock
contention of many concurrent writers. A write that fails is retried with backoff, so a
database blip loses nothing; `flush()` waits until everything submitted is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

Write = Callable[[], Awaitable[object]]


class HistoryWriter:
    def __init__(self, retries: int = 6, backoff_initial_s: float = 0.1) -> None:
        self._queue: asyncio.Queue[tuple[Write, str]] = asyncio.Queue()
        self._retries = retries
        self._backoff = backoff_initial_s
        self._task: asyncio.Task[None] | None = None
        self.failed = 0
        self.written = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def write(self, op: Write, what: str) -> None:
        """Queue a write. `what` names it in log lines (include the call id)."""
        self._queue.put_nowait((op, what))

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def flush(self) -> None:
        await self._queue.join()

    async def close(self) -> None:
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.flush(), timeout=30)
        except TimeoutError:
            logger.error("history writer closed with %d writes pending", self.backlog)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        while True:
            op, what = await self._queue.get()
            try:
                await self._apply(op, what)
            finally:
                self._queue.task_done()

    async def _apply(self, op: Write, what: str) -> None:
        delay = self._backoff
        for attempt in range(1, self._retries + 1):
            try:
                await op()
            except Exception as exc:
                if attempt == self._retries:
                    self.failed += 1
                    logger.error("history write failed for good (%s): %r", what, exc)
                    return
                logger.warning("history write failed (%s), retry %d: %r", what, attempt, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self.written += 1
                return
