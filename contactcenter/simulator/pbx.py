"""SimulatedPbx: a stand-in for Asterisk 20 that speaks its wire protocols over TCP.

It is a FastAGI client of our server (each inbound call opens `agi://.../inbound,<dnid>`) and an
AMI server for our AMI client, and it runs the shipped dialplan (dialplan.py) for every call:

    pbx = SimulatedPbx(SystemClock(), agi_host="127.0.0.1", agi_port=4573)
    await pbx.start()                 # AMI on 127.0.0.1:<pbx.ami_port>
    truth = await pbx.place_call("5550101", "100", patience_s=30, talk_s=5)
    await pbx.close()
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace

from contactcenter.clock import Clock
from contactcenter.simulator import frames
from contactcenter.simulator.agi_commands import AgiTiming
from contactcenter.simulator.ami_server import AmiClientSession, AmiServer
from contactcenter.simulator.call import CallSettings, SimulatedCall
from contactcenter.simulator.channels import Channel, ChannelFactory
from contactcenter.simulator.dialplan import run_call
from contactcenter.simulator.originate import run_originate
from contactcenter.simulator.outbound import (
    AMD_RESULTS,
    AmdVerdict,
    Callee,
)
from contactcenter.simulator.truth import CallTruth, GroundTruth
from contactcenter.telephony.ami_protocol import AmiMessage

__all__ = ["SimulatedPbx"]

logger = logging.getLogger(__name__)

Fields = list[tuple[str, str]]


class SimulatedPbx:
    def __init__(
        self,
        clock: Clock,
        *,
        agi_host: str,
        agi_port: int,
        ami_username: str = "cc",
        ami_secret: str = "ccsecret",
        phone_answer_delay_s: float = 0.05,
        timing: AgiTiming | None = None,
        agi_exit_on_hangup: bool = False,
        trunk: str = "SIP/trunk",
    ) -> None:
        self.clock = clock
        self.settings = CallSettings(
            agi_host=agi_host,
            agi_port=agi_port,
            agi_url_host=f"{agi_host}:{agi_port}",
            timing=timing or AgiTiming(),
            phone_answer_delay_s=phone_answer_delay_s,
            agi_exit_on_hangup=agi_exit_on_hangup,
        )
        self.factory = ChannelFactory(clock, trunk=trunk)
        self.ami = AmiServer(clock, self, username=ami_username, secret=ami_secret)
        self.truth = GroundTruth()
        # Endpoints whose phones never answer (ring until CC_RING_TIMEOUT: the RONA path).
        self.silent_endpoints: set[str] = set()
        self._channels: dict[str, tuple[Channel, SimulatedCall]] = {}
        self._globals: dict[str, str] = {}
        self._seq = itertools.count(1)
        self._calls: set[asyncio.Future[None]] = set()
        self._listeners: list[Callable[[Fields], None]] = []
        # Outbound: who answers which number (see outbound.py), and each call's callee.
        self.callees: dict[str, Callee] = {}
        self._callee_of: dict[str, Callee] = {}
        # Supervisors' ChanSpy legs: spyer channel name -> (spyer, spied channel or None).
        self._spies: dict[str, tuple[Channel, Channel | None]] = {}
        # Legs that belong to no call's dialplan: a consultation target's phone (Originate into
        # a context), or an agent leg left behind by a completed transfer. Their bridges.
        self._free: dict[str, Channel] = {}
        self._bridges: dict[str, list[Channel]] = {}
        self._bridge_kind: dict[str, tuple[str, str, str, str]] = {}
        self._rooms: dict[str, str] = {}  # ConfBridge conference name -> bridge id
        # Asterisk's AstDB: (family, key) -> value (DB() in the dialplan, DBGet/DBDel on AMI).
        self.astdb: dict[tuple[str, str], str] = {}
        # MuteAudio state per channel name (True: muted).
        self.mutes: dict[str, bool] = {}

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def ami_port(self) -> int:
        return self.ami.port

    @property
    def agi_port(self) -> int:
        return self.settings.agi_port

    @agi_port.setter
    def agi_port(self, port: int) -> None:
        """Point new calls at another FastAGI port (the server's, once it has started)."""
        host = self.settings.agi_host
        self.settings = replace(self.settings, agi_port=port, agi_url_host=f"{host}:{port}")

    @property
    def agi_host(self) -> str:
        return self.settings.agi_host

    @agi_host.setter
    def agi_host(self, host: str) -> None:
        port = self.settings.agi_port
        self.settings = replace(self.settings, agi_host=host, agi_url_host=f"{host}:{port}")

    async def start(self, ami_host: str = "127.0.0.1", ami_port: int = 0) -> None:
        await self.ami.start(ami_host, ami_port)

    async def close(self) -> None:
        """Hang up every call in progress, then stop the AMI server."""
        for _, call in list(self._channels.values()):
            call.caller_hangs_up()
        if self._calls:
            await asyncio.wait(set(self._calls), timeout=5.0)
        for task in list(self._calls):
            task.cancel()
        if self._calls:
            await asyncio.wait(set(self._calls))
        await self.ami.close()

    def kill_ami_connections(self, refuse_for_s: float = 0.0) -> None:
        """Drop all AMI client sockets abruptly (fault injection); the calls go on. With
        `refuse_for_s`, new AMI connections are also refused for that long (an outage)."""
        if refuse_for_s > 0:
            self.ami.refuse_connections(refuse_for_s)
        self.ami.kill_connections()

    def add_listener(self, listener: Callable[[Fields], None]) -> None:
        """Also hand every AMI event to `listener` (tests, logs)."""
        self._listeners.append(listener)

    # --- calls --------------------------------------------------------------------------------

    async def place_call(
        self,
        caller_number: str | None,
        dnid: str,
        patience_s: float,
        talk_s: float,
        digits: list[str] | None = None,
        *,
        caller_name: str | None = None,
    ) -> CallTruth:
        """Run one inbound call from arrival to hang-up; returns what really happened.

        `caller_number` None means caller ID withheld. The caller hangs up after `patience_s`
        unless bridged to an agent by then, and `talk_s` after being bridged (unless the server
        hangs up first). `digits` answer GET DATA / WAIT FOR DIGIT in order.
        """
        seq = next(self._seq)
        chan = self.factory.inbound(caller_number, caller_name, dnid, "cc-inbound")
        truth = CallTruth(
            seq=seq,
            caller_number=caller_number,
            dnid=dnid,
            patience_s=patience_s,
            talk_s=talk_s,
            uniqueid=chan.uniqueid,
            channel=chan.name,
        )
        self.truth.add(truth)
        call = SimulatedCall(self, chan, truth, patience_s=patience_s, talk_s=talk_s, digits=digits)
        task = asyncio.ensure_future(run_call(call))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not task.cancelled() and task.exception() is not None:
            logger.error("simulated call %d crashed", seq, exc_info=task.exception())
        return truth

    def active_calls(self) -> int:
        return sum(1 for chan, call in self._channels.values() if chan is call.channel)

    # --- PbxContext ---------------------------------------------------------------------------

    def emit(self, fields: Fields) -> None:
        self.ami.broadcast(fields)
        for listener in self._listeners:
            try:
                listener(fields)
            except Exception:
                logger.exception("simulator event listener failed")

    def register(self, chan: Channel, call: SimulatedCall) -> None:
        self._channels[chan.name] = (chan, call)

    def unregister(self, chan: Channel) -> None:
        self._channels.pop(chan.name, None)
        for name, (spyer, spyee) in list(self._spies.items()):
            if spyee is chan:
                # ChanSpy stops on this channel and goes on scanning (recorded: no Hangup).
                self.emit(frames.chanspy("ChanSpyStop", spyer, chan))
                self._spies[name] = (spyer, None)

    def phone_answers(self, endpoint: str) -> bool:
        return endpoint not in self.silent_endpoints

    # --- AmiBackend ---------------------------------------------------------------------------

    def find_channel(self, name: str) -> Channel | None:
        found = self._channels.get(name)
        if found is None:
            spy = self._spies.get(name)
            return spy[0] if spy is not None else self._free.get(name)
        return found[0]

    def list_channels(self) -> list[Channel]:
        spies = [s for s, _ in self._spies.values()]
        return [chan for chan, _ in self._channels.values()] + spies + list(self._free.values())

    def set_variable(self, chan: Channel, name: str, value: str) -> None:
        found = self._channels.get(chan.name)
        if found is not None:
            found[1].set_channel_variable(chan, name, value)

    def get_global(self, name: str) -> str:
        return self._globals.get(name, "")

    def set_global(self, name: str, value: str) -> None:
        self._globals[name] = value

    def redirect(
        self,
        chan: Channel,
        context: str,
        exten: str,
        priority: int,
        extra: tuple[Channel, str, str, int] | None = None,
    ) -> None:
        if context == "cc-conference":
            self._redirect_to_conference(chan, exten, extra)
            return
        found = self._channels.get(chan.name)
        if found is None or found[1].channel is not chan:
            return
        call = found[1]
        leg_goto: tuple[str, str, int] | None = None
        if extra is not None and extra[0] is call.agent_leg and chan.bridge_id:
            leg_goto = extra[1:]
        call.request_redirect(context, exten, priority, leg_goto)

    def hangup_channel(self, chan: Channel, cause: int) -> None:
        spy = self._spies.pop(chan.name, None)
        if spy is not None:
            spyer, spyee = spy
            if spyee is not None:
                self.emit(frames.chanspy("ChanSpyStop", spyer, spyee))
            spyer.hung_up = True
            self.emit(frames.hangup(spyer, cause))
            return
        free = self._free.pop(chan.name, None)
        if free is not None:
            self.leave_bridge(free)
            free.hung_up = True
            self.emit(frames.hangup(free, cause))
            return
        found = self._channels.get(chan.name)
        if found is None:
            return
        call = found[1]
        if call.channel is chan:
            call.request_hangup("server", cause)
        elif call.channel.hung_up:
            call.hang_up_leg(chan, cause)  # a parked agent leg outliving its caller
            call.agent_leg = None
        else:
            call.request_leg_hangup(cause)

    def _call_of(self, chan: Channel) -> SimulatedCall | None:
        found = self._channels.get(chan.name)
        return None if found is None else found[1]

    def adopt_leg(self, call: SimulatedCall, leg: Channel, old: Channel | None) -> None:
        """`leg` (a free leg) becomes `call`'s agent leg; `old` (its agent leg) becomes free."""
        self._free.pop(leg.name, None)
        self.register(leg, call)
        if old is not None and old is not leg:
            self.unregister(old)
            self._free[old.name] = old

    def leave_bridge(self, leg: Channel) -> None:
        """`leg` leaves the consultation or conference bridge it is in (the bridge goes when
        empty)."""
        bridge_id = leg.bridge_id
        members = self._bridges.get(bridge_id)
        if not bridge_id or members is None:
            return
        kind = self._bridge_kind.get(bridge_id, frames.BASIC)
        members.remove(leg)
        leg.bridge_id = ""
        self.emit(frames.bridge_leave(bridge_id, len(members), leg, kind))
        if not members:
            del self._bridges[bridge_id]
            self._bridge_kind.pop(bridge_id, None)
            self._rooms = {r: b for r, b in self._rooms.items() if b != bridge_id}
            self.emit(frames.bridge_destroy(bridge_id, kind))

    def join_conference(self, chan: Channel, room: str) -> None:
        """ConfBridge(room): `chan` leaves its bridge and enters the conference's."""
        self.leave_bridge(chan)
        kind = frames.conference_kind(room)
        bridge_id = self._rooms.get(room)
        if bridge_id is None:
            bridge_id = str(uuid.uuid4())
            self._rooms[room] = bridge_id
            self._bridges[bridge_id] = []
            self._bridge_kind[bridge_id] = kind
            self.emit(frames.bridge_create(bridge_id, kind))
        members = self._bridges[bridge_id]
        members.append(chan)
        chan.bridge_id = bridge_id
        chan.goto("cc-conference", room, 1)
        chan.application, chan.app_data = "ConfBridge", room
        self.emit(frames.newexten(chan, "ConfBridge", room))
        self.emit(frames.bridge_enter(bridge_id, len(members), chan, kind))

    def _redirect_to_conference(
        self, chan: Channel, room: str, extra: tuple[Channel, str, str, int] | None
    ) -> None:
        """A Redirect into [cc-conference]: a caller goes through its dialplan task; any other
        leg (the agent's, a transfer target's) joins at once, after the action's response."""
        loop = asyncio.get_running_loop()
        for leg, target in ((chan, room), (extra[0], extra[2]) if extra else (None, "")):
            if leg is None:
                continue
            call = self._call_of(leg)
            if call is not None and call.channel is leg:
                call.request_redirect("cc-conference", target, 1)
            else:
                loop.call_soon(self.join_conference, leg, target)

    def _consult_bridge(self, first: Channel, second: Channel) -> None:
        """A basic bridge of two legs outside any call's dialplan (agent and transfer target)."""
        bridge_id = str(uuid.uuid4())
        self._bridges[bridge_id] = [first, second]
        self.emit(frames.bridge_create(bridge_id))
        for count, leg in enumerate((first, second), start=1):
            leg.bridge_id = bridge_id
            self.emit(frames.bridge_enter(bridge_id, count, leg))

    def bridge(self, chan1: Channel, chan2: Channel) -> str | None:
        """The pairings the server uses: a held caller with its parked agent leg or with a
        transfer target's leg; a parked agent leg with a transfer target's leg (consult)."""
        for held, other in ((chan1, chan2), (chan2, chan1)):
            call = self._call_of(held)
            if call is None or call.channel is not held or other.name not in self._free:
                continue
            if held.bridge_id or held.context != "cc-hold":
                return f"Unable to add Channel1 to bridge: {chan1.name}"
            call.request_bridge(other)
            return None
        for parked, other in ((chan1, chan2), (chan2, chan1)):
            call = self._call_of(parked)
            if call is None or call.agent_leg is not parked or other.name not in self._free:
                continue
            if parked.bridge_id or other.bridge_id:
                return f"Unable to add Channel1 to bridge: {chan1.name}"
            # events after the action's response, as for every action
            asyncio.get_running_loop().call_soon(self._consult_bridge, parked, other)
            return None
        call = self._call_of(chan1)
        if call is None or call.channel is not chan1 or call.agent_leg is not chan2:
            call = self._call_of(chan2)
            if call is None or call.channel is not chan2 or call.agent_leg is not chan1:
                return "Unable to bridge: the simulator bridges a held caller and its agent leg"
        if call.channel.bridge_id or call.channel.context != "cc-hold":
            return f"Unable to add Channel1 to bridge: {chan1.name}"
        call.request_bridge()
        return None

    def blind_transfer(self, chan: Channel, context: str, exten: str) -> str | None:
        call = self._call_of(chan)
        if call is None or call.agent_leg is not chan or not chan.bridge_id:
            return "Transfer invalid"
        call.request_transfer(context, exten)
        return None

    def mix_monitor(self, chan: Channel, file: str | None, start: bool) -> None:
        call = self._call_of(chan)
        if start:
            self.emit(frames.mix_monitor_start(chan))
            if call is not None and call.channel is chan:
                call.truth.recording = file or ""
        else:
            self.emit(frames.mix_monitor_stop(chan))
            if call is not None and call.channel is chan:
                call.truth.recording_stopped = True

    def mute(self, chan: Channel, direction: str, on: bool) -> None:
        self.mutes[chan.name] = on
        call = self._call_of(chan)
        if call is not None:
            call.truth.muted = on

    def play_dtmf(self, chan: Channel, digit: str, duration_ms: int) -> None:
        self.emit(frames.dtmf_begin(chan, digit, "Sent"))
        self.emit(frames.dtmf_end(chan, digit, duration_ms, "Sent"))
        call = self._call_of(chan)
        if call is not None:
            call.truth.dtmf_sent += digit

    # --- Originate ----------------------------------------------------------------------------

    def originate(self, client: AmiClientSession, msg: AmiMessage) -> None:
        client.send(_ack(msg, "Originate successfully queued"))
        task = asyncio.ensure_future(run_originate(self, msg))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    def amd_verdict(self, call: SimulatedCall) -> AmdVerdict:
        callee = self._callee_of.get(call.channel.uniqueid, Callee())
        status, cause = AMD_RESULTS.get(callee.behaviour, AMD_RESULTS["notsure"])
        return AmdVerdict(status, cause, callee.amd_delay_s)


def _ack(msg: AmiMessage, message: str) -> list[tuple[str, str]]:
    out = [("Response", "Success")]
    if msg.action_id is not None:
        out.append(("ActionID", msg.action_id))
    out.append(("Message", message))
    return out
