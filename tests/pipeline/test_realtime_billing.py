"""relay.pipeline.realtime_billing: reading `response.done` usage and new-api's realtime price."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from relay.billing.quote import Quote, make_quote
from relay.options import Options
from relay.pipeline.realtime_billing import (
    AudioRatios,
    RealtimeUsage,
    audio_ratios,
    log_other,
    realtime_charge,
    usage_of,
)


def quote(model: str = "gpt-4o-realtime-preview", **rows: str) -> Quote:
    return make_quote(Options.from_rows(rows), model, "default", "default", 0, 0, False)


def done(usage: object) -> dict[str, object]:
    return {"type": "response.done", "response": {"id": "r", "usage": usage}}


def test_usage_is_read_with_its_details() -> None:
    usage = usage_of(
        done(
            {
                "total_tokens": 100,
                "input_tokens": 60,
                "output_tokens": 40,
                "input_token_details": {"text_tokens": 20, "audio_tokens": 40, "cached_tokens": 8},
                "output_token_details": {"text_tokens": 10, "audio_tokens": 30},
            }
        )
    )
    assert usage == RealtimeUsage(60, 40, 100, 20, 40, 8, 10, 30)
    log_usage = usage.as_usage()
    assert (log_usage.prompt_tokens, log_usage.completion_tokens) == (60, 40)
    assert log_usage.cached_tokens == 8


def test_usage_without_a_split_is_text() -> None:
    usage = usage_of(done({"input_tokens": 7, "output_tokens": 3}))
    assert usage == RealtimeUsage(7, 3, 10, 7, 0, 0, 3, 0)


@pytest.mark.parametrize("bad", [None, "x", [1]])
def test_no_usage_is_none(bad: object) -> None:
    assert usage_of(done(bad)) is None
    assert usage_of({"type": "response.done"}) is None


def test_audio_ratios_come_from_the_options_tables() -> None:
    book = Options.from_rows({}).ratios  # new-api's defaults
    assert audio_ratios(book, "gpt-4o-realtime-preview") == AudioRatios(8.0, 1.0)
    assert audio_ratios(book, "gpt-4o-realtime") == AudioRatios(1.0, 2.0)
    assert audio_ratios(book, "unlisted") == AudioRatios(1.0, 1.0)
    edited = Options.from_rows({"AudioRatio": '{"gpt-4o-realtime": 3}'}).ratios
    assert audio_ratios(edited, "gpt-4o-realtime") == AudioRatios(3.0, 2.0)


def test_charge_follows_calculate_audio_quota() -> None:
    q = quote()  # model ratio 2.5, completion ratio 4
    usage = RealtimeUsage(60, 40, 100, 20, 40, 8, 10, 30)
    ratios = AudioRatios(8.0, 2.0)
    tokens = Decimal(20) + Decimal(10) * 4 + Decimal(40) * 8 + Decimal(30) * 8 * 2
    expected = int((tokens * Decimal("2.5")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert realtime_charge(q, ratios, usage) == expected


def test_charge_rounds_half_away_after_the_minimum() -> None:
    q = quote("gpt-4o-mini")  # ratio 0.075
    one_token = RealtimeUsage(input_tokens=1, total_tokens=1, text_in=1)
    # new-api's minimum of 1 applies to a non-positive product, before rounding: 0.075 → 0.
    assert realtime_charge(q, AudioRatios(), one_token) == 0
    only_cached = RealtimeUsage(input_tokens=3, total_tokens=3, text_in=0, audio_in=0)
    assert realtime_charge(q, AudioRatios(), only_cached) == 1  # nothing billable: 1
    twenty = RealtimeUsage(input_tokens=20, total_tokens=20, text_in=20)
    assert realtime_charge(q, AudioRatios(), twenty) == 2  # 1.5 → 2


def test_no_tokens_cost_nothing() -> None:
    assert realtime_charge(quote(), AudioRatios(), RealtimeUsage()) == 0


def test_a_priced_model_costs_its_price_per_response() -> None:
    q = quote(ModelPrice='{"gpt-4o-realtime-preview": 0.02}')
    usage = RealtimeUsage(input_tokens=5, total_tokens=5, text_in=5)
    assert realtime_charge(q, AudioRatios(), usage) == 10000  # 0.02 × 500000


def test_log_fields_are_new_apis_wss_info() -> None:
    usage = RealtimeUsage(60, 40, 100, 20, 40, 8, 10, 30)
    assert log_other(AudioRatios(8.0, 2.0), usage) == {
        "ws": True,
        "audio_input": 40,
        "audio_output": 30,
        "text_input": 20,
        "text_output": 10,
        "audio_ratio": 8.0,
        "audio_completion_ratio": 2.0,
    }
