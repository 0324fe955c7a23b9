"""SQL tables, column-compatible with One API / new-api, plus relay's own columns and tables.

Differences from new-api, on purpose: quota columns are 64-bit; `tokens.key` and
`users.access_token` hold an HMAC lookup digest instead of the secret (the secret itself is
sealed in `tokens.key_sealed`); `channels.key` holds sealed ciphertext.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password", String(255), nullable=False),
    Column("display_name", String(64), nullable=False, server_default=""),
    Column("role", Integer, nullable=False, server_default="1"),
    Column("status", Integer, nullable=False, server_default="1"),
    Column("email", String(64), nullable=False, server_default="", index=True),
    Column("github_id", String(64), nullable=False, server_default="", index=True),
    Column("discord_id", String(64), nullable=False, server_default="", index=True),
    Column("oidc_id", String(64), nullable=False, server_default="", index=True),
    Column("wechat_id", String(64), nullable=False, server_default="", index=True),
    Column("telegram_id", String(64), nullable=False, server_default="", index=True),
    Column("linux_do_id", String(64), nullable=False, server_default="", index=True),
    Column("access_token", String(64), nullable=True, unique=True),
    Column("quota", BigInteger, nullable=False, server_default="0"),
    Column("used_quota", BigInteger, nullable=False, server_default="0"),
    Column("request_count", Integer, nullable=False, server_default="0"),
    Column("group", String(64), nullable=False, server_default="default"),
    Column("aff_code", String(32), nullable=True, unique=True),
    Column("aff_count", Integer, nullable=False, server_default="0"),
    Column("aff_quota", BigInteger, nullable=False, server_default="0"),
    Column("aff_history", BigInteger, nullable=False, server_default="0"),
    Column("inviter_id", Integer, nullable=False, server_default="0", index=True),
    Column("setting", Text, nullable=False, server_default=""),
    Column("remark", String(255), nullable=False, server_default=""),
    Column("stripe_customer", String(64), nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False, server_default="0"),
    Column("last_login_at", BigInteger, nullable=False, server_default="0"),
    Column("auth_version", BigInteger, nullable=False, server_default="1"),
    Column("deleted_at", DateTime(timezone=True), nullable=True, index=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("key", String(128), nullable=False, unique=True),
    Column("key_sealed", Text, nullable=False, server_default=""),
    Column("status", Integer, nullable=False, server_default="1"),
    Column("name", String(64), nullable=False, server_default="", index=True),
    Column("created_time", BigInteger, nullable=False, server_default="0"),
    Column("accessed_time", BigInteger, nullable=False, server_default="0"),
    Column("expired_time", BigInteger, nullable=False, server_default="-1"),
    Column("remain_quota", BigInteger, nullable=False, server_default="0"),
    Column("unlimited_quota", Boolean, nullable=False, server_default="0"),
    Column("used_quota", BigInteger, nullable=False, server_default="0"),
    Column("model_limits_enabled", Boolean, nullable=False, server_default="0"),
    Column("model_limits", Text, nullable=False, server_default=""),
    Column("allow_ips", Text, nullable=False, server_default=""),
    Column("group", String(64), nullable=False, server_default=""),
    Column("cross_group_retry", Boolean, nullable=False, server_default="0"),
    Column("auto_groups", Text, nullable=False, server_default=""),
    Column("rate_limit_rpm", Integer, nullable=False, server_default="0"),
    Column("rate_limit_rpd", Integer, nullable=False, server_default="0"),
    Column("rate_limit_tpm", Integer, nullable=False, server_default="0"),
    Column("deleted_at", DateTime(timezone=True), nullable=True, index=True),
)

channels = Table(
    "channels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", Integer, nullable=False, server_default="0"),
    Column("key", Text, nullable=False),
    Column("openai_organization", String(255), nullable=True),
    Column("test_model", String(255), nullable=True),
    Column("status", Integer, nullable=False, server_default="1"),
    Column("name", String(255), nullable=False, server_default="", index=True),
    Column("weight", Integer, nullable=False, server_default="0"),
    Column("created_time", BigInteger, nullable=False, server_default="0"),
    Column("test_time", BigInteger, nullable=False, server_default="0"),
    Column("response_time", Integer, nullable=False, server_default="0"),
    Column("base_url", String(255), nullable=False, server_default=""),
    Column("other", Text, nullable=False, server_default=""),
    Column("balance", Float, nullable=False, server_default="0"),
    Column("balance_updated_time", BigInteger, nullable=False, server_default="0"),
    Column("models", Text, nullable=False, server_default=""),
    Column("group", String(64), nullable=False, server_default="default"),
    Column("used_quota", BigInteger, nullable=False, server_default="0"),
    Column("model_mapping", Text, nullable=False, server_default=""),
    Column("status_code_mapping", String(1024), nullable=False, server_default=""),
    Column("priority", BigInteger, nullable=False, server_default="0"),
    Column("auto_ban", Integer, nullable=False, server_default="1"),
    Column("other_info", Text, nullable=False, server_default=""),
    Column("tag", String(255), nullable=True, index=True),
    Column("setting", Text, nullable=False, server_default=""),
    Column("param_override", Text, nullable=False, server_default=""),
    Column("header_override", Text, nullable=False, server_default=""),
    Column("remark", String(255), nullable=False, server_default=""),
    Column("channel_info", Text, nullable=False, server_default=""),
    Column("settings", Text, nullable=False, server_default=""),
)

abilities = Table(
    "abilities",
    metadata,
    Column("group", String(64), primary_key=True),
    Column("model", String(255), primary_key=True),
    Column("channel_id", Integer, primary_key=True, index=True),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("priority", BigInteger, nullable=False, server_default="0", index=True),
    Column("weight", Integer, nullable=False, server_default="0"),
    Column("tag", String(255), nullable=True, index=True),
)

logs = Table(
    "logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False, server_default="0"),
    Column("type", Integer, nullable=False, server_default="0"),
    Column("content", Text, nullable=False, server_default=""),
    Column("username", String(64), nullable=False, server_default=""),
    Column("token_name", String(64), nullable=False, server_default=""),
    Column("model_name", String(255), nullable=False, server_default=""),
    Column("quota", BigInteger, nullable=False, server_default="0"),
    Column("prompt_tokens", Integer, nullable=False, server_default="0"),
    Column("completion_tokens", Integer, nullable=False, server_default="0"),
    Column("use_time", Integer, nullable=False, server_default="0"),
    Column("is_stream", Boolean, nullable=False, server_default="0"),
    Column("channel_id", Integer, nullable=False, server_default="0"),
    Column("token_id", Integer, nullable=False, server_default="0"),
    Column("group", String(64), nullable=False, server_default=""),
    Column("ip", String(64), nullable=False, server_default=""),
    Column("request_id", String(64), nullable=False, server_default=""),
    Column("upstream_request_id", String(128), nullable=False, server_default=""),
    Column("other", Text, nullable=False, server_default=""),
    # Listings page newest first by (created_at, id) and filter by one column plus, nearly
    # always, a time range (new-api's console sends one): each filter's index is
    # (column, created_at, id), so "column = v AND created_at BETWEEN a AND b" is one index
    # range read backwards, stopped after a page, whatever the range. Migration 0003 turned
    # 0001's (column, id) indexes into these (same names) and added the last four.
    Index("idx_logs_created_id", "created_at", "id"),
    Index("idx_logs_user_id", "user_id", "created_at", "id"),
    Index("idx_logs_type_id", "type", "created_at", "id"),
    Index("idx_logs_token_id", "token_id", "created_at", "id"),
    Index("idx_logs_channel_id", "channel_id", "created_at", "id"),
    Index("idx_logs_model_id", "model_name", "created_at", "id"),
    Index("idx_logs_username", "username", "created_at", "id"),
    Index("idx_logs_token_name", "token_name", "created_at", "id"),
    Index("idx_logs_group", "group", "created_at", "id"),
    Index("idx_logs_request_id", "request_id"),
    Index("idx_logs_upstream_request_id", "upstream_request_id"),
)

options = Table(
    "options",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False, server_default=""),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False, server_default="0"),
    Column("key", String(64), nullable=False, unique=True),
    # migration 0002: the code sealed (AES-GCM) so admins can list it; `key` is its digest
    Column("key_sealed", Text, nullable=False, server_default=""),
    Column("status", Integer, nullable=False, server_default="1"),
    Column("name", String(64), nullable=False, server_default="", index=True),
    Column("quota", BigInteger, nullable=False, server_default="100"),
    Column("created_time", BigInteger, nullable=False, server_default="0"),
    Column("redeemed_time", BigInteger, nullable=False, server_default="0"),
    Column("used_user_id", Integer, nullable=False, server_default="0"),
    Column("expired_time", BigInteger, nullable=False, server_default="0"),
    Column("deleted_at", DateTime(timezone=True), nullable=True, index=True),
)

# quota_data's grouping columns: its unique index uq_quota_data_bucket, in column order.
QUOTA_DATA_BUCKET = (
    "user_id",
    "created_at",
    "username",
    "model_name",
    "use_group",
    "token_id",
    "channel_id",
    "node_name",
)

quota_data = Table(
    "quota_data",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False, server_default="0", index=True),
    Column("username", String(64), nullable=False, server_default="", index=True),
    Column("model_name", String(255), nullable=False, server_default="", index=True),
    Column("created_at", BigInteger, nullable=False, server_default="0", index=True),
    Column("use_group", String(64), nullable=False, server_default=""),
    Column("token_id", Integer, nullable=False, server_default="0"),
    Column("channel_id", Integer, nullable=False, server_default="0"),
    Column("node_name", String(64), nullable=False, server_default=""),
    Column("token_used", BigInteger, nullable=False, server_default="0"),
    Column("count", Integer, nullable=False, server_default="0"),
    Column("quota", BigInteger, nullable=False, server_default="0"),
    # migration 0003: one row per hour bucket, so the drain can upsert-increment it
    Index("uq_quota_data_bucket", *QUOTA_DATA_BUCKET, unique=True),
)

setups = Table(
    "setups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False, server_default=""),
    Column("initialized_at", BigInteger, nullable=False, server_default="0"),
)

# relay's own: how far each Redis stream (usage logs, quota ledger) has been applied to SQL.
# Written in the same transaction as the rows it covers, so a replay after a crash is skipped.
stream_cursors = Table(
    "relay_stream_cursors",
    metadata,
    Column("stream", String(128), primary_key=True),
    Column("last_id", String(64), nullable=False, server_default="0-0"),
)
