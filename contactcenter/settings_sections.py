"""The sections of the settings (one pydantic model each): contactcenter/settings.py builds
the whole from them, and re-exports them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from acd.model import (
    MAX_SKILL_LEVEL,
    MIN_SKILL_LEVEL,
    BusinessHours,
    QueueAction,
    QueueConfig,
    Strategy,
    TimeRange,
    WidenStep,
)
from contactcenter.ids import QueueId
from contactcenter.records import ValueTier
from ivr.flows import MenuConfig

NonNegative = Annotated[float, Field(ge=0)]
Port = Annotated[int, Field(ge=0, le=65535)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r} (an IANA name such as Europe/Paris)") from exc


def _parse_range(text: str) -> TimeRange:
    """ "HH:MM-HH:MM" to minutes since midnight; 24:00 may end a range."""
    match = _RANGE.match(text.strip())
    if match is None:
        raise ValueError(f"time range {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or h1 > 23 or end > 24 * 60:
        raise ValueError(f"time range {text!r} has an impossible time")
    if start >= end:
        raise ValueError(
            f"time range {text!r} ends before it starts (split a night across two days)"
        )
    return (start, end)


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


class CallsSettings(_Section):
    """Call control over the PBX (contexts are those of config/asterisk/extensions.conf)."""

    # The priority a known caller's value tier gives their call (the CRM ranks customers; the
    # higher tiers are served first). Tiers not named: 0.
    tier_priority: dict[ValueTier, Annotated[int, Field(ge=-1000, le=1000)]] = Field(
        default_factory=lambda: {
            ValueTier.STANDARD: 0,
            ValueTier.SILVER: 1,
            ValueTier.GOLD: 2,
            ValueTier.PLATINUM: 3,
        }
    )

    # Record every connected call with MixMonitor (file name in the call history).
    record: bool = True
    recording_format: Annotated[str, Field(pattern=r"^[a-z0-9]+$")] = "wav"
    # The Originate channel of an outbound call: {number} is replaced by the number to dial.
    dial_template: Annotated[str, Field(pattern=r"^[A-Za-z0-9]+/.*\{number\}")] = (
        "PJSIP/{number}@carrier"
    )
    # Caller ID of outbound calls when the request names none.
    outbound_caller_id: str = ""
    # Waiting callers: every this many seconds of music, tell them their position (and the
    # estimated wait, when the ACD gives one) and, with `callback_offer`, offer a callback
    # ("press 1"). 0: music only.
    prompt_interval_s: NonNegative = 0.0
    callback_offer: bool = False
    # Sound files (without extension) of the callback offer and its confirmation.
    callback_prompt: str = "cc-callback-offer"
    callback_confirm: str = "cc-callback-confirm"
    # Played to a caller whose queue is not open, before its action (see QueueSettings
    # after_hours_action / closed_action): after hours and holidays, and no agent logged in.
    # A "callback" action then plays `closed_callback_prompt` (press 1: a callback when the
    # queue opens again).
    after_hours_prompt: str = "cc-after-hours"
    closed_prompt: str = "cc-closed"
    closed_callback_prompt: str = "cc-closed-callback-offer"


class AuthSettings(_Section):
    token_ttl_s: Annotated[int, Field(gt=0)] = 12 * 3600
    # Key that signs login tokens. Empty: a random key per start (tokens die with the process).
    secret: str = ""


class IvrOption(_Section):
    """One key of the inbound menu: the queue it leads to, and the priority it adds."""

    queue: Annotated[str, Field(min_length=1)]
    priority: Annotated[int, Field(ge=-1000, le=1000)] = 0


class IvrSettings(_Section):
    """The inbound menu, played after the answer. No `options`: no menu (callers go to their
    number's queue). A caller who presses nothing valid goes to `fallback_queue`, else to their
    number's queue. A recognised customer gets `known_customer_priority` on top of their value
    tier's priority; a chosen option adds its own `priority`."""

    options: dict[str, IvrOption] = Field(default_factory=dict)
    prompt: str = "cc-main-menu"
    greeting: str | None = None
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    timeout_ms: Annotated[int, Field(gt=0, le=60_000)] = 5000
    invalid_prompt: str = "option-is-invalid"
    fallback_queue: str | None = None
    known_customer_priority: Annotated[int, Field(ge=-1000, le=1000)] = 0

    @field_validator("options")
    @classmethod
    def _keys_are_dtmf(cls, value: dict[str, IvrOption]) -> dict[str, IvrOption]:
        bad = sorted(k for k in value if len(k) != 1 or k not in "0123456789*#")
        if bad:
            raise ValueError(f"menu keys must be single DTMF keys (0-9, *, #): {bad}")
        return value

    def menu(self) -> MenuConfig | None:
        if not self.options:
            return None
        return MenuConfig(
            options={k: QueueId(o.queue) for k, o in self.options.items()},
            prompt=self.prompt,
            greeting=self.greeting,
            retries=self.retries,
            timeout_ms=self.timeout_ms,
            invalid_prompt=self.invalid_prompt,
            fallback_queue=QueueId(self.fallback_queue) if self.fallback_queue else None,
            priorities={k: o.priority for k, o in self.options.items() if o.priority},
        )


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
    # Where a call still waiting overflow_after_s after entering this queue goes next, or
    # a call that enters it facing an estimated wait above overflow_when_ewt_exceeds_s.
    overflow_queue: str | None = None
    overflow_after_s: NonNegative | None = None
    overflow_when_ewt_exceeds_s: NonNegative | None = None
    # Handle time the estimated wait assumes before the queue has a measured answer rate.
    ewt_default_handle_s: Annotated[float, Field(gt=0)] = 180.0
    # The mailbox of the "voicemail" action (app_voicemail's mailbox[@context]); default
    # "<queue id>@default".
    voicemail_box: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+(@[A-Za-z0-9_.-]+)?$")] | None = (
        None
    )
    # Business hours: IANA timezone (default: the site's `timezone`), weekly opening hours
    # (hours = { mon = ["09:00-12:30", "13:30-18:00"], ... }; a day not named is closed; no
    # `hours` at all: open around the clock), holiday dates, and what to do when closed:
    # "hangup", "overflow:<queue>", "voicemail" or "callback" (unset: queue as usual).
    timezone: str | None = None
    hours: dict[str, tuple[str, ...]] | None = None
    holidays: tuple[date, ...] = ()
    after_hours_action: str | None = None
    closed_action: str | None = None
    # Queues whose agents this queue may borrow while their service level is met.
    borrow_from: tuple[str, ...] = ()
    sl_target: Annotated[float, Field(ge=0, le=1)] = 0.8
    sl_window_s: Annotated[float, Field(gt=0)] = 1800.0

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

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            _zone(value)
        return value

    @field_validator("hours")
    @classmethod
    def _hours_valid(
        cls, value: dict[str, tuple[str, ...]] | None
    ) -> dict[str, tuple[str, ...]] | None:
        if value is None:
            return None
        for day, ranges in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not a weekday ({', '.join(WEEKDAYS)})")
            parsed = sorted(_parse_range(r) for r in ranges)
            for (_, end), (start, _) in pairwise(parsed):
                if start < end:
                    raise ValueError(f"{day}: time ranges {list(ranges)} overlap")
        return value

    @field_validator("after_hours_action", "closed_action")
    @classmethod
    def _action_valid(cls, value: str | None) -> str | None:
        if value is not None:
            QueueAction.parse(value)
        return value

    @model_validator(mode="after")
    def _overflow_complete(self) -> QueueSettings:
        rules = (self.overflow_after_s, self.overflow_when_ewt_exceeds_s)
        if (self.overflow_queue is None) != all(r is None for r in rules):
            raise ValueError(
                "overflow_queue goes with overflow_after_s and/or overflow_when_ewt_exceeds_s"
                " (overflow_queue and overflow_after_s go together)"
            )
        if self.id in self.borrow_from:
            raise ValueError(f"queue {self.id!r} cannot borrow from itself")
        return self

    def to_config(self, site_timezone: str = "UTC") -> QueueConfig:
        """The ACD core's view of this queue (validated already)."""
        hours = None
        if self.hours is not None or self.holidays:
            weekly = None
            if self.hours is not None:
                weekly = {
                    WEEKDAYS.index(day): tuple(sorted(_parse_range(r) for r in ranges))
                    for day, ranges in self.hours.items()
                }
            hours = BusinessHours(
                _zone(self.timezone or site_timezone), weekly, frozenset(self.holidays)
            )

        def action(text: str | None) -> QueueAction | None:
            return QueueAction.parse(text) if text is not None else None

        return QueueConfig(
            id=QueueId(self.id),
            name=self.name or self.id,
            skills=frozenset(self.skills),
            wrapup_s=self.wrapup_s,
            offer_timeout_s=self.offer_timeout_s,
            sl_threshold_s=self.sl_threshold_s,
            skill_levels=dict(self.skill_levels),
            widen=tuple(WidenStep(after, drop) for after, drop in self.widen),
            priority_aging_per_s=self.priority_aging_per_s,
            strategy=self.strategy,
            max_consecutive_rona=self.max_consecutive_rona,
            overflow_queue=QueueId(self.overflow_queue) if self.overflow_queue else None,
            overflow_after_s=self.overflow_after_s,
            overflow_when_ewt_exceeds_s=self.overflow_when_ewt_exceeds_s,
            ewt_default_handle_s=self.ewt_default_handle_s,
            hours=hours,
            after_hours_action=action(self.after_hours_action),
            closed_action=action(self.closed_action),
            borrow_from=tuple(QueueId(q) for q in self.borrow_from),
            sl_target=self.sl_target,
            sl_window_s=self.sl_window_s,
            short_abandon_s=self.short_abandon_s,
        )


