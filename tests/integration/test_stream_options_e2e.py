"""End to end: a client's stream_options as new-api forwards them (relay/compatible_handler.go):
kept only when the channel type takes them and the call streams, else removed, the usage then
counted locally (and, when the client asked, sent in a last usage chunk)."""

from __future__ import annotations

import openai
import pytest
from chat_fixtures import HI_BRIEFLY
from relay_harness import MockUpstream, RelayServer, Store

pytestmark = pytest.mark.integration

MINI = "gpt-4o-mini"
OPENAI, MISTRAL = 1, 42  # Mistral is not on new-api's list of stream_options channel types
USAGE = {"include_usage": True}


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


async def test_a_vendor_without_stream_options_never_sees_them(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=MI;pt=50;ct=10;words=3"
    s = await store.scenario(upstream, channels=[{"key": key, "type": MISTRAL}])
    async with client(relay, s.api_key) as api:
        stream = await api.chat.completions.create(
            model=MINI, messages=HI_BRIEFLY, stream=True, stream_options=USAGE
        )
        chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "[MI] Hello from the"
    sent = (await upstream.calls(key))[-1]
    assert sent["stream"] is True and "stream_options" not in sent["body"]
    assert sent["body"]["messages"] == HI_BRIEFLY
    # new-api's own usage chunk (the local count) ends the stream, with the last chunk's id.
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.id == chunks[-2].id
    assert last.usage.completion_tokens > 0 and last.usage.total_tokens == (
        last.usage.prompt_tokens + last.usage.completion_tokens
    )
    assert sum(c.usage is not None for c in chunks) == 1
    balances = await store.balances(s)
    assert balances["token_used"] > 0 and not balances["token_held"]  # counted locally


async def test_stream_options_of_a_call_that_does_not_stream_are_removed(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=NS;pt=5;ct=2"
    s = await store.scenario(upstream, channels=[{"key": key, "type": OPENAI}])
    async with client(relay, s.api_key) as api:
        reply = await api.chat.completions.create(
            model=MINI, messages=HI_BRIEFLY, stream_options=USAGE
        )
    assert reply.usage is not None and reply.usage.prompt_tokens == 5
    sent = (await upstream.calls(key))[-1]
    assert "stream_options" not in sent["body"]


async def test_a_vendor_with_stream_options_gets_the_clients(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=SO;pt=5;ct=2"
    s = await store.scenario(upstream, channels=[{"key": key, "type": OPENAI}])
    async with client(relay, s.api_key) as api:
        stream = await api.chat.completions.create(
            model=MINI, messages=HI_BRIEFLY, stream=True, stream_options=USAGE
        )
        usage = [c.usage async for c in stream if c.usage is not None]
    assert [(u.prompt_tokens, u.completion_tokens) for u in usage] == [(5, 2)]
    assert (await upstream.calls(key))[-1]["body"]["stream_options"] == USAGE
