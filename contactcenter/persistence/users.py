"""SqlUserRepository: agents, supervisors, managers and admins who log in."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contactcenter.errors import NotFound
from contactcenter.persistence.errors import DuplicateRecord
from contactcenter.persistence.models import UserRow
from contactcenter.records import Role, User

logger = logging.getLogger(__name__)


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        password_hash=row.password_hash,
        endpoint=row.endpoint,
        skills=tuple(row.skills),
        active=row.active,
        team=row.team,
    )


class SqlUserRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get_by_username(self, username: str) -> User | None:
        async with self._sessions() as session:
            row = await session.scalar(select(UserRow).where(UserRow.username == username))
            return None if row is None else _user(row)

    async def add(
        self,
        username: str,
        display_name: str,
        role: Role,
        password_hash: str,
        endpoint: str | None = None,
        skills: Sequence[str] = (),
        team: str | None = None,
    ) -> User:
        """A new active user. `password_hash` is an argon2 hash, never the password."""
        if isinstance(skills, str):
            raise ValueError("skills is a sequence of skill names, not a string")
        row = UserRow(
            username=username,
            display_name=display_name,
            role=Role(role).value,
            password_hash=password_hash,
            endpoint=endpoint,
            skills=list(skills),
            active=True,
            team=team,
        )
        async with self._sessions() as session:
            try:
                async with session.begin():
                    session.add(row)
            except IntegrityError as exc:
                raise DuplicateRecord(f"username {username!r} is taken", "username") from exc
        logger.info("user added username=%s role=%s", username, row.role)
        return _user(row)

    async def list(self, role: Role | None = None) -> list[User]:
        """Every user (active or not), by username; only those of `role` when given."""
        stmt = select(UserRow).order_by(UserRow.username)
        if role is not None:
            stmt = stmt.where(UserRow.role == Role(role).value)
        async with self._sessions() as session:
            return [_user(row) for row in await session.scalars(stmt)]

    async def set_active(self, username: str, active: bool) -> None:
        """Enable or disable a login (users are never deleted: the call history names them)."""
        stmt = (
            update(UserRow)
            .where(UserRow.username == username)
            .values(active=active)
            .returning(UserRow.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions() as session, session.begin():
            if (await session.execute(stmt)).first() is None:
                raise NotFound(f"user {username!r} does not exist")

    async def set_team(self, username: str, team: str | None) -> None:
        """Put a user in a team (None: no team)."""
        stmt = (
            update(UserRow)
            .where(UserRow.username == username)
            .values(team=team)
            .returning(UserRow.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions() as session, session.begin():
            if (await session.execute(stmt)).first() is None:
                raise NotFound(f"user {username!r} does not exist")
