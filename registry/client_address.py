"""The client's address: the one way every part of Wharf reads it (failure throttles, rate limits,
download counts, the access log).

`X-Forwarded-For` is anyone's to write, so it is believed only as far as proxies the operator
trusts (`WHARF_TRUSTED_PROXIES`) wrote it: walking it from the right (the nearest hop) past
trusted proxies, the first address that is not one is the client. A request whose TCP peer is not
a trusted proxy is its own client, whatever it sends. With no trusted proxies (the default) the
header is ignored. `Forwarded` (RFC 7239) is not read.

registry.middlewares resolves the address once, first of all, and hands on a request whose
`remote` is that address: handlers and the access log read `request.remote` and need not know
about proxies.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Protocol

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV6_CLIENT_PREFIX = 64  # one subscriber usually holds a whole /64: count it as one client


def parse_networks(raw: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks; ValueError naming a bad one."""
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if item:
            networks.append(ipaddress.ip_network(item, strict=False))
    return tuple(networks)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


class Headers(Protocol):
    """What a request's headers offer (aiohttp's CIMultiDictProxy): every value of one header."""

    def getall(self, key: str, default: Iterable[str]) -> Iterable[str]: ...


def client_address_of(peer: str | None, headers: Headers, trusted: Sequence[Network]) -> str | None:
    """The client's address of a request from `peer` with `headers` (the one reading of them)."""
    return client_address(peer, headers.getall("X-Forwarded-For", ()), trusted)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str | None:
    """The client's address: the peer, unless the peer is a trusted proxy (see the module)."""
    current = _ip(peer) if peer else None
    if current is None or not _trusted(current, trusted):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:  # a trusted proxy passed on something that is no address: stop at it
            break
        current = address
        if not _trusted(current, trusted):
            break
    return str(current)


@functools.lru_cache(maxsize=16384)
def address_key(address: str | None) -> str:
    """What counts as one client for throttles and counts: an IPv4 address, or an IPv6 /64 (a
    client holding a /64 could otherwise rotate through 2**64 fresh budgets). Remembered for the
    last 16k addresses: parsing one (~3 µs) was 4% of a warm bundle request's Python time, and a
    client asks many times."""
    parsed = _ip(address) if address else None
    if parsed is None:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
    return str(parsed)
