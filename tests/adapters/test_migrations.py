"""The shipped Alembic migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from contactcenter.errors import ConfigError
from contactcenter.persistence import Database, create_engine, upgrade
from contactcenter.persistence.db import async_url, current_revision, head_revision
from contactcenter.persistence.models import Base
from contactcenter.records import NewCustomer

TABLES = {
    "customers",
    "customer_phones",
    "calls",
    "call_events",
    "users",
    "supervisor_audit",
    "agent_state_log",
    "customer_audit",
    "callbacks",
}


def _table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _schema_diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_on_an_empty_database_creates_the_tables(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_table_names) == set()
        assert await current_revision(engine) is None

        await upgrade(database_url)

        async with engine.connect() as conn:
            assert await conn.run_sync(_table_names) == TABLES | {"alembic_version"}
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_upgrade_twice_is_a_no_op_and_keeps_the_data(database_url: str) -> None:
    await upgrade(database_url)
    async with Database(database_url) as db:
        created = await db.customers.create(NewCustomer("Ada", ("+15550100001",)))

    await upgrade(database_url)

    async with Database(database_url) as db:
        assert await db.customers.get(created.id) == created
        async with db.engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert [v for (v,) in versions] == [head_revision()]


async def test_migrations_match_the_models(database_url: str) -> None:
    """A model change without its migration shows up here as a schema difference."""
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_an_in_memory_sqlite_database_migrates_over_its_own_engine() -> None:
    async with Database("sqlite://") as db:
        await db.upgrade()
        await db.upgrade()
        created = await db.customers.create(NewCustomer("Bo", ("555 0100",)))
        assert await db.customers.find_by_phone("5550100") == created
        assert await db.ping()


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///var/cc.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///var/cc.db", "sqlite+aiosqlite"),
        ("postgresql://cc:secret@db:5432/cc", "postgresql+asyncpg"),
        ("postgres://cc@db/cc", "postgresql+asyncpg"),
        ("postgresql+asyncpg://cc@db/cc", "postgresql+asyncpg"),
    ],
)
def test_urls_are_given_their_async_driver(given: str, driver: str) -> None:
    url = async_url(given)
    assert url.drivername == driver
    assert url.database is not None and url.database.endswith(
        "cc.db" if "sqlite" in given else "cc"
    )


@pytest.mark.parametrize("given", ["mysql://db/cc", "postgresql+psycopg2://db/cc", "nonsense"])
def test_unsupported_urls_are_a_config_error(given: str) -> None:
    with pytest.raises(ConfigError, match="database_url"):
        async_url(given)


async def test_users_written_before_0005_get_empty_levels_and_penalties(database_url: str) -> None:
    """0005 adds users.skill_levels and users.queue_penalties; rows already there stay valid."""
    await upgrade(database_url, "0004")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (username, display_name, role, password_hash, skills)"
                    " VALUES ('old', 'Old Agent', 'agent', 'h', '[\"support\"]')"
                )
            )
    finally:
        await engine.dispose()

    await upgrade(database_url)

    async with Database(database_url) as db:
        old = await db.users.get_by_username("old")
        assert old is not None
        assert (old.skills, old.skill_levels, old.queue_penalties) == (("support",), {}, {})
        changed = await db.users.set_routing(
            "old", skill_levels={"support": 9}, queue_penalties={"support": 1}
        )
        assert await db.users.get_by_username("old") == changed
        assert (changed.skill_levels, changed.queue_penalties) == ({"support": 9}, {"support": 1})
