"""Replay real AMI transcripts: a fake Asterisk plays the recorded asterisk->server bytes to our
AmiClient, which issues the actions the recorded client issued.

ActionIDs: our client generates its own ActionIDs, so the fake server maps each recorded
ActionID to ours (in the order the actions arrive) and substitutes ours into the recorded bytes
before sending them. For a recorded action sent without an ActionID (a bare Ping), whose response
has none, the fake inserts our ActionID into that response. Nothing else in the bytes is changed,
and the recorded chunk boundaries are kept (one write per chunk).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine
from pathlib import Path

import pytest

from contactcenter.clock import FakeClock
from contactcenter.events import CallConnected, CallHungUp, Event
from contactcenter.ids import CallId
from contactcenter.telephony.ami import AmiClient
from contactcenter.telephony.ami_events import AmiEventTranslator
from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser, encode_message
from contactcenter.telephony.channels import ChannelRegistry
from contactcenter.telephony.errors import AmiActionError, AmiAuthError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk"
SKIP_FIELDS = ("action", "actionid")


def load(name: str) -> list[tuple[str, bytes]]:
    lines = (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    chunks = [json.loads(line) for line in lines if line.strip()]
    return [(c["dir"], c["data"].encode("latin-1")) for c in chunks]


def parse_all(chunks: list[tuple[str, bytes]], direction: str) -> list[AmiMessage]:
    parser = AmiParser()
    return [m for d, data in chunks if d == direction for m in parser.feed(data)]


def action_groups(chunks: list[tuple[str, bytes]]) -> list[list[AmiMessage]]:
    """The recorded actions, grouped by runs of client writes with no Asterisk bytes between."""
    groups: list[list[AmiMessage]] = []
    previous = ""
    for direction, data in chunks:
        if direction == "server->asterisk":
            if previous != direction:
                groups.append([])
            groups[-1].extend(AmiParser().feed(data))
        if direction != "note":
            previous = direction
    return groups


def comparable(msg: AmiMessage) -> list[tuple[str, str]]:
    items = [(k.lower(), v) for k, v in msg.items_list() if k.lower() not in SKIP_FIELDS]
    return [("action", (msg.get("Action") or "").lower()), *items]


class ReplayAmi:
    """Plays Asterisk's side of one recorded AMI connection."""

    def __init__(self, chunks: list[tuple[str, bytes]]) -> None:
        self.chunks = chunks
        self.groups = action_groups(chunks)
        self.group_ready = [asyncio.Event() for _ in self.groups]
        self.ids: dict[str, str] = {}
        self.anonymous: list[str] = []
        self.frames: list[bytes] = []  # our client's frames, exactly as written
        self.mismatches: list[str] = []
        self.done = asyncio.Event()
        self.port = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    def _substitute(self, data: bytes) -> bytes:
        for recorded, ours in self.ids.items():
            old = b"ActionID: " + recorded.encode() + b"\r\n"
            data = data.replace(old, b"ActionID: " + ours.encode() + b"\r\n")
        block = data.split(b"\r\n\r\n", 1)[0]
        if self.anonymous and data.startswith(b"Response: ") and b"ActionID:" not in block:
            first, _, rest = data.partition(b"\r\n")
            data = first + b"\r\nActionID: " + self.anonymous.pop(0).encode() + b"\r\n" + rest
        return data

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        group = -1
        previous = ""
        try:
            for direction, data in self.chunks:
                if direction == "asterisk->server":
                    writer.write(self._substitute(data))
                    await writer.drain()
                    await asyncio.sleep(0.001)
                elif direction == "server->asterisk":
                    if previous != direction:
                        group += 1
                        self.group_ready[group].set()
                    for recorded in AmiParser().feed(data):
                        await self._expect(reader, recorded)
                elif b"AMI socket closed" in data:
                    break
                if direction != "note":
                    previous = direction
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self.done.set()

    async def _expect(self, reader: asyncio.StreamReader, recorded: AmiMessage) -> None:
        frame = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        self.frames.append(frame)
        [ours] = AmiParser().feed(frame)
        if comparable(ours) != comparable(recorded):
            self.mismatches.append(f"{comparable(ours)} != {comparable(recorded)}")
        assert ours.action_id is not None
        if recorded.action_id is None:
            self.anonymous.append(ours.action_id)
        else:
            self.ids[recorded.action_id] = ours.action_id


