"""relay.admin.oidc: configuration from options, allowed domains, nonces, exchange methods."""

from __future__ import annotations

from relay.admin.oidc import OidcConfig, nonce_for
from relay.options import Options


def config(**rows: str) -> OidcConfig:
    return OidcConfig.from_options(Options.from_rows(rows))


def test_config_from_options_and_new_apis_names() -> None:
    c = config(**{"oidc.well_known": "https://idp/.well-known/openid-configuration"})
    assert c.discovery_url == "https://idp/.well-known/openid-configuration"
    assert c.enabled is False and c.auto_register is True and c.default_group == "default"
    both = config(**{"oidc.well_known": "https://old", "oidc.discovery_url": "https://new"})
    assert both.discovery_url == "https://new"


def test_allowed_domains() -> None:
    anyone = config()
    assert anyone.domain_allowed("a@b.example") and anyone.domain_allowed("")
    only = config(**{"oidc.allowed_domains": "Example.com, corp.example"})
    assert only.domain_allowed("ann@example.com") and only.domain_allowed("bo@CORP.example")
    assert not only.domain_allowed("eve@example.com.evil.test")
    assert not only.domain_allowed("eve@sub.example.com")
    assert not only.domain_allowed("no-at-sign") and not only.domain_allowed("")


def test_nonce_is_tied_to_state_and_secret() -> None:
    assert nonce_for("s1", "k") == nonce_for("s1", "k")
    assert nonce_for("s1", "k") != nonce_for("s2", "k")
    assert nonce_for("s1", "k") != nonce_for("s1", "other")
    assert "=" not in nonce_for("s1", "k")
