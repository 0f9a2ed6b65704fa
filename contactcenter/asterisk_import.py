"""`contactcenter asterisk import queues.conf`: migrate app_queue queues and members.

An existing Asterisk's queues.conf is read with pyst2's config parser (`asterisk.config`; its
values keep their leading whitespace, so every value is stripped) and turned into:

- our settings' `[[queues]]` tables: one per queue (`id` and `name` = the queue's section name,
  `skills = [id]`, `wrapup_s` from `wrapuptime`, `offer_timeout_s` from `timeout`,
  `sl_threshold_s` from `servicelevel`); the app_queue `strategy` is kept as a comment, since
  contactcenter routes to the longest-idle skilled agent;
- a list of agents from the `member =>` lines (`interface,penalty,membername,...`): one agent
  per interface, its endpoint the interface, a skill per queue it is a member of, and its
  penalty (>= 0) in each, written as `contactcenter user add ... --penalty QUEUE=N` commands
  (comments of the settings) and as `[[agents]]` tables (`penalties = { queue = N }`), which
  become the user records' `queue_penalties`.

Section templates (`[name](!)`, `[name](parent)`) are followed. `#include` is not: import each
file. A malformed file raises AsteriskImportError naming the file and line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from asterisk.config import Config, ParseError

from contactcenter.errors import ConfigError

__all__ = [
    "AgentImport",
    "AsteriskImportError",
    "QueueImport",
    "QueuesImport",
    "agents_toml",
    "parse_queues_conf",
    "settings_toml",
]

# app_queue's defaults when a queue does not set the option.
ASTERISK_TIMEOUT_S = 15.0
ASTERISK_WRAPUP_S = 0.0
ASTERISK_STRATEGY = "ringall"
STRATEGIES = frozenset(
    {
        "ringall",
        "leastrecent",
        "fewestcalls",
        "random",
        "rrmemory",
        "rrordered",
        "linear",
        "wrandom",
    }
)
_QUEUE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_TEMPLATE_HEADING = re.compile(r"^\s*\[([^\]]+)\]\s*\(([^)]*)\)\s*(;.*)?$")


class AsteriskImportError(ConfigError):
    """queues.conf could not be imported; the message names the file and line."""


@dataclass(slots=True)
class QueueImport:
    id: str
    strategy: str = ASTERISK_STRATEGY
    wrapup_s: float = ASTERISK_WRAPUP_S
    offer_timeout_s: float = ASTERISK_TIMEOUT_S
    sl_threshold_s: float | None = None
    line: int = 0


@dataclass(slots=True)
class AgentImport:
    name: str
    endpoint: str
    penalties: dict[str, int] = field(default_factory=dict)  # queue id -> penalty

    @property
    def skills(self) -> list[str]:
        return list(self.penalties)

    @property
    def username(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "agent"


@dataclass(slots=True)
class QueuesImport:
    source: str
    queues: list[QueueImport] = field(default_factory=list)
    agents: list[AgentImport] = field(default_factory=list)


class _Config(Config):  # type: ignore[misc]  # pyst2 has no type hints
    """pyst2's parser, taught section templates: `[name](!)` and `[name](parent,...)` are
    rewritten to `[name]` before parsing, and remembered in `templates` / `parents`."""

    def load(self) -> None:
        super().load()
        self.templates: set[str] = set()
        self.parents: dict[str, list[str]] = {}
        for index, raw in enumerate(self.raw_lines):
            if raw.lstrip().startswith("#"):
                directive = raw.strip().split()[0]
                raise ParseError(index + 1, f"'{directive}' is not followed; import each file")
            match = _TEMPLATE_HEADING.match(raw)
            if match is None:
                continue
            name, options = match.group(1).strip(), match.group(2)
            for option in (o.strip() for o in options.split(",")):
                if option == "!":
                    self.templates.add(name)
                elif option:
                    self.parents.setdefault(name, []).append(option)
            self.raw_lines[index] = f"[{name}]\n"


def _where(path: Path, line: int) -> str:
    return f"{path}:{line}"


def _number(path: Path, line: int, key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise AsteriskImportError(
            f"{_where(path, line)}: '{key}' must be a number of seconds, got {value!r}"
        ) from None
    if number < 0:
        raise AsteriskImportError(f"{_where(path, line)}: '{key}' must not be negative")
    return number


def _items(config: _Config, name: str, path: Path, seen: tuple[str, ...] = ()) -> list[object]:
    """A section's items after its templates' items (inheritance, as Asterisk applies it)."""
    if name in seen:
        raise AsteriskImportError(f"{path}: template loop through [{name}]")
    by_name = {c.name: c for c in config.categories}
    items: list[object] = []
    for parent in config.parents.get(name, []):
        if parent not in by_name:
            line = by_name[name].number
            raise AsteriskImportError(
                f"{_where(path, line)}: [{name}] inherits from an unknown section [{parent}]"
            )
        items.extend(_items(config, parent, path, (*seen, name)))
    items.extend(by_name[name].items)
    return items


def parse_queues_conf(path: str | Path) -> QueuesImport:
    """Read an app_queue queues.conf into queues and agents."""
    path = Path(path)
    try:
        config = _Config(str(path))
    except ParseError as exc:
        line, message = (*exc.args, None, None)[:2]
        raise AsteriskImportError(f"{_where(path, int(line or 0))}: {message}") from exc
    except OSError as exc:
        raise AsteriskImportError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise AsteriskImportError(f"{path}: not a text file") from exc
    result = QueuesImport(source=str(path))
    agents: dict[str, AgentImport] = {}
    for category in config.categories:
        name = category.name.strip()
        if name.lower() == "general" or name in config.templates:
            continue
        if not _QUEUE_ID.match(name):
            raise AsteriskImportError(
                f"{_where(path, category.number)}: queue name [{name}] cannot be a queue id "
                "(letters, digits, '_', '.', '-'; at most 64)"
            )
        queue = QueueImport(id=name, line=category.number)
        members: list[tuple[int, str]] = []
        for item in _items(config, name, path):
            key = str(getattr(item, "name", "")).strip().lower()
            value = str(getattr(item, "value", "")).strip()
            line = int(getattr(item, "number", 0))
            if key == "strategy":
                if value.lower() not in STRATEGIES:
                    raise AsteriskImportError(
                        f"{_where(path, line)}: unknown strategy {value!r} "
                        f"(one of {', '.join(sorted(STRATEGIES))})"
                    )
                queue.strategy = value.lower()
            elif key == "timeout":
                seconds = _number(path, line, key, value)
                # 0 means "no timeout" to app_queue; an offer needs one: keep the default.
                queue.offer_timeout_s = seconds or ASTERISK_TIMEOUT_S
            elif key == "wrapuptime":
                queue.wrapup_s = _number(path, line, key, value)
            elif key == "servicelevel":
                seconds = _number(path, line, key, value)
                queue.sl_threshold_s = seconds or None
            elif key == "member":
                members.append((line, value))
        for line, value in members:
            interface, penalty, member_name = _member(path, line, value)
            agent = agents.get(interface)
            if agent is None:
                agent = agents[interface] = AgentImport(member_name or interface, interface)
            elif member_name and agent.name == agent.endpoint:
                agent.name = member_name
            agent.penalties[name] = penalty
        result.queues.append(queue)
    if not result.queues:
        raise AsteriskImportError(f"{path}: no queue found (only [general] or templates)")
    result.agents = list(agents.values())
    return result


def _member(path: Path, line: int, value: str) -> tuple[str, int, str]:
    """`interface[,penalty[,membername[,state_interface[,ringinuse]]]]`."""
    fields = [f.strip() for f in value.split(",")]
    interface = fields[0]
    if not interface or "/" not in interface:
        raise AsteriskImportError(
            f"{_where(path, line)}: member needs an interface such as PJSIP/1001, got {value!r}"
        )
    penalty = 0
    if len(fields) > 1 and fields[1]:
        try:
            penalty = int(fields[1])
        except ValueError:
            raise AsteriskImportError(
                f"{_where(path, line)}: member penalty must be a whole number, got {fields[1]!r}"
            ) from None
        if penalty < 0:
            raise AsteriskImportError(
                f"{_where(path, line)}: member penalty must be 0 or more, got {penalty}"
            )
    member_name = fields[2] if len(fields) > 2 else ""
    return interface, penalty, member_name


def _s(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _n(value: float) -> str:
    return repr(float(value))


def settings_toml(imported: QueuesImport) -> str:
    """Settings TOML: `default_queue` and the `[[queues]]` tables; the agents as comments with
    the command that creates each one (agents are users, not settings)."""
    out = [
        f"# Imported from {imported.source} by `contactcenter asterisk import`.",
        "# Merge into your settings file. contactcenter offers each call to the Ready agents",
        "# with the queue's skills, lowest penalty first; app_queue strategies are comments.",
        f"default_queue = {_s(imported.queues[0].id)}",
    ]
    for q in imported.queues:
        out += [
            "",
            "[[queues]]",
            f"# app_queue strategy = {q.strategy} (line {q.line})",
            f"id = {_s(q.id)}",
            f"name = {_s(q.id)}",
            f"skills = [{_s(q.id)}]",
            f"wrapup_s = {_n(q.wrapup_s)}",
            f"offer_timeout_s = {_n(q.offer_timeout_s)}",
        ]
        if q.sl_threshold_s is not None:
            out.append(f"sl_threshold_s = {_n(q.sl_threshold_s)}")
    if imported.agents:
        out += [
            "",
            "# Agents (queue members). Once these queues are in your settings, create each one",
            "# as a user, with its app_queue penalty per queue:",
        ]
        for agent in imported.agents:
            skills = " ".join(f"--skill {s}" for s in agent.skills)
            penalties = " ".join(f"--penalty {q}={p}" for q, p in agent.penalties.items())
            out.append(
                f"#   contactcenter user add {agent.username} --name {_s(agent.name)} "
                f"--endpoint {agent.endpoint} {skills} {penalties}"
            )
    return "\n".join(out) + "\n"


def agents_toml(imported: QueuesImport) -> str:
    """The agents as TOML `[[agents]]` tables: name, username, endpoint, skills, penalties."""
    out = [f"# Queue members imported from {imported.source}."]
    for agent in imported.agents:
        penalties = ", ".join(f"{_s(q)} = {p}" for q, p in agent.penalties.items())
        out += [
            "",
            "[[agents]]",
            f"name = {_s(agent.name)}",
            f"username = {_s(agent.username)}",
            f"endpoint = {_s(agent.endpoint)}",
            f"skills = [{', '.join(_s(s) for s in agent.skills)}]",
            f"penalties = {{ {penalties} }}",
        ]
    return "\n".join(out) + "\n"
