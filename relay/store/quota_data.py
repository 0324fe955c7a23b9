"""`quota_data`: the dashboard's hourly usage buckets, and the queries of new-api's /api/data.

new-api aggregates in memory and flushes every few minutes (losing the buffer on a crash and
double-writing under races between nodes). relay folds each batch of consume logs into its
buckets in the drain's transaction that inserts those logs, with one INSERT … ON CONFLICT DO
UPDATE per bucket, so every consume log is counted exactly once, on any number of nodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from relay.store.schema import QUOTA_DATA_BUCKET, quota_data, tokens

LOG_TYPE_CONSUME = 2
HOUR = 3600
BUCKET = QUOTA_DATA_BUCKET  # the unique index uq_quota_data_bucket, in its column order
_SUMS = ("token_used", "count", "quota")


def hour_of(ts: int) -> int:
    return ts - ts % HOUR


def buckets(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[Any, ...], list[int]]:
    """Consume-log rows (logs columns + optional node_name) folded into bucket -> sums."""
    out: dict[tuple[Any, ...], list[int]] = {}
    for r in rows:
        if r.get("type") != LOG_TYPE_CONSUME:
            continue
        key = (
            int(r.get("user_id") or 0),
            hour_of(int(r.get("created_at") or 0)),
            r.get("username") or "",
            r.get("model_name") or "",
            r.get("group") or "",
            int(r.get("token_id") or 0),
            int(r.get("channel_id") or 0),
            r.get("node_name") or "",
        )
        sums = out.setdefault(key, [0, 0, 0])
        sums[0] += int(r.get("prompt_tokens") or 0) + int(r.get("completion_tokens") or 0)
        sums[1] += 1
        sums[2] += int(r.get("quota") or 0)
    return out


async def add_consume_logs(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Add a batch of consume logs to their hour buckets in the caller's transaction; returns
    the number of buckets touched. Buckets are written in key order so concurrent drains on
    PostgreSQL take row locks in one order and cannot deadlock each other."""
    folded = buckets(rows)
    if not folded:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(quota_data)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(BUCKET),
        set_={name: quota_data.c[name] + stmt.excluded[name] for name in _SUMS},
    )
    params = [
        {**dict(zip(BUCKET, key, strict=True)), **dict(zip(_SUMS, sums, strict=True))}
        for key, sums in sorted(folded.items())
    ]
    await conn.execute(stmt, params)
    return len(params)


def _item(row: Mapping[str, Any]) -> dict[str, Any]:
    """new-api's QuotaData JSON: every field present, zero when the query did not select it."""
    return {
        "id": 0,
        "user_id": int(row.get("user_id") or 0),
        "username": row.get("username") or "",
        "model_name": row.get("model_name") or "",
        "created_at": int(row.get("created_at") or 0),
        "use_group": "",
        "token_id": 0,
        "channel_id": int(row.get("channel_id") or 0),
        "node_name": "",
        "token_used": int(row.get("token_used") or 0),
        "count": int(row.get("count") or 0),
        "quota": int(row.get("quota") or 0),
    }


def _sums() -> tuple[Any, ...]:
    q = quota_data.c
    return (
        func.sum(q.count).label("count"),
        func.sum(q.quota).label("quota"),
        func.sum(q.token_used).label("token_used"),
    )


async def _items(conn: AsyncConnection, query: Select[Any]) -> list[dict[str, Any]]:
    return [_item(r) for r in (await conn.execute(query)).mappings()]


def _in_range(query: Select[Any], start: int, end: int) -> Select[Any]:
    return query.where(quota_data.c.created_at >= start, quota_data.c.created_at <= end)


async def by_model(conn: AsyncConnection, start: int, end: int) -> list[dict[str, Any]]:
    """GET /api/data/: all users, per model and hour."""
    q = quota_data.c
    query = _in_range(select(q.model_name, q.created_at, *_sums()), start, end)
    query = query.group_by(q.model_name, q.created_at).order_by(q.created_at, q.model_name)
    return await _items(conn, query)


async def by_user_model(
    conn: AsyncConnection, start: int, end: int, *, username: str = "", user_id: int = 0
) -> list[dict[str, Any]]:
    """GET /api/data/?username= and /api/data/self: one user, per model and hour."""
    q = quota_data.c
    query = _in_range(
        select(q.user_id, q.username, q.model_name, q.created_at, *_sums()), start, end
    )
    query = query.where(q.user_id == user_id) if user_id else query.where(q.username == username)
    query = query.group_by(q.user_id, q.username, q.model_name, q.created_at)
    return await _items(conn, query.order_by(q.created_at, q.model_name))


async def by_username(conn: AsyncConnection, start: int, end: int) -> list[dict[str, Any]]:
    """GET /api/data/users: per user name and hour."""
    q = quota_data.c
    query = _in_range(select(q.username, q.created_at, *_sums()), start, end)
    query = query.group_by(q.username, q.created_at).order_by(q.created_at, q.username)
    return await _items(conn, query)


async def by_channel(conn: AsyncConnection, start: int, end: int) -> list[dict[str, Any]]:
    """GET /api/data/channels (relay's): per channel and hour."""
    q = quota_data.c
    query = _in_range(select(q.channel_id, q.created_at, *_sums()), start, end)
    query = query.group_by(q.channel_id, q.created_at).order_by(q.created_at, q.channel_id)
    return await _items(conn, query)


# Flow views (GET /api/data/flow, /flow/self): totals over the range, grouped by how much
# detail the caller's role may see, biggest spender first.
FLOW_SELF = ("token_id", "use_group", "model_name")
FLOW_ADMIN = ("user_id", "username", "use_group", "model_name", "channel_id")
FLOW_ROOT = (
    "user_id",
    "username",
    "node_name",
    "token_id",
    "use_group",
    "model_name",
    "channel_id",
)


async def flow(
    conn: AsyncConnection,
    start: int,
    end: int,
    group_by: Sequence[str],
    *,
    username: str = "",
    user_id: int = 0,
) -> list[dict[str, Any]]:
    q = quota_data.c
    cols = [q[name] for name in group_by]
    query = _in_range(select(*cols, *_sums()), start, end).where(q.use_group != "")
    if user_id:
        query = query.where(q.user_id == user_id)
    if username:
        query = query.where(q.username == username)
    query = query.group_by(*cols).order_by(func.sum(q.quota).desc(), *cols)
    out = []
    for row in (await conn.execute(query)).mappings():
        item: dict[str, Any] = {name: row[name] for name in group_by}
        item["token_used"] = int(row["token_used"] or 0)
        item["count"] = int(row["count"] or 0)
        item["quota"] = int(row["quota"] or 0)
        out.append(item)
    return out


async def token_names(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, str]:
    """Names of live (not deleted) tokens; deleted ones stay unnamed, as in new-api."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = await conn.execute(
        select(tokens.c.id, tokens.c.name).where(
            tokens.c.id.in_(wanted), tokens.c.deleted_at.is_(None)
        )
    )
    return {int(r.id): r.name for r in rows}
