"""Send a call upstream: pick a channel per attempt, retry by new-api's rules, answer the client."""

from __future__ import annotations

import random
import time
from typing import Any

import orjson

from relay import health
from relay.convert.claude_request import ConversionError
from relay.errors import RelayError, message, upstream_error
from relay.http.client import UpstreamError, UpstreamResponse
from relay.http.server import Reply, Responder
from relay.pipeline.call import Call
from relay.pipeline.channel_setting import prompted_payload, whole_answer
from relay.pipeline.embeddings import crosses, respond_embeddings, upstream_embeddings
from relay.pipeline.media import inline_remote_images
from relay.pipeline.media_reply import respond_media
from relay.pipeline.settle import fallback_usage, settle
from relay.pipeline.stream import relay_stream
from relay.pipeline.surface import surface_for
from relay.pipeline.translate import relay_translated_stream, translated_reply
from relay.providers.base import Endpoint, Format, Provider, UpstreamCall, speaks
from relay.routing import Channel, ChannelSetting, ModelMappingError, map_model
from relay.worker.context import WorkerContext

# Client endpoints that can meet another format in the pivot (generation requests).
_TRANSLATABLE = frozenset({Endpoint.CHAT, Endpoint.MESSAGES, Endpoint.RESPONSES, Endpoint.GEMINI})
# Statuses new-api never retries, whatever AutomaticRetryStatusCodes says.
_NEVER_RETRY = frozenset({400, 408, 504, 524})


def should_retry(
    err: RelayError, attempt: int, attempts: int, call: Call, codes: frozenset[int]
) -> bool:
    """new-api's shouldRetry, in its order."""
    if err.channel_error:
        return True
    if err.skip_retry or attempt + 1 >= attempts or call.pinned_channel is not None:
        return False
    if 200 <= err.status < 300:
        return False
    if not 100 <= err.status <= 599:
        return True
    if err.code == "bad_response_body" or err.status in _NEVER_RETRY:
        return False
    return err.status in codes


def pick_channel(ctx: WorkerContext, call: Call, attempt: int) -> Channel | None:
    routing = ctx.catalog.routing
    if call.pinned_channel is not None:
        return routing.enabled_channel(call.pinned_channel)
    return routing.select(call.using_group, call.model, attempt)


def pick_key(ctx: WorkerContext, channel: Channel) -> str:
    """A multi-key channel's key: random, or round-robin in `polling` mode."""
    if len(channel.keys) == 1:
        return channel.keys[0]
    if not channel.keys:
        raise RelayError(500, "no enabled keys", "channel:no_available_key", channel_error=True)
    if channel.multi_key_random:
        return random.choice(channel.keys)
    index = ctx.key_cursor.get(channel.id, 0)
    ctx.key_cursor[channel.id] = index + 1
    return channel.keys[index % len(channel.keys)]


async def _prepare_pivot(
    ctx: WorkerContext, call: Call, provider: Provider, lang: str, prompted: dict[str, Any] | None
) -> tuple[dict[str, Any], bytes]:
    """The pivot request and its bytes, with remote images inlined for providers that take
    only inline media. Made once per call (an inlined pivot has no remote URLs left), or
    for this attempt from the payload the channel's system prompt changed."""
    if call.endpoint not in _TRANSLATABLE:
        raise RelayError(
            500,
            f"this channel does not serve {call.endpoint.value}",
            "channel:type_unsupported",
            channel_error=True,
        )
    if prompted is not None:
        pivot = surface_for(call.endpoint).request_to_pivot(prompted)
        pivot_body = orjson.dumps(pivot)
    else:
        if call.pivot is None:
            call.pivot = surface_for(call.endpoint).request_to_pivot(call.payload)
            call.pivot_body = call.body if call.pivot is call.payload else orjson.dumps(call.pivot)
        pivot, pivot_body = call.pivot, call.pivot_body
    if provider.native is not Format.OPENAI:
        inlined = await inline_remote_images(ctx.upstream, pivot, lang)
        if inlined is not None:
            pivot, pivot_body = inlined, orjson.dumps(inlined)
            if prompted is None:
                call.pivot, call.pivot_body = pivot, pivot_body
    return pivot, pivot_body


async def _upstream_call(
    ctx: WorkerContext,
    call: Call,
    provider: Provider,
    setting: ChannelSetting,
    upstream_model: str,
    inject: bool,
    lang: str,
) -> UpstreamCall:
    """The request in the provider's native format when the client speaks it (bytes pass
    through unless the channel's system prompt changes them), else the pivot (OpenAI Chat);
    with pass_through_body_enabled, the client's bytes whatever the formats; embeddings in
    the other format, converted."""
    if crosses(call, provider):
        return upstream_embeddings(call, provider.native, upstream_model)
    native = speaks(provider, call.surface, upstream_model)
    body, payload = call.body, call.payload
    form = call.media.form if call.media is not None else None
    if form is not None and upstream_model != call.model:
        body = form.with_field("model", upstream_model)  # the files go up as they came
    prompted = None
    if not setting.pass_through_body:
        prompted = prompted_payload(
            setting, provider, call.endpoint, call.surface, call.payload, upstream_model
        )
        if not native:
            payload, body = await _prepare_pivot(ctx, call, provider, lang, prompted)
        elif prompted is not None:
            payload = prompted
    return UpstreamCall(
        endpoint=call.endpoint if native else Endpoint.CHAT,
        body=body,
        payload=payload,
        upstream_model=upstream_model,
        model_mapped=upstream_model != call.model,
        stream=call.stream,
        inject_usage=inject,
        format=call.surface if native else Format.OPENAI,
        client_headers=call.client_headers,
        edited=native and prompted is not None,
        pass_through=setting.pass_through_body or form is not None,
        client_query=call.client_query,
    )


