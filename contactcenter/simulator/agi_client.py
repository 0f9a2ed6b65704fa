"""The Asterisk side of one FastAGI session: connect to the server, send the `agi_*` environment,
answer commands, and signal hang-ups and redirects the way res_agi does (Asterisk 20).

- The caller hangs up, or an AMI Hangup/Redirect arrives: a running command returns
  `200 result=-1`; then (or at once, if the server is idle) Asterisk writes `HANGUP\\n` and the
  session is "dead": only dead-safe commands run, the others answer 511.
- Nothing times a dead session out: it lasts until the server closes the socket. With
  AGIEXITONHANGUP=yes Asterisk ends it itself (`HANGUP\\nHANGUP\\n` in one write, then EOF).
- When the server closes (or half-closes) its side, Asterisk writes a last `HANGUP\\n`.
The result is AGISTATUS: FAILURE (could not connect), SUCCESS, or HANGUP (ended dead).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from contactcenter.simulator.agi_commands import AgiHost, AgiTiming, CommandRunner

__all__ = ["FastAgiClient", "agi_environment"]

logger = logging.getLogger(__name__)

AGI_VERSION = "20.20.1"


def agi_environment(
    host: AgiHost, url: str, args: Sequence[str], *, thread_id: int = 140201385780928
) -> bytes:
    """The environment block, in res_agi's order, ended by an empty line."""
    chan = host.channel
    path = url.split("://", 1)[-1].partition("/")[2]
    present = chan.caller_num is not None or chan.caller_name is not None
    lines = [
        ("agi_network", "yes"),
        ("agi_network_script", path),
        ("agi_request", url),
        ("agi_channel", chan.name),
        ("agi_language", chan.language),
        ("agi_type", chan.tech),
        ("agi_uniqueid", chan.uniqueid),
        ("agi_version", AGI_VERSION),
        ("agi_callerid", chan.caller_num or "unknown"),
        ("agi_calleridname", chan.caller_name or "unknown"),
        # ast_party_id_presentation(): 67 (number not available) when nothing is presented
        ("agi_callingpres", "0" if present else "67"),
        ("agi_callingani2", "0"),
        ("agi_callington", "0"),
        ("agi_callingtns", "0"),
        ("agi_dnid", chan.dnid or "unknown"),
        ("agi_rdnis", "unknown"),
        ("agi_context", chan.context),
        ("agi_extension", chan.exten),
        ("agi_priority", str(chan.priority)),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", chan.account_code),
        ("agi_threadid", str(thread_id)),
    ]
    lines += [(f"agi_arg_{i}", arg) for i, arg in enumerate(args, start=1)]
    return ("".join(f"{k}: {v}\n" for k, v in lines) + "\n").encode("utf-8")


class FastAgiClient:
    """Runs one FastAGI session for `host` (the simulated call)."""

    def __init__(
        self,
        host: AgiHost,
        *,
        server_host: str,
        server_port: int,
        url: str,
        args: Sequence[str],
        timing: AgiTiming,
        exit_on_hangup: bool = False,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self._host = host
        self._server = (server_host, server_port)
        self._url = url
        self._args = list(args)
        self._exit_on_hangup = exit_on_hangup
        self._on_connected = on_connected
        self._runner = CommandRunner(host, timing)

    @property
    def dead(self) -> bool:
        return self._runner.dead

    async def run(self) -> str:
        """The whole session; returns AGISTATUS."""
        try:
            reader, writer = await asyncio.open_connection(*self._server)
        except OSError as exc:
            logger.info(
                "FastAGI connect to %s:%d failed channel=%s: %s",
                *self._server,
                self._host.channel.name,
                exc,
            )
            return "FAILURE"
        if self._on_connected is not None:
            self._on_connected()
        try:
            return await self._session(reader, writer)
        except (ConnectionError, OSError) as exc:
            logger.debug("FastAGI session lost channel=%s: %s", self._host.channel.name, exc)
            return "HANGUP" if self.dead else "SUCCESS"
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _go_dead(self, writer: asyncio.StreamWriter) -> bool:
        """Write `HANGUP`; True if the session ends here (AGIEXITONHANGUP)."""
        self._runner.dead = True
        if self._exit_on_hangup:
            writer.write(b"HANGUP\nHANGUP\n")
            await writer.drain()
            return True
        writer.write(b"HANGUP\n")
        await writer.drain()
        return False

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
        writer.write(agi_environment(self._host, self._url, self._args))
        await writer.drain()
        interrupted = self._host.interrupted
        read_task: asyncio.Task[bytes] | None = None
        try:
            while True:
                if interrupted.is_set() and not self.dead and await self._go_dead(writer):
                    return "HANGUP"
                if read_task is None:
                    read_task = asyncio.ensure_future(reader.readline())
                if not self.dead:
                    wake = asyncio.ensure_future(interrupted.wait())
                    await asyncio.wait({read_task, wake}, return_when=asyncio.FIRST_COMPLETED)
                    wake.cancel()
                if not read_task.done() and self.dead:
                    await asyncio.wait({read_task})
                if not read_task.done():
                    continue
                try:
                    line = read_task.result()
                except ValueError:  # a line over the stream limit: a broken peer
                    line = b""
                read_task = None
                if not line.endswith(b"\n"):
                    # EOF (full or half close): res_agi writes a last HANGUP and ends.
                    with contextlib.suppress(ConnectionError, OSError):
                        writer.write(b"HANGUP\n")
                        await writer.drain()
                    return "HANGUP" if self.dead else "SUCCESS"
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                reply = await self._runner.execute(text)
                writer.write(reply.encode("utf-8") + b"\n")
                await writer.drain()
        finally:
            if read_task is not None:
                read_task.cancel()
