"""Token estimation (new-api heuristic) and StreamTokenCounter, both twins."""

from __future__ import annotations

import math
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

TWIN = "tokens"

OPENAI, CLAUDE, GEMINI = 0, 1, 2

# --- a literal transcription of the heuristic, as the reference -------------------------

# Word, Number, CJK, Symbol, MathSymbol, URLDelim, AtSign, Emoji, Newline, Space
REF_WEIGHTS = {
    GEMINI: (1.15, 2.8, 0.68, 0.38, 1.05, 1.2, 2.5, 1.08, 1.15, 0.2),
    CLAUDE: (1.13, 1.63, 1.21, 0.4, 4.52, 1.26, 2.82, 2.6, 0.89, 0.39),
    OPENAI: (1.02, 1.55, 0.85, 0.4, 2.68, 1.0, 2.0, 2.12, 0.5, 0.42),
}
HAN = [
    (0x2E80, 0x2E99), (0x2E9B, 0x2EF3), (0x2F00, 0x2FD5), (0x3005, 0x3005), (0x3007, 0x3007),
    (0x3021, 0x3029), (0x3038, 0x303B), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFA6D),
    (0xFA70, 0xFAD9), (0x20000, 0x2A6DF), (0x2A700, 0x2EBE0), (0x2F800, 0x2FA1D),
    (0x30000, 0x3134A), (0x31350, 0x323AF),
]  # fmt: skip
MATH = "∑∫∂√∞≤≥≠≈±×÷∈∉∋∌⊂⊃⊆⊇∪∩∧∨¬∀∃∄∅∆∇∝∟∠∡∢°′″‴⁺⁻⁼⁽⁾ⁿ₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎²³¹⁴⁵⁶⁷⁸⁹⁰"


EMOJI = [(0x1F300, 0x1F9FF), (0x2600, 0x26FF), (0x2700, 0x27BF), (0x1FA00, 0x1FAFF)]
MATH_RANGES = [(0x2200, 0x22FF), (0x2A00, 0x2AFF), (0x1D400, 0x1D7FF)]


def ref_class(ch: str) -> str:
    """Step 1-5 of the heuristic; "latin"/"number" are the run types of step 4."""
    cp = ord(ch)
    if ch.isspace():
        return "newline" if ch in ("\n", "\t") else "space"
    if any(lo <= cp <= hi for lo, hi in HAN) or 0x3040 <= cp <= 0x30FF or 0xAC00 <= cp <= 0xD7A3:
        return "cjk"
    if any(lo <= cp <= hi for lo, hi in EMOJI):
        return "emoji"
    if ch.isalpha() or ch.isnumeric():
        return "number" if ch.isnumeric() else "latin"
    if ch in MATH or any(lo <= cp <= hi for lo, hi in MATH_RANGES):
        return "math"
    if ch == "@":
        return "at"
    if ch in "/:?&=;#%":
        return "url"
    return "symbol"


def reference(text: str, family: int) -> int:
    word, number, cjk, symbol, math_, url, at, emoji, newline, space = REF_WEIGHTS.get(
        family, REF_WEIGHTS[OPENAI]
    )
    weight = {
        "newline": newline,
        "space": space,
        "cjk": cjk,
        "emoji": emoji,
        "math": math_,
        "at": at,
        "url": url,
        "symbol": symbol,
    }
    count = 0.0
    current = "none"
    for ch in text:
        kind = ref_class(ch)
        if kind in ("latin", "number"):
            if current == "none" or current != kind:
                count += number if kind == "number" else word
                current = kind
        else:
            current = "none"
            count += weight[kind]
    return math.ceil(count) + 0  # BasePad


