"""Queries on `logs`: the console's listings, the usage stat, and deletion of old rows.

Built to stay fast at tens of millions of rows (bench/logs_listing.py measures it):

- Pages are newest first by (created_at, id), as new-api's admin listing sorts. Every filter
  column has an index (column, created_at, id) (schema.py), so a page under one filter and a
  time range (the console always sends one) is a single index range read backwards and
  stopped after the page: no sort, no scan of the range. `before_id` pages by keyset, from the
  (created_at, id) of that row, for deep pages without OFFSET.
- `total` never counts the whole table: `count_logs` counts at most COUNT_CAP matching rows
  (`SELECT count(*) FROM (SELECT 1 … LIMIT cap+1)`, an index-only scan). Past the cap it answers
  an estimate, flagged `exact=False`: unfiltered, `max(id) - min(id) + 1` (two index probes; an
  upper bound, exact while ids are dense, and fresher than PostgreSQL's reltuples, which only
  moves on VACUUM/ANALYZE); filtered on PostgreSQL, the planner's row estimate for the filter
  (EXPLAIN, nothing executed); filtered on SQLite, the cap itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, delete, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from relay.store.schema import channels, logs

LOG_TYPE_CONSUME = 2
COUNT_CAP = 10_000
STAT_WINDOW_SECONDS = 60
# Keys of `other` only admins see (new-api strips both for the self listing).
ADMIN_ONLY_OTHER = ("admin_info", "audit_info")

_ITEM_COLUMNS = tuple(c for c in logs.columns)


class LogFilterError(ValueError):
    """A filter value new-api refuses (a malformed wildcard pattern); the message is shown."""


@dataclass(frozen=True)
class LogFilter:
    """The listing filters of new-api's GetAllLogs / GetUserLogs; zero values mean "any"."""

    type: int = 0
    start: int = 0
    end: int = 0
    user_id: int = 0  # the self listing's owner; 0 = every user
    token_id: int = 0  # GET /api/log/token: one API key's logs
    username: str = ""
    token_name: str = ""
    model_name: str = ""
    channel: int = 0
    group: str = ""
    request_id: str = ""
    upstream_request_id: str = ""

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))


def _like_pattern(value: str) -> str:
    """new-api's sanitizeLikePattern: `%` is the only wildcard, `_` and `!` are literal."""
    escaped = value.replace("!", "!!").replace("_", "!_")
    if "%%" in escaped:
        raise LogFilterError("consecutive % wildcards are not allowed in a search pattern")
    wildcards = escaped.count("%")
    if wildcards > 2:
        raise LogFilterError("at most 2 % wildcards are allowed in a search pattern")
    if len(escaped.replace("%", "")) < 2:
        raise LogFilterError("a fuzzy search keyword must be at least 2 characters long")
    return escaped


def _text_filter(column: Any, value: str) -> ColumnElement[bool]:
    """Exact match, or LIKE when the value holds `%` (new-api's applyExplicitLogTextFilter)."""
    if "%" in value:
        return column.like(_like_pattern(value), escape="!")
    return column == value


def conditions(f: LogFilter, *, with_type: bool = True) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if with_type and f.type:
        where.append(logs.c.type == f.type)
    if f.user_id:
        where.append(logs.c.user_id == f.user_id)
    if f.token_id:
        where.append(logs.c.token_id == f.token_id)
    if f.username:
        where.append(_text_filter(logs.c.username, f.username))
    if f.model_name:
        where.append(_text_filter(logs.c.model_name, f.model_name))
    if f.token_name:
        where.append(logs.c.token_name == f.token_name)
    if f.request_id:
        where.append(logs.c.request_id == f.request_id)
    if f.upstream_request_id:
        where.append(logs.c.upstream_request_id == f.upstream_request_id)
    if f.start:
        where.append(logs.c.created_at >= f.start)
    if f.end:
        where.append(logs.c.created_at <= f.end)
    if f.channel:
        where.append(logs.c.channel_id == f.channel)
    if f.group:
        where.append(logs.c.group == f.group)
    return where


def listing_query(
    f: LogFilter, *, limit: int, offset: int = 0, before: tuple[int, int] | None = None
) -> Select[Any]:
    """Newest first; `before` = (created_at, id) of a row: only rows after it in that order."""
    query = select(*_ITEM_COLUMNS).where(*conditions(f))
    if before is not None:
        query = query.where(tuple_(logs.c.created_at, logs.c.id) < tuple_(*before))
    query = query.order_by(logs.c.created_at.desc(), logs.c.id.desc()).limit(limit)
    return query.offset(offset) if offset else query


