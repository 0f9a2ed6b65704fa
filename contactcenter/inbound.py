"""The FastAGI `inbound` script: answer, identify the caller, run the IVR, queue, and hold the
caller on music until an agent takes the call (then an AMI Redirect takes the caller away)."""

from __future__ import annotations

import asyncio
import logging

from contactcenter.call_service import CallService, LiveCall, Phase
from contactcenter.clock import Clock
from contactcenter.closed_queue import ClosedQueues
from contactcenter.ids import CallId, QueueId, new_call_id
from contactcenter.ivr_driver import run_flow
from contactcenter.records import CallRecord, Direction
from contactcenter.settings import Settings
from contactcenter.telephony.agi_session import AgiSession
from contactcenter.telephony.channels import ChannelRegistry
from contactcenter.telephony.errors import AgiChannelDead, AgiConnectionClosed
from ivr.flows import inbound_flow

logger = logging.getLogger(__name__)


class InboundHandler:
    def __init__(
        self, settings: Settings, clock: Clock, calls: CallService, registry: ChannelRegistry
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._calls = calls
        self._registry = registry
        self.closed = ClosedQueues(settings, clock, calls)
        self._menu = settings.ivr.menu()
        self._queue_by_dnid: dict[str, QueueId] = {
            dnid: QueueId(q.id) for q in settings.queues for dnid in q.dnids
        }

    def queue_for(self, dialed: str | None) -> QueueId:
        if dialed and dialed in self._queue_by_dnid:
            return self._queue_by_dnid[dialed]
        return QueueId(self._settings.default_queue)

    async def __call__(self, session: AgiSession) -> None:
        env = session.env
        call_id = new_call_id()
        arrived = self._clock.now()
        self._registry.register(call_id, env.channel, env.uniqueid)
        dialed = env.dnid or (env.args[0] if env.args and env.args[0] else None)
        record = CallRecord(
            id=call_id,
            direction=Direction.INBOUND,
            arrived_at=arrived,
            caller_number=env.callerid,
            dialed_number=dialed,
        )
        session.call_id = call_id
        # Answer while the caller is being looked up: each takes a round trip.
        arrival = asyncio.ensure_future(self._calls.arrive(record, pbx_ref=env.uniqueid))
        answer_error: Exception | None = None
        try:
            await session.answer()
        except Exception as exc:
            answer_error = exc
        live = await arrival
        try:
            if answer_error is not None:
                raise answer_error
            result = await run_flow(
                session,
                inbound_flow(
                    self.queue_for(dialed),
                    live.customer is not None,
                    self._menu,
                    known_customer_priority=self._settings.ivr.known_customer_priority,
                ),
                answered=True,
            )
            if result.queue_id is None:
                await self._calls.fail(call_id, "ivr ended without a queue")
                return
            record.ivr_path = result.ivr_path
            queue_id = await self.closed.route(session, live, result.queue_id)
            if queue_id is None:
                return  # the queue was not open and its action ended the call
            await self._calls.enqueue(live, queue_id, result.priority)
            await self._hold(session, live)
        except (AgiChannelDead, AgiConnectionClosed) as exc:
            logger.info("caller gone call_id=%s: %s", call_id, exc)
            await self._caller_gone(session, call_id)
        except Exception:
            logger.exception("inbound handler failed call_id=%s; caller sent to fallback", call_id)
            await self._calls.fail(call_id, "internal error")
            await self._send_to_fallback(session, call_id)

    async def _hold(self, session: AgiSession, live: LiveCall) -> None:
        """Music until the caller is taken away (Redirect) or hangs up; with
        `calls.prompt_interval_s`, the caller's position (and callback offer) between spells."""
        call_id = live.record.id
        music = self._settings.agi.music_class
        interval = self._settings.calls.prompt_interval_s
        while live.phase is Phase.QUEUED and not session.hungup.is_set():
            args = f"{music},{interval:g}" if interval > 0 else music
            result = await session.exec("MusicOnHold", args)
            if result == -1:
                break
            if interval > 0 and _waiting(live) and await self._prompt(session, live):
                return  # the caller chose a callback: their call is over
        if live.phase is Phase.QUEUED:
            await self._caller_gone(session, call_id)
        else:
            logger.debug("caller leaves AGI call_id=%s phase=%s", call_id, live.phase)

    async def _prompt(self, session: AgiSession, live: LiveCall) -> bool:
        """Position, estimated wait, callback offer. True if the caller took the callback."""
        call_id = live.record.id
        position = await self._calls.position(call_id)
        if position is not None:
            if position == 1:
                await session.stream_file("queue-youarenext")
            else:
                await session.stream_file("queue-thereare")
                await session.say_number(position - 1)
                await session.stream_file("queue-callswaiting")
        wait = await self._calls.estimated_wait_s(call_id)
        if wait is not None and wait >= 60 and _waiting(live):
            await session.stream_file("queue-holdtime")
            await session.say_number(round(wait / 60))
            await session.stream_file("queue-minutes")
        calls = self._settings.calls
        if not calls.callback_offer or not _waiting(live):
            return False
        digits = await session.get_data(calls.callback_prompt, 3000, 1)
        if digits != "1" or not await self._calls.request_callback(call_id):
            return False
        logger.info("callback requested call_id=%s", call_id)
        try:
            await session.stream_file(calls.callback_confirm)
        finally:
            await session.hangup()
            await session.close()
        return True

    async def _caller_gone(self, session: AgiSession, call_id: CallId) -> None:
        """Close the socket first (Asterisk holds a dead channel until we do), then record."""
        at = self._clock.now()
        await session.close()
        await self._calls.caller_left(call_id, "caller hung up", at)

    async def outbound(self, session: AgiSession) -> None:
        """FastAGI `outbound`: a person answered an originated call (AMD let it through, or
        AMD was off). The channel's Uniqueid is the call id (Originate `ChannelId`). The call
        waits on music for an agent in the queue its originate named, like an inbound call."""
        env = session.env
        call_id = CallId(env.uniqueid)
        live = self._calls.outbound_answered(call_id)
        if live is None:
            logger.warning(
                "outbound session for an unknown call uniqueid=%s channel=%s; hanging up",
                env.uniqueid,
                env.channel,
            )
            await session.close()
            return
        session.call_id = call_id
        self._registry.register(call_id, env.channel, env.uniqueid)
        if live.callback is not None and live.record.agent_id is not None:
            # a callback, caller first: its agent is kept for it (callback_dialer.py)
            await self._calls.connect_kept(live)
            return
        try:
            queue_id = live.record.queue_id or QueueId(self._settings.default_queue)
            await self._calls.enqueue(live, queue_id)
            await self._hold(session, live)
        except (AgiChannelDead, AgiConnectionClosed) as exc:
            logger.info("outbound callee gone call_id=%s: %s", call_id, exc)
            await self._caller_gone(session, call_id)
        except Exception:
            logger.exception("outbound handler failed call_id=%s", call_id)
            await self._calls.fail(call_id, "internal error")
            await self._send_to_fallback(session, call_id)

    async def _send_to_fallback(self, session: AgiSession, call_id: str) -> None:
        try:
            await session.set_variable("CC_ACTION", "fallback")
        except Exception:
            logger.warning("could not set the fallback for call_id=%s", call_id)


def _waiting(live: LiveCall) -> bool:
    """Still waiting for an agent (read after each await: an agent may take the call)."""
    return live.phase is Phase.QUEUED
