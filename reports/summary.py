"""Counts of a run of calls by outcome (the demo's closing line, and a sanity check for tests).

Definitions: docs/metrics.md. Pure: takes call records, returns figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contactcenter.records import CallRecord, Outcome


@dataclass(frozen=True, slots=True)
class Summary:
    total: int
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    failed: int
    in_progress: int


def summarise(calls: Iterable[CallRecord]) -> Summary:
    total = offered = answered = abandoned = short = failed = in_progress = 0
    for call in calls:
        total += 1
        if call.queued_at is not None:
            offered += 1
        if call.outcome is None:
            in_progress += 1
        elif call.outcome is Outcome.ANSWERED:
            answered += 1
        elif call.outcome is Outcome.ABANDONED:
            abandoned += 1
        elif call.outcome is Outcome.SHORT_ABANDONED:
            short += 1
        elif call.outcome is Outcome.FAILED:
            failed += 1
    return Summary(total, offered, answered, abandoned, short, failed, in_progress)
