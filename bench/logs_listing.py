#!/usr/bin/env python3
"""Log listing latency on PostgreSQL at 1M and 10M rows, through relay's own store functions.

Creates a throw-away database on the PostgreSQL server of --dsn (default: trust auth on
127.0.0.1:5432), migrates it with relay's migrations, fills `logs` with generate_series (90 days
of traffic ending now: 1000 users with a skewed share, 12 models, 50 channels, 4 groups, 95%
consume rows with a realistic `other`), then times what each admin API call runs — the same
store calls the route handlers make (relay.store.logs: list_logs + count_logs + channel_names,
sum_stat) — and prints p50/p99 per query. Then it refills the table at the next size and repeats.

Rows are inserted with the secondary indexes dropped and rebuilt afterwards (minutes instead of
an hour for 10M), then VACUUM ANALYZE, as autovacuum would leave an aged table. The cache is
warm (the table and its indexes fit in RAM): these are a busy server's numbers, not cold-disk.

Usage: /tmp/v/bin/python bench/logs_listing.py [--sizes 1000000,10000000] [--runs 30] [--keep]
Writes bench/results/<date>-logs-listing.md and prints the same tables.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from relay.store.engine import make_engine  # noqa: E402
from relay.store.logs import (  # noqa: E402
    LogFilter,
    channel_names,
    count_logs,
    list_logs,
    sum_stat,
)
from relay.store.migrate import run_migrations  # noqa: E402

DAYS = 90
USERS = 1000
MODELS = [
    "gpt-4o-mini",
    "gpt-4o",
    "claude-3-5-sonnet",
    "deepseek-chat",
    "gemini-1.5-flash",
    "gpt-4.1",
    "qwen-max",
    "o3-mini",
    "claude-3-haiku",
    "llama-3-70b",
    "mistral-large",
    "text-embedding-3-small",
]
GROUPS = ["default", "vip", "svip", "partner"]
PAGE = 100  # the console's largest page size: the heaviest page a listing serves

# One row per generate_series value g; ids follow g, created_at grows with g (traffic in
# arrival order, as the drain inserts it). power(random(), k) skews users/models/channels.
FILL_SQL = """
INSERT INTO logs (user_id, created_at, type, content, username, token_name, model_name, quota,
                  prompt_tokens, completion_tokens, use_time, is_stream, channel_id, token_id,
                  "group", ip, request_id, upstream_request_id, other)
SELECT uid, t0 + (g * span) / total, typ, '', 'user' || uid, 'token-' || (tid % 10), model,
       CASE WHEN typ = 2 THEN 1 + (random() * 5000)::int ELSE 0 END,
       pt, ct, (random() * 30)::int, random() < 0.6, cid, tid,
       (ARRAY['default','vip','svip','partner'])[1 + (uid % 4)], '',
       md5(g::text), 'chatcmpl-' || g,
       '{"model_ratio":0.075,"group_ratio":1,"completion_ratio":4,"cache_tokens":0,"frt":'
         || (random() * 2000)::int
         || ',"model_price":-1,"user_group_ratio":-1,"admin_info":{"use_channel":["'
         || cid || '"]}}'
FROM (
  SELECT g,
         1 + floor(power(random(), 3) * $4)::int AS uid,
         (ARRAY[{models}])[1 + floor(power(random(), 2) * {n_models})::int] AS model,
         1 + floor(power(random(), 2) * 50)::int AS cid,
         CASE WHEN random() < 0.95 THEN 2
              WHEN random() < 0.6 THEN 5
              ELSE (ARRAY[1, 3, 4, 6])[1 + floor(random() * 4)::int] END AS typ,
         (random() * 3000)::int AS pt, (random() * 800)::int AS ct
  FROM generate_series($1::bigint, $2::bigint) g
) s, LATERAL (SELECT s.uid * 10 + floor(random() * 3)::int AS tid) t,
     (SELECT $3::bigint AS t0, {span}::bigint AS span, $5::bigint AS total) c
