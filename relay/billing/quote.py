"""What a request will cost: the quote taken before the upstream call and the final charge."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from relay._fast.ratio import pre_consume_price, pre_consume_ratio, settle_price, settle_ratio
from relay.billing.ratios import UNSET_MODEL_RATIO
from relay.options import Options
from relay.providers.base import Usage


class UnpricedModel(Exception):
    """The model has neither a price nor a ratio and self-use mode is off."""


@dataclass(frozen=True, slots=True)
class Quote:
    """The prices and ratios in force for one request, and the amount to hold."""

    model: str
    use_price: bool
    price: float
    model_ratio: float
    completion_ratio: float
    cache_ratio: float
    create_cache_ratio: float
    image_ratio: float
    group_ratio: float
    quota_per_unit: float
    hold: int
    free: bool = False  # free model with free pre-consumption off: no wallet checks at all
    count: int = 1  # a priced model's per-call multiplier: images asked for, then returned

    def charge(self, usage: Usage) -> int:
        """The settled quota for this usage (new-api's decimal formula, half away from zero)."""
        if self.use_price:
            return settle_price(
                self.price, self.quota_per_unit, self.group_ratio, self.count, usage.total_tokens
            )
        return settle_ratio(
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cached_tokens,
            usage.cache_write_tokens,
            usage.cache_write_5m_tokens,
            usage.cache_write_1h_tokens,
            usage.image_tokens,
            usage.anthropic,
            self.model_ratio,
            self.completion_ratio,
            self.cache_ratio,
            self.create_cache_ratio,
            self.image_ratio,
            self.group_ratio,
        )

    def charge_audio(
        self, text_in: int, audio_out: int, audio_ratio: float, audio_completion_ratio: float
    ) -> int:
        """new-api's audio charge (calculateAudioQuota) of a call with audio tokens: text in
        plus audio out × audio ratio × audio completion ratio, × model and group ratio."""
        if self.use_price:
            return settle_price(self.price, self.quota_per_unit, self.group_ratio)
        ratio = Decimal(repr(self.model_ratio)) * Decimal(repr(self.group_ratio))
        audio = Decimal(audio_out) * Decimal(repr(audio_ratio))
        tokens = Decimal(text_in) + audio * Decimal(repr(audio_completion_ratio))
        quota = tokens * ratio
        if ratio != 0 and quota <= 0:
            return 1
        return int(quota.to_integral_value(rounding=ROUND_HALF_UP))

    def log_other(self) -> dict[str, Any]:
        """The billing fields new-api stores in a consume log's `other`."""
        return {
            "model_ratio": self.model_ratio,
            "group_ratio": self.group_ratio,
            "completion_ratio": self.completion_ratio,
            "cache_ratio": self.cache_ratio,
            "model_price": self.price if self.use_price else -1,
        }


def make_quote(
    options: Options,
    model: str,
    user_group: str,
    using_group: str,
    prompt_tokens: int,
    max_tokens: int,
    accept_unset_ratio: bool,
    price_ratio: float = 1.0,
    count: int = 1,
) -> Quote:
    """Price a request as new-api's ModelPriceHelper does; raises UnpricedModel. A priced
    model's price is scaled by `price_ratio` (dall-e size and quality) and billed `count`
    times (images)."""
    ratios = options.ratios
    group_ratio = ratios.group_ratio_of(user_group, using_group)
    qpu = float(options["QuotaPerUnit"])
    price = ratios.price_of(model)
    free_precharge = options["quota_setting.enable_free_model_pre_consume"]
    if price is not None:
        price *= price_ratio
        free = not free_precharge and (price == 0 or group_ratio == 0)
        hold = 0 if free else pre_consume_price(price, qpu, group_ratio, count)
        return Quote(
            model, True, price, 0.0, 0.0, 1.0, 1.25, 1.0, group_ratio, qpu, hold, free, count
        )
    model_ratio = ratios.model_ratio_of(model)
    if model_ratio is None:
        if not (options["SelfUseModeEnabled"] or accept_unset_ratio):
            raise UnpricedModel(model)
        model_ratio = UNSET_MODEL_RATIO
    free = not free_precharge and (model_ratio == 0 or group_ratio == 0)
    hold = (
        0
        if free
        else pre_consume_ratio(
            prompt_tokens, max_tokens, options["PreConsumedQuota"], model_ratio, group_ratio
        )
    )
    return Quote(
        model,
        False,
        -1.0,
        model_ratio,
        ratios.completion_ratio_of(model),
        ratios.cache_ratio_of(model),
        ratios.create_cache_ratio_of(model),
        ratios.image_ratio_of(model),
        group_ratio,
        qpu,
        hold,
        free,
    )
