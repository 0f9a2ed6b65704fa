"""Settings: one validated object, built once from defaults, then a TOML file, then CC_* variables.

Environment variables name a top-level key (`CC_DATABASE_URL`) or a key of a section
(`CC_HTTP_PORT` sets `[http] port`). An invalid value raises `ConfigError` naming the source
(file and line, or variable) and the key; the CLI turns that into exit status 2.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from acd.model import (
    QueueAction,
    QueueConfig,
)
from contactcenter.errors import ConfigError
from contactcenter.ids import QueueId
from contactcenter.settings_sections import (
    SYSTEM_REASONS,
    WALLBOARD_FIGURES,
    WEEKDAYS,
    AgiSettings,
    AmiSettings,
    AuthSettings,
    CallbackSettings,
    CallsSettings,
    DesktopSettings,
    HttpSettings,
    IvrOption,
    IvrSettings,
    NonNegative,
    Port,
    QueueSettings,
    Threshold,
    WallboardSettings,
    _zone,
)

__all__ = [
    "ENV_PREFIX",
    "SYSTEM_REASONS",
    "WALLBOARD_FIGURES",
    "WEEKDAYS",
    "AgiSettings",
    "AmiSettings",
    "AuthSettings",
    "CallbackSettings",
    "CallsSettings",
    "ConfigError",
    "DesktopSettings",
    "HttpSettings",
    "IvrOption",
    "IvrSettings",
    "NonNegative",
    "Port",
    "QueueSettings",
    "Settings",
    "Threshold",
    "WallboardSettings",
    "load_settings",
]

ENV_PREFIX = "CC_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = "sqlite:///contactcenter.db"
    redis_url: str | None = None
    # Prefix of every live-state key in Redis (several sites can share one Redis).
    redis_prefix: Annotated[str, Field(min_length=1, max_length=64)] = "cc:"
    # Where the ACD's queues, agent states and assignments live: "memory" (this process
    # alone), "redis" (shared by every server node on `redis_url`, each assignment one atomic
    # Lua script), or "auto": redis when `redis_url` is set, memory otherwise.
    routing: Literal["auto", "memory", "redis"] = "auto"
    log_level: str = "INFO"
    # The site's IANA timezone: when "least calls today" restarts, and the default timezone
    # of queues' business hours.
    timezone: str = "UTC"
    http: HttpSettings = HttpSettings()
    agi: AgiSettings = AgiSettings()
    ami: AmiSettings = AmiSettings()
    auth: AuthSettings = AuthSettings()
    calls: CallsSettings = CallsSettings()
    wallboard: WallboardSettings = WallboardSettings()
    desktop: DesktopSettings = DesktopSettings()
    callbacks: CallbackSettings = CallbackSettings()
    ivr: IvrSettings = IvrSettings()
    queues: tuple[QueueSettings, ...] = (
        QueueSettings(id="support", name="Support", skills=("support",)),
    )
    default_queue: str = "support"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// URL, or empty for in-memory live state")
        return value

    @field_validator("timezone")
    @classmethod
    def _site_zone(cls, value: str) -> str:
        _zone(value)
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return upper

    @field_validator("queues")
    @classmethod
    def _overflow_targets(cls, queues: tuple[QueueSettings, ...]) -> tuple[QueueSettings, ...]:
        """Overflow targets exist and never lead back to where they started."""
        index = {q.id: i for i, q in enumerate(queues)}

        def refuse(i: int, kind: str, message: str) -> ValidationError:
            error = PydanticCustomError(kind, message)
            target = queues[i].overflow_queue
            details = InitErrorDetails(type=error, loc=(i, "overflow_queue"), input=target)
            return ValidationError.from_exception_data("queues", [details])

        def unknown(i: int, key: str, target: str) -> ValidationError:
            known = ", ".join(index)
            error = PydanticCustomError(
                "unknown_queue", f"queue {target!r} does not exist (queues: {known})"
            )
            details = InitErrorDetails(type=error, loc=(i, key), input=target)
            return ValidationError.from_exception_data("queues", [details])

        for i, q in enumerate(queues):
            if q.overflow_queue is not None and q.overflow_queue not in index:
                raise unknown(i, "overflow_queue", q.overflow_queue)
            for lender in q.borrow_from:
                if lender not in index:
                    raise unknown(i, "borrow_from", lender)
            for key in ("after_hours_action", "closed_action"):
                text = getattr(q, key)
                target = QueueAction.parse(text).queue if text is not None else None
                if target is not None and target not in index:
                    raise unknown(i, key, target)
        for i, q in enumerate(queues):
            path, node = [q.id], q.overflow_queue
            while node is not None:
                path.append(node)
                if node == q.id:
                    raise refuse(i, "overflow_cycle", "overflow cycle: " + " -> ".join(path))
                if len(path) > len(queues) + 1:
                    break  # a cycle further on: reported from a queue inside it
                node = queues[index[node]].overflow_queue
        return queues

    @model_validator(mode="after")
    def _queues_consistent(self) -> Settings:
        ids = [q.id for q in self.queues]
        if len(set(ids)) != len(ids):
            raise ValueError(f"queue ids must be unique, got {ids}")
        if self.default_queue not in ids:
            raise ValueError(f"default_queue {self.default_queue!r} is not one of the queues {ids}")
        menu_queues = [(f"ivr.options.{k}.queue", o.queue) for k, o in self.ivr.options.items()]
        if self.ivr.fallback_queue is not None:
            menu_queues.append(("ivr.fallback_queue", self.ivr.fallback_queue))
        for key, queue in menu_queues:
            if queue not in ids:
                raise ValueError(f"{key}: unknown queue {queue!r} (queues: {ids})")
        if self.routing == "redis" and not self.redis_url:
            raise ValueError("routing = 'redis' needs redis_url")
        return self

    @property
    def shared_routing(self) -> bool:
        """Whether the ACD routes through the Redis shared queues (see `routing`)."""
        return self.routing == "redis" or (self.routing == "auto" and bool(self.redis_url))

    def queue_configs(self) -> dict[QueueId, QueueConfig]:
        """Every queue as the ACD core takes it."""
        return {QueueId(q.id): q.to_config(self.timezone) for q in self.queues}

    def site_tz(self) -> ZoneInfo:
        return _zone(self.timezone)

    def queue(self, queue_id: str) -> QueueSettings:
        for q in self.queues:
            if q.id == queue_id:
                return q
        raise KeyError(queue_id)


def _section_names() -> tuple[str, ...]:
    """Every section of Settings (a field that is itself a model), longest name first so that
    a section whose name starts another's is matched whole."""
    names = [
        name
        for name, info in Settings.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
    ]
    return tuple(sorted(names, key=len, reverse=True))


# The sections CC_<SECTION>_<KEY> variables can set: all of them, read off the model.
_SECTIONS = _section_names()


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        for section in _SECTIONS:
            if key.startswith(section + "_"):
                out.setdefault(section, {})[key[len(section) + 1 :]] = value
                break
        else:
            out[key] = value
    return out


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """The line of the TOML file where the key at `loc` is written (best effort)."""
    names = [str(part) for part in loc if isinstance(part, str)]
    if not names:
        return None
    key = names[-1]
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    section_pattern = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")
    wanted_section = names[0] if len(names) > 1 else None
    # In an array of tables ([[queues]]), loc's number after the name picks the table.
    wanted_index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    current: str | None = None
    seen: dict[str, int] = {}
    fallback: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        heading = section_pattern.match(line)
        if heading:
            current = heading.group(1)
            seen[current] = seen.get(current, -1) + 1
            if wanted_section == current and len(names) == 1:
                return number
            continue
        if pattern.match(line):
            right_table = wanted_index is None or seen.get(current or "", 0) == wanted_index
            if current == wanted_section and right_table:
                return number
            fallback = fallback or number
    return fallback


def _describe(exc: ValidationError, *, path: Path | None, text: str, env: Mapping[str, Any]) -> str:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        where = "defaults"
        env_name = ENV_PREFIX + "_".join(str(p) for p in loc if isinstance(p, str)).upper()
        if loc and isinstance(loc[0], str) and _lookup(env, loc) is not None:
            where = f"environment variable {env_name}"
        elif path is not None:
            line = _line_of(text, loc)
            where = f"{path}:{line}" if line else str(path)
        problems.append(f"{where}: key '{key}': {error['msg']}")
    return "invalid settings:\n  " + "\n  ".join(problems)


def _lookup(data: Mapping[str, Any], loc: tuple[int | str, ...]) -> Any:
    node: Any = data
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return None
    return node


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings: defaults, then the TOML file (if any), then CC_* variables."""
    environ = os.environ if environ is None else environ
    file_data: dict[str, Any] = {}
    text = ""
    file_path = Path(path) if path is not None else None
    if file_path is not None:
        try:
            text = file_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{file_path}: cannot read settings file: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file_path}: settings file is not UTF-8 text") from exc
        try:
            file_data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file_path}: not valid TOML: {exc}") from exc
        if "queues" in file_data and isinstance(file_data["queues"], list):
            file_data["queues"] = tuple(file_data["queues"])
    env_data = _env_overrides(environ)
    merged = _merge(file_data, env_data)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path=file_path, text=text, env=env_data)) from exc
