"""A simulated agent on the real desktop contract (docs/realtime.md): logs in over HTTP, connects
to the `/agent` Socket.IO namespace with its token, goes Ready, answers offers after a delay,
and after each call saves a disposition and goes Ready again.

    agent = SimulatedAgent("http://127.0.0.1:8080", "alice", "pw",
                           answer_delay=lambda: 0.5, rng=random.Random(1))
    await agent.start()
    ...
    await agent.stop()
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import socketio

__all__ = ["AGENT_NAMESPACE", "SimulatedAgent"]

from contactcenter.clock import Clock

logger = logging.getLogger(__name__)

AGENT_NAMESPACE = "/agent"


class SimulatedAgent:
    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        answer_delay: Callable[[], float],
        rng: random.Random,
        disposition: str = "resolved",
        ignore_offers: bool = False,
        ack_timeout_s: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password
        self._answer_delay = answer_delay
        self._rng = rng
        self.disposition = disposition
        self.ignore_offers = ignore_offers
        self._ack_timeout_s = ack_timeout_s
        self._sio: socketio.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Task[None]] = {}
        self.token: str | None = None
        self.state: str | None = None
        self.offers = 0
        self.answers = 0
        self.withdrawn = 0
        self.ended = 0
        self.dispositions = 0
        self.refused: list[tuple[str, Any]] = []
        self.offered_call_ids: list[str] = []
        # With a clock: when each screen pop arrived, and how many past calls it carried.
        self._clock = clock
        self.pop_received_at: dict[str, float] = {}
        self.pop_history_len: dict[str, int] = {}

    async def _login(self) -> str:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.base_url}/api/auth/login",
                json={"username": self.username, "password": self._password},
            ) as resp,
        ):
            resp.raise_for_status()
            body = await resp.json()
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise RuntimeError(f"login of {self.username} returned no token")
        return token

    async def start(self) -> None:
        """Log in, connect, and go Ready (the Ready is sent from the connect handler)."""
        self.token = await self._login()
        sio = socketio.AsyncClient(reconnection=True, logger=False, engineio_logger=False)
        ns = AGENT_NAMESPACE
        sio.on("connect", self._on_connect, namespace=ns)
        sio.on("agent.state", self._on_state, namespace=ns)
        sio.on("call.offered", self._on_offered, namespace=ns)
        sio.on("call.offer_withdrawn", self._on_withdrawn, namespace=ns)
        sio.on("call.ended", self._on_ended, namespace=ns)
        self._sio = sio
        await sio.connect(
            self.base_url,
            namespaces=[ns],
            auth={"token": self.token},
            transports=["websocket"],
            wait_timeout=10,
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        if self._sio is not None:
            await self._sio.disconnect()
            self._sio = None

    # --- helpers ------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _spawn_answer(self, call_id: str) -> None:
        task = asyncio.ensure_future(self._answer(call_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._pending[call_id] = task

    async def _call(self, event: str, payload: dict[str, Any]) -> bool:
        """Emit with acknowledgement; True if the server said ok."""
        if self._sio is None:
            return False
        try:
            ack = await self._sio.call(
                event, payload, namespace=AGENT_NAMESPACE, timeout=self._ack_timeout_s
            )
        except Exception as exc:
            logger.warning("agent %s: %s failed: %s", self.username, event, exc)
            self.refused.append((event, str(exc)))
            return False
        if isinstance(ack, dict) and ack.get("ok"):
            return True
        logger.info("agent %s: %s refused: %r", self.username, event, ack)
        self.refused.append((event, ack))
        return False

    # --- handlers (quick: the work runs in tasks, never in the client's read loop) ------------

    async def _on_connect(self) -> None:
        self._spawn(self._call_quietly("agent.ready", {}))

    async def _call_quietly(self, event: str, payload: dict[str, Any]) -> None:
        await self._call(event, payload)

    async def _on_state(self, data: Any) -> None:
        if isinstance(data, dict):
            self.state = data.get("state")

    async def _on_offered(self, data: Any) -> None:
        call = data.get("call") if isinstance(data, dict) else None
        call_id = call.get("id") if isinstance(call, dict) else None
        if not isinstance(call_id, str):
            return
        if self._clock is not None:
            self.pop_received_at[call_id] = self._clock.now()
            history = data.get("history")
            self.pop_history_len[call_id] = len(history) if isinstance(history, list) else 0
        self.offers += 1
        self.offered_call_ids.append(call_id)
        if not self.ignore_offers:
            self._spawn_answer(call_id)

    async def _answer(self, call_id: str) -> None:
        try:
            await asyncio.sleep(max(0.0, self._answer_delay()))
            if await self._call("call.answer", {"call_id": call_id}):
                self.answers += 1
        finally:
            self._pending.pop(call_id, None)

    async def _on_withdrawn(self, data: Any) -> None:
        self.withdrawn += 1
        call_id = data.get("call_id") if isinstance(data, dict) else None
        task = self._pending.pop(call_id, None) if isinstance(call_id, str) else None
        if task is not None:
            task.cancel()

    async def _on_ended(self, data: Any) -> None:
        call = data.get("call") if isinstance(data, dict) else None
        call_id = call.get("id") if isinstance(call, dict) else None
        if not isinstance(call_id, str):
            return
        self.ended += 1
        choices = data.get("dispositions") if isinstance(data, dict) else None
        disposition = self.disposition
        if isinstance(choices, list) and choices and disposition not in choices:
            disposition = str(self._rng.choice(choices))
        self._spawn(self._wrap_up(call_id, disposition))

    async def _wrap_up(self, call_id: str, disposition: str) -> None:
        payload = {"call_id": call_id, "disposition": disposition, "note": "simulated"}
        if await self._call("call.disposition", payload):
            self.dispositions += 1
        await self._call("agent.ready", {})
