"""The history writer on SQLite and PostgreSQL: batches keep order, a bad write loses only
itself, and a database that is away loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from contactcenter.clock import FakeClock
from contactcenter.history_writer import HistoryWriter
from contactcenter.ids import AgentId, CallId
from contactcenter.persistence import Database
from contactcenter.records import (
    AgentStateEntry,
    CallEvent,
    CallRecord,
    CallUpdate,
    Direction,
    HistoryWrite,
    Outcome,
)


def _call(i: int, at: float) -> CallRecord:
    return CallRecord(id=CallId(f"call{i:04d}"), direction=Direction.INBOUND, arrived_at=at)


async def test_writes_land_in_order_in_batches(database: Database, clock: FakeClock) -> None:
    writer = HistoryWriter(database.history)
    writer.start()
    now = clock.now()
    for i in range(300):
        writer.write(_call(i, now + i))
        writer.write(CallEvent(CallId(f"call{i:04d}"), now + i, "arrived"))
        writer.write(CallUpdate(CallId(f"call{i:04d}"), {"outcome": Outcome.ANSWERED, "talk_s": i}))
        writer.write(
            AgentStateEntry(AgentId("a1"), "on_call", now + i, None, CallId(f"call{i:04d}"))
        )
    await writer.flush()
    await writer.close()
    rows = await database.calls.between(now, now + 1000)
    assert len(rows) == 300
    assert all(r.outcome is Outcome.ANSWERED and r.talk_s == float(i) for i, r in enumerate(rows))
    assert len(await database.agent_states.entries(AgentId("a1"), now, now + 1000)) == 300
    assert writer.batches < 300, "facts are written many per transaction"
    assert writer.failed == 0


async def test_a_bad_write_loses_only_itself(database: Database, clock: FakeClock) -> None:
    writer = HistoryWriter(database.history)
    writer.start()
    now = clock.now()
    writer.write(_call(1, now))
    writer.write(CallUpdate(CallId("no-such-call"), {"talk_s": 1.0}))
    writer.write(CallUpdate(CallId("call0001"), {"no_such_column": 1}))
    writer.write(_call(2, now + 1))
    with pytest.raises(ValueError, match="no_such_column"):
        await writer.write_and_wait(CallUpdate(CallId("call0002"), {"no_such_column": 2}))
    await writer.write_and_wait(CallUpdate(CallId("call0002"), {"disposition": "resolved"}))
    await writer.close()
    assert [r.id for r in await database.calls.between(now, now + 10)] == ["call0001", "call0002"]
    assert (await database.calls.get(CallId("call0002"))).disposition == "resolved"  # type: ignore[union-attr]
    assert writer.failed == 3


class FlakyStore:
    """A real store that is 'down' for its first `outages` batches (connection refused)."""

    def __init__(self, database: Database, outages: int) -> None:
        self._database = database
        self.outages = outages

    async def write_batch(self, writes: Sequence[HistoryWrite]) -> None:
        if self.outages > 0:
            self.outages -= 1
            raise ConnectionRefusedError("database is down")
        await self._database.history.write_batch(writes)


async def test_a_database_outage_loses_nothing(database: Database, clock: FakeClock) -> None:
    store = FlakyStore(database, outages=4)
    writer = HistoryWriter(store, backoff_initial_s=0.01)
    writer.start()
    now = clock.now()
    for i in range(50):
        writer.write(_call(i, now + i))
        await asyncio.sleep(0)
    await asyncio.wait_for(writer.flush(), 10)
    await writer.close()
    assert store.outages == 0
    assert len(await database.calls.between(now, now + 100)) == 50
    assert writer.failed == 0
