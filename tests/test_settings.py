"""relay.settings: defaults, every variable, bad values, persisted secrets, SQL_DSN forms."""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path

import orjson
import pytest

from relay.settings import DEFAULT_TRUSTED_PROXIES, Settings, SettingsError, load_settings

SECRETS = {"SESSION_SECRET": "s" * 20, "CRYPTO_SECRET": "c" * 20}


def load(tmp_path: Path, **env: str) -> Settings:
    return load_settings({"DATA_DIR": str(tmp_path), **SECRETS, **env})


def test_defaults(tmp_path: Path) -> None:
    s = load(tmp_path)
    assert s.host == "0.0.0.0"
    assert (s.port, s.admin_port) == (3000, 3001)
    assert s.workers == (os.cpu_count() or 1)
    assert s.data_dir == tmp_path.absolute()
    assert s.sql_dsn == "" and s.redis_url == ""
    assert s.embedded_redis
    assert s.redis_socket == tmp_path / "redis.sock"
    assert s.sqlite_path == tmp_path / "relay.db"
    assert s.initial_root_password == "" and s.initial_root_access_token == ""
    assert s.streaming_timeout == 300.0
    assert s.relay_timeout == 0.0
    assert s.max_request_body_bytes == 128 * 1024 * 1024
    assert s.shutdown_timeout == 120.0
    assert s.sync_frequency == 60.0
    assert s.node_name == os.uname().nodename
    assert s.force_stream_option is True
    assert s.count_token is True
    assert s.hold_lease_seconds == 120
    assert s.log_level == "INFO"
    assert (s.log_format, s.metrics_token) == ("text", "")
    expected = tuple(ipaddress.ip_network(n) for n in DEFAULT_TRUSTED_PROXIES.split(","))
    assert s.trusted_proxies == expected


def test_data_dir_defaults_to_data_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(SECRETS)
    assert s.data_dir == tmp_path / "data"


def test_every_variable_is_parsed(tmp_path: Path) -> None:
    s = load(
        tmp_path,
        HOST=" 127.0.0.1 ",
        PORT="8080",
        ADMIN_PORT="8081",
        WORKERS="7",
        SQL_DSN="postgresql://u:p@db:5432/relay",
        REDIS_CONN_STRING="redis://cache:6379/2",
        INITIAL_ROOT_PASSWORD="password123",
        INITIAL_ROOT_ACCESS_TOKEN=" tok-123 ",
        STREAMING_TIMEOUT="12.5",
        RELAY_TIMEOUT="30",
        MAX_REQUEST_BODY_MB="3",
        SHUTDOWN_TIMEOUT_SECONDS="0",
        SYNC_FREQUENCY="5",
        NODE_NAME="node-a",
        FORCE_STREAM_OPTION="off",
        CountToken="no",
        TRUSTED_PROXIES="10.1.0.0/16; 2001:db8::1",
        RELAY_HOLD_LEASE_SECONDS="5",
        LOG_LEVEL="debug",
        LOG_FORMAT="JSON",
        METRICS_TOKEN=" scrape-me ",
    )
    assert s.host == "127.0.0.1"
    assert (s.port, s.admin_port, s.workers) == (8080, 8081, 7)
    assert s.sql_dsn == "postgresql://u:p@db:5432/relay"
    assert s.redis_url == "redis://cache:6379/2" and not s.embedded_redis
    assert s.session_secret == SECRETS["SESSION_SECRET"]
    assert s.crypto_secret == SECRETS["CRYPTO_SECRET"]
    assert s.initial_root_password == "password123"
    assert s.initial_root_access_token == "tok-123"
    assert (s.streaming_timeout, s.relay_timeout) == (12.5, 30.0)
    assert s.max_request_body_bytes == 3 * 1024 * 1024
    assert (s.shutdown_timeout, s.sync_frequency) == (0.0, 5.0)
    assert s.node_name == "node-a"
    assert s.force_stream_option is False and s.count_token is False
    assert s.trusted_proxies == (
        ipaddress.ip_network("10.1.0.0/16"),
        ipaddress.ip_network("2001:db8::1/128"),
    )
    assert s.hold_lease_seconds == 5
    assert s.log_level == "DEBUG"
    assert (s.log_format, s.metrics_token) == ("json", "scrape-me")
    assert not (tmp_path / "secrets.json").exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(v, True) for v in ("1", "true", "T", "yes", "y", "ON")]
    + [(v, False) for v in ("0", "false", "f", "No", "n", "off")]
    + [("", True), ("  ", True)],
)
def test_booleans(tmp_path: Path, raw: str, expected: bool) -> None:
    assert load(tmp_path, FORCE_STREAM_OPTION=raw).force_stream_option is expected
    assert load(tmp_path, CountToken=raw).count_token is expected