# --- estimate_tokens -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "family", "expected"),
    [
        ("", OPENAI, 0),
        ("hello world", OPENAI, 3),  # ceil(1.02 + 0.42 + 1.02)
        ("hello world", CLAUDE, 3),  # ceil(1.13 + 0.39 + 1.13)
        ("hello world", GEMINI, 3),  # ceil(1.15 + 0.2 + 1.15)
        ("你好世界", OPENAI, 4),  # ceil(4 * 0.85)
        ("你好世界", CLAUDE, 5),  # ceil(4 * 1.21)
        ("你好世界", GEMINI, 3),  # ceil(4 * 0.68)
        ("こんにちは한국", OPENAI, 6),  # kana + Hangul count as CJK: ceil(7 * 0.85)
        ("😀😀", OPENAI, 5),  # ceil(2 * 2.12)
        ("12345", OPENAI, 2),  # one number run
        ("abc123def", OPENAI, 4),  # ceil(1.02 + 1.55 + 1.02)
        ("a\nb", OPENAI, 3),  # ceil(1.02 + 0.5 + 1.02)
        ("\t\t", GEMINI, 3),  # ceil(2 * 1.15)
        ("∑", OPENAI, 3),  # ceil(2.68)
        ("²", OPENAI, 2),  # numeric, caught before the math-symbol step: ceil(1.55)
        ("x²", OPENAI, 3),  # ceil(1.02 + 1.55)
        ("°", CLAUDE, 5),  # ceil(4.52)
        ("@", OPENAI, 2),
        ("/?", OPENAI, 2),
        ("!!!", OPENAI, 2),  # ceil(3 * 0.4)
        ("a@b.com/x", OPENAI, 8),  # 1.02+2+1.02+0.4+1.02+1+1.02
        ("hello world", 42, 3),  # unknown family -> OpenAI weights
    ],
)
def test_estimate_examples(impl: ModuleType, text: str, family: int, expected: int) -> None:
    assert impl.estimate_tokens(text, family) == expected
    assert reference(text, family) == expected


def test_estimate_type_error(impl: ModuleType) -> None:
    with pytest.raises(TypeError):
        impl.estimate_tokens(b"bytes", OPENAI)


def test_family_constants_and_lookup(impl: ModuleType) -> None:
    assert (impl.FAMILY_OPENAI, impl.FAMILY_CLAUDE, impl.FAMILY_GEMINI) == (0, 1, 2)
    assert impl.family_for_model("gpt-4o-mini") == OPENAI
    assert impl.family_for_model("Claude-3-5-Sonnet") == CLAUDE
    assert impl.family_for_model("models/Gemini-1.5-pro") == GEMINI
    assert impl.family_for_model("gemini-claude-mix") == GEMINI
    assert impl.family_for_model("") == OPENAI


def test_every_code_point_classified_alike(py: ModuleType, c: ModuleType) -> None:
    every = range(0x110000)
    assert list(map(c._char_class, every)) == list(map(py._char_class, every))


def test_classes_match_reference(py: ModuleType) -> None:
    names = {
        "latin": py._LATIN,
        "number": py._NUMBER,
        "newline": py._NEWLINE,
        "space": py._SPACE,
        "cjk": py._CJK,
        "emoji": py._EMOJI,
        "math": py._MATH,
        "at": py._AT,
        "url": py._URL,
        "symbol": py._SYMBOL,
    }
    edges = {cp + d for lo, hi in HAN + EMOJI + MATH_RANGES for cp in (lo, hi) for d in (-1, 0, 1)}
    for cp in sorted(set(range(0x10000)) | edges):
        assert py._char_class(cp) == names[ref_class(chr(cp))], hex(cp)


_text = st.text(
    st.sampled_from("aZé1²٣ \n\t\u3000你あ한😀∑@/:.,!-_") | st.characters(), max_size=80
)


@given(_text, st.sampled_from([OPENAI, CLAUDE, GEMINI, 7]))
def test_estimate_matches_reference(impl: ModuleType, text: str, family: int) -> None:
    assert impl.estimate_tokens(text, family) == reference(text, family)


@given(_text, st.sampled_from([OPENAI, CLAUDE, GEMINI]))
def test_estimate_py_c(py: ModuleType, c: ModuleType, text: str, family: int) -> None:
    assert c.estimate_tokens(text, family) == py.estimate_tokens(text, family)


# --- StreamTokenCounter -----------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, text: str) -> int:
        self.calls.append(text)
        return len(text)


