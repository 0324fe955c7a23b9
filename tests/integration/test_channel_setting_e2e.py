"""End to end: a channel's `setting` through `relay serve`, with the openai and anthropic
SDKs: the system prompt (added, or prefixed with system_prompt_override) on passed-through
and converted calls, pass_through_body_enabled, thinking_to_content on a reasoning stream,
and channels reaching the mock upstream through a real HTTP proxy and a SOCKS5 server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anthropic
import openai
import orjson
import pytest
from chat_fixtures import HI_BRIEFLY
from google import genai
from google.genai import types
from proxy_kit import http_proxy, socks5_proxy
from relay_harness import MockUpstream, RelayServer, Scenario, Store

pytestmark = pytest.mark.integration

ANTHROPIC = 14
GEMINI = 24
CLAUDE = "claude-sonnet-4-20250514"
FLASH = "gemini-2.0-flash"
HI = [{"role": "user", "content": "hello"}]
PROMPT = "Answer in French."


def fresh(key: str) -> str:
    """A mock key of its own (the mock upstream serves every backend's run)."""
    return f"{key};run={uuid.uuid4().hex[:8]}"


def chat_client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


def claude_client(relay: RelayServer, api_key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=relay.url, api_key=api_key, max_retries=0)


async def one_channel(
    store: Store, upstream: MockUpstream, key: str, setting: dict[str, Any], **extra: Any
) -> Scenario:
    channel = {"key": key, "setting": orjson.dumps(setting).decode(), **extra}
    models = {ANTHROPIC: (CLAUDE,), GEMINI: (FLASH,)}.get(extra.get("type", 1), ("gpt-4o-mini",))
    return await store.scenario(upstream, channels=[channel], models=models)


async def test_system_prompt_on_openai_chat(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = fresh("mock;sp=add")
    s = await one_channel(store, upstream, key, {"system_prompt": PROMPT})
    override = fresh("mock;sp=override;words=3")
    o = await one_channel(
        store, upstream, override, {"system_prompt": PROMPT, "system_prompt_override": True}
    )
    async with chat_client(relay, s.api_key) as api:
        await api.chat.completions.create(model="gpt-4o-mini", messages=HI)
        await api.chat.completions.create(model="gpt-4o-mini", messages=HI_BRIEFLY, stream=True)
    async with chat_client(relay, o.api_key) as api:
        stream = await api.chat.completions.create(
            model="gpt-4o-mini", messages=HI_BRIEFLY, stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    added, kept = await upstream.calls(key)
    assert added["body"]["messages"] == [{"role": "system", "content": PROMPT}, *HI]
    assert kept["body"]["messages"] == HI_BRIEFLY  # the client has its own: left alone
    assert kept["body"]["stream_options"] == {"include_usage": True}  # still injected
    (prefixed,) = await upstream.calls(override)
    assert prefixed["body"]["messages"][0] == {"role": "system", "content": PROMPT + "\nbe brief"}
    assert text == "Hello from the"


async def test_system_prompt_on_claude_clients(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    setting = {"system_prompt": PROMPT, "system_prompt_override": True}
    native_key, converted_key = fresh("mock;sp=claude"), fresh("mock;sp=claude-via-openai")
    native = await one_channel(store, upstream, native_key, setting, type=ANTHROPIC)
    converted = await one_channel(store, upstream, converted_key, {"system_prompt": PROMPT})
    async with claude_client(relay, native.api_key) as api:
        await api.messages.create(model=CLAUDE, max_tokens=50, system=" be brief ", messages=HI)
        blocks: Any = [{"type": "text", "text": "be brief"}]
        await api.messages.create(model=CLAUDE, max_tokens=50, system=blocks, messages=HI)
    async with claude_client(relay, converted.api_key) as api:
        msg = await api.messages.create(model="gpt-4o-mini", max_tokens=50, messages=HI)
    as_text, as_blocks = await upstream.calls(native_key)
    assert as_text["body"]["system"] == PROMPT + "\nbe brief"
    assert as_blocks["body"]["system"] == [{"type": "text", "text": PROMPT}, *blocks]
    (sent,) = await upstream.calls(converted_key)
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["messages"][0] == {"role": "system", "content": PROMPT}
    assert msg.content[0].type == "text"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:  # for the genai SDK (its own session warns)
        yield s


def gemini_client(relay: RelayServer, api_key: str, session: aiohttp.ClientSession) -> genai.Client:
    options = types.HttpOptions(
        base_url=relay.url,
        api_version="v1beta",
        retry_options=types.HttpRetryOptions(attempts=1),
        aiohttp_client=session,
    )
    return genai.Client(api_key=api_key, http_options=options)


async def test_system_prompt_and_thinking_on_gemini_channels(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    key = fresh("gemini;words=3")
    setting = {"system_prompt": PROMPT, "system_prompt_override": True, "thinking_to_content": True}
    s = await one_channel(store, upstream, key, setting, type=GEMINI)
    api = gemini_client(relay, s.api_key, session)
    brief = types.GenerateContentConfig(system_instruction="be brief")
    reply = await api.aio.models.generate_content(model=FLASH, contents="hello", config=brief)
    await api.aio.models.generate_content(model=FLASH, contents="hello")
    thinking_key = fresh("gemini;thinking=1;words=3")
    t = await one_channel(store, upstream, thinking_key, {"thinking_to_content": True}, type=GEMINI)
    async with chat_client(relay, t.api_key) as chat:
        stream = await chat.chat.completions.create(model=FLASH, messages=HI, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    prefixed, added = await upstream.calls(key)
    assert prefixed["body"]["systemInstruction"] == {
        "parts": [{"text": PROMPT + "\nbe brief"}],
        "role": "user",
    }
    assert added["body"] == {  # re-encoded without relay's own model/stream hints
        "contents": [{"parts": [{"text": "hello"}], "role": "user"}],
        "systemInstruction": {"parts": [{"text": PROMPT}]},
    }
    assert reply.text == "Hello from the"
    # a Gemini channel's converted stream gets <think> content too (new-api's handleStream)
    assert text == "<think>\nLet me think about it.\n</think>\nHello from the"


async def test_pass_through_body_sends_the_client_bytes(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = fresh("mock;pass=1;words=3")
    setting = {"pass_through_body_enabled": True, "system_prompt": PROMPT}
    s = await one_channel(
        store,
        upstream,
        key,
        setting,
        model_mapping='{"gpt-4o-mini": "gpt-4.1-mini"}',
        param_override='{"temperature": 0.1}',
    )
    async with chat_client(relay, s.api_key) as api:
        reply = await api.chat.completions.create(
            model="gpt-4o-mini", messages=HI, extra_body={"odd_field": [1]}
        )
        stream = await api.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
        chunks = [c async for c in stream]
    whole, streamed = await upstream.calls(key)
    # no model mapping, no system prompt, no param_override, no stream_options injected
    assert whole["body"] == {"messages": HI, "model": "gpt-4o-mini", "odd_field": [1]}
    assert streamed["body"] == {"messages": HI, "model": "gpt-4o-mini", "stream": True}
    assert reply.choices[0].message.content == "Hello from the"
    assert all(c.usage is None for c in chunks)


async def test_thinking_to_content_on_a_reasoning_stream(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = fresh("mock;thinking=1;words=3;pt=7;ct=5")
    s = await one_channel(store, upstream, key, {"thinking_to_content": True})
    plain_key = fresh("mock;thinking=1;words=3;plain")
    p = await one_channel(store, upstream, plain_key, {})
    async with chat_client(relay, s.api_key) as api:
        stream = await api.chat.completions.create(
            model="gpt-4o-mini", messages=HI, stream=True, stream_options={"include_usage": True}
        )
        chunks = [c async for c in stream]
        whole = await api.chat.completions.create(model="gpt-4o-mini", messages=HI)
    async with chat_client(relay, p.api_key) as api:
        raw = await api.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
        untouched = [c async for c in raw]
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    text = "".join(d.content or "" for d in deltas)
    assert text == "<think>\nLet me think about it.\n</think>\nHello from the"
    assert all(getattr(d, "reasoning_content", None) is None for d in deltas)
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and (usage[0].prompt_tokens, usage[0].completion_tokens) == (7, 5)
    # non-stream answers are unchanged, as in new-api
    assert getattr(whole.choices[0].message, "reasoning_content", None) == "Let me think about it."
    plain = [c.choices[0].delta for c in untouched if c.choices]
    assert "".join(getattr(d, "reasoning_content", None) or "" for d in plain) == (
        "Let me think about it."
    )
    assert "".join(d.content or "" for d in plain) == "Hello from the"


async def test_force_format_reserializes_as_new_api(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await one_channel(store, upstream, fresh("mock;words=2"), {"force_format": True})
    async with chat_client(relay, s.api_key) as api:
        raw = await api.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI)
        reply = raw.parse()
        body = orjson.loads(raw.http_response.content)
        stream = await api.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=HI, stream=True
        )
        frames = [line async for line in stream.http_response.aiter_lines() if line]
    assert reply.choices[0].message.content == "Hello from"
    # the mock's system_fingerprint, refusal and logprobs are not in new-api's structs
    assert list(body) == ["id", "model", "object", "created", "choices", "usage"]
    assert body["choices"][0] == {
        "index": 0,
        "message": {"role": "assistant", "content": "Hello from"},
        "finish_reason": "stop",
    }
    assert frames[-1] == "data: [DONE]"
    first = orjson.loads(frames[0].removeprefix("data: "))
    assert list(first) == [
        "id", "object", "created", "model", "system_fingerprint", "choices", "usage"
    ]  # fmt: skip
    assert first["usage"] is None  # the mock sends no usage field here: Go writes null
    assert first["choices"][0]["delta"] == {"content": "", "role": "assistant"}  # no refusal


async def test_channels_reach_the_upstream_through_their_proxy(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    async with http_proxy("relay:s3cret") as proxy, socks5_proxy("relay:s3cret") as socks:
        http_key, socks_key = fresh("mock;via=http;words=3"), fresh("mock;via=socks;words=3")
        via_http = await one_channel(
            store, upstream, http_key, {"proxy": f"http://relay:s3cret@127.0.0.1:{proxy.port}"}
        )
        via_socks = await one_channel(
            store, upstream, socks_key, {"proxy": f"socks5h://relay:s3cret@127.0.0.1:{socks.port}"}
        )
        wrong = await one_channel(
            store,
            upstream,
            fresh("mock;via=bad"),
            {"proxy": f"http://relay:nope@127.0.0.1:{proxy.port}"},
        )
        for s in (via_http, via_socks):
            async with chat_client(relay, s.api_key) as api:
                reply = await api.chat.completions.create(model="gpt-4o-mini", messages=HI)
                stream = await api.chat.completions.create(
                    model="gpt-4o-mini", messages=HI, stream=True
                )
                text = "".join(
                    [c.choices[0].delta.content or "" async for c in stream if c.choices]
                )
            assert reply.choices[0].message.content == "Hello from the"
            assert text == "Hello from the"
        async with chat_client(relay, wrong.api_key) as api:
            with pytest.raises(openai.APIStatusError) as refused:
                await api.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert f"POST {upstream.url}/v1/chat/completions" in proxy.targets
    assert "relay:s3cret" in proxy.auth
    assert f"127.0.0.1:{upstream.port}" in socks.targets and socks.auth[0] == "relay:s3cret"
    assert len(await upstream.calls(http_key)) == len(await upstream.calls(socks_key)) == 2
    assert refused.value.status_code == 407  # the proxy's answer, passed on as upstream error
    assert "nope" not in str(refused.value.body) and "s3cret" not in str(refused.value.body)
