"""End to end: request checks after authentication (body, model, price, channel), the routes
new-api does not implement, and the model list in its OpenAI and Claude shapes."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import anthropic
import backports.zstd as zstd
import brotli
import orjson
import pytest
from relay_harness import MockUpstream, RelayServer, Store, running
from relay_http import HELLO, refused, send

pytestmark = pytest.mark.integration


def chat_body(content: str, model: str = "gpt-4o-mini") -> bytes:
    return orjson.dumps({"model": model, "messages": [{"role": "user", "content": content}]})


async def test_missing_model_and_bad_json_are_400(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    no_model = {"messages": HELLO["messages"]}
    text = refused(await send(relay, key=s.api_key, body=no_model), 400)
    assert text.startswith("Model name not specified")
    assert refused(await send(relay, key=s.api_key, body={**HELLO, "model": ""}), 400) == text
    for data in (b'{"model": "gpt-4o-mini", ', b"not json", b""):
        reply = await send(
            relay, key=s.api_key, data=data, headers={"Content-Type": "application/json"}
        )
        assert refused(reply, 400).startswith("Invalid request: "), data
    assert (await store.balances(s))["token_used"] == 0


COMPRESSORS = {
    "gzip": gzip.compress,
    "br": brotli.compress,
    "zstd": zstd.compress,
}


@pytest.mark.parametrize("encoding", sorted(COMPRESSORS))
async def test_compressed_request_bodies_are_accepted(
    relay: RelayServer, store: Store, upstream: MockUpstream, encoding: str
) -> None:
    key = f"mock;tag=Z{encoding};pt=7;ct=3"
    s = await store.scenario(upstream, channels=[{"key": key}])
    headers = {"Content-Encoding": encoding, "Content-Type": "application/json"}
    data = COMPRESSORS[encoding](chat_body(f"zipped {encoding}"))
    reply = await send(relay, key=s.api_key, data=data, headers=headers)
    assert reply.status == 200, reply.body
    assert reply.body["choices"][0]["message"]["content"].startswith(f"[Z{encoding}]")
    calls = await upstream.calls(key)
    assert calls[-1]["body"]["messages"][0]["content"] == f"zipped {encoding}"


async def test_body_over_max_request_body_mb_is_413(
    relay: RelayServer, upstream: MockUpstream, tmp_path: Path
) -> None:
    server = RelayServer(
        backend=relay.backend, data_dir=tmp_path / "data", extra_env={"MAX_REQUEST_BODY_MB": "1"}
    )
    async with running(server):
        small = Store(server)
        try:
            s = await small.scenario(upstream)
            big = chat_body("a" * (1024 * 1024 + 10))
            reply = await send(
                server, key=s.api_key, data=big, headers={"Content-Type": "application/json"}
            )
            refused(reply, 413, "read_request_body_failed")
            # The cap applies after decompression (this gzips to about a kilobyte).
            headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
            reply = await send(server, key=s.api_key, data=gzip.compress(big), headers=headers)
            refused(reply, 413, "read_request_body_failed")
            ok = await send(server, key=s.api_key, body=orjson.loads(chat_body("a" * 1000)))
            assert ok.status == 200, ok.body
            assert (await small.balances(s))["token_held"] == 0
        finally:
            await small.close()
    assert "Traceback" not in server.log()


async def test_unpriced_model_needs_self_use_mode(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, models=("unpriced-model-x",))
    body = {**HELLO, "model": "unpriced-model-x"}
    text = refused(await send(relay, key=s.api_key, body=body), 400, "model_price_error")
    assert "unpriced-model-x" in text
    await store.option("SelfUseModeEnabled", "true")
    await store.publish_routing()
    try:
        reply = await send(relay, key=s.api_key, body=body)
        assert reply.status == 200, reply.body
        models = await send(relay, "/v1/models", method="GET", key=s.api_key)
        assert [m["id"] for m in models.body["data"]] == ["unpriced-model-x"]
    finally:
        await store.option("SelfUseModeEnabled", "false")
        await store.publish_routing()
    refused(await send(relay, key=s.api_key, body=body), 400, "model_price_error")


async def test_no_channel_for_the_model_in_the_group_is_503(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)  # serves gpt-4o-mini only
    reply = await send(relay, key=s.api_key, body={**HELLO, "model": "gpt-4o"})
    text = refused(reply, 503, "model_not_found")
    assert text == f"No available channel for model gpt-4o under group {s.group} (distributor)"
    assert (await store.balances(s))["token_used"] == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/images/variations"),
        ("GET", "/v1/files"),
        ("GET", "/v1/files/file-1"),
        ("POST", "/v1/fine-tunes"),
        ("DELETE", "/v1/models/gpt-4o-mini"),
    ],
)
async def test_not_implemented_routes_are_501(
    relay: RelayServer, store: Store, upstream: MockUpstream, method: str, path: str
) -> None:
    s = await store.scenario(upstream)
    reply = await send(relay, path, method=method, key=s.api_key)
    assert reply.status == 501
    assert reply.headers["X-Oneapi-Request-Id"]
    assert reply.body == {
        "error": {
            "message": "API not implemented",
            "type": "new_api_error",
            "param": "",
            "code": "api_not_implemented",
        }
    }


async def test_unknown_path_is_a_json_404(relay: RelayServer) -> None:
    reply = await send(relay, "/v1/no/such/thing", method="GET")
    assert reply.status == 404 and reply.headers["Content-Type"].startswith("application/json")
    error = reply.body["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == ""
    assert error["message"].startswith("Invalid URL (GET /v1/no/such/thing)")


# -- model list ---------------------------------------------------------------------------------


async def test_model_list_openai_shape(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, models=("gpt-4o-mini", "gpt-4o", "unpriced-model-y"))
    reply = await send(relay, "/v1/models", method="GET", key=s.api_key)
    assert reply.status == 200
    assert set(reply.body) == {"success", "object", "data"}
    assert reply.body["success"] is True and reply.body["object"] == "list"
    entries = {m["id"]: m for m in reply.body["data"]}
    assert sorted(entries) == ["gpt-4o", "gpt-4o-mini"]
    for entry in entries.values():
        assert entry["object"] == "model" and isinstance(entry["created"], int)
        assert entry["owned_by"] and isinstance(entry["supported_endpoint_types"], list)

    one = await send(relay, "/v1/models/gpt-4o", method="GET", key=s.api_key)
    assert one.status == 200 and one.body == entries["gpt-4o"]
    for hidden in ("unpriced-model-y", "claude-3-opus", "gpt-4o-mini-x"):
        missing = await send(relay, f"/v1/models/{hidden}", method="GET", key=s.api_key)
        error = missing.body["error"]
        assert error["code"] == "model_not_found" and error["type"] == "invalid_request_error"
        assert error["message"].startswith(f"The model '{hidden}' does not exist")
        assert error["param"] == "model"


async def test_model_list_claude_shape(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, models=("gpt-4o-mini", "gpt-4o"))
    openai_shape = await send(relay, "/v1/models", method="GET", key=s.api_key)
    created = {m["id"]: m["created"] for m in openai_shape.body["data"]}
    headers = {"x-api-key": s.api_key, "anthropic-version": "2023-06-01"}
    reply = await send(relay, "/v1/models", method="GET", headers=headers)
    assert reply.status == 200
    data = reply.body["data"]
    ids = [m["id"] for m in data]
    assert sorted(ids) == ["gpt-4o", "gpt-4o-mini"]
    assert reply.body == {"data": data, "first_id": ids[0], "has_more": False, "last_id": ids[-1]}
    for m in data:
        stamp = datetime.fromtimestamp(created[m["id"]], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert m == {"id": m["id"], "created_at": stamp, "display_name": m["id"], "type": "model"}
    # x-api-key alone still gets the OpenAI shape.
    plain = await send(relay, "/v1/models", method="GET", headers={"x-api-key": s.api_key})
    assert plain.body["object"] == "list" and plain.body["success"] is True
    # And the official Anthropic SDK can page through it.
    async with anthropic.AsyncAnthropic(
        base_url=relay.url, api_key=s.api_key, max_retries=0
    ) as api:
        assert sorted([m.id async for m in api.models.list()]) == ["gpt-4o", "gpt-4o-mini"]