"""


@dataclass
class Query:
    name: str
    call: Callable[[AsyncConnection], Awaitable[Any]]
    runs: int = 0  # 0 = --runs


@dataclass
class Timing:
    name: str
    p50: float
    p99: float
    runs: int
    note: str


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def listing(conn: AsyncConnection, f: LogFilter, page: int = 1, before_id: int = 0) -> str:
    """What GET /api/log/ (or /self) runs: a page, the cheap total, the channel names."""
    rows = await list_logs(
        conn, f, limit=PAGE, offset=0 if before_id else (page - 1) * PAGE, before_id=before_id
    )
    total, exact = await count_logs(conn, f)
    await channel_names(conn, (r["channel_id"] for r in rows))
    return f"{len(rows)} rows, total {total:,}{'' if exact else ' (estimate)'}"


async def stat(conn: AsyncConnection, f: LogFilter) -> str:
    result = await sum_stat(conn, f)
    return f"quota {result['quota']:,}"


async def fill(pool: asyncpg.Pool, first: int, last: int, t0: int, total: int) -> None:
    """Insert rows first..last in parallel chunks (indexes dropped meanwhile)."""
    sql = FILL_SQL.replace("{models}", ",".join(f"'{m}'" for m in MODELS))
    sql = sql.replace("{n_models}", str(len(MODELS))).replace("{span}", str(DAYS * 86400))
    chunk = 500_000
    ranges = [(a, min(a + chunk - 1, last)) for a in range(first, last + 1, chunk)]

    async def one(a: int, b: int) -> None:
        async with pool.acquire() as conn:
            await conn.execute("SET synchronous_commit = off")
            await conn.execute(sql, a, b, t0, USERS, total)

    for i in range(0, len(ranges), 2):  # two at a time: one per core of the bench machine
        await asyncio.gather(*(one(a, b) for a, b in ranges[i : i + 2]))


async def grow(dsn: str, size: int, t0: int) -> None:
    """Refill `logs` with `size` rows: indexes dropped, rows inserted, indexes rebuilt."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE logs RESTART IDENTITY")
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'logs' "
            "AND indexname <> 'logs_pkey'"
        )
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=2)
        try:
            await fill(pool, 1, size, t0, size)
        finally:
            await pool.close()
        await conn.execute("SET maintenance_work_mem = '1GB'")
        for row in indexes:
            await conn.execute(row["indexdef"])
        await conn.execute("VACUUM ANALYZE logs")
        # channels, so the admin listing's name lookup finds rows
        await conn.execute(
            "INSERT INTO channels (id, name, key) SELECT g, 'channel-' || g, '' "
            "FROM generate_series(1, 50) g ON CONFLICT (id) DO NOTHING"
        )
    finally:
        await conn.close()


