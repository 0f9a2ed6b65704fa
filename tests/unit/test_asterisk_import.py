"""`contactcenter asterisk import queues.conf`: app_queue queues and members become our
`[[queues]]` settings and a list of agents; the output loads as settings."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import tomllib
from pathlib import Path

import pytest

from contactcenter import cli
from contactcenter.asterisk_import import (
    AsteriskImportError,
    agents_toml,
    parse_queues_conf,
    settings_toml,
)
from contactcenter.cli import EXIT_CONFIG, main
from contactcenter.persistence import Database
from contactcenter.records import Role, User
from contactcenter.settings import load_settings

FIXTURES = Path(__file__).parent.parent / "fixtures" / "asterisk"
LAB = FIXTURES / "queues.conf"
LARGE = FIXTURES / "queues-large.conf"


def test_the_lab_queues_conf_becomes_loadable_settings(tmp_path: Path) -> None:
    imported = parse_queues_conf(LAB)
    out = tmp_path / "queues.toml"
    out.write_text(settings_toml(imported))
    settings = load_settings(out, environ={})
    (queue,) = settings.queues
    assert (queue.id, queue.name, queue.skills) == ("support", "support", ("support",))
    assert queue.wrapup_s == 0.0 and queue.offer_timeout_s == 15.0  # wrapuptime, timeout
    assert settings.default_queue == "support"
    assert [(a.name, a.endpoint, a.penalties) for a in imported.agents] == [
        ("Agent 1001", "Local/1001@agents/n", {"support": 0}),
        ("Agent 1002", "Local/1002@agents/n", {"support": 0}),
    ]
    assert imported.queues[0].strategy == "rrmemory"


def test_a_larger_file_with_templates_and_shared_members(tmp_path: Path) -> None:
    imported = parse_queues_conf(LARGE)
    queues = {q.id: q for q in imported.queues}
    assert list(queues) == ["sales", "billing", "tech.support-2", "overflow"]  # not the template
    sales, billing, tech, overflow = queues.values()
    # Inherited from [base](!), then overridden per queue.
    assert (sales.strategy, sales.offer_timeout_s, sales.wrapup_s) == ("leastrecent", 20.0, 30.0)
    assert sales.sl_threshold_s == 30.0
    assert (billing.strategy, billing.wrapup_s, billing.offer_timeout_s) == (
        "fewestcalls",
        45.0,
        20.0,
    )
    # `timeout=0` is "no timeout" to app_queue; an offer keeps app_queue's default of 15 s.
    assert (tech.strategy, tech.offer_timeout_s, tech.sl_threshold_s) == ("rrmemory", 15.0, 60.0)
    assert (overflow.strategy, overflow.wrapup_s, overflow.sl_threshold_s) == ("ringall", 0.0, None)

    agents = {a.endpoint: a for a in imported.agents}
    assert agents["PJSIP/2002"].name == "Bob Chen"
    assert agents["PJSIP/2002"].penalties == {"sales": 1, "billing": 0}
    assert agents["PJSIP/2003"].penalties == {"sales": 2, "tech.support-2": 0}
    assert agents["PJSIP/2004"].name == "Dan O'Neil"
    assert agents["Local/3002@agents/n"].name == "Local/3002@agents/n"  # no member name given
    assert agents["Local/3002@agents/n"].penalties == {"tech.support-2": 3}
    assert len(imported.agents) == 6

    out = tmp_path / "settings.toml"
    out.write_text(settings_toml(imported))
    settings = load_settings(out, environ={})
    assert [q.id for q in settings.queues] == list(queues)
    assert settings.queue("billing").skills == ("billing",)
    assert settings.queue("sales").sl_threshold_s == 30.0
    assert settings.default_queue == "sales"

    agents_doc = tomllib.loads(agents_toml(imported))["agents"]
    carla = next(a for a in agents_doc if a["endpoint"] == "PJSIP/2003")
    assert carla == {
        "name": "Carla Diaz",
        "username": "carla-diaz",
        "endpoint": "PJSIP/2003",
        "skills": ["sales", "tech.support-2"],
        "penalties": {"sales": 2, "tech.support-2": 0},
    }


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[support\nstrategy = ringall\n", 1, "Missing '[' or ']'"),
        ("[support]\nstrategy ringall\n", 2, "name = value"),
        ("[support]\nstrategy = fastest\n", 2, "unknown strategy 'fastest'"),
        ("[support]\ntimeout = soon\n", 2, "'timeout' must be a number of seconds"),
        ("[support]\nwrapuptime = -3\n", 2, "'wrapuptime' must not be negative"),
        ("[support]\n\nmember => 1001,0,Bob\n", 3, "member needs an interface"),
        ("[support]\nmember => PJSIP/1001,high\n", 2, "penalty must be a whole number"),
        ("[support]\nstrategy = ringall\nmember => PJSIP/1001,-2\n", 3, "must be 0 or more"),
        ("[general]\n#include queues-extra.conf\n", 2, "'#include' is not followed"),
        ("[sup port]\nstrategy = ringall\n", 1, "cannot be a queue id"),
        ("[a](missing)\nstrategy = ringall\n", 1, "unknown section [missing]"),
    ],
)
def test_a_bad_file_names_the_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    conf = tmp_path / "queues.conf"
    conf.write_text(text)
    with pytest.raises(AsteriskImportError) as caught:
        parse_queues_conf(conf)
    assert str(caught.value).startswith(f"{conf}:{line}: ")
    assert message in str(caught.value)


def test_a_file_without_queues_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "queues.conf"
    conf.write_text("[general]\npersistentmembers = yes\n[tpl](!)\nstrategy = ringall\n")
    with pytest.raises(AsteriskImportError, match="no queue found"):
        parse_queues_conf(conf)


def test_the_command_prints_or_writes_settings_and_agents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["asterisk", "import", str(LAB)]) == 0
    printed = capsys.readouterr()
    assert tomllib.loads(printed.out)["queues"][0]["id"] == "support"
    assert "imported 1 queue(s) and 2 agent(s)" in printed.err
    assert "contactcenter user add agent-1001" in printed.out  # as a comment

    out, agents = tmp_path / "cc.toml", tmp_path / "agents.toml"
    assert (
        main(["asterisk", "import", str(LARGE), "--out", str(out), "--agents-out", str(agents)])
        == 0
    )
    assert capsys.readouterr().out == ""
    assert len(load_settings(out, environ={}).queues) == 4
    assert len(tomllib.loads(agents.read_text())["agents"]) == 6


def test_the_command_reports_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "queues.conf"
    conf.write_text("[support]\ntimeout = soon\n")
    assert main(["asterisk", "import", str(conf)]) == EXIT_CONFIG
    assert f"{conf}:2: 'timeout' must be a number" in capsys.readouterr().err
    missing = tmp_path / "nope.conf"
    assert main(["asterisk", "import", str(missing)]) == EXIT_CONFIG
    assert f"{missing}: cannot read" in capsys.readouterr().err


def test_the_printed_user_commands_create_agents_with_their_penalties(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run the `contactcenter user add` commands the import prints (after merging its queues
    into a settings file): every member becomes a user with its app_queue penalty per queue."""
    for name in list(os.environ):
        if name.startswith("CC_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: "pw")
    imported = parse_queues_conf(LARGE)
    text = settings_toml(imported)
    database_url = f"sqlite:///{tmp_path / 'cc.db'}"
    config = tmp_path / "cc.toml"
    config.write_text(f"database_url = {json.dumps(database_url)}\n{text}")
    commands = [
        shlex.split(line.removeprefix("#"))
        for line in text.splitlines()
        if line.startswith("#   contactcenter user add ")
    ]
    assert len(commands) == len(imported.agents)
    for command in commands:
        assert main([*command[1:], "--config", str(config)]) == 0, capsys.readouterr().err

    async def users() -> dict[str, User]:
        async with Database(database_url) as db:
            return {u.endpoint or "": u for u in await db.users.list(Role.AGENT)}

    stored = asyncio.run(users())
    for agent in imported.agents:
        user = stored[agent.endpoint]
        assert (user.username, user.display_name) == (agent.username, agent.name)
        assert user.queue_penalties == agent.penalties
        assert list(user.skills) == agent.skills
    assert stored["PJSIP/2003"].queue_penalties == {"sales": 2, "tech.support-2": 0}
