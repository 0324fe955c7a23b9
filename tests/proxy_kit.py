"""Tiny real proxies for tests: an HTTP proxy (CONNECT tunnels and absolute-form requests)
and a SOCKS5 server (RFC 1928, with RFC 1929 user/password when asked for), each recording
what it was asked to reach. They run as asyncio servers on 127.0.0.1. A connection is spliced
to its target after the first request, so later requests on it are not logged."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


@dataclass
class ProxyLog:
    port: int = 0
    targets: list[str] = field(default_factory=list)  # "CONNECT h:p", "GET http://…", "h:p"
    auth: list[str] = field(default_factory=list)  # credentials each request presented


async def _pipe(reader: Reader, writer: Writer) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError, RuntimeError):
        writer.write_eof()


async def _splice(reader: Reader, writer: Writer, up_reader: Reader, up_writer: Writer) -> None:
    try:
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
    finally:
        up_writer.close()


@contextlib.asynccontextmanager
async def _server(
    handler: object, log: ProxyLog, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[ProxyLog]:
    tasks: set[asyncio.Task[None]] = set()

    async def on_connection(reader: Reader, writer: Writer) -> None:
        task = asyncio.current_task()
        tasks.add(task)  # type: ignore[arg-type]
        try:
            with contextlib.suppress(
                ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError
            ):
                await handler(reader, writer)  # type: ignore[operator]
        finally:
            writer.close()
            tasks.discard(task)  # type: ignore[arg-type]

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0, ssl=ssl_context)
    log.port = server.sockets[0].getsockname()[1]
    try:
        yield log
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _basic(headers: list[bytes]) -> str:
    for line in headers:
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "proxy-authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "basic":
                return base64.b64decode(token).decode()
    return ""


@contextlib.asynccontextmanager
async def http_proxy(
    credentials: str = "", ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[ProxyLog]:
    """An HTTP proxy (HTTPS with `ssl_context`); with `credentials` ("user:pass") it answers
    407 to anyone else."""
    log = ProxyLog()

    async def handle(reader: Reader, writer: Writer) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *headers = head[:-4].split(b"\r\n")
        method, target, version = request_line.decode("latin-1").split(" ")
        log.targets.append(f"{method} {target}")
        log.auth.append(_basic(headers))
        if credentials and log.auth[-1] != credentials:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _splice(reader, writer, up_reader, up_writer)
            return
        url = urlsplit(target)  # absolute form: ask the origin in origin form
        up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        kept = [h for h in headers if not h.lower().startswith(b"proxy-authorization:")]
        line = f"{method} {path} {version}".encode("latin-1")
        up_writer.write(b"\r\n".join([line, *kept]) + b"\r\n\r\n")
        await _splice(reader, writer, up_reader, up_writer)

    async with _server(handle, log, ssl_context) as served:
        yield served


@contextlib.asynccontextmanager
async def socks5_proxy(credentials: str = "") -> AsyncIterator[ProxyLog]:
    """A SOCKS5 server (CONNECT only); with `credentials` it requires user/password auth.
    `targets` shows a host name as given, so a remote-DNS request is visible as such."""
    log = ProxyLog()

    async def handle(reader: Reader, writer: Writer) -> None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        wanted = 2 if credentials else 0
        if version != 5 or wanted not in methods:
            writer.write(b"\x05\xff")
            return
        writer.write(bytes([5, wanted]))
        if credentials:
            _, ulen = await reader.readexactly(2)
            user = await reader.readexactly(ulen)
            (plen,) = await reader.readexactly(1)
            password = await reader.readexactly(plen)
            log.auth.append(f"{user.decode()}:{password.decode()}")
            if log.auth[-1] != credentials:
                writer.write(b"\x01\x01")
                return
            writer.write(b"\x01\x00")
        _, command, _, atyp = await reader.readexactly(4)
        if atyp == 1:
            host = ".".join(str(b) for b in await reader.readexactly(4))
        elif atyp == 3:
            (size,) = await reader.readexactly(1)
            host = (await reader.readexactly(size)).decode()
        else:
            writer.write(b"\x05\x08\x00\x01" + bytes(6))  # address type not supported
            return
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        log.targets.append(f"{host}:{port}")
        if command != 1:
            writer.write(b"\x05\x07\x00\x01" + bytes(6))
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.write(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
            return
        writer.write(b"\x05\x00\x00\x01" + bytes(6))
        await writer.drain()
        await _splice(reader, writer, up_reader, up_writer)

    async with _server(handle, log) as served:
        yield served
