"""Each client format's official SDK asking relay one short question, whole or streamed, with or
without the weather tool, and what it got back reduced to one comparable `Outcome`.

The SDK clients of one test module share `Transports` (connection pools and the TLS set-up an
SDK would otherwise build per client), so a client per API key costs next to nothing."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiohttp
import anthropic
import openai
import orjson
from chat_fixtures import ASK_TEXT, CLAUDE_TOOLS, HI_BRIEFLY, OPENAI_TOOLS, RESPONSES_TOOLS
from google import genai
from google.genai import types
from relay_harness import RelayServer

ASK: list[Any] = [{"role": "user", "content": ASK_TEXT}]
SYSTEM = str(HI_BRIEFLY[0]["content"])
HELLO = str(HI_BRIEFLY[1]["content"])
GEMINI_TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name=OPENAI_TOOLS[0]["function"]["name"],
            description=OPENAI_TOOLS[0]["function"]["description"],
            parameters_json_schema=OPENAI_TOOLS[0]["function"]["parameters"],
        )
    ]
)
NO_AUTO_CALLS = types.AutomaticFunctionCallingConfig(disable=True)


@dataclass
class Transports:
    """HTTP clients the SDKs share: httpx for openai and anthropic, aiohttp for google-genai."""

    httpx: openai.DefaultAsyncHttpxClient
    aiohttp: aiohttp.ClientSession

    async def close(self) -> None:
        await self.httpx.aclose()
        await self.aiohttp.close()


@dataclass
class Outcome:
    """An answer as a client sees it: text, finish reason in the client's vocabulary, tool
    calls as (name, parsed arguments), usage as (prompt/input, completion/output, cache reads)."""

    text: str = ""
    finish: str = ""
    calls: list[tuple[str, Any]] = field(default_factory=list)
    usage: tuple[int, int, int] = (0, 0, 0)


class Client(ABC):
    """One client format (`wire`: the channels' native format it shares, if any).

    native_input: its input token count is the upstream's own (Claude's excludes cache on
    Anthropic channels); converted_cache_reads: it sees cache reads of a converted answer
    (new-api's Gemini usageMetadata leaves them out)."""

    wire: ClassVar[str]
    text_finish: ClassVar[str]
    tool_finish: ClassVar[str]
    native_input: ClassVar[bool] = False
    converted_cache_reads: ClassVar[bool] = True

    def __init__(self, relay: RelayServer, api_key: str, transports: Transports) -> None:
        self.relay = relay
        self.api_key = api_key
        self.transports = transports

    def openai(self) -> openai.AsyncOpenAI:
        # not closed after use: that would close the shared transport
        return openai.AsyncOpenAI(
            base_url=self.relay.base_url,
            api_key=self.api_key,
            max_retries=0,
            http_client=self.transports.httpx,
        )

    @abstractmethod
    async def ask(self, model: str, *, tools: bool, stream: bool) -> Outcome:
        """Say hello (or ask for the weather, offering the tool) and read the answer."""


class ChatClient(Client):
    wire = "openai"
    text_finish, tool_finish = "stop", "tool_calls"

    async def ask(self, model: str, *, tools: bool, stream: bool) -> Outcome:
        extra: dict[str, Any] = {"tools": OPENAI_TOOLS} if tools else {}
        messages = ASK if tools else HI_BRIEFLY
        api = self.openai()
        if not stream:
            reply = await api.chat.completions.create(model=model, messages=messages, **extra)
            choice = reply.choices[0]
            calls = [
                (c.function.name, orjson.loads(c.function.arguments))
                for c in choice.message.tool_calls or ()
                if c.type == "function"
            ]
            text = choice.message.content or ""
            return Outcome(text, choice.finish_reason, calls, _chat_usage(reply))
        out = Outcome()
        names: dict[int, str] = {}
        args: dict[int, str] = {}
        chunks = await api.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            **extra,
        )
        async for chunk in chunks:
            if chunk.usage is not None:
                out.usage = _chat_usage(chunk)
            for c in chunk.choices:
                out.text += c.delta.content or ""
                out.finish = c.finish_reason or out.finish
                for tc in c.delta.tool_calls or ():
                    if tc.function is not None:
                        names[tc.index] = names.get(tc.index, "") + (tc.function.name or "")
                        args[tc.index] = args.get(tc.index, "") + (tc.function.arguments or "")
        out.calls = [(names[i], orjson.loads(args[i])) for i in sorted(names)]
        return out


