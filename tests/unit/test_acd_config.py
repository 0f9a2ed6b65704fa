"""Queue routing settings: loaded from the TOML file into the ACD's QueueConfig, and refused at
load, naming the file, line and key, when they cannot work."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from acd.model import QueueAction, QueueConfig, WidenStep
from contactcenter.app import queue_configs
from contactcenter.errors import ConfigError
from contactcenter.ids import QueueId
from contactcenter.settings import load_settings

GOOD = """\
default_queue = "sales"

[[queues]]
id = "sales"
skills = ["sales", "es"]
skill_levels = { sales = 7 }
widen = [[30, 2], [60, 10]]
priority_aging_per_s = 0.05
strategy = "most_skilled"
max_consecutive_rona = 3
overflow_queue = "general"
overflow_after_s = 120

[[queues]]
id = "general"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cc.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, text), environ={})
    return str(info.value)


def test_routing_settings_reach_the_acd_queue_config(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD), environ={})
    sales = queue_configs(settings)[QueueId("sales")]
    assert sales.skill_levels == {"sales": 7}
    assert sales.widen == (WidenStep(30, 2), WidenStep(60, 10))
    assert (sales.priority_aging_per_s, sales.strategy, sales.max_consecutive_rona) == (
        0.05,
        "most_skilled",
        3,
    )
    assert (sales.overflow_queue, sales.overflow_after_s) == ("general", 120)


def test_a_queue_without_routing_settings_routes_as_before(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD), environ={})
    general = queue_configs(settings)[QueueId("general")]
    assert general == QueueConfig(QueueId("general"), "general", frozenset())


def test_a_level_for_a_skill_the_queue_does_not_have_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("{ sales = 7 }", "{ sales = 7, fr = 5 }")
    message = refusal(tmp_path, text)
    assert "cc.toml:6" in message
    assert "queues.0.skill_levels" in message
    assert "['fr'] are not among the queue's skills" in message


def test_a_level_outside_1_to_10_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, GOOD.replace("sales = 7 }", "sales = 11 }"))
    assert "queues.0.skill_levels.sales" in message
    assert "less than or equal to 10" in message


def test_an_overflow_to_a_queue_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, GOOD.replace('overflow_queue = "general"', 'overflow_queue = "x"'))
    assert "cc.toml:11" in message
    assert "queues.0.overflow_queue" in message
    assert "queue 'x' does not exist (queues: sales, general)" in message


def test_an_overflow_cycle_is_refused(tmp_path: Path) -> None:
    text = GOOD + 'overflow_queue = "sales"\noverflow_after_s = 60\n'
    message = refusal(tmp_path, text)
    assert "queues.0.overflow_queue" in message
    assert "overflow cycle: sales -> general -> sales" in message


def test_an_overflow_to_itself_is_a_cycle(tmp_path: Path) -> None:
    message = refusal(
        tmp_path, GOOD.replace('overflow_queue = "general"', 'overflow_queue = "sales"')
    )
    assert "overflow cycle: sales -> sales" in message


@pytest.mark.parametrize(
    ("before", "after", "key"),
    [
        ("[[30, 2]", "[[-30, 2]", "queues.0.widen.0.0"),
        ("overflow_after_s = 120", "overflow_after_s = -1", "queues.0.overflow_after_s"),
        ("priority_aging_per_s = 0.05", "priority_aging_per_s = -0.05", "priority_aging_per_s"),
        ("max_consecutive_rona = 3", "max_consecutive_rona = -1", "max_consecutive_rona"),
    ],
)
def test_negative_times_and_counts_are_refused(
    tmp_path: Path, before: str, after: str, key: str
) -> None:
    message = refusal(tmp_path, GOOD.replace(before, after))
    assert key in message
    assert "greater than or equal to 0" in message


def test_widening_steps_out_of_order_and_unknown_strategies_are_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, GOOD.replace("[[30, 2], [60, 10]]", "[[60, 2], [30, 10]]"))
    assert "queues.0.widen" in message and "strictly increasing" in message
    message = refusal(tmp_path, GOOD.replace('"most_skilled"', '"random"'))
    assert "queues.0.strategy" in message and "'round_robin'" in message


