"""Counts Redis and SQL errors where relay already catches them: every such site logs the
exception, so a logging handler sees each one (the way error trackers hook into logging)."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from relay.metrics.registry import Metrics
from relay.redis_pipe import RedisReplyError


def error_kind(exc: BaseException) -> str | None:
    """ "redis", "sql" or None for anything else (an exception's cause counts too)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, RedisError | RedisReplyError):
            return "redis"
        # relay's pipelined hot-path connection reports a lost connection as ConnectionError
        if isinstance(current, ConnectionError) and str(current).startswith("redis"):
            return "redis"
        if isinstance(current, SQLAlchemyError):
            return "sql"
        current = current.__cause__ or current.__context__
        seen += 1
    return None


class ErrorCounter(logging.Handler):
    """A root-logger handler that only counts: logged exceptions of Redis or SQL."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(logging.WARNING)
        self._metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            kind = error_kind(record.exc_info[1])
            if kind is not None:
                self._metrics.error(kind)

    def install(self) -> None:
        logging.getLogger().addHandler(self)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)