def test_trusted_proxies_none_and_empty(tmp_path: Path) -> None:
    assert load(tmp_path, TRUSTED_PROXIES="none").trusted_proxies == ()
    assert load(tmp_path, TRUSTED_PROXIES="NONE").trusted_proxies == ()
    assert load(tmp_path, TRUSTED_PROXIES=" , ").trusted_proxies == ()
    host = load(tmp_path, TRUSTED_PROXIES="192.168.1.7/24").trusted_proxies
    assert host == (ipaddress.ip_network("192.168.1.0/24"),)


def test_ports_may_both_be_zero(tmp_path: Path) -> None:
    s = load(tmp_path, PORT="0", ADMIN_PORT="0")
    assert (s.port, s.admin_port) == (0, 0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "http"),
        ("PORT", "65536"),
        ("PORT", "-1"),
        ("ADMIN_PORT", "3000"),  # equal to PORT
        ("ADMIN_PORT", "1.5"),
        ("WORKERS", "0"),
        ("WORKERS", "513"),
        ("STREAMING_TIMEOUT", "0.5"),
        ("STREAMING_TIMEOUT", "soon"),
        ("RELAY_TIMEOUT", "-1"),
        ("RELAY_TIMEOUT", "86401"),
        ("MAX_REQUEST_BODY_MB", "0"),
        ("MAX_REQUEST_BODY_MB", "4097"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "3601"),
        ("SYNC_FREQUENCY", "0"),
        ("FORCE_STREAM_OPTION", "maybe"),
        ("CountToken", "2"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("TRUSTED_PROXIES", "127.0.0.1,localhost"),
        ("RELAY_HOLD_LEASE_SECONDS", "4"),
        ("RELAY_HOLD_LEASE_SECONDS", "x"),
        ("LOG_LEVEL", "TRACE"),
        ("LOG_FORMAT", "xml"),
        ("SQL_DSN", "mysql://u:p@db/relay"),
        ("SQL_DSN", "root:pw@tcp(localhost:3306)/oneapi"),
        ("REDIS_CONN_STRING", "http://cache:6379"),
        ("REDIS_CONN_STRING", "cache:6379"),
        ("INITIAL_ROOT_PASSWORD", "short"),
        ("INITIAL_ROOT_PASSWORD", "x" * 73),
        ("INITIAL_ROOT_PASSWORD", "é" * 40),  # 40 characters, but 80 bytes: too long for bcrypt
        ("INITIAL_ROOT_ACCESS_TOKEN", "t" * 73),  # it would be the root password
        ("SESSION_SECRET", "random_string"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load(tmp_path, **{name: value})
    assert name in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_long_access_token_is_fine_with_a_password(tmp_path: Path) -> None:
    s = load(tmp_path, INITIAL_ROOT_ACCESS_TOKEN="t" * 100, INITIAL_ROOT_PASSWORD="p" * 72)
    assert s.initial_root_access_token == "t" * 100
    assert load(tmp_path, INITIAL_ROOT_ACCESS_TOKEN="t" * 72).initial_root_access_token == "t" * 72


def test_unwritable_data_dir_names_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SettingsError, match="DATA_DIR"):
        load_settings({"DATA_DIR": str(blocker / "sub")})


def test_secrets_are_generated_once_and_reused(tmp_path: Path) -> None:
    first = load_settings({"DATA_DIR": str(tmp_path)})
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = orjson.loads(path.read_bytes())
    assert stored == {
        "SESSION_SECRET": first.session_secret,
        "CRYPTO_SECRET": first.crypto_secret,
    }
    assert len(first.session_secret) >= 32 and len(first.crypto_secret) >= 32
    assert first.session_secret != first.crypto_secret
    before = path.read_bytes()
    second = load_settings({"DATA_DIR": str(tmp_path)})
    assert (second.session_secret, second.crypto_secret) == (
        first.session_secret,
        first.crypto_secret,
    )
    assert path.read_bytes() == before
    assert not (tmp_path / "secrets.tmp").exists()


def test_secrets_from_the_environment_win_per_variable(tmp_path: Path) -> None:
    generated = load_settings({"DATA_DIR": str(tmp_path)})
    s = load_settings({"DATA_DIR": str(tmp_path), "SESSION_SECRET": "from-env"})
    assert s.session_secret == "from-env"
    assert s.crypto_secret == generated.crypto_secret
    s = load_settings({"DATA_DIR": str(tmp_path), "CRYPTO_SECRET": "crypto-env"})
    assert s.crypto_secret == "crypto-env"
    assert s.session_secret == generated.session_secret


def test_data_dir_is_created_for_the_secrets(tmp_path: Path) -> None:
    data = tmp_path / "a" / "b"
    load_settings({"DATA_DIR": str(data)})
    assert (data / "secrets.json").is_file()


def test_corrupt_secrets_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text("{not json")
    with pytest.raises(SettingsError, match=r"secrets\.json"):
        load_settings({"DATA_DIR": str(tmp_path)})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("   ", ""),
        ("local", ""),
        ("postgres://u:p@h:5432/db", "postgres://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        (" postgresql+asyncpg://u@h/db ", "postgresql+asyncpg://u@h/db"),
        ("sqlite:////var/lib/relay.db", "sqlite:////var/lib/relay.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_sql_dsn_forms(tmp_path: Path, raw: str, expected: str) -> None:
    assert load(tmp_path, SQL_DSN=raw).sql_dsn == expected


@pytest.mark.parametrize("url", ["redis://h:6379/0", "rediss://h:6380", "unix:///tmp/r.sock"])
def test_redis_url_forms(tmp_path: Path, url: str) -> None:
    assert load(tmp_path, REDIS_CONN_STRING=f" {url} ").redis_url == url


def test_environment_is_read_when_no_mapping_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PORT", "4321")
    monkeypatch.setenv("ADMIN_PORT", "4322")
    monkeypatch.setenv("SESSION_SECRET", "x")
    monkeypatch.setenv("CRYPTO_SECRET", "y")
    assert load_settings().port == 4321


def test_azure_default_api_version(tmp_path: Path) -> None:
    assert load(tmp_path).azure_default_api_version == "2025-04-01-preview"
    assert load(tmp_path, AZURE_DEFAULT_API_VERSION=" 2024-10-21 ").azure_default_api_version == (
        "2024-10-21"
    )
    with pytest.raises(SettingsError, match="AZURE_DEFAULT_API_VERSION"):
        load(tmp_path, AZURE_DEFAULT_API_VERSION="2024&x=1")


def test_ali_anthropic_messages_models(tmp_path: Path) -> None:
    default = ("qwen", "deepseek-v4", "kimi", "glm", "minimax-m")
    assert load(tmp_path).ali_anthropic_messages_models == default
    assert load(tmp_path, ALI_ANTHROPIC_MESSAGES_MODELS="").ali_anthropic_messages_models == default
    own = load(tmp_path, ALI_ANTHROPIC_MESSAGES_MODELS=" Qwen3 , ,GLM-4")
    assert own.ali_anthropic_messages_models == ("qwen3", "glm-4")
