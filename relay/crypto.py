"""Secrets at rest: HMAC lookup digests and AES-GCM sealing of API keys and channel keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import string

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ALPHABET = string.digits + string.ascii_letters
TOKEN_KEY_LENGTH = 48
SEALED_PREFIX = "enc:v1:"


class Keyring:
    """Derives independent subkeys from CRYPTO_SECRET for lookup digests and sealing."""

    def __init__(self, crypto_secret: str) -> None:
        master = crypto_secret.encode()
        self._lookup_key = hmac.new(master, b"relay/lookup", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(master, b"relay/seal", hashlib.sha256).digest())
        self._digests: dict[str, str] = {}

    def lookup_digest(self, value: str) -> str:
        """Hex HMAC-SHA256 of a secret: what the database stores and indexes instead of it."""
        return hmac.new(self._lookup_key, value.encode(), hashlib.sha256).hexdigest()

    def cached_digest(self, value: str) -> str:
        """lookup_digest, remembered for the keys this process keeps seeing (the relay's API
        keys: an HMAC per request cost more than the rest of authentication)."""
        digest = self._digests.get(value)
        if digest is None:
            if len(self._digests) >= 100_000:
                self._digests.clear()
            digest = self._digests[value] = self.lookup_digest(value)
        return digest

    def seal(self, plaintext: str) -> str:
        """AES-GCM encrypt; the result is printable and starts with SEALED_PREFIX."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str) -> str:
        """Decrypt a value made by `seal`. Values without the prefix are legacy plaintext."""
        if not sealed.startswith(SEALED_PREFIX):
            return sealed
        raw = base64.urlsafe_b64decode(sealed[len(SEALED_PREFIX) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], None).decode()
        except InvalidTag:
            raise ValueError("sealed value does not match CRYPTO_SECRET") from None


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def generate_token_key() -> str:
    """48 random characters of [0-9A-Za-z], as new-api's token keys (shown as sk-<key>)."""
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(TOKEN_KEY_LENGTH))


def mask_key(key: str) -> str:
    """Show the first and last four characters only."""
    if len(key) <= 8:
        return "*" * len(key)
    return f"{key[:4]}{'*' * 10}{key[-4:]}"
