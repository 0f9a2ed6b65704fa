"""The AMI wire format: messages, encoding and an incremental parser.

Pure (no I/O, no asyncio) so both our AMI client and the PBX simulator's AMI server use it.
An AMI stream is an optional greeting line (`Asterisk Call Manager/9.0.0`), then blocks of
`Key: Value` lines ended by an empty line. Asterisk writes CRLF; it accepts LF-only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping

logger = logging.getLogger(__name__)

DEFAULT_MAX_LINE = 64 * 1024
# Bigger than any real message (a long `Command` output is a few hundred KiB); a frame that never
# ends must not grow in memory without bound.
DEFAULT_MAX_FRAME = 8 * 1024 * 1024


def _decode(raw: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else latin-1 (which never fails and loses nothing)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class AmiMessage(Mapping[str, str]):
    """One AMI message: ordered fields with case-insensitive lookup.

    Lookup by key returns the first value of that key; `items_list()` keeps every field in order,
    duplicates included (several `Output:` or `ChanVariable:` lines), and `get_all` returns all
    values of one key.
    """

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)
        index: dict[str, tuple[str, str]] = {}
        for key, value in self._items:
            index.setdefault(key.lower(), (key, value))
        self._index = index

    def __getitem__(self, key: str) -> str:
        return self._index[key.lower()][1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._index.values())

    def __len__(self) -> int:
        return len(self._index)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AmiMessage):
            return self._items == other._items
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AmiMessage({self._items!r})"

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        found = self._index.get(key.lower())
        return default if found is None else found[1]

    def get_all(self, key: str) -> list[str]:
        """Every value of `key`, in order (case-insensitive)."""
        lowered = key.lower()
        return [value for k, value in self._items if k.lower() == lowered]

    def items_list(self) -> list[tuple[str, str]]:
        """All fields in wire order, duplicate keys preserved."""
        return list(self._items)

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    @property
    def is_event(self) -> bool:
        return "event" in self._index

    @property
    def is_response(self) -> bool:
        """A response to an action. Events such as OriginateResponse carry a `Response` field
        too; a message with an `Event` field is an event, never a response."""
        return "response" in self._index and "event" not in self._index

    @property
    def name(self) -> str:
        """The Event name, else the Response value, else the Action name, else ""."""
        for key in ("event", "response", "action"):
            found = self._index.get(key)
            if found is not None:
                return found[1]
        return ""


def _clean(text: str) -> str:
    if "\r" in text or "\n" in text:
        return text.replace("\r", " ").replace("\n", " ")
    return text


def encode_message(fields: Iterable[tuple[str, str]]) -> bytes:
    """`Key: Value\\r\\n` lines and the closing empty line, UTF-8 encoded.

    CR and LF inside a key or value are replaced by spaces so a value can never end the message
    early or inject another field.
    """
    parts = [f"{_clean(key)}: {_clean(value)}\r\n" for key, value in fields]
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


class AmiParser:
    """Incremental AMI parser: feed it any bytes, get the complete messages back.

    Never raises. Lines without a colon (other than the greeting) and lines longer than
    `max_line` are skipped, counted in `.skipped` and logged. A message whose lines add up to
    more than `max_frame` bytes is dropped whole (up to its empty line), counted and logged once.
    """

    def __init__(
        self, max_line: int = DEFAULT_MAX_LINE, max_frame: int = DEFAULT_MAX_FRAME
    ) -> None:
        self.max_line = max_line
        self.max_frame = max_frame
        self._frame_bytes = 0
        self._dropping_frame = False
        self.greeting: str | None = None
        self.skipped = 0
        self._buffer = b""
        self._fields: list[tuple[str, str]] = []
        self._first_line = True
        self._discarding = False

    def feed(self, data: bytes) -> list[AmiMessage]:
        """Parse `data` (any part of the stream); return the messages it completed."""
        out: list[AmiMessage] = []
        if not data:
            return out
        buffer = self._buffer + data if self._buffer else data
        lines = buffer.split(b"\n")
        rest = lines.pop()
        for raw in lines:
            if self._discarding:
                self._discarding = False
                continue
            if len(raw) > self.max_line:
                self._skip("an oversized line (%d bytes)", len(raw))
                continue
            self._line(raw[:-1] if raw.endswith(b"\r") else raw, out)
        if len(rest) > self.max_line:
            if not self._discarding:
                self._skip("an oversized line (more than %d bytes)", self.max_line)
                self._discarding = True
            rest = b""
        self._buffer = rest
        return out

    def _skip(self, what: str, arg: object) -> None:
        self.skipped += 1
        logger.warning("AMI parser skipped " + what, arg)

    def _line(self, raw: bytes, out: list[AmiMessage]) -> None:
        if not raw:
            if self._fields:
                out.append(AmiMessage(self._fields))
                self._fields = []
            self._frame_bytes = 0
            self._dropping_frame = False
            return
        self._frame_bytes += len(raw)
        if self._frame_bytes > self.max_frame:
            if not self._dropping_frame:
                self._dropping_frame = True
                self._fields = []
                self._skip("a frame over %d bytes (dropped up to its end)", self.max_frame)
            return
        line = _decode(raw)
        first, self._first_line = self._first_line, False
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            if first:
                self.greeting = line.strip()
                return
            self.skipped += 1
            logger.warning("AMI parser skipped a line without a key: %.80r", line)
            return
        self._fields.append((key.strip(), value.lstrip(" ")))
