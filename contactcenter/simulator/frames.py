"""AMI event frames as Asterisk 20 writes them: the same field names in the same order as in the
recorded transcripts (tests/fixtures/asterisk/ami-*.jsonl). Each function returns the fields of
one event; the AMI server encodes them.
"""

from __future__ import annotations

from contactcenter.simulator.channels import Channel

Fields = list[tuple[str, str]]

CALL = ("Privilege", "call,all")
DIALPLAN = ("Privilege", "dialplan,all")

CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    34: "Circuit/channel congestion",
}


def _chan_event(name: str, privilege: tuple[str, str], chan: Channel) -> Fields:
    return [("Event", name), privilege, *chan.fields()]


def newchannel(chan: Channel) -> Fields:
    return _chan_event("Newchannel", CALL, chan)


def newstate(chan: Channel) -> Fields:
    return _chan_event("Newstate", CALL, chan)


def newexten(chan: Channel, application: str, app_data: str) -> Fields:
    return [
        *_chan_event("Newexten", DIALPLAN, chan),
        ("Extension", chan.exten),
        ("Application", application),
        ("AppData", app_data),
    ]


def varset(chan: Channel, variable: str, value: str) -> Fields:
    return [*_chan_event("VarSet", DIALPLAN, chan), ("Variable", variable), ("Value", value)]


def music_on_hold_start(chan: Channel, music_class: str) -> Fields:
    return [*_chan_event("MusicOnHoldStart", CALL, chan), ("Class", music_class)]


def music_on_hold_stop(chan: Channel) -> Fields:
    return _chan_event("MusicOnHoldStop", CALL, chan)


def hangup_request(chan: Channel, cause: int | None = None) -> Fields:
    fields = _chan_event("HangupRequest", CALL, chan)
    if cause is not None:
        fields.append(("Cause", str(cause)))
    return fields


def soft_hangup_request(chan: Channel, cause: int = 16) -> Fields:
    return [*_chan_event("SoftHangupRequest", CALL, chan), ("Cause", str(cause))]


def hangup(chan: Channel, cause: int) -> Fields:
    return [
        *_chan_event("Hangup", CALL, chan),
        ("Cause", str(cause)),
        ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown")),
    ]


def dial_begin(caller: Channel, dest: Channel, dial_string: str) -> Fields:
    return [
        *_chan_event("DialBegin", CALL, caller),
        *dest.fields("Dest"),
        ("DialString", dial_string),
    ]


def dial_end(caller: Channel, dest: Channel, status: str) -> Fields:
    return [*_chan_event("DialEnd", CALL, caller), *dest.fields("Dest"), ("DialStatus", status)]


# (BridgeType, BridgeTechnology, BridgeCreator, BridgeName): a two-party bridge as recorded;
# ConfBridge's is a multi-party one named after the conference (Asterisk's bridge snapshot).
BASIC = ("basic", "simple_bridge", "<unknown>", "<unknown>")


def conference_kind(room: str) -> tuple[str, str, str, str]:
    return ("base", "softmix", "ConfBridge", room)


def _bridge(
    name: str,
    bridge_id: str,
    num_channels: int,
    kind: tuple[str, str, str, str] = BASIC,
) -> Fields:
    return [
        ("Event", name),
        CALL,
        ("BridgeUniqueid", bridge_id),
        ("BridgeType", kind[0]),
        ("BridgeTechnology", kind[1]),
        ("BridgeCreator", kind[2]),
        ("BridgeName", kind[3]),
        ("BridgeNumChannels", str(num_channels)),
        ("BridgeVideoSourceMode", "none"),
    ]


def bridge_create(bridge_id: str, kind: tuple[str, str, str, str] = BASIC) -> Fields:
    return _bridge("BridgeCreate", bridge_id, 0, kind)


def bridge_enter(
    bridge_id: str, num_channels: int, chan: Channel, kind: tuple[str, str, str, str] = BASIC
) -> Fields:
    return [*_bridge("BridgeEnter", bridge_id, num_channels, kind), *chan.fields()]


def bridge_leave(
    bridge_id: str, num_channels: int, chan: Channel, kind: tuple[str, str, str, str] = BASIC
) -> Fields:
    return [*_bridge("BridgeLeave", bridge_id, num_channels, kind), *chan.fields()]


def bridge_destroy(bridge_id: str, kind: tuple[str, str, str, str] = BASIC) -> Fields:
    return _bridge("BridgeDestroy", bridge_id, 0, kind)


def fully_booted(uptime_s: int) -> Fields:
    return [
        ("Event", "FullyBooted"),
        ("Privilege", "system,all"),
        ("Uptime", str(uptime_s)),
        ("LastReload", str(uptime_s)),
        ("Status", "Fully Booted"),
    ]


