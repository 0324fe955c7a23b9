"""relay.store.redemptions: codes kept as digest + sealed copy, used exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.crypto import Keyring, is_sealed
from relay.store.redemptions import (
    STATUS_DISABLED,
    STATUS_ENABLED,
    STATUS_USED,
    claim,
    create_codes,
    delete_invalid,
    get_redemption,
    search_redemptions,
    unclaim,
)
from relay.store.schema import redemptions


async def make(engine: AsyncEngine, keyring: Keyring, n: int = 1, **kw: int) -> list[str]:
    codes = [secrets.token_hex(16) for _ in range(n)]
    async with engine.begin() as conn:
        await create_codes(
            conn, keyring, codes, user_id=1, name=f"t{secrets.token_hex(3)}",
            quota=kw.get("quota", 500), expired_time=kw.get("expired_time", 0),
            now=int(time.time()),
        )  # fmt: skip
    return codes


async def row_of(engine: AsyncEngine, keyring: Keyring, code: str) -> dict[str, object]:
    async with engine.connect() as conn:
        query = select(redemptions).where(redemptions.c.key == keyring.lookup_digest(code))
        return dict((await conn.execute(query)).mappings().one())


async def test_codes_are_stored_as_digest_and_sealed_copy(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    (code,) = await make(engine, keyring)
    row = await row_of(engine, keyring, code)
    assert row["key"] != code and code not in str(row["key_sealed"])
    assert is_sealed(str(row["key_sealed"])) and keyring.open(str(row["key_sealed"])) == code
    assert (row["status"], row["quota"], row["used_user_id"]) == (STATUS_ENABLED, 500, 0)


async def test_claim_once_then_unclaim(engine: AsyncEngine, keyring: Keyring) -> None:
    (code,) = await make(engine, keyring)
    digest, now = keyring.lookup_digest(code), int(time.time())
    async with engine.begin() as conn:
        first = await claim(conn, digest, 42, now)
    assert first is not None and first["quota"] == 500
    async with engine.begin() as conn:
        assert await claim(conn, digest, 43, now) is None
    row = await row_of(engine, keyring, code)
    assert (row["status"], row["used_user_id"], row["redeemed_time"]) == (STATUS_USED, 42, now)
    async with engine.begin() as conn:
        assert not await unclaim(conn, int(first["id"]), 43, now)  # not the one who used it
        assert await unclaim(conn, int(first["id"]), 42, now)
    row = await row_of(engine, keyring, code)
    assert (row["status"], row["used_user_id"], row["redeemed_time"]) == (STATUS_ENABLED, 0, 0)
    async with engine.begin() as conn:
        assert await claim(conn, digest, 43, now) is not None


async def test_concurrent_claims_have_one_winner(engine: AsyncEngine, keyring: Keyring) -> None:
    (code,) = await make(engine, keyring)
    digest = keyring.lookup_digest(code)

    async def attempt(uid: int) -> bool:
        async with engine.begin() as conn:
            return await claim(conn, digest, uid, int(time.time())) is not None

    results = await asyncio.gather(*(attempt(uid) for uid in range(100, 110)))
    assert results.count(True) == 1


async def test_unknown_disabled_expired_or_deleted_codes_are_not_claimed(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    now = int(time.time())
    disabled, expired, deleted = await make(engine, keyring, 3)
    async with engine.begin() as conn:
        for code, values in (
            (disabled, {"status": STATUS_DISABLED}),
            (expired, {"expired_time": now - 10}),
            (deleted, {"deleted_at": dt.datetime.now(dt.UTC)}),
        ):
            await conn.execute(
                update(redemptions)
                .where(redemptions.c.key == keyring.lookup_digest(code))
                .values(**values)
            )
        assert await claim(conn, keyring.lookup_digest("no-such-code"), 1, now) is None
        assert await claim(conn, keyring.lookup_digest(disabled), 1, now) is None
        assert await claim(conn, keyring.lookup_digest(expired), 1, now) is None
        assert await claim(conn, keyring.lookup_digest(deleted), 1, now) is None


async def test_search_by_status_and_delete_invalid(engine: AsyncEngine, keyring: Keyring) -> None:
    now = int(time.time())
    fresh, used, disabled, expired = await make(engine, keyring, 4)
    async with engine.begin() as conn:
        assert await claim(conn, keyring.lookup_digest(used), 5, now) is not None
        for code, values in ((disabled, {"status": 2}), (expired, {"expired_time": now - 1})):
            await conn.execute(
                update(redemptions)
                .where(redemptions.c.key == keyring.lookup_digest(code))
                .values(**values)
            )
    name = str((await row_of(engine, keyring, fresh))["name"])
    async with engine.connect() as conn:
        for status, wanted in (("1", fresh), ("2", disabled), ("3", used), ("expired", expired)):
            rows, total = await search_redemptions(
                conn, keyword=name, status=status, now=now, offset=0, limit=10
            )
            assert total == 1 and keyring.open(rows[0]["key_sealed"]) == wanted
        rows, total = await search_redemptions(
            conn, keyword=name, status="", now=now, offset=0, limit=10
        )
        assert total == 4
    async with engine.begin() as conn:
        assert await delete_invalid(conn, now) >= 3
    async with engine.connect() as conn:
        fresh_id = int((await row_of(engine, keyring, fresh))["id"])
        assert await get_redemption(conn, fresh_id) is not None
        used_id = int((await row_of(engine, keyring, used))["id"])
        assert await get_redemption(conn, used_id) is None
