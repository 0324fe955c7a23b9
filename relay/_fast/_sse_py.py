"""Pure-Python incremental Server-Sent-Events decoder (twin of ``_sse_c``).

Sans-I/O: bytes go in through :meth:`SSEDecoder.feed`, finished events come out.
Parsing follows the WHATWG rules, applied to bytes instead of decoded text.
"""

from __future__ import annotations

from typing import final

from relay._fast._sse_errors import SSELineTooLong

__all__ = ["SSEDecoder", "SSEEvent", "SSELineTooLong"]

_BOM = b"\xef\xbb\xbf"
_DEFAULT_MAX_LINE = 128 * 1024 * 1024
# Retry values with more significant digits than this are ignored rather than
# converted: they are nonsense as milliseconds and int() of a huge digit string
# would be slow (or raise under the int max-str-digits limit).
_MAX_RETRY_DIGITS = 18


@final
class SSEEvent:
    """One dispatched event; immutable."""

    __slots__ = ("_data", "_event", "_id", "_retry")

    def __init__(
        self,
        data: bytes,
        event: bytes | None = None,
        id: bytes | None = None,
        retry: int | None = None,
    ) -> None:
        self._data = data
        self._event = event
        self._id = id
        self._retry = retry

    @property
    def data(self) -> bytes:
        """The ``data`` field lines joined with ``b"\\n"``."""
        return self._data

    @property
    def event(self) -> bytes | None:
        """The ``event`` field, or None if the event had none."""
        return self._event

    @property
    def id(self) -> bytes | None:
        """The last event id seen on the stream so far, or None."""
        return self._id

    @property
    def retry(self) -> int | None:
        """The ``retry`` field (milliseconds), or None."""
        return self._retry

    def __eq__(self, other: object, /) -> bool:
        if not isinstance(other, SSEEvent):
            return NotImplemented
        return (
            self._data == other._data
            and self._event == other._event
            and self._id == other._id
            and self._retry == other._retry
        )

    def __hash__(self) -> int:
        return hash((self._data, self._event, self._id, self._retry))

    def __repr__(self) -> str:
        return (
            f"SSEEvent(data={self._data!r}, event={self._event!r}, "
            f"id={self._id!r}, retry={self._retry!r})"
        )


def _parse_retry(value: bytes) -> int | None:
    """Return the retry value if ``value`` is a non-empty run of ASCII digits."""
    if not value or not value.isdigit():
        return None
    significant = value.lstrip(b"0")
    if len(significant) > _MAX_RETRY_DIGITS:
        return None
    return int(significant) if significant else 0


@final
class SSEDecoder:
    """Incremental SSE decoder; after :class:`SSELineTooLong` it must be discarded."""

    __slots__ = (
        "_buf",
        "_data",
        "_event",
        "_head",
        "_last_id",
        "_max_line",
        "_retry",
        "_skip_lf",
        "_started",
    )

    def __init__(self, max_line: int = _DEFAULT_MAX_LINE) -> None:
        if max_line < 0:
            raise ValueError("max_line must be >= 0")
        self._max_line = max_line
        self._buf = bytearray()  # partial line: never contains b"\r" or b"\n"
        self._data: list[bytes] = []
        self._event: bytes | None = None
        self._retry: int | None = None
        self._last_id: bytes | None = None
        self._skip_lf = False  # the previous chunk ended in b"\r"
        self._started = False  # the BOM check at stream start is done
        self._head = b""  # bytes held back while they may still be a split BOM

    def _strip_bom(self, data: bytes) -> bytes:
        head = self._head + data
        if len(head) < 3 and _BOM.startswith(head):
            self._head = head
            return b""
        self._started = True
        self._head = b""
        return head[3:] if head.startswith(_BOM) else head

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Decode one chunk; return the events it completed, in order."""
        if not isinstance(data, bytes):
            data = bytes(data)
        if not self._started:
            data = self._strip_bom(data)
        if not data:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
                if not data:
                    return []
        buf = self._buf
        if b"\n" not in data and b"\r" not in data:
            if len(buf) + len(data) > self._max_line:
                raise SSELineTooLong(f"SSE line longer than {self._max_line} bytes")
            buf += data
            return []
        if buf:
            buf += data
            whole = bytes(buf)
            buf.clear()
        else:
            whole = data
        lines = whole.splitlines()
        last = whole[-1]
        tail = b""
        if last == 0x0D:
            self._skip_lf = True
        elif last != 0x0A:
            tail = lines.pop()
        events = self._process(lines)
        if len(tail) > self._max_line:
            raise SSELineTooLong(f"SSE line longer than {self._max_line} bytes")
        buf += tail
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: finish a partial last line and dispatch a pending event."""
        lines: list[bytes] = []
        if not self._started:
            self._started = True
            if self._head:
                lines.append(self._head)
                self._head = b""
        if self._buf:
            lines.append(bytes(self._buf))
            self._buf.clear()
        self._skip_lf = False
        lines.append(b"")
        return self._process(lines)

    def _process(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        max_line = self._max_line
        data = self._data
        event = self._event
        retry = self._retry
        for line in lines:
            if len(line) > max_line:
                raise SSELineTooLong(f"SSE line longer than {max_line} bytes")
            if not line:
                if data:
                    joined = data[0] if len(data) == 1 else b"\n".join(data)
                    events.append(SSEEvent(joined, event, self._last_id, retry))
                    data = []
                event = None
                retry = None
                continue
            if line[:5] == b"data:":  # the hot case, before the generic split
                value = line[5:]
                if value[:1] == b" ":
                    value = value[1:]
                data.append(value)
                continue
            if line[0] == 0x3A:  # ":" comment
                continue
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event = value
            elif name == b"id":
                if b"\x00" not in value:
                    self._last_id = value
            elif name == b"retry":
                parsed = _parse_retry(value)
                if parsed is not None:
                    retry = parsed
        self._data = data
        self._event = event
        self._retry = retry
        return events
