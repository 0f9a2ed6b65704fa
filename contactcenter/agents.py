"""Agents as the server sees them: presence on the desktop, state changes through the ACD, and
the projections of each change (live state, state log, the agent's desktop, the bus)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from acd import messages as m
from acd.model import AgentState
from contactcenter.acd_service import AcdService
from contactcenter.bus import EventBus
from contactcenter.call_service import AgentNotifier
from contactcenter.clock import Clock, utc_day
from contactcenter.events import AgentStateChanged
from contactcenter.history_writer import HistoryWriter
from contactcenter.ids import AgentId, QueueId
from contactcenter.ports import AgentSnapshot, LiveState
from contactcenter.records import AgentStateEntry, User

logger = logging.getLogger(__name__)

LOGOUT_GRACE_S = 30.0
# The Not Ready reason of an agent whose desktop lost its connection.
DISCONNECTED = "disconnected"


@dataclass(slots=True)
class AgentInfo:
    user: User
    state: str = AgentState.LOGGED_OUT.value
    since: float = 0.0
    reason: str | None = None
    call_id: str | None = None
    calls_today: int = 0
    day: str = ""
    sockets: int = 0


class AgentService:
    def __init__(
        self,
        clock: Clock,
        acd: AcdService,
        live: LiveState,
        history: HistoryWriter,
        bus: EventBus,
        notifier: AgentNotifier,
        queue_skills: Mapping[QueueId, frozenset[str]],
        logout_grace_s: float = LOGOUT_GRACE_S,
    ) -> None:
        self._clock = clock
        self._acd = acd
        self._live = live
        self._history = history
        self._bus = bus
        self._notifier = notifier
        self._grace = logout_grace_s
        self._queue_skills = dict(queue_skills)
        self.agents: dict[AgentId, AgentInfo] = {}
        self._logout_timers: dict[AgentId, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Set by the app to CallService.wrap_finished: after-call work ends (agent, at).
        self.wrap_finished_hook: Callable[[AgentId, float], Awaitable[None]] | None = None

    # --- directory (for the call service) ---------------------------------------------------

    def endpoint_of(self, agent_id: AgentId) -> str | None:
        info = self.agents.get(agent_id)
        return info.user.endpoint if info else None

    def call_handled(self, agent_id: AgentId) -> None:
        info = self.agents.get(agent_id)
        if info is None:
            return
        today = utc_day(self._clock.now())
        if info.day != today:
            info.day, info.calls_today = today, 0
        info.calls_today += 1

    # --- presence -------------------------------------------------------------------------

    async def connected(self, user: User) -> dict[str, Any] | None:
        """A desktop connected. Returns the state to send it, or None when a state change
        just announced it to the agent's room."""
        agent_id = user.agent_id
        info = self.agents.get(agent_id)
        if info is None:
            info = AgentInfo(user=user)
            self.agents[agent_id] = info
        info.user = user
        info.sockets += 1
        timer = self._logout_timers.pop(agent_id, None)
        if timer is not None:
            timer.cancel()
        if info.state == AgentState.LOGGED_OUT.value:
            # The login's state change reaches this desktop through its room.
            await self._acd.submit(m.AgentLogin(agent_id, frozenset(user.skills)))
            return None
        if info.state == AgentState.NOT_READY.value and info.reason == DISCONNECTED:
            # Back after a network drop: the agent was Ready, so they are Ready again.
            await self._acd.submit(m.AgentReady(agent_id))
            return None
        return self.state_payload(agent_id)

    async def disconnected(self, agent_id: AgentId) -> None:
        """A desktop went away. A Ready agent with no desktop left is offered no calls; after
        the grace period they are logged out (never in the middle of a call)."""
        info = self.agents.get(agent_id)
        if info is None:
            return
        info.sockets = max(0, info.sockets - 1)
        if info.sockets > 0:
            return
        if info.state == AgentState.READY.value:
            await self._acd.submit(m.AgentNotReady(agent_id, DISCONNECTED))
        loop = asyncio.get_running_loop()
        self._logout_timers[agent_id] = loop.call_later(self._grace, self._grace_over, agent_id)

    def _grace_over(self, agent_id: AgentId) -> None:
        self._logout_timers.pop(agent_id, None)
        info = self.agents.get(agent_id)
        if info is None or info.sockets > 0:
            return
        if info.state in (AgentState.ON_CALL.value, AgentState.ON_HOLD.value):
            return  # never log out an agent in a call; the call's end puts them in wrap-up
        task = asyncio.get_running_loop().create_task(self.logout(agent_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def logout(self, agent_id: AgentId) -> None:
        try:
            await self._acd.submit(m.AgentLogout(agent_id))
        except Exception:
            logger.exception("logout failed agent_id=%s", agent_id)

    # --- requests -------------------------------------------------------------------------

    async def ready(self, agent_id: AgentId) -> None:
        await self._acd.submit(m.AgentReady(agent_id))

    async def not_ready(self, agent_id: AgentId, reason: str) -> None:
        await self._acd.submit(m.AgentNotReady(agent_id, reason))

    # --- projections of the ACD's state changes -------------------------------------------

    async def on_agent_state(self, event: m.AgentStateChanged) -> None:
        info = self.agents.get(event.agent_id)
        if info is None:
            return
        previous = info.state
        info.state, info.since = event.state.value, event.at
        info.reason, info.call_id = event.reason, event.call_id
        # After-call work ends when the agent leaves wrap-up, or goes straight on from a call
        # (a queue without wrap-up time).
        busy = (AgentState.WRAP_UP.value, AgentState.ON_CALL.value, AgentState.ON_HOLD.value)
        left_wrap = previous in busy and event.state.value not in busy
        if left_wrap and self.wrap_finished_hook is not None:
            await self.wrap_finished_hook(event.agent_id, event.at)
        if event.state is AgentState.LOGGED_OUT:
            await self._live.remove_agent(event.agent_id)
        else:
            await self._live.put_agent(
                AgentSnapshot(
                    event.agent_id,
                    info.user.display_name,
                    info.state,
                    event.at,
                    event.reason,
                    event.call_id,
                    self.queues_served(info.user),
                )
            )
        self._history.write(
            AgentStateEntry(event.agent_id, info.state, event.at, event.reason, event.call_id)
        )
        await self._notifier.to_agent(
            event.agent_id, "agent.state", self.state_payload(event.agent_id)
        )
        await self._bus.publish(
            AgentStateChanged(event.agent_id, info.state, event.reason, event.call_id, event.at)
        )
        logger.info(
            "agent state agent_id=%s state=%s reason=%s call_id=%s",
            event.agent_id,
            info.state,
            event.reason,
            event.call_id,
        )

    async def on_offer_timed_out(self, event: m.OfferTimedOut) -> None:
        logger.info("RONA agent_id=%s call_id=%s", event.agent_id, event.call_id)

    def queues_served(self, user: User) -> tuple[QueueId, ...]:
        skills = frozenset(user.skills)
        return tuple(q for q, needed in self._queue_skills.items() if needed <= skills)

    def state_payload(self, agent_id: AgentId) -> dict[str, Any]:
        info = self.agents[agent_id]
        today = utc_day(self._clock.now())
        return {
            "agent_id": agent_id,
            "display_name": info.user.display_name,
            "state": info.state,
            "reason": info.reason,
            "since": info.since,
            "call_id": info.call_id,
            "calls_today": info.calls_today if info.day == today else 0,
        }

    async def close(self) -> None:
        for timer in self._logout_timers.values():
            timer.cancel()
        self._logout_timers.clear()
        for task in list(self._tasks):
            task.cancel()
