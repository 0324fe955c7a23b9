"""GET /v1/realtime: the OpenAI Realtime WebSocket proxy (new-api's relay/websocket.go and
channel/openai/relay_realtime.go).

Auth, model checks, channel choice, pricing and the first hold happen before the upgrade, so
their errors are plain HTTP JSON (OpenAI shape). After the 101 the upstream is dialled (per
attempt, retried like other calls); a failure then is an `error` event and a close. Frames
go both ways as they are (text as text, binary as binary); pings are answered at each hop,
close codes are passed on. Every upstream `response.done` settles its response (one usage
log each) and takes the hold for the next one; the session's end refunds the open hold, or
settles an unfinished response from the text it streamed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping

import aiohttp
import orjson

from relay import health
from relay.errors import RelayError, message, upstream_error
from relay.http.server import Reply, Request
from relay.http.websocket import (
    UNSENDABLE_CODES,
    Closed,
    WebSocket,
    handshake_problem,
    offered_subprotocols,
)
from relay.pipeline.call import Call
from relay.pipeline.forward import pick_channel, pick_key, should_retry
from relay.pipeline.intake import authenticate, intake, refusal_error
from relay.pipeline.realtime_billing import (
    AudioRatios,
    RealtimeUsage,
    audio_ratios,
    log_other,
    realtime_charge,
    usage_of,
)
from relay.pipeline.realtime_targets import SUBPROTOCOL, TARGETS
from relay.pipeline.settle import refund, settle
from relay.providers.base import Endpoint
from relay.proxies import client_ip_from
from relay.quota.service import NO_LIMITS, QuotaRefused
from relay.routing import Channel, ModelMappingError, map_model
from relay.worker.context import WorkerContext

DIAL_TIMEOUT = 30.0  # seconds for the upstream's TCP, TLS and WebSocket handshakes
CLOSE_TIMEOUT = 5.0  # seconds the upstream gets to answer our close frame
_OUTPUT_TEXT_DELTAS = frozenset(
    {
        "response.text.delta",
        "response.output_text.delta",
        "response.audio_transcript.delta",
        "response.output_audio_transcript.delta",
        "response.function_call_arguments.delta",
    }
)
_POLICY_VIOLATION = 1008
_INTERNAL_ERROR = 1011


def error_event(err: RelayError, request_id: str) -> str:
    """new-api's WssError: the OpenAI error inside a realtime `error` event."""
    error = orjson.loads(err.openai_body(request_id))["error"]
    return orjson.dumps({"type": "error", "event_id": f"evt_{request_id}", "error": error}).decode()