def test_an_overflow_target_needs_its_time(tmp_path: Path) -> None:
    message = refusal(tmp_path, GOOD.replace("overflow_after_s = 120\n", ""))
    assert "overflow_queue and overflow_after_s go together" in message


HOURS = """\
default_queue = "sales"
timezone = "America/New_York"

[[queues]]
id = "sales"
skills = ["sales"]
hours = { mon = ["09:00-12:30", "13:30-18:00"], sat = ["10:00-24:00"] }
holidays = [2026-12-25, "2027-01-01"]
after_hours_action = "voicemail"
closed_action = "overflow:general"
overflow_queue = "general"
overflow_when_ewt_exceeds_s = 300
ewt_default_handle_s = 240
borrow_from = ["general"]
sl_target = 0.9
sl_window_s = 900

[[queues]]
id = "general"
timezone = "Europe/Paris"
holidays = [2026-12-25]
"""


def test_hours_actions_ewt_overflow_and_borrowing_reach_the_acd(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, HOURS), environ={})
    sales = queue_configs(settings)[QueueId("sales")]
    assert sales.hours is not None and sales.hours.tz.key == "America/New_York"  # the site's
    assert sales.hours.weekly == {0: ((540, 750), (810, 1080)), 5: ((600, 1440),)}
    assert sales.hours.holidays == frozenset({date(2026, 12, 25), date(2027, 1, 1)})
    assert sales.after_hours_action == QueueAction("voicemail")
    assert sales.closed_action == QueueAction("overflow", QueueId("general"))
    assert (sales.overflow_after_s, sales.overflow_when_ewt_exceeds_s) == (None, 300)
    assert (sales.ewt_default_handle_s, sales.borrow_from) == (240, ("general",))
    assert (sales.sl_target, sales.sl_window_s) == (0.9, 900)
    general = queue_configs(settings)[QueueId("general")]
    assert general.hours is not None and general.hours.weekly is None  # open all week
    assert general.hours.tz.key == "Europe/Paris"
    assert settings.site_tz().key == "America/New_York"


@pytest.mark.parametrize(
    ("before", "after", "where", "key", "reason"),
    [
        ('"09:00-12:30"', '"12:30-09:00"', ":7", "queues.0.hours", "ends before it starts"),
        ('"09:00-12:30"', '"9h-12h"', ":7", "queues.0.hours", "is not HH:MM-HH:MM"),
        ('"13:30-18:00"', '"12:00-18:00"', ":7", "queues.0.hours", "overlap"),
        ('"10:00-24:00"', '"10:00-25:00"', ":7", "queues.0.hours", "impossible time"),
        ("sat =", "saturday =", ":7", "queues.0.hours", "'saturday' is not a weekday"),
        ('"voicemail"', '"voicemale"', ":9", "after_hours_action", "unknown action"),
        ('"overflow:general"', '"overflow:nowhere"', ":10", "closed_action", "'nowhere' does"),
        ('"overflow:general"', '"overflow"', ":10", "closed_action", "needs a queue"),
        ('["general"]', '["ghost"]', ":14", "queues.0.borrow_from", "'ghost' does not exist"),
        ('["general"]', '["sales"]', "cc.toml", "queues.0", "cannot borrow from itself"),
        ("sl_target = 0.9", "sl_target = 1.5", ":15", "sl_target", "less than or equal to 1"),
        ("= 300", "= -3", ":12", "overflow_when_ewt_exceeds_s", "greater than or equal to 0"),
        ('"Europe/Paris"', '"Mars/Olympus"', ":20", "queues.1.timezone", "unknown timezone"),
        ("holidays = [2026-12-25]", 'holidays = ["12/25"]', ":21", "queues.1.holidays", "date"),
    ],
)
def test_bad_hours_actions_and_borrowing_are_refused_with_file_line_and_key(
    tmp_path: Path, before: str, after: str, where: str, key: str, reason: str
) -> None:
    assert before in HOURS
    message = refusal(tmp_path, HOURS.replace(before, after))
    assert where in message and key in message and reason in message, message


def test_an_unknown_site_timezone_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, HOURS.replace('"America/New_York"', '"Nowhere/Town"'))
    assert "cc.toml:2" in message and "key 'timezone'" in message
    assert "unknown timezone 'Nowhere/Town'" in message
