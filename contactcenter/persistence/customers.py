"""SqlCustomerRepository: the customer directory, found by phone for the screen pop."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from contactcenter.clock import Clock, from_datetime, to_datetime
from contactcenter.errors import NotFound
from contactcenter.ids import CustomerId
from contactcenter.persistence.errors import DuplicateRecord
from contactcenter.persistence.models import CustomerAuditRow, CustomerRow, PhoneRow
from contactcenter.persistence.phones import normalise_phone
from contactcenter.records import Customer, NewCustomer, ValueTier

logger = logging.getLogger(__name__)

# a query made only of what phone numbers are written with is also matched against the phones
_PHONE_QUERY = re.compile(r"[\d\s+().-]+")
_AUDITED = ("name", "account_number", "value_tier", "notes")


@dataclass(frozen=True, slots=True)
class CustomerEdit:
    """One changed field of one customer edit (phones as a comma-separated list)."""

    user: str | None
    at: float
    field: str
    old: str | None
    new: str | None


def _customer(row: CustomerRow) -> Customer:
    return Customer(
        id=CustomerId(row.id),
        name=row.name,
        phones=tuple(p.number for p in row.phones),
        account_number=row.account_number,
        value_tier=ValueTier(row.value_tier),
        notes=row.notes,
    )


def _normalised(phones: Iterable[str]) -> list[str]:
    """Normalised, de-duplicated (first one wins), empty ones dropped, order kept."""
    seen: dict[str, None] = {}
    for phone in phones:
        number = normalise_phone(phone)
        if number:
            seen.setdefault(number, None)
    return list(seen)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlCustomerRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def get(self, customer_id: CustomerId) -> Customer | None:
        async with self._sessions() as session:
            row = await self._load(session, customer_id)
            return None if row is None else _customer(row)

    async def find_by_phone(self, number: str) -> Customer | None:
        normalised = normalise_phone(number)
        if not normalised:
            return None
        stmt = (
            select(CustomerRow)
            .join(PhoneRow, PhoneRow.customer_id == CustomerRow.id)
            .where(PhoneRow.number == normalised)
            .options(selectinload(CustomerRow.phones))
        )
        async with self._sessions() as session:
            row = (await session.scalars(stmt)).first()
            return None if row is None else _customer(row)

    async def search(self, query: str, limit: int = 20) -> list[Customer]:
        query = query.strip()
        if not query or limit <= 0:
            return []
        pattern = _like(query)
        matches = [
            func.lower(CustomerRow.name).like(pattern, escape="\\"),
            func.lower(CustomerRow.account_number).like(pattern, escape="\\"),
        ]
        digits = normalise_phone(query).lstrip("+")
        if digits and _PHONE_QUERY.fullmatch(query):
            matches.append(
                CustomerRow.id.in_(
                    select(PhoneRow.customer_id).where(PhoneRow.number.like(f"%{digits}%"))
                )
            )
        stmt = (
            select(CustomerRow)
            .where(or_(*matches))
            .order_by(CustomerRow.name, CustomerRow.id)
            .limit(limit)
            .options(selectinload(CustomerRow.phones))
        )
        async with self._sessions() as session:
            return [_customer(row) for row in await session.scalars(stmt)]

    async def create(self, customer: NewCustomer, *, by: str | None = None) -> Customer:
        """A new customer; with `by` (who created it) each set field is audited (old None)."""
        now = to_datetime(self._clock.now())
        row = CustomerRow(
            name=customer.name,
            account_number=customer.account_number or None,
            value_tier=ValueTier(customer.value_tier).value,
            notes=customer.notes,
            created_at=now,
            updated_at=now,
            phones=[PhoneRow(number=n) for n in _normalised(customer.phones)],
        )
        async with self._sessions() as session:
            try:
                async with session.begin():
                    await self._check_unique(session, None, row.account_number, row.phones)
                    session.add(row)
                    if by is not None:
                        await session.flush()
                        created = {
                            "name": row.name,
                            "account_number": row.account_number,
                            "value_tier": row.value_tier,
                            "notes": row.notes or None,
                            "phones": ",".join(p.number for p in row.phones) or None,
                        }
                        for field, value in created.items():
                            if value is not None:
                                session.add(
                                    CustomerAuditRow(
                                        customer_id=row.id,
                                        user=by,
                                        at=now,
                                        field=field,
                                        old=None,
                                        new=value,
                                    )
                                )
            except IntegrityError as exc:
                raise DuplicateRecord("phone or account number already taken") from exc
            logger.info("customer created customer_id=%s", row.id)
            return _customer(row)

    async def update(self, customer: Customer, *, by: str | None = None) -> Customer:
        """Replace the customer's fields and phones; one audit row per changed field.

        `by` is the username of whoever made the edit (None for the system).
        """
        now = to_datetime(self._clock.now())
        numbers = _normalised(customer.phones)
        async with self._sessions() as session:
            try:
                async with session.begin():
                    row = await self._load(session, customer.id, for_update=True)
                    if row is None:
                        raise NotFound(f"customer {customer.id} does not exist")
                    new_values = {
                        "name": customer.name,
                        "account_number": customer.account_number or None,
                        "value_tier": ValueTier(customer.value_tier).value,
                        "notes": customer.notes,
                    }
                    kept = [p for p in row.phones if p.number in numbers]
                    added = [
                        PhoneRow(number=n) for n in numbers if n not in {p.number for p in kept}
                    ]
                    await self._check_unique(session, row.id, new_values["account_number"], added)
                    self._audit(session, row, new_values, numbers, by, now)
                    for name, value in new_values.items():
                        setattr(row, name, value)
                    row.updated_at = now
                    # flush removals before inserts, so a number can move between rows
                    row.phones = kept
                    await session.flush()
                    row.phones = kept + added
                    await session.flush()
            except IntegrityError as exc:
                raise DuplicateRecord("phone or account number already taken") from exc
            return _customer(row)

    async def audit(self, customer_id: CustomerId) -> list[CustomerEdit]:
        """The recorded edits of one customer, oldest first."""
        stmt = (
            select(CustomerAuditRow)
            .where(CustomerAuditRow.customer_id == customer_id)
            .order_by(CustomerAuditRow.at, CustomerAuditRow.id)
        )
        async with self._sessions() as session:
            return [
                CustomerEdit(r.user, from_datetime(r.at), r.field, r.old, r.new)
                for r in await session.scalars(stmt)
            ]

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    async def _load(
        session: AsyncSession, customer_id: int, *, for_update: bool = False
    ) -> CustomerRow | None:
        stmt = (
            select(CustomerRow)
            .where(CustomerRow.id == customer_id)
            .options(selectinload(CustomerRow.phones))
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await session.scalars(stmt)).first()

    @staticmethod
    async def _check_unique(
        session: AsyncSession,
        customer_id: int | None,
        account_number: str | None,
        phones: Iterable[PhoneRow],
    ) -> None:
        """Name the offending field before the constraint does (it stays the final guard)."""
        numbers = [p.number for p in phones]
        if numbers:
            taken = await session.scalar(
                select(PhoneRow.number)
                .where(PhoneRow.number.in_(numbers), PhoneRow.customer_id != (customer_id or -1))
                .limit(1)
            )
            if taken is not None:
                raise DuplicateRecord(f"phone {taken} belongs to another customer", "phones")
        if account_number is not None:
            other = await session.scalar(
                select(CustomerRow.id)
                .where(
                    CustomerRow.account_number == account_number,
                    CustomerRow.id != (customer_id or -1),
                )
                .limit(1)
            )
            if other is not None:
                raise DuplicateRecord(
                    f"account number {account_number} belongs to another customer",
                    "account_number",
                )

    @staticmethod
    def _audit(
        session: AsyncSession,
        row: CustomerRow,
        new_values: dict[str, str | None],
        numbers: list[str],
        by: str | None,
        now: datetime,
    ) -> None:
        changes: list[tuple[str, str | None, str | None]] = [
            (name, getattr(row, name), new_values[name])
            for name in _AUDITED
            if getattr(row, name) != new_values[name]
        ]
        old_phones = ",".join(p.number for p in row.phones)
        if old_phones != ",".join(numbers):
            changes.append(("phones", old_phones, ",".join(numbers)))
        for field, old, new in changes:
            session.add(
                CustomerAuditRow(customer_id=row.id, user=by, at=now, field=field, old=old, new=new)
            )
