"""relay.errors: the OpenAI error body, upstream error reading, messages and languages."""

from __future__ import annotations

import re
import string

import orjson
import pytest

from relay.errors import MESSAGES, RelayError, language, message, upstream_error


def body(err: RelayError, request_id: str = "20250101000000123456789abcdef01XyZ12345") -> dict:
    data = orjson.loads(err.openai_body(request_id))
    assert set(data) == {"error"}
    return dict(data["error"])


def test_openai_body_shape() -> None:
    err = RelayError(403, "User has been banned", "user_banned")
    assert body(err, "RID") == {
        "message": "User has been banned (request id: RID)",
        "type": "new_api_error",
        "code": "user_banned",
    }
    assert list(body(err)) == ["message", "type", "code"]


def test_openai_body_message_always_ends_with_the_request_id() -> None:
    for text in ("", "x", "多字节 text", 'quote " and \\ backslash'):
        err = RelayError(500, text)
        assert body(err, "abc123")["message"] == f"{text} (request id: abc123)"


def test_openai_body_param_and_type() -> None:
    assert body(RelayError(400, "bad", param="model"))["param"] == "model"
    assert body(RelayError(400, "bad", type="invalid_request_error"))["type"] == (
        "invalid_request_error"
    )
    upstream = RelayError(500, "oops", upstream=True)
    assert body(upstream)["param"] == ""
    assert "param" not in body(RelayError(500, "oops"))
    assert body(RelayError(500, "oops"))["code"] == ""


def test_relay_error_attributes_and_headers() -> None:
    err = RelayError(429, "slow down", "rate_limit_exceeded", retry_after=17, skip_retry=True)
    assert (err.status, err.text, err.code) == (429, "slow down", "rate_limit_exceeded")
    assert err.skip_retry and not err.channel_error and not err.upstream
    assert err.headers() == {"Retry-After": "17"}
    assert RelayError(500, "x").headers() == {}
    assert RelayError(429, "x", retry_after=0).headers() == {"Retry-After": "0"}
    assert str(err) == "slow down"


def test_upstream_openai_error_keeps_its_fields() -> None:
    raw = orjson.dumps(
        {
            "error": {
                "message": "Rate limit reached",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        }
    )
    err = upstream_error(429, raw)
    assert (err.status, err.text, err.code, err.type) == (
        429,
        "Rate limit reached",
        "rate_limit_exceeded",
        "requests",
    )
    assert err.upstream and err.param == ""
    assert body(err, "R") == {
        "message": "Rate limit reached (request id: R)",
        "type": "requests",
        "param": "",
        "code": "rate_limit_exceeded",
    }


def test_upstream_openai_error_with_empty_type_and_numeric_code() -> None:
    raw = orjson.dumps({"error": {"message": "boom", "type": "", "code": 500, "param": "x"}})
    err = upstream_error(500, raw)
    assert err.type == "upstream_error"
    assert err.code == "500"
    assert err.param == "x"
    err = upstream_error(500, orjson.dumps({"error": {"message": "boom"}}))
    assert (err.type, err.code) == ("upstream_error", "")


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        ({"message": "plain message"}, "plain message"),
        ({"msg": "short msg"}, "short msg"),
        ({"detail": "Not Found"}, "Not Found"),
        ({"error": "a string error"}, "a string error"),
        ({"error": {"code": 1}, "message": "top-level"}, "top-level"),
        ({"error": {"message": ""}, "detail": "fallback"}, "fallback"),
        ({"detail": {"message": "nested"}}, "nested"),
        ({"unrelated": 1}, "bad response status code 502"),
        ({"error": {"message": ""}}, "bad response status code 502"),
    ],
)
def test_upstream_other_json(payload: dict, text: str) -> None:
    err = upstream_error(502, orjson.dumps(payload))
    assert err.text == text
    assert (err.code, err.type, err.status) == ("bad_response_status_code", "upstream_error", 502)
    assert err.upstream


@pytest.mark.parametrize(
    "raw", [b"", b"<html>502 Bad Gateway</html>", b"[1, 2]", b'"text"', b"\xff"]
)
def test_upstream_non_json_or_non_object(raw: bytes) -> None:
    err = upstream_error(503, raw)
    assert err.text == "bad response status code 503"
    assert (err.code, err.type, err.status) == ("bad_response_status_code", "upstream_error", 503)
    assert body(err, "R")["message"] == "bad response status code 503 (request id: R)"


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9", "zh"),
        ("ZH-tw", "zh"),
        ("zh", "zh"),
        ("fr, zh;q=0.8", "en"),
    ],
)
def test_language(header: str, lang: str) -> None:
    assert language(header) == lang


def test_messages_in_both_languages_with_the_same_parameters() -> None:
    fields = string.Formatter()
    for msg_id, (en, zh) in MESSAGES.items():
        en_params = {f for _, f, _, _ in fields.parse(en) if f}
        zh_params = {f for _, f, _, _ in fields.parse(zh) if f}
        assert en_params == zh_params, msg_id
        assert en and zh


def test_message_formatting() -> None:
    assert message("token_invalid") == "Invalid token"
    assert message("token_invalid", "zh") == "无效的令牌"
    assert message("token_invalid", "fr") == "Invalid token"
    assert message("group_denied", "zh", group="vip") == "无权访问 vip 分组"
    assert message("pin_denied", "zh") == "普通用户不支持指定渠道"
    text = message("user_quota_short", remain="$0.1", need="$0.2")
    assert re.search(r"remaining quota: \$0\.1, needed: \$0\.2", text)
    with pytest.raises(KeyError):
        message("no_channel", model="m")  # a missing parameter is a programming error


def test_claude_body_shape_and_shape_switch() -> None:
    err = RelayError(403, "no", "insufficient_user_quota")
    assert err.body("r1") == err.openai_body("r1")
    err.shape = "claude"
    assert orjson.loads(err.body("r1")) == {
        "type": "error",
        "error": {"type": "new_api_error", "message": "no (request id: r1)"},
    }
    # an upstream OpenAI error's code becomes the Claude type; a Claude error keeps its type
    openai_up = upstream_error(429, b'{"error":{"message":"slow","type":"x","code":"rl"}}')
    claude_up = upstream_error(400, b'{"type":"error","error":{"type":"invalid_request_error",'
                                    b'"message":"bad"}}')  # fmt: skip
    assert orjson.loads(openai_up.claude_body("r"))["error"]["type"] == "rl"
    assert orjson.loads(claude_up.claude_body("r"))["error"] == {
        "type": "invalid_request_error",
        "message": "bad (request id: r)",
    }
