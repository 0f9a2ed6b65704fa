"""Faults on either socket: garbage, truncated frames, oversized lines and non-UTF-8 bytes.

FastAGI: a peer sending them loses its own session (one log line), while a good session that is
in the middle of its commands at the same time completes. AMI: a fake AMI server sending them to
our AmiClient costs a skipped line (logged) or, for a frame cut by the connection's end, a
reconnection; the client still delivers the next good event and answers the next action.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from contactcenter.telephony.agi import AgiSession, FastAgiServer
from contactcenter.telephony.ami import AmiClient
from contactcenter.telephony.ami_protocol import (
    DEFAULT_MAX_FRAME as MAX_FRAME,
)
from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser, encode_message

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk"
WAIT_S = 10.0  # a guard against hanging, never a measured time


def recorded_env() -> bytes:
    first = (FIXTURES / "agi-dtmf-get-data.jsonl").read_text(encoding="utf-8").splitlines()[0]
    data: str = json.loads(first)["data"]
    return data.encode("latin-1")


ENV = recorded_env()
COMMANDS = [
    b"ANSWER\n",
    b'STREAM FILE welcome ""\n',
    b"GET DATA beep 3000 4\n",
    b"SET VARIABLE CC_ACTION queue\n",
    b"SET VARIABLE CC_DIGITS 1234\n",
]
REPLIES = [
    b"200 result=0\n",
    b"200 result=0 endpos=1234\n",
    b"200 result=1234\n",
    b"200 result=1\n",
    b"200 result=1\n",
]


# --- FastAGI ------------------------------------------------------------------------------------


@dataclass
class AgiHarness:
    routes: dict[str, Callable[[AgiSession], Awaitable[None]]] = field(default_factory=dict)
    port: int = 0
    active: Callable[[], int] = lambda: 0
    completed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    async def route(self, session: AgiSession) -> None:
        try:
            await session.answer()
            await session.stream_file("welcome")
            digits = await session.get_data("beep", 3000, 4)
            await session.set_variable("CC_ACTION", "queue")
            await session.set_variable("CC_DIGITS", digits or "")
        except Exception:
            self.failed.append(session.env.uniqueid)
            raise
        self.completed.append(session.env.uniqueid)

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


@pytest.fixture
async def agi() -> AsyncIterator[AgiHarness]:
    harness = AgiHarness()
    harness.routes["inbound"] = harness.route
    server = FastAgiServer({"inbound": lambda session: harness.routes["inbound"](session)})
    await server.start("127.0.0.1", 0)
    harness.port = server.port
    harness.active = lambda: server.active_sessions
    try:
        yield harness
    finally:
        await server.close()


async def read_line(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readline(), WAIT_S)


async def expect_eof(reader: asyncio.StreamReader) -> bytes:
    """All the server still writes, up to its EOF (a reset counts as the end too)."""
    with contextlib.suppress(ConnectionError):
        return await asyncio.wait_for(reader.read(), WAIT_S)
    return b""


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        writer.write(data)
        await writer.drain()


def env_with(uniqueid: str) -> bytes:
    return ENV.replace(b"agi_uniqueid: 1795913997.4", f"agi_uniqueid: {uniqueid}".encode())


async def run_fault(agi: AgiHarness, fault: str) -> None:
    """One bad peer: it must lose its connection (the server closes it)."""
    reader, writer = await agi.connect()
    try:
        if fault in ENV_FAULTS:
            await send(writer, ENV_FAULTS[fault])
            if fault == "truncated environment":
                writer.write_eof()
            assert await expect_eof(reader) == b""
            return
        await send(writer, env_with("bad.1"))
        assert await read_line(reader) == COMMANDS[0]
        await send(writer, SESSION_FAULTS[fault])
        if fault == "truncated reply":
            writer.write_eof()
        assert await expect_eof(reader) == b""
    finally:
        await close(writer)


ENV_FAULTS = {
    "garbage": b"\x00\x01\x02 \xde\xad\xbe\xef GET / HTTP/1.1\r\n\r\n",
    "truncated environment": ENV[: len(ENV) // 2],
    "oversized environment line": b"agi_network: yes\nagi_request: " + b"u" * 20_000 + b"\n\n",
    "non-utf-8 environment line": b"agi_network: yes\n\xff\xfe\xfd: \x80\x81\n\n",
}
SESSION_FAULTS = {
    "garbage reply": b"\x00\xff\xfe not a reply at all\n",
    "oversized reply": b"200 result=0 (" + b"z" * 20_000 + b")\n",
    "truncated reply": b"200 res",
    "non-utf-8 reply": b"\xc3\x28\xa0\xa1 \xff\n",
}
FAULT_LOG = {
    "garbage": "not an agi_ environment line",
    "truncated environment": "in the middle of the environment",
    "oversized environment line": "longer than 8192 bytes",
    "non-utf-8 environment line": "not an agi_ environment line",
    "garbage reply": "FastAGI handler 'inbound' failed",
    "oversized reply": "FastAGI line too long",
    "truncated reply": "FastAGI handler 'inbound' failed",
    "non-utf-8 reply": "FastAGI handler 'inbound' failed",
}


@pytest.mark.parametrize("fault", [*ENV_FAULTS, *SESSION_FAULTS])
async def test_fastagi_fault_drops_that_connection_only(
    agi: AgiHarness, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    caplog.set_level(logging.INFO, logger="contactcenter.telephony")
    # A good session, in the middle of its commands while the bad peer comes and goes.
    reader, writer = await agi.connect()
    try:
        await send(writer, env_with("good.1"))
        for command, reply in zip(COMMANDS[:2], REPLIES[:2], strict=True):
            assert await read_line(reader) == command
            await send(writer, reply)
        await asyncio.wait_for(run_fault(agi, fault), WAIT_S)
        for command, reply in zip(COMMANDS[2:], REPLIES[2:], strict=True):
            assert await read_line(reader) == command
            await send(writer, reply)
        assert await expect_eof(reader) == b""
    finally:
        await close(writer)
    assert agi.completed == ["good.1"]
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("contactcenter.telephony.agi")
    ]
    assert any(FAULT_LOG[fault] in line for line in warnings), warnings
    assert agi.active() == 0


async def test_fastagi_non_utf8_environment_value_is_served_as_latin1(agi: AgiHarness) -> None:
    env = env_with("latin.1").replace(b"Ann Customer", b"M\xfcller")
    seen: list[str | None] = []
    original = agi.route

    async def route(session: AgiSession) -> None:
        seen.append(session.env.calleridname)
        await original(session)

    agi.routes["inbound"] = route
    reader, writer = await agi.connect()
    try:
        await send(writer, env)
        for command, reply in zip(COMMANDS, REPLIES, strict=True):
            assert await read_line(reader) == command
            await send(writer, reply)
        assert await expect_eof(reader) == b""
    finally:
        await close(writer)
    assert seen == ["M\xfcller"] and agi.completed == ["latin.1"]


# --- AMI ----------------------------------------------------------------------------------------


class FaultyAmi:
    """A fake AMI server: greets, accepts any login, answers Ping; the test injects raw bytes."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []
        self.logins = 0
        self.login = asyncio.Event()
        self.port = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        parser = AmiParser()
        try:
            while data := await reader.read(65536):
                for action in parser.feed(data):
                    self.answer(action, writer)
        except ConnectionError:
            pass
        finally:
            writer.close()

    def answer(self, action: AmiMessage, writer: asyncio.StreamWriter) -> None:
        aid = ("ActionID", action.action_id or "")
        name = (action.get("Action") or "").lower()
        if name == "login":
            self.logins += 1
            self.login.set()
            writer.write(encode_message([("Response", "Success"), aid, ("Message", "ok")]))
        elif name == "ping":
            writer.write(encode_message([("Response", "Success"), aid, ("Ping", "Pong")]))
        elif name == "logoff":
            writer.write(encode_message([("Response", "Goodbye"), aid]))
            writer.close()

    def inject(self, data: bytes) -> None:
        self.writers[-1].write(data)


