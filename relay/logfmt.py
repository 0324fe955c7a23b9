"""Logging setup: the text format, or LOG_FORMAT=json (one JSON object per line).

A JSON line carries time, level, logger, message, pid, the process role (supervisor, worker,
admin) and the request id while a relay request is being handled. Only the formatted message
and a traceback are written: no record arguments or extras beyond those named here.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from contextvars import ContextVar
from pathlib import Path

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s"

# Set by the relay dispatcher for each request (each runs in its own task).
REQUEST_ID: ContextVar[str] = ContextVar("relay_request_id", default="")


def _comm_role() -> str:
    """The role the supervisor named this forked process with (relay-worker → worker)."""
    try:
        name = Path("/proc/self/comm").read_text().strip()
    except OSError:
        return "child"
    return name.removeprefix("relay-")


class JsonFormatter(logging.Formatter):
    """One JSON object per record; children learn their role from their process name."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self._home_pid = os.getpid()
        self._home_role = role
        self._roles: dict[int, str] = {}

    def _role(self, pid: int) -> str:
        if pid == self._home_pid:
            return self._home_role
        role = self._roles.get(pid)
        if role is None:  # first record after a fork: the supervisor has named us by now
            role = self._roles[pid] = _comm_role()
        return role

    def format(self, record: logging.LogRecord) -> str:
        pid = record.process or os.getpid()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, object] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": pid,
            "role": self._role(pid),
        }
        request_id = getattr(record, "request_id", "") or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return orjson.dumps(entry).decode()


def configure_logging(level: str, fmt: str = "text", role: str = "supervisor") -> None:
    """Log to stderr in `fmt` ("text" or "json"); forked children inherit the handler."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(role))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
