"""Embeddings: OpenAI ⇄ Gemini embedContent / batchEmbedContents, both directions."""

from __future__ import annotations

from typing import Any

import pytest

from relay.convert.gemini_common import GeminiConversionError
from relay.convert.gemini_embeddings import (
    gemini_to_openai_embeddings,
    gemini_to_openai_embeddings_request,
    openai_to_gemini_embeddings,
    openai_to_gemini_embeddings_response,
)


def test_openai_request_becomes_a_batch() -> None:
    got = openai_to_gemini_embeddings(
        {"input": ["a", "b"], "dimensions": 256}, model="gemini-embedding-001"
    )
    assert got == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "a"}]},
                "outputDimensionality": 256,
            },
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "b"}]},
                "outputDimensionality": 256,
            },
        ]
    }
    # Older models do not take outputDimensionality.
    got = openai_to_gemini_embeddings({"input": "a", "dimensions": 256}, model="embedding-001")
    assert got == {
        "requests": [{"model": "models/embedding-001", "content": {"parts": [{"text": "a"}]}}]
    }


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "input is required"),
        ({"input": []}, "input is empty"),
        ({"input": [1, 2]}, "string or an array of strings"),
        ({"input": "a", "dimensions": "9"}, "must be a number"),
        ([], "must be an object"),
    ],
)
def test_bad_openai_requests(payload: Any, message: str) -> None:
    with pytest.raises(GeminiConversionError, match=message):
        openai_to_gemini_embeddings(payload, model="m")


def test_gemini_response_becomes_an_openai_list() -> None:
    batch = {"embeddings": [{"values": [0.1, 0.2]}, {"values": [0.3]}]}
    assert gemini_to_openai_embeddings(batch, model="m", prompt_tokens=4) == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]},
            {"object": "embedding", "index": 1, "embedding": [0.3]},
        ],
        "model": "m",
        "usage": {"prompt_tokens": 4, "completion_tokens": 0, "total_tokens": 4},
    }
    single = gemini_to_openai_embeddings(
        {"embedding": {"values": [1.0]}}, model="m", prompt_tokens=1
    )
    assert single["data"] == [{"object": "embedding", "index": 0, "embedding": [1.0]}]
    with pytest.raises(GeminiConversionError):
        gemini_to_openai_embeddings({"embeddings": [{"values": "x"}]}, model="m", prompt_tokens=0)


def test_base64_both_ways() -> None:
    batch = {"embeddings": [{"values": [0.5, -2.0]}]}
    got = gemini_to_openai_embeddings(batch, model="m", prompt_tokens=1, encoding_format="base64")
    assert got["data"][0]["embedding"] == "AAAAPwAAAMA="  # float32 LE, as OpenAI sends it
    back = openai_to_gemini_embeddings_response({"data": got["data"]}, batch=True)
    assert back == {"embeddings": [{"values": [0.5, -2.0]}]}
    for bad in ("not base64!", "AAA="):
        with pytest.raises(GeminiConversionError):
            openai_to_gemini_embeddings_response({"data": [{"embedding": bad}]}, batch=True)
    with pytest.raises(GeminiConversionError, match="array of numbers"):
        gemini_to_openai_embeddings(
            {"embeddings": [{"values": ["x"]}]},
            model="m",
            prompt_tokens=0,
            encoding_format="base64",
        )


def test_gemini_requests_become_openai_requests() -> None:
    single = {
        "model": "models/text-embedding-004",
        "content": {"parts": [{"text": "a"}, {"text": "b"}]},
        "taskType": "RETRIEVAL_QUERY",
        "outputDimensionality": 64,
    }
    got = gemini_to_openai_embeddings_request(single, model="text-embedding-3-small", batch=False)
    assert got == {"model": "text-embedding-3-small", "input": "a\nb", "dimensions": 64}
    batch = {
        "requests": [
            {"content": {"parts": [{"text": "x"}]}},
            {"content": {"parts": [{"text": "y"}]}},
        ]
    }
    got = gemini_to_openai_embeddings_request(batch, model="e", batch=True)
    assert got == {"model": "e", "input": ["x", "y"]}


@pytest.mark.parametrize(
    "payload",
    [
        {"requests": []},
        {"requests": "x"},
        {"requests": [{"content": {"parts": [{"text": 1}]}}]},
        {
            "requests": [
                {"content": {"parts": [{"text": "a"}]}, "outputDimensionality": 8},
                {"content": {"parts": [{"text": "b"}]}, "outputDimensionality": 16},
            ]
        },
    ],
)
def test_bad_gemini_requests(payload: Any) -> None:
    with pytest.raises(GeminiConversionError):
        gemini_to_openai_embeddings_request(payload, model="e", batch=True)


def test_openai_response_becomes_a_gemini_response() -> None:
    body = {
        "data": [
            {"object": "embedding", "index": 1, "embedding": [2.0]},
            {"object": "embedding", "index": 0, "embedding": [1.0]},
        ]
    }
    assert openai_to_gemini_embeddings_response(body, batch=True) == {
        "embeddings": [{"values": [1.0]}, {"values": [2.0]}]
    }
    assert openai_to_gemini_embeddings_response(body, batch=False) == {
        "embedding": {"values": [1.0]}
    }
    with pytest.raises(GeminiConversionError, match="no embedding"):
        openai_to_gemini_embeddings_response({"data": []}, batch=False)
    with pytest.raises(GeminiConversionError):
        openai_to_gemini_embeddings_response({"data": [{"embedding": "b64"}]}, batch=True)
