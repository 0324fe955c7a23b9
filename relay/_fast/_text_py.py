"""Pure-Python splicing of plain text events between byte templates (twin of ``_text_c``).

A stream's text events differ only in their text: each is ``prefix + "<text>" + suffix`` (or
``prefix + "<text>" + suffix + <object> + hole_tail`` when a usage object changes in every
event). A run of them is rewritten to the client's frames ``head [+ <seq> + mid] + "<text>" +
tail`` without a JSON parse, as long as each text is a JSON string without escapes (then its
bytes are what orjson writes for it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from relay._fast.sse import SSEEvent

__all__ = ["MAX_DEPTH", "splice_texts", "value_end"]

_PLAIN = re.compile(rb'"[^"\\\x00-\x1f]+"')
_NAME = re.compile(rb'"[A-Za-z0-9_]*"')
_NUMBER = re.compile(rb"0|[1-9][0-9]{0,17}")
MAX_DEPTH = 16


def value_end(data: bytes, i: int, end: int, depth: int = 0) -> int:
    """End of the simple JSON value at data[i:end], or -1.

    Simple: objects, arrays, strings of ASCII letters, digits and "_", integers of at most
    18 digits, no whitespace, nested at most MAX_DEPTH deep (a usage object, say).
    """
    if i >= end or depth > MAX_DEPTH:
        return -1
    c = data[i]
    if c == 0x7B or c == 0x5B:  # { or [
        close = 0x7D if c == 0x7B else 0x5D
        i += 1
        if i < end and data[i] == close:
            return i + 1
        while True:
            if c == 0x7B:
                m = _NAME.match(data, i, end)
                if m is None or m.end() >= end or data[m.end()] != 0x3A:  # ':'
                    return -1
                i = m.end() + 1
            i = value_end(data, i, end, depth + 1)
            if i < 0 or i >= end:
                return -1
            if data[i] == close:
                return i + 1
            if data[i] != 0x2C:  # ','
                return -1
            i += 1
    if c == 0x22:
        m = _NAME.match(data, i, end)
        return -1 if m is None else m.end()
    m = _NUMBER.match(data, i, end)
    if m is None or (m.end() < end and 0x30 <= data[m.end()] <= 0x39):  # 01, a 19th digit
        return -1
    return m.end()


def splice_texts(
    events: Sequence[SSEEvent],
    start: int,
    prefix: bytes,
    suffix: bytes,
    hole_tail: bytes | None,
    head: bytes,
    seq: int,
    mid: bytes,
    tail: bytes,
    sink: Callable[[str], None],
    texts: list[str] | None,
) -> tuple[bytes, int]:
    """Frames for events[start:] up to the first that is not a plain text event, and its index.

    A plain text event is prefix + string + suffix, or with a `hole_tail`, prefix + string +
    suffix + a simple JSON object (see value_end) + hole_tail. Each text goes to `sink` (and
    onto `texts` unless None); frames number from `seq` on, or carry no number when `seq` is
    negative (`mid` is then unused).
    """
    lo, hi = len(prefix), len(suffix)
    out: list[bytes] = []
    i, n = start, len(events)
    while i < n:
        data = events[i].data
        if not data.startswith(prefix):
            break
        if hole_tail is None:
            end = len(data) - hi
            if end - lo < 3 or not data.endswith(suffix):
                break
        else:
            end = data.find(b'"', lo + 1) + 1
            hole = end + hi
            stop = len(data) - len(hole_tail)
            if end - lo < 3 or hole >= stop or data[end:hole] != suffix:
                break
            if data[hole] != 0x7B or value_end(data, hole, stop) != stop:
                break
            if not data.endswith(hole_tail):
                break
        if _PLAIN.fullmatch(data, lo, end) is None:
            break
        try:
            text = data[lo + 1 : end - 1].decode()
        except UnicodeDecodeError:
            break
        sink(text)
        if texts is not None:
            texts.append(text)
        if seq >= 0:
            out += (head, b"%d" % seq, mid, data[lo:end], tail)
            seq += 1
        else:
            out += (head, data[lo:end], tail)
        i += 1
    return b"".join(out), i
