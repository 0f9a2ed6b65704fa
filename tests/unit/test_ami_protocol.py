"""The AMI wire format: incremental parsing of recorded streams, odd line ends, garbage."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.telephony.ami_protocol import AmiMessage, AmiParser, encode_message

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk"


def stream(name: str, direction: str = "asterisk->server") -> bytes:
    lines = (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    chunks = [json.loads(line) for line in lines if line.strip()]
    return b"".join(c["data"].encode("latin-1") for c in chunks if c["dir"] == direction)


def feed_all(parser: AmiParser, *parts: bytes) -> list[AmiMessage]:
    return [m for part in parts for m in parser.feed(part)]


def test_recorded_stream_parses() -> None:
    parser = AmiParser()
    messages = parser.feed(stream("ami-actions"))
    assert parser.greeting == "Asterisk Call Manager/9.0.0"
    assert parser.skipped == 0
    assert messages[0].items_list() == [
        ("Response", "Success"),
        ("ActionID", "login-1"),
        ("Message", "Authentication accepted"),
    ]
    [command] = [m for m in messages if m.action_id == "a12"]
    assert command.get_all("Output") == [
        "System uptime: 3 minutes, 28 seconds",
        "Last reload: 3 minutes, 28 seconds",
    ]
    assert command["Output"] == "System uptime: 3 minutes, 28 seconds"
    assert messages[-1].response == "Goodbye"


def test_every_split_point_gives_the_same_messages() -> None:
    data = stream("ami-login-failure") + stream("ami-actions")[29:1500]
    expected = AmiParser().feed(data)
    assert len(expected) > 5
    for cut in range(len(data) + 1):
        parser = AmiParser()
        assert feed_all(parser, data[:cut], data[cut:]) == expected, cut


def test_byte_by_byte_equals_one_read() -> None:
    data = stream("ami-call-control")
    one = AmiParser().feed(data)
    parser = AmiParser()
    assert feed_all(parser, *(data[i : i + 1] for i in range(len(data)))) == one
    assert parser.greeting == "Asterisk Call Manager/9.0.0"


def test_lf_only_and_case_insensitive_keys() -> None:
    [msg] = AmiParser().feed(b"action: ping\nactionid: lower-case\n\n")
    assert msg["Action"] == "ping" and msg["ACTIONID"] == "lower-case"
    assert msg.action_id == "lower-case" and "actionId" in msg
    assert list(msg) == ["action", "actionid"]


def test_event_with_response_field_is_an_event() -> None:
    [msg] = AmiParser().feed(
        b"Event: OriginateResponse\r\nResponse: Failure\r\nActionID: x\r\n\r\n"
    )
    assert msg.is_event and not msg.is_response
    assert (msg.name, msg.event, msg.response) == (
        "OriginateResponse",
        "OriginateResponse",
        "Failure",
    )


def test_empty_value_and_colon_in_value() -> None:
    [msg] = AmiParser().feed(b"Event: X\r\nAccountCode: \r\nFilter: !Event: VarSet\r\n\r\n")
    assert msg["AccountCode"] == "" and msg["Filter"] == "!Event: VarSet"


def test_garbage_lines_are_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    parser = AmiParser(max_line=100)
    caplog.set_level(logging.WARNING)
    data = b"Asterisk Call Manager/9.0.0\r\nResponse: Success\r\nno colon here\r\n"
    data += b"X" * 500 + b"\r\n" + b"ActionID: 1\r\n\r\n"
    [msg] = parser.feed(data)
    assert msg.items_list() == [("Response", "Success"), ("ActionID", "1")]
    assert parser.skipped == 2
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == 2


def test_oversized_line_across_reads_is_skipped_once() -> None:
    parser = AmiParser(max_line=100)
    msgs = feed_all(
        parser, b"Event: A\r\nBig: ", b"y" * 80, b"y" * 80, b"y" * 80, b"\r\nK: v\r\n\r\n"
    )
    assert [m.items_list() for m in msgs] == [[("Event", "A"), ("K", "v")]]
    assert parser.skipped == 1


def test_non_utf8_is_latin1() -> None:
    [msg] = AmiParser().feed(b"Event: X\r\nCallerIDName: M\xfcller\r\n\r\n")
    assert msg["CallerIDName"] == "M\xfcller"


def test_encode_round_trip_and_no_injection() -> None:
    fields = [
        ("Action", "Setvar"),
        ("Value", "a\r\nAction: Hangup"),
        ("Output", "1"),
        ("Output", "2"),
    ]
    data = encode_message(fields)
    assert data.endswith(b"\r\n\r\n") and data.count(b"\r\n") == 5
    [msg] = AmiParser().feed(data)
    assert msg.get_all("Output") == ["1", "2"] and msg["Action"] == "Setvar"


@settings(max_examples=2500, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_arbitrary_bytes_never_raise(parts: list[bytes]) -> None:
    parser = AmiParser(max_line=64)
    messages = [msg for part in parts for msg in parser.feed(part)]
    for msg in messages:
        assert all(k.strip() and "\n" not in k + v for k, v in msg.items_list())
    assert AmiParser(max_line=64).feed(b"".join(parts)) == messages  # split-independent
