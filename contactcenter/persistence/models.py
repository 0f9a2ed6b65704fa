"""SQLAlchemy tables. Only the repositories see these classes; the core gets records.py dataclasses.

Relationships are `lazy="raise"`: every query loads what it needs explicitly (selectinload), so
an accidental lazy load fails loudly instead of raising MissingGreenlet at some later await.
Any change here needs a new migration in migrations/versions/ (test_migrations checks they agree).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT primary keys do not autoincrement on SQLite; INTEGER PRIMARY KEY does (it is the rowid).
BigId = BigInteger().with_variant(Integer(), "sqlite")
Timestamp = DateTime(timezone=True)
EMPTY_LIST = text("'[]'")
EMPTY_DICT = text("'{}'")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: Timestamp, dict[str, Any]: JSON, list[str]: JSON}


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    account_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    value_tier: Mapped[str] = mapped_column(
        String(16), default="standard", server_default="standard"
    )
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    phones: Mapped[list[PhoneRow]] = relationship(
        back_populates="customer",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="PhoneRow.id",
    )


class PhoneRow(Base):
    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # normalised: digits with an optional leading '+' (see phones.normalise_phone)
    number: Mapped[str] = mapped_column(String(32), unique=True, index=True)

    customer: Mapped[CustomerRow] = relationship(back_populates="phones", lazy="raise")


class CallRow(Base):
    __tablename__ = "calls"
    __table_args__ = (
        # history(customer) newest first; also serves lookups by customer_id alone
        Index("ix_calls_customer_id_arrived_at", "customer_id", "arrived_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    dialed_number: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    queue_id: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    arrived_at: Mapped[datetime] = mapped_column(index=True)
    queued_at: Mapped[datetime | None]
    offered_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    wait_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    wrap_s: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(32))
    transferred: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disposition: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skills_required: Mapped[list[str]] = mapped_column(default=list, server_default=EMPTY_LIST)
    ivr_path: Mapped[list[str]] = mapped_column(default=list, server_default=EMPTY_LIST)
    hangup_cause: Mapped[str | None] = mapped_column(String(64))
    recording: Mapped[str | None] = mapped_column(String(255))


class CallEventRow(Base):
    """Append-only. No foreign key to calls: an event may be recorded before its call row."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=EMPTY_DICT)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2 encoded hash
    endpoint: Mapped[str | None] = mapped_column(String(128))
    skills: Mapped[list[str]] = mapped_column(default=list, server_default=EMPTY_LIST)
    # skill -> level (1-10; a skill without one counts as 5) and queue -> penalty (>= 0).
    skill_levels: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=EMPTY_DICT)
    queue_penalties: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=EMPTY_DICT)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The team an agent belongs to, or that a supervisor leads (supervisors see their team).
    team: Mapped[str | None] = mapped_column(String(64))


class AgentStateRow(Base):
    __tablename__ = "agent_state_log"
    __table_args__ = (
        # entries(agent, start, end); also serves lookups by agent_id alone
        Index("ix_agent_state_log_agent_id_at", "agent_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(128))
    call_id: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(index=True)


class CustomerAuditRow(Base):
    """One changed field of one customer edit: who, when, old and new value (as text)."""

    __tablename__ = "customer_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    user: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)


class SupervisorAuditRow(Base):
    """One supervisor action (force state, move, listen/whisper/barge): who, when, on whom,
    what was asked, and whether it was carried out."""

    __tablename__ = "supervisor_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    call_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=EMPTY_DICT)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)


class CallbackRow(Base):
    """A callback to make: requested on the web, by an agent, or by a caller on virtual hold."""

    __tablename__ = "callbacks"
    __table_args__ = (
        # the open callbacks to (re)schedule at start, and the next due ones
        Index("ix_callbacks_state_due_at", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    queue_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    due_at: Mapped[datetime]
    # its place in the queue (a virtual-hold caller keeps the time they first queued)
    place_at: Mapped[datetime]
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    origin_call_id: Mapped[str | None] = mapped_column(String(32))
    last_call_id: Mapped[str | None] = mapped_column(String(32))
    last_outcome: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime]
