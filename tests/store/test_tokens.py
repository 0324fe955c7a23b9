"""relay.store.tokens: keys stored as digest + sealed copy; principal and balance rows."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.auth import Principal
from relay.crypto import Keyring, generate_token_key
from relay.store.schema import tokens, users
from relay.store.tokens import (
    BalanceRow,
    balance_row,
    count_user_tokens,
    create_token,
    list_user_tokens,
    principal_row,
    search_user_tokens,
    soft_delete_tokens,
    update_token,
    user_token,
    user_tokens_by_ids,
)
from relay.store.users import create_user

_n = itertools.count(1)


async def new_user(engine: AsyncEngine, **kw: object) -> int:
    async with engine.begin() as conn:
        return await create_user(conn, f"tok{next(_n)}", "password123", **kw)  # type: ignore[arg-type]


async def test_create_token_stores_digest_and_sealed_key_only(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    uid = await new_user(engine)
    async with engine.begin() as conn:
        tid, key = await create_token(conn, keyring, uid, name="main", remain_quota=123)
        row = (await conn.execute(select(tokens).where(tokens.c.id == tid))).mappings().one()
    assert len(key) == 48 and key.isalnum()
    assert row["key"] == keyring.lookup_digest(key)
    assert keyring.open(row["key_sealed"]) == key
    assert all(key not in str(value) for value in row.values())
    assert (row["user_id"], row["name"], row["remain_quota"]) == (uid, "main", 123)
    assert (row["status"], row["expired_time"], row["used_quota"]) == (1, -1, 0)
    assert row["unlimited_quota"] is False and row["model_limits_enabled"] is False
    assert row["created_time"] == row["accessed_time"] > 1_600_000_000


async def test_create_token_with_a_given_key_and_every_option(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    uid = await new_user(engine)
    chosen = generate_token_key()
    async with engine.begin() as conn:
        tid, key = await create_token(
            conn,
            keyring,
            uid,
            key=chosen,
            unlimited_quota=True,
            expired_time=2_000_000_000,
            model_limits=["gpt-4o", "claude-3-haiku"],
            allow_ips="10.0.0.0/8",
            group="vip",
            rate_limit_rpm=1,
            rate_limit_rpd=2,
            rate_limit_tpm=3,
        )
        row = (await conn.execute(select(tokens).where(tokens.c.id == tid))).mappings().one()
    assert key == chosen
    assert row["unlimited_quota"] is True and row["expired_time"] == 2_000_000_000
    assert row["model_limits_enabled"] is True and row["model_limits"] == "gpt-4o,claude-3-haiku"
    assert (row["allow_ips"], row["group"]) == ("10.0.0.0/8", "vip")
    assert (row["rate_limit_rpm"], row["rate_limit_rpd"], row["rate_limit_tpm"]) == (1, 2, 3)


async def test_empty_model_limits_list_enables_limits(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    uid = await new_user(engine)
    async with engine.begin() as conn:
        tid, _ = await create_token(conn, keyring, uid, model_limits=[])
        row = (await conn.execute(select(tokens).where(tokens.c.id == tid))).mappings().one()
    assert row["model_limits_enabled"] is True and row["model_limits"] == ""


async def test_principal_row_joins_token_and_user(engine: AsyncEngine, keyring: Keyring) -> None:
    uid = await new_user(engine, role=10, group="vip")
    async with engine.begin() as conn:
        await conn.execute(
            update(users).where(users.c.id == uid).values(setting='{"record_ip_log": true}')
        )
        tid, key = await create_token(
            conn, keyring, uid, name="k1", model_limits=["gpt-4o"], rate_limit_rpm=9
        )
    async with engine.connect() as conn:
        row = await principal_row(conn, keyring.lookup_digest(key))
        assert await principal_row(conn, keyring.lookup_digest(key + "x")) is None
        assert await principal_row(conn, key) is None  # the plaintext is not a lookup key
    assert row is not None
    assert (row["token_id"], row["user_id"], row["token_name"], row["token_status"]) == (
        tid,
        uid,
        "k1",
        1,
    )
    assert (row["role"], row["user_status"], row["user_group"]) == (10, 1, "vip")
    p = Principal.from_row(row)
    assert p.is_admin and p.record_ip and p.model_limits == frozenset({"gpt-4o"})
    assert p.rpm == 9 and p.user_group == "vip" and p.token_group == ""


async def test_deleted_tokens_and_users_have_no_principal(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    now = dt.datetime.now(dt.UTC)
    uid = await new_user(engine)
    async with engine.begin() as conn:
        tid, key = await create_token(conn, keyring, uid)
        other_tid, other_key = await create_token(conn, keyring, uid)
        await conn.execute(update(tokens).where(tokens.c.id == tid).values(deleted_at=now))
    async with engine.connect() as conn:
        assert await principal_row(conn, keyring.lookup_digest(key)) is None
        assert await principal_row(conn, keyring.lookup_digest(other_key)) is not None
    async with engine.begin() as conn:
        await conn.execute(update(users).where(users.c.id == uid).values(deleted_at=now))
    async with engine.connect() as conn:
        assert await principal_row(conn, keyring.lookup_digest(other_key)) is None
    assert other_tid != tid


async def test_balance_row(engine: AsyncEngine, keyring: Keyring) -> None:
    uid = await new_user(engine, quota=5_000)
    async with engine.begin() as conn:
        tid, _ = await create_token(
            conn, keyring, uid, remain_quota=700, unlimited_quota=True, expired_time=1_900_000_000
        )
        await conn.execute(
            update(users).where(users.c.id == uid).values(used_quota=11, request_count=3)
        )
        await conn.execute(update(tokens).where(tokens.c.id == tid).values(used_quota=6))
    async with engine.connect() as conn:
        row = await balance_row(conn, uid, tid)
    assert row == BalanceRow(1, 5_000, 11, 3, 1, 700, 6, True, 1_900_000_000)


async def test_balance_row_of_a_deleted_token_is_unusable(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    uid = await new_user(engine, quota=10)
    async with engine.begin() as conn:
        tid, _ = await create_token(conn, keyring, uid, remain_quota=5)
        await conn.execute(
            update(tokens).where(tokens.c.id == tid).values(deleted_at=dt.datetime.now(dt.UTC))
        )
    async with engine.connect() as conn:
        row = await balance_row(conn, uid, tid)
    assert row is not None
    assert row.token_status == 2 and row.token_remain == 5  # keeps its balance


async def test_balance_row_requires_the_tokens_owner(engine: AsyncEngine, keyring: Keyring) -> None:
    owner, stranger = await new_user(engine), await new_user(engine)
    async with engine.begin() as conn:
        tid, _ = await create_token(conn, keyring, owner)
    async with engine.connect() as conn:
        assert await balance_row(conn, stranger, tid) is None
        assert await balance_row(conn, owner, tid + 10_000) is None
        assert await balance_row(conn, owner, tid) is not None


# --- a user's own tokens (the admin API) ---


async def test_listing_is_per_user_newest_first_without_deleted(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    owner, stranger = await new_user(engine), await new_user(engine)
    async with engine.begin() as conn:
        ids = [(await create_token(conn, keyring, owner, name=f"t{i}"))[0] for i in range(4)]
        foreign, _ = await create_token(conn, keyring, stranger)
        await conn.execute(
            update(tokens).where(tokens.c.id == ids[1]).values(deleted_at=dt.datetime.now(dt.UTC))
        )
    async with engine.connect() as conn:
        assert await count_user_tokens(conn, owner) == 3
        page = await list_user_tokens(conn, owner, offset=0, limit=2)
        assert [row["id"] for row in page] == [ids[3], ids[2]]
        rest = await list_user_tokens(conn, owner, offset=2, limit=2)
        assert [row["id"] for row in rest] == [ids[0]]
        assert await user_token(conn, owner, ids[0]) is not None
        assert await user_token(conn, owner, ids[1]) is None  # deleted
        assert await user_token(conn, owner, foreign) is None  # someone else's
        mine = await user_tokens_by_ids(conn, owner, [foreign, ids[3], ids[1], ids[0], ids[3]])
        assert [row["id"] for row in mine] == [ids[0], ids[3]]
        assert await user_tokens_by_ids(conn, owner, []) == []


async def test_search_by_name_pattern_and_by_key_digest(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    owner, stranger = await new_user(engine), await new_user(engine)
    async with engine.begin() as conn:
        a, key_a = await create_token(conn, keyring, owner, name="prod_main")
        b, _ = await create_token(conn, keyring, owner, name="prodXmain")
        c, _ = await create_token(conn, keyring, owner, name="staging")
        await create_token(conn, keyring, stranger, name="prod_main")
    async with engine.connect() as conn:

        async def found(**kw: str) -> tuple[list[int], int]:
            rows, total = await search_user_tokens(conn, owner, offset=0, limit=10, **kw)
            return [row["id"] for row in rows], total

        assert await found(name_like="prod!_main") == ([a], 1)  # `_` is literal, escaped
        assert await found(name_like="prod%") == ([b, a], 2)
        assert await found(name_like="%ing") == ([c], 1)
        assert await found(digest=keyring.lookup_digest(key_a)) == ([a], 1)
        assert await found(name_like="staging", digest=keyring.lookup_digest(key_a)) == ([], 0)
        assert await found() == ([c, b, a], 3)
        rows, total = await search_user_tokens(conn, owner, offset=1, limit=1)
        assert [row["id"] for row in rows] == [b] and total == 3


async def test_update_and_soft_delete_only_touch_the_owners_tokens(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    owner, stranger = await new_user(engine), await new_user(engine)
    async with engine.begin() as conn:
        tid, _ = await create_token(
            conn, keyring, owner, model_limits_enabled=False, model_limits=["a"],
            cross_group_retry=True, auto_groups='["vip"]', group="auto",
        )  # fmt: skip
        other, _ = await create_token(conn, keyring, owner)
        foreign, _ = await create_token(conn, keyring, stranger)
        await update_token(conn, tid, {"name": "renamed", "status": 2, "rate_limit_rpm": 4})
        await update_token(conn, tid, {})
        row = await user_token(conn, owner, tid)
        assert row is not None
        assert (row["name"], row["status"], row["rate_limit_rpm"]) == ("renamed", 2, 4)
        assert row["model_limits_enabled"] is False and row["model_limits"] == "a"
        assert (row["cross_group_retry"], row["auto_groups"]) == (True, '["vip"]')
        with pytest.raises(ValueError, match="remain_quota"):
            await update_token(conn, tid, {"remain_quota": 5})
        deleted = await soft_delete_tokens(conn, owner, [tid, foreign, tid + 10_000])
        assert [r["id"] for r in deleted] == [tid] and deleted[0]["deleted_at"] is None
        assert await soft_delete_tokens(conn, owner, [tid]) == []  # already deleted
        assert await count_user_tokens(conn, owner) == 1
        assert await user_token(conn, stranger, foreign) is not None
        assert await user_token(conn, owner, other) is not None
