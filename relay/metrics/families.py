"""The metric families relay exports: names, types, help texts, buckets and Redis keys."""

from __future__ import annotations

from dataclasses import dataclass

COUNTER = "counter"
GAUGE = "gauge"
HISTOGRAM = "histogram"

# Seconds; the last bucket (+Inf) is implicit. Upstream answers and first tokens of LLM calls
# range from milliseconds (cached, mock) to minutes (reasoning models).
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip


@dataclass(frozen=True)
class Family:
    name: str
    type: str
    help: str


REQUESTS = Family(
    "relay_requests_total",
    COUNTER,
    "Relay API requests answered, by model, last channel tried and HTTP status "
    "(499: the client left during a stream)",
)
UPSTREAM_LATENCY = Family(
    "relay_upstream_latency_seconds",
    HISTOGRAM,
    "Time from sending a request upstream to its response headers, per attempt",
)
UPSTREAM_RESPONSES = Family(
    "relay_upstream_responses_total",
    COUNTER,
    "Upstream responses per attempt, by model, channel and upstream HTTP status",
)
FIRST_TOKEN = Family(
    "relay_time_to_first_token_seconds",
    HISTOGRAM,
    "Time from a streamed request's arrival to its first upstream chunk",
)
PROMPT_TOKENS = Family(
    "relay_prompt_tokens_total", COUNTER, "Prompt (input) tokens billed, by model and channel"
)
COMPLETION_TOKENS = Family(
    "relay_completion_tokens_total",
    COUNTER,
    "Completion (output) tokens billed, by model and channel",
)
QUOTA = Family("relay_quota_spent_total", COUNTER, "Quota charged, by model and channel")
RATE_LIMITED = Family(
    "relay_rate_limit_refusals_total",
    COUNTER,
    "Requests refused with 429 by a rate limit at admission, by model and limit",
)
REDIS_ERRORS = Family("relay_redis_errors_total", COUNTER, "Redis errors caught, by process role")
SQL_ERRORS = Family("relay_sql_errors_total", COUNTER, "SQL database errors caught, by role")
INFLIGHT_STREAMS = Family(
    "relay_inflight_streams", GAUGE, "Streams being relayed right now, over all workers"
)
PROCESSES = Family(
    "relay_metrics_processes", GAUGE, "Processes of this node that reported metrics lately"
)

FAMILIES: tuple[Family, ...] = (
    REQUESTS,
    UPSTREAM_LATENCY,
    UPSTREAM_RESPONSES,
    FIRST_TOKEN,
    PROMPT_TOKENS,
    COMPLETION_TOKENS,
    QUOTA,
    RATE_LIMITED,
    REDIS_ERRORS,
    SQL_ERRORS,
    INFLIGHT_STREAMS,
    PROCESSES,
)
BY_NAME = {f.name: f for f in FAMILIES}

FLUSH_SECONDS = 1.0
# A process that has not reported for this long is gone: its gauges stop counting.
LIVE_SECONDS = 5.0


def counters_key(node: str) -> str:
    """The node's hash of summed counters: field = sample name with labels, value = total."""
    return f"relay:metrics:{{{node}}}"


def live_key(node: str) -> str:
    """The node's hash of per-process gauges: field = role:pid, value = "unix-time in-flight"."""
    return f"relay:metrics:{{{node}}}:live"