class Threshold(_Section):
    """Colour bands of one wallboard figure: green until `amber`, amber until `red`, then red.
    When `red` < `amber` the figure is better high (service level): red below `red`."""

    amber: float
    red: float

    @model_validator(mode="after")
    def _distinct(self) -> Threshold:
        if self.amber == self.red:
            raise ValueError("amber and red must differ (their order says which way is worse)")
        return self

    def colour(self, value: float | None) -> str | None:
        if value is None:
            return None
        if self.red > self.amber:  # higher is worse
            return "red" if value >= self.red else "amber" if value >= self.amber else "green"
        return "red" if value <= self.red else "amber" if value <= self.amber else "green"


# The figures a threshold may be set for (docs/configuration.md, docs/metrics.md).
WALLBOARD_FIGURES = (
    "waiting",
    "longest_wait_s",
    "service_level",
    "abandon_rate",
    "asa_s",
    "aht_s",
)


def _default_thresholds() -> dict[str, Threshold]:
    return {
        "waiting": Threshold(amber=3, red=6),
        "longest_wait_s": Threshold(amber=20, red=60),
        "service_level": Threshold(amber=0.8, red=0.7),
        "abandon_rate": Threshold(amber=0.05, red=0.1),
        "asa_s": Threshold(amber=15, red=30),
        "aht_s": Threshold(amber=300, red=480),
    }


