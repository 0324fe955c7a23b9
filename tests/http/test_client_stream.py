"""relay.http.client, reading responses: timeouts, chunks() as the bytes arrive, back-pressure
on a slow consumer, and when release() pools a connection. Each test runs on asyncio and on
uvloop (see conftest.py)."""

from __future__ import annotations

import asyncio

import pytest
from http_kit import Run, Stub, answering, client, ok_response, read_request, stub

from relay.http import client as client_module
from relay.http.client import UpstreamResponse, UpstreamTimeout

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def is_reading(resp: UpstreamResponse) -> bool:
    transport = resp._conn.transport
    assert transport is not None
    return transport.is_reading()


async def test_a_stall_mid_body_is_a_read_timeout(run: Run) -> None:
    async def stall(stub: Stub, reader: Reader, writer: Writer) -> None:
        await read_request(stub, reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(30)

    async def body() -> None:
        async with stub(stall) as up, client() as http:
            url = f"http://127.0.0.1:{up.port}/"
            resp = await http.request("GET", url, {}, read_timeout=0.2)
            with pytest.raises(UpstreamTimeout, match="sent nothing for too long"):
                await resp.read()
            resp.close()
            resp = await http.request("GET", url, {}, read_timeout=0.2)
            with pytest.raises(UpstreamTimeout):
                async for _ in resp.chunks():
                    pass
            resp.close()
            assert up.connections == 2

    await run(body)


async def test_a_stall_before_the_headers_is_a_read_timeout(run: Run) -> None:
    async def silent(stub: Stub, reader: Reader, writer: Writer) -> None:
        await read_request(stub, reader)
        assert await reader.read() == b""  # the client gives up and closes

    async def body() -> None:
        async with stub(silent) as up, client() as http:
            with pytest.raises(UpstreamTimeout):
                await http.request("GET", f"http://127.0.0.1:{up.port}/", {}, read_timeout=0.2)

    await run(body)


async def test_a_trickling_upstream_hits_the_total_timeout(run: Run) -> None:
    async def trickle(stub: Stub, reader: Reader, writer: Writer) -> None:
        await read_request(stub, reader)
        writer.write(CHUNKED_HEAD)
        while True:  # a byte every 20 ms: never idle long enough for the read timeout
            writer.write(chunk(b"."))
            await writer.drain()
            await asyncio.sleep(0.02)

    async def body() -> None:
        async with stub(trickle) as up, client() as http:
            url = f"http://127.0.0.1:{up.port}/"
            resp = await http.request("GET", url, {}, read_timeout=0.5, total_timeout=0.4)
            received = b""
            with pytest.raises(UpstreamTimeout, match="took too long"):
                async for piece in resp.chunks():
                    received += piece
            assert received.startswith(b"..")
            resp.close()
            resp = await http.request("GET", url, {}, read_timeout=0.5, total_timeout=0.3)
            with pytest.raises(UpstreamTimeout, match="took too long"):
                await resp.read()
            resp.close()

    await run(body)


async def test_chunks_arrive_as_the_upstream_sends_them(run: Run) -> None:
    async def body() -> None:
        ask = asyncio.Queue[None]()

        async def one_by_one(stub: Stub, reader: Reader, writer: Writer) -> None:
            await read_request(stub, reader)
            writer.write(CHUNKED_HEAD)
            for i in range(3):
                writer.write(chunk(b"data: %d\n\n" % i))
                await writer.drain()
                await ask.get()  # the next piece only once the client has this one
            writer.write(b"0\r\n\r\n")

        async with stub(one_by_one) as up, client() as http:
            resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
            got = []
            async for piece in resp.chunks():
                got.append(piece)
                ask.put_nowait(None)
            assert got == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
            resp.release()

    await run(body)


async def test_a_slow_consumer_pauses_reading_the_upstream(run: Run) -> None:
    piece = b"x" * (60 << 10)
    count = 160  # ~9.4 MiB, well above BUFFER_HIGH

    async def flood(stub: Stub, reader: Reader, writer: Writer) -> None:
        while await read_request(stub, reader) is not None:
            writer.write(CHUNKED_HEAD)
            for _ in range(count):
                writer.write(chunk(piece))
                await writer.drain()
            writer.write(b"0\r\n\r\n")

    async def body() -> None:
        async with stub(flood) as up, client() as http:
            resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
            while is_reading(resp):  # the consumer is busy elsewhere...
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # ...and stays away: the buffer stops growing
            high = client_module.BUFFER_HIGH
            assert high < resp._buffered < high + (1 << 20) and not resp.complete
            total = 0
            async for data in resp.chunks():
                total += len(data)
            assert total == len(piece) * count
            assert is_reading(resp)
            resp.release()
            resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
            while is_reading(resp):
                await asyncio.sleep(0.01)
            assert len(await resp.read()) == len(piece) * count  # read() wants it all
            resp.release()
            assert up.connections == 1

    await run(body)


async def test_a_long_pause_by_the_consumer_is_not_an_upstream_timeout(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading was paused because relay's own client was slow; meanwhile the upstream sent the
    rest (it waits in the socket). Resuming reads it: the upstream was never idle."""
    monkeypatch.setattr(client_module, "BUFFER_HIGH", 1024)

    async def burst_then_rest(stub: Stub, reader: Reader, writer: Writer) -> None:
        await read_request(stub, reader)
        writer.write(CHUNKED_HEAD + chunk(b"a" * 4096))  # over BUFFER_HIGH: reading pauses
        await writer.drain()
        await asyncio.sleep(0.2)  # well within the read timeout
        writer.write(chunk(b"end") + b"0\r\n\r\n")

    async def body() -> None:
        async with stub(burst_then_rest) as up, client() as http:
            resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {}, read_timeout=0.4)
            while is_reading(resp):
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.6)  # the consumer is away for longer than the read timeout
            pieces = [data async for data in resp.chunks()]
            assert b"".join(pieces) == b"a" * 4096 + b"end"
            resp.release()

    await run(body)


async def test_release_pools_only_a_complete_keep_alive_response(run: Run) -> None:
    async def body() -> None:
        reply = ok_response(b"0123456789")
        async with stub(answering(reply)) as up, client() as http:
            url = f"http://127.0.0.1:{up.port}/"

            async def connections_after(use: str) -> int:
                before = up.connections
                resp = await http.request("GET", url, {})
                if use == "read":
                    await resp.read()
                    resp.release()
                    resp.release()  # twice is harmless
                elif use == "close":
                    await resp.read()
                    resp.close()
                elif use == "unread":  # complete, but the body was never taken
                    while not resp.complete:
                        await asyncio.sleep(0.005)
                    resp.release()
                resp = await http.request("GET", url, {})  # a probe: new connection or not
                await resp.read()
                resp.release()
                return up.connections - before

            await connections_after("read")  # warm up: one connection in the pool
            assert await connections_after("read") == 0
            assert await connections_after("close") == 1
            assert await connections_after("unread") == 1

    await run(body)


async def test_an_incomplete_body_is_not_pooled_and_its_connection_closes(run: Run) -> None:
    async def body() -> None:
        closed = asyncio.Event()

        async def half(stub: Stub, reader: Reader, writer: Writer) -> None:
            await read_request(stub, reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
            await writer.drain()
            if await reader.read() == b"":
                closed.set()

        async with stub(half) as up, client() as http:
            resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
            while not resp._buffer:
                await asyncio.sleep(0.005)
            resp.release()
            await closed.wait()  # the upstream sees the connection go
            assert not any(pool.idle for pool in http._pools.values())

    await run(body)


async def test_a_connection_close_response_is_not_pooled(run: Run) -> None:
    async def body() -> None:
        reply = ok_response(b"bye", "Connection: close")
        async with stub(answering(reply)) as up, client() as http:
            for _ in range(2):
                resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
                assert await resp.read() == b"bye" and not resp.keep_alive
                resp.release()
            assert up.connections == 2

    await run(body)


async def test_unasked_bytes_on_an_idle_connection_retire_it(run: Run) -> None:
    async def chatty(stub: Stub, reader: Reader, writer: Writer) -> None:
        while await read_request(stub, reader) is not None:
            writer.write(ok_response())
            await writer.drain()
            await asyncio.sleep(0.02)
            writer.write(b"HTTP/1.1 200 OK\r\n")  # nobody asked for this

    async def body() -> None:
        async with stub(chatty) as up, client() as http:
            for _ in range(2):
                resp = await http.request("GET", f"http://127.0.0.1:{up.port}/", {})
                assert await resp.read() == b"ok"
                resp.release()
                await asyncio.sleep(0.1)
            assert up.connections == 2

    await run(body)
