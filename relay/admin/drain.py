"""Drain the Redis streams into SQL: the quota ledger into balances, usage records into `logs`.

Per shard, one admin process at a time holds a short Redis lock and reads with a consumer
group. Rows and the stream's cursor commit in one transaction; entries are acked and trimmed
only after that, and an entry at or below the cursor is never applied twice. So a crash at
any point loses nothing and applies nothing twice, with one admin or several.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import msgpack
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from relay.quota import keys
from relay.store.quota_data import add_consume_logs
from relay.store.schema import channels, logs, stream_cursors, tokens, users

log = logging.getLogger("relay.admin.drain")

GROUP = "relay"
CONSUMER = "drainer"
BATCH = 2000
LOCK_MS = 30_000
# The logs columns in table order: the order of a row tuple and of the compiled INSERT's values.
_LOG_COLUMNS = tuple(c.name for c in logs.columns if c.name != "id")
# Typed defaults for columns a record may lack (the columns' server defaults, as Python values).
_LOG_DEFAULTS: dict[str, Any] = {
    c.name: (False if c.type.python_type is bool else c.type.python_type())
    for c in logs.columns
    if c.name != "id"
}
_log_values = itemgetter(*_LOG_COLUMNS)
_log_inserts: dict[str, str] = {}  # dialect name -> INSERT text, compiled once

_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

Entry = tuple[bytes, dict[bytes, bytes]]


def _id_tuple(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


async def _cursor(conn: AsyncConnection, stream: str) -> tuple[int, int]:
    row = await conn.execute(
        select(stream_cursors.c.last_id).where(stream_cursors.c.stream == stream)
    )
    value = row.scalar_one_or_none()
    return _id_tuple(value) if value else (0, 0)


async def _save_cursor(conn: AsyncConnection, stream: str, last_id: str, existed: bool) -> None:
    if existed:
        await conn.execute(
            update(stream_cursors).where(stream_cursors.c.stream == stream).values(last_id=last_id)
        )
    else:
        await conn.execute(insert(stream_cursors).values(stream=stream, last_id=last_id))


def _field(fields: dict[bytes, bytes], name: bytes) -> int:
    value = fields.get(name)
    return int(value) if value is not None else 0


async def apply_ledger(conn: AsyncConnection, entries: Sequence[Entry]) -> None:
    """Fold ledger entries into per-user, per-token and per-channel increments; one UPDATE each."""
    user: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])  # quota delta, used, requests
    token: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # remain delta, used
    channel: dict[int, int] = defaultdict(int)
    for _, f in entries:
        spent = _field(f, b"q")
        uid, tid, cid = _field(f, b"u"), _field(f, b"t"), _field(f, b"c")
        u = user[uid]
        u[0] += _field(f, b"du") - spent
        u[1] += spent
        u[2] += _field(f, b"rc")
        if tid:
            t = token[tid]
            t[0] += _field(f, b"dt") - spent
            t[1] += spent
        if cid and spent:
            channel[cid] += spent
    now = int(time.time())
    if user:
        await conn.execute(
            update(users)
            .where(users.c.id == bindparam("k"))
            .values(
                quota=users.c.quota + bindparam("d"),
                used_quota=users.c.used_quota + bindparam("s"),
                request_count=users.c.request_count + bindparam("r"),
            ),
            [{"k": k, "d": d, "s": s, "r": r} for k, (d, s, r) in user.items()],
        )
    if token:
        await conn.execute(
            update(tokens)
            .where(tokens.c.id == bindparam("k"))
            .values(
                remain_quota=tokens.c.remain_quota + bindparam("d"),
                used_quota=tokens.c.used_quota + bindparam("s"),
                accessed_time=now,
            ),
            [{"k": k, "d": d, "s": s} for k, (d, s) in token.items()],
        )
    if channel:
        await conn.execute(
            update(channels)
            .where(channels.c.id == bindparam("k"))
            .values(used_quota=channels.c.used_quota + bindparam("s")),
            [{"k": k, "s": s} for k, s in channel.items()],
        )


def log_insert_sql(dialect: Dialect) -> str:
    """The executemany INSERT of every logs column but id, positional in _LOG_COLUMNS order."""
    sql = _log_inserts.get(dialect.name)
    if sql is None:
        compiled = insert(logs).compile(
            dialect=dialect, column_keys=list(_LOG_COLUMNS), for_executemany=True
        )
        sql = _log_inserts[dialect.name] = str(compiled)
    return sql


def _log_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """A record's logs row: every column (absent ones get the column default), in order."""
    try:
        return _log_values(record)
    except KeyError:
        return tuple(record.get(c, _LOG_DEFAULTS[c]) for c in _LOG_COLUMNS)


