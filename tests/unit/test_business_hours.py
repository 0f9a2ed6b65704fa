"""BusinessHours.next_open: when a closed queue opens again (the closed-queue callback's due
time)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from acd.model import BusinessHours

PARIS = ZoneInfo("Europe/Paris")


def _at(*parts: int, tz: ZoneInfo = PARIS) -> float:
    return datetime(*parts, tzinfo=tz).timestamp()


# Monday to Friday 09:00-12:30 and 13:30-18:00, Paris time.
WEEK = {d: ((540, 750), (810, 1080)) for d in range(5)}


def test_open_now_is_now() -> None:
    hours = BusinessHours(PARIS, WEEK)
    now = _at(2026, 11, 30, 10, 15)  # a Monday
    assert hours.next_open(now) == now


def test_lunch_break_opens_at_the_afternoon_range() -> None:
    hours = BusinessHours(PARIS, WEEK)
    assert hours.next_open(_at(2026, 11, 30, 12, 45)) == _at(2026, 11, 30, 13, 30)


def test_friday_evening_opens_on_monday_morning() -> None:
    hours = BusinessHours(PARIS, WEEK)
    assert hours.next_open(_at(2026, 12, 4, 18, 0)) == _at(2026, 12, 7, 9, 0)


def test_holidays_are_skipped() -> None:
    hours = BusinessHours(PARIS, WEEK, frozenset({date(2026, 12, 25), date(2026, 12, 28)}))
    # Thursday 24th evening -> Friday 25th is a holiday -> weekend -> Monday 28th holiday
    assert hours.next_open(_at(2026, 12, 24, 19, 0)) == _at(2026, 12, 29, 9, 0)


def test_around_the_clock_with_a_holiday_opens_at_the_next_midnight() -> None:
    hours = BusinessHours(PARIS, None, frozenset({date(2026, 12, 25)}))
    assert hours.next_open(_at(2026, 12, 25, 15, 0)) == _at(2026, 12, 26, 0, 0)


def test_opening_after_a_dst_change_is_local_wall_clock_time() -> None:
    hours = BusinessHours(PARIS, WEEK)
    # Saturday before the end of summer time (Sunday 25 Oct 2026): opens Monday 09:00 CET
    assert hours.next_open(_at(2026, 10, 24, 12, 0)) == _at(2026, 10, 26, 9, 0)
    assert _at(2026, 10, 26, 9, 0) - _at(2026, 10, 23, 9, 0) == 3 * 86400 + 3600


def test_never_open_gives_none() -> None:
    assert BusinessHours(PARIS, {}).next_open(_at(2026, 11, 30, 10, 0)) is None
