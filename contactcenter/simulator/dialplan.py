"""The shipped dialplan (config/asterisk/extensions.conf), run for one simulated call:

[cc-inbound]  1 NoOp, 2 Set(CC_DNID), 3 AGI(agi://server/inbound,${EXTEN}),
              4/5 GotoIf CC_ACTION empty or "fallback" -> cc-fallback,
              6 GotoIf "voicemail" -> cc-voicemail, 7 Hangup
[cc-connect]  s,1 NoOp, 2 Dial(${CC_ENDPOINT},${CC_RING_TIMEOUT}), 3 GotoIf ANSWER -> done,
              4 AGI(.../inbound,${CC_DNID}) (the server queues again), 5 GotoIf -> fallback,
              6 (done) Hangup
[cc-voicemail] s,1 NoOp, 2 VoiceMail(${CC_VOICEMAIL},u) (the caller speaks), 3 Hangup
[cc-fallback] Answer, Playback, Queue(cc-fallback): nobody answers here, the caller waits
[cc-hold]     MusicOnHold until the next Redirect, or an AMI Bridge with the parked agent leg
[cc-agent-hold] the agent's leg waits (Wait) while the caller is on hold
[cc-transfer] _X.,1 Dial(PJSIP/${EXTEN}@carrier,60): a blind transfer's far party
[cc-outbound] s,1 NoOp, 2 AMD (if CC_AMD=yes), 3 GotoIf MACHINE -> Hangup,
              4 AGI(agi://server/outbound), 5 GotoIf CC_ACTION empty -> Hangup
Any other context: the channel hangs up (no such extension).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

from contactcenter.simulator import frames
from contactcenter.simulator.agi_client import FastAgiClient
from contactcenter.simulator.call import SimulatedCall
from contactcenter.simulator.channels import Channel, ChannelState, split_endpoint

__all__ = ["run_call"]

Step = Callable[[], Awaitable["Step | None"]]


class _Dialplan:
    def __init__(self, call: SimulatedCall) -> None:
        self.call = call
        self.chan = call.channel
        self.pbx = call.pbx

    def exten(self, priority: int, app: str, data: str) -> None:
        self.chan.priority = priority
        self.chan.application, self.chan.app_data = app, data
        self.call.emit(frames.newexten(self.chan, app, data))

    async def run(self, first: Step | None = None) -> None:
        call, chan = self.call, self.chan
        self.pbx.register(chan, call)
        call.emit(frames.newchannel(chan))
        if first is None:
            chan.state = ChannelState.RING
            call.emit(frames.newstate(chan))
            num = chan.caller_num or ""
            self.exten(1, "NoOp", f"contactcenter inbound {num} -> {chan.exten}")
            self.exten(2, "Set", f"CC_DNID={chan.exten}")
            call.set_variable("CC_DNID", chan.exten)
        else:
            chan.state = ChannelState.UP
            call.emit(frames.newstate(chan))
        patience = asyncio.ensure_future(self._patience())
        step: Step | None = first or self.inbound_agi
        try:
            while step is not None and not chan.hung_up:
                step = await step()
        finally:
            patience.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await patience
            call.finish()

    async def _patience(self) -> None:
        await asyncio.sleep(self.call.patience_s)
        if not self.call.bridged and self.call.truth.answered_at is None:
            self.call.caller_hangs_up()

    async def _agi(self, priority: int, dnid: str, script: str = "inbound") -> str:
        settings = self.pbx.settings
        url = f"agi://{settings.agi_url_host}/{script}"
        self.exten(priority, "AGI", f"{url},{dnid}")
        truth = self.call.truth

        def connected() -> None:
            truth.agi_sessions += 1
            if truth.arrived_at is None:
                truth.arrived_at = self.pbx.clock.now()

        client = FastAgiClient(
            self.call,
            server_host=settings.agi_host,
            server_port=settings.agi_port,
            url=url,
            args=[dnid],
            timing=settings.timing,
            exit_on_hangup=settings.agi_exit_on_hangup,
            on_connected=connected,
        )
        status = await client.run()
        self.chan.application, self.chan.app_data = "AGI", f"{url},{dnid}"
        self.call.set_variable("AGISTATUS", status)
        return status

    def _after(self) -> Step | None:
        """Where a Redirect or hang-up sends the call now (None: hang up)."""
        call = self.call
        if call.hangup_by is not None:
            return None
        goto = call.take_goto()
        if goto is None:
            return None
        context, exten, priority = goto
        self.chan.goto(context, exten, priority)
        if context == "cc-connect":
            return self.connect
        if context == "cc-hold":
            return self.hold
        if context == "cc-fallback":
            return self.fallback
        if context == "cc-transfer":
            return self.transfer
        if context == "cc-conference":
            return self.conference
        call.request_hangup("server", 16)
        return None

    def _cc_action_step(self, priority: int) -> Step | None:
        action = self.chan.variables.get("CC_ACTION", "")
        self.exten(priority, "GotoIf", f'$["{action}" = ""]?cc-fallback,s,1')
        if action in ("", "fallback"):
            return self.fallback
        self.exten(priority + 2, "GotoIf", f'$["{action}" = "voicemail"]?cc-voicemail,s,1')
        if action == "voicemail":
            return self.voicemail
        self.exten(priority + 3, "Hangup", "")
        self.call.request_hangup("server", 16)
        return None

    async def voicemail(self) -> Step | None:
        """[cc-voicemail]: the caller leaves a message in CC_VOICEMAIL, then hangs up."""
        box = self.chan.variables.get("CC_VOICEMAIL", "")
        self.chan.goto("cc-voicemail", "s", 1)
        self.exten(1, "NoOp", f"contactcenter voicemail {box}")
        self.exten(2, "VoiceMail", f"{box},u")
        self.call.truth.voicemail = box
        await asyncio.sleep(self.pbx.settings.timing.prompt_s)  # the message
        if self.call.hangup_by is None:
            self.exten(3, "Hangup", "")
            self.call.request_hangup("server", 16)
        return None

    async def inbound_agi(self) -> Step | None:
        status = await self._agi(3, self.chan.exten)
        if self.call.interrupted.is_set():
            return self._after()
        if status == "FAILURE":
            self.call.failed = True
        return self._cc_action_step(4)

    async def connect(self) -> Step | None:
        call, chan = self.call, self.chan
        endpoint = chan.variables.get("CC_ENDPOINT", "")
        ring_timeout = chan.variables.get("CC_RING_TIMEOUT", "")
        self.exten(1, "NoOp", f"contactcenter connect {chan.name} -> {endpoint}")
        self.exten(2, "Dial", f"{endpoint},{ring_timeout},U(cc-answered^{chan.uniqueid})")
        if not endpoint or "/" not in endpoint:
            call.request_hangup("server", 16)
            return None
        call.truth.dial_attempts += 1
        answered = await self._dial(endpoint, ring_timeout)
        if answered:
            return await self._talk()
        if call.hangup_by is not None or call.goto is not None:
            return self._after()
        call.interrupted.clear()  # only the ringing leg was hung up: Dial returns, as NOANSWER
        self.exten(3, "GotoIf", f'$["{chan.variables.get("DIALSTATUS", "")}" = "ANSWER"]?done')
        status = await self._agi(4, chan.variables.get("CC_DNID", ""))
        if call.interrupted.is_set():
            return self._after()
        if status == "FAILURE":
            call.failed = True
        return self._cc_action_step(5)

    async def _dial(self, endpoint: str, ring_timeout: str) -> bool:
        call, chan = self.call, self.chan
        call.set_variable("DIALSTATUS", "")
        leg = self.pbx.factory.outbound(endpoint, chan)
        call.agent_leg = leg
        self.pbx.register(leg, call)
        call.emit(frames.newchannel(leg))
        call.emit(frames.dial_begin(chan, leg, split_endpoint(endpoint)[1]))
        leg.state = ChannelState.RINGING
        call.emit(frames.newstate(leg))
        try:
            timeout = float(ring_timeout) if ring_timeout else None
        except ValueError:
            timeout = None
        delay = self.pbx.settings.phone_answer_delay_s
        answers = self.pbx.phone_answers(endpoint) and (timeout is None or delay < timeout)
        wait = delay if answers else timeout
        if await call.wait_interrupt(wait) or call.leg_hangup_cause is not None:
            status = "CANCEL"
        elif answers:
            status = "ANSWER"
        else:
            status = "NOANSWER"
        if status == "ANSWER":
            leg.state = ChannelState.UP
            call.emit(frames.newstate(leg))
        call.set_variable("DIALSTATUS", status)
        call.emit(frames.dial_end(chan, leg, status))
        if status != "ANSWER":
            call.agent_leg = None
            call.leg_hangup_cause = None
            call.hang_up_leg(leg, 0)
            return False
        leg.exten = ""
        if chan.context == "cc-connect":
            # U(cc-answered^${UNIQUEID}): Set(DB(cc_answered/<uniqueid>)=<epoch seconds>)
            self.pbx.astdb[("cc_answered", chan.uniqueid)] = str(int(self.pbx.clock.now()))
        self._bridge()
        return True

    def _bridge(self) -> None:
        call = self.call
        first = call.truth.answered_at is None
        self._bridge_legs()
        if first:
            call.truth.answered_at = self.pbx.clock.now()
            call.truth.endpoint = self.chan.variables.get("CC_ENDPOINT")
            call.talk_deadline = call.truth.answered_at + call.talk_s

    def _bridge_legs(self) -> None:
        call, chan, leg = self.call, self.chan, self.call.agent_leg
        assert leg is not None
        bridge_id = str(uuid.uuid4())
        call.emit(frames.bridge_create(bridge_id))
        leg.bridge_id = bridge_id
        call.emit(frames.bridge_enter(bridge_id, 1, leg))
        chan.bridge_id = bridge_id
        call.emit(frames.bridge_enter(bridge_id, 2, chan))

    def _remaining_talk(self) -> float:
        call = self.call
        if call.talk_deadline is None:
            return call.talk_s
        return max(0.0, call.talk_deadline - self.pbx.clock.now())

    async def _talk(self) -> Step | None:
        call, chan, leg = self.call, self.chan, self.call.agent_leg
        assert leg is not None
        if not await call.wait_interrupt(self._remaining_talk()):
            call.caller_hangs_up()
        bridge_id = chan.bridge_id
        if call.hangup_by is None and call.transfer_to is not None:
            return self._blind_transfer(leg, bridge_id)
        if call.hangup_by is None and call.goto is not None and call.extra_goto is not None:
            return self._park(leg, bridge_id)
        if call.leg_hangup_cause is not None and call.hangup_by is None and call.goto is None:
            # The agent's side went first: its leg leaves, then the dialplan hangs up the caller.
            call.emit(frames.soft_hangup_request(leg, call.leg_hangup_cause))
            call.emit(frames.bridge_leave(bridge_id, 1, leg))
            call.hang_up_leg(leg, 16)
            call.emit(frames.bridge_leave(bridge_id, 0, chan))
            call.emit(frames.bridge_destroy(bridge_id))
            chan.bridge_id = leg.bridge_id = ""
            call.agent_leg = None
            self.exten(3, "GotoIf", '$["ANSWER" = "ANSWER"]?done')
            self.exten(6, "Hangup", "")
            call.request_hangup("server", 16)
            call.finish(16)
            return None
        if call.hangup_by == "server":
            call.emit(frames.soft_hangup_request(chan, call.hangup_cause))
        call.emit(frames.bridge_leave(bridge_id, 1, chan))
        call.emit(frames.bridge_leave(bridge_id, 0, leg))
        call.emit(frames.hangup_request(leg, 16))
        call.hang_up_leg(leg, 16)
        call.emit(frames.bridge_destroy(bridge_id))
        chan.bridge_id = leg.bridge_id = ""
        call.agent_leg = None
        if call.hangup_by is not None:
            call.finish(call.hangup_cause, soft_request=False)
            return None
        return self._after()

    def _blind_transfer(self, leg: Channel, bridge_id: str) -> Step | None:
        """BlindTransfer of the agent's leg, in the recorded order: Unhold of the transferer,
        BlindTransfer, both leave the bridge, the transferer hangs up, then the caller runs
        the transfer context."""
        call, chan = self.call, self.chan
        assert call.transfer_to is not None
        context, exten = call.transfer_to
        call.transfer_to = None
        call.interrupted.clear()
        call.emit(frames.unhold(leg))
        call.emit(frames.blind_transfer(leg, chan, bridge_id, context, exten))
        chan.goto(context, exten, 1)
        call.emit(frames.bridge_leave(bridge_id, 1, chan))
        call.emit(frames.bridge_leave(bridge_id, 0, leg))
        call.hang_up_leg(leg, 16)
        call.emit(frames.bridge_destroy(bridge_id))
        chan.bridge_id = leg.bridge_id = ""
        call.agent_leg = None
        call.truth.transferred_to = f"{context},{exten}"
        return self.transfer

    def _park(self, leg: Channel, bridge_id: str) -> Step | None:
        """A Redirect with ExtraChannel (hold): both leave the bridge, which goes away; the
        agent's leg runs its own context (cc-agent-hold: Wait) and stays up."""
        call, chan = self.call, self.chan
        assert call.extra_goto is not None
        context, exten, priority = call.extra_goto
        call.extra_goto = None
        call.emit(frames.bridge_leave(bridge_id, 1, chan))
        call.emit(frames.bridge_leave(bridge_id, 0, leg))
        call.emit(frames.bridge_destroy(bridge_id))
        chan.bridge_id = leg.bridge_id = ""
        leg.goto(context, exten, priority)
        leg.application, leg.app_data = "Wait", "3600"
        call.emit(frames.newexten(leg, "Wait", "3600"))
        call.truth.holds += 1
        return self._after()

    async def hold(self) -> Step | None:
        call, chan = self.call, self.chan
        self.exten(chan.priority, "MusicOnHold", "default")
        call.emit(frames.music_on_hold_start(chan, "default"))
        while True:
            parked = call.agent_leg is not None and call.talk_deadline is not None
            if not await call.wait_interrupt(self._remaining_talk() if parked else None):
                call.caller_hangs_up()  # the caller gives up on hold
            if call.hangup_by is None and call.goto is None:
                leg = call.agent_leg
                if call.bridge_requested and (leg is not None or call.bridge_with is not None):
                    call.bridge_requested = False
                    call.interrupted.clear()
                    call.emit(frames.music_on_hold_stop(chan))
                    target = call.bridge_with or leg
                    assert target is not None
                    if call.bridge_with is not None:
                        # the transfer target takes the call; the old agent leg stays where
                        # it is (the consultation bridge) until the server hangs it up
                        self.pbx.adopt_leg(call, call.bridge_with, leg)
                        call.agent_leg = call.bridge_with
                        call.bridge_with = None
                        call.truth.transferred_to = target.name
                    self.pbx.leave_bridge(target)
                    self._bridge_legs()
                    call.truth.resumes += 1
                    return self._talk
                if call.leg_hangup_cause is not None and leg is not None:
                    # The parked agent leg was hung up: the caller stays on music.
                    call.hang_up_leg(leg, call.leg_hangup_cause)
                    call.agent_leg = None
                    call.leg_hangup_cause = None
                    call.interrupted.clear()
                    continue
            break
        call.emit(frames.music_on_hold_stop(chan))
        return self._after()

    async def conference(self) -> Step | None:
        """[cc-conference] ConfBridge(${EXTEN}) with the agent and the transfer target; the
        caller talks until their talk time is over. A leg the server hangs up leaves."""
        call, chan = self.call, self.chan
        self.pbx.join_conference(chan, chan.exten)
        while True:
            if not await call.wait_interrupt(self._remaining_talk()):
                call.caller_hangs_up()
            if call.hangup_by is None and call.goto is None and call.leg_hangup_cause is not None:
                leg = call.agent_leg
                if leg is not None:
                    self.pbx.leave_bridge(leg)
                    call.hang_up_leg(leg, call.leg_hangup_cause)
                    call.agent_leg = None
                call.leg_hangup_cause = None
                call.interrupted.clear()
                continue
            break
        self.pbx.leave_bridge(chan)
        if call.hangup_by is not None:
            return None
        return self._after()

    async def transfer(self) -> Step | None:
        """[cc-transfer] Dial the number on the trunk (the far party answers, as a simulated
        phone does) and talk until the caller's talk time is over."""
        call, chan = self.call, self.chan
        endpoint = f"PJSIP/{chan.exten}@carrier"
        self.exten(1, "Dial", f"{endpoint},60")
        if await self._dial(endpoint, "60"):
            return await self._talk()
        if call.hangup_by is not None or call.goto is not None:
            return self._after()
        call.request_hangup("server", 16)
        return None

    async def outbound(self) -> Step | None:
        """[cc-outbound] for an answered Originate: AMD, then FastAGI `outbound`."""
        call, chan = self.call, self.chan
        self.exten(1, "NoOp", f"contactcenter outbound {chan.caller_num or ''}")
        if chan.variables.get("CC_AMD", "yes") != "no":
            self.exten(2, "AMD", "")
            verdict = self.pbx.amd_verdict(call)
            if await call.wait_interrupt(verdict.delay_s):
                return self._after()
            call.truth.amd_status = verdict.status
            call.set_variable("AMDSTATUS", verdict.status)
            call.set_variable("AMDCAUSE", verdict.cause)
            if verdict.status == "HANGUP":
                call.caller_hangs_up()
                return None
            self.exten(3, "GotoIf", f'$["{verdict.status}" = "MACHINE"]?machine')
            if verdict.status == "MACHINE":
                self.exten(6, "Hangup", "")
                call.request_hangup("server", 16)
                return None
        status = await self._agi(4, "", script="outbound")
        if call.interrupted.is_set():
            return self._after()
        if status == "FAILURE":
            call.failed = True
        self.exten(5, "Hangup", "")
        call.request_hangup("server", 16)
        return None

    async def fallback(self) -> Step | None:
        self.call.failed = True
        self.chan.goto("cc-fallback", "s", 1)
        agi_status = self.chan.variables.get("AGISTATUS", "")
        self.exten(1, "NoOp", f"contactcenter fallback AGISTATUS={agi_status}")
        self.exten(2, "Answer", "")
        self.call.answer()
        self.exten(3, "Playback", "pls-hold-while-try")
        self.exten(4, "Queue", "cc-fallback,,,,300")
        await self.call.wait_interrupt(None)
        return self._after()


async def run_call(call: SimulatedCall) -> None:
    """Run the call through the dialplan until its channel hangs up."""
    await _Dialplan(call).run()


async def run_outbound_call(call: SimulatedCall) -> None:
    """Run an answered Originate's channel through [cc-outbound] until it hangs up."""
    plan = _Dialplan(call)
    await plan.run(plan.outbound)
