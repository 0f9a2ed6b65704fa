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
from contactcenter.call_service import CallService
from contactcenter.errors import ContactCenterError, InvalidRequest
from contactcenter.ids import AgentId, CallId
from contactcenter.ports import UserRepository
from contactcenter.records import Role, User
from contactcenter.screenpop import call_json

logger = logging.getLogger(__name__)

AGENT_NS = "/agent"
WALLBOARD_NS = "/wallboard"
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


class AgentNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(
        self, tokens: TokenSigner, users: UserRepository, agents: AgentService, calls: CallService
    ) -> None:
        super().__init__(AGENT_NS)
        self._tokens = tokens
        self._users = users
        self._agents = agents
        self._calls = calls
        self._sessions: dict[str, User] = {}
        self._handlers: dict[str, tuple[type[_Payload], Callable[[User, Any], Awaitable[Any]]]] = {
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
        for event, payload in self._calls.resume(user.agent_id):
            await self.emit(event, payload, to=sid)
        logger.info("desktop connected agent_id=%s sid=%s", user.agent_id, sid)

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        user = self._sessions.pop(sid, None)
        if user is not None:
            await self._agents.disconnected(user.agent_id)

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
        except ContactCenterError as exc:
            return _error(str(exc), None)
        except Exception:
            logger.exception("desktop event %s failed agent_id=%s", event, user.agent_id)
            return _error("internal error; the action was not carried out", None)
        return {"ok": True, **(result or {})}

    async def _ready(self, user: User, _: Empty) -> None:
        await self._agents.ready(user.agent_id)

    async def _not_ready(self, user: User, payload: NotReadyPayload) -> None:
        await self._agents.not_ready(user.agent_id, payload.reason)

    async def _answer(self, user: User, payload: CallPayload) -> None:
        await self._calls.answer(user.agent_id, CallId(payload.call_id))

    async def _hangup(self, user: User, payload: CallPayload) -> None:
        await self._calls.hangup(user.agent_id, CallId(payload.call_id))

    async def _disposition(self, user: User, payload: DispositionPayload) -> dict[str, Any]:
        record = await self._calls.disposition(
            user.agent_id, CallId(payload.call_id), payload.disposition, payload.note
        )
        body = {"call": call_json(record)}
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
    ALLOWED = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})

    def __init__(
        self,
        tokens: TokenSigner,
        users: UserRepository,
        snapshot: Callable[[], Awaitable[dict[str, Any]]],
    ) -> None:
        super().__init__(WALLBOARD_NS)
        self._tokens = tokens
        self._users = users
        self._snapshot = snapshot

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        user = await _user_from_auth(auth, self._tokens, self._users)
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        if user.role not in self.ALLOWED:
            raise socketio.exceptions.ConnectionRefusedError("forbidden")
        await self.enter_room(sid, WALLBOARD_ROOM)
        await self.emit("wallboard.snapshot", await self._snapshot(), to=sid)
