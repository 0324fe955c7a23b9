"""One API and new-api databases for import tests, in their own SQLite table layouts (as GORM
creates them: quoted names, `numeric` booleans, text timestamps with nanoseconds and offsets).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt

ONE_API_TABLES = {
    "users": """id integer PRIMARY KEY, username text UNIQUE, password text NOT NULL,
        display_name text, role integer DEFAULT 1, status integer DEFAULT 1, email text,
        github_id text, wechat_id text, oidc_id text, access_token char(32),
        quota integer DEFAULT 0, used_quota integer DEFAULT 0, request_count integer DEFAULT 0,
        `group` varchar(32) DEFAULT 'default', aff_code varchar(32), inviter_id integer""",
    "tokens": """id integer PRIMARY KEY, user_id integer, `key` char(48) UNIQUE,
        status integer DEFAULT 1, name text, created_time integer, accessed_time integer,
        expired_time integer DEFAULT -1, remain_quota integer DEFAULT 0,
        unlimited_quota numeric DEFAULT false, used_quota integer DEFAULT 0""",
    "channels": """id integer PRIMARY KEY, type integer DEFAULT 0, `key` text,
        status integer DEFAULT 1, name text, weight integer DEFAULT 0, created_time integer,
        test_time integer, response_time integer, base_url text DEFAULT '', other text,
        balance real, balance_updated_time integer, models text,
        `group` varchar(32) DEFAULT 'default', used_quota integer DEFAULT 0,
        model_mapping varchar(1024) DEFAULT '', priority integer DEFAULT 0""",
    "abilities": """`group` varchar(32), model text, channel_id integer, enabled numeric,
        priority integer DEFAULT 0""",
    "options": "`key` text PRIMARY KEY, value text",
    "redemptions": """id integer PRIMARY KEY, user_id integer, `key` char(32) UNIQUE,
        status integer DEFAULT 1, name text, quota integer DEFAULT 100, created_time integer,
        redeemed_time integer""",
    "logs": """id integer PRIMARY KEY, user_id integer, created_at integer, type integer,
        content text, username text DEFAULT '', token_name text DEFAULT '',
        model_name text DEFAULT '', quota integer DEFAULT 0, prompt_tokens integer DEFAULT 0,
        completion_tokens integer DEFAULT 0, channel_id integer, request_id text DEFAULT '',
        is_stream numeric DEFAULT false""",
}

ONE_API_EXTRA = {
    "users": ", lark_id text",
    "tokens": ", models text, subnet text DEFAULT ''",
    "channels": ", config text, system_prompt text",
    "logs": ", elapsed_time integer DEFAULT 0, system_prompt_reset numeric DEFAULT false",
}
# new-api: the same tables with its extra columns, plus setups and quota_data
NEW_API_EXTRA = {
    "users": """, discord_id text, telegram_id text, linux_do_id text, aff_count integer,
        aff_quota integer, aff_history integer, setting text, remark varchar(255),
        stripe_customer varchar(64), created_at integer, last_login_at integer,
        auth_version integer DEFAULT 1, deleted_at datetime""",
    "tokens": """, model_limits_enabled numeric, model_limits text, allow_ips text DEFAULT '',
        `group` text DEFAULT '', cross_group_retry numeric, auto_groups text,
        deleted_at datetime""",
    "channels": """, openai_organization text, test_model text, status_code_mapping text,
        auto_ban integer DEFAULT 1, other_info text, tag text, setting text, param_override
        text, header_override text, remark text, channel_info json, settings text""",
    "abilities": ", weight integer DEFAULT 0, tag text",
    "redemptions": ", used_user_id integer, expired_time integer, deleted_at datetime",
    "logs": """, use_time integer DEFAULT 0, token_id integer DEFAULT 0, `group` text,
        ip text, upstream_request_id text, other text""",
}
NEW_API_TABLES = {
    "setups": "id integer PRIMARY KEY, version text, initialized_at integer",
    "quota_data": """id integer PRIMARY KEY, user_id integer, username text, model_name text,
        created_at integer, token_used integer, count integer, quota integer""",
}


def go_bcrypt(password: str) -> str:
    """A hash as Go's bcrypt writes it ($2a$, cost 10)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode().replace("$2b$", "$2a$")


BOOLEAN_COLUMNS = frozenset(
    {"unlimited_quota", "enabled", "is_stream", "system_prompt_reset", "model_limits_enabled",
     "cross_group_retry"}
)  # fmt: skip


def _in_thread(coro: Any) -> Any:
    """Run a coroutine on a private loop (callable from inside pytest-asyncio tests)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coro)))
    thread.start()
    thread.join()
    return result[0] if result else None


async def _pg(dsn: str, sql: str, params: list[Any]) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql, *params)
    finally:
        await conn.close()


@dataclass
class LegacyDb:
    """The database file (SQLite), or a PostgreSQL database when `pg_dsn` is set."""

    path: Path
    kind: str  # "one-api" or "new-api"
    pg_dsn: str = ""
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def dsn(self) -> str:
        return self.pg_dsn or f"sqlite:///{self.path}"

    def _exec(self, sql: str, params: list[Any] | None = None) -> None:
        if not self.pg_dsn:
            with sqlite3.connect(self.path) as db:
                db.execute(sql, params or [])
            return
        sql = sql.replace("`", '"')
        for n in range(1, len(params or []) + 1):
            sql = sql.replace("?", f"${n}", 1)
        for lite, pg in (("numeric", "boolean"), ("datetime", "timestamptz"), (" json", " text")):
            sql = sql.replace(lite, pg)
        _in_thread(_pg(self.pg_dsn, sql, params or []))

    def create(self) -> LegacyDb:
        for name, cols in ONE_API_TABLES.items():
            extra = NEW_API_EXTRA if self.kind == "new-api" else ONE_API_EXTRA
            cols += extra.get(name, "")
            if name == "abilities":
                cols += ", PRIMARY KEY (`group`, model, channel_id)"
            self._exec(f"CREATE TABLE `{name}` ({cols})")
        if self.kind == "new-api":
            for name, cols in NEW_API_TABLES.items():
                self._exec(f"CREATE TABLE `{name}` ({cols})")
        return self

    def add(self, table: str, **values: Any) -> None:
        cols = ", ".join(f"`{c}`" for c in values)
        marks = ", ".join("?" for _ in values)
        params = [
            bool(v) if self.pg_dsn and k in BOOLEAN_COLUMNS and v is not None else v
            for k, v in values.items()
        ]
        self._exec(f"INSERT INTO `{table}` ({cols}) VALUES ({marks})", params)
        self.rows.setdefault(table, []).append(values)