async def list_logs(
    conn: AsyncConnection, f: LogFilter, *, limit: int, offset: int = 0, before_id: int = 0
) -> list[dict[str, Any]]:
    """One page of matching rows, newest first, as plain dicts of the table's columns.
    With `before_id`, the page continues after that row (keyset) and `offset` is ignored."""
    before: tuple[int, int] | None = None
    if before_id:
        created = (
            await conn.execute(select(logs.c.created_at).where(logs.c.id == before_id))
        ).scalar_one_or_none()
        if created is None:
            raise LogFilterError(f"before_id {before_id}: no such log row")
        before, offset = (int(created), before_id), 0
    result = await conn.execute(listing_query(f, limit=limit, offset=offset, before=before))
    return [dict(row) for row in result.mappings()]


class _Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON) <select>` (PostgreSQL): the planner's estimate, nothing executed."""

    inherit_cache = False

    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.stmt, **kw)


async def _planner_rows(conn: AsyncConnection, stmt: Select[Any]) -> int:
    plan = (await conn.execute(_Explain(stmt))).scalar_one()
    if isinstance(plan, str):
        plan = orjson.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


async def count_logs(
    conn: AsyncConnection, f: LogFilter, *, cap: int = COUNT_CAP
) -> tuple[int, bool]:
    """(total, exact) for the filter, cheap at any table size (see the module docstring)."""
    where = conditions(f)
    bounded = select(literal(1)).select_from(logs).where(*where).limit(cap + 1).subquery()
    counted = int((await conn.execute(select(func.count()).select_from(bounded))).scalar_one())
    if counted <= cap:
        return counted, True
    if f.is_empty():
        low, high = (await conn.execute(select(func.min(logs.c.id), func.max(logs.c.id)))).one()
        return max(int(high) - int(low) + 1, counted), False
    if conn.dialect.name == "postgresql":
        estimate = await _planner_rows(conn, select(logs.c.id).where(*where))
        return max(estimate, counted), False
    return cap, False


async def channel_names(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = await conn.execute(
        select(channels.c.id, channels.c.name).where(channels.c.id.in_(wanted))
    )
    return {int(r.id): r.name for r in rows}


def strip_admin_only(other: str) -> str:
    """`other` without the keys only admins may read; unparsable text is dropped entirely."""
    if not other:
        return other
    try:
        data = orjson.loads(other)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(data, dict):
        return other
    for key in ADMIN_ONLY_OTHER:
        data.pop(key, None)
    return orjson.dumps(data).decode()


def log_item(row: Mapping[str, Any], channel_name: str = "") -> dict[str, Any]:
    """A row in new-api's Log JSON shape (`channel` for channel_id; empty request ids omitted)."""
    item: dict[str, Any] = {
        "id": row["id"],
        "user_id": row["user_id"],
        "created_at": row["created_at"],
        "type": row["type"],
        "content": row["content"],
        "username": row["username"],
        "token_name": row["token_name"],
        "model_name": row["model_name"],
        "quota": row["quota"],
        "prompt_tokens": row["prompt_tokens"],
        "completion_tokens": row["completion_tokens"],
        "use_time": row["use_time"],
        "is_stream": bool(row["is_stream"]),
        "channel": row["channel_id"],
        "channel_name": channel_name,
        "token_id": row["token_id"],
        "group": row["group"],
        "ip": row["ip"],
        "other": row["other"],
    }
    if row["request_id"]:
        item["request_id"] = row["request_id"]
    if row["upstream_request_id"]:
        item["upstream_request_id"] = row["upstream_request_id"]
    return item


async def sum_stat(conn: AsyncConnection, f: LogFilter, now: float | None = None) -> dict[str, int]:
    """new-api's SumUsedQuota: quota of consume logs over the filter (type is ignored), and
    rpm/tpm from the consume logs of the last 60 seconds under the same filter minus time."""
    quota_where = [*conditions(f, with_type=False), logs.c.type == LOG_TYPE_CONSUME]
    quota = (
        await conn.execute(select(func.coalesce(func.sum(logs.c.quota), 0)).where(*quota_where))
    ).scalar_one()
    since = int(now if now is not None else time.time()) - STAT_WINDOW_SECONDS
    recent = LogFilter(**{**_as_dict(f), "start": since, "end": 0, "type": 0})
    rpm_where = [*conditions(recent, with_type=False), logs.c.type == LOG_TYPE_CONSUME]
    rpm, tpm = (
        await conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(logs.c.prompt_tokens + logs.c.completion_tokens), 0),
            ).where(and_(*rpm_where))
        )
    ).one()
    return {"quota": int(quota), "rpm": int(rpm), "tpm": int(tpm)}


def _as_dict(f: LogFilter) -> dict[str, Any]:
    return {field.name: getattr(f, field.name) for field in fields(f)}


async def delete_logs_before(conn: AsyncConnection, cutoff: int, limit: int) -> int:
    """Delete up to `limit` rows created before `cutoff` (found through the created_at index);
    returns how many went. Call repeatedly, each in its own short transaction."""
    victims = select(logs.c.id).where(logs.c.created_at < cutoff).limit(limit).scalar_subquery()
    result = await conn.execute(delete(logs).where(logs.c.id.in_(victims)))
    return int(result.rowcount or 0)
