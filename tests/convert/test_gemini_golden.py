"""new-api's own golden outputs for every Gemini ⇄ OpenAI pair, against relay's conversions.

Inputs and expected outputs are the files of new-api's relayconvert golden test (see
golden/gemini/README.md). Before comparing, new-api's internal bookkeeping is dropped (fields
no client reads) and two deliberate deviations are applied; each is named below.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from relay.convert.gemini_common import GeminiOptions
from relay.convert.gemini_request import openai_to_gemini_request
from relay.convert.gemini_response import gemini_to_openai_response
from relay.convert.gemini_reverse import gemini_to_openai_request, openai_to_gemini_response
from relay.convert.gemini_reverse_stream import OpenAIToGeminiStream
from relay.convert.gemini_stream import GeminiToOpenAIStream
from relay.providers.base import Usage

GOLDEN = Path(__file__).parent / "golden" / "gemini"

# new-api's internal usage bookkeeping and Go struct artefacts, which it also sends but no
# client reads: billing_usage is its settlement record, input/output_tokens and the claude_*
# counters are fields of its one shared Usage struct, `MimeType` is an untagged Go field.
INTERNAL = frozenset(
    {
        "billing_usage",
        "input_tokens",
        "output_tokens",
        "input_tokens_details",
        "claude_cache_creation_5_m_tokens",
        "claude_cache_creation_1_h_tokens",
        "MimeType",
    }
)
NULL_DETAILS = frozenset(
    {"promptTokensDetails", "toolUsePromptTokensDetails", "candidatesTokensDetails"}
)


def load(name: str) -> Any:
    return orjson.loads((GOLDEN / name).read_bytes())


def clean(value: Any) -> Any:
    """The value without new-api internals (and without Gemini's null *TokensDetails)."""
    if isinstance(value, dict):
        return {
            k: clean(v)
            for k, v in value.items()
            if k not in INTERNAL and not (k in NULL_DETAILS and v is None)
        }
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def normalized(value: Any) -> Any:
    """Generated ids as `<uuid>`, the way new-api's golden test normalizes them."""
    return orjson.loads(re.sub(rb"[0-9a-f]{32}", b"<uuid>", orjson.dumps(value)))


def test_request_openai_to_gemini() -> None:
    media = {"https://example.com/cat.png": ("image/png", "aGVsbG8=")}
    got = openai_to_gemini_request(
        load("request_openai_to_gemini.input.json"),
        model="upstream-model",
        options=GeminiOptions(),
        media=media,
    )
    assert got == clean(load("request_openai_to_gemini.expected.json"))


def test_request_gemini_to_openai() -> None:
    got = gemini_to_openai_request(
        load("request_gemini_to_openai.input.json"), model="upstream-model", stream=False
    )
    expected = clean(load("request_gemini_to_openai.expected.json"))
    # Deviation: new-api numbers a functionResponse by the calls in its *own* content, so the
    # tool result says call_0 while the call said call_1, which OpenAI rejects. relay pairs
    # each response with the pending call of the same name.
    assert expected["messages"][3]["tool_call_id"] == "call_0"
    expected["messages"][3]["tool_call_id"] = "call_1"
    assert got == expected


def test_response_gemini_to_openai() -> None:
    response, usage = gemini_to_openai_response(
        load("response_gemini_to_openai.input.json"),
        response_id="chatcmpl-0123456789abcdef0123456789abcdef",
        created=0,
        model="upstream-model",
    )
    assert normalized(response) == clean(load("response_gemini_to_openai.expected.json"))
    assert usage == Usage(prompt_tokens=10, completion_tokens=7)


def test_response_openai_to_gemini() -> None:
    got = openai_to_gemini_response(load("response_openai_to_gemini.input.json"))
    assert got == clean(load("response_openai_to_gemini.expected.json"))


def test_stream_gemini_to_openai() -> None:
    state = GeminiToOpenAIStream(response_id="stream_fixed", created=0, model="upstream-model")
    out = []
    for event in load("stream_gemini_to_openai.input.json"):
        out.extend(state.feed(orjson.dumps(event)))
    out.extend(state.finish())
    expected = clean(load("stream_gemini_to_openai.expected.json"))
    # Deviation: the golden is new-api's generic stream state, which repeats the usage in
    # every chunk. Its production Gemini handler, which relay follows, sends a role chunk
    # first, no usage in content chunks, and the usage in one trailing chunk (choices []).
    events = [{k: v for k, v in e.items() if k != "usage"} for e in expected["events"]]
    assert out[0]["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    assert out[1:-1] == events
    assert out[-1]["choices"] == []
    assert out[-1]["usage"] == expected["usage"]
    assert state.usage() == Usage(prompt_tokens=4, completion_tokens=2)


def test_stream_openai_to_gemini() -> None:
    state = OpenAIToGeminiStream()
    out = []
    for chunk in load("stream_openai_to_gemini.input.json"):
        out.extend(state.feed(orjson.dumps(chunk)))
    out.extend(state.finish())
    expected = clean(load("stream_openai_to_gemini.expected.json"))
    assert out == expected["events"]
    usage = state.usage()
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (4, 2)
