"""The keys of multi-key channels (`POST /api/channel/multi_key/manage`, admin): their
statuses page by page, enabling, disabling and deleting keys."""

from __future__ import annotations

from typing import Any

from relay.admin import audit
from relay.admin.api import Access, AdminRequest, Api, ApiError, Raw, found
from relay.admin.channel_form import MSG_NOT_FOUND, key_preview, key_statuses
from relay.admin.channel_probe import open_keys
from relay.admin.routes.channels_batch import MSG_INVALID
from relay.store import channels as store
from relay.store.channels import (
    STATUS_AUTO_DISABLED,
    STATUS_ENABLED,
    STATUS_MANUALLY_DISABLED,
    dump_json,
    parse_info,
)

api = Api("channels")

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
        row = found(await store.get_channel(conn, channel_id), MSG_NOT_FOUND)
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
