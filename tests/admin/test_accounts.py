"""relay.admin.accounts: input checks, who manages whom, user records on the wire, secrets."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from relay.admin.accounts import (
    MSG_ADMIN_CANNOT_PROMOTE,
    MSG_ALREADY_ADMIN,
    MSG_ALREADY_COMMON,
    MSG_CANNOT_DEMOTE_ROOT,
    MSG_CANNOT_DISABLE_ROOT,
    MSG_QUOTA_CHANGE_ZERO,
    Change,
    bool_field,
    can_manage,
    check_display_name,
    check_group,
    check_password,
    check_remark,
    check_username,
    format_quota,
    int_field,
    login_json,
    manage_change,
    new_access_token,
    new_aff_code,
    new_redemption_code,
    option_flag,
    option_int,
    permissions_of,
    quota_delta,
    self_json,
    text_field,
    user_json,
)
from relay.admin.api import ApiError

COMMON, ADMIN, ROOT = 1, 10, 100


def refused(message: str = "") -> Any:
    return pytest.raises(ApiError, match=re.escape(message) if message else None)


@pytest.mark.parametrize(
    ("me", "target", "allowed"),
    [
        (ROOT, ROOT, True),
        (ROOT, ADMIN, True),
        (ROOT, COMMON, True),
        (ADMIN, ROOT, False),
        (ADMIN, ADMIN, False),
        (ADMIN, COMMON, True),
        (COMMON, COMMON, False),
    ],
)
def test_can_manage_only_lower_roles_unless_root(me: int, target: int, allowed: bool) -> None:
    assert can_manage(me, target) is allowed


def test_manage_change_rules() -> None:
    assert manage_change("disable", ADMIN, COMMON, 1) == Change(COMMON, 2)
    assert manage_change("enable", ADMIN, COMMON, 2) == Change(COMMON, 1)
    assert manage_change("promote", ROOT, COMMON, 1) == Change(ADMIN, 1)
    assert manage_change("demote", ROOT, ADMIN, 2) == Change(COMMON, 2)
    with refused(MSG_CANNOT_DISABLE_ROOT):
        manage_change("disable", ROOT, ROOT, 1)
    with refused(MSG_ADMIN_CANNOT_PROMOTE):
        manage_change("promote", ADMIN, COMMON, 1)
    with refused(MSG_ALREADY_ADMIN):
        manage_change("promote", ROOT, ADMIN, 1)
    with refused(MSG_CANNOT_DEMOTE_ROOT):
        manage_change("demote", ROOT, ROOT, 1)
    with refused(MSG_ALREADY_COMMON):
        manage_change("demote", ROOT, COMMON, 1)
    with refused("unknown action"):
        manage_change("explode", ROOT, COMMON, 1)


def test_quota_delta_modes() -> None:
    assert quota_delta("add", 500) == (500, False)
    assert quota_delta("subtract", 500) == (-500, False)
    assert quota_delta("override", 0) == (0, True)
    assert quota_delta("override", 7) == (7, True)
    for mode in ("add", "subtract"):
        for value in (0, -3):
            with refused(MSG_QUOTA_CHANGE_ZERO):
                quota_delta(mode, value)
    with refused("must not be negative"):
        quota_delta("override", -1)
    with refused("mode must be"):
        quota_delta("multiply", 2)


def test_username_password_and_profile_checks() -> None:
    assert check_username("  alice ") == "alice"
    assert check_username("x" * 20) == "x" * 20
    for bad in ("", "   ", "x" * 21, "bad\nname"):
        with refused("username"):
            check_username(bad)
    with refused("at most 12"):
        check_username("x" * 13, 12)
    assert check_password("12345678") == "12345678"
    for bad in ("1234567", "x" * 21):
        with refused("password"):
            check_password(bad)
    assert check_password("x" * 30, upper=72) == "x" * 30
    with refused("password"):
        check_password("é" * 40, upper=72)  # 80 bytes: more than bcrypt takes
    assert check_display_name("") == ""
    with refused("display_name"):
        check_display_name("d" * 21)
    assert check_group(" vip ") == "vip"
    for bad in ("", "a,b", "g" * 65):
        with refused("group"):
            check_group(bad)
    with refused("remark"):
        check_remark("r" * 256)


def test_body_fields_are_strictly_typed() -> None:
    body = {"n": 5, "f": 5.0, "half": 5.5, "t": True, "s": "5", "name": "x", "none": None}
    assert int_field(body, "n") == 5 and int_field(body, "f") == 5
    assert int_field(body, "missing", 9) == 9 and int_field(body, "none", 3) == 3
    for name in ("half", "t", "s"):
        with refused("must be an integer"):
            int_field(body, name)
    with refused("is required"):
        int_field(body, "missing")
    with refused("between 1 and 3"):
        int_field(body, "n", lo=1, hi=3)
    assert text_field(body, "name") == "x" and text_field(body, "none", "d") == "d"
    with refused("must be a string"):
        text_field(body, "n")
    assert bool_field(body, "t") is True and bool_field(body, "missing") is False
    with refused("true or false"):
        bool_field(body, "s")


def _row(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 7, "username": "alice", "password": "$2b$10$hash", "access_token": "digest",
        "auth_version": 3, "display_name": "Alice", "role": 1, "status": 1, "email": "",
        "github_id": "", "discord_id": "", "oidc_id": "", "wechat_id": "", "telegram_id": "",
        "linux_do_id": "", "group": "default", "quota": 100, "used_quota": 5,
        "request_count": 2, "aff_code": None, "aff_count": 0, "aff_quota": 0, "aff_history": 4,
        "inviter_id": 0, "setting": "", "remark": "vip customer", "stripe_customer": "",
        "created_at": 1, "last_login_at": 2, "deleted_at": None,
    }  # fmt: skip
    row.update(over)
    return row


def test_user_json_never_carries_secrets() -> None:
    out = user_json(_row())
    assert not {"password", "access_token", "auth_version", "deleted_at"} & out.keys()
    assert out["aff_history_quota"] == 4 and out["aff_code"] == "" and out["DeletedAt"] is None
    assert (out["quota"], out["used_quota"], out["remark"]) == (100, 5, "vip customer")
    live = user_json(_row(deleted_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC)), (90, 15))
    assert (live["quota"], live["used_quota"]) == (90, 15)
    assert live["DeletedAt"].startswith("2026-01-02")


def test_self_and_login_json() -> None:
    out = self_json(_row(aff_code="Ab1c"), (42, 7), '{"chat":true}')
    assert not {"password", "access_token", "auth_version", "remark"} & out.keys()
    assert (out["quota"], out["used_quota"], out["aff_code"]) == (42, 7, "Ab1c")
    assert out["sidebar_modules"] == '{"chat":true}'
    assert out["permissions"] == permissions_of(COMMON)
    assert self_json(_row(), None, "")["quota"] == 100
    assert set(login_json(_row())) == {"id", "username", "display_name", "role", "status", "group"}
    assert permissions_of(ROOT)["sidebar_settings"] is False
    assert permissions_of(ADMIN)["sidebar_modules"] == {"admin": {"setting": False}}


def test_format_quota_like_new_api() -> None:
    assert format_quota(100_000, 500_000, True) == "$0.200000"
    assert format_quota(100_000, 500_000, False) == "100000 points"


def test_generated_secrets_have_new_api_shapes() -> None:
    tokens = {new_access_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(28 <= len(t) <= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in tokens)
    assert all(re.fullmatch(r"[A-Za-z0-9]{4}", new_aff_code()) for _ in range(50))
    codes = {new_redemption_code() for _ in range(50)}
    assert len(codes) == 50 and all(re.fullmatch(r"[0-9a-f]{32}", c) for c in codes)


def test_option_rows() -> None:
    rows = {"On": "true", "Off": "false", "Blank": "", "N": "250", "Bad": "x", "Neg": "-4"}
    assert option_flag(rows, "On", False) and not option_flag(rows, "Off", True)
    assert option_flag(rows, "Blank", True) and option_flag(rows, "Missing", True)
    assert option_int(rows, "N") == 250 and option_int(rows, "Bad", 1) == 1
    assert option_int(rows, "Neg") == 0 and option_int(rows, "Missing") == 0
