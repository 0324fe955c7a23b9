"""End to end, the full matrix: every client format (openai SDK Chat and Responses, anthropic
SDK Messages, google-genai SDK generateContent) through one `relay serve` to every channel type,
whole and streamed, plain text and one tool call: exact text, the client's finish reason and
tool call, the usage the client sees, and the quota billed from the upstream's usage.

Adding a channel type is one `Upstream` row in CHANNELS; adding a client format is one `Client`
class in CLIENTS (see tests/format_clients.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import openai
import orjson
import pytest
from format_clients import CLIENTS, Outcome, Transports
from relay_harness import MockUpstream, RelayServer, Scenario, Seeded, Store
from sqlalchemy import text

from relay.store.tokens import create_token

pytestmark = pytest.mark.integration

# What every mock channel reports: prompt, completion and cache-read tokens; the reply's words.
PT, CT, CACHED, WORDS = 50, 10, 20, 3
TEXT = "Hello from the"  # the mock's first WORDS words, after the channel's tag


@dataclass(frozen=True)
class Upstream:
    """One channel type of the matrix: how relay must reach it, the model it serves and
    new-api's ratios for that model (ratio / completion ratio / cache ratio)."""

    name: str
    type: int
    wire: str  # the channel's native format: openai, claude or gemini
    model: str
    ratios: tuple[str, str, str]
    # OpenAI and Gemini count cache reads inside the prompt; Anthropic's input excludes them.
    prompt_includes_cache: bool = True
    cache_write: int = 0  # Anthropic cache-creation tokens, billed at CreateCacheRatio 1.25
    chat_path: str = "/v1/chat/completions"
    # where a Responses client's call goes as it is; None: through Chat (OpenAI family only)
    responses_path: str | None = "/v1/responses"
    # where new-api sends a Claude client's call as it is (DeepSeek's and DashScope's
    # Anthropic-compatible APIs: Anthropic usage then); None: through Chat
    claude_path: str | None = None

    @property
    def tag(self) -> str:
        return self.name.upper()

    @property
    def key(self) -> str:
        key = f"mx-{self.name};tag={self.tag};pt={PT};ct={CT};cached={CACHED};words={WORDS}"
        return key + (f";cw={self.cache_write}" if self.cache_write else "")

    def serving(self, client: str) -> Upstream:
        """This channel as a call of `client` meets it: a Claude client on a channel with its
        own Anthropic-compatible API speaks Claude to it, with Anthropic's usage."""
        if client != "claude" or self.claude_path is None:
            return self
        return replace(self, wire="claude", prompt_includes_cache=False)

    def path(self, client: str, stream: bool) -> str:
        """The upstream path a call of `client` must reach on this channel."""
        if self.wire == "claude":
            return self.claude_path or "/v1/messages"
        if self.wire == "gemini":
            return f"/v1beta/models/{self.model}:{'streamG' if stream else 'g'}enerateContent"
        if client == "responses" and self.responses_path is not None:
            return self.responses_path
        return self.chat_path

    def pivot_prompt(self) -> int:
        """The prompt tokens in OpenAI's sense (cache reads and writes included)."""
        return PT if self.prompt_includes_cache else PT + CACHED + self.cache_write

    def quota(self) -> int:
        """new-api's settlement, computed independently from the upstream's usage."""
        model_ratio, completion_ratio, cache_ratio = map(Decimal, self.ratios)
        base = PT - CACHED - self.cache_write if self.prompt_includes_cache else PT
        prompt = base + CACHED * cache_ratio + self.cache_write * Decimal("1.25")
        value = (prompt + CT * completion_ratio) * model_ratio
        return max(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 1)


CHANNELS = [
    Upstream("openai", 1, "openai", "gpt-4o-mini", ("0.075", "4", "0.5")),
    Upstream(
        "deepseek",
        43,
        "openai",
        "deepseek-chat",
        ("0.135", "1", "0.25"),
        responses_path="/responses",
        claude_path="/anthropic/v1/messages",
    ),
    Upstream(
        "anthropic",
        14,
        "claude",
        "claude-sonnet-4-20250514",
        ("1.5", "5", "0.1"),
        prompt_includes_cache=False,
        cache_write=8,
    ),
    # gemini-2.0-flash and qwen-plus have no default cache ratio: the module's option gives one
    Upstream("gemini", 24, "gemini", "gemini-2.0-flash", ("0.05", "4", "0.25")),
    Upstream(
        "azure",
        3,
        "openai",
        "gpt-4o",
        ("1.25", "4", "0.5"),
        chat_path="/openai/deployments/gpt-4o/chat/completions",
        responses_path="/openai/v1/responses",
    ),
    Upstream(
        "ali",
        17,
        "openai",
        "qwen-plus",
        ("10", "1", "0.2"),
        chat_path="/compatible-mode/v1/chat/completions",
        responses_path="/api/v2/apps/protocols/compatible-mode/v1/responses",
        claude_path="/apps/anthropic/v1/messages",  # qwen*: new-api ALI_ANTHROPIC_MESSAGES_MODELS
    ),
]
BY_NAME = {c.name: c for c in CHANNELS}
# Cells where relay is known to be wrong, with the reason: {(client, channel, tools, stream)}.
KNOWN_BAD: dict[tuple[str, str, bool, bool], str] = {}


