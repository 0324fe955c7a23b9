"""relay.admin.routes.setting_fields: new-api's UpdateUserSetting rules, and the merge."""

from __future__ import annotations

from typing import Any

import pytest

from relay.admin.api import ApiError
from relay.admin.routes import setting_fields as sf


def setting(
    body: dict[str, Any], current: dict[str, Any] | None = None, admin: bool = False
) -> dict[str, Any]:
    return sf.notify_setting(body, current or {}, admin=admin)


@pytest.mark.parametrize(
    ("kind", "extra", "message"),
    [
        (None, {"quota_warning_threshold": None}, sf.MSG_INVALID_TYPE),
        ("sms", {}, sf.MSG_INVALID_TYPE),
        ("email", {"quota_warning_threshold": None}, sf.MSG_THRESHOLD),
        ("email", {"quota_warning_threshold": -1}, sf.MSG_THRESHOLD),
        ("email", {"quota_warning_threshold": "5"}, sf.MSG_INVALID_PARAMS),
        (1, {}, sf.MSG_INVALID_PARAMS),
        ("email", {"quota_warning_threshold": True}, sf.MSG_INVALID_PARAMS),
        ("email", {"record_ip_log": 1}, sf.MSG_INVALID_PARAMS),
        ("gotify", {"gotify_priority": 2.5}, sf.MSG_INVALID_PARAMS),
        ("webhook", {}, sf.MSG_WEBHOOK_EMPTY),
        ("webhook", {"webhook_url": "hook"}, sf.MSG_WEBHOOK_INVALID),
        ("email", {"notification_email": "nobody"}, sf.MSG_EMAIL_INVALID),
        ("bark", {}, sf.MSG_BARK_EMPTY),
        ("bark", {"bark_url": "x y"}, sf.MSG_BARK_INVALID),
        ("bark", {"bark_url": "ftp://b/k"}, sf.MSG_URL_MUST_HTTP),
        ("gotify", {}, sf.MSG_GOTIFY_URL_EMPTY),
        ("gotify", {"gotify_url": "https://g"}, sf.MSG_GOTIFY_TOKEN_EMPTY),
        ("gotify", {"gotify_url": "g", "gotify_token": "t"}, sf.MSG_GOTIFY_URL_INVALID),
        ("gotify", {"gotify_url": "/g", "gotify_token": "t"}, sf.MSG_URL_MUST_HTTP),
    ],
)
def test_refusals_carry_new_api_messages(kind: Any, extra: dict[str, Any], message: str) -> None:
    body = {"notify_type": kind, "quota_warning_threshold": 5, **extra}
    with pytest.raises(ApiError) as refused:
        setting(body)
    assert str(refused.value) == message


def test_only_the_chosen_channel_fields_are_kept() -> None:
    body = {
        "notify_type": "webhook",
        "quota_warning_threshold": 500000,
        "webhook_url": "https://hooks.example/q",
        "webhook_secret": "s3",
        "notification_email": "me@example.com",
        "bark_url": "https://bark.example/key",
        "gotify_priority": 9,
        "record_ip_log": True,
    }
    assert setting(body) == {
        "notify_type": "webhook",
        "quota_warning_threshold": 500000,
        "webhook_url": "https://hooks.example/q",
        "webhook_secret": "s3",
        "gotify_priority": 0,
        "record_ip_log": True,
    }
    email = setting({"notify_type": "email", "quota_warning_threshold": 1.5})
    assert email == {"notify_type": "email", "quota_warning_threshold": 1.5, "gotify_priority": 0}


@pytest.mark.parametrize(("sent", "kept"), [(None, 0), (0, 0), (10, 10), (11, 5), (-1, 5)])
def test_gotify_priority_outside_0_to_10_becomes_5(sent: int | None, kept: int) -> None:
    body = {"notify_type": "gotify", "quota_warning_threshold": 1, "gotify_url": "http://g"}
    out = setting({**body, "gotify_token": "tok", "gotify_priority": sent})
    assert out["gotify_priority"] == kept and out["gotify_token"] == "tok"


def test_only_admins_change_the_upstream_model_notice() -> None:
    body = {"notify_type": "email", "quota_warning_threshold": 1}
    on = {"upstream_model_update_notify_enabled": True}
    had = {"upstream_model_update_notify_enabled": True}
    assert "upstream_model_update_notify_enabled" not in setting({**body, **on})
    assert setting({**body, **on}, admin=True)["upstream_model_update_notify_enabled"] is True
    assert setting(body, had)["upstream_model_update_notify_enabled"] is True
    off = {"upstream_model_update_notify_enabled": False}
    assert setting({**body, **off}, had)["upstream_model_update_notify_enabled"] is True
    assert "upstream_model_update_notify_enabled" not in setting({**body, **off}, had, admin=True)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("https://a.example/x?y=1", True),
        ("/relative/path", True),
        ("mailto:x@y", True),
        ("a.example/x", False),
        ("https://a b/x", False),
        ("https://a/%zz", False),
        ("https://a/\n", False),
        ("", False),
    ],
)
def test_request_uri_follows_go(text: str, ok: bool) -> None:
    assert sf.request_uri(text) is ok


def test_merge_keeps_other_preferences_and_drops_stale_channel_fields() -> None:
    current = {"sidebar_modules": '{"chat":false}', "language": "zh", "bark_url": "https://b/k"}
    notify = {"notify_type": "email", "quota_warning_threshold": 2, "gotify_priority": 0}
    assert sf.merged_setting(current, notify) == {
        "sidebar_modules": '{"chat":false}',
        "language": "zh",
        **notify,
    }
