"""relay.crypto: sealing round trips, legacy plaintext, lookup digests, generated keys."""

from __future__ import annotations

import base64
import re

import pytest

from relay.crypto import (
    KEY_ALPHABET,
    SEALED_PREFIX,
    TOKEN_KEY_LENGTH,
    Keyring,
    generate_token_key,
    is_sealed,
    mask_key,
)


@pytest.mark.parametrize("plaintext", ["sk-abc", "", "密钥 with spaces", "x" * 5000])
def test_seal_open_round_trip(plaintext: str) -> None:
    ring = Keyring("secret-one")
    sealed = ring.seal(plaintext)
    assert sealed.startswith(SEALED_PREFIX) and is_sealed(sealed)
    assert sealed.isprintable()
    assert plaintext == "" or plaintext not in sealed
    assert ring.open(sealed) == plaintext
    # Another keyring built from the same secret opens it too (a restart, another worker).
    assert Keyring("secret-one").open(sealed) == plaintext


def test_sealing_is_randomized() -> None:
    ring = Keyring("secret-one")
    assert ring.seal("same") != ring.seal("same")


@pytest.mark.parametrize("legacy", ["sk-plain-channel-key", "", "enc:v2:not-ours"])
def test_open_returns_legacy_plaintext_unchanged(legacy: str) -> None:
    assert not is_sealed(legacy)
    assert Keyring("secret-one").open(legacy) == legacy


def test_wrong_secret_is_a_value_error() -> None:
    sealed = Keyring("secret-one").seal("channel-key")
    with pytest.raises(ValueError, match="CRYPTO_SECRET"):
        Keyring("secret-two").open(sealed)


def test_tampered_ciphertext_is_a_value_error() -> None:
    ring = Keyring("secret-one")
    sealed = ring.seal("channel-key")
    raw = bytearray(base64.urlsafe_b64decode(sealed[len(SEALED_PREFIX) :]))
    raw[-1] ^= 0x01
    with pytest.raises(ValueError):
        ring.open(SEALED_PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode())
    with pytest.raises(ValueError):
        ring.open(SEALED_PREFIX + "AAAA")  # shorter than a nonce


def test_lookup_digest_is_stable_and_secret_dependent() -> None:
    a1, a2, b = Keyring("secret-one"), Keyring("secret-one"), Keyring("secret-two")
    digest = a1.lookup_digest("key-123")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert a1.lookup_digest("key-123") == digest == a2.lookup_digest("key-123")
    assert b.lookup_digest("key-123") != digest
    assert a1.lookup_digest("key-124") != digest
    assert "key-123" not in digest


def test_generated_token_keys() -> None:
    keys = {generate_token_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert len(key) == TOKEN_KEY_LENGTH == 48
        assert re.fullmatch(r"[0-9A-Za-z]{48}", key)
    assert set("".join(keys)) <= set(KEY_ALPHABET)
    # 200 keys × 48 characters use (practically) the whole alphabet of 62.
    assert len(set("".join(keys))) == 62


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("", ""),
        ("abcd", "****"),
        ("abcdefgh", "********"),
        ("abcdefghi", "abcd**********fghi"),
        ("sk-0123456789abcdef", "sk-0**********cdef"),
    ],
)
def test_mask_key(key: str, masked: str) -> None:
    assert mask_key(key) == masked
