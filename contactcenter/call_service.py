"""The life of a call, from arrival to the history row: the one place that writes call facts.

Every fact is written as it happens (an atomic UPDATE of the call's row plus an append-only
call event), so a crash loses at most the fact in flight, never the call.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from acd import messages as m
from acd.errors import AcdError
from acd.model import AgentState, QueueStatus
from contactcenter.call_base import HISTORY_IN_POP
from contactcenter.call_outbound import CallOutbound
from contactcenter.call_transfers import CONSULT
from contactcenter.clock import utc_day
from contactcenter.errors import InvalidRequest, NotFound, TelephonyError
from contactcenter.events import (
    CallAnswered,
    CallConnected,
    CallHungUp,
    CallOffered,
    CallOfferWithdrawn,
    CallQueued,
)
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.live_call import (
    AgentDirectory,
    AgentNotifier,
    Consult,
    LiveCall,
    Phase,
    TransferKind,
    TransferMode,
)
from contactcenter.ports import WaitingCall
from contactcenter.records import CallRecord, CallUpdate, Direction, Outcome
from contactcenter.screenpop import call_json, customer_json

__all__ = [
    "CONSULT",
    "HISTORY_IN_POP",
    "AgentDirectory",
    "AgentNotifier",
    "CallService",
    "Consult",
    "LiveCall",
    "Phase",
    "TransferKind",
    "TransferMode",
]

logger = logging.getLogger(__name__)

# The Not Ready reason of an agent whose accepted call could not be connected.
CONNECT_FAILED = "connect_failed"


class CallService(CallOutbound):
    """The life of a call (see the module docstring); its parts: call_base.py,
    call_controls.py, call_transfers.py, call_outbound.py."""

    # --- arrival and queueing (driven by the FastAGI inbound handler) -----------------------

    async def arrive(self, record: CallRecord, pbx_ref: str | None = None) -> LiveCall:
        """A call reached the server. `pbx_ref` (the PBX's own id of the caller's channel) goes
        into the call's `arrived` event only, to correlate with the PBX's CDRs and recordings."""
        customer = None
        if record.caller_number:
            customer = await self._customers.find_by_phone(record.caller_number)
        history: list[CallRecord] = []
        if customer is not None:
            record.customer_id = customer.id
            record.priority = self._settings.calls.tier_priority.get(customer.value_tier, 0)
            history = await self._calls.history(customer.id, HISTORY_IN_POP)
        self._writer.write(replace(record))
        live = LiveCall(record, customer, history)
        self.active[record.id] = live
        await self._event(
            record.id,
            "arrived",
            caller=record.caller_number,
            customer=record.customer_id,
            pbx_ref=pbx_ref,
        )
        logger.info(
            "call arrived call_id=%s caller=%s customer_id=%s",
            record.id,
            record.caller_number,
            record.customer_id,
        )
        return live

    async def enqueue(self, live: LiveCall, queue_id: QueueId, extra_priority: int = 0) -> None:
        now = self._clock.now()
        rec = live.record
        rec.queue_id = queue_id
        rec.queued_at = now
        rec.priority += extra_priority
        live.phase = Phase.QUEUED
        self._update(
            rec.id, queue_id=queue_id, queued_at=now, priority=rec.priority, ivr_path=rec.ivr_path
        )
        await self._event(rec.id, "queued", queue=queue_id, priority=rec.priority)
        await self._live.put_waiting(
            WaitingCall(
                rec.id,
                queue_id,
                now,
                rec.priority,
                rec.caller_number,
                live.customer.name if live.customer else None,
            )
        )
        await self._live.incr(queue_id, utc_day(now), "offered")
        await self._bus.publish(CallQueued(rec.id, queue_id, rec.customer_id, rec.priority, now))
        await self._acd.submit(
            m.EnqueueCall(rec.id, queue_id, rec.priority, enqueued_at=live.place_at)
        )

    async def caller_left(
        self, call_id: CallId, cause: str | None = None, at: float | None = None
    ) -> None:
        """The caller hung up before reaching an agent (`at`: when that was noticed)."""
        live = self.active.get(call_id)
        if live is None or live.phase in (Phase.CONNECTING, Phase.CONNECTED, Phase.ENDED):
            return
        now = self._clock.now() if at is None else at
        rec = live.record
        if live.phase is Phase.IVR or rec.queued_at is None or rec.queue_id is None:
            outbound = rec.direction is Direction.OUTBOUND
            await self._finish(
                live, Outcome.DROPPED if outbound else Outcome.IVR_ABANDONED, now, cause
            )
            return
        # Ended from this step on: the AMI Hangup that follows finds the call over.
        live.phase = Phase.ENDED
        wait = now - rec.queued_at
        queue = self._settings.queue(rec.queue_id)
        outcome = Outcome.SHORT_ABANDONED if wait < queue.short_abandon_s else Outcome.ABANDONED
        if rec.direction is Direction.OUTBOUND:
            outcome = Outcome.DROPPED  # a live answer that never reached an agent
        rec.wait_s = wait
        await self._live.remove_waiting(rec.queue_id, call_id)
        await self._live.incr(rec.queue_id, utc_day(rec.queued_at), outcome.value)
        await self._acd.submit(m.RemoveCall(call_id))
        await self._finish(live, outcome, now, cause, wait_s=wait)

    async def queue_status(self, queue_id: QueueId) -> QueueStatus:
        """Whether the queue takes calls now (the ACD's view: hours, holidays, agents)."""
        return await self._acd.queue_status(queue_id)

    async def refuse(
        self, call_id: CallId, queue_id: QueueId, outcome: Outcome, status: QueueStatus
    ) -> None:
        """The call never entered its queue because the queue was not open: it ends with
        `outcome` (closed, voicemail, callback_requested); the reason is its hangup cause."""
        live = self.active.get(call_id)
        if live is None or live.phase is Phase.ENDED:
            return
        rec = live.record
        rec.queue_id = queue_id
        self._update(call_id, queue_id=queue_id, ivr_path=rec.ivr_path)
        action = status.action.kind if status.action is not None else None
        await self._event(
            call_id, "queue_closed", queue=queue_id, reason=status.reason, action=action
        )
        await self._finish(live, outcome, self._clock.now(), f"queue {status.reason}")

    # --- ACD outputs ----------------------------------------------------------------------

    async def on_offer(self, command: m.OfferCall) -> None:
        live = self.active.get(command.call_id)
        if live is None:
            logger.warning("offer for unknown call call_id=%s; removing it", command.call_id)
            await self._acd.submit(m.RemoveCall(command.call_id))
            return
        now = self._clock.now()
        rec = live.record
        first = rec.offered_at is None
        if first:
            rec.offered_at = now
            self._update(rec.id, offered_at=now)
        await self._event(rec.id, "offered", agent=command.agent_id)
        await self._notifier.to_agent(
            command.agent_id, "call.offered", self._offer_payload(live, command.queue_id)
        )
        await self._bus.publish(CallOffered(rec.id, command.agent_id, command.queue_id, now))

    def _offer_payload(self, live: LiveCall, queue_id: QueueId) -> dict[str, Any]:
        queue = self._settings.queue(queue_id)
        return {
            "call": call_json(live.record),
            "customer": customer_json(live.customer),
            "history": [call_json(c) for c in live.history],
            "queue": {"id": queue.id, "name": queue.name or queue.id},
            "offer_timeout_s": queue.offer_timeout_s,
            **({"callback": live.callback} if live.callback is not None else {}),
        }

    async def resume(self, agent_id: AgentId) -> list[tuple[str, dict[str, Any]]]:
        """What a desktop that (re)connects needs to pick up where it was: the pop of a call
        ringing for the agent, the call they are on, or the call they are wrapping up."""
        try:
            view = await self._acd.agent_view(agent_id)
        except AcdError:
            return []
        call_id = view.call_id
        if call_id is None:
            return []
        live = self.active.get(call_id)
        if view.state is AgentState.RINGING and live is not None and live.record.queue_id:
            return [("call.offered", self._offer_payload(live, live.record.queue_id))]
        if view.state is AgentState.ON_CALL and live is not None:
            if live.phase is Phase.CONNECTED:
                return [("call.answered", {"call": call_json(live.record)})]
            return []
        recent = self._recent.get(call_id)
        if view.state is AgentState.WRAP_UP and recent is not None:
            return [("call.ended", self.ended_payload(recent))]
        return []

    async def on_overflow(self, event: m.CallOverflowed) -> None:
        """The ACD moved a waiting call to its overflow queue: the history and the wallboard
        follow it (it counts as offered to both queues)."""
        live = self.active.get(event.call_id)
        if live is None or live.phase is not Phase.QUEUED:
            return
        rec = live.record
        rec.queue_id = event.to_queue
        self._update(rec.id, queue_id=event.to_queue)
        await self._event(
            rec.id, "overflowed", from_queue=event.from_queue, to_queue=event.to_queue
        )
        await self._live.remove_waiting(event.from_queue, rec.id)
        if rec.queued_at is not None:
            await self._live.put_waiting(
                WaitingCall(rec.id, event.to_queue, rec.queued_at, rec.priority, rec.caller_number)
            )
            await self._live.incr(event.to_queue, utc_day(rec.queued_at), "offered")
            await self._live.incr(event.from_queue, utc_day(rec.queued_at), "overflowed")
        logger.info(
            "call overflowed call_id=%s from=%s to=%s", rec.id, event.from_queue, event.to_queue
        )

    async def move_waiting(
        self, call_id: CallId, to_queue: QueueId | None, to_agent: AgentId | None
    ) -> None:
        """A supervisor moves a waiting call to another queue, or to one agent (it keeps its
        place). The ACD decides; `on_call_moved` records what it did."""
        live = self.active.get(call_id)
        if live is None or live.phase is not Phase.QUEUED:
            raise NotFound("this call is no longer waiting")
        if to_queue is None and to_agent is None:
            raise InvalidRequest("name a queue or an agent to move the call to", "to_queue")
        try:
            await self._acd.submit(m.MoveCall(call_id, to_queue=to_queue, to_agent=to_agent))
        except AcdError as exc:
            raise InvalidRequest(str(exc), "to_agent" if to_agent else "to_queue") from exc

    async def on_call_moved(self, event: m.CallMoved) -> None:
        """The history and the wallboard follow a supervisor's move (a move to another queue
        counts as offered there too)."""
        live = self.active.get(event.call_id)
        if live is None or live.phase is not Phase.QUEUED:
            return
        rec = live.record
        await self._event(
            rec.id,
            "moved",
            from_queue=event.from_queue,
            to_queue=event.to_queue,
            to_agent=event.to_agent,
        )
        if event.to_queue == event.from_queue:
            return
        rec.queue_id = event.to_queue
        self._update(rec.id, queue_id=event.to_queue)
        await self._live.remove_waiting(event.from_queue, rec.id)
        if rec.queued_at is not None:
            await self._live.put_waiting(
                WaitingCall(rec.id, event.to_queue, rec.queued_at, rec.priority, rec.caller_number)
            )
            await self._live.incr(event.to_queue, utc_day(rec.queued_at), "offered")
        logger.info(
            "call moved call_id=%s from=%s to=%s agent=%s",
            rec.id, event.from_queue, event.to_queue, event.to_agent,
        )  # fmt: skip

    async def on_offer_withdrawn(self, command: m.WithdrawOffer) -> None:
        await self._notifier.to_agent(
            command.agent_id,
            "call.offer_withdrawn",
            {"call_id": command.call_id, "reason": command.reason},
        )
        await self._event(
            command.call_id, "offer_withdrawn", agent=command.agent_id, reason=command.reason
        )
        await self._bus.publish(
            CallOfferWithdrawn(command.call_id, command.agent_id, command.reason, self._clock.now())
        )

    # --- desktop actions ------------------------------------------------------------------

    async def answer(self, agent_id: AgentId, call_id: CallId) -> None:
        live = self.active.get(call_id)
        if live is None or live.phase is not Phase.QUEUED:
            raise NotFound("this call is no longer waiting")
        endpoint = await self._endpoint_of(agent_id)
        if not endpoint:
            raise InvalidRequest("your user has no phone endpoint configured", "endpoint")
        rec = live.record
        # The call is taken for this agent BEFORE the ACD's answer (which may be a round trip
        # to the shared store): a caller who hangs up from now on is handled on the connecting
        # path, never half here and half there. A refusal gives the call back.
        live.phase = Phase.CONNECTING
        rec.agent_id = agent_id
        try:
            await self._acd.submit(m.AcceptOffer(call_id, agent_id))
        except AcdError as exc:
            if self.active.get(call_id) is live and live.phase is Phase.CONNECTING:
                live.phase = Phase.QUEUED
                rec.agent_id = None
            raise NotFound(f"this call is not offered to you: {exc}") from exc
        self._last_call_of_agent[agent_id] = call_id
        if not await self._live.claim_agent(agent_id, call_id):
            # Another server process gave this agent a call meanwhile.
            await self._requeue(live, agent_id)
            raise InvalidRequest("you already have a call", "call_id")
        if rec.queue_id is not None:
            await self._live.remove_waiting(rec.queue_id, call_id)
        self._update(call_id, agent_id=agent_id)
        await self._event(call_id, "accepted", agent=agent_id)
        queue = self._settings.queue(rec.queue_id) if rec.queue_id else None
        try:
            if live.callback is not None and self.dial_callback is not None:
                await self.dial_callback(live, agent_id, endpoint)
            else:
                ring_s = queue.ring_timeout_s if queue else 20.0
                await self._control.connect_to_agent(call_id, endpoint, ring_s)
        except TelephonyError as exc:
            logger.warning("connect failed call_id=%s agent_id=%s: %s", call_id, agent_id, exc)
            await self._requeue(live, agent_id)
            raise
        live.released.set()

    async def _requeue(self, live: LiveCall, agent_id: AgentId) -> None:
        """The caller could not be connected: the agent goes Not Ready (no wrap-up, no call
        took place) and the call goes back to its old place in the queue."""
        rec = live.record
        if live.phase is not Phase.CONNECTING or self.active.get(rec.id) is not live:
            return  # the call ended meanwhile; its end freed the agent
        live.phase = Phase.QUEUED
        rec.agent_id = None
        await self._acd.submit(m.CallFinished(rec.id, agent_id))
        # Not Ready, not Ready: offering the agent the same call again while the PBX refuses
        # would loop. The desktop shows why; the agent goes Ready when it makes sense.
        await self._acd.submit(m.AgentNotReady(agent_id, CONNECT_FAILED))
        await self._live.release_agent(agent_id, rec.id)
        self._update(rec.id, agent_id=None)
        if rec.queue_id is None or rec.queued_at is None:
            return
        if self.active.get(rec.id) is live and live.phase is Phase.QUEUED and not live.callback:
            await self._live.put_waiting(
                WaitingCall(rec.id, rec.queue_id, rec.queued_at, rec.priority, rec.caller_number)
            )
        if self.active.get(rec.id) is live and live.phase is Phase.QUEUED:
            place = live.place_at if live.place_at is not None else rec.queued_at
            await self._acd.submit(
                m.EnqueueCall(rec.id, rec.queue_id, rec.priority, enqueued_at=place)
            )
        else:
            # The caller hung up while we put them back: take the entry out again.
            await self._live.remove_waiting(rec.queue_id, rec.id)

    async def hangup(self, agent_id: AgentId, call_id: CallId) -> None:
        live = self._own_call(agent_id, call_id)
        if live.phase not in (Phase.CONNECTING, Phase.CONNECTED):
            raise InvalidRequest("the call is not connected", "call_id")
        await self._control.hangup(call_id)

    async def disposition(
        self, agent_id: AgentId, call_id: CallId, disposition: str, note: str
    ) -> CallRecord:
        rec = self._agents_call_record(agent_id, call_id)
        queue = self._queue_of(rec)
        if queue is not None and disposition not in queue.dispositions:
            raise InvalidRequest(
                f"unknown disposition {disposition!r}; expected one of {list(queue.dispositions)}",
                "disposition",
            )
        rec.disposition = disposition
        rec.note = note
        # In order after the call's other facts; the agent hears "saved" once it is written.
        await self._writer.write_and_wait(
            CallUpdate(call_id, {"disposition": disposition, "note": note})
        )
        await self._event(call_id, "dispositioned", agent=agent_id, disposition=disposition)
        return rec

    async def disposition_json(
        self, agent_id: AgentId, call_id: CallId, disposition: str, note: str
    ) -> dict[str, Any]:
        """`disposition`, answered as the desktop's acknowledgement carries it."""
        return {"call": call_json(await self.disposition(agent_id, call_id, disposition, note))}

    async def ended_payload_of(self, call_id: CallId) -> dict[str, Any] | None:
        """The wrap-up pop of a call that ended recently (None: not known here)."""
        rec = self.record_of(call_id)
        return None if rec is None else self.ended_payload(rec)

    # --- telephony events -----------------------------------------------------------------

    async def on_connected(self, event: CallConnected) -> None:
        live = self.active.get(event.call_id)
        if live is None or live.phase is not Phase.CONNECTING:
            return
        rec = live.record
        live.phase = Phase.CONNECTED
        live.talk_from = event.at
        live.hold_base_s = rec.hold_s
        if rec.answered_at is not None:
            # answered again after a transfer to a queue: the first answer stays the call's
            await self._event(rec.id, "answered", agent=rec.agent_id)
            if rec.queue_id is not None:
                await self._live.incr(rec.queue_id, utc_day(event.at), "answered")
            assert rec.agent_id is not None
            await self._notifier.to_agent(rec.agent_id, "call.answered", {"call": call_json(rec)})
            await self._bus.publish(CallAnswered(rec.id, rec.agent_id, rec.queue_id, event.at))
            return
        rec.answered_at = event.at
        rec.wait_s = event.at - rec.queued_at if rec.queued_at is not None else None
        self._update(rec.id, answered_at=event.at, wait_s=rec.wait_s)
        await self._event(rec.id, "answered", agent=rec.agent_id)
        if rec.queue_id is not None and rec.queued_at is not None and live.callback is None:
            day = utc_day(rec.queued_at)
            await self._live.incr(rec.queue_id, day, "answered")
            queue = self._settings.queue(rec.queue_id)
            if rec.wait_s is not None and rec.wait_s <= queue.sl_threshold_s:
                await self._live.incr(rec.queue_id, day, "answered_within_sl")
        assert rec.agent_id is not None
        await self._notifier.to_agent(rec.agent_id, "call.answered", {"call": call_json(rec)})
        await self._bus.publish(CallAnswered(rec.id, rec.agent_id, rec.queue_id, event.at))
        if self._settings.calls.record:
            # Not on the telephony event path: the AMI round trip runs beside it.
            task = asyncio.ensure_future(self._start_recording(live))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def on_hung_up(self, event: CallHungUp) -> None:
        live = self.active.get(event.call_id)
        if live is None or live.phase is Phase.ENDED:
            return
        if live.phase is Phase.CONNECTED:
            if live.conference:
                # The others stay in the conference room unless they are hung up.
                for drop in (self._control.hangup_agent_leg, self._control.drop_consult):
                    try:
                        await drop(event.call_id)
                    except TelephonyError as exc:
                        logger.info("conference leg hangup call_id=%s: %s", event.call_id, exc)
            elif live.held_since is not None:
                # The caller left while on hold: the agent's parked leg must go too, and a
                # consulted party with it (the target agent is free again).
                consult = live.consult
                if consult is not None:
                    live.consult = None
                    try:
                        await self._control.drop_consult(event.call_id)
                    except TelephonyError as exc:
                        logger.info("target hangup failed call_id=%s: %s", event.call_id, exc)
                    if consult.target_agent is not None:
                        await self._release_agent(consult.target_agent, event.call_id)
                        await self._notifier.to_agent(
                            consult.target_agent,
                            "call.transfer",
                            {
                                "call_id": event.call_id,
                                "state": "cancelled",
                                "mode": "attended",
                                "target": {"kind": consult.kind, "id": consult.target},
                            },
                        )
                try:
                    await self._control.hangup_agent_leg(event.call_id)
                except TelephonyError as exc:
                    logger.info("agent leg hangup failed call_id=%s: %s", event.call_id, exc)
            await self._finish_connected(live, event.at, event.cause)
        elif live.phase is Phase.CONNECTING:
            # The caller left while the agent's phone rang: still an abandon from the queue.
            live.phase = Phase.QUEUED
            await self.caller_left(event.call_id, event.cause, event.at)
        else:
            await self.caller_left(event.call_id, event.cause, event.at)

    # --- end of a call --------------------------------------------------------------------

    async def _finish_connected(self, live: LiveCall, now: float, cause: str | None) -> None:
        """A connected call ends (hang-up or transfer): talk time excludes the time on hold."""
        rec = live.record
        self._end_hold(live, now)
        if live.talk_from is not None:
            rec.talk_s = live.prior_talk_s + self._leg_talk(live, now)
        outcome = (
            Outcome.ANSWERED_HUMAN if rec.direction is Direction.OUTBOUND else Outcome.ANSWERED
        )
        if live.recording is not None:
            await self._event(rec.id, "recording_stopped", file=live.recording)
        if live.spy is not None:
            # ChanSpy would go on scanning for a new channel: end the supervisor's leg.
            try:
                await self._control.stop_spy(rec.id)
            except TelephonyError as exc:
                logger.info("stop spy failed call_id=%s: %s", rec.id, exc)
            await self._event(rec.id, "spy_stopped", supervisor=live.spy[0], mode=live.spy[1])
            live.spy = None
        await self._finish(live, outcome, now, cause, talk_s=rec.talk_s)

    async def wrap_finished(self, agent_id: AgentId, at: float) -> bool:
        """The agent left wrap-up: the after-call work time goes on their last call. False
        when that call is not known here (a cluster asks the other nodes)."""
        call_id = self._last_call_of_agent.pop(agent_id, None)
        if call_id is None:
            return False
        rec = self._recent.get(call_id)
        if rec is None or rec.ended_at is None or rec.wrap_s is not None:
            return True
        rec.wrap_s = max(0.0, at - rec.ended_at)
        self._update(rec.id, wrap_s=rec.wrap_s)
        return True
