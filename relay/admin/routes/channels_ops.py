"""Channel operations (`/api/channel/*`, admin): tests, upstream model lists, balances, and the
model names relay knows."""

from __future__ import annotations

import asyncio
from typing import Any

from relay.admin.api import Access, AdminRequest, Api, ApiError, Param, Raw
from relay.admin.channel_form import MSG_NOT_FOUND
from relay.admin.channel_health import channel_health, disable_channel
from relay.admin.channel_probe import (
    BALANCE_QUERIES,
    ProbeError,
    fetch_channel_models,
    fetch_model_ids,
    run_channel_test,
    update_balance,
)
from relay.providers.registry import provider_for
from relay.store import channels as store
from relay.store.channels import STATUS_ENABLED, parse_info

api = Api("channels")

BALANCE_CONCURRENCY = 8
_MODEL_LIST = {"type": "array", "items": {"type": "string"}}
_TEST_RESULT = {
    "type": "object",
    "properties": {
        "success": {"type": "boolean"},
        "message": {"type": "string"},
        "time": {"type": "number", "description": "seconds"},
    },
}
_OWNERS = (
    (("gpt", "o1", "o3", "o4", "text-", "dall-e", "whisper", "tts", "chatgpt"), "openai"),
    (("claude",), "anthropic"),
    (("gemini", "gemma"), "google"),
    (("deepseek",), "deepseek"),
    (("grok",), "xai"),
    (("mistral", "codestral", "pixtral"), "mistralai"),
    (("qwen",), "alibaba"),
    (("moonshot", "kimi"), "moonshot"),
)


@api.get(
    "/api/channel/test/{id}",
    access=Access.ADMIN,
    summary="Test a channel with a minimal chat request (billed to the caller)",
    query=(Param("model", "string", "default: test_model, else the first model"),),
    data=_TEST_RESULT,
)
async def channel_test(req: AdminRequest) -> Raw:
    row = await req.load(store.get_channel, req.path_int("id"), missing=MSG_NOT_FOUND)
    outcome = await run_channel_test(req.ctx, row, req.query("model"), req.me.id)
    body: dict[str, Any] = {
        "success": outcome.ok,
        "message": outcome.message,
        "time": outcome.millis / 1000.0,
    }
    if outcome.error is not None and outcome.error.code:
        body["error_code"] = outcome.error.code
    return Raw(body)


@api.get(
    "/api/channel/test",
    access=Access.ADMIN,
    summary="Test every channel not manually disabled, in the background",
)
async def channel_test_all(req: AdminRequest) -> None:
    if not channel_health(req.ctx).start_test_all():
        raise ApiError("a channel test run is already in progress")


@api.get(
    "/api/channel/fetch_models/{id}",
    access=Access.ADMIN,
    summary="The model ids the channel's upstream lists at /v1/models",
    data=_MODEL_LIST,
)
async def fetch_models_of_channel(req: AdminRequest) -> list[str]:
    row = await req.load(store.get_channel, req.path_int("id"), missing=MSG_NOT_FOUND)
    try:
        return await fetch_channel_models(req.ctx, row)
    except ProbeError as exc:
        raise ApiError(f"failed to fetch the model list: {exc}") from None


@api.post(
    "/api/channel/fetch_models",
    access=Access.ADMIN,
    summary="The model ids an upstream lists at /v1/models, before saving a channel",
    body={
        "type": "object",
        "properties": {
            "base_url": {"type": "string"},
            "type": {"type": "integer"},
            "key": {"type": "string", "description": "the first line is used"},
        },
    },
    data=_MODEL_LIST,
)
async def fetch_models(req: AdminRequest) -> list[str]:
    body = await req.json()
    base_url, key, channel_type = (
        body.get("base_url") or "",
        body.get("key") or "",
        body.get("type"),
    )
    if not isinstance(base_url, str) or not isinstance(key, str):
        raise ApiError("base_url and key must be strings")
    if channel_type is not None and (
        isinstance(channel_type, bool) or not isinstance(channel_type, int)
    ):
        raise ApiError("type must be an integer")
    base_url = base_url.strip()
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ApiError("base_url must start with http:// or https://")
    if not base_url and channel_type is not None:
        vendor = getattr(provider_for(channel_type), "vendor", None)
        base_url = vendor.base_url if vendor is not None else ""
    first = key.strip().split("\n")[0].strip()
    try:
        return await fetch_model_ids(req.ctx, base_url, first)
    except ProbeError as exc:
        raise ApiError(f"failed to fetch the model list: {exc}") from None


def _owner(model: str) -> str:
    lower = model.lower()
    for prefixes, owner in _OWNERS:
        if lower.startswith(prefixes):
            return owner
    return "custom"


@api.get(
    "/api/channel/models",
    access=Access.ADMIN,
    summary="Every model relay knows: priced ones and those named by channels",
    data={"type": "array", "items": {"type": "object"}},
)
async def known_models(req: AdminRequest) -> list[dict[str, Any]]:
    options, _ = await req.ctx.options()
    async with req.ctx.engine.connect() as conn:
        names = set(await store.channel_models(conn))
    names.update(options.ratios.model_ratio, options.ratios.model_price)
    return [
        {"id": name, "object": "model", "created": 1626777600, "owned_by": _owner(name)}
        for name in sorted(names)
    ]


@api.get(
    "/api/channel/models_enabled",
    access=Access.ADMIN,
    summary="The models some enabled channel serves",
    data=_MODEL_LIST,
)
async def enabled_models(req: AdminRequest) -> list[str]:
    async with req.ctx.engine.connect() as conn:
        return await store.enabled_models(conn)


@api.get(
    "/api/channel/update_balance/{id}",
    access=Access.ADMIN,
    summary="Ask the upstream for the channel's balance (USD) and store it",
    data={
        "type": "object",
        "properties": {
            "success": {"type": "boolean"},
            "message": {"type": "string"},
            "balance": {"type": "number"},
        },
    },
)
async def balance_of_channel(req: AdminRequest) -> Raw:
    row = await req.load(store.get_channel, req.path_int("id"), missing=MSG_NOT_FOUND)
    try:
        balance = await update_balance(req.ctx, row)
    except ProbeError as exc:
        return Raw({"success": False, "message": str(exc)})
    return Raw({"success": True, "message": "", "balance": balance})


@api.get(
    "/api/channel/update_balance",
    access=Access.ADMIN,
    summary="Update the balance of every enabled channel that has one; disable empty ones",
    data={"type": "object", "properties": {"updated": {"type": "integer"}}},
)
async def balance_of_all(req: AdminRequest) -> dict[str, int]:
    async with req.ctx.engine.connect() as conn:
        rows = await store.all_channels(conn)
    wanted = [
        r
        for r in rows
        if int(r["status"]) == STATUS_ENABLED
        and int(r["type"]) in BALANCE_QUERIES
        and not parse_info(r["channel_info"])["is_multi_key"]
    ]
    gate = asyncio.Semaphore(BALANCE_CONCURRENCY)
    counts = {"updated": 0, "failed": 0, "disabled": 0}

    async def one(row: Any) -> None:
        async with gate:
            try:
                balance = await update_balance(req.ctx, row)
            except ProbeError:
                counts["failed"] += 1
                return
        counts["updated"] += 1
        if balance <= 0 and await disable_channel(req.ctx, int(row["id"]), "insufficient balance"):
            counts["disabled"] += 1

    await asyncio.gather(*(one(r) for r in wanted))
    if counts["disabled"]:
        await req.ctx.changed()
    return counts
