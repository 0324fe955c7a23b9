"""A small OpenID Connect provider for tests: discovery, authorize (auto-approves the configured
user), token (an RS256 id_token signed with a key generated here), jwks and userinfo.

`fault` makes the next id_tokens wrong in one way, to check that relay refuses them.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import orjson
from aiohttp import BasicAuth, web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from relay_harness import free_port

FAULTS = (
    "tamper",  # payload changed after signing
    "unsigned",  # alg "none"
    "foreign_key",  # signed by a key the provider does not publish (same kid)
    "hs256",  # HMAC-signed with the client secret (algorithm confusion)
    "wrong_aud",
    "expired",
    "wrong_iss",
    "bad_nonce",
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    claims: dict[str, Any]


@dataclass
class OidcProvider:
    client_id: str = "relay-test-client"
    client_secret: str = "relay-test-client-secret-0123456789abcdef"
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    user: dict[str, Any] = field(default_factory=dict)
    fault: str = ""
    kid: str = "test-key-1"
    token_auth_seen: list[str] = field(default_factory=list)
    _grants: dict[str, Grant] = field(default_factory=dict)
    _access: dict[str, dict[str, Any]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    port: int = 0

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    async def start(self) -> OidcProvider:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/userinfo", self._userinfo)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- endpoints ------------------------------------------------------------------------

    async def _discovery(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": list(self.auth_methods),
            }
        )

    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("response_type") != "code" or q.get("client_id") != self.client_id:
            return web.json_response({"error": "invalid_request"}, status=400)
        if "openid" not in q.get("scope", "").split():
            return web.json_response({"error": "invalid_scope"}, status=400)
        code = secrets.token_urlsafe(16)
        self._grants[code] = Grant(
            q["client_id"], q["redirect_uri"], q.get("nonce"), dict(self.user)
        )
        location = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}"
        raise web.HTTPFound(location)

    def _client_auth(self, request: web.Request, form: Any) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic ") and "client_secret_basic" in self.auth_methods:
            creds = BasicAuth.decode(header)
            if (creds.login, creds.password) == (self.client_id, self.client_secret):
                return "client_secret_basic"
        if "client_secret_post" in self.auth_methods and (
            form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        ):
            return "client_secret_post"
        return None

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        method = self._client_auth(request, form)
        if method is None:
            return web.json_response({"error": "invalid_client"}, status=401)
        self.token_auth_seen.append(method)
        grant = self._grants.pop(str(form.get("code", "")), None)
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant.redirect_uri
        ):
            return web.json_response({"error": "invalid_grant"}, status=400)
        access = secrets.token_urlsafe(16)
        self._access[access] = grant.claims
        return web.json_response(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant),
            }
        )

    async def _jwks(self, _: web.Request) -> web.Response:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return web.json_response({"keys": [jwk]})

    async def _userinfo(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        claims = self._access.get(token)
        if claims is None:
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response(claims)

    # --- the id_token, right or wrong -----------------------------------------------------

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            **grant.claims,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        fault = self.fault
        if fault == "wrong_aud":
            claims["aud"] = "someone-else"
        elif fault == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        elif fault == "wrong_iss":
            claims["iss"] = "http://evil.example"
        elif fault == "bad_nonce":
            claims["nonce"] = "not-the-nonce"
        headers = {"kid": self.kid}
        if fault == "unsigned":
            head = _b64(orjson.dumps({"alg": "none", "typ": "JWT", **headers}))
            return f"{head}.{_b64(orjson.dumps(claims))}."
        if fault == "hs256":
            return jwt.encode(claims, self.client_secret, algorithm="HS256", headers=headers)
        key = self.foreign_key if fault == "foreign_key" else self.key
        token = jwt.encode(claims, key, algorithm="RS256", headers=headers)
        if fault == "tamper":
            head, _, rest = token.partition(".")
            _, _, signature = rest.partition(".")
            forged = {**claims, "email": "root@example.com", "sub": "forged-subject"}
            token = f"{head}.{_b64(orjson.dumps(forged))}.{signature}"
        return token
