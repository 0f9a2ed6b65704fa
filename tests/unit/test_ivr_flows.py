"""The inbound IVR flow, driven by hand with `.send()`: what the caller hears and presses, and
where the call ends up."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from contactcenter.ids import QueueId
from ivr.actions import Action, Answer, Collect, Enqueue, Play
from ivr.errors import FlowConfigError
from ivr.flows import Flow, FlowResult, MenuConfig, inbound_flow

SALES, SUPPORT, BILLING, OPERATOR = (
    QueueId("sales"),
    QueueId("support"),
    QueueId("billing"),
    QueueId("operator"),
)
MENU = MenuConfig(
    options={"1": SALES, "2": SUPPORT},
    prompt="cc/menu",
    greeting="cc/welcome",
    retries=2,
    timeout_ms=4000,
)
ASK = Collect("cc/menu", 1, 4000)


def drive(flow: Flow, presses: Iterable[str | None] = ()) -> tuple[list[Action], FlowResult]:
    """Run the flow to its end as the telephony side would: each Collect gets the next of
    `presses` (None = the caller pressed nothing), every other action gets None."""
    keys = iter(presses)
    actions: list[Action] = []
    reply: object = None
    try:
        while True:
            action = flow.send(reply)
            actions.append(action)
            reply = next(keys) if isinstance(action, Collect) else None
    except StopIteration as stop:
        result: FlowResult = stop.value
    assert next(keys, "unused") == "unused", "the flow ended before every key press was used"
    return actions, result


def test_without_a_menu_the_caller_is_answered_and_queued() -> None:
    actions, result = drive(inbound_flow(SUPPORT, customer_known=False, menu=None))
    assert actions == [Answer(), Enqueue(SUPPORT, 0)]
    assert result == FlowResult(SUPPORT, 0, (), "")


def test_known_customers_get_the_configured_priority() -> None:
    flow = inbound_flow(SUPPORT, customer_known=True, menu=None, known_customer_priority=3)
    actions, result = drive(flow)
    assert actions[-1] == Enqueue(SUPPORT, 3)
    assert result.priority == 3
    _, stranger = drive(inbound_flow(SUPPORT, False, None, known_customer_priority=3))
    assert stranger.priority == 0


def test_the_caller_chooses_a_queue_from_the_menu() -> None:
    actions, result = drive(inbound_flow(OPERATOR, False, MENU), ["2"])
    assert actions == [Answer(), Play("cc/welcome"), ASK, Enqueue(SUPPORT, 0)]
    assert result == FlowResult(SUPPORT, 0, ("menu:2",), "2")


def test_a_timeout_repeats_the_menu() -> None:
    actions, result = drive(inbound_flow(OPERATOR, False, MENU), [None, "1"])
    assert actions == [Answer(), Play("cc/welcome"), ASK, ASK, Enqueue(SALES, 0)]
    assert result.ivr_path == ("menu:timeout", "menu:1")
    assert result.digits == "1"


def test_an_invalid_key_is_told_and_the_menu_repeats() -> None:
    actions, result = drive(inbound_flow(OPERATOR, False, MENU), ["9", "2"])
    assert actions == [
        Answer(),
        Play("cc/welcome"),
        ASK,
        Play("option-is-invalid"),
        ASK,
        Enqueue(SUPPORT, 0),
    ]
    assert result == FlowResult(SUPPORT, 0, ("menu:invalid:9", "menu:2"), "92")


def test_after_the_retries_the_caller_goes_to_the_default_queue() -> None:
    actions, result = drive(inbound_flow(OPERATOR, False, MENU), [None, "7", ""])
    assert actions.count(ASK) == 3  # the first try and two retries
    assert actions[-1] == Enqueue(OPERATOR, 0)
    assert result == FlowResult(
        OPERATOR,
        0,
        ("menu:timeout", "menu:invalid:7", "menu:timeout", "menu:fallback"),
        "7",
    )


def test_a_menu_fallback_queue_beats_the_default_queue() -> None:
    menu = MenuConfig({"1": SALES}, "cc/menu", retries=0, fallback_queue=BILLING)
    actions, result = drive(inbound_flow(OPERATOR, True, menu), [None])
    # No greeting configured: straight to the menu.
    assert actions == [Answer(), Collect("cc/menu", 1, 5000), Enqueue(BILLING, 0)]
    assert result.queue_id == BILLING
    assert result.ivr_path == ("menu:timeout", "menu:fallback")


def test_star_and_hash_can_be_options() -> None:
    menu = MenuConfig({"*": OPERATOR, "#": BILLING}, "cc/menu")
    _, result = drive(inbound_flow(SALES, False, menu), ["#"])
    assert result.queue_id == BILLING


def test_a_driver_that_sends_the_wrong_type_is_a_programming_error() -> None:
    flow = inbound_flow(OPERATOR, False, MENU)
    next(flow)  # Answer
    flow.send(None)  # Play greeting
    flow.send(None)  # Collect
    with pytest.raises(TypeError, match="Collect expects"):
        flow.send(1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"options": {}}, "at least one option"),
        ({"options": {"12": SALES}}, "single DTMF keys"),
        ({"options": {"a": SALES}}, "single DTMF keys"),
        ({"options": {"1": SALES}, "retries": -1}, "retries"),
        ({"options": {"1": SALES}, "timeout_ms": 0}, "timeout_ms"),
    ],
)
def test_invalid_menus_are_refused_when_configured(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(FlowConfigError, match=message):
        MenuConfig(prompt="cc/menu", **kwargs)  # type: ignore[arg-type]


def test_a_menu_does_not_change_when_its_source_dict_does() -> None:
    options = {"1": SALES}
    menu = MenuConfig(options, "cc/menu")
    options["1"] = BILLING
    _, result = drive(inbound_flow(OPERATOR, False, menu), ["1"])
    assert result.queue_id == SALES


def test_a_menu_choice_adds_its_priority() -> None:
    menu = MenuConfig({"1": SALES, "9": SUPPORT}, "cc/menu", priorities={"9": 20})
    _, premium = drive(inbound_flow(SALES, True, menu, known_customer_priority=3), ["9"])
    assert premium.queue_id == SUPPORT and premium.priority == 23
    _, plain = drive(inbound_flow(SALES, True, menu, known_customer_priority=3), ["1"])
    assert plain.queue_id == SALES and plain.priority == 3
    # no choice (fallback): no menu priority
    _, none = drive(inbound_flow(SALES, False, menu), [None, None, None])
    assert none.ivr_path[-1] == "menu:fallback" and none.priority == 0


def test_menu_priorities_only_for_its_options() -> None:
    with pytest.raises(FlowConfigError, match=r"not options: \['5'\]"):
        MenuConfig({"1": SALES}, "cc/menu", priorities={"5": 1})
