"""End to end: reading the client key and new-api's access checks (TokenAuth and Distribute).

Every refusal is checked for its status and new-api's middleware error body,
`{"error":{"message":"<text> (request id: <id>)","type":"new_api_error","code":"<code>"}}`,
with the id equal to the X-Oneapi-Request-Id header.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import openai
import pytest
from relay_harness import MockUpstream, RelayServer, Scenario, Store
from relay_http import CHAT, refused, send
from sqlalchemy import text

from relay import events
from relay.quota import keys
from relay.store.tokens import create_token

pytestmark = pytest.mark.integration


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


async def chat_ok(relay: RelayServer, api_key: str, model: str = "gpt-4o-mini") -> str:
    async with client(relay, api_key) as api:
        done = await api.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}]
        )
    return done.choices[0].message.content or ""


async def add_token(store: Store, user_id: int, **args: Any) -> tuple[int, str]:
    """Another token of an existing user, issued by relay's own store function."""
    async with store.engine.begin() as conn:
        tid, key = await create_token(conn, store.keyring, user_id, remain_quota=10**8, **args)
    return tid, f"sk-{key}"


async def execute(store: Store, sql: str, **params: Any) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(text(sql), params)


def tag() -> str:
    return uuid.uuid4().hex[:8]


# -- missing, unknown, disabled, expired and exhausted tokens ----------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer sk-"},
        {"Authorization": "Bearer sk-" + "A" * 48},
        {"Authorization": "Bearer not a key at all!"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"x-api-key": "sk-" + "B" * 48},  # not read on /v1/chat/completions
    ],
    ids=["none", "empty", "bearer-only", "sk-only", "unknown", "malformed", "basic", "x-api-key"],
)
async def test_missing_unknown_or_malformed_key_is_401(
    relay: RelayServer, headers: dict[str, str]
) -> None:
    assert refused(await send(relay, headers=headers), 401) == "Invalid token"


