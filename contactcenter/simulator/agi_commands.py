"""The AGI commands the simulated channel answers, with res_agi's reply lines (Asterisk 20).

Each command returns its one reply line (without the newline). Commands that take time (music,
prompts, digit timeouts) end early with `200 result=-1` when the call is interrupted (caller
hang-up, AMI Hangup or Redirect). On a dead channel (after `HANGUP`) only the commands res_agi
marks as dead-safe run; the others answer 511.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from contactcenter.simulator import frames
from contactcenter.simulator.channels import Channel

__all__ = ["AgiHost", "AgiTiming", "CommandRunner", "expand", "split_args"]

R_UNKNOWN = "510 Invalid or unknown command"
R_USAGE = "520 Invalid command syntax.  Proper usage not available."
R_DEAD = "511 Command Not Permitted on a dead channel or intercept routine"


@dataclass(frozen=True)
class AgiTiming:
    """How long media takes. `prompt_s`: a STREAM FILE / SAY / Playback; `timeout_scale`
    multiplies digit timeouts and MusicOnHold durations (1.0 = real time)."""

    prompt_s: float = 0.0
    timeout_scale: float = 1.0
    endpos: int = 3520


class AgiHost(Protocol):
    """The call as the AGI commands see it."""

    channel: Channel
    interrupted: asyncio.Event

    def emit(self, fields: list[tuple[str, str]]) -> None: ...
    def set_variable(self, name: str, value: str) -> None: ...
    def answer(self) -> None: ...
    def hangup_from_agi(self) -> None: ...
    def next_digits(self) -> str | None: ...
    def heard(self, what: str) -> None:
        """The caller heard a prompt (`STREAM FILE name`, `SAY NUMBER n`, `GET DATA name`)."""
        ...


def split_args(line: str) -> list[str]:
    """Split a command line as res_agi's parse_args: whitespace separates, double quotes group
    (and are removed), a backslash escapes the next character."""
    args: list[str] = []
    cur: list[str] = []
    quoted = escaped = started = False
    for ch in line:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = started = True
        elif ch == '"':
            quoted = not quoted
            started = True
        elif ch in " \t" and not quoted:
            if started:
                args.append("".join(cur))
                cur, started = [], False
        else:
            cur.append(ch)
            started = True
    if started:
        args.append("".join(cur))
    return args


_STATE_NAMES = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}


def builtin(chan: Channel, name: str) -> str | None:
    """Dialplan functions and built-in variables the simulator knows; None if not one."""
    key = name.strip()
    upper = key.upper()
    simple = {
        "CALLERID(NUM)": chan.caller_num or "",
        "CALLERID(NAME)": chan.caller_name or "",
        "CHANNEL(STATE)": _STATE_NAMES.get(chan.state, "Unknown"),
        "CHANNEL(UNIQUEID)": chan.uniqueid,
        "CHANNEL(LINKEDID)": chan.linkedid,
        "CHANNEL(NAME)": chan.name,
        "CHANNEL(LANGUAGE)": chan.language,
        "CHANNEL": chan.name,
        "UNIQUEID": chan.uniqueid,
        "EXTEN": chan.exten,
        "CONTEXT": chan.context,
        "PRIORITY": str(chan.priority),
    }
    if upper in simple:
        return simple[upper]
    if upper == "CALLERID(ALL)":
        return f'"{chan.caller_name or ""}" <{chan.caller_num or ""}>'
    return None


def expand(expr: str, chan: Channel) -> str:
    """`${VAR}` and `${FUNC(arg)}` substitution (not nested), as GET FULL VARIABLE does."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        value = builtin(chan, name)
        return value if value is not None else chan.variables.get(name, "")

    return re.sub(r"\$\{([^{}]*)\}", one, expr)


Handler = Callable[["CommandRunner", list[str]], Awaitable[str]]


