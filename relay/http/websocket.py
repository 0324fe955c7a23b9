"""Server-side WebSocket on relay's HTTP server: the RFC 6455 handshake and whole messages.

Framing is wsproto's (sans-I/O); this module owns the flow: bytes from the connection go in
through `feed`, whole text/binary messages come out of `receive`, pings are answered here,
and writes wait while the client reads slower than we write (the connection's drain).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Event, Message, Ping, TextMessage
from wsproto.utilities import LocalProtocolError, generate_accept_token

# Close codes a peer may not put on the wire (RFC 6455 7.4.1): "no status", "abnormal", TLS.
UNSENDABLE_CODES = frozenset({1005, 1006, 1015})
MESSAGE_TOO_BIG = 1009
# Messages queued before the connection stops reading from the client (resumed at a quarter).
QUEUE_HIGH = 64


class Wire(Protocol):
    """The connection under the WebSocket (relay.http.server's protocol is one)."""

    transport: asyncio.Transport | None

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Closed:
    """The end of the message stream: the peer's close code and reason (1006: connection lost)."""

    code: int
    reason: str = ""


def handshake_problem(method: str, headers: Mapping[str, str]) -> str | None:
    """Why this request is not a valid WebSocket opening handshake, or None."""
    if method != "GET":
        return "the WebSocket handshake needs GET"
    if headers.get("upgrade", "").lower() != "websocket":
        return "the 'Upgrade: websocket' header is missing"
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    if "upgrade" not in tokens:
        return "the 'Connection: Upgrade' header is missing"
    if headers.get("sec-websocket-version", "").strip() != "13":
        return "unsupported Sec-WebSocket-Version (13 is required)"
    try:
        nonce = base64.b64decode(headers.get("sec-websocket-key", "").strip(), validate=True)
    except binascii.Error:
        nonce = b""
    if len(nonce) != 16:
        return "the Sec-WebSocket-Key header is missing or invalid"
    return None


def offered_subprotocols(headers: Mapping[str, str]) -> list[str]:
    """The client's Sec-WebSocket-Protocol items, in its order."""
    raw = headers.get("sec-websocket-protocol", "")
    return [item.strip() for item in raw.split(",") if item.strip()]


def accept_head(key: str, subprotocol: str | None, headers: Iterable[tuple[str, str]]) -> bytes:
    """The 101 response that completes the handshake of a client that sent `key`."""
    lines = [
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
        b"Sec-WebSocket-Accept: " + generate_accept_token(key.strip().encode()) + b"\r\n",
    ]
    if subprotocol:
        lines.append(f"Sec-WebSocket-Protocol: {subprotocol}\r\n".encode())
    lines.extend(f"{name}: {value}\r\n".encode() for name, value in headers)
    lines.append(b"\r\n")
    return b"".join(lines)


class WebSocket:
    """One accepted client WebSocket: `receive` whole messages, `send` them, `close`."""

    def __init__(self, wire: Wire, max_message: int) -> None:
        self._wire = wire
        self._ws = Connection(ConnectionType.SERVER)
        self._max = max_message
        self._text: list[str] = []  # the frames of the message being received
        self._binary: list[bytes] = []
        self._size = 0
        self._inbox: deque[str | bytes | Closed] = deque()
        self._arrived = asyncio.Event()
        self._paused = False
        self.closed: Closed | None = None  # set once the message stream has ended

    @property
    def open(self) -> bool:
        return self._ws.state is ConnectionState.OPEN

    # ---- from the connection ---------------------------------------------------------
    def feed(self, data: bytes | None) -> None:
        """Bytes the client sent (None: the connection is gone)."""
        if self.closed is not None:
            return
        try:
            self._ws.receive_data(data)
        except LocalProtocolError:
            return
        for event in self._ws.events():
            self._on_event(event)
        transport = self._wire.transport
        if len(self._inbox) >= QUEUE_HIGH and not self._paused and transport is not None:
            self._paused = True
            transport.pause_reading()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Message):
            self._on_message(event)
        elif isinstance(event, Ping):
            self._write(self._ws.send(event.response()))
        elif isinstance(event, CloseConnection):
            if self._ws.state is not ConnectionState.CLOSED:
                self._write(self._ws.send(event.response()))  # our half of the close handshake
            self._end(Closed(event.code, event.reason or ""))
            self._close_transport()

    def _on_message(self, event: Message) -> None:
        self._size += len(event.data)
        if self._size > self._max:
            self._write(self._ws.send(CloseConnection(MESSAGE_TOO_BIG, "message too big")))
            self._end(Closed(MESSAGE_TOO_BIG, "message too big"))
            self._close_transport()
            return
        if isinstance(event, TextMessage):
            self._text.append(event.data)
        elif isinstance(event, BytesMessage):
            self._binary.append(bytes(event.data))
        if event.message_finished:
            text = isinstance(event, TextMessage)
            self._push("".join(self._text) if text else b"".join(self._binary))
            self._text, self._binary, self._size = [], [], 0

    def _push(self, item: str | bytes | Closed) -> None:
        self._inbox.append(item)
        self._arrived.set()

    def _end(self, closed: Closed) -> None:
        if self.closed is None:
            self.closed = closed
            self._push(closed)

    def _close_transport(self) -> None:
        if self._wire.transport is not None:
            self._wire.transport.close()  # after what is buffered has been written

    def _write(self, data: bytes) -> None:
        if data:
            try:
                self._wire.write(data)
            except ConnectionError:
                self._end(Closed(1006))

    # ---- for the application ---------------------------------------------------------
    async def receive(self) -> str | bytes | Closed:
        """The next whole message, or Closed once the client closed or went away."""
        while not self._inbox:
            self._arrived.clear()
            await self._arrived.wait()
        item = self._inbox.popleft()
        if isinstance(item, Closed):
            self._inbox.appendleft(item)  # every later receive sees the end too
        elif self._paused and len(self._inbox) <= QUEUE_HIGH // 4:
            self._paused = False
            if self._wire.transport is not None:
                self._wire.transport.resume_reading()
        return item

    async def send(self, data: str | bytes) -> None:
        """One whole message (text for str, binary for bytes); waits on a slow client."""
        if not self.open:
            raise ConnectionResetError("WebSocket closed")
        event = TextMessage(data) if isinstance(data, str) else BytesMessage(data)
        self._wire.write(self._ws.send(event))
        await self._wire.drain()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the close handshake (if the socket is still open) and close the connection."""
        if code in UNSENDABLE_CODES:
            code = 1000
        if self._ws.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self._write(self._ws.send(CloseConnection(code, reason)))
        self._end(Closed(code, reason))
        self._close_transport()
