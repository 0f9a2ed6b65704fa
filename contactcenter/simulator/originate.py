"""The simulator's AMI Originate (contactcenter/simulator/pbx.py answers the action, these
run it): a call to a customer (busy, no answer, machine or person, by `pbx.callees`), into the
callback context (callback_leg.py), to an agent's phone or a transfer target, or a supervisor's
ChanSpy leg; each with the OriginateResponse and events Asterisk sends."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from contactcenter.simulator import frames
from contactcenter.simulator.call import SimulatedCall
from contactcenter.simulator.callback_leg import CALLBACK_CONTEXT, run_agent_first
from contactcenter.simulator.channels import ChannelState
from contactcenter.simulator.dialplan import run_outbound_call
from contactcenter.simulator.outbound import KNOWN_TECHS, REASONS, Callee
from contactcenter.simulator.truth import CallTruth
from contactcenter.telephony.ami_protocol import AmiMessage

if TYPE_CHECKING:
    from contactcenter.simulator.pbx import SimulatedPbx


async def run_originate(pbx: SimulatedPbx, msg: AmiMessage) -> None:
    channel = msg.get("Channel") or ""
    action_id = msg.action_id
    cid_name, cid_num = _caller_id(msg.get("CallerID") or "")
    application = msg.get("Application")
    target = None if application else (msg.get("Context") or "", msg.get("Exten") or "s")
    app = (application, msg.get("Data") or "") if application else None
    tech, _, resource = channel.partition("/")
    if tech not in KNOWN_TECHS or not resource:
        pbx.emit(
            frames.originate_response(
                action_id, False, channel, 0, "<unknown>", cid_num, cid_name,
                application=app, target=target,
            )
        )  # fmt: skip
        return
    if app is not None and app[0].lower() == "chanspy":
        await _originate_spy(pbx, msg, channel, cid_num, cid_name, app)
        return
    if target is not None and target[0] == CALLBACK_CONTEXT:
        caller_id = (cid_num, cid_name)
        await run_agent_first(pbx, msg, channel, caller_id, _variables(msg), next(pbx._seq))
        return
    if target is not None and target[0] != "cc-outbound":
        await _originate_leg(pbx, msg, channel, cid_num, cid_name, target)
        return
    number = resource.partition("@")[0]
    callee = pbx.callees.get(number, Callee("invalid"))
    if callee.behaviour in REASONS:
        await _originate_failure(pbx, msg, channel, callee, cid_num, cid_name, target)
        return
    await asyncio.sleep(callee.answer_delay_s)
    variables = _variables(msg)
    chan = pbx.factory.originated(
        channel, cid_num, cid_name, msg.get("ChannelId"), target[0] if target else "", "s"
    )
    chan.variables.update(variables)
    chan.state = ChannelState.UP
    pbx.emit(
        frames.originate_response(
            action_id, True, chan.name, 4, chan.uniqueid, cid_num, cid_name,
            application=app, target=target,
        )
    )  # fmt: skip
    seq = next(pbx._seq)
    truth = CallTruth(
        seq=seq,
        caller_number=number,
        dnid="s",
        patience_s=callee.patience_s,
        talk_s=callee.talk_s,
        uniqueid=chan.uniqueid,
        channel=chan.name,
    )
    truth.originate_reason = 4
    pbx.truth.add(truth)
    call = SimulatedCall(pbx, chan, truth, patience_s=callee.patience_s, talk_s=callee.talk_s)
    pbx._callee_of[chan.uniqueid] = callee
    try:
        await run_outbound_call(call)
    finally:
        pbx._callee_of.pop(chan.uniqueid, None)


async def _originate_failure(
    pbx: SimulatedPbx,
    msg: AmiMessage,
    channel: str,
    callee: Callee,
    cid_num: str | None,
    cid_name: str | None,
    target: tuple[str, str] | None,
) -> None:
    reason, cause = REASONS[callee.behaviour]
    if callee.behaviour == "noanswer":
        try:
            timeout_s = int(msg.get("Timeout") or "30000") / 1000
        except ValueError:
            timeout_s = 30.0
        await asyncio.sleep(timeout_s)
    else:
        await asyncio.sleep(callee.answer_delay_s)
    pbx.emit(
        frames.originate_response(
            msg.action_id, False, channel, reason, "<unknown>", cid_num, cid_name,
            target=target,
        )
    )  # fmt: skip
    if reason != 0:
        leg = pbx.factory.originated(channel, cid_num, cid_name, None, "", "")
        pbx.emit(frames.hangup(leg, cause))
    seq = next(pbx._seq)
    truth = CallTruth(seq=seq, caller_number=channel, dnid="s", channel=channel)
    truth.originate_reason = reason
    truth.outcome = callee.behaviour
    pbx.truth.add(truth)


async def _originate_leg(
    pbx: SimulatedPbx,
    msg: AmiMessage,
    endpoint: str,
    cid_num: str | None,
    cid_name: str | None,
    target: tuple[str, str],
) -> None:
    """A phone (an agent's, for a consultation) rung into a context: it answers as the
    simulated phones do (or never, if silent: Reason 3 after the Timeout)."""
    leg = pbx.factory.originated(endpoint, cid_num, cid_name, msg.get("ChannelId"), *target)
    pbx.emit(frames.newchannel(leg))
    if not pbx.phone_answers(endpoint):
        try:
            timeout_s = int(msg.get("Timeout") or "30000") / 1000
        except ValueError:
            timeout_s = 30.0
        await asyncio.sleep(timeout_s)
        pbx.emit(
            frames.originate_response(
                msg.action_id, False, endpoint, 3, "<unknown>", cid_num, cid_name,
                target=target,
            )
        )  # fmt: skip
        pbx.emit(frames.hangup(leg, 19))
        return
    await asyncio.sleep(pbx.settings.phone_answer_delay_s)
    leg.state = ChannelState.UP
    pbx.emit(frames.newstate(leg))
    pbx._free[leg.name] = leg
    pbx.emit(
        frames.originate_response(
            msg.action_id, True, leg.name, 4, leg.uniqueid, cid_num, cid_name, target=target
        )
    )
    leg.application, leg.app_data = "Wait", "3600"
    pbx.emit(frames.newexten(leg, "Wait", "3600"))


async def _originate_spy(
    pbx: SimulatedPbx,
    msg: AmiMessage,
    endpoint: str,
    cid_num: str | None,
    cid_name: str | None,
    app: tuple[str, str],
) -> None:
    """The supervisor's phone answers and runs ChanSpy(<channel prefix>,<options>)."""
    spyer = pbx.factory.originated(endpoint, cid_num, cid_name, None, "", "")
    pbx.emit(frames.dial_begin_originate(spyer, endpoint.partition("/")[2]))
    await asyncio.sleep(pbx.settings.phone_answer_delay_s)
    spyer.state = ChannelState.UP
    pbx.emit(frames.dial_end_originate(spyer, "ANSWER"))
    pbx.emit(
        frames.originate_response(
            msg.action_id, True, spyer.name, 4, spyer.uniqueid, cid_num, cid_name,
            application=app,
        )
    )  # fmt: skip
    spyer.application, spyer.app_data = app
    prefix = app[1].partition(",")[0]
    spyee = next((c for c, call in pbx._channels.values() if c.name.startswith(prefix)), None)
    pbx._spies[spyer.name] = (spyer, spyee)
    if spyee is not None:
        pbx.emit(frames.chanspy("ChanSpyStart", spyer, spyee))
        call = pbx._call_of(spyee)
        if call is not None:
            call.truth.spied_by.append(f"{endpoint}:{app[1].partition(',')[2]}")


def _caller_id(text: str) -> tuple[str | None, str | None]:
    """`"Campaign 7" <5559000>` -> ("Campaign 7", "5559000")."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, num = text[:-1].partition("<")
        return name.strip().strip('"') or None, num.strip() or None
    return None, text or None


def _variables(msg: AmiMessage) -> dict[str, str]:
    """Originate `Variable:` lines (several, or one with comma-separated pairs)."""
    out: dict[str, str] = {}
    for line in msg.get_all("Variable"):
        for pair in line.split(","):
            key, sep, value = pair.partition("=")
            if sep and key.strip():
                out[key.strip()] = value
    return out
