"""Bad peers on the FastAGI port: each costs one warning line and its own session, nothing more."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contactcenter.telephony.agi import AgiReply, AgiSession, FastAgiServer
from contactcenter.telephony.errors import AgiConnectionClosed, AgiTimeout, AgiUsageError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk"
AGI_LOGGERS = ("contactcenter.telephony.agi", "contactcenter.telephony.agi_session")


def recorded_env() -> bytes:
    first = (FIXTURES / "agi-call-control.jsonl").read_text(encoding="utf-8").splitlines()[0]
    data: str = json.loads(first)["data"]
    return data.encode("latin-1")


ENV = recorded_env()


class Harness:
    def __init__(self, server: FastAgiServer, handled: list[AgiSession]) -> None:
        self.server = server
        self.handled = handled

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        host, port = writer.get_extra_info("sockname")[:2]
        return reader, writer, f"{host}:{port}"

    async def expect_closed(self, reader: asyncio.StreamReader) -> None:
        """The server closes the connection (EOF) without writing anything."""
        assert await asyncio.wait_for(reader.read(), 5) == b""

    async def normal_session(self) -> None:
        """A recorded environment, then the route's one command: the server still serves."""
        before = len(self.handled)
        reader, writer, _ = await self.connect()
        try:
            writer.write(ENV)
            line = await asyncio.wait_for(reader.readline(), 5)
            assert line == b"SET VARIABLE CC_ACTION dial\n"
            writer.write(b"200 result=1\n")
            await self.expect_closed(reader)
        finally:
            await close(writer)
        assert len(self.handled) == before + 1


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    handled: list[AgiSession] = []

    async def inbound(session: AgiSession) -> None:
        handled.append(session)
        await session.set_variable("CC_ACTION", "dial")

    async def crashing(session: AgiSession) -> None:
        handled.append(session)
        raise RuntimeError("boom")

    async def idle(session: AgiSession) -> None:
        handled.append(session)
        await session.hungup.wait()

    routes = {"inbound": inbound, "crash": crashing, "idle": idle}
    server = FastAgiServer(routes, env_timeout_s=0.3, max_line=8192)
    await server.start("127.0.0.1", 0)
    try:
        yield Harness(server, handled)
    finally:
        await server.close()


def warnings_about(caplog: pytest.LogCaptureFixture, peer: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name in AGI_LOGGERS and r.levelno >= logging.WARNING and peer in r.getMessage()
    ]


