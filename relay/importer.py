"""`relay import --from <SQL_DSN>`: move a One API or new-api database into relay's.

Copies users, tokens, channels (abilities rebuilt from them), options, redemptions and the
setup marker — and with --with-logs the logs and dashboard rows — keeping every id, into the
database relay is configured for (DATA_DIR / SQL_DSN, migrated first). Plaintext secrets become
relay's form: token keys and redemption codes a lookup digest plus a sealed copy, channel keys
sealed, access tokens digested; bcrypt password hashes are kept as they are. Clients keep
their `sk-…` keys.

Run it while relay is stopped, with the same CRYPTO_SECRET (or DATA_DIR) relay will use. The
target must be empty (--force empties it first). Cached balances and principals of the
imported ids are dropped from Redis so nothing stale shadows the imported values.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
import sys
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import MetaData, Table, delete, func, insert, select, text, type_coerce
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import DATETIME, TIMESTAMP, Date, DateTime, NullType

from relay import import_rows as rows_
from relay.auth import redis_token_key
from relay.crypto import Keyring
from relay.quota import keys
from relay.settings import Settings
from relay.store import schema
from relay.store.channels import rebuild_abilities
from relay.store.engine import database_url, make_engine

log = logging.getLogger("relay.import")

BATCH = 2000
CORE_TABLES = ("users", "tokens", "channels", "options", "redemptions")
LOG_TABLES = ("logs", "quota_data")


class ImportError_(Exception):
    """A refusal or failure, shown as one line."""


@dataclass
class Report:
    kind: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    cuts: rows_.Truncations = field(default_factory=rows_.Truncations)

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would import" if dry_run else "imported"
        out = [f"source: {self.kind} database"]
        out += [f"{verb} {n} {name}" for name, n in self.counts.items()]
        out += [f"note: {w}" for w in self.warnings]
        out += [f"note: {n} values cut to fit {where}" for where, n in self.cuts.counts.items()]
        return out


_GO_MYSQL = re.compile(r"^(?P<auth>.*)@(?:tcp\((?P<addr>[^)]*)\))?/(?P<db>[^?]*)(?:\?.*)?$")


def source_url(dsn: str) -> str:
    """SQLAlchemy URL for One API's SQL_DSN forms, a sqlite:/// URL or a SQLite file path."""
    dsn = dsn.strip()
    if dsn.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + dsn.split("://", 1)[1]
    if dsn.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + dsn[len("sqlite:///") :]
    mysql = None
    if dsn.startswith("mysql://"):
        mysql = dsn[len("mysql://") :]
    elif (m := _GO_MYSQL.match(dsn)) is not None and not Path(dsn).exists():
        user, _, password = m["auth"].partition(":")
        auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        mysql = f"{auth}@{m['addr'] or 'localhost:3306'}/{m['db']}"
    if mysql is not None:
        if importlib.util.find_spec("aiomysql") is None:
            raise ImportError_(
                "MySQL sources need the aiomysql driver, which is not installed "
                "(pip install aiomysql), or export the data to SQLite or PostgreSQL first"
            )
        return "mysql+aiomysql://" + mysql
    path = Path(dsn).expanduser()
    if path.is_file():
        return f"sqlite+aiosqlite:///{path.absolute()}"
    raise ImportError_(
        f"cannot read {dsn!r}: give a SQLite file, sqlite:///path, postgres://… or a MySQL DSN"
    )


def _readable(table: Table) -> Any:
    # timestamps are read raw: GORM's SQLite text (nanoseconds, offsets) is parsed by us
    cols = [
        type_coerce(c, NullType()).label(c.name)
        if isinstance(c.type, DateTime | DATETIME | TIMESTAMP | Date)
        else c
        for c in table.columns
    ]
    return select(*cols)


async def _reflect(engine: AsyncEngine) -> dict[str, Table]:
    meta = MetaData()
    async with engine.connect() as conn:
        await conn.run_sync(lambda sync: meta.reflect(sync, only=_present(sync)))
    return dict(meta.tables)


def _present(sync_conn: Any) -> list[str]:
    from sqlalchemy import inspect

    names = set(inspect(sync_conn).get_table_names())
    return [t for t in (*CORE_TABLES, "abilities", "setups", *LOG_TABLES) if t in names]


async def _read(engine: AsyncEngine, table: Table) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(_readable(table).order_by(*table.primary_key.columns))
        return [dict(r) for r in result.mappings()]


async def _stream(engine: AsyncEngine, table: Table) -> Any:
    async with engine.connect() as conn:
        result = await conn.stream(_readable(table).order_by(*table.primary_key.columns))
        async for part in result.mappings().partitions(BATCH):
            yield [dict(r) for r in part]


