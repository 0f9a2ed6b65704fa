"""FastAGI replies, environment and argument quoting."""

from __future__ import annotations

import pytest

from contactcenter.telephony.agi_protocol import (
    AgiEnvironment,
    AgiReply,
    parse_env_line,
    parse_reply,
    quote,
    quote_if_needed,
)


@pytest.mark.parametrize(
    ("raw", "code", "result", "data", "endpos"),
    [
        ("200 result=1 (queue)", 200, "1", "queue", None),
        ("200 result= (timeout)", 200, "", "timeout", None),
        ("200 result=0 endpos=3520", 200, "0", None, 3520),
        ("200 result=1234", 200, "1234", None, None),
        ("200 result=-2", 200, "-2", None, None),
        ("200 result=1 (sipp <sipp> Up)", 200, "1", "sipp <sipp> Up", None),
        ("200 result=1 (a (b) c)", 200, "1", "a (b) c", None),
        ("200 result=49 (dtmf) endpos=1234", 200, "49", "dtmf", 1234),
        ("510 Invalid or unknown command", 510, "", None, None),
        ("511 Command Not Permitted on a dead channel or intercept routine", 511, "", None, None),
        ("520 Invalid command syntax.  Proper usage not available.", 520, "", None, None),
        ("garbage", 0, "", None, None),
    ],
)
def test_parse_reply(
    raw: str, code: int, result: str, data: str | None, endpos: int | None
) -> None:
    assert parse_reply(raw) == AgiReply(code, result, data, endpos, raw)


def test_reply_message_and_multiline_520() -> None:
    block = "520-Invalid command syntax.  Proper usage follows:\nUsage: x\n520 End of proper usage."
    reply = parse_reply(block)
    assert reply.code == 520 and reply.message.endswith("End of proper usage.")
    assert parse_reply("510 Invalid or unknown command").message == "Invalid or unknown command"
    assert parse_reply("200 result=-1").result_int == -1
    assert parse_reply("200 result=").result_int == 0


def test_quoting() -> None:
    assert quote("") == '""'
    assert quote("0123456789*#") == '"0123456789*#"'
    assert quote('say "hi" \\ now') == '"say \\"hi\\" \\\\ now"'
    assert quote_if_needed("queue") == "queue"
    assert quote_if_needed("default,2") == "default,2"
    assert quote_if_needed("${CALLERID(num)}") == "${CALLERID(num)}"
    assert quote_if_needed("cc lab ivr") == '"cc lab ivr"'
    assert quote_if_needed("") == '""'


def test_env_lines() -> None:
    assert parse_env_line("agi_arg_3: ") == ("agi_arg_3", "")
    assert parse_env_line("agi_request: agi://h:4573/x") == ("agi_request", "agi://h:4573/x")
    assert parse_env_line("GET / HTTP/1.1") is None
    assert parse_env_line("agi_: x") is None
    assert parse_env_line("Host: x") is None


def test_environment_properties() -> None:
    env = AgiEnvironment(
        {
            "agi_request": "agi://127.0.0.1:4573/outbound?campaign=7&lead=42",
            "agi_callerid": "unknown",
            "agi_calleridname": "",
            "agi_dnid": "unknown",
            "agi_arg_1": "a",
            "agi_arg_2": "",
            "agi_arg_4": "skipped: there is no agi_arg_3",
        }
    )
    assert env.script == "outbound"  # from agi_request when agi_network_script is missing
    assert env.query == {"campaign": "7", "lead": "42"}
    assert env.args == ["a", ""]
    assert (env.callerid, env.calleridname, env.dnid) == (None, None, None)
    assert (env.channel, env.uniqueid, env.type) == ("", "", "")
