"""The admin process's aiohttp application: every route group, and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from relay.admin.api import Access, AdminRequest, Api, Raw, Route
from relay.admin.console import add_console
from relay.admin.context import AdminContext
from relay.admin.gate import Gate
from relay.admin.openapi import openapi_document
from relay.admin.routes import (
    account,
    channels_batch,
    channels_crud,
    channels_keys,
    channels_ops,
    data,
    logs,
    oauth,
    options,
    profile,
    redemptions,
    setup,
    status,
    tokens,
    users,
)
from relay.metrics.endpoint import metrics_handler

ROUTE_GROUPS: tuple[Api, ...] = (
    status.api,
    tokens.api,
    data.api,
    logs.api,
    options.api,
    oauth.api,
    setup.api,
    account.api,
    profile.api,
    users.api,
    redemptions.api,
    channels_crud.api,
    channels_batch.api,
    channels_keys.api,
    channels_ops.api,
)

meta = Api("meta")


@meta.get("/api/openapi.json", access=Access.PUBLIC, summary="This API's OpenAPI 3 description")
async def openapi(req: AdminRequest) -> Raw:
    return Raw(openapi_document(all_routes()))


def all_routes() -> list[Route]:
    return [route for group in (*ROUTE_GROUPS, meta) for route in group.routes]


def build_app(ctx: AdminContext) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    gate = Gate(ctx)
    for route in all_routes():
        app.router.add_route(route.method, route.path, gate.wrap(route))
    # Prometheus' exporter convention, outside /api: not an admin API route (no envelope, no
    # session auth, not in the OpenAPI document); METRICS_TOKEN guards it when set.
    app.router.add_get("/metrics", metrics_handler(ctx.settings, ctx.redis))
    add_console(app)
    return app
