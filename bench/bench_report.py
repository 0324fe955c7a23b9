#!/usr/bin/env python3
"""Markdown report of bench/compare: medians over the interleaved repetitions.

bench_report.py RESULTS.jsonl [NOTES.md]    (NOTES, if given, is printed first)
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

NAMES = {
    "direct": "mock direct",
    "nginx": "nginx proxy_pass",
    "relay1": "relay WORKERS=1",
    "relay2": "relay WORKERS=2",
    "relay1-pg": "relay WORKERS=1, PostgreSQL + Redis",
    "relay1-solo": "relay WORKERS=1, worker alone on its core",
    "relay1-solo-nometrics": "relay WORKERS=1, worker alone, METRICS_ENABLED=false",
    "litellm1": "LiteLLM proxy, 1 worker",
    "fwd-aiohttp": "bare forwarder, aiohttp",
    "fwd-relay": "bare forwarder, relay.http",
}
MODES = ("nonstream", "stream")
_RELAY_PROCESSES = ("relay-worker", "relay-admin", "redis-server")


def load(path: str) -> dict[tuple[str, str, int], list[dict[str, Any]]]:
    cells: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    for line in Path(path).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            cells[(row["target"], row["mode"], row["conc"])].append(row)
    return cells


def med(rows: list[dict[str, Any]], field: str) -> float:
    return float(statistics.median(r[field] for r in rows))


def errors(rows: list[dict[str, Any]]) -> int:
    return sum(int(v) for r in rows for k, v in r.items() if k.startswith("err_"))


def cores(rows: list[dict[str, Any]]) -> str:
    """Median busy % of each core during the measured runs (all tenants of the machine)."""
    n = len(rows[0]["cores_busy"])
    return "/".join(f"{statistics.median(r['cores_busy'][i] for r in rows):.0f}" for i in range(n))


def cpu_split(rows: list[dict[str, Any]], target: str) -> str:
    """Median CPU % per process name of the target (one core = 100)."""
    names = sorted({k for r in rows for k in r["proc_cpu"] if k.startswith(target + ".")})
    parts = []
    for name in names:
        value = statistics.median(r["proc_cpu"].get(name, 0) for r in rows)
        if value >= 1:
            parts.append(f"{name.split('.', 1)[1]} {value:.0f}")
    return ", ".join(parts) or "-"


def cpu_per_request(rows: list[dict[str, Any]], target: str, process: str) -> float:
    """Median over the reps of one process's CPU time per request, in µs (CPU % x 10^4 / rps)."""
    key = f"{target}.{process}"
    return float(
        statistics.median(r["proc_cpu"].get(key, 0) * 1e4 / r["rps"] for r in rows if r["rps"])
    )


def cpu_report(cells: dict[tuple[str, str, int], list[dict[str, Any]]]) -> list[str]:
    """CPU µs per request of each relay process: steadier than req/s on a noisy machine."""
    out = ["", "## CPU time per request of relay's processes (µs, median of the repetitions)", ""]
    out.append("| target | mode | c | relay-worker | relay-admin | redis-server |")
    out.append("|---|---|---:|---:|---:|---:|")
    for (t, m, c), rows in sorted(cells.items()):
        if t.startswith("relay"):
            us = [cpu_per_request(rows, t, p) for p in _RELAY_PROCESSES]
            out.append(f"| {NAMES[t]} | {m} | {c} | " + " | ".join(f"{u:.0f}" for u in us) + " |")
    on, off = "relay1-solo", "relay1-solo-nometrics"
    pairs = [(m, c) for (t, m, c) in sorted(cells) if t == on and (off, m, c) in cells]
    if pairs:
        out += ["", "## What recording the metrics costs (relay1-solo, METRICS_ENABLED on/off)"]
        out += ["", "| mode | c | req/s on / off | worker µs per request on / off | cost |"]
        out.append("|---|---:|---:|---:|---:|")
        for m, c in pairs:
            a, b = cells[(on, m, c)], cells[(off, m, c)]
            wa, wb = cpu_per_request(a, on, "relay-worker"), cpu_per_request(b, off, "relay-worker")
            out.append(
                f"| {m} | {c} | {med(a, 'rps'):,.0f} / {med(b, 'rps'):,.0f} | "
                f"{wa:.0f} / {wb:.0f} | {(wa - wb) / wb * 100:+.1f} % |"
            )
    return out


def report(cells: dict[tuple[str, str, int], list[dict[str, Any]]]) -> str:
    targets = [t for t in NAMES if any(k[0] == t for k in cells)]
    concs = sorted({k[2] for k in cells})
    out = ["## Throughput and latency (median of the repetitions)", ""]
    out.append(
        "| target | mode | c | req/s | req/s by rep | p50 ms | p99 ms | errors | cores busy % | "
        "target CPU % by process (median) |"
    )
    out.append("|---|---|---:|---:|---|---:|---:|---:|---|---|")
    for t in targets:
        for m in MODES:
            for c in concs:
                rows = sorted(cells.get((t, m, c), []), key=lambda r: r["rep"])
                if not rows:
                    continue
                reps = ", ".join(f"{r['rps']:,.0f}" for r in rows)
                out.append(
                    f"| {NAMES[t]} | {m} | {c} | {med(rows, 'rps'):,.0f} | {reps} | "
                    f"{med(rows, 'p50_ms'):.2f} | {med(rows, 'p99_ms'):.2f} | {errors(rows)} | "
                    f"{cores(rows)} | {cpu_split(rows, t)} |"
                )
    refs = [r for r in ("nginx", "direct", "litellm1") if r in targets]
    out += ["", "## Throughput ratios (median req/s of the target / median req/s of the reference)"]
    out.append("")
    head = " | ".join(f"c={c} /{ref}" for c in concs for ref in refs)
    out.append(f"| target | mode | {head} |")
    out.append("|---|---|" + "---:|" * len(concs) * len(refs))
    for t in (x for x in targets if x not in ("direct", "nginx", "litellm1")):
        for m in MODES:
            parts = []
            for c in concs:
                mine = cells.get((t, m, c))
                for ref in refs:
                    other = cells.get((ref, m, c))
                    ok = mine and other and med(other, "rps") > 0
                    parts.append(f"{med(mine, 'rps') / med(other, 'rps'):.3f}" if ok else "-")
            out.append(f"| {NAMES[t]} | {m} | " + " | ".join(parts) + " |")
    if 1 in concs:
        out += ["", "## Added latency at c=1 (p50 of the target minus p50 of the mock direct)", ""]
        out.append("| target | mode | p50 ms | added p50 ms | p99 ms | added p99 ms |")
        out.append("|---|---|---:|---:|---:|---:|")
        for t in targets:
            if t == "direct":
                continue
            for m in MODES:
                mine, base = cells.get((t, m, 1)), cells.get(("direct", m, 1))
                if not mine or not base:
                    continue
                p50, p99 = med(mine, "p50_ms"), med(mine, "p99_ms")
                out.append(
                    f"| {NAMES[t]} | {m} | {p50:.3f} | {p50 - med(base, 'p50_ms'):+.3f} | "
                    f"{p99:.3f} | {p99 - med(base, 'p99_ms'):+.3f} |"
                )
    out += cpu_report(cells)
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        sys.stderr.write(__doc__ or "")
        return 2
    if len(argv) == 2:
        sys.stdout.write(Path(argv[1]).read_text().rstrip() + "\n\n")
    sys.stdout.write(report(load(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
