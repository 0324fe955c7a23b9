"""relay.metrics.errors: Redis and SQL errors counted from the logs of the sites catching them."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError

from relay.metrics.errors import ErrorCounter, error_kind
from relay.metrics.registry import Metrics
from relay.redis_pipe import RedisReplyError


def _wrapped() -> BaseException:
    try:
        try:
            raise RedisConnectionError("down")
        except RedisConnectionError as exc:
            raise RuntimeError("job failed") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (RedisConnectionError("refused"), "redis"),
        (RedisReplyError("ERR wrong"), "redis"),
        (ConnectionError("redis connection lost: reset"), "redis"),
        (OperationalError("SELECT 1", {}, Exception("no such table")), "sql"),
        (_wrapped(), "redis"),
        (ConnectionError("client disconnected"), None),
        (ValueError("x"), None),
    ],
)
def test_error_kind(exc: BaseException, kind: str | None) -> None:
    assert error_kind(exc) == kind


def test_logged_exceptions_are_counted_once_installed() -> None:
    metrics = Metrics("admin")
    counter = ErrorCounter(metrics)
    log = logging.getLogger("relay.test.errors")
    counter.install()
    try:
        for exc in (RedisConnectionError("a"), OperationalError("q", {}, Exception()), KeyError()):
            try:
                raise exc
            except Exception:
                log.exception("job failed")
        log.warning("no exception here")
        log.error("an error message without exc_info")
    finally:
        counter.uninstall()
    try:
        raise RedisConnectionError("after")
    except RedisConnectionError:
        log.exception("not counted: uninstalled")
    assert metrics.deltas.errors == {"redis": 1, "sql": 1}
