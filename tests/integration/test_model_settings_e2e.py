"""End to end: new-api's claude.* and gemini.* options, changed with PUT /api/option, reach
the upstream requests of every worker (no restart); bad values are refused."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from admin_client import AdminClient, Reply, root
from chat_fixtures import HI_BRIEFLY
from relay_harness import MockUpstream, RelayServer, Store

pytestmark = pytest.mark.integration

CLAUDE = "claude-sonnet-4-20250514"
FLASH = "gemini-2.0-flash"
SAFETY = '{"default": "BLOCK_NONE", "HARM_CATEGORY_HARASSMENT": "BLOCK_ONLY_HIGH"}'


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


async def put(admin: AdminClient, key: str, value: Any) -> Reply:
    return await admin.put("/api/option/", {"key": key, "value": value})


async def ask(relay: RelayServer, api_key: str, model: str) -> None:
    async with client(relay, api_key) as api:  # a fresh connection: any worker may answer
        await api.chat.completions.create(model=model, messages=HI_BRIEFLY)


async def test_claude_options_change_the_upstream_request(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=3;ct=2"
    s = await store.scenario(upstream, channels=[{"key": key, "type": 14}], models=(CLAUDE,))
    await ask(relay, s.api_key, CLAUDE)
    before = (await upstream.calls(key))[-1]
    assert before["body"]["max_tokens"] == 8192 and "anthropic-beta" not in before["headers"]
    async with root(relay) as admin:
        try:
            assert (
                await put(
                    admin, "claude.default_max_tokens", f'{{"default": 900, "{CLAUDE}": 321}}'
                )
            ).ok
            headers = f'{{"{CLAUDE}": {{"anthropic-beta": ["beta-one", "beta-two"]}}}}'
            assert (await put(admin, "claude.model_headers_settings", headers)).ok
            await asyncio.sleep(1.0)
            for _ in range(3):
                await ask(relay, s.api_key, CLAUDE)
        finally:
            assert (await put(admin, "claude.default_max_tokens", '{"default": 8192}')).ok
            assert (await put(admin, "claude.model_headers_settings", "{}")).ok
    for sent in (await upstream.calls(key))[-3:]:
        assert sent["body"]["max_tokens"] == 321
        assert sent["headers"]["anthropic-beta"] == "beta-one,beta-two"


async def test_gemini_options_change_the_upstream_request(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=3;ct=2"
    s = await store.scenario(upstream, channels=[{"key": key, "type": 24}], models=(FLASH,))
    await ask(relay, s.api_key, FLASH)
    before = (await upstream.calls(key))[-1]
    assert before["path"] == f"/v1beta/models/{FLASH}:generateContent"
    assert {x["threshold"] for x in before["body"]["safetySettings"]} == {"OFF"}
    async with root(relay) as admin:
        try:
            assert (await put(admin, "gemini.safety_settings", SAFETY)).ok
            assert (
                await put(
                    admin, "gemini.version_settings", f'{{"default": "v1beta", "{FLASH}": "v1"}}'
                )
            ).ok
            await asyncio.sleep(1.0)
            await ask(relay, s.api_key, FLASH)
        finally:
            assert (await put(admin, "gemini.safety_settings", '{"default": "OFF"}')).ok
            default_versions = '{"default": "v1beta", "gemini-1.0-pro": "v1"}'
            assert (await put(admin, "gemini.version_settings", default_versions)).ok
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == f"/v1/models/{FLASH}:generateContent"
    thresholds = {x["category"]: x["threshold"] for x in sent["body"]["safetySettings"]}
    assert thresholds["HARM_CATEGORY_HARASSMENT"] == "BLOCK_ONLY_HIGH"
    assert thresholds["HARM_CATEGORY_HATE_SPEECH"] == "BLOCK_NONE"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("gemini.safety_settings", '{"default": "BLOCK_SOMETIMES"}', "safety threshold"),
        ("claude.default_max_tokens", '{"default": -1}', "at least 0"),
        ("claude.thinking_adapter_budget_tokens_percentage", "2", "at most 1"),
    ],
)
async def test_bad_model_settings_are_refused(
    relay: RelayServer, key: str, value: str, message: str
) -> None:
    async with root(relay) as admin:
        reply = await put(admin, key, value)
    assert reply.status == 200 and reply.body["success"] is False
    assert message in reply.message, reply.message
