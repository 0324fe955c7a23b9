"""Channel input and output for the admin API: validation of the editable fields, the listing
view (never the key), the audit view, and the key-list helpers of multi-key channels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from relay.admin.api import ApiError
from relay.admin.identity import AuthUser
from relay.crypto import mask_key
from relay.providers.registry import ChannelType, provider_for
from relay.store.channels import (
    STATUS_ENABLED,
    STATUS_MANUALLY_DISABLED,
    parse_info,
    split_list,
)

Row = Mapping[Any, Any]  # a channels RowMapping or a dict of one

# The actor of changes made by background jobs (audit rows and logs).
SYSTEM = AuthUser(0, "system", "system", 100, 1, "", "system")

MSG_NOT_FOUND = "channel not found"
MULTI_KEY_MODES = ("random", "polling")
_MAX_NAME = 255
_MAX_GROUP_COLUMN = 64
_AUDITED = (
    "id", "name", "type", "status", "models", "group", "priority", "weight", "tag", "base_url",
    "auto_ban", "test_model", "model_mapping", "status_code_mapping",
)  # fmt: skip
_JSON_OBJECT_FIELDS = {
    "setting": "channel setting",
    "settings": "channel settings",
    "param_override": "param_override",
}


def type_name(channel_type: int) -> str:
    vendor = getattr(provider_for(channel_type), "vendor", None)
    return str(vendor.name) if vendor is not None else f"type {channel_type}"


def supported_types() -> str:
    return ", ".join(f"{int(t)} ({type_name(t)})" for t in ChannelType)


def id_list(ids: Iterable[int]) -> str:
    """Channel ids as audit rows name them: "#1,#2"."""
    return ",".join(f"#{i}" for i in ids)


def channel_view(row: Row) -> dict[str, Any]:
    """A channel as new-api's console reads it, without its key."""
    out = {str(k): v for k, v in row.items() if k != "key"}
    info = parse_info(row.get("channel_info"))
    if info["is_multi_key"]:
        info.pop("multi_key_disabled_reason", None)
        info.pop("multi_key_disabled_time", None)
    out["channel_info"] = info
    return out


def audit_view(row: Row) -> dict[str, Any]:
    """The non-secret facts of a channel for audit rows."""
    return {k: row[k] for k in _AUDITED if k in row}


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        raise ApiError(f"{field} must be an integer")
    return value


def _text(value: Any, field: str, limit: int = 0) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(f"{field} must be a string")
    if limit and len(value) > limit:
        raise ApiError(f"{field} is too long (at most {limit} characters)")
    return value


def _names(value: Any, field: str) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise ApiError(f"{field} must be a comma-separated string")
    return split_list(value)


