"""The HTTP API under /api, plus /healthz and the web pages. OpenAPI: contactcenter/openapi.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contactcenter.auth import DUMMY_HASH, TokenSigner, verify_password
from contactcenter.ids import CallId, CustomerId
from contactcenter.ports import CallRepository, CustomerRepository, UserRepository
from contactcenter.records import Role, User
from contactcenter.screenpop import call_json, customer_json

logger = logging.getLogger(__name__)

STAFF = frozenset(Role)
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


@dataclass(frozen=True, slots=True)
class ApiDeps:
    tokens: TokenSigner
    users: UserRepository
    customers: CustomerRepository
    calls: CallRepository
    health: Callable[[], Awaitable[dict[str, Any]]]
    queues: Callable[[], Awaitable[dict[str, Any]]]
    openapi: dict[str, Any]


API_DEPS = web.AppKey("api_deps", ApiDeps)


def problem(status: int, message: str, field: str | None = None) -> web.Response:
    return web.json_response({"error": message, "field": field}, status=status)


class Problem(web.HTTPException):
    """Raised anywhere in a handler: answers `{"error", "field"}` with the given status."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        self.status_code = status
        super().__init__(
            text=json.dumps({"error": message, "field": field}), content_type="application/json"
        )


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "agent_id": user.agent_id,
        "endpoint": user.endpoint,
        "skills": list(user.skills),
    }


async def _authenticate(request: web.Request, roles: frozenset[Role]) -> User:
    deps = request.app[API_DEPS]
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else None
    claims = deps.tokens.verify(token)
    if claims is None:
        raise Problem(401, "a valid bearer token is required")
    user = await deps.users.get_by_username(claims.username)
    if user is None or not user.active:
        raise Problem(401, "a valid bearer token is required")
    if user.role not in roles:
        raise Problem(403, "your role may not do this")
    return user


async def healthz(request: web.Request) -> web.Response:
    body = await request.app[API_DEPS].health()
    return web.json_response(body, status=200 if body.get("status") == "ok" else 503)


async def login(request: web.Request) -> web.Response:
    deps = request.app[API_DEPS]
    try:
        body = LoginRequest.model_validate(await request.json())
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            return problem(400, f"{field}: {first['msg']}", field)
        return problem(400, "the body must be JSON")
    user = await deps.users.get_by_username(body.username)
    ok = verify_password(user.password_hash if user else DUMMY_HASH, body.password)
    if user is None or not ok or not user.active:
        return problem(401, "invalid username or password")
    return web.json_response(
        {"token": deps.tokens.issue(user.username, user.role), "user": user_json(user)}
    )


async def me(request: web.Request) -> web.Response:
    user = await _authenticate(request, STAFF)
    return web.json_response(user_json(user))


def _int_param(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(400, f"{name} must be an integer", name) from None
    if not 1 <= value <= maximum:
        raise Problem(400, f"{name} must be between 1 and {maximum}", name)
    return value


async def search_customers(request: web.Request) -> web.Response:
    await _authenticate(request, STAFF)
    limit = _int_param(request, "limit", 20, 200)
    query = request.query.get("q", "").strip()
    if not query:
        return problem(400, "q is required", "q")
    found = await request.app[API_DEPS].customers.search(query, limit)
    return web.json_response({"customers": [customer_json(c) for c in found]})


def _customer_id(request: web.Request) -> CustomerId:
    try:
        return CustomerId(int(request.match_info["customer_id"]))
    except ValueError:
        raise Problem(400, "customer id must be an integer", "customer_id") from None


async def get_customer(request: web.Request) -> web.Response:
    await _authenticate(request, STAFF)
    cid = _customer_id(request)
    customer = await request.app[API_DEPS].customers.get(cid)
    if customer is None:
        return problem(404, "no such customer")
    return web.json_response(customer_json(customer))


async def customer_history(request: web.Request) -> web.Response:
    await _authenticate(request, STAFF)
    cid = _customer_id(request)
    limit = _int_param(request, "limit", 100, 1000)
    deps = request.app[API_DEPS]
    customer = await deps.customers.get(cid)
    if customer is None:
        return problem(404, "no such customer")
    calls = await deps.calls.history(cid, limit)
    return web.json_response(
        {"customer": customer_json(customer), "calls": [call_json(c) for c in calls]}
    )


async def get_call(request: web.Request) -> web.Response:
    await _authenticate(request, STAFF)
    call = await request.app[API_DEPS].calls.get(CallId(request.match_info["call_id"]))
    if call is None:
        return problem(404, "no such call")
    return web.json_response(call_json(call))


async def queues(request: web.Request) -> web.Response:
    await _authenticate(request, SUPERVISORS)
    return web.json_response(await request.app[API_DEPS].queues())


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[API_DEPS].openapi)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_post("/api/auth/login", login)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/customers", search_customers)
    app.router.add_get("/api/customers/{customer_id}", get_customer)
    app.router.add_get("/api/customers/{customer_id}/history", customer_history)
    app.router.add_get("/api/calls/{call_id}", get_call)
    app.router.add_get("/api/queues", queues)
