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
from collections.abc import Callable
from dataclasses import replace

from contactcenter.clock import Clock
from contactcenter.simulator.agi_commands import AgiTiming
from contactcenter.simulator.ami_server import AmiServer
from contactcenter.simulator.call import CallSettings, SimulatedCall
from contactcenter.simulator.channels import Channel, ChannelFactory
from contactcenter.simulator.dialplan import run_call
from contactcenter.simulator.truth import CallTruth, GroundTruth

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

    def phone_answers(self, endpoint: str) -> bool:
        return endpoint not in self.silent_endpoints

    # --- AmiBackend ---------------------------------------------------------------------------

    def find_channel(self, name: str) -> Channel | None:
        found = self._channels.get(name)
        return None if found is None else found[0]

    def list_channels(self) -> list[Channel]:
        return [chan for chan, _ in self._channels.values()]

    def set_variable(self, chan: Channel, name: str, value: str) -> None:
        found = self._channels.get(chan.name)
        if found is not None:
            found[1].set_channel_variable(chan, name, value)

    def get_global(self, name: str) -> str:
        return self._globals.get(name, "")

    def set_global(self, name: str, value: str) -> None:
        self._globals[name] = value

    def redirect(self, chan: Channel, context: str, exten: str, priority: int) -> None:
        found = self._channels.get(chan.name)
        if found is not None and found[1].channel is chan:
            found[1].request_redirect(context, exten, priority)

    def hangup_channel(self, chan: Channel, cause: int) -> None:
        found = self._channels.get(chan.name)
        if found is None:
            return
        call = found[1]
        if call.channel is chan:
            call.request_hangup("server", cause)
        else:
            call.request_leg_hangup(cause)
