"""A process's metrics since the last flush: plain dicts updated in a few hundred nanoseconds.

The hot path only adds to dicts keyed by label tuples; formatting label strings and talking
to Redis happen once a second in the flusher, off the request's path.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from relay.metrics.families import LATENCY_BUCKETS
from relay.quota.service import Refusal

if TYPE_CHECKING:
    from relay.http.server import Reply
    from relay.pipeline.call import Call
    from relay.providers.base import Usage

NO_CHANNEL = 0  # channel ids start at 1: 0 is "no channel was tried" (rendered as "")
CLIENT_GONE = 499  # nginx's "client closed request": the client left during a stream
_RATE_LIMITS = {
    Refusal.RPM: "rpm",
    Refusal.RPD: "rpd",
    Refusal.TPM: "tpm",
    Refusal.MODEL_SUCCESS_LIMIT: "model_success",
    Refusal.MODEL_TOTAL_LIMIT: "model_total",
}
# Each request runs in its own task, so a context variable carries its Call from intake to the
# dispatcher's final status without changing any signature in between.
_CALL: ContextVar[Call | None] = ContextVar("relay_metrics_call", default=None)

Histogram = list[float]  # per-bucket counts (LATENCY_BUCKETS, then +Inf), then the sum


def new_histogram() -> Histogram:
    return [0.0] * (len(LATENCY_BUCKETS) + 2)


def _observe(series: dict[tuple[str, int], Histogram], key: tuple[str, int], value: float) -> None:
    h = series.get(key)
    if h is None:
        h = series[key] = new_histogram()
    h[bisect_left(LATENCY_BUCKETS, value)] += 1
    h[-1] += value


@dataclass
class Deltas:
    """Counts since the last flush, keyed by label values (model, channel id, ...)."""

    requests: dict[tuple[str, int, int], int] = field(default_factory=dict)
    upstream_responses: dict[tuple[str, int, int], int] = field(default_factory=dict)
    upstream_latency: dict[tuple[str, int], Histogram] = field(default_factory=dict)
    first_token: dict[tuple[str, int], Histogram] = field(default_factory=dict)
    usage: dict[tuple[str, int], list[int]] = field(default_factory=dict)  # prompt, out, quota
    rate_limited: dict[tuple[str, str], int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)  # "redis" / "sql"

    def merge(self, other: Deltas) -> None:
        """Add `other` back in (a flush that failed)."""
        for name in ("requests", "upstream_responses", "rate_limited", "errors"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n
        for name in ("upstream_latency", "first_token", "usage"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for key, values in theirs.items():
                current = mine.get(key)
                if current is None:
                    mine[key] = list(values)
                else:
                    mine[key] = [a + b for a, b in zip(current, values, strict=True)]


class Metrics:
    """One process's counters; `ctx.metrics` in a worker. Methods are the pipeline's hooks."""

    def __init__(self, role: str) -> None:
        self.role = role  # "worker" or "admin"
        self.inflight_streams = 0
        self.deltas = Deltas()

    def take(self) -> Deltas:
        """The deltas so far; recording starts afresh (the flusher's side)."""
        taken, self.deltas = self.deltas, Deltas()
        return taken

    # ---- hooks -------------------------------------------------------------------------
    def track(self, call: Call) -> None:
        """Intake built the call: its model and channel label the request's final status."""
        _CALL.set(call)

    def answered(self, request_id: str, reply: Reply | None, sent_status: int) -> None:
        """The dispatcher's final status: what was sent, else the reply about to be sent."""
        status = sent_status or (reply.status if reply is not None else 500)
        call = _CALL.get()
        if call is not None and call.request_id == request_id:
            tried = call.tried_channels
            key = (call.model, tried[-1] if tried else NO_CHANNEL, status)
        else:  # refused before intake (auth, body, unknown model) or not a relayed call
            key = ("", NO_CHANNEL, status)
        requests = self.deltas.requests
        requests[key] = requests.get(key, 0) + 1

    def upstream(self, call: Call, channel_id: int, status: int, sent: float) -> None:
        """An attempt's response headers arrived; `sent` is its perf_counter() at sending."""
        key = (call.model, channel_id)
        _observe(self.deltas.upstream_latency, key, time.perf_counter() - sent)
        responses = self.deltas.upstream_responses
        rkey = (call.model, channel_id, status)
        responses[rkey] = responses.get(rkey, 0) + 1

    def settled(self, call: Call, channel_id: int, usage: Usage, quota: int) -> None:
        key = (call.model, channel_id)
        totals = self.deltas.usage.get(key)
        if totals is None:
            totals = self.deltas.usage[key] = [0, 0, 0]
        totals[0] += usage.prompt_tokens
        totals[1] += usage.completion_tokens
        totals[2] += quota
        if call.stream and call.first_token_at:
            _observe(self.deltas.first_token, key, call.first_token_at - call.started)

    def stream_opened(self) -> None:
        self.inflight_streams += 1

    def stream_closed(self, call: Call, channel_id: int, cancelled: bool) -> None:
        """A stream ended; one the client cancelled never reaches the dispatcher's hook."""
        self.inflight_streams -= 1
        if cancelled:
            requests = self.deltas.requests
            key = (call.model, channel_id, CLIENT_GONE)
            requests[key] = requests.get(key, 0) + 1

    def refused(self, call: Call, reason: Refusal) -> None:
        """Admission refused the call; only the rate limits (429) are counted here."""
        limit = _RATE_LIMITS.get(reason)
        if limit is not None:
            refusals = self.deltas.rate_limited
            key = (call.model, limit)
            refusals[key] = refusals.get(key, 0) + 1

    def error(self, kind: str) -> None:
        """A caught Redis ("redis") or SQL ("sql") error."""
        errors = self.deltas.errors
        errors[kind] = errors.get(kind, 0) + 1


class NoMetrics(Metrics):
    """METRICS_ENABLED=false: every hook does nothing (what recording costs is measured
    against this; bench/compare's relay1-solo-nometrics)."""

    def track(self, call: Call) -> None:
        pass

    def answered(self, request_id: str, reply: Reply | None, sent_status: int) -> None:
        pass

    def upstream(self, call: Call, channel_id: int, status: int, sent: float) -> None:
        pass

    def settled(self, call: Call, channel_id: int, usage: Usage, quota: int) -> None:
        pass

    def stream_opened(self) -> None:
        pass

    def stream_closed(self, call: Call, channel_id: int, cancelled: bool) -> None:
        pass

    def refused(self, call: Call, reason: Refusal) -> None:
        pass

    def error(self, kind: str) -> None:
        pass
