"""The client's IP address, believing X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from aiohttp import web

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=4096)  # a handful of peers and proxies: parse each address once
def _trusted(addr: str, trusted: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_ip(request: web.BaseRequest, trusted: Sequence[IPNetwork]) -> str:
    """The peer address, or, behind trusted proxies, the nearest untrusted X-Forwarded-For hop."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    remote = peer[0] if isinstance(peer, tuple) and peer else "127.0.0.1"
    trusted = tuple(trusted)
    if not _trusted(remote, trusted):
        return str(remote)
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if not _trusted(hop, trusted):
                return hop
        if hops:
            return hops[0]
    real = request.headers.get("X-Real-IP", "").strip()
    return real or str(remote)
