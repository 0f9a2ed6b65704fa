"""Agent-first callbacks in the simulator: an AMI Originate of the agent's phone into
[cc-callback] (config/asterisk/extensions.conf):

    [cc-callback] s,1 NoOp, 2 Set(CALLERID(all)=${CC_CALLER_ID}), 3 Dial(${CC_DIAL},
                  ${CC_RING_TIMEOUT}), 4 Hangup

The agent's phone rings and answers as the simulated phones do (the Originate's own DialBegin /
DialEnd ANSWER, without a calling channel; a silent endpoint: OriginateResponse Reason 3 after
the Originate's Timeout, then Hangup 19, as recorded for an unanswered Originate); then the
agent's channel runs the context, with OriginateResponse Success (Reason 4) after its first
Newexten (as Asterisk sends it): it Dials the customer, who behaves as
`pbx.callees[number]` says (outbound.py): a person or a machine answers after
`answer_delay_s` (no AMD here: the agent hears who answered), `busy` / `congestion` at once,
`noanswer` after CC_RING_TIMEOUT, an unknown number is CHANUNAVAIL. DialBegin / DialEnd carry
the agent's channel (Uniqueid = the Originate's ChannelId) and the customer's leg (Dest*), as
Asterisk's app_dial sends them. An answered customer is bridged with the agent's channel and
talks `talk_s`; then the agent's channel hangs up (its bridge peer, the customer's leg, with it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from contactcenter.simulator import frames
from contactcenter.simulator.call import SimulatedCall
from contactcenter.simulator.channels import ChannelState, split_endpoint
from contactcenter.simulator.dialplan import Step, _Dialplan
from contactcenter.simulator.outbound import REASONS, Callee
from contactcenter.simulator.truth import CallTruth
from contactcenter.telephony.ami_protocol import AmiMessage

if TYPE_CHECKING:
    from contactcenter.simulator.pbx import SimulatedPbx

__all__ = ["CALLBACK_CONTEXT", "run_agent_first"]

CALLBACK_CONTEXT = "cc-callback"

# Callee behaviour that does not answer -> app_dial's DIALSTATUS.
_DIAL_STATUS = {
    "busy": "BUSY",
    "congestion": "CONGESTION",
    "noanswer": "NOANSWER",
    "invalid": "CHANUNAVAIL",
}


class _AgentFirstPlan(_Dialplan):
    # The customer's behaviour when the dial did not answer ("busy", ...; "cancelled").
    dial_outcome: str | None = None
    # Emits the Originate's OriginateResponse: Asterisk sends it once the context runs (after
    # the first Newexten, as recorded in ami-originate-more).
    started: Callable[[], None] | None = None

    async def start(self) -> None:
        call, chan = self.call, self.chan
        self.pbx.register(chan, call)
        step: Step | None = self.callback
        try:
            while step is not None and not chan.hung_up:
                step = await step()
        finally:
            call.finish()

    async def callback(self) -> Step | None:
        call, chan = self.call, self.chan
        dial = chan.variables.get("CC_DIAL", "")
        ring = chan.variables.get("CC_RING_TIMEOUT", "")
        caller_id = chan.variables.get("CC_CALLER_ID", "")
        call_id = chan.variables.get("CC_CALL_ID", "")
        self.exten(1, "NoOp", f"contactcenter callback {call_id} -> {dial}")
        if self.started is not None:
            self.started()
        self.exten(2, "Set", f"CALLERID(all)={caller_id}")
        chan.caller_num, chan.caller_name = caller_id or None, None
        self.exten(3, "Dial", f"{dial},{ring}")
        if await self._dial_customer(dial, ring):
            return await self._talk()
        if call.hangup_by is not None or call.goto is not None:
            return self._after()
        self.exten(4, "Hangup", "")
        call.request_hangup("server", 16)
        return None

    async def _dial_customer(self, dial: str, ring: str) -> bool:
        call, chan, pbx = self.call, self.chan, self.pbx
        _tech, resource = split_endpoint(dial)
        number = resource.partition("@")[0]
        callee = pbx.callees.get(number, Callee("invalid"))
        call.truth.caller_number = number
        call.set_variable("DIALSTATUS", "")
        leg = pbx.factory.outbound(dial, chan)
        pbx.register(leg, call)
        call.emit(frames.newchannel(leg))
        call.emit(frames.dial_begin(chan, leg, resource))
        status = _DIAL_STATUS.get(callee.behaviour, "ANSWER")
        try:
            timeout = float(ring) if ring else None
        except ValueError:
            timeout = None
        if status == "CHANUNAVAIL":
            wait: float | None = 0.0
        elif status == "NOANSWER":
            wait = timeout
        else:
            wait = callee.answer_delay_s
            if status == "ANSWER" and timeout is not None and wait >= timeout:
                status, wait = "NOANSWER", timeout
        if status in ("ANSWER", "NOANSWER"):
            leg.state = ChannelState.RINGING
            call.emit(frames.newstate(leg))
        if await call.wait_interrupt(wait):
            status = "CANCEL"
        call.set_variable("DIALSTATUS", status)
        if status == "ANSWER":
            leg.state = ChannelState.UP
            call.emit(frames.newstate(leg))
        call.emit(frames.dial_end(chan, leg, status))
        if status != "ANSWER":
            cause = REASONS.get(callee.behaviour, (0, 16))[1] if status != "CANCEL" else 0
            call.hang_up_leg(leg, cause)
            self.dial_outcome = callee.behaviour if status != "CANCEL" else "cancelled"
            return False
        call.agent_leg = leg
        call.talk_s = callee.talk_s
        leg.exten = ""
        endpoint = call.truth.endpoint  # the agent's phone (_bridge notes CC_ENDPOINT's)
        self._bridge()
        call.truth.endpoint = endpoint
        return True


async def run_agent_first(
    pbx: SimulatedPbx,
    msg: AmiMessage,
    endpoint: str,
    caller_id: tuple[str | None, str | None],
    variables: dict[str, str],
    seq: int,
) -> None:
    """Ring the agent's `endpoint` for an Originate into [cc-callback], then run the context."""
    cid_num, cid_name = caller_id
    target = (CALLBACK_CONTEXT, msg.get("Exten") or "s")
    chan = pbx.factory.originated(endpoint, cid_num, cid_name, msg.get("ChannelId"), *target)
    chan.variables.update(variables)
    pbx.emit(frames.newchannel(chan))
    pbx.emit(frames.dial_begin_originate(chan, split_endpoint(endpoint)[1]))
    if not pbx.phone_answers(endpoint):
        try:
            timeout_s = int(msg.get("Timeout") or "30000") / 1000
        except ValueError:
            timeout_s = 30.0
        await asyncio.sleep(timeout_s)
        pbx.emit(
            frames.originate_response(
                msg.action_id, False, endpoint, 3, "<unknown>", cid_num, cid_name, target=target
            )
        )
        pbx.emit(frames.hangup(chan, 19))
        return
    await asyncio.sleep(pbx.settings.phone_answer_delay_s)
    chan.state = ChannelState.UP
    pbx.emit(frames.newstate(chan))
    pbx.emit(frames.dial_end_originate(chan, "ANSWER"))
    truth = CallTruth(
        seq=seq, caller_number=None, dnid="s", uniqueid=chan.uniqueid, channel=chan.name
    )
    truth.arrived_at = pbx.clock.now()
    truth.endpoint = endpoint
    truth.originate_reason = 4
    pbx.truth.add(truth)
    # The agent hangs up when the talk is over (SimulatedCall's patience is not used here).
    call = SimulatedCall(pbx, chan, truth, patience_s=3600.0, talk_s=0.0)
    plan = _AgentFirstPlan(call)
    plan.started = lambda: pbx.emit(
        frames.originate_response(
            msg.action_id, True, chan.name, 4, chan.uniqueid, cid_num, cid_name, target=target
        )
    )
    await plan.start()
    if plan.dial_outcome is not None:
        truth.outcome = plan.dial_outcome  # the customer's, not "failed"
