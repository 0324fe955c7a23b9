"""Public facts: GET /api/status."""

from __future__ import annotations

from typing import Any

from relay import __version__
from relay.admin.api import Access, AdminRequest, Api
from relay.store.users import count_users

api = Api("public")

STATUS_DATA = {
    "type": "object",
    "properties": {
        "version": {"type": "string"},
        "start_time": {"type": "integer"},
        "system_name": {"type": "string"},
        "quota_per_unit": {"type": "number"},
        "quota_display_type": {"type": "string"},
        "setup": {"type": "boolean"},
    },
}


def _flag(rows: dict[str, str], key: str, default: bool) -> bool:
    return rows.get(key, "true" if default else "false") == "true"


@api.get("/api/status", access=Access.PUBLIC, summary="System status", data=STATUS_DATA)
async def status(req: AdminRequest) -> dict[str, Any]:
    options, rows = await req.ctx.options()
    async with req.ctx.engine.connect() as conn:
        has_users = await count_users(conn) > 0
    return {
        "version": __version__,
        "start_time": int(req.ctx.started),
        "system_name": rows.get("SystemName", "New API"),
        "logo": rows.get("Logo", ""),
        "footer_html": rows.get("Footer", ""),
        "server_address": rows.get("ServerAddress", ""),
        "quota_per_unit": options["QuotaPerUnit"],
        "quota_display_type": options["general_setting.quota_display_type"],
        "display_in_currency": options["DisplayInCurrencyEnabled"],
        "usd_exchange_rate": options["USDExchangeRate"],
        "self_use_mode_enabled": options["SelfUseModeEnabled"],
        "demo_site_enabled": _flag(rows, "DemoSiteEnabled", False),
        "register_enabled": _flag(rows, "RegisterEnabled", True),
        "password_login_enabled": _flag(rows, "PasswordLoginEnabled", True),
        "password_register_enabled": _flag(rows, "PasswordRegisterEnabled", True),
        "email_verification": _flag(rows, "EmailVerificationEnabled", False),
        "github_oauth": _flag(rows, "GitHubOAuthEnabled", False),
        "oidc_enabled": _flag(rows, "oidc.enabled", False),
        "oidc_client_id": rows.get("oidc.client_id", ""),
        "oidc_authorization_endpoint": "/api/oauth/oidc/authorize",
        "turnstile_check": False,
        "setup": has_users,
    }
