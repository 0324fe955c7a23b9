"""Audit trail: one `logs` row of type 3 ("manage") for every admin change, with before/after."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from relay.admin.identity import AuthUser
from relay.store.schema import logs

LOG_TYPE_MANAGE = 3
_SECRET_FIELDS = frozenset(
    {"key", "password", "access_token", "key_sealed", "original_password", "secret"}
)


def scrub(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy without secrets (keys, passwords, tokens), safe to store and show."""
    if values is None:
        return None
    return {
        k: ("***" if k in _SECRET_FIELDS or k.endswith("_secret") else _plain(v))
        for k, v in values.items()
    }


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


async def record(
    conn: AsyncConnection,
    actor: AuthUser,
    action: str,
    target: str,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    ip: str = "",
    user_id: int | None = None,
) -> None:
    """Write the audit row in the caller's transaction: who did what to what, before and after.

    `user_id` is the user the row belongs to (whose log it shows in), the actor by default.
    """
    # Who acted goes under admin_info, which a user's own log listing strips.
    other = {
        "action": action,
        "target": target,
        "before": scrub(before),
        "after": scrub(after),
        "admin_info": {"actor_id": actor.id, "actor": actor.username},
    }
    own = user_id is None or user_id == actor.id
    await conn.execute(
        insert(logs).values(
            user_id=actor.id if user_id is None else user_id,
            created_at=int(time.time()),
            type=LOG_TYPE_MANAGE,
            content=f"{action} {target}",
            username=actor.username if own else "",
            ip=ip,
            other=orjson.dumps(other).decode(),
        )
    )
