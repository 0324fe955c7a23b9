"""Decompressing request bodies (gzip, deflate, br, zstd) with a cap on the decompressed size."""

from __future__ import annotations

import sys
import zlib

import brotli

if sys.version_info >= (3, 14):  # the standard library has zstd from 3.14 on
    from compression import zstd
else:
    from backports import zstd


class BodyTooLarge(Exception):
    """The body grew past the cap while being decompressed."""


def _whole(out: bytes | bytearray, limit: int, finished: bool) -> bytes:
    """The decompressed body, once it is known to be within the cap and complete."""
    if len(out) > limit:
        raise BodyTooLarge
    if not finished:
        raise ValueError("truncated compressed body")
    return bytes(out)


def _zlib(data: bytes, wbits: int, limit: int) -> bytes:
    decoder = zlib.decompressobj(wbits)
    out = bytearray()
    try:
        chunk = decoder.decompress(data, limit + 1)
        out += chunk
        while decoder.unconsumed_tail and len(out) <= limit:
            out += decoder.decompress(decoder.unconsumed_tail, limit + 1 - len(out))
    except zlib.error as exc:
        raise ValueError(f"invalid compressed body: {exc}") from None
    return _whole(out, limit, decoder.eof)


def _brotli(data: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    out = bytearray()
    try:
        # A limited output buffer, so that a bomb (100 bytes can expand to gigabytes) stops
        # near the cap; the rest of the output is pulled with empty input.
        out += decoder.process(data, output_buffer_limit=limit + 1)
        while len(out) <= limit and not decoder.can_accept_more_data():
            out += decoder.process(b"", output_buffer_limit=limit + 1 - len(out))
    except brotli.error as exc:
        raise ValueError(f"invalid compressed body: {exc}") from None
    return _whole(out, limit, decoder.is_finished())


def _zstd(data: bytes, limit: int) -> bytes:
    decoder = zstd.ZstdDecompressor()
    try:
        out = decoder.decompress(data, max_length=limit + 1)
    except zstd.ZstdError as exc:
        raise ValueError(f"invalid compressed body: {exc}") from None
    return _whole(out, limit, decoder.eof)


def decompress(body: bytes, content_encoding: str, limit: int) -> bytes:
    """Undo Content-Encoding (applied in the listed order, so undone in reverse)."""
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",") if c.strip()]):
        if coding in ("identity", ""):
            continue
        if coding in ("gzip", "x-gzip"):
            body = _zlib(body, 16 + zlib.MAX_WBITS, limit)
        elif coding == "deflate":
            try:
                body = _zlib(body, zlib.MAX_WBITS, limit)
            except ValueError:  # raw deflate without the zlib header, as some clients send
                body = _zlib(body, -zlib.MAX_WBITS, limit)
        elif coding == "br":
            body = _brotli(body, limit)
        elif coding == "zstd":
            body = _zstd(body, limit)
        else:
            raise ValueError(f"unsupported Content-Encoding: {coding}")
    return body
