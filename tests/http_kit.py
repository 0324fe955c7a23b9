"""Helpers for the relay.http tests: each test body runs on the session loop (asyncio) and on a
fresh uvloop loop in a thread; a relay.http server on a free port; a raw HTTP client that parses
what comes back with llhttp; and scripted upstream stubs for the client tests."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httptools
import uvloop

from relay.http.client import UpstreamClient
from relay.http.server import Handler, HttpServer, HttpServerProtocol

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

__all__ = [
    "Body",
    "Msg",
    "Raw",
    "Run",
    "Served",
    "Stub",
    "answering",
    "client",
    "ok_response",
    "read_request",
    "serve",
    "stub",
    "zstd",
]

Body = Callable[[], Coroutine[Any, Any, None]]
Run = Callable[[Body], Awaitable[None]]
BODY_TIMEOUT = 20.0  # a hung test fails instead of stalling the run


def run_in_uvloop(body: Body) -> None:
    """Run one test body to completion on a new uvloop loop (call from a worker thread)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(asyncio.wait_for(body(), BODY_TIMEOUT))


async def run_on(kind: str, body: Body) -> None:
    if kind == "uvloop":
        await asyncio.to_thread(run_in_uvloop, body)
    else:
        await asyncio.wait_for(body(), BODY_TIMEOUT)


# ---- a relay.http server ------------------------------------------------------------------
@dataclass
class Served:
    server: HttpServer
    listener: asyncio.AbstractServer
    port: int

    def conn(self) -> HttpServerProtocol:
        """The only live connection."""
        (conn,) = self.server.connections
        return conn


@contextlib.asynccontextmanager
async def serve(handler: Handler, max_body: int = 1 << 20) -> AsyncIterator[Served]:
    server = HttpServer(handler, max_body)
    listener = await asyncio.get_running_loop().create_server(server.protocol, "127.0.0.1", 0)
    try:
        yield Served(server, listener, listener.sockets[0].getsockname()[1])
    finally:
        listener.close()
        tasks = [c.task for c in server.connections if c.task is not None]
        for conn in list(server.connections):
            conn.abort()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)  # let aborted transports report connection_lost


# ---- a raw client ---------------------------------------------------------------------------
@dataclass
class Msg:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Raw:
    """A plain TCP client; `response()` parses the next HTTP response with llhttp."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.raw = bytearray()  # every byte received
        self.parser = httptools.HttpResponseParser(self)
        self.done: list[Msg] = []
        self.msg = Msg()
        self.eof = False

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, port: int) -> AsyncIterator[Raw]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        raw = cls(reader, writer)
        try:
            yield raw
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    # llhttp callbacks
    def on_message_begin(self) -> None:
        self.msg = Msg()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.msg.headers[name.decode().lower()] = value.decode()

    def on_headers_complete(self) -> None:
        self.msg.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.msg.body += body  # fine for test-sized bodies

    def on_message_complete(self) -> None:
        self.done.append(self.msg)

    async def _read(self) -> bytes:
        try:
            data = await self.reader.read(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
        return data

    async def _pump(self) -> None:
        data = await self._read()
        assert data, f"connection closed; received {bytes(self.raw)!r}"
        self.raw += data
        self.parser.feed_data(data)

    async def response(self) -> Msg:
        """The next complete response (fails if the connection ends first)."""
        while not self.done:
            await self._pump()
        return self.done.pop(0)

    async def until(self, marker: bytes) -> None:
        """Read (and parse) until `marker` has arrived."""
        while marker not in self.raw:
            await self._pump()

    async def until_eof(self) -> bytes:
        """Everything up to the server's close (a reset counts as a close)."""
        start = len(self.raw)
        while not self.eof:
            data = await self._read()
            self.raw += data
        return bytes(self.raw[start:])

    async def closed(self) -> bool:
        """True once the server closed the connection without sending anything more."""
        return await self.until_eof() == b""


# ---- scripted upstreams for the client -------------------------------------------------------
@dataclass
class Stub:
    port: int = 0
    connections: int = 0
    requests: list[tuple[bytes, bytes]] = field(default_factory=list)  # (head, body)


StubHandler = Callable[[Stub, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(stub: Stub, reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """One request (Content-Length framing, as relay's client sends); None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length)
    stub.requests.append((head, body))
    return head, body


@contextlib.asynccontextmanager
async def stub(
    handler: StubHandler, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Stub]:
    info = Stub()
    tasks: set[asyncio.Task[None]] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        info.connections += 1
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)  # type: ignore[arg-type]
        try:
            # A client that hangs up, and a task cancelled at shutdown, end the connection
            # quietly (a cancelled connection task would make asyncio.streams log an error).
            with contextlib.suppress(
                ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError
            ):
                await handler(info, reader, writer)
        finally:
            writer.close()
            tasks.discard(task)  # type: ignore[arg-type]

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0, ssl=ssl_context)
    info.port = server.sockets[0].getsockname()[1]
    try:
        yield info
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def client(*, verify_tls: bool = True) -> AsyncIterator[UpstreamClient]:
    upstream = UpstreamClient(verify_tls=verify_tls)
    try:
        yield upstream
    finally:
        await upstream.close()


def answering(*responses: bytes) -> StubHandler:
    """Answer the requests on each connection with `responses` in turn (the last repeats)."""

    async def handler(stub: Stub, reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        count = 0
        while await read_request(stub, reader) is not None:
            w.write(responses[min(count, len(responses) - 1)])
            await w.drain()
            count += 1

    return handler


def ok_response(body: bytes = b"ok", *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    head = f"HTTP/1.1 200 OK\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body
