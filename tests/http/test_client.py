"""relay.http.client, requests and responses: what goes on the wire, response framing
(Content-Length, chunked, close-delimited), decoding, keep-alive reuse and the one retry of a
pooled connection the upstream had closed. Each test runs on asyncio and on uvloop."""

from __future__ import annotations

import asyncio
import gzip
import socket
import zlib
from collections.abc import Callable

import pytest
from http_kit import Run, Stub, answering, client, ok_response, read_request, stub

from relay.http.client import UpstreamClosed

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


async def test_a_request_and_a_content_length_response(run: Run) -> None:
    async def body() -> None:
        reply = ok_response(b"hello", "X-Request-Id: r1", "Content-Type: application/json")
        async with stub(answering(reply)) as up, client() as http:
            resp = await http.request(
                "POST",
                f"http://127.0.0.1:{up.port}/v1/chat?x=1&y=2",
                {"Authorization": "Bearer k", "Content-Type": "application/json"},
                b'{"a": 1}',
            )
            assert resp.status == 200 and resp.keep_alive
            assert resp.headers["x-request-id"] == "r1"
            assert resp.headers["content-type"] == "application/json"
            assert await resp.read() == b"hello" and resp.complete
            resp.release()
        ((head, sent),) = up.requests
        assert head.startswith(b"POST /v1/chat?x=1&y=2 HTTP/1.1\r\n")
        lines = head.split(b"\r\n")
        assert f"Host: 127.0.0.1:{up.port}".encode() in lines
        assert b"Authorization: Bearer k" in lines and b"Content-Length: 8" in lines
        assert sent == b'{"a": 1}'

    await run(body)


async def test_a_url_without_path_or_port_sends_slash_and_a_bare_host(run: Run) -> None:
    async def body() -> None:
        async with stub(answering(ok_response())) as up, client() as http:
            resp = await http.request("GET", f"http://127.0.0.1:{up.port}", {})
            await resp.read()
            resp.release()
        head = up.requests[0][0]
        assert head.startswith(b"GET / HTTP/1.1\r\n") and b"\r\nContent-Length: 0\r\n" in head

    await run(body)


async def test_a_chunked_response(run: Run) -> None:
    async def chunked(stub: Stub, reader: Reader, writer: Writer) -> None:
        while await read_request(stub, reader) is not None:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
            await writer.drain()
            await asyncio.sleep(0.01)
            writer.write(b"lo\r\n7\r\n, world\r\n0\r\n\r\n")

    async def body() -> None:
        async with stub(chunked) as up, client() as http:
            for _ in range(2):
                resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
                assert await resp.read() == b"hello, world" and resp.keep_alive
                resp.release()
            assert up.connections == 1

    await run(body)


@pytest.mark.parametrize(
    "head",
    [b"HTTP/1.0 200 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"],
    ids=["http-1.0", "connection-close"],
)
async def test_a_close_delimited_response(run: Run, head: bytes) -> None:
    async def until_close(stub: Stub, reader: Reader, writer: Writer) -> None:
        await read_request(stub, reader)
        writer.write(head + b"no length: ")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b"the body ends when the connection does")
        await writer.drain()

    async def body() -> None:
        async with stub(until_close) as up, client() as http:
            for _ in range(2):
                resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
                assert not resp.keep_alive
                got = await resp.read()
                assert got == b"no length: the body ends when the connection does"
                resp.release()
            assert up.connections == 2  # never pooled

    await run(body)


