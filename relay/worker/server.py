"""The relay API's request dispatcher: (method, path) → handler, on relay's own HTTP server.

Every response carries X-Oneapi-Request-Id; every error is a JSON body in the shape the
RelayError carries (OpenAI's unless the handler set the client surface's); an unexpected
exception becomes a 500 with no traceback sent.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable

from relay.errors import RelayError, language, message
from relay.http.server import Reply, Request, Responder
from relay.logfmt import REQUEST_ID
from relay.providers.base import Endpoint
from relay.worker.handlers import Handlers, json_headers
from relay.worker.request_meta import RequestIds

log = logging.getLogger("relay.server")

Handler = Callable[[Request, str, str], Awaitable[Reply | None]]

_CORS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    ("Access-Control-Allow-Headers", "*"),
    ("Access-Control-Max-Age", "86400"),
]


# Gemini's actions → (endpoint, whether it streams: always as SSE, as new-api does).
_GEMINI_ACTIONS = {
    "generateContent": (Endpoint.GEMINI, False),
    "streamGenerateContent": (Endpoint.GEMINI, True),
    "embedContent": (Endpoint.GEMINI_EMBED, False),
    "batchEmbedContents": (Endpoint.GEMINI_EMBED, False),
}


# The routes new-api answers 501 api_not_implemented (router/relay-router.go), `:id` one segment.
_NOT_IMPLEMENTED = re.compile(
    r"POST /v1/images/variations|(GET|POST) /v1/files|(GET|DELETE) /v1/files/[^/]+"
    r"|GET /v1/files/[^/]+/content|(GET|POST) /v1/fine-tunes|GET /v1/fine-tunes/[^/]+"
    r"|POST /v1/fine-tunes/[^/]+/cancel|GET /v1/fine-tunes/[^/]+/events|DELETE /v1/models/[^/]+"
)
# The media and other OpenAI routes (relay/pipeline/media_request.py reads their bodies).
_MEDIA_ROUTES = (
    Endpoint.MODERATIONS,
    Endpoint.IMAGES,
    Endpoint.IMAGE_EDITS,
    Endpoint.EDITS,
    Endpoint.SPEECH,
    Endpoint.TRANSCRIPTIONS,
    Endpoint.TRANSLATIONS,
    Endpoint.RERANK,
)


def error_reply(err: RelayError, request_id: str) -> Reply:
    headers = json_headers(request_id)
    if err.retry_after is not None:
        headers.append(("Retry-After", str(err.retry_after)))
    return Reply(err.status, err.body(request_id), headers)


class RelayDispatcher:
    """Maps (method, path) to a handler; called by the HTTP server for every request."""

    def __init__(self, handlers: Handlers, ids: RequestIds) -> None:
        self._ids = ids
        self._handlers = handlers
        self._metrics = handlers.ctx.metrics
        h = handlers
        relay = h.relay
        self._exact: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/chat/completions"): functools.partial(relay, endpoint=Endpoint.CHAT),
            ("POST", "/v1/completions"): functools.partial(relay, endpoint=Endpoint.COMPLETIONS),
            ("POST", "/v1/embeddings"): functools.partial(relay, endpoint=Endpoint.EMBEDDINGS),
            ("POST", "/v1/messages"): functools.partial(relay, endpoint=Endpoint.MESSAGES),
            ("POST", "/v1/responses"): functools.partial(relay, endpoint=Endpoint.RESPONSES),
            ("GET", "/v1/models"): h.models,
            ("GET", "/v1beta/models"): h.gemini_models,
            ("GET", "/v1/dashboard/billing/subscription"): h.subscription,
            ("GET", "/dashboard/billing/subscription"): h.subscription,
            ("GET", "/v1/dashboard/billing/usage"): h.usage,
            ("GET", "/dashboard/billing/usage"): h.usage,
            ("GET", "/healthz"): h.healthz,
            ("GET", "/v1/realtime"): h.realtime,
            **{("POST", e.value): functools.partial(relay, endpoint=e) for e in _MEDIA_ROUTES},
        }

    def _route(self, method: str, path: str) -> Handler | None:
        handler = self._exact.get((method, path))
        if handler is not None:
            return handler
        if _NOT_IMPLEMENTED.fullmatch(f"{method} {path}"):
            return self._handlers.not_implemented
        if method == "POST" and path.startswith(("/v1beta/models/", "/v1/models/")):
            return self._gemini_route(path)
        if path.startswith("/v1/models/"):
            model = path[len("/v1/models/") :]
            if method == "GET" and model:
                return functools.partial(self._handlers.model, model=model)
        if method == "POST" and path.startswith("/v1/engines/") and path.endswith("/embeddings"):
            model = path[len("/v1/engines/") : -len("/embeddings")]
            return functools.partial(
                self._handlers.relay, endpoint=Endpoint.EMBEDDINGS, model=model
            )
        return None

    def _gemini_route(self, path: str) -> Handler | None:
        """`/v1beta/models/{model}:{action}` (also under /v1/models/), as new-api reads it."""
        model, _, action = path.partition("/models/")[2].partition(":")
        served = _GEMINI_ACTIONS.get(action)
        if not model or served is None:
            return None
        endpoint, stream = served
        return functools.partial(
            self._handlers.relay, endpoint=endpoint, model=model, stream=stream
        )

    async def __call__(self, request: Request, responder: Responder) -> None:
        request_id = self._ids.new()
        REQUEST_ID.set(request_id)  # for the JSON log lines of this request
        lang = language(request.headers.get("Accept-Language", ""))
        method, path = request.method, request.path
        if method == "OPTIONS":
            responder.send(204, b"", [*_CORS, ("X-Oneapi-Request-Id", request_id)])
            return
        handler = self._route(method, path)
        try:
            if handler is None:
                raise RelayError(
                    404,
                    message("not_found", lang, method=method, path=path),
                    type="invalid_request_error",
                )
            reply = await handler(request, request_id, lang)
        except RelayError as err:
            reply = error_reply(err, request_id)
        except Exception:
            log.exception("unhandled error in %s %s (request id %s)", method, path, request_id)
            reply = error_reply(RelayError(500, message("internal", lang), "internal_error"),
                                request_id)  # fmt: skip
        self._metrics.answered(request_id, reply, responder.status)
        if reply is None or responder.started:
            return  # the handler streamed its response itself
        if "origin" in request.headers:
            reply.headers.append(("Access-Control-Allow-Origin", "*"))
        responder.send(reply.status, reply.body, reply.headers)
