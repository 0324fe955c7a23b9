"""Channels in bulk (`/api/channel/*`, admin): status (one or many), batch and disabled delete,
tags (set, enable/disable, edit), and the keys of multi-key channels."""

from __future__ import annotations

from typing import Any

from relay.admin import audit
from relay.admin.api import Access, AdminRequest, Api, ApiError, Raw
from relay.admin.channel_form import (
    audit_view,
    channel_fields,
    key_preview,
    key_statuses,
)
from relay.admin.channel_health import mark_fresh
from relay.admin.channel_probe import open_keys
from relay.store import channels as store
from relay.store.channels import (
    STATUS_AUTO_DISABLED,
    STATUS_ENABLED,
    STATUS_MANUALLY_DISABLED,
    dump_json,
    parse_info,
)

api = Api("channels")

MSG_INVALID = "invalid parameters"
MSG_NOT_FOUND = "channel not found"
MAX_IDS = 1000
_IDS_FIELD: dict[str, Any] = {"ids": {"type": "array", "items": {"type": "integer"}}}
_IDS = {"type": "object", "required": ["ids"], "properties": _IDS_FIELD}
_STATUS = {"type": "integer", "enum": [1, 2], "description": "1 enabled, 2 disabled"}
_TAG = {"type": "object", "required": ["tag"], "properties": {"tag": {"type": "string"}}}
_COUNT = {"type": "integer"}


