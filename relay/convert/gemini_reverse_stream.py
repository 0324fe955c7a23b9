"""OpenAI chat.completion.chunk stream → Gemini `streamGenerateContent` events (Gemini clients)."""

from __future__ import annotations

from typing import Any

from relay.convert.gemini_common import count, gemini_finish_reason, obj, opt_list, opt_str
from relay.convert.gemini_reverse import function_call_part, usage_metadata
from relay.convert.gemini_stream import parse_event
from relay.providers.base import Usage
from relay.providers.openai.convert import usage_from


class _ToolCall:
    __slots__ = ("arguments", "name")

    def __init__(self) -> None:
        self.name = ""
        self.arguments = ""


class OpenAIToGeminiStream:
    """Feed each chunk's data to `feed`, then call `finish`; emit every returned event in order.

    Text deltas become events at once. Tool call fragments are joined and sent as whole
    functionCall parts with the finish event, which waits for the usage chunk that follows
    it when the upstream sends usage separately (include_usage).
    """

    def __init__(self, *, prompt_estimate: int = 0) -> None:
        self._estimate = prompt_estimate
        self._calls: dict[int, dict[int, _ToolCall]] = {}  # choice → tool call index → call
        self._finishes: dict[int, str] = {}  # choice index → Gemini finishReason, not yet sent
        self._usage: dict[str, Any] | None = None
        self._relay_usage: Usage | None = None

    def feed(self, data: bytes | dict[str, Any]) -> list[dict[str, Any]]:
        if data == b"[DONE]":
            return []
        chunk = parse_event(data)
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
            self._relay_usage = usage_from(chunk)
        candidates = []
        for i, choice in enumerate(opt_list(chunk.get("choices"), "choices")):
            where = f"choices[{i}]"
            choice = obj(choice, where)
            index = count(choice.get("index"))
            delta = choice.get("delta")
            delta = delta if isinstance(delta, dict) else {}
            self._collect_calls(index, delta, where)
            text = delta.get("content")
            if isinstance(text, str) and text:
                candidates.append(self._candidate(index, [{"text": text}], None))
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self._finishes[index] = gemini_finish_reason(reason)
        out = []
        if candidates:
            out.append(self._event(candidates, None))
        if self._finishes and self._usage is not None:
            out.append(self._finish_event())
        return out

    def text_event(self, text: str) -> dict[str, Any] | None:
        """The one event a plain text chunk becomes, or None when it would also release the
        waiting finish event."""
        if self._finishes and self._usage is not None:
            return None
        return self._event([self._candidate(0, [{"text": text}], None)], None)

    def _collect_calls(self, index: int, delta: dict[str, Any], where: str) -> None:
        for j, fragment in enumerate(opt_list(delta.get("tool_calls"), f"{where}.tool_calls")):
            fragment = obj(fragment, f"{where}.tool_calls[{j}]")
            fn = fragment.get("function")
            fn = fn if isinstance(fn, dict) else {}
            slot = count(fragment.get("index"))
            call = self._calls.setdefault(index, {}).setdefault(slot, _ToolCall())
            call.name += opt_str(fn.get("name"), f"{where}.tool_calls[{j}].function.name")
            arguments = opt_str(fn.get("arguments"), f"{where}.tool_calls[{j}].arguments")
            call.arguments += arguments

    @staticmethod
    def _candidate(index: int, parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
        return {
            "content": {"role": "model", "parts": parts},
            "finishReason": finish,
            "index": index,
            "safetyRatings": [],
        }

    def _event(self, candidates: list[dict[str, Any]], usage: Any) -> dict[str, Any]:
        return {"candidates": candidates, "usageMetadata": usage_metadata(usage, self._estimate)}

    def _finish_event(self) -> dict[str, Any]:
        candidates = []
        for index in sorted(set(self._finishes) | set(self._calls)):
            calls = self._calls.get(index, {})
            parts = [function_call_part(c.name, c.arguments) for _, c in sorted(calls.items())]
            candidates.append(self._candidate(index, parts, self._finishes.get(index, "STOP")))
        self._finishes.clear()
        self._calls.clear()
        return self._event(candidates, self._usage)

    def finish(self) -> list[dict[str, Any]]:
        """The finish event still waiting (for usage that never came), if any."""
        if self._finishes or self._calls:
            return [self._finish_event()]
        return []

    def usage(self) -> Usage | None:
        """The usage the upstream reported, if any."""
        return self._relay_usage
