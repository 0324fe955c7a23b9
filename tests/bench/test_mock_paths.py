"""bench/mock_wire/paths.py: Azure's and DashScope's URL shapes reach the mock's OpenAI routes,
driven through a running mock with the official openai SDK."""

from __future__ import annotations

import openai
import pytest
from relay_harness import MockUpstream


@pytest.mark.parametrize(
    ("path", "served"),
    [
        ("/openai/deployments/gpt-35-turbo/chat/completions", "/v1/chat/completions"),
        ("/openai/deployments/emb/embeddings", "/v1/embeddings"),
        ("/openai/v1/responses", "/v1/responses"),
        ("/openai/responses", "/v1/responses"),
        ("/compatible-mode/v1/chat/completions", "/v1/chat/completions"),
        ("/api/v2/apps/protocols/compatible-mode/v1/responses", "/v1/responses"),
    ],
)
async def test_aliased_paths_are_served_with_the_api_key_and_query_recorded(
    upstream: MockUpstream, path: str, served: str
) -> None:
    key = f"mock;tag=A{len(path)}"
    base = upstream.url + path.removesuffix(served.removeprefix("/v1"))
    api = openai.AsyncOpenAI(
        base_url=base,
        api_key="unused",
        default_headers={"api-key": key, "Authorization": ""},
        default_query={"api-version": "2024-10-21"},
        max_retries=0,
    )
    async with api:
        if served == "/v1/chat/completions":
            reply = await api.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
            assert (reply.choices[0].message.content or "").startswith(f"[A{len(path)}]")
        elif served == "/v1/embeddings":
            assert (await api.embeddings.create(model="m", input="x")).data
        else:
            assert (await api.responses.create(model="m", input="hi")).output_text
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == path and sent["query"] == {"api-version": "2024-10-21"}
    assert sent["headers"]["api-key"] == key
