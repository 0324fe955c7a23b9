"""relay.pipeline.embeddings: embeddings calls whose channel speaks the other format."""

from __future__ import annotations

from typing import Any, cast

import orjson
import pytest

from relay.convert.claude_request import ConversionError
from relay.convert.gemini_common import GeminiConversionError, GeminiOptions
from relay.convert.gemini_embeddings import decode_base64
from relay.pipeline.call import Call
from relay.pipeline.embeddings import (
    client_body,
    crosses,
    upstream_embeddings,
    upstream_request,
)
from relay.providers.anthropic.adaptor import Anthropic
from relay.providers.base import Endpoint, Format, Provider, Usage
from relay.providers.gemini.adaptor import Gemini
from relay.providers.openai.adaptor import OpenAICompatible, Vendor
from relay.routing import Channel

GEMINI = Gemini(GeminiOptions(version_settings={"default": "v1beta", "gemini-embedding-001": "v1"}))
OPENAI = OpenAICompatible(Vendor("OpenAI", "https://api.openai.com", True))
EMBEDDER = "gemini-embedding-001"
GEMINI_ANSWER = {"embeddings": [{"values": [0.5, -0.25]}, {"values": [1.0, 0.125]}]}
OPENAI_ANSWER = {
    "object": "list",
    "data": [
        {"object": "embedding", "index": 1, "embedding": [1.0, 0.125]},
        {"object": "embedding", "index": 0, "embedding": [0.5, -0.25]},
    ],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 3, "total_tokens": 3},
}


def make_call(endpoint: Endpoint, surface: Format, payload: dict[str, Any], model: str) -> Call:
    return Call(
        request_id="r1",
        endpoint=endpoint,
        principal=cast(Any, None),
        body=orjson.dumps(payload),
        payload=payload,
        model=model,
        stream=False,
        client_wants_usage=False,
        using_group="default",
        client_ip="127.0.0.1",
        started=0.0,
        quote=cast(Any, None),
        prompt_estimate=3,
        surface=surface,
        client_headers={"content-type": "application/json"},
    )


def channel(type_: int, **kw: Any) -> Channel:
    return Channel(**{"id": 1, "type": type_, "name": "c", "keys": ("k",), **kw})


OPENAI_CALL = make_call(
    Endpoint.EMBEDDINGS, Format.OPENAI, {"model": EMBEDDER, "input": "hi"}, EMBEDDER
)
GEMINI_CALL = make_call(
    Endpoint.GEMINI_EMBED, Format.GEMINI, {"content": {"parts": [{"text": "hi"}]}}, "emb-3"
)


@pytest.mark.parametrize(
    ("call", "provider", "expected"),
    [
        (OPENAI_CALL, GEMINI, True),
        (OPENAI_CALL, OPENAI, False),  # same format: bytes through
        (OPENAI_CALL, Anthropic(), False),  # no embeddings API: channel:type_unsupported
        (GEMINI_CALL, OPENAI, True),
        (GEMINI_CALL, GEMINI, False),
        (make_call(Endpoint.CHAT, Format.OPENAI, {}, "m"), GEMINI, False),  # the pivot's
    ],
)
def test_crosses_only_embeddings_calls_on_the_other_format(
    call: Call, provider: Provider, expected: bool
) -> None:
    assert crosses(call, provider) is expected


def test_openai_request_goes_to_gemini_as_a_batch_with_dimensions() -> None:
    payload = {"model": EMBEDDER, "input": ["one", "two"], "dimensions": 256}
    endpoint, body = upstream_request(payload, Format.GEMINI, EMBEDDER)
    assert endpoint is Endpoint.GEMINI_EMBED
    assert body == {
        "requests": [
            {
                "model": f"models/{EMBEDDER}",
                "content": {"parts": [{"text": text}]},
                "outputDimensionality": 256,
            }
            for text in ("one", "two")
        ]
    }


