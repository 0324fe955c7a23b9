"""relay.http.client over https: a local TLS upstream with a self-signed certificate (the
`server_tls` fixture). verify_tls=False talks to it; the default refuses it. Runs on asyncio
and on uvloop."""

from __future__ import annotations

import ssl

import pytest
from http_kit import Run, answering, client, ok_response, stub

from relay.http.client import UpstreamError


async def test_https_with_verification_off_works(run: Run, server_tls: ssl.SSLContext) -> None:
    async def body() -> None:
        reply = ok_response(b'{"secure": true}')
        async with stub(answering(reply), ssl_context=server_tls) as up:
            async with client(verify_tls=False) as http:
                for host in ("127.0.0.1", "localhost"):
                    for _ in range(2):
                        resp = await http.request("POST", f"https://{host}:{up.port}/v1", {}, b"q")
                        assert resp.status == 200 and await resp.read() == b'{"secure": true}'
                        resp.release()
            assert up.connections == 2  # one per host, reused
            head, sent = up.requests[0]
            assert head.startswith(b"POST /v1 HTTP/1.1\r\n") and sent == b"q"

    await run(body)


async def test_https_refuses_a_self_signed_certificate_by_default(
    run: Run, server_tls: ssl.SSLContext
) -> None:
    async def body() -> None:
        async with stub(answering(ok_response()), ssl_context=server_tls) as up, client() as http:
            with pytest.raises(ssl.SSLCertVerificationError, match=r"self.signed"):
                await http.request("GET", f"https://localhost:{up.port}/", {})
            assert not up.requests

    await run(body)


async def test_plain_http_to_a_tls_port_fails_cleanly(run: Run, server_tls: ssl.SSLContext) -> None:
    async def body() -> None:
        async with stub(answering(ok_response()), ssl_context=server_tls) as up, client() as http:
            with pytest.raises(UpstreamError):
                await http.request("GET", f"http://127.0.0.1:{up.port}/", {}, read_timeout=5)

    await run(body)
