"""The dashboard: new-api's /api/data/* from the hourly `quota_data` buckets.

The buckets are written by the drain in the transaction that stores their consume logs
(relay.store.quota_data), so they are current to within the drain's lag (< 1 s).
"""

from __future__ import annotations

from typing import Any

from relay.admin.api import Access, AdminRequest, Api, ApiError, Param
from relay.admin.routes.logs import INT64, bounded_int
from relay.store import quota_data as qd
from relay.store.logs import channel_names
from relay.store.users import ROLE_ROOT

api = Api("data")

MAX_SELF_SPAN = 2_592_000  # 30 days, new-api's limit on a user's own dashboard
MSG_SPAN = "The time span cannot exceed 1 month"
_FLOW_OMIT_EMPTY = ("user_id", "username", "node_name", "token_id", "channel_id")

_RANGE = (
    Param("start_timestamp", "integer", "bucket hour >= (Unix seconds)"),
    Param("end_timestamp", "integer", "bucket hour <= (Unix seconds)"),
)
_INT, _STR = {"type": "integer"}, {"type": "string"}
_QUOTA_DATA_PROPERTIES: dict[str, Any] = {
    "id": _INT,
    "user_id": _INT,
    "username": _STR,
    "model_name": _STR,
    "created_at": _INT,
    "use_group": _STR,
    "token_id": _INT,
    "channel_id": _INT,
    "node_name": _STR,
    "token_used": _INT,
    "count": _INT,
    "quota": _INT,
}
QUOTA_DATA_ITEM = {"type": "object", "properties": _QUOTA_DATA_PROPERTIES}
QUOTA_DATA = {"type": "array", "items": QUOTA_DATA_ITEM}
FLOW_DATA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "user_id": {"type": "integer"},
            "username": {"type": "string"},
            "node_name": {"type": "string"},
            "token_id": {"type": "integer"},
            "token_name": {"type": "string"},
            "use_group": {"type": "string"},
            "channel_id": {"type": "integer"},
            "channel_name": {"type": "string"},
            "model_name": {"type": "string"},
            "token_used": {"type": "integer"},
            "count": {"type": "integer"},
            "quota": {"type": "integer"},
        },
    },
}


def _range(req: AdminRequest) -> tuple[int, int]:
    return (
        bounded_int(req, "start_timestamp", INT64),
        bounded_int(req, "end_timestamp", INT64),
    )


@api.get(
    "/api/data/",
    access=Access.ADMIN,
    summary="Hourly usage per model (or, with username, per model of that user)",
    query=(*_RANGE, Param("username", "string")),
    data=QUOTA_DATA,
)
async def all_data(req: AdminRequest) -> list[dict[str, Any]]:
    start, end = _range(req)
    username = req.query("username")
    async with req.ctx.engine.connect() as conn:
        if username:
            return await qd.by_user_model(conn, start, end, username=username)
        return await qd.by_model(conn, start, end)


@api.get(
    "/api/data/users",
    access=Access.ADMIN,
    summary="Hourly usage per user",
    query=_RANGE,
    data=QUOTA_DATA,
)
async def users_data(req: AdminRequest) -> list[dict[str, Any]]:
    start, end = _range(req)
    async with req.ctx.engine.connect() as conn:
        return await qd.by_username(conn, start, end)


@api.get(
    "/api/data/channels",
    access=Access.ADMIN,
    summary="Hourly usage per channel, with its name (relay's; new-api has no such view)",
    query=_RANGE,
    data={
        "type": "array",
        "items": {
            "type": "object",
            "properties": {**_QUOTA_DATA_PROPERTIES, "channel_name": _STR},
        },
    },
)
async def channels_data(req: AdminRequest) -> list[dict[str, Any]]:
    start, end = _range(req)
    async with req.ctx.engine.connect() as conn:
        rows = await qd.by_channel(conn, start, end)
        names = await channel_names(conn, (r["channel_id"] for r in rows))
    for row in rows:
        cid = row["channel_id"]
        row["channel_name"] = names.get(cid) or (f"channel-{cid}" if cid else "")
    return rows


@api.get(
    "/api/data/self",
    access=Access.USER,
    summary="The caller's hourly usage per model (a span of at most 30 days)",
    query=_RANGE,
    data=QUOTA_DATA,
)
async def self_data(req: AdminRequest) -> list[dict[str, Any]]:
    start, end = _range(req)
    if end - start > MAX_SELF_SPAN:
        raise ApiError(MSG_SPAN)
    async with req.ctx.engine.connect() as conn:
        return await qd.by_user_model(conn, start, end, user_id=req.me.id)


def _strict_range(req: AdminRequest) -> tuple[int, int]:
    """new-api's parseFlowQuotaTimeRange: both bounds required, positive and ordered."""
    start, end = _range(req)
    if start <= 0:
        raise ApiError("invalid start_timestamp")
    if end <= 0:
        raise ApiError("invalid end_timestamp")
    if end < start:
        raise ApiError("invalid time range")
    return start, end


async def _named_flow(
    req: AdminRequest, start: int, end: int, group_by: tuple[str, ...], **who: Any
) -> list[dict[str, Any]]:
    async with req.ctx.engine.connect() as conn:
        rows = await qd.flow(conn, start, end, group_by, **who)
        tokens = await qd.token_names(conn, (r.get("token_id", 0) for r in rows))
        channels = await channel_names(conn, (r.get("channel_id", 0) for r in rows))
    for row in rows:
        if tokens.get(row.get("token_id", 0)):
            row["token_name"] = tokens[row["token_id"]]
        cid = row.get("channel_id", 0)
        if cid:
            row["channel_name"] = channels.get(cid) or f"channel-{cid}"
        for name in _FLOW_OMIT_EMPTY:
            if name in row and not row[name]:
                del row[name]
    return rows


@api.get(
    "/api/data/flow",
    access=Access.ADMIN,
    summary="Usage totals over a range by user, group, model and channel (root: also node "
    "and token)",
    query=(*_RANGE, Param("username", "string")),
    data=FLOW_DATA,
)
async def flow(req: AdminRequest) -> list[dict[str, Any]]:
    start, end = _strict_range(req)
    group_by = qd.FLOW_ROOT if req.me.role >= ROLE_ROOT else qd.FLOW_ADMIN
    return await _named_flow(req, start, end, group_by, username=req.query("username"))


@api.get(
    "/api/data/flow/self",
    access=Access.USER,
    summary="The caller's usage totals over a range by token, group and model (≤ 30 days)",
    query=_RANGE,
    data=FLOW_DATA,
)
async def self_flow(req: AdminRequest) -> list[dict[str, Any]]:
    start, end = _strict_range(req)
    if end - start > MAX_SELF_SPAN:
        raise ApiError(MSG_SPAN)
    return await _named_flow(req, start, end, qd.FLOW_SELF, user_id=req.me.id)
