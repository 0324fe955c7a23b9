"""relay.providers.openai.convert: usage, generated text, and the stream observer."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relay.providers.base import Endpoint, Usage
from relay.providers.openai.convert import (
    OpenAIPivotStream,
    OpenAIStreamObserver,
    choice_texts,
    has_usage_object,
    openai_usage_of,
    usage_from,
)
from relay.providers.pending import PENDING_LIMIT

# --- usage_from -----------------------------------------------------------------------------


def test_usage_plain() -> None:
    u = usage_from({"usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
    assert u == Usage(prompt_tokens=10, completion_tokens=5)
    assert u is not None and u.total_tokens == 15 and not u.anthropic


def test_usage_cached_tokens_and_details() -> None:
    u = usage_from(
        {
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 7,
                "prompt_tokens_details": {
                    "cached_tokens": 40,
                    "cache_write_tokens": 9,
                    "image_tokens": 12,
                },
            }
        }
    )
    assert u == Usage(100, 7, cached_tokens=40, cache_write_tokens=9, image_tokens=12)


def test_usage_deepseek_prompt_cache_hit_tokens() -> None:
    u = usage_from(
        {"usage": {"prompt_tokens": 50, "completion_tokens": 1, "prompt_cache_hit_tokens": 30}}
    )
    assert u is not None and u.cached_tokens == 30
    # prompt_tokens_details wins when both are present
    u = usage_from(
        {
            "usage": {
                "prompt_tokens": 50,
                "prompt_cache_hit_tokens": 30,
                "prompt_tokens_details": {"cached_tokens": 20},
            }
        }
    )
    assert u is not None and u.cached_tokens == 20


def test_usage_responses_style_and_total_only() -> None:
    assert usage_from({"usage": {"input_tokens": 8, "output_tokens": 3}}) == Usage(8, 3)
    assert usage_from({"usage": {"prompt_tokens": 8, "total_tokens": 20}}) == Usage(8, 12)
    assert usage_from({"usage": {"prompt_tokens": 8, "total_tokens": 5}}) == Usage(8, 0)


@pytest.mark.parametrize(
    "data",
    [{}, {"usage": None}, {"usage": "10"}, {"usage": [1]}, {"choices": []}],
)
def test_no_usage(data: dict[str, Any]) -> None:
    assert usage_from(data) is None


def test_usage_ignores_non_integers() -> None:
    u = usage_from(
        {
            "usage": {
                "prompt_tokens": "10",
                "completion_tokens": True,
                "prompt_tokens_details": None,
            }
        }
    )
    assert u == Usage()
    assert usage_from({"usage": {}}) == Usage()


# --- has_usage_object -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"usage":{"prompt_tokens":1}}', True),
        (b'{"usage" :  \n {"prompt_tokens":1}}', True),
        (b'{"usage":\t{}}', True),
        (b'{"choices":[],"usage":null}', False),
        (b'{"usage": null}', False),
        (b'{"choices":[{"delta":{"content":"the \\"usage\\": {x} text"}}]}', False),
        (b'{"choices":[{"delta":{"content":"usage"}}]}', False),
        (b'{"choices":[{"delta":{"content":"\\"usage\\""}}],"usage":{"total_tokens":3}}', True),
        (b'{"a":"\\"usage\\": 1","usage":{"x":1}}', True),
        (b'{"usage"', False),
        (b'{"usage":', False),
        (b"", False),
    ],
)
def test_has_usage_object(data: bytes, expected: bool) -> None:
    assert has_usage_object(data) is expected


# --- choice_texts ---------------------------------------------------------------------------


def test_choice_texts_chat() -> None:
    out: list[str] = []
    data = {
        "choices": [
            {"message": {"content": "hello", "reasoning_content": "think"}},
            {"delta": {"reasoning": "r", "content": ""}},
            {
                "delta": {
                    "tool_calls": [
                        {"id": "call_1", "function": {"name": "f", "arguments": "{}"}},
                        {"function": {"arguments": '{"a":1}'}},
                        "junk",
                    ]
                }
            },
            "junk",
        ]
    }
    assert choice_texts(Endpoint.CHAT, data, out) == 1
    assert out == ["hello", "think", "r", "f", "{}", '{"a":1}']


def test_choice_texts_completions_and_missing_choices() -> None:
    out: list[str] = []
    data = {"choices": [{"text": "abc"}, {"text": None}, {"message": {"content": "x"}}]}
    assert choice_texts(Endpoint.COMPLETIONS, data, out) == 0
    assert out == ["abc"]
    assert choice_texts(Endpoint.CHAT, {"choices": None}, out) == 0
    assert choice_texts(Endpoint.CHAT, {}, out) == 0


# --- OpenAIStreamObserver -------------------------------------------------------------------


def chunk(
    content: str | None = None, *, usage: dict[str, int] | None = None, **extra: Any
) -> bytes:
    choices: list[Any] = [] if content is None else [{"index": 0, "delta": {"content": content}}]
    data: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "choices": choices}
    if usage is not None:
        data["usage"] = usage
    data.update(extra)
    return orjson.dumps(data)


USAGE = {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}


def observer(drop: bool) -> tuple[OpenAIStreamObserver, list[str]]:
    texts: list[str] = []
    return OpenAIStreamObserver(Endpoint.CHAT, drop, texts.append), texts


def test_usage_only_chunk_is_dropped_when_asked_and_usage_kept() -> None:
    obs, texts = observer(drop=True)
    assert obs.observe(chunk("Hel")) is True
    assert obs.observe(chunk("lo")) is True
    assert obs.observe(chunk(usage=USAGE)) is False
    assert obs.observe(b"[DONE]") is True
    assert obs.usage() == Usage(9, 4)
    obs.flush_text()
    assert texts == ["Hel", "lo"]  # text seen before the usage is still available


def test_usage_only_chunk_is_kept_when_not_asked() -> None:
    obs, _ = observer(drop=False)
    assert obs.observe(chunk(usage=USAGE)) is True
    assert obs.usage() == Usage(9, 4)


def test_usage_chunk_with_choices_is_never_dropped() -> None:
    obs, texts = observer(drop=True)
    assert obs.observe(chunk("last", usage=USAGE)) is True
    assert obs.usage() == Usage(9, 4)
    obs.flush_text()
    assert texts == []  # usage is known: its text never needs counting


def test_null_usage_chunks_are_kept_and_do_not_count() -> None:
    obs, texts = observer(drop=True)
    assert obs.observe(chunk("a", usage=None)) is True
    assert obs.observe(orjson.dumps({"choices": [], "usage": None})) is True
    assert obs.usage() is None
    obs.flush_text()
    assert texts == ["a"]


def test_unparsable_usage_looking_event_is_passed_through() -> None:
    obs, _ = observer(drop=True)
    assert obs.observe(b'{"usage": {broken') is True
    assert obs.usage() is None


def test_a_later_usage_chunk_replaces_an_earlier_one() -> None:
    obs, _ = observer(drop=False)
    obs.observe(chunk(usage={"prompt_tokens": 1, "completion_tokens": 1}))
    obs.observe(chunk(usage={"prompt_tokens": 2, "completion_tokens": 3}))
    assert obs.usage() == Usage(2, 3)


def test_text_after_usage_is_not_kept() -> None:
    obs, texts = observer(drop=False)
    obs.observe(chunk("before"))
    obs.observe(chunk(usage=USAGE))
    obs.observe(chunk("after"))
    obs.flush_text()
    assert texts == ["before"]


def test_pending_text_is_bounded_and_flushed_in_order() -> None:
    obs, texts = observer(drop=False)
    piece = "x" * 1000
    sent: list[str] = []
    i = 0
    while not texts:
        text = f"{i}:{piece}"
        sent.append(text)
        obs.observe(chunk(text))
        i += 1
        assert i < 1000, "the pending buffer never flushed"
    # The flush happened as soon as the waiting bytes passed the limit, not at the end.
    assert sum(len(chunk(t)) for t in sent) > PENDING_LIMIT
    assert sum(len(chunk(t)) for t in sent[:-1]) <= PENDING_LIMIT
    assert texts == sent
    for j in range(3):
        extra = f"tail{j}"
        sent.append(extra)
        obs.observe(chunk(extra))
    assert texts == sent[:-3]
    obs.flush_text()
    assert texts == sent
    obs.flush_text()  # nothing pending: nothing handed again
    assert texts == sent


def test_tool_calls_are_counted_when_text_is_flushed() -> None:
    obs, texts = observer(drop=False)
    calls = [
        {
            "index": 0,
            "id": "call_a",
            "type": "function",
            "function": {"name": "get", "arguments": ""},
        },
        {
            "index": 1,
            "id": "call_b",
            "type": "function",
            "function": {"name": "put", "arguments": ""},
        },
    ]
    obs.observe(orjson.dumps({"choices": [{"delta": {"tool_calls": calls}}]}))
    more = [{"index": 0, "function": {"arguments": '{"q":1}'}}]
    obs.observe(orjson.dumps({"choices": [{"delta": {"tool_calls": more}}]}))
    obs.observe(b"not json")
    obs.observe(b"[DONE]")
    obs.flush_text()
    assert obs.tool_calls == 2
    assert texts == ["get", "", "put", "", '{"q":1}']


def test_completions_stream_text() -> None:
    texts: list[str] = []
    obs = OpenAIStreamObserver(Endpoint.COMPLETIONS, False, texts.append)
    obs.observe(orjson.dumps({"choices": [{"text": "foo"}]}))
    obs.observe(orjson.dumps({"choices": [{"text": "bar"}]}))
    obs.flush_text()
    assert texts == ["foo", "bar"]
    assert obs.usage() is None and obs.tool_calls == 0


def test_pivot_stream_parses_chunks_and_keeps_usage_chunks_back() -> None:
    texts: list[str] = []
    reader = OpenAIPivotStream(texts.append)
    chunk = {"choices": [{"delta": {"content": "hi", "tool_calls": [{"id": "c"}]}}]}
    assert reader.feed(orjson.dumps(chunk)) == [chunk]
    usage_only = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
    assert reader.feed(orjson.dumps(usage_only)) == []
    assert reader.feed(b"[DONE]") == [] and reader.feed(b"{bad") == []
    assert reader.usage() == Usage(prompt_tokens=3, completion_tokens=1)
    assert texts == ["hi"] and reader.tool_calls == 1
    writes = Usage(prompt_tokens=3, completion_tokens=1, cached_tokens=1, cache_write_tokens=2)
    assert openai_usage_of(writes)["prompt_tokens_details"] == {
        "cached_tokens": 1,
        "cached_creation_tokens": 2,
        "cache_write_tokens": 2,
    }
