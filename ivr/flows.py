"""IVR flows: pure generators of actions (see ivr/actions.py), driven by the FastAGI driver in
production and by `.send()` in tests. No I/O, no clock.

The inbound flow answers the caller, optionally runs a one-digit menu, and ends by yielding
`Enqueue` and returning a `FlowResult` with the same queue and priority.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field

from contactcenter.ids import QueueId
from ivr.actions import Action, Answer, Collect, Enqueue, Play
from ivr.errors import FlowConfigError

DTMF_KEYS = frozenset("0123456789*#")


@dataclass(frozen=True, slots=True)
class FlowResult:
    """Where the flow sends the caller. `queue_id` None: the flow did not queue the call.
    `ivr_path` records the menu steps, e.g. ("menu:timeout", "menu:2"); `digits` is every
    digit the caller pressed, in order."""

    queue_id: QueueId | None
    priority: int = 0
    ivr_path: tuple[str, ...] = ()
    digits: str = ""


Flow = Generator[Action, object, FlowResult]
"""A flow yields actions, receives each action's result, and returns a FlowResult."""


@dataclass(frozen=True, slots=True)
class MenuConfig:
    """A one-digit menu.

    `greeting` (optional) plays once, not interruptible; then `prompt` plays while the caller
    may press a key. An invalid key plays `invalid_prompt`; a timeout or an invalid key
    repeats the prompt, up to `retries` more times. After that the caller goes to
    `fallback_queue`, or to the flow's default queue if that is None: a caller who does not
    choose is still answered.
    """

    options: Mapping[str, QueueId]
    prompt: str
    greeting: str | None = None
    retries: int = 2
    timeout_ms: int = 5000
    invalid_prompt: str = "option-is-invalid"
    fallback_queue: QueueId | None = None
    # Priority the caller's choice adds (e.g. the "premium line" key), key -> points.
    priorities: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.options:
            raise FlowConfigError("a menu needs at least one option")
        bad = sorted(k for k in self.options if len(k) != 1 or k not in DTMF_KEYS)
        if bad:
            raise FlowConfigError(f"menu options must be single DTMF keys (0-9, *, #): {bad}")
        if self.retries < 0:
            raise FlowConfigError(f"menu retries must be >= 0, not {self.retries}")
        if self.timeout_ms <= 0:
            raise FlowConfigError(f"menu timeout_ms must be > 0, not {self.timeout_ms}")
        stray = sorted(k for k in self.priorities if k not in self.options)
        if stray:
            raise FlowConfigError(f"menu priorities for keys that are not options: {stray}")
        # Private copies: the caller's dicts changing later must not change the menu.
        object.__setattr__(self, "options", dict(self.options))
        object.__setattr__(self, "priorities", dict(self.priorities))


def inbound_flow(
    default_queue: QueueId,
    customer_known: bool,
    menu: MenuConfig | None,
    *,
    known_customer_priority: int = 0,
) -> Flow:
    """Answer; run the menu if there is one; queue the call.

    `default_queue` is the queue of the dialed number (the shell resolves DNIDs to queues);
    it takes the call when there is no menu or the caller makes no valid choice. A caller we
    recognise (`customer_known`) gets `known_customer_priority` (default 0: no preference).
    """
    priority = known_customer_priority if customer_known else 0
    yield Answer()
    if menu is None:
        yield Enqueue(default_queue, priority)
        return FlowResult(default_queue, priority)
    queue_id, path, digits = yield from menu_choice(menu, default_queue)
    chosen = path[-1].removeprefix("menu:") if path else ""
    priority += menu.priorities.get(chosen, 0)
    yield Enqueue(queue_id, priority)
    return FlowResult(queue_id, priority, path, digits)


def menu_choice(
    menu: MenuConfig, default_queue: QueueId
) -> Generator[Action, object, tuple[QueueId, tuple[str, ...], str]]:
    """The menu on its own: (chosen queue, ivr path, digits pressed)."""
    if menu.greeting:
        yield Play(menu.greeting)
    path: list[str] = []
    pressed = ""
    for _ in range(menu.retries + 1):
        digit = _digits((yield Collect(menu.prompt, 1, menu.timeout_ms)))
        if not digit:
            path.append("menu:timeout")
            continue
        pressed += digit
        queue_id = menu.options.get(digit)
        if queue_id is not None:
            path.append(f"menu:{digit}")
            return queue_id, tuple(path), pressed
        path.append(f"menu:invalid:{digit}")
        yield Play(menu.invalid_prompt)
    path.append("menu:fallback")
    fallback = default_queue if menu.fallback_queue is None else menu.fallback_queue
    return fallback, tuple(path), pressed


def _digits(reply: object) -> str | None:
    if reply is None or isinstance(reply, str):
        return reply
    raise TypeError(f"Collect expects a str or None back, got {reply!r}")
