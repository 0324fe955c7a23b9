"""Queries on `redemptions`: codes stored as an HMAC digest (`key`) plus a sealed copy
(`key_sealed`), listings, and the compare-and-swap that uses a code exactly once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, true, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from relay.crypto import Keyring
from relay.store.paging import counted_page
from relay.store.schema import logs, redemptions

STATUS_ENABLED = 1
STATUS_DISABLED = 2
STATUS_USED = 3
LOG_TYPE_TOPUP = 1
LOG_TYPE_SYSTEM = 4

_live = redemptions.c.deleted_at.is_(None)


def _unexpired(now: int) -> Any:
    return or_(redemptions.c.expired_time == 0, redemptions.c.expired_time >= now)


async def create_codes(
    conn: AsyncConnection,
    keyring: Keyring,
    codes: Sequence[str],
    *,
    user_id: int,
    name: str,
    quota: int,
    expired_time: int,
    now: int,
) -> list[int]:
    """Insert one row per code (digest + sealed copy); returns their ids."""
    ids = []
    for code in codes:
        result = await conn.execute(
            insert(redemptions)
            .values(
                user_id=user_id,
                key=keyring.lookup_digest(code),
                key_sealed=keyring.seal(code),
                status=STATUS_ENABLED,
                name=name,
                quota=quota,
                created_time=now,
                expired_time=expired_time,
            )
            .returning(redemptions.c.id)
        )
        ids.append(int(result.scalar_one()))
    return ids


async def get_redemption(conn: AsyncConnection, redemption_id: int) -> RowMapping | None:
    query = select(redemptions).where(redemptions.c.id == redemption_id, _live)
    return (await conn.execute(query)).mappings().first()


async def _page(
    conn: AsyncConnection, where: Any, offset: int, limit: int
) -> tuple[list[RowMapping], int]:
    return await counted_page(conn, redemptions, [where], [redemptions.c.id.desc()], offset, limit)


async def list_redemptions(
    conn: AsyncConnection, *, offset: int, limit: int
) -> tuple[list[RowMapping], int]:
    return await _page(conn, and_(true(), _live), offset, limit)


async def search_redemptions(
    conn: AsyncConnection, *, keyword: str, status: str, now: int, offset: int, limit: int
) -> tuple[list[RowMapping], int]:
    """new-api SearchRedemptions: name prefix (or the id); status 1 means usable (enabled and
    not expired), "expired" enabled but past its expiry, 2 disabled, 3 used."""
    where: Any = _live
    if keyword:
        match = redemptions.c.name.startswith(keyword, autoescape=True)
        if keyword.isdigit():
            match = or_(redemptions.c.id == int(keyword), match)
        where = and_(where, match)
    enabled = redemptions.c.status == STATUS_ENABLED
    if status == "expired":
        expired = and_(redemptions.c.expired_time != 0, redemptions.c.expired_time < now)
        where = and_(where, enabled, expired)
    elif status == str(STATUS_ENABLED):
        where = and_(where, enabled, _unexpired(now))
    elif status in (str(STATUS_DISABLED), str(STATUS_USED)):
        where = and_(where, redemptions.c.status == int(status))
    return await _page(conn, where, offset, limit)


async def update_redemption(
    conn: AsyncConnection, redemption_id: int, values: dict[str, Any]
) -> None:
    assert not {"key", "key_sealed"} & values.keys()
    await conn.execute(
        update(redemptions).where(redemptions.c.id == redemption_id, _live).values(**values)
    )


async def soft_delete_redemption(conn: AsyncConnection, redemption_id: int) -> bool:
    result = await conn.execute(
        update(redemptions)
        .where(redemptions.c.id == redemption_id, _live)
        .values(deleted_at=dt.datetime.now(dt.UTC))
    )
    return bool(result.rowcount)


async def delete_invalid(conn: AsyncConnection, now: int) -> int:
    """Soft-delete used, disabled and expired codes; returns how many."""
    expired = and_(
        redemptions.c.status == STATUS_ENABLED,
        redemptions.c.expired_time != 0,
        redemptions.c.expired_time < now,
    )
    result = await conn.execute(
        update(redemptions)
        .where(_live, or_(redemptions.c.status.in_([STATUS_USED, STATUS_DISABLED]), expired))
        .values(deleted_at=dt.datetime.now(dt.UTC))
    )
    return int(result.rowcount)


async def claim(conn: AsyncConnection, digest: str, user_id: int, now: int) -> RowMapping | None:
    """Use the code with this digest for `user_id`: the compare-and-swap UPDATE ... WHERE
    status = 1 flips it to used only if nobody else did first (on PostgreSQL a concurrent
    transaction waits for the row and then finds the status changed; SQLite serializes
    writers). Returns the code's row as it was, or None if it is unknown, used, disabled,
    expired or deleted. Call inside the caller's transaction."""
    row = (
        (await conn.execute(select(redemptions).where(redemptions.c.key == digest, _live)))
        .mappings()
        .first()
    )
    if row is None:
        return None
    result = await conn.execute(
        update(redemptions)
        .where(
            redemptions.c.id == row["id"],
            redemptions.c.status == STATUS_ENABLED,
            _unexpired(now),
            _live,
        )
        .values(status=STATUS_USED, redeemed_time=now, used_user_id=user_id)
    )
    return row if result.rowcount == 1 else None


async def unclaim(conn: AsyncConnection, redemption_id: int, user_id: int, now: int) -> bool:
    """Undo `claim` (the quota could not be credited): the code is usable again."""
    result = await conn.execute(
        update(redemptions)
        .where(
            redemptions.c.id == redemption_id,
            redemptions.c.status == STATUS_USED,
            redemptions.c.used_user_id == user_id,
            redemptions.c.redeemed_time == now,
        )
        .values(status=STATUS_ENABLED, redeemed_time=0, used_user_id=0)
    )
    return bool(result.rowcount)


async def write_log(
    conn: AsyncConnection, user_id: int, username: str, log_type: int, content: str, now: int
) -> int:
    """A top-up (type 1) or system (type 4) row in `logs`, as new-api's RecordLog; returns id."""
    result = await conn.execute(
        insert(logs)
        .values(user_id=user_id, username=username, created_at=now, type=log_type, content=content)
        .returning(logs.c.id)
    )
    return int(result.scalar_one())


async def delete_log(conn: AsyncConnection, log_id: int) -> None:
    await conn.execute(delete(logs).where(logs.c.id == log_id))
