"""Client authentication: reading the key as new-api does, and the cached token principal."""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgpack
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.store.tokens import principal_row

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ROLE_ADMIN = 10


def _bearer(value: str) -> str:
    if value[:7] in ("Bearer ", "bearer "):
        return value[7:].strip()
    return value


def extract_key(path: str, headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The raw client key, from the header or query new-api reads for this path."""
    protocol = headers.get("Sec-WebSocket-Protocol")
    if protocol:
        for part in protocol.split(","):
            part = part.strip()
            if part.startswith("openai-insecure-api-key"):
                return part.removeprefix("openai-insecure-api-key.")
    key = headers.get("Authorization", "")
    if "/v1/messages" in path or "/v1/models" in path:
        key = f"Bearer {headers['x-api-key']}" if headers.get("x-api-key") else key
    if path.startswith(("/v1beta/models", "/v1beta/openai/models", "/v1/models/")):
        key = f"Bearer {query['key']}" if query.get("key") else key
        key = f"Bearer {headers['x-goog-api-key']}" if headers.get("x-goog-api-key") else key
    key = _bearer(key)
    if not key or key == "midjourney-proxy":
        key = _bearer(headers.get("mj-api-secret", ""))
    return key


def split_key(raw: str) -> tuple[str, str | None]:
    """`sk-<key>[-<channel id>]` → (key, channel pin or None)."""
    parts = raw.removeprefix("sk-").split("-")
    return parts[0], (parts[1] if len(parts) > 1 else None)


def _networks(raw: str) -> tuple[IPNetwork, ...]:
    nets: list[IPNetwork] = []
    for part in raw.replace(",", "\n").split("\n"):
        part = part.strip()
        if part:
            try:
                nets.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                continue
    return tuple(nets)


@dataclass(frozen=True, slots=True)
class Principal:
    """A token with its owner, as the relay needs them per request."""

    token_id: int
    user_id: int
    token_name: str
    token_group: str
    expired_time: int
    unlimited: bool
    model_limits: frozenset[str] | None
    allow_ips: tuple[IPNetwork, ...]
    rpm: int
    rpd: int
    tpm: int
    username: str
    role: int
    user_enabled: bool
    user_group: str
    accept_unset_ratio: bool
    record_ip: bool

    @property
    def is_admin(self) -> bool:
        return self.role >= ROLE_ADMIN

    def ip_allowed(self, ip: str) -> bool:
        if not self.allow_ips:
            return True
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self.allow_ips)

    @classmethod
    def from_row(cls, row: Any) -> Principal:
        """From a principal_row() mapping (or the cached copy of one)."""
        setting: dict[str, Any] = {}
        if row["user_setting"]:
            try:
                loaded = orjson.loads(row["user_setting"])
                setting = loaded if isinstance(loaded, dict) else {}
            except orjson.JSONDecodeError:
                setting = {}
        limits = None
        if row["model_limits_enabled"]:
            limits = frozenset(m.strip() for m in row["model_limits"].split(",") if m.strip())
        return cls(
            token_id=int(row["token_id"]),
            user_id=int(row["user_id"]),
            token_name=row["token_name"],
            token_group=row["token_group"] or "",
            expired_time=int(row["expired_time"]),
            unlimited=bool(row["unlimited_quota"]),
            model_limits=limits,
            allow_ips=_networks(row["allow_ips"] or ""),
            rpm=int(row["rate_limit_rpm"]),
            rpd=int(row["rate_limit_rpd"]),
            tpm=int(row["rate_limit_tpm"]),
            username=row["username"],
            role=int(row["role"]),
            user_enabled=int(row["user_status"]) == 1,
            user_group=row["user_group"] or "default",
            accept_unset_ratio=bool(setting.get("accept_unset_model_ratio_model")),
            record_ip=bool(setting.get("record_ip_log")),
        )


_ROW_FIELDS = (
    "token_id", "user_id", "token_name", "token_status", "expired_time", "unlimited_quota",
    "model_limits_enabled", "model_limits", "allow_ips", "token_group", "rate_limit_rpm",
    "rate_limit_rpd", "rate_limit_tpm", "username", "role", "user_status", "user_group",
    "user_setting",
)  # fmt: skip


def redis_token_key(digest: str) -> str:
    return f"relay:tok:{digest}"


class PrincipalCache:
    """digest → Principal: a per-process LRU, then Redis (shared), then SQL.

    Entries live SYNC_FREQUENCY seconds and are dropped at once on a pub/sub change event.
    Unknown keys are remembered briefly too, so a flood of bad keys does not reach SQL.
    """

    NEGATIVE_TTL = 5.0

    def __init__(self, redis: Any, engine: AsyncEngine, ttl: float, size: int = 100_000) -> None:
        self._redis = redis
        self._engine = engine
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()

    async def get(self, digest: str) -> Principal | None:
        now = time.monotonic()
        entry = self._entries.get(digest)
        if entry is not None and entry[0] > now:
            return entry[1]
        principal, ttl = await self._fetch(digest)
        self._entries[digest] = (now + ttl, principal)
        self._entries.move_to_end(digest)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return principal

    async def _fetch(self, digest: str) -> tuple[Principal | None, float]:
        cached = await self._redis.get(redis_token_key(digest))
        if cached is not None:
            fields = msgpack.unpackb(cached)
            return Principal.from_row(dict(zip(_ROW_FIELDS, fields, strict=True))), self._ttl
        async with self._engine.connect() as conn:
            row = await principal_row(conn, digest)
        if row is None or int(row["token_status"]) != 1:
            return None, self.NEGATIVE_TTL
        packed = msgpack.packb([row[f] for f in _ROW_FIELDS])
        await self._redis.set(redis_token_key(digest), packed, ex=max(int(self._ttl), 1))
        return Principal.from_row(row), self._ttl

    async def invalidate_token(self, digest: str) -> None:
        """Forget a changed token here and in Redis; the shared copy goes first, so this
        process cannot read the stale one back once its own entry is gone."""
        await self._redis.delete(redis_token_key(digest))
        self._entries.pop(digest, None)

    async def invalidate_user(self, user_id: int) -> None:
        stale = [d for d, (_, p) in self._entries.items() if p is not None and p.user_id == user_id]
        if stale:
            await self._redis.delete(*(redis_token_key(d) for d in stale))
        for digest in stale:
            self._entries.pop(digest, None)

    def clear(self) -> None:
        self._entries.clear()
