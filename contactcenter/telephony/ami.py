"""An asyncio AMI client: login, actions correlated by ActionID, list actions, events, keep-alive,
and reconnection with capped exponential backoff.

Usage::

    ami = AmiClient("127.0.0.1", 5038, "cc", "secret", on_event=translator.handle)
    await ami.start()
    reply = await ami.action("Setvar", {"Channel": chan, "Variable": "X", "Value": "1"})
    channels = await ami.list_action("CoreShowChannels")
    await ami.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from contactcenter.errors import AmiUnavailable
from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser, encode_message
from contactcenter.telephony.errors import AmiActionError, AmiAuthError, AmiError, AmiTimeout

__all__ = ["AmiClient", "Fields"]

logger = logging.getLogger(__name__)

Fields = Mapping[str, str] | Iterable[tuple[str, str]]
_RESERVED = frozenset({"action", "actionid"})


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[AmiMessage]
    items: list[AmiMessage] | None = None  # a list action's events
    started: bool = False
    response: AmiMessage | None = field(default=None)


class AmiClient:
    """One AMI connection (re-established on loss when `reconnect` is true).

    `on_event` receives every event not consumed by a list action, in wire order, including
    events carrying an ActionID (OriginateResponse, UserEvent); an exception in it is logged and
    isolated. `on_connect` (optional) is awaited after every successful login, for resync.

    `event_filter` (event names) limits the events Asterisk sends: after every login, and before
    `on_connect`, one `Filter` action (`Operation: Add`, `Filter: Event: <name>`) per name. The
    filter is a regex include, so `Hangup` also lets `HangupRequest` through. A refused Filter
    (the AMI user lacks the `system` write class) is logged once per login and all events flow.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        on_event: Callable[[AmiMessage], None],
        event_mask: str = "on",
        ping_interval_s: float = 20.0,
        reconnect: bool = True,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        event_filter: Sequence[str] = (),
    ) -> None:
        self.host, self.port, self.username = host, port, username
        self._secret = secret
        self.on_event = on_event
        self.on_connect = on_connect
        self.event_filter = tuple(event_filter)
        self.event_mask = event_mask
        self.ping_interval_s = ping_interval_s
        self.reconnect = reconnect
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.connect_timeout_s = connect_timeout_s
        self.greeting: str | None = None
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(3)
        self._pending: dict[str, _Pending] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._parser = AmiParser()
        self._connected = False
        self._closing = False
        self._runner: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None
        self._login_task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._connected

    def _next_id(self) -> str:
        return f"cc-{self._prefix}-{next(self._ids)}"

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and log in. A refused login raises AmiAuthError. A connection failure raises
        AmiUnavailable without `reconnect`; with it, it is logged and retried in the background.
        """
        self._closing = False
        try:
            await self._connect()
        except AmiAuthError:
            raise
        except AmiUnavailable:
            if not self.reconnect:
                raise
            logger.warning(
                "AMI %s:%d unreachable; retrying in the background", self.host, self.port
            )
            self._runner = asyncio.create_task(self._run(connected=False))
            return
        self._runner = asyncio.create_task(self._run(connected=True))
        await self._after_login()

    async def close(self) -> None:
        """Log off (briefly waiting for Goodbye), then close the socket and stop reconnecting."""
        if self._closing:
            return
        self._closing = True
        if self._connected:
            with contextlib.suppress(AmiError, AmiUnavailable):
                await self.action("Logoff", timeout_s=2.0)
        self._drop("the AMI client was closed")
        for task in (self._runner, self._pinger, self._login_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                await asyncio.wait([task])
        self._runner = self._pinger = self._login_task = None

    async def _connect(self) -> None:
        """Open the socket, read the greeting, log in. Leaves the client connected or raises."""
        address = f"{self.host}:{self.port}"
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                reader, writer = await asyncio.open_connection(self.host, self.port)
        except (OSError, TimeoutError) as exc:
            raise AmiUnavailable(f"cannot connect to AMI at {address}: {exc}") from exc
        self._reader, self._writer, self._parser = reader, writer, AmiParser()
        login_id = self._next_id()
        fields = [("Action", "Login"), ("ActionID", login_id), ("Username", self.username)]
        fields.append(("Secret", self._secret))
        if self.event_mask != "on":
            fields.append(("Events", self.event_mask))
        try:
            writer.write(encode_message(fields))
            async with asyncio.timeout(self.connect_timeout_s):
                response, rest = await self._read_login_response(reader, login_id)
        except (OSError, TimeoutError, AmiUnavailable) as exc:
            writer.close()
            raise AmiUnavailable(f"AMI login at {address} failed: {str(exc) or 'timeout'}") from exc
        self.greeting = self._parser.greeting
        if (response.response or "").lower() != "success":
            writer.close()
            message = response.get("Message") or "no reason given"
            raise AmiAuthError(f"AMI login as {self.username!r} at {address} refused: {message}")
        self._connected = True
        logger.info("AMI logged in as %s at %s (%s)", self.username, address, self.greeting)
        for msg in rest:
            self._dispatch(msg)

    async def _read_login_response(
        self, reader: asyncio.StreamReader, login_id: str
    ) -> tuple[AmiMessage, list[AmiMessage]]:
        while True:
            data = await reader.read(65536)
            if not data:
                raise AmiUnavailable("connection closed before the login response")
            messages = self._parser.feed(data)
            for i, msg in enumerate(messages):
                if msg.is_response and msg.action_id in (login_id, None):
                    return msg, messages[i + 1 :]

    async def _after_login(self) -> None:
        if self.ping_interval_s > 0:
            self._pinger = asyncio.create_task(self._ping_loop())
        if self.event_filter:
            await self._send_filters()
        if self.on_connect is not None:
            try:
                await self.on_connect()
            except Exception:
                logger.exception("AMI on_connect callback failed")

    async def _send_filters(self) -> None:
        """Ask Asterisk for `event_filter`'s events only (filters belong to the session, so
        this runs after every login). All Filter actions go out at once, then are awaited."""
        replies = await asyncio.gather(
            *(
                self.action("Filter", [("Operation", "Add"), ("Filter", f"Event: {name}")])
                for name in self.event_filter
            ),
            return_exceptions=True,
        )
        failed = [r for r in replies if isinstance(r, BaseException)]
        for exc in failed:
            if not isinstance(exc, Exception):
                raise exc
        if failed:
            logger.warning(
                "AMI event filter not set (%d of %d Filter actions failed: %s); every event "
                "will be received. Give the AMI user the 'system' write class, or set "
                "eventfilter lines in manager.conf",
                len(failed),
                len(replies),
                failed[0],
            )
        else:
            logger.info("AMI event filter set: %s", ", ".join(self.event_filter))

    async def _run(self, *, connected: bool) -> None:
        while not self._closing:
            if not connected:
                if not await self._reconnect_with_backoff():
                    return
                # The filters and on_connect send actions: their responses need the read loop,
                # so they run beside it, not before it.
                self._login_task = asyncio.create_task(self._after_login())
            await self._read_loop()
            connected = False
            self._drop("the AMI connection was lost")
            if self._is_closing() or not self.reconnect:
                return
            logger.warning("AMI connection to %s:%d lost; reconnecting", self.host, self.port)

    def _is_closing(self) -> bool:
        return self._closing

    async def _reconnect_with_backoff(self) -> bool:
        delay = self.backoff_initial_s
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except AmiAuthError as exc:
                logger.error("%s; retrying in %.1fs", exc, min(delay * 2, self.backoff_max_s))
            except AmiUnavailable as exc:
                logger.warning("%s; retrying in %.1fs", exc, min(delay * 2, self.backoff_max_s))
            else:
                return True
            delay = min(delay * 2, self.backoff_max_s)
        return False

    async def _read_loop(self) -> None:
        reader, parser = self._reader, self._parser
        assert reader is not None
        while True:
            try:
                data = await reader.read(65536)
            except (ConnectionError, OSError) as exc:
                logger.warning("AMI read failed: %s", exc)
                return
            if not data:
                return
            for msg in parser.feed(data):
                self._dispatch(msg)

    def _drop(self, reason: str) -> None:
        """Forget the connection; fail every pending action with AmiUnavailable."""
        self._connected = False
        if self._pinger is not None and self._pinger is not asyncio.current_task():
            self._pinger.cancel()
            self._pinger = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        pending, self._pending = self._pending, {}
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(AmiUnavailable(reason))

    async def _ping_loop(self) -> None:
        while self._connected:
            await asyncio.sleep(self.ping_interval_s)
            try:
                await self.action("Ping", timeout_s=self.ping_interval_s)
            except AmiTimeout:
                logger.warning("AMI keep-alive Ping unanswered; dropping the connection")
                if self._writer is not None:
                    self._writer.transport.abort()
                return
            except (AmiError, AmiUnavailable):
                return

    # --- messages -------------------------------------------------------------------------

    def _dispatch(self, msg: AmiMessage) -> None:
        action_id = msg.action_id
        pending = self._pending.get(action_id) if action_id is not None else None
        if pending is not None and not pending.future.done():
            if msg.is_response:
                if pending.items is not None and (msg.get("EventList") or "").lower() == "start":
                    pending.started = True
                    pending.response = msg
                else:
                    pending.future.set_result(msg)
                return
            if pending.items is not None and pending.started:
                if (msg.get("EventList") or "").lower() == "complete":
                    pending.future.set_result(msg)
                else:
                    pending.items.append(msg)
                return
        if msg.is_event:
            try:
                self.on_event(msg)
            except Exception:
                logger.exception("AMI event handler failed on %s", msg.event)
        elif msg.is_response:
            logger.debug("AMI response for no pending action: %r", msg)

    def _send(self, name: str, action_id: str, fields: Fields | None) -> None:
        if not self._connected or self._writer is None:
            raise AmiUnavailable(f"AMI is not connected (action {name})")
        items = fields.items() if isinstance(fields, Mapping) else (fields or ())
        frame = [("Action", name), ("ActionID", action_id)]
        frame.extend((k, v) for k, v in items if k.lower() not in _RESERVED)
        self._writer.write(encode_message(frame))

    async def _request(
        self,
        name: str,
        fields: Fields | None,
        timeout_s: float | None,
        *,
        is_list: bool,
        action_id: str | None = None,
    ) -> tuple[AmiMessage, _Pending]:
        action_id = action_id or self._next_id()
        future: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        pending = _Pending(future, items=[] if is_list else None)
        self._send(name, action_id, fields)
        self._pending[action_id] = pending
        try:
            async with asyncio.timeout(timeout_s):
                msg = await future
        except TimeoutError:
            raise AmiTimeout(f"AMI action {name} got no response within {timeout_s}s") from None
        finally:
            self._pending.pop(action_id, None)
        if (msg.response or "").lower() == "error":
            message = msg.get("Message") or "no message"
            raise AmiActionError(f"AMI {name} failed: {message}", msg)
        return msg, pending

    async def action(
        self,
        name: str,
        fields: Fields | None = None,
        timeout_s: float | None = 10.0,
        *,
        action_id: str | None = None,
    ) -> AmiMessage:
        """Send an action and return its response. `Response: Error` raises AmiActionError.

        `action_id` (optional, unique) names the action, for the events it causes later
        (an async Originate's OriginateResponse carries it)."""
        msg, _ = await self._request(name, fields, timeout_s, is_list=False, action_id=action_id)
        return msg

    async def list_action(
        self, name: str, fields: Fields | None = None, timeout_s: float | None = 10.0
    ) -> list[AmiMessage]:
        """Send a list action; return its events between `EventList: start` and `Complete`."""
        _, pending = await self._request(name, fields, timeout_s, is_list=True)
        return pending.items or []