def test_dimensions_are_dropped_for_models_before_2024() -> None:
    _, body = upstream_request({"input": "x", "dimensions": 64}, Format.GEMINI, "embedding-001")
    assert "outputDimensionality" not in body["requests"][0]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"content": {"parts": [{"text": "a"}, {"text": "b"}]}}, "a\nb"),
        ({"requests": [{"content": {"parts": [{"text": "a"}]}}]}, ["a"]),
    ],
)
def test_gemini_request_goes_to_openai(payload: dict[str, Any], expected: Any) -> None:
    endpoint, body = upstream_request(payload, Format.OPENAI, "emb-3")
    assert endpoint is Endpoint.EMBEDDINGS
    assert body == {"model": "emb-3", "input": expected}


@pytest.mark.parametrize(
    ("payload", "native"),
    [({"input": 3}, Format.GEMINI), ({"requests": []}, Format.OPENAI)],
)
def test_unconvertible_requests_raise_conversion_error(
    payload: dict[str, Any], native: Format
) -> None:
    with pytest.raises(ConversionError):
        upstream_request(payload, native, "m")


def test_gemini_channel_gets_the_batch_call_on_its_version() -> None:
    upstream = upstream_embeddings(OPENAI_CALL, Format.GEMINI, EMBEDDER)
    assert upstream.endpoint is Endpoint.GEMINI_EMBED and upstream.format is Format.GEMINI
    built = GEMINI.build_request(channel(24, base_url="http://g"), "AIza", upstream)
    assert built.url == f"http://g/v1/models/{EMBEDDER}:batchEmbedContents"
    assert built.headers["x-goog-api-key"] == "AIza"
    assert orjson.loads(built.body)["requests"][0]["content"] == {"parts": [{"text": "hi"}]}


def test_param_override_applies_over_the_converted_body() -> None:
    upstream = upstream_embeddings(OPENAI_CALL, Format.GEMINI, EMBEDDER)
    built = GEMINI.build_request(channel(24, param_override={"x": 1}), "AIza", upstream)
    assert orjson.loads(built.body)["x"] == 1


def test_openai_channel_gets_the_embeddings_path_with_the_mapped_model() -> None:
    upstream = upstream_embeddings(GEMINI_CALL, Format.OPENAI, "text-embedding-3-small")
    assert upstream.model_mapped and upstream.format is Format.OPENAI
    built = OPENAI.build_request(channel(1), "sk", upstream)
    assert built.url == "https://api.openai.com/v1/embeddings"
    assert built.headers["Authorization"] == "Bearer sk"
    assert orjson.loads(built.body) == {"model": "text-embedding-3-small", "input": "hi"}


def test_gemini_answer_as_openai_floats_with_the_billed_usage() -> None:
    body = client_body({"input": ["a", "b"]}, Format.GEMINI, GEMINI_ANSWER, EMBEDDER, Usage(7))
    assert [d["embedding"] for d in body["data"]] == [[0.5, -0.25], [1.0, 0.125]]
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert body["model"] == EMBEDDER
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 0, "total_tokens": 7}


def test_gemini_answer_as_openai_base64() -> None:
    payload = {"input": ["a", "b"], "encoding_format": "base64"}
    body = client_body(payload, Format.GEMINI, GEMINI_ANSWER, EMBEDDER, Usage(7))
    vectors = [decode_base64(d["embedding"], "v") for d in body["data"]]
    assert vectors == [[0.5, -0.25], [1.0, 0.125]]


def test_openai_answer_as_gemini_batch_or_single() -> None:
    batch = client_body({"requests": []}, Format.OPENAI, OPENAI_ANSWER, "m", Usage(3))
    assert batch == {"embeddings": [{"values": [0.5, -0.25]}, {"values": [1.0, 0.125]}]}
    single = client_body({"content": {}}, Format.OPENAI, OPENAI_ANSWER, "m", Usage(3))
    assert single == {"embedding": {"values": [0.5, -0.25]}}


@pytest.mark.parametrize(
    ("native", "data"),
    [(Format.GEMINI, {"embeddings": "x"}), (Format.OPENAI, ["not", "an", "object"])],
)
def test_bad_answers_raise(native: Format, data: Any) -> None:
    with pytest.raises(GeminiConversionError):
        client_body({}, native, data, "m", Usage(1))
