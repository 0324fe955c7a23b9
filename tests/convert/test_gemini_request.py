"""OpenAI Chat request → Gemini generateContent request."""

from __future__ import annotations

from typing import Any

import pytest

from relay.convert.gemini_common import GeminiConversionError, GeminiOptions
from relay.convert.gemini_parts import THOUGHT_SIGNATURE_BYPASS
from relay.convert.gemini_request import openai_to_gemini_request, remote_media_urls

OFF = [
    {"category": c, "threshold": "OFF"}
    for c in (
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
    )
]


def convert(payload: dict[str, Any], model: str = "gemini-2.5-flash", **kw: Any) -> dict[str, Any]:
    return openai_to_gemini_request(payload, model=model, **kw)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def test_plain_text_and_system() -> None:
    got = convert(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "No emoji."}]},
                user("Hi"),
                {"role": "assistant", "content": "Hello!"},
                user("Bye"),
            ]
        },
        options=GeminiOptions(function_call_thought_signature=False),
    )
    assert got == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello!"}]},
            {"role": "user", "parts": [{"text": "Bye"}]},
        ],
        "generationConfig": {},
        "safetySettings": OFF,
        "systemInstruction": {"parts": [{"text": "Be brief.\nNo emoji."}]},
    }


def test_empty_messages_are_dropped() -> None:
    got = convert({"messages": [user(""), {"role": "user", "content": None}, user("x")]})
    assert got["contents"] == [{"role": "user", "parts": [{"text": "x"}]}]


def test_data_url_image_audio_and_file() -> None:
    content = [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
        {"type": "image_url", "image_url": "data:image/webp;base64,BBBB"},
        {"type": "input_audio", "input_audio": {"data": "CCCC", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,DDDD"}},
    ]
    got = convert({"messages": [{"role": "user", "content": content}]})
    assert got["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/jpeg", "data": "AAAA"}},
        {"inlineData": {"mimeType": "image/webp", "data": "BBBB"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "CCCC"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "DDDD"}},
    ]


def test_remote_urls_are_listed_then_taken_from_the_mapping() -> None:
    url = "https://example.com/a.png"
    payload = {
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]},
            {"role": "user", "content": [{"type": "video_url", "video_url": {"url": url + "4"}}]},
        ]
    }
    assert remote_media_urls(payload) == [url, url + "4"]
    media = {url: ("image/png", "PNG"), url + "4": ("video/mp4", "MP4")}
    got = convert(payload, media=media)
    assert got["contents"][0]["parts"] == [{"inlineData": {"mimeType": "image/png", "data": "PNG"}}]
    assert got["contents"][2]["parts"] == [{"inlineData": {"mimeType": "video/mp4", "data": "MP4"}}]
    with pytest.raises(GeminiConversionError, match="not fetched"):
        convert(payload)


def test_unsupported_mime_type() -> None:
    content = [{"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lG"}}]
    with pytest.raises(GeminiConversionError, match="not supported by Gemini: 'image/gif'"):
        convert({"messages": [{"role": "user", "content": content}]})


def test_tool_results_follow_the_three_content_rules() -> None:
    calls = [
        {"id": f"c{i}", "type": "function", "function": {"name": f"f{i}", "arguments": ""}}
        for i in range(4)
    ]
    got = convert(
        {
            "messages": [
                user("go"),
                {"role": "assistant", "content": None, "tool_calls": calls},
                {"role": "tool", "tool_call_id": "c0", "content": '{"temp": 15}'},
                {"role": "tool", "tool_call_id": "c1", "content": "[1, 2]"},
                {"role": "tool", "tool_call_id": "c2", "content": "sunny"},
                {"role": "tool", "tool_call_id": "zz", "name": "named", "content": "42"},
            ]
        },
        options=GeminiOptions(function_call_thought_signature=False),
    )
    assert got["contents"][1] == {
        "role": "model",
        "parts": [{"functionCall": {"name": f"f{i}", "args": {}}} for i in range(4)],
    }
    assert got["contents"][2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "f0", "response": {"temp": 15}}},
            {"functionResponse": {"name": "f1", "response": {"result": [1, 2]}}},
            {"functionResponse": {"name": "f2", "response": {"content": "sunny"}}},
            {"functionResponse": {"name": "named", "response": {"content": "42"}}},
        ],
    }


