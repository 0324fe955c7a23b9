"""Single sign-on with OpenID Connect: the state, the provider redirect and the callback.

The flow follows new-api's legacy OAuth routes: `GET /api/oauth/state` gives the console a
state (also set as an HttpOnly cookie and remembered in Redis for ten minutes, so the callback
only accepts it from the same browser, once); the console sends the browser to the provider's
authorization_endpoint with response_type=code, scope "openid email profile", the client id and
redirect_uri = <ServerAddress>/oauth/oidc; the console page there calls
`GET /api/oauth/oidc?code&state`, which verifies everything, finds the user by `users.oidc_id`
(or creates one in oidc.default_group) and sets the session cookie as password login does.
`GET /api/oauth/oidc/authorize` does the first two steps server-side (with a nonce).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from relay.admin.accounts import USER_BRIEF, new_aff_code
from relay.admin.api import Access, AdminRequest, Api, ApiError, Limit, Param, envelope
from relay.admin.identity import USER_COLUMNS
from relay.admin.oidc import Identity, OidcClient, OidcConfig, OidcError, nonce_for
from relay.admin.routes.account import signed_in, tls, welcome
from relay.options import Options
from relay.store.schema import users
from relay.store.users import (
    aff_code_taken,
    hash_password,
    insert_user,
    update_user,
    username_taken,
)

api = Api("oauth")

STATE_COOKIE = "oauth_state"
STATE_TTL_SECONDS = 600
SCOPE = "openid email profile"
USERNAME_MAX = 20  # new-api model.UserNameMaxLength
DISPLAY_NAME_MAX = 20
OIDC_ID_MAX = 64  # users.oidc_id and users.email are varchar(64)
EMAIL_MAX = 64

MSG_NOT_ENABLED = "OIDC login and registration has not been enabled by administrator"
MSG_STATE = "State parameter is empty or mismatched"
MSG_DOMAIN = "Your e-mail domain is not allowed to sign in here"
MSG_REGISTER_OFF = "New user registration has been disabled by administrator"
MSG_DELETED = "User has been deleted"
MSG_BANNED = "User has been banned"
MSG_EMAIL_TAKEN = "This e-mail address is already used by another account"
MSG_NO_CODE = "Invalid authorization code"

_clients: dict[int, OidcClient] = {}


def oidc_client(req: AdminRequest) -> OidcClient:
    """One client (with its discovery and key caches) per admin process."""
    key = id(req.ctx.http)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = OidcClient(req.ctx.http)
    return client


def _state_key(state: str) -> str:
    return f"relay:oauth:state:{state}"


def redirect_uri(req: AdminRequest, options: Options) -> str:
    base = str(options["ServerAddress"]).rstrip("/")
    if not base:
        scheme = "https" if tls(req) else "http"
        base = f"{scheme}://{req.http.host}"
    return f"{base}/oauth/oidc"


async def _enabled_config(req: AdminRequest) -> tuple[OidcConfig, Options]:
    options, _ = await req.ctx.options()
    config = OidcConfig.from_options(options)
    if not (config.enabled and config.client_id and config.discovery_url):
        raise ApiError(MSG_NOT_ENABLED)
    return config, options


async def _new_state(req: AdminRequest) -> str:
    state = secrets.token_urlsafe(24)
    await req.ctx.redis.set(_state_key(state), b"1", ex=STATE_TTL_SECONDS)
    return state


def _bind_state(req: AdminRequest, response: web.StreamResponse, state: str) -> None:
    # Lax, not Strict: the browser comes back from the provider's site with it
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=STATE_TTL_SECONDS,
        path="/api/oauth",
        httponly=True,
        samesite="Lax",
        secure=tls(req),
    )


@api.get(
    "/api/oauth/state",
    access=Access.PUBLIC,
    limit=Limit.CRITICAL,
    summary="A one-time OAuth state, bound to this browser by a cookie",
    query=(Param("provider", description="oidc (the only provider relay supports)"),),
    data={"type": "string"},
)
async def oauth_state(req: AdminRequest) -> web.Response:
    state = await _new_state(req)
    response = envelope(state)
    _bind_state(req, response, state)
    return response


@api.get(
    "/api/oauth/oidc/authorize",
    access=Access.PUBLIC,
    limit=Limit.CRITICAL,
    summary="Redirect the browser to the OIDC provider's sign-in page",
)
async def oidc_authorize(req: AdminRequest) -> web.Response:
    config, options = await _enabled_config(req)
    try:
        provider = await oidc_client(req).provider(config.discovery_url)
    except OidcError as exc:
        raise ApiError(str(exc)) from None
    state = await _new_state(req)
    query = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri(req, options),
        "scope": SCOPE,
        "state": state,
        "nonce": nonce_for(state, req.ctx.settings.session_secret),
    }
    sep = "&" if "?" in provider.authorization_endpoint else "?"
    response = web.Response(
        status=302,
        headers={"Location": f"{provider.authorization_endpoint}{sep}{urlencode(query)}"},
    )
    _bind_state(req, response, state)
    return response


@api.get(
    "/api/oauth/oidc",
    access=Access.PUBLIC,
    limit=Limit.CRITICAL,
    summary="OIDC callback: exchange the code, sign in (creating the user if allowed)",
    query=(Param("code", required=True), Param("state", required=True)),
    data=USER_BRIEF,
)
async def oidc_callback(req: AdminRequest) -> web.Response:
    config, options = await _enabled_config(req)
    state = req.query("state")
    cookie = req.http.cookies.get(STATE_COOKIE, "")
    if not state or not hmac.compare_digest(state.encode(), cookie.encode()):
        raise ApiError(MSG_STATE, 403)
    if not await req.ctx.redis.delete(_state_key(state)):  # once only
        raise ApiError(MSG_STATE, 403)
    if req.query("error"):
        raise ApiError(req.query("error_description") or req.query("error"))
    code = req.query("code")
    if not code:
        raise ApiError(MSG_NO_CODE)
    nonce = nonce_for(state, req.ctx.settings.session_secret)
    try:
        who = await oidc_client(req).identity(config, code, redirect_uri(req, options), nonce)
    except OidcError as exc:
        raise ApiError(str(exc)) from None
    if config.allowed_domains and (
        not config.domain_allowed(who.email) or who.email_verified is False
    ):
        raise ApiError(MSG_DOMAIN)
    row = await _find_or_create(req, config, options, who)
    response = signed_in(req, row)
    response.del_cookie(STATE_COOKIE, path="/api/oauth")
    return response


_LOGIN_COLUMNS = (*USER_COLUMNS, users.c.deleted_at)


def subject_key(subject: str) -> str:
    """What `users.oidc_id` (64 characters) holds: the subject, or a digest of a longer one."""
    if len(subject) <= OIDC_ID_MAX:
        return subject
    return "h:" + hashlib.sha256(subject.encode()).hexdigest()[: OIDC_ID_MAX - 2]


async def _user_by_subject(conn: Any, subject: str) -> Any:
    key = subject_key(subject)
    query = select(*_LOGIN_COLUMNS).where(users.c.oidc_id == key).order_by(users.c.id)
    rows = (await conn.execute(query)).mappings().all()
    live = [r for r in rows if r["deleted_at"] is None]
    return live[0] if live else (rows[0] if rows else None)


async def _email_taken(conn: Any, email: str) -> bool:
    query = select(users.c.id).where(users.c.email == email, users.c.deleted_at.is_(None))
    return (await conn.execute(query.limit(1))).first() is not None


def _username_base(who: Identity) -> str:
    raw = who.username or who.email.partition("@")[0] or "oidc"
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "", raw)[:USERNAME_MAX]
    return cleaned or "oidc"


async def _free_username(conn: Any, base: str) -> str:
    if not await username_taken(conn, base):
        return base
    for n in range(2, 100):
        candidate = f"{base[: USERNAME_MAX - len(str(n))]}{n}"
        if not await username_taken(conn, candidate):
            return candidate
    return f"oidc_{secrets.token_hex(6)}"


async def _find_or_create(
    req: AdminRequest, config: OidcConfig, options: Options, who: Identity
) -> Any:
    now = int(time.time())
    async with req.ctx.engine.begin() as conn:
        row = await _user_by_subject(conn, who.subject)
        if row is not None:
            if row["deleted_at"] is not None:
                raise ApiError(MSG_DELETED)
            if row["status"] != 1:
                raise ApiError(MSG_BANNED)
            await update_user(conn, row["id"], {"last_login_at": now})
            return row
    if not (config.auto_register and options["RegisterEnabled"]):
        raise ApiError(MSG_REGISTER_OFF)
    password_hash = await asyncio.to_thread(hash_password, secrets.token_urlsafe(32))
    try:
        async with req.ctx.engine.begin() as conn:
            if who.email and await _email_taken(conn, who.email):
                raise ApiError(MSG_EMAIL_TAKEN)
            username = await _free_username(conn, _username_base(who))
            aff = new_aff_code()
            uid = await insert_user(
                conn,
                username=username,
                password_hash=password_hash,
                quota=int(options["QuotaForNewUser"]),
                group=config.default_group,
                display_name=(who.name or username)[:DISPLAY_NAME_MAX],
                aff_code=None if await aff_code_taken(conn, aff) else aff,
            )
            email = who.email if len(who.email) <= EMAIL_MAX else ""
            await update_user(
                conn,
                uid,
                {"email": email, "oidc_id": subject_key(who.subject), "last_login_at": now},
            )
            group = config.default_group
            after = {"username": username, "via": "oidc", "group": group}
            await welcome(req, conn, uid, username, group=group, via="oidc", after=after)
            row = await _user_by_subject(conn, who.subject)
    except IntegrityError:
        raise ApiError("Signing in failed, please try again") from None
    return row
