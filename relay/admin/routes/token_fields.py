"""Pure helpers of the token routes: reading and checking a token's fields from a request body
(new-api's AddToken/UpdateToken rules, plus relay's own rate limits), the token as listings
show it (masked key), the name search pattern, and the routes' OpenAPI schemas."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from relay.admin.api import ApiError, page_schema
from relay.crypto import Keyring

STATUS_ENABLED = 1
STATUS_DISABLED = 2
STATUS_EXPIRED = 3
STATUS_EXHAUSTED = 4
NAME_MAX_BYTES = 50  # new-api compares len() of the Go string: UTF-8 bytes
INT32_MAX = 2**31 - 1
RATE_LIMIT_FIELDS = ("rate_limit_rpm", "rate_limit_rpd", "rate_limit_tpm")
Row = Mapping[Any, Any]  # a tokens row (RowMapping) or a dict of one

MSG_INVALID_PARAMS = "Invalid parameters"
MSG_NOT_FOUND = "Token not found"
MSG_NAME_TOO_LONG = "Token name is too long"
MSG_QUOTA_NEGATIVE = "Quota value cannot be negative"
MSG_EXPIRED_CANNOT_ENABLE = (
    "Token has expired and cannot be enabled. "
    "Please modify the expiration time or set it to never expire"
)
MSG_EXHAUSTED_CANNOT_ENABLE = (
    "Token quota is exhausted and cannot be enabled. "
    "Please modify the remaining quota or set it to unlimited"
)


@dataclass(frozen=True)
class TokenRules:
    """What the caller may set: the quota ceiling, its usable groups, the auto-group rules."""

    now: int
    quota_max: int  # 1e9 * QuotaPerUnit, as new-api
    usable_groups: Collection[str]  # Options.usable_groups(user group)
    ratio_groups: Collection[str]  # GroupRatio names: an auto group must also have a ratio
    max_auto_groups: int = 5


def mask_token_key(key: str) -> str:
    """new-api's MaskTokenKey: first 4 + 10 stars + last 4 (shorter keys hide more)."""
    if not key:
        return ""
    if len(key) <= 4:
        return "*" * len(key)
    if len(key) <= 8:
        return f"{key[:2]}****{key[-2:]}"
    return f"{key[:4]}{'*' * 10}{key[-4:]}"


def like_pattern(text: str) -> str:
    """new-api's sanitizeLikePattern for `LIKE … ESCAPE '!'`: `_` and `!` are literal, `%` is a
    wildcard (at most two, not doubled, with at least two other characters); no `%` means an
    exact match."""
    text = text.replace("!", "!!").replace("_", "!_")
    if "%%" in text:
        raise ApiError("A search pattern may not contain consecutive % wildcards")
    count = text.count("%")
    if count > 2:
        raise ApiError("A search pattern may contain at most 2 % wildcards")
    if count and len(text.replace("%", "")) < 2:
        raise ApiError("A fuzzy search needs at least 2 characters besides %")
    return text


def parse_ids(body: Mapping[str, Any], limit: int | None = None) -> list[int]:
    """The `ids` list of a batch request: integers, at least one, at most `limit`."""
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(_is_int(i) for i in ids):
        raise ApiError(MSG_INVALID_PARAMS)
    if limit is not None and len(ids) > limit:
        raise ApiError(f"Too many items in batch request, maximum is {limit}")
    return [int(i) for i in ids]


def auto_groups_list(stored: str) -> list[str] | None:
    """The stored JSON list of auto groups as the API shows it (None when empty or bad)."""
    if not stored:
        return None
    try:
        groups = orjson.loads(stored)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(groups, list) or not groups:
        return None
    return [str(g) for g in groups]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(body: Mapping[str, Any], name: str) -> int:
    value = body[name]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not _is_int(value):
        raise ApiError(f"{name} must be an integer")
    return int(value)


