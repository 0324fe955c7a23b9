"""The upstream HTTP/1.1 client: pooled keep-alive connections per host (and proxy) on
uvloop + llhttp.

A response is read whole (`read`) or as it arrives (`chunks`, for SSE), with back-pressure
(reading pauses while too much is buffered), an idle-read timeout reset by every byte, and a
total timeout. A connection goes back to the pool only after a complete keep-alive response.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

import httptools

from relay.http.proxy import ProxyFailed, ProxySpec, connect_tunnel, parse_proxy, socks_tunnel

_CLOSED_BEFORE_ANSWER = "upstream closed the connection before answering"
BUFFER_HIGH = 1024 * 1024  # pause reading the upstream above this many unread bytes
IDLE_KEEPALIVE = 90.0
MAX_IDLE_PER_HOST = 256


class UpstreamError(Exception):
    """The upstream failed us. Deliberately not a ConnectionError: relay tells an upstream
    that went away apart from a client that went away."""


class UpstreamTimeout(UpstreamError):
    """The upstream sent nothing for longer than the read timeout (or the total ran out)."""


class UpstreamClosed(UpstreamError):
    """The upstream closed the connection before the response was complete."""


def _check_header(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("header values must not contain line breaks")
    return value


@functools.lru_cache(maxsize=1024)  # channels are few: each upstream URL is parsed once
def _split_url(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, request target, Host header) of an upstream URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"unsupported upstream URL: {url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    return scheme, parts.hostname, port, target, host_header


class _Connection(asyncio.Protocol):
    """One upstream connection; carries one request/response at a time."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: UpstreamResponse | None = None
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.response is None:  # bytes nobody asked for: the connection is unusable
            self.close()
            return
        self.response._touch()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.response._fail(UpstreamClosed(f"malformed upstream response: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.pool.forget(self)
        response = self.response
        if response is not None and not response.complete:
            if exc is None and response._error is None and response._ends_at_eof():
                response._finish()  # the body was delimited by the close (HTTP/1.0 style)
                return
            answered = response._answered  # any byte at all: the upstream began to answer
            reason = "upstream closed the connection" if answered else _CLOSED_BEFORE_ANSWER
            response._fail(UpstreamClosed(reason))

    # llhttp callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.response is not None
        self.response.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        assert self.response is not None
        self.response.status = self.parser.get_status_code()
        self.response.keep_alive = self.parser.should_keep_alive()
        self.response._headers_done()

    def on_body(self, body: bytes) -> None:
        assert self.response is not None
        self.response._feed(body)

    def on_message_complete(self) -> None:
        assert self.response is not None
        self.response._finish()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


class UpstreamResponse:
    """Status and headers, then the body: `read()` or `async for chunk in chunks()`."""

    def __init__(self, conn: _Connection, read_timeout: float | None, deadline: float | None):
        self._conn = conn
        self._loop = conn.loop
        self.status = 0
        self.headers: dict[str, str] = {}
        self.keep_alive = False
        self.complete = False
        self._buffer: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._read_timeout = read_timeout
        self._deadline = deadline
        self._last_byte = time.monotonic()
        self._answered = False  # some bytes of the response arrived
        self._timer: asyncio.TimerHandle | None = None
        self._released = False
        self._whole = False  # read() wants the whole body: never pause the connection
        self._decoder: zlib._Decompress | None = None

    # ---- fed by the connection ---------------------------------------------------------
    def _touch(self) -> None:
        self._last_byte = time.monotonic()
        self._answered = True

    def _ends_at_eof(self) -> bool:
        """Headers arrived and announced neither a length nor chunks: the body ends at EOF."""
        if not self.status or self.status < 200 or self.status in (204, 304):
            return False
        chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        return not chunked and "content-length" not in self.headers

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _headers_done(self) -> None:
        encoding = self.headers.get("content-encoding", "").lower()
        if encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = zlib.decompressobj()
        self._wake()

    def _feed(self, data: bytes) -> None:
        if self._decoder is not None:
            data = self._decoder.decompress(data)
        if data:
            self._buffer.append(data)
            self._buffered += len(data)
            if self._buffered > BUFFER_HIGH and not self._whole and self._conn.transport:
                self._conn.transport.pause_reading()
        self._wake()

    def _finish(self) -> None:
        if self._decoder is not None:
            tail = self._decoder.flush()
            if tail:
                self._buffer.append(tail)
        self.complete = True
        self._wake()

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    # ---- waiting -----------------------------------------------------------------------
    def _on_timer(self) -> None:
        self._timer = None
        now = time.monotonic()
        if self._deadline is not None and now >= self._deadline:
            self._fail(UpstreamTimeout("the upstream request took too long"))
            return
        if self._read_timeout is not None and now - self._last_byte >= self._read_timeout:
            self._fail(UpstreamTimeout("the upstream sent nothing for too long"))
            return
        self._arm()

    def _arm(self) -> None:
        """Wake up at the next moment a timeout could have run out."""
        candidates = []
        if self._read_timeout is not None:
            candidates.append(self._last_byte + self._read_timeout)
        if self._deadline is not None:
            candidates.append(self._deadline)
        if candidates and self._timer is None:
            delay = max(min(candidates) - time.monotonic(), 0.0)
            self._timer = self._loop.call_later(delay, self._on_timer)

    async def _wait(self) -> None:
        self._waiter = self._loop.create_future()
        self._arm()
        try:
            await self._waiter
        finally:
            self._waiter = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    async def _headers(self) -> None:
        while not self.status and self._error is None:
            await self._wait()
        if self._error is not None:
            raise self._error

    # ---- reading -----------------------------------------------------------------------
    async def chunks(self) -> AsyncIterator[bytes]:
        """Body pieces as they arrive (decompressed); ends at the end of the response."""
        while True:
            if self._buffer:
                data = self._buffer.popleft()
                self._buffered -= len(data)
                if self._buffered < BUFFER_HIGH // 2 and self._conn.transport is not None:
                    self._conn.transport.resume_reading()
                yield data
                continue
            if self.complete:
                return
            if self._error is not None:
                raise self._error
            await self._wait()

    async def read(self) -> bytes:
        """The whole body (no back-pressure: the caller wants all of it anyway)."""
        self._whole = True
        if self._conn.transport is not None:
            self._conn.transport.resume_reading()
        while not self.complete:
            if self._error is not None:
                raise self._error
            await self._wait()
        body = b"".join(self._buffer)
        self._buffer.clear()
        self._buffered = 0
        return body

    def release(self) -> None:
        """Done with the response: the connection is pooled again if that is safe."""
        if self._released:
            return
        self._released = True
        if self._timer is not None:
            self._timer.cancel()
        conn = self._conn
        conn.response = None
        if self.complete and self.keep_alive and self._error is None and not self._buffer:
            conn.pool.put_back(conn)
        else:
            conn.close()

    def close(self) -> None:
        """Abandon the response (and its connection)."""
        self._released = True
        if self._timer is not None:
            self._timer.cancel()
        self._conn.response = None
        self._conn.close()


class Pool:
    """Idle keep-alive connections to one (scheme, host, port), direct or through one proxy."""

    def __init__(
        self,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        proxy: ProxySpec | None,
        proxy_tls: ssl.SSLContext,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl = ssl_context
        self.proxy = proxy
        self.proxy_tls = proxy_tls  # for https:// proxies
        # An http:// upstream behind an HTTP proxy is asked in absolute form, on a
        # connection to the proxy itself; every other proxied pool holds tunnels.
        self.absolute_form = proxy is not None and proxy.is_http and ssl_context is None
        self.idle: collections.deque[_Connection] = collections.deque()

    def put_back(self, conn: _Connection) -> None:
        if conn.transport is None or len(self.idle) >= MAX_IDLE_PER_HOST:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self.idle.append(conn)

    def forget(self, conn: _Connection) -> None:
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)

    def take(self) -> _Connection | None:
        now = time.monotonic()
        while self.idle:
            conn = self.idle.pop()
            if conn.transport is not None and now - conn.idle_since < IDLE_KEEPALIVE:
                return conn
            conn.close()
        return None

    async def connect(self, seconds: float | None) -> _Connection:
        """A new connection, or UpstreamTimeout after `seconds` (proxy included)."""
        try:
            return await asyncio.wait_for(self._open(), seconds)
        except TimeoutError:
            raise UpstreamTimeout(f"connecting to {self.host}:{self.port} timed out") from None
        except ProxyFailed as exc:
            raise UpstreamError(str(exc)) from None

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        proxy = self.proxy
        if proxy is None:
            _, conn = await loop.create_connection(
                lambda: _Connection(self),
                self.host,
                self.port,
                ssl=self.ssl,
                server_hostname=self.host if self.ssl else None,
            )
            return conn
        if self.absolute_form:
            tls = self.proxy_tls if proxy.tls else None
            _, conn = await loop.create_connection(
                lambda: _Connection(self),
                proxy.host,
                proxy.port,
                ssl=tls,
                server_hostname=proxy.host if tls else None,
            )
            return conn
        if proxy.is_http:  # an https upstream: TLS inside the CONNECT tunnel
            assert self.ssl is not None
            transport = await connect_tunnel(proxy, self.host, self.port, self.proxy_tls)
            conn = _Connection(self)
            try:
                tls_transport = await loop.start_tls(
                    transport, conn, self.ssl, server_hostname=self.host
                )
            except BaseException:
                transport.close()
                raise
            assert tls_transport is not None
            conn.connection_made(tls_transport)
            return conn
        sock = await socks_tunnel(proxy, self.host, self.port)
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(self),
                sock=sock,
                ssl=self.ssl,
                server_hostname=self.host if self.ssl else None,
            )
        except BaseException:
            sock.close()
            raise
        return conn


class UpstreamClient:
    """One per worker: connection pools by origin, shared by all requests."""

    def __init__(self, *, verify_tls: bool = True) -> None:
        self._pools: dict[tuple[ProxySpec | None, str, str, int], Pool] = {}
        self._ssl = ssl.create_default_context()
        if not verify_tls:
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE

    def _pool(self, proxy: ProxySpec | None, scheme: str, host: str, port: int) -> Pool:
        key = (proxy, scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            ssl_context = self._ssl if scheme == "https" else None
            pool = self._pools[key] = Pool(host, port, ssl_context, proxy, self._ssl)
        return pool

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        connect_timeout: float | None = 30.0,
        read_timeout: float | None = None,
        total_timeout: float | None = None,
        proxy: str = "",
    ) -> UpstreamResponse:
        """Send a request and wait for the response's status and headers; `proxy` is a
        channel's proxy URL (ValueError when it is not a usable one)."""
        scheme, host, port, target, host_header = _split_url(url)
        pool = self._pool(parse_proxy(proxy) if proxy else None, scheme, host, port)
        if pool.absolute_form:
            target = f"{scheme}://{host_header}{target}"
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {host_header}\r\n"]
        if pool.absolute_form and pool.proxy is not None and pool.proxy.authorization:
            lines.append(f"Proxy-Authorization: {pool.proxy.authorization}\r\n")
        for name, value in headers.items():
            lines.append(f"{name}: {_check_header(value)}\r\n")
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        head = "".join(lines).encode("latin-1", "strict")
        deadline = time.monotonic() + total_timeout if total_timeout else None
        conn = pool.take()
        if conn is not None:
            try:
                return await self._exchange(conn, head + body, read_timeout, deadline)
            except UpstreamClosed as exc:
                # A pooled connection the upstream had just closed: nothing of the request
                # was answered, so send it once more on a new connection.
                if exc.args and exc.args[0] != _CLOSED_BEFORE_ANSWER:
                    raise
        conn = await pool.connect(connect_timeout)
        return await self._exchange(conn, head + body, read_timeout, deadline)

    @staticmethod
    async def _exchange(
        conn: _Connection, request: bytes, read_timeout: float | None, deadline: float | None
    ) -> UpstreamResponse:
        response = UpstreamResponse(conn, read_timeout, deadline)
        conn.response = response
        if conn.transport is None:
            raise UpstreamClosed(_CLOSED_BEFORE_ANSWER)
        conn.transport.write(request)
        try:
            await response._headers()
        except BaseException:
            response.close()
            raise
        return response

    async def close(self) -> None:
        for pool in self._pools.values():
            while pool.idle:
                pool.idle.pop().close()
