"""Our own AMI client (contactcenter.telephony.ami) against the simulator's AMI server: actions,
list actions, events, and reconnection after the simulator drops every AMI socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from contactcenter.clock import SystemClock
from contactcenter.simulator import AgiTiming, SimulatedPbx
from contactcenter.simulator.testing import ScriptedAgiServer
from contactcenter.telephony.ami import AmiClient
from contactcenter.telephony.ami_protocol import AmiMessage
from contactcenter.telephony.errors import AmiActionError, AmiAuthError


@pytest.fixture
async def agi() -> AsyncIterator[ScriptedAgiServer]:
    server = ScriptedAgiServer()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def pbx(agi: ScriptedAgiServer) -> AsyncIterator[SimulatedPbx]:
    sim = SimulatedPbx(SystemClock(), agi_host="127.0.0.1", agi_port=agi.port, timing=AgiTiming())
    await sim.start()
    yield sim
    await sim.close()


async def test_client_actions_events_and_reconnect(
    pbx: SimulatedPbx, agi: ScriptedAgiServer
) -> None:
    events: list[AmiMessage] = []
    hung_up = asyncio.Event()
    connects: list[asyncio.Event] = [asyncio.Event(), asyncio.Event()]

    async def on_connect() -> None:
        next(e for e in connects if not e.is_set()).set()

    def on_event(msg: AmiMessage) -> None:
        events.append(msg)
        if msg.event == "Hangup":
            hung_up.set()

    client = AmiClient("127.0.0.1", pbx.ami_port, "cc", "ccsecret", on_event=on_event,
                       backoff_initial_s=0.05, on_connect=on_connect)  # fmt: skip
    await client.start()
    try:
        assert (await client.action("Ping"))["Ping"] == "Pong"
        call = asyncio.create_task(pbx.place_call("5550101", "100", 30, 0))
        peer = await agi.next_session()
        chan = peer.env["agi_channel"]
        channels = await client.list_action("CoreShowChannels")
        assert [m["Channel"] for m in channels] == [chan]
        reply = await client.action("Setvar", [("Channel", chan), ("Variable", "CC_X"),
                                               ("Value", "1")])  # fmt: skip
        assert reply["Message"] == "Variable Set"
        with pytest.raises(AmiActionError):
            await client.action("Getvar", [("Channel", "SIP/nosuch-0000"), ("Variable", "X")])

        pbx.kill_ami_connections()
        await asyncio.wait_for(connects[1].wait(), 5)  # logged in again
        await client.action("Hangup", [("Channel", chan)])
        assert await peer.read_line() == b"HANGUP\n"
        await peer.close()
        truth = await call
        await asyncio.wait_for(hung_up.wait(), 5)
        assert [e["Channel"] for e in events if e.event == "Hangup"] == [chan]
        assert truth.hung_up_by == "server"
        assert any(e.event == "Newchannel" and e.get("Channel") == chan for e in events)
    finally:
        await client.close()


async def test_client_wrong_secret(pbx: SimulatedPbx) -> None:
    client = AmiClient("127.0.0.1", pbx.ami_port, "cc", "wrong", on_event=lambda m: None,
                       reconnect=False)  # fmt: skip
    with pytest.raises(AmiAuthError, match="Authentication failed"):
        await client.start()
    await client.close()