async def replay(name: str, events: list[AmiMessage] | None = None) -> ReplayAmi:
    """Run our client through the recorded actions; check each result against the recording."""
    chunks = load(name)
    fake = ReplayAmi(chunks)
    server = await fake.start()
    answers = parse_all(chunks, "asterisk->server")
    responses = {m.action_id: m for m in answers if m.is_response}
    lists = {m.action_id for m in answers if m.is_response and m.get("EventList") == "start"}
    delivered: list[AmiMessage] = [] if events is None else events
    login = fake.groups[0][0]
    client = AmiClient(
        "127.0.0.1", fake.port, login["Username"], login["Secret"],
        on_event=delivered.append, ping_interval_s=0, reconnect=False,
    )  # fmt: skip
    checks: list[tuple[AmiMessage, asyncio.Task[object]]] = []
    try:
        await client.start()
        for index, group in enumerate(fake.groups[1:], start=1):
            await asyncio.wait_for(fake.group_ready[index].wait(), 5)
            for recorded in group:
                action = recorded.get("Action") or ""
                fields = [(k, v) for k, v in recorded.items_list() if k.lower() not in SKIP_FIELDS]
                coro: Coroutine[object, object, object]
                if action.lower() == "logoff":
                    coro = client.close()
                elif recorded.action_id in lists:
                    coro = client.list_action(action, fields)
                else:
                    coro = client.action(action, fields)
                checks.append((recorded, asyncio.create_task(coro)))
                await asyncio.sleep(0)  # the task writes its frame now: recorded order
        await asyncio.wait_for(fake.done.wait(), 10)
        for recorded, task in checks:
            expected = responses.get(recorded.action_id)
            await check_result(recorded, task, expected, answers)
    finally:
        await client.close()
        server.close()
        await server.wait_closed()
    assert fake.mismatches == []
    expected_events = [
        m.event for m in answers if m.is_event and not (m.action_id and m.action_id in lists)
    ]
    assert [m.event for m in delivered] == expected_events
    return fake


async def check_result(
    recorded: AmiMessage,
    task: asyncio.Task[object],
    expected: AmiMessage | None,
    answers: list[AmiMessage],
) -> None:
    logoff = (recorded.get("Action") or "").lower() == "logoff"
    if expected is None or logoff:  # close() sent Logoff; a bare Ping is checked by the fake
        await asyncio.wait_for(task, 5)
        return
    if expected.response == "Error":
        with pytest.raises(AmiActionError) as error:
            await asyncio.wait_for(task, 5)
        assert error.value.response.get("Message") == expected.get("Message")
        return
    result = await asyncio.wait_for(task, 5)
    if isinstance(result, list):
        [complete] = [
            m
            for m in answers
            if m.action_id == recorded.action_id and m.get("EventList") == "Complete"
        ]
        assert len(result) == int(complete["ListItems"])
        assert all(item.action_id is not None for item in result)
    else:
        assert isinstance(result, AmiMessage)
        assert result.response == expected.response
        assert result.get("Message") == expected.get("Message")


@pytest.mark.parametrize(
    "name",
    ["ami-actions", "ami-originate-outcomes", "ami-queue-abandon", "ami-call-control",
     "ami-more-actions", "ami-originate-more", "ami-queue-members"],
)  # fmt: skip
async def test_replay_actions_and_events(name: str) -> None:
    fake = await replay(name)
    assert fake.frames[0].startswith(b"Action: Login\r\nActionID: ")


async def test_login_frame_is_byte_exact() -> None:
    fake = await replay("ami-actions")
    recorded = load("ami-actions")[1][1]
    ours = fake.frames[0]
    expected = recorded.replace(b"ActionID: login-1", b"ActionID: " + fake.ids["login-1"].encode())
    assert ours == expected
    assert ours == encode_message(AmiParser().feed(ours)[0].items_list())


async def test_list_action_gathers_one_result() -> None:
    events: list[AmiMessage] = []
    await replay("ami-actions", events)
    assert all(m.event != "QueueMember" for m in events)  # list items are not events


async def test_login_failure_raises_auth_error() -> None:
    fake = ReplayAmi(load("ami-login-failure"))
    server = await fake.start()
    client = AmiClient("127.0.0.1", fake.port, "cc", "wrong", on_event=lambda m: None)
    try:
        with pytest.raises(AmiAuthError, match="Authentication failed"):
            await client.start()
        assert not client.connected
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("name", "channel", "uniqueid"),
    [
        ("ami-call-control", "SIP/sipp-00000000", "1795914608.0"),
        ("ami-inbound-ivr-queue-answered", "SIP/sipp-00000000", "1795913961.0"),
    ],
)
async def test_translator_connected_then_hung_up(name: str, channel: str, uniqueid: str) -> None:
    registry = ChannelRegistry()
    call_id = CallId("call-1")
    registry.register(call_id, channel, uniqueid)  # as the AGI handler does from agi_uniqueid
    clock = FakeClock()
    published: list[Event] = []
    translator = AmiEventTranslator(registry, clock, published.append)
    events: list[AmiMessage] = []
    await replay(name, events)
    for msg in events:
        translator.handle(msg)
    assert published == [
        CallConnected(call_id=call_id, at=clock.now()),
        CallHungUp(call_id=call_id, at=clock.now(), cause="Normal Clearing"),
    ]
