"""Pure-Python token estimation and streaming counter (twin of ``_tokens_c``).

``estimate_tokens`` reproduces new-api's heuristic (service/token_estimator.go).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from typing import final

__all__ = [
    "FAMILY_CLAUDE",
    "FAMILY_GEMINI",
    "FAMILY_OPENAI",
    "StreamTokenCounter",
    "estimate_tokens",
    "family_for_model",
]

FAMILY_OPENAI = 0
FAMILY_CLAUDE = 1
FAMILY_GEMINI = 2

# Character classes.  LATIN and NUMBER double as the run state ("current").
_NONE = 0
_LATIN = 1
_NUMBER = 2
_NEWLINE = 3
_SPACE = 4
_CJK = 5
_EMOJI = 6
_MATH = 7
_AT = 8
_URL = 9
_SYMBOL = 10

# Weights per family in brief order:
# Word, Number, CJK, Symbol, MathSymbol, URLDelim, AtSign, Emoji, Newline, Space
_RAW_WEIGHTS = {
    FAMILY_GEMINI: (1.15, 2.8, 0.68, 0.38, 1.05, 1.2, 2.5, 1.08, 1.15, 0.2),
    FAMILY_CLAUDE: (1.13, 1.63, 1.21, 0.4, 4.52, 1.26, 2.82, 2.6, 0.89, 0.39),
    FAMILY_OPENAI: (1.02, 1.55, 0.85, 0.4, 2.68, 1.0, 2.0, 2.12, 0.5, 0.42),
}


def _by_class(w: tuple[float, ...]) -> tuple[float, ...]:
    word, number, cjk, symbol, math_, url, at, emoji, newline, space = w
    return (0.0, word, number, newline, space, cjk, emoji, math_, at, url, symbol)


_WEIGHTS = {family: _by_class(w) for family, w in _RAW_WEIGHTS.items()}

_CJK_RANGES = (
    (0x2E80, 0x2E99),
    (0x2E9B, 0x2EF3),
    (0x2F00, 0x2FD5),
    (0x3005, 0x3005),
    (0x3007, 0x3007),
    (0x3021, 0x3029),
    (0x3038, 0x303B),
    (0x3040, 0x30FF),  # Japanese kana
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7A3),  # Hangul syllables
    (0xF900, 0xFA6D),
    (0xFA70, 0xFAD9),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2EBE0),
    (0x2F800, 0x2FA1D),
    (0x30000, 0x3134A),
    (0x31350, 0x323AF),
)
_EMOJI_RANGES = ((0x2600, 0x26FF), (0x2700, 0x27BF), (0x1F300, 0x1F9FF), (0x1FA00, 0x1FAFF))
_MATH_RANGES = ((0x2200, 0x22FF), (0x2A00, 0x2AFF), (0x1D400, 0x1D7FF))
_MATH_CHARS = frozenset("∑∫∂√∞≤≥≠≈±×÷∈∉∋∌⊂⊃⊆⊇∪∩∧∨¬∀∃∄∅∆∇∝∟∠∡∢°′″‴⁺⁻⁼⁽⁾ⁿ₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎²³¹⁴⁵⁶⁷⁸⁹⁰")
_URL_CHARS = frozenset("/:?&=;#%")


def _range_index(
    groups: tuple[tuple[int, tuple[tuple[int, int], ...]], ...],
) -> tuple[list[int], list[int]]:
    """Sorted range starts and (end, class) for one bisect per lookup; ranges are disjoint."""
    flat = sorted((lo, hi, kind) for kind, ranges in groups for lo, hi in ranges)
    return [lo for lo, _, _ in flat], [hi << 4 | kind for _, hi, kind in flat]


# CJK and emoji are tested before letters/numbers, math ranges after: two indexes.
_EARLY = _range_index(((_CJK, _CJK_RANGES), (_EMOJI, _EMOJI_RANGES)))
_LATE = _range_index(((_MATH, _MATH_RANGES),))


def _in_ranges(cp: int, index: tuple[list[int], list[int]]) -> int:
    """Class of the range holding ``cp``, or _NONE."""
    starts, ends = index
    i = bisect_right(starts, cp) - 1
    if i >= 0 and cp <= ends[i] >> 4:
        return ends[i] & 0xF
    return _NONE


def _classify(ch: str) -> int:
    """Class of one character, following the heuristic's step order."""
    if ch.isspace():
        return _NEWLINE if ch in "\n\t" else _SPACE
    cp = ord(ch)
    kind = _in_ranges(cp, _EARLY)
    if kind:
        return kind
    if ch.isnumeric():
        return _NUMBER
    if ch.isalpha():
        return _LATIN
    if ch in _MATH_CHARS or _in_ranges(cp, _LATE):
        return _MATH
    if ch == "@":
        return _AT
    if ch in _URL_CHARS:
        return _URL
    return _SYMBOL


