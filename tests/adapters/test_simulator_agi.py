"""The simulator's FastAGI client side against the Asterisk 20 recordings: a tiny FastAGI server
in the test sends the recorded commands, and the simulator must answer with the recorded bytes
(HANGUP lines, -1 results and 511s included)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contactcenter.clock import SystemClock
from contactcenter.simulator import AgiTiming, SimulatedPbx
from contactcenter.simulator.testing import AgiPeer, RawAmiClient, ScriptedAgiServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "asterisk"
FAST = AgiTiming(prompt_s=0.0, timeout_scale=0.001)


def transcript(name: str) -> list[tuple[str, bytes]]:
    rows = [json.loads(line) for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines()]
    return [(r["dir"], r["data"].encode("latin-1")) for r in rows if r["dir"] != "note"]


def recorded_env_keys(name: str) -> list[str]:
    data = b"".join(d for direction, d in transcript(name) if direction == "asterisk->server")
    env = data.split(b"\n\n", 1)[0].decode()
    return [line.partition(":")[0] for line in env.splitlines()]


def after_env(name: str) -> bytes:
    """Everything Asterisk wrote after the environment block."""
    data = b"".join(d for direction, d in transcript(name) if direction == "asterisk->server")
    return data.split(b"\n\n", 1)[1]


def commands(name: str) -> list[str]:
    return [d.decode().rstrip("\n") for direction, d in transcript(name)
            if direction == "server->asterisk"]  # fmt: skip


@pytest.fixture
async def agi() -> AsyncIterator[ScriptedAgiServer]:
    server = ScriptedAgiServer()
    await server.start()
    yield server
    await server.close()


async def _pbx(
    agi: ScriptedAgiServer, *, timing: AgiTiming = FAST, exit_on_hangup: bool = False
) -> SimulatedPbx:
    sim = SimulatedPbx(
        SystemClock(),
        agi_host="127.0.0.1",
        agi_port=agi.port,
        timing=timing,
        agi_exit_on_hangup=exit_on_hangup,
    )
    await sim.start()
    return sim


@pytest.fixture
def timing() -> AgiTiming:
    return FAST


@pytest.fixture
async def pbx(agi: ScriptedAgiServer, timing: AgiTiming) -> AsyncIterator[SimulatedPbx]:
    sim = await _pbx(agi, timing=timing)
    yield sim
    await sim.close()


@pytest.fixture
async def ami(pbx: SimulatedPbx) -> AsyncIterator[RawAmiClient]:
    client = await RawAmiClient.connect(pbx.ami_port)
    await client.login()
    yield client
    await client.close()


async def _replay(peer: AgiPeer, name: str) -> None:
    """Send the recorded commands; the replies must be the recorded bytes."""
    expected = after_env(name)
    for cmd in commands(name):
        peer.send(cmd)
        await peer.read_line()
    assert peer.received == expected


@pytest.mark.parametrize(
    ("name", "digits"),
    [
        ("agi-inbound-ivr-queue-answered", None),
        ("agi-inbound-ivr-readall", None),
        ("agi-dtmf-get-data", ["1234"]),
    ],
)
async def test_ivr_commands_answer_as_recorded(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, name: str, digits: list[str] | None
) -> None:
    call = asyncio.create_task(pbx.place_call("sipp", "100", 30, 0, digits, caller_name="sipp"))
    peer = await agi.next_session()
    assert peer.env_keys == recorded_env_keys(name)
    assert peer.env["agi_network_script"] == "inbound"
    assert peer.env["agi_request"] == f"agi://127.0.0.1:{agi.port}/inbound"
    assert (peer.env["agi_dnid"], peer.env["agi_arg_1"], peer.env["agi_priority"]) == (
        "100", "100", "3"
    )  # fmt: skip
    await _replay(peer, name)
    await peer.close()
    truth = await call
    assert truth.arrived_at is not None and truth.agi_sessions == 1


async def _redirect(ami: RawAmiClient, channel: str) -> None:
    for name, value in (("CC_ENDPOINT", "PJSIP/1001"), ("CC_RING_TIMEOUT", "15")):
        ami.send([("Action", "Setvar"), ("Channel", channel), ("Variable", name),
                  ("Value", value)])  # fmt: skip
    ami.send([("Action", "Redirect"), ("ActionID", "r"), ("Channel", channel),
              ("Context", "cc-connect"), ("Exten", "s"), ("Priority", "1")])  # fmt: skip
    reply = await ami.wait_for(lambda m: m.action_id == "r")
    assert reply["Message"] == "Redirect successful"


async def test_redirect_during_exec(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    call = asyncio.create_task(pbx.place_call("sipp", "104", 30, 0.1))
    peer = await agi.next_session()
    peer.send("EXEC MusicOnHold default,30")
    await ami.wait_event("MusicOnHoldStart")
    await _redirect(ami, peer.env["agi_channel"])
    assert await peer.read_line() == b"200 result=-1\n"
    assert await peer.command("GET VARIABLE CC_ACTION") == b"HANGUP\n"
    assert await peer.read_line() == b"200 result=0\n"
    assert peer.received == after_env("agi-redirect-during-agi")
    await peer.close()
    truth = await call
    assert truth.outcome == "answered" and truth.endpoint == "PJSIP/1001"


async def test_redirect_while_idle(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    call = asyncio.create_task(pbx.place_call("sipp", "104", 30, 0.1))
    peer = await agi.next_session()
    assert await peer.command("ANSWER") == b"200 result=0\n"
    await _redirect(ami, peer.env["agi_channel"])
    assert await peer.read_line() == b"HANGUP\n"  # unsolicited
    assert await peer.command("GET VARIABLE CC_ACTION") == b"200 result=0\n"
    assert peer.received == after_env("agi-redirect-while-agi-idle")
    await peer.close()
    assert (await call).outcome == "answered"


@pytest.mark.parametrize("timing", [AgiTiming()])  # MusicOnHold's 30 s in real time
async def test_caller_hangup_during_exec(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    call = asyncio.create_task(pbx.place_call("sipp", "103", 0.3, 0))
    peer = await agi.next_session()
    channel = peer.env["agi_channel"]
    assert await peer.command("ANSWER") == b"200 result=0\n"
    assert await peer.command("EXEC MusicOnHold default,30") == b"200 result=-1\n"
    assert await peer.command('STREAM FILE beep ""') == b"HANGUP\n"
    assert await peer.read_line() == (
        b"511 Command Not Permitted on a dead channel or intercept routine\n"
    )
    assert await peer.command("GET VARIABLE CC_ACTION") == b"200 result=0\n"
    assert peer.received == after_env("agi-caller-hangup-during-agi")
    # The channel lingers (no Hangup event) until the server closes the socket.
    await asyncio.sleep(0.1)
    ami.send([("Action", "Ping"), ("ActionID", "p")])
    await ami.wait_for(lambda m: m.action_id == "p")
    assert not [m for m in ami.messages if m.event == "Hangup"]
    await peer.close()
    hangup = await ami.wait_event("Hangup", channel)
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("0", "Unknown")  # as recorded for a BYE
    truth = await call
    assert (truth.outcome, truth.hung_up_by) == ("abandoned", "caller")


async def test_caller_hangup_while_idle_then_dead_channel(
    pbx: SimulatedPbx, agi: ScriptedAgiServer
) -> None:
    call = asyncio.create_task(pbx.place_call("sipp", "107", 0.2, 0))
    peer = await agi.next_session()
    for cmd in commands("agi-hangup-while-agi-idle")[:1]:
        await peer.command(cmd)
    assert await peer.read_line() == b"HANGUP\n"  # unsolicited
    for cmd in commands("agi-hangup-while-agi-idle")[1:]:
        await peer.command(cmd)
    assert peer.received == after_env("agi-hangup-while-agi-idle")
    await peer.close()
    assert (await call).outcome == "abandoned"


async def test_agi_exit_on_hangup(agi: ScriptedAgiServer) -> None:
    sim = await _pbx(agi, exit_on_hangup=True)
    try:
        call = asyncio.create_task(sim.place_call("sipp", "190", 0.2, 0))
        peer = await agi.next_session()
        assert await peer.command("ANSWER") == b"200 result=0\n"
        assert await peer.at_eof()  # Asterisk ends the session itself
        assert peer.received == after_env("agi-hangup-agiexitonhangup")
        truth = await asyncio.wait_for(call, 5)  # without the server closing
        assert truth.outcome == "abandoned"
    finally:
        await sim.close()


async def test_server_half_close_gets_a_last_hangup(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    call = asyncio.create_task(pbx.place_call("sipp", "108", 30, 0))
    peer = await agi.next_session()
    for cmd in commands("agi-server-half-close"):
        await peer.command(cmd)
    peer.half_close()
    assert await peer.at_eof()
    assert peer.received == after_env("agi-server-half-close")
    truth = await call
    assert (truth.outcome, truth.hung_up_by) == ("failed", "server")  # CC_ACTION=hangup
    status = await ami.wait_for(lambda m: m.get("Variable") == "AGISTATUS")
    assert status["Value"] == "SUCCESS"


async def test_agi_hangup_command(pbx: SimulatedPbx, agi: ScriptedAgiServer) -> None:
    call = asyncio.create_task(pbx.place_call("5550101", "100", 30, 0))
    peer = await agi.next_session()
    assert await peer.command("HANGUP") == b"200 result=1\n"
    assert await peer.read_line() == b"HANGUP\n"
    assert await peer.command("ANSWER") == (
        b"511 Command Not Permitted on a dead channel or intercept routine\n"
    )
    await peer.close()
    truth = await call
    assert (truth.outcome, truth.hung_up_by) == ("failed", "server")


async def test_server_closes_without_action_goes_to_fallback(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    call = asyncio.create_task(pbx.place_call(None, "100", 0.3, 0))
    peer = await agi.next_session()
    assert (peer.env["agi_callerid"], peer.env["agi_calleridname"]) == ("unknown", "unknown")
    await peer.close()
    await ami.wait_for(lambda m: m.get("Context") == "cc-fallback")
    truth = await call
    assert (truth.outcome, truth.hung_up_by) == ("failed", "caller")


async def test_server_unreachable_fails_the_call(agi: ScriptedAgiServer) -> None:
    sim = SimulatedPbx(SystemClock(), agi_host="127.0.0.1", agi_port=1, timing=FAST)
    await sim.start()
    try:
        truth = await sim.place_call("5550101", "100", 0.2, 0)
    finally:
        await sim.close()
    assert truth.outcome == "failed" and truth.arrived_at is None


async def test_phone_not_answering_returns_caller_to_the_server(
    pbx: SimulatedPbx, agi: ScriptedAgiServer, ami: RawAmiClient
) -> None:
    pbx.silent_endpoints.add("PJSIP/1002")
    call = asyncio.create_task(pbx.place_call("5550101", "100", 30, 0.1))
    peer = await agi.next_session()
    channel = peer.env["agi_channel"]
    for name, value in (("CC_ENDPOINT", "PJSIP/1002"), ("CC_RING_TIMEOUT", "0.2")):
        ami.send([("Action", "Setvar"), ("Channel", channel), ("Variable", name),
                  ("Value", value)])  # fmt: skip
    ami.send([("Action", "Redirect"), ("Channel", channel), ("Context", "cc-connect"),
              ("Exten", "s"), ("Priority", "1")])  # fmt: skip
    assert await peer.read_line() == b"HANGUP\n"
    await peer.close()
    dial_end = await ami.wait_event("DialEnd", channel)
    assert dial_end["DialStatus"] == "NOANSWER"
    again = await agi.next_session()  # cc-connect,4: AGI(.../inbound,${CC_DNID})
    assert again.env["agi_channel"] == channel
    assert (again.env["agi_context"], again.env["agi_priority"]) == ("cc-connect", "4")
    assert again.env["agi_arg_1"] == "100"
    await _redirect(ami, channel)
    assert await again.read_line() == b"HANGUP\n"
    await again.close()
    truth = await call
    assert truth.outcome == "answered" and truth.dial_attempts == 2 and truth.agi_sessions == 2
