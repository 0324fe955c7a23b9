"""relay.billing.quote: pre-consumption holds and settlement, checked against billing.md."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.billing.quote import Quote, UnpricedModel, make_quote
from relay.options import Options
from relay.providers.base import Usage

DEFAULTS = Options.from_rows({})


def quote(
    model: str,
    prompt: int = 0,
    max_tokens: int = 0,
    *,
    options: Options = DEFAULTS,
    user_group: str = "default",
    using_group: str = "default",
    accept_unset: bool = False,
) -> Quote:
    return make_quote(options, model, user_group, using_group, prompt, max_tokens, accept_unset)


def D(x: float) -> Decimal:
    """Go decimal.NewFromFloat: the shortest repr of the float."""
    return Decimal(repr(float(x)))


def reference_charge(q: Quote, u: Usage) -> int:
    """billing.md "Settlement", computed independently in Decimal."""
    if u.prompt_tokens + u.completion_tokens == 0:
        return 0
    if q.use_price:
        value = D(q.price) * D(q.quota_per_unit) * D(q.group_ratio)
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    ratio = D(q.model_ratio) * D(q.group_ratio)
    cache, create, image = D(q.cache_ratio), D(q.create_cache_ratio), D(q.image_ratio)
    create_1h = D(q.create_cache_ratio * (6 / 3.75))
    if not u.anthropic:
        base = max(u.prompt_tokens - u.cached_tokens - u.cache_write_tokens - u.image_tokens, 0)
        prompt = base + u.cached_tokens * cache + u.cache_write_tokens * create
    else:
        base = max(u.prompt_tokens - u.image_tokens, 0)
        rest = max(u.cache_write_tokens - u.cache_write_5m_tokens - u.cache_write_1h_tokens, 0)
        prompt = (
            base
            + u.cached_tokens * cache
            + u.cache_write_5m_tokens * create
            + u.cache_write_1h_tokens * create_1h
            + rest * create
        )
    prompt += u.image_tokens * image
    value = (prompt + u.completion_tokens * D(q.completion_ratio)) * ratio
    quota = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if ratio != 0 and quota <= 0:
        quota = 1
    return quota


# --- make_quote -----------------------------------------------------------------------------


def test_ratio_model_quote() -> None:
    q = quote("gpt-4o-mini", prompt=100, max_tokens=0)
    assert not q.use_price
    assert q.price == -1.0
    assert (q.model_ratio, q.completion_ratio, q.cache_ratio) == (0.075, 4, 0.5)
    assert (q.create_cache_ratio, q.image_ratio, q.group_ratio) == (1.25, 1.0, 1.0)
    assert q.quota_per_unit == 500000.0
    assert q.hold == math.trunc(500 * 0.075)  # max(100, PreConsumedQuota=500)
    assert q.log_other() == {
        "model_ratio": 0.075,
        "group_ratio": 1.0,
        "completion_ratio": 4,
        "cache_ratio": 0.5,
        "model_price": -1,
    }


@pytest.mark.parametrize(
    ("prompt", "max_tokens", "pre_consumed", "expected_tokens"),
    [
        (100, 0, 500, 500),
        (900, 0, 500, 900),
        (100, 1000, 500, 1500),
        (900, 7, 500, 907),
        (0, 0, 0, 0),
        (3, 4, 0, 7),
    ],
)
def test_ratio_hold_is_truncated(
    prompt: int, max_tokens: int, pre_consumed: int, expected_tokens: int
) -> None:
    options = Options.from_rows(
        {
            "PreConsumedQuota": str(pre_consumed),
            "ModelRatio": '{"m": 0.37}',
            "GroupRatio": '{"default": 1, "g": 1.3}',
        }
    )
    q = quote("m", prompt, max_tokens, options=options, using_group="g")
    assert q.hold == math.trunc(expected_tokens * (0.37 * 1.3))
    assert q.group_ratio == 1.3


def test_price_model_quote() -> None:
    options = Options.from_rows({"GroupRatio": '{"default": 1, "vip": 1.5}'})
    q = quote("dall-e-3", prompt=10_000, max_tokens=5000, options=options, using_group="vip")
    assert q.use_price and q.price == 0.04
    assert q.hold == math.trunc(0.04 * 500000 * 1.5)  # tokens do not matter
    assert q.log_other()["model_price"] == 0.04
    assert q.model_ratio == 0.0


def test_gizmo_price_wins_over_its_ratio() -> None:
    q = quote("gpt-4-gizmo-g-abc", prompt=10)
    assert q.use_price and q.hold == 50000


def test_group_group_ratio_is_used() -> None:
    options = Options.from_rows(
        {"GroupRatio": '{"default": 1, "vip": 2}', "GroupGroupRatio": '{"vip": {"default": 0.5}}'}
    )
    assert quote("gpt-4o", options=options, user_group="vip").group_ratio == 0.5
    assert quote("gpt-4o", options=options, user_group="default").group_ratio == 1.0
    assert quote("gpt-4o", options=options, using_group="vip").group_ratio == 2.0


def test_unpriced_model_is_refused() -> None:
    with pytest.raises(UnpricedModel, match="no-such-model"):
        quote("no-such-model")


@pytest.mark.parametrize(
    ("rows", "accept_unset"),
    [({"SelfUseModeEnabled": "true"}, False), ({}, True)],
)
def test_unpriced_model_uses_37_5_in_self_use_or_when_accepted(
    rows: dict[str, str], accept_unset: bool
) -> None:
    q = quote("no-such-model", 10, 20, options=Options.from_rows(rows), accept_unset=accept_unset)
    assert q.model_ratio == 37.5
    assert q.hold == math.trunc(520 * 37.5)
    assert q.completion_ratio == 1


FREE_ROWS = {
    "ModelRatio": '{"free": 0, "paid": 2}',
    "ModelPrice": '{"free-call": 0, "paid-call": 0.01}',
    "GroupRatio": '{"default": 1, "zero": 0}',
    "quota_setting.enable_free_model_pre_consume": "false",
}


@pytest.mark.parametrize(
    ("model", "group", "hold"),
    [
        ("free", "default", 0),
        ("paid", "zero", 0),
        ("free-call", "default", 0),
        ("paid-call", "zero", 0),
        ("paid-call", "default", 5000),
        ("paid", "default", 2 * (10**6 + 500)),
    ],
)
def test_free_models_hold_nothing_when_free_pre_consume_is_off(
    model: str, group: str, hold: int
) -> None:
    q = quote(model, 10**6, 500, options=Options.from_rows(FREE_ROWS), using_group=group)
    assert q.hold == hold


# --- settlement -----------------------------------------------------------------------------


def test_charge_worked_example_openai() -> None:
    q = quote("gpt-4o-mini")
    # (57 + 34 × 4) × 0.075 = 14.475 → 14
    assert q.charge(Usage(prompt_tokens=57, completion_tokens=34)) == 14
    # Cached tokens at 0.5: (1000 - 400 + 400 × 0.5 + 10 × 4) × 0.075 = 63
    assert q.charge(Usage(prompt_tokens=1000, completion_tokens=10, cached_tokens=400)) == 63


def test_charge_worked_example_anthropic() -> None:
    q = quote("claude-3-5-sonnet-20241022")
    usage = Usage(
        prompt_tokens=100,
        completion_tokens=50,
        cached_tokens=1000,
        cache_write_tokens=300,
        cache_write_5m_tokens=100,
        cache_write_1h_tokens=100,
        anthropic=True,
    )
    # (100 + 1000×0.1 + 100×1.25 + 100×2 + 100×1.25 + 50×5) × 1.5 = 900×1.5 = 1350
    assert q.charge(usage) == 1350


def test_charge_minimum_is_one_and_zero_usage_is_free() -> None:
    q = quote("text-embedding-3-small")
    assert q.charge(Usage(prompt_tokens=1)) == 1
    assert q.charge(Usage()) == 0


def test_price_charge() -> None:
    options = Options.from_rows({"GroupRatio": '{"default": 1, "g": 0.7}'})
    q = quote("mj_imagine", options=options, using_group="g")
    assert q.charge(Usage(prompt_tokens=1)) == 35000
    assert q.charge(Usage()) == 0


def test_charge_rounds_half_away_from_zero() -> None:
    options = Options.from_rows({"ModelRatio": '{"m": 0.5}', "CompletionRatio": '{"m": 1}'})
    q = quote("m", options=options)
    assert q.charge(Usage(prompt_tokens=3)) == 2  # 1.5 → 2
    assert q.charge(Usage(prompt_tokens=5)) == 3  # 2.5 → 3


MODELS = [
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-5",
    "claude-3-5-sonnet-20241022",
    "claude-opus-4-20250514",
    "gpt-image-1",
    "deepseek-chat",
    "gemini-2.5-flash",
    "dall-e-3",
]
GROUPS = Options.from_rows({"GroupRatio": '{"default": 1, "vip": 0.85, "x": 1.37, "free": 0}'})


@settings(max_examples=300, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    group=st.sampled_from(["default", "vip", "x", "free"]),
    prompt=st.integers(0, 200_000),
    completion=st.integers(0, 50_000),
    cached=st.integers(0, 100_000),
    write=st.integers(0, 50_000),
    write_5m=st.integers(0, 20_000),
    write_1h=st.integers(0, 20_000),
    image=st.integers(0, 5_000),
    anthropic=st.booleans(),
)
def test_charge_matches_an_independent_decimal_computation(
    model: str,
    group: str,
    prompt: int,
    completion: int,
    cached: int,
    write: int,
    write_5m: int,
    write_1h: int,
    image: int,
    anthropic: bool,
) -> None:
    q = quote(model, options=GROUPS, using_group=group)
    usage = Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        cache_write_tokens=write,
        cache_write_5m_tokens=write_5m if anthropic else 0,
        cache_write_1h_tokens=write_1h if anthropic else 0,
        image_tokens=image,
        anthropic=anthropic,
    )
    assert q.charge(usage) == reference_charge(q, usage)