def test_thought_signature_goes_on_the_first_function_call_only() -> None:
    calls = [
        {"id": "a", "function": {"name": "one", "arguments": '{"x": 1}'}},
        {"id": "b", "function": {"name": "two", "arguments": "{}"}},
    ]
    message = {"role": "assistant", "content": "Calling.", "tool_calls": calls}
    got = convert({"messages": [user("q"), message]})
    assert got["contents"][1]["parts"] == [
        {
            "functionCall": {"name": "one", "args": {"x": 1}},
            "thoughtSignature": THOUGHT_SIGNATURE_BYPASS,
        },
        {"functionCall": {"name": "two", "args": {}}},
        {"text": "Calling."},
    ]
    # Without a function call the first text of a model turn carries it; user turns never do.
    got = convert({"messages": [user("q"), {"role": "assistant", "content": "Hi"}]})
    assert got["contents"][0]["parts"] == [{"text": "q"}]
    assert got["contents"][1]["parts"] == [
        {"text": "Hi", "thoughtSignature": THOUGHT_SIGNATURE_BYPASS}
    ]
    off = GeminiOptions(function_call_thought_signature=False)
    got = convert({"messages": [user("q"), message]}, options=off)
    assert all("thoughtSignature" not in p for p in got["contents"][1]["parts"])


def test_bad_tool_call_arguments() -> None:
    message = {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{x"}}]}
    with pytest.raises(GeminiConversionError, match="invalid arguments for function f"):
        convert({"messages": [message]})
    message["tool_calls"][0]["function"]["arguments"] = "[1]"
    with pytest.raises(GeminiConversionError, match="invalid arguments"):
        convert({"messages": [message]})


def test_markdown_images_from_earlier_turns_become_inline_data() -> None:
    text = "Here: ![image](data:image/png;base64,QUJD) and ![b](data:image/jpeg;base64,REVG) done"
    got = convert({"messages": [{"role": "assistant", "content": text}]})
    sig = THOUGHT_SIGNATURE_BYPASS
    assert got["contents"][0]["parts"] == [
        {"text": "Here: ", "thoughtSignature": sig},
        {"inlineData": {"mimeType": "image/png", "data": "QUJD"}, "thoughtSignature": sig},
        {"text": " and "},
        {"inlineData": {"mimeType": "image/jpeg", "data": "REVG"}, "thoughtSignature": sig},
        {"text": " done"},
    ]


def test_tools_builtins_and_schema_cleanup() -> None:
    params = {
        "type": "object",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "additionalProperties": False,
        "properties": {
            "city": {"type": "string", "description": "City", "examples": ["Paris"]},
            "days": {"type": ["integer", "null"]},
            "tags": {"type": "array", "items": [{"type": "string"}]},
            "unit": {"anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}]},
        },
        "required": ["city"],
    }
    tools = [
        {
            "type": "function",
            "function": {"name": "weather", "description": "W", "parameters": params},
        },
        {
            "type": "function",
            "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}},
        },
        {"type": "function", "function": {"name": "googleSearch"}},
        {"type": "function", "function": {"name": "codeExecution"}},
    ]
    got = convert({"messages": [user("q")], "tools": tools})
    assert got["tools"] == [
        {"codeExecution": {}},
        {"googleSearch": {}},
        {
            "functionDeclarations": [
                {
                    "name": "weather",
                    "description": "W",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {
                            "city": {"type": "STRING", "description": "City"},
                            "days": {"type": "INTEGER", "nullable": True},
                            "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
                            "unit": {
                                "anyOf": [
                                    {"type": "STRING", "enum": ["c", "f"]},
                                    {"nullable": True},
                                ]
                            },
                        },
                        "required": ["city"],
                    },
                },
                {"name": "ping"},
            ]
        },
    ]
    assert "toolConfig" not in got
    assert params["$schema"]  # the caller's payload is not mutated


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        ("bogus", {"mode": "AUTO"}),
        (
            {"type": "function", "function": {"name": "f"}},
            {"mode": "ANY", "allowedFunctionNames": ["f"]},
        ),
    ],
)
def test_tool_choice(choice: Any, config: dict[str, Any]) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    got = convert({"messages": [user("q")], "tools": tools, "tool_choice": choice})
    assert got["toolConfig"] == {"functionCallingConfig": config}


def test_tool_choice_needs_tools() -> None:
    assert "toolConfig" not in convert({"messages": [user("q")], "tool_choice": "required"})


def test_response_format() -> None:
    schema = {
        "title": "Answer",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "items": {"type": "object", "additionalProperties": False}}
        },
    }
    rf = {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}
    got = convert({"messages": [user("q")], "response_format": rf})
    assert got["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "object",
            "properties": {"items": {"type": "array", "items": {"type": "object"}}},
        },
    }
    got = convert({"messages": [user("q")], "response_format": {"type": "json_object"}})
    assert got["generationConfig"] == {"responseMimeType": "application/json"}
    got = convert({"messages": [user("q")], "response_format": {"type": "text"}})
    assert got["generationConfig"] == {}


