"""Makes the callbacks that come due: the customer is dialled (with answering-machine
detection), and a person who answers waits in the callback's queue AT THE CALLBACK'S PLACE
(a virtual-hold caller's original queue time, a web request's due time) and priority, so they
reach the next free agent ahead of later callers. The callback is an ordinary outbound call in
the history; its final outcome (answered by an agent, or busy / no answer / machine / dropped /
failed) completes the callback or schedules its retry.

Also turns a waiting caller's "press 1 for a callback" (CallbackRequested) into a virtual-hold
callback that keeps their place.
"""

from __future__ import annotations

import logging

from contactcenter.bus import EventBus
from contactcenter.call_service import CallService
from contactcenter.callbacks import Callback, CallbackService
from contactcenter.errors import NotFound
from contactcenter.events import CallbackRequested, CallEnded
from contactcenter.ids import CallId, QueueId, new_call_id
from contactcenter.ports import OriginateRequest
from contactcenter.settings import Settings

logger = logging.getLogger(__name__)


class CallbackDialer:
    def __init__(
        self,
        settings: Settings,
        callbacks: CallbackService,
        calls: CallService,
        bus: EventBus,
    ) -> None:
        self._config = settings.callbacks
        self._callbacks = callbacks
        self._calls = calls
        # callback call -> the callback it attempts
        self._attempts: dict[CallId, int] = {}
        callbacks.on_due = self.dial
        bus.subscribe(CallEnded, self.on_call_ended)
        bus.subscribe(CallbackRequested, self.on_callback_requested)

    async def dial(self, callback: Callback) -> None:
        call_id = new_call_id()
        try:
            await self._callbacks.dialing(callback.id, call_id)
        except NotFound:
            return  # cancelled meanwhile: never dialled
        self._attempts[call_id] = callback.id
        request = OriginateRequest(
            call_id=call_id,
            number=callback.number,
            caller_id_number=self._config.caller_id or None,
            timeout_s=self._config.ring_timeout_s,
            amd=True,
            queue_id=callback.queue_id,
            variables=(("CC_CALLBACK_ID", str(callback.id)),),
        )
        logger.info("callback dialling id=%s call_id=%s", callback.id, call_id)
        record = await self._calls.originate(request)
        record.priority = callback.priority
        live = self._calls.active.get(call_id)
        if live is not None:
            live.place_at = callback.place_at

    async def on_call_ended(self, event: CallEnded) -> None:
        callback_id = self._attempts.pop(event.call_id, None)
        if callback_id is None:
            return
        try:
            await self._callbacks.attempt_finished(callback_id, event.outcome)
        except NotFound:
            logger.warning("callback %s vanished before its outcome", callback_id)

    async def on_callback_requested(self, event: CallbackRequested) -> None:
        record = self._calls.record_of(event.call_id)
        number = event.number
        if not number or event.queue_id is None:
            logger.warning("callback request without a number or queue call_id=%s", event.call_id)
            return
        queued_at = record.queued_at if record and record.queued_at is not None else event.at
        await self._callbacks.virtual_hold(
            event.call_id,
            number,
            QueueId(event.queue_id),
            queued_at,
            record.priority if record else 0,
            record.customer_id if record else None,
        )
