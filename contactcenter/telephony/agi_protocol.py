"""The FastAGI wire format: the `agi_*` environment, reply lines and argument quoting. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import parse_qsl

__all__ = [
    "AgiEnvironment",
    "AgiReply",
    "decode_line",
    "parse_env_line",
    "parse_reply",
    "quote",
    "quote_if_needed",
]

_UNKNOWN = frozenset({"", "unknown"})
_NEEDS_QUOTES = re.compile(r'[\s"\\]')
_REPLY = re.compile(r"^(\d{3})[ -]?(.*)$", re.DOTALL)


def decode_line(raw: bytes) -> str:
    """One line without its line end: UTF-8 when valid, else latin-1 (never fails)."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_env_line(line: str) -> tuple[str, str] | None:
    """`agi_key: value` -> (key, value); None if the line is not an environment line."""
    key, sep, value = line.partition(":")
    if not sep or not key.startswith("agi_") or not key[4:] or " " in key:
        return None
    return key, value[1:] if value.startswith(" ") else value


class AgiEnvironment:
    """The `agi_*` variables Asterisk sends when a FastAGI session starts."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw: Mapping[str, str] = MappingProxyType(dict(raw))

    def __repr__(self) -> str:
        return f"AgiEnvironment(script={self.script!r}, uniqueid={self.uniqueid!r})"

    def get(self, name: str) -> str | None:
        """A raw value by its name with or without the `agi_` prefix."""
        return self.raw.get(name if name.startswith("agi_") else "agi_" + name)

    def _known(self, name: str) -> str | None:
        value = self.get(name)
        return None if value is None or value in _UNKNOWN else value

    @property
    def network_script(self) -> str:
        """`agi_network_script` as sent (with the query string), else the path of agi_request."""
        script = self.get("network_script")
        if script is not None:
            return script
        request = self.get("request") or ""
        _, sep, rest = request.partition("://")
        return rest.partition("/")[2] if sep else request

    @property
    def script(self) -> str:
        """The route: the script path without the query string (`outbound`)."""
        return self.network_script.partition("?")[0].strip("/")

    @property
    def query(self) -> dict[str, str]:
        """The query string of the script (`outbound?campaign=7&lead=42`) as a dict."""
        return dict(parse_qsl(self.network_script.partition("?")[2], keep_blank_values=True))

    @property
    def args(self) -> list[str]:
        """`agi_arg_1..N` in order; an empty argument is kept as ""."""
        out: list[str] = []
        n = 1
        while (value := self.raw.get(f"agi_arg_{n}")) is not None:
            out.append(value)
            n += 1
        return out

    @property
    def channel(self) -> str:
        return self.get("channel") or ""

    @property
    def uniqueid(self) -> str:
        return self.get("uniqueid") or ""

    @property
    def callerid(self) -> str | None:
        """The caller's number, None when Asterisk says `unknown` or nothing."""
        return self._known("callerid")

    @property
    def calleridname(self) -> str | None:
        return self._known("calleridname")

    @property
    def dnid(self) -> str | None:
        """The dialed number, None for `unknown` (Local channels)."""
        return self._known("dnid")

    @property
    def extension(self) -> str:
        return self.get("extension") or ""

    @property
    def context(self) -> str:
        return self.get("context") or ""

    @property
    def type(self) -> str:
        return self.get("type") or ""


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One reply: `200 result=1 (queue)`, `200 result=0 endpos=3520`, `510 ...`, `520 ...`."""

    code: int
    result: str
    data: str | None
    endpos: int | None
    raw: str

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def message(self) -> str:
        """The text after the code (`Invalid or unknown command`); for a 520 block, all of it."""
        return self.raw[4:] if len(self.raw) > 4 else ""

    @property
    def result_int(self) -> int:
        """The result as a number (0 when it is empty or not a number)."""
        try:
            return int(self.result)
        except ValueError:
            return 0


def parse_reply(raw: str) -> AgiReply:
    """Parse one reply (a single line, or a whole `520-` ... `520 End` block)."""
    match = _REPLY.match(raw)
    if match is None:
        return AgiReply(code=0, result="", data=None, endpos=None, raw=raw)
    code = int(match.group(1))
    rest = match.group(2)
    if code != 200 or not rest.startswith("result="):
        return AgiReply(code=code, result="", data=None, endpos=None, raw=raw)
    rest = rest[7:]
    result, _, rest = rest.partition(" ")
    data: str | None = None
    rest = rest.lstrip(" ")
    if rest.startswith("("):
        close = rest.rfind(")")
        if close > 0:
            data = rest[1:close]
            rest = rest[close + 1 :].lstrip(" ")
    endpos: int | None = None
    for token in rest.split():
        if token.startswith("endpos="):
            try:
                endpos = int(token[7:])
            except ValueError:
                endpos = None
    return AgiReply(code=code, result=result, data=data, endpos=endpos, raw=raw)


def quote(value: str) -> str:
    """Always in double quotes (`""` for empty), `"` and `\\` escaped, as res_agi parses."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_if_needed(value: str) -> str:
    """Bare when it is one plain word (`queue`, `default,2`); quoted when empty or spaced."""
    if value and _NEEDS_QUOTES.search(value) is None:
        return value
    return quote(value)
