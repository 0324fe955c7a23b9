"""relay.store.users: bcrypt passwords (cost 10, like new-api) and the root account."""

from __future__ import annotations

import itertools
from pathlib import Path

import bcrypt
import pytest
from backing_stores import migrated_engine
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.crypto import Keyring
from relay.store.schema import users
from relay.store.users import (
    ROLE_ADMIN,
    ROLE_ROOT,
    ROOT_INITIAL_QUOTA,
    count_users,
    create_user,
    ensure_root,
    hash_password,
    verify_password,
)

_n = itertools.count(1)


def test_hash_password_is_bcrypt_cost_10() -> None:
    hashed = hash_password("password123")
    assert hashed.startswith("$2b$10$") and len(hashed) == 60
    assert verify_password("password123", hashed)
    assert not verify_password("password124", hashed)
    assert hash_password("password123") != hashed  # salted


def test_verify_accepts_go_style_hashes_and_rejects_garbage() -> None:
    go_hash = bcrypt.hashpw(b"secret-pass", bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()
    assert go_hash.startswith("$2a$10$")
    assert verify_password("secret-pass", go_hash)
    assert not verify_password("secret-pass", "not-a-bcrypt-hash")
    assert not verify_password("secret-pass", "")


async def test_create_user_stores_a_bcrypt_hash(engine: AsyncEngine) -> None:
    name = f"user{next(_n)}"
    async with engine.begin() as conn:
        uid = await create_user(
            conn, name, "password123", role=ROLE_ADMIN, quota=77, group="vip", status=2
        )
        row = (await conn.execute(select(users).where(users.c.id == uid))).mappings().one()
    assert row["username"] == name and row["display_name"] == name
    assert row["password"] != "password123"
    assert row["password"].startswith("$2b$10$")
    assert verify_password("password123", row["password"])
    assert (row["role"], row["quota"], row["group"], row["status"]) == (ROLE_ADMIN, 77, "vip", 2)
    assert (row["used_quota"], row["request_count"], row["access_token"]) == (0, 0, None)
    assert row["created_at"] > 1_600_000_000
    assert row["deleted_at"] is None and row["setting"] == ""


async def test_create_user_defaults_and_unique_names(engine: AsyncEngine) -> None:
    name = f"user{next(_n)}"
    async with engine.begin() as conn:
        uid = await create_user(conn, name, "password123", display_name="Shown")
        row = (await conn.execute(select(users).where(users.c.id == uid))).mappings().one()
    assert (row["role"], row["status"], row["group"], row["quota"]) == (1, 1, "default", 0)
    assert row["display_name"] == "Shown"
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await create_user(conn, name, "password123")


async def test_ensure_root_only_on_an_empty_database(sql_kind: str, tmp_path: Path) -> None:
    keyring = Keyring("root-test")
    async with migrated_engine(sql_kind, tmp_path) as fresh:
        async with fresh.begin() as conn:
            assert await count_users(conn) == 0
            assert await ensure_root(conn, keyring, "rootpassword", "root-access-token")
        async with fresh.begin() as conn:
            row = (await conn.execute(select(users))).mappings().one()
            assert not await ensure_root(conn, keyring, "otherpassword", "other-token")
            assert await count_users(conn) == 1
        async with fresh.begin() as conn:  # root's explicit id 1 must not be handed out again
            assert await create_user(conn, "after-root", "password123") == 2
    assert (row["id"], row["username"], row["role"]) == (1, "root", ROLE_ROOT)
    assert row["quota"] == ROOT_INITIAL_QUOTA == 100_000_000
    assert row["display_name"] == "Root User"
    assert verify_password("rootpassword", row["password"])
    assert row["access_token"] == keyring.lookup_digest("root-access-token")


async def test_ensure_root_needs_a_password_or_token(sql_kind: str, tmp_path: Path) -> None:
    keyring = Keyring("root-test")
    async with migrated_engine(sql_kind, tmp_path) as fresh, fresh.begin() as conn:
        assert not await ensure_root(conn, keyring, "", "")
        assert await count_users(conn) == 0
        # A token alone also works: it doubles as the password.
        assert await ensure_root(conn, keyring, "", "only-a-token-123")
        row = (await conn.execute(select(users))).mappings().one()
    assert verify_password("only-a-token-123", row["password"])
    assert row["access_token"] == keyring.lookup_digest("only-a-token-123")


async def test_ensure_root_without_token_leaves_access_token_empty(
    sql_kind: str, tmp_path: Path
) -> None:
    async with migrated_engine(sql_kind, tmp_path) as fresh, fresh.begin() as conn:
        assert await ensure_root(conn, Keyring("k"), "rootpassword", "")
        row = (await conn.execute(select(users))).mappings().one()
    assert row["access_token"] is None


async def test_ensure_root_is_skipped_when_any_user_exists(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await create_user(conn, f"user{next(_n)}", "password123")
        assert not await ensure_root(conn, Keyring("k"), "rootpassword", "tok")
        root = await conn.scalar(select(users.c.id).where(users.c.username == "root"))
    assert root is None