class RealtimeProxy:
    """The route's handler; owns the worker's aiohttp session for upstream WebSockets."""

    def __init__(self, ctx: WorkerContext) -> None:
        self._ctx = ctx
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __call__(self, request: Request, request_id: str, lang: str) -> Reply | None:
        ctx = self._ctx
        ip = client_ip_from(request.peer, request.headers, ctx.settings.trusted_proxies)
        principal, group, pinned = await authenticate(
            ctx, request.path, request.headers, request.query, ip, lang
        )
        upgrade, responder = request.upgrade, request.responder
        problem = handshake_problem(request.method, request.headers)
        if upgrade is None or responder is None or problem is not None:
            text = problem or "not a WebSocket handshake"
            raise RelayError(400, message("invalid_request", lang, error=text), "invalid_request")
        body = orjson.dumps({"model": request.query.get("model", "")})
        call = await intake(ctx, Endpoint.REALTIME, request_id, principal, group, pinned, body,
                            ip, lang)  # fmt: skip
        call.stream = True
        try:
            offered = offered_subprotocols(request.headers)
            chosen = SUBPROTOCOL if SUBPROTOCOL in offered else None
            try:
                client = upgrade.accept(responder, chosen, [("X-Oneapi-Request-Id", request_id)])
            except ConnectionResetError:
                return None  # the client left during admission
            by_subprotocol = bool(offered)
            query = {k: v for k, v in request.query.items() if k != "model"}
            dialled = await self._dial(call, query, by_subprotocol, lang, client)
            if dialled is not None:
                channel, upstream = dialled
                await Session(ctx, call, channel, client, upstream, lang).run()
        finally:
            await refund(ctx, call)  # no-op once the last hold has been settled
        return None

    async def _dial(
        self, call: Call, query: Mapping[str, str], by_subprotocol: bool, lang: str,
        client: WebSocket,
    ) -> tuple[Channel, aiohttp.ClientWebSocketResponse] | None:  # fmt: skip
        """Connect upstream, retrying on another channel as new-api does; on failure the client
        gets the error event and the close, and None is returned."""
        ctx = self._ctx
        options = ctx.catalog.options
        attempts = 1 + options["RetryTimes"]
        codes = options["AutomaticRetryStatusCodes"]
        last: RelayError | None = None
        for attempt in range(attempts):
            channel = pick_channel(ctx, call, attempt)
            if channel is None:
                break
            call.tried_channels.append(channel.id)
            key = ""
            try:
                key = pick_key(ctx, channel)
                upstream = await self._connect(call, channel, key, query, by_subprotocol, lang)
            except RelayError as err:
                last = err
                if options["AutomaticDisableChannelEnabled"]:
                    health.report(ctx, channel.id, key, health.qualifies(err, options.values))
                if should_retry(err, attempt, attempts, call, codes):
                    continue
                break
            if options["AutomaticDisableChannelEnabled"]:
                health.report(ctx, channel.id, key, False)
            return channel, upstream
        failure = last or RelayError(
            503,
            message("no_channel", lang, model=call.model, group=call.using_group),
            "model_not_found",
        )
        with contextlib.suppress(ConnectionError):
            await client.send(error_event(failure, call.request_id))
        await client.close(_INTERNAL_ERROR, "upstream unavailable")
        return None

    async def _connect(
        self, call: Call, channel: Channel, key: str, query: Mapping[str, str],
        by_subprotocol: bool, lang: str,
    ) -> aiohttp.ClientWebSocketResponse:  # fmt: skip
        builder = TARGETS.get(channel.type)
        if builder is None:
            raise RelayError(
                500,
                f"channel type {channel.type} does not serve realtime",
                "channel:type_unsupported",
                channel_error=True,
            )
        try:
            call.upstream_model = map_model(channel, call.model)
        except ModelMappingError as exc:
            raise RelayError(
                500, str(exc), "channel:model_mapped_error", channel_error=True
            ) from None
        target = builder(
            channel, key, call.upstream_model, query, by_subprotocol,
            self._ctx.settings.azure_default_api_version,
        )  # fmt: skip
        sent = time.perf_counter()
        try:
            async with asyncio.timeout(DIAL_TIMEOUT):
                upstream = await self._client().ws_connect(
                    target.url,
                    headers=target.headers,
                    protocols=target.protocols,
                    max_msg_size=self._ctx.settings.max_request_body_bytes,
                    compress=0,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT),
                )
        except aiohttp.WSServerHandshakeError as exc:
            self._ctx.metrics.upstream(call, channel.id, exc.status, sent)
            status = channel.status_code_mapping.get(exc.status, exc.status)
            raise upstream_error(status, b"") from None
        except (aiohttp.ClientError, OSError, ValueError, TimeoutError) as exc:
            raise RelayError(
                500,
                message("upstream_unreachable", lang, error=type(exc).__name__),
                "do_request_failed",
            ) from None
        self._ctx.metrics.upstream(call, channel.id, 101, sent)
        return upstream


