"""Queries on `users`: creation (bcrypt passwords), the root account at first start, and the
admin API's account queries (lookups, listings, profile updates, soft delete)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import bcrypt
from sqlalchemy import and_, func, insert, or_, select, text, true, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from relay.crypto import Keyring
from relay.store.paging import counted_page
from relay.store.schema import abilities, users

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
    if conn.dialect.name == "postgresql":
        # An explicit id does not advance PostgreSQL's sequence: move it past root's id, or
        # the next user created would be given id 1 again.
        await conn.execute(
            text("SELECT setval(pg_get_serial_sequence('users', 'id'), MAX(id)) FROM users")
        )
    return True


# --- the admin API's account queries ---------------------------------------------------------
# Balances (quota, used_quota, request_count) of an existing user belong to the quota ledger:
# change them through the quota service, never here.

_LEDGER_COLUMNS = frozenset({"quota", "used_quota", "request_count"})
SORT_COLUMNS = {
    "id": users.c.id,
    "username": users.c.username,
    "quota": users.c.quota,
    "group": users.c.group,
    "created_at": users.c.created_at,
    "last_login_at": users.c.last_login_at,
}


async def get_user(
    conn: AsyncConnection, user_id: int, *, with_deleted: bool = False
) -> RowMapping | None:
    """The whole row (secrets included: callers must not pass it on as is)."""
    query = select(users).where(users.c.id == user_id)
    if not with_deleted:
        query = query.where(users.c.deleted_at.is_(None))
    return (await conn.execute(query)).mappings().first()


async def login_row(conn: AsyncConnection, name: str) -> RowMapping | None:
    """The live user signing in as `name`: by username first, else by e-mail.

    Username first: an e-mail that equals someone else's username must not shadow that user.
    """
    for column in (users.c.username, users.c.email):
        row = (
            (
                await conn.execute(
                    select(users)
                    .where(column == name, users.c.deleted_at.is_(None))
                    .order_by(users.c.id)
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        if row is not None:
            return row
    return None


async def username_taken(conn: AsyncConnection, username: str, except_id: int = 0) -> bool:
    """Whether a user (deleted ones too, as new-api) already has this name."""
    query = select(users.c.id).where(users.c.username == username, users.c.id != except_id)
    return (await conn.execute(query.limit(1))).first() is not None


async def root_exists(conn: AsyncConnection) -> bool:
    query = select(users.c.id).where(users.c.role == ROLE_ROOT, users.c.deleted_at.is_(None))
    return (await conn.execute(query.limit(1))).first() is not None


async def insert_user(
    conn: AsyncConnection,
    *,
    username: str,
    password_hash: str,
    role: int = ROLE_COMMON,
    quota: int = 0,
    group: str = "default",
    display_name: str = "",
    aff_code: str | None = None,
    inviter_id: int = 0,
    setting: str = "",
) -> int:
    """Insert a user whose password is already hashed (hash off the event loop); returns id."""
    result = await conn.execute(
        insert(users)
        .values(
            username=username,
            password=password_hash,
            display_name=display_name or username,
            role=role,
            status=STATUS_ENABLED,
            quota=quota,
            group=group,
            aff_code=aff_code,
            inviter_id=inviter_id,
            setting=setting,
            created_at=int(time.time()),
        )
        .returning(users.c.id)
    )
    return int(result.scalar_one())


async def update_user(
    conn: AsyncConnection, user_id: int, values: dict[str, Any], *, bump_auth: bool = False
) -> None:
    """Write profile fields; `bump_auth` also invalidates every session cookie of the user."""
    assert not _LEDGER_COLUMNS & values.keys(), "balances change through the quota service"
    changes: dict[str, Any] = dict(values)
    if bump_auth:
        changes["auth_version"] = users.c.auth_version + 1
    if changes:
        await conn.execute(update(users).where(users.c.id == user_id).values(**changes))


async def soft_delete_user(conn: AsyncConnection, user_id: int) -> bool:
    """Mark a user deleted (sessions end too); False if there was no such live user."""
    result = await conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.deleted_at.is_(None))
        .values(deleted_at=dt.datetime.now(dt.UTC), auth_version=users.c.auth_version + 1)
    )
    return bool(result.rowcount)


async def set_aff_code_if_empty(conn: AsyncConnection, user_id: int, code: str) -> bool:
    result = await conn.execute(
        update(users)
        .where(users.c.id == user_id, or_(users.c.aff_code.is_(None), users.c.aff_code == ""))
        .values(aff_code=code)
    )
    return bool(result.rowcount)


async def aff_code_taken(conn: AsyncConnection, code: str) -> bool:
    query = select(users.c.id).where(users.c.aff_code == code).limit(1)
    return (await conn.execute(query)).first() is not None


async def user_id_by_aff_code(conn: AsyncConnection, code: str) -> int:
    """The live inviter with this invitation code, or 0."""
    if not code:
        return 0
    query = select(users.c.id).where(users.c.aff_code == code, users.c.deleted_at.is_(None))
    found = (await conn.execute(query.limit(1))).scalar_one_or_none()
    return int(found) if found is not None else 0


async def reward_inviter(conn: AsyncConnection, inviter_id: int, quota: int) -> None:
    """Count an invitation and credit the inviter's invitation balance (not its quota)."""
    await conn.execute(
        update(users)
        .where(users.c.id == inviter_id)
        .values(
            aff_count=users.c.aff_count + 1,
            aff_quota=users.c.aff_quota + quota,
            aff_history=users.c.aff_history + quota,
        )
    )


