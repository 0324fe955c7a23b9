"""Row conversions for `relay import`: One API / new-api rows → relay's tables.

Pure functions (no I/O), so each rule is unit-tested: values are coerced to the target
column's type, missing columns get relay's defaults, secrets become digests and sealed copies,
and One API's differences (tokens.models / subnet, logs.elapsed_time in ms, its channel type
numbering, users.status 3 = deleted) are translated.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import BigInteger, Boolean, Column, DateTime, Float, Integer, String, Table

from relay.crypto import Keyring
from relay.store.schema import QUOTA_DATA_BUCKET

ONE_API = "one-api"
NEW_API = "new-api"

# One API channel type → (new-api type, base URL used when the channel had none). Types 1, 3
# and 6-25 mean the same in both; the others moved or are OpenAI-compatible services that
# new-api reaches through type 1 with a base URL. None: no equivalent (imported disabled).
ONE_API_CHANNEL_TYPES: dict[int, tuple[int, str] | None] = {
    2: (1, "https://oa.api2d.net"),  # API2D
    4: (1, "https://api.closeai-proxy.xyz"),  # CloseAI
    5: (1, "https://api.openai-sb.com"),  # OpenAI-SB
    26: (1, "https://api.baichuan-ai.com"),  # Baichuan
    27: (35, ""),  # Minimax
    28: (42, ""),  # Mistral
    29: (1, "https://api.groq.com/openai"),  # Groq
    30: (4, ""),  # Ollama
    31: (31, ""),  # LingYiWanWu
    32: (1, "https://api.stepfun.com"),  # StepFun
    33: (33, ""),  # AWS Claude
    34: (49, ""),  # Coze
    35: (34, ""),  # Cohere
    36: (43, ""),  # DeepSeek
    37: (39, ""),  # Cloudflare
    38: None,  # DeepL
    39: (1, "https://api.together.xyz"),  # TogetherAI
    40: (45, ""),  # Doubao → VolcEngine
    41: (1, "https://api.novita.ai/v3/openai"),  # Novita
    42: (41, ""),  # Vertex AI
    43: None,  # Proxy
    44: (40, ""),  # SiliconFlow
    45: (48, ""),  # xAI
    46: (56, ""),  # Replicate
    47: (46, ""),  # Baidu v2
    48: (1, "https://spark-api-open.xf-yun.com"),  # Xunfei v2
    49: (1, "https://dashscope.aliyuncs.com/compatible-mode"),  # Ali Bailian
    50: (1, ""),  # OpenAI compatible
    51: (1, "https://generativelanguage.googleapis.com/v1beta/openai"),  # Gemini (OpenAI API)
}
ONE_API_LOG_TEST = 5  # One API's "test" log type; new-api's 5 is "error"
LOG_TYPE_SYSTEM = 4
ONE_API_USER_DELETED = 3
CHANNEL_DISABLED = 2


class Truncations:
    """Counts values cut to fit a relay column (reported at the end)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, where: str) -> None:
        self.counts[where] = self.counts.get(where, 0) + 1


_GO_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?"
)


def parse_time(value: Any) -> dt.datetime | None:
    """A timestamp as GORM writes it (SQLite text with up to nanoseconds and an offset)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    match = _GO_TIME.match(str(value).strip())
    if match is None:
        return dt.datetime.now(dt.UTC)  # unreadable, but set: the row stays deleted
    day, clock, frac, zone = match.groups()
    text = f"{day}T{clock}.{(frac or '0')[:6].ljust(6, '0')}"
    if zone and zone != "Z":
        text += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    else:
        text += "+00:00"
    return dt.datetime.fromisoformat(text)


def default_for(column: Column[Any]) -> Any:
    """The value a missing source column gets: relay's server default, typed."""
    if column.nullable:
        return None
    raw = getattr(column.server_default, "arg", None)
    text = str(raw) if raw is not None else ""
    kind = column.type
    if isinstance(kind, Boolean):
        return text in ("1", "true")
    if isinstance(kind, Integer | BigInteger):
        return int(text or 0)
    if isinstance(kind, Float):
        return float(text or 0)
    return text


def coerce(column: Column[Any], value: Any, cuts: Truncations) -> Any:
    """A source value in the target column's type (None → the column's default)."""
    if value is None:
        return default_for(column)
    kind = column.type
    try:
        if isinstance(kind, Boolean):
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "t", "yes")
            return bool(value)
        if isinstance(kind, Integer | BigInteger):
            return int(float(value)) if isinstance(value, str) else int(value)
        if isinstance(kind, Float):
            return float(value)
        if isinstance(kind, DateTime):
            return parse_time(value)
    except (TypeError, ValueError):
        return default_for(column)
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    length = getattr(kind, "length", None)
    if isinstance(kind, String) and length and len(text) > length:
        cuts.add(f"{column.table.name}.{column.name}")
        text = text[:length]
    return text


