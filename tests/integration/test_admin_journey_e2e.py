"""End to end, an operator's first hour on a fresh relay: setup → login → channel → token →
reveal the key → a relay call with the openai SDK → the call in the logs and the dashboard."""

from __future__ import annotations

import time
from pathlib import Path

import openai
import pytest
from admin_client import AdminClient
from relay_harness import MockUpstream, RelayServer, Store, fresh_backend, running

pytestmark = pytest.mark.integration


async def test_setup_to_first_relay_call_to_logs_and_dashboard(
    relay: RelayServer, upstream: MockUpstream, tmp_path: Path
) -> None:
    with fresh_backend(relay.backend) as backend:
        server = RelayServer(
            backend=backend,
            data_dir=tmp_path / "data",
            extra_env={"INITIAL_ROOT_PASSWORD": "", "INITIAL_ROOT_ACCESS_TOKEN": ""},
        )
        async with running(server), AdminClient(server) as console:
            assert (await console.get("/api/status")).data["setup"] is False
            password = "first-pass-1"
            setup = {"username": "ops", "password": password, "confirmPassword": password}
            assert (await console.post("/api/setup", setup)).ok
            assert (await console.login("ops", password)).ok

            created = await console.post(
                "/api/channel/",
                {
                    "mode": "single",
                    "channel": {
                        "name": "mock upstream",
                        "type": 1,
                        "key": "mock;tag=J;pt=40;ct=10",
                        "base_url": upstream.url,
                        "models": "gpt-4o-mini",
                        "group": "default",
                    },
                },
            )
            assert created.ok, created.body
            tested = await console.get(f"/api/channel/test/{created.data[0]}")
            assert tested.body["success"] is True, tested.body

            assert (await console.post("/api/token/", {"name": "ci", "remain_quota": 500_000})).ok
            token_id = (await console.get("/api/token/")).data["items"][0]["id"]
            key = (await console.post(f"/api/token/{token_id}/key")).data["key"]

            async with openai.AsyncOpenAI(
                base_url=server.base_url, api_key=f"sk-{key}", max_retries=0
            ) as api:
                reply = await api.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
                )
            assert reply.parse().choices[0].message.content.startswith("[J]")
            request_id = reply.headers["X-Oneapi-Request-Id"]

            store = Store(server)
            try:
                await store.wait_drained()
            finally:
                await store.close()
            logs = await console.get("/api/log/", request_id=request_id)
            assert logs.ok, logs.body
            (row,) = logs.data["items"]
            # gpt-4o-mini: (40 + 10 × 4) × 0.075 = 6
            assert (row["model_name"], row["prompt_tokens"], row["quota"]) == ("gpt-4o-mini", 40, 6)
            now = int(time.time())
            dashboard = await console.get(
                "/api/data/", start_timestamp=now - 7200, end_timestamp=now + 3600
            )
            assert dashboard.ok, dashboard.body
            buckets = [d for d in dashboard.data if d["model_name"] == "gpt-4o-mini"]
            assert (sum(b["quota"] for b in buckets), sum(b["count"] for b in buckets)) == (6, 1)
        assert "Traceback" not in server.log(), server.log()
