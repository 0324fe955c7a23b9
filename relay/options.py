"""The runtime options relay reads from the `options` table, parsed and validated.

Each option has a parser (relay.option_parsers) that raises ValueError on a bad value; the
admin API uses the same parsers to refuse bad input (relay.admin.option_rules), and a stored
bad value falls back to the default with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from relay.billing.ratios import RatioBook, default_tables
from relay.convert.gemini_common import DEFAULT_IMAGINE_MODELS
from relay.option_parsers import (
    parse_bool,
    parse_choice,
    parse_domain_list,
    parse_group_limits,
    parse_group_name,
    parse_int,
    parse_keyword_lines,
    parse_max_tokens_map,
    parse_model_headers,
    parse_nested_ratio_map,
    parse_non_negative_float,
    parse_positive_float,
    parse_rate,
    parse_ratio_map,
    parse_safety_settings,
    parse_status_ranges,
    parse_string_list,
    parse_string_map,
    parse_text,
    parse_text_map,
    parse_url,
)

log = logging.getLogger("relay.options")

DEFAULT_RETRY_STATUS_CODES = "100-199,300-399,401-407,409-499,500-503,505-523,525-599"
DEFAULT_USABLE_GROUPS = {"default": "默认分组", "vip": "vip分组"}
DEFAULT_GROUP_RATIO = {"default": 1.0, "vip": 1.0, "svip": 1.0}
DEFAULT_DISABLE_KEYWORDS = "\n".join(
    (
        "Your credit balance is too low",
        "This organization has been disabled.",
        "You exceeded your current quota",
        "Permission denied",
        "The security token included in the request is invalid",
        "Operation not allowed",
        "Your account is not authorized",
    )
)


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
    "AudioRatio": OptionSpec(parse_ratio_map, ""),
    "AudioCompletionRatio": OptionSpec(parse_ratio_map, ""),
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
    # accounts, registration, site display and single sign-on (read by the admin process)
    "RegisterEnabled": OptionSpec(parse_bool, "true"),
    "PasswordLoginEnabled": OptionSpec(parse_bool, "true"),
    "PasswordRegisterEnabled": OptionSpec(parse_bool, "true"),
    "QuotaForNewUser": OptionSpec(parse_int, "0"),
    "QuotaForInviter": OptionSpec(parse_int, "0"),
    "QuotaForInvitee": OptionSpec(parse_int, "0"),
    "DemoSiteEnabled": OptionSpec(parse_bool, "false"),
    "SystemName": OptionSpec(parse_text, "New API"),
    "Logo": OptionSpec(parse_text, ""),
    "Footer": OptionSpec(parse_text, ""),
    "ServerAddress": OptionSpec(parse_url, ""),
    "Notice": OptionSpec(parse_text, ""),
    "About": OptionSpec(parse_text, ""),
    "HomePageContent": OptionSpec(parse_text, ""),
    "token_setting.max_user_tokens": OptionSpec(lambda v: parse_int(v, 1, 1_000_000), "1000"),
    "monitor_setting.auto_test_channel_enabled": OptionSpec(parse_bool, "false"),
    "monitor_setting.auto_test_channel_minutes": OptionSpec(parse_positive_float, "10"),
    "monitor_setting.channel_test_mode": OptionSpec(
        lambda v: parse_choice(v, ("scheduled_all", "passive_recovery")), "scheduled_all"
    ),
    "oidc.enabled": OptionSpec(parse_bool, "false"),
    "oidc.display_name": OptionSpec(parse_text, ""),
    "oidc.discovery_url": OptionSpec(parse_url, ""),
    "oidc.well_known": OptionSpec(parse_url, ""),  # new-api's name for the discovery URL
    "oidc.client_id": OptionSpec(parse_text, ""),
    "oidc.client_secret": OptionSpec(parse_text, ""),
    "oidc.allowed_domains": OptionSpec(parse_domain_list, ""),
    "oidc.default_group": OptionSpec(parse_group_name, "default"),
    "oidc.auto_register": OptionSpec(parse_bool, "true"),
    # channel health: automatic disable / enable (new-api) and relay's error-rate window
    "AutomaticDisableChannelEnabled": OptionSpec(parse_bool, "false"),
    "AutomaticEnableChannelEnabled": OptionSpec(parse_bool, "false"),
    "AutomaticDisableStatusCodes": OptionSpec(parse_status_ranges, "401"),
    "AutomaticDisableKeywords": OptionSpec(parse_keyword_lines, DEFAULT_DISABLE_KEYWORDS),
    "ChannelDisableThreshold": OptionSpec(parse_non_negative_float, "5"),
    "relay.channel_error_window_minutes": OptionSpec(lambda v: parse_int(v, 1, 60), "5"),
    "relay.channel_error_rate": OptionSpec(parse_rate, "0.5"),
    "relay.channel_error_min_requests": OptionSpec(lambda v: parse_int(v, 1, 1_000_000), "5"),
    # new-api's model settings (setting/model_setting claude.go, gemini.go), read by providers
    "claude.model_headers_settings": OptionSpec(parse_model_headers, "{}"),
    "claude.default_max_tokens": OptionSpec(parse_max_tokens_map, '{"default":8192}'),
    "claude.thinking_adapter_enabled": OptionSpec(parse_bool, "true"),
    "claude.thinking_adapter_budget_tokens_percentage": OptionSpec(parse_rate, "0.8"),
    "gemini.safety_settings": OptionSpec(parse_safety_settings, '{"default":"OFF"}'),
    "gemini.version_settings": OptionSpec(
        parse_text_map, '{"default":"v1beta","gemini-1.0-pro":"v1"}'
    ),
    "gemini.supported_imagine_models": OptionSpec(
        parse_string_list, orjson.dumps(DEFAULT_IMAGINE_MODELS).decode()
    ),
    "gemini.thinking_adapter_enabled": OptionSpec(parse_bool, "false"),
    "gemini.thinking_adapter_budget_tokens_percentage": OptionSpec(parse_rate, "0.6"),
    "gemini.function_call_thought_signature_enabled": OptionSpec(parse_bool, "true"),
}


def _bad_display(value: str) -> str:
    raise ValueError(f"{value!r} must be USD, CNY, TOKENS or CUSTOM")


# Ratio options whose built-in defaults apply until a row is stored; a stored value replaces
# the whole table, as new-api's option loading does.
RATIO_TABLES = {
    "ModelRatio": "model_ratio",
    "ModelPrice": "model_price",
    "CompletionRatio": "completion_ratio",
    "CacheRatio": "cache_ratio",
    "CreateCacheRatio": "create_cache_ratio",
    "ImageRatio": "image_ratio",
    "AudioRatio": "audio_ratio",
    "AudioCompletionRatio": "audio_completion_ratio",
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
            for key, attr in RATIO_TABLES.items()
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
