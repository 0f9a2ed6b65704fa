"""Demo data: agents, a supervisor, a manager and customers with phone numbers and value tiers.

Used by `contactcenter demo` and by the integration tests. Idempotent: existing users and
customers are left as they are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from contactcenter.auth import hash_password
from contactcenter.persistence.db import Database
from contactcenter.records import NewCustomer, Role, ValueTier

DEMO_PASSWORD = "demo"
FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Radia",
    "Niklaus",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Wirth",
]


@dataclass(frozen=True, slots=True)
class DemoData:
    agents: list[str]
    known_numbers: list[str]


def agent_name(i: int) -> str:
    return f"agent{i}"


async def seed_demo(db: Database, n_agents: int, n_customers: int = 60, seed: int = 7) -> DemoData:
    rng = random.Random(seed)
    password_hash = hash_password(DEMO_PASSWORD)
    agents = []
    for i in range(1, n_agents + 1):
        name = agent_name(i)
        agents.append(name)
        if await db.users.get_by_username(name) is None:
            await db.users.add(
                name, f"Agent {i}", Role.AGENT, password_hash, f"PJSIP/{1000 + i}", ["support"]
            )
    # The supervisor has a phone, for listen / whisper / barge.
    for name, role, endpoint in (
        ("supervisor", Role.SUPERVISOR, "PJSIP/2001"),
        ("manager", Role.MANAGER, None),
        ("admin", Role.ADMIN, None),
    ):
        if await db.users.get_by_username(name) is None:
            await db.users.add(name, name.title(), role, password_hash, endpoint)
    numbers = []
    tiers = list(ValueTier)
    for i in range(n_customers):
        number = f"+1555010{i:04d}"
        numbers.append(number)
        if await db.customers.find_by_phone(number) is None:
            await db.customers.create(
                NewCustomer(
                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    phones=(number,),
                    account_number=f"AC-{100000 + i}",
                    value_tier=tiers[min(3, int(rng.expovariate(1.5)))],
                    notes="Prefers email follow-up." if i % 7 == 0 else "",
                )
            )
    return DemoData(agents, numbers)
