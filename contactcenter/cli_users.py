"""`contactcenter user add` and `contactcenter user set`: users with their skills, skill levels
and per-queue penalties.

    contactcenter user add alice --endpoint PJSIP/1001 --skill billing:8 --penalty sales=2
    contactcenter user set alice --skill billing:9 --skill es:6 --penalty sales=0 --penalty vip=1

`--skill NAME[:LEVEL]` (repeatable): a skill, with its level 1-10 (without one it counts as 5).
`--penalty QUEUE=PENALTY` (repeatable): the agent's penalty (a whole number >= 0) in a configured
queue. Bad input raises InvalidRequest; the CLI prints it on one line and exits with status 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from acd.model import MAX_SKILL_LEVEL, MIN_SKILL_LEVEL
from contactcenter.errors import InvalidRequest
from contactcenter.records import User
from contactcenter.settings import Settings

SKILL_HELP = (
    f"a skill, optionally with its level {MIN_SKILL_LEVEL}-{MAX_SKILL_LEVEL} "
    "(NAME or NAME:LEVEL, e.g. billing:8; without a level it counts as 5); repeatable"
)
PENALTY_HELP = (
    "the agent's penalty in a configured queue (QUEUE=PENALTY, a whole number >= 0, e.g. "
    "sales=2; lower penalties are offered calls first); repeatable"
)


def add_parsers(user_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add = user_sub.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("username")
    add.add_argument("--role", default="agent", choices=["agent", "supervisor", "manager", "admin"])
    add.add_argument("--name", default=None, help="display name")
    add.add_argument(
        "--endpoint", default=None, help="the agent's Asterisk endpoint, e.g. PJSIP/1001"
    )
    add.add_argument("--skill", action="append", default=[], help=SKILL_HELP)
    add.add_argument("--penalty", action="append", default=[], help=PENALTY_HELP)
    add.add_argument("--config", help="settings file (TOML)")

    set_ = user_sub.add_parser(
        "set",
        help="change a user's skills, levels or penalties",
        description="Any --skill replaces all the user's skills and levels; any --penalty "
        "replaces all their penalties; what is not given is kept.",
    )
    set_.add_argument("username")
    skills = set_.add_mutually_exclusive_group()
    skills.add_argument("--skill", action="append", default=[], help=SKILL_HELP)
    skills.add_argument("--no-skills", action="store_true", help="remove every skill and level")
    penalties = set_.add_mutually_exclusive_group()
    penalties.add_argument("--penalty", action="append", default=[], help=PENALTY_HELP)
    penalties.add_argument("--no-penalties", action="store_true", help="remove every penalty")
    set_.add_argument("--config", help="settings file (TOML)")


def parse_skills(values: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """`["billing:8", "es"]` -> (["billing", "es"], {"billing": 8})."""
    skills: list[str] = []
    levels: dict[str, int] = {}
    for value in values:
        name, sep, level_text = value.partition(":")
        name = name.strip()
        if not name:
            raise InvalidRequest(f"--skill {value!r}: the skill name is missing", "skills")
        if name in skills:
            raise InvalidRequest(f"--skill {value!r}: skill {name!r} is given twice", "skills")
        skills.append(name)
        if not sep:
            continue
        try:
            level = int(level_text)
        except ValueError:
            level = None
        if level is None or not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
            raise InvalidRequest(
                f"--skill {value!r}: the level of skill {name!r} must be a whole number from "
                f"{MIN_SKILL_LEVEL} to {MAX_SKILL_LEVEL}",
                "skill_levels",
            )
        levels[name] = level
    return skills, levels


def parse_penalties(values: Sequence[str], configured: Sequence[str]) -> dict[str, int]:
    """`["sales=2"]` -> {"sales": 2}; every queue must be one of `configured`."""
    penalties: dict[str, int] = {}
    for value in values:
        queue, sep, penalty_text = value.partition("=")
        queue = queue.strip()
        if not sep or not queue:
            raise InvalidRequest(
                f"--penalty {value!r}: write QUEUE=PENALTY, e.g. sales=2", "queue_penalties"
            )
        if queue not in configured:
            raise InvalidRequest(
                f"--penalty {value!r}: queue {queue!r} is not configured "
                f"(configured queues: {', '.join(configured)})",
                "queue_penalties",
            )
        if queue in penalties:
            raise InvalidRequest(
                f"--penalty {value!r}: queue {queue!r} is given twice", "queue_penalties"
            )
        try:
            penalty = int(penalty_text)
        except ValueError:
            penalty = -1
        if penalty < 0:
            raise InvalidRequest(
                f"--penalty {value!r}: the penalty for queue {queue!r} must be a whole number >= 0",
                "queue_penalties",
            )
        penalties[queue] = penalty
    return penalties


def describe(user: User) -> str:
    """`alice: skills billing:8, es:5 (default); penalties sales=2`."""
    skills = ", ".join(
        f"{s}:{user.skill_levels[s]}" if s in user.skill_levels else f"{s}:5 (default)"
        for s in user.skills
    )
    penalties = ", ".join(f"{q}={p}" for q, p in user.queue_penalties.items())
    return f"{user.username}: skills {skills or '(none)'}; penalties {penalties or '(none)'}"


def checked_add_args(
    settings: Settings, args: argparse.Namespace
) -> tuple[list[str], dict[str, int], dict[str, int]]:
    """The skills, levels and penalties of `user add`, validated before the password prompt."""
    from contactcenter.persistence.users import check_routing

    skills, levels = parse_skills(args.skill)
    penalties = parse_penalties(args.penalty, [q.id for q in settings.queues])
    return check_routing(args.username, skills, levels, penalties)


async def add_user(settings: Settings, args: argparse.Namespace, password: str) -> User:
    from contactcenter.auth import hash_password
    from contactcenter.persistence.db import Database, upgrade
    from contactcenter.records import Role

    skills, levels, penalties = checked_add_args(settings, args)
    await upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        return await db.users.add(
            args.username,
            args.name or args.username,
            Role(args.role),
            hash_password(password),
            args.endpoint,
            skills,
            skill_levels=levels,
            queue_penalties=penalties,
        )
    finally:
        await db.close()


async def set_user(settings: Settings, args: argparse.Namespace) -> User:
    from contactcenter.persistence.db import Database, upgrade

    if not (args.skill or args.no_skills or args.penalty or args.no_penalties):
        raise InvalidRequest(
            "user set: nothing to change; give --skill, --no-skills, --penalty or --no-penalties"
        )
    skills: list[str] | None = None
    levels: dict[str, int] | None = None
    if args.skill or args.no_skills:
        skills, levels = parse_skills(args.skill)
    penalties: dict[str, int] | None = None
    if args.penalty or args.no_penalties:
        penalties = parse_penalties(args.penalty, [q.id for q in settings.queues])
    await upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        return await db.users.set_routing(
            args.username, skills=skills, skill_levels=levels, queue_penalties=penalties
        )
    finally:
        await db.close()
