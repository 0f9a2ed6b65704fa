"""SqlCallRepository: the call history (one row per call) and its append-only events.

Writes are single statements: `update` is one UPDATE of the named columns and `increment` is
one `SET col = col + :by`, so concurrent writers never lose each other's changes (a
read-modify-write would, silently, on both SQLite and PostgreSQL READ COMMITTED).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contactcenter.clock import from_datetime, to_datetime
from contactcenter.errors import NotFound
from contactcenter.ids import AgentId, CallId, CampaignId, CustomerId, QueueId
from contactcenter.persistence.agent_states import agent_state_values
from contactcenter.persistence.errors import DuplicateRecord
from contactcenter.persistence.models import AgentStateRow, CallEventRow, CallRow
from contactcenter.records import (
    AgentStateEntry,
    CallEvent,
    CallRecord,
    CallUpdate,
    CallWrite,
    Direction,
    HistoryWrite,
    Outcome,
)

logger = logging.getLogger(__name__)

FIELDS = frozenset(f.name for f in dataclasses.fields(CallRecord))
UPDATABLE = FIELDS - {"id"}
TIME_FIELDS = frozenset({"arrived_at", "queued_at", "offered_at", "answered_at", "ended_at"})
TUPLE_FIELDS = frozenset({"skills_required", "ivr_path"})
NOT_NULL = frozenset(
    {"direction", "arrived_at", "hold_s", "transferred", "priority"} | TUPLE_FIELDS
)
# numeric columns that `increment` may add to (a NULL counts as 0)
COUNTERS = frozenset({"transferred", "priority", "wait_s", "talk_s", "hold_s", "wrap_s"})


def _column_value(name: str, value: object) -> object:
    if value is None:
        if name in NOT_NULL:
            raise ValueError(f"call field {name!r} cannot be None")
        return None
    if name in TIME_FIELDS:
        if not isinstance(value, int | float):
            raise ValueError(f"call field {name!r} takes epoch seconds, not {value!r}")
        return to_datetime(float(value))
    if name in TUPLE_FIELDS:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError(f"call field {name!r} takes a sequence of strings, not {value!r}")
        return [str(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def _columns(values: Mapping[str, object]) -> dict[str, Any]:
    unknown = set(values) - UPDATABLE
    if unknown:
        raise ValueError(f"unknown call field(s): {', '.join(sorted(unknown))}")
    return {name: _column_value(name, value) for name, value in values.items()}


def _opt_ts(dt: Any) -> float | None:
    return None if dt is None else from_datetime(dt)


def _record(row: CallRow) -> CallRecord:
    return CallRecord(
        id=CallId(row.id),
        direction=Direction(row.direction),
        arrived_at=from_datetime(row.arrived_at),
        caller_number=row.caller_number,
        dialed_number=row.dialed_number,
        customer_id=None if row.customer_id is None else CustomerId(row.customer_id),
        queue_id=None if row.queue_id is None else QueueId(row.queue_id),
        campaign_id=None if row.campaign_id is None else CampaignId(row.campaign_id),
        agent_id=None if row.agent_id is None else AgentId(row.agent_id),
        queued_at=_opt_ts(row.queued_at),
        offered_at=_opt_ts(row.offered_at),
        answered_at=_opt_ts(row.answered_at),
        ended_at=_opt_ts(row.ended_at),
        wait_s=row.wait_s,
        talk_s=row.talk_s,
        hold_s=row.hold_s,
        wrap_s=row.wrap_s,
        outcome=None if row.outcome is None else Outcome(row.outcome),
        transferred=row.transferred,
        disposition=row.disposition,
        note=row.note,
        priority=row.priority,
        skills_required=tuple(row.skills_required),
        ivr_path=tuple(row.ivr_path),
        hangup_cause=row.hangup_cause,
        recording=row.recording,
    )


def _event_values(event: CallEvent) -> dict[str, Any]:
    return {
        "call_id": event.call_id,
        "at": to_datetime(event.at),
        "kind": event.kind,
        "data": dict(event.data),
    }


def _event_row(event: CallEvent) -> CallEventRow:
    return CallEventRow(**_event_values(event))


async def apply_writes(session: AsyncSession, writes: Sequence[object]) -> None:
    """Apply history writes (new call rows, call updates, call events, agent state entries) in
    order, in one transaction on `session`. One commit for many facts, and new rows go in as
    one multi-row INSERT per table (no ORM unit of work): this is how the history keeps up
    with a busy site without taxing the event loop."""
    if not writes:
        return
    calls: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []

    async def insert_pending() -> None:
        # Calls first: updates that follow, and events, may refer to them.
        for model, rows in ((CallRow, calls), (CallEventRow, events), (AgentStateRow, states)):
            if rows:
                await session.execute(insert(model), list(rows))
                rows.clear()

    try:
        async with session.begin():
            for write in writes:
                if isinstance(write, CallRecord):
                    values = _columns({f: getattr(write, f) for f in UPDATABLE})
                    calls.append({"id": write.id, **values})
                elif isinstance(write, CallEvent):
                    events.append(_event_values(write))
                elif isinstance(write, AgentStateEntry):
                    states.append(agent_state_values(write))
                elif isinstance(write, CallUpdate):
                    await insert_pending()
                    stmt = (
                        update(CallRow)
                        .where(CallRow.id == write.call_id)
                        .values(**_columns(write.fields))
                        .returning(CallRow.id)
                        .execution_options(synchronize_session=False)
                    )
                    if (await session.execute(stmt)).first() is None:
                        raise NotFound(f"call {write.call_id} does not exist")
                else:
                    raise TypeError(f"not a history write: {write!r}")
            await insert_pending()
    except IntegrityError as exc:
        raise DuplicateRecord(f"a call in the batch is already recorded: {exc}", "id") from exc


class SqlCallRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, call: CallRecord) -> None:
        values = _columns({f: getattr(call, f) for f in UPDATABLE})
        async with self._sessions() as session:
            try:
                async with session.begin():
                    session.add(CallRow(id=call.id, **values))
            except IntegrityError as exc:
                raise DuplicateRecord(f"call {call.id} already recorded", "id") from exc

    async def update(self, call_id: CallId, **fields: object) -> None:
        """One atomic UPDATE of the named columns. ValueError on an unknown field name;
        NotFound when there is no such call."""
        values = _columns(fields)
        if not values:
            return
        stmt = (
            update(CallRow)
            .where(CallRow.id == call_id)
            .values(**values)
            .returning(CallRow.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions() as session, session.begin():
            if (await session.execute(stmt)).first() is None:
                raise NotFound(f"call {call_id} does not exist")

    async def increment(self, call_id: CallId, field: str, by: float = 1) -> float:
        """Add `by` to a numeric column in one UPDATE (NULL counts as 0); the new value."""
        if field not in COUNTERS:
            raise ValueError(
                f"call field {field!r} is not a counter ({', '.join(sorted(COUNTERS))})"
            )
        column = getattr(CallRow, field)
        stmt = (
            update(CallRow)
            .where(CallRow.id == call_id)
            .values({column: func.coalesce(column, 0) + by})
            .returning(column)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions() as session, session.begin():
            row = (await session.execute(stmt)).first()
            if row is None:
                raise NotFound(f"call {call_id} does not exist")
            value: float = row[0]
            return value

    async def get(self, call_id: CallId) -> CallRecord | None:
        async with self._sessions() as session:
            row = await session.get(CallRow, call_id)
            return None if row is None else _record(row)

    async def history(self, customer_id: CustomerId, limit: int | None = None) -> list[CallRecord]:
        """The customer's calls, newest first."""
        stmt = (
            select(CallRow)
            .where(CallRow.customer_id == customer_id)
            .order_by(CallRow.arrived_at.desc(), CallRow.id.desc())
        )
        if limit is not None:
            stmt = stmt.limit(max(limit, 0))
        async with self._sessions() as session:
            return [_record(row) for row in await session.scalars(stmt)]

    async def between(self, start: float, end: float) -> list[CallRecord]:
        """Calls that arrived in [start, end), oldest first."""
        stmt = (
            select(CallRow)
            .where(CallRow.arrived_at >= to_datetime(start), CallRow.arrived_at < to_datetime(end))
            .order_by(CallRow.arrived_at, CallRow.id)
        )
        async with self._sessions() as session:
            return [_record(row) for row in await session.scalars(stmt)]

    async def append_event(self, event: CallEvent) -> None:
        async with self._sessions() as session, session.begin():
            session.add(_event_row(event))

    async def write_batch(self, writes: Sequence[CallWrite]) -> None:
        """Apply new rows, updates and events in order, in one transaction (all or nothing)."""
        async with self._sessions() as session:
            await apply_writes(session, writes)

    async def events(self, call_id: CallId) -> list[CallEvent]:
        """The call's events in the order they happened (ties: the order they were written)."""
        stmt = (
            select(CallEventRow)
            .where(CallEventRow.call_id == call_id)
            .order_by(CallEventRow.at, CallEventRow.id)
        )
        async with self._sessions() as session:
            return [
                CallEvent(CallId(r.call_id), from_datetime(r.at), r.kind, dict(r.data))
                for r in await session.scalars(stmt)
            ]


class SqlHistoryStore:
    """The history writer's sink: call rows, call events and agent state entries, batched."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def write_batch(self, writes: Sequence[HistoryWrite]) -> None:
        async with self._sessions() as session:
            await apply_writes(session, writes)
