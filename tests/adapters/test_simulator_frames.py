"""The simulator's AMI server against the Asterisk 20 recordings in tests/fixtures/asterisk/:
fixed replies byte for byte, events with the same field names in the same order."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from contactcenter.clock import SystemClock
from contactcenter.simulator import SimulatedPbx
from contactcenter.simulator.agi_commands import AgiTiming
from contactcenter.simulator.testing import RawAmiClient, ScriptedAgiServer
from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser

FIXTURES = Path(__file__).parent.parent / "fixtures" / "asterisk"


def chunks(name: str, direction: str = "asterisk->server") -> list[bytes]:
    out = []
    for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["dir"] == direction:
            out.append(rec["data"].encode("latin-1"))
    return out


def recorded(name: str) -> list[AmiMessage]:
    parser = AmiParser()
    return [m for chunk in chunks(name) for m in parser.feed(chunk)]


def recorded_event(name: str, event: str, **match: str) -> AmiMessage:
    for msg in recorded(name):
        if msg.event == event and all(msg.get(k) == v for k, v in match.items()):
            return msg
    raise AssertionError(f"no {event} {match} in {name}")


def keys(msg: AmiMessage) -> list[str]:
    return [k for k, _ in msg.items_list()]


def reply_bytes(name: str, action_id: str) -> bytes:
    """The recorded response block of one action, exactly as Asterisk wrote it."""
    raw = b"".join(chunks(name))
    block = re.search(rb"Response: [^\r]*\r\nActionID: " + action_id.encode() + rb"\r\n.*?\r\n\r\n",
                      raw, re.S)  # fmt: skip
    assert block is not None, action_id
    return block.group(0)


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


async def test_greeting_and_login_as_recorded(pbx: SimulatedPbx) -> None:
    ami = await RawAmiClient.connect(pbx.ami_port)
    assert await ami.read_greeting() == chunks("ami-actions")[0]
    ami.send([("Action", "Login"), ("ActionID", "login-1"), ("Username", "cc"),
              ("Secret", "ccsecret")])  # fmt: skip
    response = await ami.next_message()
    booted = await ami.next_message()
    rec_response, rec_booted = recorded("ami-actions")[:2]
    assert response == rec_response
    assert keys(booted) == keys(rec_booted)
    assert booted["Status"] == "Fully Booted"
    await ami.close()


async def test_wrong_secret_is_refused_and_closed(pbx: SimulatedPbx) -> None:
    ami = await RawAmiClient.connect(pbx.ami_port)
    await ami.read_greeting()
    ami.send([("Action", "Login"), ("ActionID", "login-1"), ("Username", "cc"),
              ("Secret", "wrong")])  # fmt: skip
    assert await ami.at_eof()
    assert ami.raw == chunks("ami-login-failure")[1]


async def test_action_before_login_is_denied(pbx: SimulatedPbx) -> None:
    ami = await RawAmiClient.connect(pbx.ami_port)
    await ami.read_greeting()
    ami.send([("Action", "Ping"), ("ActionID", "before-login")])
    await ami.next_message()
    assert ami.raw == reply_bytes("ami-login-variants", "before-login")
    await ami.close()


async def test_ping_unknown_action_missing_channel_and_logoff(pbx: SimulatedPbx) -> None:
    ami = await RawAmiClient.connect(pbx.ami_port)
    await ami.login()
    ami.raw = b""
    ami.send([("Action", "Ping"), ("ActionID", "a2")])
    ping = await ami.wait_for(lambda m: m.action_id == "a2")
    assert keys(ping) == keys(_recorded_reply("a2"))
    assert re.fullmatch(r"\d+\.\d{6}", ping["Timestamp"])
    for fields, action_id in (
        ([("Action", "Getvar"), ("ActionID", "a10"), ("Channel", "SIP/nosuch-0000"),
          ("Variable", "X")], "a10"),
        ([("Action", "NoSuchAction"), ("ActionID", "a11")], "a11"),
    ):  # fmt: skip
        ami.raw = b""
        ami.send(fields)
        await ami.wait_for(_reply_to(action_id))
        assert ami.raw == reply_bytes("ami-actions", action_id)
    ami.raw = b""
    ami.send([("Action", "Logoff"), ("ActionID", "a13")])
    assert await ami.at_eof()
    assert ami.raw == reply_bytes("ami-actions", "a13")


def _reply_to(action_id: str) -> Callable[[AmiMessage], bool]:
    return lambda m: m.action_id == action_id


def _recorded_reply(action_id: str) -> AmiMessage:
    for msg in recorded("ami-actions"):
        if msg.action_id == action_id and msg.response is not None:
            return msg
    raise AssertionError(action_id)


async def test_events_off_at_login_sends_no_events(
    pbx: SimulatedPbx, agi: ScriptedAgiServer
) -> None:
    quiet = await RawAmiClient.connect(pbx.ami_port)
    await quiet.read_greeting()
    quiet.send([("Action", "Login"), ("ActionID", "q"), ("Username", "cc"),
                ("Secret", "ccsecret"), ("Events", "off")])  # fmt: skip
    await quiet.next_message()
    loud = await RawAmiClient.connect(pbx.ami_port)
    await loud.login()
    call = asyncio.create_task(pbx.place_call("5550101", "100", patience_s=0.2, talk_s=0))
    peer = await agi.next_session()
    assert await peer.read_line() == b"HANGUP\n"
    await peer.close()
    await call
    await loud.wait_event("Hangup")
    quiet.send([("Action", "Ping"), ("ActionID", "after")])
    pong = await quiet.wait_for(lambda m: m.action_id == "after")
    assert [m.name for m in quiet.messages] == ["Success", "Success"]
    assert pong["Ping"] == "Pong"
    await quiet.close()
    await loud.close()


async def test_call_in_agi_then_hangup_action_frames(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    call = asyncio.create_task(pbx.place_call("sipp", "105", patience_s=30, talk_s=5))
    peer = await agi.next_session()
    chan = peer.env["agi_channel"]
    assert await peer.command("ANSWER") == b"200 result=0\n"
    peer.send("EXEC MusicOnHold default,30")
    moh = await ami.wait_event("MusicOnHoldStart", chan)
    ami.send([("Action", "Setvar"), ("ActionID", "a6"), ("Channel", chan),
              ("Variable", "CC_CALL_ID"), ("Value", "c-123")])  # fmt: skip
    ami.send([("Action", "Getvar"), ("ActionID", "a7"), ("Channel", chan),
              ("Variable", "CC_CALL_ID")])  # fmt: skip
    ami.send([("Action", "Status"), ("ActionID", "a8"), ("Channel", chan)])
    ami.send([("Action", "CoreShowChannels"), ("ActionID", "a3")])
    complete = await ami.wait_event("CoreShowChannelsComplete")
    ami.send([("Action", "Hangup"), ("ActionID", "a9"), ("Channel", chan), ("Cause", "16")])
    assert await peer.read_line() == b"200 result=-1\n"
    assert await peer.read_line() == b"HANGUP\n"
    await peer.close()
    truth = await call
    hangup = await ami.wait_event("Hangup", chan)

    source = "ami-actions"
    seen = ami.messages
    for event in ("Newchannel", "Newstate", "Newexten", "VarSet", "MusicOnHoldStart",
                  "MusicOnHoldStop", "CoreShowChannel", "Status", "StatusComplete"):  # fmt: skip
        mine = next(m for m in seen if m.event == event)
        assert keys(mine) == keys(recorded_event(source, event)), event
    for action_id in ("a6", "a7", "a8", "a3"):
        mine = next(m for m in seen if m.action_id == action_id and m.response)
        assert keys(mine) == keys(_recorded_reply(action_id)), action_id
    assert next(m for m in seen if m.action_id == "a7")["Value"] == "c-123"
    assert complete["ListItems"] == "1"
    assert moh["Class"] == "default"
    assert b"Response: Success\r\nActionID: a9\r\nMessage: Channel Hungup\r\n\r\n" in ami.raw
    assert keys(hangup) == keys(recorded_event("ami-redirect-while-agi-idle", "Hangup"))
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("16", "Normal Clearing")
    assert truth.outcome == "failed" and truth.hung_up_by == "server"


async def test_connected_call_frames(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    call = asyncio.create_task(pbx.place_call("sipp", "104", patience_s=30, talk_s=0.2))
    peer = await agi.next_session()
    chan = peer.env["agi_channel"]
    await peer.command("ANSWER")
    for name, value in (("CC_ENDPOINT", "PJSIP/1001"), ("CC_RING_TIMEOUT", "20")):
        ami.send([("Action", "Setvar"), ("Channel", chan), ("Variable", name), ("Value", value)])
    ami.send([("Action", "Redirect"), ("Channel", chan), ("Context", "cc-connect"),
              ("Exten", "s"), ("Priority", "1"), ("ActionID", "redirect-idle")])  # fmt: skip
    await ami.wait_for(lambda m: m.action_id == "redirect-idle")
    assert reply_bytes("ami-redirect-while-agi-idle", "redirect-idle") in ami.raw
    assert await peer.read_line() == b"HANGUP\n"
    await asyncio.sleep(0.1)
    ami.send([("Action", "Ping"), ("ActionID", "before-close")])
    await ami.wait_for(lambda m: m.action_id == "before-close")
    # The channel stays in AGI until the server closes the FastAGI socket.
    assert not [m for m in ami.messages if m.get("Context") == "cc-connect"]
    await peer.close()
    truth = await call
    await ami.wait_event("Hangup", chan)

    source = "ami-redirect-while-agi-idle"
    seen = [m for m in ami.messages if m.event]
    for event in ("DialBegin", "DialEnd", "BridgeCreate", "BridgeEnter", "BridgeLeave",
                  "BridgeDestroy", "Hangup"):  # fmt: skip
        mine = next(m for m in seen if m.event == event)
        assert keys(mine) == keys(recorded_event(source, event)), event
    leg = next(m for m in seen if m.event == "DialBegin")["DestChannel"]
    assert re.fullmatch(r"PJSIP/1001-[0-9a-f]{8}", leg)
    assert next(m for m in seen if m.event == "DialEnd")["DialStatus"] == "ANSWER"
    enters = [m for m in seen if m.event == "BridgeEnter"]
    assert [(m["Channel"], m["BridgeNumChannels"]) for m in enters] == [(leg, "1"), (chan, "2")]
    hangups = [m for m in seen if m.event == "Hangup"]
    assert [(m["Channel"], m["Cause"], m["Cause-txt"]) for m in hangups] == [
        (leg, "16", "Normal Clearing"),
        (chan, "16", "Normal Clearing"),
    ]
    agistatus = next(m for m in seen if m.get("Variable") == "AGISTATUS")
    assert agistatus["Value"] == "HANGUP"
    first_connect = next(m for m in seen if m.get("Context") == "cc-connect")
    leg_created = next(m for m in seen if m.event == "Newchannel" and m["Channel"] == leg)
    assert seen.index(leg_created) > seen.index(first_connect) > seen.index(agistatus)
    assert truth.outcome == "answered" and truth.hung_up_by == "caller"
    assert truth.endpoint == "PJSIP/1001" and truth.answered_at is not None


async def test_kill_ami_connections_keeps_calls_going(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    call = asyncio.create_task(pbx.place_call("5550101", "100", patience_s=0.3, talk_s=0))
    peer = await agi.next_session()
    await ami.wait_event("Newexten")
    pbx.kill_ami_connections()
    with pytest.raises((EOFError, ConnectionError)):
        while True:
            await ami.next_message()
    assert await peer.command("ANSWER") == b"200 result=0\n"
    assert await peer.read_line() == b"HANGUP\n"  # the caller's patience ran out
    await peer.close()
    truth = await call
    assert truth.outcome == "abandoned"
    again = await RawAmiClient.connect(pbx.ami_port)
    assert (await again.login()).response == "Success"
    await again.close()
