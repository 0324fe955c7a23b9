"""Handlers of the relay API: the text endpoints, model lists and the billing endpoints."""

from __future__ import annotations

import time
from typing import Any

import orjson

from relay.auth import Principal
from relay.errors import RelayError, message
from relay.http.server import Reply, Request
from relay.pipeline.forward import forward
from relay.pipeline.intake import authenticate, intake
from relay.pipeline.media_request import MEDIA_ENDPOINTS, read_media
from relay.pipeline.realtime import RealtimeProxy
from relay.pipeline.settle import refund
from relay.pipeline.surface import surface_for
from relay.providers.base import Endpoint
from relay.proxies import client_ip_from
from relay.worker.context import WorkerContext

UNKNOWN_MODEL_CREATED = 1626777600
UNLIMITED_AMOUNT = 100_000_000
_OWNERS = (
    (("gpt-", "o1", "o3", "o4", "chatgpt", "text-embedding", "dall-e", "whisper", "tts"), "openai"),
    (("claude",), "anthropic"),
    (("gemini",), "google"),
    (("deepseek",), "deepseek"),
)
# Intake errors that new-api raises inside the relay handler rather than its middleware, so
# they take the client's API shape (the others stay OpenAI-shaped on every path).
_RELAY_STAGE_CODES = frozenset(
    {"model_price_error", "insufficient_user_quota", "pre_consume_token_quota_failed"}
)
_FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")
_FORWARDED_QUERY = ("api-version",)  # new-api's GetAPIVersion: overrides an Azure channel's


def json_headers(request_id: str) -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), ("X-Oneapi-Request-Id", request_id)]


def json_response(data: Any, request_id: str, status: int = 200) -> Reply:
    return Reply(status, orjson.dumps(data), json_headers(request_id))


