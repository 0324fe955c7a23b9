"""The relay port's HTTP/1.1 server: uvloop protocols and llhttp (httptools), nothing else.

Measured on this 2-core machine (bench/results/2026-12-03-relay-vs-proxy.md, targets fwd-*): a
featureless forwarder on these protocols and relay.http's client relays ~18,500 req/s on one
core (13,000 streamed) where the same forwarder on aiohttp's low-level server and ClientSession
does ~5,200 (4,100) — the framework, not the work, was the ceiling. This
module does only what the relay API needs: keep-alive and pipelining, chunked and compressed
request bodies with a size cap, Expect: 100-continue, whole and streamed (chunked) responses
with back-pressure, cancelling a handler when its client goes away, and a graceful drain.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote

import httptools

from relay.http.body import BodyTooLarge, decompress
from relay.http.websocket import WebSocket, accept_head

log = logging.getLogger("relay.http")

KEEPALIVE_SECONDS = 75.0
HIGH_WATER = 256 * 1024

_REASONS = {
    100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}  # fmt: skip


def reason(status: int) -> str:
    return _REASONS.get(status, "Status")


class Headers(dict[str, str]):
    """Request headers under lower-case names; lookups ignore case."""

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())


class Request:
    """One parsed request, body included (already decompressed and capped)."""

    __slots__ = ("_query", "body", "body_error", "headers", "keep_alive", "method", "path",
                 "peer", "query_string", "responder", "transport", "upgrade")  # fmt: skip

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Headers,
        body: bytes,
        peer: str,
        keep_alive: bool,
        transport: asyncio.Transport,
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.body = body
        self.body_error: str | None = None  # "too_large" or a decoding error
        self.peer = peer
        self.keep_alive = keep_alive
        self.transport = transport
        self.responder: Responder | None = None  # set when its handling starts
        self.upgrade: Upgrade | None = None  # set when the client asked to switch protocols
        self._query: dict[str, str] | None = None

    @property
    def query(self) -> dict[str, str]:
        if self._query is None:
            self._query = (
                dict(parse_qsl(self.query_string, keep_blank_values=True))
                if self.query_string
                else {}
            )
        return self._query


_date_cache: tuple[int, bytes] = (0, b"")


def _date_header() -> bytes:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True).encode())
    return _date_cache[1]


def _head(status: int, headers: Iterable[tuple[str, str]], extra: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason(status)}\r\n".encode(), b"Date: ", _date_header(), b"\r\n"]
    for name, value in headers:
        lines.append(f"{name}: {value}\r\n".encode())
    lines.append(extra)
    return b"".join(lines)


class Reply:
    """A whole response a handler returns for the server to send."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.body = body
        self.headers = headers


