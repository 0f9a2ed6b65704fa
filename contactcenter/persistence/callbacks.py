"""SqlCallbackRepository: callbacks to make (web requests, agents' callbacks, virtual hold)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contactcenter.callbacks import OPEN_STATES, Callback, CallbackState, NewCallback
from contactcenter.clock import Clock, from_datetime, to_datetime
from contactcenter.errors import NotFound
from contactcenter.ids import CallId, CustomerId, QueueId
from contactcenter.persistence.errors import DuplicateRecord
from contactcenter.persistence.models import CallbackRow

logger = logging.getLogger(__name__)

# the columns `update` may set, and which of them hold times
UPDATABLE = frozenset(
    {"due_at", "state", "attempts", "last_call_id", "last_outcome", "note", "priority"}
)
TIMES = frozenset({"due_at"})


def _callback(row: CallbackRow) -> Callback:
    return Callback(
        id=row.id,
        number=row.number,
        customer_id=None if row.customer_id is None else CustomerId(row.customer_id),
        queue_id=QueueId(row.queue_id),
        source=row.source,
        requested_by=row.requested_by,
        requested_at=from_datetime(row.requested_at),
        due_at=from_datetime(row.due_at),
        place_at=from_datetime(row.place_at),
        priority=row.priority,
        note=row.note,
        state=CallbackState(row.state),
        attempts=row.attempts,
        origin_call_id=None if row.origin_call_id is None else CallId(row.origin_call_id),
        last_call_id=None if row.last_call_id is None else CallId(row.last_call_id),
        last_outcome=row.last_outcome,
        updated_at=from_datetime(row.updated_at),
    )


class SqlCallbackRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def add(self, new: NewCallback) -> Callback:
        now = to_datetime(self._clock.now())
        row = CallbackRow(
            number=new.number,
            customer_id=new.customer_id,
            queue_id=new.queue_id,
            source=new.source,
            requested_by=new.requested_by,
            requested_at=now,
            due_at=to_datetime(new.due_at),
            place_at=to_datetime(new.place_at if new.place_at is not None else new.due_at),
            priority=new.priority,
            note=new.note,
            state=CallbackState.SCHEDULED.value,
            attempts=0,
            origin_call_id=new.origin_call_id,
            updated_at=now,
        )
        async with self._sessions() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError as exc:
                # the only constraint a caller can break is the customer reference
                raise DuplicateRecord(f"customer {new.customer_id} does not exist") from exc
            await session.refresh(row)
            return _callback(row)

    async def get(self, callback_id: int) -> Callback | None:
        async with self._sessions() as session:
            row = await session.get(CallbackRow, callback_id)
            return None if row is None else _callback(row)

    async def find(
        self, states: Sequence[CallbackState] | None = None, limit: int = 100
    ) -> list[Callback]:
        """Callbacks in the given states (default: all), soonest due first."""
        query = select(CallbackRow).order_by(CallbackRow.due_at, CallbackRow.id).limit(limit)
        if states is not None:
            query = query.where(CallbackRow.state.in_([s.value for s in states]))
        async with self._sessions() as session:
            return [_callback(row) for row in await session.scalars(query)]

    async def open(self) -> list[Callback]:
        """Every callback still to be made (scheduled, waiting in a queue, or being dialled)."""
        query = (
            select(CallbackRow)
            .where(CallbackRow.state.in_([s.value for s in OPEN_STATES]))
            .order_by(CallbackRow.due_at, CallbackRow.id)
        )
        async with self._sessions() as session:
            return [_callback(row) for row in await session.scalars(query)]

    async def update(
        self,
        callback_id: int,
        *,
        expect: Sequence[CallbackState] | None = None,
        **fields: object,
    ) -> Callback:
        """Set columns of one callback in one UPDATE; with `expect`, only while its state is
        one of those (else NotFound: someone else moved it on, e.g. cancelled it)."""
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"callback fields {sorted(unknown)} cannot be updated")
        values: dict[str, object] = {"updated_at": to_datetime(self._clock.now())}
        for name, value in fields.items():
            if name in TIMES:
                assert isinstance(value, int | float)
                value = to_datetime(float(value))
            elif isinstance(value, CallbackState):
                value = value.value
            values[name] = value
        statement = update(CallbackRow).where(CallbackRow.id == callback_id).values(values)
        if expect is not None:
            statement = statement.where(CallbackRow.state.in_([s.value for s in expect]))
        async with self._sessions() as session:
            result = await session.execute(statement.returning(CallbackRow))
            row = result.scalar_one_or_none()
            if row is None:
                await session.rollback()
                state = "" if expect is None else f" in state {[s.value for s in expect]}"
                raise NotFound(f"no callback {callback_id}{state}")
            callback = _callback(row)
            await session.commit()
            return callback
