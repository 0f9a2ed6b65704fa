from __future__ import annotations

from contactcenter.bus import EventBus
from contactcenter.events import CallHungUp
from contactcenter.ids import CallId


async def test_a_failing_handler_does_not_stop_the_others() -> None:
    bus = EventBus()
    seen: list[str] = []

    async def broken(_: CallHungUp) -> None:
        raise RuntimeError("wallboard died")

    async def routing(event: CallHungUp) -> None:
        seen.append(event.call_id)

    bus.subscribe(CallHungUp, broken)
    bus.subscribe(CallHungUp, routing)
    await bus.publish(CallHungUp(CallId("c1"), 1.0))
    assert seen == ["c1"]
    assert bus.failures == 1
