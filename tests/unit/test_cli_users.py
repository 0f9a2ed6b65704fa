"""`contactcenter user add` / `user set` with skill levels and per-queue penalties, run through
main() against a real SQLite database; bad input is one line on stderr and exit status 2."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from contactcenter import cli
from contactcenter.cli import main
from contactcenter.persistence import Database
from contactcenter.records import User

PASSWORD = "s3cret-pw"


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The password prompts shown; each is answered PASSWORD (there is no terminal)."""
    asked: list[str] = []

    def answer(prompt: str) -> str:
        asked.append(prompt)
        return PASSWORD

    monkeypatch.setattr(cli.getpass, "getpass", answer)
    return asked


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prompts: list[str]) -> Path:
    """A settings file with three queues and a SQLite database; no CC_* variable from the
    test environment (CC_TEST_*) reaches the settings."""
    for name in list(os.environ):
        if name.startswith("CC_"):
            monkeypatch.delenv(name)
    f = tmp_path / "cc.toml"
    f.write_text(
        f'database_url = "sqlite:///{tmp_path / "cc.db"}"\n'
        'default_queue = "support"\n'
        '[[queues]]\nid = "support"\nskills = ["support"]\n'
        '[[queues]]\nid = "sales"\nskills = ["sales"]\n'
        '[[queues]]\nid = "billing"\nskills = ["billing"]\n'
    )
    return f


def _stored(config: Path, username: str) -> User | None:
    url = config.read_text().splitlines()[0].split('"')[1]

    async def read() -> User | None:
        async with Database(url) as db:
            await db.upgrade()
            return await db.users.get_by_username(username)

    return asyncio.run(read())


def _add(config: Path, *extra: str) -> int:
    return main(["user", "add", "alice", "--config", str(config), *extra])


def test_add_stores_skills_levels_and_penalties(
    config: Path, capsys: pytest.CaptureFixture[str], prompts: list[str]
) -> None:
    code = _add(
        config,
        "--endpoint",
        "PJSIP/1001",
        "--skill",
        "billing:8",
        "--skill",
        "support",
        "--penalty",
        "sales=2",
        "--penalty",
        "support=0",
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "alice: skills billing:8, support:5 (default); penalties sales=2, support=0" in out
    alice = _stored(config, "alice")
    assert alice is not None
    assert alice.skills == ("billing", "support")
    assert alice.skill_levels == {"billing": 8}
    assert alice.queue_penalties == {"sales": 2, "support": 0}
    assert alice.endpoint == "PJSIP/1001"
    assert prompts == ["password for alice: "]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--skill", "billing:11"], ["'billing:11'", "'billing'", "1 to 10"]),
        (["--skill", "billing:0"], ["'billing'", "1 to 10"]),
        (["--skill", "billing:high"], ["'billing:high'", "whole number"]),
        (["--skill", ":3"], ["':3'", "name is missing"]),
        (["--skill", "es", "--skill", "es:7"], ["'es'", "twice"]),
        (
            ["--penalty", "nowhere=1"],
            ["'nowhere'", "not configured", "support, sales, billing"],
        ),
        (["--penalty", "sales=-1"], ["'sales'", ">= 0"]),
        (["--penalty", "sales=1.5"], ["'sales'", "whole number"]),
        (["--penalty", "sales"], ["'sales'", "QUEUE=PENALTY"]),
        (["--penalty", "sales=1", "--penalty", "sales=2"], ["'sales'", "twice"]),
    ],
)
def test_add_refuses_bad_input_with_one_line_and_status_2(
    config: Path,
    capsys: pytest.CaptureFixture[str],
    prompts: list[str],
    args: list[str],
    words: list[str],
) -> None:
    assert _add(config, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("contactcenter: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)
    assert prompts == []  # refused before asking for a password
    assert _stored(config, "alice") is None


def test_add_refuses_a_taken_username(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(config) == 0
    capsys.readouterr()
    assert _add(config, "--skill", "sales") == 2
    err = capsys.readouterr().err
    assert "'alice' is taken" in err and err.count("\n") == 1


def test_set_replaces_skills_levels_and_penalties(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add(config, "--skill", "billing:8", "--skill", "es:3", "--penalty", "sales=2") == 0
    before = _stored(config, "alice")
    assert before is not None

    assert main(["user", "set", "alice", "--config", str(config), "--penalty", "billing=1"]) == 0
    after = _stored(config, "alice")
    assert after is not None
    assert (after.skills, after.skill_levels) == (before.skills, before.skill_levels)
    assert after.queue_penalties == {"billing": 1}

    assert main(["user", "set", "alice", "--config", str(config), "--skill", "sales:9"]) == 0
    after = _stored(config, "alice")
    assert after is not None
    assert (after.skills, after.skill_levels) == (("sales",), {"sales": 9})
    assert after.queue_penalties == {"billing": 1}
    assert "alice: skills sales:9; penalties billing=1" in capsys.readouterr().out

    assert main(["user", "set", "alice", "--config", str(config), "--no-penalties"]) == 0
    after = _stored(config, "alice")
    assert after is not None and after.queue_penalties == {}
    assert after.password_hash == before.password_hash


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["alice", "--skill", "sales:42"], ["'sales'", "1 to 10"]),
        (["alice", "--penalty", "closed=1"], ["'closed'", "not configured"]),
        (["alice"], ["nothing to change"]),
        (["nobody", "--skill", "sales"], ["'nobody'", "does not exist"]),
    ],
)
def test_set_refuses_bad_input_and_changes_nothing(
    config: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: list[str]
) -> None:
    assert _add(config, "--skill", "billing:8", "--penalty", "sales=2") == 0
    before = _stored(config, "alice")
    capsys.readouterr()

    assert main(["user", "set", *args, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("contactcenter: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)
    assert _stored(config, "alice") == before


def test_set_refuses_skills_together_with_no_skills(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["user", "set", "alice", "--skill", "sales", "--no-skills"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
