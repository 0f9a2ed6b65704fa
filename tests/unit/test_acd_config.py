"""Queue routing settings: loaded from the TOML file into the ACD's QueueConfig, and refused at
load, naming the file, line and key, when they cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.model import QueueConfig, WidenStep
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
