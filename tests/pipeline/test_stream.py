"""relay.pipeline.stream: a passed-through stream's framing and new-api's final usage chunk."""

from __future__ import annotations

import asyncio

import orjson

from relay.pipeline.stream import _Relay, final_usage_frame
from relay.pipeline.surface_openai import OpenAISurface
from relay.providers.base import Endpoint, Usage
from relay.providers.openai.convert import OpenAIStreamObserver

CHUNK = b'data: {"id":"c1","created":7,"model":"m","choices":[{"delta":{"content":"hi"}}]}\n\n'
USAGE = b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n'
DONE = b"data: [DONE]\n\n"


class Client:
    """Collects what the relay writes."""

    def __init__(self) -> None:
        self.sent = b""

    async def write(self, data: bytes) -> None:
        self.sent += data


def run(chunks: list[bytes], owes_usage: bool, usage: Usage) -> bytes:
    client = Client()
    observer = OpenAIStreamObserver(Endpoint.CHAT, False, lambda text: None)
    relay = _Relay(observer, client, OpenAISurface(), None, owes_usage)  # type: ignore[arg-type]

    async def go() -> None:
        for chunk in chunks:
            await relay.chunk(chunk)
        client.sent += relay.flush() + relay.close(usage)

    asyncio.run(go())
    return client.sent


def test_without_owed_usage_bytes_pass_through() -> None:
    assert run([CHUNK, DONE], False, Usage(1, 1)) == CHUNK + DONE


def test_a_missing_usage_is_sent_before_done_when_the_client_asked() -> None:
    sent = run([CHUNK + DONE], True, Usage(prompt_tokens=4, completion_tokens=2))
    first, usage_frame, done, rest = sent.split(b"\n\n")
    assert first + b"\n\n" == CHUNK and done + b"\n\n" == DONE and rest == b""
    final = orjson.loads(usage_frame.removeprefix(b"data: "))
    assert final == {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 7,
        "model": "m",
        "choices": [],
        "usage": {
            "prompt_tokens": 4,
            "completion_tokens": 2,
            "total_tokens": 6,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


def test_an_upstream_usage_chunk_is_not_doubled() -> None:
    assert run([CHUNK, USAGE, DONE], True, Usage(3, 1)) == CHUNK + USAGE + DONE


def test_an_unterminated_last_event_still_gets_usage_and_done() -> None:
    sent = run([CHUNK, b'data: {"id":"c2","choices":[]}'], True, Usage(1, 1))
    assert sent.startswith(CHUNK) and sent.endswith(DONE)
    assert b'"id":"c2"' in sent and sent.count(b'"usage"') == 1


def test_the_final_frame_tolerates_a_last_chunk_that_is_not_json() -> None:
    frame = orjson.loads(final_usage_frame(b"nonsense", Usage(1, 0)).removeprefix(b"data: "))
    assert frame["id"] == "" and frame["usage"]["total_tokens"] == 1
