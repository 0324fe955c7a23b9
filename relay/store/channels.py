"""Queries on `channels` and their derived `abilities` (the routing index)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import String, delete, func, insert, literal_column, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from relay.crypto import Keyring
from relay.store.paging import counted_page
from relay.store.schema import abilities, channels


def split_list(value: str) -> list[str]:
    """new-api's comma-separated lists (models, groups), trimmed, empties dropped, order kept."""
    seen: dict[str, None] = {}
    for part in value.split(","):
        part = part.strip()
        if part:
            seen[part] = None
    return list(seen)


async def rebuild_abilities(conn: AsyncConnection, channel_id: int) -> None:
    """Rewrite one channel's abilities: one row per group x model, enabled iff status is 1."""
    row = (
        (
            await conn.execute(
                select(
                    channels.c.models,
                    channels.c.group,
                    channels.c.status,
                    channels.c.priority,
                    channels.c.weight,
                    channels.c.tag,
                ).where(channels.c.id == channel_id)
            )
        )
        .mappings()
        .first()
    )
    await conn.execute(delete(abilities).where(abilities.c.channel_id == channel_id))
    if row is None:
        return
    rows = [
        {
            "group": group,
            "model": model,
            "channel_id": channel_id,
            "enabled": row["status"] == 1,
            "priority": row["priority"],
            "weight": row["weight"],
            "tag": row["tag"],
        }
        for group in split_list(row["group"])
        for model in split_list(row["models"])
    ]
    if rows:
        await conn.execute(insert(abilities), rows)


async def create_channel(
    conn: AsyncConnection,
    keyring: Keyring,
    *,
    name: str,
    key: str,
    models: Sequence[str],
    type: int = 1,
    base_url: str = "",
    groups: Sequence[str] = ("default",),
    status: int = 1,
    priority: int = 0,
    weight: int = 0,
    **extra: Any,
) -> int:
    """Insert a channel (its key sealed) and build its abilities; returns the id."""
    result = await conn.execute(
        insert(channels)
        .values(
            name=name,
            type=type,
            key=keyring.seal(key),
            base_url=base_url,
            models=",".join(models),
            group=",".join(groups),
            status=status,
            priority=priority,
            weight=weight,
            created_time=int(time.time()),
            **extra,
        )
        .returning(channels.c.id)
    )
    channel_id = int(result.scalar_one())
    await rebuild_abilities(conn, channel_id)
    return channel_id


async def all_channels(conn: AsyncConnection) -> Sequence[RowMapping]:
    return (await conn.execute(select(channels))).mappings().all()


async def enabled_abilities(conn: AsyncConnection) -> list[tuple[str, str, int]]:
    rows = await conn.execute(
        select(abilities.c.group, abilities.c.model, abilities.c.channel_id).where(
            abilities.c.enabled.is_(True)
        )
    )
    return [(g, m, int(c)) for g, m, c in rows]


# ---- the admin API's queries ------------------------------------------------------------------

STATUS_ENABLED = 1
STATUS_MANUALLY_DISABLED = 2
STATUS_AUTO_DISABLED = 3

# new-api's ChannelSortOptions columns
SORT_COLUMNS = ("id", "name", "priority", "balance", "response_time", "test_time")


def split_keys(text: str) -> list[str]:
    """A multi-key channel's keys by index, as new-api's GetKeys (one per line, trimmed)."""
    if not text:
        return []
    return [k.strip() for k in text.strip("\n").split("\n")]


def parse_info(raw: str | None) -> dict[str, Any]:
    """channel_info as an object with new-api's fields (defaults for missing or bad JSON)."""
    try:
        value = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        value = {}
    info = value if isinstance(value, dict) else {}
    status_list = info.get("multi_key_status_list")
    return {
        **info,
        "is_multi_key": bool(info.get("is_multi_key")),
        "multi_key_size": int(info.get("multi_key_size") or 0),
        "multi_key_status_list": status_list if isinstance(status_list, dict) else {},
        "multi_key_polling_index": int(info.get("multi_key_polling_index") or 0),
        "multi_key_mode": info.get("multi_key_mode") or "random",
    }


def dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _order(sort_by: str, sort_order: str, id_sort: bool) -> list[Any]:
    if sort_by in SORT_COLUMNS:
        column = channels.c[sort_by]
        first = column.asc() if sort_order == "asc" else column.desc()
    elif id_sort:
        first = channels.c.id.desc()
    else:
        first = channels.c.priority.desc()
    return [first, channels.c.id.desc()]


def _filters(group: str = "", status: int = -1, type_: int = -1, tag: str = "") -> list[Any]:
    """new-api's list filters: group membership, enabled (1) / not enabled (0), type; and
    relay's exact tag."""
    out: list[Any] = []
    if group:
        escaped = group.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        out.append(
            (literal_column("','", String) + channels.c.group + literal_column("','", String)).like(
                f"%,{escaped},%", escape="!"
            )
        )
    if status == STATUS_ENABLED:
        out.append(channels.c.status == STATUS_ENABLED)
    elif status == 0:
        out.append(channels.c.status != STATUS_ENABLED)
    if type_ >= 0:
        out.append(channels.c.type == type_)
    if tag:
        out.append(channels.c.tag == tag)
    return out


_VISIBLE = [c for c in channels.c if c.name != "key"]


async def list_channels(
    conn: AsyncConnection,
    *,
    group: str,
    status: int,
    type_: int,
    tag: str = "",
    order: tuple[str, str, bool],
    offset: int,
    limit: int,
) -> tuple[list[RowMapping], int]:
    """One page of channels (without keys) and the total matching the filters."""
    where = _filters(group, status, type_, tag)
    return await counted_page(
        conn, channels, where, _order(*order), offset, limit, columns=_VISIBLE
    )


async def list_tag_channels(
    conn: AsyncConnection,
    *,
    group: str,
    status: int,
    type_: int,
    tag: str = "",
    order: tuple[str, str, bool],
    offset: int,
    limit: int,
) -> tuple[list[RowMapping], int]:
    """Tag mode: a page of distinct tags (ordered by name) and every channel carrying them."""
    where = [
        *_filters(group, status, type_, tag),
        channels.c.tag.is_not(None),
        channels.c.tag != "",
    ]
    tags_q = select(channels.c.tag).where(*where).distinct()
    total = await conn.scalar(select(func.count()).select_from(tags_q.subquery()))
    page = [
        t
        for (t,) in await conn.execute(tags_q.order_by(channels.c.tag).offset(offset).limit(limit))
    ]
    if not page:
        return [], int(total or 0)
    rows = await conn.execute(
        select(*_VISIBLE).where(*where, channels.c.tag.in_(page)).order_by(*_order(*order))
    )
    by_tag: dict[str, list[RowMapping]] = {t: [] for t in page}
    for row in rows.mappings():
        by_tag[row["tag"]].append(row)
    return [row for tag in page for row in by_tag[tag]], int(total or 0)


async def type_counts(
    conn: AsyncConnection, *, group: str, status: int, tag: str = ""
) -> dict[int, int]:
    rows = await conn.execute(
        select(channels.c.type, func.count())
        .where(*_filters(group, status, tag=tag))
        .group_by(channels.c.type)
    )
    return {int(t): int(n) for t, n in rows}


async def search_channels(
    conn: AsyncConnection, *, keyword: str, group: str, model: str, order: tuple[str, str, bool]
) -> list[RowMapping]:
    """new-api's search: id equal, or name/base_url containing the keyword; models containing
    `model`; in `group`. (Keys are sealed, so searching by key is not possible.)"""
    escaped = keyword.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    pattern = f"%{escaped}%"
    match = or_(
        channels.c.name.like(pattern, escape="!"), channels.c.base_url.like(pattern, escape="!")
    )
    if keyword.strip().lstrip("-").isdigit():
        match = or_(match, channels.c.id == int(keyword.strip()))
    where = [match, *_filters(group)]
    if model:
        m = model.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        where.append(channels.c.models.like(f"%{m}%", escape="!"))
    rows = await conn.execute(select(*_VISIBLE).where(*where).order_by(*_order(*order)))
    return list(rows.mappings().all())


async def get_channel(conn: AsyncConnection, channel_id: int) -> RowMapping | None:
    """The whole row, sealed key included (callers must never return the key)."""
    row = await conn.execute(select(channels).where(channels.c.id == channel_id))
    return row.mappings().first()


