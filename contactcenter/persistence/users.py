"""SqlUserRepository: agents, supervisors, managers and admins who log in.

An agent's routing facts live on their user record: `skills` (names), `skill_levels` (skill ->
level 1-10, for some of those skills; the others count as 5) and `queue_penalties` (queue id ->
penalty >= 0, app_queue's member penalty). `check_routing` validates them on every write.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd.model import MAX_SKILL_LEVEL, MIN_SKILL_LEVEL
from contactcenter.errors import InvalidRequest, NotFound
from contactcenter.persistence.errors import DuplicateRecord
from contactcenter.persistence.models import UserRow
from contactcenter.records import Role, User

logger = logging.getLogger(__name__)

NAME_MAX = 64  # skill names and queue ids (QueueSettings.id's limit)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_routing(
    username: str,
    skills: Sequence[str],
    skill_levels: Mapping[str, int],
    queue_penalties: Mapping[str, int],
) -> tuple[list[str], dict[str, int], dict[str, int]]:
    """The user's skills, levels and penalties, validated; InvalidRequest (its `field` the
    offending one) names the user, the skill or queue, and the rule broken."""
    who = f"user {username!r}"
    if isinstance(skills, str):
        raise InvalidRequest(f"{who}: skills is a list of skill names, not {skills!r}", "skills")
    names: list[str] = []
    for skill in skills:
        if not skill.strip() or len(skill) > NAME_MAX:
            raise InvalidRequest(
                f"{who}: skill {skill!r} must be a non-empty name of at most {NAME_MAX} characters",
                "skills",
            )
        if skill in names:
            raise InvalidRequest(f"{who}: skill {skill!r} is given twice", "skills")
        names.append(skill)
    levels: dict[str, int] = {}
    for skill, level in skill_levels.items():
        if skill not in names:
            raise InvalidRequest(
                f"{who}: level for skill {skill!r}, which is not one of the user's skills "
                f"{names}: a level is only for one of the user's skills",
                "skill_levels",
            )
        if not _whole(level) or not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
            raise InvalidRequest(
                f"{who}: level {level!r} of skill {skill!r} must be a whole number from "
                f"{MIN_SKILL_LEVEL} to {MAX_SKILL_LEVEL}",
                "skill_levels",
            )
        levels[skill] = level
    penalties: dict[str, int] = {}
    for queue, penalty in queue_penalties.items():
        if not queue.strip() or len(queue) > NAME_MAX:
            raise InvalidRequest(
                f"{who}: penalty for queue {queue!r}: the queue must be a non-empty id of at "
                f"most {NAME_MAX} characters",
                "queue_penalties",
            )
        if not _whole(penalty) or penalty < 0:
            raise InvalidRequest(
                f"{who}: penalty {penalty!r} for queue {queue!r} must be a whole number >= 0",
                "queue_penalties",
            )
        penalties[queue] = penalty
    return names, levels, penalties


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
        skill_levels=dict(row.skill_levels or {}),
        queue_penalties=dict(row.queue_penalties or {}),
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
        skill_levels: Mapping[str, int] | None = None,
        queue_penalties: Mapping[str, int] | None = None,
    ) -> User:
        """A new active user. `password_hash` is an argon2 hash, never the password.
        `skill_levels` and `queue_penalties` are checked by `check_routing`."""
        names, levels, penalties = check_routing(
            username, skills, skill_levels or {}, queue_penalties or {}
        )
        row = UserRow(
            username=username,
            display_name=display_name,
            role=Role(role).value,
            password_hash=password_hash,
            endpoint=endpoint,
            skills=names,
            skill_levels=levels,
            queue_penalties=penalties,
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

    async def set_routing(
        self,
        username: str,
        *,
        skills: Sequence[str] | None = None,
        skill_levels: Mapping[str, int] | None = None,
        queue_penalties: Mapping[str, int] | None = None,
    ) -> User:
        """Replace what is given of a user's skills, levels and penalties (None: keep). New
        `skills` without `skill_levels` keep the levels of the skills the user still has.
        Raises NotFound for an unknown user, InvalidRequest (nothing written) for bad values."""
        async with self._sessions() as session, session.begin():
            row = await session.scalar(
                select(UserRow).where(UserRow.username == username).with_for_update()
            )
            if row is None:
                raise NotFound(f"user {username!r} does not exist")
            new_skills = list(row.skills) if skills is None else skills
            levels: Mapping[str, Any] = row.skill_levels or {}
            if skill_levels is not None:
                levels = skill_levels
            elif skills is not None:
                levels = {s: v for s, v in levels.items() if s in skills}
            penalties: Mapping[str, Any] = (
                (row.queue_penalties or {}) if queue_penalties is None else queue_penalties
            )
            names, checked_levels, checked_penalties = check_routing(
                username, new_skills, levels, penalties
            )
            row.skills = names
            row.skill_levels = checked_levels
            row.queue_penalties = checked_penalties
            user = _user(row)
        logger.info(
            "user routing set username=%s skills=%s levels=%s penalties=%s",
            username,
            names,
            checked_levels,
            checked_penalties,
        )
        return user

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
