"""Channels (`/api/channel/*`, admin): listing, search, get, create, update, delete, copy, fix.

Keys are sealed (AES-GCM) at rest and never returned. Every save rebuilds the channel's
abilities and tells the workers (relay.events.ROUTING), so routing follows within a second.
"""

from __future__ import annotations

import time
from typing import Any

from relay.admin import audit
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
from relay.admin.channel_form import (
    MSG_NOT_FOUND,
    audit_view,
    channel_fields,
    channel_view,
    create_status,
    id_list,
    key_lines,
    multi_key_info,
    multi_key_mode,
)
from relay.store import channels as store
from relay.store.channels import dump_json, parse_info, split_keys

api = Api("channels")

_TRUE = ("1", "t", "true")  # Go's strconv.ParseBool, as the console sends it
_CHANNEL = {
    "type": "object",
    "description": "a channels row without its key; channel_info as an object",
    "properties": {
        "id": {"type": "integer"},
        "type": {"type": "integer"},
        "name": {"type": "string"},
        "status": {"type": "integer"},
        "models": {"type": "string"},
        "group": {"type": "string"},
        "priority": {"type": "integer"},
        "weight": {"type": "integer"},
        "tag": {"type": ["string", "null"]},
        "response_time": {"type": "integer"},
        "test_time": {"type": "integer"},
        "balance": {"type": "number"},
        "channel_info": {"type": "object"},
    },
}
_LIST = page_schema(
    _CHANNEL, type_counts={"type": "object", "additionalProperties": {"type": "integer"}}
)
_FIELDS: dict[str, Any] = {
    "type": {"type": "integer"},
    "name": {"type": "string"},
    "key": {"type": "string", "description": "one key; one per line for batch/multi-key"},
    "base_url": {"type": "string"},
    "models": {"type": "string", "description": "comma-separated"},
    "group": {"type": "string", "description": "comma-separated"},
    "model_mapping": {"type": "string", "description": "JSON object"},
    "status_code_mapping": {"type": "string", "description": "JSON object"},
    "param_override": {"type": "string", "description": "JSON object"},
    "header_override": {"type": "string", "description": "JSON object"},
    "setting": {"type": "string", "description": "JSON object"},
    "priority": {"type": "integer"},
    "weight": {"type": "integer", "minimum": 0},
    "auto_ban": {"type": "integer", "enum": [0, 1]},
    "test_model": {"type": "string"},
    "tag": {"type": ["string", "null"]},
    "other": {"type": "string"},
    "remark": {"type": "string"},
}
_CREATE = {
    "type": "object",
    "required": ["channel"],
    "properties": {
        "mode": {"type": "string", "enum": ["single", "batch", "multi_to_single"]},
        "multi_key_mode": {"type": "string", "enum": ["random", "polling"]},
        "batch_add_set_key_prefix_2_name": {"type": "boolean"},
        "channel": {"type": "object", "properties": _FIELDS},
    },
}
_UPDATE = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "integer"},
        "key_mode": {"type": "string", "enum": ["append", "replace"]},
        "multi_key_mode": {"type": "string", "enum": ["random", "polling"]},
        **_FIELDS,
    },
}
_LIST_QUERY = (
    *PAGE_PARAMS,
    Param("id_sort", "boolean", "newest first instead of by priority"),
    Param("tag_mode", "boolean", "page by tag, with every channel of each tag"),
    Param("group", "string"),
    Param("status", "string", "enabled (1) or disabled (0, any status but 1)"),
    Param("type", "integer"),
    Param("sort_by", "string", "id, name, priority, balance, response_time or test_time"),
    Param("sort_order", "string", "asc or desc"),
    Param("tag", "string", "only channels with exactly this tag (relay's, not new-api's)"),
)


def flag(req: AdminRequest, name: str) -> bool:
    return req.query(name).strip().lower() in _TRUE


def status_filter(raw: str) -> int:
    """new-api's parseStatusFilter: 1 enabled, 0 anything else, -1 all."""
    raw = raw.strip().lower()
    return 1 if raw in ("enabled", "1") else 0 if raw in ("disabled", "0") else -1


def group_filter(raw: str) -> str:
    raw = raw.strip()
    return "" if raw.lower() in ("", "all", "null") else raw


def type_filter(raw: str) -> int:
    raw = raw.strip()
    return int(raw) if raw.lstrip("-").isdigit() else -1


def order_of(req: AdminRequest) -> tuple[str, str, bool]:
    sort_by = req.query("sort_by").strip().lower()
    if sort_by not in store.SORT_COLUMNS:
        sort_by = ""
    order = "asc" if req.query("sort_order").strip().lower() == "asc" else "desc"
    return sort_by, order, flag(req, "id_sort")


