"""Makes the callbacks that come due. A due callback waits in its queue as a RESERVATION: an
ordinary outbound call in the history (the callback's customer and number) that the ACD serves
at the callback's place (a virtual-hold caller's original queue time, a web request's due time)
and priority, with no PBX channel yet. When its turn comes (the ACD offers it to an agent):

- `agent_first`: the agent's desktop pops it (customer, history, "callback" and the number);
  when they accept, their phone rings first and then dials the customer
  (CallControl.dial_from_agent). Busy / no answer / failed end the call (wrap-up as the queue
  says); an agent who does not answer their phone puts the reservation back at its place.
- `caller_first`: the offered agent is kept at once (the offer is accepted for them: no RONA
  while the customer's phone rings) and the customer is dialled with AMD; a person is connected
  to that agent, anything else frees the agent (Ready again, no wrap-up).

Each attempt's final outcome (answered by an agent, or busy / no answer / machine / dropped /
failed) completes the callback or schedules its retry. Also turns a waiting caller's "press 1
for a callback" (CallbackRequested) into a virtual-hold callback that keeps their place.
"""

from __future__ import annotations

import asyncio
import logging

from contactcenter.agents import AgentService
from contactcenter.bus import EventBus
from contactcenter.call_service import CallService, LiveCall
from contactcenter.callbacks import Callback, CallbackService
from contactcenter.clock import Clock
from contactcenter.errors import ContactCenterError, NotFound, TelephonyError
from contactcenter.events import CallbackRequested, CallEnded, CallOffered
from contactcenter.ids import AgentId, CallId, QueueId, new_call_id
from contactcenter.ports import OriginateRequest
from contactcenter.records import CallRecord, Direction, Outcome
from contactcenter.settings import Settings
from contactcenter.tasks import stop_tasks

logger = logging.getLogger(__name__)

AGENT_FIRST = "agent_first"
CALLER_FIRST = "caller_first"


class CallbackDialer:
    def __init__(
        self,
        settings: Settings,
        callbacks: CallbackService,
        calls: CallService,
        bus: EventBus,
        agents: AgentService,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._config = settings.callbacks
        self._callbacks = callbacks
        self._calls = calls
        self._agents = agents
        # callback call (reservation, then attempt) -> the callback it attempts
        self._attempts: dict[CallId, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        callbacks.on_due = self.reserve
        callbacks.on_cancel = self.on_cancelled
        calls.dial_callback = self.dial
        bus.subscribe(CallOffered, self.on_offered)
        bus.subscribe(CallEnded, self.on_call_ended)
        bus.subscribe(CallbackRequested, self.on_callback_requested)

    @property
    def mode(self) -> str:
        return self._config.connect

    def _caller_id(self) -> str | None:
        return self._config.caller_id or self._settings.calls.outbound_caller_id or None

    async def reserve(self, callback: Callback) -> None:
        """The callback's time has come: it waits for its turn in its queue."""
        call_id = new_call_id()
        record = CallRecord(
            id=call_id,
            direction=Direction.OUTBOUND,
            arrived_at=self._clock.now(),
            caller_number=self._caller_id(),
            dialed_number=callback.number,
            queue_id=callback.queue_id,
            customer_id=callback.customer_id,
            priority=callback.priority,
        )
        record.queued_at = record.arrived_at
        info = {
            "id": callback.id,
            "number": callback.number,
            "source": callback.source,
            "note": callback.note,
            "mode": self.mode,
            "attempt": callback.attempts + 1,
        }
        self._attempts[call_id] = callback.id
        logger.info("callback reserved id=%s call_id=%s mode=%s", callback.id, call_id, self.mode)
        await self._calls.reserve(record, callback.place_at, info)

    async def on_offered(self, event: CallOffered) -> None:
        """Caller first: the ACD chose an agent for a reservation; keep them (accept for them)
        and dial the customer. Run beside the ACD's output step, not inside it."""
        if self.mode != CALLER_FIRST or event.call_id not in self._attempts:
            return
        task = asyncio.get_running_loop().create_task(self._keep(event.agent_id, event.call_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _keep(self, agent_id: AgentId, call_id: CallId) -> None:
        try:
            await self._calls.answer(agent_id, call_id)
        except ContactCenterError as exc:
            # the offer goes on ringing: the agent may take it, or RONA puts it back
            logger.warning("callback call_id=%s not kept for %s: %s", call_id, agent_id, exc)

    async def dial(self, live: LiveCall, agent_id: AgentId, endpoint: str) -> None:
        """An agent accepted (or was kept for) the reservation: the attempt starts."""
        call_id = live.record.id
        callback_id = self._attempts.get(call_id)
        if callback_id is None or live.callback is None:
            raise TelephonyError(f"call {call_id} is not a callback attempt")
        try:
            await self._callbacks.dialing(callback_id, call_id)
        except NotFound:
            raise TelephonyError(f"callback {callback_id} was cancelled") from None
        agent_first = live.callback.get("mode") == AGENT_FIRST
        request = OriginateRequest(
            call_id=call_id,
            number=str(live.callback["number"]),
            caller_id_number=self._caller_id(),
            timeout_s=self._config.ring_timeout_s,
            amd=not agent_first,
            queue_id=live.record.queue_id,
            variables=(("CC_CALLBACK_ID", str(callback_id)),),
        )
        logger.info(
            "callback dialling id=%s call_id=%s agent_id=%s mode=%s",
            callback_id, call_id, agent_id, live.callback.get("mode"),
        )  # fmt: skip
        try:
            await self._calls.dial_reserved(live, request, endpoint if agent_first else None)
        except TelephonyError:
            # the agent's phone did not answer: the customer was not dialled
            await self._callbacks.not_dialled(callback_id)
            raise

    async def on_cancelled(self, callback: Callback) -> None:
        """A cancelled callback's reservation leaves its queue."""
        for call_id, callback_id in list(self._attempts.items()):
            if callback_id == callback.id:
                del self._attempts[call_id]
                await self._calls.fail(call_id, "callback cancelled")

    async def on_call_ended(self, event: CallEnded) -> None:
        callback_id = self._attempts.pop(event.call_id, None)
        if callback_id is None:
            return
        connected = event.outcome in (Outcome.ANSWERED.value, Outcome.ANSWERED_HUMAN.value)
        record = self._calls.record_of(event.call_id)
        kept = record is not None and record.answered_at is None and event.agent_id is not None
        if kept and self.mode == CALLER_FIRST and not connected:
            assert event.agent_id is not None
            await self._free(event.agent_id)
        try:
            await self._callbacks.attempt_finished(callback_id, event.outcome)
        except NotFound:
            logger.warning("callback %s vanished before its outcome", callback_id)

    async def _free(self, agent_id: AgentId) -> None:
        """Caller first: the customer was not reached; the kept agent is Ready again at once."""
        try:
            await self._agents.ready(agent_id)
        except ContactCenterError as exc:
            logger.info("agent %s not made ready after a callback: %s", agent_id, exc)

    async def on_callback_requested(self, event: CallbackRequested) -> None:
        record = self._calls.record_of(event.call_id)
        number = event.number
        if not number or event.queue_id is None:
            logger.warning("callback request without a number or queue call_id=%s", event.call_id)
            return
        queued_at = record.queued_at if record and record.queued_at is not None else event.at
        await self._callbacks.virtual_hold(
            event.call_id,
            number,
            QueueId(event.queue_id),
            queued_at,
            record.priority if record else 0,
            record.customer_id if record else None,
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await stop_tasks(set(self._tasks))
