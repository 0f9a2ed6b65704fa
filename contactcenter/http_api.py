"""The HTTP API under /api, plus /healthz and the web pages. OpenAPI: contactcenter/openapi.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from acd.errors import AcdError
from contactcenter.acd_service import Acd
from contactcenter.auth import DUMMY_HASH, TokenSigner, verify_password
from contactcenter.call_service import HISTORY_IN_POP, CallService
from contactcenter.errors import ContactCenterError, Forbidden, InvalidRequest, NotFound
from contactcenter.history_writer import HistoryWriter
from contactcenter.ids import CallId, CustomerId
from contactcenter.persistence.errors import DuplicateRecord
from contactcenter.ports import CallRepository, UserRepository
from contactcenter.records import CallUpdate, Customer, NewCustomer, Role, User, ValueTier
from contactcenter.screenpop import call_json, customer_json, customer_pop
from contactcenter.wallboard import filter_snapshot, wallboard_view

logger = logging.getLogger(__name__)

STAFF = frozenset(Role)
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})


class CustomerStore(Protocol):
    async def get(self, customer_id: CustomerId) -> Customer | None: ...
    async def search(self, query: str, limit: int = 20) -> list[Customer]: ...
    async def create(self, customer: NewCustomer, *, by: str | None = None) -> Customer: ...
    async def update(self, customer: Customer, *, by: str | None = None) -> Customer: ...
    async def audit(self, customer_id: CustomerId) -> Sequence[Any]: ...


# link(user, call_id, customer_id) -> {"call", "customer", "history"}: see CallLinker.
LinkCall = Callable[[User, CallId, CustomerId], Awaitable[dict[str, Any]]]
# recent(limit) -> the latest supervisor actions, newest first.
SupervisorAudit = Callable[[int], Awaitable[Sequence[Any]]]


class NewCustomerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    phones: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=10
    )
    account_number: str | None = Field(default=None, min_length=1, max_length=64)
    value_tier: ValueTier = ValueTier.STANDARD
    notes: str = Field(default="", max_length=4000)


class CustomerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    phones: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = Field(
        default=None, max_length=10
    )
    account_number: str | None = Field(default=None, max_length=64)
    value_tier: ValueTier | None = None
    notes: str | None = Field(default=None, max_length=4000)


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: int = Field(ge=1)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


@dataclass(frozen=True, slots=True)
class ApiDeps:
    tokens: TokenSigner
    users: UserRepository
    customers: CustomerStore
    calls: CallRepository
    health: Callable[[], Awaitable[dict[str, Any]]]
    queues: Callable[[], Awaitable[dict[str, Any]]]
    openapi: dict[str, Any]
    link_call: LinkCall | None = None
    supervisor_audit: SupervisorAudit | None = None
    # roles that see the caller and customer of agents' calls in the wallboard snapshot
    customer_roles: frozenset[str] = frozenset({"supervisor", "admin"})


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
    """The wallboard snapshot, as the user's role and team may see it (as on /wallboard)."""
    user = await _authenticate(request, SUPERVISORS)
    deps = request.app[API_DEPS]
    view = wallboard_view(user, deps.customer_roles)
    return web.json_response(filter_snapshot(await deps.queues(), view))


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[API_DEPS].openapi)


Body = TypeVar("Body", bound=BaseModel)


