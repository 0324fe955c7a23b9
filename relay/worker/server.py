"""The relay API's request dispatcher: (method, path) → handler, on relay's own HTTP server.

Every response carries X-Oneapi-Request-Id; every error is an OpenAI-shaped JSON body; an
unexpected exception becomes a 500 with no traceback sent.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from relay.errors import RelayError, language, message
from relay.http.server import Reply, Request, Responder
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


def error_reply(err: RelayError, request_id: str) -> Reply:
    headers = json_headers(request_id)
    if err.retry_after is not None:
        headers.append(("Retry-After", str(err.retry_after)))
    return Reply(err.status, err.openai_body(request_id), headers)


class RelayDispatcher:
    """Maps (method, path) to a handler; called by the HTTP server for every request."""

    def __init__(self, handlers: Handlers, ids: RequestIds) -> None:
        self._ids = ids
        self._handlers = handlers
        h = handlers
        relay = h.relay
        self._exact: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/chat/completions"): functools.partial(relay, endpoint=Endpoint.CHAT),
            ("POST", "/v1/completions"): functools.partial(relay, endpoint=Endpoint.COMPLETIONS),
            ("POST", "/v1/embeddings"): functools.partial(relay, endpoint=Endpoint.EMBEDDINGS),
            ("GET", "/v1/models"): h.models,
            ("GET", "/v1/dashboard/billing/subscription"): h.subscription,
            ("GET", "/dashboard/billing/subscription"): h.subscription,
            ("GET", "/v1/dashboard/billing/usage"): h.usage,
            ("GET", "/dashboard/billing/usage"): h.usage,
            ("GET", "/healthz"): h.healthz,
            ("POST", "/v1/images/variations"): h.not_implemented,
        }

    def _route(self, method: str, path: str) -> Handler | None:
        handler = self._exact.get((method, path))
        if handler is not None:
            return handler
        if path.startswith(("/v1/files", "/v1/fine-tunes")):
            return self._handlers.not_implemented
        if path.startswith("/v1/models/"):
            model = path[len("/v1/models/") :]
            if method == "DELETE":
                return self._handlers.not_implemented
            if method == "GET" and model:
                return functools.partial(self._handlers.model, model=model)
        if method == "POST" and path.startswith("/v1/engines/") and path.endswith("/embeddings"):
            model = path[len("/v1/engines/") : -len("/embeddings")]
            return functools.partial(
                self._handlers.relay, endpoint=Endpoint.EMBEDDINGS, model=model
            )
        return None

    async def __call__(self, request: Request, responder: Responder) -> None:
        request_id = self._ids.new()
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
        if reply is None or responder.started:
            return  # the handler streamed its response itself
        if "origin" in request.headers:
            reply.headers.append(("Access-Control-Allow-Origin", "*"))
        responder.send(reply.status, reply.body, reply.headers)
