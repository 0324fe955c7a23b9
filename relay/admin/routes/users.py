"""Managing users (admins): list, search, get, create, update, manage, delete
(new-api controller/user.go). An admin manages only users with a lower role than its own;
root manages anyone, but root itself can't be disabled, demoted or deleted.

Balances change only through the quota service (Redis first, SQL through the ledger), so an
admin's add / subtract / override stays exact while the user's requests are being billed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from relay import events
from relay.admin import audit
from relay.admin.accounts import (
    DISPLAY_NAME_SCHEMA,
    MSG_CANNOT_CREATE_HIGHER,
    MSG_CANNOT_DELETE_ROOT,
    MSG_INVALID_PARAMS,
    MSG_NO_PERMISSION_HIGHER_LEVEL,
    MSG_NO_PERMISSION_SAME_LEVEL,
    MSG_USER_EXISTS,
    MSG_USER_NOT_EXISTS,
    PASSWORD_SCHEMA,
    ROLES,
    USER_BRIEF_PROPERTIES,
    USERNAME_SCHEMA,
    can_manage,
    check_display_name,
    check_group,
    check_password,
    check_remark,
    check_username,
    int_field,
    manage_change,
    new_aff_code,
    option_int,
    quota_delta,
    text_field,
    user_json,
)
from relay.admin.api import (
    PAGE_PARAMS,
    Access,
    AdminRequest,
    Api,
    ApiError,
    Limit,
    Param,
    page_schema,
)
from relay.quota import keys
from relay.store.users import (
    ROLE_COMMON,
    ROLE_ROOT,
    STATUS_DISABLED,
    aff_code_taken,
    get_user,
    hash_password,
    insert_user,
    list_users,
    search_users,
    soft_delete_user,
    update_user,
    username_taken,
)

log = logging.getLogger("relay.admin.users")

api = Api("users")

USER_DATA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **USER_BRIEF_PROPERTIES,
        "quota": {"type": "integer"},
        "used_quota": {"type": "integer"},
        "request_count": {"type": "integer"},
        "remark": {"type": "string"},
        "DeletedAt": {"type": "string", "nullable": True},
    },
}
PAGE_DATA = page_schema(USER_DATA)
PAGING = (
    *PAGE_PARAMS,
    Param("sort_by", description="id, username, quota, group, created_at or last_login_at"),
    Param("sort_order", description="asc or desc"),
)


async def _live(req: AdminRequest, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(quota, used) of those users whose balance Redis holds, in one round trip. For display
    only: if Redis can't answer, the listing shows SQL's values (< 1 s behind)."""
    if not ids:
        return {}
    try:
        pipe = req.ctx.redis.pipeline(transaction=False)
        for uid in ids:
            pipe.hmget(keys.user_key(uid), "q", "uq")
        rows = await pipe.execute()
    except Exception:
        log.warning("live balances unavailable; showing SQL's", exc_info=True)
        return {}
    return {
        uid: (int(q), int(uq))
        for uid, (q, uq) in zip(ids, rows, strict=True)
        if q is not None and uq is not None
    }


async def _items(req: AdminRequest, rows: Sequence[Any]) -> list[dict[str, Any]]:
    live = await _live(req, [int(r["id"]) for r in rows])
    return [user_json(r, live.get(int(r["id"]))) for r in rows]


async def _target(req: AdminRequest, user_id: int, refusal: str) -> Any:
    """The live user `user_id`, if the caller may manage it; else ApiError."""
    row = await req.load(get_user, user_id, missing=MSG_USER_NOT_EXISTS)
    if not can_manage(req.me.role, int(row["role"])):
        raise ApiError(refusal)
    return row


def _ledger_row(row: Any) -> dict[str, int]:
    return {k: int(row[k]) for k in ("status", "quota", "used_quota", "request_count")}


@api.get("/api/user/", access=Access.ADMIN, summary="List users", query=PAGING, data=PAGE_DATA)
async def all_users(req: AdminRequest) -> dict[str, Any]:
    page = req.page()
    async with req.ctx.engine.connect() as conn:
        rows, total = await list_users(
            conn,
            offset=page.offset,
            limit=page.size,
            sort_by=req.query("sort_by"),
            sort_order=req.query("sort_order"),
        )
    return page.result(await _items(req, rows), total)


def _optional_int(req: AdminRequest, name: str) -> int | None:
    return req.query_int(name) if req.query(name).strip() else None


