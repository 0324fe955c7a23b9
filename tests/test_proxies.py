"""relay.proxies: the client IP behind trusted proxies."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest
from multidict import CIMultiDict

from relay.proxies import client_ip
from relay.settings import DEFAULT_TRUSTED_PROXIES


@dataclass
class FakeTransport:
    peer: Any

    def get_extra_info(self, name: str) -> Any:
        assert name == "peername"
        return self.peer


@dataclass
class FakeRequest:
    """Just what client_ip reads of an aiohttp request."""

    peer: Any
    header_items: dict[str, str] = field(default_factory=dict)
    no_transport: bool = False

    @property
    def transport(self) -> FakeTransport | None:
        return None if self.no_transport else FakeTransport(self.peer)

    @property
    def headers(self) -> CIMultiDict[str]:
        return CIMultiDict(self.header_items)


TRUSTED = tuple(ipaddress.ip_network(n) for n in DEFAULT_TRUSTED_PROXIES.split(","))


def ip(peer: Any, trusted: tuple[Any, ...] = TRUSTED, **headers: str) -> str:
    items = {k.replace("_", "-"): v for k, v in headers.items()}
    return client_ip(FakeRequest(peer, items), trusted)  # type: ignore[arg-type]


def test_untrusted_peer_is_the_client_whatever_the_headers_say() -> None:
    peer = ("203.0.113.7", 5555)
    assert ip(peer) == "203.0.113.7"
    assert ip(peer, X_Forwarded_For="1.2.3.4", X_Real_IP="5.6.7.8") == "203.0.113.7"


def test_trusted_peer_without_headers_is_the_client() -> None:
    assert ip(("127.0.0.1", 1)) == "127.0.0.1"
    assert ip(("10.0.0.5", 1)) == "10.0.0.5"
    assert ip(("::1", 1, 0, 0)) == "::1"


def test_forwarded_for_nearest_untrusted_hop_wins() -> None:
    peer = ("10.0.0.2", 1)
    assert ip(peer, X_Forwarded_For="198.51.100.1") == "198.51.100.1"
    # client, spoofed?, proxy chain: the right-most untrusted hop is the real client.
    chain = "6.6.6.6, 198.51.100.1, 10.0.0.9, 192.168.0.3"
    assert ip(peer, X_Forwarded_For=chain) == "198.51.100.1"
    assert ip(peer, X_Forwarded_For=" 198.51.100.1 ,, 172.16.0.1 ") == "198.51.100.1"


def test_forwarded_for_all_trusted_gives_the_first_hop() -> None:
    assert ip(("10.0.0.2", 1), X_Forwarded_For="192.168.1.1, 10.0.0.3") == "192.168.1.1"


def test_unparsable_hops_are_not_trusted() -> None:
    assert ip(("10.0.0.2", 1), X_Forwarded_For="garbage, 10.0.0.3") == "garbage"


def test_x_real_ip_when_no_forwarded_for() -> None:
    assert ip(("127.0.0.1", 1), X_Real_IP=" 198.51.100.9 ") == "198.51.100.9"
    assert ip(("127.0.0.1", 1), X_Forwarded_For="", X_Real_IP="198.51.100.9") == "198.51.100.9"
    assert ip(("127.0.0.1", 1), X_Forwarded_For=" , ", X_Real_IP="198.51.100.9") == ("198.51.100.9")


def test_ipv6_peers_and_hops() -> None:
    assert ip(("2001:db8::5", 1, 0, 0)) == "2001:db8::5"
    assert ip(("fd00::1", 1, 0, 0), X_Forwarded_For="2001:db8::7") == "2001:db8::7"


def test_no_trusted_proxies_means_the_peer() -> None:
    assert ip(("127.0.0.1", 1), (), X_Forwarded_For="198.51.100.1") == "127.0.0.1"


@pytest.mark.parametrize("peer", [None, (), "unix-socket-path"])
def test_unknown_peer_counts_as_localhost(peer: Any) -> None:
    assert ip(peer) == "127.0.0.1"
    assert ip(peer, X_Forwarded_For="198.51.100.1") == "198.51.100.1"


def test_no_transport() -> None:
    request = FakeRequest(None, {"X-Forwarded-For": "198.51.100.1"}, no_transport=True)
    assert client_ip(request, TRUSTED) == "198.51.100.1"  # type: ignore[arg-type]
    assert client_ip(FakeRequest(None, no_transport=True), ()) == "127.0.0.1"  # type: ignore[arg-type]
