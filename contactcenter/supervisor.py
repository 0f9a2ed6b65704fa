"""Supervisor actions: force an agent's state, move a waiting call, listen / whisper / barge.

Every attempt is audited (supervisor_audit), whether it was carried out, refused or failed.
Who may act: supervisors (on the agents of their team) and admins (on everyone). Agents and
managers may not. Moving calls and listening in are carried out by callables the app injects
(`MoveCall`, `SpyOnCall`); while one is not wired the action answers "not available".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from contactcenter.agents import AgentService
from contactcenter.clock import Clock
from contactcenter.errors import ContactCenterError, Forbidden, InvalidRequest, NotFound
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.persistence.supervisor_audit import SupervisorAction
from contactcenter.ports import UserRepository
from contactcenter.records import Role, User

logger = logging.getLogger(__name__)

ACTORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
SPY_MODES = ("listen", "whisper", "barge")

# move(call_id, to_queue | None, to_agent | None): put a waiting call in another queue, or
# offer it to one agent.
MoveCall = Callable[[CallId, QueueId | None, AgentId | None], Awaitable[None]]
# spy(supervisor, agent_id, mode): connect the supervisor's phone to the agent's call.
SpyOnCall = Callable[[User, AgentId, str], Awaitable[None]]


class NotAvailable(ContactCenterError):
    """The action is not wired into this server."""


class AuditLog(Protocol):
    async def append(self, entry: SupervisorAction) -> None: ...


def sees(viewer: User, agent: User) -> bool:
    """May `viewer` see (and act on) `agent`? Managers and admins see everyone; a supervisor
    sees the agents of their team (a supervisor without a team: the agents without one)."""
    if viewer.role in (Role.MANAGER, Role.ADMIN):
        return True
    if viewer.role is Role.SUPERVISOR:
        return agent.team == viewer.team
    return viewer.username == agent.username


class SupervisorService:
    def __init__(
        self,
        clock: Clock,
        users: UserRepository,
        agents: AgentService,
        audit: AuditLog,
        queue_ids: frozenset[str],
        move: MoveCall | None = None,
        spy: SpyOnCall | None = None,
    ) -> None:
        self._clock = clock
        self._users = users
        self._agents = agents
        self._audit = audit
        self._queue_ids = queue_ids
        self._move = move
        self._spy = spy

    async def force_state(
        self, actor: User, agent_id: AgentId, state: str, reason: str | None
    ) -> None:
        detail: dict[str, Any] = {"state": state, "reason": reason}

        async def act() -> None:
            await self._target(actor, agent_id)
            if state == "not_ready":
                if not reason:
                    raise InvalidRequest("a reason is required to force Not Ready", "reason")
                await self._agents.force_not_ready(agent_id, reason, actor.username)
            elif state == "logged_out":
                await self._agents.force_logout(agent_id, actor.username)
            else:
                raise InvalidRequest(
                    f"state must be not_ready or logged_out, not {state!r}", "state"
                )

        await self._audited(actor, "force_state", act, agent_id=agent_id, detail=detail)

    async def move_call(
        self, actor: User, call_id: CallId, to_queue: QueueId | None, to_agent: AgentId | None
    ) -> None:
        detail: dict[str, Any] = {"to_queue": to_queue, "to_agent": to_agent}

        async def act() -> None:
            self._require_actor(actor)
            if (to_queue is None) == (to_agent is None):
                raise InvalidRequest("give exactly one of to_queue and to_agent", "to_queue")
            if to_queue is not None and to_queue not in self._queue_ids:
                raise InvalidRequest(
                    f"queue {to_queue!r} does not exist ({sorted(self._queue_ids)})", "to_queue"
                )
            if to_agent is not None:
                await self._target(actor, to_agent)
            if self._move is None:
                raise NotAvailable("moving calls is not available on this server")
            await self._move(call_id, to_queue, to_agent)

        await self._audited(actor, "move", act, call_id=call_id, agent_id=to_agent, detail=detail)

    async def spy(self, actor: User, agent_id: AgentId, mode: str) -> None:
        async def act() -> None:
            await self._target(actor, agent_id)
            if mode not in SPY_MODES:
                raise InvalidRequest(f"mode must be one of {list(SPY_MODES)}", "mode")
            if self._spy is None:
                raise NotAvailable(f"{mode} is not available on this server")
            await self._spy(actor, agent_id, mode)

        await self._audited(
            actor,
            mode if mode in SPY_MODES else "spy",
            act,
            agent_id=agent_id,
            detail={"mode": mode},
        )

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _require_actor(actor: User) -> None:
        if actor.role not in ACTORS:
            raise Forbidden(f"the {actor.role.value} role may not take supervisor actions")

    async def _target(self, actor: User, agent_id: AgentId) -> User:
        self._require_actor(actor)
        info = self._agents.agents.get(agent_id)
        agent = info.user if info is not None else await self._users.get_by_username(agent_id)
        if agent is None or agent.role is not Role.AGENT:
            raise NotFound(f"no agent {agent_id!r}")
        if not sees(actor, agent):
            raise Forbidden(f"agent {agent_id} is not in your team")
        return agent

    async def _audited(
        self,
        actor: User,
        action: str,
        act: Callable[[], Awaitable[None]],
        *,
        agent_id: str | None = None,
        call_id: str | None = None,
        detail: dict[str, Any],
    ) -> None:
        outcome, error = "done", None
        try:
            await act()
        except (Forbidden, InvalidRequest, NotFound, NotAvailable) as exc:
            outcome, error = "refused", str(exc)
            raise
        except Exception as exc:
            outcome, error = "failed", str(exc) or type(exc).__name__
            raise
        finally:
            await self._audit.append(
                SupervisorAction(
                    at=self._clock.now(),
                    user=actor.username,
                    action=action,
                    outcome=outcome,
                    agent_id=agent_id,
                    call_id=call_id,
                    detail=detail,
                    error=error,
                )
            )
            logger.info(
                "supervisor action user=%s action=%s agent_id=%s call_id=%s outcome=%s",
                actor.username,
                action,
                agent_id,
                call_id,
                outcome,
            )
