"""relay.http.server, connection life: back-pressure, a client leaving mid-request, handler
failures, the keep-alive idle timeout and the graceful drain. Each test runs on asyncio and on
uvloop (see conftest.py)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from http_kit import Raw, Run, Served, serve

from relay.http import server as server_module
from relay.http.server import Request, Responder

GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


async def ok(request: Request, responder: Responder) -> None:
    responder.send(200, b"ok")


async def connections(srv: Served, count: int) -> None:
    """Wait until the server has accepted `count` connections."""
    while len(srv.server.connections) != count:
        await asyncio.sleep(0.005)


async def test_a_slow_reader_makes_write_wait_instead_of_buffering(run: Run) -> None:
    piece = b"z" * (64 << 10)
    total = 64 << 20  # far more than the kernel's socket buffers hold

    async def body() -> None:
        sent = 0
        finished = asyncio.Event()

        async def flood(request: Request, responder: Responder) -> None:
            nonlocal sent
            await responder.start(200)
            while sent < total:
                await responder.write(piece)
                sent += len(piece)
            await responder.end()
            finished.set()

        async with serve(flood) as srv, Raw.open(srv.port) as raw:
            raw.send(GET)
            last = -1
            while sent != last:  # until the handler stops getting anywhere
                last = sent
                await asyncio.sleep(0.05)
            conn = srv.conn()
            assert conn.transport is not None
            assert not finished.is_set() and not conn.write_ok.is_set()  # paused, waiting
            assert conn.transport.get_write_buffer_size() < 1 << 20
            assert sent < total // 2
            received = b""
            count = 0
            while not received.endswith(b"\r\n0\r\n\r\n"):  # now read it all
                data = await raw.reader.read(1 << 20)
                assert data
                count += len(data)
                received = received[-16:] + data
            await finished.wait()
            assert count > total and sent == total

    await run(body)


@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streaming"])
async def test_a_client_leaving_cancels_its_handler(run: Run, streaming: bool) -> None:
    async def body() -> None:
        started = asyncio.Event()
        cancelled = asyncio.Event()

        async def waiter(request: Request, responder: Responder) -> None:
            try:
                if streaming:
                    await responder.start(200)
                started.set()
                while True:
                    if streaming:
                        await responder.write(b"tick")
                    await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        async with serve(waiter) as srv:
            async with Raw.open(srv.port) as raw:
                raw.send(GET)
                await started.wait()
            await cancelled.wait()
            await connections(srv, 0)

    await run(body)


async def test_a_handler_that_raises_closes_the_connection_quietly(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(request: Request, responder: Responder) -> None:
        if request.path == "/stream":
            await responder.start(200)
            await responder.write(b"partial")
        raise RuntimeError("secret internals")

    async def body() -> None:
        async with serve(boom) as srv:
            async with Raw.open(srv.port) as raw:
                raw.send(GET)
                assert await raw.closed()  # no response at all, let alone a traceback
            async with Raw.open(srv.port) as raw:
                raw.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
                data = await raw.until_eof()
                assert data.endswith(b"7\r\npartial\r\n")  # cut: no terminating chunk
                assert b"secret" not in data and b"Traceback" not in data
            await connections(srv, 0)

    with caplog.at_level(logging.ERROR, logger="relay.http"):
        await run(body)
    assert "unhandled error serving GET /" in caplog.text


async def test_a_handler_that_does_not_respond_gets_500_or_its_stream_ended(run: Run) -> None:
    async def lazy(request: Request, responder: Responder) -> None:
        if request.path == "/stream":
            await responder.start(200)
            await responder.write(b"half")

    async def body() -> None:
        async with serve(lazy) as srv, Raw.open(srv.port) as raw:
            raw.send(GET)
            msg = await raw.response()
            assert (msg.status, msg.body, msg.headers["content-length"]) == (500, b"", "0")
            raw.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            msg = await raw.response()
            assert (msg.status, msg.body) == (200, b"half")
            assert raw.raw.endswith(b"4\r\nhalf\r\n0\r\n\r\n")
            raw.send(GET)  # and the connection carries on
            assert (await raw.response()).status == 500

    await run(body)


async def test_idle_keep_alive_connections_time_out(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "KEEPALIVE_SECONDS", 0.2)

    async def slow(request: Request, responder: Responder) -> None:
        await asyncio.sleep(0.4)  # longer than the idle timeout: busy is not idle
        responder.send(200, b"slow")

    async def body() -> None:
        async with serve(slow) as srv:
            async with Raw.open(srv.port) as silent:  # never sends a request
                assert await silent.closed()
            async with Raw.open(srv.port) as raw:
                raw.send(GET)
                assert (await raw.response()).body == b"slow"
                raw.send(GET)  # the timer restarts after each response
                assert (await raw.response()).body == b"slow"
                assert await raw.closed()
            await connections(srv, 0)

    await run(body)


async def test_drain_finishes_in_flight_work_and_closes_idle_connections_at_once(
    run: Run,
) -> None:
    async def body() -> None:
        gate = asyncio.Event()

        async def handler(request: Request, responder: Responder) -> None:
            if request.path == "/idle":
                responder.send(200, b"idle")
                return
            if request.path == "/stream":
                await responder.start(200)
                await responder.write(b"first")
                await gate.wait()
                await responder.write(b"second")
                return
            await gate.wait()
            responder.send(200, b"whole")

        async with (
            serve(handler) as srv,
            Raw.open(srv.port) as idle,
            Raw.open(srv.port) as whole,
            Raw.open(srv.port) as stream,
        ):
            idle.send(b"GET /idle HTTP/1.1\r\nHost: t\r\n\r\n")
            await idle.response()
            whole.send(GET)
            stream.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            await stream.until(b"first")
            srv.listener.close()
            drain = asyncio.create_task(srv.server.drain(60.0, first_request_grace=60.0))
            assert await idle.closed()  # at once: no fresh connections to wait for
            await asyncio.sleep(0.05)
            assert not drain.done()
            gate.set()
            assert (await whole.response()).body == b"whole"
            assert (await stream.response()).body == b"firstsecond"
            assert await whole.closed() and await stream.closed()
            await asyncio.wait_for(drain, 10)

    await run(body)


async def test_drain_gives_a_new_connection_time_for_its_first_request(run: Run) -> None:
    async def body() -> None:
        async with serve(ok) as srv, Raw.open(srv.port) as late, Raw.open(srv.port) as mute:
            await connections(srv, 2)
            srv.listener.close()
            drain = asyncio.create_task(srv.server.drain(60.0, first_request_grace=0.5))
            await asyncio.sleep(0.1)
            assert not drain.done()
            late.send(GET)  # in time: answered, then closed
            assert (await late.response()).body == b"ok"
            assert await late.closed()
            assert await mute.closed()  # never spoke: closed when the grace ran out
            await asyncio.wait_for(drain, 10)
            assert not srv.server.connections

    await run(body)


async def test_drain_aborts_what_is_left_after_the_grace(run: Run) -> None:
    async def body() -> None:
        cancelled = asyncio.Event()

        async def stuck(request: Request, responder: Responder) -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        async with serve(stuck) as srv, Raw.open(srv.port) as busy, Raw.open(srv.port) as half:
            busy.send(GET)
            half.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
            await connections(srv, 2)
            while not all(c.busy for c in srv.server.connections):
                await asyncio.sleep(0.005)
            srv.listener.close()
            await asyncio.wait_for(srv.server.drain(0.3, first_request_grace=0.1), 10)
            await cancelled.wait()
            assert await busy.closed() and await half.closed()  # no response, just closed
            await connections(srv, 0)

    await run(body)
