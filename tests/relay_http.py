"""Raw HTTP helpers for integration tests that need what the SDKs hide: statuses, headers,
odd keys, and new-api's OpenAI-shaped error bodies; and the status of one SDK chat call."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import aiohttp
import openai
from multidict import CIMultiDict
from relay_harness import RelayServer

CHAT = "/v1/chat/completions"
HELLO = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


@dataclass
class Reply:
    status: int
    body: Any
    headers: CIMultiDict[str]


async def send(
    relay: RelayServer,
    path: str = CHAT,
    *,
    method: str = "POST",
    key: str | None = None,
    headers: dict[str, str] | None = None,
    body: Any = HELLO,
    data: bytes | None = None,
    params: dict[str, str] | None = None,
) -> Reply:
    """One request; `key` goes into `Authorization: Bearer`. POSTs send `data` if given, else
    `body` as JSON; GETs and DELETEs send nothing."""
    hdrs = dict(headers or {})
    if key is not None:
        hdrs["Authorization"] = f"Bearer {key}"
    payload = body if method == "POST" and data is None else None
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method,
            relay.url + path,
            headers=hdrs,
            json=payload,
            params=params,
            data=None if data is None else io.BytesIO(data),
        ) as resp,
    ):
        raw = await resp.read()
        return Reply(
            resp.status,
            await resp.json(content_type=None) if raw else None,
            CIMultiDict(resp.headers),
        )


def refused(reply: Reply, status: int, code: str = "") -> str:
    """Check new-api's error `{"error":{"message":"<text> (request id: <id>)",
    "type":"new_api_error","code":<code>}}` with the id of the X-Oneapi-Request-Id header;
    returns <text>."""
    assert reply.status == status, reply.body
    request_id = reply.headers["X-Oneapi-Request-Id"]
    assert request_id and isinstance(reply.body, dict) and list(reply.body) == ["error"]
    error = reply.body["error"]
    assert {"message", "type", "code"} <= set(error) <= {"message", "type", "code", "param"}
    assert error["type"] == "new_api_error" and error["code"] == code, error
    suffix = f" (request id: {request_id})"
    assert error["message"].endswith(suffix), error["message"]
    return str(error["message"]).removesuffix(suffix)


async def chat_status(relay: RelayServer, api_key: str) -> int:
    """One chat call with the openai SDK on its own client; the HTTP status (200 or the
    error's)."""
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0) as api:
        try:
            await api.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        except openai.APIStatusError as exc:
            return exc.status_code
    return 200
