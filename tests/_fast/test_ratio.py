"""Quota arithmetic (new-api): worked examples, exact-decimal reference, twin parity."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

TWIN = "ratio"
MAXQ, MINQ = 2147483647, -2147483648


def settle(impl: ModuleType, prompt: int, completion: int, **kw: Any) -> int:
    args: dict[str, Any] = {
        "cache_read": 0,
        "cache_write": 0,
        "cache_write_5m": 0,
        "cache_write_1h": 0,
        "image": 0,
        "anthropic_usage": False,
        "model_ratio": 1.0,
        "completion_ratio": 1.0,
        "cache_ratio": 1.0,
        "create_cache_ratio": 1.25,
        "image_ratio": 1.0,
        "group_ratio": 1.0,
    }
    args.update(kw)
    return int(impl.settle_ratio(prompt, completion, **args))


# --- an independent reference: exact rationals ------------------------------------------


def F(x: float) -> Fraction:
    return Fraction(Decimal(repr(float(x))))


def round_half_away(q: Fraction) -> int:
    r = math.floor(abs(q) + Fraction(1, 2))
    return r if q >= 0 else -r


def ref_settle_ratio(
    p: int, c: int, cr: int, cw: int, cw5: int, cw1: int, im: int, anth: bool,
    mr: float, ccr: float, crr: float, ccrr: float, ir: float, gr: float,
) -> int:  # fmt: skip
    ratio = F(mr) * F(gr)
    base = p
    cached = Fraction(0)
    if cr != 0:
        if not anth:
            base -= cr
        cached = cr * F(crr)
    created = Fraction(0)
    if cw != 0 or cw5 > 0 or cw1 > 0:
        if not anth:
            base -= cw
            created = cw * F(ccrr)
        else:
            rem = max(cw - cw5 - cw1, 0)
            created = rem * F(ccrr) + cw5 * F(ccrr) + cw1 * F(float(ccrr) * (6 / 3.75))
    imaged = Fraction(0)
    if im != 0:
        base -= im
        imaged = im * F(ir)
    base = max(base, 0)
    q = (base + cached + imaged + created + c * F(ccr)) * ratio
    if ratio != 0 and q <= 0:
        q = Fraction(1)
    quota = min(max(round_half_away(q), MINQ), MAXQ)
    if p + c == 0:
        return 0
    if ratio != 0 and quota == 0:
        return 1
    return quota


# --- worked examples ----------------------------------------------------------------------


def test_worked_example(impl: ModuleType) -> None:
    # (57 + 34 * 4) * 0.075 = 14.475 -> 14
    assert settle(impl, 57, 34, model_ratio=0.075, completion_ratio=4) == 14


@pytest.mark.parametrize(
    ("prompt", "ratio", "expected"),
    [(3, 0.5, 2), (5, 0.5, 3), (1, 1.5, 2), (7, 0.5, 4), (10, 0.25, 3), (45, 0.7, 32)],
)
def test_half_rounds_away_from_zero(
    impl: ModuleType, prompt: int, ratio: float, expected: int
) -> None:
    # 45 * 0.7 is 31.499999999999996 in float64 but exactly 31.5 in decimal.
    assert settle(impl, prompt, 0, model_ratio=ratio) == expected


def test_minimum_one_when_ratio_nonzero(impl: ModuleType) -> None:
    assert settle(impl, 1, 0, model_ratio=0.001) == 1
    # q == 0 with a non-zero ratio (fully cached at cache ratio 0) becomes 1.
    assert settle(impl, 10, 0, cache_read=10, cache_ratio=0.0) == 1
    # q < 0 (negative completion ratio) becomes 1 as well.
    assert settle(impl, 1, 10, completion_ratio=-1.0) == 1


def test_zero(impl: ModuleType) -> None:
    assert settle(impl, 0, 0, model_ratio=2.0) == 0
    assert settle(impl, 100, 100, model_ratio=0.0) == 0
    assert settle(impl, 100, 100, group_ratio=0.0) == 0
    assert settle(impl, 0, 0, cache_read=5, cache_write=5) == 0


def test_cache_openai_vs_anthropic(impl: ModuleType) -> None:
    # OpenAI: prompt tokens include cached ones.  200 + 800 * 0.1 = 280
    assert settle(impl, 1000, 0, cache_read=800, cache_ratio=0.1) == 280
    # Anthropic: prompt tokens exclude them.  1000 + 800 * 0.1 = 1080
    assert settle(impl, 1000, 0, cache_read=800, cache_ratio=0.1, anthropic_usage=True) == 1080
    # OpenAI cache write: (1000 - 500) + 500 * 1.25 = 1125
    assert settle(impl, 1000, 0, cache_write=500) == 1125
    # Anthropic 5m/1h split: 100 + 600 * 1.25 + 400 * (1.25 * 1.6) = 1650
    assert (
        settle(impl, 100, 0, cache_write=1000, cache_write_5m=600, cache_write_1h=400,
               anthropic_usage=True)
        == 1650
    )  # fmt: skip
    # Anthropic without a split: all at the 5m rate.  100 + 1000 * 1.25
    assert settle(impl, 100, 0, cache_write=1000, anthropic_usage=True) == 1350


def test_image_and_base_clamp(impl: ModuleType) -> None:
    assert settle(impl, 100, 0, image=50, image_ratio=2.0) == 150
    assert settle(impl, 10, 5, cache_read=50, cache_ratio=0.5) == 30  # base -40 -> 0


def test_saturation(impl: ModuleType) -> None:
    assert settle(impl, 10**9, 10**9, model_ratio=10.0) == MAXQ
    assert settle(impl, 2**100, 0) == MAXQ  # beyond int64: exact path


def test_non_finite_rejected(impl: ModuleType) -> None:
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError):
            settle(impl, 1, 1, model_ratio=bad)
        with pytest.raises(ValueError):
            impl.settle_price(bad, 1.0, 1.0)


def test_type_errors(impl: ModuleType) -> None:
    with pytest.raises(TypeError):
        settle(impl, 1.5, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        impl.pre_consume_ratio(1.0, 0, 0, 1.0, 1.0)


def test_settle_price(impl: ModuleType) -> None:
    assert impl.settle_price(0.02, 500000.0, 1.0) == 10000
    assert impl.settle_price(0.7, 45.0, 1.0) == 32  # exact 31.5, float 31.4999...
    assert impl.settle_price(1.1, 25.0, 1.0) == 28  # exact 27.5, float 27.500000000000004
    assert impl.settle_price(0.5, 3.0, 1.0, 1.0) == 2
    assert impl.settle_price(-0.5, 3.0, 1.0) == -2
    assert impl.settle_price(0.02, 500000.0, 1.5, 2.0, total_tokens=0) == 0
    assert impl.settle_price(1e10, 1e10, 1.0) == MAXQ
    assert impl.settle_price(-1e10, 1e10, 1.0) == MINQ


def test_pre_consume(impl: ModuleType) -> None:
    assert impl.pre_consume_ratio(100, 50, 0, 1.5, 1.0) == 225
    assert impl.pre_consume_ratio(10, 0, 100, 2.0, 0.5) == 100
    assert impl.pre_consume_ratio(1, 0, 0, -1.5, 1.0) == -1  # truncates toward zero
    assert impl.pre_consume_ratio(3, 0, 0, 0.1, 1.0) == 0  # 0.30000000000000004
    assert impl.pre_consume_ratio(1, 0, 0, math.nan, 1.0) == 0
    assert impl.pre_consume_ratio(1, 0, 0, math.inf, 1.0) == MAXQ
    assert impl.pre_consume_ratio(1, 0, 0, -math.inf, 1.0) == MINQ
    assert impl.pre_consume_ratio(0, 0, 0, math.inf, 1.0) == 0  # 0 * inf = NaN
    assert impl.pre_consume_price(0.02, 500000.0, 1.0) == 10000
    assert impl.pre_consume_price(0.7, 45.0, 1.0) == 31  # float64, truncated
    assert impl.pre_consume_price(0.1, 3.0, 1.0, 10.0) == 3
    assert impl.pre_consume_price(1e300, 1e300, 1.0) == MAXQ


def test_constants(impl: ModuleType) -> None:
    assert (impl.MAX_QUOTA, impl.MIN_QUOTA) == (MAXQ, MINQ)


# --- property tests -----------------------------------------------------------------------

_tokens = st.integers(0, 5000) | st.integers(-(2**41), 2**41) | st.integers(-(2**70), 2**70)
_ratios = (
    st.sampled_from([0.0, -0.0, 0.5, 1.5, 0.25, 0.125, 2.5, 0.7, 1.1, 0.075, 0.1, 1.25, 4.0, 1.0])
    | st.floats(0, 100)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
)


@st.composite
def _usage(draw: st.DrawFn, tokens: st.SearchStrategy[int]) -> tuple[Any, ...]:
    return (
        *(draw(tokens) for _ in range(7)),
        draw(st.booleans()),
        *(draw(_ratios) for _ in range(6)),
    )


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (ValueError, TypeError, OverflowError) as exc:
        return type(exc)


@given(_usage(_tokens))
def test_settle_ratio_py_c(py: ModuleType, c: ModuleType, usage: tuple[Any, ...]) -> None:
    assert _outcome(c.settle_ratio, *usage) == _outcome(py.settle_ratio, *usage)


# Small odd token counts with ratios like 0.5/1.5/0.25 land exactly on .5.
_halfy = st.sampled_from([0.0, 0.5, 1.5, 0.25, 0.125, 2.5, 0.7, 1.1, 1.0, 0.3])


@given(
    st.lists(st.integers(0, 99), min_size=7, max_size=7),
    st.booleans(),
    st.lists(_halfy, min_size=6, max_size=6),
)
def test_settle_ratio_ties(
    py: ModuleType, c: ModuleType, ints: list[int], anth: bool, ratios: list[float]
) -> None:
    args = (*ints, anth, *ratios)
    expected = ref_settle_ratio(*args)  # type: ignore[arg-type]
    assert py.settle_ratio(*args) == expected
    assert c.settle_ratio(*args) == expected


@given(_usage(st.integers(-(10**6), 10**7)))
def test_settle_ratio_reference(py: ModuleType, usage: tuple[Any, ...]) -> None:
    # The twins reject a create_cache_ratio whose 1h rate (x 1.6) overflows, even if
    # unused, as Go's NewFromFloat(+Inf) would panic; the reference does not check.
    if math.isfinite(usage[11] * (6 / 3.75)):
        assert _outcome(py.settle_ratio, *usage) == _outcome(ref_settle_ratio, *usage)


_prices = _ratios | st.floats(width=64) | _halfy


@given(_prices, _prices, _prices, _prices, _tokens)
def test_settle_price_py_c(
    py: ModuleType, c: ModuleType, a: float, b: float, g: float, m: float, tt: int
) -> None:
    assert _outcome(c.settle_price, a, b, g, m, tt) == _outcome(py.settle_price, a, b, g, m, tt)
    if all(math.isfinite(x) for x in (a, b, g, m)) and tt:
        q = F(a) * F(b) * F(g) * F(m)
        assert py.settle_price(a, b, g, m, tt) == min(max(round_half_away(q), MINQ), MAXQ)


@given(_tokens, _tokens, _tokens, _prices, _prices)
def test_pre_consume_ratio_py_c(
    py: ModuleType, c: ModuleType, p: int, m: int, pm: int, mr: float, gr: float
) -> None:
    assert _outcome(c.pre_consume_ratio, p, m, pm, mr, gr) == _outcome(
        py.pre_consume_ratio, p, m, pm, mr, gr
    )


@given(_prices, _prices, _prices, _prices)
def test_pre_consume_price_py_c(
    py: ModuleType, c: ModuleType, a: float, b: float, g: float, m: float
) -> None:
    assert _outcome(c.pre_consume_price, a, b, g, m) == _outcome(py.pre_consume_price, a, b, g, m)
