"""After an AMI (re)login: the event filter is set again (the frames Asterisk gets), and the
resync reports, once, the hang-ups and connections that the outage hid. Also the simulator's
Filter action, which the fault test relies on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from contactcenter.clock import FakeClock
from contactcenter.events import CallConnected, CallHungUp, Event
from contactcenter.ids import CallId
from contactcenter.simulator.ami_actions import BAD_FILTER
from contactcenter.simulator.pbx import SimulatedPbx
from contactcenter.telephony.ami import AmiClient
from contactcenter.telephony.ami_events import AMI_EVENT_FILTER, AmiEventTranslator
from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser, encode_message
from contactcenter.telephony.channels import ChannelRegistry
from contactcenter.telephony.errors import AmiActionError
from contactcenter.telephony.resync import LOST_CAUSE, AmiResync

Fields = list[tuple[str, str]]


class ListingAmi:
    """A scripted AMI server: accepts any login, records every action, answers Filter with
    `filter_response`, and CoreShowChannels with `channels` (a list action)."""

    def __init__(self) -> None:
        self.received: list[AmiMessage] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.channels: list[Fields] = []
        self.filter_response: Fields = [("Response", "Success"), ("Message", "Success")]
        self.port = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        parser = AmiParser()
        try:
            while data := await reader.read(65536):
                for action in parser.feed(data):
                    self.received.append(action)
                    for frame in self.answer(action):
                        writer.write(encode_message(frame))
        except ConnectionError:
            pass
        finally:
            writer.close()

    def answer(self, action: AmiMessage) -> list[Fields]:
        aid = ("ActionID", action.action_id or "")
        name = action["Action"]
        if name == "Filter":
            return [[self.filter_response[0], aid, *self.filter_response[1:]]]
        if name == "CoreShowChannels":
            frames: list[Fields] = [
                [("Response", "Success"), aid, ("EventList", "start"), ("Message", "x")]
            ]
            frames += [[("Event", "CoreShowChannel"), aid, *ch] for ch in self.channels]
            n = str(len(self.channels))
            done = [("Event", "CoreShowChannelsComplete"), aid, ("EventList", "Complete")]
            return [*frames, [*done, ("ListItems", n)]]
        return [[("Response", "Success"), aid, ("Message", "OK")]]

    def actions(self, name: str) -> list[AmiMessage]:
        return [a for a in self.received if a["Action"] == name]

    def drop_connections(self) -> None:
        for writer in self.writers:
            writer.transport.abort()


@pytest.fixture
async def ami() -> AsyncIterator[ListingAmi]:
    fake = ListingAmi()
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
    fake.port = server.sockets[0].getsockname()[1]
    try:
        yield fake
    finally:
        fake.drop_connections()
        server.close()
        await server.wait_closed()


async def until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def channel(name: str, uniqueid: str, bridge: str = "") -> Fields:
    return [("Channel", name), ("Uniqueid", uniqueid), ("Linkedid", uniqueid), ("BridgeId", bridge)]


# --- the event filter -------------------------------------------------------------------------


async def test_filter_frames_are_sent_after_every_login_before_on_connect(ami: ListingAmi) -> None:
    seen_at_connect: list[int] = []

    async def on_connect() -> None:
        seen_at_connect.append(len(ami.actions("Filter")))

    client = AmiClient(
        "127.0.0.1", ami.port, "cc", "s", on_event=lambda _: None, ping_interval_s=0,
        backoff_initial_s=0.02, on_connect=on_connect, event_filter=AMI_EVENT_FILTER,
    )  # fmt: skip
    await client.start()
    try:
        filters = ami.actions("Filter")
        assert [f.items_list() for f in filters] == [
            [
                ("Action", "Filter"),
                ("ActionID", f.action_id),
                ("Operation", "Add"),
                ("Filter", f"Event: {name}"),
            ]
            for f, name in zip(filters, AMI_EVENT_FILTER, strict=True)
        ]
        assert {"BridgeEnter", "Hangup", "OriginateResponse"} <= set(AMI_EVENT_FILTER)
        ami.drop_connections()
        await until(lambda: len(seen_at_connect) == 2)
        n = len(AMI_EVENT_FILTER)
        # Filters belong to the session: set again on the new one, and before the resync.
        assert seen_at_connect == [n, 2 * n]
    finally:
        await client.close()


async def test_a_refused_filter_leaves_the_client_working(
    ami: ListingAmi, caplog: pytest.LogCaptureFixture
) -> None:
    ami.filter_response = [("Response", "Error"), ("Message", "Permission denied")]
    connects: list[bool] = []

    async def on_connect() -> None:
        connects.append(True)

    client = AmiClient(
        "127.0.0.1", ami.port, "cc", "s", on_event=lambda _: None, ping_interval_s=0,
        on_connect=on_connect, event_filter=("Hangup", "BridgeEnter"),
    )  # fmt: skip
    await client.start()
    try:
        assert client.connected and connects == [True]
        assert "AMI event filter not set (2 of 2 Filter actions failed" in caplog.text
        assert (await client.action("Ping")).response == "Success"
    finally:
        await client.close()


async def test_the_simulator_sends_only_the_filtered_events() -> None:
    pbx = SimulatedPbx(FakeClock(1000.0), agi_host="127.0.0.1", agi_port=1)
    await pbx.start()
    events: list[AmiMessage] = []
    client = AmiClient(
        "127.0.0.1", pbx.ami_port, "cc", "ccsecret", on_event=events.append,
        ping_interval_s=0, reconnect=False, event_filter=("Hangup",),
    )  # fmt: skip
    await client.start()
    try:
        with pytest.raises(AmiActionError, match="Filter did not compile"):
            await client.action("Filter", {"Operation": "Add", "Filter": "(unclosed"})
        assert BAD_FILTER.startswith("Filter did not compile.  Check")
        await client.action(
            "Filter", {"Operation": "Add", "MatchCriteria": "action(exclude),name(HangupRequest)"}
        )
        before = len(events)  # FullyBooted came at login, before the filters
        for name in ("Newexten", "HangupRequest", "VarSet", "Hangup"):
            pbx.emit([("Event", name), ("Uniqueid", "1.1")])
        await client.action("Ping")  # answered after the events above were written
    finally:
        await client.close()
        await pbx.close()
    assert [e.event for e in events[before:]] == ["Hangup"]


# --- the resync -------------------------------------------------------------------------------


async def test_resync_reports_what_the_outage_hid_once(ami: ListingAmi) -> None:
    clock = FakeClock(1000.0)
    registry = ChannelRegistry()
    published: list[Event] = []
    translator = AmiEventTranslator(registry, clock, published.append)
    for call, uid in (("talking", "1.1"), ("waiting", "1.2"), ("gone", "1.3"), ("known", "1.4")):
        registry.register(CallId(call), f"SIP/trunk-{uid}", uid)
    # Before the outage, "known" was already reported connected.
    translator.handle(AmiMessage([("Event", "BridgeEnter"), ("Uniqueid", "1.4")]))
    published.clear()
    ami.channels = [
        channel("SIP/trunk-1.1", "1.1", bridge="b-1"),  # reached its agent in the dark
        channel("SIP/trunk-1.2", "1.2"),  # still waiting: nothing to say
        channel("SIP/trunk-1.4", "1.4", bridge="b-2"),  # already known to be connected
        channel("PJSIP/1001-00000001", "9.9", bridge="b-1"),  # an agent leg: not ours
    ]
    client = AmiClient(
        "127.0.0.1", ami.port, "cc", "s", on_event=translator.handle, ping_interval_s=0
    )
    await client.start()
    try:
        resync = AmiResync(client, registry, translator, clock)
        await resync()
        assert published == [
            CallConnected(call_id=CallId("talking"), at=1000.0),
            CallHungUp(call_id=CallId("gone"), at=1000.0, cause=LOST_CAUSE),
        ]
        assert resync.last is not None and resync.last.channels == 4
        # A second login, and the real events arriving late, report nothing twice.
        await resync()
        translator.handle(AmiMessage([("Event", "BridgeEnter"), ("Uniqueid", "1.1")]))
        translator.handle(AmiMessage([("Event", "Hangup"), ("Uniqueid", "1.3")]))
        assert len(published) == 2
        # Once "talking" hangs up for real, it is reported once, with Asterisk's cause.
        translator.handle(
            AmiMessage([("Event", "Hangup"), ("Uniqueid", "1.1"), ("Cause-txt", "Normal")])
        )
        assert published[-1] == CallHungUp(call_id=CallId("talking"), at=1000.0, cause="Normal")
    finally:
        await client.close()


async def test_resync_sends_nothing_without_callers_and_survives_a_dropped_link(
    ami: ListingAmi,
) -> None:
    clock = FakeClock(0.0)
    registry = ChannelRegistry()
    published: list[Event] = []
    translator = AmiEventTranslator(registry, clock, published.append)
    client = AmiClient(
        "127.0.0.1", ami.port, "cc", "s", on_event=translator.handle, ping_interval_s=0,
        reconnect=False,
    )  # fmt: skip
    await client.start()
    resync = AmiResync(client, registry, translator, clock)
    try:
        assert await resync.resync() is None
        assert ami.actions("CoreShowChannels") == []
    finally:
        await client.close()
    registry.register(CallId("c1"), "SIP/trunk-1", "1.1")
    # The link is gone: the resync gives up quietly and reports no call as lost.
    assert await resync.resync() is None
    assert published == []
