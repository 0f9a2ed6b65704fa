"""The AMI actions the simulator answers, with Asterisk 20's exact response texts.

A response is written before the events the action causes (Setvar's `Variable Set`, then its
VarSet event), as in the recordings. Action names and keys are case-insensitive.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from contactcenter.simulator import frames
from contactcenter.simulator.channels import Channel
from contactcenter.telephony.ami_protocol import AmiMessage

if TYPE_CHECKING:
    from contactcenter.simulator.ami_server import AmiClientSession

__all__ = ["AmiBackend", "EventFilter", "dispatch", "reply"]

logger = logging.getLogger(__name__)

Fields = list[tuple[str, str]]


class AmiBackend(Protocol):
    """What the AMI actions need from the PBX."""

    def find_channel(self, name: str) -> Channel | None: ...
    def list_channels(self) -> list[Channel]: ...
    def set_variable(self, chan: Channel, name: str, value: str) -> None: ...
    def get_global(self, name: str) -> str: ...
    def set_global(self, name: str, value: str) -> None: ...
    def redirect(
        self,
        chan: Channel,
        context: str,
        exten: str,
        priority: int,
        extra: tuple[Channel, str, str, int] | None = None,
    ) -> None: ...
    def hangup_channel(self, chan: Channel, cause: int) -> None: ...
    def bridge(self, chan1: Channel, chan2: Channel) -> str | None:
        """Bridge two channels; an error message if they cannot be."""
        ...

    def blind_transfer(self, chan: Channel, context: str, exten: str) -> str | None: ...
    def mix_monitor(self, chan: Channel, file: str | None, start: bool) -> None: ...
    def mute(self, chan: Channel, direction: str, on: bool) -> None: ...
    def play_dtmf(self, chan: Channel, digit: str, duration_ms: int) -> None: ...

    astdb: dict[tuple[str, str], str]

    def originate(self, client: AmiClientSession, msg: AmiMessage) -> None:
        """Answer the Originate (the backend knows its channels) and run what follows."""
        ...


def reply(msg: AmiMessage, response: str, *fields: tuple[str, str]) -> Fields:
    """`Response: X`, the echoed ActionID (only if the action had one), then `fields`."""
    out: Fields = [("Response", response)]
    if msg.action_id is not None:
        out.append(("ActionID", msg.action_id))
    out.extend(fields)
    return out


def _error(msg: AmiMessage, message: str) -> Fields:
    return reply(msg, "Error", ("Message", message))


Handler = Callable[[AmiBackend, "AmiClientSession", AmiMessage, float], None]


def _ping(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    client.send(reply(msg, "Success", ("Ping", "Pong"), ("Timestamp", f"{now:.6f}")))


def _setvar(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    variable = msg.get("Variable")
    if not variable:
        client.send(_error(msg, "No variable specified"))
        return
    value = msg.get("Value") or ""
    name = msg.get("Channel")
    if not name:
        client.send(reply(msg, "Success", ("Message", "Variable Set")))
        backend.set_global(variable, value)
        return
    chan = backend.find_channel(name)
    if chan is None:
        client.send(_error(msg, "No such channel"))
        return
    client.send(reply(msg, "Success", ("Message", "Variable Set")))
    backend.set_variable(chan, variable, value)


def _getvar(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    variable = msg.get("Variable")
    if not variable:
        client.send(_error(msg, "No variable specified"))
        return
    name = msg.get("Channel")
    if not name:
        value = backend.get_global(variable)
    else:
        chan = backend.find_channel(name)
        if chan is None:
            client.send(_error(msg, "No such channel"))
            return
        value = chan.variables.get(variable, "")
    client.send(reply(msg, "Success", ("Variable", variable), ("Value", value)))


def _redirect(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    name = msg.get("Channel")
    if not name:
        client.send(_error(msg, "Channel not specified"))
        return
    chan = backend.find_channel(name)
    if chan is None:
        client.send(_error(msg, f"Channel does not exist: {name}"))
        return
    context = msg.get("Context") or chan.context
    exten = msg.get("Exten") or chan.exten
    try:
        priority = int(msg.get("Priority") or "1")
    except ValueError:
        client.send(_error(msg, f"Invalid priority '{msg.get('Priority')}'"))
        return
    extra: tuple[Channel, str, str, int] | None = None
    extra_name = msg.get("ExtraChannel")
    if extra_name:
        # manager.c action_redirect: both channels are looked up before either moves.
        extra_chan = backend.find_channel(extra_name)
        if extra_chan is None:
            client.send(_error(msg, f"ExtraChannel does not exist: {extra_name}"))
            return
        try:
            extra_priority = int(msg.get("ExtraPriority") or str(priority))
        except ValueError:
            client.send(_error(msg, f"Invalid extrapriority '{msg.get('ExtraPriority')}'"))
            return
        extra = (
            extra_chan,
            msg.get("ExtraContext") or context,
            msg.get("ExtraExten") or exten,
            extra_priority,
        )
    client.send(reply(msg, "Success", ("Message", "Redirect successful")))
    backend.redirect(chan, context, exten, priority, extra)


def _hangup(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    name = msg.get("Channel")
    if not name:
        client.send(_error(msg, "No channel specified"))
        return
    chan = backend.find_channel(name)
    if chan is None:
        client.send(_error(msg, "No such channel"))
        return
    try:
        cause = int(msg.get("Cause") or "16")
    except ValueError:
        cause = 16
    client.send(reply(msg, "Success", ("Message", "Channel Hungup")))
    backend.hangup_channel(chan, cause)


def _bridge(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    """Bridge (main/features.c action_bridge): errors as recorded ("Channel2 does not exist:
    <name>"); success is `astman_send_ack(s, m, "Channels have been bridged")`."""
    name1, name2 = msg.get("Channel1"), msg.get("Channel2")
    if not name1 or not name2:
        client.send(_error(msg, "Missing channel parameter in request"))
        return
    chan1 = backend.find_channel(name1)
    if chan1 is None:
        client.send(_error(msg, f"Channel1 does not exist: {name1}"))
        return
    chan2 = backend.find_channel(name2)
    if chan2 is None:
        client.send(_error(msg, f"Channel2 does not exist: {name2}"))
        return
    error = backend.bridge(chan1, chan2)
    if error is not None:
        client.send(_error(msg, error))
        return
    client.send(reply(msg, "Success", ("Message", "Channels have been bridged")))


def _blind_transfer(
    backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float
) -> None:
    """BlindTransfer of the transferer's channel: `Transfer succeeded` (recorded); the errors
    are manager.c action_blind_transfer's (`Transfer invalid` when not in a bridge)."""
    name = msg.get("Channel")
    if not name:
        client.send(_error(msg, "No channel specified"))
        return
    exten = msg.get("Exten")
    if not exten:
        client.send(_error(msg, "No extension specified"))
        return
    chan = backend.find_channel(name)
    if chan is None:
        client.send(_error(msg, "Channel specified does not exist"))
        return
    error = backend.blind_transfer(chan, msg.get("Context") or chan.context, exten)
    if error is not None:
        client.send(_error(msg, error))
        return
    client.send(reply(msg, "Success", ("Message", "Transfer succeeded")))


def _mix_monitor(
    backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float
) -> None:
    """MixMonitor / StopMixMonitor: `Response: Success` with no Message (recorded)."""
    name = msg.get("Channel")
    if not name:
        client.send(_error(msg, "No channel specified"))
        return
    chan = backend.find_channel(name)
    if chan is None:
        client.send(_error(msg, "No such channel"))
        return
    start = (msg.get("Action") or "").lower() == "mixmonitor"
    client.send(reply(msg, "Success"))
    backend.mix_monitor(chan, msg.get("File"), start)


def _mute_audio(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    """MuteAudio (res_mutestream.c manager_mutestream): the error texts of its source, and a
    bare `Response: Success` (astman_append with only the ActionID)."""
    name, state, direction = msg.get("Channel"), msg.get("State"), msg.get("Direction")
    if not name:
        client.send(_error(msg, "Channel not specified"))
        return
    if not state:
        client.send(_error(msg, "State not specified"))
        return
    if not direction:
        client.send(_error(msg, "Direction not specified"))
        return
    chan = backend.find_channel(name)
    if chan is None:
        client.send(_error(msg, "No such channel"))
        return
    if direction.lower() not in ("in", "out", "all"):
        client.send(_error(msg, "Failed to mute/unmute stream"))
        return
    client.send(reply(msg, "Success"))
    backend.mute(chan, direction.lower(), state.lower() in ("on", "yes", "true", "1"))


def _play_dtmf(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    """PlayDTMF (app_senddtmf.c manager_play_dtmf): one digit per action;
    `DTMF successfully queued`, or `No such channel` / `No digit specified`."""
    name = msg.get("Channel") or ""
    chan = backend.find_channel(name) if name else None
    if chan is None:
        client.send(_error(msg, "No such channel"))
        return
    digit = msg.get("Digit")
    if not digit:
        client.send(_error(msg, "No digit specified"))
        return
    try:
        duration = int(msg.get("Duration") or "100")
    except ValueError:
        duration = 100
    client.send(reply(msg, "Success", ("Message", "DTMF successfully queued")))
    backend.play_dtmf(chan, digit[0], duration)


def _db_get(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    """DBGet (main/db.c manager_dbget): a list action since Asterisk 13 (`Result will follow`,
    DBGetResponse, DBGetComplete), or `Database entry not found`."""
    family, key = msg.get("Family"), msg.get("Key")
    if not family:
        client.send(_error(msg, "No family specified."))
        return
    if not key:
        client.send(_error(msg, "No key specified."))
        return
    value = backend.astdb.get((family, key))
    if value is None:
        client.send(_error(msg, "Database entry not found"))
        return
    client.send(reply(msg, "Success", ("EventList", "start"), ("Message", "Result will follow")))
    item: Fields = [("Event", "DBGetResponse"), ("Family", family), ("Key", key), ("Val", value)]
    if msg.action_id is not None:
        item.append(("ActionID", msg.action_id))
    client.send(item)
    client.send(frames.list_complete("DBGetComplete", msg.action_id, 1))


def _db_del(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    """DBDel (main/db.c manager_dbdel): `Key deleted successfully`."""
    family, key = msg.get("Family"), msg.get("Key")
    if not family:
        client.send(_error(msg, "No family specified."))
        return
    if not key:
        client.send(_error(msg, "No key specified."))
        return
    if backend.astdb.pop((family, key), None) is None:
        client.send(_error(msg, "Database entry not found"))
        return
    client.send(reply(msg, "Success", ("Message", "Key deleted successfully")))


def _originate(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    if not msg.get("Channel"):
        client.send(_error(msg, "Channel not specified"))
        return
    backend.originate(client, msg)


def _status(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    name = msg.get("Channel")
    if name:
        chan = backend.find_channel(name)
        if chan is None:
            client.send(_error(msg, "No such channel"))
            return
        chans = [chan]
    else:
        chans = backend.list_channels()
    client.send(
        reply(msg, "Success", ("EventList", "start"), ("Message", "Channel status will follow"))
    )
    for chan in chans:
        client.send(frames.status(chan, msg.action_id, now))
    done = frames.list_complete("StatusComplete", msg.action_id, len(chans))
    client.send([*done, ("Items", str(len(chans)))])


def _core_show_channels(
    backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float
) -> None:
    chans = backend.list_channels()
    client.send(reply(msg, "Success", ("EventList", "start"), ("Message", "Channels will follow")))
    for chan in chans:
        client.send(frames.core_show_channel(chan, msg.action_id, now))
    client.send(frames.list_complete("CoreShowChannelsComplete", msg.action_id, len(chans)))


def _events(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    mask = (msg.get("EventMask") or "").strip().lower()
    client.events_on = mask not in ("off", "", "0", "false", "no")
    client.send(reply(msg, "Success", ("Events", "On" if client.events_on else "Off")))


@dataclass(frozen=True, slots=True)
class EventFilter:
    """One `Filter` action's rule: a regex over the event text (`Filter: Event: Hangup`, `!`
    excludes) or an exact event name (`MatchCriteria: action(exclude),name(Newexten)`)."""

    include: bool
    pattern: re.Pattern[str] | None = None
    name: str | None = None

    def matches(self, event_name: str, text: str) -> bool:
        if self.name is not None:
            return event_name.lower() == self.name.lower()
        return self.pattern is not None and self.pattern.search(text) is not None


BAD_FILTER = "Filter did not compile.  Check the syntax of the filter given."
_CRITERION = re.compile(r"(\w+)\(([^)]*)\)")


def _filter(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    """`Filter` with `Operation: Add`: a regex `Filter` (`!` excludes) or `MatchCriteria`
    (`action(include|exclude),name(Event)`), kept per session as Asterisk 20 does."""
    operation = (msg.get("Operation") or "Add").strip().lower()
    if operation != "add":
        client.send(_error(msg, f"Unknown operation '{msg.get('Operation')}'"))
        return
    criteria = msg.get("MatchCriteria")
    if criteria:
        parts = dict((k.lower(), v) for k, v in _CRITERION.findall(criteria))
        name = parts.get("name")
        if not name:
            client.send(_error(msg, BAD_FILTER))
            return
        rule = EventFilter(include=parts.get("action", "include").lower() != "exclude", name=name)
    else:
        expression = msg.get("Filter") or ""
        include = not expression.startswith("!")
        try:
            pattern = re.compile(expression if include else expression[1:])
        except re.error:
            client.send(_error(msg, BAD_FILTER))
            return
        rule = EventFilter(include=include, pattern=pattern)
    client.filters.append(rule)
    client.send(reply(msg, "Success", ("Message", "Success")))


ACTIONS: dict[str, Handler] = {
    "filter": _filter,
    "ping": _ping,
    "setvar": _setvar,
    "getvar": _getvar,
    "redirect": _redirect,
    "hangup": _hangup,
    "status": _status,
    "coreshowchannels": _core_show_channels,
    "events": _events,
    "bridge": _bridge,
    "blindtransfer": _blind_transfer,
    "mixmonitor": _mix_monitor,
    "stopmixmonitor": _mix_monitor,
    "muteaudio": _mute_audio,
    "playdtmf": _play_dtmf,
    "originate": _originate,
    "dbget": _db_get,
    "dbdel": _db_del,
}


def dispatch(backend: AmiBackend, client: AmiClientSession, msg: AmiMessage, now: float) -> None:
    """Answer one action from a logged-in client."""
    action = msg.get("Action")
    if action is None:
        client.send(_error(msg, "Missing action in request"))
        return
    handler = ACTIONS.get(action.lower())
    if handler is None:
        client.send(
            _error(
                msg,
                f"Invalid/unknown command: {action}. "
                "Use Action: ListCommands to show available commands.",
            )
        )
        return
    try:
        handler(backend, client, msg, now)
    except Exception:
        logger.exception("simulated AMI action %s failed", action)
        client.send(_error(msg, "Internal error"))
