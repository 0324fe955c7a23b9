"""Queries on `tokens`: issuing keys (stored as HMAC digest + sealed copy) and looking them up."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from relay.crypto import Keyring, generate_token_key
from relay.store.paging import counted_page
from relay.store.schema import tokens, users


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """What SQL knows about a user and one of its tokens, for loading into Redis."""

    user_status: int
    user_quota: int
    user_used: int
    user_requests: int
    token_status: int
    token_remain: int
    token_used: int
    token_unlimited: bool
    token_expired_time: int


async def create_token(
    conn: AsyncConnection,
    keyring: Keyring,
    user_id: int,
    *,
    name: str = "default",
    remain_quota: int = 0,
    unlimited_quota: bool = False,
    expired_time: int = -1,
    model_limits: list[str] | None = None,
    allow_ips: str = "",
    group: str = "",
    rate_limit_rpm: int = 0,
    rate_limit_rpd: int = 0,
    rate_limit_tpm: int = 0,
    key: str | None = None,
    model_limits_enabled: bool | None = None,
    cross_group_retry: bool = False,
    auto_groups: str = "",
) -> tuple[int, str]:
    """Issue a token; returns (id, key). The key is never stored in plaintext.

    Model limits are on when `model_limits` is given, unless `model_limits_enabled` says
    otherwise; `auto_groups` is new-api's JSON list text."""
    key = key or generate_token_key()
    now = int(time.time())
    result = await conn.execute(
        insert(tokens)
        .values(
            user_id=user_id,
            key=keyring.lookup_digest(key),
            key_sealed=keyring.seal(key),
            name=name,
            created_time=now,
            accessed_time=now,
            expired_time=expired_time,
            remain_quota=remain_quota,
            unlimited_quota=unlimited_quota,
            model_limits_enabled=(
                model_limits is not None if model_limits_enabled is None else model_limits_enabled
            ),
            model_limits=",".join(model_limits or []),
            allow_ips=allow_ips,
            group=group,
            cross_group_retry=cross_group_retry,
            auto_groups=auto_groups,
            rate_limit_rpm=rate_limit_rpm,
            rate_limit_rpd=rate_limit_rpd,
            rate_limit_tpm=rate_limit_tpm,
        )
        .returning(tokens.c.id)
    )
    return int(result.scalar_one()), key


_PRINCIPAL_COLUMNS = (
    tokens.c.id.label("token_id"),
    tokens.c.user_id,
    tokens.c.name.label("token_name"),
    tokens.c.status.label("token_status"),
    tokens.c.expired_time,
    tokens.c.unlimited_quota,
    tokens.c.model_limits_enabled,
    tokens.c.model_limits,
    tokens.c.allow_ips,
    tokens.c.group.label("token_group"),
    tokens.c.rate_limit_rpm,
    tokens.c.rate_limit_rpd,
    tokens.c.rate_limit_tpm,
    users.c.username,
    users.c.role,
    users.c.status.label("user_status"),
    users.c.group.label("user_group"),
    users.c.setting.label("user_setting"),
)


async def principal_row(conn: AsyncConnection, digest: str) -> RowMapping | None:
    """The token (by key digest) joined with its user, or None; deleted rows don't count."""
    query = (
        select(*_PRINCIPAL_COLUMNS)
        .select_from(tokens.join(users, users.c.id == tokens.c.user_id))
        .where(tokens.c.key == digest, tokens.c.deleted_at.is_(None), users.c.deleted_at.is_(None))
    )
    return (await conn.execute(query)).mappings().first()