BAD_INPUTS = {
    "http request": (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not an agi_ environment line"),
    "non utf-8 bytes": (b"\xff\xfe\x80garbage\x00\n", "not an agi_ environment line"),
    "oversized line": (b"agi_network: " + b"x" * 20000 + b"\n", "longer than 8192 bytes"),
    "endless line": (b"agi_network: " + b"y" * 50000, "longer than 8192 bytes"),
    "blank line first": (b"\n", "empty environment"),
    "no script": (b"agi_network: yes\nagi_channel: SIP/x-1\n\n", "without agi_network_script"),
    "unknown script": (ENV.replace(b"script: inbound", b"script: nosuch"), "no route for script"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
async def test_bad_input_closes_that_session_only(
    harness: Harness, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    data, problem = BAD_INPUTS[case]
    reader, writer, peer = await harness.connect()
    try:
        with contextlib.suppress(ConnectionError):
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(ConnectionError):
            await harness.expect_closed(reader)
    finally:
        await close(writer)
    lines = warnings_about(caplog, peer)
    assert len(lines) == 1, lines
    assert problem in lines[0]
    assert harness.handled == []
    await harness.normal_session()


async def test_env_timeout(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    reader, writer, peer = await harness.connect()
    try:
        writer.write(ENV[:100])
        await harness.expect_closed(reader)  # env_timeout_s=0.3
    finally:
        await close(writer)
    [line] = warnings_about(caplog, peer)
    assert "environment not complete within 0.3s" in line
    await harness.normal_session()


async def ticks_during(awaitable_seconds: float) -> int:
    """How many 10 ms sleeps the loop manages in the window: a busy loop starves this."""
    ticks = 0
    end = asyncio.get_running_loop().time() + awaitable_seconds
    while asyncio.get_running_loop().time() < end:
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_peer_gone_mid_environment_ends_the_session_no_busy_loop(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    _reader, writer, peer = await harness.connect()
    writer.write(ENV[: len(ENV) // 2])
    await writer.drain()
    await close(writer)  # EOF in the middle of the environment: read() returns b''
    assert await ticks_during(0.3) >= 10
    assert harness.server.active_sessions == 0
    [line] = warnings_about(caplog, peer)
    assert "in the middle of the environment" in line
    await harness.normal_session()


async def test_peer_gone_while_handler_idle_ends_the_session(harness: Harness) -> None:
    _reader, writer, _ = await harness.connect()
    writer.write(ENV.replace(b"script: inbound", b"script: idle"))
    await writer.drain()
    await asyncio.sleep(0.05)
    await close(writer)  # EOF without HANGUP while the handler waits
    assert await ticks_during(0.2) >= 10
    assert harness.server.active_sessions == 0
    [session] = harness.handled
    assert session.hungup.is_set() and session.closed
    with pytest.raises(AgiConnectionClosed):
        await session.answer()


async def test_handler_exception_is_logged_with_uniqueid_and_closes(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer, _ = await harness.connect()
    try:
        writer.write(ENV.replace(b"script: inbound", b"script: crash"))
        await harness.expect_closed(reader)
    finally:
        await close(writer)
    failures = [r for r in caplog.records if "failed" in r.getMessage() and r.exc_info]
    assert len(failures) == 1
    assert "uniqueid=1795914608.0" in failures[0].getMessage()
    await harness.normal_session()


async def test_command_timeout_closes_the_session(harness: Harness) -> None:
    done: list[Exception] = []

    async def slow(session: AgiSession) -> None:
        try:
            await session.command("ANSWER", timeout_s=0.1)
        except AgiTimeout as exc:
            done.append(exc)

    harness.server._routes["slow"] = slow
    reader, writer, _ = await harness.connect()
    try:
        writer.write(ENV.replace(b"script: inbound", b"script: slow"))
        assert await asyncio.wait_for(reader.readline(), 5) == b"ANSWER\n"
        await harness.expect_closed(reader)  # no reply from "Asterisk"
    finally:
        await close(writer)
    assert len(done) == 1


async def test_multiline_520_and_latin1_environment(harness: Harness) -> None:
    seen: list[object] = []

    async def usage(session: AgiSession) -> None:
        seen.append(session.env.calleridname)
        with pytest.raises(AgiUsageError) as error:
            await session.command("GET VARIABLE")
        seen.append(error.value.reply)
        seen.append(await session.get_variable("X"))  # still in step after the block
        seen.append(session.hungup.is_set())

    harness.server._routes["usage"] = usage
    env = ENV.replace(b"script: inbound", b"script: usage")
    env = env.replace(b"agi_calleridname: sipp", b"agi_calleridname: M\xfcller")
    reader, writer, _ = await harness.connect()
    try:
        writer.write(env)
        assert await asyncio.wait_for(reader.readline(), 5) == b"GET VARIABLE\n"
        writer.write(
            b"520-Invalid command syntax.  Proper usage follows:\n"
            b"HANGUP\n"  # inside the block: part of the usage text, not a hangup
            b"Usage: GET VARIABLE <variablename>\n"
            b"520 End of proper usage.\n"
        )
        assert await asyncio.wait_for(reader.readline(), 5) == b"GET VARIABLE X\n"
        writer.write(b"200 result=1 (a value)\n")
        await harness.expect_closed(reader)
    finally:
        await close(writer)
    calleridname, reply, value, hungup = seen
    assert calleridname == "M\xfcller"
    assert isinstance(reply, AgiReply) and reply.code == 520
    assert reply.raw.endswith("520 End of proper usage.") and reply.raw.count("\n") == 3
    assert (value, hungup) == ("a value", False)
