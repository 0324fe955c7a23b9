"""Options (root only): list, change one, reset the model ratio tables.

As new-api's controller/option.go: values are strings, secrets (keys ending in Token, Secret,
Key, secret or api_key) are never listed, and a synthetic `CompletionRatioMeta` entry tells the
console which completion ratios are locked. Every change is validated with the same parser the
workers use, audited, and published so every worker reloads within a second.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import orjson

from relay import events
from relay.admin import audit
from relay.admin.api import Access, AdminRequest, Api, ApiError
from relay.admin.option_rules import (
    MODEL_RATIO_OPTIONS,
    default_value,
    is_secret_option,
    validate_option,
)
from relay.billing.ratios import RatioBook, hardcoded_completion_ratio, matching_name
from relay.option_parsers import parse_bool
from relay.options import OPTION_SPECS, Options
from relay.store.options import all_options, delete_options, set_option

api = Api("options")

OPTION_ITEM = {
    "type": "object",
    "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
}
OPTION_BODY = {
    "type": "object",
    "required": ["key", "value"],
    "properties": {
        "key": {"type": "string"},
        "value": {
            "description": "string, number or boolean; stored as a string",
            "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
        },
    },
}
SECRET_SHOWN_AS = "***"
_HIDDEN = frozenset({"theme.frontend"})


def completion_ratio_info(book: RatioBook, model: str) -> dict[str, Any]:
    """new-api's GetCompletionRatioInfo: the ratio in force and whether the built-in locks it."""
    name = matching_name(model)
    if "/" in name and name in book.completion_ratio:
        return {"ratio": book.completion_ratio[name], "locked": False}
    ratio, locked = hardcoded_completion_ratio(name)
    if locked:
        return {"ratio": ratio, "locked": True}
    if name in book.completion_ratio:
        return {"ratio": book.completion_ratio[name], "locked": False}
    return {"ratio": ratio, "locked": False}


def _model_names(value: str) -> list[str]:
    try:
        data = orjson.loads(value or "{}")
    except orjson.JSONDecodeError:
        return []
    return [str(k) for k in data] if isinstance(data, dict) else []


def completion_ratio_meta(values: dict[str, str], book: RatioBook) -> str:
    names: set[str] = set()
    for key in MODEL_RATIO_OPTIONS:
        names.update(_model_names(values.get(key, "")))
    return orjson.dumps(
        {name: completion_ratio_info(book, name) for name in sorted(names)}
    ).decode()


def stringify(value: Any) -> str:
    """The value as new-api stores it: bools as true/false, numbers without exponent."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ApiError("value must be a finite number")
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    raise ApiError("value is required: a string, number or boolean")


@api.get(
    "/api/option/",
    access=Access.ROOT,
    summary="Every option relay knows, as strings (secrets hidden)",
    data={"type": "array", "items": OPTION_ITEM},
)
async def list_options(req: AdminRequest) -> list[dict[str, str]]:
    async with req.ctx.engine.connect() as conn:
        rows = await all_options(conn)
    values = {key: default_value(key) for key in (*OPTION_SPECS, *MODEL_RATIO_OPTIONS)}
    values.update(rows)
    items = [
        {"key": key, "value": value}
        for key, value in sorted(values.items())
        if key not in _HIDDEN and not is_secret_option(key)
    ]
    book = Options.from_rows(rows).ratios
    items.append({"key": "CompletionRatioMeta", "value": completion_ratio_meta(values, book)})
    return items


def _shown(key: str, value: str | None) -> str | None:
    return SECRET_SHOWN_AS if value is not None and is_secret_option(key) else value


@api.put("/api/option/", access=Access.ROOT, summary="Change one option", body=OPTION_BODY)
async def update_option(req: AdminRequest) -> None:
    body = await req.json()
    key = body.get("key")
    if not isinstance(key, str) or not key.strip():
        raise ApiError("invalid parameters: key is required")
    key = key.strip()
    if key == "CompletionRatioMeta":
        raise ApiError("CompletionRatioMeta is computed and cannot be set")
    value = stringify(body.get("value"))
    try:
        validate_option(key, value)
    except ValueError as exc:
        raise ApiError(str(exc)) from None
    spec = OPTION_SPECS.get(key)
    if spec is not None and spec.parse is parse_bool:
        value = "true" if parse_bool(value) else "false"  # readers compare with "true"
    async with req.ctx.engine.begin() as conn:
        rows = await all_options(conn)
        if key == "oidc.enabled" and value.strip().lower() in ("true", "1"):
            discovery = rows.get("oidc.discovery_url") or rows.get("oidc.well_known")
            if not rows.get("oidc.client_id") or not discovery:
                raise ApiError(
                    "Cannot enable OIDC login: set oidc.client_id and oidc.discovery_url first"
                )
        before = rows.get(key)
        await set_option(conn, key, value)
        await audit.record(
            conn,
            req.me,
            "update option",
            key,
            before={"option": key, "value": _shown(key, before)},
            after={"option": key, "value": _shown(key, value)},
            ip=req.ip,
        )
    await req.ctx.changed(events.ROUTING)


@api.post(
    "/api/option/rest_model_ratio",
    access=Access.ROOT,
    summary="Reset the model ratio and price tables to the built-in defaults",
)
async def reset_model_ratio(req: AdminRequest) -> None:
    async with req.ctx.engine.begin() as conn:
        removed = await delete_options(conn, MODEL_RATIO_OPTIONS)
        await audit.record(
            conn,
            req.me,
            "reset model ratios",
            ",".join(sorted(removed)) or "(nothing stored)",
            before=removed,
            after={key: "(default)" for key in removed},
            ip=req.ip,
        )
    await req.ctx.changed(events.ROUTING)
