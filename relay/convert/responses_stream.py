"""Chat Completions stream chunks → Responses API stream events (a state machine, one chunk a time).

The event order is the one OpenAI's Responses API streams and the `openai` SDK's accumulator
checks: created, in_progress, then per output item added → part added → deltas → done events →
item done, and a final completed (or incomplete) response carrying the whole output and usage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from relay.convert.responses_common import (
    ResponsesConversionError,
    chat_usage_to_responses,
    obj,
    opt_list,
    opt_obj,
    opt_str,
    status_of_finish,
)
from relay.convert.responses_response import (
    function_call_item,
    message_item,
    reasoning_item,
    refusal_item,
    response_object,
)
from relay.providers.base import Usage
from relay.providers.openai.convert import usage_from


def sse_frame(event: dict[str, Any]) -> bytes:
    """One event as the SSE frame the Responses API sends: `event: <type>` then `data: <json>`."""
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


@dataclass(frozen=True, slots=True)
class _TextKind:
    """How one kind of streamed text item is named, built and announced."""

    suffix: str  # item id: <response id>_<suffix>_<n>
    item: Callable[[str, str, str], dict[str, Any]]  # (id, text, status) → the output item
    parts: str  # the item's list of parts
    index_key: str  # the part's index field in events
    part_event: str  # <part_event>.added / .done
    text_event: str  # <text_event>.delta / .done
    text_key: str  # the full text's field in the .done event
    empty_lists: tuple[str, ...] = ()  # fields that are [] on .delta and .done (logprobs)


_TEXT_KINDS = {
    "message": _TextKind(
        "msg",
        message_item,
        "content",
        "content_index",
        "response.content_part",
        "response.output_text",
        "text",
        ("logprobs",),
    ),
    "refusal": _TextKind(
        "refusal",
        refusal_item,
        "content",
        "content_index",
        "response.content_part",
        "response.refusal",
        "refusal",
    ),
    "reasoning": _TextKind(
        "reasoning",
        reasoning_item,
        "summary",
        "summary_index",
        "response.reasoning_summary_part",
        "response.reasoning_summary_text",
        "text",
    ),
}


@dataclass(slots=True)
class _Item:
    kind: str  # a _TEXT_KINDS key, or "function_call"
    index: int
    id: str
    text: list[str] = field(default_factory=list)
    name: str = ""


class ChatToResponsesStream:
    """Feed parsed Chat chunks in, get Responses events out; `finish()` closes the stream."""

    def __init__(
        self,
        response_id: str,
        created_at: int,
        model: str = "",
        request: dict[str, Any] | None = None,
    ) -> None:
        self._id = response_id
        self._created_at = created_at
        self._model = model
        self._request = request
        self._seq = 0
        self._started = False
        self._finished = False
        self._status = "completed"
        self._details: dict[str, str] | None = None
        self._done: dict[int, dict[str, Any]] = {}  # output index → finished item
        self._open: _Item | None = None  # the open text item (message, refusal, reasoning)
        self._tools: dict[int, _Item] = {}  # open function calls by Chat tool index
        self._kinds: dict[str, int] = {}  # items opened so far, by kind (for their ids)
        self._next_index = 0
        self._usage: dict[str, Any] | None = None  # Responses shape
        self._billed: Usage | None = None

    @property
    def usage(self) -> Usage | None:
        """The usage the upstream reported, read as relay reads any Chat usage, if any."""
        return self._billed

    def feed(self, chunk: Any) -> list[dict[str, Any]]:
        """One parsed Chat chunk → the Responses events it produces (possibly none)."""
        if self._finished:
            return []
        data = obj(chunk, "chunk")
        if isinstance(data.get("error"), dict):
            message = opt_str(data["error"].get("message"), "error.message")
            return self.fail(message or "upstream error")
        events = self._start(data)
        if isinstance(data.get("usage"), dict):
            self._usage = chat_usage_to_responses(data["usage"])
            self._billed = usage_from(data)
        for n, raw in enumerate(opt_list(data.get("choices"), "choices")):
            choice = obj(raw, f"choices[{n}]")
            if choice.get("index", 0) != 0:
                continue  # n>1 streams: a Responses client has room for one answer
            delta = opt_obj(choice.get("delta"), f"choices[{n}].delta")
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                events += self._text_delta("reasoning", reasoning)
            content = delta.get("content")
            if isinstance(content, str) and content:
                events += self._text_delta("message", content)
            refusal = delta.get("refusal")
            if isinstance(refusal, str) and refusal:
                events += self._text_delta("refusal", refusal)
            for m, call in enumerate(opt_list(delta.get("tool_calls"), "delta.tool_calls")):
                events += self._tool_delta(obj(call, f"delta.tool_calls[{m}]"))
            finish = choice.get("finish_reason")
            if isinstance(finish, str) and finish:
                self._status, self._details = status_of_finish(finish)
                events += self._close_all()
        return events

    def finish(self, usage: Usage | None = None) -> list[dict[str, Any]]:
        """End of the upstream stream: close what is open, then response.completed/incomplete.

        `usage` is the fallback (e.g. counted locally) for when the upstream reported none.
        """
        if self._finished:
            return []
        events = self._start({})
        events += self._close_all()
        self._finished = True
        response = self._response(self._status)
        if response["usage"] is None and usage is not None:
            response["usage"] = _usage_dict(usage)
        kind = "response.incomplete" if self._status == "incomplete" else "response.completed"
        return [*events, self._event(kind, response=response)]

    def fail(self, message: str, code: str = "server_error") -> list[dict[str, Any]]:
        """End the stream with response.failed (upstream error mid-stream)."""
        if self._finished:
            return []
        events = self._start({})
        self._finished = True
        response = self._response("failed")
        response["error"] = {"code": code, "message": message}
        return [*events, self._event("response.failed", response=response)]

    # --- internals ------------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event

    def _response(self, status: str) -> dict[str, Any]:
        out = response_object(self._id, self._created_at, self._model, status, self._request)
        out["output"] = [self._done[i] for i in sorted(self._done)]
        out["usage"] = self._usage
        if status == "incomplete":
            out["incomplete_details"] = self._details
        return out

    def _start(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        if not self._model and isinstance(chunk.get("model"), str):
            self._model = chunk["model"]
        response = self._response("in_progress")
        return [
            self._event("response.created", response=response),
            self._event("response.in_progress", response=response),
        ]

    def _new_item(self, kind: str, item_id: str) -> _Item:
        item = _Item(kind, self._next_index, item_id)
        self._next_index += 1
        return item

    def _text_delta(self, kind: str, delta: str) -> list[dict[str, Any]]:
        spec = _TEXT_KINDS[kind]
        events: list[dict[str, Any]] = []
        item = self._open
        if item is None or item.kind != kind:
            # Function calls stay open until the end, as in new-api: some upstreams interleave
            # text and argument fragments.
            events += self._close_open()
            n = self._kinds.get(kind, 0)
            self._kinds[kind] = n + 1
            item = self._open = self._new_item(kind, f"{self._id}_{spec.suffix}_{n}")
            added = spec.item(item.id, "", "in_progress")
            part = added[spec.parts].pop()
            where = {"item_id": item.id, "output_index": item.index, spec.index_key: 0}
            events.append(
                self._event("response.output_item.added", output_index=item.index, item=added)
            )
            events.append(self._event(spec.part_event + ".added", **where, part=part))
        item.text.append(delta)
        events.append(self._delta_event(item, delta, self._seq))
        self._seq += 1
        return events

    @staticmethod
    def _delta_event(item: _Item, delta: str, seq: Any) -> dict[str, Any]:
        spec = _TEXT_KINDS[item.kind]
        where = {"item_id": item.id, "output_index": item.index, spec.index_key: 0}
        extra: dict[str, list[Any]] = {key: [] for key in spec.empty_lists}
        kind = spec.text_event + ".delta"
        return {"type": kind, "sequence_number": seq, **where, "delta": delta, **extra}

    def text_item(self) -> tuple[str, int] | None:
        """The open message (id, output index) a plain text delta only continues, else None."""
        item = self._open
        if not self._started or self._finished or item is None or item.kind != "message":
            return None
        return item.id, item.index

    def text_delta_event(self, text: str, seq: Any) -> dict[str, Any] | None:
        """The event a plain text delta becomes while it only continues the open message
        (numbered `seq`, not taken yet), else None."""
        item = self._open
        if self.text_item() is None or item is None:
            return None
        return self._delta_event(item, text, seq)

    @property
    def seq(self) -> int:
        """The sequence number of the next event."""
        return self._seq

    def took_texts(self, texts: list[str]) -> None:
        """Plain text deltas written as `text_delta_event` gave them: the message grows."""
        if self._open is not None:
            self._open.text.extend(texts)
        self._seq += len(texts)

    def _close_open(self) -> list[dict[str, Any]]:
        item, self._open = self._open, None
        if item is None:
            return []
        spec = _TEXT_KINDS[item.kind]
        text = "".join(item.text)
        done = spec.item(item.id, text, self._item_status())
        where = {"item_id": item.id, "output_index": item.index, spec.index_key: 0}
        self._done[item.index] = done
        return [
            self._event(
                spec.text_event + ".done",
                **where,
                **{spec.text_key: text},
                **{key: [] for key in spec.empty_lists},
            ),
            self._event(spec.part_event + ".done", **where, part=done[spec.parts][0]),
            self._event("response.output_item.done", output_index=item.index, item=done),
        ]

    def _tool_delta(self, call: dict[str, Any]) -> list[dict[str, Any]]:
        fn = opt_obj(call.get("function"), "tool_call.function")
        call_id = opt_str(call.get("id"), "tool_call.id").strip()
        name = opt_str(fn.get("name"), "tool_call.function.name").strip()
        arguments = opt_str(fn.get("arguments"), "tool_call.function.arguments")
        key = self._tool_key(call.get("index"), call_id)
        events: list[dict[str, Any]] = []
        tool = self._tools.get(key)
        if tool is None:
            events += self._close_open()
            tool = self._new_item("function_call", call_id or f"{self._id}_call_{key}")
            tool.name = name
            self._tools[key] = tool
            added = function_call_item(tool.id, tool.name, "", "in_progress")
            events.append(
                self._event("response.output_item.added", output_index=tool.index, item=added)
            )
        elif name and not tool.name:
            tool.name = name
        if arguments:
            tool.text.append(arguments)
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=tool.id,
                    output_index=tool.index,
                    delta=arguments,
                )
            )
        return events

    def _tool_key(self, index: Any, call_id: str) -> int:
        """The Chat tool index; upstreams that omit it are told apart by their call ids."""
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        if index is not None:
            raise ResponsesConversionError("tool_call.index must be an integer")
        for key, tool in self._tools.items():
            if tool.id == call_id:
                return key
        if call_id or not self._tools:
            return max(self._tools, default=-1) + 1
        return max(self._tools)

    def _close_tools(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        status = self._item_status()
        for key in sorted(self._tools, key=lambda k: self._tools[k].index):
            tool = self._tools[key]
            arguments = "".join(tool.text)
            where = {"item_id": tool.id, "output_index": tool.index}
            done = function_call_item(tool.id, tool.name, arguments, status)
            self._done[tool.index] = done
            events.append(
                self._event("response.function_call_arguments.done", **where, arguments=arguments)
            )
            events.append(
                self._event("response.output_item.done", output_index=tool.index, item=done)
            )
        self._tools.clear()
        return events

    def _close_all(self) -> list[dict[str, Any]]:
        return self._close_open() + self._close_tools()

    def _item_status(self) -> str:
        return "incomplete" if self._status == "incomplete" else "completed"


def _usage_dict(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cache_write_tokens": usage.cache_write_tokens,
            "cached_tokens": usage.cached_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }
