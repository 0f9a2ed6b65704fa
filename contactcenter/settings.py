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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from acd.model import MAX_SKILL_LEVEL, MIN_SKILL_LEVEL, Strategy
from contactcenter.errors import ConfigError

ENV_PREFIX = "CC_"

NonNegative = Annotated[float, Field(ge=0)]
Port = Annotated[int, Field(ge=0, le=65535)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: Port = 8080


class AgiSettings(_Section):
    host: str = "127.0.0.1"
    port: Port = 4573
    music_class: str = "default"
    fallback_context: str = "cc-fallback"


class AmiSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 5038
    username: str = "cc"
    secret: str = "ccsecret"
    ping_interval_s: Annotated[float, Field(gt=0)] = 20.0


class AuthSettings(_Section):
    token_ttl_s: Annotated[int, Field(gt=0)] = 12 * 3600
    # Key that signs login tokens. Empty: a random key per start (tokens die with the process).
    secret: str = ""


class QueueSettings(_Section):
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: str = ""
    skills: tuple[str, ...] = ()
    dnids: tuple[str, ...] = ()
    wrapup_s: NonNegative = 10.0
    offer_timeout_s: Annotated[float, Field(gt=0)] = 15.0
    ring_timeout_s: Annotated[float, Field(gt=0)] = 20.0
    sl_threshold_s: Annotated[float, Field(gt=0)] = 20.0
    short_abandon_s: NonNegative = 5.0
    dispositions: tuple[str, ...] = ("resolved", "follow-up", "escalated", "wrong number")
    disposition_required: bool = False
    # Routing (acd/model.py QueueConfig says what each does; the defaults route as before).
    # Required minimum level per skill, e.g. skill_levels = { es = 7 }.
    skill_levels: dict[str, Annotated[int, Field(ge=MIN_SKILL_LEVEL, le=MAX_SKILL_LEVEL)]] = Field(
        default_factory=dict
    )
    # Widening steps [after_s, level_drop], e.g. widen = [[30, 2], [60, 10]].
    widen: tuple[tuple[NonNegative, Annotated[int, Field(ge=0)]], ...] = ()
    priority_aging_per_s: NonNegative = 0.0
    strategy: Strategy = "longest_idle"
    max_consecutive_rona: Annotated[int, Field(ge=0)] = 0
    # Where a call still waiting overflow_after_s after entering this queue goes next.
    overflow_queue: str | None = None
    overflow_after_s: NonNegative | None = None

    @field_validator("skill_levels")
    @classmethod
    def _levels_of_known_skills(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        skills = info.data.get("skills", ())
        unknown = sorted(set(value) - set(skills))
        if unknown:
            raise ValueError(f"skills {unknown} are not among the queue's skills {list(skills)}")
        return value

    @field_validator("widen")
    @classmethod
    def _widen_in_order(cls, value: tuple[tuple[float, int], ...]) -> tuple[tuple[float, int], ...]:
        afters = [after for after, _ in value]
        if afters != sorted(set(afters)):
            raise ValueError("widening steps must have strictly increasing times")
        return value

    @model_validator(mode="after")
    def _overflow_complete(self) -> QueueSettings:
        if (self.overflow_queue is None) != (self.overflow_after_s is None):
            raise ValueError("overflow_queue and overflow_after_s go together")
        return self


class WallboardSettings(_Section):
    push_interval_s: Annotated[float, Field(gt=0)] = 0.25


class CallbackSettings(_Section):
    """Callbacks (web requests, agents' callbacks, virtual hold): see contactcenter/callbacks.py."""

    # agent_first: an agent takes the callback, then the customer is dialled;
    # caller_first: the customer is dialled, and connected to the next agent when they answer.
    mode: Literal["agent_first", "caller_first"] = "agent_first"
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    retry_delay_s: Annotated[float, Field(ge=1)] = 600.0
    max_days_ahead: Annotated[int, Field(ge=0, le=365)] = 30
    # The key a web site's backend sends as `X-Api-Key` to POST /api/callbacks without a user
    # login. Empty: only signed-in users may request callbacks.
    web_api_key: str = ""
    # Caller ID shown to the customer on callback calls (empty: the trunk's default).
    caller_id: str = ""
    ring_timeout_s: Annotated[float, Field(gt=0, le=120)] = 30.0


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = "sqlite:///contactcenter.db"
    redis_url: str | None = None
    # Prefix of every live-state key in Redis (several sites can share one Redis).
    redis_prefix: Annotated[str, Field(min_length=1, max_length=64)] = "cc:"
    log_level: str = "INFO"
    http: HttpSettings = HttpSettings()
    agi: AgiSettings = AgiSettings()
    ami: AmiSettings = AmiSettings()
    auth: AuthSettings = AuthSettings()
    wallboard: WallboardSettings = WallboardSettings()
    callbacks: CallbackSettings = CallbackSettings()
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

        for i, q in enumerate(queues):
            if q.overflow_queue is not None and q.overflow_queue not in index:
                known = ", ".join(index)
                raise refuse(
                    i,
                    "unknown_queue",
                    f"queue {q.overflow_queue!r} does not exist (queues: {known})",
                )
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
        return self

    def queue(self, queue_id: str) -> QueueSettings:
        for q in self.queues:
            if q.id == queue_id:
                return q
        raise KeyError(queue_id)


_SECTIONS = ("http", "agi", "ami", "auth", "wallboard")


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
    current: str | None = None
    fallback: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        heading = section_pattern.match(line)
        if heading:
            current = heading.group(1)
            if wanted_section == current and len(names) == 1:
                return number
            continue
        if pattern.match(line):
            if current == wanted_section:
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