def _order(sort_by: str, sort_order: str) -> list[Any]:
    """new-api NewUserSortOptions: an unknown column sorts by id desc; ties break by id desc."""
    column = SORT_COLUMNS.get(sort_by.strip().lower())
    if column is None:
        return [users.c.id.desc()]
    first = column.asc() if sort_order.strip().lower() == "asc" else column.desc()
    return [first] if column is users.c.id else [first, users.c.id.desc()]


async def _page(
    conn: AsyncConnection, where: Any, offset: int, limit: int, order: list[Any]
) -> tuple[list[RowMapping], int]:
    return await counted_page(conn, users, [where], order, offset, limit)


async def list_users(
    conn: AsyncConnection, *, offset: int, limit: int, sort_by: str = "", sort_order: str = ""
) -> tuple[list[RowMapping], int]:
    """One page of all users, deleted ones included (as new-api's listing)."""
    return await _page(conn, true(), offset, limit, _order(sort_by, sort_order))


async def search_users(
    conn: AsyncConnection,
    *,
    keyword: str,
    group: str = "",
    role: int | None = None,
    status: int | None = None,
    offset: int,
    limit: int,
    sort_by: str = "",
    sort_order: str = "",
) -> tuple[list[RowMapping], int]:
    """new-api SearchUsers: keyword in username, e-mail or display name (or the id); status
    -1 means deleted users, any other status live users with it."""
    match = or_(
        users.c.username.contains(keyword, autoescape=True),
        users.c.email.contains(keyword, autoescape=True),
        users.c.display_name.contains(keyword, autoescape=True),
    )
    if keyword.isdigit():
        match = or_(users.c.id == int(keyword), match)
    where = and_(match)
    if group:
        where = and_(where, users.c.group == group)
    if role is not None:
        where = and_(where, users.c.role == role)
    if status is not None:
        if status == -1:
            where = and_(where, users.c.deleted_at.is_not(None))
        else:
            where = and_(where, users.c.deleted_at.is_(None), users.c.status == status)
    return await _page(conn, where, offset, limit, _order(sort_by, sort_order))


async def group_models(conn: AsyncConnection, groups: list[str]) -> list[str]:
    """The models enabled abilities offer in these groups, in the groups' order, no repeats."""
    if not groups:
        return []
    rows = await conn.execute(
        select(abilities.c.group, abilities.c.model)
        .where(abilities.c.group.in_(groups), abilities.c.enabled.is_(True))
        .distinct()
        .order_by(abilities.c.model)
    )
    by_group: dict[str, list[str]] = {}
    for group, model in rows:
        by_group.setdefault(group, []).append(model)
    seen: dict[str, None] = {}
    for group in groups:
        for model in by_group.get(group, []):
            seen.setdefault(model, None)
    return list(seen)
