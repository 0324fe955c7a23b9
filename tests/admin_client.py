"""An HTTP client for relay's admin API, signed in by session cookie or personal access token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from relay_harness import RelayServer, Store
from sqlalchemy import update

from relay.store.schema import users

ROOT_PASSWORD = "root-password-123"
ROOT_TOKEN = "root-access-token-0123456789"


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and isinstance(self.body, dict) and self.body.get("success")

    @property
    def data(self) -> Any:
        assert self.ok, (self.status, self.body)
        return self.body.get("data")

    @property
    def message(self) -> str:
        return str(self.body.get("message", "")) if isinstance(self.body, dict) else ""


class AdminClient:
    """Talks to one relay's admin port. `login()` keeps the session cookie and sends the
    New-Api-User and Origin headers a browser console would; `token` uses a personal token."""

    def __init__(self, server: RelayServer, *, token: str = "", user_id: int | None = None):
        self.server = server
        self.token = token
        self.user_id = user_id
        self._jar = aiohttp.CookieJar(unsafe=True)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AdminClient:
        self._session = aiohttp.ClientSession(cookie_jar=self._jar)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    def headers(self) -> dict[str, str]:
        headers = {"Origin": self.server.admin_url}
        if self.token:
            headers["Authorization"] = self.token
        if self.user_id is not None:
            headers["New-Api-User"] = str(self.user_id)
        return headers

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        assert self._session is not None, "use `async with AdminClient(...)`"
        async with self._session.request(
            method,
            self.server.admin_url + path,
            json=json,
            params=params,
            headers={**self.headers(), **(headers or {})},
        ) as resp:
            raw = await resp.read()
            try:
                body: Any = await resp.json(content_type=None) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            return Reply(resp.status, body, dict(resp.headers))

    async def get(self, path: str, **params: Any) -> Reply:
        return await self.call("GET", path, params=params or None)

    async def post(self, path: str, json: Any = None) -> Reply:
        return await self.call("POST", path, json=json)

    async def put(self, path: str, json: Any = None, **params: Any) -> Reply:
        return await self.call("PUT", path, json=json, params=params or None)

    async def delete(self, path: str, json: Any = None) -> Reply:
        return await self.call("DELETE", path, json=json)

    async def login(self, username: str, password: str) -> Reply:
        reply = await self.post("/api/user/login", {"username": username, "password": password})
        if reply.ok:
            self.user_id = int(reply.data["id"])
        return reply


async def give_access_token(store: Store, user_id: int) -> str:
    """Set a personal access token for a user directly in SQL (stored as its digest)."""
    token = secrets.token_urlsafe(24)
    async with store.engine.begin() as conn:
        await conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(access_token=store.keyring.lookup_digest(token))
        )
    return token


async def as_user(server: RelayServer, store: Store, user_id: int) -> AdminClient:
    """A client (for `async with`) of `user_id`: a new personal access token + New-Api-User."""
    return AdminClient(server, token=await give_access_token(store, user_id), user_id=user_id)


def root(server: RelayServer) -> AdminClient:
    """A client authenticated as root by the INITIAL_ROOT_ACCESS_TOKEN the harness sets."""
    return AdminClient(server, token=ROOT_TOKEN, user_id=1)
