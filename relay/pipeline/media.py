"""Remote images of a pivot request, fetched on the worker's upstream client and inlined.

Channels that are not OpenAI-compatible take images only as inline data (Claude base64
blocks, Gemini inlineData); new-api downloads remote URLs for them. relay does the same
without blocking: once per call, all URLs at once, each capped in size and time.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from typing import Any

from relay.errors import RelayError, message
from relay.http.client import UpstreamClient, UpstreamError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 30.0
_FETCH_HEADERS = {"Accept": "image/*,application/pdf;q=0.9,*/*;q=0.5"}


def _image_parts(pivot: dict[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    messages = pivot.get("messages")
    for msg in messages if isinstance(messages, list) else ():
        content = msg.get("content") if isinstance(msg, dict) else None
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict) and part.get("type") == "image_url":
                parts.append(part)
    return parts


def _url(part: dict[str, Any]) -> str:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    return url if isinstance(url, str) else ""


def remote_image_urls(pivot: dict[str, Any]) -> list[str]:
    """The distinct http(s) image URLs of a pivot request, in order."""
    urls = (_url(p) for p in _image_parts(pivot))
    return list(dict.fromkeys(u for u in urls if u.startswith(("http://", "https://"))))


def with_inline_images(pivot: dict[str, Any], data_urls: Mapping[str, str]) -> dict[str, Any]:
    """A copy of the pivot whose remote image URLs are replaced by their data URLs."""
    messages = []
    for msg in pivot.get("messages") or ():
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, list):
            content = [
                {**part, "image_url": {**_obj(part.get("image_url")), "url": data_urls[url]}}
                if isinstance(part, dict)
                and part.get("type") == "image_url"
                and (url := _url(part)) in data_urls
                else part
                for part in content
            ]
            msg = {**msg, "content": content}
        messages.append(msg)
    return {**pivot, "messages": messages}


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def fetch_data_url(client: UpstreamClient, url: str, lang: str) -> str:
    """GET an image and return it as a data URL; a RelayError (400) when that fails."""
    try:
        response = await client.request(
            "GET", url, _FETCH_HEADERS, total_timeout=FETCH_TIMEOUT_SECONDS
        )
    except (UpstreamError, OSError, ValueError) as exc:
        raise _failed(url, type(exc).__name__, lang) from None
    data = bytearray()
    try:
        if response.status != 200:
            raise _failed(url, f"status {response.status}", lang)
        async for chunk in response.chunks():
            data += chunk
            if len(data) > MAX_IMAGE_BYTES:
                raise _failed(url, f"larger than {MAX_IMAGE_BYTES} bytes", lang)
    except UpstreamError as exc:
        response.close()
        raise _failed(url, type(exc).__name__, lang) from None
    except RelayError:
        response.close()
        raise
    response.release()
    mime = response.headers.get("content-type", "").split(";")[0].strip() or "image/png"
    return f"data:{mime};base64,{base64.b64encode(bytes(data)).decode()}"


def _failed(url: str, why: str, lang: str) -> RelayError:
    shown = url if len(url) <= 200 else url[:200] + "…"
    text = message("invalid_request", lang, error=f"cannot fetch image {shown}: {why}")
    return RelayError(400, text, "convert_request_failed", skip_retry=True)


async def inline_remote_images(
    client: UpstreamClient, pivot: dict[str, Any], lang: str
) -> dict[str, Any] | None:
    """The pivot with its remote images inlined, or None when it has none."""
    urls = remote_image_urls(pivot)
    if not urls:
        return None
    fetched = await asyncio.gather(*(fetch_data_url(client, u, lang) for u in urls))
    return with_inline_images(pivot, dict(zip(urls, fetched, strict=True)))
