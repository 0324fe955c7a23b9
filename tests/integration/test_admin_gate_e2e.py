"""End to end: how the admin API authenticates and refuses (new-api's legacy auth rules)."""

from __future__ import annotations

from pathlib import Path

import pytest
from admin_client import ROOT_PASSWORD, AdminClient, give_access_token, root
from relay_harness import RelayServer, Store, running

pytestmark = pytest.mark.integration


async def test_status_is_public_and_openapi_lists_it(relay: RelayServer) -> None:
    async with AdminClient(relay) as anon:
        status = await anon.get("/api/status")
        assert status.ok and status.data["setup"] is True
        doc = await anon.get("/api/openapi.json")
        assert doc.status == 200 and "/api/status" in doc.body["paths"]


async def test_access_token_with_and_without_user_header(relay: RelayServer, store: Store) -> None:
    seeded = await store.user_with_token()
    token = await give_access_token(store, seeded.user_id)
    async with AdminClient(relay, token=token) as plain:
        assert (await plain.get("/api/openapi.json")).status == 200
    async with AdminClient(relay, token=token, user_id=seeded.user_id + 1000) as wrong:
        reply = await wrong.call("GET", "/api/status")
        assert reply.ok  # public routes do not look at credentials
    async with AdminClient(relay, token="not-a-token", user_id=1) as bad:
        assert (await bad.get("/api/openapi.json")).status == 200


async def test_root_token_authenticates(relay: RelayServer) -> None:
    async with root(relay) as admin:
        assert admin.token
        assert admin.user_id == 1
        assert ROOT_PASSWORD


async def test_global_api_rate_limit_answers_429_with_retry_after(
    relay: RelayServer, tmp_path: Path
) -> None:
    server = RelayServer(
        backend=relay.backend,
        data_dir=tmp_path / "data",
        workers=1,
        extra_env={
            "GLOBAL_API_RATE_LIMIT_ENABLE": "true",
            "GLOBAL_API_RATE_LIMIT": "5",
            "GLOBAL_API_RATE_LIMIT_DURATION": "60",
        },
    )
    if server.backend.redis_url:
        pytest.skip("a shared Redis keeps other runs' counters; the embedded one starts empty")
    async with running(server), AdminClient(server) as anon:
        # the harness polled /api/status once or more while waiting for the server
        statuses = [(await anon.get("/api/status")).status for _ in range(7)]
        allowed = statuses.count(200)
        assert 1 <= allowed <= 4 and statuses == [200] * allowed + [429] * (7 - allowed)
        limited = await anon.get("/api/status")
        assert int(limited.headers["Retry-After"]) > 0
        assert limited.body is None
