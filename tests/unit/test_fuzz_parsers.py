"""Fuzzing both wire parsers with hypothesis (reproducible: `derandomize=True`).

AMI: `AmiParser.feed` with arbitrary bytes and with recorded Asterisk streams mutated (truncated,
spliced, random bytes inserted, CRLF/LF mixed, oversized lines, non-UTF-8). It never raises, and a
well-formed message that follows the garbage (after a line end and an empty line) is parsed intact.

FastAGI: `decode_line`, `parse_env_line` and `parse_reply` with arbitrary input, and the session
start of a real `FastAgiServer` fed arbitrary byte streams over a raw socket. The server closes
every such connection, leaves no task with an unhandled exception, and still serves a good session.
(The socket part lives here, not in tests/adapters/, because it is one fuzz campaign with the rest.)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactcenter.telephony.agi import AgiSession, FastAgiServer
from contactcenter.telephony.agi_protocol import decode_line, parse_env_line, parse_reply
from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser, encode_message
from contactcenter.telephony.errors import AgiError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk"
MANY = settings(
    max_examples=10_000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SOCKET = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_LINE = 256  # small, so oversized lines are cheap to generate
MAX_FRAME = 2048  # small, so oversized frames are too


@cache
def recorded(prefix: str, direction: str = "asterisk->server") -> tuple[bytes, ...]:
    """Each recorded stream in one direction, concatenated (bytes as they crossed the socket)."""
    streams = []
    for path in sorted(FIXTURES.glob(f"{prefix}-*.jsonl")):
        chunks = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        data = b"".join(c["data"].encode("latin-1") for c in chunks if c["dir"] == direction)
        if data:
            streams.append(data)
    return tuple(streams)


@st.composite
def window(draw: st.DrawFn, prefix: str, max_len: int = 3000) -> bytes:
    """A slice of a recorded stream (so truncated at both ends, mid-line or mid-message)."""
    stream = draw(st.sampled_from(recorded(prefix)))
    start = draw(st.integers(0, max(0, len(stream) - 1)))
    length = draw(st.integers(0, max_len))
    return stream[start : start + length]


NON_UTF8 = (b"\xff\xfe", b"\xc3", b"M\xfcller", b"\xe2\x82")
OVERSIZE = (b"X", b"K: ", b"\xff")


def mutate(data: bytes, program: bytes, streams: tuple[bytes, ...]) -> bytes:
    """Apply a mutation program: each 4 bytes are one operation (kind, position, argument).

    Drawing one short byte string and interpreting it is much cheaper for hypothesis than drawing
    each operation, and it still shrinks well (fewer and smaller operations)."""
    for i in range(0, len(program) - 3, 4):
        kind, arg = program[i] % 6, program[i + 3]
        at = int.from_bytes(program[i + 1 : i + 3], "big") % (len(data) + 1)
        if kind == 0:  # truncated
            data = data[:at]
        elif kind == 1:  # spliced with another recorded stream, at any offset
            other = streams[arg % len(streams)]
            start = (at * 131 + arg * 977) % max(1, len(other))
            data = data[:at] + other[start : start + 4 * arg]
        elif kind == 2:  # random bytes inserted
            data = data[:at] + program[i + 1 : i + 1 + 1 + arg % 3] + bytes([arg]) + data[at:]
        elif kind == 3:  # CRLF and LF line ends mixed
            lines = data.replace(b"\r\n", b"\n").split(b"\n")
            data = b"".join(
                line + (b"\r\n" if (arg >> (n % 8)) & 1 else b"\n") for n, line in enumerate(lines)
            )
        elif kind == 4:  # an oversized line (or line start) inserted
            data = data[:at] + OVERSIZE[arg % 3] * (MAX_LINE - 8 + arg * 3) + data[at:]
        else:  # non-UTF-8 bytes inserted
            data = data[:at] + NON_UTF8[arg % 4] + data[at:]
    return data


@st.composite
def mutated(draw: st.DrawFn, prefix: str) -> bytes:
    """A window of a recorded stream with a few mutations applied in turn."""
    return mutate(draw(window(prefix)), draw(st.binary(max_size=16)), recorded(prefix))


def chunked(draw: Callable[[st.SearchStrategy[bytes]], bytes], data: bytes) -> list[bytes]:
    """`data` cut into TCP-like reads at drawn offsets."""
    blob = draw(st.binary(max_size=8))
    cuts = sorted(
        int.from_bytes(blob[i : i + 2], "big") % (len(data) + 1) for i in range(0, len(blob), 2)
    )
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def small_parser() -> AmiParser:
    return AmiParser(max_line=MAX_LINE, max_frame=MAX_FRAME)


def feed_all(parser: AmiParser, parts: list[bytes]) -> list[AmiMessage]:
    return [msg for part in parts for msg in parser.feed(part)]


# --- AMI ---------------------------------------------------------------------------------------


@cache
def parsed(stream: bytes) -> list[AmiMessage]:
    return AmiParser().feed(stream)


@cache
def recorded_messages() -> list[AmiMessage]:
    """Every message of the recordings up to MAX_FRAME bytes that survives a round trip."""
    out = []
    for stream in recorded("ami"):
        for msg in parsed(stream):
            encoded = encode_message(msg.items_list())
            if len(encoded) <= MAX_FRAME and AmiParser().feed(encoded) == [msg]:
                out.append(msg)
    return out


@MANY
@given(
    st.data(),
    st.binary(max_size=600) | mutated("ami"),
    st.sampled_from(recorded_messages()),
)
def test_ami_parser_fuzz(data: st.DataObject, garbage: bytes, good: AmiMessage) -> None:
    """Arbitrary bytes or a mutated recording, cut into arbitrary reads: `feed` never raises,
    the result does not depend on the cuts, and after a line end and an empty line the parser
    is back in step: the good message that follows is parsed intact."""
    fields = good.items_list()
    stream = garbage + b"\r\n\r\n" + encode_message(fields)
    parser = small_parser()
    messages = feed_all(parser, chunked(data.draw, stream))
    for msg in messages:
        assert all(key and key == key.strip() for key in msg)
    assert small_parser().feed(stream) == messages  # split-independent
    assert messages, "the good message was lost"
    assert messages[-1].items_list() == fields
    assert not parser.feed(b"\r\n")  # nothing half-parsed left behind


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.data(), st.sampled_from(recorded("ami")))
def test_ami_recorded_streams_parse_the_same_in_any_chunking(
    data: st.DataObject, stream: bytes
) -> None:
    parser = AmiParser()
    assert feed_all(parser, chunked(data.draw, stream)) == parsed(stream)
    assert parser.skipped == 0


# --- FastAGI: the pure functions ----------------------------------------------------------------


def reply_line(result: str, data: str | None, endpos: int | None) -> str:
    line = f"200 result={result}"
    if data is not None:
        line += f" ({data})"
    return line if endpos is None else f"{line} endpos={endpos}"


LINE_STARTS: tuple[bytes, ...] = (
    b"",
    b"200 result=",
    b"200 result=1 (",
    b"200 ",
    b"510 ",
    b"520-",
    b"520 ",
    b"511 ",
)
LINE_STARTS += (b"HANGUP", b"agi_", b"agi_network_script: ", b"agi_arg_1:", b"\xef\xbb\xbf")


@MANY
@given(
    st.sampled_from(LINE_STARTS), st.binary(max_size=100), st.sampled_from([b"", b"\n", b"\r\n"])
)
def test_agi_line_parsers_fuzz(start: bytes, rest: bytes, end: bytes) -> None:
    """decode_line, parse_env_line and parse_reply on arbitrary lines (starting like real ones
    half the time): they never raise and their results keep their invariants."""
    raw = start + rest + end
    line = decode_line(raw)
    body = raw.removesuffix(b"\n").removesuffix(b"\r")
    assert len(line) <= len(body)
    if b"\n" not in body and b"\r" not in body:
        assert "\n" not in line and "\r" not in line
    item = parse_env_line(line)
    if item is not None:
        key, value = item
        assert key.startswith("agi_") and len(key) > 4 and " " not in key
        assert line in (f"{key}: {value}", f"{key}:{value}")
    assert parse_env_line("agi_x: " + line) == ("agi_x", line)
    reply = parse_reply(line)
    assert reply.raw == line and 0 <= reply.code <= 999
    reply.result_int, reply.message  # noqa: B018 (computed without raising)
    if reply.code != 200:
        assert reply.result == "" and reply.data is None and reply.endpos is None


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(
    st.integers(-2, 10**6).map(str) | st.sampled_from(["", "1234", "*#"]),
    st.none()
    | st.text(
        st.characters(blacklist_characters="\r\n()", blacklist_categories=["Cs"]), max_size=20
    ),
    st.none() | st.integers(0, 10**9),
    st.booleans(),
)
def test_agi_reply_round_trip(
    result: str, data: str | None, endpos: int | None, crlf: bool
) -> None:
    line = f"200 result={result}"
    if data is not None:
        line += f" ({data})"
    if endpos is not None:
        line += f" endpos={endpos}"
    raw = line.encode("utf-8") + (b"\r\n" if crlf else b"\n")
    reply = parse_reply(decode_line(raw))
    assert (reply.code, reply.result, reply.data, reply.endpos) == (200, result, data, endpos)


# --- FastAGI: the server's session start over a real socket -----------------------------------


class ServerThread:
    """A FastAgiServer on 127.0.0.1:0 in its own thread and event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.errors: list[dict[str, Any]] = []
        self.completed = 0
        self.loop.set_exception_handler(lambda _loop, ctx: self.errors.append(ctx))
        self.server = FastAgiServer(
            {"inbound": self.inbound, "outbound": self.inbound}, env_timeout_s=5.0, max_line=1024
        )
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self.server.start("127.0.0.1", 0))

    async def inbound(self, session: AgiSession) -> None:
        try:
            await session.answer()
            await session.stream_file("welcome")
            await session.get_data("beep", 3000, 4)
            await session.set_variable("CC_ACTION", "queue")
        except AgiError:
            return
        self.completed += 1

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def agi_server() -> Iterator[ServerThread]:
    server = ServerThread()
    try:
        yield server
    finally:
        server.stop()


