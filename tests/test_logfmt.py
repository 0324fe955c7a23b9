"""relay.logfmt: the JSON log line's fields, the request id and the process role."""

from __future__ import annotations

import contextvars
import logging
import os
import sys

import orjson

from relay.logfmt import REQUEST_ID, JsonFormatter


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("relay.worker", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_one_json_object_with_the_fields() -> None:
    line = JsonFormatter("supervisor").format(_record("worker %d up", 7))
    assert "\n" not in line
    entry = orjson.loads(line)
    assert entry.keys() == {"time", "level", "logger", "message", "pid", "role"}
    assert entry["message"] == "worker 7 up"
    assert (entry["level"], entry["logger"]) == ("WARNING", "relay.worker")
    assert entry["pid"] == os.getpid() and entry["role"] == "supervisor"
    assert entry["time"].endswith("Z") and entry["time"][10] == "T"


def test_request_id_from_the_context_or_the_record() -> None:
    formatter = JsonFormatter("worker")

    def inside() -> dict[str, object]:
        REQUEST_ID.set("20261203000000123456789abcdef01")
        return dict(orjson.loads(formatter.format(_record("x"))))

    assert contextvars.Context().run(inside)["request_id"] == "20261203000000123456789abcdef01"
    assert "request_id" not in orjson.loads(formatter.format(_record("y")))
    record = _record("z")
    record.request_id = "given"
    assert orjson.loads(formatter.format(record))["request_id"] == "given"


def test_tracebacks_stay_inside_the_line() -> None:
    entry = orjson.loads(JsonFormatter("admin").format(_record("failed", exc=True)))
    assert "ValueError: boom" in entry["exc"]


def test_a_forked_child_takes_its_role_from_its_process_name() -> None:
    formatter = JsonFormatter("supervisor")
    record = _record("x")
    record.process = os.getpid() + 1  # not the configuring process: as after a fork
    role = orjson.loads(formatter.format(record))["role"]
    with open("/proc/self/comm") as comm:
        assert role == comm.read().strip().removeprefix("relay-")
