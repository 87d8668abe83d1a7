"""The client address that every per-address limit counts (logins, query codes, uploads, drafts).

One place, so the limits agree on who "one client" is: the connecting address as uvicorn gives it
(behind a proxy, the address the proxy reports when ``--forwarded-allow-ips`` trusts it). An IPv6
client counts by its /64 network: one subscriber is routinely given a whole /64 and could otherwise
take a fresh address for every guess. IPv4 (and an IPv4-mapped IPv6 address) counts as itself.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import HTTPConnection

IPV6_PREFIX = 64


def key(host: str) -> str:
    """The address ``host`` counts as: itself for IPv4, its /64 for IPv6, the text as given (at most
    64 characters) for anything that is not an address (a test client, a Unix socket)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def of(request: HTTPConnection) -> str:
    """The address this request counts as (:func:`key` of the connecting host)."""
    return key(request.client.host if request.client else "")
