"""SSE decoder: WHATWG rules on bytes, both twins, plus differential tests."""

from __future__ import annotations

import itertools
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay._fast.sse import SSELineTooLong

TWIN = "sse"

Ev = tuple[bytes, bytes | None, bytes | None, int | None]


def ev(
    data: bytes, event: bytes | None = None, id: bytes | None = None, retry: int | None = None
) -> Ev:
    return (data, event, id, retry)


def as_tuples(events: list[Any]) -> list[Ev]:
    return [(e.data, e.event, e.id, e.retry) for e in events]


def decode(impl: ModuleType, chunks: list[bytes], max_line: int | None = None) -> list[Ev]:
    dec = impl.SSEDecoder() if max_line is None else impl.SSEDecoder(max_line)
    out: list[Any] = []
    for chunk in chunks:
        out += dec.feed(chunk)
    out += dec.flush()
    return as_tuples(out)


def test_single_event(impl: ModuleType) -> None:
    dec = impl.SSEDecoder()
    assert as_tuples(dec.feed(b'data: {"a":1}\n\n')) == [ev(b'{"a":1}')]
    assert dec.flush() == []


def test_several_events_in_one_chunk_and_partial(impl: ModuleType) -> None:
    dec = impl.SSEDecoder()
    got = dec.feed(b"data: a\n\ndata: b\n\ndata: c")
    assert as_tuples(got) == [ev(b"a"), ev(b"b")]
    assert as_tuples(dec.feed(b"d\n\n")) == [ev(b"cd")]


def test_crlf_split_across_chunks_is_one_line_ending(impl: ModuleType) -> None:
    # If the b"\n" were a second line ending, "a" would be dispatched alone.
    assert decode(impl, [b"data: a\r", b"\n", b"data: b\r", b"\ndata: c\r\n\r\n"]) == [
        ev(b"a\nb\nc")
    ]
    assert decode(impl, [b"data: a\r", b"\ndata: b\n\n"]) == [ev(b"a\nb")]


def test_cr_then_cr_is_an_empty_line(impl: ModuleType) -> None:
    assert decode(impl, [b"data: a\r", b"\rdata: b\r\r"]) == [ev(b"a"), ev(b"b")]


def test_lone_cr_line_endings(impl: ModuleType) -> None:
    assert decode(impl, [b"data: a\rdata: b\r\revent: x\rdata: c\r\r"]) == [
        ev(b"a\nb"),
        ev(b"c", b"x"),
    ]


def test_mixed_line_endings(impl: ModuleType) -> None:
    assert decode(impl, [b"data: 1\r\ndata: 2\rdata: 3\n\r\n"]) == [ev(b"1\n2\n3")]


def test_comments_ignored(impl: ModuleType) -> None:
    assert decode(impl, [b": keep-alive\n\n:\n\n: x\ndata: y\n: z\n\n"]) == [ev(b"y")]


def test_multiline_data(impl: ModuleType) -> None:
    assert decode(impl, [b"data: line1\ndata: line2\ndata:\ndata\n\n"]) == [ev(b"line1\nline2\n\n")]


def test_value_space_rules(impl: ModuleType) -> None:
    got = decode(impl, [b"data:x\n\ndata:  two\n\ndata: \n\ndata:\t t\n\n"])
    assert got == [ev(b"x"), ev(b" two"), ev(b""), ev(b"\t t")]


def test_empty_data_field_dispatches_empty_event(impl: ModuleType) -> None:
    assert decode(impl, [b"data\n\n"]) == [ev(b"")]


def test_empty_line_without_data_resets_event_and_retry(impl: ModuleType) -> None:
    got = decode(impl, [b"event: ping\nretry: 5\n\ndata: x\n\n"])
    assert got == [ev(b"x")]


def test_event_and_retry_reset_after_dispatch(impl: ModuleType) -> None:
    got = decode(impl, [b"event: e\nretry: 300\ndata: 1\n\ndata: 2\n\n"])
    assert got == [ev(b"1", b"e", None, 300), ev(b"2")]


