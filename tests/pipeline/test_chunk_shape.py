"""relay.pipeline.chunk_shape: an OpenAI stream chunk in new-api's Go struct shape."""

from __future__ import annotations

from relay.pipeline.chunk_shape import go_shaped_chunk, go_shaped_response


def test_unknown_fields_go_and_missing_ones_get_zero_values() -> None:
    chunk = {
        "model": "m",
        "id": "c",
        "created": 7,
        "object": "chat.completion.chunk",
        "service_tier": "default",
        "choices": [
            {
                "index": 1,
                "delta": {"role": "assistant", "content": "", "refusal": None, "audio": {}},
                "finish_reason": None,
            }
        ],
    }
    assert go_shaped_chunk(chunk) == {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 7,
        "model": "m",
        "system_fingerprint": None,
        "choices": [
            {
                "delta": {"content": "", "role": "assistant"},
                "logprobs": None,
                "finish_reason": None,
                "index": 1,
            }
        ],
        "usage": None,
    }
    assert list(go_shaped_chunk({"choices": None})) == [
        "id", "object", "created", "model", "system_fingerprint", "choices", "usage"
    ]  # fmt: skip
    assert go_shaped_chunk({})["choices"] is None


def test_tool_calls_and_usage_keep_the_struct_fields() -> None:
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "f", "arguments": "{}", "strict": True}}  # fmt: skip
    later = {"index": 0, "function": {"arguments": "x"}}
    usage = {
        "prompt_tokens": 3,
        "completion_tokens": 2,
        "total_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 1, "cache_write_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 1, "accepted_prediction_tokens": 0},
        "cost": 0.5,
    }
    shaped = go_shaped_chunk(
        {"choices": [{"delta": {"tool_calls": [call, later]}, "index": 0}], "usage": usage}
    )
    assert shaped["choices"][0]["delta"]["tool_calls"] == [
        {"index": 0, "id": "call_1", "type": "function",
         "function": {"name": "f", "arguments": "{}"}},
        {"index": 0, "type": None, "function": {"arguments": "x"}},
    ]  # fmt: skip
    assert shaped["usage"] == {
        "prompt_tokens": 3,
        "completion_tokens": 2,
        "total_tokens": 5,
        "prompt_tokens_details": {
            "cached_tokens": 1,
            "cache_write_tokens": 4,
            "text_tokens": 0,
            "audio_tokens": 0,
            "image_tokens": 0,
        },
        "completion_tokens_details": {
            "text_tokens": 0,
            "audio_tokens": 0,
            "image_tokens": 0,
            "reasoning_tokens": 1,
        },
        "input_tokens": 0,
        "output_tokens": 0,
        "input_tokens_details": None,
        "claude_cache_creation_5_m_tokens": 0,
        "claude_cache_creation_1_h_tokens": 0,
        "cost": 0.5,
    }


def test_a_whole_answer_keeps_the_struct_fields() -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 9,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hi", "refusal": None,
                            "reasoning_content": "r", "tool_calls": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "system_fingerprint": "fp",
    }  # fmt: skip
    shaped = go_shaped_response(body)
    assert list(shaped) == ["id", "model", "object", "created", "choices", "usage"]
    assert shaped["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hi", "reasoning_content": "r",
                        "tool_calls": None},
            "finish_reason": "stop",
        }
    ]  # fmt: skip
    assert shaped["usage"]["prompt_tokens"] == 0 and shaped["usage"]["input_tokens_details"] is None
    assert go_shaped_response({"error": {"message": "x"}})["error"] == {"message": "x"}
