"""Replay real Asterisk FastAGI transcripts against our FastAGI server, byte for byte.

The test plays Asterisk: it connects to the server and sends the recorded asterisk->server
chunks exactly as recorded (one write per chunk, with a pause so the chunk boundaries survive,
e.g. an environment split over two reads). Where Asterisk read a server->asterisk chunk, the test
reads the same number of bytes and requires them to equal the recording. The route handler issues
the commands the recorded server issued and checks the parsed replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from contactcenter.telephony.agi import AgiSession, FastAgiServer
from contactcenter.telephony.errors import (
    AgiChannelDead,
    AgiConnectionClosed,
    AgiUnknownCommand,
    AgiUsageError,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk"
Scenario = Callable[[AgiSession], Awaitable[None]]


def load(name: str) -> list[tuple[str, bytes]]:
    lines = (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    chunks = [json.loads(line) for line in lines if line.strip()]
    return [(c["dir"], c["data"].encode("latin-1")) for c in chunks]


async def play_asterisk(port: int, chunks: list[tuple[str, bytes]]) -> None:
    """Be Asterisk for one recorded session; assert the server's bytes match the recording."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    peer_closed = False  # Asterisk closed its side: later server writes went to a dead socket
    unread = b""  # recorded server writes that Asterisk never read
    try:
        for direction, data in chunks:
            if direction == "asterisk->server":
                if not peer_closed:
                    with contextlib.suppress(ConnectionError):
                        writer.write(data)
                        await writer.drain()
                    await asyncio.sleep(0.02)  # keep the recorded chunk boundaries
            elif direction == "server->asterisk":
                if peer_closed:
                    unread += data
                    continue
                got = await asyncio.wait_for(reader.readexactly(len(data)), 5)
                assert got == data
            elif b"closed by asterisk" in data:
                with contextlib.suppress(OSError):  # the server may have closed first
                    writer.write_eof()
                peer_closed = True
            elif b"server closed" in data or b"server half-closed" in data:
                rest = await asyncio.wait_for(reader.read(), 5)
                assert unread.startswith(rest), rest  # then EOF: the server closed promptly
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def run_scenario(name: str, scenario: Scenario) -> AgiSession:
    done = asyncio.Event()
    sessions: list[AgiSession] = []
    errors: list[Exception] = []

    async def route(session: AgiSession) -> None:
        sessions.append(session)
        try:
            await scenario(session)
        except Exception as exc:
            errors.append(exc)
            raise
        finally:
            done.set()

    server = FastAgiServer({"inbound": route, "outbound": route})
    await server.start("127.0.0.1", 0)
    try:
        await play_asterisk(server.port, load(name))
        await asyncio.wait_for(done.wait(), 5)
    finally:
        await server.close()
    if errors:
        raise errors[0]
    assert server.active_sessions == 0
    return sessions[0]


async def ivr_queue_answered(s: AgiSession) -> None:
    env = s.env
    assert (env.script, env.channel) == ("inbound", "SIP/sipp-00000000")
    assert env.uniqueid == "1795913961.0"
    assert (env.callerid, env.calleridname, env.dnid) == ("sipp", "sipp", "100")
    assert (env.extension, env.context, env.type, env.args) == ("100", "from-pstn", "SIP", ["100"])
    assert env.raw["agi_accountcode"] == ""
    await s.answer()
    reply = await s.command('STREAM FILE beep "0123456789*#"')
    assert (reply.result, reply.endpos) == ("0", 3520)
    assert await s.get_data("hello-world", 6000, 4) is None  # 200 result= (timeout)
    assert await s.say_digits("123") is None
    await s.set_variable("CC_ACTION", "queue")
    assert await s.get_variable("CC_ACTION") == "queue"
    assert await s.get_variable("NO_SUCH_VARIABLE") is None
    assert await s.get_full_variable("${CALLERID(num)}") == "sipp"
    assert await s.channel_status() == 6
    await s.verbose("cc lab ivr", 1)
    with pytest.raises(AgiUnknownCommand) as unknown:
        await s.command("FOOBAR BAZ")
    assert unknown.value.reply.code == 510
    with pytest.raises(AgiUsageError):
        await s.command("GET DATA")
    assert await s.exec("Playback", "beep") == 0
    assert await s.exec("MusicOnHold", "default,2") == 0
    assert await s.exec("NoSuchApplication", "x") == -2
    assert not s.hungup.is_set()


