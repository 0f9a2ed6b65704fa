"""The SQL repositories against real SQLite and PostgreSQL (the `database` fixture)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from contactcenter.clock import FakeClock
from contactcenter.errors import NotFound
from contactcenter.ids import AgentId, CallId, CampaignId, CustomerId, QueueId, new_call_id
from contactcenter.persistence import Database, DuplicateRecord, normalise_phone
from contactcenter.records import (
    AgentStateEntry,
    CallEvent,
    CallRecord,
    Customer,
    Direction,
    NewCustomer,
    Outcome,
    Role,
    ValueTier,
)

T0 = 1_800_000_000.0


def _call(arrived_at: float, customer_id: CustomerId | None = None, **kw: object) -> CallRecord:
    return CallRecord(
        id=new_call_id(),
        direction=Direction.INBOUND,
        arrived_at=arrived_at,
        customer_id=customer_id,
        **kw,  # type: ignore[arg-type]
    )


async def _customer(db: Database, name: str = "Ada Lovelace", *phones: str) -> Customer:
    return await db.customers.create(NewCustomer(name, phones or ("+1 (555) 010-0001",)))


# --- phones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+1 (555) 010-0001", "+15550100001"),
        ("+15550100001", "+15550100001"),
        (" 555.010.0001 ", "5550100001"),
        ("00 44 20 7946 0958", "00442079460958"),
        ("1-800+555", "1800555"),
        ("ext", ""),
    ],
)
def test_normalise_phone(given: str, expected: str) -> None:
    assert normalise_phone(given) == expected


# --- customers --------------------------------------------------------------------------------


async def test_a_customer_is_found_by_phone_whatever_the_format(database: Database) -> None:
    created = await database.customers.create(
        NewCustomer(
            "Ada Lovelace",
            ("+1 (555) 010-0001", "555-010-0002", "+15550100001"),
            account_number="AC-1",
            value_tier=ValueTier.GOLD,
            notes="prefers email",
        )
    )
    assert created.phones == ("+15550100001", "5550100002")  # normalised, de-duplicated
    assert await database.customers.find_by_phone("+15550100001") == created
    assert await database.customers.find_by_phone("+1 555 010 0001") == created
    assert await database.customers.find_by_phone("(555) 010-0002") == created
    assert await database.customers.find_by_phone("15550100001") is None  # no '+': not the same
    assert await database.customers.find_by_phone("") is None
    assert await database.customers.get(created.id) == created
    assert await database.customers.get(CustomerId(created.id + 1000)) is None


async def test_a_phone_number_belongs_to_one_customer(database: Database) -> None:
    await _customer(database, "Ada", "+15550100001")
    with pytest.raises(DuplicateRecord) as raised:
        await _customer(database, "Bob", "+1 555 010 0001")
    assert raised.value.field == "phones"
    await database.customers.create(NewCustomer("Cy", ("1",), account_number="AC-9"))
    with pytest.raises(DuplicateRecord) as raised:
        await database.customers.create(NewCustomer("Di", ("2",), account_number="AC-9"))
    assert raised.value.field == "account_number"


async def test_search_matches_name_phone_and_account_case_insensitively(database: Database) -> None:
    ada = await database.customers.create(
        NewCustomer("Ada Lovelace", ("+15550100001",), account_number="ACC-100")
    )
    bob = await database.customers.create(NewCustomer("Bob Loveday", ("+15550100002",)))
    await database.customers.create(NewCustomer("Cy_Percent%", ("+449999",)))

    assert await database.customers.search("love") == [ada, bob]
    assert await database.customers.search("LOVE", limit=1) == [ada]
    assert await database.customers.search("acc-1") == [ada]
    assert await database.customers.search("010-0002") == [bob]
    assert await database.customers.search("%") != []  # a literal %, not a wildcard
    assert [c.name for c in await database.customers.search("_p")] == ["Cy_Percent%"]
    assert await database.customers.search("nobody") == []
    assert await database.customers.search("   ") == []


async def test_update_replaces_fields_and_phones_and_is_audited(
    database: Database, clock: FakeClock
) -> None:
    ada = await _customer(database, "Ada", "+15550100001", "+15550100002")
    clock.advance(60)
    changed = dataclasses.replace(
        ada,
        name="Ada King",
        phones=("+15550100002", "+1 555 010 0003"),
        value_tier=ValueTier.PLATINUM,
    )
    updated = await database.customers.update(changed, by="supervisor1")

    assert updated == dataclasses.replace(changed, phones=("+15550100002", "+15550100003"))
    assert await database.customers.get(ada.id) == updated
    assert await database.customers.find_by_phone("+15550100001") is None
    assert await database.customers.find_by_phone("+15550100003") == updated
    edits = await database.customers.audit(ada.id)
    assert {(e.field, e.old, e.new) for e in edits} == {
        ("name", "Ada", "Ada King"),
        ("value_tier", "standard", "platinum"),
        ("phones", "+15550100001,+15550100002", "+15550100002,+15550100003"),
    }
    assert {(e.user, e.at) for e in edits} == {("supervisor1", T0 + 60)}


async def test_update_refuses_a_phone_of_another_customer(database: Database) -> None:
    ada = await _customer(database, "Ada", "+15550100001")
    await _customer(database, "Bob", "+15550100002")
    with pytest.raises(DuplicateRecord):
        await database.customers.update(dataclasses.replace(ada, phones=("+15550100002",)))
    assert await database.customers.get(ada.id) == ada
    with pytest.raises(NotFound):
        await database.customers.update(dataclasses.replace(ada, id=CustomerId(ada.id + 99)))


# --- calls ------------------------------------------------------------------------------------


async def test_a_call_round_trips_every_field(database: Database) -> None:
    ada = await _customer(database)
    call = CallRecord(
        id=new_call_id(),
        direction=Direction.OUTBOUND,
        arrived_at=T0 + 0.25,
        caller_number="+15550100001",
        dialed_number="8000",
        customer_id=ada.id,
        queue_id=QueueId("sales"),
        campaign_id=CampaignId("spring"),
        agent_id=AgentId("alice"),
        queued_at=T0 + 1.5,
        offered_at=T0 + 2.0,
        answered_at=T0 + 3.125,
        ended_at=T0 + 63.0,
        wait_s=1.625,
        talk_s=59.875,
        hold_s=4.0,
        wrap_s=10.0,
        outcome=Outcome.ANSWERED_HUMAN,
        transferred=1,
        disposition="sale",
        note="wants a call back\non Monday",
        priority=5,
        skills_required=("spanish", "billing"),
        ivr_path=("main", "1", "2"),
        hangup_cause="16",
    )
    await database.calls.add(call)
    assert await database.calls.get(call.id) == call
    assert await database.calls.get(new_call_id()) is None
    with pytest.raises(DuplicateRecord):
        await database.calls.add(call)


async def test_update_sets_only_the_named_fields(database: Database) -> None:
    call = _call(T0, caller_number="5550100")
    await database.calls.add(call)
    await database.calls.update(
        call.id,
        queue_id=QueueId("support"),
        queued_at=T0 + 2,
        outcome=Outcome.ABANDONED,
        skills_required=("en",),
        agent_id=None,
    )
    stored = await database.calls.get(call.id)
    assert stored == dataclasses.replace(
        call,
        queue_id=QueueId("support"),
        queued_at=T0 + 2,
        outcome=Outcome.ABANDONED,
        skills_required=("en",),
    )
    assert stored is not None
    assert isinstance(stored.outcome, Outcome)


async def test_update_rejects_unknown_fields_and_missing_calls(database: Database) -> None:
    call = _call(T0)
    await database.calls.add(call)
    with pytest.raises(ValueError, match="wait_seconds"):
        await database.calls.update(call.id, wait_seconds=3.0)
    with pytest.raises(ValueError, match="id"):
        await database.calls.update(call.id, id="other")
    with pytest.raises(ValueError, match="direction"):
        await database.calls.update(call.id, direction=None)
    with pytest.raises(NotFound):
        await database.calls.update(new_call_id(), wait_s=1.0)
    assert await database.calls.get(call.id) == call


async def test_history_is_newest_first_and_limited(database: Database) -> None:
    ada = await _customer(database, "Ada", "1")
    bob = await _customer(database, "Bob", "2")
    calls = [_call(T0 + i * 60, ada.id) for i in range(5)]
    for call in reversed(calls):
        await database.calls.add(call)
    await database.calls.add(_call(T0 + 30, bob.id))
    await database.calls.add(_call(T0 + 31))

    history = await database.calls.history(ada.id)
    assert [c.id for c in history] == [c.id for c in reversed(calls)]
    assert [c.id for c in await database.calls.history(ada.id, limit=2)] == [
        calls[4].id,
        calls[3].id,
    ]
    assert await database.calls.history(CustomerId(ada.id + 99)) == []


async def test_between_is_half_open_and_oldest_first(database: Database) -> None:
    calls = [_call(T0 + i * 10) for i in range(6)]  # T0, T0+10, ..., T0+50
    for call in reversed(calls):
        await database.calls.add(call)
    found = await database.calls.between(T0 + 10, T0 + 40)
    assert [c.id for c in found] == [calls[1].id, calls[2].id, calls[3].id]


async def test_events_are_kept_in_order(database: Database) -> None:
    call_id = new_call_id()  # events may be recorded before the call row exists
    first = CallEvent(call_id, T0, "arrived", {"caller": "5550100", "menu": ["1", "2"]})
    second = CallEvent(call_id, T0 + 5, "queued", {"queue": "sales"})
    same_time = CallEvent(call_id, T0 + 5, "offered", {})
    for event in (first, second, same_time):
        await database.calls.append_event(event)
    await database.calls.append_event(CallEvent(new_call_id(), T0, "arrived"))
    assert await database.calls.events(call_id) == [first, second, same_time]
    assert await database.calls.events(new_call_id()) == []


async def test_concurrent_increments_lose_nothing(database: Database) -> None:
    call = _call(T0)
    await database.calls.add(call)
    results = await asyncio.gather(
        *(database.calls.increment(call.id, "transferred") for _ in range(20))
    )
    stored = await database.calls.get(call.id)
    assert stored is not None and stored.transferred == 20
    assert sorted(results) == list(range(1, 21))  # each saw its own new value


async def test_increment_adds_to_a_null_and_refuses_non_counters(database: Database) -> None:
    call = _call(T0)
    await database.calls.add(call)
    assert await database.calls.increment(call.id, "wrap_s", 2.5) == 2.5
    assert await database.calls.increment(call.id, "hold_s", 1.5) == 1.5
    with pytest.raises(ValueError, match="outcome"):
        await database.calls.increment(call.id, "outcome")
    with pytest.raises(NotFound):
        await database.calls.increment(CallId("nope"), "transferred")


# --- users ------------------------------------------------------------------------------------


async def test_users_add_get_and_list(database: Database) -> None:
    alice = await database.users.add(
        "alice", "Alice A.", Role.AGENT, "$argon2id$x", "PJSIP/1001", ["sales", "en"]
    )
    sup = await database.users.add("sam", "Sam S.", Role.SUPERVISOR, "$argon2id$y")
    bob = await database.users.add("bob", "Bob B.", Role.AGENT, "$argon2id$z")

    assert alice.skills == ("sales", "en") and alice.endpoint == "PJSIP/1001"
    assert alice.active and alice.agent_id == "alice"
    assert await database.users.get_by_username("alice") == alice
    assert await database.users.get_by_username("nobody") is None
    assert await database.users.list() == [alice, bob, sup]
    assert await database.users.list(Role.AGENT) == [alice, bob]
    assert await database.users.list(Role.ADMIN) == []
    with pytest.raises(DuplicateRecord):
        await database.users.add("alice", "Other", Role.AGENT, "h")

    await database.users.set_active("bob", False)
    assert await database.users.get_by_username("bob") == dataclasses.replace(bob, active=False)


# --- agent state log --------------------------------------------------------------------------


async def test_agent_state_log_entries_in_a_window(database: Database) -> None:
    alice, bob = AgentId("alice"), AgentId("bob")
    entries = [
        AgentStateEntry(alice, "logged_in", T0),
        AgentStateEntry(alice, "ready", T0 + 10),
        AgentStateEntry(alice, "talking", T0 + 20, call_id=CallId("c1")),
        AgentStateEntry(alice, "not_ready", T0 + 30, reason="lunch"),
        AgentStateEntry(bob, "ready", T0 + 15),
    ]
    for entry in entries:
        await database.agent_states.append(entry)

    assert await database.agent_states.entries(alice, T0 + 10, T0 + 30) == entries[1:3]
    assert await database.agent_states.entries(alice, T0, T0 + 100) == entries[:4]
    assert await database.agent_states.entries(bob, T0, T0 + 100) == [entries[4]]
    assert await database.agent_states.state_at(alice, T0 + 25) == entries[2]
    assert await database.agent_states.state_at(alice, T0 - 1) is None


async def test_concurrent_customer_writes_all_land(database: Database) -> None:
    """Read-then-write transactions (uniqueness checks, edits) wait for each other instead of
    failing with 'database is locked' on SQLite."""
    created = await asyncio.gather(
        *(_customer(database, f"Customer {i}", f"+1555000{i:04d}") for i in range(20))
    )
    assert len({c.id for c in created}) == 20
    renamed = await asyncio.gather(
        *(database.customers.update(dataclasses.replace(c, name=c.name + "!")) for c in created)
    )
    assert [c.name for c in renamed] == [f"Customer {i}!" for i in range(20)]
    assert len(await database.customers.search("customer", limit=100)) == 20
