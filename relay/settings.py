"""Configuration: every environment variable relay reads, parsed once into one frozen object."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson


class SettingsError(ValueError):
    """A bad configuration value; the message names the variable and is shown as one line."""


_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}

DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"
# Lower-case parts of the model names DashScope serves on its Anthropic-compatible API.
DEFAULT_ALI_ANTHROPIC_MESSAGES_MODELS = ("qwen", "deepseek-v4", "kimi", "glm", "minimax-m")
DEFAULT_TRUSTED_PROXIES = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"


@dataclass(frozen=True)
class Settings:
    """Everything relay reads from its environment. Built once by `load_settings`."""

    host: str = "0.0.0.0"
    port: int = 3000
    admin_port: int = 3001
    workers: int = 1
    data_dir: Path = Path("data")
    sql_dsn: str = ""
    redis_url: str = ""
    session_secret: str = ""
    crypto_secret: str = ""
    initial_root_password: str = ""
    initial_root_access_token: str = ""
    streaming_timeout: float = 300.0
    relay_timeout: float = 0.0
    max_request_body_bytes: int = 128 * 1024 * 1024
    shutdown_timeout: float = 120.0
    sync_frequency: float = 60.0
    node_name: str = ""
    force_stream_option: bool = True
    count_token: bool = True
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hold_lease_seconds: int = 120
    log_level: str = "INFO"
    log_format: str = "text"  # LOG_FORMAT: text, or json (one object per line)
    metrics_token: str = ""  # METRICS_TOKEN: when set, GET /metrics needs it as a bearer token
    metrics_enabled: bool = True  # METRICS_ENABLED: false = workers record nothing, no /metrics
    # new-api's per-IP limits on the admin API: (enabled, requests, window seconds)
    global_api_rate_limit: tuple[bool, int, int] = (True, 360, 180)
    critical_rate_limit: tuple[bool, int, int] = (True, 20, 1200)
    search_rate_limit: tuple[bool, int, int] = (True, 10, 60)
    log_retention_days: int = 0  # 0 keeps every log row
    channel_test_minutes: int = 0  # CHANNEL_TEST_FREQUENCY: 0 = scheduled tests off
    generate_default_token: bool = False
    azure_default_api_version: str = DEFAULT_AZURE_API_VERSION  # of channels with no `other`
    ali_anthropic_messages_models: tuple[str, ...] = DEFAULT_ALI_ANTHROPIC_MESSAGES_MODELS

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def redis_socket(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "relay.db"


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name}={value} is out of range ({lo}..{hi})")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name}={value} is out of range ({lo}..{hi})")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean (use true or false)")


def _limit(env: Mapping[str, str], prefix: str, count: int, seconds: int) -> tuple[bool, int, int]:
    return (
        _bool(env, f"{prefix}_ENABLE", True),
        _int(env, prefix, count, 1, 10**9),
        _int(env, f"{prefix}_DURATION", seconds, 1, 86400 * 30),
    )


def _api_version(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip() or DEFAULT_AZURE_API_VERSION
    if not all(c.isalnum() or c in "-._" for c in raw):
        raise SettingsError(f"{name}={raw!r} must be an API version such as 2024-10-21")
    return raw


def _networks(raw: str, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    if raw.strip().lower() == "none":
        return ()
    nets = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(f"{name} has an invalid address or CIDR: {part!r}") from None
    return tuple(nets)


def _sql_dsn(raw: str) -> str:
    raw = raw.strip()
    if not raw or raw.startswith("local"):
        return ""
    if raw.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        return raw
    if raw.startswith(("sqlite://", "sqlite+aiosqlite://")):
        return raw
    raise SettingsError(
        "SQL_DSN must be a postgres:// or postgresql:// URL (unset means SQLite in DATA_DIR)"
    )


def _ali_anthropic_models(env: Mapping[str, str]) -> tuple[str, ...]:
    """ALI_ANTHROPIC_MESSAGES_MODELS: comma-separated, trimmed, lower-cased; unset or empty
    means the default (new-api's GetEnvOrDefaultString)."""
    raw = env.get("ALI_ANTHROPIC_MESSAGES_MODELS", "")
    if not raw:
        return DEFAULT_ALI_ANTHROPIC_MESSAGES_MODELS
    return tuple(p for item in raw.split(",") if (p := item.strip().lower()))


def _redis_url(raw: str) -> str:
    raw = raw.strip()
    if raw and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("REDIS_CONN_STRING must start with redis://, rediss:// or unix://")
    return raw


def _persisted_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets generated on first start and kept in DATA_DIR, so restarts keep sessions and keys."""
    path = data_dir / "secrets.json"
    if path.exists():
        try:
            stored = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            raise SettingsError(
                f"{path} is not valid JSON; restore it or set the secrets"
            ) from None
        return {str(k): str(v) for k, v in stored.items()}
    values = {
        "SESSION_SECRET": secrets.token_urlsafe(32),
        "CRYPTO_SECRET": secrets.token_urlsafe(32),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(values))
    os.replace(tmp, path)
    return values


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Parse and validate the environment; raises SettingsError naming the bad variable."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("DATA_DIR", "").strip() or "data").absolute()
    session_secret = env.get("SESSION_SECRET", "").strip()
    crypto_secret = env.get("CRYPTO_SECRET", "").strip()
    if session_secret == "random_string":
        raise SettingsError("SESSION_SECRET must not be the placeholder 'random_string'")
    if not session_secret or not crypto_secret:
        try:
            stored = _persisted_secrets(data_dir)
        except OSError as exc:
            raise SettingsError(f"DATA_DIR={data_dir} is not writable: {exc.strerror}") from None
        session_secret = session_secret or stored["SESSION_SECRET"]
        crypto_secret = crypto_secret or stored["CRYPTO_SECRET"]
    cpu = os.cpu_count() or 1
    level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"LOG_LEVEL={level!r} must be DEBUG, INFO, WARNING or ERROR")
    log_format = env.get("LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in {"text", "json"}:
        raise SettingsError(f"LOG_FORMAT={log_format!r} must be text or json")
    root_token = env.get("INITIAL_ROOT_ACCESS_TOKEN", "").strip()
    root_password = env.get("INITIAL_ROOT_PASSWORD", "")
    # bcrypt refuses more than 72 bytes (not characters); without a password the root user's
    # password is the access token, so the same limit applies to it then.
    if root_password and not (len(root_password) >= 8 and len(root_password.encode()) <= 72):
        raise SettingsError("INITIAL_ROOT_PASSWORD must be 8 to 72 characters (72 bytes) long")
    if not root_password and len(root_token.encode()) > 72:
        raise SettingsError(
            "INITIAL_ROOT_ACCESS_TOKEN longer than 72 bytes needs INITIAL_ROOT_PASSWORD set"
        )
    settings = Settings(
        host=env.get("HOST", "").strip() or "0.0.0.0",
        port=_int(env, "PORT", 3000, 0, 65535),
        admin_port=_int(env, "ADMIN_PORT", 3001, 0, 65535),
        workers=_int(env, "WORKERS", cpu, 1, 512),
        data_dir=data_dir,
        sql_dsn=_sql_dsn(env.get("SQL_DSN", "")),
        redis_url=_redis_url(env.get("REDIS_CONN_STRING", "")),
        session_secret=session_secret,
        crypto_secret=crypto_secret,
        initial_root_password=root_password,
        initial_root_access_token=root_token,
        streaming_timeout=_float(env, "STREAMING_TIMEOUT", 300.0, 1.0, 86400.0),
        relay_timeout=_float(env, "RELAY_TIMEOUT", 0.0, 0.0, 86400.0),
        max_request_body_bytes=_int(env, "MAX_REQUEST_BODY_MB", 128, 1, 4096) * 1024 * 1024,
        shutdown_timeout=_float(env, "SHUTDOWN_TIMEOUT_SECONDS", 120.0, 0.0, 3600.0),
        sync_frequency=_float(env, "SYNC_FREQUENCY", 60.0, 1.0, 86400.0),
        node_name=env.get("NODE_NAME", "").strip() or os.uname().nodename,
        force_stream_option=_bool(env, "FORCE_STREAM_OPTION", True),
        count_token=_bool(env, "CountToken", True),
        trusted_proxies=_networks(
            env.get("TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES), "TRUSTED_PROXIES"
        ),
        hold_lease_seconds=_int(env, "RELAY_HOLD_LEASE_SECONDS", 120, 5, 86400),
        log_level=level,
        log_format=log_format,
        metrics_token=env.get("METRICS_TOKEN", "").strip(),
        metrics_enabled=_bool(env, "METRICS_ENABLED", True),
        global_api_rate_limit=_limit(env, "GLOBAL_API_RATE_LIMIT", 360, 180),
        critical_rate_limit=_limit(env, "CRITICAL_RATE_LIMIT", 20, 1200),
        search_rate_limit=_limit(env, "SEARCH_RATE_LIMIT", 10, 60),
        log_retention_days=_int(env, "LOG_RETENTION_DAYS", 0, 0, 36500),
        channel_test_minutes=_int(env, "CHANNEL_TEST_FREQUENCY", 0, 0, 10080),
        generate_default_token=_bool(env, "GENERATE_DEFAULT_TOKEN", False),
        azure_default_api_version=_api_version(env, "AZURE_DEFAULT_API_VERSION"),
        ali_anthropic_messages_models=_ali_anthropic_models(env),
    )
    if settings.port and settings.port == settings.admin_port:
        raise SettingsError(f"ADMIN_PORT={settings.admin_port} must differ from PORT")
    return settings
