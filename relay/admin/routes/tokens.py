"""API keys (`/api/token/*`): every route is scoped to the caller's own tokens, whatever its role.

SQL stores a key as its HMAC digest (`key`, what the relay looks up) and a sealed copy
(`key_sealed`, opened here to mask or reveal it). Balances live in Redis: listings show the
live remain/used quota, a quota change goes through the quota service (atomic on the live
balance, then the ledger carries it to SQL), and status/unlimited/expiry changes are mirrored
into the live balance and announced so every worker drops its cached copy of the token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from relay import events
from relay.admin import audit
from relay.admin.api import PAGE_PARAMS, Access, AdminRequest, Api, ApiError, Limit, Param, found
from relay.admin.routes.token_fields import (
    CREATE_SCHEMA,
    IDS_SCHEMA,
    MSG_EXHAUSTED_CANNOT_ENABLE,
    MSG_EXPIRED_CANNOT_ENABLE,
    MSG_INVALID_PARAMS,
    MSG_NOT_FOUND,
    PAGE_SCHEMA,
    STATUS_DISABLED,
    STATUS_ENABLED,
    TOKEN_SCHEMA,
    UPDATE_SCHEMA,
    Row,
    TokenRules,
    like_pattern,
    open_key,
    parse_ids,
    token_fields,
    token_item,
)
from relay.option_parsers import parse_int
from relay.store import tokens as store

api = Api("tokens")

MAX_USER_TOKENS_OPTION = "token_setting.max_user_tokens"
MAX_AUTO_GROUPS_OPTION = "MaxTokenAutoGroups"
REVEAL_BATCH_MAX = 100
DELETE_BATCH_MAX = 1000
_AUDITED = (
    "name", "status", "expired_time", "remain_quota", "unlimited_quota", "model_limits_enabled",
    "model_limits", "allow_ips", "group", "cross_group_retry", "auto_groups", "rate_limit_rpm",
    "rate_limit_rpd", "rate_limit_tpm",
)  # fmt: skip


async def _items(req: AdminRequest, rows: list[RowMapping]) -> list[Any]:
    live = await req.ctx.quota.live_tokens(req.me.id, [row["id"] for row in rows])
    return [token_item(row, req.ctx.keyring, live.get(row["id"])) for row in rows]


async def _rules(req: AdminRequest) -> tuple[TokenRules, dict[str, str]]:
    options, rows = await req.ctx.options()
    rules = TokenRules(
        now=int(time.time()),
        quota_max=int(1_000_000_000 * options["QuotaPerUnit"]),
        usable_groups=frozenset(options.usable_groups(req.me.group or "default")),
        ratio_groups=frozenset(options["GroupRatio"]),
        max_auto_groups=_int_option(rows, MAX_AUTO_GROUPS_OPTION, 5, 1),
    )
    return rules, rows


def _int_option(rows: Mapping[str, str], key: str, default: int, lo: int = 0) -> int:
    try:
        return parse_int(rows[key], lo) if rows.get(key) else default
    except ValueError:
        return default


def _audited(row: Row, **override: Any) -> dict[str, Any]:
    values = {name: row[name] for name in _AUDITED}
    values.update(override)
    return values


def _target(row: Row) -> str:
    return f"token #{row['id']} ({row['name']})"


async def _mine(conn: AsyncConnection, req: AdminRequest, token_id: int) -> RowMapping:
    return found(await store.user_token(conn, req.me.id, token_id), MSG_NOT_FOUND)


def _balance_sql(row: Row, **new: Any) -> dict[str, int]:
    """The SQL copy of a token's balance for the quota service, with the new flags."""
    state = {**row, **new}
    return {
        "status": int(state["status"]),
        "remain_quota": int(row["remain_quota"]),
        "used_quota": int(row["used_quota"]),
        "unlimited_quota": int(bool(state["unlimited_quota"])),
        "expired_time": int(state["expired_time"]),
    }


async def _sync_balance(
    req: AdminRequest, row: Row, remain: int | None, **new: Any
) -> tuple[int, int]:
    """Inside the SQL transaction: make sure Redis holds this token's balance (loaded with the
    new flags, so a concurrent load of the old SQL row cannot win), and override its remain
    quota when `remain` is given. Returns the live (before, after) remain."""
    amount = 0 if remain is None else remain
    return await req.ctx.quota.adjust_token(
        row["user_id"], row["id"], amount, override=remain is not None, sql=_balance_sql(row, **new)
    )


async def _announce(req: AdminRequest, row: Row, **new: Any) -> None:
    """After the commit: mirror status/unlimited/expiry into Redis and drop every cached copy."""
    state = {**row, **new}
    await req.ctx.quota.patch_token(
        row["user_id"], row["id"],
        st=int(state["status"]), ul=int(bool(state["unlimited_quota"])),
        ex=int(state["expired_time"]),
    )  # fmt: skip
    await req.ctx.changed(events.token_event(row["key"]))


@api.get(
    "/api/token/",
    access=Access.USER,
    summary="List your tokens",
    query=PAGE_PARAMS,
    data=PAGE_SCHEMA,
)
async def list_tokens(req: AdminRequest) -> Any:
    page = req.page()
    async with req.ctx.engine.connect() as conn:
        rows = await store.list_user_tokens(conn, req.me.id, offset=page.offset, limit=page.size)
        total = await store.count_user_tokens(conn, req.me.id)
    return page.result(await _items(req, rows), total)


@api.get(
    "/api/token/search",
    access=Access.USER,
    summary="Search your tokens by name (LIKE pattern) or by a whole key",
    limit=Limit.SEARCH,
    query=(Param("keyword"), Param("token", description="a whole key, sk- optional"), *PAGE_PARAMS),
    data=PAGE_SCHEMA,
)
async def search_tokens(req: AdminRequest) -> Any:
    page = req.page()
    keyword, key = req.query("keyword"), req.query("token").strip().removeprefix("sk-")
    if "%" in key:
        raise ApiError("Search by key needs the whole key (keys are stored hashed)")
    if "%" in keyword:
        _, options = await req.ctx.options()
        async with req.ctx.engine.connect() as conn:
            count = await store.count_user_tokens(conn, req.me.id)
        if count > _int_option(options, MAX_USER_TOKENS_OPTION, 1000, 1):
            raise ApiError("Too many tokens for a fuzzy search; search by exact name instead")
    name_like = like_pattern(keyword) if keyword else ""
    digest = req.ctx.keyring.lookup_digest(key) if key else ""
    async with req.ctx.engine.connect() as conn:
        rows, total = await store.search_user_tokens(
            conn, req.me.id, name_like=name_like, digest=digest,
            offset=page.offset, limit=page.size,
        )  # fmt: skip
    return page.result(await _items(req, rows), total)


@api.get("/api/token/{id}", access=Access.USER, summary="One of your tokens", data=TOKEN_SCHEMA)
async def get_token(req: AdminRequest) -> Any:
    token_id = req.path_int("id")
    async with req.ctx.engine.connect() as conn:
        row = await _mine(conn, req, token_id)
    return (await _items(req, [row]))[0]


@api.post(
    "/api/token/{id}/key",
    access=Access.USER,
    summary="Reveal one of your token keys (48 characters, without sk-)",
    limit=Limit.CRITICAL,
    data={"type": "object", "properties": {"key": {"type": "string"}}},
)
async def reveal_key(req: AdminRequest) -> Any:
    token_id = req.path_int("id")
    async with req.ctx.engine.begin() as conn:
        row = await _mine(conn, req, token_id)
        key = open_key(req.ctx.keyring, row)
        if not key:
            raise ApiError("This token's key cannot be decrypted (was CRYPTO_SECRET changed?)")
        await audit.record(conn, req.me, "revealed the key of", _target(row), ip=req.ip)
    return {"key": key}


@api.post(
    "/api/token/batch/keys",
    access=Access.USER,
    summary="Reveal up to 100 of your token keys",
    limit=Limit.CRITICAL,
    body=IDS_SCHEMA,
    data={"type": "object", "properties": {"keys": {"type": "object"}}},
)
async def reveal_keys(req: AdminRequest) -> Any:
    ids = parse_ids(await req.json(), REVEAL_BATCH_MAX)
    async with req.ctx.engine.begin() as conn:
        rows = await store.user_tokens_by_ids(conn, req.me.id, ids)
        keys = {str(row["id"]): open_key(req.ctx.keyring, row) for row in rows}
        if rows:
            shown = ", ".join(f"#{row['id']}" for row in rows)
            await audit.record(conn, req.me, "revealed the keys of", f"tokens {shown}", ip=req.ip)
    return {"keys": {token_id: key for token_id, key in keys.items() if key}}


@api.post("/api/token/", access=Access.USER, summary="Create a token", body=CREATE_SCHEMA)
async def create_token(req: AdminRequest) -> None:
    body = await req.json()
    rules, options = await _rules(req)
    values = token_fields(body, rules)
    limit = _int_option(options, MAX_USER_TOKENS_OPTION, 1000, 1)
    async with req.ctx.engine.begin() as conn:
        if await store.count_user_tokens(conn, req.me.id) >= limit:
            raise ApiError(f"Reached the maximum number of tokens ({limit})")
        values.setdefault("name", "")  # new-api binds a missing name as ""
        limits = values.pop("model_limits", "")
        token_id, _key = await store.create_token(
            conn,
            req.ctx.keyring,
            req.me.id,
            model_limits=[m for m in limits.split(",") if m],
            model_limits_enabled=values.pop("model_limits_enabled", False),
            **values,
        )
        row = await _mine(conn, req, token_id)
        await audit.record(conn, req.me, "created", _target(row), after=_audited(row), ip=req.ip)


@api.put(
    "/api/token/",
    access=Access.USER,
    summary="Update one of your tokens (?status_only=1: only its status)",
    query=(Param("status_only", description="any value: change only the status"),),
    body=UPDATE_SCHEMA,
    data=TOKEN_SCHEMA,
)
async def update_token(req: AdminRequest) -> Any:
    body = await req.json()
    token_id = body.get("id")
    if not isinstance(token_id, int) or isinstance(token_id, bool) or token_id <= 0:
        raise ApiError(MSG_INVALID_PARAMS)
    if req.query("status_only"):
        row = await _update_status(req, token_id, body.get("status"))
    else:
        row = await _update_fields(req, token_id, body)
    return (await _items(req, [row]))[0]


async def _refuse_enabling(req: AdminRequest, row: Row) -> None:
    """new-api: a token that expired or ran out cannot be switched back on as it is."""
    if row["status"] == STATUS_ENABLED:
        return
    expired = row["expired_time"]
    if expired != -1 and expired <= int(time.time()):
        raise ApiError(MSG_EXPIRED_CANNOT_ENABLE)
    live = await req.ctx.quota.live_token(row["user_id"], row["id"])
    remain = live[0] if live is not None else row["remain_quota"]
    if not row["unlimited_quota"] and remain <= 0:
        raise ApiError(MSG_EXHAUSTED_CANNOT_ENABLE)


async def _update_status(req: AdminRequest, token_id: int, status: Any) -> RowMapping:
    if isinstance(status, bool) or status not in (STATUS_ENABLED, STATUS_DISABLED):
        raise ApiError("status must be 1 (enabled) or 2 (disabled)")
    status = int(status)
    async with req.ctx.engine.begin() as conn:
        row = await _mine(conn, req, token_id)
        if status == STATUS_ENABLED:
            await _refuse_enabling(req, row)
        await store.update_token(conn, token_id, {"status": status})
        await _sync_balance(req, row, None, status=status)
        await audit.record(
            conn, req.me, "changed the status of", _target(row),
            before={"status": row["status"]}, after={"status": status}, ip=req.ip,
        )  # fmt: skip
    await _announce(req, row, status=status)
    async with req.ctx.engine.connect() as conn:
        return await _mine(conn, req, token_id)


async def _update_fields(req: AdminRequest, token_id: int, body: Mapping[str, Any]) -> RowMapping:
    rules, _ = await _rules(req)
    async with req.ctx.engine.begin() as conn:
        row = await _mine(conn, req, token_id)
        values = token_fields(body, rules, row)
        remain = values.pop("remain_quota", None)
        await store.update_token(conn, token_id, values)
        before, after = await _sync_balance(req, row, remain, **values)
        await audit.record(
            conn, req.me, "updated", _target(row),
            before=_audited(row, remain_quota=before),
            after=_audited({**row, **values}, remain_quota=after), ip=req.ip,
        )  # fmt: skip
    await _announce(req, row, **values)
    async with req.ctx.engine.connect() as conn:
        return await _mine(conn, req, token_id)


async def _delete(req: AdminRequest, ids: list[int]) -> int:
    async with req.ctx.engine.begin() as conn:
        rows = await store.soft_delete_tokens(conn, req.me.id, ids)
        for row in rows:
            await _sync_balance(req, row, None, status=STATUS_DISABLED)
            await audit.record(
                conn, req.me, "deleted", _target(row), before=_audited(row), ip=req.ip
            )
    for row in rows:
        await _announce(req, row, status=STATUS_DISABLED)
    return len(rows)


@api.delete("/api/token/{id}", access=Access.USER, summary="Delete one of your tokens")
async def delete_token(req: AdminRequest) -> None:
    if not await _delete(req, [req.path_int("id")]):
        raise ApiError(MSG_NOT_FOUND)


@api.post(
    "/api/token/batch",
    access=Access.USER,
    summary="Delete several of your tokens; data is how many were deleted",
    body=IDS_SCHEMA,
    data={"type": "integer"},
)
async def delete_tokens(req: AdminRequest) -> int:
    return await _delete(req, parse_ids(await req.json(), DELETE_BATCH_MAX))
