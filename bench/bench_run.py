#!/usr/bin/env python3
"""One measurement of bench/compare: warm up, measure with wrk, attribute the CPU.

  bench_run.py --target NAME --mode nonstream|stream --conc C --rep R --url URL --key KEY
               --lua wrk_chat.lua --dur S --warm S --load-cpu 0 --servers name=pid,... --out F

Before the warm-up and again before the measured run it waits (at most 30 s) until the servers
together use < 10 % of a core, so a backlog from the previous run (e.g. usage logs still being
drained) does not land on the next one. Appends one JSON line to F: wrk's figures, the busy %
of each core, and the CPU % (of one core) of every process of each server, grouped by name.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

HZ = os.sysconf("SC_CLK_TCK")


def core_times() -> list[tuple[int, int]]:
    """(total, idle) jiffies per core."""
    out = []
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            f = [int(x) for x in line.split()[1:]]
            out.append((sum(f), f[3] + f[4]))
    return out


def busy(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[float]:
    res = []
    for (t0, i0), (t1, i1) in zip(a, b, strict=True):
        dt = t1 - t0
        res.append(100.0 * (dt - (i1 - i0)) / dt if dt else 0.0)
    return res


def wait_idle(servers: dict[str, int], limit: float = 10.0, max_wait: float = 30.0) -> None:
    """Until the servers under test use < `limit` % of one core together (e.g. relay's admin
    process has drained the usage logs of the previous run). Other tenants of the machine are
    not waited for: their load shows in `cores_busy`."""
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        a = sum(proc_ticks(servers).values())
        time.sleep(0.5)
        used = 100.0 * (sum(proc_ticks(servers).values()) - a) / HZ / 0.5
        if used < limit:
            return
    print("  (warning: the servers are still busy after 30 s)", file=sys.stderr)


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        with contextlib.suppress(OSError):
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
    return pids


def proc_ticks(servers: dict[str, int]) -> dict[str, int]:
    """CPU ticks (user + system) per "server.process-name" over each server's process tree."""
    ticks: dict[str, int] = defaultdict(int)
    for name, root in servers.items():
        for p in tree(root):
            try:
                stat = Path(f"/proc/{p}/stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks[f"{name}.{comm}"] += int(fields[11]) + int(fields[12])
    return ticks


def wrk(args: argparse.Namespace, seconds: float) -> dict[str, float]:
    env = dict(os.environ, BENCH_KEY=args.key, BENCH_STREAM="1" if args.mode == "stream" else "0")
    cmd = [
        "taskset", "-c", args.load_cpu, "wrk", "-t1", f"-c{args.conc}", f"-d{seconds:g}s",
        "--timeout", "10s", "--latency", "-s", args.lua, args.url,
    ]  # fmt: skip
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(f"wrk printed no RESULT line:\n{out}")


def main() -> int:
    ap = argparse.ArgumentParser()
    for name in ("target", "mode", "url", "key", "lua", "load-cpu", "servers", "out"):
        ap.add_argument(f"--{name}", required=True)
    for name in ("conc", "rep"):
        ap.add_argument(f"--{name}", type=int, required=True)
    for name in ("dur", "warm"):
        ap.add_argument(f"--{name}", type=float, required=True)
    args = ap.parse_args()
    servers = {k: int(v) for k, v in (s.split("=") for s in args.servers.split(","))}

    wait_idle(servers)
    wrk(args, args.warm)
    wait_idle(servers)
    c0, p0, t0 = core_times(), proc_ticks(servers), time.monotonic()
    result = wrk(args, args.dur)
    c1, p1, t1 = core_times(), proc_ticks(servers), time.monotonic()
    secs = t1 - t0
    cpu = {k: round(100.0 * (p1[k] - p0.get(k, 0)) / HZ / secs) for k in p1}
    row = {
        "target": args.target, "mode": args.mode, "conc": args.conc, "rep": args.rep,
        "cores_busy": [round(x) for x in busy(c0, c1)],
        "proc_cpu": {k: v for k, v in sorted(cpu.items()) if v > 0},
        **result,
    }  # fmt: skip
    with open(args.out, "a") as f:
        f.write(json.dumps(row) + "\n")
    errors = sum(int(result[k]) for k in result if k.startswith("err_"))
    mine = {k: v for k, v in row["proc_cpu"].items() if k.startswith(args.target + ".")}
    print(
        f"rep={args.rep} c={args.conc:<3} {args.mode:<9} {args.target:<7} "
        f"rps={result['rps']:>9,.0f} p50={result['p50_ms']:.2f}ms p99={result['p99_ms']:.2f}ms "
        f"errors={errors} cores%={row['cores_busy']} cpu%={mine}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
