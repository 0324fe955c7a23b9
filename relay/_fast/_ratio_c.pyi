"""Type stub for the compiled quota arithmetic; same API as ``_ratio_py``."""

from typing import Final

__all__ = [
    "MAX_QUOTA",
    "MIN_QUOTA",
    "pre_consume_price",
    "pre_consume_ratio",
    "settle_price",
    "settle_ratio",
]

MAX_QUOTA: Final = 2147483647
MIN_QUOTA: Final = -2147483648

def pre_consume_ratio(
    prompt_tokens: int,
    max_tokens: int,
    pre_consumed_min: int,
    model_ratio: float,
    group_ratio: float,
) -> int: ...
def pre_consume_price(
    price: float, quota_per_unit: float, group_ratio: float, multiplier: float = 1.0
) -> int: ...
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
) -> int: ...
def settle_price(
    price: float,
    quota_per_unit: float,
    group_ratio: float,
    multiplier: float = 1.0,
    total_tokens: int = 1,
) -> int: ...