def cells() -> list[object]:
    params: list[object] = []
    for client in CLIENTS:
        for channel in CHANNELS:
            for tools in (False, True):
                for stream in (False, True):
                    cell = (client, channel.name, tools, stream)
                    bad = KNOWN_BAD.get(cell)
                    marks = [pytest.mark.xfail(strict=True, reason=bad)] if bad else []
                    kind = "tool" if tools else "text"
                    mode = "stream" if stream else "whole"
                    cid = f"{client}-{channel.name}-{kind}-{mode}"
                    params.append(pytest.param(*cell, marks=marks, id=cid))
    return params


@pytest.fixture(scope="module")
async def matrix(store: Store, upstream: MockUpstream) -> Scenario:
    """One routing group holding one channel of every type, each serving its own model."""
    cache = {c.model: float(c.ratios[2]) for c in CHANNELS}  # replaces the whole default table
    await store.option("CacheRatio", orjson.dumps(cache).decode())
    channels = [{"key": c.key, "type": c.type, "models": [c.model]} for c in CHANNELS]
    return await store.scenario(upstream, channels=channels)


@pytest.fixture(scope="module")
def charged(matrix: Scenario) -> dict[int, tuple[Upstream, bool]]:
    """Token id → (channel, stream) of each cell that ran, for the usage-log check."""
    return {}


@pytest.fixture(scope="module")
async def transports() -> AsyncIterator[Transports]:
    # google-genai's own session subclasses aiohttp.ClientSession, which warns: give it ours.
    shared = Transports(openai.DefaultAsyncHttpxClient(), aiohttp.ClientSession())
    yield shared
    await shared.close()


async def fresh_token(store: Store, owner: Scenario) -> Seeded:
    """A new token of the matrix's user: its spend is one cell's alone."""
    async with store.engine.begin() as conn:
        token_id, key = await create_token(conn, store.keyring, owner.user_id, remain_quota=10**8)
    return Seeded(owner.user_id, token_id, key)


async def billed(store: Store, token: Seeded, timeout: float = 5.0) -> int:
    """The token's spend once its call has settled (holds released, a charge recorded)."""
    balances = await store.balances(token)
    for _ in range(int(timeout / 0.05)):
        if balances["token_used"] and not balances["token_held"]:
            break
        await asyncio.sleep(0.05)
        balances = await store.balances(token)
    return balances["token_used"]


@pytest.mark.parametrize(("client", "channel", "tools", "stream"), cells())
async def test_cell(
    relay: RelayServer,
    store: Store,
    upstream: MockUpstream,
    matrix: Scenario,
    charged: dict[int, tuple[Upstream, bool]],
    transports: Transports,
    client: str,
    channel: str,
    tools: bool,
    stream: bool,
) -> None:
    up = BY_NAME[channel].serving(client)
    token = await fresh_token(store, matrix)
    api = CLIENTS[client](relay, token.api_key, transports)
    got: Outcome = await api.ask(up.model, tools=tools, stream=stream)
    if tools:
        assert got.calls == [("get_weather", {"city": "Paris"})], got
        assert got.text == "", got
        assert got.finish == api.tool_finish, got
    else:
        assert got.text == f"[{up.tag}] {TEXT}", got
        assert got.calls == [], got
        assert got.finish == api.text_finish, got
    prompt = PT if api.native_input else up.pivot_prompt()
    cached = CACHED if api.converted_cache_reads or api.wire == up.wire else 0
    assert got.usage == (prompt, CT, cached), got
    assert await billed(store, token) == up.quota()
    sent = (await upstream.calls(up.key))[-1]
    assert (sent["path"], sent["stream"]) == (up.path(client, stream), stream)
    charged[token.token_id] = (up, stream)


async def test_usage_log_records_each_cell(
    store: Store, matrix: Scenario, charged: dict[int, tuple[Upstream, bool]]
) -> None:
    """Every cell above left one consume log: its model, channel, stream flag and charge."""
    await store.wait_drained()
    channel_ids = dict(zip((c.name for c in CHANNELS), matrix.channel_ids, strict=True))
    async with store.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT token_id, model_name, channel_id, is_stream, quota FROM logs "
                    'WHERE type = 2 AND "group" = :g'
                ),
                {"g": matrix.group},
            )
        ).all()
    logged: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        logged.setdefault(row[0], []).append(tuple(row[1:]))
    for token_id, (up, stream) in charged.items():
        assert logged.get(token_id) == [(up.model, channel_ids[up.name], stream, up.quota())]
