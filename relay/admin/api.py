"""The admin API's route registry: one declaration per route gives the aiohttp route, its
access rule, its rate limits, the `{success, message, data}` envelope and its OpenAPI entry.

A handler takes an AdminRequest and returns the envelope's `data` (or a Raw body); it raises
ApiError for a business error (HTTP 200, success false, as new-api answers them).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

import orjson
from aiohttp import web

from relay.admin.context import AdminContext
from relay.admin.identity import AuthUser

log = logging.getLogger("relay.admin.api")

JSON = dict[str, Any]
T = TypeVar("T")
MAX_PAGE_SIZE = 100
MAX_INT = 2**63 - 1  # what SQL columns hold; larger numbers are refused, not sent to the DB
DEFAULT_PAGE_SIZE = 10


class Access(IntEnum):
    """Who may call a route: anyone, or a signed-in user of at least this role."""

    PUBLIC = 0
    USER = 1
    ADMIN = 10
    ROOT = 100


class Limit(IntEnum):
    """new-api's extra per-route rate limits (the global API limit applies to all routes)."""

    NONE = 0
    CRITICAL = 1  # per IP: login, register, key reveal, top-up, personal token
    SEARCH = 2  # per user: searches


class ApiError(Exception):
    """A refusal answered as `{success: false, message}` with HTTP `status` (200 by default)."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def found(row: T | None, message: str) -> T:
    """`row`, or the business error `message` when there is none (missing or deleted)."""
    if row is None:
        raise ApiError(message)
    return row


@dataclass(frozen=True)
class Raw:
    """A handler result sent as this exact JSON body instead of the envelope."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """new-api pagination: `p` is 1-based, `page_size` (or `ps`/`size`) at most 100."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def result(self, items: list[Any], total: int) -> JSON:
        return {"page": self.number, "page_size": self.size, "total": total, "items": items}


@dataclass
class AdminRequest:
    """One admin API call: the HTTP request, the process context and the caller."""

    http: web.Request
    ctx: AdminContext
    user: AuthUser | None
    ip: str
    _body: Any = None

    @property
    def me(self) -> AuthUser:
        """The signed-in caller (routes above PUBLIC always have one)."""
        assert self.user is not None
        return self.user

    async def json(self) -> JSON:
        """The JSON object body; a missing or malformed body is a business error."""
        if self._body is None:
            raw = await self.http.read()
            try:
                self._body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError:
                raise ApiError("invalid request body: not JSON") from None
        if not isinstance(self._body, dict):
            raise ApiError("invalid request body: expected a JSON object")
        return self._body

    async def load(self, get: Callable[..., Awaitable[T | None]], *args: Any, missing: str) -> T:
        """`await get(conn, *args)` on a connection of its own; the business error `missing`
        when it finds nothing."""
        async with self.ctx.engine.connect() as conn:
            return found(await get(conn, *args), missing)

    def query(self, name: str, default: str = "") -> str:
        return self.http.query.get(name, default)

    def query_int(self, name: str, default: int = 0) -> int:
        raw = self.http.query.get(name, "")
        if raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(f"{name} must be an integer") from None
        if not -MAX_INT <= value <= MAX_INT:
            raise ApiError(f"{name} is out of range")
        return value

    def path_int(self, name: str) -> int:
        try:
            value = int(self.http.match_info[name])
        except (KeyError, ValueError):
            raise ApiError(f"{name} must be an integer") from None
        if not -MAX_INT <= value <= MAX_INT:
            raise ApiError(f"{name} is out of range")
        return value

    def page(self) -> Page:
        number = max(self.query_int("p", 1), 1)
        size = (
            self.query_int("page_size", 0) or self.query_int("ps", 0) or self.query_int("size", 0)
        )
        size = min(max(size or DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
        return Page(number, size)


Handler = Callable[[AdminRequest], Awaitable[Any]]


def page_schema(item: JSON, **extra: JSON) -> JSON:
    """The JSON schema of a Page.result of `item`s (plus `extra` properties before items)."""
    return {
        "type": "object",
        "properties": {
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "total": {"type": "integer"},
            **extra,
            "items": {"type": "array", "items": item},
        },
    }


@dataclass(frozen=True)
class Param:
    """A query or path parameter, for the OpenAPI description."""

    name: str
    type: str = "string"
    description: str = ""
    required: bool = False


PAGE_PARAMS = (
    Param("p", "integer", "page, 1-based"),
    Param("page_size", "integer", "at most 100"),
)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    access: Access
    summary: str
    tag: str
    limit: Limit = Limit.NONE
    query: tuple[Param, ...] = ()
    body: JSON | None = None  # JSON schema of the request body
    data: JSON | None = None  # JSON schema of the envelope's data


class Api:
    """Collects route declarations; routes modules each own one Api."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        access: Access,
        summary: str,
        limit: Limit = Limit.NONE,
        query: tuple[Param, ...] = (),
        body: JSON | None = None,
        data: JSON | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(method, path, handler, access, summary, self.tag, limit, query, body, data)
            )
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)


def envelope(data: Any = None, message: str = "", success: bool = True) -> web.Response:
    return web.Response(
        body=orjson.dumps({"success": success, "message": message, "data": data}),
        content_type="application/json",
    )


def failure(message: str, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps({"success": False, "message": message}),
        status=status,
        content_type="application/json",
    )