@api.get(
    "/api/channel/",
    access=Access.ADMIN,
    summary="List channels (keys omitted)",
    query=_LIST_QUERY,
    data=_LIST,
)
async def list_channels(req: AdminRequest) -> dict[str, Any]:
    page = req.page()
    group, status = group_filter(req.query("group")), status_filter(req.query("status"))
    tag = req.query("tag").strip()
    lister = store.list_tag_channels if flag(req, "tag_mode") else store.list_channels
    async with req.ctx.engine.connect() as conn:
        rows, total = await lister(
            conn,
            group=group,
            status=status,
            type_=type_filter(req.query("type")),
            tag=tag,
            order=order_of(req),
            offset=page.offset,
            limit=page.size,
        )
        counts = await store.type_counts(conn, group=group, status=status, tag=tag)
    result = page.result([channel_view(r) for r in rows], total)
    result["type_counts"] = {str(t): n for t, n in counts.items()}
    return result


@api.get(
    "/api/channel/search",
    access=Access.ADMIN,
    summary="Search channels by id, name or base URL, and model",
    limit=Limit.SEARCH,
    query=(
        Param("keyword", "string"),
        Param("model", "string"),
        *(p for p in _LIST_QUERY if p.name not in ("page_size",)),
        Param("page_size", "integer", "default 20"),
    ),
    data=_LIST,
)
async def search_channels(req: AdminRequest) -> dict[str, Any]:
    group = group_filter(req.query("group"))
    async with req.ctx.engine.connect() as conn:
        rows = await store.search_channels(
            conn,
            keyword=req.query("keyword"),
            group=group,
            model=req.query("model"),
            order=order_of(req),
        )
        if flag(req, "tag_mode"):  # every channel of the tags the matches carry
            tags = {r["tag"] for r in rows if r["tag"]}
            everything = await store.search_channels(
                conn, keyword="", group=group, model="", order=order_of(req)
            )
            rows = [r for r in everything if r["tag"] in tags]
    tag = req.query("tag").strip()
    if tag:
        rows = [r for r in rows if r["tag"] == tag]
    status = status_filter(req.query("status"))
    if status == 1:
        rows = [r for r in rows if r["status"] == 1]
    elif status == 0:
        rows = [r for r in rows if r["status"] != 1]
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row["type"])] = counts.get(str(row["type"]), 0) + 1
    wanted_type = type_filter(req.query("type"))
    if wanted_type >= 0:
        rows = [r for r in rows if r["type"] == wanted_type]
    number = max(req.query_int("p", 1), 1)
    size = min(max(req.query_int("page_size", 20), 1), 100)
    items = rows[(number - 1) * size : number * size]
    return {
        "items": [channel_view(r) for r in items],
        "total": len(rows),
        "page": number,
        "page_size": size,
        "type_counts": counts,
    }


@api.get("/api/channel/{id}", access=Access.ADMIN, summary="One channel (no key)", data=_CHANNEL)
async def get_channel(req: AdminRequest) -> dict[str, Any]:
    return channel_view(
        await req.load(store.get_channel, req.path_int("id"), missing=MSG_NOT_FOUND)
    )


@api.post(
    "/api/channel/",
    access=Access.ADMIN,
    summary="Create channels: single, batch (one per key line) or multi_to_single",
    body=_CREATE,
    data={"type": "array", "items": {"type": "integer"}, "description": "the new ids"},
)
async def create_channel(req: AdminRequest) -> list[int]:
    body = await req.json()
    spec = body.get("channel")
    if not isinstance(spec, dict):
        raise ApiError("channel must be an object")
    fields = channel_fields(spec, creating=True)
    fields["status"] = create_status(spec)
    key = spec.get("key")
    if not isinstance(key, str) or not key.strip():
        raise ApiError("key must not be empty")
    mode = body.get("mode") or "single"
    info: dict[str, Any] | None = None
    if mode == "single":
        keys = [key.strip()]
    elif mode == "batch":
        keys = key_lines(key)
    elif mode == "multi_to_single":
        lines = key_lines(key)
        info = multi_key_info(lines, multi_key_mode(body.get("multi_key_mode")))
        keys = ["\n".join(lines)]
    else:
        raise ApiError("unsupported mode: use single, batch or multi_to_single")
    numbered = (
        mode == "batch" and len(keys) > 1 and bool(body.get("batch_add_set_key_prefix_2_name"))
    )
    now = int(time.time())
    ids = []
    async with req.ctx.engine.begin() as conn:
        for n, one in enumerate(keys, 1):
            values = {**fields, "key": req.ctx.keyring.seal(one), "created_time": now}
            if info is not None:
                values["channel_info"] = dump_json(info)
            if numbered:  # new-api appends the key's first 8 characters; relay never shows keys
                values["name"] = f"{fields.get('name', '')} {n}".strip()
            ids.append(await store.insert_channel(conn, values))
        await audit.record(
            conn,
            req.me,
            "created channels" if len(ids) > 1 else "created channel",
            id_list(ids),
            after={**audit_view(fields), "ids": ",".join(map(str, ids)), "mode": mode},
            ip=req.ip,
        )
    await req.ctx.changed()
    return ids


