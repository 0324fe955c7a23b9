"""The admin API's view of the `options` table: which keys may be stored (relay's own and the
new-api options relay keeps for compatibility), which are secrets, how a value is validated
before it is stored, and the value in force while no row is stored."""

from __future__ import annotations

import orjson

from relay.billing.ratios import default_tables
from relay.options import OPTION_SPECS, RATIO_TABLES

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
        return
    try:
        spec.parse(value)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"invalid value for {key}: not valid JSON ({exc.msg})") from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid value for {key}: {exc}") from None


def default_value(key: str) -> str:
    """The value in force while no row is stored (ratio tables: the built-in table as JSON)."""
    if key in RATIO_TABLES or key in default_tables():
        table = default_tables().get(key)
        if table is not None:
            return orjson.dumps(dict(table)).decode()
    spec = OPTION_SPECS.get(key)
    return spec.default if spec is not None else ""
