# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled token estimation and streaming counter (twin of ``_tokens_py``).

``estimate_tokens`` reproduces new-api's heuristic (service/token_estimator.go)
bit for bit with the pure twin; tests/_fast/test_tokens.py checks every code point.
"""

cimport cython
from cpython.unicode cimport (
    Py_UNICODE_ISALPHA,
    Py_UNICODE_ISNUMERIC,
    Py_UNICODE_ISSPACE,
    PyUnicode_DATA,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
    PyUnicode_READ,
)
from libc.math cimport ceil

from relay._fast._tokens_py import _RAW_WEIGHTS

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

# Same class numbering as the pure twin; LATIN/NUMBER double as the run state.
cdef enum:
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
    _NCLASS = 11
    _TABLE_SIZE = 0x800

# Weights as plain C doubles indexed [family][class]: the inner loop then does
# one array load per character instead of a tuple lookup and float unboxing.
# The values come from the pure twin's table, so both accumulate identical doubles.
cdef double _W[3][_NCLASS]
# Class of each code point below _TABLE_SIZE, precomputed once: ASCII and the
# common alphabets then skip the Unicode database lookups entirely.
cdef unsigned char _TABLE[_TABLE_SIZE]


cdef inline bint _is_cjk(Py_UCS4 c) noexcept:
    if c < 0x2E80:  # fast reject: everything below is never CJK
        return False
    if c <= 0xFAD9:
        return (
            (0x4E00 <= c <= 0x9FFF)
            or (0x3040 <= c <= 0x30FF)
            or (0xAC00 <= c <= 0xD7A3)
            or (0x3400 <= c <= 0x4DBF)
            or (0x2E80 <= c <= 0x2E99)
            or (0x2E9B <= c <= 0x2EF3)
            or (0x2F00 <= c <= 0x2FD5)
            or c == 0x3005
            or c == 0x3007
            or (0x3021 <= c <= 0x3029)
            or (0x3038 <= c <= 0x303B)
            or (0xF900 <= c <= 0xFA6D)
            or (0xFA70 <= c <= 0xFAD9)
        )
    return (
        (0x20000 <= c <= 0x2A6DF)
        or (0x2A700 <= c <= 0x2EBE0)
        or (0x2F800 <= c <= 0x2FA1D)
        or (0x30000 <= c <= 0x3134A)
        or (0x31350 <= c <= 0x323AF)
    )


cdef inline bint _is_math(Py_UCS4 c) noexcept:
    # The brief's explicit character list, folded into ranges: the ones outside
    # U+2200..U+22FF are Latin-1 signs, primes and super/subscripts.
    return (
        (0x2200 <= c <= 0x22FF)
        or (0x2A00 <= c <= 0x2AFF)
        or (0x1D400 <= c <= 0x1D7FF)
        or c == 0xAC
        or (0xB0 <= c <= 0xB3)
        or c == 0xB9
        or c == 0xD7
        or c == 0xF7
        or (0x2032 <= c <= 0x2034)
        or c == 0x2070
        or (0x2074 <= c <= 0x208E)
    )


cdef int _classify(Py_UCS4 c) noexcept:
    # Py_UNICODE_IS* are exactly what str.isspace/isnumeric/isalpha use.
    if Py_UNICODE_ISSPACE(c):
        return _NEWLINE if (c == 10 or c == 9) else _SPACE
    if _is_cjk(c):
        return _CJK
    if (0x1F300 <= c <= 0x1F9FF) or (0x2600 <= c <= 0x27BF) or (0x1FA00 <= c <= 0x1FAFF):
        return _EMOJI
    if Py_UNICODE_ISNUMERIC(c):
        return _NUMBER
    if Py_UNICODE_ISALPHA(c):
        return _LATIN
    if _is_math(c):
        return _MATH
    if c == 0x40:  # "@"
        return _AT
    if c == 0x2F or c == 0x3A or c == 0x3F or c == 0x26 or c == 0x3D or c == 0x3B \
            or c == 0x23 or c == 0x25:  # "/:?&=;#%"
        return _URL
    return _SYMBOL


cdef void _init_tables():
    cdef int c, f, k
    for f in range(3):
        word, number, cjk, symbol, math_, url, at, emoji, newline, space = _RAW_WEIGHTS[f]
        by_class = (0.0, word, number, newline, space, cjk, emoji, math_, at, url, symbol)
        for k in range(_NCLASS):
            _W[f][k] = by_class[k]
    for c in range(_TABLE_SIZE):
        _TABLE[c] = <unsigned char>_classify(<Py_UCS4>c)


_init_tables()


def _char_class(Py_UCS4 cp):
    """Class of code point ``cp`` as ``estimate_tokens`` sees it (test hook)."""
    return _TABLE[cp] if cp < _TABLE_SIZE else _classify(cp)


def family_for_model(str model not None):
    """Tokenizer family for a model name."""
    name = model.lower()
    if "gemini" in name:
        return FAMILY_GEMINI
    if "claude" in name:
        return FAMILY_CLAUDE
    return FAMILY_OPENAI


def estimate_tokens(text, family):
    """new-api's token estimate of ``text`` for a tokenizer family."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    cdef const double* w
    # Python-level == like the pure twin, so odd family objects map the same way.
    if family == FAMILY_CLAUDE:
        w = _W[1]
    elif family == FAMILY_GEMINI:
        w = _W[2]
    else:
        w = _W[0]
    # Read code points straight from the str's compact storage: no per-character
    # Python objects, no iterator protocol.
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    cdef Py_ssize_t i
    cdef Py_UCS4 c
    cdef int k
    cdef int current = _NONE
    # Same additions in the same order as the pure twin; -O3 without -ffast-math
    # keeps IEEE semantics (no reassociation), so the sums are bit-identical.
    cdef double count = 0.0
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        k = _TABLE[c] if c < _TABLE_SIZE else _classify(c)
        if k <= _NUMBER:
            if k != current:
                count += w[k]
                current = k
        else:
            current = _NONE
            count += w[k]
    return <long long>ceil(count)


