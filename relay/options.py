"""The runtime options relay reads from the `options` table, parsed and validated.

Each option has a parser that raises ValueError on a bad value; the admin API uses the same
parsers to refuse bad input, and a stored bad value falls back to the default with a warning.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from relay.billing.ratios import RatioBook, default_tables

log = logging.getLogger("relay.options")

DEFAULT_RETRY_STATUS_CODES = "100-199,300-399,401-407,409-499,500-503,505-523,525-599"
DEFAULT_USABLE_GROUPS = {"default": "默认分组", "vip": "vip分组"}
DEFAULT_GROUP_RATIO = {"default": 1.0, "vip": 1.0, "svip": 1.0}


def parse_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise ValueError(f"{value!r} is not true or false")


def parse_int(value: str, lo: int = 0, hi: int = 2**62) -> int:
    n = int(value.strip())
    if not lo <= n <= hi:
        raise ValueError(f"{n} is out of range ({lo}..{hi})")
    return n


def parse_positive_float(value: str) -> float:
    f = float(value.strip())
    if not (f > 0 and math.isfinite(f)):
        raise ValueError(f"{value!r} must be a finite number greater than 0")
    return f


def parse_ratio_map(value: str) -> Mapping[str, float]:
    """A JSON object of model/group name to a non-negative number."""
    data = orjson.loads(value or "{}")
    if not isinstance(data, dict):
        raise ValueError("must be a JSON object")
    out: dict[str, float] = {}
    for name, ratio in data.items():
        if isinstance(ratio, bool) or not isinstance(ratio, int | float):
            raise ValueError(f"the value for {name!r} must be a number")
        if ratio < 0:
            raise ValueError(f"the value for {name!r} must not be negative")
        out[str(name)] = float(ratio)
    return MappingProxyType(out)


def parse_nested_ratio_map(value: str) -> Mapping[str, Mapping[str, float]]:
    data = orjson.loads(value or "{}")
    if not isinstance(data, dict):
        raise ValueError("must be a JSON object")
    return MappingProxyType(
        {str(k): parse_ratio_map(orjson.dumps(v).decode()) for k, v in data.items()}
    )


def parse_string_map(value: str) -> Mapping[str, Any]:
    data = orjson.loads(value or "{}")
    if not isinstance(data, dict):
        raise ValueError("must be a JSON object")
    return MappingProxyType(data)


def parse_string_list(value: str) -> tuple[str, ...]:
    data = orjson.loads(value or "[]")
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise ValueError("must be a JSON array of strings")
    return tuple(data)


def parse_group_limits(value: str) -> Mapping[str, tuple[int, int]]:
    """ModelRequestRateLimitGroup: {"group": [total, success]} with 0 <= values <= 2^31-1."""
    data = orjson.loads(value or "{}")
    if not isinstance(data, dict):
        raise ValueError("must be a JSON object")
    out: dict[str, tuple[int, int]] = {}
    for group, pair in data.items():
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(
                isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 2**31 - 1 for n in pair
            )
        ):
            raise ValueError(f"the value for {group!r} must be [total, success]")
        if pair[1] < 1:
            raise ValueError(f"the success count for {group!r} must be at least 1")
        out[str(group)] = (pair[0], pair[1])
    return MappingProxyType(out)


def parse_status_ranges(value: str) -> frozenset[int]:
    """'401,429,500-599' → the set of HTTP status codes it names."""
    codes: set[int] = set()
    for part in value.replace(" ", "").split(","):
        if not part:
            continue
        lo_s, _, hi_s = part.partition("-")
        lo, hi = int(lo_s), int(hi_s or lo_s)
        if not 100 <= lo <= hi <= 599:
            raise ValueError(f"{part!r} is not a status code or range within 100-599")
        codes.update(range(lo, hi + 1))
    return frozenset(codes)


@dataclass(frozen=True)
class OptionSpec:
    parse: Callable[[str], Any]
    default: str


OPTION_SPECS: Mapping[str, OptionSpec] = {
    "ModelRatio": OptionSpec(parse_ratio_map, ""),
    "ModelPrice": OptionSpec(parse_ratio_map, ""),
    "CompletionRatio": OptionSpec(parse_ratio_map, ""),
    "CacheRatio": OptionSpec(parse_ratio_map, ""),
    "CreateCacheRatio": OptionSpec(parse_ratio_map, ""),
    "ImageRatio": OptionSpec(parse_ratio_map, ""),
    "GroupRatio": OptionSpec(parse_ratio_map, orjson.dumps(DEFAULT_GROUP_RATIO).decode()),
    "GroupGroupRatio": OptionSpec(parse_nested_ratio_map, "{}"),
    "UserUsableGroups": OptionSpec(parse_string_map, orjson.dumps(DEFAULT_USABLE_GROUPS).decode()),
    "group_ratio_setting.group_special_usable_group": OptionSpec(parse_string_map, "{}"),
    "AutoGroups": OptionSpec(parse_string_list, '["default"]'),
    "RetryTimes": OptionSpec(lambda v: parse_int(v, 0, 100), "0"),
    "AutomaticRetryStatusCodes": OptionSpec(parse_status_ranges, DEFAULT_RETRY_STATUS_CODES),
    "PreConsumedQuota": OptionSpec(parse_int, "500"),
    "QuotaPerUnit": OptionSpec(parse_positive_float, "500000"),
    "SelfUseModeEnabled": OptionSpec(parse_bool, "false"),
    "LogConsumeEnabled": OptionSpec(parse_bool, "true"),
    "DisplayTokenStatEnabled": OptionSpec(parse_bool, "true"),
    "DisplayInCurrencyEnabled": OptionSpec(parse_bool, "true"),
    "USDExchangeRate": OptionSpec(parse_positive_float, "7.3"),
    "general_setting.quota_display_type": OptionSpec(
        lambda v: v if v in ("USD", "CNY", "TOKENS", "CUSTOM") else _bad_display(v), "USD"
    ),
    "quota_setting.enable_free_model_pre_consume": OptionSpec(parse_bool, "true"),
    "ModelRequestRateLimitEnabled": OptionSpec(parse_bool, "false"),
    "ModelRequestRateLimitDurationMinutes": OptionSpec(lambda v: parse_int(v, 1, 525600), "1"),
    "ModelRequestRateLimitCount": OptionSpec(lambda v: parse_int(v, 0, 2**31 - 1), "0"),
    "ModelRequestRateLimitSuccessCount": OptionSpec(lambda v: parse_int(v, 1, 2**31 - 1), "1000"),
    "ModelRequestRateLimitGroup": OptionSpec(parse_group_limits, "{}"),
}


def _bad_display(value: str) -> str:
    raise ValueError(f"{value!r} must be USD, CNY, TOKENS or CUSTOM")


# Ratio options whose built-in defaults apply until a row is stored; a stored value replaces
# the whole table, as new-api's option loading does.
_RATIO_TABLES = {
    "ModelRatio": "model_ratio",
    "ModelPrice": "model_price",
    "CompletionRatio": "completion_ratio",
    "CacheRatio": "cache_ratio",
    "CreateCacheRatio": "create_cache_ratio",
    "ImageRatio": "image_ratio",
}


@dataclass(frozen=True)
class Options:
    """Typed view of the options table (defaults where a row is absent or bad)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    ratios: RatioBook = field(default_factory=RatioBook)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @classmethod
    def from_rows(cls, rows: Mapping[str, str]) -> Options:
        values: dict[str, Any] = {}
        stored: set[str] = set()  # keys whose stored row parsed (a bad row means the default)
        for key, spec in OPTION_SPECS.items():
            raw = rows.get(key, spec.default)
            try:
                values[key] = spec.parse(raw)
                if rows.get(key):
                    stored.add(key)
            except (ValueError, orjson.JSONDecodeError) as exc:
                log.warning("option %s has a bad value (%s); using the default", key, exc)
                values[key] = spec.parse(spec.default)
        tables = {
            attr: values[key] if key in stored else default_tables()[key]
            for key, attr in _RATIO_TABLES.items()
        }
        ratios = RatioBook(
            **tables,
            group_ratio=values["GroupRatio"],
            group_group_ratio=values["GroupGroupRatio"],
        )
        return cls(values=MappingProxyType(values), ratios=ratios)

    def usable_groups(self, user_group: str) -> Mapping[str, str]:
        """GetUserUsableGroups: UserUsableGroups, adjusted per user group, plus the user's own."""
        groups = dict(self.values["UserUsableGroups"])
        special = self.values["group_ratio_setting.group_special_usable_group"].get(user_group)
        if isinstance(special, dict):
            for name, desc in special.items():
                if name.startswith("-:"):
                    groups.pop(name[2:], None)
                elif name.startswith("+:"):
                    groups[name[2:]] = desc
                else:
                    groups[name] = desc
        if user_group and user_group not in groups:
            groups[user_group] = "用户分组"
        return groups