async def apply_logs(conn: AsyncConnection, entries: Sequence[Entry]) -> None:
    """Insert the usage records into `logs` and add the consume ones to their hourly
    `quota_data` buckets, in the same transaction: each is counted exactly once."""
    records = [msgpack.unpackb(f[b"r"]) for _, f in entries]
    if records:
        # Tuples through the driver skip SQLAlchemy's per-row parameter processing; the
        # columns take no bind processing but Boolean's, and records carry real bools.
        rows = [_log_row(r) for r in records]
        await conn.exec_driver_sql(log_insert_sql(conn.dialect), rows)
        await add_consume_logs(conn, records)


class StreamDrainer:
    """Moves ledger and usage-log entries from every shard's streams into SQL."""

    def __init__(self, redis: Any, engine: AsyncEngine) -> None:
        self._redis = redis
        self._engine = engine
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._release = redis.register_script(_RELEASE_LOCK)
        self._groups_ready: set[str] = set()

    async def _ensure_group(self, stream: str) -> None:
        if stream in self._groups_ready:
            return
        try:
            await self._redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except Exception as exc:  # BUSYGROUP: it exists already
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups_ready.add(stream)

    async def _read(self, stream: str) -> list[Entry]:
        # Entries delivered earlier but never acked (a crash) come first, then new ones.
        for start in ("0", ">"):
            reply = await self._redis.xreadgroup(GROUP, CONSUMER, {stream: start}, count=BATCH)
            entries = reply[0][1] if reply else []
            if entries:
                return list(entries)
        return []

    async def _drain_stream(self, stream: str, apply: Any) -> int:
        await self._ensure_group(stream)
        entries = await self._read(stream)
        if not entries:
            return 0
        async with self._engine.begin() as conn:
            cursor = await _cursor(conn, stream)
            # Entries come in id order, so all are fresh when the first is (the usual case).
            fresh = (
                entries
                if _id_tuple(entries[0][0]) > cursor
                else [e for e in entries if _id_tuple(e[0]) > cursor]
            )
            if fresh:
                await apply(conn, fresh)
                last = fresh[-1][0]
                await _save_cursor(
                    conn,
                    stream,
                    last.decode() if isinstance(last, bytes) else last,
                    cursor > (0, 0),
                )
        ids = [e[0] for e in entries]
        await self._redis.xack(stream, GROUP, *ids)
        last_ms, last_seq = _id_tuple(ids[-1])
        await self._redis.xtrim(stream, minid=f"{last_ms}-{last_seq + 1}", approximate=False)
        return len(entries)

    async def _busy_shards(self) -> list[int]:
        """Shards with anything in their streams, found with one pipelined round of XLEN."""
        pipe = self._redis.pipeline(transaction=False)
        for shard in range(keys.SHARDS):
            pipe.xlen(keys.ledger_key(shard))
            pipe.xlen(keys.logs_key(shard))
        lengths = await pipe.execute()
        return [s for s in range(keys.SHARDS) if lengths[2 * s] or lengths[2 * s + 1]]

    async def drain_once(self) -> int:
        """One pass over the shards that have entries; returns how many entries were moved."""
        moved = 0
        for shard in await self._busy_shards():
            lock = keys.lock_key(shard, "drain")
            if not await self._redis.set(lock, self._owner, nx=True, px=LOCK_MS):
                continue
            try:
                moved += await self._drain_stream(keys.ledger_key(shard), apply_ledger)
                moved += await self._drain_stream(keys.logs_key(shard), apply_logs)
            finally:
                await self._release(keys=[lock], args=[self._owner])
        return moved
