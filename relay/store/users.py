"""Queries on `users`: creation (bcrypt passwords) and the root account at first start."""

from __future__ import annotations

import time

import bcrypt
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from relay.crypto import Keyring
from relay.store.schema import users

ROLE_COMMON = 1
ROLE_ADMIN = 10
ROLE_ROOT = 100
STATUS_ENABLED = 1
STATUS_DISABLED = 2
ROOT_INITIAL_QUOTA = 100_000_000


def hash_password(password: str) -> str:
    # Cost 10 matches new-api (Go bcrypt.DefaultCost), so imported hashes verify the same way.
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def verify_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


async def create_user(
    conn: AsyncConnection,
    username: str,
    password: str,
    *,
    role: int = ROLE_COMMON,
    quota: int = 0,
    group: str = "default",
    status: int = STATUS_ENABLED,
    display_name: str = "",
    access_token_digest: str | None = None,
    user_id: int | None = None,
) -> int:
    """Insert a user with a bcrypt-hashed password; returns its id."""
    values = {
        "username": username,
        "password": hash_password(password),
        "display_name": display_name or username,
        "role": role,
        "status": status,
        "quota": quota,
        "group": group,
        "access_token": access_token_digest,
        "created_at": int(time.time()),
    }
    if user_id is not None:
        values["id"] = user_id
    result = await conn.execute(insert(users).values(**values).returning(users.c.id))
    return int(result.scalar_one())


async def count_users(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())


async def ensure_root(
    conn: AsyncConnection, keyring: Keyring, password: str, access_token: str
) -> bool:
    """On an empty database, create root (id 1, role 100) from the INITIAL_ROOT_* values."""
    if not (password or access_token) or await count_users(conn) > 0:
        return False
    await create_user(
        conn,
        "root",
        password or access_token,
        role=ROLE_ROOT,
        quota=ROOT_INITIAL_QUOTA,
        display_name="Root User",
        access_token_digest=keyring.lookup_digest(access_token) if access_token else None,
        user_id=1,
    )
    return True
