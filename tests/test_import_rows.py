"""relay.import_rows: One API / new-api rows become relay rows (types, defaults, secrets)."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from relay import import_rows as r
from relay.crypto import Keyring
from relay.store.schema import channels, logs, quota_data, redemptions, tokens, users

KR = Keyring("import-test-secret")
KEY = "k" * 48


@pytest.fixture
def cuts() -> r.Truncations:
    return r.Truncations()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-03-01 10:20:30.123456789+08:00", "2025-03-01T10:20:30.123456+08:00"),
        ("2025-03-01 10:20:30+0000", "2025-03-01T10:20:30+00:00"),
        ("2025-03-01T10:20:30Z", "2025-03-01T10:20:30+00:00"),
        ("2025-03-01 10:20:30", "2025-03-01T10:20:30+00:00"),
    ],
)
def test_parse_time_reads_gorm_text(raw: str, expected: str) -> None:
    parsed = r.parse_time(raw)
    assert parsed is not None and parsed == dt.datetime.fromisoformat(expected)


def test_parse_time_other_forms() -> None:
    assert r.parse_time(None) is None and r.parse_time("") is None
    naive = dt.datetime(2024, 1, 2, 3, 4, 5)
    assert r.parse_time(naive) == naive.replace(tzinfo=dt.UTC)
    assert r.parse_time(0) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert r.parse_time("yesterday") is not None  # unreadable but set: stays deleted


def test_missing_and_null_columns_get_relays_defaults(cuts: r.Truncations) -> None:
    row = r.base_row(tokens, {"id": 1, "user_id": 2, "name": None}, cuts)
    assert row["name"] == "" and row["expired_time"] == -1 and row["status"] == 1
    assert row["unlimited_quota"] is False and row["deleted_at"] is None
    assert r.base_row(users, {"id": 1}, cuts)["group"] == "default"


def test_values_are_coerced_and_cut_to_fit(cuts: r.Truncations) -> None:
    row = r.base_row(
        tokens,
        {"id": "5", "unlimited_quota": "true", "remain_quota": "12.0", "name": "n" * 80},
        cuts,
    )
    assert row["id"] == 5 and row["unlimited_quota"] is True and row["remain_quota"] == 12
    assert len(row["name"]) == 64 and cuts.counts == {"tokens.name": 1}
    assert r.base_row(tokens, {"remain_quota": "lots"}, cuts)["remain_quota"] == 0
    assert r.base_row(channels, {"balance": "1.5"}, cuts)["balance"] == 1.5


def test_user_secrets_and_one_api_deleted_status(cuts: r.Truncations) -> None:
    row = r.convert_user(users, {"id": 3, "access_token": " abc ", "aff_code": ""}, KR, cuts)
    assert row["access_token"] == KR.lookup_digest("abc") and row["aff_code"] is None
    assert r.convert_user(users, {"id": 4, "access_token": ""}, KR, cuts)["access_token"] is None
    gone = r.convert_user(users, {"id": 5, "status": 3}, KR, cuts)
    assert gone["status"] == 2 and gone["deleted_at"] is not None
    hashed = "$2a$10$abcdefghijklmnopqrstuv"
    assert r.convert_user(users, {"id": 6, "password": hashed}, KR, cuts)["password"] == hashed


def test_token_keys_become_digest_and_sealed_copy(cuts: r.Truncations) -> None:
    row = r.convert_token(tokens, {"id": 1, "key": f"sk-{KEY}"}, KR, cuts)
    assert row is not None
    assert row["key"] == KR.lookup_digest(KEY) and KR.open(row["key_sealed"]) == KEY
    assert r.convert_token(tokens, {"id": 2, "key": ""}, KR, cuts) is None


def test_one_api_token_columns(cuts: r.Truncations) -> None:
    src = {"id": 1, "key": KEY, "models": "gpt-4o,o1", "subnet": "10.0.0.0/8"}
    row = r.convert_token(tokens, src, KR, cuts)
    assert row is not None
    assert row["model_limits"] == "gpt-4o,o1" and row["model_limits_enabled"] is True
    assert row["allow_ips"] == "10.0.0.0/8"
    open_row = r.convert_token(tokens, {"id": 2, "key": KEY, "models": None}, KR, cuts)
    assert open_row is not None and open_row["model_limits_enabled"] is False
    new_api = {"id": 3, "key": KEY, "model_limits_enabled": 1, "model_limits": "a"}
    kept = r.convert_token(tokens, new_api, KR, cuts)
    assert kept is not None and kept["model_limits"] == "a" and kept["model_limits_enabled"]


def test_channel_keys_are_sealed_and_new_api_types_kept(cuts: r.Truncations) -> None:
    row, warning = r.convert_channel(
        channels, {"id": 1, "type": 43, "key": "sk-x"}, KR, "new-api", cuts
    )
    assert KR.open(row["key"]) == "sk-x" and row["type"] == 43 and warning is None


def test_one_api_channel_types_and_settings(cuts: r.Truncations) -> None:
    groq, _ = r.convert_channel(
        channels, {"id": 1, "type": 29, "key": "g", "base_url": None}, KR, r.ONE_API, cuts
    )
    assert (groq["type"], groq["base_url"]) == (1, "https://api.groq.com/openai")
    custom, _ = r.convert_channel(
        channels, {"id": 2, "type": 50, "key": "c", "base_url": "https://x"}, KR, r.ONE_API, cuts
    )
    assert (custom["type"], custom["base_url"]) == (1, "https://x")
    deepl, warning = r.convert_channel(
        channels, {"id": 3, "type": 38, "key": "d"}, KR, r.ONE_API, cuts
    )
    assert deepl["status"] == 2 and warning is not None and "#3" in warning
    same, _ = r.convert_channel(channels, {"id": 4, "type": 24, "key": "g"}, KR, r.ONE_API, cuts)
    assert same["type"] == 24
    aws, _ = r.convert_channel(
        channels,
        {"id": 5, "type": 33, "key": "", "config": '{"ak": "A", "sk": "S", "region": "us"}'},
        KR,
        r.ONE_API,
        cuts,
    )
    assert KR.open(aws["key"]) == "A|S|us"
    azure, _ = r.convert_channel(
        channels,
        {"id": 6, "type": 3, "key": "z", "config": '{"api_version": "2024-02"}',
         "system_prompt": "Be brief."},
        KR,
        r.ONE_API,
        cuts,
    )  # fmt: skip
    assert azure["other"] == "2024-02"
    assert orjson.loads(azure["setting"]) == {"system_prompt": "Be brief."}


def test_redemption_codes_are_digested_and_sealed(cuts: r.Truncations) -> None:
    row = r.convert_redemption(redemptions, {"id": 1, "key": "c0de", "quota": 5}, KR, cuts)
    assert row is not None and row["key"] == KR.lookup_digest("c0de")
    assert KR.open(row["key_sealed"]) == "c0de" and row["quota"] == 5
    assert r.convert_redemption(redemptions, {"id": 2, "key": None}, KR, cuts) is None


def test_logs_elapsed_time_and_test_type(cuts: r.Truncations) -> None:
    one = r.convert_log(logs, {"id": 1, "type": 5, "elapsed_time": 2999}, r.ONE_API, cuts)
    assert one["use_time"] == 2 and one["type"] == 4
    new = r.convert_log(logs, {"id": 2, "type": 5, "use_time": 7}, r.NEW_API, cuts)
    assert new["use_time"] == 7 and new["type"] == 5


def test_quota_data_buckets_are_merged(cuts: r.Truncations) -> None:
    src = {"user_id": 1, "created_at": 3600, "model_name": "m", "count": 2, "quota": 10}
    rows = [r.base_row(quota_data, {**src, "id": i}, cuts) for i in (1, 2)]
    rows.append(r.base_row(quota_data, {**src, "id": 3, "model_name": "n"}, cuts))
    merged = r.merge_quota_data(rows)
    assert sorted((m["model_name"], m["count"], m["quota"]) for m in merged) == [
        ("m", 4, 20),
        ("n", 2, 10),
    ]


def test_detect_kind() -> None:
    one_api = {"users": {"id"}, "tokens": {"models", "subnet"}, "channels": {"config"}}
    assert r.detect_kind(one_api) == r.ONE_API
    assert r.detect_kind({**one_api, "setups": {"id"}}) == r.NEW_API
    assert r.detect_kind({"users": {"id"}, "tokens": {"model_limits"}}) == r.NEW_API
    assert r.detect_kind({"users": {"id"}, "channels": {"tag"}}) == r.NEW_API
