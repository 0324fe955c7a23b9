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


# --- the admin API's view of the options table ---------------------------------------------

# Ratio and price tables that `POST /api/option/rest_model_ratio` resets to the built-in defaults.
MODEL_RATIO_OPTIONS = (
    "ModelRatio",
    "ModelPrice",
    "CompletionRatio",
    "CacheRatio",
    "CreateCacheRatio",
    "ImageRatio",
    "AudioRatio",
    "AudioCompletionRatio",
)

# new-api options relay does not act on but keeps, so new-api consoles and tools can save them.
NEWAPI_STORED_OPTIONS = frozenset(
    [
        "FileUploadPermission",
        "FileDownloadPermission",
        "ImageUploadPermission",
        "ImageDownloadPermission",
        "EmailVerificationEnabled",
        "GitHubOAuthEnabled",
        "LinuxDOOAuthEnabled",
        "TelegramOAuthEnabled",
        "WeChatAuthEnabled",
        "TurnstileCheckEnabled",
        "DrawingEnabled",
        "TaskEnabled",
        "DataExportEnabled",
        "EmailDomainRestrictionEnabled",
        "EmailAliasRestrictionEnabled",
        "EmailDomainWhitelist",
        "SMTPServer",
        "SMTPFrom",
        "SMTPPort",
        "SMTPAccount",
        "SMTPToken",
        "SMTPSSLEnabled",
        "SMTPStartTLSEnabled",
        "SMTPInsecureSkipVerify",
        "SMTPForceAuthLogin",
        "WorkerUrl",
        "WorkerValidKey",
        "WorkerAllowHttpImageRequestEnabled",
        "PayAddress",
        "CustomCallbackAddress",
        "EpayId",
        "EpayKey",
        "Price",
        "MinTopUp",
        "TopupGroupRatio",
        "Chats",
        "DefaultUseAutoGroup",
        "MaxTokenAutoGroups",
        "PayMethods",
        "GitHubClientId",
        "GitHubClientSecret",
        "TelegramBotToken",
        "TelegramBotName",
        "WeChatServerAddress",
        "WeChatServerToken",
        "WeChatAccountQRCodeImageURL",
        "TurnstileSiteKey",
        "TurnstileSecretKey",
        "QuotaRemindThreshold",
        "AudioRatio",
        "AudioCompletionRatio",
        "TopUpLink",
        "DataExportInterval",
        "DataExportDefaultTime",
        "DefaultCollapseSidebar",
        "MjNotifyEnabled",
        "MjAccountFilterEnabled",
        "MjModeClearEnabled",
        "MjForwardUrlEnabled",
        "MjActionCheckSuccessEnabled",
        "CheckSensitiveEnabled",
        "CheckSensitiveOnPromptEnabled",
        "StopOnSensitiveEnabled",
        "SensitiveWords",
        "StreamCacheQueueLength",
        "ExposeRatioEnabled",
        "LinuxDOClientId",
        "LinuxDOClientSecret",
        "LinuxDOMinimumTrustLevel",
        "oidc.authorization_endpoint",
        "oidc.token_endpoint",
        "oidc.user_info_endpoint",
        "theme.frontend",
    ]
)
# ...and the prefixes of new-api's structured settings (config.GlobalConfig registrations).
NEWAPI_STORED_PREFIXES = (
    "general_setting.",
    "console_setting.",
    "claude.",
    "gemini.",
    "global.",
    "grok.",
    "qwen.",
    "discord.",
    "legal.",
    "passkey.",
    "checkin_setting.",
    "channel_affinity_setting.",
    "billing_setting.",
    "fetch_setting.",
    "payment_setting.",
    "performance_setting.",
    "perf_metrics_setting.",
    "tool_price_setting.",
    "group_ratio_setting.",
    "quota_setting.",
    "monitor_setting.",
    "token_setting.",
)

# Switches for sign-in methods relay does not implement: refused when turned on.
UNSUPPORTED_SWITCHES = {
    "GitHubOAuthEnabled": "GitHub login",
    "LinuxDOOAuthEnabled": "LinuxDO login",
    "TelegramOAuthEnabled": "Telegram login",
    "WeChatAuthEnabled": "WeChat login",
    "discord.enabled": "Discord login",
    "TurnstileCheckEnabled": "Turnstile checks",
    "EmailVerificationEnabled": "e-mail verification",
}

_SECRET_SUFFIXES = ("Token", "Secret", "Key", "secret", "api_key")


def is_secret_option(key: str) -> bool:
    """new-api's rule (controller/option.go): these values are never listed."""
    return key.endswith(_SECRET_SUFFIXES)


def is_known_option(key: str) -> bool:
    """An option relay reads, or a new-api option relay keeps for compatibility."""
    return (
        key in OPTION_SPECS
        or key in NEWAPI_STORED_OPTIONS
        or key.startswith(NEWAPI_STORED_PREFIXES)
    )


def validate_option(key: str, value: str) -> None:
    """Raise ValueError (with a message for the admin) if `value` may not be stored for `key`."""
    if not is_known_option(key):
        raise ValueError(f"unknown option {key!r}: relay neither uses nor keeps it")
    if key.startswith("payment_setting.compliance_"):
        raise ValueError("payment compliance fields cannot be changed through the options API")
    if key == "theme.frontend" and value != "default":
        raise ValueError("theme.frontend can only be 'default'")
    if key in UNSUPPORTED_SWITCHES and value.strip().lower() in ("true", "1"):
        raise ValueError(f"relay does not support {UNSUPPORTED_SWITCHES[key]}")
    spec = OPTION_SPECS.get(key)
    if spec is None:
        if key in ("AudioRatio", "AudioCompletionRatio"):
            parse_ratio_map(value)
        return
    try:
        spec.parse(value)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"invalid value for {key}: not valid JSON ({exc.msg})") from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid value for {key}: {exc}") from None


def default_value(key: str) -> str:
    """The value in force while no row is stored (ratio tables: the built-in table as JSON)."""
    if key in _RATIO_TABLES or key in default_tables():
        table = default_tables().get(key)
        if table is not None:
            return orjson.dumps(dict(table)).decode()
    spec = OPTION_SPECS.get(key)
    return spec.default if spec is not None else ""
