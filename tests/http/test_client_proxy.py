"""relay.http.client through a channel's proxy: a real HTTP(S) proxy (CONNECT for https
upstreams, absolute form for http ones) and a real SOCKS5 server, both from proxy_kit;
pools are kept per (proxy, upstream); credentials reach the proxy and never an error.
Each test runs on asyncio and on uvloop."""

from __future__ import annotations

import socket
import ssl

import pytest
from http_kit import Run, answering, client, ok_response, stub
from proxy_kit import http_proxy, socks5_proxy

from relay.http.client import UpstreamError
from relay.http.proxy import ProxySpec, parse_proxy


def test_proxy_urls_follow_new_api_rules() -> None:
    assert parse_proxy(" HTTP://u%40x:p%3Aw@proxy.local:8080/legacy?q=1 ") == ProxySpec(
        "http", "proxy.local", 8080, "u@x", "p:w"
    )
    assert parse_proxy("socks5://10.0.0.1") == ProxySpec("socks5", "10.0.0.1", 1080)
    assert parse_proxy("socks5h://h:9") == ProxySpec("socks5h", "h", 9)
    assert parse_proxy("http://h").port == 80 and parse_proxy("https://h").port == 443
    spec = parse_proxy("http://user:secret@h:3128")
    assert spec.safe == "http://h:3128" and spec.authorization == "Basic dXNlcjpzZWNyZXQ="
    for bad in ("ftp://h:1", "http://:8080", "http://h:99999", "socks4://h:1", "h:8080"):
        with pytest.raises(ValueError) as err:
            parse_proxy(bad)
        assert bad not in str(err.value)


async def test_https_upstream_through_a_connect_tunnel(
    run: Run, server_tls: ssl.SSLContext
) -> None:
    async def body() -> None:
        reply = ok_response(b'{"via": "tunnel"}')
        async with (
            stub(answering(reply), ssl_context=server_tls) as up,
            http_proxy("user:pa ss") as proxy,
            client(verify_tls=False) as http,
        ):
            url = f"https://localhost:{up.port}/v1/chat"
            proxy_url = f"http://user:pa%20ss@127.0.0.1:{proxy.port}"
            for _ in range(2):
                resp = await http.request("POST", url, {"X-A": "1"}, b"q", proxy=proxy_url)
                assert resp.status == 200 and await resp.read() == b'{"via": "tunnel"}'
                resp.release()
            direct = await http.request("POST", url, {}, b"d")
            await direct.read()
            direct.release()
        assert proxy.targets == [f"CONNECT localhost:{up.port}"]  # the tunnel is pooled
        assert proxy.auth == ["user:pa ss"]
        assert up.connections == 2  # the tunnel, and the direct pool's own connection
        head, sent = up.requests[0]
        assert head.startswith(b"POST /v1/chat HTTP/1.1\r\n") and sent == b"q"
        assert b"proxy-authorization" not in head.lower()

    await run(body)


async def test_http_upstream_is_asked_in_absolute_form(run: Run) -> None:
    async def body() -> None:
        async with (
            stub(answering(ok_response(b"plain"))) as up,
            http_proxy("a:b") as proxy,
            client() as http,
        ):
            url = f"http://127.0.0.1:{up.port}/v1/x?y=1"
            for _ in range(2):
                resp = await http.request(
                    "GET", url, {}, proxy=f"http://a:b@127.0.0.1:{proxy.port}"
                )
                assert await resp.read() == b"plain"
                resp.release()
        # one keep-alive connection to the proxy, reused (the kit's proxy logs its first ask)
        assert proxy.targets == [f"GET http://127.0.0.1:{up.port}/v1/x?y=1"]
        assert proxy.auth == ["a:b"]
        assert up.connections == 1 and len(up.requests) == 2
        first, again = (head.split(b"\r\n") for head, _ in up.requests)
        assert first[0] == b"GET /v1/x?y=1 HTTP/1.1"  # as the proxy asked the origin
        assert again[0] == f"GET {url} HTTP/1.1".encode()  # as relay asked the proxy
        assert b"Proxy-Authorization: Basic YTpi" in again
        assert f"Host: 127.0.0.1:{up.port}".encode() in first

    await run(body)


async def test_an_https_proxy_carries_tls_inside_tls(run: Run, server_tls: ssl.SSLContext) -> None:
    async def body() -> None:
        async with (
            stub(answering(ok_response(b"inner")), ssl_context=server_tls) as secure,
            stub(answering(ok_response(b"outer"))) as plain,
            http_proxy("u:p", ssl_context=server_tls) as proxy,
            client(verify_tls=False) as http,
        ):
            via = f"https://u:p@localhost:{proxy.port}"
            for url, answer in (
                (f"https://localhost:{secure.port}/a", b"inner"),
                (f"http://127.0.0.1:{plain.port}/b", b"outer"),
            ):
                resp = await http.request("GET", url, {}, proxy=via)
                assert await resp.read() == answer
                resp.release()
        assert proxy.targets == [
            f"CONNECT localhost:{secure.port}",
            f"GET http://127.0.0.1:{plain.port}/b",
        ]
        assert proxy.auth == ["u:p", "u:p"]

    await run(body)


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
async def test_socks5_with_remote_dns(run: Run, server_tls: ssl.SSLContext, scheme: str) -> None:
    async def body() -> None:
        async with (
            stub(answering(ok_response(b"socks"))) as plain,
            stub(answering(ok_response(b"socks-tls")), ssl_context=server_tls) as secure,
            socks5_proxy("u:p") as proxy,
            client(verify_tls=False) as http,
        ):
            via = f"{scheme}://u:p@127.0.0.1:{proxy.port}"
            for url, answer in (
                (f"http://localhost:{plain.port}/", b"socks"),
                (f"https://localhost:{secure.port}/", b"socks-tls"),
            ):
                resp = await http.request("GET", url, {}, proxy=via)
                assert await resp.read() == answer
                resp.release()
        # the host name went to the proxy unresolved, in both schemes (as Go's dialer does)
        assert proxy.targets == [f"localhost:{plain.port}", f"localhost:{secure.port}"]
        assert proxy.auth == ["u:p", "u:p"]

    await run(body)


async def test_proxy_failures_name_no_credentials(run: Run) -> None:
    async def body() -> None:
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            dead = closed.getsockname()[1]
        async with (
            stub(answering(ok_response())) as up,
            http_proxy("right:pw") as proxy,
            socks5_proxy("right:pw") as socks,
            client() as http,
        ):
            target = f"https://localhost:{up.port}/"
            cases = [
                f"http://wrong:secret@127.0.0.1:{proxy.port}",
                f"socks5://wrong:secret@127.0.0.1:{socks.port}",
                f"socks5://right:pw@127.0.0.1:{socks.port}",  # the upstream refuses: dead port
                f"http://x:secret@127.0.0.1:{dead}",
            ]
            for n, via in enumerate(cases):
                url = f"https://localhost:{dead}/" if n == 2 else target
                with pytest.raises(UpstreamError) as err:
                    await http.request("GET", url, {}, proxy=via)
                assert "secret" not in str(err.value) and "wrong" not in str(err.value)
                assert "proxy http" in str(err.value) or "proxy socks5" in str(err.value)
            with pytest.raises(ValueError):
                await http.request("GET", target, {}, proxy="gopher://x:secret@h")
        assert not up.requests

    await run(body)
