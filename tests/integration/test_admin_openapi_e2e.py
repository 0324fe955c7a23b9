"""End to end: `GET /api/openapi.json` stays true to the admin API a real admin process serves.

Whatever routes exist when this runs: the document lists exactly the declared routes with
their methods, every documented operation answers on the server (never 404/405), security is
declared exactly on the routes that demand credentials (and those refuse an anonymous caller
with 401), and the document is valid OpenAPI 3.0.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from openapi_spec_validator import validate
from relay_harness import RelayServer

from relay.admin.api import Access
from relay.admin.app import all_routes

pytestmark = pytest.mark.integration

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
_PARAM = re.compile(r"{([^}]+)}")


@pytest.fixture(scope="module")
async def document(relay: RelayServer) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{relay.admin_url}/api/openapi.json") as r,
    ):
        assert r.status == 200 and r.content_type == "application/json"
        doc: dict[str, Any] = await r.json()
    return doc


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


async def test_document_lists_exactly_the_declared_routes(document: dict[str, Any]) -> None:
    declared = {(r.method, r.path) for r in all_routes()}
    documented = set(operations(document))
    assert len(declared) == len(all_routes()), "a route is declared twice"
    assert documented - declared == set(), "documented but not served"
    assert declared - documented == set(), "served but not documented"
    assert ("GET", "/api/openapi.json") in documented


async def test_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.0")
    validate(document)
    ids = [op["operationId"] for op in operations(document).values()]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for path in document["paths"]:
        for name in _PARAM.findall(path):
            assert re.fullmatch(r"\w+", name), f"{path}: aiohttp-only parameter syntax"


async def test_security_is_declared_exactly_on_non_public_routes(document: dict[str, Any]) -> None:
    ops = operations(document)
    schemes = set(document["components"]["securitySchemes"])
    for route in all_routes():
        op = ops[(route.method, route.path)]
        where = f"{route.method} {route.path}"
        if route.access is Access.PUBLIC:
            assert "security" not in op, f"{where} is public but declares security"
        else:
            assert op.get("security"), f"{where} needs credentials but declares none"
            used = {name for alt in op["security"] for name in alt}
            assert used <= schemes, where
        assert op["x-relay-access"] == Access(route.access).name.lower(), where
        assert op.get("summary"), f"{where} has no summary"


def _concrete(path: str) -> str:
    return _PARAM.sub("1", path)


async def test_every_documented_operation_answers(
    relay: RelayServer, document: dict[str, Any]
) -> None:
    """Anonymous probes: the router knows every documented path and method; routes with
    security refuse with 401 before any handler runs; public ones answer without a 5xx (a
    public route may still check a credential of its own, e.g. /api/log/token's API key)."""
    failures = []
    async with aiohttp.ClientSession() as http:
        for (method, path), op in sorted(operations(document).items()):
            url = relay.admin_url + _concrete(path)
            body = {} if method in ("POST", "PUT", "PATCH", "DELETE") else None
            headers = {"Origin": relay.admin_url}
            async with http.request(
                method, url, json=body, headers=headers, allow_redirects=False
            ) as resp:
                status = resp.status
            if status in (404, 405):
                failures.append(f"{method} {path}: {status}, not routed")
            elif "security" in op and status != 401:
                failures.append(f"{method} {path}: anonymous call answered {status}, not 401")
            elif "security" not in op and status >= 500:
                failures.append(f"{method} {path}: public route answered {status}")
    assert failures == []
