"""The console's static serving: cache headers, the SPA fallback, and /api left to the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from relay.admin import console
from relay.admin.console import ASSET_CACHE, PAGE_CACHE, add_console, console_handler, find_console

INDEX = "<!doctype html><div id=root></div>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside the console")
    return root


async def _status(_request: web.Request) -> web.Response:
    return web.json_response({"success": True})


async def _client(root: Path) -> TestClient[Any, Any]:
    app = web.Application()
    app.router.add_get("/api/status", _status)
    add_console(app, root)
    return TestClient(TestServer(app))


@pytest.fixture
async def client(dist: Path) -> AsyncIterator[TestClient[Any, Any]]:
    async with await _client(dist) as c:
        yield c


async def test_index_is_revalidated(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    assert await resp.text() == INDEX
    assert resp.headers["Cache-Control"] == PAGE_CACHE


async def test_hashed_assets_are_immutable(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/assets/index-abc123.js")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == ASSET_CACHE
    assert "javascript" in resp.headers["Content-Type"]


@pytest.mark.parametrize("path", ["/channels", "/logs/", "/settings?tab=1", "/oauth/oidc"])
async def test_client_routes_fall_back_to_index(client: TestClient[Any, Any], path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 200
    assert await resp.text() == INDEX
    assert resp.headers["Cache-Control"] == PAGE_CACHE


async def test_missing_asset_is_404_not_html(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/assets/gone-000.js")
    assert resp.status == 404
    assert INDEX not in await resp.text()


async def test_api_paths_stay_with_the_api(client: TestClient[Any, Any]) -> None:
    assert (await (await client.get("/api/status")).json()) == {"success": True}
    resp = await client.get("/api/no-such-route")
    assert resp.status == 404
    assert (await resp.json())["success"] is False


async def test_files_outside_the_console_are_not_served(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/%2e%2e/secret.txt")
    assert "outside the console" not in await resp.text()


async def test_unbuilt_console_says_how_to_build_it() -> None:
    app = web.Application()
    app.router.add_get("/{path:.*}", console_handler(None))
    async with TestClient(TestServer(app)) as c:
        resp = await c.get("/")
        assert resp.status == 404
        assert "npm run build" in await resp.text()


def test_find_console_takes_the_first_built_dir(
    dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "console_dirs", lambda: (tmp_path / "none", dist))
    assert find_console() == dist
    monkeypatch.setattr(console, "console_dirs", lambda: (tmp_path / "none",))
    assert find_console() is None
