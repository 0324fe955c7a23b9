"""Responses API stream events → Chat Completions chunks, for Chat clients on a Responses channel.

A state machine fed one parsed event at a time. Function-call arguments are matched to their call
by output_index, else item_id; fragments that arrive before their item are held until it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.convert.responses_common import (
    ResponsesStreamFailed,
    finish_of_status,
    json_text,
    obj,
    opt_list,
    opt_obj,
    opt_str,
    responses_usage_to_chat,
    summary_break,
    usage_of,
)
from relay.convert.responses_response import output_text, reasoning_text
from relay.providers.base import Usage

_TOOL_ITEMS = ("function_call", "custom_tool_call")
_ARG_DELTAS = ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta")
_ARG_DONES = ("response.function_call_arguments.done", "response.custom_tool_call_input.done")
_TERMINAL = ("response.completed", "response.done", "response.incomplete")
_FAILED = ("response.failed", "response.error", "error")


@dataclass(slots=True)
class _Tool:
    index: int  # the Chat tool_calls index
    call_id: str
    name: str = ""
    arguments: str = ""
    sent: int = 0  # how much of `arguments` has gone out
    announced: bool = False  # the first chunk (id, type, name) has gone out


class ResponsesToChatStream:
    """Feed parsed Responses events in, get Chat chunks out; `finish()` if the stream just ends."""

    def __init__(self, chat_id: str, created: int, model: str = "", include_usage: bool = False):
        self._id = chat_id
        self._created = created
        self._model = model
        self._include_usage = include_usage
        self._started = False
        self._finished = False
        self._sent_text = False
        self._sent_reasoning = False
        self._reasoning_break = False
        self._tools: list[_Tool] = []
        self._by_output: dict[int, _Tool] = {}
        self._by_item: dict[str, _Tool] = {}
        self._pending_output: dict[int, str] = {}
        self._pending_item: dict[str, str] = {}
        self._usage: dict[str, Any] | None = None

    @property
    def usage(self) -> Usage | None:
        """The usage the upstream reported (in its terminal event), if any."""
        return usage_of(self._usage)

    def feed(self, event: Any) -> list[dict[str, Any]]:
        """One parsed Responses event → the Chat chunks it produces (possibly none)."""
        if self._finished:
            return []
        ev = obj(event, "event")
        kind = opt_str(ev.get("type"), "event.type")
        if kind in ("response.created", "response.in_progress"):
            self._metadata(opt_obj(ev.get("response"), "response"))
            return self._start()
        if kind == "response.output_text.delta":
            return self._delta({"content": opt_str(ev.get("delta"), "delta")})
        if kind == "response.refusal.delta":
            return self._delta({"refusal": opt_str(ev.get("delta"), "delta")})
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return self._reasoning(opt_str(ev.get("delta"), "delta"))
        if kind in ("response.reasoning_summary_text.done", "response.reasoning_text.done"):
            self._reasoning_break = self._sent_reasoning
            return []
        if kind in ("response.output_item.added", "response.output_item.done"):
            item = opt_obj(ev.get("item"), "item")
            if item.get("type") not in _TOOL_ITEMS:
                return []
            tool = self._tool_for_item(item, ev.get("output_index"))
            full = (
                item.get("arguments") if item.get("type") == "function_call" else item.get("input")
            )
            if full is not None:
                self._complete_arguments(tool, json_text(full))
            return self._tool_chunk(tool)
        if kind in _ARG_DELTAS:
            return self._arguments_delta(ev)
        if kind in _ARG_DONES:
            return self._arguments_done(ev)
        if kind in _TERMINAL:
            response = opt_obj(ev.get("response"), "response")
            if kind == "response.incomplete" and not response.get("status"):
                response = {**response, "status": "incomplete"}
            self._metadata(response)
            return self._terminal_output(response) + self._finish(response)
        if kind in _FAILED:
            response = opt_obj(ev.get("response"), "response")
            error = opt_obj(response.get("error") if response else ev.get("error"), "error")
            if not error and kind == "error":
                error = {k: ev[k] for k in ("code", "message", "param") if k in ev}
            message = error.get("message") if isinstance(error.get("message"), str) else kind
            raise ResponsesStreamFailed(f"upstream stream failed: {message}", error)
        return []

    def finish(self) -> list[dict[str, Any]]:
        """The upstream stream ended without a terminal event: close the Chat stream anyway."""
        return self._finish({})

    # --- internals ------------------------------------------------------------------------------

    def _metadata(self, response: dict[str, Any]) -> None:
        if isinstance(response.get("model"), str) and response["model"]:
            self._model = response["model"]
        if isinstance(response.get("usage"), dict):
            self._usage = response["usage"]

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _start(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        return [self._chunk({"role": "assistant", "content": ""})]

    def _delta(self, delta: dict[str, Any]) -> list[dict[str, Any]]:
        if not any(delta.values()):
            return []
        self._sent_text = self._sent_text or bool(delta.get("content"))
        return [*self._start(), self._chunk(delta)]

    def _reasoning(self, delta: str) -> list[dict[str, Any]]:
        if not delta:
            return []
        if self._reasoning_break:
            # A new summary part: keep it a separate paragraph, as new-api does.
            delta = summary_break(delta) + delta
            self._reasoning_break = False
        self._sent_reasoning = True
        return [*self._start(), self._chunk({"reasoning_content": delta})]

    def _new_tool(self, call_id: str) -> _Tool:
        tool = _Tool(len(self._tools), call_id)
        self._tools.append(tool)
        return tool

    def _tool_for_item(self, item: dict[str, Any], output_index: Any) -> _Tool:
        item_id = opt_str(item.get("id"), "item.id").strip()
        call_id = opt_str(item.get("call_id"), "item.call_id").strip() or item_id
        # Ids first: a terminal response lists its output in its own order.
        tool = self._by_item.get(item_id) if item_id else None
        if tool is None:
            tool = next((t for t in self._tools if call_id and t.call_id == call_id), None)
        if tool is None:
            tool = self._find(output_index, "")
        if tool is None:
            tool = self._new_tool(call_id or f"call_output_{output_index}")
        elif call_id and not tool.announced:
            tool.call_id = call_id
        name = opt_str(item.get("name"), "item.name").strip()
        if name and not tool.name:
            tool.name = name
        self._bind(tool, output_index, item_id)
        return tool

    def _find(self, output_index: Any, item_id: str) -> _Tool | None:
        if isinstance(output_index, int) and output_index in self._by_output:
            return self._by_output[output_index]
        return self._by_item.get(item_id) if item_id else None

    def _bind(self, tool: _Tool, output_index: Any, item_id: str) -> None:
        """Remember how later events name this call, and take any fragments held for it."""
        if isinstance(output_index, int):
            self._by_output[output_index] = tool
            tool.arguments += self._pending_output.pop(output_index, "")
        if item_id:
            self._by_item[item_id] = tool
            tool.arguments += self._pending_item.pop(item_id, "")

    def _complete_arguments(self, tool: _Tool, full: str) -> None:
        """A full argument string (item or done event) replaces what the deltas built up."""
        if full and full.startswith(tool.arguments[: tool.sent]):
            tool.arguments = full

    def _arguments_delta(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        delta = opt_str(ev.get("delta"), "delta")
        item_id = opt_str(ev.get("item_id"), "item_id").strip()
        output_index = ev.get("output_index")
        tool = self._find(output_index, item_id)
        if not delta:
            return []
        if tool is None:
            if isinstance(output_index, int):
                self._pending_output[output_index] = (
                    self._pending_output.get(output_index, "") + delta
                )
            elif item_id:
                self._pending_item[item_id] = self._pending_item.get(item_id, "") + delta
            return []
        tool.arguments += delta
        return self._tool_chunk(tool)

    def _arguments_done(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        item_id = opt_str(ev.get("item_id"), "item_id").strip()
        output_index = ev.get("output_index")
        tool = self._find(output_index, item_id)
        if tool is None:
            if not isinstance(output_index, int) and not item_id:
                return []
            tool = self._new_tool(item_id or f"call_output_{output_index}")
            self._bind(tool, output_index, item_id)
        full = ev.get("arguments") if "arguments" in ev else ev.get("input")
        if isinstance(full, str):
            self._complete_arguments(tool, full)
        return self._tool_chunk(tool)

    def _tool_chunk(self, tool: _Tool) -> list[dict[str, Any]]:
        """What of this call has not gone out yet: the opening chunk, then argument fragments."""
        fragment = tool.arguments[tool.sent :]
        call: dict[str, Any] = {"index": tool.index}
        if not tool.announced:
            call.update(id=tool.call_id, type="function")
            call["function"] = {"name": tool.name, "arguments": fragment}
            tool.announced = True
        elif fragment:
            call["function"] = {"arguments": fragment}
        else:
            return []
        tool.sent = len(tool.arguments)
        return [*self._start(), self._chunk({"tool_calls": [call]})]

    def _terminal_output(self, response: dict[str, Any]) -> list[dict[str, Any]]:
        """Output the terminal response carries that the deltas never streamed."""
        output = [obj(o, "output[]") for o in opt_list(response.get("output"), "output")]
        chunks: list[dict[str, Any]] = []
        if not self._sent_reasoning:
            chunks += self._reasoning(reasoning_text(output))
        if not self._sent_text:
            chunks += self._delta({"content": output_text(output)})
        for n, item in enumerate(output):
            if item.get("type") in _TOOL_ITEMS:
                tool = self._tool_for_item(item, n)
                full = (
                    item.get("arguments")
                    if item.get("type") == "function_call"
                    else item.get("input")
                )
                self._complete_arguments(tool, json_text(full))
                chunks += self._tool_chunk(tool)
        return chunks

    def _finish(self, response: dict[str, Any]) -> list[dict[str, Any]]:
        if self._finished:
            return []
        self._finished = True
        chunks: list[dict[str, Any]] = []
        # Fragments whose call never showed up still belong to the client, under a made-up id.
        for output_index, args in sorted(self._pending_output.items()):
            tool = self._new_tool(f"call_output_{output_index}")
            tool.arguments = args
            chunks += self._tool_chunk(tool)
        for item_id, args in sorted(self._pending_item.items()):
            tool = self._new_tool(item_id)
            tool.arguments = args
            chunks += self._tool_chunk(tool)
        self._pending_output.clear()
        self._pending_item.clear()
        for tool in self._tools:
            chunks += self._tool_chunk(tool)
        chunks += self._start()
        finish = finish_of_status(response.get("status"), response.get("incomplete_details"))
        if finish is None:
            finish = "tool_calls" if self._tools else "stop"
        chunks.append(self._chunk({}, finish))
        usage = responses_usage_to_chat(self._usage)
        if self._include_usage and usage is not None:
            chunks.append({**self._chunk({}), "choices": [], "usage": usage})
        return chunks