@api.put(
    "/api/channel/",
    access=Access.ADMIN,
    summary="Update a channel; an empty key keeps the current one",
    body=_UPDATE,
    data=_CHANNEL,
)
async def update_channel(req: AdminRequest) -> dict[str, Any]:
    body = await req.json()
    channel_id = body.get("id")
    if isinstance(channel_id, bool) or not isinstance(channel_id, int):
        raise ApiError("id must be an integer")
    fields = channel_fields(body, creating=False)
    async with req.ctx.engine.begin() as conn:
        row = found(await store.get_channel(conn, channel_id), MSG_NOT_FOUND)
        if body.get("status", row["status"]) != row["status"]:  # consoles echo it unchanged
            raise ApiError("status cannot be changed here: use POST /api/channel/{id}/status")
        info = parse_info(row["channel_info"])
        new_key = body.get("key")
        if new_key is not None and not isinstance(new_key, str):
            raise ApiError("key must be a string")
        if new_key and new_key.strip():
            fields["key"] = req.ctx.keyring.seal(_merged_keys(req, row, info, body, new_key))
        if info["is_multi_key"] and body.get("multi_key_mode"):
            info["multi_key_mode"] = multi_key_mode(body["multi_key_mode"])
        if info["is_multi_key"]:
            fields["channel_info"] = dump_json(info)
        await store.update_channel(conn, channel_id, fields)
        after = await store.get_channel(conn, channel_id)
        assert after is not None
        await audit.record(
            conn,
            req.me,
            "updated channel",
            f"#{channel_id}",
            before=audit_view(row),
            after={**audit_view(after), "key_changed": "key" in fields},
            ip=req.ip,
        )
    await req.ctx.changed()
    return channel_view(after)


def _merged_keys(
    req: AdminRequest, row: Any, info: dict[str, Any], body: dict[str, Any], new_key: str
) -> str:
    """The key text to store: a multi-key channel appends (key_mode append) or replaces its
    key list and keeps its size and key statuses consistent; others take the key as given."""
    if not info["is_multi_key"]:
        return new_key.strip()
    keys = key_lines(new_key)
    if body.get("key_mode") == "append":
        try:
            current = split_keys(req.ctx.keyring.open(row["key"]))
        except ValueError:
            raise ApiError("the current keys cannot be decrypted; replace them") from None
        keys = current + [k for k in keys if k not in current]
    info["multi_key_size"] = len(keys)
    info["multi_key_status_list"] = {
        i: s for i, s in info["multi_key_status_list"].items() if int(i) < len(keys)
    }
    return "\n".join(keys)


@api.delete("/api/channel/{id}", access=Access.ADMIN, summary="Delete a channel")
async def delete_channel(req: AdminRequest) -> None:
    channel_id = req.path_int("id")
    async with req.ctx.engine.begin() as conn:
        row = found(await store.get_channel(conn, channel_id), MSG_NOT_FOUND)
        await store.delete_channels(conn, [channel_id])
        await audit.record(
            conn, req.me, "deleted channel", f"#{channel_id}", before=audit_view(row), ip=req.ip
        )
    await req.ctx.changed()


@api.post(
    "/api/channel/copy/{id}",
    access=Access.ADMIN,
    summary="Copy a channel, key included",
    query=(
        Param("suffix", "string", "appended to the name (default _复制)"),
        Param("reset_balance", "boolean", "reset balance and used quota (default true)"),
    ),
    data={"type": "object", "properties": {"id": {"type": "integer"}}},
)
async def copy_channel(req: AdminRequest) -> dict[str, int]:
    source = req.path_int("id")
    suffix = req.http.query.get("suffix", "_复制")
    reset = req.query("reset_balance", "true").strip().lower() not in ("0", "f", "false")
    async with req.ctx.engine.begin() as conn:
        row = found(await store.get_channel(conn, source), MSG_NOT_FOUND)
        values = {k: v for k, v in row.items() if k != "id"}
        values.update(
            name=f"{row['name']}{suffix}"[:255],
            created_time=int(time.time()),
            test_time=0,
            response_time=0,
        )
        if reset:
            values.update(balance=0, used_quota=0)
        new_id = await store.insert_channel(conn, values)
        await audit.record(
            conn,
            req.me,
            "copied channel",
            f"#{source} to #{new_id}",
            after=audit_view({**values, "id": new_id}),
            ip=req.ip,
        )
    await req.ctx.changed()
    return {"id": new_id}


@api.post(
    "/api/channel/fix",
    access=Access.ADMIN,
    summary="Rebuild every channel's abilities",
    data={"type": "object", "properties": {"success": {"type": "integer"}}},
)
async def fix_abilities(req: AdminRequest) -> dict[str, int]:
    async with req.ctx.engine.begin() as conn:
        count = await store.rebuild_all_abilities(conn)
        await audit.record(
            conn, req.me, "rebuilt abilities", "all channels", after={"count": count}, ip=req.ip
        )
    await req.ctx.changed()
    return {"success": count, "fails": 0}
