"""Pure-Python quota arithmetic of new-api (twin of ``_ratio_c``).

Pre-consumption is float64 arithmetic truncated like Go's ``int(float64)``;
settlement is exact decimal arithmetic like shopspring/decimal, where
``decimal.NewFromFloat(x)`` equals ``Decimal(repr(x))``.
"""

from __future__ import annotations

import math
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from operator import index

__all__ = [
    "MAX_QUOTA",
    "MIN_QUOTA",
    "pre_consume_price",
    "pre_consume_ratio",
    "settle_price",
    "settle_ratio",
]

MAX_QUOTA = 2147483647
MIN_QUOTA = -2147483648

# Additions and multiplications of finite decimals are exact under MAX_PREC (no
# division is ever done, which is what would make such a context blow up), so
# the results match arbitrary-precision Go decimals.  Used only via localcontext:
# the thread's own decimal context is never modified.
_EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    rounding=ROUND_HALF_UP,  # decimal's HALF_UP is half away from zero, like Round(0)
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
_ONE = Decimal(1)
_CREATE_1H_FACTOR = 6 / 3.75  # Go: cacheCreationRatio * (6 / 3.75), in float64


def _saturate_float(value: float) -> int:
    """Go ``int(value)`` for quota: truncate toward zero, saturate, NaN -> 0."""
    if value != value:
        return 0
    if value >= MAX_QUOTA:
        return MAX_QUOTA
    if value <= MIN_QUOTA:
        return MIN_QUOTA
    return int(value)


def _saturate(value: int) -> int:
    return MAX_QUOTA if value > MAX_QUOTA else MIN_QUOTA if value < MIN_QUOTA else value


def _finite(*values: float) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    for v in out:
        if not math.isfinite(v):
            raise ValueError(f"quota ratios and prices must be finite, got {v!r}")
    return out


def _dec(x: float) -> Decimal:
    """``decimal.NewFromFloat(x)``: the shortest repr that round-trips."""
    return Decimal(repr(x))


def pre_consume_ratio(
    prompt_tokens: int,
    max_tokens: int,
    pre_consumed_min: int,
    model_ratio: float,
    group_ratio: float,
) -> int:
    """Quota reserved before a ratio-billed request."""
    tokens = max(index(prompt_tokens), index(pre_consumed_min)) + index(max_tokens)
    return _saturate_float(float(tokens) * (float(model_ratio) * float(group_ratio)))


def pre_consume_price(
    price: float, quota_per_unit: float, group_ratio: float, multiplier: float = 1.0
) -> int:
    """Quota reserved before a price-billed (per-call) request."""
    value = float(price) * float(quota_per_unit) * float(group_ratio) * float(multiplier)
    return _saturate_float(value)


def settle_ratio(
    prompt: int,
    completion: int,
    cache_read: int,
    cache_write: int,
    cache_write_5m: int,
    cache_write_1h: int,
    image: int,
    anthropic_usage: bool,
    model_ratio: float,
    completion_ratio: float,
    cache_ratio: float,
    create_cache_ratio: float,
    image_ratio: float,
    group_ratio: float,
) -> int:
    """Final quota of a ratio-billed request from its usage (exact decimal)."""
    prompt, completion, cache_read, cache_write = (
        index(prompt),
        index(completion),
        index(cache_read),
        index(cache_write),
    )
    cache_write_5m, cache_write_1h, image = (
        index(cache_write_5m),
        index(cache_write_1h),
        index(image),
    )
    model_ratio, completion_ratio, cache_ratio, create_cache_ratio, image_ratio, group_ratio = (
        _finite(
            model_ratio, completion_ratio, cache_ratio, create_cache_ratio, image_ratio, group_ratio
        )
    )
    create_1h = create_cache_ratio * _CREATE_1H_FACTOR
    if not math.isfinite(create_1h):
        raise ValueError(f"create_cache_ratio too large: {create_cache_ratio!r}")
    with localcontext(_EXACT):
        ratio = _dec(model_ratio) * _dec(group_ratio)
        base = prompt
        cached: Decimal | int = 0
        if cache_read != 0:
            if not anthropic_usage:
                base -= cache_read
            cached = cache_read * _dec(cache_ratio)
        created: Decimal | int = 0
        if cache_write != 0 or cache_write_5m > 0 or cache_write_1h > 0:
            if not anthropic_usage:
                base -= cache_write
                created = cache_write * _dec(create_cache_ratio)
            else:
                remaining = max(cache_write - cache_write_5m - cache_write_1h, 0)
                create_5m = _dec(create_cache_ratio)
                created = (
                    remaining * create_5m
                    + cache_write_5m * create_5m
                    + cache_write_1h * _dec(create_1h)
                )
        imaged: Decimal | int = 0
        if image != 0:
            base -= image
            imaged = image * _dec(image_ratio)
        base = max(base, 0)
        q = (base + cached + imaged + created + completion * _dec(completion_ratio)) * ratio
        if ratio != 0 and q <= 0:
            q = _ONE
        quota = _saturate(int(q.to_integral_value(rounding=ROUND_HALF_UP)))
    if prompt + completion == 0:
        return 0
    if ratio != 0 and quota == 0:
        return 1
    return quota


def settle_price(
    price: float,
    quota_per_unit: float,
    group_ratio: float,
    multiplier: float = 1.0,
    total_tokens: int = 1,
) -> int:
    """Final quota of a price-billed request (exact decimal)."""
    total_tokens = index(total_tokens)
    price, quota_per_unit, group_ratio, multiplier = _finite(
        price, quota_per_unit, group_ratio, multiplier
    )
    with localcontext(_EXACT):
        q = _dec(price) * _dec(quota_per_unit) * _dec(group_ratio) * _dec(multiplier)
        quota = _saturate(int(q.to_integral_value(rounding=ROUND_HALF_UP)))
    if total_tokens == 0:
        return 0
    return quota