class Session:
    """One proxied session: two pumps, billing by `response.done`, one end."""

    def __init__(
        self,
        ctx: WorkerContext,
        call: Call,
        channel: Channel,
        client: WebSocket,
        upstream: aiohttp.ClientWebSocketResponse,
        lang: str,
    ) -> None:
        self._ctx = ctx
        self._lang = lang
        self._call = call
        self._channel = channel
        self._client = client
        self._upstream = upstream
        self._ratios: AudioRatios = audio_ratios(ctx.catalog.options.ratios, call.model)
        self._responding = False  # between response.created and response.done
        self._texts: list[str] = []  # output text of the unfinished response
        self._holds = 0
        # The billing of a response.done: survives the pumps' cancellation.
        self._billing: asyncio.Future[RelayError | None] | None = None

    async def run(self) -> None:
        from_client = asyncio.create_task(self._from_client())
        from_upstream = asyncio.create_task(self._from_upstream())
        try:
            await asyncio.wait([from_client, from_upstream], return_when=asyncio.FIRST_COMPLETED)
        finally:
            from_client.cancel()  # it only waits on the client
            closed = self._client.closed or Closed(1000)
            code = 1000 if closed.code in UNSENDABLE_CODES else closed.code
            # Closing from here ends the upstream pump's receive without breaking the socket
            # (cancelling it would make aiohttp drop the connection).
            with contextlib.suppress(Exception):
                await self._upstream.close(code=code, message=closed.reason.encode())
            from_upstream.cancel()
            for pump in (from_client, from_upstream):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump
            if self._billing is not None:
                with contextlib.suppress(Exception):
                    await self._billing
            await self._settle_unfinished()
            await self._client.close()

    async def _from_client(self) -> None:
        """Client messages upstream, until the client's close (passed on by `run`)."""
        upstream = self._upstream
        while True:
            item = await self._client.receive()
            if isinstance(item, Closed):
                return
            if isinstance(item, str):
                await upstream.send_str(item)
            else:
                await upstream.send_bytes(item)

    async def _from_upstream(self) -> None:
        client, call, upstream = self._client, self._call, self._upstream
        while True:
            msg = await upstream.receive()
            if not call.first_token_at:
                call.first_token_at = time.time()
            if msg.type is aiohttp.WSMsgType.TEXT:
                refused = await self._observe(msg.data)  # billed even if the client is gone
                await client.send(msg.data)
                if refused is not None:  # no quota left for another response
                    with contextlib.suppress(ConnectionError):
                        await client.send(error_event(refused, call.request_id))
                    await client.close(_POLICY_VIOLATION, "quota exhausted")
                    return
            elif msg.type is aiohttp.WSMsgType.BINARY:
                await client.send(msg.data)
            elif msg.type is aiohttp.WSMsgType.CLOSE:  # the upstream's close frame: pass it on
                await client.close(int(msg.data), msg.extra or "")
                return
            elif msg.type is aiohttp.WSMsgType.CLOSING:  # run() is closing it
                return
            else:  # the connection broke without a close frame
                await client.close(_INTERNAL_ERROR, "upstream connection lost")
                return

    async def _observe(self, text: str) -> RelayError | None:
        """Bill by the event; an error when the session must end (no hold for the next
        response)."""
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        kind = event.get("type") if isinstance(event, dict) else None
        if kind in _OUTPUT_TEXT_DELTAS:
            delta = event.get("delta")
            if isinstance(delta, str):
                self._texts.append(delta)
        elif kind == "response.created":
            self._responding = True
        elif kind == "response.done":
            self._billing = asyncio.ensure_future(
                self._bill(usage_of(event) or self._counted_usage())
            )
            return await asyncio.shield(self._billing)
        return None

    def _counted_usage(self) -> RealtimeUsage:
        """A response without reported usage: its streamed text, counted (as new-api does)."""
        count = self._ctx.tokenizer.counter_for(self._call.model)
        tokens = count("".join(self._texts)) if self._texts else 0
        return RealtimeUsage(output_tokens=tokens, total_tokens=tokens, text_out=tokens)

    async def _bill(self, usage: RealtimeUsage) -> RelayError | None:
        """Settle this response and hold for the next one; the error when that is refused."""
        ctx, call = self._ctx, self._call
        self._responding, self._texts = False, []
        quota = realtime_charge(call.quote, self._ratios, usage)
        extra = log_other(self._ratios, usage)
        settle(ctx, call, self._channel.id, usage.as_usage(), quota, extra)
        call.started, call.first_token_at = time.time(), 0.0  # the next log's use_time and frt
        self._holds += 1
        p = call.principal
        try:
            call.hold = await ctx.quota.admit(
                f"{call.request_id}-{self._holds}",
                p.user_id,
                p.token_id,
                call.quote.hold,
                NO_LIMITS,
                call.quote.free,
            )
        except QuotaRefused as refused:
            return refusal_error(ctx, refused, call, self._lang)
        return None

    async def _settle_unfinished(self) -> None:
        """A response cut off by the session's end is billed for the text it streamed (the
        caller refunds the hold otherwise)."""
        call = self._call
        if self._responding and self._texts and call.hold is not None:
            usage = self._counted_usage()
            quota = realtime_charge(call.quote, self._ratios, usage)
            extra = log_other(self._ratios, usage)
            settle(self._ctx, call, self._channel.id, usage.as_usage(), quota, extra)
