"""relay.http.body: request-body decompression, every coding, stacked codings and the cap."""

from __future__ import annotations

import functools
import gzip
import os
import tracemalloc
import zlib
from collections.abc import Callable

import brotli
import pytest
from http_kit import zstd

from relay.http.body import BodyTooLarge, decompress

TEXT = b'{"model": "gpt-4o-mini", "messages": []}' * 50


def raw_deflate(data: bytes) -> bytes:
    encoder = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return encoder.compress(data) + encoder.flush()


CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": functools.partial(brotli.compress, quality=4),  # quality 11 is slow on big inputs
    "zstd": zstd.compress,
}


@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_each_coding_round_trips(coding: str) -> None:
    assert decompress(CODINGS[coding](TEXT), coding, len(TEXT)) == TEXT


def test_raw_deflate_without_the_zlib_header_is_accepted() -> None:
    assert decompress(raw_deflate(TEXT), "deflate", 1 << 20) == TEXT


@pytest.mark.parametrize("header", ["GZIP", " gzip ", "Gzip,", ", gzip"])
def test_coding_names_ignore_case_and_blanks(header: str) -> None:
    assert decompress(gzip.compress(TEXT), header, 1 << 20) == TEXT


def test_stacked_codings_are_undone_in_reverse_order() -> None:
    # "gzip, br": gzip was applied first, then br — so br comes off first.
    body = brotli.compress(gzip.compress(TEXT))
    assert decompress(body, "gzip, br", 1 << 20) == TEXT
    three = zstd.compress(zlib.compress(gzip.compress(TEXT)))
    assert decompress(three, "gzip, deflate, zstd", 1 << 20) == TEXT
    with pytest.raises(ValueError, match="invalid compressed body"):
        decompress(body, "br, gzip", 1 << 20)  # the wrong order is an error, not garbage


@pytest.mark.parametrize("header", ["identity", "", " , ", "identity, gzip, identity"])
def test_identity_changes_nothing(header: str) -> None:
    body = gzip.compress(TEXT) if "gzip" in header else TEXT
    assert decompress(body, header, 1 << 20) == TEXT


@pytest.mark.parametrize("coding", ["compress", "lzma", "gzip;q=1"])
def test_unknown_coding_is_a_value_error(coding: str) -> None:
    with pytest.raises(ValueError, match="unsupported Content-Encoding"):
        decompress(TEXT, coding, 1 << 20)


def test_an_unknown_coding_anywhere_in_the_stack_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported Content-Encoding: snappy"):
        decompress(gzip.compress(TEXT), "snappy, gzip", 1 << 20)


@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_corrupt_data_is_a_value_error(coding: str) -> None:
    with pytest.raises(ValueError, match="invalid compressed body"):
        decompress(b"\x1f\x8b\x08\x00 this is not compressed at all " * 3, coding, 1 << 20)


@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_truncated_data_is_a_value_error(coding: str) -> None:
    """A cut-off stream must not pass for a shorter body."""
    whole = CODINGS[coding](os.urandom(4096))
    with pytest.raises(ValueError, match="compressed body"):
        decompress(whole[: len(whole) // 2], coding, 1 << 20)


@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_the_cap_is_inclusive(coding: str) -> None:
    body = CODINGS[coding](TEXT)
    assert decompress(body, coding, len(TEXT)) == TEXT
    with pytest.raises(BodyTooLarge):
        decompress(body, coding, len(TEXT) - 1)


@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_a_bomb_stops_at_the_cap_without_inflating_it_all(coding: str) -> None:
    """64 MiB of zeros shrink to a few KiB (br: ~100 bytes); decoding must stop near the cap
    instead of materialising the whole thing."""
    bomb = CODINGS[coding](bytes(64 << 20))
    assert len(bomb) < 128 << 10
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            decompress(bomb, coding, 1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_the_cap_applies_to_every_layer_of_a_stack() -> None:
    inner = gzip.compress(bytes(4 << 20))  # ~4 KiB that expand to 4 MiB
    with pytest.raises(BodyTooLarge):
        decompress(brotli.compress(inner), "gzip, br", 1 << 20)
    assert decompress(brotli.compress(inner), "gzip, br", 4 << 20) == bytes(4 << 20)


def test_empty_compressed_bodies_decode_to_empty() -> None:
    for coding, encode in CODINGS.items():
        assert decompress(encode(b""), coding, 0) == b""