# Precomputed classes for the first code points (ASCII, Latin, Greek, Cyrillic...):
# the per-character function calls dominate the pure twin otherwise.
_TABLE_SIZE = 0x800
_TABLE = tuple(_classify(chr(cp)) for cp in range(_TABLE_SIZE))


def _char_class(cp: int) -> int:
    """Class of code point ``cp`` as ``estimate_tokens`` sees it (test hook)."""
    return _TABLE[cp] if cp < _TABLE_SIZE else _classify(chr(cp))


def family_for_model(model: str) -> int:
    """Tokenizer family for a model name."""
    name = model.lower()
    if "gemini" in name:
        return FAMILY_GEMINI
    if "claude" in name:
        return FAMILY_CLAUDE
    return FAMILY_OPENAI


def _weights(family: int) -> tuple[float, ...]:
    if family == FAMILY_CLAUDE:
        return _WEIGHTS[FAMILY_CLAUDE]
    if family == FAMILY_GEMINI:
        return _WEIGHTS[FAMILY_GEMINI]
    return _WEIGHTS[FAMILY_OPENAI]


def estimate_tokens(text: str, family: int) -> int:
    """new-api's token estimate of ``text`` for a tokenizer family."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    weights = _weights(family)
    table = _TABLE
    size = _TABLE_SIZE
    count = 0.0
    current = _NONE
    for ch in text:
        cp = ord(ch)
        kind = table[cp] if cp < size else _classify(ch)
        if kind <= _NUMBER:  # letter or number: weight only at the start of a run
            if kind != current:
                count += weights[kind]
                current = kind
        else:
            current = _NONE
            count += weights[kind]
    return math.ceil(count)


def _last_space(text: str) -> int:
    """Index of the last whitespace character in ``text``, or -1."""
    for i in range(len(text) - 1, -1, -1):
        if text[i].isspace():
            return i
    return -1


@final
class StreamTokenCounter:
    """Counts tokens of a streamed text while keeping only a bounded tail buffered."""

    __slots__ = ("_count", "_last_ws", "_len", "_parts", "_seg", "_total")

    def __init__(self, count: Callable[[str], int], segment_chars: int = 4096) -> None:
        if segment_chars < 1:
            raise ValueError("segment_chars must be >= 1")
        self._count = count
        self._seg = segment_chars
        self._parts: list[str] = []  # joined lazily: feeding stays O(len(text))
        self._len = 0
        self._last_ws = -1  # index of the last whitespace in the buffer, -1 if none
        self._total = 0

    def feed(self, text: str) -> None:
        """Append streamed text; count and drop complete segments."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        if not text:
            return
        pos = _last_space(text)
        if pos >= 0:
            self._last_ws = self._len + pos
        self._parts.append(text)
        self._len += len(text)
        if self._len > self._seg:
            self._cut()

    def _cut(self) -> None:
        seg = self._seg
        while self._len > seg:
            if self._last_ws > 0:
                cut = self._last_ws  # the whitespace starts the kept tail
                last_ws = 0
            elif self._len > 2 * seg:
                cut = seg  # no usable whitespace: cut anyway to bound memory
                last_ws = -1
            else:
                return
            buf = self._parts[0] if len(self._parts) == 1 else "".join(self._parts)
            counted = self._count(buf[:cut])  # before any state change, in case it raises
            self._parts = [buf[cut:]]
            self._len -= cut
            self._last_ws = last_ws
            self._total += counted

    def total(self) -> int:
        """Tokens counted so far plus the count of the buffered tail."""
        if not self._len:
            return self._total
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._total + self._count(self._parts[0])

    @property
    def buffered_chars(self) -> int:
        """Number of characters currently buffered (not yet in a counted segment)."""
        return self._len
