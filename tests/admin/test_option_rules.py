"""relay.admin.option_rules: secret and known options, validation, the values in force."""

from __future__ import annotations

import orjson
import pytest

from relay.admin.option_rules import (
    MODEL_RATIO_OPTIONS,
    default_value,
    is_known_option,
    is_secret_option,
    validate_option,
)
from relay.billing.ratios import default_tables


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
    validate_option("AudioCompletionRatio", '{"tts-1": 0, "gpt-4o-realtime": 2}')
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


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("claude.default_max_tokens", '{"default": -5}', "at least 0"),
        ("claude.default_max_tokens", "{", "not valid JSON"),
        ("claude.thinking_adapter_enabled", "maybe", "true or false"),
        ("claude.thinking_adapter_budget_tokens_percentage", "1.5", "at most 1"),
        ("claude.model_headers_settings", '{"m": {"h": "v"}}', "list of strings"),
        ("gemini.safety_settings", '{"default": "BLOCK_SOMETIMES"}', "safety threshold"),
        ("gemini.version_settings", '{"default": 1}', "must be a string"),
        ("gemini.supported_imagine_models", '"gemini"', "array of strings"),
        ("gemini.thinking_adapter_budget_tokens_percentage", "0", "greater than 0"),
    ],
)
def test_model_settings_are_validated(key: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_option(key, value)


def test_model_settings_defaults_are_new_apis() -> None:
    assert orjson.loads(default_value("claude.default_max_tokens")) == {"default": 8192}
    assert default_value("claude.thinking_adapter_enabled") == "true"
    assert orjson.loads(default_value("gemini.safety_settings")) == {"default": "OFF"}
    assert default_value("gemini.thinking_adapter_budget_tokens_percentage") == "0.6"
    validate_option("gemini.remove_function_response_id_enabled", "true")  # kept, not read