def test_counter_cuts_before_last_whitespace(impl: ModuleType) -> None:
    rec = Recorder()
    counter = impl.StreamTokenCounter(rec, segment_chars=10)
    counter.feed("hello ")
    counter.feed("world ")  # 12 chars > 10: cut before the last whitespace
    assert rec.calls == ["hello world"]
    assert counter.buffered_chars == 1
    counter.feed("foo bar baz")  # " foo bar baz" = 12 chars
    assert rec.calls == ["hello world", " foo bar"]
    assert counter.buffered_chars == 4
    assert counter.total() == 11 + 8 + 4
    assert rec.calls[-1] == " baz"


def test_counter_without_whitespace(impl: ModuleType) -> None:
    rec = Recorder()
    counter = impl.StreamTokenCounter(rec, segment_chars=10)
    counter.feed("x" * 20)  # over the segment but not over twice of it: wait
    assert rec.calls == []
    counter.feed("y")
    assert rec.calls == ["x" * 10]
    counter.feed("z" * 100)
    assert [len(call) for call in rec.calls] == [10] * 11
    assert counter.buffered_chars == 11
    assert "".join(rec.calls) == "x" * 20 + "y" + "z" * 89


def test_counter_whitespace_only_at_start_waits(impl: ModuleType) -> None:
    rec = Recorder()
    counter = impl.StreamTokenCounter(rec, segment_chars=10)
    counter.feed(" " + "x" * 15)
    assert rec.calls == []
    counter.feed("x" * 5)  # 21 chars, no usable whitespace: cut at 10
    assert rec.calls == [" " + "x" * 9]


def test_counter_total_does_not_consume(impl: ModuleType) -> None:
    rec = Recorder()
    counter = impl.StreamTokenCounter(rec, segment_chars=100)
    assert counter.total() == 0
    assert rec.calls == []  # nothing buffered: count is not called
    counter.feed("ab")
    counter.feed("cd")
    assert counter.total() == 4
    assert counter.total() == 4
    assert counter.buffered_chars == 4
    assert rec.calls == ["abcd", "abcd"]
    counter.feed("")
    assert counter.buffered_chars == 4


def test_counter_with_estimator(impl: ModuleType) -> None:
    counter = impl.StreamTokenCounter(lambda s: impl.estimate_tokens(s, OPENAI), 64)
    text = "The quick brown fox jumps over the lazy dog. " * 40
    for i in range(0, len(text), 7):
        counter.feed(text[i : i + 7])
    assert counter.buffered_chars <= 128
    assert abs(counter.total() - impl.estimate_tokens(text, OPENAI)) <= 40


def test_counter_errors(impl: ModuleType) -> None:
    with pytest.raises(ValueError):
        impl.StreamTokenCounter(len, segment_chars=0)
    with pytest.raises(TypeError):
        impl.StreamTokenCounter(len).feed(b"x")


def test_counter_count_error_keeps_state(impl: ModuleType) -> None:
    def boom(text: str) -> int:
        raise RuntimeError("boom")

    counter = impl.StreamTokenCounter(boom, segment_chars=4)
    with pytest.raises(RuntimeError):
        counter.feed("abc defg")
    assert counter.buffered_chars == 8


_pieces = st.lists(st.text(st.sampled_from("ab \n\u3000字😀"), max_size=12), max_size=30)


@given(_pieces, st.integers(1, 20))
def test_counter_py_c(py: ModuleType, c: ModuleType, pieces: list[str], seg: int) -> None:
    results = []
    for impl in (py, c):
        rec = Recorder()
        counter = impl.StreamTokenCounter(rec, segment_chars=seg)
        sizes = []
        for piece in pieces:
            counter.feed(piece)
            sizes.append(counter.buffered_chars)
            assert counter.buffered_chars <= 2 * seg or len(piece) > seg
        total = counter.total()
        results.append((rec.calls, sizes, total))
        # Lossless: the segments plus the tail are exactly the input.
        assert "".join(rec.calls) == "".join(pieces)
        assert total == len("".join(pieces))
    assert results[0] == results[1]
