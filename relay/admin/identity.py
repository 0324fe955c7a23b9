"""Who is calling the admin API: a signed session cookie or a personal access token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from relay.crypto import Keyring
from relay.proxies import IPNetwork, is_trusted_proxy
from relay.store.schema import users

SESSION_COOKIE = "session"
SESSION_DAYS = 30


@dataclass(frozen=True)
class AuthUser:
    id: int
    username: str
    display_name: str
    role: int
    status: int
    group: str
    via: str  # "session" or "token"

    @classmethod
    def from_row(cls, row: Any, via: str) -> AuthUser:
        return cls(
            int(row["id"]),
            row["username"],
            row["display_name"],
            int(row["role"]),
            int(row["status"]),
            row["group"],
            via,
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Stateless cookie sessions: {user id, auth version, expiry}, HMAC-signed.

    A password change bumps the user's auth_version, which invalidates older cookies.
    """

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"relay/session", hashlib.sha256).digest()

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def issue(self, user_id: int, auth_version: int, now: float | None = None) -> str:
        expires = int((now or time.time()) + SESSION_DAYS * 86400)
        payload = orjson.dumps({"id": user_id, "v": auth_version, "exp": expires})
        return f"{_b64(payload)}.{self._sign(payload)}"

    def read(self, cookie: str, now: float | None = None) -> tuple[int, int] | None:
        """(user id, auth version) of a valid, unexpired cookie, else None."""
        body, _, signature = cookie.partition(".")
        try:
            payload = _unb64(body)
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = orjson.loads(payload)
            if data["exp"] < (now or time.time()):
                return None
            return int(data["id"]), int(data["v"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


def is_tls(request: web.BaseRequest, trusted: tuple[IPNetwork, ...]) -> bool:
    """Whether the browser reached us over HTTPS (directly, or via a trusted proxy saying so)."""
    if request.secure:
        return True
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    remote = peer[0] if isinstance(peer, tuple) and peer else ""
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" and is_trusted_proxy(str(remote), trusted)


def set_session_cookie(
    response: web.StreamResponse,
    signer: SessionSigner,
    user_id: int,
    auth_version: int,
    *,
    secure: bool,
) -> None:
    """Sign the user in: the `session` cookie every login route sets (password, OIDC, ...).

    HttpOnly, SameSite=Strict, 30 days, Secure when the browser came over TLS (see is_tls).
    """
    response.set_cookie(
        SESSION_COOKIE,
        signer.issue(user_id, auth_version),
        max_age=SESSION_DAYS * 86400,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=secure,
    )


USER_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.display_name,
    users.c.role,
    users.c.status,
    users.c.group,
    users.c.auth_version,
)


async def user_by_session(
    conn: AsyncConnection, signer: SessionSigner, cookie: str
) -> AuthUser | None:
    found = signer.read(cookie)
    if found is None:
        return None
    user_id, version = found
    row = (
        (
            await conn.execute(
                select(*USER_COLUMNS).where(users.c.id == user_id, users.c.deleted_at.is_(None))
            )
        )
        .mappings()
        .first()
    )
    if row is None or int(row["auth_version"]) != version:
        return None
    return AuthUser.from_row(row, "session")


async def user_by_token(conn: AsyncConnection, keyring: Keyring, token: str) -> AuthUser | None:
    """The user whose personal access token this is (tokens are stored as digests)."""
    if not token:
        return None
    row = (
        (
            await conn.execute(
                select(*USER_COLUMNS).where(
                    users.c.access_token == keyring.lookup_digest(token),
                    users.c.deleted_at.is_(None),
                )
            )
        )
        .mappings()
        .first()
    )
    return AuthUser.from_row(row, "token") if row is not None else None
