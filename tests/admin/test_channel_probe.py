"""relay.admin.channel_probe: the channel test goes through the channel's proxy (a real HTTP
proxy and SOCKS5 server from proxy_kit, a stub upstream), and its failures name no proxy
credential (real Redis and SQL, no server)."""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from http_kit import Stub, answering, ok_response, stub
from proxy_kit import http_proxy, socks5_proxy
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.admin.channel_probe import (
    ProbeError,
    ProbeOutcome,
    fetch_channel_models,
    run_channel_test,
    update_balance,
)
from relay.admin.context import AdminContext
from relay.crypto import Keyring
from relay.providers.registry import ChannelType
from relay.quota.service import QuotaService
from relay.settings import Settings
from relay.store.channels import create_channel, get_channel

KEYRING = Keyring("probe-test-secret")
SECRET = "s3cr3t-pw"
_names = itertools.count(1)
CHAT = orjson.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
)


async def _no_balances(_u: int, _t: int) -> None:
    return None


@pytest.fixture(scope="module")
async def ctx(state: tuple[Any, AsyncEngine]) -> AsyncIterator[AdminContext]:
    """An admin process's context on the module's Redis and database (tests/admin/conftest)."""
    redis, engine = state
    async with aiohttp.ClientSession() as http:
        context = AdminContext(
            settings=Settings(),
            engine=engine,
            redis=redis,
            keyring=KEYRING,
            quota=QuotaService(redis, 60, _no_balances),
            http=http,
            started=time.time(),
        )
        yield context
        await context.upstream.close()


@pytest.fixture
async def upstream() -> AsyncIterator[Stub]:
    async with stub(answering(ok_response(CHAT, "Content-Type: application/json"))) as served:
        yield served


async def proxied_channel(
    ctx: AdminContext, base_url: str, proxy: str, type: int = ChannelType.OPENAI
) -> Any:
    """A new channel row with `setting.proxy`."""
    async with ctx.engine.begin() as conn:
        channel_id = await create_channel(
            conn,
            KEYRING,
            name=f"p{next(_names)}",
            key="sk-test",
            models=["gpt-4o-mini"],
            type=type,
            base_url=base_url,
            setting=orjson.dumps({"proxy": proxy}).decode(),
        )
        row = await get_channel(conn, channel_id)
    assert row is not None
    return row


async def probe(ctx: AdminContext, base_url: str, proxy: str) -> ProbeOutcome:
    """Test a new channel with `setting.proxy` (user 0: nothing is billed)."""
    return await run_channel_test(ctx, await proxied_channel(ctx, base_url, proxy), "", 0)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_test_goes_through_an_http_proxy_with_its_credentials(
    ctx: AdminContext, upstream: Stub
) -> None:
    base = f"http://127.0.0.1:{upstream.port}"
    async with http_proxy(f"relay:{SECRET}") as proxy:
        outcome = await probe(ctx, base, f"http://relay:{SECRET}@127.0.0.1:{proxy.port}")
    assert outcome.ok, outcome.message
    assert proxy.targets == [f"POST {base}/v1/chat/completions"]
    assert proxy.auth == [f"relay:{SECRET}"]
    head, body = upstream.requests[-1]
    assert b"proxy-authorization" not in head.lower()  # the proxy's, never the upstream's
    assert orjson.loads(body)["messages"] == [{"role": "user", "content": "hi"}]


async def test_the_test_goes_through_a_socks5_proxy(ctx: AdminContext, upstream: Stub) -> None:
    async with socks5_proxy(f"relay:{SECRET}") as socks:
        outcome = await probe(
            ctx,
            f"http://localhost:{upstream.port}",
            f"socks5h://relay:{SECRET}@127.0.0.1:{socks.port}",
        )
    assert outcome.ok, outcome.message
    assert socks.targets == [f"localhost:{upstream.port}"]  # resolved by the proxy
    assert socks.auth == [f"relay:{SECRET}"]


async def test_a_proxy_refusal_fails_the_test_without_the_credentials(
    ctx: AdminContext, upstream: Stub
) -> None:
    base = f"http://127.0.0.1:{upstream.port}"
    async with socks5_proxy(f"relay:{SECRET}") as socks:
        refused = await probe(ctx, base, f"socks5://relay:wrong-{SECRET}@127.0.0.1:{socks.port}")
    assert not refused.ok and refused.error is not None
    assert refused.error.code == "do_request_failed"
    assert f"socks5://127.0.0.1:{socks.port}" in refused.message
    async with http_proxy(f"relay:{SECRET}") as proxy:
        denied = await probe(ctx, base, f"http://relay:wrong-{SECRET}@127.0.0.1:{proxy.port}")
    assert not denied.ok and denied.error is not None and denied.error.status == 407
    gone = await probe(ctx, base, f"http://relay:{SECRET}@127.0.0.1:{closed_port()}")
    assert not gone.ok and "Failed to reach the upstream" in gone.message
    for outcome in (refused, denied, gone):
        assert SECRET not in outcome.message and "relay:" not in outcome.message
    assert upstream.requests == []


async def test_an_unusable_proxy_url_fails_without_naming_it(
    ctx: AdminContext, upstream: Stub
) -> None:
    outcome = await probe(ctx, f"http://127.0.0.1:{upstream.port}", f"ftp://u:{SECRET}@host:21")
    assert not outcome.ok and outcome.error is None
    assert outcome.message == (
        "the channel's proxy is not usable: proxy URL must use http, https, socks5 or socks5h"
    )
    assert upstream.requests == []


async def test_model_lists_and_balances_go_through_the_proxy(ctx: AdminContext) -> None:
    models = orjson.dumps({"data": [{"id": "m1"}, {"id": "m2"}]})
    credits = orjson.dumps({"data": {"total_credits": 10, "total_usage": 2.5}})
    async with (
        stub(answering(ok_response(models))) as listing,
        stub(answering(ok_response(credits))) as billing,
        http_proxy(f"relay:{SECRET}") as proxy,
        socks5_proxy() as socks,
    ):
        via_http = f"http://relay:{SECRET}@127.0.0.1:{proxy.port}"
        row = await proxied_channel(ctx, f"http://127.0.0.1:{listing.port}", via_http)
        assert await fetch_channel_models(ctx, row) == ["m1", "m2"]
        row = await proxied_channel(
            ctx,
            f"http://127.0.0.1:{billing.port}",
            f"socks5://127.0.0.1:{socks.port}",
            ChannelType.OPENROUTER,
        )
        assert await update_balance(ctx, row) == 7.5
        row = await proxied_channel(
            ctx,
            f"http://127.0.0.1:{billing.port}",
            f"http://relay:{SECRET}@127.0.0.1:{closed_port()}",
        )
        with pytest.raises(ProbeError) as failed:
            await fetch_channel_models(ctx, row)
    assert proxy.targets == [f"GET http://127.0.0.1:{listing.port}/v1/models"]
    assert proxy.auth == [f"relay:{SECRET}"]
    assert socks.targets == [f"127.0.0.1:{billing.port}"]
    assert b"GET /v1/credits " in billing.requests[0][0]
    assert str(failed.value) == "request failed: ConnectionRefusedError"
