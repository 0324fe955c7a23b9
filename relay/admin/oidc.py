"""Single sign-on with a generic OpenID Connect provider (authorization code flow).

Configured by options: oidc.enabled, oidc.discovery_url (the provider's
/.well-known/openid-configuration; new-api calls it oidc.well_known), oidc.client_id,
oidc.client_secret, oidc.allowed_domains, oidc.default_group, oidc.auto_register.

The id_token is verified here (signature against the provider's JWKS, issuer, audience, expiry,
nonce); the userinfo endpoint only fills in claims the id_token lacks, for the same subject.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
from jwt import PyJWKSet

from relay.options import Options

DISCOVERY_TTL = 300.0
JWKS_TTL = 300.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
# asymmetric algorithms only: an HMAC-signed or unsigned ("none") id_token is refused
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
CLOCK_SKEW_SECONDS = 60


class OidcError(Exception):
    """A refusal shown to the person signing in."""


@dataclass(frozen=True)
class OidcConfig:
    enabled: bool
    discovery_url: str
    client_id: str
    client_secret: str
    allowed_domains: tuple[str, ...]
    default_group: str
    auto_register: bool

    @classmethod
    def from_options(cls, options: Options) -> OidcConfig:
        v = options.values
        return cls(
            enabled=v["oidc.enabled"],
            discovery_url=v["oidc.discovery_url"] or v["oidc.well_known"],
            client_id=v["oidc.client_id"],
            client_secret=v["oidc.client_secret"],
            allowed_domains=v["oidc.allowed_domains"],
            default_group=v["oidc.default_group"],
            auto_register=v["oidc.auto_register"],
        )

    def domain_allowed(self, email: str) -> bool:
        if not self.allowed_domains:
            return True
        _, at, domain = email.rpartition("@")
        return bool(at) and domain.lower() in self.allowed_domains


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str
    email_verified: bool | None
    username: str
    name: str


def nonce_for(state: str, secret: str) -> str:
    """The nonce sent with a state: derived from it, so nothing else needs storing."""
    digest = hmac.new(secret.encode(), b"relay/oidc-nonce:" + state.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


class OidcClient:
    """Talks to the provider; caches its discovery document and keys for a few minutes."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self._http = http
        self._providers: dict[str, tuple[float, Provider]] = {}
        self._keys: dict[str, tuple[float, PyJWKSet]] = {}
        self._lock = asyncio.Lock()

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with self._http.get(url, timeout=HTTP_TIMEOUT) as resp:
                if resp.status != 200:
                    raise OidcError(f"the OIDC provider's {what} answered HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OidcError(f"cannot reach the OIDC provider's {what}: {exc}") from None
        if not isinstance(data, dict):
            raise OidcError(f"the OIDC provider's {what} is not a JSON object")
        return data

    async def provider(self, discovery_url: str) -> Provider:
        now = time.monotonic()
        cached = self._providers.get(discovery_url)
        if cached is not None and cached[0] > now:
            return cached[1]
        doc = await self._get_json(discovery_url, "discovery document")
        try:
            provider = Provider(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                userinfo_endpoint=str(doc.get("userinfo_endpoint") or ""),
                jwks_uri=str(doc["jwks_uri"]),
                token_auth_methods=tuple(
                    doc.get("token_endpoint_auth_methods_supported") or ("client_secret_basic",)
                ),
            )
        except KeyError as exc:
            raise OidcError(f"the OIDC discovery document lacks {exc.args[0]}") from None
        self._providers[discovery_url] = (now + DISCOVERY_TTL, provider)
        return provider

    async def _key_set(self, jwks_uri: str, refresh: bool = False) -> PyJWKSet:
        now = time.monotonic()
        cached = self._keys.get(jwks_uri)
        if cached is not None and cached[0] > now and not refresh:
            return cached[1]
        async with self._lock:
            data = await self._get_json(jwks_uri, "key set")
            try:
                keys = PyJWKSet.from_dict(data)
            except jwt.PyJWTError as exc:
                raise OidcError(f"the OIDC provider's key set is unusable: {exc}") from None
            self._keys[jwks_uri] = (now + JWKS_TTL, keys)
            return keys

    async def exchange(
        self, config: OidcConfig, provider: Provider, code: str, redirect_uri: str
    ) -> dict[str, Any]:
        """Trade the authorization code for tokens at the token endpoint."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        auth = None
        if "client_secret_basic" in provider.token_auth_methods or (
            "client_secret_post" not in provider.token_auth_methods
        ):
            auth = aiohttp.BasicAuth(config.client_id, config.client_secret)
        else:
            form |= {"client_id": config.client_id, "client_secret": config.client_secret}
        try:
            async with self._http.post(
                provider.token_endpoint,
                data=form,
                auth=auth,
                headers={"Accept": "application/json"},
                timeout=HTTP_TIMEOUT,
            ) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OidcError(f"cannot reach the OIDC provider's token endpoint: {exc}") from None
        if status != 200 or not isinstance(body, dict) or "error" in body:
            detail = (
                body.get("error_description") or body.get("error") if isinstance(body, dict) else ""
            )
            raise OidcError(f"the OIDC provider refused the code ({detail or f'HTTP {status}'})")
        return body

    async def verify_id_token(
        self, config: OidcConfig, provider: Provider, id_token: str, nonce: str
    ) -> dict[str, Any]:
        """The id_token's claims, after checking signature, issuer, audience, expiry, nonce."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise OidcError("the id_token is malformed") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise OidcError(f"the id_token is not signed with an accepted algorithm ({alg})")
        key = await self._signing_key(provider, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key.key,
                algorithms=[alg],
                audience=config.client_id,
                issuer=provider.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise OidcError("the id_token has expired") from None
        except jwt.InvalidAudienceError:
            raise OidcError("the id_token was issued for another client") from None
        except jwt.InvalidIssuerError:
            raise OidcError("the id_token was issued by another provider") from None
        except jwt.PyJWTError as exc:
            raise OidcError(f"the id_token is invalid: {exc}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != config.client_id:
            raise OidcError("the id_token was issued for another client")
        if "nonce" in claims and not hmac.compare_digest(str(claims["nonce"]), nonce):
            raise OidcError("the id_token does not belong to this sign-in (nonce)")
        return claims

    async def _signing_key(self, provider: Provider, kid: str | None) -> jwt.PyJWK:
        for refresh in (False, True):  # a key we have not seen: the provider may have rotated
            keys = await self._key_set(provider.jwks_uri, refresh=refresh)
            if kid is None and len(keys.keys) == 1:
                return keys.keys[0]
            for key in keys.keys:
                if key.key_id == kid:
                    return key
        raise OidcError("the id_token is signed with a key the provider does not publish")

    async def userinfo(self, provider: Provider, access_token: str) -> dict[str, Any]:
        if not provider.userinfo_endpoint or not access_token:
            return {}
        try:
            async with self._http.get(
                provider.userinfo_endpoint,
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=HTTP_TIMEOUT,
            ) as resp:
                if resp.status != 200:
                    return {}
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    async def identity(
        self, config: OidcConfig, code: str, redirect_uri: str, nonce: str
    ) -> Identity:
        """The whole callback: code → tokens → verified identity."""
        provider = await self.provider(config.discovery_url)
        tokens = await self.exchange(config, provider, code, redirect_uri)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise OidcError("the OIDC provider returned no id_token")
        claims = await self.verify_id_token(config, provider, id_token, nonce)
        if not claims.get("email"):
            extra = await self.userinfo(provider, str(tokens.get("access_token") or ""))
            if extra.get("sub") == claims["sub"]:
                claims = {**extra, **claims}
        verified = claims.get("email_verified")
        return Identity(
            subject=str(claims["sub"]),
            email=str(claims.get("email") or "").strip().lower(),
            email_verified=verified if isinstance(verified, bool) else None,
            username=str(claims.get("preferred_username") or ""),
            name=str(claims.get("name") or ""),
        )