async def balance_row(conn: AsyncConnection, user_id: int, token_id: int) -> BalanceRow | None:
    query = (
        select(
            users.c.status.label("us"),
            users.c.quota,
            users.c.used_quota.label("uused"),
            users.c.request_count,
            tokens.c.status.label("ts"),
            tokens.c.remain_quota,
            tokens.c.used_quota.label("tused"),
            tokens.c.unlimited_quota,
            tokens.c.expired_time,
            tokens.c.deleted_at,
        )
        .select_from(tokens.join(users, users.c.id == tokens.c.user_id))
        .where(tokens.c.id == token_id, users.c.id == user_id)
    )
    row: Any = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    return BalanceRow(
        user_status=row["us"],
        user_quota=row["quota"],
        user_used=row["uused"],
        user_requests=row["request_count"],
        # A soft-deleted token keeps its balance but can no longer be used.
        token_status=row["ts"] if row["deleted_at"] is None else 2,
        token_remain=row["remain_quota"],
        token_used=row["tused"],
        token_unlimited=bool(row["unlimited_quota"]),
        token_expired_time=row["expired_time"],
    )


# --- A user's own tokens (the admin API's token routes; deleted rows never count) ---


def _owned(user_id: int) -> Any:
    return (tokens.c.user_id == user_id) & tokens.c.deleted_at.is_(None)


async def count_user_tokens(conn: AsyncConnection, user_id: int) -> int:
    query = select(func.count()).select_from(tokens).where(_owned(user_id))
    return int((await conn.execute(query)).scalar_one())


async def list_user_tokens(
    conn: AsyncConnection, user_id: int, *, offset: int, limit: int
) -> list[RowMapping]:
    """One page of a user's tokens, newest first."""
    query = (
        select(tokens).where(_owned(user_id)).order_by(tokens.c.id.desc())
        .offset(offset).limit(limit)
    )  # fmt: skip
    return list((await conn.execute(query)).mappings().all())


async def search_user_tokens(
    conn: AsyncConnection,
    user_id: int,
    *,
    name_like: str = "",
    digest: str = "",
    offset: int,
    limit: int,
) -> tuple[list[RowMapping], int]:
    """A user's tokens whose name matches `name_like` (a LIKE pattern escaped with `!`) and,
    when given, whose key digest is `digest`; newest first, with the number of matches."""
    where = _owned(user_id)
    if name_like:
        where = where & tokens.c.name.like(name_like, escape="!")
    if digest:
        where = where & (tokens.c.key == digest)
    return await counted_page(conn, tokens, [where], [tokens.c.id.desc()], offset, limit)


async def user_token(conn: AsyncConnection, user_id: int, token_id: int) -> RowMapping | None:
    """One of a user's tokens, or None (someone else's tokens are None too)."""
    query = select(tokens).where(_owned(user_id), tokens.c.id == token_id)
    return (await conn.execute(query)).mappings().first()


async def user_tokens_by_ids(
    conn: AsyncConnection, user_id: int, token_ids: Sequence[int]
) -> list[RowMapping]:
    """Those of `token_ids` that are the user's own, by id."""
    if not token_ids:
        return []
    query = (
        select(tokens).where(_owned(user_id), tokens.c.id.in_(sorted(set(token_ids))))
        .order_by(tokens.c.id)
    )  # fmt: skip
    return list((await conn.execute(query)).mappings().all())


async def update_token(conn: AsyncConnection, token_id: int, values: dict[str, Any]) -> None:
    """Write token fields. Balances (remain_quota, used_quota) belong to the quota ledger:
    change them through the quota service, never here."""
    refused = {"remain_quota", "used_quota", "key", "key_sealed"} & values.keys()
    if refused:
        raise ValueError(f"update_token cannot write {sorted(refused)}")
    if values:
        await conn.execute(update(tokens).where(tokens.c.id == token_id).values(**values))


async def soft_delete_tokens(
    conn: AsyncConnection, user_id: int, token_ids: Sequence[int]
) -> list[RowMapping]:
    """Mark those of `token_ids` that the user owns as deleted; returns the rows as they were."""
    rows = await user_tokens_by_ids(conn, user_id, token_ids)
    if rows:
        await conn.execute(
            update(tokens)
            .where(tokens.c.id.in_([row["id"] for row in rows]), tokens.c.deleted_at.is_(None))
            .values(deleted_at=dt.datetime.now(dt.UTC))
        )
    return rows
