"""OpenAI messages → Gemini contents: the pieces the request tests do not reach directly."""

from __future__ import annotations

import pytest

from relay.convert.gemini_common import GeminiConversionError
from relay.convert.gemini_parts import (
    content_parts,
    remote_media_urls,
    string_content,
    to_contents,
)


def test_content_parts_and_string_content() -> None:
    assert content_parts({"content": "hi"}, "m") == [{"type": "text", "text": "hi"}]
    assert content_parts({"content": ""}, "m") == []
    parts = [{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}]
    assert string_content({"content": parts}, "m") == "ab"
    with pytest.raises(GeminiConversionError, match=r"m\.content must be an array"):
        content_parts({"content": {"text": "x"}}, "m")


def test_remote_media_urls_skip_system_and_tool_messages() -> None:
    image = [{"type": "image_url", "image_url": {"url": "http://x/a.png"}}]
    payload = {
        "messages": [
            {"role": "system", "content": image},
            {"role": "tool", "content": image},
            {
                "role": "user",
                "content": [{"type": "file", "file": {"file_data": "http://x/f.pdf"}}],
            },
        ]
    }
    assert remote_media_urls(payload) == ["http://x/f.pdf"]


def test_markdown_that_is_not_a_data_image_stays_text() -> None:
    messages = [{"role": "user", "content": "see ![x](http://a/b.png) and ![y](data:nope)"}]
    with pytest.raises(GeminiConversionError, match="bad markdown image data URL"):
        to_contents(messages, {}, sign=False)
    contents, _ = to_contents([{"role": "user", "content": "![x](http://a/b.png)"}], {}, False)
    assert contents == [{"role": "user", "parts": [{"text": "![x](http://a/b.png)"}]}]


def test_raw_base64_needs_a_media_type() -> None:
    content = [{"type": "file", "file": {"file_data": "QUJD"}}]
    with pytest.raises(GeminiConversionError, match="cannot tell the media type"):
        to_contents([{"role": "user", "content": content}], {}, sign=False)


def test_tool_result_first_in_the_conversation_opens_a_user_turn() -> None:
    contents, system = to_contents([{"role": "tool", "content": "ok"}], {}, sign=True)
    assert system is None
    assert contents == [
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "", "response": {"content": "ok"}}}],
        }
    ]
