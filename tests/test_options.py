"""relay.options: every default, stored ratio tables, bad rows, usable groups (the parsers are
in test_option_parsers.py, the admin API's rules in tests/admin/test_option_rules.py)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from relay.billing.ratios import default_tables
from relay.option_parsers import parse_status_ranges
from relay.options import (
    DEFAULT_RETRY_STATUS_CODES,
    OPTION_SPECS,
    Options,
)


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
        ("AudioRatio", "audio_ratio"),
        ("AudioCompletionRatio", "audio_completion_ratio"),
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