async def test_invalid_token_message_is_localized(relay: RelayServer) -> None:
    reply = await send(relay, key="sk-nope", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert refused(reply, 401) == "无效的令牌"
    reply = await send(relay, "/v1/models", method="GET", key="sk-nope")
    assert refused(reply, 401) == "Invalid token"


async def test_disabled_expired_and_exhausted_tokens_are_401(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    disabled_id, disabled = await add_token(store, s.user_id)
    await execute(store, "UPDATE tokens SET status = 2 WHERE id = :id", id=disabled_id)
    _, expired = await add_token(store, s.user_id, expired_time=int(time.time()) - 60)
    async with store.engine.begin() as conn:
        _, raw = await create_token(conn, store.keyring, s.user_id, remain_quota=0)
    exhausted = f"sk-{raw}"
    for key in (disabled, expired, exhausted):
        for path, method in ((CHAT, "POST"), ("/v1/models", "GET")):
            reply = await send(relay, path, method=method, key=key)
            assert refused(reply, 401) == "Invalid token", (key, path)
    assert await chat_ok(relay, s.api_key)  # the user's other token still works


async def disable_everywhere(store: Store, s: Scenario) -> None:
    """What disabling a token means: SQL status 2, then the change event every worker hears."""
    await execute(store, "UPDATE tokens SET status = 2 WHERE id = :id", id=s.token_id)
    digest = store.keyring.lookup_digest(s.key)
    await events.publish(store.redis, events.token_event(digest))
    await store.publish_routing()  # a second event, to know both workers have seen the first


async def test_token_disabled_after_use_is_refused_by_every_worker(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    for _ in range(4):  # warm the caches of both workers, Redis and the live balance
        assert await chat_ok(relay, s.api_key)
    await disable_everywhere(store, s)
    for _ in range(6):
        assert refused(await send(relay, key=s.api_key), 401) == "Invalid token"


async def test_user_banned_after_use_is_refused_by_every_worker(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    for _ in range(4):
        assert await chat_ok(relay, s.api_key)
    await execute(store, "UPDATE users SET status = 2 WHERE id = :id", id=s.user_id)
    await events.publish(store.redis, events.user_event(s.user_id))
    await store.publish_routing()
    for _ in range(6):
        assert refused(await send(relay, key=s.api_key), 403) == "User has been banned"


async def test_token_disabled_in_the_live_balance_is_refused(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    assert await chat_ok(relay, s.api_key)
    await store.redis.hset(keys.token_key(s.user_id, s.token_id), "st", "2")
    assert refused(await send(relay, key=s.api_key), 401) == "Invalid token"
    assert (await store.balances(s))["token_held"] == 0


# -- where the key is read from -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (CHAT, "bearer"),
        (CHAT, "no-bearer"),
        (CHAT, "no-sk"),
        ("/v1/models", "x-api-key"),
        ("/v1/models/gpt-4o-mini", "x-api-key"),
        ("/v1/models/gpt-4o-mini", "query"),
        ("/v1/models/gpt-4o-mini", "x-goog-api-key"),
        ("/v1/models/gpt-4o-mini", "goog-wins"),
    ],
)
async def test_key_sources(
    relay: RelayServer, store: Store, upstream: MockUpstream, path: str, where: str
) -> None:
    s = await store.scenario(upstream)
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    if where == "bearer":
        headers["Authorization"] = f"Bearer {s.api_key}"
    elif where == "no-bearer":
        headers["Authorization"] = s.api_key
    elif where == "no-sk":
        headers["Authorization"] = f"Bearer {s.key}"
    elif where == "x-api-key":
        headers = {"x-api-key": s.api_key, "Authorization": "Bearer sk-wrong"}
    elif where == "query":
        params["key"] = s.api_key
    elif where == "x-goog-api-key":
        headers["x-goog-api-key"] = s.api_key
    else:  # x-goog-api-key is read after ?key= and wins
        params["key"] = "sk-wrong"
        headers["x-goog-api-key"] = s.api_key
    method = "POST" if path == CHAT else "GET"
    reply = await send(relay, path, method=method, headers=headers, params=params)
    assert reply.status == 200, reply.body
    if path == CHAT:
        assert reply.body["choices"][0]["message"]["content"]
    elif path == "/v1/models":
        assert [m["id"] for m in reply.body["data"]] == ["gpt-4o-mini"]
    else:
        assert reply.body["id"] == "gpt-4o-mini"


async def test_query_key_is_not_read_on_the_model_list(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    reply = await send(relay, "/v1/models", method="GET", params={"key": s.api_key})
    assert refused(reply, 401) == "Invalid token"


# -- IP allow list, banned user, groups -------------------------------------------------------


@pytest.mark.parametrize(
    ("allow_ips", "forwarded", "allowed"),
    [
        ("10.0.0.0/8", None, False),
        ("10.0.0.0/8", "10.1.2.3", True),
        ("127.0.0.1", None, True),
        ("127.0.0.1", "10.1.2.3", False),
    ],
)
async def test_ip_allow_list(
    relay: RelayServer,
    store: Store,
    upstream: MockUpstream,
    allow_ips: str,
    forwarded: str | None,
    allowed: bool,
) -> None:
    s = await store.scenario(upstream, allow_ips=allow_ips)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    reply = await send(relay, key=s.api_key, headers=headers)
    if allowed:
        assert reply.status == 200, reply.body
    else:
        refused(reply, 403, "access_denied")


async def test_banned_user_is_403(relay: RelayServer, store: Store, upstream: MockUpstream) -> None:
    s = await store.scenario(upstream, status=2)
    assert refused(await send(relay, key=s.api_key), 403) == "User has been banned"
    reply = await send(relay, "/v1/models", method="GET", key=s.api_key)
    assert refused(reply, 403) == "User has been banned"


async def test_token_group_must_be_usable_and_priced(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    # svip has a GroupRatio but is not in UserUsableGroups for this user.
    _, svip = await add_token(store, s.user_id, group="svip")
    assert "svip" in refused(await send(relay, key=svip), 403)
    # The user's own group is usable, but it has no GroupRatio entry: deprecated.
    _, own = await add_token(store, s.user_id, group=s.group)
    message = refused(await send(relay, key=own), 403)
    assert s.group in message and "deprecated" in message
    assert await chat_ok(relay, s.api_key)  # no token group: the user's group is used


# -- channel pin: sk-<key>-<channel id> ---------------------------------------------------------


async def test_channel_pin_needs_an_admin(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    reply = await send(relay, key=f"{s.api_key}-{s.channel_ids[0]}")
    assert refused(reply, 403) == "Only administrators may pin a channel"
    reply = await send(
        relay, key=f"{s.api_key}-{s.channel_ids[0]}", headers={"Accept-Language": "zh"}
    )
    assert refused(reply, 403) == "普通用户不支持指定渠道"


async def test_admin_pin_routes_to_that_channel_without_retries(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    t = tag()
    keys_ = [f"mock;tag=A{t}", f"mock;tag=B{t}", f"mock;tag=F{t};status=500"]
    s = await store.scenario(
        upstream,
        channels=[{"key": k, "priority": p} for k, p in zip(keys_, (10, 0, 0), strict=True)],
        role=10,
    )
    _, b, failing = s.channel_ids
    assert (await chat_ok(relay, s.api_key)).startswith(f"[A{t}]")  # unpinned: top priority
    assert (await chat_ok(relay, f"{s.api_key}-{b}")).startswith(f"[B{t}]")
    await store.option("RetryTimes", "3")
    await store.publish_routing()
    try:
        reply = await send(relay, key=f"{s.api_key}-{failing}")
        assert reply.status == 500
    finally:
        await store.option("RetryTimes", "0")
        await store.publish_routing()
    # One call each: the unpinned one, the pinned one, and the failing pin not retried.
    assert [len(await upstream.calls(k)) for k in keys_] == [1, 1, 1]


async def test_pin_to_an_unknown_or_disabled_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, role=10)
    off = await store.channel(
        key=f"mock;tag=off{tag()}",
        models=["gpt-4o-mini"],
        base_url=upstream.url,
        groups=[s.group],
        status=2,
    )
    await store.publish_routing()
    assert refused(await send(relay, key=f"{s.api_key}-99999999"), 400) == "Invalid channel ID"
    assert refused(await send(relay, key=f"{s.api_key}-abc"), 400) == "Invalid channel ID"
    reply = await send(relay, key=f"{s.api_key}-{off}")
    assert refused(reply, 403) == "This channel has been disabled"


# -- token model limits -------------------------------------------------------------------------


async def test_token_model_limits(relay: RelayServer, store: Store, upstream: MockUpstream) -> None:
    s = await store.scenario(upstream, models=("gpt-4o-mini", "gpt-4o"), model_limits=["gpt-4o"])
    reply = await send(relay, key=s.api_key)
    assert refused(reply, 403) == "This token has no access to model gpt-4o-mini"
    assert await chat_ok(relay, s.api_key, "gpt-4o")
    async with client(relay, s.api_key) as api:
        assert [m.id async for m in api.models.list()] == ["gpt-4o"]
    _, none = await add_token(store, s.user_id, model_limits=[])
    assert refused(await send(relay, key=none), 403) == "This token has no access to any models"
    reply = await send(relay, "/v1/models", method="GET", key=none)
    assert reply.status == 200 and reply.body["data"] == []