def _bool(body: Mapping[str, Any], name: str) -> bool:
    value = body[name]
    if not isinstance(value, bool):
        raise ApiError(f"{name} must be true or false")
    return value


def _str(body: Mapping[str, Any], name: str) -> str:
    value = body[name]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(f"{name} must be a string")
    return value


def normalize_allow_ips(text: str) -> str:
    """One IP or CIDR per line (commas and spaces are ignored, as new-api does); each must
    parse. Returns the cleaned list, one per line."""
    entries = [part.strip() for part in text.replace(" ", "").replace(",", "\n").split("\n")]
    entries = [entry for entry in entries if entry]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ApiError(f"allow_ips: {entry!r} is not an IP address or CIDR range") from None
    return "\n".join(entries)


def normalize_model_limits(value: Any) -> str:
    """A comma-separated model list (a JSON list of names is accepted too)."""
    if isinstance(value, list) and all(isinstance(m, str) for m in value):
        names = value
    elif isinstance(value, str) or value is None:
        names = (value or "").split(",")
    else:
        raise ApiError("model_limits must be a comma-separated list of model names")
    seen: dict[str, None] = {}
    for name in names:
        if name.strip():
            seen.setdefault(name.strip(), None)
    return ",".join(seen)


def _auto_groups(value: Any, rules: TokenRules) -> str:
    if value is None:
        return ""
    if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
        raise ApiError("auto_groups must be a list of group names")
    if len(value) > rules.max_auto_groups:
        raise ApiError(f"A token can select at most {rules.max_auto_groups} Auto groups")
    seen: set[str] = set()
    for group in value:
        if group in seen:
            raise ApiError(f"Auto group {group} is duplicated")
        seen.add(group)
        selectable = group not in ("", "auto") and group in rules.usable_groups
        if not selectable or group not in rules.ratio_groups:
            raise ApiError(f"Auto group {group} is unavailable or unauthorized")
    return orjson.dumps(value).decode() if value else ""


def token_fields(
    body: Mapping[str, Any], rules: TokenRules, current: Row | None = None
) -> dict[str, Any]:
    """The token columns a create (`current` None) or full update sets, checked.

    On update a field missing from the body keeps its value, and the group and expiry are
    checked only when they change (an unchanged, now-unusable group may stay). `remain_quota`
    is returned too; the caller sends it to the quota service, not to SQL."""
    values: dict[str, Any] = {}
    if "name" in body:
        name = _str(body, "name")
        if len(name.encode()) > NAME_MAX_BYTES:
            raise ApiError(MSG_NAME_TOO_LONG)
        values["name"] = name
    for flag in ("unlimited_quota", "model_limits_enabled", "cross_group_retry"):
        if flag in body:
            values[flag] = _bool(body, flag)
    if "remain_quota" in body:
        values["remain_quota"] = _int(body, "remain_quota")
    unlimited = values.get("unlimited_quota", bool(current and current["unlimited_quota"]))
    remain = values.get("remain_quota", 0)
    if not unlimited:
        if remain < 0:
            raise ApiError(MSG_QUOTA_NEGATIVE)
        if remain > rules.quota_max:
            raise ApiError(f"Quota value exceeds valid range, maximum is {rules.quota_max}")
    if "expired_time" in body:
        expired = _int(body, "expired_time")
        changed = current is None or expired != current["expired_time"]
        if changed and expired != -1 and expired <= rules.now:
            raise ApiError("expired_time must be -1 (never expires) or a time in the future")
        values["expired_time"] = expired
    if "model_limits" in body:
        values["model_limits"] = normalize_model_limits(body["model_limits"])
    if "allow_ips" in body:
        values["allow_ips"] = normalize_allow_ips(_str(body, "allow_ips"))
    for limit in RATE_LIMIT_FIELDS:
        if limit in body:
            value = _int(body, limit)
            if not 0 <= value <= INT32_MAX:
                raise ApiError(f"{limit} must be between 0 and {INT32_MAX}")
            values[limit] = value
    group = current["group"] if current is not None else ""
    if "group" in body:
        group = _str(body, "group").strip()
        changed = current is None or group != current["group"]
        if changed and group not in ("", "auto") and group not in rules.usable_groups:
            raise ApiError(f"Group {group} is unavailable or unauthorized")
        values["group"] = group
    if group != "auto":
        # new-api: cross-group retry and the auto group list only apply to the auto group
        values["cross_group_retry"] = False
        values["auto_groups"] = ""
    elif "auto_groups" in body or current is None:
        values["auto_groups"] = _auto_groups(body.get("auto_groups"), rules)
    return values


