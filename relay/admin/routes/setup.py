"""The first-run wizard: GET/POST /api/setup (new-api controller/setup.go).

Setup is complete once a `setups` row or a root user exists (a root made from the
INITIAL_ROOT_* variables counts, as new-api's CheckSetup records it at start-up).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from relay import __version__, events
from relay.admin import audit
from relay.admin.accounts import (
    MSG_USER_EXISTS,
    SETUP_USERNAME_MAX,
    bool_field,
    check_password,
    check_username,
    text_field,
)
from relay.admin.api import Access, AdminRequest, Api, ApiError, Limit, Raw
from relay.admin.identity import AuthUser
from relay.store.options import set_option
from relay.store.schema import setups
from relay.store.users import (
    ROLE_ROOT,
    ROOT_INITIAL_QUOTA,
    STATUS_ENABLED,
    hash_password,
    insert_user,
    root_exists,
    username_taken,
)

api = Api("setup")

MSG_DONE = "The system has already been initialized"
MSG_PASSWORDS_DIFFER = "The two passwords do not match"
MSG_SUCCESS = "System initialized successfully"
_SETUP_ROW_ID = 1  # one row: a second concurrent setup fails on the primary key

SETUP_DATA = {
    "type": "object",
    "properties": {
        "status": {"type": "boolean"},
        "root_init": {"type": "boolean"},
        "database_type": {"type": "string"},
    },
}
SETUP_BODY = {
    "type": "object",
    "required": ["username", "password", "confirmPassword"],
    "properties": {
        "username": {"type": "string", "maxLength": SETUP_USERNAME_MAX},
        "password": {"type": "string", "minLength": 8},
        "confirmPassword": {"type": "string"},
        "SelfUseModeEnabled": {"type": "boolean"},
        "DemoSiteEnabled": {"type": "boolean"},
    },
}


async def _is_set_up(conn: AsyncConnection) -> bool:
    if (await conn.execute(select(setups.c.id).limit(1))).first() is not None:
        return True
    return await root_exists(conn)


def _database_type(dialect: str) -> str:
    return {"postgresql": "postgres", "sqlite": "sqlite", "mysql": "mysql"}.get(dialect, dialect)


@api.get("/api/setup", access=Access.PUBLIC, summary="First-run status", data=SETUP_DATA)
async def get_setup(req: AdminRequest) -> dict[str, Any]:
    async with req.ctx.engine.connect() as conn:
        if await _is_set_up(conn):
            return {"status": True, "root_init": False, "database_type": ""}
        return {
            "status": False,
            "root_init": await root_exists(conn),
            "database_type": _database_type(conn.dialect.name),
        }


@api.post(
    "/api/setup",
    access=Access.PUBLIC,
    limit=Limit.CRITICAL,
    summary="Create the root user and finish the first-run setup (once)",
    body=SETUP_BODY,
)
async def post_setup(req: AdminRequest) -> Raw:
    async with req.ctx.engine.connect() as conn:
        if await _is_set_up(conn):
            raise ApiError(MSG_DONE)
    body = await req.json()
    username = check_username(text_field(body, "username"), SETUP_USERNAME_MAX)
    password = text_field(body, "password")
    if password != text_field(body, "confirmPassword"):
        raise ApiError(MSG_PASSWORDS_DIFFER)
    check_password(password, upper=72)
    self_use = bool_field(body, "SelfUseModeEnabled")
    demo = bool_field(body, "DemoSiteEnabled")
    hashed = await asyncio.to_thread(hash_password, password)
    now = int(time.time())
    try:
        async with req.ctx.engine.begin() as conn:
            if await _is_set_up(conn):
                raise ApiError(MSG_DONE)
            if await username_taken(conn, username):
                raise ApiError(MSG_USER_EXISTS)
            # The fixed id makes a racing second setup fail here, whatever the database.
            await conn.execute(
                insert(setups).values(id=_SETUP_ROW_ID, version=__version__, initialized_at=now)
            )
            uid = await insert_user(
                conn,
                username=username,
                password_hash=hashed,
                role=ROLE_ROOT,
                quota=ROOT_INITIAL_QUOTA,
                display_name="Root User",
            )
            await set_option(conn, "SelfUseModeEnabled", "true" if self_use else "false")
            await set_option(conn, "DemoSiteEnabled", "true" if demo else "false")
            root = AuthUser(uid, username, "Root User", ROLE_ROOT, STATUS_ENABLED, "default", "")
            await audit.record(
                conn,
                root,
                "setup",
                f"user #{uid}",
                after={
                    "username": username,
                    "role": ROLE_ROOT,
                    "SelfUseModeEnabled": self_use,
                    "DemoSiteEnabled": demo,
                },
                ip=req.ip,
            )
    except IntegrityError:
        raise ApiError(MSG_DONE) from None
    await req.ctx.changed(events.ROUTING)  # the workers read SelfUseModeEnabled
    return Raw({"success": True, "message": MSG_SUCCESS, "data": None})
