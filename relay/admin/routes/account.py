"""Signing in: login (the session cookie), logout, register (new-api controller/user.go).
One's own account (/api/user/self and friends) is in routes/profile.py."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from relay.admin import audit
from relay.admin.accounts import (
    MSG_CREDENTIALS_EMPTY,
    MSG_CREDENTIALS_WRONG,
    MSG_LOGIN_DISABLED,
    MSG_PASSWORD_REGISTER_DISABLED,
    MSG_REGISTER_DISABLED,
    MSG_USER_EXISTS,
    PASSWORD_SCHEMA,
    USER_BRIEF,
    USERNAME_SCHEMA,
    check_password,
    check_username,
    format_quota,
    login_json,
    new_aff_code,
    option_flag,
    option_int,
    text_field,
)
from relay.admin.api import Access, AdminRequest, Api, ApiError, Limit, envelope
from relay.admin.identity import (
    SESSION_COOKIE,
    AuthUser,
    SessionSigner,
    is_tls,
    set_session_cookie,
)
from relay.store.redemptions import LOG_TYPE_SYSTEM, write_log
from relay.store.tokens import create_token
from relay.store.users import (
    aff_code_taken,
    hash_password,
    insert_user,
    login_row,
    reward_inviter,
    update_user,
    user_id_by_aff_code,
    username_taken,
    verify_password,
)

api = Api("account")

# A bcrypt hash of a random secret: unknown users cost one bcrypt check too, so the answer
# time does not tell which usernames exist.
_DUMMY_HASH = "$2b$10$TRJ8dLjPCsU0cBGVPL5n..jUkyQjyd2wCdy16QkwyYr61QufJlHkG"
AFF_ATTEMPTS = 20


def tls(req: AdminRequest) -> bool:
    return is_tls(req.http, req.ctx.settings.trusted_proxies)


def start_session(req: AdminRequest, response: web.StreamResponse, row: Any) -> None:
    """Set the session cookie of the user `row` (its id and current auth_version)."""
    signer = SessionSigner(req.ctx.settings.session_secret)
    set_session_cookie(response, signer, row["id"], row["auth_version"], secure=tls(req))


def signed_out(req: AdminRequest) -> web.Response:
    """A logout's answer (or a deleted account's): no data, the session cookie cleared."""
    response = envelope(None)
    response.del_cookie(SESSION_COOKIE, path="/", secure=tls(req), samesite="Strict")
    return response


def signed_in(req: AdminRequest, row: Any) -> web.Response:
    """A login's answer (password or OIDC): the user in brief, with its session cookie."""
    response = envelope(login_json(row))
    start_session(req, response, row)
    return response


async def welcome(
    req: AdminRequest,
    conn: Any,
    uid: int,
    username: str,
    *,
    group: str,
    via: str,
    after: dict[str, Any],
) -> None:
    """The last steps of a self-registration (password or OIDC), in its transaction: the
    default token when GENERATE_DEFAULT_TOKEN is set, and the audit row."""
    if req.ctx.settings.generate_default_token:
        await create_token(conn, req.ctx.keyring, uid, name="default", unlimited_quota=True)
    me = AuthUser(uid, username, username, 1, 1, group, via)
    await audit.record(conn, me, "user.register", f"user #{uid}", after=after, ip=req.ip)


# --- login, logout, register --------------------------------------------------------------


@api.post(
    "/api/user/login",
    access=Access.PUBLIC,
    limit=Limit.CRITICAL,
    summary="Sign in with username (or e-mail) and password; sets the session cookie",
    body={
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
    },
    data=USER_BRIEF,
)
async def login(req: AdminRequest) -> web.Response:
    _, rows = await req.ctx.options()
    if not option_flag(rows, "PasswordLoginEnabled", True):
        raise ApiError(MSG_LOGIN_DISABLED)
    body = await req.json()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ApiError(MSG_CREDENTIALS_EMPTY)
    if not username.strip() or not password:
        raise ApiError(MSG_CREDENTIALS_EMPTY)
    async with req.ctx.engine.connect() as conn:
        row = await login_row(conn, username.strip())
    hashed = row["password"] if row is not None and row["password"] else _DUMMY_HASH
    valid = await asyncio.to_thread(verify_password, password, hashed)
    if row is None or not valid or hashed is _DUMMY_HASH or row["status"] != 1:
        raise ApiError(MSG_CREDENTIALS_WRONG)
    async with req.ctx.engine.begin() as conn:
        await update_user(conn, row["id"], {"last_login_at": int(time.time())})
    return signed_in(req, row)


@api.get("/api/user/logout", access=Access.PUBLIC, summary="Sign out: clears the session cookie")
async def logout(req: AdminRequest) -> web.Response:
    return signed_out(req)


@api.post(
    "/api/user/register",
    access=Access.PUBLIC,
    limit=Limit.CRITICAL,
    summary="Register with username and password (when the options allow it)",
    body={
        "type": "object",
        "required": ["username", "password"],
        "properties": {
            "username": USERNAME_SCHEMA,
            "password": PASSWORD_SCHEMA,
            "email": {"type": "string"},
            "aff_code": {"type": "string"},
        },
    },
)
async def register(req: AdminRequest) -> None:
    options, rows = await req.ctx.options()
    if not option_flag(rows, "RegisterEnabled", True):
        raise ApiError(MSG_REGISTER_DISABLED)
    if not option_flag(rows, "PasswordRegisterEnabled", True):
        raise ApiError(MSG_PASSWORD_REGISTER_DISABLED)
    body = await req.json()
    username = check_username(text_field(body, "username"))
    password = check_password(text_field(body, "password"))
    invite = text_field(body, "aff_code").strip()
    # The e-mail is not stored: without verification it could claim someone else's address
    # (and login accepts an e-mail in place of the username), as in new-api.
    hashed = await asyncio.to_thread(hash_password, password)
    bonus = option_int(rows, "QuotaForNewUser")
    qpu, in_currency = options["QuotaPerUnit"], options["DisplayInCurrencyEnabled"]
    now = int(time.time())
    try:
        async with req.ctx.engine.begin() as conn:
            if await username_taken(conn, username):
                raise ApiError(MSG_USER_EXISTS)
            inviter = await user_id_by_aff_code(conn, invite)
            invitee_bonus = option_int(rows, "QuotaForInvitee") if inviter else 0
            uid = await insert_user(
                conn,
                username=username,
                password_hash=hashed,
                quota=bonus + invitee_bonus,
                aff_code=await _free_aff_code(conn),
                inviter_id=inviter,
            )
            if bonus:
                text = f"New user registration bonus {format_quota(bonus, qpu, in_currency)}"
                await write_log(conn, uid, username, LOG_TYPE_SYSTEM, text, now)
            if inviter:
                if invitee_bonus:
                    text = f"Invitation code bonus {format_quota(invitee_bonus, qpu, in_currency)}"
                    await write_log(conn, uid, username, LOG_TYPE_SYSTEM, text, now)
                await reward_inviter(conn, inviter, option_int(rows, "QuotaForInviter"))
            after = {"username": username, "inviter_id": inviter, "quota": bonus}
            await welcome(req, conn, uid, username, group="default", via="", after=after)
    except IntegrityError:
        raise ApiError(MSG_USER_EXISTS) from None
    return None


async def _free_aff_code(conn: Any) -> str | None:
    for _ in range(AFF_ATTEMPTS):
        code = new_aff_code()
        if not await aff_code_taken(conn, code):
            return code
    return None  # generated on first use of GET /api/user/aff instead
