"""What happens to a caller whose queue is not open: the queue's after-hours action (outside
its business hours and on its holidays) or its closed action (no agent logged in serves it), as
acd.model.QueueStatus says. Actions (settings `after_hours_action` / `closed_action`):

* ``hangup``: the caller hears `calls.after_hours_prompt` or `calls.closed_prompt` and the call
  ends with outcome ``closed``;
* ``overflow:<queue>``: the caller is queued in that queue instead (if it is open; if it is not,
  its own action applies; a loop of such actions ends as ``hangup``);
* ``voicemail``: the prompt, then the dialplan's [cc-voicemail] (VoiceMail into the queue's
  `voicemail_box`); outcome ``voicemail``;
* ``callback``: the prompt, then `calls.closed_callback_prompt`: pressing 1 books a callback
  for the moment the queue opens again (now, when it is only closed for lack of agents); outcome
  ``callback_requested``. Anything else ends as ``hangup``.
With no action configured for the reason, the caller is queued as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from acd.model import QueueConfig, QueueStatus
from contactcenter.call_service import CallService, LiveCall
from contactcenter.clock import Clock
from contactcenter.ids import CallId, CustomerId, QueueId
from contactcenter.records import Outcome
from contactcenter.settings import Settings
from contactcenter.telephony.agi_session import AgiSession

logger = logging.getLogger(__name__)

# (origin call, number, queue, due at, customer) -> books the callback
ScheduleCallback = Callable[[CallId, str, QueueId, float, CustomerId | None], Awaitable[None]]


class ClosedQueues:
    def __init__(self, settings: Settings, clock: Clock, calls: CallService) -> None:
        self._settings = settings
        self._clock = clock
        self._calls = calls
        self._queues: dict[QueueId, QueueConfig] = settings.queue_configs()
        self.schedule_callback: ScheduleCallback | None = None

    async def route(self, session: AgiSession, live: LiveCall, queue_id: QueueId) -> QueueId | None:
        """The queue the caller should wait in (`queue_id`, or where overflow actions lead), or
        None when the queue's action took care of the caller and the call is over."""
        seen: list[QueueId] = []
        while True:
            status = await self._calls.queue_status(queue_id)
            if status.open or status.action is None:
                return queue_id
            seen.append(queue_id)
            action = status.action
            logger.info(
                "queue not open call_id=%s queue=%s reason=%s action=%s",
                live.record.id, queue_id, status.reason, action.kind,
            )  # fmt: skip
            if action.kind == "overflow" and action.queue is not None:
                if action.queue not in seen:
                    queue_id = action.queue
                    continue
                logger.warning(
                    "closed-queue actions loop %s; telling the caller it is closed",
                    " -> ".join([*seen, action.queue]),
                )
                await self._hangup(session, live, queue_id, status)
            elif action.kind == "voicemail":
                await self._voicemail(session, live, queue_id, status)
            elif action.kind == "callback":
                await self._callback(session, live, queue_id, status)
            else:
                await self._hangup(session, live, queue_id, status)
            return None

    def _prompt(self, status: QueueStatus) -> str:
        calls = self._settings.calls
        return calls.closed_prompt if status.reason == "closed" else calls.after_hours_prompt

    async def _hangup(
        self, session: AgiSession, live: LiveCall, queue_id: QueueId, status: QueueStatus
    ) -> None:
        await session.stream_file(self._prompt(status))
        await self._calls.refuse(live.record.id, queue_id, Outcome.CLOSED, status)
        await session.hangup()

    async def _voicemail(
        self, session: AgiSession, live: LiveCall, queue_id: QueueId, status: QueueStatus
    ) -> None:
        box = self._settings.queue(queue_id).voicemail_box or f"{queue_id}@default"
        await session.stream_file(self._prompt(status))
        await session.set_variable("CC_VOICEMAIL", box)
        await session.set_variable("CC_ACTION", "voicemail")
        await self._calls.refuse(live.record.id, queue_id, Outcome.VOICEMAIL, status)

    async def _callback(
        self, session: AgiSession, live: LiveCall, queue_id: QueueId, status: QueueStatus
    ) -> None:
        rec = live.record
        await session.stream_file(self._prompt(status))
        due = self._opens_at(queue_id, status)
        number = rec.caller_number
        if due is None or not number or self.schedule_callback is None:
            await self._calls.refuse(rec.id, queue_id, Outcome.CLOSED, status)
            await session.hangup()
            return
        digits = await session.get_data(self._settings.calls.closed_callback_prompt, 5000, 1)
        if digits != "1":
            await self._calls.refuse(rec.id, queue_id, Outcome.CLOSED, status)
            await session.hangup()
            return
        try:
            await self.schedule_callback(rec.id, number, queue_id, due, rec.customer_id)
        except Exception:
            logger.exception("callback for a closed queue failed call_id=%s", rec.id)
            await self._calls.refuse(rec.id, queue_id, Outcome.CLOSED, status)
            await session.hangup()
            return
        await session.stream_file(self._settings.calls.callback_confirm)
        await self._calls.refuse(rec.id, queue_id, Outcome.CALLBACK_REQUESTED, status)
        await session.hangup()

    def _opens_at(self, queue_id: QueueId, status: QueueStatus) -> float | None:
        now = self._clock.now()
        hours = self._queues[queue_id].hours
        if status.reason == "closed" or hours is None:
            return now
        return hours.next_open(now)