async def _body(request: web.Request, model: type[Body]) -> Body:
    try:
        data = await request.json()
    except ValueError:
        raise Problem(400, "the body must be JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise Problem(400, f"{field}: {first['msg']}" if field else first["msg"], field) from None


async def create_customer(request: web.Request) -> web.Response:
    user = await _authenticate(request, STAFF)
    body = await _body(request, NewCustomerRequest)
    try:
        customer = await request.app[API_DEPS].customers.create(
            NewCustomer(
                name=body.name,
                phones=tuple(body.phones),
                account_number=body.account_number,
                value_tier=body.value_tier,
                notes=body.notes,
            ),
            by=user.username,
        )
    except DuplicateRecord as exc:
        raise Problem(409, str(exc), exc.field) from None
    logger.info("customer created customer_id=%s by=%s", customer.id, user.username)
    return web.json_response(customer_json(customer), status=201)


async def patch_customer(request: web.Request) -> web.Response:
    user = await _authenticate(request, STAFF)
    cid = _customer_id(request)
    body = await _body(request, CustomerPatch)
    deps = request.app[API_DEPS]
    current = await deps.customers.get(cid)
    if current is None:
        return problem(404, "no such customer")
    given = body.model_fields_set
    if "name" in given and body.name is None:
        raise Problem(400, "name: may not be null", "name")
    changed = Customer(
        id=current.id,
        name=body.name if body.name is not None else current.name,
        phones=tuple(body.phones) if body.phones is not None else current.phones,
        account_number=(body.account_number or None)
        if "account_number" in given
        else current.account_number,
        value_tier=body.value_tier if body.value_tier is not None else current.value_tier,
        notes=body.notes if body.notes is not None else current.notes,
    )
    try:
        customer = await deps.customers.update(changed, by=user.username)
    except DuplicateRecord as exc:
        raise Problem(409, str(exc), exc.field) from None
    except NotFound:
        return problem(404, "no such customer")
    return web.json_response(customer_json(customer))


async def customer_audit(request: web.Request) -> web.Response:
    await _authenticate(request, STAFF)
    cid = _customer_id(request)
    deps = request.app[API_DEPS]
    if await deps.customers.get(cid) is None:
        return problem(404, "no such customer")
    edits = await deps.customers.audit(cid)
    return web.json_response(
        {
            "audit": [
                {"user": e.user, "at": e.at, "field": e.field, "old": e.old, "new": e.new}
                for e in edits
            ]
        }
    )


async def link_call_customer(request: web.Request) -> web.Response:
    user = await _authenticate(request, STAFF)
    deps = request.app[API_DEPS]
    body = await _body(request, LinkRequest)
    if deps.link_call is None:
        return problem(503, "linking calls is not available on this server")
    try:
        result = await deps.link_call(
            user, CallId(request.match_info["call_id"]), CustomerId(body.customer_id)
        )
    except Forbidden as exc:
        raise Problem(403, str(exc)) from None
    except NotFound as exc:
        raise Problem(404, str(exc)) from None
    except InvalidRequest as exc:
        raise Problem(400, str(exc), exc.field) from None
    except ContactCenterError as exc:
        raise Problem(409, str(exc)) from None
    return web.json_response(result)


async def supervisor_audit(request: web.Request) -> web.Response:
    await _authenticate(request, SUPERVISORS)
    limit = _int_param(request, "limit", 100, 1000)
    deps = request.app[API_DEPS]
    if deps.supervisor_audit is None:
        return problem(503, "the supervisor audit is not available on this server")
    entries = await deps.supervisor_audit(limit)
    return web.json_response(
        {
            "audit": [
                {
                    "at": e.at,
                    "user": e.user,
                    "action": e.action,
                    "outcome": e.outcome,
                    "agent_id": e.agent_id,
                    "call_id": e.call_id,
                    "detail": e.detail,
                    "error": e.error,
                }
                for e in entries
            ]
        }
    )


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_post("/api/auth/login", login)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/customers", search_customers)
    app.router.add_post("/api/customers", create_customer)
    app.router.add_get("/api/customers/{customer_id}", get_customer)
    app.router.add_patch("/api/customers/{customer_id}", patch_customer)
    app.router.add_get("/api/customers/{customer_id}/audit", customer_audit)
    app.router.add_post("/api/calls/{call_id}/customer", link_call_customer)
    app.router.add_get("/api/supervisor/audit", supervisor_audit)
    app.router.add_get("/api/customers/{customer_id}/history", customer_history)
    app.router.add_get("/api/calls/{call_id}", get_call)
    app.router.add_get("/api/queues", queues)


class CallLinker:
    """Links a call (ringing, connected or in wrap-up) to a customer: the agent of the call
    (or the agent it rings for) may; other agents may not; supervisors, managers and admins
    may link any call. The history row is updated in order after the call's other facts."""

    def __init__(
        self,
        calls: CallService,
        acd: Acd,
        customers: CustomerStore,
        history: CallRepository,
        writer: HistoryWriter,
    ) -> None:
        self._calls = calls
        self._acd = acd
        self._customers = customers
        self._history = history
        self._writer = writer

    async def _rings_for(self, user: User, call_id: CallId) -> bool:
        try:
            return (await self._acd.agent_view(user.agent_id)).call_id == call_id
        except AcdError:
            return False

    async def __call__(
        self, user: User, call_id: CallId, customer_id: CustomerId
    ) -> dict[str, Any]:
        live = self._calls.active.get(call_id)
        record = self._calls.record_of(call_id)
        if record is None:
            raise NotFound(f"no call {call_id} in progress or in wrap-up")
        if user.role is Role.AGENT and not (
            record.agent_id == user.agent_id or await self._rings_for(user, call_id)
        ):
            raise Forbidden("this call is not yours")
        customer = await self._customers.get(customer_id)
        if customer is None:
            raise InvalidRequest(f"customer {customer_id} does not exist", "customer_id")
        history = [
            c
            for c in await self._history.history(customer_id, HISTORY_IN_POP + 1)
            if c.id != call_id
        ][:HISTORY_IN_POP]
        record.customer_id = customer_id
        if live is not None:
            live.customer, live.history = customer, history
        await self._writer.write_and_wait(CallUpdate(call_id, {"customer_id": customer_id}))
        logger.info(
            "call linked call_id=%s customer_id=%s by=%s", call_id, customer_id, user.username
        )
        return {"call": call_json(record), **customer_pop(customer, history)}
