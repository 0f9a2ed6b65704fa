"""The live wallboard: figures per queue and per agent, built from live state and pushed when
something changed (never polled by the browser). Definitions: docs/metrics.md."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from contactcenter.clock import Clock, utc_day
from contactcenter.events import Event
from contactcenter.ports import LiveState, QueueCounters
from contactcenter.settings import Settings

logger = logging.getLogger(__name__)

AGENT_STATES = ("ready", "not_ready", "ringing", "on_call", "wrap_up")


def rates(c: QueueCounters) -> tuple[float | None, float | None]:
    """(service level, abandon rate) of today's counters, None while undefined."""
    base = c.offered - c.short_abandoned
    if base <= 0:
        return None, None
    return c.answered_within_sl / base, c.abandoned / base


class Wallboard:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        live: LiveState,
        push: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._live = live
        self._push = push
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def on_event(self, _: Event) -> None:
        self._dirty.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        interval = self._settings.wallboard.push_interval_s
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self._push(await self.snapshot())
            except Exception:
                logger.exception("wallboard push failed")
            await asyncio.sleep(interval)

    async def snapshot(self) -> dict[str, Any]:
        now = self._clock.now()
        day = utc_day(now)
        agents = await self._live.agents()
        queues = []
        for q in self._settings.queues:
            waiting = await self._live.waiting(q.id)  # type: ignore[arg-type]
            counters = await self._live.counters(q.id, day)  # type: ignore[arg-type]
            sl, ab = rates(counters)
            oldest = min((w.queued_at for w in waiting), default=None)
            by_state = {s: 0 for s in AGENT_STATES}
            for a in agents:
                if a.state in by_state and q.id in a.queues:
                    by_state[a.state] += 1
            queues.append(
                {
                    "id": q.id,
                    "name": q.name or q.id,
                    "waiting": len(waiting),
                    "oldest_queued_at": oldest,
                    "longest_wait_s": (now - oldest) if oldest is not None else 0.0,
                    "agents": by_state,
                    "offered": counters.offered,
                    "answered": counters.answered,
                    "abandoned": counters.abandoned,
                    "short_abandoned": counters.short_abandoned,
                    "service_level": sl,
                    "abandon_rate": ab,
                }
            )
        return {
            "at": now,
            "queues": queues,
            "agents": [
                {
                    "agent_id": a.agent_id,
                    "display_name": a.display_name,
                    "state": a.state,
                    "since": a.since,
                    "reason": a.reason,
                }
                for a in sorted(agents, key=lambda a: a.agent_id)
            ],
        }
