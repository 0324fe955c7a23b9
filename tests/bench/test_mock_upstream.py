"""Wire-compatibility tests for bench/mock_upstream.py, driven by the official openai SDK."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import openai
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "mock_upstream.py"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
HI = [{"role": "user", "content": "hello there mock"}]


def _start(*extra: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--host", "127.0.0.1", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY port="), line
    return proc, int(line.strip().split("=", 1)[1])


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 0, err
    return err


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    proc, p = _start()
    try:
        yield p
    finally:
        err = _stop(proc)
    assert "Traceback" not in err and "Error handling request" not in err, err


def client(port: int, key: str = "mock", retries: int = 0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=retries
    )


@pytest.fixture
async def http(port: int) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as s:
        yield s


async def test_chat_non_stream(port: int) -> None:
    async with client(port, "mock;tag=A;words=5;cached=3") as c:
        raw = await c.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI)
        r = raw.parse()
    assert raw.headers["x-request-id"].startswith("req_mock_")
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.model == "gpt-4o-mini" and r.system_fingerprint == "fp_mock"
    msg = r.choices[0].message
    assert msg.role == "assistant" and msg.content is not None
    assert msg.content.startswith("[A] ") and len(msg.content.split()) == 6
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.prompt_tokens == 3 + 7
    assert r.usage.completion_tokens == 6 and r.usage.total_tokens == 16
    assert r.usage.prompt_tokens_details is not None
    assert r.usage.prompt_tokens_details.cached_tokens == 3


async def test_chat_non_stream_options(port: int) -> None:
    async with client(port, "mock;pt=100;ct=50") as c:
        r = await c.chat.completions.create(model="m", messages=HI)
        assert r.usage is not None and (r.usage.prompt_tokens, r.usage.total_tokens) == (100, 150)
    async with client(port, "mock;nousage=1") as c:
        r = await c.chat.completions.create(model="m", messages=HI)
        assert r.usage is None


@pytest.mark.parametrize("with_usage", [False, True])
async def test_chat_stream(port: int, with_usage: bool) -> None:
    extra = {"stream_options": {"include_usage": True}} if with_usage else {}
    async with client(port, "mock;tag=S;words=4") as c:
        stream = await c.chat.completions.create(
            model="gpt-4o-mini", messages=HI, stream=True, **extra
        )
        chunks = [ch async for ch in stream]
    assert all(ch.object == "chat.completion.chunk" for ch in chunks)
    assert len({ch.id for ch in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "[S] Hello from the mock"
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    if with_usage:
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens == 5
        assert all(ch.usage is None for ch in chunks[:-1])
    else:
        assert all(ch.usage is None for ch in chunks) and chunks[-1].choices


async def test_nousage_stream(port: int) -> None:
    async with client(port, "mock;nousage=1") as c:
        stream = await c.chat.completions.create(
            model="m", messages=HI, stream=True, stream_options={"include_usage": True}
        )
        chunks = [ch async for ch in stream]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(ch.usage is None for ch in chunks)


async def test_tool_calls(port: int) -> None:
    msgs = [{"role": "user", "content": "What is the weather in Paris?"}]
    async with client(port) as c:
        r = await c.chat.completions.create(model="m", messages=msgs, tools=TOOLS)
        assert r.choices[0].finish_reason == "tool_calls"
        msg = r.choices[0].message
        assert msg.content is None and msg.tool_calls
        call = msg.tool_calls[0]
        assert call.id == "call_mock1" and call.type == "function"
        assert call.function.name == "get_weather"
        assert call.function.arguments == '{"city":"Paris"}'
        async with c.chat.completions.stream(model="m", messages=msgs, tools=TOOLS) as s:
            async for _ in s:
                pass
            final = await s.get_final_completion()
        assert final.choices[0].finish_reason == "tool_calls"
        calls = final.choices[0].message.tool_calls
        assert calls and calls[0].function.name == "get_weather"
        assert calls[0].function.arguments == '{"city":"Paris"}'
        # no "weather" in the last user message -> plain text even with tools
        r = await c.chat.completions.create(model="m", messages=HI, tools=TOOLS)
        assert r.choices[0].message.content and not r.choices[0].message.tool_calls


async def test_legacy_completions(port: int) -> None:
    async with client(port, "mock;words=3") as c:
        r = await c.completions.create(model="gpt-3.5-turbo-instruct", prompt="say it")
        assert r.object == "text_completion" and r.choices[0].text == "Hello from the"
        assert r.choices[0].finish_reason == "stop"
        assert r.usage is not None and r.usage.completion_tokens == 3
        stream = await c.completions.create(
            model="gpt-3.5-turbo-instruct",
            prompt="say it",
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [ch async for ch in stream]
    assert "".join(ch.choices[0].text for ch in chunks if ch.choices) == "Hello from the"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 5


async def test_embeddings(port: int) -> None:
    async with client(port) as c:
        r = await c.embeddings.create(model="text-embedding-3-small", input=["a b c", "d"])
        f = await c.embeddings.create(
            model="text-embedding-3-small", input=["a b c", "d"], encoding_format="float"
        )
        t = await c.embeddings.create(model="e", input=[[1, 2, 3, 4]], encoding_format="float")
    assert [len(d.embedding) for d in r.data] == [8, 8]
    assert [d.index for d in r.data] == [0, 1]
    assert r.data[0].embedding == f.data[0].embedding  # base64 decodes to the same floats
    assert r.data[0].embedding != r.data[1].embedding
    assert r.usage.prompt_tokens == 4 and t.usage.prompt_tokens == 4
    assert len(t.data) == 1


async def test_models(port: int) -> None:
    async with client(port) as c:
        ids = [m.id async for m in c.models.list()]
    assert "gpt-4o-mini" in ids and len(ids) >= 3


async def test_error_status(port: int) -> None:
    async with client(port, "mock;status=429") as c:
        with pytest.raises(openai.RateLimitError, match="mock error 429") as ei:
            await c.chat.completions.create(model="m", messages=HI)
    assert ei.value.code == "mock_429" and ei.value.type == "mock_error"
    async with client(port, "mock;status=502;errbody=text") as c:
        with pytest.raises(openai.InternalServerError) as ei2:
            await c.chat.completions.create(model="m", messages=HI)
    assert ei2.value.response.text == "mock failure 502"


async def test_cut_stream(port: int) -> None:
    pieces: list[str] = []
    finish = None
    async with client(port, "mock;cut=3;words=10") as c:
        with pytest.raises(openai.APIConnectionError):  # connection dropped mid-body
            stream = await c.chat.completions.create(model="m", messages=HI, stream=True)
            async for ch in stream:
                if ch.choices:
                    pieces.append(ch.choices[0].delta.content or "")
                    finish = finish or ch.choices[0].finish_reason
    assert "".join(pieces) == "Hello from the" and finish is None


async def test_fail_first(port: int, http: aiohttp.ClientSession) -> None:
    key = f"mock;fail_first=1;n={time.time_ns()}"
    async with client(port, key) as c:
        with pytest.raises(openai.InternalServerError):
            await c.chat.completions.create(model="m", messages=HI)
        assert (await c.chat.completions.create(model="m", messages=HI)).choices
    async with client(port, key, retries=2) as c:  # counter is per key and already spent
        assert (await c.chat.completions.create(model="m", messages=HI)).choices
    async with http.post("/_mock/reset") as r:
        assert r.status == 200
    async with client(port, key) as c:
        with pytest.raises(openai.InternalServerError):
            await c.chat.completions.create(model="m", messages=HI)


async def test_calls_and_protocol_errors(port: int, http: aiohttp.ClientSession) -> None:
    key = f"rec;tag=R;n={time.time_ns()}"
    async with client(port, key) as c:
        await c.chat.completions.create(
            model="gpt-4o", messages=HI, extra_headers={"X-Trace": "t1", "X-Ignored-Not": "y"}
        )
    async with http.get("/_mock/calls", params={"key": key}) as r:
        recs = await r.json()
    assert len(recs) == 1
    rec = recs[0]
    assert rec["path"] == "/v1/chat/completions" and rec["key"] == key
    assert rec["model"] == "gpt-4o" and rec["stream"] is False
    assert rec["body"]["messages"] == HI
    assert rec["headers"]["authorization"] == f"Bearer {key}"
    assert rec["headers"]["x-trace"] == "t1"
    assert rec["headers"]["content-type"] == "application/json"
    assert "accept" not in rec["headers"] and "user-agent" in rec["headers"]

    async with http.get("/_mock/health") as r:
        assert r.status == 200 and await r.text() == "ok"
    async with http.post("/v1/chat/completions", json={"model": "m", "messages": []}) as r:
        assert r.status == 401
        assert (await r.json())["error"]["message"] == "You didn't provide an API key."
    async with http.post("/v1/chat/completions", data=b"{nope", headers={"api-key": "k"}) as r:
        assert r.status == 400
        assert (await r.json())["error"]["type"] == "invalid_request_error"
        assert r.headers["x-request-id"].startswith("req_mock_")
    async with http.post(
        "/v1/embeddings", json={"input": "x y"}, headers={"api-key": "k;pt=9"}
    ) as r:
        assert (await r.json())["usage"] == {"prompt_tokens": 9, "total_tokens": 9}


async def test_latency_flag() -> None:
    proc, p = _start("--latency-ms", "300")
    try:
        async with client(p, "mock;delay=100") as c:
            t0 = time.perf_counter()
            await c.chat.completions.create(model="m", messages=HI)
            assert time.perf_counter() - t0 >= 0.39
    finally:
        _stop(proc)
