"""A Locust scenario for your own relay deployment: chat traffic from several keys, stream and not.

    pip install 'relay[bench]'        # or: pip install locust
    RELAY_KEYS=sk-aaa,sk-bbb RELAY_MODEL=gpt-4o-mini \\
      locust -f bench/locustfile.py --host https://relay.example.com \\
      --headless -u 200 -r 20 -t 5m --csv results/relay

Each simulated user takes one of RELAY_KEYS (round robin) and sends the chat request relay's own
benchmarks send (bench/wrk_chat.lua); RELAY_STREAM_SHARE (default 0.5) of the calls stream with
include_usage. A call counts as a failure unless the status is 200 and the answer is complete: a
`chat.completion` with usage, or a stream that ends with `data: [DONE]`. Stream calls are
reported apart: `chat (stream)` is the time to the response headers (Locust's measure for a
streamed body), `ttft` the time to the first chunk, `stream total` the time to the last byte.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from typing import Any

import orjson
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

KEYS = [k.strip() for k in os.environ.get("RELAY_KEYS", "").split(",") if k.strip()]
MODEL = os.environ.get("RELAY_MODEL", "gpt-4o-mini")
STREAM_SHARE = float(os.environ.get("RELAY_STREAM_SHARE", "0.5"))
MAX_TOKENS = int(os.environ.get("RELAY_MAX_TOKENS", "256"))
_next_key = itertools.cycle(KEYS or ["missing"])

MESSAGES = [
    {
        "role": "system",
        "content": "You answer briefly, in two sentences at most, without markdown.",
    },
    {
        "role": "user",
        "content": "We are choosing a gateway for OpenAI-compatible traffic. Explain in one short "
        "paragraph why the gateway should add very little latency, and list what it does on each "
        "request: authentication, routing, accounting and logging.",
    },
]


@events.init.add_listener
def _require_keys(environment: Any, **_: Any) -> None:
    if not KEYS:
        raise SystemExit("set RELAY_KEYS to one or more relay API keys (comma-separated)")


def _body(stream: bool) -> bytes:
    payload: dict[str, Any] = {
        "model": MODEL,
        "messages": MESSAGES,
        "temperature": 0.2,
        "max_tokens": MAX_TOKENS,
        "stream": stream,
    }
    if stream:
        payload["stream_options"] = {"include_usage": True}
    return orjson.dumps(payload)


class ChatUser(FastHttpUser):
    """One API client: its own key, a short think time between calls."""

    wait_time = between(0.0, 0.2)

    def on_start(self) -> None:
        self.headers = {
            "Authorization": f"Bearer {next(_next_key)}",
            "Content-Type": "application/json",
        }

    @task
    def chat(self) -> None:
        if random.random() < STREAM_SHARE:
            self._stream()
        else:
            self._whole()

    def _whole(self) -> None:
        with self.client.post(
            "/v1/chat/completions",
            data=_body(False),
            headers=self.headers,
            name="chat",
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}: {(resp.text or '')[:200]}")
                return
            try:
                answer = orjson.loads(resp.content or b"")
            except orjson.JSONDecodeError:
                resp.failure("the body is not JSON")
                return
            if answer.get("object") != "chat.completion" or "usage" not in answer:
                resp.failure("not a chat.completion with usage")

    def _stream(self) -> None:
        started = time.perf_counter()
        first: float | None = None
        tail = b""
        with self.client.post(
            "/v1/chat/completions",
            data=_body(True),
            headers={**self.headers, "Accept": "text/event-stream"},
            name="chat (stream)",
            stream=True,
            catch_response=True,
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                return
            for chunk in resp.iter_content(chunk_size=4096, decode_content=False):
                if first is None and chunk:
                    first = time.perf_counter()
                tail = (tail + chunk)[-64:]
            if b"data: [DONE]" not in tail:
                resp.failure("the stream did not end with [DONE]")
                return
        done = time.perf_counter()
        for name, at in (("ttft", first or done), ("stream total", done)):
            events.request.fire(
                request_type="SSE",
                name=name,
                response_time=(at - started) * 1000,
                response_length=0,
                exception=None,
                context={},
            )