def test_generation_config() -> None:
    got = convert(
        {
            "messages": [user("q")],
            "temperature": 0,
            "top_p": 0,
            "max_tokens": 100,
            "max_completion_tokens": 200,
            "seed": 7,
            "stop": ["a", "", "b", "c", "d", "e", "f"],
        }
    )
    assert got["generationConfig"] == {
        "temperature": 0,
        "maxOutputTokens": 200,
        "seed": 7,
        "stopSequences": ["a", "b", "c", "d", "e"],
    }
    got = convert({"messages": [user("q")], "top_p": 0.9, "stop": "END"})
    assert got["generationConfig"] == {"topP": 0.9, "stopSequences": ["END"]}


def test_imagine_models_and_safety_settings() -> None:
    options = GeminiOptions(
        safety_settings={"default": "BLOCK_NONE", "HARM_CATEGORY_HATE_SPEECH": "BLOCK_ONLY_HIGH"}
    )
    got = convert({"messages": [user("q")]}, model="gemini-2.5-flash-image", options=options)
    assert got["generationConfig"] == {"responseModalities": ["TEXT", "IMAGE"]}
    assert [s["threshold"] for s in got["safetySettings"]] == [
        "BLOCK_NONE",
        "BLOCK_ONLY_HIGH",
        "BLOCK_NONE",
        "BLOCK_NONE",
    ]


def test_extra_body_thinking_and_image_config() -> None:
    google = {
        "thinking_config": {"thinking_budget": 1024, "thinking_level": "low"},
        "image_config": {"aspect_ratio": "16:9", "image_size": "2K"},
    }
    options = GeminiOptions(thinking_adapter=True)
    got = convert(
        {"messages": [user("q")], "extra_body": {"google": google}},
        model="gemini-2.5-flash-thinking",
        options=options,
    )
    # extra_body wins over the suffix adapter.
    assert got["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True, "thinkingLevel": "low"},
        "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"},
    }
    google = {"thinking_config": {"thinking_budget": 0, "include_thoughts": True}}
    got = convert({"messages": [user("q")], "extra_body": {"google": google}})
    assert got["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 0, "includeThoughts": True}
    }


@pytest.mark.parametrize(
    ("google", "message"),
    [
        ({"thinkingConfig": {}}, "use extra_body.google.thinking_config"),
        (
            {"thinking_config": {"thinkingBudget": 1}},
            "use extra_body.google.thinking_config.thinking_budget",
        ),
        ({"thinking_config": {"thinking_budget": "9"}}, "must be an integer"),
        ({"thinking_config": {"include_thoughts": "yes"}}, "must be a boolean"),
        ({"thinking_config": {"thinking_level": 3}}, "must be a string"),
        ({"imageConfig": {}}, "use extra_body.google.image_config"),
        ({"image_config": {"aspectRatio": "1:1"}}, "aspect_ratio instead"),
    ],
)
def test_extra_body_errors(google: dict[str, Any], message: str) -> None:
    with pytest.raises(GeminiConversionError, match=message):
        convert({"messages": [user("q")], "extra_body": {"google": google}})


def test_thinking_suffix_needs_the_adapter() -> None:
    payload = {"messages": [user("q")], "max_tokens": 1000}
    got = convert(payload, model="gemini-2.5-flash-thinking")
    assert got["generationConfig"] == {"maxOutputTokens": 1000}
    got = convert(
        payload, model="gemini-2.5-flash-thinking", options=GeminiOptions(thinking_adapter=True)
    )
    assert got["generationConfig"]["thinkingConfig"] == {
        "includeThoughts": True,
        "thinkingBudget": 600,
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"messages": "hi"},
        {"messages": ["hi"]},
        {"messages": [{"role": 1, "content": "x"}]},
        {"messages": [{"role": "user", "content": 5}]},
        {"messages": [{"role": "user", "content": ["x"]}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]},
        {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": "x"}]}]},
        {"messages": [{"role": "assistant", "tool_calls": {"a": 1}}]},
        {"messages": [{"role": "assistant", "tool_calls": [{"function": "f"}]}]},
        {"messages": [], "tools": {"a": 1}},
        {"messages": [], "tools": [{"type": "function"}]},
        {"messages": [], "temperature": "hot"},
        {"messages": [], "max_tokens": True},
        {"messages": [], "response_format": "json"},
        {"messages": [], "extra_body": "google"},
    ],
)
def test_bad_input_raises_a_clear_error(payload: dict[str, Any]) -> None:
    with pytest.raises(GeminiConversionError):
        convert(payload)


def test_non_object_body() -> None:
    with pytest.raises(GeminiConversionError, match="must be an object"):
        openai_to_gemini_request([], model="m")  # type: ignore[arg-type]