async def ivr_readall(s: AgiSession) -> None:
    await s.answer()
    assert await s.stream_file("beep", "0123456789*#") is None
    assert await s.get_data("beep", 3000, 4) is None
    await s.say_digits("4711")
    await s.set_variable("CC_ACTION", "queue")
    assert await s.get_variable("CC_ACTION") == "queue"
    assert await s.get_full_variable("${CALLERID(num)}") == "sipp"
    expr = "${CALLERID(name)} <${CALLERID(num)}> ${CHANNEL(state)}"
    assert await s.get_full_variable(expr) == "sipp <sipp> Up"
    assert await s.exec("Playback", "beep") == 0
    assert await s.exec("MusicOnHold", "default,2") == 0
    assert await s.channel_status() == 6
    await s.verbose("cc lab ivr readall")
    with pytest.raises(AgiUnknownCommand):
        await s.command("NOSUCH COMMAND")


async def call_control(s: AgiSession) -> None:
    await s.set_variable("CC_AGENT", "1003")
    await s.set_variable("CC_ACTION", "dial")


async def caller_hangup_during_agi(s: AgiSession) -> None:
    await s.answer()
    assert await s.exec("MusicOnHold", "default,30") == -1
    with pytest.raises(AgiChannelDead):  # HANGUP, then 511: never taken for the reply
        await s.stream_file("beep")
    assert s.hungup.is_set()
    assert await s.get_variable("CC_ACTION") is None


async def hangup_while_idle(s: AgiSession) -> None:
    await s.answer()
    await asyncio.wait_for(s.hungup.wait(), 5)  # unsolicited HANGUP while idle
    assert not s.closed
    assert await s.get_variable("CC_ACTION") is None
    with pytest.raises(AgiChannelDead):
        await s.stream_file("beep")
    with pytest.raises(AgiChannelDead):
        await s.channel_status()


async def hangup_exitonhangup(s: AgiSession) -> None:
    await s.answer()
    await asyncio.wait_for(s.hungup.wait(), 5)
    with pytest.raises(AgiConnectionClosed):  # Asterisk sent HANGUP twice, then EOF
        await s.get_variable("CC_ACTION")


async def redirect_while_idle(s: AgiSession) -> None:
    await s.answer()
    await asyncio.wait_for(s.hungup.wait(), 5)
    assert await s.get_variable("CC_ACTION") is None


async def dtmf_get_data(s: AgiSession) -> None:
    assert s.env.type == "Local" and s.env.dnid is None
    assert s.env.calleridname == "Ann Customer"
    assert await s.get_data("beep", 8000, 5) == "1234"
    assert await s.wait_for_digit(3000) is None
    await s.set_variable("CC_ACTION", "hangup")


async def args_query(s: AgiSession) -> None:
    env = s.env
    assert env.network_script == "outbound?campaign=7&lead=42"
    assert env.script == "outbound"
    assert env.query == {"campaign": "7", "lead": "42"}
    assert env.args == ["first", "second arg", "", "with,comma", "last"]
    assert (env.type, env.dnid, env.callerid) == ("Local", None, "5550199")
    assert await s.get_variable("AGISTATUS") is None
    assert await s.channel_status() == 6


async def server_half_close(s: AgiSession) -> None:
    await s.answer()
    await s.set_variable("CC_ACTION", "hangup")


async def redirect_during_agi(s: AgiSession) -> None:
    assert await s.exec("MusicOnHold", "default,30") == -1
    assert await s.get_variable("CC_ACTION") is None  # HANGUP came before the reply
    assert s.hungup.is_set()


SCENARIOS: dict[str, Scenario] = {
    "agi-inbound-ivr-queue-answered": ivr_queue_answered,
    "agi-inbound-ivr-readall": ivr_readall,
    "agi-call-control": call_control,
    "agi-caller-hangup-during-agi": caller_hangup_during_agi,
    "agi-hangup-while-agi-idle": hangup_while_idle,
    "agi-hangup-agiexitonhangup": hangup_exitonhangup,
    "agi-redirect-while-agi-idle": redirect_while_idle,
    "agi-dtmf-get-data": dtmf_get_data,
    "agi-args-query": args_query,
    "agi-server-half-close": server_half_close,
    "agi-redirect-during-agi": redirect_during_agi,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_replay_transcript(name: str) -> None:
    await run_scenario(name, SCENARIOS[name])


async def test_session_is_closed_once_the_handler_returns() -> None:
    session = await run_scenario("agi-hangup-while-agi-idle", hangup_while_idle)
    assert session.hungup.is_set()
    assert session.closed
