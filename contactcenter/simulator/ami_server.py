"""The simulator's AMI server: what our AMI client connects to instead of Asterisk's port 5038.

Speaks the recorded wire format (contactcenter.telephony.ami_protocol does the framing): the
greeting `Asterisk Call Manager/9.0.0`, Login (plain or Challenge/MD5; `Events: off` honoured),
`Permission denied` before login, `Authentication failed` then close, and events broadcast to
every logged-in client that wants them. The actions themselves are in ami_actions.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Iterable

from contactcenter.clock import Clock
from contactcenter.simulator import frames
from contactcenter.simulator.ami_actions import AmiBackend, EventFilter, dispatch, reply
from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser, encode_message

__all__ = ["GREETING", "AmiClientSession", "AmiServer"]

logger = logging.getLogger(__name__)

GREETING = b"Asterisk Call Manager/9.0.0\r\n"


class AmiClientSession:
    """One connected AMI client."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.logged_in = False
        self.events_on = True
        self.username = ""
        self.challenge: str | None = None
        self.closing = False
        self.filters: list[EventFilter] = []

    def wants(self, event_name: str, text: str) -> bool:
        """Asterisk's rule: with include filters, an event must match one; it must match no
        exclude filter."""
        includes = [f for f in self.filters if f.include]
        if includes and not any(f.matches(event_name, text) for f in includes):
            return False
        return not any(f.matches(event_name, text) for f in self.filters if not f.include)

    def send(self, fields: Iterable[tuple[str, str]]) -> None:
        if self.closing or self.writer.is_closing():
            return
        self.writer.write(encode_message(fields))


class AmiServer:
    def __init__(
        self,
        clock: Clock,
        backend: AmiBackend,
        *,
        username: str,
        secret: str,
        failed_login_delay_s: float = 0.0,
    ) -> None:
        self._clock = clock
        self._backend = backend
        self._username = username
        self._secret = secret
        self._failed_login_delay_s = failed_login_delay_s
        self._server: asyncio.Server | None = None
        self._clients: set[AmiClientSession] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._started_at = clock.now()
        self._rng = random.Random()
        self._refuse_until: float | None = None
        self.port = 0

    @property
    def clients(self) -> int:
        """Logged-in clients."""
        return sum(1 for c in self._clients if c.logged_in)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._started_at = self._clock.now()
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("simulated AMI listening on %s:%d", host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.kill_connections()
        if self._tasks:
            # An aborted socket ends each connection's read loop on its own.
            _, pending = await asyncio.wait(set(self._tasks), timeout=2.0)
            for task in pending:
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def kill_connections(self) -> None:
        """Drop every AMI client socket abruptly (fault injection); calls go on."""
        for client in list(self._clients):
            client.closing = True
            client.writer.transport.abort()
        self._clients.clear()

    def refuse_connections(self, for_s: float) -> None:
        """Fault injection: for `for_s` seconds (on the PBX clock), close every new AMI
        connection at once, before the greeting, as a restarting Asterisk would."""
        self._refuse_until = self._clock.now() + for_s

    def accept_connections(self) -> None:
        self._refuse_until = None

    def broadcast(self, fields: list[tuple[str, str]]) -> None:
        """Send one event to every logged-in client with events on (and its filters passing)."""
        data = encode_message(fields)
        event_name = fields[0][1] if fields and fields[0][0] == "Event" else ""
        text: str | None = None
        for client in list(self._clients):
            if client.logged_in and client.events_on and not client.writer.is_closing():
                if client.filters:
                    text = data.decode("latin-1") if text is None else text
                    if not client.wants(event_name, text):
                        continue
                client.writer.write(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refuse_until is not None and self._clock.now() < self._refuse_until:
            logger.info("simulated AMI: refusing a connection (fault injection)")
            writer.transport.abort()
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        client = AmiClientSession(writer)
        self._clients.add(client)
        parser = AmiParser()
        try:
            writer.write(GREETING)
            while not client.closing:
                data = await reader.read(65536)
                if not data:
                    break
                for msg in parser.feed(data):
                    await self._handle(client, msg)
                    if client.closing:
                        break
                await writer.drain()
        except (ConnectionError, OSError) as exc:
            logger.debug("AMI client dropped: %s", exc)
        finally:
            self._clients.discard(client)
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()
                await writer.wait_closed()

    async def _handle(self, client: AmiClientSession, msg: AmiMessage) -> None:
        action = (msg.get("Action") or "").lower()
        if action == "login":
            await self._login(client, msg)
        elif action == "challenge":
            client.challenge = str(self._rng.randint(100_000_000, 999_999_999))
            client.send(reply(msg, "Success", ("Challenge", client.challenge)))
        elif action == "logoff":
            client.send(reply(msg, "Goodbye", ("Message", "Thanks for all the fish.")))
            await client.writer.drain()
            client.closing = True
        elif not client.logged_in:
            client.send(reply(msg, "Error", ("Message", "Permission denied")))
        else:
            dispatch(self._backend, client, msg, self._clock.now())

    def _check_secret(self, client: AmiClientSession, msg: AmiMessage) -> bool:
        if msg.get("Username") != self._username:
            return False
        if (msg.get("AuthType") or "").lower() == "md5":
            if client.challenge is None:
                return False
            expected = hashlib.md5((client.challenge + self._secret).encode()).hexdigest()
            return (msg.get("Key") or "").lower() == expected
        return msg.get("Secret") == self._secret

    async def _login(self, client: AmiClientSession, msg: AmiMessage) -> None:
        if not self._check_secret(client, msg):
            logger.info("simulated AMI: authentication failed for %r", msg.get("Username"))
            if self._failed_login_delay_s > 0:
                await asyncio.sleep(self._failed_login_delay_s)
            client.send(reply(msg, "Error", ("Message", "Authentication failed")))
            await client.writer.drain()
            client.closing = True
            return
        client.logged_in = True
        client.username = msg.get("Username") or ""
        client.events_on = (msg.get("Events") or "on").lower() != "off"
        client.send(reply(msg, "Success", ("Message", "Authentication accepted")))
        if client.events_on:
            client.send(frames.fully_booted(int(self._clock.now() - self._started_at)))
