#!/usr/bin/env python3
"""SO_REUSEPORT or one inherited listening socket, for a pre-fork aiohttp server with 2 workers?

A self-contained experiment (needs wrk, taskset; aiohttp + uvloop from relay's venv). The server
is built like a relay worker: uvloop, aiohttp's low-level `web.Server`, and on SIGTERM it closes
its listener, drains in-flight requests (`Server.shutdown`) and exits. Each worker counts the
requests it served and reports the count when it exits. Two ways of listening:

  shared     the parent binds one socket before forking; both workers (and the parent, which
             keeps it open like relay's supervisor) hold the same socket: one accept queue.
  reuseport  each worker binds its own socket with SO_REUSEPORT: one accept queue per worker,
             the kernel spreads incoming connections over them by a hash of the 4-tuple.

Three questions, both modes interleaved:
  1. throughput: wrk -t1 -c64 for DUR s after WARM s (REPS times each, alternating order);
  2. balance: requests served per worker over the measured window (counters reset after the
     warm-up with SIGUSR1, read at exit);
  3. one worker stopped with SIGTERM while wrk runs (KILL_REPS times each): the errors wrk sees
     (connect / read / write / timeout / non-2xx), with keep-alive connections and with a new
     connection per request (`Connection: close`, so the accept queues stay in use).

Pinning: wrk runs on core LOAD_CPU (0); the workers are not pinned (they share both cores with
wrk), like relay with WORKERS=2 in bench/compare.
Usage: /tmp/v/bin/python bench/reuseport.py   (env: REPS=3 DUR=10 WARM=2 KILL_REPS=3 PORT=18100)
Writes bench/results/<date>-reuseport.md and prints the same tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from aiohttp import web

HERE = Path(__file__).resolve().parent
REPS = int(os.environ.get("REPS", "3"))
DUR = int(os.environ.get("DUR", "10"))
WARM = int(os.environ.get("WARM", "2"))
KILL_REPS = int(os.environ.get("KILL_REPS", "3"))
KILL_DUR = 8  # seconds of load in a stop trial; the worker is stopped after KILL_AT seconds
KILL_AT = 2.0
PORT = int(os.environ.get("PORT", "18100"))
LOAD_CPU = os.environ.get("LOAD_CPU", "0")
CONNS = 64
MODES = ("shared", "reuseport")
BODY = (
    b'{"id":"chatcmpl-reuseport","object":"chat.completion","created":1719000000,'
    b'"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":'
    b'"A gateway adds latency to every request, so it should add as little as it can."},'
    b'"finish_reason":"stop"}],"usage":{"prompt_tokens":57,"completion_tokens":18,'
    b'"total_tokens":75}}'
)
LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"secs":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,'
    .. '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect, e.read, e.write, e.timeout, e.status))
end
"""


# --------------------------------------------------------------------------- the server
def listening_socket(reuseport: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", PORT))
    sock.listen(4096)
    return sock


async def serve(shared: socket.socket | None, report_fd: int) -> int:
    loop = asyncio.get_running_loop()
    sock = shared if shared is not None else listening_socket(reuseport=True)
    served = 0
    stopping = 0.0  # monotonic time of SIGTERM
    after = 0  # requests served after SIGTERM
    last = 0.0  # monotonic time of the last request

    async def handle(request: web.BaseRequest) -> web.Response:
        nonlocal served, after, last
        served += 1
        last = time.monotonic()
        if stopping:
            after += 1
        await request.read()
        return web.Response(body=BODY, content_type="application/json")

    def reset() -> None:
        nonlocal served
        served = 0

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, reset)
    server = web.Server(handle, access_log=None, keepalive_timeout=75)
    listener = await loop.create_server(server, sock=sock, backlog=4096)
    os.write(report_fd, b"READY\n")
    await stop.wait()
    stopping = time.monotonic()
    listener.close()  # as relay's worker: stop accepting, then drain what is in flight
    await server.shutdown(5.0)
    os.write(report_fd, f"AFTER {after} {max(0.0, last - stopping):.3f}\n".encode())
    return served


def worker(shared: socket.socket | None, report_fd: int) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        served = asyncio.run(serve(shared, report_fd))
        os.write(report_fd, f"SERVED {served}\n".encode())
    except BaseException as exc:
        os.write(report_fd, f"FAILED {exc!r}\n".encode())
        code = 1
    finally:
        os._exit(code)