def queries(now: int, size: int, max_id: int) -> list[Query]:
    day = 86400
    week_ago = now - 7 * day
    heavy, light = "user1", f"user{USERS - 3}"  # the busiest and a quiet user

    def lf(**kw: Any) -> LogFilter:
        return LogFilter(**kw)

    rid = hashlib.md5(str(size // 2).encode()).hexdigest()
    return [
        Query("admin, no filter, page 1", lambda c: listing(c, lf())),
        Query("admin, no filter, page 50", lambda c: listing(c, lf(), page=50)),
        Query("admin, no filter, page 1000 (OFFSET 99,900)", lambda c: listing(c, lf(), page=1000)),
        Query(
            "admin, last 24 h (console default range), page 1",
            lambda c: listing(c, lf(start=now - day, end=now + 3600)),
        ),
        Query(
            "admin, no filter, before_id = middle of the table",
            lambda c: listing(c, lf(), before_id=max_id // 2),
        ),
        Query("admin, type = 5 (error), page 1", lambda c: listing(c, lf(type=5))),
        Query("admin, username (busiest user)", lambda c: listing(c, lf(username=heavy))),
        Query("admin, username (quiet user)", lambda c: listing(c, lf(username=light))),
        Query(
            "admin, model (common) + 1 day a week ago",
            lambda c: listing(c, lf(model_name="gpt-4o-mini", start=week_ago, end=week_ago + day)),
        ),
        Query(
            "admin, model (rare) + 1 day a week ago",
            lambda c: listing(
                c, lf(model_name="text-embedding-3-small", start=week_ago, end=week_ago + day)
            ),
        ),
        Query(
            "admin, 1 hour 60 days ago, page 1",
            lambda c: listing(c, lf(start=now - 60 * day, end=now - 60 * day + 3600)),
        ),
        Query("admin, channel 7", lambda c: listing(c, lf(channel=7))),
        Query(
            "admin, token_name + group", lambda c: listing(c, lf(token_name="token-1", group="vip"))
        ),
        Query("admin, request_id", lambda c: listing(c, lf(request_id=rid))),
        Query("self (busiest user), page 1", lambda c: listing(c, lf(user_id=1))),
        Query("self (busiest user), page 50", lambda c: listing(c, lf(user_id=1), page=50)),
        Query("self (quiet user), page 1", lambda c: listing(c, lf(user_id=USERS - 3))),
        Query(
            "self (busiest user), model + last 24 h",
            lambda c: listing(c, lf(user_id=1, model_name="gpt-4o", start=now - day)),
        ),
        Query("stat admin, last 24 h", lambda c: stat(c, lf(start=now - day, end=now))),
        Query(
            "stat self (busiest user), last 24 h",
            lambda c: stat(c, lf(user_id=1, start=now - day, end=now)),
        ),
        Query(
            "stat admin, username (busiest user), last 7 days",
            lambda c: stat(c, lf(username=heavy, start=now - 7 * day, end=now)),
        ),
        Query("stat admin, all time, no filter", lambda c: stat(c, lf()), runs=5),
    ]


async def measure(engine: AsyncEngine, q: Query, runs: int) -> Timing:
    n = q.runs or runs
    times: list[float] = []
    note = ""
    async with engine.connect() as conn:
        note = str(await q.call(conn))  # warm-up (plans, caches)
        await conn.rollback()
        for _ in range(n):
            start = time.perf_counter()
            await q.call(conn)
            times.append((time.perf_counter() - start) * 1000)
            await conn.rollback()
    return Timing(q.name, statistics.median(times), pct(times, 0.99), n, note)


def table(size: int, timings: list[Timing], fill_s: float) -> str:
    lines = [
        f"## {size:,} rows (fill + index build + VACUUM ANALYZE: {fill_s:.0f} s)",
        "",
        "| query | p50 ms | p99 ms | runs | result |",
        "|---|---:|---:|---:|---|",
    ]
    for t in timings:
        lines.append(f"| {t.name} | {t.p50:.2f} | {t.p99:.2f} | {t.runs} | {t.note} |")
    return "\n".join(lines) + "\n"


async def table_size(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        heap = await conn.fetchval("SELECT pg_size_pretty(pg_table_size('logs'))")
        idx = await conn.fetchval("SELECT pg_size_pretty(pg_indexes_size('logs'))")
        return f"logs: table {heap}, indexes {idx}"
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> str:
    sizes = [int(s) for s in args.sizes.split(",")]
    base = args.dsn.rsplit("/", 1)[0]
    name = f"relay_bench_logs_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = f"{base}/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    await asyncio.to_thread(run_migrations, url)
    engine = make_engine(url)
    now = int(time.time())
    t0 = now - DAYS * 86400
    version = ""
    report = []
    try:
        for size in sizes:
            print(f"filling {size:,} rows ...", flush=True)
            started = time.monotonic()
            # each size is a fresh table holding the same 90 days of traffic, ids in time order
            await grow(dsn, size, t0)
            fill_s = time.monotonic() - started
            async with engine.connect() as conn:
                max_id = int((await conn.execute(text("SELECT max(id) FROM logs"))).scalar_one())
                version = str((await conn.execute(text("SHOW server_version"))).scalar_one())
            timings = []
            for q in queries(now, size, max_id):
                t = await measure(engine, q, args.runs)
                print(f"  {t.name:55s} p50 {t.p50:8.2f} ms  p99 {t.p99:8.2f} ms  {t.note}")
                timings.append(t)
            report.append(table(size, timings, fill_s) + "\n" + await table_size(dsn) + "\n")
    finally:
        await engine.dispose()
        if not args.keep:
            admin = await asyncpg.connect(args.dsn)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
        else:
            print(f"kept database {name}")
    header = (
        f"# Log listing latency on PostgreSQL — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"`/tmp/v/bin/python bench/logs_listing.py --sizes {args.sizes} --runs {args.runs}`; "
        f"PostgreSQL {version} (shared_buffers default), {os.cpu_count()} cores, "
        f"Python {platform.python_version()}. Each query is what the admin route runs through "
        f"relay.store.logs (page of {PAGE} + cheap total + channel names; stat = sum_stat), "
        "one connection, warm cache, after one warm-up call; p99 is the nearest-rank 99th "
        f"percentile of {args.runs} runs (with fewer than 100 runs, the slowest run).\n\n"
    )
    return header + "\n".join(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    started = time.monotonic()
    report = asyncio.run(run(args))
    report += f"\nTotal run time {time.monotonic() - started:.0f} s.\n"
    out = Path(
        args.out or REPO / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}-logs-listing.md"
    )
    out.write_text(report)
    print(report)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
