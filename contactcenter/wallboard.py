"""The live wallboard: figures per queue and per agent, built from live state and pushed when
something changed (never polled by the browser). Definitions: docs/metrics.md; colour bands:
`[wallboard] thresholds` (docs/configuration.md).

ASA and AHT need sums the call service does not count: the wallboard adds them to the queue's
live counters from the bus (`wait_ms` per answered call; `handled` and `handle_ms` when an
answered call's after-call work ends), so every server process sharing the live state sees
the same figures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from contactcenter.clock import Clock, utc_day
from contactcenter.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallQueued,
    Event,
)
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.ports import LiveState, QueueCounters
from contactcenter.records import Role, User
from contactcenter.settings import Settings
from contactcenter.tasks import stop_tasks

logger = logging.getLogger(__name__)

AGENT_STATES = ("ready", "not_ready", "ringing", "on_call", "on_hold", "wrap_up")
BUSY = ("on_call", "on_hold", "wrap_up")
WAITING_LISTED = 20


def rates(c: QueueCounters) -> tuple[float | None, float | None]:
    """(service level, abandon rate) of today's counters, None while undefined."""
    base = c.offered - c.short_abandoned
    if base <= 0:
        return None, None
    return c.answered_within_sl / base, c.abandoned / base


def asa_aht(c: QueueCounters) -> tuple[float | None, float | None]:
    """(ASA, AHT) in seconds from today's counters, None while undefined."""
    wait_ms = c.extra.get("wait_ms", 0)
    handled, handle_ms = c.extra.get("handled", 0), c.extra.get("handle_ms", 0)
    asa = wait_ms / 1000 / c.answered if c.answered > 0 else None
    aht = handle_ms / 1000 / handled if handled > 0 else None
    return asa, aht


@dataclass(slots=True)
class _Handling:
    queue_id: QueueId
    day: str
    answered_at: float
    ended: bool = False


# Per agent: what the wallboard shows beyond live state (team, today's count, the call's
# caller and customer); the app reads it from the agent and call services.
AgentDetails = Callable[[AgentId, CallId | None], dict[str, Any]]