def env_complete(data: bytes) -> bool:
    """Whether the server will see the end of an environment (a blank line) in `data`."""
    return any(not decode_line(line).strip() for line in data.split(b"\n")[:-1])


def exchange(port: int, data: bytes, replies: list[bytes]) -> bytes:
    """Send `data`, answer each command line the server writes with the next of `replies`, then
    half-close; return all the server wrote up to its EOF (which must come)."""
    replies = replies if env_complete(data) else []
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
            answered, shut = 0, False
            while True:
                if not shut and answered >= len(replies):
                    sock.shutdown(socket.SHUT_WR)
                    shut = True
                chunk = sock.recv(65536)
                if not chunk:
                    return received
                received += chunk
                while not shut and answered < min(len(replies), received.count(b"\n")):
                    sock.sendall(replies[answered])
                    answered += 1
        except OSError:  # reset, or already closed by the server
            return received


GOOD_REPLIES = [
    b"200 result=0\n",
    b"200 result=0 endpos=1234\n",
    b"200 result=1234\n",
    b"200 result=1\n",
]


@st.composite
def agi_stream(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return draw(st.binary(max_size=600))
    env = draw(st.sampled_from(recorded("agi")))
    env = env[: env.index(b"\n\n") + 2] if b"\n\n" in env else env
    if choice == 1:
        return draw(mutated("agi"))
    at = draw(st.integers(0, len(env)))
    return env[:at] + draw(st.binary(max_size=80)) + env[at:]


def good_session(server: ServerThread) -> None:
    env = recorded("agi")[0]
    env = env[: env.index(b"\n\n") + 2]
    before = server.completed
    written = exchange(server.server.port, env, GOOD_REPLIES)
    assert written.splitlines() == [
        b"ANSWER",
        b"STREAM FILE welcome " + b'""',
        b"GET DATA beep 3000 4",
        b"SET VARIABLE CC_ACTION queue",
    ]
    assert server.completed == before + 1


@SOCKET
@given(agi_stream(), st.booleans())
def test_fastagi_session_start_with_arbitrary_bytes(
    agi_server: ServerThread, data: bytes, answer: bool
) -> None:
    exchange(agi_server.server.port, data, GOOD_REPLIES if answer else [])
    assert not agi_server.errors


def test_fastagi_server_still_serves_after_the_fuzz(agi_server: ServerThread) -> None:
    print("sessions completed during the fuzz:", agi_server.completed)
    good_session(agi_server)
    assert not agi_server.errors
