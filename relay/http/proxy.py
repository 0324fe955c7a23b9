"""Per-channel upstream proxies (channel `setting.proxy`): HTTP(S) and SOCKS5, as new-api's
Go transport uses them.

- `http://` and `https://` (TLS to the proxy) proxies: an `http://` upstream is asked in
  absolute form on a connection to the proxy (what Go does, and what proxies that allow
  CONNECT only to TLS ports, Squid's default, accept); an `https://` upstream goes through a
  CONNECT tunnel, its TLS inside it.
- `socks5://` and `socks5h://` (python-socks): the upstream's host name is resolved by the
  proxy in both cases, as Go's SOCKS5 dialer does for new-api.

Credentials in the URL are sent to the proxy only; `ProxySpec.safe` is the form for logs
and errors.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from python_socks import ProxyError, ProxyTimeoutError, ProxyType
from python_socks.async_.asyncio import Proxy

_NEGOTIATION_LIMIT = 300.0  # python-socks' own cap, above any connect timeout relay uses
_DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}
_MAX_REPLY_HEAD = 64 * 1024


class ProxyFailed(Exception):
    """The proxy refused or could not reach the upstream; the message names no secret."""


@dataclass(frozen=True, slots=True)
class ProxySpec:
    """One parsed proxy URL."""

    scheme: str  # http | https | socks5 | socks5h
    host: str
    port: int
    username: str = ""
    password: str = ""

    @property
    def safe(self) -> str:
        """The URL without credentials."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def is_http(self) -> bool:
        return self.scheme in ("http", "https")

    @property
    def tls(self) -> bool:
        """TLS to the proxy itself."""
        return self.scheme == "https"

    @property
    def authorization(self) -> str:
        """The Proxy-Authorization value for an absolute-form request ('' without user)."""
        if not self.username:
            return ""
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


@functools.lru_cache(maxsize=256)  # a few proxies, each parsed once
def parse_proxy(url: str) -> ProxySpec:
    """new-api's runtime rules: http, https, socks5 or socks5h with a host and a valid port;
    a legacy path or query is dropped. Raises ValueError with a message free of the URL."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("proxy URL must use http, https, socks5 or socks5h")
    if not parts.hostname:
        raise ValueError("proxy URL must include a host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("proxy URL must include a valid port") from None
    return ProxySpec(
        scheme,
        parts.hostname,
        port,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


class _ConnectReply(asyncio.Protocol):
    """Collects the proxy's answer to CONNECT (nothing follows it before our TLS hello)."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.answered: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.head += data
        if self.answered.done():
            return
        if b"\r\n\r\n" in self.head:
            self.answered.set_result(bytes(self.head))
        elif len(self.head) > _MAX_REPLY_HEAD:
            self.answered.set_exception(ConnectionError("answer too long"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.answered.done():
            self.answered.set_exception(ConnectionError("closed before answering"))


async def connect_tunnel(
    spec: ProxySpec, host: str, port: int, proxy_tls: ssl.SSLContext
) -> asyncio.Transport:
    """A connection to the HTTP(S) proxy on which `CONNECT host:port` was granted."""
    loop = asyncio.get_running_loop()
    tls = proxy_tls if spec.tls else None
    try:
        transport, reply = await loop.create_connection(
            _ConnectReply, spec.host, spec.port, ssl=tls, server_hostname=spec.host if tls else None
        )
    except OSError as exc:
        raise ProxyFailed(f"proxy {spec.safe} is unreachable: {type(exc).__name__}") from None
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if spec.authorization:
        lines.append(f"Proxy-Authorization: {spec.authorization}")
    transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    try:
        head = await reply.answered
    except ConnectionError as exc:
        transport.close()
        raise ProxyFailed(f"proxy {spec.safe} failed the tunnel to {authority}: {exc}") from None
    except BaseException:
        transport.close()
        raise
    status = head.split(b"\r\n", 1)[0].decode("latin-1")
    if status.split(" ")[1:2] != ["200"]:  # Go's transport takes 200 only
        transport.close()
        raise ProxyFailed(f"proxy {spec.safe} refused the tunnel to {authority}: {status[:100]}")
    return transport


async def socks_tunnel(spec: ProxySpec, host: str, port: int) -> socket.socket:
    """A connected socket to host:port through the SOCKS5 proxy; the caller bounds the time
    it may take."""
    proxy = Proxy(
        ProxyType.SOCKS5,
        spec.host,
        spec.port,
        username=spec.username or None,
        password=spec.password or None,
        rdns=True,
        loop=asyncio.get_running_loop(),
    )
    try:
        return await proxy.connect(host, port, timeout=_NEGOTIATION_LIMIT)
    except ProxyTimeoutError:
        raise ProxyFailed(f"proxy {spec.safe} timed out reaching {host}:{port}") from None
    except (ProxyError, OSError) as exc:
        reason = type(exc).__name__
        raise ProxyFailed(f"proxy {spec.safe} could not reach {host}:{port}: {reason}") from None
