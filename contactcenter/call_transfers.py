"""Transfers of a connected call: blind (to a number, a queue or an agent), attended
(consult, complete, cancel) and the three-way conference. Part of CallService (see
call_base.py)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from acd import messages as m
from acd.errors import AcdError
from acd.model import AgentState
from contactcenter.call_controls import CallControls
from contactcenter.clock import utc_day
from contactcenter.errors import ContactCenterError, InvalidRequest, TelephonyError
from contactcenter.events import CallTransferred
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.live_call import Consult, LiveCall, Phase, TransferKind, TransferMode
from contactcenter.ports import WaitingCall
from contactcenter.screenpop import call_json, customer_json

logger = logging.getLogger(__name__)

# The Not Ready reason of an agent being consulted for an attended transfer.
CONSULT = "consult"


class CallTransfers(CallControls):
    async def transfer(
        self,
        agent_id: AgentId,
        call_id: CallId,
        mode: TransferMode,
        kind: TransferKind,
        target: str,
    ) -> dict[str, Any]:
        live = self._connected_call(agent_id, call_id)
        if live.held_since is not None:
            raise InvalidRequest("resume the call before transferring it", "call_id")
        if mode == "attended":
            return await self._attended(live, agent_id, kind, target)
        if kind == "agent":
            # a blind transfer to an agent: ring them, and hand the caller over on answer
            await self._attended(live, agent_id, kind, target, blind=True)
            return await self.transfer_complete(agent_id, call_id)
        if kind == "queue":
            return await self._transfer_to_queue(live, agent_id, QueueId(target))
        if not target or any(c not in "0123456789+*#" for c in target):
            raise InvalidRequest(f"not a dialable number: {target!r}", "target.id")
        await self._control_action(
            live,
            "transfer",
            self._control.blind_transfer(call_id, target),
            mode=mode,
            target_kind=kind,
            target=target,
        )
        if live.recording is not None:
            # after the transfer (a refused one keeps recording); MixMonitor's `b` records
            # only while bridged, and the far party has not answered yet
            await self._stop_recording(live)
        now = self._clock.now()
        rec = live.record
        rec.transferred += 1
        self._update(call_id, transferred=rec.transferred)
        await self._event(
            call_id, "transferred", agent=agent_id, mode=mode, target_kind=kind, target=target
        )
        payload = {
            "call_id": call_id,
            "state": "completed",
            "mode": mode,
            "target": {"kind": kind, "id": target},
        }
        await self._notifier.to_agent(agent_id, "call.transfer", payload)
        await self._bus.publish(CallTransferred(call_id, agent_id, mode, kind, target, now))
        # The caller is the far party's now: the call ends here for the contact center.
        await self._finish_connected(live, now, "transferred")
        return payload

    async def _transfer_to_queue(
        self, live: LiveCall, agent_id: AgentId, queue_id: QueueId
    ) -> dict[str, Any]:
        """Blind transfer to a queue: the caller goes back to music (cc-hold) and into the ACD
        at the call's priority; the agent goes to wrap-up. One call row, transferred + 1."""
        if queue_id not in {q.id for q in self._settings.queues}:
            raise InvalidRequest(f"unknown queue {queue_id!r}", "target.id")
        rec = live.record
        call_id = rec.id
        await self._control_action(
            live,
            "transfer",
            self._control.requeue(call_id),
            mode="blind",
            target_kind="queue",
            target=queue_id,
        )
        if live.recording is not None:
            await self._stop_recording(live)
        now = self._clock.now()
        live.prior_talk_s += self._leg_talk(live, now)
        live.talk_from = None
        rec.talk_s = live.prior_talk_s
        rec.transferred += 1
        await self._event(
            call_id,
            "transferred",
            agent=agent_id,
            mode="blind",
            target_kind="queue",
            target=queue_id,
        )
        payload = {
            "call_id": call_id,
            "state": "completed",
            "mode": "blind",
            "target": {"kind": "queue", "id": queue_id},
        }
        await self._notifier.to_agent(agent_id, "call.transfer", payload)
        await self._bus.publish(CallTransferred(call_id, agent_id, "blind", "queue", queue_id, now))
        # the agent is done with it: wrap-up, with the call as it was for them
        live.phase = Phase.QUEUED
        rec.agent_id = None
        rec.queue_id = queue_id
        await self._live.release_agent(agent_id, call_id)
        await self._acd.submit(m.CallFinished(call_id, agent_id))
        self._remember(replace(rec, agent_id=agent_id))
        self._last_call_of_agent[agent_id] = call_id
        self._update(
            call_id,
            agent_id=None,
            queue_id=queue_id,
            transferred=rec.transferred,
            talk_s=rec.talk_s,
        )
        await self._notifier.to_agent(agent_id, "call.ended", self.ended_payload(rec))
        await self._live.put_waiting(
            WaitingCall(call_id, queue_id, now, rec.priority, rec.caller_number)
        )
        await self._live.incr(queue_id, utc_day(now), "offered")
        await self._acd.submit(m.EnqueueCall(call_id, queue_id, rec.priority))
        return payload

    async def _consult_endpoint(self, kind: str, target: str, agent_id: AgentId) -> str:
        if kind == "agent":
            if target == agent_id:
                raise InvalidRequest("you cannot transfer a call to yourself", "target.id")
            endpoint = await self._endpoint_of(AgentId(target))
            if not endpoint:
                raise InvalidRequest(f"agent {target!r} has no phone endpoint", "target.id")
            return endpoint
        if kind == "number":
            if not target or any(c not in "0123456789+*#" for c in target):
                raise InvalidRequest(f"not a dialable number: {target!r}", "target.id")
            return self._settings.calls.dial_template.replace("{number}", target)
        raise InvalidRequest(
            f"an attended transfer goes to an agent or a number, not {kind}", "target.kind"
        )

    async def _reserve_agent(self, target: AgentId, call_id: CallId) -> None:
        """The target agent must be Ready; they are taken out of routing (Not Ready, reason
        `consult`) for the consultation."""
        try:
            view = await self._acd.agent_view(target)
        except AcdError as exc:
            raise InvalidRequest(f"agent {target!r} is not logged in", "target.id") from exc
        if view.state is not AgentState.READY:
            raise InvalidRequest(f"agent {target!r} is not ready ({view.state})", "target.id")
        await self._acd.submit(m.AgentNotReady(target, CONSULT))
        after = await self._acd.agent_view(target)
        if after.state is not AgentState.NOT_READY or after.reason != CONSULT:
            # The ACD gave the agent a call between the look and the reservation.
            raise InvalidRequest(f"agent {target!r} is not ready ({after.state})", "target.id")
        if not await self._live.claim_agent(target, call_id):
            await self._acd.submit(m.AgentReady(target))
            raise InvalidRequest(f"agent {target!r} already has a call", "target.id")

    async def _release_agent(self, target: AgentId, call_id: CallId) -> None:
        await self._live.release_agent(target, call_id)
        await self._acd.submit(m.AgentReady(target))

    async def _attended(
        self, live: LiveCall, agent_id: AgentId, kind: str, target: str, *, blind: bool = False
    ) -> dict[str, Any]:
        rec = live.record
        call_id = rec.id
        if live.consult is not None:
            raise InvalidRequest("a transfer is already in progress on this call", "call_id")
        endpoint = await self._consult_endpoint(kind, target, agent_id)
        target_agent = AgentId(target) if kind == "agent" else None
        if target_agent is not None:
            await self._reserve_agent(target_agent, call_id)
        live.consult = Consult(kind, target, target_agent, self._clock.now())
        try:
            if live.held_since is None:
                await self._control_action(live, "hold", self._control.hold(call_id))
                live.held_since = self._clock.now()
                await self._event(call_id, "held", agent=agent_id)
                await self._notifier.to_agent(
                    agent_id, "call.held", {"call_id": call_id, "at": live.held_since}
                )
            queue = self._queue_of(rec)
            ring_s = queue.ring_timeout_s if queue else 20.0
            await self._control_action(
                live,
                "transfer",
                self._control.consult(call_id, endpoint, ring_s, rec.caller_number),
                mode="blind" if blind else "attended",
                target_kind=kind,
                target=target,
            )
        except ContactCenterError:
            live.consult = None
            if target_agent is not None:
                await self._release_agent(target_agent, call_id)
            if live.held_since is not None and self.active.get(call_id) is live:
                # back to the caller: the agent is not left with a caller on hold
                try:
                    await self._control.unhold(call_id)
                    held = self._end_hold(live, self._clock.now())
                    await self._event(call_id, "resumed", agent=agent_id, held_s=held)
                    await self._notifier.to_agent(
                        agent_id, "call.unheld", {"call_id": call_id, "held_s": held}
                    )
                except TelephonyError as exc:
                    logger.warning("resume after failed transfer call_id=%s: %s", call_id, exc)
            raise
        target_json = {"kind": kind, "id": target}
        await self._event(
            call_id, "consult_started", agent=agent_id, target_kind=kind, target=target
        )
        payload = {
            "call_id": call_id,
            "state": "consulting",
            "mode": "attended",
            "target": target_json,
        }
        await self._notifier.to_agent(agent_id, "call.transfer", payload)
        if target_agent is not None:
            await self._notifier.to_agent(
                target_agent,
                "call.transfer",
                {
                    **payload,
                    "from_agent": agent_id,
                    "call": call_json(rec),
                    "customer": customer_json(live.customer),
                },
            )
        return payload

    def _consulting_call(self, agent_id: AgentId, call_id: CallId) -> tuple[LiveCall, Consult]:
        live = self._connected_call(agent_id, call_id)
        if live.consult is None:
            raise InvalidRequest("no attended transfer is in progress on this call", "call_id")
        return live, live.consult

    async def transfer_complete(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]:
        """The caller joins the consulted party and the agent leaves the call."""
        live, consult = self._consulting_call(agent_id, call_id)
        run = (
            self._control.leave_conference(call_id)
            if live.conference
            else self._control.complete_transfer(call_id)
        )
        await self._control_action(live, "transfer_complete", run)
        now = self._clock.now()
        rec = live.record
        held = self._end_hold(live, now)
        live.consult = None
        rec.transferred += 1
        self._update(call_id, transferred=rec.transferred)
        await self._event(call_id, "resumed", agent=agent_id, held_s=held)
        await self._event(
            call_id,
            "transferred",
            agent=agent_id,
            mode="attended",
            target_kind=consult.kind,
            target=consult.target,
        )
        target_json = {"kind": consult.kind, "id": consult.target}
        payload = {
            "call_id": call_id,
            "state": "completed",
            "mode": "attended",
            "target": target_json,
        }
        await self._notifier.to_agent(agent_id, "call.transfer", payload)
        await self._bus.publish(
            CallTransferred(call_id, agent_id, "attended", consult.kind, consult.target, now)
        )
        if consult.target_agent is None:
            # an outside party has the caller now: the call ends here for the contact center
            await self._finish_connected(live, now, "transferred")
            return payload
        # The call stays in the history as one call; the new agent owns it from here.
        new_agent = consult.target_agent
        await self._live.release_agent(agent_id, call_id)
        await self._acd.submit(m.CallFinished(call_id, agent_id))
        self._remember(replace(rec))
        self._last_call_of_agent[agent_id] = call_id
        await self._notifier.to_agent(agent_id, "call.ended", self.ended_payload(rec))
        rec.agent_id = new_agent
        self._last_call_of_agent[new_agent] = call_id
        self._update(call_id, agent_id=new_agent)
        await self._event(call_id, "answered", agent=new_agent)
        await self._notifier.to_agent(new_agent, "call.transfer", payload)
        await self._notifier.to_agent(
            new_agent,
            "call.answered",
            {
                "call": call_json(rec),
                "customer": customer_json(live.customer),
                "history": [call_json(c) for c in live.history],
            },
        )
        return payload

    async def transfer_cancel(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]:
        """Drop the consulted party; the agent is back with the caller."""
        live, consult = self._consulting_call(agent_id, call_id)
        run = (
            self._control.drop_consult(call_id)
            if live.conference
            else self._control.cancel_consult(call_id)
        )
        await self._control_action(live, "transfer_cancel", run)
        now = self._clock.now()
        held = self._end_hold(live, now)
        live.consult = None
        if consult.target_agent is not None:
            await self._release_agent(consult.target_agent, call_id)
        await self._event(call_id, "consult_cancelled", agent=agent_id, target=consult.target)
        await self._event(call_id, "resumed", agent=agent_id, held_s=held)
        payload = {
            "call_id": call_id,
            "state": "cancelled",
            "mode": "attended",
            "target": {"kind": consult.kind, "id": consult.target},
        }
        await self._notifier.to_agent(agent_id, "call.transfer", payload)
        await self._notifier.to_agent(agent_id, "call.unheld", {"call_id": call_id, "held_s": held})
        if consult.target_agent is not None:
            await self._notifier.to_agent(consult.target_agent, "call.transfer", payload)
        return payload

    async def conference(self, agent_id: AgentId, call_id: CallId) -> dict[str, Any]:
        """Make the consultation a three-way call: caller, agent and target together. Then
        `transfer_complete` lets the agent leave, `transfer_cancel` drops the target."""
        live, consult = self._consulting_call(agent_id, call_id)
        if live.conference:
            raise InvalidRequest("the call is already a conference", "call_id")
        await self._control_action(live, "conference", self._control.conference(call_id))
        now = self._clock.now()
        live.conference = True
        held = self._end_hold(live, now)
        await self._event(call_id, "resumed", agent=agent_id, held_s=held)
        await self._event(call_id, "conference_started", agent=agent_id, target=consult.target)
        payload = {
            "call_id": call_id,
            "state": "conference",
            "mode": "attended",
            "target": {"kind": consult.kind, "id": consult.target},
        }
        await self._notifier.to_agent(agent_id, "call.transfer", payload)
        if consult.target_agent is not None:
            await self._notifier.to_agent(
                consult.target_agent, "call.transfer", {**payload, "from_agent": agent_id}
            )
        return payload
