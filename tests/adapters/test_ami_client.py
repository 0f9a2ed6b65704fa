"""AmiClient behaviour against a small scripted AMI server: reconnect, backoff, isolation,
keep-alive; and AmiCallControl's actions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from contactcenter.errors import AmiUnavailable, TelephonyError
from contactcenter.ids import CallId
from contactcenter.telephony.ami import AmiClient
from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser, encode_message
from contactcenter.telephony.call_control import AmiCallControl
from contactcenter.telephony.channels import ChannelRegistry
from contactcenter.telephony.errors import AmiAuthError, UnknownCall

Reply = Callable[[AmiMessage], list[list[tuple[str, str]]] | None]


class ScriptedAmi:
    """A tiny AMI server: greets, accepts logins while `accept_login`, and answers each action
    with `reply(action)` (None: no answer). Records every action it receives."""

    def __init__(self) -> None:
        self.accept_login = True
        self.logins = 0
        self.received: list[AmiMessage] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.reply: Reply = self.default_reply
        self.port = 0

    @staticmethod
    def default_reply(action: AmiMessage) -> list[list[tuple[str, str]]] | None:
        return [[("Response", "Success"), ("Message", "OK")]]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        parser = AmiParser()
        try:
            while data := await reader.read(65536):
                for action in parser.feed(data):
                    self.handle(action, writer)
        except ConnectionError:
            pass
        finally:
            writer.close()

    def handle(self, action: AmiMessage, writer: asyncio.StreamWriter) -> None:
        self.received.append(action)
        aid = [("ActionID", action.action_id or "")]
        if action["Action"] == "Login":
            self.logins += 1
            if self.accept_login:
                writer.write(encode_message([("Response", "Success"), *aid]))
            else:
                msg = [("Response", "Error"), *aid, ("Message", "Authentication failed")]
                writer.write(encode_message(msg))
                writer.close()
            return
        if action["Action"] == "Logoff":
            writer.write(encode_message([("Response", "Goodbye"), *aid]))
            writer.close()
            return
        for fields in self.reply(action) or []:
            writer.write(encode_message([fields[0], *aid, *fields[1:]]))

    def push_event(self, fields: list[tuple[str, str]]) -> None:
        self.writers[-1].write(encode_message(fields))

    def drop_connections(self) -> None:
        for writer in self.writers:
            writer.transport.abort()


@pytest.fixture
async def ami() -> AsyncIterator[ScriptedAmi]:
    fake = ScriptedAmi()
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
    fake.port = server.sockets[0].getsockname()[1]
    try:
        yield fake
    finally:
        fake.drop_connections()
        server.close()
        await server.wait_closed()


def client_for(
    fake: ScriptedAmi,
    events: list[AmiMessage],
    *,
    ping_interval_s: float = 0,
    backoff_initial_s: float = 0.02,
    backoff_max_s: float = 30.0,
    on_connect: Callable[[], Awaitable[None]] | None = None,
) -> AmiClient:
    return AmiClient(
        "127.0.0.1", fake.port, "cc", "s", on_event=events.append,
        ping_interval_s=ping_interval_s, backoff_initial_s=backoff_initial_s,
        backoff_max_s=backoff_max_s, on_connect=on_connect,
    )  # fmt: skip


async def until(predicate: Callable[[], bool]) -> None:
    """Poll a condition for up to 5 s (the fake server has no event to wait on)."""
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_reconnects_fails_pending_and_calls_on_connect(ami: ScriptedAmi) -> None:
    events: list[AmiMessage] = []
    connects: list[int] = []

    async def on_connect() -> None:
        connects.append(ami.logins)

    ami.reply = lambda action: (
        None if action["Action"] == "Wait" else ScriptedAmi.default_reply(action)
    )
    client = client_for(ami, events, on_connect=on_connect)
    await client.start()
    try:
        waiting = asyncio.create_task(client.action("Wait", timeout_s=None))
        await until(lambda: len(ami.received) == 2)
        ami.drop_connections()
        with pytest.raises(AmiUnavailable):
            await waiting
        await until(lambda: client.connected and len(connects) == 2)
        assert connects == [1, 2]
        reply = await client.action("Ping")
        assert reply.response == "Success"
    finally:
        await client.close()
    assert ami.received[-1]["Action"] == "Logoff"
    assert not client.connected


async def test_auth_failure_on_reconnect_backs_off(ami: ScriptedAmi) -> None:
    client = client_for(ami, [], backoff_initial_s=0.05, backoff_max_s=0.2)
    await client.start()
    try:
        ami.accept_login = False
        ami.drop_connections()
        await asyncio.sleep(1.0)
        # 0.05 + 0.1 + 0.2 + 0.2 + 0.2 ... : a handful of attempts, not a hot loop
        assert 3 <= ami.logins - 1 <= 8
        assert not client.connected
        ami.accept_login = True
        await until(lambda: client.connected)
    finally:
        await client.close()


async def test_auth_failure_at_start_raises(ami: ScriptedAmi) -> None:
    ami.accept_login = False
    client = client_for(ami, [])
    with pytest.raises(AmiAuthError, match="refused: Authentication failed"):
        await client.start()
    await asyncio.sleep(0.1)
    assert ami.logins == 1  # no background retry after a refused first login
    await client.close()


async def test_unreachable_without_reconnect_raises() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    client = AmiClient("127.0.0.1", port, "cc", "s", on_event=lambda m: None, reconnect=False)
    with pytest.raises(AmiUnavailable):
        await client.start()
    with pytest.raises(AmiUnavailable):
        await client.action("Ping")


async def test_event_handler_failure_is_isolated(
    ami: ScriptedAmi, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def on_event(msg: AmiMessage) -> None:
        seen.append(msg["Seq"])
        if msg["Seq"] == "1":
            raise ValueError("bad handler")

    client = AmiClient("127.0.0.1", ami.port, "cc", "s", on_event=on_event, ping_interval_s=0)
    await client.start()
    try:
        for seq in ("1", "2", "3"):
            ami.push_event([("Event", "UserEvent"), ("Seq", seq)])
        await until(lambda: len(seen) == 3)
        assert seen == ["1", "2", "3"]
        assert any("event handler failed" in r.getMessage() for r in caplog.records)
        assert (await client.action("Ping")).response == "Success"
    finally:
        await client.close()


async def test_keepalive_ping_drops_a_silent_connection(ami: ScriptedAmi) -> None:
    ami.reply = lambda action: (
        None if action["Action"] == "Ping" else ScriptedAmi.default_reply(action)
    )
    client = client_for(ami, [], ping_interval_s=0.1)
    await client.start()
    try:
        await until(lambda: ami.logins >= 2)  # unanswered Ping -> drop -> login again
    finally:
        await client.close()


async def test_call_control_sets_vars_and_redirects(ami: ScriptedAmi) -> None:
    registry = ChannelRegistry()
    registry.register(CallId("c1"), "SIP/sipp-00000000", "1795914608.0")
    client = client_for(ami, [])
    await client.start()
    control = AmiCallControl(client, registry)
    try:
        await control.connect_to_agent(CallId("c1"), "Local/1003@agents", 14.2)
        actions = [[(k, v) for k, v in m.items_list() if k != "ActionID"] for m in ami.received[1:]]
        chan = ("Channel", "SIP/sipp-00000000")
        assert actions == [
            [
                ("Action", "Setvar"),
                chan,
                ("Variable", "CC_ENDPOINT"),
                ("Value", "Local/1003@agents"),
            ],
            [("Action", "Setvar"), chan, ("Variable", "CC_RING_TIMEOUT"), ("Value", "15")],
            [
                ("Action", "Redirect"),
                chan,
                ("Context", "cc-connect"),
                ("Exten", "s"),
                ("Priority", "1"),
            ],
        ]
        ami.reply = lambda a: [[("Response", "Error"), ("Message", "No such channel")]]
        with pytest.raises(TelephonyError, match="No such channel"):
            await control.hangup(CallId("c1"))
        assert ami.received[-1]["Action"] == "Hangup"
        with pytest.raises(UnknownCall):
            await control.hangup(CallId("nope"))
        with pytest.raises(UnknownCall):
            await control.connect_to_agent(CallId("nope"), "x", 10)
    finally:
        with contextlib.suppress(TelephonyError):
            await client.close()