@api.get(
    "/api/user/search",
    access=Access.ADMIN,
    limit=Limit.SEARCH,
    summary="Search users by username, e-mail, display name or id",
    query=(
        Param("keyword"),
        Param("group"),
        Param("role", "integer"),
        Param("status", "integer", "-1 for deleted users"),
        *PAGING,
    ),
    data=PAGE_DATA,
)
async def search(req: AdminRequest) -> dict[str, Any]:
    page = req.page()
    async with req.ctx.engine.connect() as conn:
        rows, total = await search_users(
            conn,
            keyword=req.query("keyword").strip(),
            group=req.query("group").strip(),
            role=_optional_int(req, "role"),
            status=_optional_int(req, "status"),
            offset=page.offset,
            limit=page.size,
            sort_by=req.query("sort_by"),
            sort_order=req.query("sort_order"),
        )
    return page.result(await _items(req, rows), total)


@api.get("/api/user/{id}", access=Access.ADMIN, summary="One user", data=USER_DATA)
async def one_user(req: AdminRequest) -> dict[str, Any]:
    row = await _target(req, req.path_int("id"), MSG_NO_PERMISSION_SAME_LEVEL)
    return (await _items(req, [row]))[0]


@api.post(
    "/api/user/",
    access=Access.ADMIN,
    summary="Create a user (its role must be below the caller's)",
    body={
        "type": "object",
        "required": ["username", "password"],
        "properties": {
            "username": USERNAME_SCHEMA,
            "password": PASSWORD_SCHEMA,
            "display_name": DISPLAY_NAME_SCHEMA,
            "role": {"type": "integer", "enum": list(ROLES)},
        },
    },
)
async def create_user(req: AdminRequest) -> None:
    body = await req.json()
    username = check_username(text_field(body, "username"))
    password = check_password(text_field(body, "password"))
    display_name = check_display_name(text_field(body, "display_name")) or username
    role = int_field(body, "role", ROLE_COMMON) or ROLE_COMMON
    if role not in ROLES:
        raise ApiError(f"{MSG_INVALID_PARAMS}: role must be 1, 10 or 100")
    if role >= req.me.role:
        raise ApiError(MSG_CANNOT_CREATE_HIGHER)
    _, rows = await req.ctx.options()
    hashed = await asyncio.to_thread(hash_password, password)
    try:
        async with req.ctx.engine.begin() as conn:
            if await username_taken(conn, username):
                raise ApiError(MSG_USER_EXISTS)
            code = new_aff_code()
            uid = await insert_user(
                conn,
                username=username,
                password_hash=hashed,
                role=role,
                quota=option_int(rows, "QuotaForNewUser"),
                display_name=display_name,
                aff_code=None if await aff_code_taken(conn, code) else code,
            )
            await audit.record(
                conn, req.me, "user.create", f"user #{uid}",
                after={"username": username, "display_name": display_name, "role": role},
                ip=req.ip,
            )  # fmt: skip
    except IntegrityError:
        raise ApiError(MSG_USER_EXISTS) from None
    return None


@api.put(
    "/api/user/",
    access=Access.ADMIN,
    summary="Update a user's name, display name, group, remark or password (not its role)",
    body={
        "type": "object",
        "required": ["id", "username"],
        "properties": {
            "id": {"type": "integer"},
            "username": USERNAME_SCHEMA,
            "display_name": DISPLAY_NAME_SCHEMA,
            "group": {"type": "string"},
            "remark": {"type": "string", "maxLength": 255},
            "password": {"type": "string"},
        },
    },
)
async def update(req: AdminRequest) -> None:
    body = await req.json()
    user_id = int_field(body, "id", 0)
    if user_id <= 0:
        raise ApiError(f"{MSG_INVALID_PARAMS}: id is required")
    username = check_username(text_field(body, "username"))
    row = await _target(req, user_id, MSG_NO_PERMISSION_HIGHER_LEVEL)
    role = int_field(body, "role", 0)
    if role and role != row["role"]:
        raise ApiError(f"{MSG_INVALID_PARAMS}: the role changes through /api/user/manage")
    values: dict[str, Any] = {"username": username}
    if "display_name" in body:
        values["display_name"] = check_display_name(text_field(body, "display_name")) or username
    if "group" in body:
        values["group"] = check_group(text_field(body, "group"))
    if "remark" in body:
        values["remark"] = check_remark(text_field(body, "remark"))
    password = text_field(body, "password")
    if password:
        check_password(password)
        values["password"] = await asyncio.to_thread(hash_password, password)
    changed = {k: v for k, v in values.items() if k == "password" or row[k] != v}
    # A new password or group ends the user's sessions (new-api bumps auth_version too).
    bump = "password" in changed or "group" in changed
    try:
        async with req.ctx.engine.begin() as conn:
            if "username" in changed and await username_taken(conn, username, user_id):
                raise ApiError(MSG_USER_EXISTS)
            await update_user(conn, user_id, changed, bump_auth=bump)
            shown = {k: v for k, v in changed.items() if k != "password"}
            await audit.record(
                conn, req.me, "user.update", f"user #{user_id}",
                before={k: row[k] for k in shown},
                after={**shown, "password_changed": "password" in changed},
                ip=req.ip,
            )  # fmt: skip
    except IntegrityError:
        raise ApiError(MSG_USER_EXISTS) from None
    await req.ctx.changed(events.user_event(user_id))  # workers cache name and group
    return None


