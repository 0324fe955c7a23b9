"""relay.http.server, the wire protocol: requests, keep-alive, pipelining, request bodies
(chunked, compressed, capped), protocol errors, 100-continue and streamed responses.
Each test runs on asyncio and on uvloop (see conftest.py)."""

from __future__ import annotations

import asyncio
import functools
import gzip
import zlib
from collections.abc import Callable

import brotli
import pytest
from http_kit import Raw, Run, serve, zstd

from relay.http.server import Request, Responder


async def echo(request: Request, responder: Responder) -> None:
    """The request body back; a body error as 413 (too large) or 400 with its message."""
    if request.body_error is not None:
        status = 413 if request.body_error == "too_large" else 400
        responder.send(status, request.body_error.encode())
        return
    responder.send(200, request.body, [("X-Path", request.path)])


def post(path: str, body: bytes, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


async def test_a_plain_request_and_response(run: Run) -> None:
    seen: list[Request] = []

    async def handler(request: Request, responder: Responder) -> None:
        seen.append(request)
        responder.send(201, b"made", [("Content-Type", "text/plain"), ("X-A", "1")])

    async def body() -> None:
        async with serve(handler) as srv, Raw.open(srv.port) as raw:
            raw.send(
                b"POST /v1/a%20b?x=1&y=&x=2 HTTP/1.1\r\nHost: t\r\nX-Custom: v\r\n"
                b"X-Dup: 1\r\nx-dup: 2\r\nContent-Length: 3\r\n\r\nabc"
            )
            msg = await raw.response()
        assert (msg.status, msg.body) == (201, b"made")
        assert raw.raw.startswith(b"HTTP/1.1 201 ")
        assert msg.headers["content-length"] == "4" and msg.headers["x-a"] == "1"
        assert msg.headers["content-type"] == "text/plain" and "date" in msg.headers
        assert "connection" not in msg.headers
        (req,) = seen
        assert (req.method, req.path, req.query_string) == ("POST", "/v1/a b", "x=1&y=&x=2")
        assert req.query == {"x": "2", "y": ""}
        assert req.headers["X-CUSTOM"] == "v" and req.headers.get("x-custom") == "v"
        assert "X-Custom" in req.headers and 42 not in req.headers
        assert req.headers.get("X-Dup") == "1, 2" and req.headers.get("missing", "d") == "d"
        assert req.body == b"abc" and req.body_error is None
        assert req.keep_alive and req.peer == "127.0.0.1" and req.responder is not None

    await run(body)


async def test_keep_alive_serves_several_requests_on_one_connection(run: Run) -> None:
    async def body() -> None:
        async with serve(echo) as srv, Raw.open(srv.port) as raw:
            for i in range(5):
                raw.send(post(f"/r{i}", b"x" * i))
                msg = await raw.response()
                assert (msg.status, msg.body, msg.headers["x-path"]) == (200, b"x" * i, f"/r{i}")
            assert len(srv.server.connections) == 1 and srv.conn().requests == 5

    await run(body)


async def test_pipelined_requests_are_answered_in_order(run: Run) -> None:
    async def slow_first(request: Request, responder: Responder) -> None:
        await asyncio.sleep({"/a": 0.05, "/b": 0.0, "/c": 0.02}[request.path])
        responder.send(200, request.path.encode() + request.body)

    async def body() -> None:
        async with serve(slow_first) as srv, Raw.open(srv.port) as raw:
            raw.send(post("/a", b"1") + b"GET /b HTTP/1.1\r\nHost: t\r\n\r\n" + post("/c", b"3"))
            got = [await raw.response() for _ in range(3)]
        assert [m.body for m in got] == [b"/a1", b"/b", b"/c3"]

    await run(body)


async def test_chunked_request_body(run: Run) -> None:
    async def body() -> None:
        async with serve(echo) as srv, Raw.open(srv.port) as raw:
            raw.send(b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
            await asyncio.sleep(0.02)
            raw.send(b"lo\r\n7\r\n, world\r\n0\r\n\r\n")
            msg = await raw.response()
            assert (msg.status, msg.body) == (200, b"hello, world")
            raw.send(GET)  # the connection is still in step
            assert (await raw.response()).status == 200

    await run(body)


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": functools.partial(brotli.compress, quality=4),
    "zstd": zstd.compress,
}


@pytest.mark.parametrize("coding", sorted(ENCODERS))
async def test_compressed_request_bodies_are_decompressed(run: Run, coding: str) -> None:
    text = b'{"messages": [' + b'"hi", ' * 500 + b'"bye"]}'

    async def body() -> None:
        async with serve(echo) as srv, Raw.open(srv.port) as raw:
            raw.send(post("/z", ENCODERS[coding](text), f"Content-Encoding: {coding}"))
            msg = await raw.response()
        assert (msg.status, msg.body) == (200, text)

    await run(body)


async def test_a_body_over_max_body_is_too_large_and_not_kept(run: Run) -> None:
    async def body() -> None:
        async with serve(echo, max_body=1000) as srv, Raw.open(srv.port) as raw:
            size = 4 << 20
            raw.send(f"POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n".encode())
            piece = b"x" * (64 << 10)
            for _ in range(size // len(piece) // 2):
                raw.send(piece)
            await raw.writer.drain()
            conn = srv.conn()
            while not conn._too_large:  # the server went past the cap...
                await asyncio.sleep(0.01)
            assert conn._body == [] and conn.receiving  # ...and holds none of it
            for _ in range(size // len(piece) // 2):
                raw.send(piece)
            msg = await raw.response()
            assert (msg.status, msg.body) == (413, b"too_large")
            raw.send(post("/small", b"ok"))  # the connection stays usable
            assert (await raw.response()).body == b"ok"

    await run(body)


async def test_a_chunked_body_over_max_body_is_too_large(run: Run) -> None:
    async def body() -> None:
        async with serve(echo, max_body=100) as srv, Raw.open(srv.port) as raw:
            raw.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            raw.send(b"40\r\n" + b"y" * 64 + b"\r\n" + b"40\r\n" + b"y" * 64 + b"\r\n0\r\n\r\n")
            assert (await raw.response()).status == 413
            raw.send(post("/", b"y" * 100))  # exactly the cap is fine
            assert (await raw.response()).status == 200

    await run(body)


async def test_a_decompression_bomb_is_too_large(run: Run) -> None:
    bomb = gzip.compress(bytes(16 << 20))  # ~16 KiB on the wire, 16 MiB inflated

    async def body() -> None:
        async with serve(echo, max_body=64 << 10) as srv, Raw.open(srv.port) as raw:
            raw.send(post("/bomb", bomb, "Content-Encoding: gzip"))
            msg = await raw.response()
        assert (msg.status, msg.body) == (413, b"too_large")

    await run(body)


@pytest.mark.parametrize(
    ("coding", "data", "error"),
    [
        ("gzip", b"\x1f\x8b\x08\x00garbage-garbage-garbage", "invalid compressed body"),
        ("gzip", gzip.compress(b"cut short" * 100)[:20], "truncated compressed body"),
        ("compress", b"anything", "unsupported Content-Encoding: compress"),
    ],
    ids=["corrupt", "truncated", "unknown"],
)
async def test_an_undecodable_body_reports_its_error(
    run: Run, coding: str, data: bytes, error: str
) -> None:
    seen: list[Request] = []

    async def handler(request: Request, responder: Responder) -> None:
        seen.append(request)
        await echo(request, responder)

    async def body() -> None:
        async with serve(handler) as srv, Raw.open(srv.port) as raw:
            raw.send(post("/", data, f"Content-Encoding: {coding}"))
            msg = await raw.response()
        assert msg.status == 400 and msg.body.decode().startswith(error)
        assert seen[0].body == b"" and seen[0].body_error == msg.body.decode()

    await run(body)


@pytest.mark.parametrize(
    "request_bytes",
    [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n"],
    ids=["no-method", "bad-header", "bad-version"],
)
async def test_malformed_http_is_answered_400_and_closed(run: Run, request_bytes: bytes) -> None:
    seen: list[Request] = []

    async def handler(request: Request, responder: Responder) -> None:
        seen.append(request)
        responder.send(200, b"")

    async def body() -> None:
        async with serve(handler) as srv, Raw.open(srv.port) as raw:
            raw.send(request_bytes)
            msg = await raw.response()
            assert msg.status == 400 and msg.headers["connection"] == "close"
            assert msg.body == b"malformed HTTP request"
            assert await raw.closed()
        assert seen == []

    await run(body)


async def test_an_upgrade_the_handler_does_not_accept_is_answered_and_closed(run: Run) -> None:
    seen: list[Request] = []

    async def handler(request: Request, responder: Responder) -> None:
        seen.append(request)
        responder.send(401, b"no")

    async def body() -> None:
        async with serve(handler) as srv, Raw.open(srv.port) as raw:
            raw.send(
                b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            )
            msg = await raw.response()
            assert msg.status == 401 and msg.headers["connection"] == "close"
            assert await raw.closed()
        (request,) = seen
        assert request.upgrade is not None and not request.keep_alive  # see test_websocket.py

    await run(body)


async def test_expect_100_continue_gets_the_interim_response(run: Run) -> None:
    async def body() -> None:
        async with serve(echo) as srv, Raw.open(srv.port) as raw:
            raw.send(
                b"POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
            )
            interim = await raw.response()  # before any of the body was sent
            assert interim.status == 100 and raw.raw.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
            raw.send(b"data")
            msg = await raw.response()
            assert (msg.status, msg.body) == (200, b"data")

    await run(body)


async def test_a_streamed_response_is_chunked_on_the_wire(run: Run) -> None:
    async def streamer(request: Request, responder: Responder) -> None:
        await responder.start(200, [("Content-Type", "text/event-stream")])
        for piece in (b"data: 1\n\n", b"", b"data: 22\n\n"):
            await responder.write(piece)
            await asyncio.sleep(0.01)
        await responder.end()
        await responder.end()  # ending twice writes nothing more

    async def body() -> None:
        async with serve(streamer) as srv, Raw.open(srv.port) as raw:
            raw.send(GET)
            msg = await raw.response()
            raw.send(GET)  # keep-alive still works after a stream
            await raw.response()
        assert msg.body == b"data: 1\n\ndata: 22\n\n"
        head, _, rest = bytes(raw.raw).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"\r\nTransfer-Encoding: chunked" in head and b"Content-Length" not in head
        assert rest.startswith(b"9\r\ndata: 1\n\n\r\na\r\ndata: 22\n\n\r\n0\r\n\r\nHTTP/1.1 200")

    await run(body)


async def test_responding_twice_is_refused(run: Run) -> None:
    errors: list[str] = []

    async def twice(request: Request, responder: Responder) -> None:
        responder.send(200, b"one")
        try:
            responder.send(200, b"two")
        except RuntimeError as exc:
            errors.append(str(exc))
        try:
            await responder.start(200)
        except RuntimeError as exc:
            errors.append(str(exc))

    async def body() -> None:
        async with serve(twice) as srv, Raw.open(srv.port) as raw:
            raw.send(GET + GET)
            assert [(await raw.response()).body for _ in range(2)] == [b"one", b"one"]
        assert errors == ["response already started"] * 4

    await run(body)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
    ],
    ids=["connection-close", "http-1.0"],
)
async def test_a_request_without_keep_alive_closes_after_the_response(
    run: Run, request_bytes: bytes
) -> None:
    async def body() -> None:
        async with serve(echo) as srv, Raw.open(srv.port) as raw:
            raw.send(request_bytes)
            msg = await raw.response()
            assert msg.status == 200 and msg.headers["connection"] == "close"
            assert await raw.closed()

    await run(body)


async def test_http_1_0_with_keep_alive_stays_open(run: Run) -> None:
    async def body() -> None:
        async with serve(echo) as srv, Raw.open(srv.port) as raw:
            for _ in range(2):
                raw.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                assert (await raw.response()).status == 200
            assert srv.conn().requests == 2

    await run(body)
