"""Wallboard figures: ASA and AHT counted from the bus, colour bands of the thresholds, the
desktop and wallboard settings' validation, and what each role's view keeps."""

from __future__ import annotations

from typing import Any

import pytest

from contactcenter.clock import FakeClock, utc_day
from contactcenter.errors import ConfigError
from contactcenter.events import AgentStateChanged, CallAnswered, CallEnded, CallQueued
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.livestate import MemoryLiveState
from contactcenter.records import Role, User
from contactcenter.settings import Settings, Threshold, load_settings
from contactcenter.wallboard import Wallboard, filter_snapshot, wallboard_view

Q = QueueId("support")
A = AgentId("agent1")
T0 = 1_800_000_000.0


async def _push(_: dict[str, Any]) -> None:
    return None


async def test_asa_and_aht_come_from_the_calls_answered_and_handled_today() -> None:
    clock = FakeClock(T0 + 300)
    live = MemoryLiveState()
    board = Wallboard(Settings(), clock, live, _push)
    day = utc_day(T0)
    c1, c2 = CallId("c1"), CallId("c2")
    # call 1: waits 4 s, talks 60 s, wraps up 10 s -> handled in 70 s
    for event in (
        CallQueued(c1, Q, None, 0, T0),
        CallAnswered(c1, A, Q, T0 + 4),
        AgentStateChanged(A, "on_call", None, c1, T0 + 4),
        AgentStateChanged(A, "wrap_up", None, c1, T0 + 64),
        CallEnded(c1, A, Q, "answered", T0 + 64),
    ):
        await board.on_event(event)
    await live.incr(Q, day, "offered")
    await live.incr(Q, day, "answered")
    figures = (await board.snapshot())["queues"][0]
    assert figures["asa_s"] == 4.0
    assert figures["aht_s"] is None, "not handled until the wrap-up ends"
    await board.on_event(AgentStateChanged(A, "ready", None, None, T0 + 74))
    # call 2: waits 10 s; a queue without wrap-up: Ready comes before the CallEnded event
    for event in (
        CallQueued(c2, Q, None, 0, T0 + 100),
        CallAnswered(c2, A, Q, T0 + 110),
        AgentStateChanged(A, "on_call", None, c2, T0 + 110),
        AgentStateChanged(A, "ready", None, None, T0 + 140),
        CallEnded(c2, A, Q, "answered", T0 + 140),
    ):
        await board.on_event(event)
    await live.incr(Q, day, "offered")
    await live.incr(Q, day, "answered")
    figures = (await board.snapshot())["queues"][0]
    assert figures["asa_s"] == 7.0  # (4 + 10) / 2
    assert figures["aht_s"] == 50.0  # (70 + 30) / 2
    assert figures["handled"] == 2
    assert figures["colours"]["asa_s"] == "green" and figures["colours"]["waiting"] == "green"


async def test_an_abandoned_call_counts_no_wait_and_no_handle_time() -> None:
    live = MemoryLiveState()
    board = Wallboard(Settings(), FakeClock(T0 + 60), live, _push)
    await board.on_event(CallQueued(CallId("c"), Q, None, 0, T0))
    await board.on_event(CallEnded(CallId("c"), None, Q, "abandoned", T0 + 30))
    counters = await live.counters(Q, utc_day(T0))
    assert counters.extra == {}


def test_threshold_bands_in_both_directions() -> None:
    worse_high = Threshold(amber=3, red=6)
    assert [worse_high.colour(v) for v in (0, 2.9, 3, 5.9, 6, 60)] == [
        "green",
        "green",
        "amber",
        "amber",
        "red",
        "red",
    ]
    worse_low = Threshold(amber=0.8, red=0.7)
    assert [worse_low.colour(v) for v in (1.0, 0.81, 0.8, 0.71, 0.7, 0.0)] == [
        "green",
        "green",
        "amber",
        "amber",
        "red",
        "red",
    ]
    assert worse_low.colour(None) is None
    with pytest.raises(ValueError, match="must differ"):
        Threshold(amber=1, red=1)


def test_settings_refuse_bad_thresholds_and_reason_codes(tmp_path: Any) -> None:
    path = tmp_path / "cc.toml"
    cases = [
        ("[wallboard.thresholds]\nqueue_length = { amber = 1, red = 2 }\n", "unknown figures"),
        ("[wallboard.thresholds]\nasa_s = { amber = 5, red = 5 }\n", "must differ"),
        ("[wallboard]\ncustomer_data_roles = ['boss']\n", "unknown roles"),
        ("[desktop]\nnot_ready_reasons = []\n", "at least one"),
        ("[desktop]\nnot_ready_reasons = ['Lunch', 'lunch']\n", "unique"),
        ("[desktop]\nnot_ready_reasons = ['rona']\n", "reserved"),
    ]
    for text, message in cases:
        path.write_text(text)
        with pytest.raises(ConfigError, match=message) as info:
            load_settings(path, environ={})
        assert str(path) in str(info.value)
    path.write_text("[wallboard.thresholds]\nwaiting = { amber = 1, red = 2 }\n")
    settings = load_settings(path, environ={})
    assert settings.wallboard.thresholds["waiting"] == Threshold(amber=1, red=2)
    assert settings.wallboard.thresholds["aht_s"] == Threshold(amber=300, red=480), "defaults kept"


def _user(name: str, role: Role, team: str | None = None) -> User:
    return User(1, name, name, role, "x", team=team)


def test_each_view_keeps_only_what_the_role_may_see() -> None:
    snapshot = {
        "at": T0,
        "queues": [
            {
                "id": "support",
                "calls": [{"call_id": "w1", "caller_number": "+1555", "customer_name": "Ada"}],
            }
        ],
        "agents": [
            {
                "agent_id": "a",
                "team": "red",
                "caller_number": "+1",
                "customer_name": "Bo",
                "customer_id": 3,
            },
            {
                "agent_id": "b",
                "team": None,
                "caller_number": None,
                "customer_name": None,
                "customer_id": None,
            },
        ],
    }
    roles = frozenset({"supervisor", "admin"})
    red_lead = filter_snapshot(snapshot, wallboard_view(_user("r", Role.SUPERVISOR, "red"), roles))
    assert [a["agent_id"] for a in red_lead["agents"]] == ["a"]
    assert red_lead["agents"][0]["customer_name"] == "Bo"
    manager = filter_snapshot(snapshot, wallboard_view(_user("m", Role.MANAGER), roles))
    assert [a["agent_id"] for a in manager["agents"]] == ["a", "b"]
    assert manager["agents"][0]["customer_name"] is None
    assert manager["queues"][0]["calls"][0]["caller_number"] is None
    admin = filter_snapshot(snapshot, wallboard_view(_user("x", Role.ADMIN), roles))
    assert admin["queues"][0]["calls"][0]["customer_name"] == "Ada"
    assert snapshot["agents"][0]["customer_name"] == "Bo", "the shared snapshot is not changed"
