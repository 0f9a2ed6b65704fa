"""AmiCallControl and the AmiEventTranslator against Asterisk's recorded bytes.

A fake Asterisk answers each action our adapter sends with the bytes Asterisk 20 sent after the
recorded action (its response and the events that followed, up to the next recorded action),
with our ActionID put in place of the recorded one. We check:

- the frame we send against the recorded action: same action, same keys and values, except the
  differences listed per case (our contexts are those of config/asterisk/extensions.conf, the lab
  used its own; our Originate adds ChannelId and CC_* variables);
- what the adapter makes of Asterisk's answer: `Response: Error` raises TelephonyError with
  Asterisk's message; the translator's domain events (OriginateFinished per outcome) and the
  agent/supervisor legs it learns from DialBegin / OriginateResponse.

Actions with no recording (Redirect with ExtraChannel for hold, Bridge success, MuteAudio,
PlayDTMF) are not here: the simulator answers them with the texts of Asterisk's source
(manager.c action_redirect / action_bridge, res_mutestream.c manager_mutestream, app_senddtmf.c
manager_play_dtmf; each handler in contactcenter/simulator/ami_actions.py names its source), and
tests/integration/test_call_control.py drives them end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from contactcenter.clock import FakeClock
from contactcenter.events import Event, OriginateFinished
from contactcenter.ids import CallId
from contactcenter.ports import OriginateRequest
from contactcenter.telephony.ami import AmiClient
from contactcenter.telephony.ami_events import AmiEventTranslator
from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser
from contactcenter.telephony.call_control import AmiCallControl
from contactcenter.telephony.channels import ChannelRegistry
from contactcenter.telephony.errors import TelephonyError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk"


@dataclass
class Step:
    """One recorded action and the Asterisk bytes that followed it."""

    action: AmiMessage
    reply: list[bytes] = field(default_factory=list)


def recorded_steps(name: str) -> tuple[list[bytes], list[Step]]:
    """The greeting+login bytes, then one Step per recorded action (a chunk with several
    actions is split; the reply bytes go with the last of them)."""
    lines = (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    chunks = [json.loads(line) for line in lines if line.strip()]
    head: list[bytes] = []
    steps: list[Step] = []
    for chunk in chunks:
        data = chunk["data"].encode("latin-1")
        if chunk["dir"] == "server->asterisk":
            for msg in AmiParser().feed(data):
                steps.append(Step(msg))
        elif chunk["dir"] == "asterisk->server":
            (steps[-1].reply if steps else head).append(data)
    return head, steps


class FakeAsterisk:
    """Serves the recorded login, then answers each action with a chosen recorded step.

    Every recorded ActionID already seen is replaced by ours in what it writes, so one reply
    can answer several actions (the recording sent some in one burst)."""

    def __init__(self, name: str) -> None:
        head, steps = recorded_steps(name)
        self.head = head
        self.login = steps[0]
        self.steps = {s.action.action_id: s for s in steps[1:] if s.action.action_id}
        # (recorded ActionID of our next frame, recorded ActionID whose reply to write or None)
        self.queue: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()
        self.ids: dict[bytes, bytes] = {}
        self.sent: list[AmiMessage] = []
        self.port = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    def _substitute(self, data: bytes) -> bytes:
        for old, new in self.ids.items():
            data = data.replace(old, new)
        return data

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(
            asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError
        ):
            await self._answer(reader, writer)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self.head[0])
        login = AmiParser().feed(await reader.readuntil(b"\r\n\r\n"))[0]
        for data in self.login.reply:
            writer.write(data.replace(b"login-1", (login.action_id or "").encode()))
        while True:
            recorded_id, reply_of = await self.queue.get()
            frame = await reader.readuntil(b"\r\n\r\n")
            [ours] = AmiParser().feed(frame)
            self.sent.append(ours)
            old = f"ActionID: {recorded_id}\r\n".encode()
            self.ids[old] = f"ActionID: {ours.action_id}\r\n".encode()
            if reply_of is not None:
                for data in self.steps[reply_of].reply:
                    writer.write(self._substitute(data))
                await writer.drain()


@dataclass
class Rig:
    fake: FakeAsterisk
    ami: AmiClient
    registry: ChannelRegistry
    translator: AmiEventTranslator
    control: AmiCallControl
    published: list[Event]

    async def act(
        self,
        recorded_id: str,
        run: Callable[[], Awaitable[None]],
        *,
        reply_of: str | None = "",
        wait: bool = True,
    ) -> asyncio.Task[None]:
        """Send our action as the recorded `recorded_id`; the fake then writes the reply
        recorded after `reply_of` (default: the same action; None: nothing yet)."""
        await self.fake.queue.put((recorded_id, recorded_id if reply_of == "" else reply_of))
        task: asyncio.Task[None] = asyncio.ensure_future(run())  # type: ignore[arg-type]
        if wait:
            await task
            await asyncio.sleep(0.05)  # the events after the response
        else:
            await asyncio.sleep(0.02)  # our frame is written, in order
        return task

    @property
    def last(self) -> AmiMessage:
        return self.fake.sent[-1]


async def rig(name: str, dial_template: str = "Local/{number}@customers") -> Rig:
    fake = FakeAsterisk(name)
    await fake.start()
    registry = ChannelRegistry()
    published: list[Event] = []
    translator = AmiEventTranslator(registry, FakeClock(), published.append)
    ami = AmiClient(
        "127.0.0.1",
        fake.port,
        fake.login.action["Username"],
        fake.login.action["Secret"],
        on_event=translator.handle,
        ping_interval_s=0,
        reconnect=False,
    )
    await ami.start()
    control = AmiCallControl(
        ami, registry, dial_template=dial_template, expect_originate=translator.expect_originate
    )
    return Rig(fake, ami, registry, translator, control, published)


def same_action(
    ours: AmiMessage,
    recorded: AmiMessage,
    *,
    differ: dict[str, str] | None = None,
    extra: set[str] | None = None,
) -> None:
    """Our frame is the recorded action, but for `differ` (key -> our value) and `extra` keys."""
    differ = differ or {}
    extra = {k.lower() for k in (extra or set())} | {"actionid"}
    assert (ours.get("Action") or "").lower() == (recorded.get("Action") or "").lower()
    rec = {k.lower(): v for k, v in recorded.items_list() if k.lower() not in ("action", *extra)}
    mine = {k.lower(): v for k, v in ours.items_list() if k.lower() not in ("action", *extra)}
    for key, value in differ.items():
        assert mine.get(key.lower()) == value, f"{key}: {mine.get(key.lower())!r}"
        rec[key.lower()] = value
    assert mine == rec


CALLER = "SIP/sipp-00000000"


async def test_call_control_actions_against_the_recording() -> None:
    """ami-call-control: MixMonitor, the ChanSpy Originate, StopMixMonitor, BlindTransfer,
    a Bridge naming a missing channel (Response: Error), and Hangup."""
    r = await rig("ami-call-control")
    call = CallId("call-110")
    r.registry.register(call, CALLER, "1795914608.0")
    # DialBegin of the caller (before the first action) told the translator the agent's leg
    steps = r.fake.steps
    try:
        await r.act("a2", lambda: r.control.start_recording(call, "cc-call-110.wav"))
        same_action(r.last, steps["a2"].action)

        # The lab spied on the caller's channel; the server spies on the agent's leg (so that
        # whisper reaches the agent). The same frame once the leg is that channel.
        r.registry.set_agent_leg(call, CALLER)
        await r.act("spy-whisper", lambda: r.control.spy(call, "Local/1004@agents", "whisper"))
        same_action(r.last, steps["spy-whisper"].action)
        assert r.last.action_id == "spy-call-110"
        # its OriginateResponse told the translator which channel is the supervisor's
        assert r.registry.spy_leg_of(call) == "Local/1004@agents-00000001;1"

        await r.act("a4", lambda: r.control.stop_recording(call))
        same_action(r.last, steps["a4"].action)

        # after the recorded hold/resume, the caller's DialBegin named the new agent leg
        for recorded_id in ("hold", "resume-to-1004"):
            fields = [
                (k, v)
                for k, v in steps[recorded_id].action.items_list()
                if k.lower() not in ("action", "actionid")
            ]
            await r.fake.queue.put((recorded_id, recorded_id))
            await r.ami.action("Redirect", fields)
            await asyncio.sleep(0.05)
        assert r.registry.agent_leg_of(call) == "Local/1004@agents-00000002;1"

        await r.act("blind-xfer", lambda: r.control.blind_transfer(call, "1003"))
        same_action(r.last, steps["blind-xfer"].action, differ={"Context": "cc-transfer"})
        # the caller's DialBegin after the transfer: the translator follows the new leg
        assert r.registry.agent_leg_of(call) == "Local/1003@agents-00000003;1"

        r.registry.set_agent_leg(call, "Local/nonexistent-0000;1")

        async def bad_bridge() -> None:
            with pytest.raises(TelephonyError, match=r"^Channel2 does not exist: Local/nonexist"):
                await r.control.unhold(call)

        refused = await r.act("bridge-bad", bad_bridge, reply_of=None, wait=False)
        same_action(r.last, steps["bridge-bad"].action)
        await r.act("end", lambda: r.control.hangup(call))
        same_action(r.last, steps["end"].action)
        await asyncio.wait_for(refused, 5)
        # ChanSpyStop when the spied caller went: the supervisor leg is forgotten
        assert r.registry.spy_leg_of(call) is None
    finally:
        await r.ami.close()


OUTCOMES = {
    # recorded ActionID: (number, outcome, cause, AMDSTATUS, AMDCAUSE)
    "orig-answer": ("2000", "answered_human", "amd not sure", "NOTSURE", "TOOLONG-4920"),
    "orig-machine": ("2004", "machine", None, "MACHINE", "MAXWORDS-3-2"),
    "orig-busy": ("2001", "busy", "busy", None, None),
    "orig-noanswer": ("2002", "no_answer", "no answer", None, None),
    "orig-congestion": ("2003", "failed", "congestion", None, None),
    "orig-badchannel": ("", "failed", "invalid channel or number", None, None),
    "orig-badtech": ("", "failed", "invalid channel or number", None, None),
}


async def test_originate_outcomes_from_the_recording() -> None:
    """ami-originate-outcomes: answered (AMD NOTSURE), machine, busy, no answer, congestion,
    unknown peer and unknown technology, each mapped to exactly one OriginateFinished."""
    r = await rig("ami-originate-outcomes")
    steps = r.fake.steps
    try:
        calls: dict[str, CallId] = {}
        tasks = []
        for recorded_id, (number, *_rest) in OUTCOMES.items():
            call = CallId(f"c-{recorded_id}")
            calls[recorded_id] = call
            recorded = steps[recorded_id].action
            differ = {"Context": "cc-outbound"}
            if not number:  # SIP/nosuchpeer, Bogus/x: not from a template, given as is
                r.control._dial_template = recorded["Channel"].replace("x", "{number}")
                r.control._dial_template = r.control._dial_template.replace(
                    "nosuchpeer", "{number}"
                )
                number = "5550000"
                differ["Channel"] = r.control._dial_template.replace("{number}", number)
            request = OriginateRequest(
                call, number, "5559000", "Campaign 7", timeout_s=8.0, amd=True
            )
            last = recorded_id == "orig-badtech"  # Asterisk answered all seven after it
            tasks.append(
                await r.act(
                    recorded_id,
                    lambda req=request: r.control.originate(req),  # type: ignore[misc]
                    reply_of=recorded_id if last else None,
                    wait=False,
                )
            )
            same_action(r.last, recorded, differ=differ, extra={"ChannelId", "Variable"})
            assert r.last.get_all("Variable") == [f"CC_CALL_ID={call}", "CC_AMD=yes"]
            assert r.last["ChannelId"] == call
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        await asyncio.sleep(0.1)
        finished = [e for e in r.published if isinstance(e, OriginateFinished)]
        by_call = {e.call_id: e for e in finished}
        assert len(by_call) == len(finished) == len(OUTCOMES)
        for recorded_id, (_, outcome, cause, amd_status, amd_cause) in OUTCOMES.items():
            event = by_call[calls[recorded_id]]
            assert (event.outcome, event.cause, event.amd_status, event.amd_cause) == (
                outcome,
                cause,
                amd_status,
                amd_cause,
            ), recorded_id
    finally:
        await r.ami.close()


async def test_originate_more_channel_id_amd_human_and_amd_hangup() -> None:
    """ami-originate-more: AMDSTATUS=HUMAN on the ChannelId the server chose (our call id); a
    callee who hangs up during AMD; a Local channel to a missing extension (Reason 0)."""
    r = await rig("ami-originate-more")
    steps = r.fake.steps
    try:
        human = CallId("cc-call-0001")
        request = OriginateRequest(human, "2005", "5559000", "Campaign 7", timeout_s=8.0)
        await r.act("orig-human", lambda: r.control.originate(request))
        same_action(
            r.last,
            steps["orig-human"].action,
            differ={"Context": "cc-outbound"},
            extra={"Variable", "OtherChannelId"},
        )
        # the answered channel is registered under the call id: its later events are ours
        assert r.registry.channel_of(human) == "Local/2005@customers-00000017;1"
        hangup, missing = CallId("c-amd-hangup"), CallId("c-no-such-exten")
        first = OriginateRequest(hangup, "2006", "5559000", "Campaign 7", timeout_s=8.0)
        second = OriginateRequest(missing, "9999", "5559000", "Campaign 7", timeout_s=8.0)
        task = await r.act(
            "orig-amd-hangup", lambda: r.control.originate(first), reply_of=None, wait=False
        )
        # the recorded burst's bytes (all three answers, then the AMD results) come after it
        await r.act(
            "orig-no-such-exten", lambda: r.control.originate(second), reply_of="orig-no-channel"
        )
        await asyncio.wait_for(task, 5)
        await asyncio.sleep(0.1)
        finished = [e for e in r.published if isinstance(e, OriginateFinished)]
        by_call = {e.call_id: e for e in finished}
        assert len(by_call) == len(finished) == 3
        assert (by_call[human].outcome, by_call[human].amd_status) == ("answered_human", "HUMAN")
        assert by_call[human].amd_cause == "HUMAN-800-800"
        assert (by_call[hangup].outcome, by_call[hangup].cause) == (
            "no_answer",
            "hung up during amd",
        )
        assert by_call[hangup].amd_status == "HANGUP"
        assert (by_call[missing].outcome, by_call[missing].cause) == (
            "failed",
            "invalid channel or number",
        )
    finally:
        await r.ami.close()


def recorded_events(name: str) -> list[AmiMessage]:
    """Every message Asterisk sent in a recording, in order."""
    parser = AmiParser()
    out: list[AmiMessage] = []
    for line in (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        chunk = json.loads(line) if line.strip() else None
        if chunk is not None and chunk["dir"] == "asterisk->server":
            out.extend(parser.feed(chunk["data"].encode("latin-1")))
    return out


async def test_agent_first_originate_against_the_recording() -> None:
    """ami-originate-more's async Originate of a channel into a context (`orig-human`, with
    ChannelId) is the frame of an agent-first callback: the agent's endpoint into cc-callback,
    our caller ID and CC_* variables. Its recorded OriginateResponse (Success) tells the
    adapter that the agent answered, and which channel is the agent's leg."""
    r = await rig("ami-originate-more")
    steps = r.fake.steps
    try:
        call = CallId("cc-call-0001")  # the recorded ChannelId
        request = OriginateRequest(
            call,
            "5551234",
            "5559000",
            timeout_s=2.0,
            amd=False,
            variables=(("CC_CALLBACK_ID", "7"),),
        )
        endpoint = steps["orig-human"].action["Channel"]  # Local/2005@customers: the agent
        task = await r.act(
            "orig-human",
            lambda: r.control.dial_from_agent(request, endpoint, 8.0),
            wait=False,
        )
        same_action(
            r.last,
            steps["orig-human"].action,
            differ={"Context": "cc-callback", "CallerID": '"Callback" <5551234>'},
            extra={"Variable", "OtherChannelId"},
        )
        assert r.last.action_id == "agentfirst-cc-call-0001"
        assert r.last.get_all("Variable") == [
            "CC_CALL_ID=cc-call-0001",
            "CC_DIAL=Local/5551234@customers",
            "CC_CALLER_ID=5559000",
            "CC_RING_TIMEOUT=2",
            "CC_CALLBACK_ID=7",
        ]
        await asyncio.wait_for(task, 5)  # returns: the agent answered
        assert r.registry.agent_leg_of(call) == "Local/2005@customers-00000017;1"
        assert r.registry.agent_first_of("cc-call-0001") == call
        # the agent's channel is no caller: its AMD and AGI events publish nothing of ours
        assert r.registry.channel_of(call) is None
        assert [e for e in r.published if getattr(e, "call_id", None) == call] == []
    finally:
        await r.ami.close()


