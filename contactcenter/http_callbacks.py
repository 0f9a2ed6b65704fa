"""HTTP API for callbacks: request (web site or signed-in user), list, read and cancel.

`POST /api/callbacks` takes either a user's bearer token or, for a web site's backend, the
configured `callbacks.web_api_key` in `X-Api-Key` (so the site never holds a user's password).
Agents see and cancel only the callbacks they requested; supervisors, managers and admins all.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contactcenter.callbacks import (
    Callback,
    CallbackService,
    CallbackSource,
    CallbackState,
    callback_json,
)
from contactcenter.errors import InvalidRequest, NotFound
from contactcenter.http_api import API_DEPS, STAFF, SUPERVISORS, Problem, _authenticate
from contactcenter.ids import CustomerId
from contactcenter.records import User

logger = logging.getLogger(__name__)

CALLBACKS = web.AppKey("callbacks", CallbackService)
WEB_REQUESTER = "web"


class CallbackRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    number: str = Field(min_length=1, max_length=48)
    queue_id: str | None = Field(default=None, min_length=1, max_length=64)
    preferred_at: float | None = Field(default=None, ge=0)
    customer_id: int | None = Field(default=None, ge=1)
    note: str = Field(default="", max_length=2000)


async def _requester(request: web.Request) -> User | None:
    """The signed-in user, or None for a web site's backend with the right API key."""
    key = request.headers.get("X-Api-Key")
    if key is not None:
        expected = request.app[CALLBACKS].web_api_key
        if not expected or not hmac.compare_digest(key.encode(), expected.encode()):
            raise Problem(401, "invalid API key")
        return None
    return await _authenticate(request, STAFF)


async def _body(request: web.Request) -> CallbackRequestBody:
    try:
        raw = await request.json()
    except ValueError:
        raise Problem(400, "the body must be a JSON object") from None
    if not isinstance(raw, dict):
        raise Problem(400, "the body must be a JSON object")
    try:
        return CallbackRequestBody.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise Problem(400, f"{field}: {first['msg']}", field) from None


async def request_callback(request: web.Request) -> web.Response:
    user = await _requester(request)
    body = await _body(request)
    deps = request.app[API_DEPS]
    service = request.app[CALLBACKS]
    customer_id = None
    if body.customer_id is not None:
        if await deps.customers.get(CustomerId(body.customer_id)) is None:
            raise Problem(400, f"customer {body.customer_id} does not exist", "customer_id")
        customer_id = CustomerId(body.customer_id)
    try:
        callback = await service.request(
            body.number,
            body.queue_id or service.default_queue,
            preferred_at=body.preferred_at,
            customer_id=customer_id,
            note=body.note,
            source=CallbackSource.WEB if user is None else CallbackSource.AGENT,
            requested_by=WEB_REQUESTER if user is None else user.username,
        )
    except InvalidRequest as exc:
        raise Problem(400, str(exc), exc.field) from None
    return web.json_response(callback_json(callback), status=201)


def _states(request: web.Request) -> list[CallbackState] | None:
    raw = request.query.get("state")
    if not raw:
        return None
    try:
        return [CallbackState(part.strip()) for part in raw.split(",") if part.strip()]
    except ValueError:
        known = ", ".join(s.value for s in CallbackState)
        raise Problem(400, f"state must be a comma-separated list of: {known}", "state") from None


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "100")
    try:
        value = int(raw)
    except ValueError:
        raise Problem(400, "limit must be an integer", "limit") from None
    if not 1 <= value <= 1000:
        raise Problem(400, "limit must be between 1 and 1000", "limit")
    return value


def _visible(user: User, callback: Callback) -> bool:
    return user.role in SUPERVISORS or callback.requested_by == user.username


async def list_callbacks(request: web.Request) -> web.Response:
    user = await _authenticate(request, STAFF)
    found = await request.app[CALLBACKS].find(_states(request), _limit(request))
    return web.json_response({"callbacks": [callback_json(c) for c in found if _visible(user, c)]})


async def _callback(request: web.Request, user: User) -> Callback:
    try:
        callback_id = int(request.match_info["callback_id"])
    except ValueError:
        raise Problem(400, "callback id must be an integer", "callback_id") from None
    callback = await request.app[CALLBACKS].get(callback_id)
    if callback is None or not _visible(user, callback):
        raise Problem(404, "no such callback")
    return callback


async def get_callback(request: web.Request) -> web.Response:
    user = await _authenticate(request, STAFF)
    return web.json_response(callback_json(await _callback(request, user)))


async def cancel_callback(request: web.Request) -> web.Response:
    user = await _authenticate(request, STAFF)
    callback = await _callback(request, user)
    try:
        cancelled = await request.app[CALLBACKS].cancel(callback.id)
    except InvalidRequest as exc:
        raise Problem(409, str(exc), exc.field) from None
    except NotFound:
        raise Problem(404, "no such callback") from None
    logger.info("callback cancelled id=%s by=%s", callback.id, user.username)
    return web.json_response(callback_json(cancelled))


def setup_callback_routes(app: web.Application) -> None:
    app.router.add_post("/api/callbacks", request_callback)
    app.router.add_get("/api/callbacks", list_callbacks)
    app.router.add_get("/api/callbacks/{callback_id}", get_callback)
    app.router.add_delete("/api/callbacks/{callback_id}", cancel_callback)
