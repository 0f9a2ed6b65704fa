"""Callbacks: a customer asks to be called back instead of waiting.

Three ways in, one life:
- a web callback request (`POST /api/callbacks`, from a signed-in user or the site's web
  backend with the configured API key), with a number and a preferred time;
- an agent scheduling one after a call;
- a caller on virtual hold: they press 1 while queued, hang up, and keep their place.

A callback is SCHEDULED until its due time, then QUEUED: it enters its queue as a reservation
(at its place: a virtual-hold caller keeps the time they first queued) and the ACD serves it
like any other call. When its turn comes (an agent takes it) it is DIALING; the attempt's
outcome either COMPLETES it (a person answered and reached an agent) or schedules a retry, up
to `callbacks.max_attempts`, after which it FAILED. A CANCELLED one is never dialled (a
cancelled reservation leaves its queue: `on_cancel`).

Every state change is one conditional UPDATE (`expect=`), so a callback cancelled while it is
being queued is never dialled, and a restart re-schedules every open callback from the table.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from contactcenter.clock import Clock
from contactcenter.errors import InvalidRequest, NotFound
from contactcenter.ids import CallId, CustomerId, QueueId
from contactcenter.records import Outcome
from contactcenter.settings import CallbackSettings, Settings
from contactcenter.tasks import stop_tasks

logger = logging.getLogger(__name__)

# What a person types as a phone number: digits, an optional leading '+', and punctuation.
_DIALABLE = re.compile(r"^\+?[0-9(][0-9 ().\-/]{1,40}$")


class CallbackState(StrEnum):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    DIALING = "dialing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_STATES = (CallbackState.SCHEDULED, CallbackState.QUEUED, CallbackState.DIALING)


class CallbackSource(StrEnum):
    WEB = "web"
    AGENT = "agent"
    VIRTUAL_HOLD = "virtual_hold"
    IVR = "ivr"  # a caller who found the queue closed pressed 1 (contactcenter/closed_queue.py)


# Outcomes of a callback attempt that end the callback well; every other outcome retries.
SUCCESS = frozenset({Outcome.ANSWERED, Outcome.ANSWERED_HUMAN})


@dataclass(frozen=True, slots=True)
class NewCallback:
    number: str
    queue_id: QueueId
    due_at: float
    source: CallbackSource
    customer_id: CustomerId | None = None
    requested_by: str | None = None
    place_at: float | None = None
    priority: int = 0
    note: str = ""
    origin_call_id: CallId | None = None


@dataclass(frozen=True, slots=True)
class Callback:
    id: int
    number: str
    customer_id: CustomerId | None
    queue_id: QueueId
    source: str
    requested_by: str | None
    requested_at: float
    due_at: float
    place_at: float
    priority: int
    note: str
    state: CallbackState
    attempts: int
    origin_call_id: CallId | None
    last_call_id: CallId | None
    last_outcome: str | None
    updated_at: float


class CallbackRepository(Protocol):
    async def add(self, new: NewCallback) -> Callback: ...
    async def get(self, callback_id: int) -> Callback | None: ...
    async def find(
        self, states: Sequence[CallbackState] | None = None, limit: int = 100
    ) -> list[Callback]: ...
    async def open(self) -> list[Callback]: ...
    async def update(
        self,
        callback_id: int,
        *,
        expect: Sequence[CallbackState] | None = None,
        **fields: object,
    ) -> Callback: ...


DueHandler = Callable[[Callback], Awaitable[None]]
CancelHandler = Callable[[Callback], Awaitable[None]]


def callback_json(cb: Callback) -> dict[str, object]:
    return {
        "id": cb.id,
        "number": cb.number,
        "customer_id": cb.customer_id,
        "queue_id": cb.queue_id,
        "source": cb.source,
        "requested_by": cb.requested_by,
        "requested_at": cb.requested_at,
        "due_at": cb.due_at,
        "place_at": cb.place_at,
        "priority": cb.priority,
        "note": cb.note,
        "state": cb.state.value,
        "attempts": cb.attempts,
        "origin_call_id": cb.origin_call_id,
        "last_call_id": cb.last_call_id,
        "last_outcome": cb.last_outcome,
    }


class CallbackService:
    """Schedules callbacks, hands each to `on_due` when its time comes (the call side puts it
    in its queue), and records each attempt's outcome."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        repository: CallbackRepository,
        on_due: DueHandler | None = None,
    ) -> None:
        self._settings = settings
        self._config: CallbackSettings = settings.callbacks
        self._clock = clock
        self._repo = repository
        self.on_due = on_due
        # Told when a callback is cancelled (the call side takes its reservation out).
        self.on_cancel: CancelHandler | None = None
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def web_api_key(self) -> str:
        return self._config.web_api_key

    @property
    def default_queue(self) -> str:
        return self._settings.default_queue

    # --- requests -------------------------------------------------------------------------

    async def request(
        self,
        number: str,
        queue_id: str,
        *,
        preferred_at: float | None = None,
        customer_id: CustomerId | None = None,
        note: str = "",
        source: CallbackSource = CallbackSource.WEB,
        requested_by: str | None = None,
    ) -> Callback:
        """A callback at `preferred_at` (default, or in the past: as soon as possible)."""
        digits = self._number(number)
        queue = self._queue(queue_id)
        now = self._clock.now()
        due = now if preferred_at is None else max(now, preferred_at)
        horizon = self._config.max_days_ahead * 86400.0
        if due - now > horizon:
            raise InvalidRequest(
                f"preferred_at is more than {self._config.max_days_ahead} days ahead",
                "preferred_at",
            )
        callback = await self._repo.add(
            NewCallback(
                number=digits,
                queue_id=queue,
                due_at=due,
                source=source,
                customer_id=customer_id,
                requested_by=requested_by,
                note=note,
            )
        )
        logger.info(
            "callback requested id=%s queue=%s due_in_s=%.0f source=%s",
            callback.id, queue, due - now, source.value,
        )  # fmt: skip
        self._schedule(callback)
        return callback

    async def virtual_hold(
        self,
        origin_call_id: CallId,
        number: str,
        queue_id: QueueId,
        queued_at: float,
        priority: int,
        customer_id: CustomerId | None = None,
    ) -> Callback:
        """A queued caller chose to be called back: due at once, keeping their place
        (`queued_at`) and priority in the queue."""
        callback = await self._repo.add(
            NewCallback(
                number=self._number(number),
                queue_id=self._queue(queue_id),
                due_at=self._clock.now(),
                source=CallbackSource.VIRTUAL_HOLD,
                customer_id=customer_id,
                place_at=queued_at,
                priority=priority,
                origin_call_id=origin_call_id,
            )
        )
        logger.info("virtual hold id=%s call_id=%s queue=%s", callback.id, origin_call_id, queue_id)
        self._schedule(callback)
        return callback

    async def cancel(self, callback_id: int) -> Callback:
        """Cancel a callback that has not been dialled yet."""
        try:
            callback = await self._repo.update(
                callback_id,
                expect=(CallbackState.SCHEDULED, CallbackState.QUEUED),
                state=CallbackState.CANCELLED,
            )
        except NotFound:
            current = await self._repo.get(callback_id)
            if current is None:
                raise NotFound(f"no callback {callback_id}") from None
            raise InvalidRequest(
                f"callback {callback_id} is {current.state.value}; only a scheduled or queued "
                "callback can be cancelled",
                "id",
            ) from None
        self._unschedule(callback_id)
        if self.on_cancel is not None:
            await self.on_cancel(callback)
        return callback

    async def get(self, callback_id: int) -> Callback | None:
        return await self._repo.get(callback_id)

    async def find(
        self, states: Sequence[CallbackState] | None = None, limit: int = 100
    ) -> list[Callback]:
        return await self._repo.find(states, limit)

    # --- the call side reports ------------------------------------------------------------

    async def dialing(self, callback_id: int, call_id: CallId) -> Callback:
        """Its turn came: an attempt starts (counted), as call `call_id`. NotFound if it was
        cancelled or finished meanwhile (then do not dial)."""
        current = await self._repo.get(callback_id)
        if current is None:
            raise NotFound(f"no callback {callback_id}")
        return await self._repo.update(
            callback_id,
            expect=(CallbackState.QUEUED,),
            state=CallbackState.DIALING,
            attempts=current.attempts + 1,
            last_call_id=call_id,
        )

    async def not_dialled(self, callback_id: int) -> Callback:
        """The attempt started by `dialing` never reached the customer (the agent's phone did
        not answer): it is not counted, and the callback waits in its queue again."""
        current = await self._repo.get(callback_id)
        if current is None:
            raise NotFound(f"no callback {callback_id}")
        return await self._repo.update(
            callback_id,
            expect=(CallbackState.DIALING,),
            state=CallbackState.QUEUED,
            attempts=max(0, current.attempts - 1),
        )

    async def attempt_finished(self, callback_id: int, outcome: Outcome | str) -> Callback:
        """The attempt's outcome: done on a live answer, else retry later or give up."""
        outcome = Outcome(outcome)
        current = await self._repo.get(callback_id)
        if current is None:
            raise NotFound(f"no callback {callback_id}")
        if outcome in SUCCESS:
            state = CallbackState.COMPLETED
            due = current.due_at
        elif current.attempts >= self._config.max_attempts:
            state = CallbackState.FAILED
            due = current.due_at
        else:
            state = CallbackState.SCHEDULED
            due = self._clock.now() + self._config.retry_delay_s
        callback = await self._repo.update(
            callback_id,
            expect=(CallbackState.DIALING, CallbackState.QUEUED),
            state=state,
            due_at=due,
            last_outcome=outcome.value,
        )
        logger.info(
            "callback attempt id=%s outcome=%s attempts=%s -> %s",
            callback_id, outcome.value, callback.attempts, state.value,
        )  # fmt: skip
        if state is CallbackState.SCHEDULED:
            self._schedule(callback)
        return callback

    # --- scheduling -----------------------------------------------------------------------

    async def start(self) -> int:
        """Schedule every open callback (after a restart, ones that were queued or being
        dialled are queued again: the live queue did not survive the restart)."""
        open_ = await self._repo.open()
        for callback in open_:
            if callback.state is not CallbackState.SCHEDULED:
                callback = await self._repo.update(
                    callback.id, state=CallbackState.SCHEDULED, due_at=self._clock.now()
                )
            self._schedule(callback)
        if open_:
            logger.info("callbacks scheduled at start: %d", len(open_))
        return len(open_)

    def _schedule(self, callback: Callback) -> None:
        self._unschedule(callback.id)
        delay = max(0.0, callback.due_at - self._clock.now())
        loop = asyncio.get_running_loop()
        self._timers[callback.id] = loop.call_later(delay, self._fire, callback.id)

    def _unschedule(self, callback_id: int) -> None:
        handle = self._timers.pop(callback_id, None)
        if handle is not None:
            handle.cancel()

    def _fire(self, callback_id: int) -> None:
        self._timers.pop(callback_id, None)
        task = asyncio.get_running_loop().create_task(self._due(callback_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _due(self, callback_id: int) -> None:
        try:
            callback = await self._repo.update(
                callback_id, expect=(CallbackState.SCHEDULED,), state=CallbackState.QUEUED
            )
        except NotFound:
            return  # cancelled (or already moved on) meanwhile
        except Exception:
            logger.exception("callback %s could not be queued; retrying in 5 s", callback_id)
            asyncio.get_running_loop().call_later(5.0, self._fire, callback_id)
            return
        if self.on_due is None:
            logger.warning("callback %s is due but nothing takes callbacks", callback_id)
            return
        try:
            await self.on_due(callback)
        except Exception:
            logger.exception("callback %s could not enter its queue", callback_id)
            await self.attempt_finished(callback_id, Outcome.FAILED)

    async def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await stop_tasks(set(self._tasks))

    # --- validation -----------------------------------------------------------------------

    def _number(self, number: str) -> str:
        text = number.strip()
        if not _DIALABLE.match(text):
            raise InvalidRequest(
                "number must be a phone number: digits, an optional leading '+', spaces, "
                "dots, dashes, slashes or brackets",
                "number",
            )
        digits = re.sub(r"\D", "", text)
        if not 3 <= len(digits) <= 20:
            raise InvalidRequest("number must have between 3 and 20 digits", "number")
        return ("+" + digits) if text.startswith("+") else digits

    def _queue(self, queue_id: str) -> QueueId:
        try:
            return QueueId(self._settings.queue(queue_id).id)
        except KeyError:
            known = ", ".join(q.id for q in self._settings.queues)
            raise InvalidRequest(
                f"queue {queue_id!r} does not exist (queues: {known})", "queue_id"
            ) from None