async def channels_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> list[RowMapping]:
    rows = await conn.execute(select(channels).where(channels.c.id.in_(list(ids))))
    return list(rows.mappings().all())


async def insert_channel(conn: AsyncConnection, values: dict[str, Any]) -> int:
    """Insert a channel row as given (its key already sealed) and build its abilities."""
    result = await conn.execute(insert(channels).values(**values).returning(channels.c.id))
    channel_id = int(result.scalar_one())
    await rebuild_abilities(conn, channel_id)
    return channel_id


async def update_channel(conn: AsyncConnection, channel_id: int, values: dict[str, Any]) -> None:
    """Write some columns of a channel and rebuild its abilities."""
    if values:
        await conn.execute(update(channels).where(channels.c.id == channel_id).values(**values))
    await rebuild_abilities(conn, channel_id)


async def set_channel_status(
    conn: AsyncConnection, channel_id: int, status: int, reason: str
) -> bool:
    """new-api's UpdateChannelStatus without a key: the status with other_info's reason and
    time; abilities follow. False when the channel is missing or already in that status."""
    row = await get_channel(conn, channel_id)
    if row is None or int(row["status"]) == status:
        return False
    other = parse_object(row["other_info"])
    other["status_reason"] = reason
    other["status_time"] = int(time.time())
    await update_channel(conn, channel_id, {"status": status, "other_info": dump_json(other)})
    return True


def parse_object(raw: str | None) -> dict[str, Any]:
    try:
        value = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


async def delete_channels(conn: AsyncConnection, ids: Sequence[int]) -> int:
    ids = list(ids)
    if not ids:
        return 0
    result = await conn.execute(delete(channels).where(channels.c.id.in_(ids)))
    await conn.execute(delete(abilities).where(abilities.c.channel_id.in_(ids)))
    return int(result.rowcount or 0)


async def disabled_channel_ids(conn: AsyncConnection) -> list[int]:
    """The channels in status 2 or 3."""
    disabled = (STATUS_MANUALLY_DISABLED, STATUS_AUTO_DISABLED)
    rows = await conn.execute(select(channels.c.id).where(channels.c.status.in_(disabled)))
    return [int(i) for (i,) in rows]


async def ids_with_tag(conn: AsyncConnection, tag: str) -> list[int]:
    rows = await conn.execute(select(channels.c.id).where(channels.c.tag == tag))
    return [int(i) for (i,) in rows]


async def update_channels(
    conn: AsyncConnection, ids: Sequence[int], values: dict[str, Any]
) -> None:
    """Write the same columns on several channels and rebuild their abilities."""
    ids = list(ids)
    if not ids:
        return
    if values:
        await conn.execute(update(channels).where(channels.c.id.in_(ids)).values(**values))
    for channel_id in ids:
        await rebuild_abilities(conn, channel_id)


async def rebuild_all_abilities(conn: AsyncConnection) -> int:
    """`POST /api/channel/fix`: every channel's abilities rewritten; returns how many."""
    ids = [int(i) for (i,) in await conn.execute(select(channels.c.id))]
    await conn.execute(delete(abilities).where(abilities.c.channel_id.not_in(ids)))
    for channel_id in ids:
        await rebuild_abilities(conn, channel_id)
    return len(ids)


async def record_test(conn: AsyncConnection, channel_id: int, response_ms: int) -> None:
    await conn.execute(
        update(channels)
        .where(channels.c.id == channel_id)
        .values(response_time=response_ms, test_time=int(time.time()))
    )


async def record_balance(conn: AsyncConnection, channel_id: int, balance: float) -> None:
    await conn.execute(
        update(channels)
        .where(channels.c.id == channel_id)
        .values(balance=balance, balance_updated_time=int(time.time()))
    )


async def enabled_models(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(
        select(abilities.c.model).where(abilities.c.enabled.is_(True)).distinct()
    )
    return sorted(m for (m,) in rows)


async def channel_models(conn: AsyncConnection) -> list[str]:
    """Every model named by any channel."""
    names: dict[str, None] = {}
    for (models,) in await conn.execute(select(channels.c.models)):
        for name in split_list(models or ""):
            names[name] = None
    return sorted(names)
