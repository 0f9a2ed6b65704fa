"""SqlSupervisorAuditRepository: the append-only log of supervisor actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contactcenter.clock import from_datetime, to_datetime
from contactcenter.persistence.models import SupervisorAuditRow


@dataclass(frozen=True, slots=True)
class SupervisorAction:
    """One supervisor action. `outcome`: "done", "refused" (not allowed or invalid) or
    "failed" (allowed, but could not be carried out); `error` says why when not done."""

    at: float
    user: str
    action: str
    outcome: str
    agent_id: str | None = None
    call_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class SqlSupervisorAuditRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def append(self, entry: SupervisorAction) -> None:
        async with self._sessions() as session, session.begin():
            session.add(
                SupervisorAuditRow(
                    at=to_datetime(entry.at),
                    user=entry.user,
                    action=entry.action,
                    agent_id=entry.agent_id,
                    call_id=entry.call_id,
                    detail=dict(entry.detail),
                    outcome=entry.outcome,
                    error=entry.error,
                )
            )

    async def recent(self, limit: int = 100) -> list[SupervisorAction]:
        """The latest actions, newest first."""
        stmt = (
            select(SupervisorAuditRow)
            .order_by(SupervisorAuditRow.at.desc(), SupervisorAuditRow.id.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            return [
                SupervisorAction(
                    at=from_datetime(r.at),
                    user=r.user,
                    action=r.action,
                    outcome=r.outcome,
                    agent_id=r.agent_id,
                    call_id=r.call_id,
                    detail=dict(r.detail),
                    error=r.error,
                )
                for r in await session.scalars(stmt)
            ]
