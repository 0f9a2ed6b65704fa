"""Socket.IO namespaces: `/agent` (one agent's desktop) and `/wallboard` (supervisors).

Each payload is validated once here with pydantic; a bad one gets an error acknowledgement that
names the field, and nothing changes. The contract is docs/realtime.md.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import socketio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contactcenter.agents import AgentService
from contactcenter.auth import TokenSigner
from contactcenter.cluster_calls import AgentCalls
from contactcenter.errors import ContactCenterError, Forbidden, InvalidRequest
from contactcenter.ids import AgentId, CallId, QueueId
from contactcenter.ports import UserRepository
from contactcenter.records import Role, User
from contactcenter.supervisor import SupervisorService
from contactcenter.wallboard import WallboardView, filter_snapshot, wallboard_room, wallboard_view

logger = logging.getLogger(__name__)

AGENT_NS = "/agent"
WALLBOARD_NS = "/wallboard"
SUPERVISOR_NS = "/supervisor"
WALLBOARD_ROOM = "wallboard"


def agent_room(agent_id: str) -> str:
    return f"agent:{agent_id}"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Empty(_Payload):
    pass


class NotReadyPayload(_Payload):
    reason: str = Field(min_length=1, max_length=64)


class CallPayload(_Payload):
    call_id: str = Field(min_length=1, max_length=64)


class DispositionPayload(_Payload):
    call_id: str = Field(min_length=1, max_length=64)
    disposition: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=4000)


class MutePayload(_Payload):
    call_id: str = Field(min_length=1, max_length=64)
    muted: bool


class DtmfPayload(_Payload):
    call_id: str = Field(min_length=1, max_length=64)
    digits: str = Field(pattern=r"^[0-9*#]{1,32}$")


class TransferTarget(_Payload):
    kind: Literal["agent", "queue", "number"]
    id: str = Field(min_length=1, max_length=64)


class TransferPayload(_Payload):
    call_id: str = Field(min_length=1, max_length=64)
    mode: Literal["blind", "attended"]
    target: TransferTarget


class ForceStatePayload(_Payload):
    agent_id: str = Field(min_length=1, max_length=64)
    state: Literal["not_ready", "logged_out"]
    reason: str | None = Field(default=None, min_length=1, max_length=64)


class MovePayload(_Payload):
    call_id: str = Field(min_length=1, max_length=64)
    to_queue: str | None = Field(default=None, min_length=1, max_length=64)
    to_agent: str | None = Field(default=None, min_length=1, max_length=64)


class SpyPayload(_Payload):
    agent_id: str = Field(min_length=1, max_length=64)
    mode: Literal["listen", "whisper", "barge"]


Handler = Callable[[User, Any], Awaitable[Any]]


def _error(message: str, field: str | None) -> dict[str, Any]:
    return {"ok": False, "error": message, "field": field}


async def _user_from_auth(auth: object, tokens: TokenSigner, users: UserRepository) -> User | None:
    token = auth.get("token") if isinstance(auth, dict) else None
    claims = tokens.verify(token)
    if claims is None:
        return None
    user = await users.get_by_username(claims.username)
    if user is None or not user.active:
        return None
    return user


class _CommandNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """A namespace of acknowledged commands: `_handlers` maps an event to (payload model,
    handler); `_sessions` maps a connected sid to its user."""

    _handlers: dict[str, tuple[type[_Payload], Handler]]
    _sessions: dict[str, User]

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        data = args[1] if len(args) > 1 else {}
        user = self._sessions.get(sid)
        if user is None:
            return _error("not connected", None)
        entry = self._handlers.get(event)
        if entry is None:
            return _error(f"unknown event {event!r}", None)
        model, handler = entry
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return _error("payload must be a JSON object", None)
        try:
            payload = model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            return _error(f"{field}: {first['msg']}" if field else first["msg"], field)
        try:
            result = await handler(user, payload)
        except InvalidRequest as exc:
            return _error(str(exc), exc.field)
        except Forbidden as exc:
            return {**_error(str(exc), None), "forbidden": True}
        except ContactCenterError as exc:
            return _error(str(exc), None)
        except Exception:
            logger.exception("event %s failed user=%s", event, user.username)
            return _error("internal error; the action was not carried out", None)
        return {"ok": True, **(result or {})}


class AgentNamespace(_CommandNamespace):
    def __init__(
        self,
        tokens: TokenSigner,
        users: UserRepository,
        agents: AgentService,
        calls: AgentCalls,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(AGENT_NS)
        # Sent to every desktop on connect (reason codes, ...): see docs/realtime.md.
        self._config = config or {}
        self._tokens = tokens
        self._users = users
        self._agents = agents
        self._calls = calls
        self._sessions: dict[str, User] = {}
        self._handlers: dict[str, tuple[type[_Payload], Handler]] = {
            "agent.ready": (Empty, self._ready),
            "agent.not_ready": (NotReadyPayload, self._not_ready),
            "call.answer": (CallPayload, self._answer),
            "call.hangup": (CallPayload, self._hangup),
            "call.disposition": (DispositionPayload, self._disposition),
            # call control (docs/realtime.md): each acts only on the agent's own call
            "call.hold": (CallPayload, self._hold),
            "call.unhold": (CallPayload, self._unhold),
            "call.mute": (MutePayload, self._mute),
            "call.dtmf": (DtmfPayload, self._dtmf),
            "call.transfer": (TransferPayload, self._transfer),
            "call.transfer_complete": (CallPayload, self._transfer_complete),
            "call.transfer_cancel": (CallPayload, self._transfer_cancel),
            "call.conference": (CallPayload, self._conference),
        }

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        user = await _user_from_auth(auth, self._tokens, self._users)
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        self._sessions[sid] = user
        await self.enter_room(sid, agent_room(user.agent_id))
        state = await self._agents.connected(user)
        if state is not None:
            await self.emit("agent.state", state, to=sid)
        await self.emit("agent.config", self._config, to=sid)
        resumed = await self._calls.resume(user.agent_id)
        for event, payload in resumed:
            await self.emit(event, payload, to=sid)
        pending = self._agents.pending_disposition.get(user.agent_id)
        if pending is not None and not any(e == "call.ended" for e, _ in resumed):
            # Logged in again with a required disposition still missing: show its form.
            ended = await self._calls.ended_payload_of(pending)
            if ended is not None:
                await self.emit("call.ended", ended, to=sid)
        logger.info("desktop connected agent_id=%s sid=%s", user.agent_id, sid)

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        user = self._sessions.pop(sid, None)
        if user is not None:
            await self._agents.disconnected(user.agent_id)

    async def _ready(self, user: User, _: Empty) -> None:
        await self._agents.ready(user.agent_id)

    async def _not_ready(self, user: User, payload: NotReadyPayload) -> None:
        await self._agents.not_ready(user.agent_id, payload.reason)

    async def _answer(self, user: User, payload: CallPayload) -> None:
        await self._calls.answer(user.agent_id, CallId(payload.call_id))

    async def _hangup(self, user: User, payload: CallPayload) -> None:
        await self._calls.hangup(user.agent_id, CallId(payload.call_id))

    async def _disposition(self, user: User, payload: DispositionPayload) -> dict[str, Any]:
        body = await self._calls.disposition_json(
            user.agent_id, CallId(payload.call_id), payload.disposition, payload.note
        )
        self._agents.disposition_filed(user.agent_id, CallId(payload.call_id))
        await self.emit("call.saved", body, room=agent_room(user.agent_id))
        return body

    async def _hold(self, user: User, payload: CallPayload) -> dict[str, Any]:
        return await self._calls.hold(user.agent_id, CallId(payload.call_id))

    async def _unhold(self, user: User, payload: CallPayload) -> dict[str, Any]:
        return await self._calls.unhold(user.agent_id, CallId(payload.call_id))

    async def _mute(self, user: User, payload: MutePayload) -> dict[str, Any]:
        return await self._calls.mute(user.agent_id, CallId(payload.call_id), payload.muted)

    async def _dtmf(self, user: User, payload: DtmfPayload) -> dict[str, Any]:
        return await self._calls.send_dtmf(user.agent_id, CallId(payload.call_id), payload.digits)

    async def _transfer(self, user: User, payload: TransferPayload) -> dict[str, Any]:
        return await self._calls.transfer(
            user.agent_id,
            CallId(payload.call_id),
            payload.mode,
            payload.target.kind,
            payload.target.id,
        )

    async def _transfer_complete(self, user: User, payload: CallPayload) -> dict[str, Any]:
        return await self._calls.transfer_complete(user.agent_id, CallId(payload.call_id))

    async def _transfer_cancel(self, user: User, payload: CallPayload) -> dict[str, Any]:
        return await self._calls.transfer_cancel(user.agent_id, CallId(payload.call_id))

    async def _conference(self, user: User, payload: CallPayload) -> dict[str, Any]:
        return await self._calls.conference(user.agent_id, CallId(payload.call_id))


class SocketNotifier:
    """The CallService's and AgentService's way to reach one agent's desktops."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def to_agent(self, agent_id: AgentId, event: str, payload: dict[str, Any]) -> None:
        await self._sio.emit(event, payload, room=agent_room(agent_id), namespace=AGENT_NS)


class WallboardNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Pushes `wallboard.snapshot`; each user gets the view their role and team allow."""

    ALLOWED = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})

    def __init__(
        self,
        tokens: TokenSigner,
        users: UserRepository,
        snapshot: Callable[[], Awaitable[dict[str, Any]]],
        customer_roles: frozenset[str] = frozenset({"supervisor", "admin"}),
    ) -> None:
        super().__init__(WALLBOARD_NS)
        self._tokens = tokens
        self._users = users
        self._snapshot = snapshot
        self._customer_roles = customer_roles
        # view -> connected sids (this process); a push goes once to each view's room
        self._views: dict[WallboardView, set[str]] = {}
        self._view_of: dict[str, WallboardView] = {}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        user = await _user_from_auth(auth, self._tokens, self._users)
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        if user.role not in self.ALLOWED:
            raise socketio.exceptions.ConnectionRefusedError("forbidden")
        view = wallboard_view(user, self._customer_roles)
        self._views.setdefault(view, set()).add(sid)
        self._view_of[sid] = view
        await self.enter_room(sid, wallboard_room(view))
        await self.emit("wallboard.snapshot", filter_snapshot(await self._snapshot(), view), to=sid)

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        view = self._view_of.pop(sid, None)
        if view is not None:
            sids = self._views.get(view)
            if sids is not None:
                sids.discard(sid)
                if not sids:
                    del self._views[view]

    async def publish(self, snapshot: dict[str, Any]) -> None:
        for view in list(self._views):
            await self.emit(
                "wallboard.snapshot", filter_snapshot(snapshot, view), room=wallboard_room(view)
            )


class SupervisorNamespace(_CommandNamespace):
    """Supervisor actions (docs/realtime.md). Agents cannot connect; managers can, but every
    action of theirs is refused (and audited)."""

    ALLOWED = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})

    def __init__(
        self, tokens: TokenSigner, users: UserRepository, service: SupervisorService
    ) -> None:
        super().__init__(SUPERVISOR_NS)
        self._tokens = tokens
        self._users = users
        self._service = service
        self._sessions = {}
        self._handlers = {
            "agent.force_state": (ForceStatePayload, self._force_state),
            "call.move": (MovePayload, self._move),
            "call.spy": (SpyPayload, self._spy),
        }

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        user = await _user_from_auth(auth, self._tokens, self._users)
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        if user.role not in self.ALLOWED:
            raise socketio.exceptions.ConnectionRefusedError("forbidden")
        self._sessions[sid] = user

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        self._sessions.pop(sid, None)

    async def _force_state(self, user: User, p: ForceStatePayload) -> None:
        await self._service.force_state(user, AgentId(p.agent_id), p.state, p.reason)

    async def _move(self, user: User, p: MovePayload) -> None:
        await self._service.move_call(
            user,
            CallId(p.call_id),
            QueueId(p.to_queue) if p.to_queue else None,
            AgentId(p.to_agent) if p.to_agent else None,
        )

    async def _spy(self, user: User, p: SpyPayload) -> None:
        await self._service.spy(user, AgentId(p.agent_id), p.mode)
