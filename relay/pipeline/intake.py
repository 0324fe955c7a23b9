"""Everything before the upstream call: authenticate, validate, price and admit a request.

The order of checks, their status codes and texts follow new-api's middleware chain
(TokenAuth → ModelRequestRateLimit → Distribute → price → pre-consume).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from relay.auth import Principal, extract_key, split_key
from relay.billing.quote import UnpricedModel, make_quote
from relay.billing.ratios import matching_name
from relay.errors import RelayError, message
from relay.pipeline.call import Call
from relay.pipeline.media_request import MediaRequest
from relay.providers.base import Endpoint
from relay.quota.service import Limits, QuotaRefused, Refusal
from relay.tokenizer import estimate_prompt
from relay.worker.context import WorkerContext

_MAX_TOKEN_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


async def authenticate(
    ctx: WorkerContext,
    path: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    client_ip: str,
    lang: str,
) -> tuple[Principal, str, int | None]:
    """Resolve the client key: (principal, using group, pinned channel id or None)."""
    key, pin = split_key(extract_key(path, headers, query))
    principal = await ctx.principals.get(ctx.keyring.cached_digest(key)) if key else None
    if principal is None or (0 <= principal.expired_time < time.time()):
        raise RelayError(401, message("token_invalid", lang))
    if not principal.ip_allowed(client_ip):
        raise RelayError(403, message("ip_denied", lang), "access_denied")
    if not principal.user_enabled:
        raise RelayError(403, message("user_banned", lang))
    options = ctx.catalog.options
    group = principal.user_group
    if principal.token_group:
        group = principal.token_group
        if group not in options.usable_groups(principal.user_group):
            raise RelayError(403, message("group_denied", lang, group=group))
        if group != "auto" and group not in options.ratios.group_ratio:
            raise RelayError(403, message("group_deprecated", lang, group=group))
    pinned = None
    if pin is not None:
        if not principal.is_admin:
            raise RelayError(403, message("pin_denied", lang))
        if not pin.isdigit():
            raise RelayError(400, message("pin_invalid", lang))
        pinned = int(pin)
    return principal, group, pinned


def parse_payload(body: bytes, lang: str) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RelayError(400, message("invalid_request", lang, error=str(exc))) from None
    if not isinstance(payload, dict):
        raise RelayError(400, message("invalid_request", lang, error="body must be a JSON object"))
    return payload


def _max_tokens(payload: dict[str, Any]) -> int:
    """The output cap the client asked for (OpenAI, Claude, Responses or Gemini field), or 0."""
    config = payload.get("generationConfig")
    gemini = config.get("maxOutputTokens") if isinstance(config, dict) else None
    for value in (*(payload.get(name) for name in _MAX_TOKEN_FIELDS), gemini):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0


def _resolve_group(ctx: WorkerContext, principal: Principal, group: str, model: str) -> str:
    """Group `auto`: the first AutoGroups entry the user may use that serves the model."""
    if group != "auto":
        return group
    options = ctx.catalog.options
    usable = options.usable_groups(principal.user_group)
    for candidate in options["AutoGroups"]:
        if candidate in usable and ctx.catalog.routing.tiers(candidate, model):
            return str(candidate)
    return group


def _limits(ctx: WorkerContext, principal: Principal, group: str) -> Limits:
    options = ctx.catalog.options
    window = total = success = 0
    if options["ModelRequestRateLimitEnabled"]:
        window = options["ModelRequestRateLimitDurationMinutes"] * 60
        total = options["ModelRequestRateLimitCount"]
        success = options["ModelRequestRateLimitSuccessCount"]
        override = options["ModelRequestRateLimitGroup"].get(group)
        if override is not None:
            total, success = override
    return Limits(principal.rpm, principal.rpd, principal.tpm, window, total, success)


def refusal_error(ctx: WorkerContext, refused: QuotaRefused, call: Call, lang: str) -> RelayError:
    p, reason, value = call.principal, refused.reason, refused.value
    qpu = float(ctx.catalog.options["QuotaPerUnit"])

    def money(quota: int) -> str:
        return f"${quota / qpu:.6f}"

    minutes = ctx.catalog.options["ModelRequestRateLimitDurationMinutes"]
    if reason is Refusal.TOKEN_INVALID:
        return RelayError(401, message("token_invalid", lang))
    if reason is Refusal.USER_BANNED:
        return RelayError(403, message("user_banned", lang))
    if reason in (Refusal.RPM, Refusal.RPD, Refusal.TPM):
        msg_id, limit = {
            Refusal.RPM: ("rpm_limited", p.rpm),
            Refusal.RPD: ("rpd_limited", p.rpd),
            Refusal.TPM: ("tpm_limited", p.tpm),
        }[reason]
        text = message(msg_id, lang, limit=limit)
        return RelayError(429, text, "rate_limit_exceeded", retry_after=value, skip_retry=True)
    if reason in (Refusal.MODEL_SUCCESS_LIMIT, Refusal.MODEL_TOTAL_LIMIT):
        limits = _limits(ctx, p, call.using_group)
        if reason is Refusal.MODEL_SUCCESS_LIMIT:
            text = message(
                "model_success_limited", lang, limit=limits.model_success, minutes=minutes
            )
        else:
            text = message("model_total_limited", lang, limit=limits.model_total, minutes=minutes)
        return RelayError(429, text, "rate_limit_exceeded", retry_after=value, skip_retry=True)
    need = call.quote.hold
    if reason is Refusal.USER_QUOTA:
        text = (
            message("user_quota_empty", lang, remain=money(value))
            if value <= 0
            else message("user_quota_short", lang, remain=money(value), need=money(need))
        )
        return RelayError(403, text, "insufficient_user_quota", skip_retry=True)
    text = message("token_quota_short", lang, remain=money(value), need=money(need))
    return RelayError(403, text, "pre_consume_token_quota_failed", skip_retry=True)


async def intake(
    ctx: WorkerContext,
    endpoint: Endpoint,
    request_id: str,
    principal: Principal,
    group: str,
    pinned: int | None,
    body: bytes,
    client_ip: str,
    lang: str,
    path_model: str = "",
    media: MediaRequest | None = None,
) -> Call:
    """Validate and price the request and take its hold; raises RelayError. A media route
    brings its request already read (`media`: payload, prompt count, image factors)."""
    payload = media.payload if media is not None else parse_payload(body, lang)
    model = path_model or payload.get("model")
    if not isinstance(model, str) or not model:
        raise RelayError(400, message("model_required", lang))
    catalog = ctx.catalog
    if pinned is not None:
        channel = catalog.routing.channels.get(pinned)
        if channel is None:
            raise RelayError(400, message("pin_invalid", lang))
        if catalog.routing.enabled_channel(pinned) is None:
            raise RelayError(403, message("pin_disabled", lang))
    else:
        limits = principal.model_limits
        if limits is not None:
            if not limits:
                raise RelayError(403, message("no_model_access", lang))
            if matching_name(model) not in limits:
                raise RelayError(403, message("model_forbidden", lang, model=model))
        group = _resolve_group(ctx, principal, group, model)
        if not catalog.routing.tiers(group, model):
            raise RelayError(
                503, message("no_channel", lang, model=model, group=group), "model_not_found"
            )
    stream = payload.get("stream") is True and endpoint is not Endpoint.EMBEDDINGS
    options = payload.get("stream_options")
    wants_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
    if media is not None:
        stream, wants_usage, prompt_estimate = media.stream, False, media.prompt_tokens
    else:
        prompt_estimate = estimate_prompt(endpoint, payload, model)
    try:
        quote = make_quote(
            catalog.options,
            model,
            principal.user_group,
            group,
            prompt_estimate,
            media.max_tokens if media is not None else _max_tokens(payload),
            principal.accept_unset_ratio,
            media.price_ratio if media is not None else 1.0,
            media.count if media is not None else 1,
        )
    except UnpricedModel:
        msg_id = "price_unset_admin" if principal.is_admin else "price_unset"
        raise RelayError(
            400, message(msg_id, lang, model=matching_name(model)), "model_price_error"
        ) from None
    call = Call(
        request_id=request_id,
        endpoint=endpoint,
        principal=principal,
        body=body,
        payload=payload,
        model=model,
        stream=stream,
        client_wants_usage=wants_usage,
        using_group=group,
        client_ip=client_ip,
        started=time.time(),
        quote=quote,
        prompt_estimate=prompt_estimate,
        pinned_channel=pinned,
        media=media,
    )
    ctx.metrics.track(call)
    try:
        call.hold = await ctx.quota.admit(
            request_id,
            principal.user_id,
            principal.token_id,
            quote.hold,
            _limits(ctx, principal, group),
            quote.free,
        )
    except QuotaRefused as refused:
        ctx.metrics.refused(call, refused.reason)
        raise refusal_error(ctx, refused, call, lang) from None
    return call
