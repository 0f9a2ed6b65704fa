"""Writes to the call history and the agent state log: in order, off the call path, batched.

A caller must not wait for the database: the ACD queues the call and the agent's desktop
rings while the facts are being written. One writer task takes every write waiting in its queue
and applies them in one transaction, in the order they were made (so a call's row exists
before its updates). That keeps one commit per batch instead of one per fact, and spares SQLite
the lock contention of many concurrent writers. A batch that fails is retried with backoff, so
a database blip loses nothing; a write that fails for good is logged with its call id, and the
rest of its batch is still written.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from contactcenter.errors import ContactCenterError
from contactcenter.ports import HistoryStore
from contactcenter.records import CallRecord, HistoryWrite
from contactcenter.tasks import stop_tasks

logger = logging.getLogger(__name__)

MAX_BATCH = 500
# Errors that say a write itself is wrong (retrying cannot help), as opposed to the database
# being unreachable.
DATA_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, ContactCenterError)


@dataclass(slots=True)
class _Item:
    write: HistoryWrite
    done: asyncio.Future[None] | None


class HistoryWriter:
    def __init__(self, store: HistoryStore, backoff_initial_s: float = 0.1) -> None:
        self._store = store
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._backoff = backoff_initial_s
        self._task: asyncio.Task[None] | None = None
        self.failed = 0
        self.written = 0
        self.batches = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def write(self, write: HistoryWrite) -> None:
        """Queue a write; it is applied after every write queued before it."""
        self._queue.put_nowait(_Item(write, None))

    async def write_and_wait(self, write: HistoryWrite) -> None:
        """Queue a write and wait until it is applied. Raises its error if it failed for good."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(write, done))
        await done

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def flush(self) -> None:
        """Wait until the queue is empty (under steady traffic, use write_and_wait instead)."""
        await self._queue.join()

    async def close(self) -> None:
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.flush(), timeout=30)
        except TimeoutError:
            logger.error("history writer closed with %d writes pending", self.backlog)
        self._task.cancel()
        await stop_tasks({self._task})
        self._task = None

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._apply(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _apply(self, batch: list[_Item]) -> None:
        writes = [item.write for item in batch]
        delay = self._backoff
        while True:
            try:
                await self._store.write_batch(writes)
            except DATA_ERRORS as exc:
                logger.warning(
                    "history batch of %d refused (%r); writing one by one", len(writes), exc
                )
                break
            except Exception as exc:
                # The database is away: keep the writes and try again; nothing is dropped.
                logger.warning(
                    "history batch of %d failed (%r); retrying in %.1fs", len(writes), exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self.batches += 1
                self.written += len(batch)
                for item in batch:
                    _resolve(item, None)
                return
        # One bad write in the batch: write one by one, so it loses only itself.
        for item in batch:
            try:
                await self._store.write_batch([item.write])
            except Exception as exc:
                self.failed += 1
                logger.error(
                    "history write failed call_id=%s %s: %r",
                    _call_id(item.write),
                    type(item.write).__name__,
                    exc,
                )
                _resolve(item, exc)
            else:
                self.written += 1
                _resolve(item, None)


def _call_id(write: HistoryWrite) -> str | None:
    return write.id if isinstance(write, CallRecord) else write.call_id


def _resolve(item: _Item, error: Exception | None) -> None:
    if item.done is None or item.done.done():
        return
    if error is None:
        item.done.set_result(None)
    else:
        item.done.set_exception(error)