async def _target_rows(conn: AsyncConnection) -> dict[str, int]:
    counts = {}
    for name in CORE_TABLES:
        table = schema.metadata.tables[name]
        counts[name] = int(
            (await conn.execute(select(func.count()).select_from(table))).scalar_one()
        )
    return counts


async def _insert(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        await conn.execute(insert(table), rows[start : start + BATCH])


async def _fix_sequences(conn: AsyncConnection, names: Iterable[str]) -> None:
    """PostgreSQL: explicit ids leave the id sequences behind; move them past the max."""
    if conn.dialect.name != "postgresql":
        return
    for name in names:
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
            )
        )


def _convert_all(
    src: list[dict[str, Any]], fn: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> list[dict[str, Any]]:
    return [row for row in (fn(r) for r in src) if row is not None]


class Importer:
    def __init__(self, settings: Settings, source: str, *, with_logs: bool, force: bool) -> None:
        self.settings = settings
        self.source = source_url(source)
        self.with_logs = with_logs
        self.force = force
        self.keyring = Keyring(settings.crypto_secret)
        self.report = Report()

    async def run(self, dry_run: bool) -> Report:
        source = make_engine(self.source)
        try:
            try:
                tables = await _reflect(source)
            except (SQLAlchemyError, OSError) as exc:
                raise ImportError_(f"cannot read the source database: {exc}") from None
            if "users" not in tables:
                raise ImportError_("the source has no users table: not a One API database")
            columns = {name: {c.name for c in t.columns} for name, t in tables.items()}
            self.report.kind = rows_.detect_kind(columns)
            core = await self._convert_core(source, tables)
            if dry_run:
                if self.with_logs:
                    for name in LOG_TABLES:
                        if name in tables:
                            async with source.connect() as conn:
                                n = await conn.execute(
                                    select(func.count()).select_from(tables[name])
                                )
                                self.report.counts[name] = int(n.scalar_one())
                return self.report
            await self._write(source, tables, core)
            return self.report
        finally:
            await source.dispose()

    async def _convert_core(
        self, source: AsyncEngine, tables: dict[str, Table]
    ) -> dict[str, list[dict[str, Any]]]:
        kr, cuts, kind = self.keyring, self.report.cuts, self.report.kind
        t = schema.metadata.tables
        out: dict[str, list[dict[str, Any]]] = {}
        src = {name: await _read(source, tables[name]) for name in CORE_TABLES if name in tables}
        out["users"] = _convert_all(
            src["users"], lambda r: rows_.convert_user(t["users"], r, kr, cuts)
        )
        out["tokens"] = _convert_all(
            src.get("tokens", []), lambda r: rows_.convert_token(t["tokens"], r, kr, cuts)
        )
        skipped = len(src.get("tokens", [])) - len(out["tokens"])
        if skipped:
            self.report.warnings.append(f"{skipped} tokens without a key were skipped")
        channels = []
        for r in src.get("channels", []):
            row, warning = rows_.convert_channel(t["channels"], r, kr, kind, cuts)
            channels.append(row)
            if warning:
                self.report.warnings.append(warning)
        out["channels"] = channels
        out["options"] = [
            {"key": str(r["key"]), "value": "" if r.get("value") is None else str(r["value"])}
            for r in src.get("options", [])
        ]
        out["redemptions"] = _convert_all(
            src.get("redemptions", []),
            lambda r: rows_.convert_redemption(t["redemptions"], r, kr, cuts),
        )
        setups = await _read(source, tables["setups"]) if "setups" in tables else []
        out["setups"] = [rows_.base_row(t["setups"], r, cuts) for r in setups]
        if not out["setups"] and out["users"]:
            out["setups"] = [{"id": 1, "version": f"imported from {kind}", "initialized_at": 0}]
        for name in (*CORE_TABLES, "setups"):
            self.report.counts[name] = len(out[name])
        self.report.counts["abilities (rebuilt)"] = 0
        return out

    async def _write(
        self, source: AsyncEngine, tables: dict[str, Table], core: dict[str, list[dict[str, Any]]]
    ) -> None:
        redis = await self._redis()
        try:
            target = make_engine(database_url(self.settings))
            try:
                await self._write_core(target, core)
                if self.with_logs:
                    await self._write_logs(source, tables, target)
            finally:
                await target.dispose()
            if redis is not None:
                await self._forget_cached(redis.client, core)
        finally:
            if redis is not None:
                await redis.close()

    async def _write_core(self, target: AsyncEngine, core: dict[str, list[dict[str, Any]]]) -> None:
        t = schema.metadata.tables
        async with target.begin() as conn:
            existing = await _target_rows(conn)
            if any(existing.values()):
                if not self.force:
                    busy = ", ".join(f"{n} {name}" for name, n in existing.items() if n)
                    raise ImportError_(
                        f"relay's database is not empty ({busy}); import into a fresh "
                        "DATA_DIR / database, or pass --force to replace its contents"
                    )
                for name in (*CORE_TABLES, "abilities", "setups", *LOG_TABLES):
                    await conn.execute(delete(t[name]))
            for name in (*CORE_TABLES, "setups"):
                await _insert(conn, t[name], core[name])
            for channel in core["channels"]:
                await rebuild_abilities(conn, int(channel["id"]))
            abilities = await conn.execute(select(func.count()).select_from(t["abilities"]))
            self.report.counts["abilities (rebuilt)"] = int(abilities.scalar_one())
            await _fix_sequences(conn, ("users", "tokens", "channels", "redemptions", "setups"))

    async def _write_logs(
        self, source: AsyncEngine, tables: dict[str, Table], target: AsyncEngine
    ) -> None:
        t, cuts, kind = schema.metadata.tables, self.report.cuts, self.report.kind
        if "logs" in tables:
            copied = 0
            async for part in _stream(source, tables["logs"]):
                async with target.begin() as conn:
                    await _insert(
                        conn, t["logs"], [rows_.convert_log(t["logs"], r, kind, cuts) for r in part]
                    )
                copied += len(part)
            self.report.counts["logs"] = copied
        if "quota_data" in tables:
            src = await _read(source, tables["quota_data"])
            merged = rows_.merge_quota_data([rows_.base_row(t["quota_data"], r, cuts) for r in src])
            async with target.begin() as conn:
                await _insert(conn, t["quota_data"], merged)
            self.report.counts["quota_data"] = len(merged)
        async with target.begin() as conn:
            await _fix_sequences(conn, LOG_TABLES)

    async def _redis(self) -> _RedisHandle | None:
        """Redis relay will use (the embedded one started for the moment), or None if absent."""
        return await _RedisHandle.open(self.settings)

    async def _forget_cached(self, redis: Any, core: dict[str, list[dict[str, Any]]]) -> None:
        names: list[str] = []
        for user in core["users"]:
            uid = int(user["id"])
            names += [keys.user_key(uid), keys.model_success_key(uid), keys.model_total_key(uid)]
        for token in core["tokens"]:
            uid, tid = int(token["user_id"]), int(token["id"])
            names += [keys.token_key(uid, tid), keys.token_limits_key(uid, tid)]
            names.append(redis_token_key(token["key"]))
        for name in names:
            await redis.delete(name)


@dataclass
class _RedisHandle:
    client: Any
    embedded: Any = None

    @classmethod
    async def open(cls, settings: Settings) -> _RedisHandle | None:
        from relay.embedded_redis import EmbeddedRedis, EmbeddedRedisError
        from relay.redis_client import connect_redis

        embedded = None
        if settings.embedded_redis:
            embedded = EmbeddedRedis(settings.data_dir)
            try:
                embedded.start()  # refuses when a relay already runs on this DATA_DIR
            except EmbeddedRedisError as exc:
                raise ImportError_(f"stop relay before importing: {exc}") from None
        try:
            client = await connect_redis(settings, max_connections=4)
        except Exception as exc:
            if embedded is not None:
                embedded.stop()
            raise ImportError_(f"cannot reach Redis: {exc}") from None
        handle = cls(client, embedded)
        pending = 0
        for shard in range(keys.SHARDS):
            pending += int(await client.xlen(keys.ledger_key(shard)))
        if pending:
            await handle.close()
            raise ImportError_(
                f"Redis still holds {pending} unapplied quota ledger entries of another "
                "database; start relay on that database once to apply them, or use a fresh Redis"
            )
        return handle

    async def close(self) -> None:
        with suppress(Exception):
            await self.client.aclose()
        if self.embedded is not None:
            self.embedded.stop()


def run_import(
    settings: Settings, source: str, *, with_logs: bool, dry_run: bool, force: bool
) -> int:
    """The `relay import` command; returns the exit status."""
    from relay.store.migrate import run_migrations

    try:
        importer = Importer(settings, source, with_logs=with_logs, force=force)
        if not dry_run:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            run_migrations(database_url(settings))
        report = asyncio.run(importer.run(dry_run))
    except ImportError_ as exc:
        print(f"relay import: {exc}", file=sys.stderr)
        return 1
    for line in report.lines(dry_run):
        print(line)
    return 0
