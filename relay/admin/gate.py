"""Turns declared routes into aiohttp handlers: rate limits, authentication, role, Origin check,
then the handler and the envelope. The rules follow new-api's legacy auth (cookie session +
New-Api-User, or a personal access token with an optional New-Api-User)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

import orjson
from aiohttp import web

from relay.admin.api import Access, AdminRequest, ApiError, Limit, Raw, Route, envelope, failure
from relay.admin.context import AdminContext
from relay.admin.identity import (
    SESSION_COOKIE,
    AuthUser,
    SessionSigner,
    user_by_session,
    user_by_token,
)
from relay.admin.ratelimit import RateLimiter, ip_key, user_key
from relay.proxies import client_ip

log = logging.getLogger("relay.admin")

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

MSG_NOT_LOGGED_IN = "Unauthorized, not logged in and no access token provided"
MSG_BAD_TOKEN = "Unauthorized, invalid access token"
MSG_NO_USER_HEADER = "Unauthorized, New-Api-User header not provided"
MSG_BAD_USER_HEADER = "Unauthorized, New-Api-User header format error"
MSG_USER_MISMATCH = "Unauthorized, New-Api-User does not match logged in user"
MSG_BANNED = "User has been banned"
MSG_PRIVILEGE = "Unauthorized, insufficient privileges"
MSG_ORIGIN = "Cross-site request refused: the Origin does not match this site"


class Denied(Exception):
    def __init__(self, message: str, status: int) -> None:
        self.message = message
        self.status = status


def _bearer(value: str) -> str:
    return value[7:].strip() if value[:7].lower() == "bearer " else value.strip()


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin") or request.headers.get("Referer", "")
    if not origin:
        return False
    return urlparse(origin).netloc.lower() == request.host.lower()


def _respond(result: Any) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if isinstance(result, Raw):
        response = web.Response(
            body=orjson.dumps(result.body), status=result.status, content_type="application/json"
        )
        response.headers.update(result.headers)
        return response
    return envelope(result)


class Gate:
    """Wraps route handlers; one per admin process."""

    def __init__(self, ctx: AdminContext) -> None:
        self.ctx = ctx
        self.signer = SessionSigner(ctx.settings.session_secret)
        self.limiter = RateLimiter(ctx.redis)

    async def _over_limit(self, key: str, rule: tuple[bool, int, int]) -> web.Response | None:
        enabled, count, seconds = rule
        if not enabled:
            return None
        wait = await self.limiter.hit(key, count, seconds)
        if wait:
            return web.Response(status=429, headers={"Retry-After": str(wait)})
        return None

    async def caller(self, request: web.Request) -> AuthUser | None:
        """The authenticated caller, None if no credentials; raises Denied on bad ones."""
        header = request.headers.get("New-Api-User", "").strip()
        claimed: int | None = None
        if header:
            if not header.lstrip("-").isdigit():
                raise Denied(MSG_BAD_USER_HEADER, 401)
            claimed = int(header)
        async with self.ctx.engine.connect() as conn:
            cookie = request.cookies.get(SESSION_COOKIE)
            user = await user_by_session(conn, self.signer, cookie) if cookie else None
            if user is not None:
                if claimed is None:
                    raise Denied(MSG_NO_USER_HEADER, 401)
            else:
                token = _bearer(request.headers.get("Authorization", ""))
                if not token:
                    return None
                user = await user_by_token(conn, self.ctx.keyring, token)
                if user is None:
                    raise Denied(MSG_BAD_TOKEN, 200)
        if claimed is not None and claimed != user.id:
            raise Denied(MSG_USER_MISMATCH, 401)
        return user

    def wrap(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            settings = self.ctx.settings
            ip = client_ip(request, settings.trusted_proxies)
            limited = await self._over_limit(ip_key("GA", ip), settings.global_api_rate_limit)
            if limited is None and route.limit is Limit.CRITICAL:
                limited = await self._over_limit(ip_key("CT", ip), settings.critical_rate_limit)
            if limited is not None:
                return limited
            user: AuthUser | None = None
            if route.access > Access.PUBLIC:
                try:
                    user = await self.caller(request)
                except Denied as denied:
                    return failure(denied.message, denied.status)
                if user is None:
                    return failure(MSG_NOT_LOGGED_IN, 401)
                if user.status != 1:
                    return failure(MSG_BANNED)
                if user.role < route.access:
                    return failure(MSG_PRIVILEGE)
                unsafe = request.method in _UNSAFE
                if user.via == "session" and unsafe and not _same_origin(request):
                    return failure(MSG_ORIGIN, 403)
                if route.limit is Limit.SEARCH:
                    limited = await self._over_limit(
                        user_key("SR", user.id), settings.search_rate_limit
                    )
                    if limited is not None:
                        return limited
            try:
                result: Any = await route.handler(AdminRequest(request, self.ctx, user, ip))
                return _respond(result)
            except ApiError as err:
                return failure(err.message, err.status)
            except web.HTTPException:
                raise
            except Exception:  # includes a result that cannot be serialised
                log.exception("admin API %s %s failed", request.method, request.path)
                return failure("internal error", 500)

        return handle
