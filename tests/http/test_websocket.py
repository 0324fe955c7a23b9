"""relay.http.websocket and the server's upgrade hook: the handshake pieces, and whole sessions
(text, binary, pings, close codes, early frames, size cap, a dropped connection) on asyncio and
uvloop against the `websockets` client."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from http_kit import Raw, Run, serve
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from relay.http.server import Handler, Request, Responder
from relay.http.websocket import Closed, accept_head, handshake_problem, offered_subprotocols

HANDSHAKE = {
    "upgrade": "websocket",
    "connection": "keep-alive, Upgrade",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
}
RAW_HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
)


def test_a_valid_handshake_has_no_problem() -> None:
    assert handshake_problem("GET", HANDSHAKE) is None


@pytest.mark.parametrize(
    ("method", "changes", "problem"),
    [
        ("POST", {}, "needs GET"),
        ("GET", {"upgrade": "h2c"}, "'Upgrade: websocket'"),
        ("GET", {"connection": "keep-alive"}, "'Connection: Upgrade'"),
        ("GET", {"sec-websocket-version": "8"}, "Sec-WebSocket-Version"),
        ("GET", {"sec-websocket-key": "c2hvcnQ="}, "Sec-WebSocket-Key"),
        ("GET", {"sec-websocket-key": "not base64!"}, "Sec-WebSocket-Key"),
    ],
)
def test_handshake_problems_are_named(method: str, changes: dict[str, str], problem: str) -> None:
    found = handshake_problem(method, {**HANDSHAKE, **changes})
    assert found is not None and problem in found


def test_the_accept_token_is_rfc_6455s() -> None:
    head = accept_head("dGhlIHNhbXBsZSBub25jZQ==", "realtime", [("X-Id", "7")])
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head  # RFC 6455 1.3
    assert b"Sec-WebSocket-Protocol: realtime\r\n" in head and head.endswith(b"X-Id: 7\r\n\r\n")
    assert b"Sec-WebSocket-Protocol" not in accept_head("dGhlIHNhbXBsZSBub25jZQ==", None, [])


def test_offered_subprotocols_keep_the_clients_order() -> None:
    headers = {"sec-websocket-protocol": "realtime, openai-insecure-api-key.sk-x ,, b"}
    assert offered_subprotocols(headers) == ["realtime", "openai-insecure-api-key.sk-x", "b"]
    assert offered_subprotocols({}) == []


def echo_server(seen: list[Closed]) -> Handler:
    """A handler that accepts every upgrade and echoes messages until the close."""

    async def handler(request: Request, responder: Responder) -> None:
        assert request.upgrade is not None
        chosen = "realtime" if "realtime" in offered_subprotocols(request.headers) else None
        ws = request.upgrade.accept(responder, chosen, [("X-Test", "1")])
        while True:
            item = await ws.receive()
            if isinstance(item, Closed):
                seen.append(item)
                return
            await ws.send(item)

    return handler


async def test_a_session_echoes_text_and_binary_and_answers_pings(run: Run) -> None:
    async def body() -> None:
        seen: list[Closed] = []
        async with serve(echo_server(seen)) as srv:
            url = f"ws://127.0.0.1:{srv.port}/ws"
            async with websockets.connect(url, subprotocols=["realtime"]) as ws:
                assert ws.subprotocol == "realtime"
                assert ws.response.headers["X-Test"] == "1"
                await ws.send("héllo")
                assert await ws.recv() == "héllo"
                await ws.send(b"\x00\x01" * 70000)  # beyond one frame's 16-bit length
                assert await ws.recv() == b"\x00\x01" * 70000
                await ws.send(["frag", "mented"])  # one message in several frames
                assert await ws.recv() == "fragmented"
                await asyncio.wait_for(await ws.ping(b"p"), 5)
                await ws.close(4000, "bye")
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
        assert seen == [Closed(4000, "bye")]

    await run(body)


async def test_frames_sent_with_the_handshake_reach_the_session(run: Run) -> None:
    async def body() -> None:
        seen: list[Closed] = []
        client = Connection(ConnectionType.CLIENT)
        async with serve(echo_server(seen)) as srv, Raw.open(srv.port) as raw:
            raw.send(RAW_HANDSHAKE + client.send(TextMessage("early")))
            data = b""
            while b"\r\n\r\n" not in data:
                data += await raw.reader.read(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101 ")
            client.receive_data(rest)
            events = list(client.events())
            while not events:
                client.receive_data(await raw.reader.read(65536))
                events = list(client.events())
            assert events == [TextMessage("early")]

    await run(body)


async def test_a_message_over_the_cap_closes_with_1009(run: Run) -> None:
    async def body() -> None:
        seen: list[Closed] = []
        async with (
            serve(echo_server(seen), max_body=1000) as srv,
            websockets.connect(f"ws://127.0.0.1:{srv.port}/ws") as ws,
        ):
            await ws.send(b"x" * 2000)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert seen == [Closed(1009, "message too big")]

    await run(body)


async def test_a_dropped_connection_ends_the_session_without_cancelling_it(run: Run) -> None:
    async def body() -> None:
        seen: list[Closed] = []
        async with serve(echo_server(seen)) as srv:
            ws = await websockets.connect(f"ws://127.0.0.1:{srv.port}/ws")
            await ws.send("one")
            assert await ws.recv() == "one"
            ws.transport.abort()
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
        assert seen == [Closed(1006)]  # the handler saw the end and returned by itself

    await run(body)


async def test_the_session_closes_with_its_own_code(run: Run) -> None:
    async def handler(request: Request, responder: Responder) -> None:
        assert request.upgrade is not None
        ws = request.upgrade.accept(responder, None, [])
        await ws.send("bye")
        await ws.close(1005, "")  # not sendable: becomes 1000
        with pytest.raises(ConnectionResetError):
            await ws.send("late")

    async def body() -> None:
        async with (
            serve(handler) as srv,
            websockets.connect(f"ws://127.0.0.1:{srv.port}/ws") as ws,
        ):
            assert await ws.recv() == "bye"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000

    await run(body)
