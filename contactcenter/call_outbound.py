"""Calls that go out, and callers waiting to be called back: originate (with its outcome),
callback reservations and their dial, a waiting caller's position, estimated wait and callback
request, and the safety net `fail`. Part of CallService (see call_base.py)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from acd import messages as m
from contactcenter.call_base import HISTORY_IN_POP
from contactcenter.call_transfers import CallTransfers
from contactcenter.clock import utc_day
from contactcenter.errors import TelephonyError
from contactcenter.events import CallbackRequested, OriginateFinished
from contactcenter.ids import CallId, CampaignId, QueueId
from contactcenter.live_call import LiveCall, Phase
from contactcenter.ports import OriginateRequest
from contactcenter.records import CallRecord, Direction, Outcome

logger = logging.getLogger(__name__)


class CallOutbound(CallTransfers):
    async def fail(self, call_id: CallId, reason: str) -> None:
        """The safety net: the call could not be handled; record it as failed."""
        live = self.active.get(call_id)
        if live is None or live.phase is Phase.ENDED:
            return
        rec = live.record
        queued = live.phase is Phase.QUEUED
        live.phase = Phase.ENDED
        if queued and rec.queue_id is not None:
            await self._live.remove_waiting(rec.queue_id, call_id)
            await self._acd.submit(m.RemoveCall(call_id))
        await self._finish(live, Outcome.FAILED, self._clock.now(), reason)

    # --- waiting callers: position, estimated wait, callback ------------------------------

    async def position(self, call_id: CallId) -> int | None:
        """1-based place of a waiting call in its queue's routing order (None: not waiting)."""
        live = self.active.get(call_id)
        if live is None or live.phase is not Phase.QUEUED or live.record.queue_id is None:
            return None
        return await self._acd.position(call_id)

    async def estimated_wait_s(self, call_id: CallId) -> float | None:
        """The ACD's estimate of the remaining wait, when the ACD offers one."""
        return await self._acd.estimated_wait_s(call_id)

    async def request_callback(self, call_id: CallId) -> bool:
        """A waiting caller pressed 1 for a callback: they leave the queue, the call ends with
        outcome callback_requested, and CallbackRequested goes on the bus. False if the call
        is no longer waiting (an agent took it meanwhile)."""
        live = self.active.get(call_id)
        if live is None or live.phase is not Phase.QUEUED:
            return False
        rec = live.record
        now = self._clock.now()
        live.phase = Phase.ENDED
        queue_id = rec.queue_id
        if queue_id is not None:
            await self._live.remove_waiting(queue_id, call_id)
            await self._acd.submit(m.RemoveCall(call_id))
            if rec.queued_at is not None:
                await self._live.incr(queue_id, utc_day(rec.queued_at), "callback_requested")
        wait = now - rec.queued_at if rec.queued_at is not None else None
        await self._event(call_id, "callback_requested", number=rec.caller_number)
        await self._finish(live, Outcome.CALLBACK_REQUESTED, now, "callback requested", wait_s=wait)
        await self._bus.publish(CallbackRequested(call_id, rec.caller_number, queue_id, now))
        return True

    # --- outbound and callbacks ------------------------------------------------------------

    async def originate(
        self, request: OriginateRequest, campaign_id: CampaignId | None = None
    ) -> CallRecord:
        """Dial out (dialer, scheduled callbacks). The call's row is written at once; its
        outcome follows as one OriginateFinished on the bus. An answered person then arrives
        over FastAGI `outbound` (see `outbound_answered`) and waits for an agent in
        `request.queue_id`."""
        now = self._clock.now()
        default_cid = self._settings.calls.outbound_caller_id
        if request.caller_id_number is None and default_cid:
            request = replace(request, caller_id_number=default_cid)
        rec = CallRecord(
            id=request.call_id,
            direction=Direction.OUTBOUND,
            arrived_at=now,
            caller_number=request.caller_id_number,
            dialed_number=request.number,
            campaign_id=campaign_id,
            queue_id=request.queue_id,
        )
        if request.number:
            customer = await self._customers.find_by_phone(request.number)
            if customer is not None:
                rec.customer_id = customer.id
        self._writer.write(replace(rec))
        live = LiveCall(rec, None, [], phase=Phase.DIALING)
        self.active[rec.id] = live
        await self._event(
            rec.id, "dialing", number=request.number, amd=request.amd, timeout_s=request.timeout_s
        )
        try:
            await self._control.originate(request)
        except TelephonyError as exc:
            logger.warning("originate refused call_id=%s: %s", rec.id, exc)
            await self._bus.publish(
                OriginateFinished(rec.id, Outcome.FAILED.value, str(exc), None, None, now)
            )
        return rec

    async def on_originate_finished(self, event: OriginateFinished) -> None:
        live = self.active.get(event.call_id)
        if live is None:
            return
        await self._event(
            event.call_id,
            "dial_finished",
            outcome=event.outcome,
            cause=event.cause,
            amd_status=event.amd_status,
            amd_cause=event.amd_cause,
        )
        if event.outcome == Outcome.ANSWERED_HUMAN.value:
            if live.phase is Phase.DIALING:
                live.phase = Phase.IVR
            return
        agent_first = live.phase is Phase.CONNECTING and live.callback is not None
        if live.phase is not Phase.DIALING and not agent_first:
            return  # the outbound FastAGI session already took the call
        await self._finish(live, Outcome(event.outcome), event.at, event.cause)

    def outbound_answered(self, call_id: CallId) -> LiveCall | None:
        """The FastAGI `outbound` session of an originated call started (AMD let it through)."""
        live = self.active.get(call_id)
        if live is None or live.record.direction is not Direction.OUTBOUND:
            return None
        if live.phase is Phase.DIALING:
            live.phase = Phase.IVR
        return live if live.phase is Phase.IVR else None

    async def reserve(self, rec: CallRecord, place_at: float, callback: dict[str, Any]) -> None:
        """A callback waits in its queue at `place_at` as an ordinary call of the ACD with no
        PBX channel: not a caller on the line, so not listed as waiting nor counted as offered
        (docs/metrics.md). When an agent accepts it, `dial_callback` dials it."""
        customer = await self._customers.get(rec.customer_id) if rec.customer_id else None
        if customer is None and rec.dialed_number:
            customer = await self._customers.find_by_phone(rec.dialed_number)
        rec.customer_id = customer.id if customer is not None else None
        history = await self._calls.history(customer.id, HISTORY_IN_POP) if customer else []
        self._writer.write(replace(rec))
        self.active[rec.id] = LiveCall(rec, customer, history, Phase.QUEUED, place_at=place_at)
        self.active[rec.id].callback = callback
        await self._event(rec.id, "queued", queue=rec.queue_id, place_at=place_at)
        queue_id = QueueId(rec.queue_id or self._settings.default_queue)
        await self._acd.submit(m.EnqueueCall(rec.id, queue_id, rec.priority, place_at))

    async def dial_reserved(
        self, live: LiveCall, request: OriginateRequest, agent_endpoint: str | None
    ) -> None:
        """Dial an accepted callback: agent first (`agent_endpoint`: it rings, then the customer;
        TelephonyError if it does not answer), or caller first (the agent waits meanwhile)."""
        rec = live.record
        await self._event(rec.id, "dialing", number=request.number, amd=request.amd)
        if agent_endpoint is not None:
            ring_s = queue.ring_timeout_s if (queue := self._queue_of(rec)) else 20.0
            await self._control.dial_from_agent(request, agent_endpoint, ring_s)
            return
        live.phase = Phase.DIALING
        try:
            await self._control.originate(request)
        except TelephonyError as exc:
            now = self._clock.now()
            await self._bus.publish(OriginateFinished(rec.id, "failed", str(exc), None, None, now))

    async def connect_kept(self, live: LiveCall) -> None:
        """Caller first: the customer answered (a person); connect them to the kept agent."""
        rec = live.record
        endpoint = self._agents.endpoint_of(rec.agent_id) if rec.agent_id else None
        live.phase = Phase.CONNECTING
        try:
            ring_s = queue.ring_timeout_s if (queue := self._queue_of(rec)) else 20.0
            await self._control.connect_to_agent(rec.id, endpoint or "", ring_s)
        except TelephonyError as exc:
            await self.fail(rec.id, f"connect failed: {exc}")
        live.released.set()
