"""Usage and audit logs: new-api's /api/log/* (listings, stat, deletion of old rows, by key).

Listings page newest first by (created_at, id) and give a cheap `total` (relay.store.logs
explains both); `data.total_exact` is false when `total` is an estimate. The admin listing
also takes `before_id` (keyset paging: the rows after that one, no OFFSET scan) for deep pages.
"""

from __future__ import annotations

import asyncio
from typing import Any

from relay.admin import audit
from relay.admin.api import (
    Access,
    AdminRequest,
    Api,
    ApiError,
    Limit,
    Page,
    Param,
    Raw,
    page_schema,
)
from relay.auth import split_key
from relay.store.logs import (
    LogFilter,
    LogFilterError,
    channel_names,
    count_logs,
    delete_logs_before,
    list_logs,
    log_item,
    strip_admin_only,
    sum_stat,
)
from relay.store.tokens import principal_row
from relay.store.users import STATUS_ENABLED

api = Api("logs")

TOKEN_STATUS_DISABLED = 2
RECENT_BY_KEY = 1000  # new-api's MaxRecentItems
DELETE_BATCH = 5000
MSG_DEPRECATED = "This endpoint is deprecated"

_COMMON_FILTERS = (
    Param("p", "integer", "page, 1-based"),
    Param("page_size", "integer", "rows per page, at most 100"),
    Param("type", "integer", "1 topup, 2 consume, 3 manage, 4 system, 5 error, 6 refund"),
    Param("start_timestamp", "integer", "created_at >= (Unix seconds)"),
    Param("end_timestamp", "integer", "created_at <= (Unix seconds)"),
    Param("token_name", "string"),
    Param("model_name", "string", "exact, or a pattern with up to two % wildcards"),
    Param("group", "string"),
    Param("request_id", "string"),
    Param("upstream_request_id", "string"),
)
_ADMIN_FILTERS = (
    *_COMMON_FILTERS,
    Param("username", "string", "exact, or a pattern with up to two % wildcards"),
    Param("channel", "integer", "channel id"),
    Param("before_id", "integer", "keyset paging: the rows after this one (p is ignored)"),
)
_STAT_FILTERS = (
    Param("start_timestamp", "integer"),
    Param("end_timestamp", "integer"),
    Param("token_name", "string"),
    Param("model_name", "string"),
    Param("group", "string"),
)

LOG_ITEM = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "user_id": {"type": "integer"},
        "created_at": {"type": "integer"},
        "type": {"type": "integer"},
        "content": {"type": "string"},
        "username": {"type": "string"},
        "token_name": {"type": "string"},
        "model_name": {"type": "string"},
        "quota": {"type": "integer"},
        "prompt_tokens": {"type": "integer"},
        "completion_tokens": {"type": "integer"},
        "use_time": {"type": "integer"},
        "is_stream": {"type": "boolean"},
        "channel": {"type": "integer"},
        "channel_name": {"type": "string"},
        "token_id": {"type": "integer"},
        "group": {"type": "string"},
        "ip": {"type": "string"},
        "request_id": {"type": "string"},
        "upstream_request_id": {"type": "string"},
        "other": {"type": "string", "description": "JSON text"},
    },
}
LOG_PAGE = page_schema(
    LOG_ITEM,
    total_exact={"type": "boolean", "description": "false when total is an estimate"},
)
STAT = {
    "type": "object",
    "properties": {
        "quota": {"type": "integer"},
        "rpm": {"type": "integer"},
        "tpm": {"type": "integer"},
    },
}


INT32 = 2**31 - 1
INT64 = 2**63 - 1


def bounded_int(req: AdminRequest, name: str, limit: int = INT32) -> int:
    """An integer query parameter that fits its SQL column (else a refusal, never a 500)."""
    value = req.query_int(name)
    if not -limit <= value <= limit:
        raise ApiError(f"{name} is out of range")
    return value


def _page(req: AdminRequest) -> Page:
    page = req.page()
    if page.offset > INT64:
        raise ApiError("p is out of range")
    return page


def _filter(req: AdminRequest, *, admin: bool, stat: bool = False) -> LogFilter:
    """The query's filters; a stat (`stat`) ignores type, request_id and upstream_request_id."""
    return LogFilter(
        type=0 if stat else bounded_int(req, "type"),
        start=bounded_int(req, "start_timestamp", INT64),
        end=bounded_int(req, "end_timestamp", INT64),
        user_id=0 if admin else req.me.id,
        username=req.query("username") if admin else "",
        token_name=req.query("token_name"),
        model_name=req.query("model_name"),
        channel=bounded_int(req, "channel") if admin else 0,
        group=req.query("group"),
        request_id="" if stat else req.query("request_id"),
        upstream_request_id="" if stat else req.query("upstream_request_id"),
    )


def _self_items(rows: list[dict[str, Any]], first_number: int) -> list[dict[str, Any]]:
    """new-api's formatUserLogs: admin-only `other` keys removed, ids renumbered by position."""
    items = []
    for n, row in enumerate(rows):
        item = log_item(row)
        item["other"] = strip_admin_only(item["other"])
        item["id"] = first_number + n + 1
        items.append(item)
    return items


