"""Settlement: the real cost replaces the hold, and one usage-log record goes with it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import msgpack
import orjson

from relay.pipeline.call import Call
from relay.providers.base import Usage
from relay.tokenizer import count_prompt
from relay.worker.context import WorkerContext

LOG_TYPE_CONSUME = 2


def fallback_usage(ctx: WorkerContext, call: Call, completion_tokens: int) -> Usage:
    """Usage counted locally when the upstream reported none (new-api's behaviour)."""
    prompt = count_prompt(ctx.tokenizer, call.endpoint, call.payload, call.model)
    return Usage(prompt_tokens=prompt, completion_tokens=completion_tokens)


def log_record(
    call: Call,
    channel_id: int,
    usage: Usage,
    quota: int,
    node_name: str = "",
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """The msgpack usage record the admin process writes into `logs` (node_name goes only to
    the dashboard's quota_data bucket; `extra` adds fields to `other`)."""
    now = time.time()
    p = call.principal
    other: dict[str, Any] = call.quote.log_other()
    if extra:
        other.update(extra)
    other["cache_tokens"] = usage.cached_tokens
    if call.first_token_at:
        other["frt"] = round((call.first_token_at - call.started) * 1000)
    if call.upstream_model and call.upstream_model != call.model:
        other["is_model_mapped"] = True
        other["upstream_model_name"] = call.upstream_model
    other["admin_info"] = {"use_channel": [str(c) for c in call.tried_channels]}
    return msgpack.packb(
        {
            "user_id": p.user_id,
            "created_at": int(now),
            "type": LOG_TYPE_CONSUME,
            "content": "",
            "username": p.username,
            "token_name": p.token_name,
            "model_name": call.model,
            "quota": quota,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "use_time": int(now - call.started),
            "is_stream": call.stream,
            "channel_id": channel_id,
            "token_id": p.token_id,
            "group": call.using_group,
            "ip": call.client_ip if p.record_ip else "",
            "request_id": call.request_id,
            "upstream_request_id": call.upstream_request_id,
            "other": orjson.dumps(other).decode(),
            "node_name": node_name,
        }
    )


def settle(
    ctx: WorkerContext,
    call: Call,
    channel_id: int,
    usage: Usage,
    quota: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Charge the call: the settlement leaves for Redis now and completes on its own (see
    QuotaService.settle); `quota` when the caller priced the usage itself, `extra` for the
    log's `other`."""
    hold, call.hold = call.hold, None
    if hold is None:
        return 0
    if quota is None:
        quota = call.quote.charge(usage)
    record = b""
    if ctx.catalog.options["LogConsumeEnabled"]:
        record = log_record(call, channel_id, usage, quota, ctx.settings.node_name, extra)
    ctx.quota.settle(hold, quota, channel_id, usage.total_tokens, True, record)
    ctx.metrics.settled(call, channel_id, usage, quota)
    return quota


async def refund(ctx: WorkerContext, call: Call) -> None:
    """Give back the hold of a call that failed before any upstream answered."""
    hold, call.hold = call.hold, None
    if hold is not None:
        await ctx.quota.refund(hold)
