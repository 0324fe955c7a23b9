"""Billing of OpenAI Realtime sessions: the usage of a `response.done` and its charge, as
new-api prices realtime (service/quota.go calculateAudioQuota). Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from relay.billing.quote import Quote
from relay.billing.ratios import RatioBook
from relay.providers.base import Usage

_MAX_QUOTA = 2147483647
# Sums and products of finite decimals are exact at this precision (no division is done).
_EXACT = Context(prec=200, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class RealtimeUsage:
    """`response.usage` of one realtime response (OpenAI's field names; text_in includes the
    cached input, which new-api's realtime price does not discount)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    text_in: int = 0
    audio_in: int = 0
    cached_in: int = 0
    text_out: int = 0
    audio_out: int = 0

    def as_usage(self) -> Usage:
        """The usage-log view: prompt = input tokens, completion = output tokens."""
        return Usage(
            prompt_tokens=self.input_tokens,
            completion_tokens=self.output_tokens,
            cached_tokens=self.cached_in,
        )


def _int(mapping: Mapping[str, Any], name: str) -> int:
    value = mapping.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_of(event: Mapping[str, Any]) -> RealtimeUsage | None:
    """The usage a `response.done` event reports, or None when it has none."""
    response = event.get("response")
    usage = response.get("usage") if isinstance(response, dict) else None
    if not isinstance(usage, dict):
        return None
    inputs = usage.get("input_token_details")
    outputs = usage.get("output_token_details")
    inputs = inputs if isinstance(inputs, dict) else {}
    outputs = outputs if isinstance(outputs, dict) else {}
    input_tokens, output_tokens = _int(usage, "input_tokens"), _int(usage, "output_tokens")
    text_in, audio_in = _int(inputs, "text_tokens"), _int(inputs, "audio_tokens")
    text_out, audio_out = _int(outputs, "text_tokens"), _int(outputs, "audio_tokens")
    # An upstream that gives no split: all of it is text.
    if text_in + audio_in == 0:
        text_in = input_tokens
    if text_out + audio_out == 0:
        text_out = output_tokens
    return RealtimeUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_int(usage, "total_tokens") or input_tokens + output_tokens,
        text_in=text_in,
        audio_in=audio_in,
        cached_in=_int(inputs, "cached_tokens"),
        text_out=text_out,
        audio_out=audio_out,
    )


@dataclass(frozen=True, slots=True)
class AudioRatios:
    """A model's AudioRatio and AudioCompletionRatio (both 1 when the tables lack it)."""

    audio: float = 1.0
    audio_completion: float = 1.0


def audio_ratios(book: RatioBook, model: str) -> AudioRatios:
    """new-api's GetAudioRatio / GetAudioCompletionRatio of a model, from the options' tables."""
    return AudioRatios(book.audio_ratio_of(model), book.audio_completion_ratio_of(model))


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))  # shopspring's NewFromFloat: the shortest round-trip form


def realtime_charge(quote: Quote, ratios: AudioRatios, usage: RealtimeUsage) -> int:
    """calculateAudioQuota: (textIn + textOut×completion + audioIn×audio +
    audioOut×audio×audioCompletion) × model × group, at least 1 when the ratio is not 0; a
    priced model costs its price per response. No tokens at all cost nothing."""
    if usage.total_tokens == 0:
        return 0
    with localcontext(_EXACT):
        if quote.use_price:
            q = _dec(quote.price) * _dec(quote.quota_per_unit) * _dec(quote.group_ratio)
        else:
            ratio = _dec(quote.model_ratio) * _dec(quote.group_ratio)
            q = (
                usage.text_in
                + usage.text_out * _dec(quote.completion_ratio)
                + usage.audio_in * _dec(ratios.audio)
                + usage.audio_out * _dec(ratios.audio) * _dec(ratios.audio_completion)
            ) * ratio
            if ratio != 0 and q <= 0:
                q = Decimal(1)
        quota = int(q.to_integral_value(rounding=ROUND_HALF_UP))
    return max(min(quota, _MAX_QUOTA), -_MAX_QUOTA - 1)


def log_other(ratios: AudioRatios, usage: RealtimeUsage) -> dict[str, Any]:
    """The fields new-api's GenerateWssOtherInfo adds to a realtime consume log's `other`."""
    return {
        "ws": True,
        "audio_input": usage.audio_in,
        "audio_output": usage.audio_out,
        "text_input": usage.text_in,
        "text_output": usage.text_out,
        "audio_ratio": ratios.audio,
        "audio_completion_ratio": ratios.audio_completion,
    }
