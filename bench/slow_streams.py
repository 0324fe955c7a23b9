#!/usr/bin/env python3
"""Many concurrent slow streams through one relay node: none may fail, worker memory stays bounded.

  slow_streams.py hold [--streams 10000] [--chunks 10]   one wave: N streams open at once, each
                                                          one chunk a second for --chunks seconds
  slow_streams.py soak [--streams 1000] [--minutes 10]   N streams kept open for M minutes (each
                                                          replaced when it ends); RSS sampled

Starts bench/mock_upstream.py (its channel key `slow;chunk_delay=1000;words=N` makes every stream
send one chunk a second), `relay serve` (WORKERS = cores unless set, embedded defaults, a fresh
DATA_DIR, usage logs on), seeds one token and channel with bench/setup_relay.py, and runs the
client here (aiohttp on uvloop, one connection per stream). A stream succeeds when its status is
200, every content chunk arrived and it ends with `data: [DONE]`. The RSS of every relay-worker is
read from /proc each second. Nothing is pinned: client, mock and relay share both cores.
Writes bench/results/<date>-slow-streams-<mode>.md and prints it.
Usage: .venv/bin/python bench/slow_streams.py hold --streams 10000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
import uvloop

HERE = Path(__file__).resolve().parent
PORT, ADMIN_PORT, MOCK_PORT = 18200, 18201, 18202
CRYPTO = "bench-crypto-secret-0123456789"


@dataclass
class Tally:
    ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    open_now: int = 0
    open_peak: int = 0
    seconds: list[float] = field(default_factory=list)


@dataclass
class Memory:
    """RSS of each worker of `supervisor` over time: (seconds since start, {pid: MiB})."""

    supervisor: int
    samples: list[tuple[float, dict[int, float]]] = field(default_factory=list)

    def peak(self) -> dict[int, float]:
        out: dict[int, float] = {}
        for _, rss in self.samples:
            for pid, mib in rss.items():
                out[pid] = max(out.get(pid, 0.0), mib)
        return out


def workers(supervisor: int) -> list[int]:
    """The relay-worker children of our `relay serve` (other relays may run on the machine)."""
    try:
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    except OSError:
        return []
    pids = []
    for pid in children:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "relay-worker":
                pids.append(int(pid))
        except OSError:
            continue
    return sorted(pids)


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def sample_memory(memory: Memory, supervisor: int, started: float, every: float) -> None:
    while True:
        rss = {p: rss_mib(p) for p in workers(supervisor)}
        memory.samples.append((time.monotonic() - started, rss))
        await asyncio.sleep(every)


def start_servers(work: Path, chunks: int) -> tuple[list[subprocess.Popen[bytes]], str]:
    py = sys.executable
    mock = subprocess.Popen(
        [py, str(HERE / "mock_upstream.py"), "--host", "127.0.0.1", "--port", str(MOCK_PORT)],
        stdout=subprocess.PIPE,
        stderr=open(work / "mock.log", "wb"),  # noqa: SIM115 - lives as long as the process
    )
    assert mock.stdout is not None
    mock.stdout.readline()  # READY port=...
    env = {k: v for k, v in os.environ.items() if k not in ("SQL_DSN", "REDIS_CONN_STRING")}
    env.update(
        DATA_DIR=str(work / "data"), HOST="127.0.0.1", PORT=str(PORT),
        ADMIN_PORT=str(ADMIN_PORT), CRYPTO_SECRET=CRYPTO, SESSION_SECRET="bench-session",
        SHUTDOWN_TIMEOUT_SECONDS="5",
    )  # fmt: skip
    relay_bin = str(Path(py).parent / "relay")
    relay = subprocess.Popen(
        [relay_bin, "serve"],
        env=env,
        stdout=open(work / "relay.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ok = subprocess.run(
            ["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{ADMIN_PORT}/api/status"]
        )
        if ok.returncode == 0:
            break
        time.sleep(0.5)
    seed_env = dict(env, BENCH_CHANNEL_KEY=f"slow;chunk_delay=1000;words={chunks}")
    out = subprocess.run(
        [py, str(HERE / "setup_relay.py"), "seed", str(work / "data"),
         f"http://127.0.0.1:{MOCK_PORT}", f"http://127.0.0.1:{PORT}"],
        env=seed_env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    key = next(line.split("=", 1)[1] for line in out.splitlines() if line.startswith("KEY_NON"))
    return [relay, mock], key


BODY = orjson.dumps(
    {
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Tell me a slow story."}],
    }
)


async def one_stream(http: aiohttp.ClientSession, key: str, chunks: int, tally: Tally) -> None:
    started = time.monotonic()
    try:
        async with http.post(
            f"http://127.0.0.1:{PORT}/v1/chat/completions",
            data=BODY,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        ) as resp:
            if resp.status != 200:
                tally.failures[f"HTTP {resp.status}"] += 1
                return
            tally.open_now += 1
            tally.open_peak = max(tally.open_peak, tally.open_now)
            try:
                body = await resp.read()
            finally:
                tally.open_now -= 1
    except (aiohttp.ClientError, TimeoutError) as exc:
        tally.failures[type(exc).__name__] += 1
        return
    if not body.endswith(b"data: [DONE]\n\n"):
        tally.failures["no [DONE]"] += 1
    elif body.count(b'"content":"') < chunks:
        tally.failures["chunks missing"] += 1
    else:
        tally.ok += 1
        tally.seconds.append(time.monotonic() - started)


async def hold(key: str, streams: int, chunks: int, ramp: float, memory: Memory) -> Tally:
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=chunks * 10 + 120)
    started = time.monotonic()
    sampler = asyncio.create_task(sample_memory(memory, memory.supervisor, started, 1.0))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        tasks = []
        for i in range(streams):
            tasks.append(asyncio.create_task(one_stream(http, key, chunks, tally)))
            if i % 100 == 99:
                await asyncio.sleep(ramp / (streams / 100))
        await asyncio.gather(*tasks)
    sampler.cancel()
    return tally


async def soak(key: str, streams: int, chunks: int, minutes: float, memory: Memory) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + minutes * 60
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=chunks * 10 + 120)

    async def loop(http: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            await one_stream(http, key, chunks, tally)

    sampler = asyncio.create_task(sample_memory(memory, memory.supervisor, time.monotonic(), 10.0))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        tasks = []
        for _ in range(streams):
            tasks.append(asyncio.create_task(loop(http)))
            await asyncio.sleep(chunks / streams)  # spread the stream ends over time
        await asyncio.gather(*tasks)
    sampler.cancel()
    return tally


def _commit() -> str:
    out = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return out.stdout.strip() or "?"


def report(mode: str, args: argparse.Namespace, tally: Tally, memory: Memory, log: Path) -> str:
    base = memory.samples[0][1] if memory.samples else {}
    peak = memory.peak()
    last = memory.samples[-1][1] if memory.samples else {}
    warnings = sum(
        1 for line in log.read_text(errors="replace").splitlines()
        if any(f" {lvl} " in line for lvl in ("WARNING", "ERROR", "CRITICAL"))
    )  # fmt: skip
    total = tally.ok + sum(tally.failures.values())
    lines = [
        f"# {mode}: concurrent slow streams through one relay node — "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}",
        "",
        f"Command: `.venv/bin/python bench/slow_streams.py {mode} --streams {args.streams}"
        + (f" --minutes {args.minutes}" if mode == "soak" else "")
        + f" --chunks {args.chunks}`; relay {_commit()}; {os.cpu_count()} cores;"
        f" relay workers: {len(peak)};"
        " nothing pinned (client, mock and relay share the cores).",
        "",
        "| streams | succeeded | failed | failures by kind | open at once (peak) | "
        "stream seconds p50 / max |",
        "|---:|---:|---:|---|---:|---|",
        f"| {total:,} | {tally.ok:,} | {total - tally.ok:,} | "
        f"{dict(tally.failures) or '-'} | {tally.open_peak:,} | "
        + (
            f"{statistics.median(tally.seconds):.1f} / {max(tally.seconds):.1f}"
            if tally.seconds
            else "-"
        )
        + " |",
        "",
        "| worker pid | RSS at start MiB | peak MiB | at the end MiB |",
        "|---:|---:|---:|---:|",
    ]
    for pid in sorted(peak):
        lines.append(
            f"| {pid} | {base.get(pid, 0):.0f} | {peak[pid]:.0f} | {last.get(pid, 0):.0f} |"
        )
    if mode == "soak" and len(memory.samples) > 2:
        lines += ["", "RSS over the soak (MiB, all workers summed, every 10 s):", ""]
        series = [f"{t:.0f}s {sum(r.values()):.0f}" for t, r in memory.samples]
        lines.append(", ".join(series))
    lines += ["", f"relay log lines at WARNING or worse: {warnings}", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("mode", choices=("hold", "soak"))
    ap.add_argument("--streams", type=int)
    ap.add_argument("--chunks", type=int, default=10, help="chunks per stream, one a second")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--ramp", type=float, default=5.0, help="seconds to open all streams (hold)")
    ap.add_argument("--results", type=Path, default=HERE / "results")
    args = ap.parse_args()
    args.streams = args.streams or (10_000 if args.mode == "hold" else 1_000)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.streams + 100:
        raise SystemExit(f"open files hard limit {hard} is below {args.streams} streams")
    work = Path(tempfile.mkdtemp(prefix="relay-slow-"))
    procs, key = start_servers(work, args.chunks)
    memory = Memory(procs[0].pid)
    try:
        if args.mode == "hold":
            tally = uvloop.run(hold(key, args.streams, args.chunks, args.ramp, memory))
        else:
            tally = uvloop.run(soak(key, args.streams, args.chunks, args.minutes, memory))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    text = report(args.mode, args, tally, memory, work / "relay.log")
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"{datetime.date.today()}-slow-streams-{args.mode}.md"
    out.write_text(text)
    print(text)
    print(f"written to {out}; logs in {work}", file=sys.stderr)
    return 0 if tally.ok and not tally.failures else 1


if __name__ == "__main__":
    sys.exit(main())