def _chat_usage(reply: Any) -> tuple[int, int, int]:
    u = reply.usage
    details = u.prompt_tokens_details
    return u.prompt_tokens, u.completion_tokens, (details.cached_tokens or 0) if details else 0


class ResponsesClient(Client):
    wire = "openai"
    text_finish = tool_finish = "completed"

    async def ask(self, model: str, *, tools: bool, stream: bool) -> Outcome:
        args: dict[str, Any] = (
            {"input": ASK, "tools": RESPONSES_TOOLS}
            if tools
            else {"input": HELLO, "instructions": SYSTEM}
        )
        api = self.openai()
        if stream:
            async with api.responses.stream(model=model, **args) as events:
                reply = await events.get_final_response()
        else:
            reply = await api.responses.create(model=model, **args)
        calls = [
            (i.name, orjson.loads(i.arguments)) for i in reply.output if i.type == "function_call"
        ]
        u = reply.usage
        assert u is not None
        usage = (u.input_tokens, u.output_tokens, u.input_tokens_details.cached_tokens)
        return Outcome(reply.output_text, str(reply.status), calls, usage)


class ClaudeClient(Client):
    wire = "claude"
    text_finish, tool_finish = "end_turn", "tool_use"
    native_input = True

    async def ask(self, model: str, *, tools: bool, stream: bool) -> Outcome:
        args: dict[str, Any] = (
            {"messages": ASK, "tools": CLAUDE_TOOLS}
            if tools
            else {"messages": [{"role": "user", "content": HELLO}], "system": SYSTEM}
        )
        api = anthropic.AsyncAnthropic(
            base_url=self.relay.url,
            api_key=self.api_key,
            max_retries=0,
            http_client=self.transports.httpx,
        )
        if stream:
            async with api.messages.stream(model=model, max_tokens=100, **args) as events:
                msg = await events.get_final_message()
        else:
            msg = await api.messages.create(model=model, max_tokens=100, **args)
        text = "".join(b.text for b in msg.content if b.type == "text")
        calls = [(b.name, b.input) for b in msg.content if b.type == "tool_use"]
        u = msg.usage
        usage = (u.input_tokens, u.output_tokens, u.cache_read_input_tokens or 0)
        return Outcome(text, str(msg.stop_reason), calls, usage)


class GeminiClient(Client):
    wire = "gemini"
    text_finish = tool_finish = "STOP"
    converted_cache_reads = False

    async def ask(self, model: str, *, tools: bool, stream: bool) -> Outcome:
        options = types.HttpOptions(
            base_url=self.relay.url,
            api_version="v1beta",
            retry_options=types.HttpRetryOptions(attempts=1),
            aiohttp_client=self.transports.aiohttp,
            async_client_args={"ssl": False},  # relay is plain HTTP: no CA bundle to load
        )
        api = genai.Client(api_key=self.api_key, http_options=options).aio
        config = (
            types.GenerateContentConfig(
                tools=[GEMINI_TOOL], automatic_function_calling=NO_AUTO_CALLS
            )
            if tools
            else types.GenerateContentConfig(system_instruction=SYSTEM)
        )
        contents = ASK_TEXT if tools else HELLO
        if stream:
            chunks = await api.models.generate_content_stream(
                model=model, contents=contents, config=config
            )
            replies = [chunk async for chunk in chunks]
        else:
            replies = [
                await api.models.generate_content(model=model, contents=contents, config=config)
            ]
        out = Outcome()
        for reply in replies:
            for candidate in reply.candidates or ():
                if candidate.finish_reason is not None:
                    out.finish = candidate.finish_reason.name
                parts = candidate.content.parts if candidate.content else None
                for part in parts or ():
                    out.text += part.text or ""
                    if part.function_call is not None:
                        out.calls.append((str(part.function_call.name), part.function_call.args))
            u = reply.usage_metadata
            if u is not None:
                cached = u.cached_content_token_count or 0
                out.usage = (u.prompt_token_count or 0, u.candidates_token_count or 0, cached)
        return out


CLIENTS: dict[str, type[Client]] = {
    "chat": ChatClient,
    "responses": ResponsesClient,
    "claude": ClaudeClient,
    "gemini": GeminiClient,
}