@api.post(
    "/api/user/manage",
    access=Access.ADMIN,
    summary="Disable, enable, delete, promote, demote a user, or change its quota",
    body={
        "type": "object",
        "required": ["id", "action"],
        "properties": {
            "id": {"type": "integer"},
            "action": {
                "type": "string",
                "enum": ["disable", "enable", "delete", "promote", "demote", "add_quota"],
            },
            "value": {"type": "integer"},
            "mode": {"type": "string", "enum": ["add", "subtract", "override"]},
        },
    },
    data={
        "type": "object",
        "nullable": True,
        "properties": {"role": {"type": "integer"}, "status": {"type": "integer"}},
    },
)
async def manage(req: AdminRequest) -> dict[str, int] | None:
    body = await req.json()
    user_id = int_field(body, "id", 0)
    action = text_field(body, "action")
    if user_id <= 0 or not action:
        raise ApiError(f"{MSG_INVALID_PARAMS}: id and action are required")
    row = await _target(req, user_id, MSG_NO_PERMISSION_HIGHER_LEVEL)
    if action == "delete":
        await _delete(req, row)
        return None
    if action == "add_quota":
        await _adjust(req, row, text_field(body, "mode"), int_field(body, "value", 0))
        return None
    change = manage_change(action, req.me.role, int(row["role"]), int(row["status"]))
    async with req.ctx.engine.begin() as conn:
        await update_user(
            conn, user_id, {"role": change.role, "status": change.status}, bump_auth=True
        )
        await audit.record(
            conn, req.me, f"user.{action}", f"user #{user_id}",
            before={"role": row["role"], "status": row["status"]},
            after={"role": change.role, "status": change.status},
            ip=req.ip,
        )  # fmt: skip
    if change.status != row["status"]:
        await req.ctx.quota.patch_user(user_id, st=change.status)
    await req.ctx.changed(events.user_event(user_id))
    return {"role": change.role, "status": change.status}


async def _adjust(req: AdminRequest, row: Any, mode: str, value: int) -> None:
    amount, override = quota_delta(mode, value)
    user_id = int(row["id"])
    # One atomic step on the live balance (loaded from `row` if Redis lacks it); the ledger
    # carries it to SQL. Concurrent relay settlements interleave with it exactly.
    before, after = await req.ctx.quota.adjust_user(
        user_id, amount, override=override, sql=_ledger_row(row)
    )
    async with req.ctx.engine.begin() as conn:
        await audit.record(
            conn, req.me, f"user.quota_{mode}", f"user #{user_id}",
            before={"quota": before}, after={"quota": after, "value": value}, ip=req.ip,
        )  # fmt: skip


async def _delete(req: AdminRequest, row: Any) -> None:
    user_id = int(row["id"])
    if int(row["role"]) == ROLE_ROOT:
        raise ApiError(MSG_CANNOT_DELETE_ROOT)
    async with req.ctx.engine.begin() as conn:
        if not await soft_delete_user(conn, user_id):
            raise ApiError(MSG_USER_NOT_EXISTS)
        await audit.record(
            conn, req.me, "user.delete", f"user #{user_id}",
            before={"username": row["username"], "role": row["role"], "status": row["status"]},
            ip=req.ip,
        )  # fmt: skip
    # Its tokens stop at once: Redis refuses the user, the workers forget cached principals.
    await req.ctx.quota.patch_user(user_id, st=STATUS_DISABLED)
    await req.ctx.changed(events.user_event(user_id))


@api.delete("/api/user/{id}", access=Access.ADMIN, summary="Delete a user (soft delete)")
async def delete(req: AdminRequest) -> None:
    row = await req.load(get_user, req.path_int("id"), missing=MSG_USER_NOT_EXISTS)
    # new-api: only a strictly higher role deletes (so root can't delete root either)
    if req.me.role <= int(row["role"]):
        raise ApiError(MSG_NO_PERMISSION_HIGHER_LEVEL)
    await _delete(req, row)
    return None