def _json_object(value: Any, field: str) -> tuple[str, dict[str, Any]]:
    """'' or a JSON object (given as text or as an object) → (stored text, parsed)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "", {}
    if isinstance(value, dict):
        return orjson.dumps(value).decode(), value
    if not isinstance(value, str):
        raise ApiError(f"{field} must be a JSON object")
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise ApiError(f"{field} is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise ApiError(f"{field} must be a JSON object")
    return value.strip(), parsed


def _model_mapping(value: Any) -> str:
    text, mapping = _json_object(value, "model_mapping")
    for src, dst in mapping.items():
        if not isinstance(dst, str):
            raise ApiError(f"model_mapping: the target of {src!r} must be a string")
    for start in mapping:
        seen, current = {start}, start
        while (target := mapping.get(current)) and target != current:
            if target in seen:
                raise ApiError(f"model_mapping loops at {target!r}")
            seen.add(target)
            current = target
    return text


def _status_code_mapping(value: Any) -> str:
    text, mapping = _json_object(value, "status_code_mapping")
    for src, dst in mapping.items():
        try:
            codes = (int(src), int(dst))
        except (TypeError, ValueError):
            raise ApiError(f"status_code_mapping: {src!r} → {dst!r} is not a status code") from None
        if isinstance(dst, bool) or not all(100 <= c <= 599 for c in codes):
            raise ApiError(f"status_code_mapping: {src!r} → {dst!r} is not a status code")
    if len(text) > 1024:
        raise ApiError("status_code_mapping is too long (at most 1024 characters)")
    return text


def _header_override(value: Any) -> str:
    text, headers = _json_object(value, "header_override")
    for name, header in headers.items():
        if not isinstance(header, str):
            raise ApiError(f"header_override: the value of {name!r} must be a string")
    return text


def _base_url(value: Any) -> str:
    url = _text(value, "base_url", 255).strip()
    if url and not url.startswith(("http://", "https://")):
        raise ApiError("base_url must start with http:// or https://")
    return url


def channel_fields(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The column values of the editable fields present in `body`, validated.

    Creating requires a supported type (default 1) and at least one model. A null value
    leaves the field as it is (new-api's pointer fields)."""
    body = {k: v for k, v in body.items() if v is not None}
    out: dict[str, Any] = {}
    if "type" in body or creating:
        channel_type = _int(body.get("type", 1), "type")
        if provider_for(channel_type) is None:
            raise ApiError(
                f"channel type {channel_type} is not supported; supported types: "
                f"{supported_types()}"
            )
        out["type"] = channel_type
    if "name" in body:
        out["name"] = _text(body["name"], "name", _MAX_NAME).strip()
    if "base_url" in body:
        out["base_url"] = _base_url(body["base_url"])
    if "models" in body or creating:
        models = _names(body.get("models", ""), "models")
        if not models:
            raise ApiError("models must not be empty")
        for model in models:
            if len(model) > 255:
                raise ApiError(f"model name too long: {model[:40]}…")
        out["models"] = ",".join(models)
    if "group" in body or creating:
        groups = _names(body.get("group", "default"), "group")
        if not groups:
            raise ApiError("group must not be empty")
        joined = ",".join(groups)
        if len(joined) > _MAX_GROUP_COLUMN:
            raise ApiError(f"group is too long (at most {_MAX_GROUP_COLUMN} characters)")
        out["group"] = joined
    if "model_mapping" in body:
        out["model_mapping"] = _model_mapping(body["model_mapping"])
    if "status_code_mapping" in body:
        out["status_code_mapping"] = _status_code_mapping(body["status_code_mapping"])
    if "header_override" in body:
        out["header_override"] = _header_override(body["header_override"])
    for field, label in _JSON_OBJECT_FIELDS.items():
        if field in body:
            out[field] = _json_object(body[field], label)[0]
    if "priority" in body:
        out["priority"] = _int(body["priority"] or 0, "priority")
    if "weight" in body:
        weight = _int(body["weight"] or 0, "weight")
        if weight < 0:
            raise ApiError("weight must not be negative")
        out["weight"] = weight
    if "auto_ban" in body:
        auto_ban = body["auto_ban"]
        auto_ban = int(auto_ban) if isinstance(auto_ban, bool) else _int(auto_ban, "auto_ban")
        if auto_ban not in (0, 1):
            raise ApiError("auto_ban must be 0 or 1")
        out["auto_ban"] = auto_ban
    for field in ("openai_organization", "test_model"):
        if field in body:
            out[field] = _text(body[field], field, 255).strip() or None
    if "tag" in body:
        out["tag"] = _text(body["tag"], "tag", 255).strip() or None
    if "other" in body:
        out["other"] = _text(body["other"], "other")
    if "remark" in body:
        out["remark"] = _text(body["remark"], "remark", 255)
    return out


def create_status(body: Mapping[str, Any]) -> int:
    status = _int(body.get("status") or STATUS_ENABLED, "status")
    if status not in (STATUS_ENABLED, STATUS_MANUALLY_DISABLED):
        raise ApiError("status must be 1 (enabled) or 2 (disabled)")
    return status


def key_lines(text: str) -> list[str]:
    """Non-empty, trimmed key lines, duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for line in text.split("\n"):
        line = line.strip()
        if line:
            seen[line] = None
    return list(seen)


def multi_key_info(keys: list[str], mode: str) -> dict[str, Any]:
    return {
        "is_multi_key": True,
        "multi_key_size": len(keys),
        "multi_key_status_list": {},
        "multi_key_polling_index": 0,
        "multi_key_mode": mode,
    }


def multi_key_mode(value: Any) -> str:
    mode = value or "random"
    if mode not in MULTI_KEY_MODES:
        raise ApiError("multi_key_mode must be random or polling")
    return str(mode)


def key_statuses(info: Mapping[str, Any], count: int) -> list[int]:
    """The status of each key index (1 unless the status list says otherwise)."""
    listed = info.get("multi_key_status_list") or {}
    out = []
    for i in range(count):
        try:
            out.append(int(listed.get(str(i), STATUS_ENABLED)))
        except (TypeError, ValueError):
            out.append(STATUS_ENABLED)
    return out


def key_preview(key: str) -> str:
    return mask_key(key)