@api.get(
    "/api/log/",
    access=Access.ADMIN,
    summary="All logs, filtered and paginated",
    query=_ADMIN_FILTERS,
    data=LOG_PAGE,
)
async def all_logs(req: AdminRequest) -> dict[str, Any]:
    page = _page(req)
    before_id = bounded_int(req, "before_id")
    if before_id < 0:
        raise ApiError("before_id must be a positive integer")
    try:
        f = _filter(req, admin=True)
        async with req.ctx.engine.connect() as conn:
            rows = await list_logs(
                conn, f, limit=page.size, offset=page.offset, before_id=before_id
            )
            total, exact = await count_logs(conn, f)
            names = await channel_names(conn, (r["channel_id"] for r in rows))
    except LogFilterError as err:
        raise ApiError(str(err)) from None
    items = [log_item(r, names.get(r["channel_id"], "")) for r in rows]
    return {**page.result(items, total), "total_exact": exact}


@api.get(
    "/api/log/self",
    access=Access.USER,
    summary="The caller's own logs, filtered and paginated",
    query=_COMMON_FILTERS,
    data=LOG_PAGE,
)
async def self_logs(req: AdminRequest) -> dict[str, Any]:
    page = _page(req)
    try:
        f = _filter(req, admin=False)
        async with req.ctx.engine.connect() as conn:
            rows = await list_logs(conn, f, limit=page.size, offset=page.offset)
            total, exact = await count_logs(conn, f)
    except LogFilterError as err:
        raise ApiError(str(err)) from None
    return {**page.result(_self_items(rows, page.offset), total), "total_exact": exact}


async def _stat(req: AdminRequest, f: LogFilter) -> dict[str, int]:
    try:
        async with req.ctx.engine.connect() as conn:
            return await sum_stat(conn, f)
    except LogFilterError as err:
        raise ApiError(str(err)) from None


@api.get(
    "/api/log/stat",
    access=Access.ADMIN,
    summary="Quota used over the filter; requests and tokens of the last minute",
    query=(
        *_STAT_FILTERS,
        Param("username", "string"),
        Param("channel", "integer"),
    ),
    data=STAT,
)
async def stat(req: AdminRequest) -> dict[str, int]:
    return await _stat(req, _filter(req, admin=True, stat=True))


@api.get(
    "/api/log/self/stat",
    access=Access.USER,
    summary="The caller's quota used over the filter; requests and tokens of the last minute",
    query=_STAT_FILTERS,
    data=STAT,
)
async def self_stat(req: AdminRequest) -> dict[str, int]:
    return await _stat(req, _filter(req, admin=False, stat=True))


@api.get("/api/log/search", access=Access.ADMIN, summary="Deprecated in new-api; always refused")
async def search(req: AdminRequest) -> None:
    raise ApiError(MSG_DEPRECATED)


@api.get(
    "/api/log/self/search",
    access=Access.USER,
    limit=Limit.SEARCH,
    summary="Deprecated in new-api; always refused",
)
async def self_search(req: AdminRequest) -> None:
    raise ApiError(MSG_DEPRECATED)


@api.delete(
    "/api/log/",
    access=Access.ROOT,
    summary="Delete logs created before target_timestamp; data is the number deleted",
    query=(Param("target_timestamp", "integer", "Unix seconds", required=True),),
    data={"type": "integer"},
)
async def delete_old(req: AdminRequest) -> int:
    target = bounded_int(req, "target_timestamp", INT64)
    if target <= 0:
        raise ApiError("target timestamp is required")
    deleted = 0
    while True:  # small transactions, so writers (the drain) never wait long on the table
        async with req.ctx.engine.begin() as conn:
            batch = await delete_logs_before(conn, target, DELETE_BATCH)
        deleted += batch
        if batch < DELETE_BATCH:
            break
        await asyncio.sleep(0)
    async with req.ctx.engine.begin() as conn:
        await audit.record(
            conn,
            req.me,
            "delete logs",
            f"logs created before {target}",
            after={"target_timestamp": target, "deleted": deleted},
            ip=req.ip,
        )
    return deleted


def _key_failure(message: str, status: int) -> Raw:
    return Raw({"success": False, "message": message}, status)


@api.get(
    "/api/log/token",
    access=Access.PUBLIC,
    limit=Limit.CRITICAL,
    summary="The newest logs of the API key in Authorization (read-only key auth)",
    data={"type": "array", "items": LOG_ITEM},
)
async def logs_by_key(req: AdminRequest) -> Any:
    raw = req.http.headers.get("Authorization", "")
    if not raw:
        return _key_failure("Token not provided", 401)
    if raw[:7] in ("Bearer ", "bearer "):
        raw = raw[7:].strip()
    key, _ = split_key(raw)
    async with req.ctx.engine.connect() as conn:
        row = await principal_row(conn, req.ctx.keyring.lookup_digest(key)) if key else None
        if row is None:
            return _key_failure("Invalid token", 401)
        if row["token_status"] == TOKEN_STATUS_DISABLED:
            return _key_failure("This token status is unavailable", 401)
        if row["user_status"] != STATUS_ENABLED:
            return _key_failure("User has been banned", 403)
        f = LogFilter(token_id=int(row["token_id"]))
        rows = await list_logs(conn, f, limit=RECENT_BY_KEY)
    return _self_items(rows, 0)
