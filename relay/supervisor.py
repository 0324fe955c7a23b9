"""`relay serve`: bind once, fork the workers and the admin process, keep them alive.

The listening socket is bound here and inherited by every worker (one accept queue shared by
all). Measured against SO_REUSEPORT with 2 pre-forked uvloop/aiohttp workers (bench/reuseport.py,
bench/results/2026-11-22-reuseport.md): throughput is within noise (20.5k vs 22.1k req/s median
of 3, reps overlapping) and the balance across workers is equally even (49-51 %); but when one
worker stops, SO_REUSEPORT resets the connections queued on that worker's own socket (105 read
errors over 3 trials with a new connection per request) while the shared socket loses none. Only
the shared socket keeps "no refused connection during a SIGHUP roll", so relay uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from relay.crypto import Keyring
from relay.embedded_redis import EmbeddedRedis
from relay.process import die_with_parent, raise_open_files_limit, set_name
from relay.settings import Settings
from relay.store.engine import database_url, make_engine
from relay.store.migrate import run_migrations
from relay.store.users import ensure_root

log = logging.getLogger("relay.supervisor")

READY_TIMEOUT = 60.0
RESTART_BACKOFF = 1.0


class StartupError(RuntimeError):
    """A child process did not come up; its own error is in the log above."""


@dataclass
class Child:
    pid: int
    kind: str  # "worker" or "admin"
    started: float = field(default_factory=time.monotonic)
    retiring: bool = False
    ready_fd: int = -1  # read end of a restarted child's ready pipe, closed when it exits


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


async def _prepare_database(settings: Settings) -> None:
    engine = make_engine(database_url(settings))
    try:
        async with engine.begin() as conn:
            created = await ensure_root(
                conn,
                Keyring(settings.crypto_secret),
                settings.initial_root_password,
                settings.initial_root_access_token,
            )
        if created:
            log.info("created the root user from INITIAL_ROOT_* settings")
    finally:
        await engine.dispose()


class Supervisor:
    """Owns the socket, the embedded Redis and the child processes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.children: dict[int, Child] = {}
        self.redis: EmbeddedRedis | None = None
        self.sock: socket.socket | None = None
        self.admin_sock: socket.socket | None = None
        self._stopping = False
        self._roll_wanted = False

    # ---- child processes -------------------------------------------------------------
    def _fork(self, kind: str, target: Callable[[int], None]) -> tuple[Child, int]:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                os.close(read_fd)
                set_name(f"relay-{kind}")
                die_with_parent()
                for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
                    signal.signal(sig, signal.SIG_DFL)
                target(write_fd)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write_fd)
        child = Child(pid, kind)
        self.children[pid] = child
        return child, read_fd

    @staticmethod
    def _wait_ready(child: Child, read_fd: int, timeout: float = READY_TIMEOUT) -> bool:
        try:
            ready, _, _ = select.select([read_fd], [], [], timeout)
            return bool(ready) and os.read(read_fd, 1) == b"R"
        finally:
            os.close(read_fd)

    def _spawn_worker(self) -> tuple[Child, int]:
        from relay.worker.main import run_worker

        assert self.sock is not None
        sock = self.sock
        return self._fork("worker", lambda fd: run_worker(self.settings, sock, fd))

    def _spawn_admin(self) -> tuple[Child, int]:
        from relay.admin.main import run_admin

        assert self.admin_sock is not None
        sock = self.admin_sock
        return self._fork("admin", lambda fd: run_admin(self.settings, sock, fd))

    def _spawn(self, kind: str) -> tuple[Child, int]:
        return self._spawn_worker() if kind == "worker" else self._spawn_admin()

    # ---- signals ------------------------------------------------------------------------
    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def _on_hup(self, signum: int, _frame: FrameType | None) -> None:
        self._roll_wanted = True

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        s = self.settings
        log.info("open files limit: %d", raise_open_files_limit())  # children inherit it
        s.data_dir.mkdir(parents=True, exist_ok=True)
        if s.embedded_redis:
            self.redis = EmbeddedRedis(s.data_dir)
            self.redis.start()
        run_migrations(database_url(s))
        asyncio.run(_prepare_database(s))
        self.sock = bind_socket(s.host, s.port)
        self.admin_sock = bind_socket(s.host, s.admin_port)
        pending = [self._spawn("admin")] + [self._spawn("worker") for _ in range(s.workers)]
        for child, fd in pending:
            if not self._wait_ready(child, fd):
                raise StartupError(f"the {child.kind} process failed to start (see the log above)")
        port = self.sock.getsockname()[1]
        log.info(
            "relay serving on http://%s:%d with %d workers; admin on port %d",
            s.host, port, s.workers, self.admin_sock.getsockname()[1],
        )  # fmt: skip

    def _exited(self) -> list[tuple[Child, int]]:
        """Children that have exited, with their wait status. Only our own forks are waited
        for: the embedded Redis is a child too, and its Popen must reap it itself."""
        gone = []
        for pid in list(self.children):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                child = self.children.pop(pid)
                if child.ready_fd >= 0:
                    os.close(child.ready_fd)
                gone.append((child, status))
        return gone

    def _reap(self) -> None:
        for child, status in self._exited():
            if child.retiring or self._stopping:
                continue
            pid = child.pid
            code = os.waitstatus_to_exitcode(status)
            log.warning("%s %d exited (%s); starting a new one", child.kind, pid, code)
            if time.monotonic() - child.started < RESTART_BACKOFF:
                time.sleep(RESTART_BACKOFF / 2)  # a crash loop should not spin the CPU
            new, fd = self._spawn(child.kind)
            # Nobody waits on the replacement, but its ready pipe stays open until it exits:
            # writing the ready byte into a closed pipe raises EPIPE in the child, which then
            # never reaches its SIGTERM handler or its background tasks.
            new.ready_fd = fd

    def _roll_workers(self) -> None:
        """Replace workers one by one: the new one is serving before the old one stops."""
        self._roll_wanted = False
        for old in [c for c in self.children.values() if c.kind == "worker" and not c.retiring]:
            new, fd = self._spawn_worker()
            if not self._wait_ready(new, fd):
                log.error("replacement worker %d did not start; keeping %d", new.pid, old.pid)
                continue
            old.retiring = True
            self._signal(old.pid, signal.SIGTERM)
        log.info("workers rolled")

    @staticmethod
    def _signal(pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        try:
            self.start()
            while not self._stopping:
                time.sleep(0.1)
                self._reap()
                if self._roll_wanted and not self._stopping:
                    self._roll_workers()
                if self.redis is not None and not self.redis.alive() and not self._stopping:
                    log.error("embedded redis died; restarting it")
                    self.redis.start()
            return self.shutdown()
        except Exception:
            self.shutdown()
            raise

    def shutdown(self) -> int:
        """SIGTERM the children, wait for them to drain, then stop Redis. Returns 0."""
        self._stopping = True
        log.info("shutting down: draining in-flight requests")
        for sock in (self.sock, self.admin_sock):
            if sock is not None:
                sock.close()
        for child in self.children.values():
            self._signal(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.shutdown_timeout + 5.0
        while self.children and time.monotonic() < deadline:
            self._exited()
            time.sleep(0.05)
        for child in self.children.values():
            log.warning("%s %d did not drain in time; killing it", child.kind, child.pid)
            self._signal(child.pid, signal.SIGKILL)
        self.children.clear()
        if self.redis is not None:
            self.redis.stop()
        log.info("stopped")
        return 0