@dataclass
class Server:
    """Two forked workers in one listening mode."""

    mode: str
    pids: list[int] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    sock: socket.socket | None = None

    def start(self) -> None:
        if self.mode == "shared":
            self.sock = listening_socket(reuseport=False)
        for _ in range(2):
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                worker(self.sock, write_fd)
            os.close(write_fd)
            self.pids.append(pid)
            self.fds.append(read_fd)
        for fd in self.fds:
            if os.read(fd, 6) != b"READY\n":
                raise RuntimeError("a worker failed to start")
        wait_port()

    def signal(self, index: int, sig: int) -> None:
        os.kill(self.pids[index], sig)

    def stop(self) -> list[int]:
        """SIGTERM both workers; returns the count each reported (-1: none)."""
        counts = []
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid, fd in zip(self.pids, self.fds, strict=True):
            waited = wait_pid(pid, 15.0)
            text = b""
            while chunk := os.read(fd, 4096):
                text += chunk
            os.close(fd)
            lines = [x for x in text.decode().splitlines() if x.startswith("SERVED ")]
            counts.append(int(lines[-1].split()[1]) if lines and waited else -1)
        self.pids, self.fds = [], []
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        return counts

    def kill_all(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.pids = []


def wait_pid(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return False


def wait_port() -> None:
    async def probe() -> None:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"http://127.0.0.1:{PORT}/") as resp:
                        await resp.read()
                        return
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
        raise RuntimeError("the server does not answer")

    asyncio.run(probe())


# --------------------------------------------------------------------------- load
def wrk_cmd(lua: str, seconds: int, close: bool = False, timeout: int = 3) -> list[str]:
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{CONNS}", f"-d{seconds}s", "--latency"]
    cmd += ["--timeout", f"{timeout}s", "-s", lua]
    if close:
        cmd += ["-H", "Connection: close"]
    return [*cmd, f"http://127.0.0.1:{PORT}/v1/chat/completions"]


def wrk_result(out: str) -> dict[str, Any]:
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(f"no RESULT line from wrk:\n{out}")


def run_wrk(lua: str, seconds: int, close: bool = False) -> dict[str, Any]:
    out = subprocess.run(wrk_cmd(lua, seconds, close), capture_output=True, text=True, check=True)
    return wrk_result(out.stdout)


def throughput_trial(mode: str, lua: str) -> dict[str, Any]:
    server = Server(mode)
    try:
        server.start()
        run_wrk(lua, WARM)
        for i in range(2):
            server.signal(i, signal.SIGUSR1)
        time.sleep(0.1)
        result = run_wrk(lua, DUR)
        result["served"] = server.stop()
        return result
    finally:
        server.kill_all()


def stop_trial(mode: str, lua: str, close: bool) -> dict[str, Any]:
    server = Server(mode)
    try:
        server.start()
        load = subprocess.Popen(
            wrk_cmd(lua, KILL_DUR, close, timeout=2),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(KILL_AT)
        t0 = time.monotonic()
        server.signal(0, signal.SIGTERM)  # the stopped worker reports its count as it exits
        exited = wait_pid(server.pids[0], 10.0)
        drain_s = time.monotonic() - t0
        out, _ = load.communicate(timeout=KILL_DUR + 30)
        result = wrk_result(out)
        raw = b""
        while exited and (chunk := os.read(server.fds[0], 4096)):
            raw += chunk
        os.close(server.fds[0])
        lines = raw.decode().splitlines()
        stopped = [int(x.split()[1]) for x in lines if x.startswith("SERVED ")]
        after = [x.split()[1:] for x in lines if x.startswith("AFTER ")]
        server.pids, server.fds = server.pids[1:], server.fds[1:]
        survivor = server.stop()
        result.update(
            stopped_served=stopped[0] if stopped and exited else -1,
            survivor_served=survivor[0],
            drain_s=drain_s,
            after_stop=int(after[0][0]) if after else -1,
            last_after_stop_s=float(after[0][1]) if after else -1.0,
        )
        return result
    finally:
        server.kill_all()


# --------------------------------------------------------------------------- report
def share(served: list[int]) -> str:
    total = sum(served)
    return " / ".join(f"{100 * s / total:.0f}%" for s in served) if total > 0 else "-"


def report(tp: dict[str, list[dict[str, Any]]], kill: list[dict[str, Any]], secs: float) -> str:
    lines = [
        "# SO_REUSEPORT vs one inherited listening socket — "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}",
        "",
        f"`/tmp/v/bin/python bench/reuseport.py` (REPS={REPS} DUR={DUR} WARM={WARM} "
        f"KILL_REPS={KILL_REPS}); {platform.system()} {platform.release()}, {os.cpu_count()} "
        f"cores; Python {platform.python_version()}, aiohttp {aiohttp.__version__}, uvloop "
        f"{uvloop.__version__}; ran {secs:.0f} s. Server: 2 forked workers, uvloop + aiohttp "
        "low-level `web.Server`, a 400-byte JSON answer; wrk -t1 pinned to core "
        f"{LOAD_CPU}, workers unpinned (they share both cores with wrk). Noisy shared machine: "
        "only figures of one run compare.",
        "",
        f"## Throughput and balance (wrk -c{CONNS}, {DUR} s, keep-alive; modes interleaved)",
        "",
        "| mode | req/s median | req/s by rep | p50 ms | p99 ms | errors | "
        "share per worker by rep |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for mode in MODES:
        rows = tp[mode]
        rps = [r["requests"] / r["secs"] for r in rows]
        errs = sum(r[k] for r in rows for k in ("connect", "read", "write", "timeout", "status"))
        lines.append(
            f"| {mode} | {statistics.median(rps):,.0f} | {', '.join(f'{x:,.0f}' for x in rps)} | "
            f"{statistics.median(r['p50_ms'] for r in rows):.2f} | "
            f"{statistics.median(r['p99_ms'] for r in rows):.2f} | {errs} | "
            f"{'; '.join(share(r['served']) for r in rows)} |"
        )
    lines += [
        "",
        f"## One worker stopped with SIGTERM {KILL_AT:.0f} s into {KILL_DUR} s of load "
        f"(wrk -c{CONNS}; {KILL_REPS} trials each; errors as wrk counts them, summed)",
        "",
        "| mode | connections | requests | connect | read | write | timeout | non-2xx | "
        "stopped worker: served before / after SIGTERM, exit after s (per trial) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for close in (False, True):
        for mode in MODES:
            rows = [r for r in kill if r["mode"] == mode and r["close"] == close]
            keys = ("requests", "connect", "read", "write", "timeout", "status")
            total = {k: sum(r[k] for r in rows) for k in keys}
            stopped = "; ".join(
                f"{r['stopped_served'] - r['after_stop']:,} / {r['after_stop']}, {r['drain_s']:.2f}"
                for r in rows
            )
            style = "new per request" if close else "keep-alive"
            lines.append(
                f"| {mode} | {style} | {total['requests']:,} | {total['connect']} | "
                f"{total['read']} | {total['write']} | {total['timeout']} | {total['status']} | "
                f"{stopped} |"
            )
    lines += [
        "",
        "wrk counts a `timeout` for each connection whose request has waited more than 2 s, "
        "once per 2 s check; `read` errors are connections closed or reset under a request. "
        "The stopped worker drains with aiohttp's `Server.shutdown(5.0)`.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    for tool in ("wrk", "taskset"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            print(f"missing {tool} (apt-get install -y wrk)", file=sys.stderr)
            return 1
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA)
        lua = f.name
    try:
        tp: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
        for rep in range(REPS):
            for mode in MODES if rep % 2 == 0 else MODES[::-1]:
                r = throughput_trial(mode, lua)
                tp[mode].append(r)
                print(
                    f"throughput rep={rep + 1} {mode:<9} {r['requests'] / r['secs']:>8,.0f} req/s "
                    f"p99={r['p99_ms']:.2f}ms served={r['served']}",
                    flush=True,
                )
        kill: list[dict[str, Any]] = []
        for rep in range(KILL_REPS):
            for close in (False, True):
                for mode in MODES if rep % 2 == 0 else MODES[::-1]:
                    r = stop_trial(mode, lua, close)
                    r.update(mode=mode, close=close)
                    kill.append(r)
                    print(
                        f"stop rep={rep + 1} {mode:<9} close={close!s:<5} "
                        f"requests={r['requests']:,} "
                        f"connect={r['connect']} read={r['read']} write={r['write']} "
                        f"timeout={r['timeout']} non2xx={r['status']} stopped/survivor="
                        f"{r['stopped_served']}/{r['survivor_served']} drain={r['drain_s']:.2f}s "
                        f"after_stop={r['after_stop']} last={r['last_after_stop_s']:.2f}s",
                        flush=True,
                    )
    finally:
        os.unlink(lua)
    text = report(tp, kill, time.monotonic() - started)
    out = HERE / "results" / f"{datetime.date.today():%Y-%m-%d}-reuseport.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print()
    print(text, end="")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