class Responder:
    """Writes one response: whole (`send`) or streamed in chunks (`start`, `write`, `end`)."""

    __slots__ = ("_conn", "_head", "_keep_alive", "finished", "started", "status")

    def __init__(self, conn: HttpServerProtocol, keep_alive: bool) -> None:
        self._conn = conn
        self._keep_alive = keep_alive
        self._head = b""  # a started stream's status and headers, sent with its first bytes
        self.started = False
        self.finished = False
        self.status = 0

    def send(self, status: int, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> None:
        """The whole response at once (Content-Length framing)."""
        if self.started:
            raise RuntimeError("response already started")
        self.started = self.finished = True
        self.status = status
        connection = b"" if self._keep_alive else b"Connection: close\r\n"
        extra = b"Content-Length: %d\r\n%s\r\n" % (len(body), connection)
        self._conn.write(_head(status, headers, extra) + body)

    async def start(self, status: int, headers: Iterable[tuple[str, str]] = ()) -> None:
        """Begin a streamed response (chunked transfer encoding); the head leaves with the
        first chunk, as Go's http.ResponseWriter sends it (one write instead of two)."""
        if self.started:
            raise RuntimeError("response already started")
        if self._conn.transport is None:
            raise ConnectionResetError("client disconnected")
        self.started = True
        self.status = status
        connection = b"" if self._keep_alive else b"Connection: close\r\n"
        self._head = _head(status, headers, b"Transfer-Encoding: chunked\r\n%s\r\n" % connection)

    async def write(self, data: bytes) -> None:
        """One chunk; waits while the client reads slower than we write."""
        if data:
            head, self._head = self._head, b""
            self._conn.write(b"%s%x\r\n%s\r\n" % (head, len(data), data))
            await self._conn.drain()

    async def end(self, last: bytes = b"") -> None:
        """The end of a streamed body, after its `last` chunk in the same write."""
        if not self.finished:
            self.finished = True
            head, self._head = self._head, b""
            chunk = b"%x\r\n%s\r\n" % (len(last), last) if last else b""
            self._conn.write(head + chunk + b"0\r\n\r\n")
            await self._conn.drain()


class Upgrade:
    """A request's ask to switch protocols: the handler may `accept` it as a WebSocket, else
    its ordinary response is sent and the connection closes. Bytes the client sends meanwhile
    are held for the WebSocket."""

    __slots__ = ("_conn", "_held", "_key")

    def __init__(self, conn: HttpServerProtocol, key: str) -> None:
        self._conn = conn
        self._key = key  # Sec-WebSocket-Key
        self._held: list[bytes] = []

    def hold(self, data: bytes | None) -> None:
        if data:
            self._held.append(data)

    def accept(
        self, responder: Responder, subprotocol: str | None, headers: Iterable[tuple[str, str]]
    ) -> WebSocket:
        """Answer 101 (with the client's Sec-WebSocket-Key checked by the caller) and hand the
        connection over to the returned WebSocket."""
        conn = self._conn
        if conn.transport is None or responder.started:
            raise ConnectionResetError("client disconnected")
        responder.started = responder.finished = True
        responder.status = 101
        conn.write(accept_head(self._key, subprotocol, headers))
        ws = WebSocket(conn, conn.server.max_body)
        conn.upgraded = True
        conn.tunnel = ws.feed
        for data in self._held:
            ws.feed(data)
        self._held = []
        return ws


Handler = Callable[[Request, Responder], Awaitable[None]]


class HttpServer:
    """Owns the handler and the live connections; `protocol` is the loop's protocol factory."""

    def __init__(self, handler: Handler, max_body: int) -> None:
        self.handler = handler
        self.max_body = max_body
        self.connections: set[HttpServerProtocol] = set()
        self.closing = False
        self.request_done = asyncio.Event()  # set whenever a request finishes

    def protocol(self) -> HttpServerProtocol:
        return HttpServerProtocol(self)

    def close_idle(self) -> None:
        """Stop keep-alive: idle connections close now, busy ones after their response."""
        self.closing = True
        for conn in list(self.connections):
            conn.close_when_idle()

    async def drain(self, grace: float, first_request_grace: float = 1.0) -> None:
        """Wait for in-flight requests to finish (up to `grace` seconds), then close the rest.

        A connection accepted just before the listener closed may not have sent its request
        yet; it gets `first_request_grace` seconds to do so, or a SIGHUP roll would drop it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        fresh_deadline = loop.time() + min(first_request_grace, grace)
        while any(c.fresh for c in self.connections) and loop.time() < fresh_deadline:
            self.request_done.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.request_done.wait(), 0.01)
        self.close_idle()
        while any(c.busy for c in self.connections) and loop.time() < deadline:
            self.request_done.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.request_done.wait(), deadline - loop.time())
        for conn in list(self.connections):
            conn.abort()


class HttpServerProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.peer = "127.0.0.1"
        self.pending: collections.deque[Request] = collections.deque()
        self.task: asyncio.Task[None] | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.write_ok = asyncio.Event()
        self.write_ok.set()
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._too_large = False
        self._close_after = False
        self.requests = 0  # requests begun on this connection
        self.receiving = False  # between the first byte of a request and its end
        self.tunnel: Callable[[bytes | None], None] | None = None  # after an upgrade request
        self.upgraded = False  # the connection now carries a WebSocket

    # ---- connection ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.peer = str(peer[0])
        self.server.connections.add(self)
        self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.transport = None
        self.write_ok.set()
        self.pending.clear()
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        if self.tunnel is not None:
            self.tunnel(None)  # a WebSocket session sees the end and winds down itself
        if self.task is not None and not self.task.done() and not self.upgraded:
            self.task.cancel()  # the client left: stop its request now (upstream closed too)

    def pause_writing(self) -> None:
        self.write_ok.clear()

    def resume_writing(self) -> None:
        self.write_ok.set()

    def write(self, data: bytes) -> None:
        if self.transport is None:
            raise ConnectionResetError("client disconnected")
        self.transport.write(data)

    async def drain(self) -> None:
        if self.transport is None:
            raise ConnectionResetError("client disconnected")
        if not self.write_ok.is_set():
            await self.write_ok.wait()
            if self.transport is None:
                raise ConnectionResetError("client disconnected")

    @property
    def busy(self) -> bool:
        running = self.task is not None and not self.task.done()
        return running or self.receiving or bool(self.pending)

    @property
    def fresh(self) -> bool:
        """Accepted, but not one request has started to arrive yet."""
        return self.requests == 0 and self.transport is not None

    def close_when_idle(self) -> None:
        self._close_after = True
        if not self.busy and self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _arm_idle_timer(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.idle_timer = self.loop.call_later(KEEPALIVE_SECONDS, self._idle_timeout)

    def _idle_timeout(self) -> None:
        if not self.busy and self.transport is not None:
            self.transport.close()

    # ---- parsing ---------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel(data)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            if self.tunnel is None:
                self._reject(501, b"protocol upgrade is not supported here")
            else:  # the rest belongs to the protocol switched to
                self.tunnel(data[exc.args[0] :])
        except httptools.HttpParserError:
            self._reject(400, b"malformed HTTP request")

    def _reject(self, status: int, text: bytes) -> None:
        if self.transport is not None:
            self.transport.write(
                _head(status, [("Content-Type", "text/plain")],
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(text)) + text
            )  # fmt: skip
            self.transport.close()

    def on_message_begin(self) -> None:
        self.requests += 1
        self.receiving = True
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = 0
        self._too_large = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        for name, value in self._headers:
            if name.lower() == b"expect" and value.lower() == b"100-continue":
                self.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        if self._too_large:
            return
        self._body_size += len(body)
        if self._body_size > self.server.max_body:
            self._too_large = True
            self._body = []
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        self.receiving = False
        headers = Headers()
        for name, value in self._headers:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        parsed = httptools.parse_url(self._url)
        request = Request(
            self.parser.get_method().decode(),
            unquote(parsed.path.decode("latin-1")),
            (parsed.query or b"").decode("latin-1"),
            headers,
            b"".join(self._body),
            self.peer,
            self.parser.should_keep_alive() and not self.server.closing,
            self.transport,
        )
        if self.parser.should_upgrade():
            # feed_data raises HttpParserUpgrade next; the handler accepts or answers and closes.
            request.keep_alive = False
            request.upgrade = Upgrade(self, headers.get("sec-websocket-key", ""))
            self.tunnel = request.upgrade.hold
        if self._too_large:
            request.body_error = "too_large"
        elif request.body and "content-encoding" in headers:
            try:
                request.body = decompress(request.body, headers["content-encoding"],
                                          self.server.max_body)  # fmt: skip
            except BodyTooLarge:
                request.body, request.body_error = b"", "too_large"
            except ValueError as exc:
                request.body, request.body_error = b"", str(exc)
        self._body = []
        if self.busy:
            self.pending.append(request)
        else:
            self._run(request)

    # ---- handling --------------------------------------------------------------------
    def _run(self, request: Request) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        responder = Responder(self, request.keep_alive and not self._close_after)
        request.responder = responder
        self.task = self.loop.create_task(self._handle(request, responder))

    async def _handle(self, request: Request, responder: Responder) -> None:
        try:
            await self.server.handler(request, responder)
            if not responder.finished:
                if responder.started:
                    await responder.end()
                else:
                    responder.send(500, b"", [])
        except asyncio.CancelledError:
            return
        except ConnectionError:
            self.abort()
            return
        except Exception:
            log.exception("unhandled error serving %s %s", request.method, request.path)
            self.abort()
            return
        finally:
            self.task = None
            self.server.request_done.set()
        if self.transport is None:
            return
        if not request.keep_alive or self._close_after:
            self.transport.close()
        elif self.pending:
            self._run(self.pending.popleft())
        else:
            self._arm_idle_timer()
