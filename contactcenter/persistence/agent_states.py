"""SqlAgentStateLogRepository: the append-only log that agent metrics are computed from."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contactcenter.clock import from_datetime, to_datetime
from contactcenter.ids import AgentId, CallId
from contactcenter.persistence.models import AgentStateRow
from contactcenter.records import AgentStateEntry

logger = logging.getLogger(__name__)


def _entry(row: AgentStateRow) -> AgentStateEntry:
    return AgentStateEntry(
        agent_id=AgentId(row.agent_id),
        state=row.state,
        at=from_datetime(row.at),
        reason=row.reason,
        call_id=None if row.call_id is None else CallId(row.call_id),
    )


def agent_state_values(entry: AgentStateEntry) -> dict[str, Any]:
    return {
        "agent_id": entry.agent_id,
        "state": entry.state,
        "reason": entry.reason,
        "call_id": entry.call_id,
        "at": to_datetime(entry.at),
    }


def agent_state_row(entry: AgentStateEntry) -> AgentStateRow:
    return AgentStateRow(**agent_state_values(entry))


class SqlAgentStateLogRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def append(self, entry: AgentStateEntry) -> None:
        async with self._sessions() as session, session.begin():
            session.add(agent_state_row(entry))

    async def entries(self, agent_id: AgentId, start: float, end: float) -> list[AgentStateEntry]:
        """The agent's entries with start <= at < end, in the order they happened."""
        stmt = (
            select(AgentStateRow)
            .where(
                AgentStateRow.agent_id == agent_id,
                AgentStateRow.at >= to_datetime(start),
                AgentStateRow.at < to_datetime(end),
            )
            .order_by(AgentStateRow.at, AgentStateRow.id)
        )
        async with self._sessions() as session:
            return [_entry(row) for row in await session.scalars(stmt)]

    async def state_at(self, agent_id: AgentId, at: float) -> AgentStateEntry | None:
        """The entry in force at `at` (the last at or before it): an interval's opening state."""
        stmt = (
            select(AgentStateRow)
            .where(AgentStateRow.agent_id == agent_id, AgentStateRow.at <= to_datetime(at))
            .order_by(AgentStateRow.at.desc(), AgentStateRow.id.desc())
            .limit(1)
        )
        async with self._sessions() as session:
            row = await session.scalar(stmt)
            return None if row is None else _entry(row)