@dataclass
class AmiHarness:
    fake: FaultyAmi
    client: AmiClient
    events: asyncio.Queue[AmiMessage]

    async def next_event(self) -> AmiMessage:
        return await asyncio.wait_for(self.events.get(), WAIT_S)


@pytest.fixture
async def ami() -> AsyncIterator[AmiHarness]:
    fake = FaultyAmi()
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
    fake.port = server.sockets[0].getsockname()[1]
    events: asyncio.Queue[AmiMessage] = asyncio.Queue()
    client = AmiClient(
        "127.0.0.1",
        fake.port,
        "cc",
        "secret",
        on_event=events.put_nowait,
        ping_interval_s=0,
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
    )
    await client.start()
    try:
        yield AmiHarness(fake, client, events)
    finally:
        await client.close()
        for writer in fake.writers:
            writer.transport.abort()
        server.close()
        await server.wait_closed()


GOOD_EVENT = [("Event", "Newchannel"), ("Channel", "SIP/carrier-00000001"), ("Uniqueid", "1.1")]
AMI_FAULTS = {
    # name: (bytes injected, the log line it must cause)
    "garbage lines": (b"\x00\x01garbage without a colon\r\n\xde\xad\xbe\xef\r\n\r\n", "skipped"),
    "oversized line": (b"Event: Huge\r\nData: " + b"x" * 200_000 + b"\r\n\r\n", "oversized"),
    "oversized line without an end yet": (b"y" * 150_000, "oversized"),
    "lf-only and non-utf-8 frame": (b"Event: Odd\nCallerIDName: M\xfcller\xff\n\n", ""),
}


