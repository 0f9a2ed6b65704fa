"""The simulator's call control actions, at the AMI byte level: each recorded frame shape is
compared with ../shared/asterisk's recording (ami-call-control, ami-originate-*); frames the
recordings lack are checked against the Asterisk source the handler cites:

- `Response: Error` texts: MuteAudio (res_mutestream.c manager_mutestream: "Channel not
  specified", "State not specified", "Direction not specified", "No such channel"), PlayDTMF
  (app_senddtmf.c manager_play_dtmf: "No such channel", "No digit specified"), Bridge (recorded:
  "Channel2 does not exist: <name>"), BlindTransfer (manager.c action_blind_transfer: "Transfer
  invalid" when the channel is in no bridge), Originate without Channel (recorded: "Channel not
  specified").
- Successes: MuteAudio answers a bare `Response: Success` (astman_append of the ActionID only),
  PlayDTMF `DTMF successfully queued`, Bridge `Channels have been bridged` (main/features.c
  action_bridge), MixMonitor / StopMixMonitor a bare Success (recorded).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from contactcenter.clock import SystemClock
from contactcenter.simulator import SimulatedPbx
from contactcenter.simulator.agi_commands import AgiTiming
from contactcenter.simulator.outbound import Callee
from contactcenter.simulator.testing import RawAmiClient, ScriptedAgiServer
from contactcenter.telephony.ami_protocol import AmiMessage
from tests.adapters.test_simulator_frames import keys, recorded_event


@pytest.fixture
async def agi() -> AsyncIterator[ScriptedAgiServer]:
    server = ScriptedAgiServer()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def pbx(agi: ScriptedAgiServer) -> AsyncIterator[SimulatedPbx]:
    sim = SimulatedPbx(
        SystemClock(), agi_host="127.0.0.1", agi_port=agi.port, timing=AgiTiming(prompt_s=0.0)
    )
    await sim.start()
    yield sim
    await sim.close()


@pytest.fixture
async def ami(pbx: SimulatedPbx) -> AsyncIterator[RawAmiClient]:
    client = await RawAmiClient.connect(pbx.ami_port)
    await client.login()
    yield client
    await client.close()


async def _reply(ami: RawAmiClient, action_id: str) -> AmiMessage:
    return await ami.wait_for(lambda m: m.action_id == action_id and m.response is not None)


async def _connected(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> tuple[str, str, asyncio.Task[object]]:
    """A caller bridged with PJSIP/1001; returns (caller channel, agent leg, the call)."""
    call = asyncio.create_task(pbx.place_call("5550101", "100", patience_s=30, talk_s=30))
    peer = await agi.next_session()
    chan = peer.env["agi_channel"]
    await peer.command("ANSWER")
    for name, value in (("CC_ENDPOINT", "PJSIP/1001"), ("CC_RING_TIMEOUT", "20")):
        ami.send([("Action", "Setvar"), ("Channel", chan), ("Variable", name), ("Value", value)])
    ami.send([("Action", "Redirect"), ("Channel", chan), ("Context", "cc-connect"),
              ("Exten", "s"), ("Priority", "1"), ("ActionID", "connect")])  # fmt: skip
    await _reply(ami, "connect")
    await peer.close()
    begin = await ami.wait_event("DialBegin", chan)
    await ami.wait_for(lambda m: m.event == "BridgeEnter" and m.get("Channel") == chan)
    return chan, begin["DestChannel"] or "", call  # type: ignore[return-value]


async def test_error_texts_of_the_actions(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    cases = [
        ([("Action", "MuteAudio"), ("State", "on"), ("Direction", "in")], "Channel not specified"),
        ([("Action", "MuteAudio"), ("Channel", "X"), ("Direction", "in")], "State not specified"),
        ([("Action", "MuteAudio"), ("Channel", "X"), ("State", "on")], "Direction not specified"),
        ([("Action", "MuteAudio"), ("Channel", "X"), ("State", "on"), ("Direction", "in")],
         "No such channel"),
        ([("Action", "PlayDTMF"), ("Channel", "X"), ("Digit", "1")], "No such channel"),
        ([("Action", "Bridge"), ("Channel1", "X"), ("Channel2", "Y")],
         "Channel1 does not exist: X"),
        ([("Action", "BlindTransfer"), ("Channel", "X"), ("Exten", "1")],
         "Channel specified does not exist"),
        ([("Action", "MixMonitor"), ("Channel", "X")], "No such channel"),
        ([("Action", "Originate"), ("Context", "cc-outbound"), ("Exten", "s")],
         "Channel not specified"),
    ]  # fmt: skip
    for index, (fields, message) in enumerate(cases):
        ami.send([*fields, ("ActionID", f"e{index}")])
        reply = await _reply(ami, f"e{index}")
        assert (reply.response, reply.get("Message")) == ("Error", message), fields
    chan, leg, call = await _connected(pbx, agi, ami)
    ami.send([("Action", "PlayDTMF"), ("Channel", chan), ("ActionID", "nodigit")])
    reply = await _reply(ami, "nodigit")
    assert reply.get("Message") == "No digit specified"
    ami.send([("Action", "BlindTransfer"), ("Channel", chan), ("Exten", "1"),
              ("Context", "cc-transfer"), ("ActionID", "notbridged")])  # fmt: skip
    # the caller is not the transferer: its own leg is not the agent's of a bridge
    assert (await _reply(ami, "notbridged")).get("Message") == "Transfer invalid"
    ami.send([("Action", "Hangup"), ("Channel", chan), ("ActionID", "end")])
    await _reply(ami, "end")
    await call
    assert leg.startswith("PJSIP/1001-")


async def test_hold_resume_mute_dtmf_recording_frames(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    chan, leg, call = await _connected(pbx, agi, ami)
    truth = pbx.truth.calls[-1]
    source = "ami-call-control"

    ami.send([("Action", "MixMonitor"), ("ActionID", "a2"), ("Channel", chan),
              ("File", "cc-x.wav"), ("Options", "b")])  # fmt: skip
    await _reply(ami, "a2")
    assert b"Response: Success\r\nActionID: a2\r\n\r\n" in ami.raw
    start = await ami.wait_event("MixMonitorStart", chan)
    assert keys(start) == keys(recorded_event(source, "MixMonitorStart"))

    ami.send([("Action", "Redirect"), ("Channel", chan), ("Context", "cc-hold"), ("Exten", "s"),
              ("Priority", "1"), ("ExtraChannel", leg), ("ExtraContext", "cc-agent-hold"),
              ("ExtraExten", "s"), ("ExtraPriority", "1"), ("ActionID", "hold")])  # fmt: skip
    assert (await _reply(ami, "hold")).get("Message") == "Redirect successful"
    parked = await ami.wait_for(lambda m: m.event == "Newexten" and m.get("Channel") == leg)
    assert (parked["Context"], parked["Application"]) == ("cc-agent-hold", "Wait")
    moh = await ami.wait_event("MusicOnHoldStart", chan)
    assert keys(moh) == keys(recorded_event(source, "MusicOnHoldStart"))
    assert not [m for m in ami.messages if m.event == "Hangup" and m.get("Channel") == leg]
    assert truth.holds == 1

    ami.send([("Action", "Bridge"), ("Channel1", chan), ("Channel2", leg), ("ActionID", "b")])
    assert (await _reply(ami, "b")).get("Message") == "Channels have been bridged"
    await ami.wait_event("MusicOnHoldStop", chan)
    enter = await ami.wait_for(
        lambda m: m.event == "BridgeEnter" and m.get("Channel") == chan and m is not moh
    )
    assert keys(enter) == keys(recorded_event(source, "BridgeEnter"))
    assert truth.resumes == 1

    ami.send([("Action", "MuteAudio"), ("Channel", leg), ("Direction", "in"), ("State", "on"),
              ("ActionID", "m")])  # fmt: skip
    await _reply(ami, "m")
    assert b"Response: Success\r\nActionID: m\r\n\r\n" in ami.raw
    assert truth.muted is True

    ami.send([("Action", "PlayDTMF"), ("Channel", chan), ("Digit", "5"), ("ActionID", "d")])
    assert (await _reply(ami, "d")).get("Message") == "DTMF successfully queued"
    sent = await ami.wait_for(lambda m: m.event == "DTMFEnd" and m.get("Channel") == chan)
    recorded_end = recorded_event(source, "DTMFEnd", Direction="Sent")
    assert keys(sent) == keys(recorded_end) and sent["Digit"] == "5"
    assert truth.dtmf_sent == "5"

    ami.send([("Action", "StopMixMonitor"), ("Channel", chan), ("ActionID", "a4")])
    await _reply(ami, "a4")
    await ami.wait_event("MixMonitorStop", chan)

    ami.send([("Action", "BlindTransfer"), ("Channel", leg), ("Context", "cc-transfer"),
              ("Exten", "5551234"), ("ActionID", "bt")])  # fmt: skip
    assert (await _reply(ami, "bt")).get("Message") == "Transfer succeeded"
    event = await ami.wait_event("BlindTransfer")
    assert keys(event) == keys(recorded_event(source, "BlindTransfer"))
    await ami.wait_for(lambda m: m.event == "Hangup" and m.get("Channel") == leg)
    ami.send([("Action", "Hangup"), ("Channel", chan), ("ActionID", "end")])
    await call
    assert truth.transferred_to == "cc-transfer,5551234"


async def test_originate_outcome_frames_as_recorded(pbx: SimulatedPbx, ami: RawAmiClient) -> None:
    source = "ami-originate-outcomes"
    pbx.callees["2001"] = Callee("busy")
    for action_id, channel in (("orig-busy", "Local/2001@customers"), ("orig-badtech", "Bogus/x")):
        ami.send([("Action", "Originate"), ("Context", "cc-outbound"), ("Exten", "s"),
                  ("Priority", "1"), ("CallerID", '"Campaign 7" <5559000>'), ("Async", "true"),
                  ("Timeout", "8000"), ("Channel", channel), ("ActionID", action_id)])  # fmt: skip
        reply = await _reply(ami, action_id)
        assert reply.get("Message") == "Originate successfully queued"
        mine = await ami.wait_for(
            lambda m, a=action_id: m.event == "OriginateResponse" and m.action_id == a  # type: ignore[misc]
        )
        theirs = recorded_event(source, "OriginateResponse", ActionID=action_id)
        assert mine.items_list() == [
            (k, v if k != "Context" else "cc-outbound") for k, v in theirs.items_list()
        ]
