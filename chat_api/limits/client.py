"""Who a client is, for the per-client limits.

In Azure, App Service's front end (which Flex Consumption apps sit behind) sets the `client-ip`
header to the address of the connection it accepted, as `address:port`, and overwrites any value
the client sent, so it cannot be spoofed. The Functions host passes it on to the worker as it is.
`X-Forwarded-For` is no use for this: a client can put anything at its start, and the host's
proxy rewrites it with its own view of the connection. Under `make run` there is no front end, so
the client is the connection's peer address. Either way, a header the client sends itself never
changes who it is.

IPv6 clients are counted by their /64 network: one subscriber usually holds a whole /64, so
counting single addresses would let it walk through billions of identities.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

PLATFORM_HEADER = "client-ip"
UNKNOWN = "unknown"


def client_address(headers: Mapping[str, str], peer: str | None, *, header: str) -> str | None:
    """The client's address as the platform reports it: the named header when the app runs
    behind a front end that sets it (`header`), else the connection's peer."""
    if header:
        return headers.get(header)
    return peer


def client_key(address: str | None) -> str:
    """A stable, storable key for an address: the IPv4 address, or the IPv6 /64 network."""
    ip = _parse(address or "")
    if ip is None:
        return UNKNOWN
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        network = ipaddress.IPv6Network((ip, 64), strict=False)
        return str(network.network_address)
    return str(ip)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address, with a port (`1.2.3.4:5`, `[::1]:5`) or without."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
