"""The OpenAPI 3 description of the admin API, generated from the route declarations."""

from __future__ import annotations

import re
from typing import Any

from relay import __version__
from relay.admin.api import Access, Route

_PATH_PARAM = re.compile(r"{(\w+)}")


def openapi30_schema(schema: Any) -> Any:
    """A JSON Schema as OpenAPI 3.0 spells it: `"type": [T, "null"]` becomes
    `"type": T, "nullable": true` (3.0 has no type lists), recursively."""
    if isinstance(schema, list):
        return [openapi30_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: openapi30_schema(value) for key, value in schema.items()}
    kind = out.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) == 1:
            out["type"] = kinds[0]
        else:
            del out["type"]
            out["anyOf"] = [{"type": k} for k in kinds]
        if "null" in kind:
            out["nullable"] = True
    return out


def _envelope(data: dict[str, Any] | None) -> dict[str, Any]:
    props: dict[str, Any] = {"success": {"type": "boolean"}, "message": {"type": "string"}}
    if data is not None:
        props["data"] = data
    return {"type": "object", "required": ["success"], "properties": props}


def _operation(route: Route) -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(route.path)
    ]
    params += [
        {
            "name": p.name,
            "in": "query",
            "required": p.required,
            "description": p.description,
            "schema": {"type": p.type},
        }
        for p in route.query
    ]
    op: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": f"{route.method.lower()}_{route.path.strip('/').replace('/', '_')}".replace(
            "{", ""
        ).replace("}", ""),
        "responses": {
            "200": {
                "description": "envelope; success false carries the refusal in message",
                "content": {"application/json": {"schema": _envelope(route.data)}},
            },
            "401": {"description": "not signed in, or a bad New-Api-User header"},
            "429": {"description": "rate limited (empty body, Retry-After)"},
        },
        "x-relay-access": Access(route.access).name.lower(),
    }
    if params:
        op["parameters"] = params
    if route.access > Access.PUBLIC:
        op["security"] = [{"session": [], "newApiUser": []}, {"accessToken": []}]
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route.body}},
        }
    return op


def openapi_document(routes: list[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = openapi30_schema(_operation(route))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "relay admin API",
            "version": __version__,
            "description": "new-api compatible admin API: envelope {success, message, data}.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "newApiUser": {"type": "apiKey", "in": "header", "name": "New-Api-User"},
                "accessToken": {"type": "apiKey", "in": "header", "name": "Authorization"},
            }
        },
    }