def _rfc3339(unix: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


def _owner(model: str) -> str:
    for prefixes, owner in _OWNERS:
        if model.startswith(prefixes):
            return owner
    return "custom"


class Handlers:
    """The relay routes' handlers; each takes (request, request id, language)."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.realtime = RealtimeProxy(ctx)  # GET /v1/realtime (WebSocket)

    async def _auth(self, request: Request, lang: str) -> tuple[Principal, str, int | None, str]:
        ip = client_ip_from(request.peer, request.headers, self.ctx.settings.trusted_proxies)
        principal, group, pinned = await authenticate(
            self.ctx, request.path, request.headers, request.query, ip, lang
        )
        return principal, group, pinned, ip

    async def _auth_funded(self, request: Request, lang: str) -> tuple[Principal, str]:
        """_auth plus TokenAuth's balance check, for endpoints that take no hold (admission
        checks it for relayed calls): a limited token with nothing left is an invalid token."""
        principal, group, _, _ = await self._auth(request, lang)
        if not principal.unlimited:
            _, _, remain, _ = await self.ctx.quota.balances(principal.user_id, principal.token_id)
            if remain <= 0:
                raise RelayError(401, message("token_invalid", lang))
        return principal, group

    @staticmethod
    def _body(request: Request, lang: str) -> bytes:
        if request.body_error == "too_large":
            raise RelayError(413, message("body_too_large", lang), "read_request_body_failed")
        if request.body_error:
            raise RelayError(
                400, message("invalid_request", lang, error=request.body_error), "invalid_request"
            )
        return request.body

    async def relay(
        self,
        request: Request,
        request_id: str,
        lang: str,
        endpoint: Endpoint,
        model: str = "",
        stream: bool = False,
    ) -> Reply | None:
        principal, group, pinned, ip = await self._auth(request, lang)
        body = self._body(request, lang)
        surface = surface_for(endpoint)
        media = None
        if endpoint in MEDIA_ENDPOINTS:
            content_type = request.headers.get("content-type", "")
            media = read_media(endpoint, content_type, body, lang, self.ctx.tokenizer.count)
            body = media.body or body
        try:
            call = await intake(
                self.ctx, endpoint, request_id, principal, group, pinned, body, ip, lang, model,
                media,
            )  # fmt: skip
        except RelayError as err:
            if err.code in _RELAY_STAGE_CODES:
                err.shape = surface.error_shape
            raise
        call.surface = surface.format
        if endpoint is Endpoint.GEMINI:
            # Gemini puts the model and streaming in the path; the pivot request needs both.
            call.stream = stream
            call.payload = {**call.payload, "model": call.model, "stream": stream}
        headers = request.headers
        call.client_headers = {n: v for n in _FORWARDED_HEADERS if (v := headers.get(n))}
        call.client_query = {n: v for n in _FORWARDED_QUERY if (v := request.query.get(n))}
        if media is not None and media.form is not None:
            call.client_headers["content-type"] = media.content_type  # the form goes up as is
        try:
            return await forward(self.ctx, call, request.responder, lang)
        except RelayError as err:
            err.shape = surface.error_shape
            raise
        finally:
            await refund(self.ctx, call)  # no-op once the call has been settled

    def _visible_models(self, principal: Principal, group: str) -> list[str]:
        catalog = self.ctx.catalog
        options = catalog.options
        groups = [group]
        if group == "auto":
            usable = options.usable_groups(principal.user_group)
            groups = [g for g in options["AutoGroups"] if g in usable]
        seen: dict[str, None] = {}
        for g in groups:
            for model in catalog.routing.models_of(g):
                seen[model] = None
        models = list(seen)
        if principal.model_limits is not None:
            models = [m for m in models if m in principal.model_limits]
        if not options["SelfUseModeEnabled"] and not principal.accept_unset_ratio:
            models = [m for m in models if options.ratios.is_priced(m)]
        return models

    async def models(self, request: Request, request_id: str, lang: str) -> Reply:
        principal, group = await self._auth_funded(request, lang)
        models = self._visible_models(principal, group)
        if request.headers.get("x-api-key") and request.headers.get("anthropic-version"):
            # new-api: created_at is the OpenAI entry's `created` in RFC 3339.
            data = [
                {
                    "id": e["id"],
                    "created_at": _rfc3339(e["created"]),
                    "display_name": e["id"],
                    "type": "model",
                }
                for e in map(self._model_entry, models)
            ]
            return json_response(
                {
                    "data": data,
                    "first_id": models[0] if models else None,
                    "has_more": False,
                    "last_id": models[-1] if models else None,
                },
                request_id,
            )
        return json_response(
            {"success": True, "object": "list", "data": [self._model_entry(m) for m in models]},
            request_id,
        )

    async def gemini_models(self, request: Request, request_id: str, lang: str) -> Reply:
        """GET /v1beta/models: the token's models in Gemini's list shape (as new-api fills it)."""
        principal, group = await self._auth_funded(request, lang)
        models = [{"name": m, "displayName": m} for m in self._visible_models(principal, group)]
        return json_response({"models": models, "nextPageToken": None}, request_id)

    @staticmethod
    def _model_entry(model: str) -> dict[str, Any]:
        return {
            "id": model,
            "object": "model",
            "created": UNKNOWN_MODEL_CREATED,
            "owned_by": _owner(model),
            "supported_endpoint_types": ["openai"],
        }

    async def model(self, request: Request, request_id: str, lang: str, model: str) -> Reply:
        principal, group = await self._auth_funded(request, lang)
        if model not in self._visible_models(principal, group):
            raise RelayError(
                404,
                f"The model '{model}' does not exist",
                "model_not_found",
                type="invalid_request_error",
                param="model",
            )
        return json_response(self._model_entry(model), request_id)

    async def _billing_amounts(self, request: Request, lang: str) -> tuple[Principal, float, float]:
        """(principal, total granted, used) in the configured display unit."""
        principal, _, _, _ = await self._auth(request, lang)
        user_q, user_used, token_q, token_used = await self.ctx.quota.balances(
            principal.user_id, principal.token_id
        )
        if not principal.unlimited and token_q <= 0:
            raise RelayError(401, message("token_invalid", lang))
        options = self.ctx.catalog.options
        remain, used = (
            (token_q, token_used) if options["DisplayTokenStatEnabled"] else (user_q, user_used)
        )
        qpu = float(options["QuotaPerUnit"])
        display = options["general_setting.quota_display_type"]

        def unit(quota: int) -> float:
            if display == "TOKENS":
                return float(quota)
            if display == "CNY":
                return quota / qpu * float(options["USDExchangeRate"])
            return quota / qpu

        return principal, unit(remain + used), unit(used)

    async def subscription(self, request: Request, request_id: str, lang: str) -> Reply:
        principal, granted, _ = await self._billing_amounts(request, lang)
        token_stat = self.ctx.catalog.options["DisplayTokenStatEnabled"]
        if principal.unlimited and token_stat:
            granted = UNLIMITED_AMOUNT
        return json_response(
            {
                "object": "billing_subscription",
                "has_payment_method": True,
                "soft_limit_usd": granted,
                "hard_limit_usd": granted,
                "system_hard_limit_usd": granted,
                # new-api reads expired_time only from the token, so 0 when showing the user.
                "access_until": max(principal.expired_time, 0) if token_stat else 0,
            },
            request_id,
        )

    async def usage(self, request: Request, request_id: str, lang: str) -> Reply:
        _, _, used = await self._billing_amounts(request, lang)
        return json_response({"object": "list", "total_usage": used * 100}, request_id)

    async def healthz(self, request: Request, request_id: str, lang: str) -> Reply:
        return json_response({"status": "ok", "time": int(time.time())}, request_id)

    async def not_implemented(self, request: Request, request_id: str, lang: str) -> Reply:
        await self._auth(request, lang)  # the routes sit behind new-api's TokenAuth
        # new-api writes this body as is: English, no request id in the message, param "".
        error = {
            "message": "API not implemented",
            "type": "new_api_error",
            "param": "",
            "code": "api_not_implemented",
        }
        return json_response({"error": error}, request_id, status=501)
