"""A binary heap with lazy deletion: the ACD's per-queue indexes of READY agents and of
waiting calls.

Entries are tuples ordered by their leading fields. An entry is never removed when it goes
stale (the agent left READY, the call was offered or removed); the owner's `is_live` callback
says whether it still counts, and stale entries are dropped when they reach the top or when
the heap is compacted. Compaction runs when the heap has doubled since the last one, so the
memory held is O(live entries) and the cost is amortised O(1) per push.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

E = TypeVar("E", bound=tuple[Any, ...])

_MIN_COMPACT = 64


class LazyHeap(Generic[E]):
    __slots__ = ("_compact_at", "_entries", "_is_live")

    def __init__(self, is_live: Callable[[E], bool]) -> None:
        self._entries: list[E] = []
        self._is_live = is_live
        self._compact_at = _MIN_COMPACT

    def push(self, entry: E) -> None:
        heapq.heappush(self._entries, entry)
        if len(self._entries) >= self._compact_at:
            self.compact()

    def peek(self) -> E | None:
        """The smallest live entry, or None. Stale entries on top are discarded."""
        entries = self._entries
        while entries:
            top = entries[0]
            if self._is_live(top):
                return top
            heapq.heappop(entries)
        return None

    def pop(self) -> E | None:
        """Remove and return the smallest live entry, or None."""
        top = self.peek()
        if top is not None:
            heapq.heappop(self._entries)
        return top

    def compact(self) -> None:
        live = [e for e in self._entries if self._is_live(e)]
        heapq.heapify(live)
        self._entries = live
        self._compact_at = max(_MIN_COMPACT, 2 * len(live))

    def __len__(self) -> int:
        """Entries held, stale ones included (for tests and diagnostics)."""
        return len(self._entries)

    def __iter__(self) -> Iterator[E]:
        """Live entries, in no particular order."""
        return (e for e in self._entries if self._is_live(e))
