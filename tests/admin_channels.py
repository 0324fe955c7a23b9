"""Helpers for the channel admin API tests: create channels through the API, read them back."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import openai
from admin_client import AdminClient
from relay_harness import MockUpstream, RelayServer, Store
from sqlalchemy import text

from relay.store.channels import parse_info


def new_group() -> str:
    return f"cg{uuid.uuid4().hex[:10]}"


def spec(upstream: MockUpstream, group: str, key: str = "mock", **fields: Any) -> dict[str, Any]:
    return {
        "type": 1,
        "name": fields.pop("name", f"ch-{uuid.uuid4().hex[:6]}"),
        "key": key,
        "base_url": upstream.url,
        "models": "gpt-4o-mini",
        "group": group,
        **fields,
    }


async def create(
    admin: AdminClient,
    upstream: MockUpstream,
    group: str,
    key: str = "mock",
    mode: str = "single",
    **fields: Any,
) -> list[int]:
    body: dict[str, Any] = {"mode": mode, "channel": spec(upstream, group, key, **fields)}
    if "multi_key_mode" in fields:
        body["multi_key_mode"] = fields.pop("multi_key_mode")
        body["channel"].pop("multi_key_mode")
    reply = await admin.post("/api/channel/", body)
    assert reply.ok, reply.body
    return list(reply.data)


async def one(
    admin: AdminClient, upstream: MockUpstream, group: str, key: str = "mock", **f: Any
) -> int:
    return (await create(admin, upstream, group, key, **f))[0]


async def row(store: Store, channel_id: int) -> dict[str, Any]:
    async with store.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT * FROM channels WHERE id = :id"), {"id": channel_id}
        )
        found = result.mappings().first()
    assert found is not None, channel_id
    return dict(found)


async def key_of(store: Store, channel_id: int) -> str:
    return store.keyring.open((await row(store, channel_id))["key"])


async def info_of(store: Store, channel_id: int) -> dict[str, Any]:
    return parse_info((await row(store, channel_id))["channel_info"])


async def enabled_abilities(store: Store, channel_id: int) -> int:
    return int(
        await store.scalar(
            "SELECT COUNT(*) FROM abilities WHERE channel_id = :id AND enabled = :t",
            id=channel_id,
            t=True,
        )
    )


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


async def chat(relay: RelayServer, api_key: str, model: str = "gpt-4o-mini") -> str:
    """One chat call through the relay port; the reply text (raises on an API error)."""
    async with client(relay, api_key) as api:
        reply = await api.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}]
        )
    return reply.choices[0].message.content or ""


async def wait_for(predicate: Any, timeout: float, step: float = 0.2) -> Any:
    """Poll an async predicate until it returns something truthy (or fail after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(step)


class Options:
    """Set options for a test and put the old values back afterwards."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.saved: dict[str, Any] = {}

    async def set(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            if name not in self.saved:
                self.saved[name] = await self.store.scalar(
                    'SELECT value FROM options WHERE "key" = :k', k=name
                )
            await self.store.option(name, value)
        await self.store.publish_routing()

    async def restore(self) -> None:
        async with self.store.engine.begin() as conn:
            for name, value in self.saved.items():
                if value is None:
                    await conn.execute(text('DELETE FROM options WHERE "key" = :k'), {"k": name})
                else:
                    await conn.execute(
                        text('UPDATE options SET value = :v WHERE "key" = :k'),
                        {"k": name, "v": value},
                    )
        self.saved.clear()
        await self.store.publish_routing()
