"""The client's IP address, believing X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

from aiohttp import web

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class _TrustCache:
    """addr → trusted?, per list of trusted networks. A node sees a handful of peers and
    proxies, so each address is parsed once (hashing the networks per call cost more than
    the rest of the lookup)."""

    def __init__(self, trusted: Sequence[IPNetwork]) -> None:
        self.trusted = trusted
        self.known: dict[str, bool] = {}

    def __call__(self, addr: str) -> bool:
        hit = self.known.get(addr)
        if hit is None:
            try:
                ip = ipaddress.ip_address(addr)
            except ValueError:
                hit = False
            else:
                hit = any(ip in net for net in self.trusted)
            if len(self.known) >= 4096:
                self.known.clear()
            self.known[addr] = hit
        return hit


# One cache per list of trusted networks, found by the list's identity (hashing the
# networks on every call is what the cache is there to avoid); the entry keeps the list alive
# so its id stays its own. Settings holds one list for the life of the process.
_CACHES: dict[int, _TrustCache] = {}


def _cache_for(trusted: Sequence[IPNetwork]) -> _TrustCache:
    cache = _CACHES.get(id(trusted))
    if cache is None or cache.trusted is not trusted:
        if len(_CACHES) >= 64:
            _CACHES.clear()
        cache = _CACHES[id(trusted)] = _TrustCache(trusted)
    return cache


def is_trusted_proxy(addr: str, trusted: Sequence[IPNetwork]) -> bool:
    """Whether `addr` is one of the trusted proxies (whose forwarding headers count)."""
    return _cache_for(trusted)(addr)


def client_ip(request: web.BaseRequest, trusted: Sequence[IPNetwork]) -> str:
    """client_ip_from() for an aiohttp request (the admin API)."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    remote = peer[0] if isinstance(peer, tuple) and peer else "127.0.0.1"
    return client_ip_from(str(remote), request.headers, trusted)


def client_ip_from(remote: str, headers: Mapping[str, str], trusted: Sequence[IPNetwork]) -> str:
    """The peer address, or, behind trusted proxies, the nearest untrusted X-Forwarded-For hop."""
    is_trusted = _cache_for(trusted)
    if not is_trusted(remote):
        return remote
    forwarded = headers.get("X-Forwarded-For")
    if forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if not is_trusted(hop):
                return hop
        if hops:
            return hops[0]
    real = (headers.get("X-Real-IP") or "").strip()
    return real or remote
