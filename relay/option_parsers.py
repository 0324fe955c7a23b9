"""Parsers of option values (the strings of the `options` table): each returns the typed value
or raises ValueError with a message an admin can act on. relay.options maps every option to
one of these; the admin API validates input with the same parsers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson


def parse_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise ValueError(f"{value!r} is not true or false")


def parse_int(value: str, lo: int = 0, hi: int = 2**62) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an integer") from None
    if not lo <= n <= hi:
        raise ValueError(f"{n} is out of range ({lo}..{hi})")
    return n


def _float(value: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None


def parse_positive_float(value: str) -> float:
    f = _float(value)
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


def parse_text(value: str) -> str:
    return value


def parse_choice(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{value!r} must be one of {', '.join(choices)}")
    return value


def parse_url(value: str) -> str:
    """An http(s) URL, or empty."""
    v = value.strip()
    if v and not (v.startswith(("http://", "https://")) and len(v) > len("https://")):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return v


def parse_domain_list(value: str) -> tuple[str, ...]:
    """'example.com, corp.example' → lower-cased e-mail domains (empty = any domain)."""
    domains = tuple(d.strip().lower().lstrip("@") for d in value.split(",") if d.strip())
    for d in domains:
        if " " in d or "." not in d or "@" in d:
            raise ValueError(f"{d!r} is not an e-mail domain")
    return domains


def parse_group_name(value: str) -> str:
    v = value.strip()
    if not v or len(v) > 64 or "," in v:
        raise ValueError(f"{value!r} is not a group name (1-64 characters, no commas)")
    return v


def parse_keyword_lines(value: str) -> tuple[str, ...]:
    """A newline-separated list of phrases, matched case-insensitively (stored lower-cased)."""
    return tuple(line.strip().lower() for line in value.split("\n") if line.strip())


def parse_non_negative_float(value: str) -> float:
    f = float(value.strip())
    if not (f >= 0 and math.isfinite(f)):
        raise ValueError(f"{value!r} must be a finite number of at least 0")
    return f


def parse_rate(value: str) -> float:
    """A fraction in (0, 1]."""
    f = float(value.strip())
    if not 0 < f <= 1:
        raise ValueError(f"{value!r} must be a number greater than 0 and at most 1")
    return f


def _json_object(value: str) -> dict[str, Any]:
    data = orjson.loads(value or "{}")
    if not isinstance(data, dict):
        raise ValueError("must be a JSON object")
    return data


def parse_text_map(value: str) -> Mapping[str, str]:
    """A JSON object of names to strings (gemini.version_settings)."""
    data = _json_object(value)
    for name, text in data.items():
        if not isinstance(text, str):
            raise ValueError(f"the value for {name!r} must be a string")
    return MappingProxyType(data)


def parse_max_tokens_map(value: str) -> Mapping[str, int]:
    """claude.default_max_tokens: model name (or "default") → max_tokens, an integer >= 0."""
    data = _json_object(value)
    for name, n in data.items():
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 2**31 - 1:
            raise ValueError(f"the max_tokens of {name!r} must be an integer of at least 0")
    return MappingProxyType(data)


def parse_model_headers(value: str) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    """claude.model_headers_settings: model → header name → list of values."""
    out: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for model, headers in _json_object(value).items():
        if not isinstance(headers, dict):
            raise ValueError(f"the headers of {model!r} must be a JSON object")
        for name, values in headers.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"header {name!r} of {model!r} must be a list of strings")
            if not name or any(c in name for c in " :\r\n") or any("\n" in v for v in values):
                raise ValueError(f"header {name!r} of {model!r} is not a valid header")
        out[model] = MappingProxyType({name: tuple(vs) for name, vs in headers.items()})
    return MappingProxyType(out)


GEMINI_SAFETY_THRESHOLDS = frozenset(
    {
        "OFF",
        "BLOCK_NONE",
        "BLOCK_ONLY_HIGH",
        "BLOCK_MEDIUM_AND_ABOVE",
        "BLOCK_LOW_AND_ABOVE",
        "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
    }
)


def parse_safety_settings(value: str) -> Mapping[str, str]:
    """gemini.safety_settings: harm category (or "default") → threshold; "" means unset."""
    data = parse_text_map(value)
    for category, threshold in data.items():
        if threshold and threshold not in GEMINI_SAFETY_THRESHOLDS:
            raise ValueError(f"invalid Gemini safety threshold {threshold!r} for {category!r}")
    return data