@pytest.mark.parametrize(
    ("coding", "encode"),
    [("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress)],
)
async def test_compressed_responses_are_decompressed(
    run: Run, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    text = b'{"choices": [' + b'{"text": "hello"},' * 200 + b"{}]}"
    packed = encode(text)

    async def compressed(stub: Stub, reader: Reader, writer: Writer) -> None:
        while await read_request(stub, reader) is not None:
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n".encode()
            )
            for i in range(0, len(packed), 100):  # split anywhere in the stream
                piece = packed[i : i + 100]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async def body() -> None:
        async with stub(compressed) as up, client() as http:
            resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
            assert await resp.read() == text
            resp.release()
            resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
            assert b"".join([c async for c in resp.chunks()]) == text
            resp.release()
            assert up.connections == 1

    await run(body)


async def test_keep_alive_connections_are_reused(run: Run) -> None:
    async def body() -> None:
        async with stub(answering(ok_response())) as up, client() as http:
            url = f"http://127.0.0.1:{up.port}/"
            for _ in range(5):
                resp = await http.request("GET", url, {})
                assert await resp.read() == b"ok"
                resp.release()
            assert up.connections == 1
            first, second = await asyncio.gather(
                http.request("GET", url, {}), http.request("GET", url, {})
            )  # two at once need two connections...
            for resp in (first, second):
                await resp.read()
                resp.release()
            for _ in range(4):  # ...which are both pooled and reused
                pair = await asyncio.gather(
                    http.request("GET", url, {}), http.request("GET", url, {})
                )
                for resp in pair:
                    await resp.read()
                    resp.release()
            assert up.connections == 2 and len(up.requests) == 15

    await run(body)


async def test_a_pooled_connection_closed_while_idle_is_not_used(run: Run) -> None:
    async def one_per_connection(stub: Stub, reader: Reader, writer: Writer) -> None:
        await read_request(stub, reader)
        writer.write(ok_response())  # keep-alive by the headers, then the upstream hangs up
        await writer.drain()

    async def body() -> None:
        async with stub(one_per_connection) as up, client() as http:
            url = f"http://127.0.0.1:{up.port}/"
            for pause in (0.05, 0.05, 0.0, 0.0):  # noticed while idle, or only when reused
                resp = await http.request("GET", url, {})
                assert resp.keep_alive and await resp.read() == b"ok"
                resp.release()
                await asyncio.sleep(pause)
            assert up.connections == 4 and len(up.requests) == 4

    await run(body)


async def test_a_pooled_connection_closed_before_answering_is_retried_once(run: Run) -> None:
    async def second_request_kills(stub: Stub, reader: Reader, writer: Writer) -> None:
        await read_request(stub, reader)
        writer.write(ok_response(b"first"))
        await writer.drain()
        await read_request(stub, reader)  # the next request on this connection: hang up
        writer.transport.abort()

    async def body() -> None:
        async with stub(second_request_kills) as up, client() as http:
            url = f"http://127.0.0.1:{up.port}/"
            resp = await http.request("POST", url, {}, b"one")
            assert await resp.read() == b"first"
            resp.release()
            resp = await http.request("POST", url, {}, b"two")  # dies, retried on a new one
            assert await resp.read() == b"first"
            resp.release()
            assert up.connections == 2
            assert [b for _, b in up.requests] == [b"one", b"two", b"two"]

    await run(body)


@pytest.mark.parametrize(
    "partial",
    [b"HTTP/1.1 200 OK\r\nContent-Le", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\npart"],
    ids=["in-headers", "in-body"],
)
async def test_a_request_the_upstream_began_answering_is_not_retried(
    run: Run, partial: bytes
) -> None:
    async def answer_then_cut(stub: Stub, reader: Reader, writer: Writer) -> None:
        await read_request(stub, reader)
        writer.write(ok_response(b"first"))
        await read_request(stub, reader)
        writer.write(partial)
        await writer.drain()

    async def body() -> None:
        async with stub(answer_then_cut) as up, client() as http:
            url = f"http://127.0.0.1:{up.port}/"
            resp = await http.request("POST", url, {}, b"one")
            await resp.read()
            resp.release()
            with pytest.raises(UpstreamClosed) as caught:
                resp = await http.request("POST", url, {}, b"two")
                await resp.read()
            assert str(caught.value) == "upstream closed the connection"
            assert up.connections == 1 and len(up.requests) == 2

    await run(body)


async def test_a_new_connection_closed_before_answering_is_not_retried(run: Run) -> None:
    async def hang_up(stub: Stub, reader: Reader, writer: Writer) -> None:
        await read_request(stub, reader)

    async def body() -> None:
        async with stub(hang_up) as up, client() as http:
            with pytest.raises(UpstreamClosed, match="before answering"):
                await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
            assert up.connections == 1

    await run(body)


async def test_a_malformed_response_is_upstream_closed(run: Run) -> None:
    async def body() -> None:
        async with stub(answering(b"SMTP ready\r\n\r\n")) as up, client() as http:
            with pytest.raises(UpstreamClosed, match="malformed upstream response"):
                await http.request("GET", f"http://127.0.0.1:{up.port}/", {})

    await run(body)


async def test_connection_refused_is_an_os_error(run: Run) -> None:
    async def body() -> None:
        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        async with client() as http:
            with pytest.raises(OSError):
                await http.request("GET", f"http://127.0.0.1:{port}/", {})

    await run(body)


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/x", "ws://127.0.0.1/", "file:///etc/passwd", "http:///no-host", "x"],
)
async def test_unsupported_urls_are_refused(url: str) -> None:
    async with client() as http:
        with pytest.raises(ValueError, match="unsupported upstream URL"):
            await http.request("GET", url, {})


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb"])
async def test_header_values_with_line_breaks_are_refused(value: str) -> None:
    async with stub(answering(ok_response())) as up, client() as http:
        with pytest.raises(ValueError, match="line breaks"):
            await http.request("GET", f"http://127.0.0.1:{up.port}/", {"X-Key": value})
        assert up.connections == 0
