# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled incremental Server-Sent-Events decoder (twin of ``_sse_py``).

Same public API and byte-for-byte the same behaviour as the pure twin; the
parity tests in tests/_fast/test_sse.py hold both to that.  Sans-I/O.
"""

cimport cython
from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_CheckExact,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.string cimport memchr, memcmp, memcpy

from relay._fast._sse_errors import SSELineTooLong

__all__ = ["SSEDecoder", "SSEEvent", "SSELineTooLong"]

cdef enum:
    _MAX_RETRY_DIGITS = 18  # see _sse_py: longer retry values are ignored

cdef bytes _BOM = b"\xef\xbb\xbf"


# A growable C byte buffer.  The partial line and the joined data field live in
# these instead of bytearrays: appending is a memcpy with no Python call, no
# refcounting, and the capacity is reused for every line of the stream.
cdef struct _Buf:
    char* ptr
    Py_ssize_t len
    Py_ssize_t cap


cdef int _buf_append(_Buf* b, const char* src, Py_ssize_t n) except -1:
    cdef Py_ssize_t need = b.len + n
    cdef Py_ssize_t cap
    cdef char* ptr
    if need > b.cap:
        # Geometric growth keeps a line that arrives in many small chunks linear.
        cap = b.cap * 2 if b.cap else 256
        if cap < need:
            cap = need
        ptr = <char*>PyMem_Realloc(b.ptr, <size_t>cap)
        if ptr == NULL:
            raise MemoryError()
        b.ptr = ptr
        b.cap = cap
    if n:
        memcpy(b.ptr + b.len, src, <size_t>n)
    b.len = need
    return 0


# freelist: a chat stream allocates one event per token delta; recycling the
# objects skips the allocator for the common short-lived case.
@cython.final
@cython.freelist(64)
cdef class SSEEvent:
    """One dispatched event; immutable (read-only C attributes)."""

    cdef readonly bytes data
    cdef readonly object event
    cdef readonly object id
    cdef readonly object retry

    def __init__(self, bytes data not None, event=None, id=None, retry=None):
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def __eq__(self, other):
        if not isinstance(other, SSEEvent):
            return NotImplemented
        cdef SSEEvent o = <SSEEvent>other
        return (
            self.data == o.data
            and self.event == o.event
            and self.id == o.id
            and self.retry == o.retry
        )

    def __hash__(self):
        return hash((self.data, self.event, self.id, self.retry))

    def __repr__(self):
        return (
            f"SSEEvent(data={self.data!r}, event={self.event!r}, "
            f"id={self.id!r}, retry={self.retry!r})"
        )


@cython.final
cdef class SSEDecoder:
    """Incremental SSE decoder; after SSELineTooLong it must be discarded."""

    cdef Py_ssize_t _max_line
    cdef _Buf _line      # partial line; never holds b"\r" or b"\n"
    cdef _Buf _data      # data field lines seen so far, already joined with b"\n"
    cdef Py_ssize_t _ndata  # number of data lines in _data (0: nothing to dispatch)
    cdef object _event
    cdef object _retry
    cdef object _last_id
    cdef bint _skip_lf   # previous chunk ended in b"\r": a leading b"\n" is its pair
    cdef bint _started   # the BOM check at stream start is done
    cdef bytes _head     # bytes held back while they may still be a split BOM

    def __cinit__(self):
        self._line.ptr = NULL
        self._line.len = self._line.cap = 0
        self._data.ptr = NULL
        self._data.len = self._data.cap = 0

    def __init__(self, Py_ssize_t max_line=128 * 1024 * 1024):
        if max_line < 0:
            raise ValueError("max_line must be >= 0")
        self._max_line = max_line
        self._ndata = 0
        self._event = None
        self._retry = None
        self._last_id = None
        self._skip_lf = False
        self._started = False
        self._head = b""

    def __dealloc__(self):
        PyMem_Free(self._line.ptr)
        PyMem_Free(self._data.ptr)

    cdef bytes _strip_bom(self, bytes data):
        # Runs only until the first 3 bytes are seen, so plain Python is fine.
        cdef bytes head = self._head + data
        if len(head) < 3 and _BOM.startswith(head):
            self._head = head
            return b""
        self._started = True
        self._head = b""
        return head[3:] if head.startswith(_BOM) else head

    cdef int _too_long(self) except -1:
        raise SSELineTooLong(f"SSE line longer than {self._max_line} bytes")

    cdef int _dispatch(self, list events) except -1:
        cdef SSEEvent ev
        if self._ndata:
            # __new__ skips the Python-level __init__ call; fields are set in C.
            ev = SSEEvent.__new__(SSEEvent)
            ev.data = PyBytes_FromStringAndSize(self._data.ptr, self._data.len)
            ev.event = self._event
            ev.id = self._last_id
            ev.retry = self._retry
            events.append(ev)
            self._data.len = 0
            self._ndata = 0
        self._event = None
        self._retry = None
        return 0

    cdef int _line_done(self, const char* p, Py_ssize_t n, list events) except -1:
        """Handle one complete line (terminator excluded)."""
        cdef const char* colon
        cdef const char* v
        cdef Py_ssize_t name_len, vlen, i
        cdef long long retry
        if n > self._max_line:
            self._too_long()
        if n == 0:
            return self._dispatch(events)
        if p[0] == b":":
            return 0
        # memchr instead of bytes.partition: no slice objects for name/value.
        colon = <const char*>memchr(p, b":", <size_t>n)
        if colon == NULL:
            name_len = n
            v = p + n
            vlen = 0
        else:
            name_len = colon - p
            v = colon + 1
            vlen = n - name_len - 1
            if vlen and v[0] == b" ":
                v += 1
                vlen -= 1
        # Field names are matched by length first, then memcmp: no bytes objects.
        if name_len == 4 and memcmp(p, b"data", 4) == 0:
            if self._ndata:
                _buf_append(&self._data, b"\n", 1)
            _buf_append(&self._data, v, vlen)
            self._ndata += 1
        elif name_len == 5 and memcmp(p, b"event", 5) == 0:
            self._event = PyBytes_FromStringAndSize(v, vlen)
        elif name_len == 2 and memcmp(p, b"id", 2) == 0:
            if memchr(v, 0, <size_t>vlen) == NULL:
                self._last_id = PyBytes_FromStringAndSize(v, vlen)
        elif name_len == 5 and memcmp(p, b"retry", 5) == 0:
            if vlen == 0:
                return 0
            for i in range(vlen):
                if v[i] < b"0" or v[i] > b"9":
                    return 0
            while vlen and v[0] == b"0":
                v += 1
                vlen -= 1
            # <= 18 significant digits always fits a signed 64-bit integer.
            if vlen > _MAX_RETRY_DIGITS:
                return 0
            retry = 0
            for i in range(vlen):
                retry = retry * 10 + (v[i] - 48)
            self._retry = retry
        return 0

    def feed(self, data):
        """Decode one chunk; return the events it completed, in order."""
        cdef bytes b = data if PyBytes_CheckExact(data) else bytes(data)
        if not self._started:
            b = self._strip_bom(b)
        cdef const char* p = PyBytes_AS_STRING(b)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
        cdef list events = []
        if n == 0:
            return events
        if self._skip_lf:
            self._skip_lf = False
            if p[0] == b"\n":
                p += 1
                n -= 1
                if n == 0:
                    return events
        cdef const char* end = p + n
        # Next CR / LF at or after p, or NULL when there is none left.  Each is
        # re-searched only after p has moved past it, so a chunk is scanned at
        # most once per terminator kind however its lines end (no quadratic
        # re-scan of CR-only streams, and a chunk without CR costs one memchr).
        cdef const char* cr = <const char*>memchr(p, b"\r", <size_t>n)
        cdef const char* lf = <const char*>memchr(p, b"\n", <size_t>n)
        cdef const char* eol
        cdef Py_ssize_t linelen
        while p < end:
            if cr != NULL and cr < p:
                cr = <const char*>memchr(p, b"\r", <size_t>(end - p))
            if lf != NULL and lf < p:
                lf = <const char*>memchr(p, b"\n", <size_t>(end - p))
            if cr == NULL:
                eol = lf
            elif lf == NULL or cr < lf:
                eol = cr
            else:
                eol = lf
            if eol == NULL:
                # Unterminated tail: only the new bytes were scanned, the held
                # partial line never is again (linear for long split lines).
                if self._line.len + (end - p) > self._max_line:
                    self._too_long()
                _buf_append(&self._line, p, end - p)
                break
            linelen = eol - p
            if self._line.len:
                if self._line.len + linelen > self._max_line:
                    self._too_long()
                _buf_append(&self._line, p, linelen)
                self._line_done(self._line.ptr, self._line.len, events)
                self._line.len = 0
            else:
                # Common case: the whole line is inside this chunk, parse in place.
                self._line_done(p, linelen, events)
            if eol[0] == b"\r":
                if eol + 1 < end:
                    if eol[1] == b"\n":
                        eol += 1
                else:
                    self._skip_lf = True
            p = eol + 1
        return events

    def flush(self):
        """End of stream: finish a partial last line and dispatch a pending event."""
        cdef list events = []
        cdef bytes head
        if not self._started:
            self._started = True
            if self._head:
                head = self._head
                self._head = b""
                self._line_done(PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head), events)
        if self._line.len:
            self._line_done(self._line.ptr, self._line.len, events)
            self._line.len = 0
        self._skip_lf = False
        self._dispatch(events)
        return events
