"""One's own account: /api/user/self (read, change, delete), the personal access token, the
invitation code, and the groups and models the caller may use (new-api controller/user.go,
controller/group.go)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web
from sqlalchemy.exc import IntegrityError

from relay import events
from relay.admin import audit
from relay.admin.accounts import (
    DISPLAY_NAME_SCHEMA,
    MSG_CANNOT_DELETE_ROOT,
    MSG_ORIGINAL_PASSWORD,
    MSG_PASSWORD_UNSET,
    MSG_USER_NOT_EXISTS,
    PASSWORD_SCHEMA,
    USER_BRIEF_PROPERTIES,
    check_display_name,
    check_password,
    new_access_token,
    new_aff_code,
    self_json,
    text_field,
)
from relay.admin.api import Access, AdminRequest, Api, ApiError, Limit, Param, envelope
from relay.admin.routes.account import AFF_ATTEMPTS, signed_out, start_session
from relay.admin.routes.setting_fields import (
    MSG_SAVED,
    SETTING_BODY,
    merged_setting,
    notify_setting,
)
from relay.store.users import (
    ROLE_ADMIN,
    ROLE_ROOT,
    aff_code_taken,
    get_user,
    group_models,
    hash_password,
    set_aff_code_if_empty,
    soft_delete_user,
    update_user,
    verify_password,
)

api = Api("account")

# left out of the audit trail: push URLs carry device keys, and secrets are secrets
_PRIVATE_SETTINGS = ("webhook_url", "webhook_secret", "bark_url", "gotify_url", "gotify_token")

SELF_DATA = {
    "type": "object",
    "properties": {
        **USER_BRIEF_PROPERTIES,
        "quota": {"type": "integer"},
        "used_quota": {"type": "integer"},
        "request_count": {"type": "integer"},
        "aff_code": {"type": "string"},
        "setting": {"type": "string", "description": "the user's settings, as a JSON object"},
        "sidebar_modules": {"type": "string"},
        "permissions": {"type": "object"},
    },
}
GROUPS_DATA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {"ratio": {}, "desc": {"type": "string"}},
    },
}


async def _me(req: AdminRequest) -> Any:
    return await req.load(get_user, req.me.id, missing=MSG_USER_NOT_EXISTS)


# --- one's own account --------------------------------------------------------------------


@api.get("/api/user/self", access=Access.USER, summary="The caller's account", data=SELF_DATA)
async def get_self(req: AdminRequest) -> dict[str, Any]:
    row = await _me(req)
    live = await req.ctx.quota.live_user(row["id"])
    return self_json(row, live, _setting(row).get("sidebar_modules", ""))


def _setting(row: Any) -> dict[str, Any]:
    try:
        value = orjson.loads(row["setting"]) if row["setting"] else {}
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@api.put(
    "/api/user/self",
    access=Access.USER,
    limit=Limit.CRITICAL,
    summary="Change one's display name or password (the old password is required)",
    body={
        "type": "object",
        "properties": {
            "display_name": DISPLAY_NAME_SCHEMA,
            "password": PASSWORD_SCHEMA,
            "original_password": {"type": "string"},
            "sidebar_modules": {"type": "string"},
            "language": {"type": "string"},
        },
    },
)
async def update_self(req: AdminRequest) -> Any:
    body = await req.json()
    row = await _me(req)
    if "sidebar_modules" in body or "language" in body:
        setting = _setting(row)
        for name in ("sidebar_modules", "language"):
            if name in body:
                setting[name] = text_field(body, name)
        async with req.ctx.engine.begin() as conn:
            await update_user(conn, row["id"], {"setting": orjson.dumps(setting).decode()})
        return envelope(None, "Update successful")
    values: dict[str, Any] = {}
    if "display_name" in body:
        values["display_name"] = check_display_name(text_field(body, "display_name"))
    password = text_field(body, "password")
    if password:
        if not row["password"]:
            raise ApiError(MSG_PASSWORD_UNSET)
        original = text_field(body, "original_password")
        if not await asyncio.to_thread(verify_password, original, row["password"]):
            raise ApiError(MSG_ORIGINAL_PASSWORD)
        check_password(password)
        values["password"] = await asyncio.to_thread(hash_password, password)
    if not values:
        return envelope(None)
    async with req.ctx.engine.begin() as conn:
        await update_user(conn, row["id"], values, bump_auth=bool(password))
        changed = {k: v for k, v in values.items() if k != "password"}
        await audit.record(
            conn,
            req.me,
            "user.self_update",
            f"user #{row['id']}",
            before={k: row[k] for k in changed},
            after={**changed, "password_changed": bool(password)},
            ip=req.ip,
        )
        fresh = await get_user(conn, row["id"])
    response = envelope(None)
    if password and req.me.via == "session" and fresh is not None:
        # Older cookies stopped working with the new auth version; this one carries on.
        start_session(req, response, fresh)
    return response


@api.put(
    "/api/user/setting",
    access=Access.USER,
    summary="Change one's quota-warning notification and billing/logging preferences",
    body=SETTING_BODY,
)
async def update_setting(req: AdminRequest) -> web.Response:
    body = await req.json()
    row = await _me(req)
    current = _setting(row)
    notify = notify_setting(body, current, admin=row["role"] >= ROLE_ADMIN)
    async with req.ctx.engine.begin() as conn:
        setting = orjson.dumps(merged_setting(current, notify)).decode()
        await update_user(conn, row["id"], {"setting": setting})
        await audit.record(
            conn, req.me, "user.setting", f"user #{row['id']}",
            after={k: v for k, v in notify.items() if k not in _PRIVATE_SETTINGS}, ip=req.ip,
        )  # fmt: skip
    # workers read accept_unset_model_ratio_model and record_ip_log from their cached principal
    await req.ctx.changed(events.user_event(row["id"]))
    return envelope(None, MSG_SAVED)


@api.delete("/api/user/self", access=Access.USER, summary="Delete one's own account")
async def delete_self(req: AdminRequest) -> web.Response:
    row = await _me(req)
    if row["role"] >= ROLE_ROOT:
        raise ApiError(MSG_CANNOT_DELETE_ROOT)
    async with req.ctx.engine.begin() as conn:
        await soft_delete_user(conn, row["id"])
        await audit.record(
            conn, req.me, "user.self_delete", f"user #{row['id']}",
            before={"username": row["username"], "status": row["status"]}, ip=req.ip,
        )  # fmt: skip
    await req.ctx.quota.patch_user(row["id"], st=2)
    await req.ctx.changed(events.user_event(row["id"]))
    return signed_out(req)


@api.get(
    "/api/user/token",
    access=Access.USER,
    limit=Limit.CRITICAL,
    summary="Issue a new personal access token (the previous one stops working)",
    data={"type": "string"},
)
async def rotate_access_token(req: AdminRequest) -> str:
    token = new_access_token()
    async with req.ctx.engine.begin() as conn:
        await update_user(conn, req.me.id, {"access_token": req.ctx.keyring.lookup_digest(token)})
        await audit.record(
            conn, req.me, "user.access_token", f"user #{req.me.id}",
            after={"access_token": "rotated"}, ip=req.ip,
        )  # fmt: skip
    return token


@api.get("/api/user/aff", access=Access.USER, summary="The caller's invitation code")
async def aff_code(req: AdminRequest) -> str:
    row = await _me(req)
    if row["aff_code"]:
        return str(row["aff_code"])
    for _ in range(AFF_ATTEMPTS):
        code = new_aff_code()
        try:
            async with req.ctx.engine.begin() as conn:
                if await aff_code_taken(conn, code):
                    continue
                if await set_aff_code_if_empty(conn, row["id"], code):
                    return code
                fresh = await get_user(conn, row["id"])  # set meanwhile by another call
                return str(fresh["aff_code"]) if fresh is not None else code
        except IntegrityError:
            continue
    raise ApiError("Generation failed")


# --- groups and models the caller may use --------------------------------------------------


async def _usable(req: AdminRequest) -> tuple[Any, dict[str, str]]:
    options, _ = await req.ctx.options()
    return options, dict(options.usable_groups(req.me.group))


async def user_groups(req: AdminRequest) -> dict[str, Any]:
    options, usable = await _usable(req)
    out: dict[str, Any] = {}
    for name in options.ratios.group_ratio:
        if name in usable:
            ratio = options.ratios.group_ratio_of(req.me.group, name)
            out[name] = {"ratio": ratio, "desc": usable[name]}
    # "auto" is offered when the user may use it and AutoGroups lists groups to pick from.
    if "auto" in usable and options["AutoGroups"]:
        out["auto"] = {"ratio": "自动", "desc": usable["auto"]}
    return out


for _path in ("/api/user/groups", "/api/user/self/groups"):
    api.get(
        _path,
        access=Access.USER,
        summary="Groups the caller may use, with their ratio and description",
        data=GROUPS_DATA,
    )(user_groups)


@api.get(
    "/api/user/models",
    access=Access.USER,
    summary="Models the caller's usable groups offer",
    query=(Param("group", description="one group, or auto; all usable groups if empty"),),
    data={"type": "array", "items": {"type": "string"}},
)
async def user_models(req: AdminRequest) -> list[str]:
    options, usable = await _usable(req)
    group = req.query("group")
    if not group:
        groups = sorted(usable)
    elif group == "auto":
        groups = [
            g for g in options["AutoGroups"]
            if "auto" in usable and g in usable and g in options.ratios.group_ratio
        ]  # fmt: skip
    else:
        groups = [group] if group in usable else []
    async with req.ctx.engine.connect() as conn:
        return await group_models(conn, groups)
