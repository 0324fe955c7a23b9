# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled splicing of plain text events between byte templates (twin of ``_text_py``)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdio cimport snprintf
from libc.string cimport memchr, memcmp, memcpy

__all__ = ["MAX_DEPTH", "splice_texts", "value_end"]

MAX_DEPTH = 16
DEF _MAX_DEPTH = 16


cdef inline bint _plain(const unsigned char* p, Py_ssize_t lo, Py_ssize_t end) noexcept:
    """p[lo:end] is a JSON string of at least one character and without escapes."""
    cdef Py_ssize_t k
    cdef unsigned char c
    if p[lo] != 34 or p[end - 1] != 34:
        return False
    for k in range(lo + 1, end - 1):
        c = p[k]
        if c == 34 or c == 92 or c < 32:
            return False
    return True


cdef inline bint _name_char(unsigned char c) noexcept:
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95


cdef Py_ssize_t _name_end(const unsigned char* p, Py_ssize_t i, Py_ssize_t end) noexcept:
    if i >= end or p[i] != 34:
        return -1
    i += 1
    while i < end and _name_char(p[i]):
        i += 1
    return i + 1 if i < end and p[i] == 34 else -1


cdef Py_ssize_t _value_end(
    const unsigned char* p, Py_ssize_t i, Py_ssize_t end, int depth
) noexcept:
    cdef unsigned char c, close
    cdef Py_ssize_t first
    if i >= end or depth > _MAX_DEPTH:
        return -1
    c = p[i]
    if c == 123 or c == 91:  # { or [
        close = 125 if c == 123 else 93
        i += 1
        if i < end and p[i] == close:
            return i + 1
        while True:
            if c == 123:
                i = _name_end(p, i, end)
                if i < 0 or i >= end or p[i] != 58:  # ':'
                    return -1
                i += 1
            i = _value_end(p, i, end, depth + 1)
            if i < 0 or i >= end:
                return -1
            if p[i] == close:
                return i + 1
            if p[i] != 44:  # ','
                return -1
            i += 1
    if c == 34:
        return _name_end(p, i, end)
    if 48 <= c <= 57:
        first = i
        i += 1
        while c != 48 and i < end and 48 <= p[i] <= 57 and i - first < 18:
            i += 1
        if i < end and 48 <= p[i] <= 57:  # 01, a 19th digit
            return -1
        return i
    return -1


def value_end(bytes data, Py_ssize_t i, Py_ssize_t end, int depth=0):
    """End of the simple JSON value at data[i:end], or -1 (see the pure twin)."""
    if i < 0 or end > PyBytes_GET_SIZE(data):
        return -1
    return _value_end(<const unsigned char*>PyBytes_AS_STRING(data), i, end, depth)


def splice_texts(
    events,
    Py_ssize_t start,
    bytes prefix,
    bytes suffix,
    hole_tail,
    bytes head,
    long long seq,
    bytes mid,
    bytes tail,
    sink,
    list texts,
):
    """Frames for events[start:] up to the first that is not a plain text event, and its index."""
    cdef Py_ssize_t lo = PyBytes_GET_SIZE(prefix), hi = PyBytes_GET_SIZE(suffix)
    cdef Py_ssize_t nh = PyBytes_GET_SIZE(head), nm = PyBytes_GET_SIZE(mid)
    cdef Py_ssize_t nt = PyBytes_GET_SIZE(tail), nz = 0
    cdef Py_ssize_t i = start, n = len(events), size, end, hole, stop, total = 0, at, w
    cdef bint holed = hole_tail is not None
    cdef const unsigned char* p
    cdef const unsigned char* q
    cdef char* dst
    cdef char digits[24]
    cdef bytes data
    cdef bytes ztail = b""
    cdef long long number = seq
    cdef list run = []
    cdef list ends = []
    if holed:
        ztail = hole_tail
        nz = PyBytes_GET_SIZE(ztail)
    while i < n:
        data = events[i].data
        size = PyBytes_GET_SIZE(data)
        p = <const unsigned char*>PyBytes_AS_STRING(data)
        if size < lo + 3 or memcmp(p, PyBytes_AS_STRING(prefix), lo):
            break
        if not holed:
            end = size - hi
            if end - lo < 3 or memcmp(p + end, PyBytes_AS_STRING(suffix), hi):
                break
        else:
            q = <const unsigned char*>memchr(p + lo + 1, 34, size - lo - 1)
            if q == NULL:
                break
            end = q - p + 1
            hole = end + hi
            stop = size - nz
            if end - lo < 3 or hole >= stop or memcmp(p + end, PyBytes_AS_STRING(suffix), hi):
                break
            if p[hole] != 123 or _value_end(p, hole, stop, 0) != stop:
                break
            if memcmp(p + stop, PyBytes_AS_STRING(ztail), nz):
                break
        if not _plain(p, lo, end):
            break
        try:
            text = PyUnicode_DecodeUTF8(<const char*>p + lo + 1, end - lo - 2, "strict")
        except UnicodeDecodeError:
            break
        sink(text)
        if texts is not None:
            texts.append(text)
        run.append(data)
        ends.append(end)
        total += nh + (end - lo) + nt
        if seq >= 0:
            total += snprintf(digits, 24, "%lld", number) + nm
            number += 1
        i += 1
    out = PyBytes_FromStringAndSize(NULL, total)
    dst = PyBytes_AS_STRING(out)
    at = 0
    number = seq
    for k in range(len(run)):
        data = run[k]
        end = ends[k]
        memcpy(dst + at, PyBytes_AS_STRING(head), nh)
        at += nh
        if seq >= 0:
            w = snprintf(digits, 24, "%lld", number)
            memcpy(dst + at, digits, w)
            at += w
            memcpy(dst + at, PyBytes_AS_STRING(mid), nm)
            at += nm
            number += 1
        memcpy(dst + at, PyBytes_AS_STRING(data) + lo, end - lo)
        at += end - lo
        memcpy(dst + at, PyBytes_AS_STRING(tail), nt)
        at += nt
    return out, i