def _hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def core_show_channel(chan: Channel, action_id: str | None, now: float) -> Fields:
    fields: Fields = [("Event", "CoreShowChannel")]
    if action_id is not None:
        fields.append(("ActionID", action_id))
    return [
        *fields,
        *chan.fields(),
        ("Application", chan.application),
        ("ApplicationData", chan.app_data),
        ("Duration", _hms(now - chan.created_at)),
        ("BridgeId", chan.bridge_id),
    ]


def status(chan: Channel, action_id: str | None, now: float) -> Fields:
    fields: Fields = [
        ("Event", "Status"),
        ("Privilege", "Call"),
        *chan.fields(),
        ("Type", chan.tech),
        ("DNID", chan.dnid),
        ("EffectiveConnectedLineNum", chan.connected_num or "<unknown>"),
        ("EffectiveConnectedLineName", chan.connected_name or "<unknown>"),
        ("TimeToHangup", "0"),
        ("BridgeID", chan.bridge_id),
        ("Application", chan.application),
        ("Data", chan.app_data),
        ("Nativeformats", "(ulaw)"),
        ("Readformat", "ulaw"),
        ("Readtrans", ""),
        ("Writeformat", "ulaw"),
        ("Writetrans", ""),
        ("Callgroup", "0"),
        ("Pickupgroup", "0"),
        ("Seconds", str(max(0, int(now - chan.created_at)))),
    ]
    if action_id is not None:
        fields.append(("ActionID", action_id))
    return fields


def list_complete(name: str, action_id: str | None, items: int) -> Fields:
    fields: Fields = [("Event", name)]
    if action_id is not None:
        fields.append(("ActionID", action_id))
    return [*fields, ("EventList", "Complete"), ("ListItems", str(items))]


# --- call control (shapes as recorded in ami-call-control and ami-originate-*) -----------------

DTMF = ("Privilege", "dtmf,all")


def unhold(chan: Channel) -> Fields:
    return _chan_event("Unhold", CALL, chan)


def mix_monitor_start(chan: Channel) -> Fields:
    return _chan_event("MixMonitorStart", CALL, chan)


def mix_monitor_stop(chan: Channel) -> Fields:
    return _chan_event("MixMonitorStop", CALL, chan)


def dtmf_begin(chan: Channel, digit: str, direction: str) -> Fields:
    return [*_chan_event("DTMFBegin", DTMF, chan), ("Digit", digit), ("Direction", direction)]


def dtmf_end(chan: Channel, digit: str, duration_ms: int, direction: str) -> Fields:
    return [
        *_chan_event("DTMFEnd", DTMF, chan),
        ("Digit", digit),
        ("DurationMs", str(duration_ms)),
        ("Direction", direction),
    ]


def blind_transfer(
    transferer: Channel, transferee: Channel, bridge_id: str, context: str, exten: str
) -> Fields:
    return [
        ("Event", "BlindTransfer"),
        CALL,
        ("Result", "Success"),
        *transferer.fields("Transferer"),
        *transferee.fields("Transferee"),
        *_bridge("", bridge_id, 2)[2:],
        ("IsExternal", "Yes"),
        ("Context", context),
        ("Extension", exten),
    ]


def dial_begin_originate(dest: Channel, dial_string: str) -> Fields:
    """DialBegin of an Originate's leg: no calling channel, only the Dest* block."""
    return [("Event", "DialBegin"), CALL, *dest.fields("Dest"), ("DialString", dial_string)]


def dial_end_originate(dest: Channel, status: str) -> Fields:
    return [("Event", "DialEnd"), CALL, *dest.fields("Dest"), ("DialStatus", status)]


def originate_response(
    action_id: str | None,
    success: bool,
    channel: str,
    reason: int,
    uniqueid: str,
    caller_num: str | None,
    caller_name: str | None,
    *,
    application: tuple[str, str] | None = None,
    target: tuple[str, str] | None = None,
) -> Fields:
    """`application` (Application, Data) or `target` (Context, Exten), as the action had."""
    fields: Fields = [("Event", "OriginateResponse"), CALL]
    if action_id is not None:
        fields.append(("ActionID", action_id))
    fields += [("Response", "Success" if success else "Failure"), ("Channel", channel)]
    if application is not None:
        fields += [("Application", application[0]), ("Data", application[1])]
    if target is not None:
        fields += [("Context", target[0]), ("Exten", target[1])]
    return [
        *fields,
        ("Reason", str(reason)),
        ("Uniqueid", uniqueid),
        ("CallerIDNum", caller_num or "<unknown>"),
        ("CallerIDName", caller_name or "<unknown>"),
    ]


def chanspy(name: str, spyer: Channel, spyee: Channel) -> Fields:
    return [("Event", name), CALL, *spyer.fields("Spyer"), *spyee.fields("Spyee")]
