"""The client address that every per-address limit counts (logins, query codes, uploads, drafts).

One place, so the limits agree on who "one client" is: the connecting address as uvicorn gives it
(behind a proxy, the address the proxy reports when ``--forwarded-allow-ips`` trusts it). An IPv6
client counts by its network (:data:`IPV6_PREFIX`): one subscriber is routinely given a whole
prefix and could otherwise take a fresh address for every guess. IPv4 counts as itself, and so does
an IPv4 client reached through IPv6 (IPv4-mapped, 6to4, Teredo).
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

IPV6_PREFIX = 56
"""An IPv6 client counts by its /56: what an ISP commonly delegates to one subscriber (RIPE-690
recommends /56 or /48), so it cannot take a fresh /64 of its own for every guess."""


class Client(Protocol):
    """The connecting end of a request, as the server gives it."""

    @property
    def host(self) -> str: ...


class Connection(Protocol):
    """What :func:`of` reads of a request: its client, when the server knows it (a Starlette
    ``HTTPConnection`` or ``Request`` is one; this module needs no web framework)."""

    @property
    def client(self) -> Client | None: ...


def key(host: str) -> str:
    """The address ``host`` counts as: itself for IPv4, its /56 for IPv6, the text as given (at most
    64 characters) for anything that is not an address (a test client, a Unix socket)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        # an IPv4 client seen through IPv6 (mapped, 6to4, Teredo) counts as that IPv4 address
        ipv4 = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if ipv4 is not None:
            return str(ipv4)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def of(request: Connection) -> str:
    """The address this request counts as (:func:`key` of the connecting host)."""
    return key(request.client.host if request.client else "")
