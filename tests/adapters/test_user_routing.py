"""Users' skill levels and per-queue penalties in the SQL repository, on SQLite and PostgreSQL
(the `database` fixture): round trips, updates and the validation of every write."""

from __future__ import annotations

import pytest

from acd.model import MAX_SKILL_LEVEL, MIN_SKILL_LEVEL
from contactcenter.errors import InvalidRequest, NotFound
from contactcenter.persistence import Database
from contactcenter.records import Role


async def test_levels_and_penalties_round_trip(database: Database) -> None:
    added = await database.users.add(
        "alice",
        "Alice A.",
        Role.AGENT,
        "$argon2id$x",
        "PJSIP/1001",
        ["billing", "es"],
        skill_levels={"billing": 8, "es": MIN_SKILL_LEVEL},
        queue_penalties={"sales": 2, "support": 0},
    )
    assert added.skill_levels == {"billing": 8, "es": MIN_SKILL_LEVEL}
    assert added.queue_penalties == {"sales": 2, "support": 0}
    assert await database.users.get_by_username("alice") == added
    assert await database.users.list(Role.AGENT) == [added]


async def test_a_user_without_levels_or_penalties_has_empty_maps(database: Database) -> None:
    bob = await database.users.add("bob", "Bob", Role.AGENT, "h", None, ["support"])
    stored = await database.users.get_by_username("bob")
    assert stored == bob
    assert stored is not None and (stored.skill_levels, stored.queue_penalties) == ({}, {})


async def test_set_routing_replaces_what_is_given_and_keeps_the_rest(database: Database) -> None:
    await database.users.add(
        "carol",
        "Carol",
        Role.AGENT,
        "h",
        None,
        ["billing", "es"],
        skill_levels={"billing": 8, "es": 3},
        queue_penalties={"sales": 1},
    )
    # penalties only: skills and levels stay
    changed = await database.users.set_routing("carol", queue_penalties={"billing": 4})
    assert changed.skills == ("billing", "es")
    assert changed.skill_levels == {"billing": 8, "es": 3}
    assert changed.queue_penalties == {"billing": 4}
    # new skills without levels: the levels of skills kept stay, the others go
    changed = await database.users.set_routing("carol", skills=["billing", "fr"])
    assert changed.skills == ("billing", "fr")
    assert changed.skill_levels == {"billing": 8}
    # skills and levels together replace both
    changed = await database.users.set_routing(
        "carol", skills=["fr"], skill_levels={"fr": MAX_SKILL_LEVEL}, queue_penalties={}
    )
    assert (changed.skills, changed.skill_levels, changed.queue_penalties) == (
        ("fr",),
        {"fr": MAX_SKILL_LEVEL},
        {},
    )
    assert await database.users.get_by_username("carol") == changed


async def test_set_routing_of_an_unknown_user_is_not_found(database: Database) -> None:
    with pytest.raises(NotFound, match="'nobody'"):
        await database.users.set_routing("nobody", queue_penalties={"sales": 1})


BAD = [
    # (skills, levels, penalties, field, words the message must carry)
    (["billing"], {"billing": 0}, {}, "skill_levels", ["'billing'", "1 to 10"]),
    (["billing"], {"billing": 11}, {}, "skill_levels", ["'billing'", "11", "1 to 10"]),
    (["billing"], {"billing": 7.5}, {}, "skill_levels", ["'billing'", "whole number"]),
    (["billing"], {"billing": True}, {}, "skill_levels", ["'billing'", "whole number"]),
    (["billing"], {"es": 7}, {}, "skill_levels", ["'es'", "not one of the user's skills"]),
    (["billing"], {}, {"sales": -1}, "queue_penalties", ["'sales'", "-1", ">= 0"]),
    (["billing"], {}, {"sales": "2"}, "queue_penalties", ["'sales'", "whole number"]),
    (["billing"], {}, {"": 1}, "queue_penalties", ["queue ''", "non-empty"]),
    (["billing", "billing"], {}, {}, "skills", ["'billing'", "twice"]),
    ([" "], {}, {}, "skills", ["' '", "non-empty"]),
]


@pytest.mark.parametrize(("skills", "levels", "penalties", "field", "words"), BAD)
async def test_add_refuses_bad_levels_and_penalties(
    database: Database,
    skills: list[str],
    levels: dict[str, int],
    penalties: dict[str, int],
    field: str,
    words: list[str],
) -> None:
    with pytest.raises(InvalidRequest) as err:
        await database.users.add(
            "dave", "Dave", Role.AGENT, "h", None, skills, None, levels, penalties
        )
    assert err.value.field == field
    message = str(err.value)
    assert "user 'dave'" in message
    for word in words:
        assert word in message, (word, message)
    assert await database.users.get_by_username("dave") is None


@pytest.mark.parametrize(("skills", "levels", "penalties", "field", "words"), BAD)
async def test_set_routing_refuses_bad_values_and_writes_nothing(
    database: Database,
    skills: list[str],
    levels: dict[str, int],
    penalties: dict[str, int],
    field: str,
    words: list[str],
) -> None:
    before = await database.users.add(
        "erin", "Erin", Role.AGENT, "h", None, ["support"], skill_levels={"support": 6}
    )
    with pytest.raises(InvalidRequest) as err:
        await database.users.set_routing(
            "erin", skills=skills, skill_levels=levels, queue_penalties=penalties
        )
    assert err.value.field == field
    assert "user 'erin'" in str(err.value)
    assert await database.users.get_by_username("erin") == before


async def test_a_level_for_a_skill_the_user_will_not_have_is_refused(database: Database) -> None:
    before = await database.users.add("fay", "Fay", Role.AGENT, "h", None, ["es", "fr"])
    with pytest.raises(
        InvalidRequest, match=r"'es', which is not one of the user's skills \['fr'\]"
    ):
        await database.users.set_routing("fay", skills=["fr"], skill_levels={"es": 9})
    with pytest.raises(InvalidRequest, match="'de'"):
        await database.users.set_routing("fay", skill_levels={"de": 2})
    assert await database.users.get_by_username("fay") == before