class WallboardSettings(_Section):
    push_interval_s: Annotated[float, Field(gt=0)] = 0.25
    # Per figure: {amber, red}. Figures left out keep their default bands.
    thresholds: dict[str, Threshold] = Field(default_factory=_default_thresholds)
    # Roles that see the caller and customer of each agent's current call on the wallboard.
    customer_data_roles: tuple[str, ...] = ("supervisor", "admin")

    @field_validator("thresholds", mode="before")
    @classmethod
    def _known_figures(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return value
        unknown = sorted(set(value) - set(WALLBOARD_FIGURES))
        if unknown:
            raise ValueError(f"unknown figures {unknown}; known: {list(WALLBOARD_FIGURES)}")
        return {**_default_thresholds(), **value}

    @field_validator("customer_data_roles")
    @classmethod
    def _known_roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = ("agent", "supervisor", "manager", "admin")
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown roles {unknown}; known: {list(known)}")
        return value


# Not Ready reasons the server sets itself; a configured reason code may not reuse them.
SYSTEM_REASONS = frozenset(
    {
        "disconnected",
        "connect_failed",
        "rona",
        "rona_limit",
        "disposition_required",
        "call_interrupted",
        "login",
    }
)


class DesktopSettings(_Section):
    # The Not Ready reason codes an agent (or a supervisor forcing Not Ready) picks from.
    not_ready_reasons: tuple[str, ...] = ("Break", "Lunch", "Meeting", "Training", "Other")

    @field_validator("not_ready_reasons")
    @classmethod
    def _valid_reasons(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one reason code is required")
        for reason in value:
            if not reason.strip() or len(reason) > 64 or reason != reason.strip():
                raise ValueError(f"reason {reason!r} must be 1-64 characters, no outer spaces")
            if reason.lower() in SYSTEM_REASONS:
                raise ValueError(f"reason {reason!r} is reserved for the server")
        lowered = [r.lower() for r in value]
        if len(set(lowered)) != len(lowered):
            raise ValueError(f"reason codes must be unique, got {list(value)}")
        return value


class CallbackSettings(_Section):
    """Callbacks (web requests, agents' callbacks, virtual hold): see contactcenter/callbacks.py."""

    max_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    retry_delay_s: Annotated[float, Field(ge=1)] = 600.0
    max_days_ahead: Annotated[int, Field(ge=0, le=365)] = 30
    # The key a web site's backend sends as `X-Api-Key` to POST /api/callbacks without a user
    # login. Empty: only signed-in users may request callbacks.
    web_api_key: str = ""
    # Caller ID shown to the customer on callback calls (empty: the trunk's default).
    caller_id: str = ""
    ring_timeout_s: Annotated[float, Field(gt=0, le=120)] = 30.0
    # Who is called first when a callback's turn comes in its queue (docs/callbacks.md):
    # "caller_first" keeps the agent the ACD chose and dials the customer (with AMD);
    # "agent_first" rings the agent who accepts the offer, then dials the customer.
    connect: Literal["caller_first", "agent_first"] = "caller_first"