def open_key(keyring: Keyring, row: Row) -> str:
    """The plaintext key from the row's sealed copy; "" if it cannot be opened."""
    try:
        return keyring.open(row["key_sealed"] or "")
    except ValueError:
        return ""


def token_item(row: Row, keyring: Keyring, live: tuple[int, int] | None) -> Any:
    """A token as new-api's console shows it: masked key, live balances when known."""
    remain, used = live if live is not None else (row["remain_quota"], row["used_quota"])
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "key": mask_token_key(open_key(keyring, row)),
        "status": row["status"],
        "name": row["name"],
        "created_time": row["created_time"],
        "accessed_time": row["accessed_time"],
        "expired_time": row["expired_time"],
        "remain_quota": remain,
        "unlimited_quota": bool(row["unlimited_quota"]),
        "model_limits_enabled": bool(row["model_limits_enabled"]),
        "model_limits": row["model_limits"],
        "allow_ips": row["allow_ips"],
        "used_quota": used,
        "group": row["group"],
        "cross_group_retry": bool(row["cross_group_retry"]),
        "auto_groups": auto_groups_list(row["auto_groups"]),
        "rate_limit_rpm": row["rate_limit_rpm"],
        "rate_limit_rpd": row["rate_limit_rpd"],
        "rate_limit_tpm": row["rate_limit_tpm"],
        "DeletedAt": None,
    }


# --- OpenAPI schemas ---

TOKEN_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "key": {"type": "string", "description": "masked: first 4 + ********** + last 4"},
        "name": {"type": "string"},
        "status": {"type": "integer"},
        "remain_quota": {"type": "integer"},
        "used_quota": {"type": "integer"},
        "unlimited_quota": {"type": "boolean"},
        "expired_time": {"type": "integer"},
        "group": {"type": "string"},
        "auto_groups": {"type": "array", "items": {"type": "string"}, "nullable": True},
        "rate_limit_rpm": {"type": "integer"},
    },
}
PAGE_SCHEMA = page_schema(TOKEN_SCHEMA)
FIELDS_SCHEMA = {
    "name": {"type": "string", "maxLength": 50},
    "remain_quota": {"type": "integer", "minimum": 0},
    "unlimited_quota": {"type": "boolean"},
    "expired_time": {"type": "integer", "description": "-1 = never, else a future unix time"},
    "model_limits_enabled": {"type": "boolean"},
    "model_limits": {"type": "string", "description": "comma-separated model names"},
    "allow_ips": {"type": "string", "description": "one IP or CIDR per line"},
    "group": {"type": "string"},
    "cross_group_retry": {"type": "boolean"},
    "auto_groups": {"type": "array", "items": {"type": "string"}, "nullable": True},
    "rate_limit_rpm": {"type": "integer", "minimum": 0},
    "rate_limit_rpd": {"type": "integer", "minimum": 0},
    "rate_limit_tpm": {"type": "integer", "minimum": 0},
}
CREATE_SCHEMA = {"type": "object", "properties": FIELDS_SCHEMA}
UPDATE_SCHEMA = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "integer"}, "status": {"type": "integer"}, **FIELDS_SCHEMA},
}
IDS_SCHEMA = {
    "type": "object",
    "required": ["ids"],
    "properties": {"ids": {"type": "array", "items": {"type": "integer"}}},
}
