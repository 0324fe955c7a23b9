"""The admin side: read a node's sums from Redis and render the Prometheus text format 0.0.4."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from relay.metrics import families as f
from relay.metrics.flusher import LE, labels

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_HISTOGRAMS = {fam.name for fam in f.FAMILIES if fam.type == f.HISTOGRAM}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class _Histogram:
    """One series of a histogram: bucket hits by `le`, and the sum."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.sum = "0"

    def lines(self, family: str, inner: str) -> list[str]:
        sep = "," if inner else ""
        out, total = [], 0
        for le in LE:
            total += self.hits.get(le, 0)
            out.append(f'{family}_bucket{{{inner}{sep}le="{le}"}} {total}')
        out.append(f"{family}_count{{{inner}}} {total}")
        out.append(f"{family}_sum{{{inner}}} {self.sum}")
        return out


def _histogram_field(sample: str) -> tuple[str, str] | None:
    """(family, part) when `sample` is a stored histogram field (`_hits` or `_sum`)."""
    for part in ("_hits", "_sum"):
        family = sample.removesuffix(part)
        if family != sample and family in _HISTOGRAMS:
            return family, part
    return None


def live_gauges(live: Mapping[str, str], now: float) -> tuple[int, dict[str, int], list[str]]:
    """(in-flight streams, live processes by role, stale entries) from the per-process hash."""
    inflight = 0
    roles: dict[str, int] = {}
    stale: list[str] = []
    for who, value in live.items():
        stamp, _, streams = value.partition(" ")
        try:
            fresh = now - float(stamp) <= f.LIVE_SECONDS
            count = int(streams)
        except ValueError:
            fresh, count = False, 0
        if not fresh:
            stale.append(who)
            continue
        inflight += count
        role = who.partition(":")[0]
        roles[role] = roles.get(role, 0) + 1
    return inflight, roles, stale


def render(counters: Mapping[str, str], live: Mapping[str, str], now: float) -> str:
    """The exposition text: every family's HELP and TYPE, then its samples in a stable order."""
    plain: dict[str, list[str]] = {}
    histograms: dict[str, dict[str, _Histogram]] = {}
    for field in sorted(counters):
        sample, _, rest = field.partition("{")
        inner = rest.removesuffix("}")
        stored = _histogram_field(sample)
        if stored is not None:
            family, part = stored
            by_series = histograms.setdefault(family, {})
            if part == "_hits":  # le is always the last label
                inner, _, le = inner.rpartition('le="')
                series = by_series.setdefault(inner.rstrip(","), _Histogram())
                series.hits[le.removesuffix('"')] = int(counters[field])
            else:
                by_series.setdefault(inner, _Histogram()).sum = counters[field]
        elif sample in f.BY_NAME:  # a name from an older release is not exported
            plain.setdefault(sample, []).append(f"{field} {counters[field]}")
    for family, all_series in histograms.items():
        plain[family] = [
            line for inner in sorted(all_series) for line in all_series[inner].lines(family, inner)
        ]
    inflight, roles, _ = live_gauges(live, now)
    plain[f.INFLIGHT_STREAMS.name] = [f"{f.INFLIGHT_STREAMS.name} {inflight}"]
    plain[f.PROCESSES.name] = [
        f"{f.PROCESSES.name}{labels(role=role)} {n}" for role, n in sorted(roles.items())
    ]
    for fam in (f.REDIS_ERRORS, f.SQL_ERRORS):  # a zero per live role, so alerts can rate() it
        present = plain.setdefault(fam.name, [])
        for role in sorted(roles):
            if not any(line.startswith(fam.name + labels(role=role)) for line in present):
                present.append(f"{fam.name}{labels(role=role)} 0")
        present.sort()
    lines = []
    for fam in f.FAMILIES:
        lines.append(f"# HELP {fam.name} {fam.help}")
        lines.append(f"# TYPE {fam.name} {fam.type}")
        lines.extend(plain.get(fam.name, ()))
    return "\n".join(lines) + "\n"


async def scrape(redis: Any, node: str) -> str:
    """The node's metrics as exposition text; drops gauge entries of processes long gone."""
    counters_key, live_key = f.counters_key(node), f.live_key(node)
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(counters_key)
    pipe.hgetall(live_key)
    raw_counters, raw_live = await pipe.execute()
    counters = {_text(k): _text(v) for k, v in raw_counters.items()}
    live = {_text(k): _text(v) for k, v in raw_live.items()}
    now = time.time()
    _, _, stale = live_gauges(live, now)
    if stale:
        await redis.hdel(live_key, *stale)
    return render(counters, live, now)
