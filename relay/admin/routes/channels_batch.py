"""Channels in bulk (`/api/channel/*`, admin): status (one or many), batch and disabled delete,
tags (set, enable/disable, edit). The keys of multi-key channels are in channels_keys."""

from __future__ import annotations

from typing import Any

from relay.admin import audit
from relay.admin.api import Access, AdminRequest, Api, ApiError
from relay.admin.channel_form import (
    audit_view,
    channel_fields,
    id_list,
)
from relay.admin.channel_health import mark_fresh
from relay.store import channels as store
from relay.store.channels import (
    STATUS_ENABLED,
    STATUS_MANUALLY_DISABLED,
)

api = Api("channels")

MSG_INVALID = "invalid parameters"
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
                id_list(changed),
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
                id_list(ids),
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
            id_list(ids),
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
