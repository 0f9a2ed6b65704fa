"""Explicit wiring: settings in, a running aiohttp application out.

Every resource opens and closes in `app.cleanup_ctx` and lives under a typed `web.AppKey`.
Nothing is created at import time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import socketio
from aiohttp import web

from acd.model import QueueConfig
from agent_desktop import assets
from agent_desktop.namespaces import (
    AgentNamespace,
    SocketNotifier,
    SupervisorNamespace,
    WallboardNamespace,
)
from contactcenter import events as ev
from contactcenter.acd_service import Acd
from contactcenter.agents import AgentService
from contactcenter.auth import TokenSigner
from contactcenter.bus import EventBus
from contactcenter.call_service import CallService
from contactcenter.callback_dialer import CallbackDialer
from contactcenter.callbacks import CallbackService, CallbackSource
from contactcenter.clock import Clock, SystemClock
from contactcenter.errors import ContactCenterError, InvalidRequest
from contactcenter.history_writer import HistoryWriter
from contactcenter.http_api import API_DEPS, ApiDeps, CallLinker, setup_routes
from contactcenter.http_callbacks import CALLBACKS, setup_callback_routes
from contactcenter.ids import AgentId, CallId, CustomerId, QueueId
from contactcenter.inbound import InboundHandler
from contactcenter.livestate import open_live_state
from contactcenter.openapi import build_openapi
from contactcenter.openapi_callbacks import add_callback_paths
from contactcenter.persistence.db import Database, upgrade
from contactcenter.ports import LiveState, SpyMode
from contactcenter.records import User
from contactcenter.routing_backend import build_acd, directory_for, join_cluster
from contactcenter.settings import Settings
from contactcenter.supervisor import SupervisorService
from contactcenter.tasks import stop_tasks
from contactcenter.telephony.agi import FastAgiServer
from contactcenter.telephony.ami import AmiClient
from contactcenter.telephony.ami_events import AMI_EVENT_FILTER, AmiEventTranslator
from contactcenter.telephony.call_control import AmiCallControl
from contactcenter.telephony.channels import ChannelRegistry
from contactcenter.telephony.resync import ANSWERED_FAMILY, AmiResync
from contactcenter.wallboard import Wallboard

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Runtime:
    """Everything a running server holds; tests and the demo reach in through `RUNTIME`."""

    settings: Settings
    clock: Clock
    db: Database
    live: LiveState
    bus: EventBus
    acd: Acd
    calls: CallService
    agents: AgentService
    agi: FastAgiServer
    ami: AmiClient | None
    sio: socketio.AsyncServer
    writer: HistoryWriter
    wallboard: Wallboard
    callbacks: CallbackService


# How long a stopping server waits for requests in flight (API requests are short; an open
# websocket would otherwise hold the shutdown for the whole timeout, twice).
SHUTDOWN_TIMEOUT_S = 1.0

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
SIO = web.AppKey("sio", socketio.AsyncServer)
RUNTIME = web.AppKey("runtime", Runtime)


def queue_configs(settings: Settings) -> dict[QueueId, QueueConfig]:
    return settings.queue_configs()


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    client_manager = socketio.AsyncRedisManager(settings.redis_url) if settings.redis_url else None
    sio = socketio.AsyncServer(
        async_mode="aiohttp", client_manager=client_manager, cors_allowed_origins=[]
    )
    sio.attach(app)
    app[SIO] = sio
    setup_routes(app)
    setup_callback_routes(app)
    _setup_pages(app)
    app.cleanup_ctx.append(_runtime_ctx)
    app.on_shutdown.append(_close_sockets)
    return app


async def _close_sockets(app: web.Application) -> None:
    """Close every Socket.IO connection at shutdown (clients see a transport close and
    reconnect to the next server), so the web server does not wait on open websockets."""
    eio = app[SIO].eio
    if eio.sockets:
        try:
            # A client that vanished without closing never drains its queue: do not wait.
            await asyncio.wait_for(eio.disconnect(), timeout=SHUTDOWN_TIMEOUT_S)
        except TimeoutError:
            logger.info("some Socket.IO clients did not close in time")


def _setup_pages(app: web.Application) -> None:
    async def desktop(_: web.Request) -> web.FileResponse:
        return web.FileResponse(assets.STATIC_DIR / "desktop.html")

    async def wallboard(_: web.Request) -> web.FileResponse:
        return web.FileResponse(assets.STATIC_DIR / "wallboard.html")

    async def supervisor(_: web.Request) -> web.FileResponse:
        return web.FileResponse(assets.STATIC_DIR / "supervisor.html")

    async def root(_: web.Request) -> web.Response:
        raise web.HTTPFound("/desktop")

    app.router.add_get("/", root)
    app.router.add_get("/desktop", desktop)
    app.router.add_get("/wallboard", wallboard)
    app.router.add_get("/supervisor", supervisor)
    app.router.add_static("/static", assets.STATIC_DIR)


async def _runtime_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, clock, sio = app[SETTINGS], app[CLOCK], app[SIO]
    if not assets.assets_built():
        await asyncio.get_running_loop().run_in_executor(None, assets.ensure_built)
    await upgrade(settings.database_url)
    db = Database(settings.database_url, clock=clock)
    await db.warm()
    live = open_live_state(settings.redis_url, settings.redis_prefix)
    bus = EventBus()
    backend = build_acd(settings, clock)
    acd = backend.acd
    notifier = SocketNotifier(sio)
    registry = ChannelRegistry()
    writer = HistoryWriter(db.history)
    writer.start()
    agents = AgentService(
        clock,
        acd,
        live,
        writer,
        bus,
        notifier,
        {q.id: q.skills for q in queue_configs(settings).values()},
        not_ready_reasons=settings.desktop.not_ready_reasons,
        disposition_required=[QueueId(q.id) for q in settings.queues if q.disposition_required],
        last_state=lambda agent_id: db.agent_states.state_at(agent_id, clock.now()),
    )
    ami: AmiClient | None = None
    translator: AmiEventTranslator | None = None

    def on_ami_event(message: Any) -> None:
        if translator is not None:
            translator.handle(message)

    if settings.ami.enabled:

        async def on_ami_connect() -> None:
            # After every (re)login: report what an AMI outage hid (see telephony/resync.py).
            if ami is not None and translator is not None:
                await AmiResync(ami, registry, translator, clock)()

        ami = AmiClient(
            settings.ami.host,
            settings.ami.port,
            settings.ami.username,
            settings.ami.secret,
            on_event=on_ami_event,
            ping_interval_s=settings.ami.ping_interval_s,
            on_connect=on_ami_connect,
            event_filter=AMI_EVENT_FILTER,
        )
    # Telephony events are handled one at a time, in the order Asterisk sent them.
    pump: asyncio.Queue[ev.Event | None] = asyncio.Queue()

    async def drain() -> None:
        # Ends at the None put at shutdown even if a cancellation is swallowed below.
        while (event := await pump.get()) is not None:
            await bus.publish(event)

    pump_task = asyncio.get_running_loop().create_task(drain())
    background: set[asyncio.Future[None]] = set()
    translator = AmiEventTranslator(registry, clock, pump.put_nowait)
    control = (
        AmiCallControl(
            ami,
            registry,
            dial_template=settings.calls.dial_template,
            expect_originate=translator.expect_originate,
            on_requeue=translator.forget_connected,
        )
        if ami is not None
        else _NoPbx()
    )
    directory = directory_for(backend, agents)
    calls = CallService(
        settings,
        clock,
        db.calls,
        db.customers,
        live,
        acd,
        bus,
        control,
        notifier,
        directory,
        writer,
    )
    local_link = CallLinker(calls, acd, db.customers, db.calls, writer)
    call_actions, link_call = await join_cluster(backend, calls, agents, db.users, local_link)

    async def forget(event: ev.CallEnded) -> None:
        ref = registry.get(event.call_id)
        if ami is not None and ref is not None and event.outcome in ANSWERED_OUTCOMES:
            # the dialplan's AstDB note of the answer (resync.py) is not needed any more
            task = asyncio.ensure_future(_forget_answer(ami, ref.uniqueid))
            background.add(task)
            task.add_done_callback(background.discard)
        registry.forget(event.call_id)
        translator.forget(event.call_id)

    bus.subscribe(ev.CallEnded, forget)
    acd.on_offer = calls.on_offer
    acd.on_offer_withdrawn = calls.on_offer_withdrawn
    acd.on_agent_state = agents.on_agent_state
    acd.on_offer_timed_out = agents.on_offer_timed_out
    acd.on_overflow = calls.on_overflow
    bus.subscribe(ev.CallConnected, calls.on_connected)
    bus.subscribe(ev.CallHungUp, calls.on_hung_up)
    bus.subscribe(ev.OriginateFinished, calls.on_originate_finished)

    tokens = TokenSigner(settings.auth.secret, clock, settings.auth.token_ttl_s)
    # --- desktop, wallboard and supervisor (agent_desktop/namespaces.py) ---
    wallboard_ns = WallboardNamespace(
        tokens,
        db.users,
        lambda: wallboard.snapshot(),
        frozenset(settings.wallboard.customer_data_roles),
    )

    def agent_details(agent_id: Any, call_id: Any) -> dict[str, Any]:
        info = agents.agents.get(agent_id)
        live_call = calls.active.get(call_id) if call_id else None
        customer = live_call.customer if live_call else None
        return {
            "team": info.user.team if info else None,
            "calls_today": agents.state_payload(agent_id)["calls_today"] if info else 0,
            "caller_number": live_call.record.caller_number if live_call else None,
            "customer_id": customer.id if customer else None,
            "customer_name": customer.name if customer else None,
        }

    wallboard = Wallboard(settings, clock, live, wallboard_ns.publish, agent_details)
    for event_type in (
        ev.CallQueued,
        ev.CallOffered,
        ev.CallAnswered,
        ev.CallEnded,
        ev.AgentStateChanged,
        ev.CallOfferWithdrawn,
    ):
        bus.subscribe(event_type, wallboard.on_event)
    bus.subscribe(ev.CallEnded, agents.on_call_ended)
    desktop_config = {"not_ready_reasons": list(settings.desktop.not_ready_reasons)}
    sio.register_namespace(AgentNamespace(tokens, db.users, agents, call_actions, desktop_config))
    sio.register_namespace(wallboard_ns)

    # move and spy are wired by the lead (None: the events answer "not available").
    async def spy(actor: User, agent_id: AgentId, mode: str) -> None:
        if not actor.endpoint:
            raise InvalidRequest("your user has no phone endpoint configured", "endpoint")
        if mode not in ("listen", "whisper", "barge"):
            raise InvalidRequest(f"unknown mode {mode!r}", "mode")
        await call_actions.spy(actor.endpoint, agent_id, cast(SpyMode, mode))

    acd.on_call_moved = calls.on_call_moved
    supervisor = SupervisorService(
        clock,
        db.users,
        agents,
        db.supervisor_audit,
        frozenset(q.id for q in settings.queues),
        move=calls.move_waiting,
        spy=spy,
    )
    sio.register_namespace(SupervisorNamespace(tokens, db.users, supervisor))

    async def health() -> dict[str, Any]:
        db_ok = await db.ping()
        return {
            "status": "ok" if db_ok else "degraded",
            "database": db_ok,
            "ami_connected": bool(ami and ami.connected),
            "active_calls": len(calls.active),
        }

    app[API_DEPS] = ApiDeps(
        tokens,
        db.users,
        db.customers,
        db.calls,
        health,
        wallboard.snapshot,
        add_callback_paths(build_openapi()),
        link_call,
        db.supervisor_audit.recent,
        frozenset(settings.wallboard.customer_data_roles),
    )
    inbound = InboundHandler(settings, clock, calls, registry)
    agi = FastAgiServer({"inbound": inbound, "outbound": inbound.outbound})
    callbacks = CallbackService(settings, clock, db.callbacks)
    callback_dialer = CallbackDialer(settings, callbacks, calls, bus, agents, clock)

    async def closed_queue_callback(
        origin: CallId, number: str, queue_id: QueueId, due: float, customer: CustomerId | None
    ) -> None:
        await callbacks.request(
            number,
            queue_id,
            preferred_at=due,
            customer_id=customer,
            note=f"asked for while the queue was closed (call {origin})",
            source=CallbackSource.IVR,
        )

    inbound.closed.schedule_callback = closed_queue_callback
    await callbacks.start()
    app[CALLBACKS] = callbacks
    await agi.start(settings.agi.host, settings.agi.port)
    if ami is not None:
        await ami.start()
    wallboard.start()
    app[RUNTIME] = Runtime(
        settings,
        clock,
        db,
        live,
        bus,
        acd,
        calls,
        agents,
        agi,
        ami,
        sio,
        writer,
        wallboard,
        callbacks,
    )
    logger.info(
        "contactcenter up: http %s:%s, FastAGI %s:%s, AMI %s",
        settings.http.host,
        settings.http.port,
        settings.agi.host,
        agi.port,
        f"{settings.ami.host}:{settings.ami.port}" if ami else "disabled",
    )
    try:
        yield
    finally:
        await agi.close()
        if ami is not None:
            await ami.close()
        await wallboard.close()
        await callbacks.close()
        await callback_dialer.close()
        await agents.close()
        await backend.close()
        pump.put_nowait(None)
        pump_task.cancel()
        for task in background:
            task.cancel()
        await stop_tasks({pump_task, *background})
        await writer.close()
        await live.close()
        await db.close()


ANSWERED_OUTCOMES = frozenset({"answered", "answered_human"})


async def _forget_answer(ami: AmiClient, uniqueid: str) -> None:
    try:
        await ami.action("DBDel", {"Family": ANSWERED_FAMILY, "Key": uniqueid})
    except ContactCenterError as exc:
        logger.debug("DBDel cc_answered/%s: %s", uniqueid, exc)


class _NoPbx:
    """Call control when AMI is disabled: every action is refused with a clear message."""

    def __getattr__(self, action: str) -> Any:
        from contactcenter.errors import TelephonyError

        async def refuse(*args: Any, **kwargs: Any) -> None:
            raise TelephonyError(f"AMI is disabled in the settings; cannot {action}")

        return refuse