async def _respond_whole(
    ctx: WorkerContext,
    call: Call,
    channel: Channel,
    provider: Provider,
    upstream: UpstreamResponse,
    lang: str,
) -> Reply:
    try:
        body = await upstream.read()
        data = orjson.loads(body)
    except (UpstreamError, orjson.JSONDecodeError) as exc:
        raise RelayError(
            500, message("upstream_bad_body", lang, error=str(exc)), "bad_response_body"
        ) from None
    call.first_token_at = time.time()
    if crosses(call, provider):
        return await respond_embeddings(ctx, call, channel.id, provider, data, lang)
    usage = provider.parse_usage(call.endpoint, data) if isinstance(data, dict) else None
    if usage is None or usage.prompt_tokens + usage.cached_tokens + usage.cache_write_tokens == 0:
        texts = provider.response_text(call.endpoint, data) if isinstance(data, dict) else []
        count = ctx.tokenizer.counter_for(call.model)
        usage = fallback_usage(ctx, call, sum(count(t) for t in texts))
    settle(ctx, call, channel.id, usage)
    if not speaks(provider, call.surface, call.upstream_model) and isinstance(data, dict):
        return translated_reply(call, provider, data, usage)
    content_type = upstream.headers.get("content-type", "application/json")
    body = whole_answer(channel.setting, provider, call.endpoint, body, data)
    return Reply(
        200, body, [("Content-Type", content_type), ("X-Oneapi-Request-Id", call.request_id)]
    )


async def forward(
    ctx: WorkerContext, call: Call, responder: Responder | None, lang: str
) -> Reply | None:
    """Relay the call; on success it is settled, on RelayError the caller refunds the hold."""
    options = ctx.catalog.options
    attempts = 1 + options["RetryTimes"]
    codes = options["AutomaticRetryStatusCodes"]
    last: RelayError | None = None
    for attempt in range(attempts):
        channel = pick_channel(ctx, call, attempt)
        if channel is None:
            break
        call.tried_channels.append(channel.id)
        provider = ctx.catalog.providers.get(channel.type)
        key = ""
        answered = False  # the upstream said 200: the attempt counts as healthy
        try:
            if provider is None:
                raise RelayError(
                    500,
                    f"channel type {channel.type} is not supported",
                    "channel:type_unsupported",
                    channel_error=True,
                )
            try:
                upstream_model = map_model(channel, call.model)
            except ModelMappingError as exc:
                raise RelayError(
                    500, str(exc), "channel:model_mapped_error", channel_error=True
                ) from None
            call.upstream_model = upstream_model
            inject = (
                call.stream
                and ctx.settings.force_stream_option
                and not call.client_wants_usage
                and provider.injects_usage()
                and not channel.setting.pass_through_body
                and call.media is None  # media streams (speech, images) report usage anyway
            )
            key = pick_key(ctx, channel)
            try:
                upstream_call = await _upstream_call(
                    ctx, call, provider, channel.setting, upstream_model, inject, lang
                )
                built = provider.build_request(channel, key, upstream_call)
            except ConversionError as exc:
                raise RelayError(
                    400,
                    message("invalid_request", lang, error=str(exc)),
                    "convert_request_failed",
                    skip_retry=True,
                ) from None
            sent = time.perf_counter()
            try:
                upstream = await ctx.upstream.request(
                    "POST",
                    built.url,
                    built.headers,
                    built.body,
                    read_timeout=ctx.settings.streaming_timeout if call.stream else None,
                    total_timeout=ctx.settings.relay_timeout or None,
                    proxy=channel.setting.proxy,
                )
            except (UpstreamError, OSError, ValueError) as exc:
                raise RelayError(
                    500,
                    message("upstream_unreachable", lang, error=type(exc).__name__),
                    "do_request_failed",
                ) from None
            ctx.metrics.upstream(call, channel.id, upstream.status, sent)
            if upstream.status != 200:
                try:
                    error_body = await upstream.read()
                except UpstreamError:
                    error_body = b""
                finally:
                    upstream.release()
                status = channel.status_code_mapping.get(upstream.status, upstream.status)
                raise upstream_error(status, error_body)
            answered = True
            if options["AutomaticDisableChannelEnabled"]:
                health.report(ctx, channel.id, key, False)
            call.upstream_request_id = upstream.headers.get("x-request-id", "")
            if call.media is not None:
                try:
                    return await respond_media(ctx, call, channel, upstream, lang)
                finally:
                    upstream.release()
            if call.stream and responder is not None:
                if speaks(provider, call.surface, upstream_model):
                    await relay_stream(ctx, call, responder, channel, provider, upstream, inject)
                else:
                    await relay_translated_stream(ctx, call, responder, channel, provider, upstream)
                return None
            try:
                return await _respond_whole(ctx, call, channel, provider, upstream, lang)
            finally:
                upstream.release()
        except RelayError as err:
            last = err
            if not answered and options["AutomaticDisableChannelEnabled"]:
                health.report(ctx, channel.id, key, health.qualifies(err, options.values))
            if not should_retry(err, attempt, attempts, call, codes):
                raise
    if last is not None:
        raise last
    raise RelayError(
        503,
        message("no_channel", lang, model=call.model, group=call.using_group),
        "model_not_found",
    )
