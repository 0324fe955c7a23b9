"""relay.pipeline.media: remote images of a pivot request fetched and inlined."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from relay_harness import MockUpstream

from relay.errors import RelayError
from relay.http.client import UpstreamClient
from relay.pipeline.media import inline_remote_images, remote_image_urls, with_inline_images

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def _image(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, **extra}}


PIVOT: dict[str, Any] = {
    "model": "m",
    "messages": [
        {"role": "system", "content": "s"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, _image("https://x/1.png")]},
        {
            "role": "user",
            "content": [_image("data:image/png;base64,AA"), _image("https://x/1.png")],
        },
        {"role": "user", "content": [_image("http://y/2.jpg", detail="low")]},
    ],
}


def test_remote_urls_are_found_once_in_order() -> None:
    assert remote_image_urls(PIVOT) == ["https://x/1.png", "http://y/2.jpg"]
    assert remote_image_urls({"messages": "nope"}) == []


def test_inlining_replaces_only_remote_urls_and_copies() -> None:
    out = with_inline_images(PIVOT, {"https://x/1.png": "data:a", "http://y/2.jpg": "data:b"})
    assert out["messages"][1]["content"][1] == _image("data:a")
    assert out["messages"][2]["content"] == [_image("data:image/png;base64,AA"), _image("data:a")]
    assert out["messages"][3]["content"] == [_image("data:b", detail="low")]
    assert PIVOT["messages"][1]["content"][1] == _image("https://x/1.png")  # untouched


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstream]:
    upstream = MockUpstream()
    yield upstream
    upstream.stop()


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    c = UpstreamClient()
    yield c
    await c.close()


async def test_fetch_and_inline(mock: MockUpstream, client: UpstreamClient) -> None:
    pivot = {"messages": [{"role": "user", "content": [_image(f"{mock.url}/_mock/image.png")]}]}
    out = await inline_remote_images(client, pivot, "en")
    assert out is not None
    data = base64.b64encode(PNG).decode()
    assert out["messages"][0]["content"][0] == _image(f"data:image/png;base64,{data}")
    assert await inline_remote_images(client, out, "en") is None


async def test_fetch_failures_are_client_errors(mock: MockUpstream, client: UpstreamClient) -> None:
    for url in (f"{mock.url}/_mock/nothing-here", "http://127.0.0.1:9/x.png"):
        pivot = {"messages": [{"role": "user", "content": [_image(url)]}]}
        with pytest.raises(RelayError) as info:
            await inline_remote_images(client, pivot, "en")
        assert info.value.status == 400 and info.value.code == "convert_request_failed"
        assert "cannot fetch image" in info.value.text
