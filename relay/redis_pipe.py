"""A lean, automatically pipelining Redis connection for the hot path's script calls.

redis-py spends most of a script call in Python bookkeeping (pool checkout, retries, command
packing, a socket write per command). Here every command issued during one event-loop turn is
packed by hiredis, written with ONE write, and answered in order by a hiredis reader, so many
concurrent requests share one connection and one round trip. Standalone Redis only (TCP or unix
socket); a Cluster keeps using redis-py.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import hashlib
from typing import Any
from urllib.parse import unquote, urlparse

import hiredis


class RedisReplyError(Exception):
    """Redis answered a command with an error."""


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader()
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.loop = asyncio.get_running_loop()
        self.lost = self.loop.create_future()
        self._outbox: list[bytes] = []

    def send(self, packed: bytes, flush: bool = False) -> asyncio.Future[Any]:
        """Queue a packed command; the whole queue is written once, at the end of this turn,
        or at once with `flush` (ahead of whatever the caller writes next: a client's answer
        that must not overtake its settlement)."""
        fut: asyncio.Future[Any] = self.loop.create_future()
        self.waiting.append(fut)
        if not self._outbox and not flush:
            self.loop.call_soon(self._flush)
        self._outbox.append(packed)
        if flush:
            self._flush()
        return fut

    def _flush(self) -> None:
        outbox, self._outbox = self._outbox, []
        if outbox and self.transport is not None:
            self.transport.write(b"".join(outbox))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            fut = self.waiting.popleft()
            if fut.done():  # its caller was cancelled: the answer is dropped, order is kept
                continue
            if isinstance(reply, hiredis.ReplyError):
                fut.set_exception(RedisReplyError(str(reply)))
            else:
                fut.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        error = ConnectionError(f"redis connection lost: {exc}")
        while self.waiting:
            fut = self.waiting.popleft()
            if not fut.done():
                fut.set_exception(error)
        if not self.lost.done():
            self.lost.set_result(None)
        self.transport = None


class PipelinedRedis:
    """One connection per process; reconnects on the next call after it is lost."""

    def __init__(self, url: str) -> None:
        self._url = urlparse(url)
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None
        self._scripts: list[str] = []  # loaded on every connect (PipelinedScript registers)

    def register_script(self, source: str) -> None:
        """Load `source` into the server on every (re)connect: a script sent without waiting
        then finds itself there, in order, instead of meeting NOSCRIPT first."""
        self._scripts.append(source)

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        u = self._url
        if u.scheme == "unix":
            _, protocol = await loop.create_unix_connection(_Protocol, unquote(u.path))
        else:
            _, protocol = await loop.create_connection(
                _Protocol, u.hostname or "127.0.0.1", u.port or 6379, ssl=u.scheme == "rediss"
            )
        setup: list[tuple[Any, ...]] = []
        if u.password:
            setup.append(("AUTH", unquote(u.username or "default"), unquote(u.password)))
        db = (u.path or "/").strip("/")
        if u.scheme != "unix" and db and db != "0":
            setup.append(("SELECT", db))
        setup.extend(("SCRIPT", "LOAD", source) for source in self._scripts)
        for command in setup:
            await protocol.send(hiredis.pack_command(command))
        return protocol

    async def _ready(self) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and protocol.transport is not None:
            return protocol
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is None or self._protocol.transport is None:
                self._protocol = await self._connect()
            return self._protocol

    async def execute(self, *args: Any) -> Any:
        """Send one command; it leaves with every other command of this loop turn."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None:
            protocol = await self._ready()
        return await protocol.send(hiredis.pack_command(args))

    def send_nowait(self, *args: Any, flush: bool = False) -> asyncio.Future[Any] | None:
        """Queue one command on the open connection without awaiting (written to the socket
        before this returns with `flush`); None if not connected.

        For fire-and-forget writes: the caller must consume the future's result."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None:
            return None
        return protocol.send(hiredis.pack_command(args), flush)

    async def aclose(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
            await protocol.lost


class PipelinedScript:
    """EVALSHA through a PipelinedRedis, loading the script on NOSCRIPT."""

    def __init__(self, client: PipelinedRedis, source: str) -> None:
        self._client = client
        self._source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        client.register_script(source)

    def send(self, keys: list[Any], args: list[Any]) -> asyncio.Future[Any] | None:
        """EVALSHA written now, for a caller that does not wait (send_nowait with flush);
        after NOSCRIPT the future takes the answer of an EVAL. None if not connected."""
        first = self._client.send_nowait("EVALSHA", self.sha, len(keys), *keys, *args, flush=True)
        if first is None:
            return None
        result: asyncio.Future[Any] = first.get_loop().create_future()
        first.add_done_callback(functools.partial(self._answered, result, keys, args, True))
        return result

    def _answered(
        self,
        result: asyncio.Future[Any],
        keys: list[Any],
        args: list[Any],
        may_load: bool,
        fut: asyncio.Future[Any],
    ) -> None:
        # A bound method and partials, not a closure: a closure that re-registers itself is a
        # reference cycle, garbage only the cyclic collector frees (~8 objects per request).
        if result.done():  # cancelled by whoever awaited it: the command still ran
            return
        error = fut.exception()  # never cancelled: only this callback holds it
        if may_load and isinstance(error, RedisReplyError) and str(error).startswith("NOSCRIPT"):
            retry = self._client.send_nowait(
                "EVAL", self._source, len(keys), *keys, *args, flush=True
            )
            if retry is not None:
                retry.add_done_callback(
                    functools.partial(self._answered, result, keys, args, False)
                )
                return
            error = ConnectionError("redis connection lost")
        if error is not None:
            result.set_exception(error)
        else:
            result.set_result(fut.result())

    async def __call__(self, keys: list[Any], args: list[Any]) -> Any:
        try:
            return await self._client.execute("EVALSHA", self.sha, len(keys), *keys, *args)
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self._client.execute("EVAL", self._source, len(keys), *keys, *args)