async def test_agent_first_originate_the_agent_does_not_answer() -> None:
    """ami-originate-outcomes' busy Originate (Response: Failure, Reason 5) as the agent's
    phone: TelephonyError names the reason, and no leg is remembered."""
    r = await rig("ami-originate-outcomes")
    steps = r.fake.steps
    try:
        call = CallId("c-orig-busy")
        request = OriginateRequest(call, "5551234", "5559000", timeout_s=2.0, amd=False)
        endpoint = steps["orig-busy"].action["Channel"]

        async def refused() -> None:
            with pytest.raises(TelephonyError, match=r"did not answer \(originate reason 5\)"):
                await r.control.dial_from_agent(request, endpoint, 8.0)

        # Asterisk answered the burst of seven Originates after the last one (orig-badtech)
        task = await r.act("orig-busy", refused, reply_of="orig-badtech", wait=False)
        await asyncio.wait_for(task, 5)
        assert r.registry.agent_leg_of(call) is None
    finally:
        await r.ami.close()


def _dial_ends(name: str, caller_uniqueid: str) -> list[AmiMessage]:
    return [
        m
        for m in recorded_events(name)
        if m.event == "DialEnd" and m.get("Uniqueid") == caller_uniqueid
    ]


def test_agent_first_dial_end_answer_makes_the_customer_the_call() -> None:
    """ami-call-control: SIP/sipp-00000000 Dials Local/1003@agents (DialEnd ANSWER), then the
    bridge. Taken as an agent-first agent channel dialling the customer: the dialled leg
    becomes the call's channel, the dialling one its agent leg; the outcome is published, and
    the recorded BridgeEnter of the dialled leg connects the call."""
    registry = ChannelRegistry()
    published: list[Event] = []
    translator = AmiEventTranslator(registry, FakeClock(), published.append)
    call = CallId("af-1")
    registry.agent_first_answered(call, CALLER, "1795914608.0", None)
    events = recorded_events("ami-call-control")
    first = next(i for i, m in enumerate(events) if m.event == "DialEnd")
    answered = events[first]
    assert answered.get("DialStatus") == "ANSWER" and answered.get("Uniqueid") == "1795914608.0"
    customer = answered["DestUniqueid"]
    for msg in events[first:]:
        translator.handle(msg)
        if msg.event == "BridgeEnter" and msg.get("Uniqueid") == customer:
            break
    assert registry.channel_of(call) == "Local/1003@agents-00000000;1"
    assert registry.by_uniqueid(customer) == call
    assert registry.agent_leg_of(call) == CALLER
    assert [type(e).__name__ for e in published] == ["OriginateFinished", "CallConnected"]
    finished = published[0]
    assert isinstance(finished, OriginateFinished)
    assert (finished.call_id, finished.outcome, finished.cause) == (call, "answered_human", None)


@pytest.mark.parametrize(
    ("index", "outcome", "cause"),
    [(0, "no_answer", "no answer"), (1, "failed", "the agent hung up before the answer")],
)
def test_agent_first_dial_end_without_answer(index: int, outcome: str, cause: str) -> None:
    """ami-queue-members' DialEnd NOANSWER and CANCEL of SIP/sipp-00000007's ring of
    Local/1009@agents, as an agent-first dial: one OriginateFinished, the dialled leg is not
    registered (its Hangup is nobody's)."""
    registry = ChannelRegistry()
    published: list[Event] = []
    translator = AmiEventTranslator(registry, FakeClock(), published.append)
    call = CallId(f"af-{index}")
    registry.agent_first_answered(call, "SIP/sipp-00000007", "1795915340.49", None)
    dial_end = _dial_ends("ami-queue-members", "1795915340.49")[index]
    translator.handle(dial_end)
    assert registry.channel_of(call) is None
    [finished] = published
    assert isinstance(finished, OriginateFinished)
    assert (finished.call_id, finished.outcome, finished.cause) == (call, outcome, cause)