def base_row(table: Table, source: Mapping[str, Any], cuts: Truncations) -> dict[str, Any]:
    """Every target column: the source's value where it has one, else relay's default."""
    return {c.name: coerce(c, source.get(c.name), cuts) for c in table.columns}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def convert_user(table: Table, src: Mapping[str, Any], keyring: Keyring, cuts: Truncations) -> dict:
    row = base_row(table, src, cuts)
    token = _text(src.get("access_token")).strip()
    row["access_token"] = keyring.lookup_digest(token) if token else None
    row["aff_code"] = _text(src.get("aff_code")).strip() or None
    if row["status"] == ONE_API_USER_DELETED:  # One API marks deleted users with status 3
        row["status"] = 2
        row["deleted_at"] = row["deleted_at"] or dt.datetime.now(dt.UTC)
    return row


def convert_token(
    table: Table, src: Mapping[str, Any], keyring: Keyring, cuts: Truncations
) -> dict | None:
    """None when the row has no key (nothing a client could send)."""
    key = _text(src.get("key")).strip().removeprefix("sk-")
    if not key:
        return None
    row = base_row(table, src, cuts)
    row["key"] = keyring.lookup_digest(key)
    row["key_sealed"] = keyring.seal(key)
    if "model_limits" not in src and "models" in src:  # One API
        models = _text(src.get("models")).strip()
        row["model_limits"] = models
        row["model_limits_enabled"] = bool(models)
    if "allow_ips" not in src and "subnet" in src:
        row["allow_ips"] = _text(src.get("subnet")).strip()
    return row


def _json_object(value: Any) -> dict[str, Any]:
    try:
        data = orjson.loads(value) if value else {}
    except (orjson.JSONDecodeError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def convert_channel(
    table: Table, src: Mapping[str, Any], keyring: Keyring, kind: str, cuts: Truncations
) -> tuple[dict, str | None]:
    """(row, warning) — the key sealed; One API types and settings translated."""
    row = base_row(table, src, cuts)
    row["key"] = keyring.seal(_text(src.get("key")))
    warning = None
    if kind != ONE_API:
        return row, warning
    old_type = int(row["type"])
    if old_type in ONE_API_CHANNEL_TYPES:
        mapped = ONE_API_CHANNEL_TYPES[old_type]
        if mapped is None:
            row["status"] = CHANNEL_DISABLED
            warning = f"channel #{row['id']}: One API type {old_type} has no equivalent; disabled"
        else:
            row["type"], default_url = mapped
            row["base_url"] = row["base_url"] or default_url
    config = _json_object(src.get("config"))
    if config.get("api_version") and not row["other"]:
        row["other"] = str(config["api_version"])  # Azure's API version lives in `other`
    if old_type == 33 and config.get("ak") and config.get("sk"):
        row["key"] = keyring.seal(f"{config['ak']}|{config['sk']}|{config.get('region', '')}")
    prompt = _text(src.get("system_prompt")).strip()
    if prompt:
        setting = _json_object(row.get("setting"))
        setting["system_prompt"] = prompt
        row["setting"] = orjson.dumps(setting).decode()
    return row, warning


def convert_redemption(
    table: Table, src: Mapping[str, Any], keyring: Keyring, cuts: Truncations
) -> dict | None:
    code = _text(src.get("key")).strip()
    if not code:
        return None
    row = base_row(table, src, cuts)
    row["key"] = keyring.lookup_digest(code)
    row["key_sealed"] = keyring.seal(code)
    return row


def convert_log(table: Table, src: Mapping[str, Any], kind: str, cuts: Truncations) -> dict:
    row = base_row(table, src, cuts)
    if "use_time" not in src and "elapsed_time" in src:  # One API: milliseconds
        row["use_time"] = int(src.get("elapsed_time") or 0) // 1000
    if kind == ONE_API and row["type"] == ONE_API_LOG_TEST:
        row["type"] = LOG_TYPE_SYSTEM
    return row


def merge_quota_data(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per hour bucket (relay's unique key), summing duplicates."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        bucket = tuple(row.get(k) for k in QUOTA_DATA_BUCKET)
        have = merged.get(bucket)
        if have is None:
            merged[bucket] = dict(row)
        else:
            for k in ("token_used", "count", "quota"):
                have[k] = (have.get(k) or 0) + (row.get(k) or 0)
    return list(merged.values())


def detect_kind(tables: Mapping[str, set[str]]) -> str:
    """new-api if any of its columns or tables exist, else One API."""
    if "setups" in tables or "quota_data" in tables:
        return NEW_API
    if "model_limits" in tables.get("tokens", set()):
        return NEW_API
    if {"tag", "auto_ban", "channel_info"} & tables.get("channels", set()):
        return NEW_API
    return ONE_API
