"""Rules shared by the account, user and redemption routes: input checks with new-api's texts,
who may manage whom, what a user record looks like on the wire, and secret generators.

Everything here is pure (no I/O), so it is unit-tested directly.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relay.admin.api import ApiError
from relay.store.users import ROLE_ADMIN, ROLE_COMMON, ROLE_ROOT, STATUS_DISABLED, STATUS_ENABLED

USERNAME_MAX = 20  # new-api model.UserNameMaxLength
SETUP_USERNAME_MAX = 12  # the setup wizard is stricter
DISPLAY_NAME_MAX = 20
PASSWORD_MIN = 8
PASSWORD_MAX = 20
BCRYPT_MAX_BYTES = 72
REMARK_MAX = 255
GROUP_MAX = 64
ROLES = (ROLE_COMMON, ROLE_ADMIN, ROLE_ROOT)

# new-api's English texts (i18n/locales/en.yaml)
MSG_INVALID_PARAMS = "Invalid parameters"
MSG_LOGIN_DISABLED = "Password login has been disabled by administrator"
MSG_REGISTER_DISABLED = "New user registration has been disabled by administrator"
MSG_PASSWORD_REGISTER_DISABLED = (
    "Password registration has been disabled by administrator, "
    "please use third-party account verification"
)
MSG_CREDENTIALS_EMPTY = "Username or password is empty"
MSG_CREDENTIALS_WRONG = "Username or password is incorrect, or user has been banned"
MSG_USER_EXISTS = "Username already exists or has been deleted"
MSG_USER_NOT_EXISTS = "User does not exist"
MSG_NO_PERMISSION_SAME_LEVEL = "No permission to access users of same or higher level"
MSG_NO_PERMISSION_HIGHER_LEVEL = "No permission to update users of same or higher permission level"
MSG_CANNOT_CREATE_HIGHER = (
    "Cannot create users with permission level equal to or higher than yourself"
)
MSG_CANNOT_DELETE_ROOT = "Cannot delete super administrator account"
MSG_CANNOT_DISABLE_ROOT = "Cannot disable super administrator user"
MSG_CANNOT_DEMOTE_ROOT = "Cannot demote super administrator user"
MSG_ALREADY_ADMIN = "This user is already an administrator"
MSG_ALREADY_COMMON = "This user is already a common user"
MSG_ADMIN_CANNOT_PROMOTE = "Regular administrators cannot promote other users to administrator"
MSG_ORIGINAL_PASSWORD = "Original password is incorrect"
MSG_PASSWORD_UNSET = (
    "This account has no password set. "
    "Please use password reset or contact an administrator to reset it."
)
MSG_QUOTA_CHANGE_ZERO = "Quota change amount cannot be zero"
MSG_REDEEM_FAILED = "Redemption failed, please try again later"


def input_invalid(detail: str) -> ApiError:
    """new-api's user.input_invalid ("Invalid input {{.Error}}")."""
    return ApiError(f"Invalid input: {detail}")


# --- reading a JSON body strictly (a bool is not a number, a number is not a string) --------


def text_field(body: Mapping[str, Any], name: str, default: str = "") -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise input_invalid(f"{name} must be a string")
    return value


