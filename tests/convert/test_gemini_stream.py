"""Gemini SSE events → OpenAI chat.completion.chunk dicts (the state machine)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relay._fast.sse import SSEDecoder
from relay.convert.gemini_common import GeminiConversionError
from relay.convert.gemini_stream import GeminiToOpenAIStream
from relay.providers.base import Usage

HEAD = {"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 7, "model": "gm"}


def stream(**kw: Any) -> GeminiToOpenAIStream:
    return GeminiToOpenAIStream(response_id="chatcmpl-9", created=7, model="gm", **kw)


def chunk(*choices: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**HEAD, "system_fingerprint": None, "choices": list(choices), **extra}


def choice(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}


def event(parts: list[dict[str, Any]], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], **extra}


def run(state: GeminiToOpenAIStream, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        out.extend(state.feed(orjson.dumps(e)))
    return out + state.finish()


USAGE = {
    "promptTokenCount": 5,
    "candidatesTokenCount": 3,
    "thoughtsTokenCount": 2,
    "totalTokenCount": 10,
}
START = chunk(choice({"role": "assistant", "content": ""}))


def test_thoughts_then_text_then_usage() -> None:
    texts: list[str] = []
    state = stream(text_sink=texts.append)
    out = run(
        state,
        [
            event([{"text": "Hmm", "thought": True}]),
            event([{"text": "Hel"}]),
            event([{"text": "lo"}], "STOP", usageMetadata=USAGE),
        ],
    )
    usage = {
        "prompt_tokens": 5,
        "completion_tokens": 5,
        "total_tokens": 10,
        "prompt_tokens_details": {
            "cached_tokens": 0,
            "text_tokens": 5,
            "audio_tokens": 0,
            "image_tokens": 0,
        },
        "completion_tokens_details": {
            "text_tokens": 0,
            "audio_tokens": 0,
            "image_tokens": 0,
            "reasoning_tokens": 2,
        },
    }
    assert out == [
        START,
        chunk(choice({"reasoning_content": "Hmm"})),
        chunk(choice({"content": "Hel"})),
        chunk(choice({"content": "lo"})),
        chunk(choice({}, "stop")),
        chunk(usage=usage),
    ]
    assert state.usage() == Usage(prompt_tokens=5, completion_tokens=5)
    assert texts == ["Hmm", "Hel", "lo"]


def test_tool_calls_get_running_indexes_and_finish_as_tool_calls() -> None:
    out = run(
        stream(),
        [
            event([{"functionCall": {"name": "a", "args": {"x": 1}}}]),
            event([{"functionCall": {"name": "b", "args": {}}}, {"functionCall": {"name": "c"}}]),
            event([], "STOP"),
        ],
    )
    calls = [c for o in out for ch in o["choices"] for c in ch["delta"].get("tool_calls", [])]
    assert [(c["index"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        (0, "a", '{"x":1}'),
        (1, "b", "{}"),
        (2, "c", "{}"),
    ]
    assert all(c["id"].startswith("call_") and c["type"] == "function" for c in calls)
    finishes = [ch["finish_reason"] for o in out for ch in o["choices"] if ch["finish_reason"]]
    assert finishes == ["tool_calls"]


def test_max_tokens_ends_the_content_chunk() -> None:
    out = run(stream(), [event([{"text": "cut"}], "MAX_TOKENS")])
    assert out == [START, chunk(choice({"content": "cut"}, "length"))]


def test_safety_and_no_finish_at_all() -> None:
    out = run(stream(), [event([], "SAFETY")])
    assert out[-1] == chunk(choice({"content": ""}, "content_filter"))
    # An upstream that just stops still ends the client's stream with a finish chunk.
    out = run(stream(), [event([{"text": "partial"}])])
    assert out == [START, chunk(choice({"content": "partial"})), chunk(choice({}, "stop"))]


def test_no_usage_leaves_it_to_the_caller() -> None:
    state = stream(fallback_prompt_tokens=4)
    out = run(state, [event([{"text": "x"}], "STOP", usageMetadata={"totalTokenCount": 0})])
    assert state.usage() is None
    assert all(o["choices"] for o in out)  # no usage chunk
    counted = {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}
    assert state.usage_chunk(counted) == chunk(usage=counted)


def test_images_are_counted_and_rendered() -> None:
    state = stream()
    image = {"inlineData": {"mimeType": "image/png", "data": "QUJD"}}
    out = run(state, [event([image, {"text": "caption"}], "STOP")])
    assert out[1] == chunk(choice({"content": "![image](data:image/png;base64,QUJD)\ncaption"}))
    assert state.image_count == 1


def test_usage_only_event_and_prompt_block() -> None:
    state = stream()
    out = state.feed(
        {"promptFeedback": {"blockReason": "OTHER"}, "usageMetadata": {"promptTokenCount": 3}}
    )
    assert out == [START]
    assert state.block_reason == "OTHER"
    assert state.usage() == Usage(prompt_tokens=3)


def test_text_split_across_events_at_awkward_places() -> None:
    # A multi-byte character and a markdown fence split over events come out as sent.
    pieces = ["Ça", " va? ```py", "thon\npri", "nt()```", ""]
    events = [event([{"text": p}] if p else []) for p in pieces[:-1]] + [event([], "STOP")]
    out = run(stream(), events)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in out)
    assert text == "Ça va? ```python\nprint()```"


def test_raw_sse_split_at_every_byte_gives_the_same_chunks() -> None:
    events = [
        event([{"text": "Hé"}]),
        event([{"functionCall": {"name": "f", "args": {"k": "v"}}}]),
        event([{"text": "!"}], "STOP", usageMetadata=USAGE),
    ]
    raw = b"".join(b"data: " + orjson.dumps(e) + b"\r\n\r\n" for e in events)

    def convert(pieces: list[bytes]) -> list[dict[str, Any]]:
        decoder, state = SSEDecoder(), stream()
        out: list[dict[str, Any]] = []
        for piece in pieces:
            for sse in decoder.feed(piece):
                out.extend(state.feed(sse.data))
        for sse in decoder.flush():
            out.extend(state.feed(sse.data))
        out.extend(state.finish())
        for c in out:  # tool call ids are random
            for ch in c["choices"]:
                for call in ch["delta"].get("tool_calls", []):
                    call["id"] = "call_x"
        return out

    whole = convert([raw])
    assert len(whole) == 6
    for cut in range(1, len(raw)):
        assert convert([raw[:cut], raw[cut:]]) == whole
    assert convert([raw[i : i + 1] for i in range(len(raw))]) == whole


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[1, 2]",
        b'{"candidates": "x"}',
        b'{"candidates": [1]}',
        b'{"candidates": [{"content": {"parts": [{"text": 1}]}}]}',
        b'{"candidates": [], "promptFeedback": []}',
    ],
)
def test_bad_events_raise_a_clear_error(data: bytes) -> None:
    with pytest.raises(GeminiConversionError):
        stream().feed(data)
