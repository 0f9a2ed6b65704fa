"""Agents as the server sees them: presence on the desktop, state changes through the ACD, and
the projections of each change (live state, state log, the agent's desktop, the bus)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from acd import messages as m
from acd.errors import AcdError
from acd.model import MAX_SKILL_LEVEL, MIN_SKILL_LEVEL, AgentState
from contactcenter.acd_service import Acd
from contactcenter.bus import EventBus
from contactcenter.call_service import AgentNotifier
from contactcenter.clock import Clock, utc_day
from contactcenter.errors import InvalidRequest, NotFound
from contactcenter.events import AgentStateChanged, CallEnded
from contactcenter.history_writer import HistoryWriter
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.ports import AgentSnapshot, LiveState
from contactcenter.records import AgentStateEntry, User
from contactcenter.tasks import stop_tasks

logger = logging.getLogger(__name__)

LOGOUT_GRACE_S = 30.0
# The Not Ready reason of an agent whose desktop lost its connection.
DISCONNECTED = "disconnected"
# The Not Ready reason of an agent whose last call still needs its required disposition.
DISPOSITION_REQUIRED = "disposition_required"
# The Not Ready reason of an agent whose call (ringing, connected or in wrap-up) was cut off by
# a server restart: the new server does not control that call; the agent goes Ready when free.
CALL_INTERRUPTED = "call_interrupted"
BUSY_STATES = frozenset(
    {AgentState.RINGING.value, AgentState.ON_CALL.value, AgentState.WRAP_UP.value}
)


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
    # The supervisor who forced the current state (None: the agent or the system set it).
    forced_by: str | None = None
    forcing: str | None = None


class AgentService:
    def __init__(
        self,
        clock: Clock,
        acd: Acd,
        live: LiveState,
        history: HistoryWriter,
        bus: EventBus,
        notifier: AgentNotifier,
        queue_skills: Mapping[QueueId, frozenset[str]],
        logout_grace_s: float = LOGOUT_GRACE_S,
        not_ready_reasons: Iterable[str] = (),
        disposition_required: Iterable[QueueId] = (),
        last_state: Callable[[AgentId], Awaitable[AgentStateEntry | None]] | None = None,
    ) -> None:
        self._clock = clock
        self._acd = acd
        self._live = live
        self._history = history
        self._bus = bus
        self._notifier = notifier
        self._grace = logout_grace_s
        self._queue_skills = dict(queue_skills)
        # Empty: any reason is accepted (tests and tools that build the service bare).
        self._reasons = tuple(not_ready_reasons)
        self._disposition_required = frozenset(disposition_required)
        # Agent -> their ended call that still needs its required disposition.
        self.pending_disposition: dict[AgentId, CallId] = {}
        # The agent's last state-log entry, read at their first connect after a start.
        self._last_state = last_state
        self.agents: dict[AgentId, AgentInfo] = {}
        self._logout_timers: dict[AgentId, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Set by the app to CallService.wrap_finished: after-call work ends (agent, at).
        self.wrap_finished_hook: Callable[[AgentId, float], Awaitable[object]] | None = None

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
        restore: m.Input | None = None
        if info is None:
            info = AgentInfo(user=user)
            self.agents[agent_id] = info
            restore = await self._restored(agent_id)
        info.user = user
        info.sockets += 1
        timer = self._logout_timers.pop(agent_id, None)
        if timer is not None:
            timer.cancel()
        if info.state == AgentState.LOGGED_OUT.value:
            # The login's state change reaches this desktop through its room.
            await self._acd.submit(self._login_message(user))
            if restore is not None:
                await self._acd.submit(restore)
            return None
        if info.state == AgentState.NOT_READY.value and info.reason == DISCONNECTED:
            # Back after a network drop: the agent was Ready, so they are Ready again.
            await self._acd.submit(m.AgentReady(agent_id))
            return None
        return self.state_payload(agent_id)

    def _login_message(self, user: User) -> m.AgentLogin:
        """The agent's login with the skills, levels and per-queue penalties of their user
        record. A penalty for a queue that is no longer configured is dropped (with a warning)
        rather than refusing the login; so is a level the core would refuse."""
        agent_id = user.agent_id
        skills = frozenset(user.skills)
        levels: dict[str, int] = {}
        for skill, level in user.skill_levels.items():
            if skill in skills and MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
                levels[skill] = level
            else:
                logger.warning(
                    "agent_id=%s: level %r of skill %r ignored (not a skill of the agent, or "
                    "not 1-10)",
                    agent_id,
                    level,
                    skill,
                )
        penalties: dict[QueueId, int] = {}
        for queue, penalty in user.queue_penalties.items():
            if queue not in self._queue_skills:
                logger.warning(
                    "agent_id=%s: penalty %s for queue %r ignored: the queue is not configured",
                    agent_id,
                    penalty,
                    queue,
                )
            elif penalty < 0:
                logger.warning(
                    "agent_id=%s: penalty %s for queue %r ignored: below 0",
                    agent_id,
                    penalty,
                    queue,
                )
            else:
                penalties[QueueId(queue)] = penalty
        return m.AgentLogin(agent_id, skills, skill_levels=levels, penalties=penalties)

    async def _restored(self, agent_id: AgentId) -> m.Input | None:
        """After a server start: the state to put a logged-in agent back in, from the state
        log. Ready (or dropped while Ready) -> Ready; Not Ready with a configured reason ->
        the same; cut off in a call -> Not Ready "call_interrupted"; else None (just logged in).
        """
        if self._last_state is None:
            return None
        try:
            last = await self._last_state(agent_id)
        except Exception:
            logger.exception("could not read the last state of agent_id=%s", agent_id)
            return None
        if last is None:
            return None
        if last.state == AgentState.READY.value or (
            last.state == AgentState.NOT_READY.value and last.reason == DISCONNECTED
        ):
            return m.AgentReady(agent_id)
        if last.state in BUSY_STATES:
            logger.warning(
                "agent_id=%s was %s on call_id=%s when the server stopped",
                agent_id,
                last.state,
                last.call_id,
            )
            return m.AgentNotReady(agent_id, CALL_INTERRUPTED)
        if last.state == AgentState.NOT_READY.value and last.reason:
            try:
                return m.AgentNotReady(agent_id, self.check_reason(last.reason))
            except InvalidRequest:
                return None
        return None

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
        pending = self.pending_disposition.get(agent_id)
        if pending is not None:
            raise InvalidRequest(
                f"call {pending} needs a disposition before you go Ready", "disposition"
            )
        await self._acd.submit(m.AgentReady(agent_id))

    def check_reason(self, reason: str) -> str:
        """The configured reason code matching `reason` (case-insensitive), or InvalidRequest."""
        if not self._reasons:
            return reason
        for code in self._reasons:
            if code.lower() == reason.lower():
                return code
        raise InvalidRequest(
            f"unknown Not Ready reason {reason!r}; expected one of {list(self._reasons)}",
            "reason",
        )

    async def not_ready(self, agent_id: AgentId, reason: str) -> None:
        await self._acd.submit(m.AgentNotReady(agent_id, self.check_reason(reason)))

    # --- supervisor actions ---------------------------------------------------------------

    def _logged_in(self, agent_id: AgentId) -> AgentInfo:
        info = self.agents.get(agent_id)
        if info is None or info.state == AgentState.LOGGED_OUT.value:
            raise NotFound(f"agent {agent_id} is not logged in")
        return info

    async def force_not_ready(self, agent_id: AgentId, reason: str, by: str) -> None:
        """A supervisor puts the agent Not Ready. Refused while a call rings or is connected
        (the agent cannot leave a call; force it after the call)."""
        code = self.check_reason(reason)
        info = self._logged_in(agent_id)
        if info.state in (AgentState.RINGING.value, AgentState.ON_CALL.value):
            raise InvalidRequest(
                f"agent {agent_id} is {info.state.replace('_', ' ')}; force Not Ready after "
                "the call",
                "agent_id",
            )
        info.forcing = by
        try:
            await self._acd.submit(m.AgentNotReady(agent_id, code))
        finally:
            info.forcing = None

    async def force_logout(self, agent_id: AgentId, by: str) -> None:
        """A supervisor logs the agent out (refused during a connected call). The agent's
        desktops get `agent.logged_out` and show the login page."""
        info = self._logged_in(agent_id)
        if info.state == AgentState.ON_CALL.value:
            raise InvalidRequest(
                f"agent {agent_id} is on a call; log them out after it", "agent_id"
            )
        info.forcing = by
        try:
            await self._acd.submit(m.AgentLogout(agent_id))
        except AcdError as exc:
            raise InvalidRequest(str(exc), "agent_id") from exc
        finally:
            info.forcing = None
        await self._notifier.to_agent(
            agent_id, "agent.logged_out", {"agent_id": agent_id, "by": by, "reason": "supervisor"}
        )

    # --- required dispositions ------------------------------------------------------------

    async def on_call_ended(self, event: CallEnded) -> None:
        """An answered call of a queue that requires a disposition: the agent may not go
        Ready until it is filed."""
        if (
            event.agent_id is None
            or event.outcome != "answered"
            or event.queue_id not in self._disposition_required
        ):
            return
        self.pending_disposition[event.agent_id] = event.call_id
        await self._hold_for_disposition(event.agent_id)

    def disposition_filed(self, agent_id: AgentId, call_id: CallId) -> None:
        if self.pending_disposition.get(agent_id) == call_id:
            del self.pending_disposition[agent_id]

    async def _hold_for_disposition(self, agent_id: AgentId) -> None:
        """A Ready agent with a required disposition missing (the wrap-up timer ran out, or
        the queue has no wrap-up time) goes Not Ready until they file it."""
        info = self.agents.get(agent_id)
        if info is None or agent_id not in self.pending_disposition:
            return
        if info.state == AgentState.READY.value:
            await self._acd.submit(m.AgentNotReady(agent_id, DISPOSITION_REQUIRED))

    # --- projections of the ACD's state changes -------------------------------------------

    async def on_agent_state(self, event: m.AgentStateChanged) -> None:
        info = self.agents.get(event.agent_id)
        if info is None:
            return
        previous = info.state
        info.state, info.since = event.state.value, event.at
        info.reason, info.call_id = event.reason, event.call_id
        info.forced_by = info.forcing
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
        if event.state is AgentState.READY and event.agent_id in self.pending_disposition:
            task = asyncio.get_running_loop().create_task(
                self._hold_for_disposition(event.agent_id)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

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
            "forced_by": info.forced_by,
            "disposition_pending": self.pending_disposition.get(agent_id),
        }

    async def close(self) -> None:
        for timer in self._logout_timers.values():
            timer.cancel()
        self._logout_timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await stop_tasks(set(self._tasks))