def int_field(
    body: Mapping[str, Any],
    name: str,
    default: int | None = None,
    *,
    lo: int = -(2**62),
    hi: int = 2**62,
) -> int:
    """An integer member (a float with no fraction is accepted); missing → default or error."""
    value = body.get(name)
    if value is None:
        if default is None:
            raise input_invalid(f"{name} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise input_invalid(f"{name} must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise input_invalid(f"{name} must be an integer")
        value = int(value)
    if not lo <= value <= hi:
        raise input_invalid(f"{name} must be between {lo} and {hi}")
    return int(value)


def bool_field(body: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise input_invalid(f"{name} must be true or false")
    return value


# --- account fields -----------------------------------------------------------------------


def _at_most(value: str, name: str, limit: int) -> str:
    if len(value) > limit:
        raise input_invalid(f"{name} must be at most {limit} characters")
    return value


def check_username(value: str, limit: int = USERNAME_MAX) -> str:
    name = value.strip()
    if not name:
        raise input_invalid("username is required")
    _at_most(name, "username", limit)
    if any(not ch.isprintable() for ch in name):
        raise input_invalid("username must not contain control characters")
    return name


def check_password(value: str, *, upper: int = PASSWORD_MAX) -> str:
    if len(value) < PASSWORD_MIN:
        raise input_invalid(f"password must be at least {PASSWORD_MIN} characters")
    if len(value) > upper or len(value.encode()) > BCRYPT_MAX_BYTES:
        raise input_invalid(f"password must be at most {upper} characters")
    return value


def check_display_name(value: str) -> str:
    return _at_most(value, "display_name", DISPLAY_NAME_MAX)


def check_group(value: str) -> str:
    group = value.strip()
    if not group or len(group) > GROUP_MAX or "," in group:
        raise input_invalid(f"group must be 1-{GROUP_MAX} characters without commas")
    return group


def check_remark(value: str) -> str:
    return _at_most(value, "remark", REMARK_MAX)


# --- who manages whom ---------------------------------------------------------------------


def can_manage(my_role: int, target_role: int) -> bool:
    """new-api canManageTargetRole: root manages anyone, an admin only lower roles."""
    return my_role == ROLE_ROOT or my_role > target_role


@dataclass(frozen=True)
class Change:
    """What a `POST /api/user/manage` action does to the target's role and status."""

    role: int
    status: int


def manage_change(action: str, my_role: int, role: int, status: int) -> Change:
    """The new role and status for disable / enable / promote / demote, or ApiError."""
    if action == "disable":
        if role == ROLE_ROOT:
            raise ApiError(MSG_CANNOT_DISABLE_ROOT)
        return Change(role, STATUS_DISABLED)
    if action == "enable":
        return Change(role, STATUS_ENABLED)
    if action == "promote":
        if my_role != ROLE_ROOT:
            raise ApiError(MSG_ADMIN_CANNOT_PROMOTE)
        if role >= ROLE_ADMIN:
            raise ApiError(MSG_ALREADY_ADMIN)
        return Change(ROLE_ADMIN, status)
    if action == "demote":
        if role == ROLE_ROOT:
            raise ApiError(MSG_CANNOT_DEMOTE_ROOT)
        if role == ROLE_COMMON:
            raise ApiError(MSG_ALREADY_COMMON)
        return Change(ROLE_COMMON, status)
    raise ApiError(f"{MSG_INVALID_PARAMS}: unknown action {action!r}")


def quota_delta(mode: str, value: int) -> tuple[int, bool]:
    """(amount, override) for add_quota's modes add / subtract / override."""
    if mode == "override":
        if value < 0:
            raise input_invalid("value must not be negative")
        return value, True
    if mode in ("add", "subtract"):
        if value <= 0:
            raise ApiError(MSG_QUOTA_CHANGE_ZERO)
        return (value if mode == "add" else -value), False
    raise ApiError(f"{MSG_INVALID_PARAMS}: mode must be add, subtract or override")


# --- users on the wire --------------------------------------------------------------------

_HIDDEN = frozenset({"password", "access_token", "auth_version", "deleted_at", "aff_history"})


def user_json(row: Mapping[Any, Any], live: tuple[int, int] | None = None) -> dict[str, Any]:
    """A user as new-api's admin listings show it: never the password or access token.

    `live` is (quota, used_quota) from Redis when the user's balance is loaded there.
    """
    out = {str(k): v for k, v in row.items() if k not in _HIDDEN}  # plain str keys for orjson
    out["aff_history_quota"] = row.get("aff_history", 0)
    out["aff_code"] = row.get("aff_code") or ""
    deleted = row.get("deleted_at")
    out["DeletedAt"] = deleted.isoformat() if deleted is not None else None
    if live is not None:
        out["quota"], out["used_quota"] = live
    return out


def permissions_of(role: int) -> dict[str, Any]:
    """new-api calculateUserPermissions: what the console's sidebar may offer."""
    if role == ROLE_ROOT:
        return {"sidebar_settings": False, "sidebar_modules": {}}
    if role == ROLE_ADMIN:
        return {"sidebar_settings": True, "sidebar_modules": {"admin": {"setting": False}}}
    return {"sidebar_settings": True, "sidebar_modules": {"admin": False}}


_SELF_FIELDS = (
    "id", "username", "display_name", "role", "status", "email", "github_id", "discord_id",
    "oidc_id", "wechat_id", "telegram_id", "group", "quota", "used_quota", "request_count",
    "aff_count", "aff_quota", "inviter_id", "linux_do_id", "setting", "stripe_customer",
)  # fmt: skip


def self_json(
    row: Mapping[Any, Any], live: tuple[int, int] | None, sidebar_modules: str
) -> dict[str, Any]:
    """GET /api/user/self (new-api buildSelfUserData): no password, no access token."""
    out = {name: row[name] for name in _SELF_FIELDS}
    out["aff_code"] = row["aff_code"] or ""
    out["aff_history_quota"] = row["aff_history"]
    out["sidebar_modules"] = sidebar_modules
    out["permissions"] = permissions_of(int(row["role"]))
    if live is not None:
        out["quota"], out["used_quota"] = live
    return out


def login_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {k: row[k] for k in USER_BRIEF_PROPERTIES}


# --- OpenAPI schemas of the above ------------------------------------------------------------

USER_BRIEF_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "username": {"type": "string"},
    "display_name": {"type": "string"},
    "role": {"type": "integer"},
    "status": {"type": "integer"},
    "group": {"type": "string"},
}
USER_BRIEF = {"type": "object", "properties": USER_BRIEF_PROPERTIES}  # login_json
USERNAME_SCHEMA = {"type": "string", "maxLength": USERNAME_MAX}
PASSWORD_SCHEMA = {"type": "string", "minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX}
DISPLAY_NAME_SCHEMA = {"type": "string", "maxLength": DISPLAY_NAME_MAX}


def format_quota(quota: int, quota_per_unit: float, in_currency: bool) -> str:
    """new-api logger.LogQuota, in English: "$0.200000" or "100000 points"."""
    if in_currency and quota_per_unit > 0:
        return f"${quota / quota_per_unit:.6f}"
    return f"{quota} points"


# --- secrets ------------------------------------------------------------------------------

_AFF_ALPHABET = string.ascii_letters + string.digits


def new_access_token() -> str:
    """A personal access token: 32 URL-safe random characters (new-api: 28-32)."""
    return secrets.token_urlsafe(24)


def new_aff_code() -> str:
    """An invitation code: 4 random letters or digits, as new-api."""
    return "".join(secrets.choice(_AFF_ALPHABET) for _ in range(4))


def new_redemption_code() -> str:
    """A redemption code: 32 hex digits (new-api common.GetUUID)."""
    return secrets.token_hex(16)


# --- option rows the account routes read (strings, as stored) -------------------------------


def option_flag(rows: Mapping[str, str], key: str, default: bool) -> bool:
    value = rows.get(key)
    return default if value is None or value == "" else value.strip().lower() == "true"


def option_int(rows: Mapping[str, str], key: str, default: int = 0) -> int:
    try:
        return max(int(rows.get(key, default)), 0)
    except ValueError:
        return default
