"""Callbacks on real SQLite and PostgreSQL: the repository and the scheduling service."""

from __future__ import annotations

import asyncio

import pytest

from contactcenter.callbacks import (
    Callback,
    CallbackService,
    CallbackSource,
    CallbackState,
)
from contactcenter.clock import FakeClock
from contactcenter.errors import InvalidRequest, NotFound
from contactcenter.ids import CallId, QueueId
from contactcenter.persistence import Database
from contactcenter.records import NewCustomer, Outcome
from contactcenter.settings import CallbackSettings, QueueSettings, Settings

SETTINGS = Settings(
    queues=(
        QueueSettings(id="support", skills=("support",)),
        QueueSettings(id="sales", skills=("sales",)),
    ),
    callbacks=CallbackSettings(max_attempts=2, retry_delay_s=60),
)


class DueRecorder:
    """What the call side got: the callbacks handed over when due."""

    def __init__(self) -> None:
        self.due: list[Callback] = []
        self.arrived = asyncio.Event()

    async def __call__(self, callback: Callback) -> None:
        self.due.append(callback)
        self.arrived.set()

    async def next(self) -> Callback:
        async with asyncio.timeout(5.0):
            await self.arrived.wait()
        self.arrived.clear()
        return self.due[-1]


@pytest.fixture
async def service(database: Database, clock: FakeClock) -> CallbackService:
    return CallbackService(SETTINGS, clock, database.callbacks, DueRecorder())


def _recorder(service: CallbackService) -> DueRecorder:
    assert isinstance(service.on_due, DueRecorder)
    return service.on_due


async def test_web_request_is_stored_normalised_and_becomes_due_at_its_time(
    service: CallbackService, database: Database, clock: FakeClock
) -> None:
    customer = await database.customers.create(NewCustomer("Grace Hopper", ("+1 555 010 0002",)))
    callback = await service.request(
        " +1 (555) 010-0002 ",
        "sales",
        preferred_at=clock.now() + 0.2,
        customer_id=customer.id,
        note="about the invoice",
        requested_by="web",
    )
    assert callback.number == "+15550100002"
    assert callback.state is CallbackState.SCHEDULED
    assert callback.place_at == callback.due_at == clock.now() + 0.2
    stored = await database.callbacks.get(callback.id)
    assert stored == callback
    recorder = _recorder(service)
    assert recorder.due == []
    due = await recorder.next()
    assert due.id == callback.id and due.state is CallbackState.QUEUED
    assert (await database.callbacks.get(callback.id)).state is CallbackState.QUEUED  # type: ignore[union-attr]
    await service.close()


async def test_a_past_preferred_time_means_now_and_bad_requests_say_which_field(
    service: CallbackService, clock: FakeClock
) -> None:
    callback = await service.request("5550100", "support", preferred_at=clock.now() - 3600)
    assert callback.due_at == clock.now()
    bad = [
        ({"number": "call me", "queue_id": "support"}, "number"),
        ({"number": "12", "queue_id": "support"}, "number"),
        ({"number": "5550100", "queue_id": "billing"}, "queue_id"),
        (
            {"number": "5550100", "queue_id": "support", "preferred_at": clock.now() + 40 * 86400},
            "preferred_at",
        ),
    ]
    for kwargs, field in bad:
        with pytest.raises(InvalidRequest) as caught:
            await service.request(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field, kwargs
    assert len(await service.find()) == 1  # nothing stored for a refused request
    await service.close()


async def test_virtual_hold_keeps_the_callers_place_and_priority(
    service: CallbackService, clock: FakeClock
) -> None:
    queued_at = clock.now() - 95.0
    callback = await service.virtual_hold(
        CallId("c-1"), "+15550100003", QueueId("support"), queued_at, 3
    )
    assert callback.source == CallbackSource.VIRTUAL_HOLD.value
    assert callback.place_at == queued_at and callback.priority == 3
    assert callback.origin_call_id == "c-1"
    due = await _recorder(service).next()
    assert due.id == callback.id
    await service.close()


async def test_cancel_before_due_means_never_dialled(
    service: CallbackService, database: Database, clock: FakeClock
) -> None:
    callback = await service.request("5550100", "support", preferred_at=clock.now() + 0.2)
    cancelled = await service.cancel(callback.id)
    assert cancelled.state is CallbackState.CANCELLED
    await asyncio.sleep(0.4)
    assert _recorder(service).due == []
    with pytest.raises(InvalidRequest):
        await service.cancel(callback.id)  # already cancelled: says so
    with pytest.raises(NotFound):
        await service.cancel(987654)
    await service.close()


async def test_attempts_retry_then_fail_and_a_live_answer_completes(
    service: CallbackService, database: Database, clock: FakeClock
) -> None:
    recorder = _recorder(service)
    callback = await service.request("5550100", "support")
    await recorder.next()
    dialing = await service.dialing(callback.id, CallId("call-a"))
    assert dialing.state is CallbackState.DIALING and dialing.attempts == 1
    retry = await service.attempt_finished(callback.id, Outcome.BUSY)
    assert retry.state is CallbackState.SCHEDULED
    assert retry.due_at == clock.now() + 60 and retry.last_outcome == "busy"
    # the retry comes when its time comes (fake clock: move it on, then let the timer run)
    clock.advance(60)
    service._schedule(retry)  # re-arm against the advanced clock, as a restart would
    await recorder.next()
    await service.dialing(callback.id, CallId("call-b"))
    failed = await service.attempt_finished(callback.id, Outcome.NO_ANSWER)
    assert failed.state is CallbackState.FAILED and failed.attempts == 2
    assert failed.last_call_id == "call-b"

    other = await service.request("5550101", "support")
    await recorder.next()
    await service.dialing(other.id, CallId("call-c"))
    done = await service.attempt_finished(other.id, Outcome.ANSWERED)
    assert done.state is CallbackState.COMPLETED
    with pytest.raises(NotFound):
        await service.dialing(done.id, CallId("call-d"))  # finished: never dialled again
    await service.close()


async def test_a_restart_reschedules_every_open_callback(
    database: Database, clock: FakeClock
) -> None:
    first = CallbackService(SETTINGS, clock, database.callbacks, DueRecorder())
    later = await first.request("5550100", "support", preferred_at=clock.now() + 3600)
    queued = await first.request("5550101", "support")
    await _recorder(first).next()
    await first.close()  # the server stops with one callback queued, one scheduled

    second = CallbackService(SETTINGS, clock, database.callbacks, DueRecorder())
    assert await second.start() == 2
    due = await _recorder(second).next()
    assert due.id == queued.id  # the queued one is queued again at once
    assert (await database.callbacks.get(later.id)).state is CallbackState.SCHEDULED  # type: ignore[union-attr]
    open_ = await database.callbacks.open()
    assert {c.id for c in open_} == {later.id, queued.id}
    assert await database.callbacks.find([CallbackState.QUEUED]) == [due]
    await second.close()