def parse_ids(body: dict[str, Any]) -> list[int]:
    ids = body.get("ids")
    if (
        not isinstance(ids, list)
        or not ids
        or len(ids) > MAX_IDS
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        raise ApiError(f"{MSG_INVALID}: ids must be a list of 1 to {MAX_IDS} channel ids")
    return list(dict.fromkeys(ids))


def manual_status(body: dict[str, Any]) -> int:
    status = body.get("status")
    if status not in (STATUS_ENABLED, STATUS_MANUALLY_DISABLED) or isinstance(status, bool):
        raise ApiError(f"{MSG_INVALID}: status must be 1 (enabled) or 2 (disabled)")
    return int(status)


def tag_of(body: dict[str, Any]) -> str:
    tag = body.get("tag")
    if not isinstance(tag, str) or not tag.strip():
        raise ApiError(f"{MSG_INVALID}: tag must not be empty")
    return tag


async def _set_statuses(req: AdminRequest, ids: list[int], status: int, reason: str) -> int:
    changed = []
    async with req.ctx.engine.begin() as conn:
        for channel_id in ids:
            if await store.set_channel_status(conn, channel_id, status, reason):
                changed.append(channel_id)
        if changed:
            await audit.record(
                conn,
                req.me,
                "enabled channels" if status == STATUS_ENABLED else "disabled channels",
                ",".join(f"#{i}" for i in changed),
                after={"status": status},
                ip=req.ip,
            )
    for channel_id in changed:
        await mark_fresh(req.ctx.redis, channel_id)
    if changed:
        await req.ctx.changed()
    return len(changed)


@api.post(
    "/api/channel/{id}/status",
    access=Access.ADMIN,
    summary="Enable (1) or disable (2) a channel",
    body={"type": "object", "required": ["status"], "properties": {"status": _STATUS}},
    data={"type": "boolean", "description": "whether the status changed"},
)
async def set_status(req: AdminRequest) -> bool:
    channel_id = req.path_int("id")
    status = manual_status(await req.json())
    return await _set_statuses(req, [channel_id], status, "manual operation") > 0


@api.post(
    "/api/channel/status/batch",
    access=Access.ADMIN,
    summary="Enable (1) or disable (2) several channels",
    body={
        "type": "object",
        "required": ["ids", "status"],
        "properties": {**_IDS_FIELD, "status": _STATUS},
    },
    data=_COUNT,
)
async def set_status_batch(req: AdminRequest) -> int:
    body = await req.json()
    ids, status = parse_ids(body), manual_status(body)
    return await _set_statuses(req, ids, status, "manual batch operation")


async def _delete(req: AdminRequest, ids: list[int], action: str) -> int:
    async with req.ctx.engine.begin() as conn:
        count = await store.delete_channels(conn, ids)
        if count:
            await audit.record(
                conn,
                req.me,
                action,
                ",".join(f"#{i}" for i in ids),
                after={"count": count},
                ip=req.ip,
            )
    if count:
        await req.ctx.changed()
    return count


@api.delete(
    "/api/channel/disabled",
    access=Access.ADMIN,
    summary="Delete every disabled channel (status 2 and 3)",
    data=_COUNT,
)
async def delete_disabled(req: AdminRequest) -> int:
    async with req.ctx.engine.connect() as conn:
        ids = await store.disabled_channel_ids(conn)
    return await _delete(req, ids, "deleted disabled channels") if ids else 0


@api.post(
    "/api/channel/batch", access=Access.ADMIN, summary="Delete channels", body=_IDS, data=_COUNT
)
async def delete_batch(req: AdminRequest) -> int:
    return await _delete(req, parse_ids(await req.json()), "deleted channels")


@api.post(
    "/api/channel/batch/tag",
    access=Access.ADMIN,
    summary="Set (or clear, with null) the tag of channels",
    body={
        "type": "object",
        "required": ["ids"],
        "properties": {**_IDS_FIELD, "tag": {"type": ["string", "null"]}},
    },
    data=_COUNT,
)
async def set_tag(req: AdminRequest) -> int:
    body = await req.json()
    ids = parse_ids(body)
    tag = body.get("tag")
    if tag is not None and not isinstance(tag, str):
        raise ApiError(f"{MSG_INVALID}: tag must be a string or null")
    tag = (tag or "").strip() or None
    async with req.ctx.engine.begin() as conn:
        await store.update_channels(conn, ids, {"tag": tag})
        await audit.record(
            conn,
            req.me,
            "tagged channels",
            ",".join(f"#{i}" for i in ids),
            after={"tag": tag},
            ip=req.ip,
        )
    await req.ctx.changed()
    return len(ids)


async def _tag_status(req: AdminRequest, status: int) -> None:
    tag = tag_of(await req.json())
    async with req.ctx.engine.begin() as conn:
        ids = await store.ids_with_tag(conn, tag)
        await store.update_channels(conn, ids, {"status": status})
        await audit.record(
            conn,
            req.me,
            "enabled tag" if status == STATUS_ENABLED else "disabled tag",
            tag,
            after={"status": status, "ids": ",".join(map(str, ids))},
            ip=req.ip,
        )
    for channel_id in ids:
        await mark_fresh(req.ctx.redis, channel_id)
    await req.ctx.changed()


@api.post("/api/channel/tag/disabled", access=Access.ADMIN, summary="Disable a tag", body=_TAG)
async def disable_tag(req: AdminRequest) -> None:
    await _tag_status(req, STATUS_MANUALLY_DISABLED)


@api.post("/api/channel/tag/enabled", access=Access.ADMIN, summary="Enable a tag", body=_TAG)
async def enable_tag(req: AdminRequest) -> None:
    await _tag_status(req, STATUS_ENABLED)


@api.put(
    "/api/channel/tag",
    access=Access.ADMIN,
    summary="Edit every channel of a tag",
    body={
        "type": "object",
        "required": ["tag"],
        "properties": {
            "tag": {"type": "string"},
            "new_tag": {"type": ["string", "null"]},
            "priority": {"type": ["integer", "null"]},
            "weight": {"type": ["integer", "null"]},
            "model_mapping": {"type": ["string", "null"]},
            "models": {"type": ["string", "null"]},
            "groups": {"type": ["string", "null"]},
            "param_override": {"type": ["string", "null"]},
            "header_override": {"type": ["string", "null"]},
        },
    },
)
async def edit_tag(req: AdminRequest) -> None:
    body = await req.json()
    tag = tag_of(body)
    given = {k: v for k, v in body.items() if v is not None}
    fields: dict[str, Any] = {}
    for name in ("priority", "weight", "model_mapping", "param_override", "header_override"):
        if name in given:
            fields[name] = given[name]
    if given.get("models"):  # new-api changes models and groups only when non-empty
        fields["models"] = given["models"]
    if given.get("groups"):
        fields["group"] = given["groups"]
    values = channel_fields(fields, creating=False)
    new_tag = given.get("new_tag")
    if isinstance(new_tag, str) and new_tag.strip() and new_tag != tag:
        values["tag"] = new_tag.strip()
    async with req.ctx.engine.begin() as conn:
        ids = await store.ids_with_tag(conn, tag)
        if not ids:
            raise ApiError(f"no channel has the tag {tag!r}")
        await store.update_channels(conn, ids, values)
        await audit.record(conn, req.me, "edited tag", tag, after=audit_view(values), ip=req.ip)
    await req.ctx.changed()


# ---- multi-key channels ---------------------------------------------------------------------

_MULTI_KEY = {
    "type": "object",
    "required": ["channel_id", "action"],
    "properties": {
        "channel_id": {"type": "integer"},
        "action": {
            "type": "string",
            "enum": [
                "get_key_status",
                "enable_key",
                "disable_key",
                "enable_all_keys",
                "disable_all_keys",
                "delete_key",
                "delete_disabled_keys",
            ],
        },
        "key_index": {"type": "integer"},
        "page": {"type": "integer"},
        "page_size": {"type": "integer"},
        "status": {"type": "integer"},
    },
}


def _key_status_page(keys: list[str], statuses: list[int], info: dict[str, Any], body: Any) -> Any:
    reasons = info.get("multi_key_disabled_reason") or {}
    times = info.get("multi_key_disabled_time") or {}
    every = [
        {
            "index": i,
            "status": s,
            "disabled_time": int(times.get(str(i), 0)) if s != STATUS_ENABLED else 0,
            "reason": str(reasons.get(str(i), "")) if s != STATUS_ENABLED else "",
            "key_preview": key_preview(k),
        }
        for i, (k, s) in enumerate(zip(keys, statuses, strict=True))
    ]
    wanted = body.get("status")
    shown = [k for k in every if wanted is None or k["status"] == wanted]
    size = body.get("page_size") if isinstance(body.get("page_size"), int) else 0
    size = size if size > 0 else 50
    pages = max((len(shown) + size - 1) // size, 1)
    page = min(max(body.get("page") if isinstance(body.get("page"), int) else 1, 1), pages)
    return {
        "keys": shown[(page - 1) * size : page * size],
        "total": len(shown),
        "page": page,
        "page_size": size,
        "total_pages": pages,
        "enabled_count": statuses.count(STATUS_ENABLED),
        "manual_disabled_count": statuses.count(STATUS_MANUALLY_DISABLED),
        "auto_disabled_count": statuses.count(STATUS_AUTO_DISABLED),
    }


def _keep(keys: list[str], statuses: list[int], info: dict[str, Any], drop: set[int]) -> str:
    """Remove the keys at `drop`, renumbering the status, reason and time of the others."""
    kept = [i for i in range(len(keys)) if i not in drop]
    for extra in ("multi_key_disabled_reason", "multi_key_disabled_time"):
        found = info.get(extra)
        old: dict[str, Any] = found if isinstance(found, dict) else {}
        info[extra] = {str(n): old[str(i)] for n, i in enumerate(kept) if str(i) in old}
    info["multi_key_status_list"] = {
        str(n): statuses[i] for n, i in enumerate(kept) if statuses[i] != STATUS_ENABLED
    }
    info["multi_key_size"] = len(kept)
    return "\n".join(keys[i] for i in kept)


@api.post(
    "/api/channel/multi_key/manage",
    access=Access.ADMIN,
    summary="Show, enable, disable or delete the keys of a multi-key channel",
    body=_MULTI_KEY,
)
async def manage_keys(req: AdminRequest) -> Any:
    body = await req.json()
    channel_id, action, index = body.get("channel_id"), body.get("action"), body.get("key_index")
    if isinstance(channel_id, bool) or not isinstance(channel_id, int):
        raise ApiError(f"{MSG_INVALID}: channel_id must be an integer")
    async with req.ctx.engine.begin() as conn:
        row = await store.get_channel(conn, channel_id)
        if row is None:
            raise ApiError(MSG_NOT_FOUND)
        info = parse_info(row["channel_info"])
        if not info["is_multi_key"]:
            raise ApiError("this channel is not a multi-key channel")
        keys = open_keys(req.ctx, row)
        statuses = key_statuses(info, len(keys))
        if action == "get_key_status":
            return _key_status_page(keys, statuses, info, body)
        if action in ("enable_key", "disable_key", "delete_key") and (
            isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(keys)
        ):
            raise ApiError(f"{MSG_INVALID}: key_index must be an index of the channel's keys")
        values: dict[str, Any] = {}
        status_list = info["multi_key_status_list"]
        if action == "enable_key":
            status_list.pop(str(index), None)
            message = "key enabled"
        elif action == "disable_key":
            status_list[str(index)] = STATUS_MANUALLY_DISABLED
            message = "key disabled"
        elif action == "enable_all_keys":
            message = f"{len(status_list)} keys enabled"
            info.update(
                multi_key_status_list={}, multi_key_disabled_reason={}, multi_key_disabled_time={}
            )
        elif action == "disable_all_keys":
            enabled = [i for i, s in enumerate(statuses) if s == STATUS_ENABLED]
            if not enabled:
                raise ApiError("no key to disable")
            status_list.update({str(i): STATUS_MANUALLY_DISABLED for i in enabled})
            message = f"{len(enabled)} keys disabled"
        elif action == "delete_key":
            if len(keys) == 1:
                raise ApiError("the last key cannot be deleted")
            assert isinstance(index, int)
            values["key"] = req.ctx.keyring.seal(_keep(keys, statuses, info, {index}))
            message = "key deleted"
        elif action == "delete_disabled_keys":
            drop = {i for i, s in enumerate(statuses) if s == STATUS_AUTO_DISABLED}
            if not drop:
                raise ApiError("no automatically disabled key to delete")
            if len(drop) == len(keys):
                raise ApiError("the last key cannot be deleted")
            values["key"] = req.ctx.keyring.seal(_keep(keys, statuses, info, drop))
            message = f"{len(drop)} automatically disabled keys deleted"
        else:
            raise ApiError("unsupported action")
        values["channel_info"] = dump_json(info)
        await store.update_channel(conn, channel_id, values)
        await audit.record(
            conn,
            req.me,
            f"multi-key {action}",
            f"#{channel_id}",
            after={"key_index": index if isinstance(index, int) else None},
            ip=req.ip,
        )
    await req.ctx.changed()
    return Raw({"success": True, "message": message, "data": None})