class Wallboard:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        live: LiveState,
        push: Callable[[dict[str, Any]], Awaitable[None]],
        details: AgentDetails | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._live = live
        self._push = push
        self._details = details
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._queued: dict[CallId, float] = {}
        self._handling: dict[CallId, _Handling] = {}
        self._agent_call: dict[AgentId, CallId] = {}
        self._agent_state: dict[AgentId, str] = {}

    async def on_event(self, event: Event) -> None:
        try:
            await self._count(event)
        except Exception:
            logger.exception("wallboard could not count %r", event)
        self._dirty.set()

    async def _count(self, event: Event) -> None:
        if isinstance(event, CallQueued):
            self._queued[event.call_id] = event.at
        elif isinstance(event, CallAnswered):
            queued_at = self._queued.pop(event.call_id, None)
            if queued_at is None or event.queue_id is None:
                return
            day = utc_day(queued_at)
            wait_ms = max(0, round((event.at - queued_at) * 1000))
            await self._live.incr(event.queue_id, day, "wait_ms", wait_ms)
            self._handling[event.call_id] = _Handling(event.queue_id, day, event.at)
            self._agent_call[event.agent_id] = event.call_id
        elif isinstance(event, CallEnded):
            self._queued.pop(event.call_id, None)
            handling = self._handling.get(event.call_id)
            if handling is None or event.agent_id is None:
                return
            handling.ended = True
            if self._agent_state.get(event.agent_id) not in BUSY:
                await self._handled(event.agent_id, event.at)
        elif isinstance(event, AgentStateChanged):
            self._agent_state[event.agent_id] = event.state
            if event.state not in BUSY:
                await self._handled(event.agent_id, event.at)

    async def _handled(self, agent_id: AgentId, at: float) -> None:
        """The agent's after-call work is over: talk + hold + wrap of their call is known."""
        call_id = self._agent_call.get(agent_id)
        handling = self._handling.get(call_id) if call_id is not None else None
        if call_id is None or handling is None or not handling.ended:
            return
        del self._agent_call[agent_id]
        del self._handling[call_id]
        handle_ms = max(0, round((at - handling.answered_at) * 1000))
        await self._live.incr(handling.queue_id, handling.day, "handled")
        await self._live.incr(handling.queue_id, handling.day, "handle_ms", handle_ms)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is None:
            return
        # A flag as well as the cancel: a library under the push (Socket.IO over Redis) may
        # swallow the cancellation, and the loop must still end.
        self._closing = True
        self._dirty.set()
        self._task.cancel()
        await stop_tasks({self._task})

    async def _run(self) -> None:
        interval = self._settings.wallboard.push_interval_s
        while not self._closing:
            await self._dirty.wait()
            self._dirty.clear()
            if self._closing:
                return
            try:
                await self._push(await self.snapshot())
            except Exception:
                logger.exception("wallboard push failed")
            await asyncio.sleep(interval)

    def colours(self, figures: dict[str, float | None]) -> dict[str, str | None]:
        bands = self._settings.wallboard.thresholds
        return {name: bands[name].colour(value) for name, value in figures.items() if name in bands}

    async def snapshot(self) -> dict[str, Any]:
        now = self._clock.now()
        day = utc_day(now)
        agents = await self._live.agents()
        queues = []
        for q in self._settings.queues:
            waiting = await self._live.waiting(q.id)  # type: ignore[arg-type]
            counters = await self._live.counters(q.id, day)  # type: ignore[arg-type]
            sl, ab = rates(counters)
            asa, aht = asa_aht(counters)
            oldest = min((w.queued_at for w in waiting), default=None)
            longest = (now - oldest) if oldest is not None else 0.0
            by_state = {s: 0 for s in AGENT_STATES}
            for a in agents:
                if a.state in by_state and q.id in a.queues:
                    by_state[a.state] += 1
            figures: dict[str, float | None] = {
                "waiting": float(len(waiting)),
                "longest_wait_s": longest,
                "service_level": sl,
                "abandon_rate": ab,
                "asa_s": asa,
                "aht_s": aht,
            }
            queues.append(
                {
                    "id": q.id,
                    "name": q.name or q.id,
                    "waiting": len(waiting),
                    "oldest_queued_at": oldest,
                    "longest_wait_s": longest,
                    "agents": by_state,
                    "offered": counters.offered,
                    "answered": counters.answered,
                    "abandoned": counters.abandoned,
                    "short_abandoned": counters.short_abandoned,
                    "service_level": sl,
                    "abandon_rate": ab,
                    "asa_s": asa,
                    "aht_s": aht,
                    "handled": counters.extra.get("handled", 0),
                    "colours": self.colours(figures),
                    # the longest waiting first (the console moves them)
                    "calls": [
                        {
                            "call_id": w.call_id,
                            "queued_at": w.queued_at,
                            "priority": w.priority,
                            "caller_number": w.caller_number,
                            "customer_name": w.customer_name,
                        }
                        for w in waiting[:WAITING_LISTED]
                    ],
                }
            )
        rows = []
        for a in sorted(agents, key=lambda a: a.agent_id):
            row: dict[str, Any] = {
                "agent_id": a.agent_id,
                "display_name": a.display_name,
                "state": a.state,
                "since": a.since,
                "reason": a.reason,
                "call_id": a.call_id,
                "team": None,
                "calls_today": 0,
                "caller_number": None,
                "customer_id": None,
                "customer_name": None,
            }
            if self._details is not None:
                row.update(self._details(a.agent_id, a.call_id))
            rows.append(row)
        return {
            "at": now,
            "thresholds": {
                name: {"amber": t.amber, "red": t.red}
                for name, t in self._settings.wallboard.thresholds.items()
            },
            "not_ready_reasons": list(self._settings.desktop.not_ready_reasons),
            "queues": queues,
            "agents": rows,
        }


WALLBOARD_ROOM_PREFIX = "wallboard"
WallboardView = tuple[str | None, bool]  # (team, or "*" for every team; sees customer data)
ALL_TEAMS = "*"


def wallboard_room(view: WallboardView) -> str:
    team, customers = view
    return f"{WALLBOARD_ROOM_PREFIX}:{team if team is not None else ''}:{int(customers)}"


def wallboard_view(user: User, customer_roles: frozenset[str]) -> WallboardView:
    """What a wallboard user sees: supervisors their team's agents, managers and admins
    everyone; the current caller and customer only for `customer_roles`."""
    team = user.team if user.role is Role.SUPERVISOR else ALL_TEAMS
    return team, user.role.value in customer_roles


def filter_snapshot(snapshot: dict[str, Any], view: WallboardView) -> dict[str, Any]:
    team, customers = view
    agents = [
        a if customers else {**a, "caller_number": None, "customer_name": None, "customer_id": None}
        for a in snapshot["agents"]
        if team == ALL_TEAMS or a.get("team") == team
    ]
    queues = snapshot["queues"]
    if not customers:
        queues = [
            {
                **q,
                "calls": [
                    {**c, "caller_number": None, "customer_name": None} for c in q.get("calls", [])
                ],
            }
            for q in queues
        ]
    return {**snapshot, "queues": queues, "agents": agents}
