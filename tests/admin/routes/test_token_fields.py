"""relay.admin.routes.token_fields: new-api's token field rules, masking and search patterns."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relay.admin.api import ApiError
from relay.admin.routes.token_fields import (
    TokenRules,
    auto_groups_list,
    like_pattern,
    mask_token_key,
    normalize_allow_ips,
    normalize_model_limits,
    open_key,
    parse_ids,
    token_fields,
    token_item,
)
from relay.crypto import Keyring

NOW = 1_800_000_000
RULES = TokenRules(
    now=NOW,
    quota_max=500_000_000_000_000,
    usable_groups=frozenset({"default", "vip", "nomoney"}),
    ratio_groups=frozenset({"default", "vip"}),
    max_auto_groups=2,
)
CURRENT: dict[str, Any] = {
    "unlimited_quota": False,
    "expired_time": NOW - 100,  # already expired
    "group": "retired-group",  # no longer usable
}


def refusal(body: dict[str, Any], current: dict[str, Any] | None = None) -> str:
    with pytest.raises(ApiError) as caught:
        token_fields(body, RULES, current)
    return caught.value.message


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("", ""),
        ("abc", "***"),
        ("abcd", "****"),
        ("abcdefgh", "ab****gh"),
        ("abcdefghi", "abcd**********fghi"),
        ("A" * 20 + "B" * 28, "AAAA**********BBBB"),
    ],
)
def test_mask_token_key_follows_new_api(key: str, masked: str) -> None:
    assert mask_token_key(key) == masked


@pytest.mark.parametrize(
    ("text", "pattern"),
    [("name", "name"), ("my_key", "my!_key"), ("a!b", "a!!b"), ("%ab%", "%ab%"), ("xy%", "xy%")],
)
def test_like_pattern_escapes_and_keeps_wildcards(text: str, pattern: str) -> None:
    assert like_pattern(text) == pattern


@pytest.mark.parametrize("text", ["%%ab", "%a%b%c", "%a%", "%", "x%"])
def test_like_pattern_refuses_loose_wildcards(text: str) -> None:
    with pytest.raises(ApiError):
        like_pattern(text)


def test_parse_ids() -> None:
    assert parse_ids({"ids": [3, 1]}) == [3, 1]
    for body in ({}, {"ids": []}, {"ids": "1"}, {"ids": [True]}, {"ids": [1.5]}, {"ids": [None]}):
        with pytest.raises(ApiError, match="Invalid parameters"):
            parse_ids(body)
    with pytest.raises(ApiError, match="maximum is 2"):
        parse_ids({"ids": [1, 2, 3]}, limit=2)


def test_allow_ips_are_cleaned_and_checked() -> None:
    assert normalize_allow_ips("") == ""
    assert normalize_allow_ips(" 10.0.0.1 ,\n\n192.168.0.0/16\r\n::1 ") == (
        "10.0.0.1\n192.168.0.0/16\n::1"
    )
    assert normalize_allow_ips("10.1.2.3/8") == "10.1.2.3/8"  # host bits allowed, as the relay
    for bad in ("10.0.0.256", "10.0.0.0/33", "example.com", "10.0.0.1-10.0.0.9"):
        with pytest.raises(ApiError, match="allow_ips"):
            normalize_allow_ips(bad)


def test_model_limits_are_a_clean_comma_list() -> None:
    assert normalize_model_limits(" gpt-4o, ,gpt-4o-mini,gpt-4o ") == "gpt-4o,gpt-4o-mini"
    assert normalize_model_limits(["a", "b"]) == "a,b"
    assert normalize_model_limits(None) == ""
    with pytest.raises(ApiError):
        normalize_model_limits({"a": 1})


def test_auto_groups_list() -> None:
    assert auto_groups_list("") is None and auto_groups_list("[]") is None
    assert auto_groups_list("not json") is None and auto_groups_list('{"a":1}') is None
    assert auto_groups_list('["vip","default"]') == ["vip", "default"]


def test_create_fields_are_checked() -> None:
    values = token_fields(
        {
            "name": "main",
            "remain_quota": 100,
            "expired_time": NOW + 1,
            "allow_ips": "10.0.0.1",
            "model_limits": "gpt-4o",
            "model_limits_enabled": True,
            "group": "vip",
            "cross_group_retry": True,
            "rate_limit_rpm": 5,
            "status": 2,  # ignored: a new token starts enabled
        },
        RULES,
    )
    assert values == {
        "name": "main",
        "model_limits_enabled": True,
        "cross_group_retry": False,  # only meaningful in the auto group
        "remain_quota": 100,
        "expired_time": NOW + 1,
        "model_limits": "gpt-4o",
        "allow_ips": "10.0.0.1",
        "rate_limit_rpm": 5,
        "group": "vip",
        "auto_groups": "",
    }
    assert token_fields({}, RULES) == {"cross_group_retry": False, "auto_groups": ""}


def test_create_refusals() -> None:
    assert refusal({"name": "x" * 51}) == "Token name is too long"
    assert token_fields({"name": "x" * 50}, RULES)["name"] == "x" * 50
    assert refusal({"name": "名" * 17}) == "Token name is too long"  # 51 UTF-8 bytes
    assert refusal({"name": 5}) == "name must be a string"
    assert refusal({"remain_quota": -1}) == "Quota value cannot be negative"
    assert "maximum is 500000000000000" in refusal({"remain_quota": RULES.quota_max + 1})
    assert refusal({"remain_quota": 1.5}) == "remain_quota must be an integer"
    assert refusal({"remain_quota": True}) == "remain_quota must be an integer"
    assert "expired_time" in refusal({"expired_time": NOW})
    assert "expired_time" in refusal({"expired_time": 0})
    assert "rate_limit_tpm" in refusal({"rate_limit_tpm": -1})
    assert "rate_limit_rpd" in refusal({"rate_limit_rpd": 2**31})
    assert refusal({"group": "secret"}) == "Group secret is unavailable or unauthorized"
    assert refusal({"unlimited_quota": 1}) == "unlimited_quota must be true or false"


def test_unlimited_tokens_skip_the_quota_range() -> None:
    values = token_fields({"unlimited_quota": True, "remain_quota": -5}, RULES)
    assert values["remain_quota"] == -5 and values["unlimited_quota"] is True


def test_auto_group_rules() -> None:
    values = token_fields(
        {"group": "auto", "auto_groups": ["vip", "default"], "cross_group_retry": True}, RULES
    )
    assert orjson.loads(values["auto_groups"]) == ["vip", "default"]
    assert values["cross_group_retry"] is True
    assert token_fields({"group": "auto"}, RULES)["auto_groups"] == ""
    assert refusal({"group": "auto", "auto_groups": ["vip", "vip"]}) == (
        "Auto group vip is duplicated"
    )
    assert "at most 2" in refusal({"group": "auto", "auto_groups": ["a", "b", "c"]})
    # usable but without a group ratio, or not usable at all, or the pseudo groups
    for group in ("nomoney", "secret", "auto", ""):
        message = refusal({"group": "auto", "auto_groups": [group]})
        assert message == f"Auto group {group} is unavailable or unauthorized"
    assert "list" in refusal({"group": "auto", "auto_groups": "vip"})


def test_update_keeps_missing_fields_and_unchanged_values() -> None:
    # an expired token's old expiry and a now-unusable group may be sent back unchanged
    body = {"name": "renamed", "expired_time": NOW - 100, "group": "retired-group"}
    values = token_fields(body, RULES, CURRENT)
    assert values["expired_time"] == NOW - 100 and values["group"] == "retired-group"
    assert "remain_quota" not in values and "allow_ips" not in values
    assert "expired_time" in refusal({"expired_time": NOW - 1}, CURRENT)
    assert "unavailable" in refusal({"group": "other-retired"}, CURRENT)
    # an update in the auto group without auto_groups keeps the stored list
    auto = {**CURRENT, "group": "auto"}
    assert "auto_groups" not in token_fields({"name": "x"}, RULES, auto)
    # an unlimited token stays unlimited unless the body says otherwise
    unlimited = {**CURRENT, "unlimited_quota": True}
    assert token_fields({"remain_quota": -1}, RULES, unlimited)["remain_quota"] == -1
    assert refusal({"remain_quota": -1, "unlimited_quota": False}, unlimited) == (
        "Quota value cannot be negative"
    )


def test_token_item_masks_and_prefers_live_balances() -> None:
    keyring = Keyring("unit-test-secret")
    key = "k" * 20 + "Z" * 28
    row = {
        "id": 7, "user_id": 3, "key": "digest", "key_sealed": keyring.seal(key), "status": 1,
        "name": "n", "created_time": 1, "accessed_time": 2, "expired_time": -1,
        "remain_quota": 100, "used_quota": 5, "unlimited_quota": False,
        "model_limits_enabled": True, "model_limits": "a,b", "allow_ips": "", "group": "",
        "cross_group_retry": False, "auto_groups": "", "rate_limit_rpm": 1,
        "rate_limit_rpd": 2, "rate_limit_tpm": 3,
    }  # fmt: skip
    assert open_key(keyring, row) == key
    item = token_item(row, keyring, None)
    assert item["key"] == "kkkk**********ZZZZ" and key not in orjson.dumps(item).decode()
    assert (item["remain_quota"], item["used_quota"]) == (100, 5)
    assert "digest" not in orjson.dumps(item).decode()
    live = token_item(row, keyring, (90, 15))
    assert (live["remain_quota"], live["used_quota"]) == (90, 15)
    other = Keyring("another-secret")
    assert open_key(other, row) == "" and token_item(row, other, None)["key"] == ""
