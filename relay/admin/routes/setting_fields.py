"""Pure helpers of PUT /api/user/setting: reading and checking a user's notification settings
(new-api controller/user.go UpdateUserSetting, dto.UserSetting) and merging them into the
`users.setting` JSON."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from relay.admin.api import ApiError

NOTIFY_TYPES = ("email", "webhook", "bark", "gotify")
GOTIFY_PRIORITY_DEFAULT = 5

MSG_INVALID_PARAMS = "Invalid parameters"
MSG_INVALID_TYPE = "Invalid warning type"
MSG_THRESHOLD = "Warning threshold must be greater than 0"
MSG_WEBHOOK_EMPTY = "Webhook URL cannot be empty"
MSG_WEBHOOK_INVALID = "Invalid Webhook URL"
MSG_EMAIL_INVALID = "Invalid email address"
MSG_BARK_EMPTY = "Bark push URL cannot be empty"
MSG_BARK_INVALID = "Invalid Bark push URL"
MSG_GOTIFY_URL_EMPTY = "Gotify server URL cannot be empty"
MSG_GOTIFY_TOKEN_EMPTY = "Gotify token cannot be empty"
MSG_GOTIFY_URL_INVALID = "Invalid Gotify server URL"
MSG_URL_MUST_HTTP = "URL must start with http:// or https://"
MSG_SAVED = "Settings updated"

# Every key this route owns in users.setting; the others (sidebar_modules, language, ...) are
# kept as they are, where new-api's rewrite drops them.
NOTIFY_KEYS = (
    "notify_type", "quota_warning_threshold", "webhook_url", "webhook_secret",
    "notification_email", "bark_url", "gotify_url", "gotify_token", "gotify_priority",
    "upstream_model_update_notify_enabled", "accept_unset_model_ratio_model", "record_ip_log",
)  # fmt: skip

SETTING_BODY = {
    "type": "object",
    "required": ["notify_type", "quota_warning_threshold"],
    "properties": {
        "notify_type": {"type": "string", "enum": list(NOTIFY_TYPES)},
        "quota_warning_threshold": {"type": "number", "description": "quota units, > 0"},
        "webhook_url": {"type": "string"},
        "webhook_secret": {"type": "string", "description": "signs the calls; empty: unsigned"},
        "notification_email": {"type": "string"},
        "bark_url": {"type": "string"},
        "gotify_url": {"type": "string"},
        "gotify_token": {"type": "string"},
        "gotify_priority": {"type": "integer", "description": "0-10, else 5"},
        "upstream_model_update_notify_enabled": {
            "type": "boolean",
            "description": "admins only; omitted keeps the current value",
        },
        "accept_unset_model_ratio_model": {"type": "boolean"},
        "record_ip_log": {"type": "boolean"},
    },
}

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _text(body: Mapping[str, Any], name: str) -> str:
    """A string member as Go's json binds it: missing or null is "", another type refused."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(MSG_INVALID_PARAMS)
    return value


def _flag(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise ApiError(MSG_INVALID_PARAMS)
    return value


def _number(body: Mapping[str, Any], name: str, *, integer: bool) -> float:
    value = body.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(MSG_INVALID_PARAMS)
    if integer and not isinstance(value, int):
        raise ApiError(MSG_INVALID_PARAMS)
    return value


def request_uri(text: str) -> bool:
    """Go's url.ParseRequestURI accepts it: an absolute URI or an absolute path, with no
    control characters, spaces in the authority or broken %-escapes."""
    if not (text.startswith("/") or _SCHEME.match(text)):
        return False
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text) or _BAD_ESCAPE.search(text):
        return False
    authority = text.split("//", 1)[1].split("/", 1)[0] if "://" in text else ""
    return " " not in authority


def _http_url(text: str, empty: str, invalid: str) -> str:
    if not text:
        raise ApiError(empty)
    if not request_uri(text):
        raise ApiError(invalid)
    if not text.startswith(("https://", "http://")):
        raise ApiError(MSG_URL_MUST_HTTP)
    return text


def notify_setting(
    body: Mapping[str, Any], current: Mapping[str, Any], *, admin: bool
) -> dict[str, Any]:
    """The notification keys of users.setting a PUT /api/user/setting body gives, empty values
    left out as new-api's omitempty does; a business error on the first rule broken."""
    kind = _text(body, "notify_type")
    threshold = _number(body, "quota_warning_threshold", integer=False)
    priority = int(_number(body, "gotify_priority", integer=True))
    upstream = _flag(body, "upstream_model_update_notify_enabled")
    accept_unset = bool(_flag(body, "accept_unset_model_ratio_model"))
    record_ip = bool(_flag(body, "record_ip_log"))
    texts = {
        name: _text(body, name)
        for name in ("webhook_url", "webhook_secret", "notification_email", "bark_url")
    }
    gotify_url, gotify_token = _text(body, "gotify_url"), _text(body, "gotify_token")
    if kind not in NOTIFY_TYPES:
        raise ApiError(MSG_INVALID_TYPE)
    if threshold <= 0:
        raise ApiError(MSG_THRESHOLD)
    out: dict[str, Any] = {"notify_type": kind, "quota_warning_threshold": threshold}
    if kind == "webhook":
        if not texts["webhook_url"]:
            raise ApiError(MSG_WEBHOOK_EMPTY)
        if not request_uri(texts["webhook_url"]):
            raise ApiError(MSG_WEBHOOK_INVALID)
        out["webhook_url"] = texts["webhook_url"]
        if texts["webhook_secret"]:
            out["webhook_secret"] = texts["webhook_secret"]
    elif kind == "email" and texts["notification_email"]:
        if "@" not in texts["notification_email"]:
            raise ApiError(MSG_EMAIL_INVALID)
        out["notification_email"] = texts["notification_email"]
    elif kind == "bark":
        out["bark_url"] = _http_url(texts["bark_url"], MSG_BARK_EMPTY, MSG_BARK_INVALID)
    elif kind == "gotify":
        if not gotify_url:
            raise ApiError(MSG_GOTIFY_URL_EMPTY)
        if not gotify_token:
            raise ApiError(MSG_GOTIFY_TOKEN_EMPTY)
        out["gotify_url"] = _http_url(gotify_url, MSG_GOTIFY_URL_EMPTY, MSG_GOTIFY_URL_INVALID)
        out["gotify_token"] = gotify_token
        priority = priority if 0 <= priority <= 10 else GOTIFY_PRIORITY_DEFAULT
    # dto.UserSetting writes gotify_priority even when zero (no omitempty on that field)
    out["gotify_priority"] = priority if kind == "gotify" else 0
    if not admin or upstream is None:  # only admins change it; others keep what they had
        upstream = bool(current.get("upstream_model_update_notify_enabled"))
    if upstream:
        out["upstream_model_update_notify_enabled"] = True
    if accept_unset:
        out["accept_unset_model_ratio_model"] = True
    if record_ip:
        out["record_ip_log"] = True
    return out


def merged_setting(current: Mapping[str, Any], notify: Mapping[str, Any]) -> dict[str, Any]:
    """users.setting with its notification keys replaced by `notify`, the rest kept."""
    rest = {k: v for k, v in current.items() if k not in NOTIFY_KEYS}
    return {**rest, **notify}
