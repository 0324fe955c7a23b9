"""relay.pipeline.channel_setting: the system prompt in each client format, as new-api adds or
prefixes it, and the re-serialized OpenAI stream of force_format / thinking_to_content."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relay._fast.sse import SSEEvent
from relay.pipeline.channel_setting import (
    openai_system_role,
    pivot_stream,
    prompted_payload,
    stream_framer,
    whole_answer,
)
from relay.pipeline.chunk_shape import go_shaped_response
from relay.providers.base import Endpoint, Format, Provider, Usage
from relay.providers.registry import provider_for
from relay.routing import ChannelSetting


def _provider(channel_type: int) -> Provider:
    provider = provider_for(channel_type)
    assert provider is not None
    return provider


OPENAI, ANTHROPIC, GEMINI = _provider(1), _provider(14), _provider(24)
ADD = ChannelSetting(system_prompt="Be kind.")
OVERRIDE = ChannelSetting(system_prompt="Be kind.", system_prompt_override=True)


def chat(setting: ChannelSetting, payload: dict[str, Any], model: str = "gpt-4o") -> Any:
    return prompted_payload(setting, OPENAI, Endpoint.CHAT, Format.OPENAI, payload, model)


def test_openai_chat_gets_a_first_system_message_or_a_prefix() -> None:
    user = {"role": "user", "content": "hi"}
    assert chat(ADD, {"model": "m", "messages": [user]}) == {
        "model": "m",
        "messages": [{"role": "system", "content": "Be kind."}, user],
    }
    has = {"messages": [user, {"role": "system", "content": "Mine."}]}
    assert chat(ADD, has) is None  # a system message is there and override is off
    assert chat(OVERRIDE, has)["messages"][1] == {"role": "system", "content": "Be kind.\nMine."}
    parts = {"messages": [{"role": "system", "content": [{"type": "text", "text": "P"}]}]}
    assert chat(OVERRIDE, parts)["messages"][0]["content"] == [
        {"type": "text", "text": "Be kind."},
        {"type": "text", "text": "P"},
    ]
    assert chat(ChannelSetting(), {"messages": [user]}) is None
    assert has["messages"][1]["content"] == "Mine."  # the client's payload is not changed


def test_the_openai_system_role_follows_the_upstream_model() -> None:
    assert [openai_system_role(m) for m in ("o3-mini", "o1-mini", "gpt-5-nano", "gpt-4o")] == [
        "developer",
        "system",
        "developer",
        "system",
    ]
    system = {"messages": [{"role": "system", "content": "S"}]}
    edited = chat(ADD, system, model="o3")  # no developer message: one is added
    assert edited["messages"][0] == {"role": "developer", "content": "Be kind."}


def test_which_calls_get_a_prompt() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    # new-api adds it to an OpenAI client's request only while it stays an OpenAI one
    for provider in (ANTHROPIC, GEMINI):
        assert prompted_payload(ADD, provider, Endpoint.CHAT, Format.OPENAI, body, "m") is None
    assert prompted_payload(ADD, OPENAI, Endpoint.RESPONSES, Format.RESPONSES, {}, "m") is None
    assert prompted_payload(ADD, OPENAI, Endpoint.EMBEDDINGS, Format.OPENAI, {}, "m") is None
    assert prompted_payload(ADD, GEMINI, Endpoint.GEMINI_EMBED, Format.GEMINI, {}, "m") is None
    # Claude and Gemini clients get it on any channel (it is converted with the request)
    assert prompted_payload(ADD, OPENAI, Endpoint.MESSAGES, Format.CLAUDE, {}, "m") is not None
    assert prompted_payload(ADD, OPENAI, Endpoint.GEMINI, Format.GEMINI, {}, "m") is not None


def claude(setting: ChannelSetting, payload: dict[str, Any]) -> Any:
    return prompted_payload(setting, ANTHROPIC, Endpoint.MESSAGES, Format.CLAUDE, payload, "c")


def test_claude_system_is_set_or_prefixed() -> None:
    assert claude(ADD, {"messages": []}) == {"messages": [], "system": "Be kind."}
    assert claude(ADD, {"system": None}) == {"system": "Be kind."}
    assert claude(ADD, {"system": "Mine"}) is None
    assert claude(OVERRIDE, {"system": "  Mine \n"}) == {"system": "Be kind.\nMine"}
    assert claude(OVERRIDE, {"system": "   "}) == {"system": "Be kind."}
    blocks = [{"type": "text", "text": "B", "cache_control": {"type": "ephemeral"}}]
    assert claude(OVERRIDE, {"system": blocks}) == {
        "system": [{"type": "text", "text": "Be kind."}, *blocks]
    }
    assert claude(OVERRIDE, {"system": []}) == {"system": [{"type": "text", "text": "Be kind."}]}


def gemini(setting: ChannelSetting, payload: dict[str, Any]) -> Any:
    return prompted_payload(setting, GEMINI, Endpoint.GEMINI, Format.GEMINI, payload, "g")


def test_gemini_system_instruction_is_set_or_prefixed() -> None:
    prompt = {"parts": [{"text": "Be kind."}]}
    assert gemini(ADD, {"contents": []}) == {"contents": [], "systemInstruction": prompt}
    empty = {"systemInstruction": {"role": "system", "parts": []}}
    assert gemini(ADD, empty) == {"systemInstruction": {"role": "system", **prompt}}
    mine = {"systemInstruction": {"parts": [{"text": "Mine"}]}}
    assert gemini(ADD, mine) is None
    assert gemini(OVERRIDE, mine) == {"systemInstruction": {"parts": [{"text": "Be kind.\nMine"}]}}
    blob = {"inlineData": {"mimeType": "text/plain", "data": "eA=="}}
    mixed = {"systemInstruction": {"parts": [blob, {"text": ""}, {"text": "T"}]}}
    assert gemini(OVERRIDE, mixed)["systemInstruction"]["parts"] == [
        blob,
        {"text": ""},
        {"text": "Be kind.\nT"},
    ]
    no_text = {"systemInstruction": {"parts": [blob]}}
    assert gemini(OVERRIDE, no_text)["systemInstruction"]["parts"] == [{"text": "Be kind."}, blob]
    # snake case (which new-api's decoder prefers) is sent in camel case
    snake = {"system_instruction": {"parts": [{"text": "S"}]}, "systemInstruction": {}}
    assert gemini(OVERRIDE, snake) == {"systemInstruction": {"parts": [{"text": "Be kind.\nS"}]}}


def chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": None}
    return {"id": "c1", "object": "chat.completion.chunk", "created": 5, "model": "m",
            "choices": [choice], **extra}  # fmt: skip


def frames(framer: Any, chunks: list[Any]) -> list[Any]:
    out = b"".join(framer(SSEEvent(orjson.dumps(c) if isinstance(c, dict) else c))
                   for c in chunks)  # fmt: skip
    return [f[6:] if f == b"data: [DONE]" else orjson.loads(f[6:]) for f in out.split(b"\n\n") if f]


def test_thinking_to_content_reframes_a_passed_through_stream() -> None:
    setting = ChannelSetting(thinking_to_content=True)
    framer = stream_framer(setting, OPENAI, Endpoint.CHAT, Format.OPENAI)
    out = frames(
        framer,
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"reasoning_content": "Hm"}),
            chunk({"reasoning_content": " ok"}),
            chunk({"content": "Yes"}, usage=None),
            b"[DONE]",
        ],
    )
    texts = [c["choices"][0]["delta"].get("content") for c in out[:-1]]
    assert texts == ["", "<think>\nHm", " ok", "\n</think>\n", "Yes"]
    assert all("reasoning_content" not in c["choices"][0]["delta"] for c in out[:-1])
    assert out[-1] == b"[DONE]"
    # every chunk in new-api's struct shape
    assert list(out[0]) == [
        "id", "object", "created", "model", "system_fingerprint", "choices", "usage"
    ]  # fmt: skip


def test_force_format_only_reshapes() -> None:
    framer = stream_framer(ChannelSetting(force_format=True), OPENAI, Endpoint.CHAT, Format.OPENAI)
    (only,) = frames(framer, [chunk({"reasoning_content": "r"}, extra_field=1)])
    assert only["choices"] == [
        {"delta": {"reasoning_content": "r"}, "logprobs": None, "finish_reason": None, "index": 0}
    ]
    assert "extra_field" not in only and only["usage"] is None


@pytest.mark.parametrize(
    ("provider", "endpoint", "surface"),
    [
        (OPENAI, Endpoint.RESPONSES, Format.RESPONSES),  # not an OpenAI Chat client
        (ANTHROPIC, Endpoint.MESSAGES, Format.CLAUDE),
        (GEMINI, Endpoint.CHAT, Format.OPENAI),  # converted: see pivot_stream
        (OPENAI, Endpoint.COMPLETIONS, Format.OPENAI),
    ],
)
def test_streams_left_byte_for_byte(
    provider: Provider, endpoint: Endpoint, surface: Format
) -> None:
    setting = ChannelSetting(force_format=True, thinking_to_content=True)
    assert stream_framer(setting, provider, endpoint, surface) is None
    assert stream_framer(ChannelSetting(), OPENAI, Endpoint.CHAT, Format.OPENAI) is None


class Reader:
    tool_calls = 2

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        return [chunk({"reasoning_content": data.decode()}), chunk({"content": "A"})]

    def usage(self) -> Usage | None:
        return Usage(1, 2)


def test_a_converted_gemini_stream_is_reformatted_for_openai_clients() -> None:
    setting = ChannelSetting(thinking_to_content=True)
    reader = pivot_stream(Reader(), setting, GEMINI, Endpoint.CHAT)
    texts = [c["choices"][0]["delta"]["content"] for c in reader.feed(b"T")]
    assert texts == ["<think>\nT", "\n</think>\n", "A"]
    assert reader.usage() == Usage(1, 2) and reader.tool_calls == 2
    plain = Reader()
    assert pivot_stream(plain, setting, ANTHROPIC, Endpoint.CHAT) is plain
    assert pivot_stream(plain, setting, GEMINI, Endpoint.MESSAGES) is plain


def test_force_format_reshapes_whole_openai_answers_only() -> None:
    data = {"id": "x", "choices": [], "extra": 1}
    raw = orjson.dumps(data)
    forced = ChannelSetting(force_format=True)
    assert orjson.loads(whole_answer(forced, OPENAI, Endpoint.CHAT, raw, data)) == {
        "id": "x", "model": "", "object": "", "created": None, "choices": [],
        "usage": go_shaped_response({})["usage"],
    }  # fmt: skip
    assert whole_answer(ChannelSetting(), OPENAI, Endpoint.CHAT, raw, data) is raw
    assert whole_answer(forced, OPENAI, Endpoint.RESPONSES, raw, data) is raw
    assert whole_answer(forced, GEMINI, Endpoint.GEMINI, raw, data) is raw
    assert whole_answer(forced, OPENAI, Endpoint.CHAT, b"[1]", [1]) == b"[1]"
