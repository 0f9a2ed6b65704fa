"""Shared fixtures: databases (SQLite | PostgreSQL) and live state (memory | Redis).

Real services are used when they answer. When one does not, the test is skipped with the
reason, except under CI=true, where it fails: a CI run must not go green by skipping.
Use `require_service` for any other outside dependency (Chromium, Node.js, ...).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn

import asyncpg  # type: ignore[import-untyped]

# Imported up front on purpose: CPython 3.11.7 can fail to compile a module imported late in a
# session ("SystemError: AST constructor recursion depth mismatch") after asyncpg and redis
# runs; hypothesis's pytest plugin otherwise imports it only at the terminal summary.
import hypothesis  # noqa: F401
import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from contactcenter.clock import FakeClock
from contactcenter.livestate import MemoryLiveState, RedisLiveState
from contactcenter.persistence import Database, upgrade
from contactcenter.ports import LiveState

POSTGRES_URL = os.environ.get(
    "CC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("CC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CONNECT_TIMEOUT_S = 3.0


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require_service(name: str, reason: str) -> NoReturn:
    """Call when `name` (postgresql, redis, chromium, ...) is missing: skip the test with the
    reason, or fail it when CI=true."""
    message = f"{name} unavailable: {reason}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: services are required)", pytrace=False)
    pytest.skip(message)


# --- PostgreSQL / SQLite ---------------------------------------------------------------------


async def _admin_connection() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(POSTGRES_URL, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        require_service("postgresql", f"{POSTGRES_URL}: {exc!r}")


@asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[str]:
    """A fresh, empty database cc_test_<random> on the test server; dropped afterwards."""
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin_connection()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        admin = await _admin_connection()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """URL of an empty throwaway PostgreSQL database (no migrations applied)."""
    async with throwaway_postgres() as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of an empty database (no migrations applied), once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cc.db'}"
        return
    async with throwaway_postgres() as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def database(database_url: str, clock: FakeClock) -> AsyncIterator[Database]:
    """A migrated Database (repositories on `clock`), once per backend; closed afterwards."""
    await upgrade(database_url)
    db = Database(database_url, clock=clock)
    try:
        yield db
    finally:
        await db.close()


# --- Redis / memory ----------------------------------------------------------------------------


async def check_redis() -> str:
    """The test Redis URL, once Redis has answered a PING (else skip / fail)."""
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=CONNECT_TIMEOUT_S)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        require_service("redis", f"{REDIS_URL}: {exc!r}")
    finally:
        await client.aclose()
    return REDIS_URL


@asynccontextmanager
async def redis_keyspace() -> AsyncIterator[str]:
    """A key prefix of one's own on the test Redis; every key under it is deleted afterwards."""
    await check_redis()
    prefix = f"cctest:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


@pytest.fixture
async def redis_url() -> str:
    """The test Redis URL (env CC_TEST_REDIS_URL), once Redis answers."""
    return await check_redis()


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own on `redis_url`; its keys are deleted afterwards."""
    async with redis_keyspace() as prefix:
        yield prefix


@pytest.fixture(
    params=[
        pytest.param("memory"),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
async def live_state(request: pytest.FixtureRequest) -> AsyncIterator[LiveState]:
    """An empty LiveState, once per backend; closed (and its Redis keys deleted) afterwards."""
    if request.param == "memory":
        memory = MemoryLiveState()
        yield memory
        await memory.close()
        return
    async with redis_keyspace() as prefix:
        state = RedisLiveState(REDIS_URL, prefix=prefix)
        try:
            yield state
        finally:
            await state.close()
