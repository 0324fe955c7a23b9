"""relay.options: every parser, defaults, stored ratio tables, bad rows, usable groups."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from relay.billing.ratios import default_tables
from relay.options import (
    DEFAULT_RETRY_STATUS_CODES,
    MODEL_RATIO_OPTIONS,
    OPTION_SPECS,
    Options,
    default_value,
    is_known_option,
    is_secret_option,
    parse_bool,
    parse_group_limits,
    parse_int,
    parse_nested_ratio_map,
    parse_positive_float,
    parse_ratio_map,
    parse_status_ranges,
    parse_string_list,
    parse_string_map,
    validate_option,
)

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


def test_every_default_parses() -> None:
    for key, spec in OPTION_SPECS.items():
        spec.parse(spec.default)  # must not raise
        assert key


# --- Options.from_rows ----------------------------------------------------------------------


def test_defaults_when_no_rows() -> None:
    o = Options.from_rows({})
    assert o["RetryTimes"] == 0
    assert o["PreConsumedQuota"] == 500
    assert o["QuotaPerUnit"] == 500000.0
    assert o["SelfUseModeEnabled"] is False
    assert o["LogConsumeEnabled"] is True
    assert o["quota_setting.enable_free_model_pre_consume"] is True
    assert o["ModelRequestRateLimitEnabled"] is False
    assert o["ModelRequestRateLimitDurationMinutes"] == 1
    assert o["ModelRequestRateLimitSuccessCount"] == 1000
    assert o["general_setting.quota_display_type"] == "USD"
    assert o["AutoGroups"] == ("default",)
    assert o["AutomaticRetryStatusCodes"] == parse_status_ranges(DEFAULT_RETRY_STATUS_CODES)
    assert dict(o["GroupRatio"]) == {"default": 1.0, "vip": 1.0, "svip": 1.0}
    assert dict(o["UserUsableGroups"]) == {"default": "默认分组", "vip": "vip分组"}
    tables = default_tables()
    assert dict(o.ratios.model_ratio) == dict(tables["ModelRatio"])
    assert dict(o.ratios.model_price) == dict(tables["ModelPrice"])
    assert dict(o.ratios.completion_ratio) == dict(tables["CompletionRatio"])
    assert dict(o.ratios.cache_ratio) == dict(tables["CacheRatio"])
    assert dict(o.ratios.create_cache_ratio) == dict(tables["CreateCacheRatio"])
    assert dict(o.ratios.image_ratio) == dict(tables["ImageRatio"])
    assert o.ratios.group_ratio == o["GroupRatio"]
    assert set(OPTION_SPECS) <= set(o.values)


def test_stored_values_are_parsed() -> None:
    o = Options.from_rows(
        {
            "RetryTimes": "3",
            "QuotaPerUnit": "1000",
            "SelfUseModeEnabled": "true",
            "GroupRatio": '{"default": 2}',
            "GroupGroupRatio": '{"vip": {"default": 0.5}}',
            "AutomaticRetryStatusCodes": "500",
        }
    )
    assert o["RetryTimes"] == 3
    assert o["QuotaPerUnit"] == 1000.0
    assert o["SelfUseModeEnabled"] is True
    assert dict(o.ratios.group_ratio) == {"default": 2.0}
    assert o.ratios.group_ratio_of("vip", "default") == 0.5
    assert o["AutomaticRetryStatusCodes"] == {500}


@pytest.mark.parametrize(
    ("key", "attr"),
    [
        ("ModelRatio", "model_ratio"),
        ("ModelPrice", "model_price"),
        ("CompletionRatio", "completion_ratio"),
        ("CacheRatio", "cache_ratio"),
        ("CreateCacheRatio", "create_cache_ratio"),
        ("ImageRatio", "image_ratio"),
    ],
)
def test_a_stored_ratio_option_replaces_the_default_table(key: str, attr: str) -> None:
    o = Options.from_rows({key: '{"only-model": 3}'})
    assert dict(getattr(o.ratios, attr)) == {"only-model": 3.0}
    assert dict(getattr(Options.from_rows({key: "{}"}).ratios, attr)) == {}


def test_stored_model_ratio_makes_default_models_unpriced() -> None:
    o = Options.from_rows({"ModelRatio": '{"mine": 1}'})
    assert o.ratios.model_ratio_of("gpt-4o") is None
    assert o.ratios.model_ratio_of("mine") == 1.0
    # Other tables keep their defaults.
    assert o.ratios.price_of("dall-e-3") == 0.04


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("RetryTimes", "many"),
        ("QuotaPerUnit", "0"),
        ("SelfUseModeEnabled", "yes"),
        ("GroupRatio", "[1]"),
        ("AutoGroups", '"default"'),
        ("ModelRequestRateLimitGroup", '{"g": [1, 0]}'),
        ("general_setting.quota_display_type", "GBP"),
        ("AutomaticRetryStatusCodes", "700"),
    ],
)
def test_bad_stored_value_falls_back_with_a_warning(
    caplog: pytest.LogCaptureFixture, key: str, raw: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="relay.options"):
        o = Options.from_rows({key: raw})
    spec = OPTION_SPECS[key]
    assert o[key] == spec.parse(spec.default)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert key in warnings[0].getMessage() and "default" in warnings[0].getMessage()


@pytest.mark.parametrize("raw", ["{not json", '{"gpt-4o": -1}', '{"gpt-4o": "1"}', "[]"])
def test_bad_stored_ratio_table_keeps_the_builtin_defaults(
    caplog: pytest.LogCaptureFixture, raw: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="relay.options"):
        o = Options.from_rows({"ModelRatio": raw})
    assert dict(o.ratios.model_ratio) == dict(default_tables()["ModelRatio"])
    assert o.ratios.model_ratio_of("gpt-4o") == 1.25
    assert any("ModelRatio" in r.getMessage() for r in caplog.records)


def test_empty_stored_ratio_row_keeps_the_defaults() -> None:
    o = Options.from_rows({"ModelRatio": ""})
    assert o.ratios.model_ratio_of("gpt-4o") == 1.25


# --- usable groups --------------------------------------------------------------------------


def usable(special: dict[str, Any], user_group: str, **rows: str) -> dict[str, str]:
    o = Options.from_rows(
        {"group_ratio_setting.group_special_usable_group": orjson.dumps(special).decode(), **rows}
    )
    return dict(o.usable_groups(user_group))


def test_usable_groups_defaults_plus_own_group() -> None:
    assert usable({}, "default") == {"default": "默认分组", "vip": "vip分组"}
    assert usable({}, "team") == {"default": "默认分组", "vip": "vip分组", "team": "用户分组"}
    assert usable({}, "") == {"default": "默认分组", "vip": "vip分组"}


def test_special_usable_groups_add_remove_and_plain() -> None:
    special = {"vip": {"-:default": "", "+:svip": "Super", "lab": "Lab group"}}
    assert usable(special, "vip") == {"vip": "vip分组", "svip": "Super", "lab": "Lab group"}
    # Only the user's own group's rules apply.
    assert usable(special, "default") == {"default": "默认分组", "vip": "vip分组"}


def test_special_rules_can_remove_the_users_own_group_but_it_comes_back() -> None:
    special = {"vip": {"-:vip": ""}}
    assert usable(special, "vip") == {"default": "默认分组", "vip": "用户分组"}


def test_special_rules_replace_descriptions_and_remove_missing_quietly() -> None:
    special = {"default": {"+:vip": "VIP!", "-:nope": ""}}
    assert usable(special, "default") == {"default": "默认分组", "vip": "VIP!"}


def test_usable_groups_follow_the_stored_option() -> None:
    rows = {"UserUsableGroups": '{"a": "A"}'}
    assert usable({}, "a", **rows) == {"a": "A"}
    assert usable({"b": {"+:c": "C"}}, "b", **rows) == {"a": "A", "c": "C", "b": "用户分组"}


def test_usable_groups_does_not_mutate_the_options() -> None:
    o = Options.from_rows(
        {"group_ratio_setting.group_special_usable_group": '{"vip": {"-:default": ""}}'}
    )
    o.usable_groups("vip")
    assert "default" in o.usable_groups("default")


# --- the admin API's helpers ----------------------------------------------------------------


def test_secret_options_follow_new_apis_suffix_rule() -> None:
    for key in ("SMTPToken", "GitHubClientSecret", "TurnstileSecretKey", "oidc.client_secret"):
        assert is_secret_option(key)
    for key in ("oidc.client_id", "ModelRatio", "SMTPServer", "KeyboardLayout"):
        assert not is_secret_option(key)


def test_known_options_are_relays_or_new_apis() -> None:
    assert is_known_option("RetryTimes") and is_known_option("oidc.discovery_url")
    assert is_known_option("SMTPServer") and is_known_option("console_setting.faq")
    assert not is_known_option("NoSuchOption") and not is_known_option("oidcx.enabled")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ModelRatio", "{", "not valid JSON"),
        ("CacheRatio", '{"m": -0.5}', "must not be negative"),
        ("AudioRatio", '{"m": -1}', "must not be negative"),
        ("general_setting.quota_display_type", "EUR", "USD, CNY"),
        ("oidc.allowed_domains", "not a domain", "e-mail domain"),
        ("oidc.default_group", "a,b", "group name"),
        ("monitor_setting.channel_test_mode", "sometimes", "scheduled_all"),
        ("ServerAddress", "example.com", "http"),
        ("Unheard", "1", "unknown option"),
        ("WeChatAuthEnabled", "true", "does not support"),
        ("payment_setting.compliance_ok", "true", "compliance"),
        ("theme.frontend", "classic", "default"),
    ],
)
def test_validate_option_refuses_with_a_message(key: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_option(key, value)


def test_validate_option_accepts_good_values() -> None:
    validate_option("ModelRatio", '{"gpt-4o": 1.25}')
    validate_option("oidc.allowed_domains", "Example.com, @corp.example")
    validate_option("WeChatAuthEnabled", "false")
    validate_option("SMTPServer", "smtp.example.com")
    validate_option("theme.frontend", "default")


def test_default_values_show_the_builtin_tables() -> None:
    assert orjson.loads(default_value("ModelRatio")) == dict(default_tables()["ModelRatio"])
    assert orjson.loads(default_value("AudioRatio")) == dict(default_tables()["AudioRatio"])
    assert default_value("RetryTimes") == "0"
    assert default_value("oidc.default_group") == "default"
    assert default_value("SMTPServer") == ""
    assert set(MODEL_RATIO_OPTIONS) <= set(default_tables())


def test_sso_and_account_options_parse() -> None:
    options = Options.from_rows({"oidc.allowed_domains": "A.example, b.example"})
    assert options["oidc.allowed_domains"] == ("a.example", "b.example")
    assert options["PasswordLoginEnabled"] is True and options["oidc.auto_register"] is True
    assert options["token_setting.max_user_tokens"] == 1000


def test_channel_health_options_parse_and_refuse() -> None:
    options = Options.from_rows({"AutomaticDisableKeywords": " Foo Bar \n\nbaz"})
    assert options["AutomaticDisableKeywords"] == ("foo bar", "baz")
    defaults = Options.from_rows({})
    assert "you exceeded your current quota" in defaults["AutomaticDisableKeywords"]
    assert defaults["AutomaticDisableStatusCodes"] == frozenset({401})
    assert defaults["AutomaticDisableChannelEnabled"] is False
    assert defaults["relay.channel_error_window_minutes"] == 5
    assert defaults["relay.channel_error_rate"] == 0.5
    assert defaults["relay.channel_error_min_requests"] == 5
    assert defaults["ChannelDisableThreshold"] == 5.0
    bad = Options.from_rows(
        {
            "relay.channel_error_rate": "1.5",
            "relay.channel_error_window_minutes": "0",
            "ChannelDisableThreshold": "-1",
        }
    )
    assert bad["relay.channel_error_rate"] == 0.5
    assert bad["relay.channel_error_window_minutes"] == 5
    assert bad["ChannelDisableThreshold"] == 5.0
