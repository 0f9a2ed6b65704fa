"""FastAGI sessions: one `AgiSession` per Asterisk connection, with typed command helpers.

Asterisk answers every command with one reply line (or a `520-` ... `520 ` block), and writes
`HANGUP` on its own whenever the caller goes away, also between commands. A single reader task
per session sorts the two: `HANGUP` sets `session.hungup` and is never taken for a reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from contactcenter.ids import CallId
from contactcenter.telephony.agi_protocol import (
    AgiEnvironment,
    AgiReply,
    decode_line,
    parse_reply,
    quote,
    quote_if_needed,
)
from contactcenter.telephony.errors import (
    AgiChannelDead,
    AgiCommandError,
    AgiConnectionClosed,
    AgiError,
    AgiTimeout,
    AgiUnknownCommand,
    AgiUsageError,
)

__all__ = ["AgiSession", "close_writer"]

logger = logging.getLogger(__name__)


class _Default:
    pass


_DEFAULT: Final = _Default()
_WRITE_HIGH_WATER = 64 * 1024
# A `520-` usage block from Asterisk is a few dozen lines. A peer that never ends one would
# otherwise grow it without bound (EXEC waits with no timeout).
MAX_BLOCK_LINES = 1000


class _OutOfStep(Exception):
    """The peer broke the protocol so that the session cannot go on."""


class AgiSession:
    """One FastAGI connection. Created by `FastAgiServer`; route handlers drive it.

    `hungup` is set when Asterisk writes `HANGUP` (the caller left, or a Redirect took the
    channel) and also when the connection ends. A handler may set `call_id` so that the
    session's log lines name the call.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        env: AgiEnvironment,
        *,
        command_timeout_s: float | None = None,
        peer: str = "",
    ) -> None:
        self.env = env
        self.peer = peer
        self.command_timeout_s = command_timeout_s
        self.call_id: CallId | None = None
        self.hungup = asyncio.Event()
        self._reader = reader
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self._pending: asyncio.Future[AgiReply] | None = None
        self._block: list[str] | None = None
        self._eof = False
        self._closed = False
        self._reader_task = self._loop.create_task(self._read_loop())

    # --- reading --------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reader = self._reader
        try:
            while True:
                try:
                    raw = await reader.readline()
                except ValueError:
                    logger.warning(
                        "FastAGI line too long from %s call_id=%s uniqueid=%s; closing",
                        self.peer, self.call_id, self.env.uniqueid,
                    )  # fmt: skip
                    self._writer.close()
                    break
                except (ConnectionError, OSError) as exc:
                    logger.info("FastAGI read failed call_id=%s: %s", self.call_id, exc)
                    break
                if not raw:
                    break
                try:
                    self._on_line(decode_line(raw))
                except _OutOfStep as exc:
                    logger.warning(
                        "FastAGI %s from %s call_id=%s uniqueid=%s; closing",
                        exc, self.peer, self.call_id, self.env.uniqueid,
                    )  # fmt: skip
                    self._writer.close()
                    break
        finally:
            self._eof = True
            self.hungup.set()
            self._fail_pending(AgiConnectionClosed("Asterisk closed the FastAGI connection"))

    def _on_line(self, line: str) -> None:
        block = self._block
        if block is not None:
            block.append(line)
            if line[:3] == block[0][:3] and line[3:4] == " ":
                self._block = None
                self._resolve("\n".join(block))
            elif len(block) > MAX_BLOCK_LINES:
                self._block = None
                raise _OutOfStep(f"reply block over {MAX_BLOCK_LINES} lines")
            return
        if line == "HANGUP":
            if not self.hungup.is_set():
                logger.info(
                    "FastAGI HANGUP call_id=%s uniqueid=%s", self.call_id, self.env.uniqueid
                )
            self.hungup.set()
            return
        if len(line) > 3 and line[3] == "-" and line[:3].isdigit():
            self._block = [line]
            return
        if line:
            self._resolve(line)

    def _resolve(self, text: str) -> None:
        future = self._pending
        if future is None or future.done():
            logger.warning(
                "FastAGI unexpected line call_id=%s uniqueid=%s: %.80r",
                self.call_id, self.env.uniqueid, text,
            )  # fmt: skip
            return
        self._pending = None
        future.set_result(parse_reply(text))

    def _fail_pending(self, exc: Exception) -> None:
        future, self._pending = self._pending, None
        if future is not None and not future.done():
            future.set_exception(exc)

    # --- commands -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the connection ended or the session was closed."""
        return self._eof or self._closed

    async def command(
        self, line: str, *, timeout_s: float | _Default | None = _DEFAULT
    ) -> AgiReply:
        """Send one command line and return its reply.

        Raises AgiChannelDead (511), AgiUnknownCommand (510), AgiUsageError (520),
        AgiCommandError (other codes), AgiConnectionClosed (EOF), AgiTimeout.
        """
        if "\n" in line or "\r" in line:
            raise ValueError("an AGI command is one line")
        if self._eof or self._closed:
            raise AgiConnectionClosed("the FastAGI connection is closed")
        if self._pending is not None:
            raise AgiError("another AGI command is still waiting for its reply")
        future: asyncio.Future[AgiReply] = self._loop.create_future()
        self._pending = future
        self._writer.write(line.encode("utf-8") + b"\n")
        if self._writer.transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
            await self._writer.drain()
        timeout = self.command_timeout_s if isinstance(timeout_s, _Default) else timeout_s
        try:
            if timeout is None:
                reply = await future
            else:
                async with asyncio.timeout(timeout):
                    reply = await future
        except TimeoutError:
            logger.warning(
                "FastAGI no reply in %ss to %.60r call_id=%s uniqueid=%s; closing",
                timeout, line, self.call_id, self.env.uniqueid,
            )  # fmt: skip
            raise AgiTimeout(f"no reply within {timeout}s to {line!r}") from None
        finally:
            if self._pending is future:  # no reply: timeout or cancellation, out of step
                self._pending = None
                self._writer.close()
        return _check(reply)

    async def answer(self) -> None:
        await self.command("ANSWER")

    async def hangup(self) -> None:
        """Hang up the channel; a channel (or connection) that is already gone is fine."""
        with contextlib.suppress(AgiChannelDead, AgiConnectionClosed):
            await self.command("HANGUP")

    async def stream_file(self, name: str, escape_digits: str = "") -> str | None:
        """Play a file; the digit that interrupted it, or None."""
        reply = await self.command(f"STREAM FILE {quote_if_needed(name)} {quote(escape_digits)}")
        return _digit(reply)

    async def get_data(self, file: str, timeout_ms: int, max_digits: int) -> str | None:
        """Play a prompt and collect digits; None on timeout with no digit (or a hangup)."""
        reply = await self.command(f"GET DATA {quote_if_needed(file)} {timeout_ms} {max_digits}")
        if not reply.result or reply.result == "-1":
            return None
        return reply.result

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        """Wait for one DTMF digit; None on timeout (or a hangup)."""
        return _digit(await self.command(f"WAIT FOR DIGIT {timeout_ms}"))

    async def say_digits(self, digits: str, escape: str = "") -> str | None:
        reply = await self.command(f"SAY DIGITS {quote_if_needed(digits)} {quote(escape)}")
        return _digit(reply)

    async def say_number(self, number: int | str, escape: str = "") -> str | None:
        reply = await self.command(f"SAY NUMBER {quote_if_needed(str(number))} {quote(escape)}")
        return _digit(reply)

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {quote_if_needed(name)} {quote_if_needed(value)}")

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, None when it is not set."""
        reply = await self.command(f"GET VARIABLE {quote_if_needed(name)}")
        return (reply.data or "") if reply.result == "1" else None

    async def get_full_variable(self, expr: str) -> str | None:
        """Evaluate a dialplan expression (`${CALLERID(num)}`); None when it is not set."""
        reply = await self.command(f"GET FULL VARIABLE {quote_if_needed(expr)}")
        return (reply.data or "") if reply.result == "1" else None

    async def channel_status(self) -> int:
        return (await self.command("CHANNEL STATUS")).result_int

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command(f"VERBOSE {quote(message)} {level}")

    async def exec(self, app: str, args: str = "", *, timeout_s: float | None = None) -> int:
        """Run a dialplan application; its result (-2: no such application). No timeout."""
        line = f"EXEC {app} {quote_if_needed(args)}" if args else f"EXEC {app}"
        return (await self.command(line, timeout_s=timeout_s)).result_int

    async def close(self) -> None:
        """Close the socket now (Asterisk keeps a dead channel while it stays open)."""
        if self._closed:
            return
        self._closed = True
        self._fail_pending(AgiConnectionClosed("the FastAGI session was closed"))
        if not self._reader_task.done():
            self._reader_task.cancel()
        await close_writer(self._writer)


def _check(reply: AgiReply) -> AgiReply:
    code = reply.code
    if code == 200:
        return reply
    if code == 511:
        raise AgiChannelDead(reply.message, reply)
    if code == 510:
        raise AgiUnknownCommand(reply.message, reply)
    if code == 520:
        raise AgiUsageError(reply.message, reply)
    raise AgiCommandError(f"unexpected AGI reply {reply.raw!r}", reply)


def _digit(reply: AgiReply) -> str | None:
    """A result that is a digit's character code (0: none, -1: failure or hangup)."""
    code = reply.result_int
    return chr(code) if code > 0 else None


async def close_writer(writer: asyncio.StreamWriter, timeout_s: float = 1.0) -> None:
    """Close a connection, giving the peer `timeout_s` to take what was written."""
    writer.close()
    try:
        async with asyncio.timeout(timeout_s):
            await writer.wait_closed()
    except Exception:  # the peer reset or would not read: nothing left to save
        writer.transport.abort()
