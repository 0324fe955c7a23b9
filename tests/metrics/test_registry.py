"""relay.metrics.registry: what each hook records, and the request's call across awaits."""

from __future__ import annotations

import asyncio
import contextvars
import time

from metrics_kit import fake_call

from relay.http.server import Reply
from relay.metrics.families import LATENCY_BUCKETS
from relay.metrics.registry import CLIENT_GONE, NO_CHANNEL, Deltas, Metrics, NoMetrics
from relay.providers.base import Usage
from relay.quota.service import Refusal


def test_answered_uses_the_tracked_call_of_the_same_request() -> None:
    m = Metrics("worker")

    async def one(request_id: str, tracked: str | None, status: int) -> None:
        if tracked is not None:
            m.track(fake_call(tracked, tried_channels=[3, 7]))
        await asyncio.sleep(0)
        m.answered(request_id, Reply(status, b"", []), 0)

    async def main() -> None:
        await asyncio.gather(one("a", "a", 200), one("b", None, 401), one("c", "stale", 404))

    contextvars.Context().run(asyncio.run, main())
    assert m.deltas.requests == {
        ("gpt-4o", 7, 200): 1,  # labelled by the last channel tried
        ("", NO_CHANNEL, 401): 1,
        ("", NO_CHANNEL, 404): 1,  # a call of another request is not this one's
    }


def test_answered_prefers_the_status_already_sent() -> None:
    m = Metrics("worker")
    m.answered("x", None, 200)  # a stream answered by the handler itself
    m.answered("y", None, 0)  # nothing sent, nothing to send: the server answers 500
    m.answered("z", Reply(429, b"", []), 0)
    assert m.deltas.requests == {("", 0, 200): 1, ("", 0, 500): 1, ("", 0, 429): 1}


def test_upstream_latency_lands_in_the_right_bucket() -> None:
    m = Metrics("worker")
    call = fake_call()
    m.upstream(call, 5, 200, time.perf_counter() - 0.3)
    m.upstream(call, 5, 502, time.perf_counter())
    h = m.deltas.upstream_latency[("gpt-4o", 5)]
    assert len(h) == len(LATENCY_BUCKETS) + 2
    assert h[LATENCY_BUCKETS.index(0.5)] == 1  # 0.3 s: le=0.5
    assert h[0] == 1  # ~0 s: the first bucket
    assert sum(h[:-1]) == 2 and 0.3 <= h[-1] < 0.4
    assert m.deltas.upstream_responses == {("gpt-4o", 5, 200): 1, ("gpt-4o", 5, 502): 1}


def test_values_past_the_last_bound_go_to_inf() -> None:
    m = Metrics("worker")
    m.upstream(fake_call(), 1, 200, time.perf_counter() - 1000)
    assert m.deltas.upstream_latency[("gpt-4o", 1)][-2] == 1


def test_settled_adds_tokens_quota_and_first_token_of_streams() -> None:
    m = Metrics("worker")
    now = time.time()
    m.settled(fake_call(stream=True, started=now - 0.2, first_token_at=now), 2, Usage(10, 5), 40)
    m.settled(fake_call(first_token_at=now), 2, Usage(1, 1), 2)  # not a stream: no TTFT
    assert m.deltas.usage == {("gpt-4o", 2): [11, 6, 42]}
    ttft = m.deltas.first_token[("gpt-4o", 2)]
    assert sum(ttft[:-1]) == 1 and abs(ttft[-1] - 0.2) < 0.01


def test_streams_in_flight_and_cancelled_ones() -> None:
    m = Metrics("worker")
    m.stream_opened()
    m.stream_opened()
    assert m.inflight_streams == 2
    m.stream_closed(fake_call(), 4, cancelled=False)
    m.stream_closed(fake_call(), 4, cancelled=True)
    assert m.inflight_streams == 0
    assert m.deltas.requests == {("gpt-4o", 4, CLIENT_GONE): 1}


def test_only_rate_limit_refusals_are_counted() -> None:
    m = Metrics("worker")
    for reason in (Refusal.RPM, Refusal.RPM, Refusal.MODEL_TOTAL_LIMIT, Refusal.USER_QUOTA):
        m.refused(fake_call(), reason)
    assert m.deltas.rate_limited == {("gpt-4o", "rpm"): 2, ("gpt-4o", "model_total"): 1}


def test_take_starts_afresh_and_merge_adds_back() -> None:
    m = Metrics("worker")
    m.error("redis")
    m.settled(fake_call(), 1, Usage(1, 2), 3)
    m.upstream(fake_call(), 1, 200, time.perf_counter())
    taken = m.take()
    assert m.deltas == Deltas()
    m.error("redis")
    m.settled(fake_call(), 1, Usage(1, 0), 1)
    m.deltas.merge(taken)
    assert m.deltas.errors == {"redis": 2}
    assert m.deltas.usage == {("gpt-4o", 1): [2, 2, 4]}
    assert sum(m.deltas.upstream_latency[("gpt-4o", 1)][:-1]) == 1


def test_no_metrics_records_nothing() -> None:
    m = NoMetrics("worker")
    call = fake_call("r", stream=True, first_token_at=time.time())
    m.track(call)
    m.upstream(call, 1, 200, time.perf_counter())
    m.settled(call, 1, Usage(prompt_tokens=3, completion_tokens=4), 9)
    m.stream_opened()
    m.stream_closed(call, 1, True)
    m.refused(call, Refusal.RPM)
    m.error("redis")
    m.answered("r", Reply(200, b"", []), 0)
    assert m.take() == Deltas() and m.inflight_streams == 0