def test_id_persists_across_events(impl: ModuleType) -> None:
    stream = b"data: a\n\nid: 7\ndata: b\n\ndata: c\n\nid\ndata: d\n\nid: 9\n\ndata: e\n\n"
    assert decode(impl, [stream]) == [
        ev(b"a"),
        ev(b"b", id=b"7"),
        ev(b"c", id=b"7"),
        ev(b"d", id=b""),
        ev(b"e", id=b"9"),
    ]


def test_id_with_nul_is_ignored(impl: ModuleType) -> None:
    assert decode(impl, [b"id: 1\n\nid: 2\x003\ndata: x\n\n"]) == [ev(b"x", id=b"1")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"1500", 1500),
        (b"0", 0),
        (b"000123", 123),
        (b"999999999999999999", 999999999999999999),
        (b"", None),
        (b"12a", None),
        (b"-5", None),
        (b" 5", None),
        (b"1.5", None),
        (b"\xd9\xa3", None),  # non-ASCII digit
        (b"1" * 19, None),  # beyond 18 significant digits: ignored
    ],
)
def test_retry(impl: ModuleType, value: bytes, expected: int | None) -> None:
    assert decode(impl, [b"retry: " + value + b"\ndata: x\n\n"]) == [ev(b"x", retry=expected)]


def test_unknown_fields_and_field_without_colon(impl: ModuleType) -> None:
    got = decode(impl, [b"foo: bar\nevent\nDATA: no\ndata : no\ndata: yes\n\n"])
    assert got == [ev(b"yes", b"")]


def test_bom_skipped_at_stream_start_only(impl: ModuleType) -> None:
    bom = b"\xef\xbb\xbf"
    assert decode(impl, [bom + b"data: a\n\n"]) == [ev(b"a")]
    assert decode(impl, [b"\xef", b"\xbb", b"\xbfdata: a\n\n"]) == [ev(b"a")]
    # A second BOM belongs to the first field name: unknown field, nothing emitted.
    assert decode(impl, [bom + bom + b"data: a\n\n"]) == []
    assert decode(impl, [b"data: a\n\n" + bom + b"data: b\n\n"]) == [ev(b"a")]


def test_partial_bom_prefix_is_data(impl: ModuleType) -> None:
    assert decode(impl, [b"\xef", b"\xbbdata: a\n\n"]) == []
    assert decode(impl, [b"\xef\xbb"]) == []


def test_flush_dispatches_unterminated_event(impl: ModuleType) -> None:
    assert decode(impl, [b"data: a\n\ndata: b"]) == [ev(b"a"), ev(b"b")]
    assert decode(impl, [b"data: a\n"]) == [ev(b"a")]
    assert decode(impl, [b"data: a\r"]) == [ev(b"a")]
    assert decode(impl, [b"event: x"]) == []
    assert decode(impl, []) == []


def test_flush_keeps_last_id(impl: ModuleType) -> None:
    dec = impl.SSEDecoder()
    dec.feed(b"id: 5\ndata: a\n\n")
    assert as_tuples(dec.flush()) == []
    assert as_tuples(dec.feed(b"data: b\n\n")) == [ev(b"b", id=b"5")]


def test_max_line_partial(impl: ModuleType) -> None:
    dec = impl.SSEDecoder(max_line=10)
    dec.feed(b"data: 1234")  # 10 bytes: allowed
    with pytest.raises(SSELineTooLong):
        dec.feed(b"5")


def test_max_line_complete_line(impl: ModuleType) -> None:
    with pytest.raises(SSELineTooLong):
        impl.SSEDecoder(max_line=10).feed(b"data: 12345\n")
    assert as_tuples(impl.SSEDecoder(max_line=10).feed(b"data: 1234\n\n")) == [ev(b"1234")]


def test_max_line_error_is_value_error(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="longer than 4 bytes"):
        impl.SSEDecoder(max_line=4).feed(b"abcdefgh")
    with pytest.raises(ValueError):
        impl.SSEDecoder(max_line=-1)


