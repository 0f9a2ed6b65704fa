"""Engines, sessions, migrations and the `Database` bundle of repositories.

    await upgrade("sqlite:///var/cc.db")          # apply migrations to head
    db = Database("sqlite:///var/cc.db")          # engine + repositories, nothing connects yet
    ...
    await db.close()

URLs: `sqlite:///path` (aiosqlite, WAL) and `postgresql://user@host/db` (asyncpg). URLs that
already name the async driver are used as they are.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import StaticPool

from contactcenter.clock import Clock, SystemClock
from contactcenter.errors import ConfigError
from contactcenter.persistence.agent_states import SqlAgentStateLogRepository
from contactcenter.persistence.callbacks import SqlCallbackRepository
from contactcenter.persistence.calls import SqlCallRepository, SqlHistoryStore
from contactcenter.persistence.customers import SqlCustomerRepository
from contactcenter.persistence.supervisor_audit import SqlSupervisorAuditRepository
from contactcenter.persistence.users import SqlUserRepository

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 10_000

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def async_url(database_url: str | URL) -> URL:
    """The URL with its async driver: sqlite -> sqlite+aiosqlite, postgresql -> +asyncpg."""
    try:
        url = make_url(database_url)
    except Exception as exc:
        raise ConfigError(f"database_url: not a database URL: {exc}") from exc
    driver = _ASYNC_DRIVERS.get(url.drivername)
    if driver is None:
        raise ConfigError(
            f"database_url: unsupported scheme {url.drivername!r} "
            "(use sqlite:///path or postgresql://user@host/db)"
        )
    return url.set(drivername=driver)


POSTGRES_POOL_SIZE = 20


def _is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def create_engine(database_url: str | URL, **kwargs: Any) -> AsyncEngine:
    """An async engine for SQLite (aiosqlite, WAL, foreign keys) or PostgreSQL (asyncpg).

    `sqlite://` / `sqlite:///:memory:` gives one shared in-memory database (a StaticPool), for
    tests and throwaway runs. The parent directory of a SQLite file is created if missing.
    """
    url = async_url(database_url)
    if url.get_backend_name() == "sqlite":
        if _is_memory_sqlite(url):
            kwargs.setdefault("poolclass", StaticPool)
        else:
            assert url.database is not None
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = _create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # Calls arrive in bursts: keep enough connections open that a burst does not pay for new
    # ones (overflow connections are closed after each use).
    kwargs.setdefault("pool_size", POSTGRES_POOL_SIZE)
    kwargs.setdefault("max_overflow", 10)
    return _create_async_engine(url, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def alembic_config(database_url: str | URL | None = None) -> Config:
    """Alembic's Config built in code (no alembic.ini): the migrations shipped in the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        rendered = async_url(database_url).render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


def _upgrade_sync(connection: Connection, cfg: Config, revision: str) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` over this engine, in one transaction where the
    backend allows it (PostgreSQL runs DDL transactionally)."""
    cfg = alembic_config()
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_sync, cfg, revision)


async def upgrade(database_url: str | URL, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision` (default: the newest). Idempotent.

    Safe to call from inside a running event loop: Alembic runs on the async connection via
    run_sync, never with asyncio.run.
    """
    engine = create_engine(database_url)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()
    logger.info("database migrated to %s", revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current_revision_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, None before the first migration."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current_revision_sync)


class Database:
    """One engine and the repositories over it. Create it in the app's cleanup_ctx, then close."""

    def __init__(
        self, database_url: str | URL | AsyncEngine, *, clock: Clock | None = None
    ) -> None:
        if isinstance(database_url, AsyncEngine):
            self.engine = database_url
        else:
            self.engine = create_engine(database_url)
        self.sessions = session_factory(self.engine)
        clock = clock or SystemClock()
        self.customers = SqlCustomerRepository(self.sessions, clock)
        self.calls = SqlCallRepository(self.sessions)
        self.users = SqlUserRepository(self.sessions)
        self.agent_states = SqlAgentStateLogRepository(self.sessions)
        self.history = SqlHistoryStore(self.sessions)
        self.supervisor_audit = SqlSupervisorAuditRepository(self.sessions)
        self.callbacks = SqlCallbackRepository(self.sessions, clock)

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    async def upgrade(self, revision: str = "head") -> None:
        """Apply migrations over this database's own engine (works for in-memory SQLite too)."""
        await upgrade_engine(self.engine, revision)

    async def ping(self) -> bool:
        """True when the database answers a trivial query (for /health)."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not healthy"; cancellation passes
            logger.warning("database ping failed: %s", exc)
            return False
        return True

    async def warm(self, connections: int = 10) -> None:
        """Open connections ahead of the first calls (PostgreSQL), so the first burst of
        arrivals does not wait for connection set-up."""
        if self.backend != "postgresql":
            return
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(min(connections, POSTGRES_POOL_SIZE)):
                conn = await stack.enter_async_context(self.engine.connect())
                await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()