cdef Py_ssize_t _last_space(str text) noexcept:
    # Backwards C scan: stops at the first whitespace from the end, so a typical
    # streamed delta costs a couple of reads.
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef Py_ssize_t i = PyUnicode_GET_LENGTH(text) - 1
    while i >= 0:
        if Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)):
            return i
        i -= 1
    return -1


@cython.final
cdef class StreamTokenCounter:
    """Counts tokens of a streamed text while keeping only a bounded tail buffered."""

    cdef object _count
    cdef Py_ssize_t _seg
    cdef list _parts      # joined lazily: feeding stays O(len(text))
    cdef Py_ssize_t _len
    cdef Py_ssize_t _last_ws  # index of the last whitespace in the buffer, -1 if none
    cdef object _total    # a Python int: ``count`` may return anything int-like

    def __init__(self, count, Py_ssize_t segment_chars=4096):
        if segment_chars < 1:
            raise ValueError("segment_chars must be >= 1")
        self._count = count
        self._seg = segment_chars
        self._parts = []
        self._len = 0
        self._last_ws = -1
        self._total = 0

    def feed(self, text):
        """Append streamed text; count and drop complete segments."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
        if n == 0:
            return
        cdef Py_ssize_t pos = _last_space(text)
        if pos >= 0:
            self._last_ws = self._len + pos
        self._parts.append(text)
        self._len += n
        if self._len > self._seg:
            self._cut()

    cdef _cut(self):
        cdef Py_ssize_t seg = self._seg
        cdef Py_ssize_t cut, last_ws
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

    def total(self):
        """Tokens counted so far plus the count of the buffered tail."""
        if not self._len:
            return self._total
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._total + self._count(self._parts[0])

    @property
    def buffered_chars(self):
        """Number of characters currently buffered (not yet in a counted segment)."""
        return self._len
