"""relay.auth: reading the client key (relay-api.md "Reading the client key"), principals."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from multidict import CIMultiDict, MultiDict

from relay.auth import Principal, extract_key, split_key


def key(path: str, query: dict[str, str] | None = None, **headers: str) -> str:
    h = CIMultiDict({name.replace("_", "-"): value for name, value in headers.items()})
    return extract_key(path, h, MultiDict(query or {}))


# --- extract_key ----------------------------------------------------------------------------


def test_authorization_with_and_without_bearer() -> None:
    assert key("/v1/chat/completions", Authorization="Bearer sk-abc") == "sk-abc"
    assert key("/v1/chat/completions", Authorization="bearer sk-abc") == "sk-abc"
    assert key("/v1/chat/completions", Authorization="Bearer   sk-abc  ") == "sk-abc"
    assert key("/v1/chat/completions", Authorization="sk-abc") == "sk-abc"
    assert key("/v1/chat/completions", authorization="sk-abc") == "sk-abc"  # any case
    assert key("/v1/chat/completions") == ""


def test_websocket_subprotocol_key() -> None:
    proto = "realtime, openai-insecure-api-key.sk-ws, openai-beta.realtime-v1"
    assert key("/v1/realtime", Sec_WebSocket_Protocol=proto) == "sk-ws"
    assert (
        key("/v1/realtime", Sec_WebSocket_Protocol=proto, Authorization="Bearer sk-header")
        == "sk-ws"
    )
    # A protocol list without a key item leaves the Authorization header in charge.
    assert (
        key("/v1/realtime", Sec_WebSocket_Protocol="realtime", Authorization="Bearer sk-h")
        == "sk-h"
    )


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens", "/v1/models"])
def test_x_api_key_on_messages_and_models_paths(path: str) -> None:
    assert key(path, x_api_key="sk-anthropic", Authorization="Bearer sk-other") == "sk-anthropic"
    assert key(path, x_api_key="", Authorization="Bearer sk-other") == "sk-other"
    assert key(path, x_api_key="sk-anthropic") == "sk-anthropic"


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings", "/v1beta/models/x"])
def test_x_api_key_is_ignored_elsewhere(path: str) -> None:
    assert key(path, x_api_key="sk-anthropic", Authorization="Bearer sk-other") == "sk-other"
    assert key(path, x_api_key="sk-anthropic") == ""


GEMINI_PATHS = [
    "/v1beta/models/gemini-2.0-flash:generateContent",
    "/v1beta/openai/models",
    "/v1/models/gemini-2.0-flash:streamGenerateContent",
]


@pytest.mark.parametrize("path", GEMINI_PATHS)
def test_gemini_query_key_and_x_goog_api_key(path: str) -> None:
    assert key(path, {"key": "sk-query"}, Authorization="Bearer sk-h") == "sk-query"
    assert key(path, {"key": "sk-query"}, x_goog_api_key="sk-goog") == "sk-goog"  # wins
    assert key(path, x_goog_api_key="sk-goog", Authorization="Bearer sk-h") == "sk-goog"
    assert key(path, {"key": ""}, Authorization="Bearer sk-h") == "sk-h"


def test_gemini_rules_do_not_apply_to_other_paths() -> None:
    assert key("/v1/chat/completions", {"key": "sk-q"}, Authorization="sk-h") == "sk-h"
    assert key("/v1/chat/completions", {"key": "sk-q"}, x_goog_api_key="sk-g") == ""
    # "/v1/models" (the list) is not a Gemini path: only x-api-key applies there.
    assert key("/v1/models", {"key": "sk-q"}, Authorization="sk-h") == "sk-h"


def test_x_goog_api_key_beats_x_api_key_on_v1_models_subpaths() -> None:
    assert key("/v1/models/gemini-pro", x_api_key="sk-a", x_goog_api_key="sk-g") == "sk-g"
    assert key("/v1/models/gemini-pro", x_api_key="sk-a") == "sk-a"


def test_mj_api_secret_fallback() -> None:
    assert key("/mj/submit/imagine", mj_api_secret="sk-mj") == "sk-mj"
    assert key("/mj/submit/imagine", mj_api_secret="Bearer sk-mj") == "sk-mj"
    assert key("/mj/submit/imagine", Authorization="midjourney-proxy", mj_api_secret="sk-mj") == (
        "sk-mj"
    )
    assert (
        key("/mj/submit/imagine", Authorization="Bearer midjourney-proxy", mj_api_secret="sk-mj")
        == "sk-mj"
    )
    assert key("/mj/submit/imagine", Authorization="sk-auth", mj_api_secret="sk-mj") == "sk-auth"
    assert key("/mj/submit/imagine", Authorization="midjourney-proxy") == ""


# --- split_key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sk-abc", ("abc", None)),
        ("abc", ("abc", None)),
        ("sk-abc-12", ("abc", "12")),
        ("abc-12", ("abc", "12")),
        ("sk-abc-12-extra", ("abc", "12")),
        ("sk-abc-", ("abc", "")),
        ("sk-abc-x", ("abc", "x")),
        ("", ("", None)),
        ("sk-", ("", None)),
    ],
)
def test_split_key(raw: str, expected: tuple[str, str | None]) -> None:
    assert split_key(raw) == expected


# --- Principal ------------------------------------------------------------------------------


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "token_id": 7,
        "user_id": 3,
        "token_name": "t",
        "token_status": 1,
        "expired_time": -1,
        "unlimited_quota": False,
        "model_limits_enabled": False,
        "model_limits": "",
        "allow_ips": "",
        "token_group": "",
        "rate_limit_rpm": 0,
        "rate_limit_rpd": 0,
        "rate_limit_tpm": 0,
        "username": "alice",
        "role": 1,
        "user_status": 1,
        "user_group": "default",
        "user_setting": "",
    }
    base.update(overrides)
    return base


def test_from_row_basic_fields() -> None:
    p = Principal.from_row(
        row(
            token_group="vip",
            unlimited_quota=1,
            expired_time=1_900_000_000,
            rate_limit_rpm=5,
            rate_limit_rpd=50,
            rate_limit_tpm=500,
        )
    )
    assert (p.token_id, p.user_id, p.token_name, p.username) == (7, 3, "t", "alice")
    assert p.token_group == "vip" and p.user_group == "default"
    assert p.unlimited is True and p.expired_time == 1_900_000_000
    assert (p.rpm, p.rpd, p.tpm) == (5, 50, 500)
    assert p.model_limits is None and p.allow_ips == ()
    assert p.user_enabled and not p.is_admin
    assert not p.accept_unset_ratio and not p.record_ip


def test_from_row_defaults_for_empty_groups() -> None:
    p = Principal.from_row(row(token_group=None, user_group=""))
    assert p.token_group == "" and p.user_group == "default"


@pytest.mark.parametrize(("role", "admin"), [(1, False), (9, False), (10, True), (100, True)])
def test_is_admin(role: int, admin: bool) -> None:
    assert Principal.from_row(row(role=role)).is_admin is admin


@pytest.mark.parametrize(("status", "enabled"), [(1, True), (2, False), (0, False)])
def test_user_enabled(status: int, enabled: bool) -> None:
    assert Principal.from_row(row(user_status=status)).user_enabled is enabled


def test_model_limits() -> None:
    p = Principal.from_row(
        row(model_limits_enabled=True, model_limits=" gpt-4o, ,claude-3-haiku ,gpt-4o")
    )
    assert p.model_limits == frozenset({"gpt-4o", "claude-3-haiku"})
    assert Principal.from_row(row(model_limits_enabled=True)).model_limits == frozenset()
    assert Principal.from_row(row(model_limits="gpt-4o")).model_limits is None


@pytest.mark.parametrize(
    ("setting", "accept", "record"),
    [
        ("", False, False),
        (None, False, False),
        ("not json", False, False),
        ("[1, 2]", False, False),
        ('{"accept_unset_model_ratio_model": true}', True, False),
        ('{"record_ip_log": true, "accept_unset_model_ratio_model": false}', False, True),
    ],
)
def test_user_setting_parsing(setting: str | None, accept: bool, record: bool) -> None:
    p = Principal.from_row(row(user_setting=setting))
    assert (p.accept_unset_ratio, p.record_ip) == (accept, record)


def test_ip_allowed_without_a_list_allows_everything() -> None:
    p = Principal.from_row(row())
    assert p.ip_allowed("203.0.113.9") and p.ip_allowed("not an ip")


def test_ip_allowed_with_cidrs_ipv4_and_ipv6() -> None:
    allow = "10.0.0.0/8, 192.168.1.5\n2001:db8::/32,,bogus-entry"
    p = Principal.from_row(row(allow_ips=allow))
    assert len(p.allow_ips) == 3  # the bad entry is skipped
    assert p.ip_allowed("10.1.2.3")
    assert p.ip_allowed("192.168.1.5")
    assert not p.ip_allowed("192.168.1.6")
    assert p.ip_allowed("2001:db8::1")
    assert not p.ip_allowed("2001:db9::1")
    assert not p.ip_allowed("11.0.0.1")


@pytest.mark.parametrize("bad", ["", "localhost", "10.0.0.256", "::g"])
def test_ip_allowed_refuses_unparsable_addresses(bad: str) -> None:
    p = Principal.from_row(row(allow_ips="0.0.0.0/0"))
    assert not p.ip_allowed(bad)


def test_from_row_accepts_a_msgpack_round_trip() -> None:
    # PrincipalCache stores rows as msgpack lists; the same values must build the principal.
    import msgpack

    original = row(allow_ips="10.0.0.0/8", user_setting=orjson.dumps({"record_ip_log": 1}).decode())
    fields = list(original)
    restored = dict(
        zip(fields, msgpack.unpackb(msgpack.packb(list(original.values()))), strict=True)
    )
    assert Principal.from_row(restored) == Principal.from_row(original)
