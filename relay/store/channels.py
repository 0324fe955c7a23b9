"""Queries on `channels` and their derived `abilities` (the routing index)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from relay.crypto import Keyring
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
