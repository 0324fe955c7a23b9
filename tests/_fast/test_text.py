"""Splicing plain text events between byte templates: both twins, worked examples, parity."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from relay._fast._sse_py import SSEEvent

TWIN = "text"

PREFIX = b'{"k":1,"t":'
SUFFIX = b"}"
HEAD, MID, TAIL = b"<", b"|", b">\n"


def events(*datas: bytes) -> list[SSEEvent]:
    return [SSEEvent(d) for d in datas]


def splice(impl: ModuleType, evs: list[SSEEvent], start: int = 0, seq: int = -1) -> Any:
    texts: list[str] = []
    sunk: list[str] = []
    frames, end = impl.splice_texts(
        evs, start, PREFIX, SUFFIX, None, HEAD, seq, MID, TAIL, sunk.append, texts
    )
    assert texts == sunk
    return frames, end, texts


def test_a_run_is_rewritten_until_the_first_other_event(impl: ModuleType) -> None:
    evs = events(PREFIX + b'"a"}', PREFIX + b'"\xc3\xa9 b"}', b'{"other":1}', PREFIX + b'"c"}')
    assert splice(impl, evs) == (b'<"a">\n<"\xc3\xa9 b">\n', 2, ["a", "é b"])
    assert splice(impl, evs, 3) == (b'<"c">\n', 4, ["c"])
    assert splice(impl, evs, 2) == (b"", 2, [])


def test_sequence_numbers_count_up(impl: ModuleType) -> None:
    evs = events(PREFIX + b'"a"}', PREFIX + b'"b"}')
    assert splice(impl, evs, seq=9) == (b'<9|"a">\n<10|"b">\n', 2, ["a", "b"])


def test_texts_none_still_feeds_the_sink(impl: ModuleType) -> None:
    sunk: list[str] = []
    out = impl.splice_texts(
        events(PREFIX + b'"a"}'), 0, PREFIX, SUFFIX, None, HEAD, -1, MID, TAIL, sunk.append, None
    )
    assert out == (b'<"a">\n', 1) and sunk == ["a"]


def test_escapes_empty_text_bad_utf8_and_mismatches_stop_the_run(impl: ModuleType) -> None:
    for data in (
        PREFIX + b'"a\\nb"}',  # an escape: orjson would write it differently
        PREFIX + b'""}',  # empty text: the general path decides
        PREFIX + b'"a\x01"}',  # a raw control character is not JSON
        PREFIX + b'"\xff"}',  # not UTF-8
        PREFIX + b'"a" }',  # suffix differs
        PREFIX + b'"a"',
        PREFIX + b"1}",
        PREFIX + b'"a"b"}',
        b' {"k":1,"t":"a"}',
        PREFIX[:-1],
        b"",
    ):
        assert splice(impl, events(data)) == (b"", 0, []), data


@given(st.lists(st.one_of(st.text(max_size=8), st.binary(max_size=8)), max_size=6))
def test_twins_agree(py: ModuleType, c: ModuleType, pieces: list[str | bytes]) -> None:
    datas = [
        PREFIX + (orjson.dumps(p) if isinstance(p, str) else b'"' + p + b'"') + SUFFIX
        for p in pieces
    ]
    evs = events(*datas)
    for start in range(len(evs) + 1):
        for seq in (-1, 0, 123456789012):
            assert splice(py, evs, start, seq) == splice(c, evs, start, seq)


@given(st.one_of(st.text(min_size=1, max_size=12), st.binary(min_size=1, max_size=12)))
def test_an_accepted_string_is_what_orjson_writes_for_its_text(
    impl: ModuleType, piece: str | bytes
) -> None:
    token = orjson.dumps(piece) if isinstance(piece, str) else b'"' + piece + b'"'
    frames, end, texts = splice(impl, events(PREFIX + token + SUFFIX))
    if end:
        assert orjson.loads(token) == texts[0]
        assert orjson.dumps(texts[0]) == token
        assert frames == HEAD + token + TAIL


# --- slots with a hole: prefix + text + suffix + simple object + hole tail ------------------

H_PREFIX, H_SUFFIX, H_TAIL = b'{"t":', b',"u":', b',"z":1}'


def holed(impl: ModuleType, *datas: bytes) -> Any:
    texts: list[str] = []
    frames, end = impl.splice_texts(
        events(*datas), 0, H_PREFIX, H_SUFFIX, H_TAIL, HEAD, -1, MID, TAIL, texts.append, None
    )
    return frames, end, texts


def test_a_hole_takes_any_simple_object(impl: ModuleType) -> None:
    datas = [
        H_PREFIX + b'"a"' + H_SUFFIX + b'{"n":1,"d":[{"m":"TEXT","c":57}]}' + H_TAIL,
        H_PREFIX + b'"b"' + H_SUFFIX + b"{}" + H_TAIL,
    ]
    assert holed(impl, *datas) == (b'<"a">\n<"b">\n', 2, ["a", "b"])


def test_a_hole_that_is_not_simple_stops_the_run(impl: ModuleType) -> None:
    for hole in (
        b'{"n": 1}',
        b'{"n":01}',
        b'{"n":-1}',
        b'{"n":1.5}',
        b'{"n":true}',
        b'{"n":"a b"}',
        b'{"n":1234567890123456789}',
        b"[1]",
        b'{"n":1',
        b'{"n":1}}',
        b"",
        b"{" * 20 + b"}" * 20,
    ):
        data = H_PREFIX + b'"a"' + H_SUFFIX + hole + H_TAIL
        assert holed(impl, data) == (b"", 0, []), hole
    assert holed(impl, H_PREFIX + b'"a\\"' + H_SUFFIX + b"{}" + H_TAIL)[1] == 0


SIMPLE = st.recursive(
    st.integers(0, 10**19) | st.from_regex(r"[A-Za-z0-9_]{0,4}", fullmatch=True),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z]{1,3}", fullmatch=True), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(SIMPLE, st.binary(max_size=4))
@example("", b"0")  # a digit after a string is the string's end, not a 19th digit
def test_value_end_twins_agree_and_match_orjson(
    py: ModuleType, c: ModuleType, value: Any, noise: bytes
) -> None:
    dumped = orjson.dumps(value)
    data = dumped + noise
    end = py.value_end(data, 0, len(data))
    assert end == c.value_end(data, 0, len(data))
    if end > 0:
        parsed = orjson.loads(data[:end])  # what it takes is always one JSON value
        assert end != len(dumped) or parsed == value
    for cut in range(len(data)):
        assert py.value_end(data, cut, len(data)) == c.value_end(data, cut, len(data))


@given(
    st.lists(
        st.tuples(
            st.one_of(st.text(max_size=6), st.binary(max_size=6)),
            st.one_of(SIMPLE.map(orjson.dumps), st.binary(max_size=8)),
        ),
        max_size=5,
    )
)
def test_holed_twins_agree(py: ModuleType, c: ModuleType, pieces: list[tuple[Any, bytes]]) -> None:
    datas = [
        H_PREFIX
        + (orjson.dumps(t) if isinstance(t, str) else b'"' + t + b'"')
        + H_SUFFIX
        + hole
        + H_TAIL
        for t, hole in pieces
    ]
    assert holed(py, *datas) == holed(c, *datas)
