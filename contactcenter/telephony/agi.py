"""An asyncio FastAGI server: Asterisk's `AGI(agi://host:port/<script>)` lands here.

Usage::

    server = FastAgiServer({"inbound": handle_inbound, "outbound": handle_outbound})
    await server.start("0.0.0.0", 4573)
    ...
    await server.close()

Each connection: read the `agi_*` environment (within `env_timeout_s`), pick the route by
`env.script` (the script path without its query string), run the handler with an `AgiSession`,
then close the socket at once (Asterisk keeps a dead channel while it stays open). Bad peers,
broken environments and failing handlers cost one log line and that one session, nothing more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from contactcenter.telephony.agi_protocol import (
    AgiEnvironment,
    AgiReply,
    decode_line,
    parse_env_line,
)
from contactcenter.telephony.agi_session import AgiSession, close_writer

__all__ = ["AgiEnvironment", "AgiReply", "AgiSession", "FastAgiServer", "RouteHandler"]

logger = logging.getLogger(__name__)

RouteHandler = Callable[[AgiSession], Awaitable[None]]


class _BadEnvironment(Exception):
    pass


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


class FastAgiServer:
    """Serve FastAGI routes. `command_timeout_s` bounds each reply wait except EXEC's."""

    def __init__(
        self,
        routes: Mapping[str, RouteHandler],
        *,
        env_timeout_s: float = 5.0,
        max_line: int = 8192,
        command_timeout_s: float | None = 60.0,
        max_env_lines: int = 256,
        close_timeout_s: float = 5.0,
    ) -> None:
        self._routes = dict(routes)
        self._env_timeout_s = env_timeout_s
        self._max_line = max_line
        self._command_timeout_s = command_timeout_s
        self._max_env_lines = max_env_lines
        self._close_timeout_s = close_timeout_s
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self.port = 0

    @property
    def active_sessions(self) -> int:
        """Connections being served right now."""
        return len(self._connections)

    async def start(self, host: str = "127.0.0.1", port: int = 4573) -> None:
        """Listen on host:port (port 0 picks a free port; read it from `.port`)."""
        if self._server is not None:
            raise RuntimeError("the FastAGI server is already started")
        self._server = await asyncio.start_server(self._serve, host, port, limit=self._max_line)
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("FastAGI server listening on %s:%d", host, self.port)

    async def close(self) -> None:
        """Stop listening, close every open session, and wait for the handlers to end."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        await server.wait_closed()
        for writer in list(self._connections.values()):
            writer.close()
        tasks = list(self._connections)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self._close_timeout_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        logger.info("FastAGI server closed")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        peer = _peer_name(writer)
        try:
            try:
                env = await self._read_env(reader)
            except _BadEnvironment as exc:
                logger.warning("FastAGI session from %s closed: %s", peer, exc)
                return
            handler = self._routes.get(env.script)
            if handler is None:
                logger.warning(
                    "FastAGI session from %s closed: no route for script %r uniqueid=%s",
                    peer, env.script, env.uniqueid,
                )  # fmt: skip
                return
            await self._run(handler, reader, writer, env, peer)
        finally:
            del self._connections[task]
            await close_writer(writer)

    async def _run(
        self,
        handler: RouteHandler,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        env: AgiEnvironment,
        peer: str,
    ) -> None:
        session = AgiSession(
            reader, writer, env, command_timeout_s=self._command_timeout_s, peer=peer
        )
        try:
            await handler(session)
        except Exception:
            logger.exception(
                "FastAGI handler %r failed call_id=%s uniqueid=%s channel=%s; closing the session",
                env.script, session.call_id, env.uniqueid, env.channel,
            )  # fmt: skip
        finally:
            await session.close()

    async def _read_env(self, reader: asyncio.StreamReader) -> AgiEnvironment:
        values: dict[str, str] = {}
        try:
            async with asyncio.timeout(self._env_timeout_s):
                while True:
                    raw = await reader.readline()
                    if not raw.endswith(b"\n"):
                        raise _BadEnvironment(
                            f"peer closed the connection in the middle of the environment "
                            f"({len(values)} lines read)"
                        )
                    line = decode_line(raw)
                    if not line.strip():
                        break
                    item = parse_env_line(line)
                    if item is None:
                        raise _BadEnvironment(f"not an agi_ environment line: {line[:80]!r}")
                    values[item[0]] = item[1]
                    if len(values) > self._max_env_lines:
                        raise _BadEnvironment(f"more than {self._max_env_lines} environment lines")
        except TimeoutError:
            raise _BadEnvironment(
                f"environment not complete within {self._env_timeout_s}s ({len(values)} lines read)"
            ) from None
        except ValueError:
            raise _BadEnvironment(f"a line longer than {self._max_line} bytes") from None
        except (ConnectionError, OSError) as exc:
            raise _BadEnvironment(f"connection error during the environment: {exc}") from None
        if not values:
            raise _BadEnvironment("empty environment")
        if "agi_network_script" not in values and "agi_request" not in values:
            raise _BadEnvironment("environment without agi_network_script")
        return AgiEnvironment(values)
