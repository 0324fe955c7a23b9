#!/usr/bin/env python3
"""A featureless forwarder, on aiohttp or on relay.http: what does the HTTP stack alone cost?

  forwarder.py aiohttp PORT UPSTREAM   aiohttp's low-level web.Server + one pooled ClientSession
  forwarder.py relay   PORT UPSTREAM   relay.http's HttpServer + UpstreamClient (httptools)

Both run on uvloop, read the whole request body, send it upstream with the caller's
Authorization and Content-Type, and answer with the upstream's status and body — whole for JSON,
chunk by chunk for an SSE stream. No auth, no quota, no logging: the ceiling for relay's worker
on that stack. bench/compare runs them as targets `fwd-aiohttp` and `fwd-relay`.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import uvloop
from aiohttp import web

from relay.http.client import UpstreamClient
from relay.http.server import HttpServer, Request, Responder

FORWARDED = ("Authorization", "Content-Type")


async def serve_aiohttp(port: int, upstream: str) -> None:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), auto_decompress=False)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        headers = {k: request.headers[k] for k in FORWARDED if k in request.headers}
        async with session.post(upstream + request.path, data=body, headers=headers) as up:
            ctype = up.headers.get("Content-Type", "application/json")
            if not ctype.startswith("text/event-stream"):
                return web.Response(
                    status=up.status, body=await up.read(), headers={"Content-Type": ctype}
                )
            reply = web.StreamResponse(status=up.status, headers={"Content-Type": ctype})
            await reply.prepare(request)
            async for chunk in up.content.iter_any():
                await reply.write(chunk)
            await reply.write_eof()
            return reply

    server = web.Server(handle)
    await asyncio.get_running_loop().create_server(server, "127.0.0.1", port, backlog=4096)
    await asyncio.Event().wait()


async def serve_relay(port: int, upstream: str) -> None:
    client = UpstreamClient()

    async def handle(request: Request, responder: Responder) -> None:
        headers = {k: request.headers[k] for k in FORWARDED if k in request.headers}
        up = await client.request("POST", upstream + request.path, headers, request.body)
        ctype = up.headers.get("content-type", "application/json")
        try:
            if not ctype.startswith("text/event-stream"):
                responder.send(up.status, await up.read(), [("Content-Type", ctype)])
                return
            await responder.start(up.status, [("Content-Type", ctype)])
            async for chunk in up.chunks():
                await responder.write(chunk)
            await responder.end()
        finally:
            up.release()

    server = HttpServer(handle, 1 << 20)
    await asyncio.get_running_loop().create_server(server.protocol, "127.0.0.1", port, backlog=4096)
    await asyncio.Event().wait()


def main() -> None:
    stack, port, upstream = sys.argv[1], int(sys.argv[2]), sys.argv[3].rstrip("/")
    run = {"aiohttp": serve_aiohttp, "relay": serve_relay}[stack]
    uvloop.run(run(port, upstream))


if __name__ == "__main__":
    main()
