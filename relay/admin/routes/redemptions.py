"""Redemption codes (admins) and topping up with one (users): new-api controller/redemption.go
and controller/user.go TopUp.

A code is a secret: SQL keeps its HMAC digest (for lookup) and a sealed copy (so admins can list
what they issued). A top-up uses a code exactly once, however many requests race for it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import select

from relay.admin import audit
from relay.admin.accounts import (
    MSG_INVALID_PARAMS,
    MSG_REDEEM_FAILED,
    format_quota,
    input_invalid,
    int_field,
    new_redemption_code,
    text_field,
)
from relay.admin.api import (
    PAGE_PARAMS,
    Access,
    AdminRequest,
    Api,
    ApiError,
    Limit,
    Param,
    found,
    page_schema,
)
from relay.store.redemptions import (
    LOG_TYPE_TOPUP,
    STATUS_DISABLED,
    STATUS_ENABLED,
    STATUS_USED,
    claim,
    create_codes,
    delete_invalid,
    delete_log,
    get_redemption,
    list_redemptions,
    search_redemptions,
    soft_delete_redemption,
    unclaim,
    update_redemption,
    write_log,
)
from relay.store.schema import users

log = logging.getLogger("relay.admin.redemptions")

api = Api("redemptions")

NAME_MAX = 20
COUNT_MAX = 100
QUOTA_MAX = 2**53  # beyond this a console's JavaScript numbers lose precision
MSG_NAME_LENGTH = "Redemption code name length must be between 1-20"
MSG_COUNT_POSITIVE = "Redemption code count must be greater than 0"
MSG_COUNT_MAX = "Maximum 100 redemption codes can be generated at once"
MSG_EXPIRE_INVALID = "Expiration time cannot be earlier than current time"
MSG_NOT_FOUND = "Redemption code does not exist"
MSG_NOT_PROVIDED = "Redemption code not provided"
MSG_USED = "This redemption code has been used"

REDEMPTION_DATA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "user_id": {"type": "integer"},
        "key": {"type": "string"},
        "status": {"type": "integer", "enum": [1, 2, 3]},
        "name": {"type": "string"},
        "quota": {"type": "integer"},
        "created_time": {"type": "integer"},
        "redeemed_time": {"type": "integer"},
        "used_user_id": {"type": "integer"},
        "expired_time": {"type": "integer"},
    },
}
PAGE_DATA = page_schema(REDEMPTION_DATA)


def _json(req: AdminRequest, row: Any) -> dict[str, Any]:
    sealed = row["key_sealed"]
    try:
        key = req.ctx.keyring.open(sealed) if sealed else ""
    except ValueError:
        key = ""  # sealed under another CRYPTO_SECRET
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "key": key,
        "status": row["status"],
        "name": row["name"],
        "quota": row["quota"],
        "created_time": row["created_time"],
        "redeemed_time": row["redeemed_time"],
        "count": 0,
        "used_user_id": row["used_user_id"],
        "DeletedAt": None,
        "expired_time": row["expired_time"],
    }


def _name(body: dict[str, Any]) -> str:
    name = text_field(body, "name")
    if not 1 <= len(name) <= NAME_MAX:
        raise ApiError(MSG_NAME_LENGTH)
    return name


def _quota(body: dict[str, Any]) -> int:
    return int_field(body, "quota", lo=1, hi=QUOTA_MAX)


def _expiry(body: dict[str, Any], now: int) -> int:
    expired = int_field(body, "expired_time", 0, lo=0, hi=2**62)
    if expired and expired < now:
        raise ApiError(MSG_EXPIRE_INVALID)
    return expired


@api.get(
    "/api/redemption/",
    access=Access.ADMIN,
    summary="List redemption codes",
    query=PAGE_PARAMS,
    data=PAGE_DATA,
)
async def all_redemptions(req: AdminRequest) -> dict[str, Any]:
    page = req.page()
    async with req.ctx.engine.connect() as conn:
        rows, total = await list_redemptions(conn, offset=page.offset, limit=page.size)
    return page.result([_json(req, r) for r in rows], total)


@api.get(
    "/api/redemption/search",
    access=Access.ADMIN,
    limit=Limit.SEARCH,
    summary="Search redemption codes by name prefix or id, and status",
    query=(Param("keyword"), Param("status", description="1, 2, 3 or expired"), *PAGE_PARAMS),
    data=PAGE_DATA,
)
async def search(req: AdminRequest) -> dict[str, Any]:
    page = req.page()
    async with req.ctx.engine.connect() as conn:
        rows, total = await search_redemptions(
            conn,
            keyword=req.query("keyword").strip(),
            status=req.query("status").strip(),
            now=int(time.time()),
            offset=page.offset,
            limit=page.size,
        )
    return page.result([_json(req, r) for r in rows], total)


@api.get(
    "/api/redemption/{id}", access=Access.ADMIN, summary="One redemption code", data=REDEMPTION_DATA
)
async def one(req: AdminRequest) -> dict[str, Any]:
    return _json(req, await req.load(get_redemption, req.path_int("id"), missing=MSG_NOT_FOUND))


@api.post(
    "/api/redemption/",
    access=Access.ADMIN,
    summary="Create 1-100 redemption codes; returns them",
    body={
        "type": "object",
        "required": ["name", "quota", "count"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
            "quota": {"type": "integer", "minimum": 1},
            "count": {"type": "integer", "minimum": 1, "maximum": COUNT_MAX},
            "expired_time": {"type": "integer", "description": "unix seconds, 0 = never"},
        },
    },
    data={"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{32}$"}},
)
async def create(req: AdminRequest) -> list[str]:
    body = await req.json()
    now = int(time.time())
    name = _name(body)
    count = int_field(body, "count", 0)
    if count <= 0:
        raise ApiError(MSG_COUNT_POSITIVE)
    if count > COUNT_MAX:
        raise ApiError(MSG_COUNT_MAX)
    quota, expired = _quota(body), _expiry(body, now)
    codes = [new_redemption_code() for _ in range(count)]
    async with req.ctx.engine.begin() as conn:
        ids = await create_codes(
            conn, req.ctx.keyring, codes,
            user_id=req.me.id, name=name, quota=quota, expired_time=expired, now=now,
        )  # fmt: skip
        await audit.record(
            conn, req.me, "redemption.create", f"redemptions #{ids[0]}-#{ids[-1]}",
            after={"name": name, "count": count, "quota": quota, "expired_time": expired},
            ip=req.ip,
        )  # fmt: skip
    return codes


@api.put(
    "/api/redemption/",
    access=Access.ADMIN,
    summary="Update a code's name, quota and expiry, or with status_only=1 its status",
    query=(Param("status_only", description="non-empty: change only the status"),),
    body={
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
            "quota": {"type": "integer", "minimum": 1},
            "expired_time": {"type": "integer"},
            "status": {"type": "integer", "enum": [STATUS_ENABLED, STATUS_DISABLED]},
        },
    },
    data=REDEMPTION_DATA,
)
async def update(req: AdminRequest) -> dict[str, Any]:
    body = await req.json()
    redemption_id = int_field(body, "id", 0)
    if redemption_id <= 0:
        raise ApiError(f"{MSG_INVALID_PARAMS}: id is required")
    if req.query("status_only"):
        status = int_field(body, "status", 0)
        if status not in (STATUS_ENABLED, STATUS_DISABLED):
            raise input_invalid("status must be 1 (enabled) or 2 (disabled)")
        values: dict[str, Any] = {"status": status}
    else:
        now = int(time.time())
        values = {"name": _name(body), "quota": _quota(body), "expired_time": _expiry(body, now)}
    async with req.ctx.engine.begin() as conn:
        row = found(await get_redemption(conn, redemption_id), MSG_NOT_FOUND)
        if "status" in values and row["status"] == STATUS_USED:
            # re-enabling a used code would let it be redeemed twice
            raise ApiError(MSG_USED)
        await update_redemption(conn, redemption_id, values)
        await audit.record(
            conn, req.me, "redemption.update", f"redemption #{redemption_id}",
            before={k: row[k] for k in values}, after=values, ip=req.ip,
        )  # fmt: skip
        fresh = await get_redemption(conn, redemption_id)
    assert fresh is not None
    return _json(req, fresh)


@api.delete(
    "/api/redemption/invalid",
    access=Access.ADMIN,
    summary="Delete used, disabled and expired codes; returns how many",
    data={"type": "integer"},
)
async def remove_invalid(req: AdminRequest) -> int:
    async with req.ctx.engine.begin() as conn:
        count = await delete_invalid(conn, int(time.time()))
        await audit.record(
            conn, req.me, "redemption.delete_invalid", "redemptions",
            after={"deleted": count}, ip=req.ip,
        )  # fmt: skip
    return count


@api.delete("/api/redemption/{id}", access=Access.ADMIN, summary="Delete a redemption code")
async def remove(req: AdminRequest) -> None:
    redemption_id = req.path_int("id")
    async with req.ctx.engine.begin() as conn:
        row = await get_redemption(conn, redemption_id)
        if row is None or not await soft_delete_redemption(conn, redemption_id):
            raise ApiError(MSG_NOT_FOUND)
        await audit.record(
            conn, req.me, "redemption.delete", f"redemption #{redemption_id}",
            before={"name": row["name"], "status": row["status"], "quota": row["quota"]},
            ip=req.ip,
        )  # fmt: skip
    return None


# --- topping up -------------------------------------------------------------------------------


@api.post(
    "/api/user/topup",
    access=Access.USER,
    limit=Limit.CRITICAL,
    summary="Redeem a code: adds its quota to the caller; returns the quota added",
    body={"type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}},
    data={"type": "integer"},
)
async def topup(req: AdminRequest) -> int:
    body = await req.json()
    code = body.get("key")
    if not isinstance(code, str) or not code.strip():
        raise ApiError(MSG_NOT_PROVIDED)
    uid, now = req.me.id, int(time.time())
    options, _ = await req.ctx.options()
    digest = req.ctx.keyring.lookup_digest(code.strip())
    # 1. One SQL transaction: the compare-and-swap that uses the code (status 1 -> 3; a racing
    #    redemption of the same code updates no row and fails) and the top-up log.
    async with req.ctx.engine.begin() as conn:
        row = await claim(conn, digest, uid, now)
        if row is None:
            # Every failure reads the same, so the answer does not tell a guesser whether a
            # code exists, was used, disabled or expired (as new-api).
            raise ApiError(MSG_REDEEM_FAILED)
        quota = int(row["quota"])
        shown = format_quota(quota, options["QuotaPerUnit"], options["DisplayInCurrencyEnabled"])
        text = f"Recharged {shown} via redemption code, code ID {row['id']}"
        log_id = await write_log(conn, uid, req.me.username, LOG_TYPE_TOPUP, text, now)
        user = (
            (
                await conn.execute(
                    select(
                        users.c.status, users.c.quota, users.c.used_quota, users.c.request_count
                    ).where(users.c.id == uid)
                )
            )
            .mappings()
            .one()
        )
    # 2. After the commit, credit the quota through Redis (the ledger carries it to SQL).
    #    The order matters: crediting first and then losing the CAS (or failing to commit)
    #    would hand out quota for a code someone else used. If the credit fails, the code is
    #    given back (status 3 -> 1, guarded by who used it and when) and its log removed, so a
    #    code never ends up used with no quota; the user can simply retry. The one case this
    #    can't tell apart is Redis applying the credit but the reply getting lost: then the
    #    user keeps the quota and the code is usable again; the error below names the code so
    #    an operator can reconcile.
    try:
        await req.ctx.quota.adjust_user(uid, quota, override=False, sql=dict(user))
    except Exception as exc:
        log.error(
            "top-up of redemption #%s for user %s could not be credited (%r); giving the code back",
            row["id"],
            uid,
            exc,
        )
        async with req.ctx.engine.begin() as conn:
            await unclaim(conn, int(row["id"]), uid, now)
            await delete_log(conn, log_id)
        raise ApiError(MSG_REDEEM_FAILED) from None
    return quota