def test_long_line_in_many_small_chunks(impl: ModuleType) -> None:
    dec = impl.SSEDecoder()
    payload = b"x" * 50
    for _ in range(20000):
        assert dec.feed(payload) == []
    assert as_tuples(dec.feed(b"\n\n")) == []  # the line had no "data:" prefix
    dec.feed(b"data: ")
    for _ in range(20000):
        dec.feed(payload)
    (event,) = dec.feed(b"\r\n\r\n")
    assert event.data == payload * 20000


def test_accepts_bytes_like(impl: ModuleType) -> None:
    dec = impl.SSEDecoder()
    assert as_tuples(dec.feed(bytearray(b"data: a\n\n"))) == [ev(b"a")]
    assert as_tuples(dec.feed(memoryview(b"data: b\n\n"))) == [ev(b"b")]


def test_event_value_object(impl: ModuleType) -> None:
    e = impl.SSEEvent(b"d", b"e", b"1", 5)
    assert (e.data, e.event, e.id, e.retry) == (b"d", b"e", b"1", 5)
    assert e == impl.SSEEvent(b"d", b"e", b"1", 5)
    assert e != impl.SSEEvent(b"d", b"e", b"2", 5)
    assert hash(e) == hash(impl.SSEEvent(b"d", b"e", b"1", 5))
    assert repr(e) == "SSEEvent(data=b'd', event=b'e', id=b'1', retry=5)"
    assert impl.SSEEvent(b"x").event is None
    with pytest.raises(AttributeError):
        e.data = b"other"


def test_openai_stream(impl: ModuleType) -> None:
    body = b"".join(b'data: {"choices":[{"delta":{"content":"tok%d"}}]}\n\n' % i for i in range(25))
    body += b"data: [DONE]\n\n"
    for step in (1, 7, 64, len(body)):
        chunks = [body[i : i + step] for i in range(0, len(body), step)]
        got = decode(impl, chunks)
        assert len(got) == 26
        assert got[3][0] == b'{"choices":[{"delta":{"content":"tok3"}}]}'
        assert got[-1] == ev(b"[DONE]")


# --- differential tests -------------------------------------------------------------

_PIECES = [
    b"data: ",
    b"data:",
    b"data",
    b"event: ",
    b"id: ",
    b"id:\x00",
    b"retry: ",
    b"retry:12",
    b":",
    b": c",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"x",
    b'{"a": 1}',
    b"\xef\xbb\xbf",
    b"\xef",
    b"0",
    b"7",
]
_stream = st.lists(st.sampled_from(_PIECES) | st.binary(max_size=6), max_size=40).map(b"".join)


@st.composite
def _split_stream(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    data = draw(_stream)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    return data, [data[a:b] for a, b in itertools.pairwise(bounds)]


def _run(impl: ModuleType, chunks: list[bytes], max_line: int) -> tuple[list[Ev], bool]:
    dec = impl.SSEDecoder(max_line)
    out: list[Any] = []
    try:
        for chunk in chunks:
            out += dec.feed(chunk)
        out += dec.flush()
    except SSELineTooLong:
        return as_tuples(out), True
    return as_tuples(out), False


@given(_split_stream(), st.sampled_from([0, 3, 12, 1 << 20]))
def test_differential_py_c(py: ModuleType, c: ModuleType, split: Any, max_line: int) -> None:
    _, chunks = split
    assert _run(py, chunks, max_line) == _run(c, chunks, max_line)


@given(_split_stream(), st.sampled_from([3, 12, 1 << 20]))
def test_split_points_do_not_matter(impl: ModuleType, split: Any, max_line: int) -> None:
    data, chunks = split
    whole, whole_err = _run(impl, [data], max_line)
    parts, parts_err = _run(impl, chunks, max_line)
    assert whole_err == parts_err
    if not whole_err:
        assert parts == whole
    # Byte-at-a-time is the extreme split.
    assert _run(impl, [data[i : i + 1] for i in range(len(data))], max_line)[1] == whole_err
