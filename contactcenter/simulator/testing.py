"""Raw-socket peers for tests of the simulator (and of anything that talks to it):

- `ScriptedAgiServer`: a tiny FastAGI server whose sessions a test drives line by line.
- `RawAmiClient`: an AMI client over a bare socket that keeps every message it reads.

Both keep the bytes as they came, so tests can compare them with recorded transcripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable

from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser, encode_message

__all__ = ["AgiPeer", "RawAmiClient", "ScriptedAgiServer"]


class AgiPeer:
    """The server end of one FastAGI session."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.env: dict[str, str] = {}
        self.env_keys: list[str] = []
        self.received = b""  # every byte read after the environment

    async def read_env(self, timeout_s: float = 5.0) -> dict[str, str]:
        async with asyncio.timeout(timeout_s):
            while (line := await self.reader.readline()) not in (b"\n", b""):
                key, _, value = line.decode().rstrip("\n").partition(": ")
                self.env[key] = value
                self.env_keys.append(key)
        return self.env

    async def read_line(self, timeout_s: float = 5.0) -> bytes:
        """One line (with its newline); b"" at EOF."""
        async with asyncio.timeout(timeout_s):
            line = await self.reader.readline()
        self.received += line
        return line

    async def read_exactly(self, n: int, timeout_s: float = 5.0) -> bytes:
        async with asyncio.timeout(timeout_s):
            data = await self.reader.readexactly(n)
        self.received += data
        return data

    def send(self, command: str | bytes) -> None:
        data = command if isinstance(command, bytes) else command.encode() + b"\n"
        self.writer.write(data)

    async def command(self, command: str, timeout_s: float = 5.0) -> bytes:
        """Send a command and read one line back."""
        self.send(command)
        return await self.read_line(timeout_s)

    async def at_eof(self, timeout_s: float = 5.0) -> bool:
        """Read everything up to EOF (kept in `received`); True once the peer closed."""
        async with asyncio.timeout(timeout_s):
            rest = await self.reader.read()
        self.received += rest
        return self.reader.at_eof()

    def half_close(self) -> None:
        self.writer.write_eof()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


class ScriptedAgiServer:
    """Accepts FastAGI connections; `await server.next_session()` hands each one to the test."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._sessions: asyncio.Queue[AgiPeer] = asyncio.Queue()
        self._peers: list[AgiPeer] = []
        self.port = 0

    async def start(self, host: str = "127.0.0.1") -> None:
        self._server = await asyncio.start_server(self._accept, host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = AgiPeer(reader, writer)
        self._peers.append(peer)
        await self._sessions.put(peer)

    async def next_session(self, timeout_s: float = 5.0) -> AgiPeer:
        async with asyncio.timeout(timeout_s):
            peer = await self._sessions.get()
        await peer.read_env()
        return peer

    async def close(self) -> None:
        for peer in self._peers:
            await peer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class RawAmiClient:
    """An AMI client on a bare socket; `messages` keeps everything read, in order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = AmiParser()
        self.messages: list[AmiMessage] = []
        self.raw = b""
        self._cursor = 0

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> RawAmiClient:
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def read_greeting(self, timeout_s: float = 5.0) -> bytes:
        async with asyncio.timeout(timeout_s):
            line = await self.reader.readline()
        self.parser.feed(line)
        return line

    def send(self, fields: Iterable[tuple[str, str]]) -> None:
        self.writer.write(encode_message(fields))

    async def _fill(self) -> bool:
        data = await self.reader.read(65536)
        if not data:
            return False
        self.raw += data
        self.messages.extend(self.parser.feed(data))
        return True

    async def next_message(self, timeout_s: float = 5.0) -> AmiMessage:
        """The next message not yet returned by next_message/wait_for."""
        async with asyncio.timeout(timeout_s):
            while self._cursor >= len(self.messages):
                if not await self._fill():
                    raise EOFError("AMI connection closed")
        msg = self.messages[self._cursor]
        self._cursor += 1
        return msg

    async def wait_for(
        self, predicate: Callable[[AmiMessage], bool], timeout_s: float = 5.0
    ) -> AmiMessage:
        """Skip to the next message that matches."""
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await self.next_message(timeout_s)
                if predicate(msg):
                    return msg

    async def wait_event(
        self, name: str, channel: str | None = None, timeout_s: float = 5.0
    ) -> AmiMessage:
        return await self.wait_for(
            lambda m: m.event == name and (channel is None or m.get("Channel") == channel),
            timeout_s,
        )

    async def at_eof(self, timeout_s: float = 5.0) -> bool:
        async with asyncio.timeout(timeout_s):
            while await self._fill():
                pass
        return True

    async def login(self, username: str = "cc", secret: str = "ccsecret") -> AmiMessage:
        await self.read_greeting()
        self.send([("Action", "Login"), ("ActionID", "login-1"), ("Username", username),
                   ("Secret", secret)])  # fmt: skip
        return await self.wait_for(lambda m: m.action_id == "login-1")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()
