"""relay.option_parsers: every parser, and the messages of bad values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from relay.option_parsers import (
    parse_bool,
    parse_group_limits,
    parse_int,
    parse_max_tokens_map,
    parse_model_headers,
    parse_nested_ratio_map,
    parse_positive_float,
    parse_ratio_map,
    parse_safety_settings,
    parse_status_ranges,
    parse_string_list,
    parse_string_map,
    parse_text_map,
)
from relay.options import DEFAULT_RETRY_STATUS_CODES, OPTION_SPECS

# --- parsers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), (" TRUE ", True), ("1", True), ("false", False), ("0", False)],
)
def test_parse_bool(raw: str, value: bool) -> None:
    assert parse_bool(raw) is value


def test_parse_int() -> None:
    assert parse_int(" 42 ") == 42
    assert parse_int("0") == 0
    assert parse_int("5", 5, 5) == 5


def test_parse_positive_float() -> None:
    assert parse_positive_float("500000") == 500000.0
    assert parse_positive_float(" 7.3 ") == 7.3


def test_parse_ratio_map() -> None:
    parsed = parse_ratio_map('{"gpt-4o": 1.25, "free": 0, "n": 3}')
    assert dict(parsed) == {"gpt-4o": 1.25, "free": 0.0, "n": 3.0}
    assert all(type(v) is float for v in parsed.values())
    assert dict(parse_ratio_map("")) == {}
    with pytest.raises(TypeError):
        parsed["x"] = 1.0  # type: ignore[index]  # read-only


def test_parse_nested_ratio_map() -> None:
    parsed = parse_nested_ratio_map('{"vip": {"default": 0.5, "svip": 2}}')
    assert {k: dict(v) for k, v in parsed.items()} == {"vip": {"default": 0.5, "svip": 2.0}}
    assert dict(parse_nested_ratio_map("")) == {}


def test_parse_string_map_and_list() -> None:
    assert dict(parse_string_map('{"a": "A", "b": {"c": 1}}')) == {"a": "A", "b": {"c": 1}}
    assert dict(parse_string_map("")) == {}
    assert parse_string_list('["default", "vip"]') == ("default", "vip")
    assert parse_string_list("") == ()


def test_parse_group_limits() -> None:
    parsed = parse_group_limits('{"default": [10, 5], "vip": [0, 1]}')
    assert dict(parsed) == {"default": (10, 5), "vip": (0, 1)}
    assert dict(parse_group_limits(f'{{"g": [{2**31 - 1}, {2**31 - 1}]}}')) == {
        "g": (2**31 - 1, 2**31 - 1)
    }


def test_parse_status_ranges() -> None:
    assert parse_status_ranges("401, 429,500-502") == {401, 429, 500, 501, 502}
    assert parse_status_ranges("") == frozenset()
    codes = parse_status_ranges(DEFAULT_RETRY_STATUS_CODES)
    assert {400, 408, 504, 524}.isdisjoint(codes)
    assert {100, 199, 301, 401, 407, 409, 429, 500, 503, 505, 523, 525, 599} <= codes
    assert codes == set(range(100, 600)) - set(range(200, 300)) - {400, 408, 504, 524}


BAD_VALUES: list[tuple[Callable[[str], Any], str, str]] = [
    (parse_bool, "yes", "true or false"),
    (parse_bool, "", "true or false"),
    (parse_int, "1.5", "is not an integer"),
    (parse_int, "-1", "out of range"),
    (lambda v: parse_int(v, 0, 100), "101", "out of range"),
    (parse_positive_float, "0", "greater than 0"),
    (parse_positive_float, "-3", "greater than 0"),
    (parse_positive_float, "nan", "greater than 0"),
    (parse_positive_float, "inf", "finite"),
    (parse_positive_float, "abc", "is not a number"),
    (parse_ratio_map, "[1, 2]", "JSON object"),
    (parse_ratio_map, '{"m": "1"}', "must be a number"),
    (parse_ratio_map, '{"m": true}', "must be a number"),
    (parse_ratio_map, '{"m": -0.5}', "must not be negative"),
    (parse_ratio_map, "{bad json", "unexpected"),
    (parse_nested_ratio_map, "[]", "JSON object"),
    (parse_nested_ratio_map, '{"vip": 1}', "JSON object"),
    (parse_nested_ratio_map, '{"vip": {"d": -1}}', "must not be negative"),
    (parse_string_map, '"text"', "JSON object"),
    (parse_string_list, '{"a": 1}', "array of strings"),
    (parse_string_list, '["a", 1]', "array of strings"),
    (parse_group_limits, "[]", "JSON object"),
    (parse_group_limits, '{"g": [1]}', "[total, success]"),
    (parse_group_limits, '{"g": [1, 2, 3]}', "[total, success]"),
    (parse_group_limits, '{"g": [-1, 2]}', "[total, success]"),
    (parse_group_limits, '{"g": [1, 2.5]}', "[total, success]"),
    (parse_group_limits, '{"g": [1, true]}', "[total, success]"),
    (parse_group_limits, f'{{"g": [{2**31}, 1]}}', "[total, success]"),
    (parse_group_limits, '{"g": [5, 0]}', "at least 1"),
    (parse_status_ranges, "600", "within 100-599"),
    (parse_status_ranges, "99", "within 100-599"),
    (parse_status_ranges, "500-400", "within 100-599"),
    (parse_status_ranges, "abc", "invalid literal"),
    (OPTION_SPECS["general_setting.quota_display_type"].parse, "EUR", "USD, CNY"),
    (OPTION_SPECS["RetryTimes"].parse, "101", "out of range"),
    (OPTION_SPECS["ModelRequestRateLimitDurationMinutes"].parse, "0", "out of range"),
    (OPTION_SPECS["ModelRequestRateLimitSuccessCount"].parse, "0", "out of range"),
]


@pytest.mark.parametrize(("parse", "raw", "text"), BAD_VALUES)
def test_bad_values_raise_value_error_with_a_message(
    parse: Callable[[str], Any], raw: str, text: str
) -> None:
    with pytest.raises(ValueError) as info:
        parse(raw)
    assert text in str(info.value)


def test_model_setting_parsers() -> None:
    assert parse_max_tokens_map('{"default": 8192, "claude-x": 0}') == {
        "default": 8192,
        "claude-x": 0,
    }
    assert parse_model_headers('{"claude-x": {"anthropic-beta": ["a", "b"]}}') == {
        "claude-x": {"anthropic-beta": ("a", "b")}
    }
    assert parse_safety_settings('{"default": "BLOCK_NONE", "HARM_CATEGORY_X": ""}') == {
        "default": "BLOCK_NONE",
        "HARM_CATEGORY_X": "",
    }
    assert parse_text_map('{"default": "v1"}') == {"default": "v1"}


@pytest.mark.parametrize(
    ("parse", "raw", "text"),
    [
        (parse_max_tokens_map, '{"default": -1}', "at least 0"),
        (parse_max_tokens_map, '{"default": 1.5}', "integer"),
        (parse_max_tokens_map, "null", "JSON object"),
        (parse_model_headers, '{"m": ["a"]}', "JSON object"),
        (parse_model_headers, '{"m": {"h": "a"}}', "list of strings"),
        (parse_model_headers, '{"m": {"bad header": ["a"]}}', "not a valid header"),
        (parse_safety_settings, '{"default": "BLOCK_SOME"}', "invalid Gemini safety threshold"),
        (parse_safety_settings, '{"default": 1}', "must be a string"),
        (parse_text_map, "[]", "JSON object"),
    ],
)
def test_model_setting_parsers_refuse_bad_values(
    parse: Callable[[str], Any], raw: str, text: str
) -> None:
    with pytest.raises(ValueError, match=text):
        parse(raw)