class CommandRunner:
    """Runs AGI commands against one call."""

    def __init__(self, host: AgiHost, timing: AgiTiming) -> None:
        self._host = host
        self._timing = timing
        self.dead = False

    async def _pause(self, seconds: float | None) -> bool:
        """Wait (None: forever); True if the call was interrupted first."""
        if self.dead or self._host.interrupted.is_set():
            return True
        try:
            await asyncio.wait_for(self._host.interrupted.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def execute(self, line: str) -> str:
        words = split_args(line)
        if not words:
            return R_UNKNOWN
        lowered = [w.lower() for w in words]
        for size in (3, 2, 1):
            entry = COMMANDS.get(tuple(lowered[:size]))
            if entry is not None and len(words) >= size:
                handler, min_args, dead_ok = entry
                args = words[size:]
                if self.dead and not dead_ok:
                    return R_DEAD
                if len(args) < min_args:
                    return R_USAGE
                return await handler(self, args)
        return R_UNKNOWN

    # --- the commands ---------------------------------------------------------------------

    async def answer(self, args: list[str]) -> str:
        self._host.answer()
        return "200 result=0"

    async def channel_status(self, args: list[str]) -> str:
        return f"200 result={self._host.channel.state}"

    async def _prompt(self) -> bool:
        return await self._pause(self._timing.prompt_s)

    async def stream_file(self, args: list[str]) -> str:
        self._host.heard(args[0])
        if await self._prompt():
            return "200 result=-1 endpos=0"
        return f"200 result=0 endpos={self._timing.endpos}"

    async def say(self, args: list[str]) -> str:
        self._host.heard(args[0])
        return "200 result=-1" if await self._prompt() else "200 result=0"

    def _timeout_s(self, raw: str | None, default_ms: int) -> float | None:
        try:
            ms = int(raw) if raw is not None else default_ms
        except ValueError:
            ms = default_ms
        return None if ms < 0 else ms / 1000.0 * self._timing.timeout_scale

    async def get_data(self, args: list[str]) -> str:
        self._host.heard(args[0])
        if await self._prompt():
            return "200 result=-1"
        digits = self._host.next_digits()
        if digits:
            if len(args) > 2 and args[2].isdigit() and int(args[2]) > 0:
                digits = digits[: int(args[2])]
            return f"200 result={digits}"
        if await self._pause(self._timeout_s(args[1] if len(args) > 1 else None, 6000)):
            return "200 result=-1"
        return "200 result= (timeout)"

    async def wait_for_digit(self, args: list[str]) -> str:
        digits = self._host.next_digits()
        if digits:
            return f"200 result={ord(digits[0])}"
        if await self._pause(self._timeout_s(args[0], -1)):
            return "200 result=-1"
        return "200 result=0"

    async def set_variable(self, args: list[str]) -> str:
        self._host.set_variable(args[0], args[1])
        return "200 result=1"

    async def get_variable(self, args: list[str]) -> str:
        chan = self._host.channel
        value = builtin(chan, args[0])
        if value is None:
            value = chan.variables.get(args[0])
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    async def get_full_variable(self, args: list[str]) -> str:
        return f"200 result=1 ({expand(args[0], self._host.channel)})"

    async def verbose(self, args: list[str]) -> str:
        return "200 result=1"

    async def noop(self, args: list[str]) -> str:
        return "200 result=0"

    async def hangup(self, args: list[str]) -> str:
        self._host.hangup_from_agi()
        return "200 result=1"

    async def exec_app(self, args: list[str]) -> str:
        app = args[0].lower()
        data = " ".join(args[1:])
        chan = self._host.channel
        entry = APPS.get(app)
        if entry is None:
            return "200 result=-2"
        if self.dead:
            return "200 result=-1"
        saved = chan.application, chan.app_data
        chan.application, chan.app_data = entry[0], data
        try:
            return await entry[1](self, data)
        finally:
            chan.application, chan.app_data = saved

    async def _app_musiconhold(self, data: str) -> str:
        music_class, _, duration = data.partition(",")
        chan = self._host.channel
        self._host.emit(frames.music_on_hold_start(chan, music_class or "default"))
        try:
            seconds = float(duration) * self._timing.timeout_scale if duration else None
        except ValueError:
            seconds = None
        interrupted = await self._pause(seconds)
        self._host.emit(frames.music_on_hold_stop(chan))
        return "200 result=-1" if interrupted else "200 result=0"

    async def _app_playback(self, data: str) -> str:
        return "200 result=-1" if await self._prompt() else "200 result=0"

    async def _app_wait(self, data: str) -> str:
        try:
            seconds = float(data or "0") * self._timing.timeout_scale
        except ValueError:
            seconds = 0.0
        return "200 result=-1" if await self._pause(seconds) else "200 result=0"

    async def _app_answer(self, data: str) -> str:
        self._host.answer()
        return "200 result=0"

    async def _app_noop(self, data: str) -> str:
        return "200 result=0"

    async def _app_set(self, data: str) -> str:
        name, _, value = data.partition("=")
        self._host.set_variable(name, value)
        return "200 result=0"

    async def _app_hangup(self, data: str) -> str:
        self._host.hangup_from_agi()
        return "200 result=-1"


AppHandler = Callable[[CommandRunner, str], Awaitable[str]]

# lower-case name -> (name as Asterisk shows it, handler)
APPS: dict[str, tuple[str, AppHandler]] = {
    "musiconhold": ("MusicOnHold", CommandRunner._app_musiconhold),
    "playback": ("Playback", CommandRunner._app_playback),
    "wait": ("Wait", CommandRunner._app_wait),
    "answer": ("Answer", CommandRunner._app_answer),
    "noop": ("NoOp", CommandRunner._app_noop),
    "set": ("Set", CommandRunner._app_set),
    "hangup": ("Hangup", CommandRunner._app_hangup),
}

# (words) -> (handler, minimum arguments after the words, allowed on a dead channel)
COMMANDS: dict[tuple[str, ...], tuple[Handler, int, bool]] = {
    ("answer",): (CommandRunner.answer, 0, False),
    ("channel", "status"): (CommandRunner.channel_status, 0, False),
    ("stream", "file"): (CommandRunner.stream_file, 2, False),
    ("get", "data"): (CommandRunner.get_data, 1, False),
    ("wait", "for", "digit"): (CommandRunner.wait_for_digit, 1, False),
    ("say", "digits"): (CommandRunner.say, 2, False),
    ("say", "number"): (CommandRunner.say, 2, False),
    ("set", "variable"): (CommandRunner.set_variable, 2, True),
    ("get", "variable"): (CommandRunner.get_variable, 1, True),
    ("get", "full", "variable"): (CommandRunner.get_full_variable, 1, True),
    ("verbose",): (CommandRunner.verbose, 1, True),
    ("noop",): (CommandRunner.noop, 0, True),
    ("hangup",): (CommandRunner.hangup, 0, False),
    ("exec",): (CommandRunner.exec_app, 1, True),
}
