"""Stream state machines between Claude Messages events and OpenAI Chat chunks (pure).

Each takes one parsed event or chunk at a time and returns the events or chunks to send;
neither does I/O. Usage is not copied chunk by chunk: the pipeline knows the settled usage
and hands it to `finish` (Claude clients) or writes its own usage chunk (OpenAI clients).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from relay.convert.claude_response import claude_usage_of, finish_reason_of, stop_reason_of
from relay.convert.claude_response import usage_from_claude as _usage_from_claude
from relay.providers.base import Usage


def _obj(value: Any) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _ignore(_: str) -> None:
    return None


class ClaudeToOpenAIStream:
    """Claude Messages events → OpenAI chat.completion.chunk objects, reading usage on the way."""

    def __init__(self, created: int, text_sink: Callable[[str], None] = _ignore) -> None:
        self.id = ""
        self.model = ""
        self.created = created
        self.usage: Usage | None = None
        self.tool_calls = 0
        self.finish_reason: str | None = None
        self._sink = text_sink
        self._tool_index: dict[int, int] = {}  # content block index → tool call index

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def text_template(self) -> dict[str, Any]:
        """The chunk a text_delta becomes, its text emptied."""
        return self._chunk({"content": ""})

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "message_start":
            message = _obj(event.get("message"))
            self.id = str(message.get("id") or "")
            self.model = str(message.get("model") or "")
            self.usage = _usage_from_claude(message.get("usage"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "message_delta":
            if "usage" in event:
                self.usage = _usage_from_claude(event["usage"], self.usage)
            delta = _obj(event.get("delta"))
            stop = delta.get("stop_reason")
            self.finish_reason = finish_reason_of(stop if isinstance(stop, str) else None)
            return [self._chunk({}, self.finish_reason)]
        return []  # ping, content_block_stop, message_stop, error: nothing to send

    def _block_start(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        block = event.get("content_block")
        if not isinstance(block, dict):
            return []
        if block.get("type") == "text":
            text = str(block.get("text") or "")
            self._sink(text)
            return [self._chunk({"content": text})]
        if block.get("type") == "tool_use":
            index = self._tool_index[_int(event.get("index"))] = self.tool_calls
            self.tool_calls += 1
            name = str(block.get("name") or "")
            self._sink(name)
            call = {
                "index": index,
                "id": block.get("id", ""),
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        return []

    def _block_delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta")
        if not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "text_delta":
            text = str(delta.get("text") or "")
            self._sink(text)
            return [self._chunk({"content": text})]
        if kind == "thinking_delta":
            text = str(delta.get("thinking") or "")
            self._sink(text)
            return [self._chunk({"reasoning_content": text})]
        if kind == "signature_delta":
            return [self._chunk({"reasoning_content": "\n"})]
        if kind == "input_json_delta":
            partial = str(delta.get("partial_json") or "")
            self._sink(partial)
            index = self._tool_index.get(_int(event.get("index")), 0)
            call = {"index": index, "type": "function", "function": {"arguments": partial}}
            return [self._chunk({"tool_calls": [call]})]
        return []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class _Block(Enum):
    NONE = 0
    TEXT = 1
    THINKING = 2
    TOOLS = 3


def _text_delta(kind: _Block, index: int, text: str) -> dict[str, Any]:
    if kind is _Block.TEXT:
        delta = {"type": "text_delta", "text": text}
    else:
        delta = {"type": "thinking_delta", "thinking": text}
    return {"type": "content_block_delta", "index": index, "delta": delta}


def text_delta_event(index: int, text: str) -> dict[str, Any]:
    """The content_block_delta a text delta of the open text block `index` becomes."""
    return _text_delta(_Block.TEXT, index, text)


class OpenAIToClaudeStream:
    """OpenAI chat.completion.chunk objects → Claude Messages events (as dicts with `type`).

    Blocks open and close as the delta kind changes; parallel tool calls are blocks
    base + tool index, all closed together when something else starts.
    """

    def __init__(self, prompt_estimate: int) -> None:
        self._estimate = prompt_estimate
        self._started = False
        self._finished = False
        self._index = 0
        self._open = _Block.NONE
        self._tool_base = 0
        self._tool_max = 0
        self.finish_reason = ""

    def _start(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        self._started = True
        message = {
            "id": chunk.get("id", ""),
            "type": "message",
            "role": "assistant",
            "model": chunk.get("model", ""),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self._estimate, "output_tokens": 0},
        }
        return [{"type": "message_start", "message": message}]

    def _stop_open(self) -> list[dict[str, Any]]:
        if self._open is _Block.TOOLS:
            last = self._tool_base + self._tool_max
            return [
                {"type": "content_block_stop", "index": i} for i in range(self._tool_base, last + 1)
            ]
        if self._open is _Block.NONE:
            return []
        return [{"type": "content_block_stop", "index": self._index}]

    def _close(self, out: list[dict[str, Any]]) -> None:
        """Stop what is open and move to the next free block index."""
        if self._open is _Block.NONE:
            return
        out.extend(self._stop_open())
        if self._open is _Block.TOOLS:
            self._index = self._tool_base + self._tool_max + 1
        else:
            self._index += 1
        self._open = _Block.NONE

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        if self._finished:
            return []
        out = [] if self._started else self._start(chunk)
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return out
        choice = choices[0]
        delta = _obj(choice.get("delta"))
        calls = delta.get("tool_calls")
        if isinstance(calls, list) and calls:
            self._tools(calls, out)
        else:
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                self._text(_Block.THINKING, reasoning, out)
            content = delta.get("content")
            if isinstance(content, str) and content:
                self._text(_Block.TEXT, content, out)
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            self.finish_reason = finish
        return out

    def _text(self, kind: _Block, text: str, out: list[dict[str, Any]]) -> None:
        if self._open is not kind:
            self._close(out)
            self._open = kind
            empty: dict[str, Any] = (
                {"type": "text", "text": ""}
                if kind is _Block.TEXT
                else {"type": "thinking", "thinking": ""}
            )
            out.append(
                {"type": "content_block_start", "index": self._index, "content_block": empty}
            )
        out.append(_text_delta(kind, self._index, text))

    def text_block(self) -> int | None:
        """The block a plain text delta only continues (its event is then the one
        `text_delta_event` gives), or None when such a delta would start or end something."""
        if self._started and not self._finished and self._open is _Block.TEXT:
            return self._index
        return None

    def _tools(self, calls: list[Any], out: list[dict[str, Any]]) -> None:
        if self._open is not _Block.TOOLS:
            self._close(out)
            self._open = _Block.TOOLS
            self._tool_base, self._tool_max = self._index, 0
        for i, call in enumerate(calls):
            if not isinstance(call, dict):
                continue
            offset = call["index"] if isinstance(call.get("index"), int) else i
            self._tool_max = max(self._tool_max, offset)
            index = self._tool_base + offset
            function = _obj(call.get("function"))
            if function.get("name"):
                block = {"type": "tool_use", "id": call.get("id", ""), "name": function["name"]}
                block["input"] = {}
                out.append({"type": "content_block_start", "index": index, "content_block": block})
            if function.get("arguments"):
                delta = {"type": "input_json_delta", "partial_json": function["arguments"]}
                out.append({"type": "content_block_delta", "index": index, "delta": delta})
        self._index = self._tool_base + self._tool_max

    def finish(self, usage: Usage) -> list[dict[str, Any]]:
        """The closing events: open blocks stopped, message_delta with usage, message_stop."""
        if self._finished:
            return []
        self._finished = True
        out = [] if self._started else self._start({})
        out.extend(self._stop_open())
        delta: dict[str, Any] = {
            "stop_reason": stop_reason_of(self.finish_reason) or "end_turn",
            "stop_sequence": None,
        }
        out.append({"type": "message_delta", "delta": delta, "usage": claude_usage_of(usage)})
        out.append({"type": "message_stop"})
        return out
