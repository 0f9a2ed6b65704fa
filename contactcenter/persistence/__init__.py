"""Persistence: SQLAlchemy 2 async over SQLite (embedded default) or PostgreSQL, with Alembic.

Nothing here connects at import time; build a `Database` from a URL in the app's cleanup_ctx.
"""

from __future__ import annotations

from contactcenter.persistence.db import Database, create_engine, session_factory, upgrade
from contactcenter.persistence.errors import DuplicateRecord, PersistenceError
from contactcenter.persistence.phones import normalise_phone

__all__ = [
    "Database",
    "DuplicateRecord",
    "PersistenceError",
    "create_engine",
    "normalise_phone",
    "session_factory",
    "upgrade",
]