@pytest.mark.parametrize("fault", sorted(AMI_FAULTS))
async def test_ami_fault_skips_the_line_and_the_client_carries_on(
    ami: AmiHarness, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    caplog.set_level(logging.INFO, logger="contactcenter.telephony")
    data, log_line = AMI_FAULTS[fault]
    ami.fake.inject(data)
    if fault == "oversized line without an end yet":
        ami.fake.inject(b"\r\n\r\n")  # the line ends later: still one skipped line
    ami.fake.inject(encode_message(GOOD_EVENT))
    event = await ami.next_event()
    if fault == "lf-only and non-utf-8 frame":  # delivered, decoded as latin-1
        assert event.items_list() == [("Event", "Odd"), ("CallerIDName", "M\xfcller\xff")]
        event = await ami.next_event()
    elif fault == "oversized line":  # the frame is kept without its oversized line
        assert event.items_list() == [("Event", "Huge")]
        event = await ami.next_event()
    assert event.items_list() == GOOD_EVENT
    reply = await asyncio.wait_for(ami.client.action("Ping"), WAIT_S)
    assert reply["Ping"] == "Pong"
    assert ami.client.connected and ami.fake.logins == 1
    if log_line:
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any(log_line in line for line in warnings), warnings


async def test_ami_frame_truncated_by_the_connection_end_is_dropped_then_reconnect(
    ami: AmiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contactcenter.telephony")
    first = ami.fake.writers[-1]
    ami.fake.login.clear()
    first.write(b"Event: Hangup\r\nChannel: SIP/carrier-0000")
    first.close()
    await asyncio.wait_for(ami.fake.login.wait(), WAIT_S)  # the client logs in again
    assert ami.fake.logins == 2
    ami.fake.inject(encode_message(GOOD_EVENT))
    assert (await ami.next_event()).items_list() == GOOD_EVENT  # the cut frame never came out
    reply = await asyncio.wait_for(ami.client.action("Ping"), WAIT_S)
    assert reply["Ping"] == "Pong"
    assert any("connection" in r.getMessage() and "lost" in r.getMessage() for r in caplog.records)


async def test_ami_garbage_inside_a_frame_and_between_frames(ami: AmiHarness) -> None:
    """A bad line inside a frame costs that line; frames around it are intact."""
    ami.fake.inject(
        b"Event: A\r\n\xff\xfe no colon\r\nChannel: X\r\n\r\n"
        b"\r\n\r\nstray\r\n\r\n" + encode_message(GOOD_EVENT)
    )
    assert (await ami.next_event()).items_list() == [("Event", "A"), ("Channel", "X")]
    assert (await ami.next_event()).items_list() == GOOD_EVENT
    assert (await asyncio.wait_for(ami.client.action("Ping"), WAIT_S))["Ping"] == "Pong"


async def test_fastagi_endless_reply_block_closes_that_session(
    agi: AgiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """A `520-` block that never ends must not grow without bound (there is no timeout on EXEC,
    and before one fires a peer can send gigabytes): past a cap the session is closed, logged."""
    caplog.set_level(logging.INFO, logger="contactcenter.telephony")
    failures: list[Exception] = []

    async def route(session: AgiSession) -> None:
        try:
            await session.exec("Playback", "welcome")
        except Exception as exc:
            failures.append(exc)

    agi.routes["inbound"] = route
    reader, writer = await agi.connect()
    try:
        await send(writer, env_with("block.1"))
        assert await read_line(reader) == b"EXEC Playback welcome\n"
        await send(writer, b"520-Invalid command syntax.  Proper usage follows:\n")
        closed = asyncio.ensure_future(expect_eof(reader))
        for _ in range(200):  # up to 100k more lines, until the server hangs up
            if closed.done():
                break
            await send(writer, b"usage line that never ends the block\n" * 500)
        assert await closed == b""
    finally:
        await close(writer)
    assert [type(exc).__name__ for exc in failures] == ["AgiConnectionClosed"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("reply block over" in line for line in warnings), warnings


async def test_ami_frame_without_end_is_bounded_and_skipped(
    ami: AmiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """A frame whose lines go on and on (no empty line) is dropped past MAX_FRAME bytes instead
    of growing in memory; the frames after it are parsed."""
    caplog.set_level(logging.INFO, logger="contactcenter.telephony")
    line = b"Output: " + b"o" * 1000 + b"\r\n"
    ami.fake.inject(b"Event: Endless\r\n" + line * (MAX_FRAME // 1000 + 100) + b"\r\n")
    ami.fake.inject(encode_message(GOOD_EVENT))
    assert (await ami.next_event()).items_list() == GOOD_EVENT
    assert (await asyncio.wait_for(ami.client.action("Ping"), WAIT_S))["Ping"] == "Pong"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("frame over" in line for line in warnings), warnings
