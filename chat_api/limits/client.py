"""Who a client is, for the per-client and per-network limits.

In Azure, App Service's front end (which Flex Consumption apps sit behind) sets the `client-ip`
header to the address of the connection it accepted, as `address:port`, and overwrites any value
the client sent, so it cannot be spoofed. The Functions host passes it on to the worker as it is.
`X-Forwarded-For` is no use for this: a client can put anything at its start, and the host's
proxy rewrites it with its own view of the connection. Under `make run` there is no front end, so
the client is the connection's peer address. Behind Azure Front Door the app reads the
`X-Azure-SocketIP` header Front Door sets (its `X-Azure-ClientIP` a caller can write). Either
way, a header the client sends itself never changes who it is.

IPv6 clients are counted by their /64 network: one subscriber usually holds a whole /64, so
counting single addresses would let it walk through billions of identities. Networks, which
share limits of their own, are IPv4 /24s and IPv6 /48s (a site's usual allocation).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

PLATFORM_HEADER = "client-ip"
# The header Azure Front Door sets to the address of the connection it accepted.
FRONT_DOOR_HEADER = "x-azure-socketip"
UNKNOWN = "unknown"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Caller:
    """A client as the limits count it. `kind` says how much the address can be trusted to tell
    callers apart: `public`, `private` (a private, loopback or link-local address: in Azure, a
    proxy's, shared by everyone behind it) or `unknown` (none, or unreadable)."""

    key: str
    network: str
    kind: str


UNKNOWN_CALLER = Caller(UNKNOWN, f"{UNKNOWN}/network", UNKNOWN)


def client_address(headers: Mapping[str, str], peer: str | None, *, header: str) -> str | None:
    """The client's address as the platform reports it: the named header when the app runs
    behind a front end that sets it (`header`), else the connection's peer."""
    if header:
        return headers.get(header)
    return peer


def identify(address: str | None) -> Caller:
    """The caller behind an address in any form the platform sends (a client asks several
    times: each address is read once; the cache is cleared when full)."""
    if not address:
        return UNKNOWN_CALLER
    caller = _identified.get(address)
    if caller is None:
        if len(_identified) >= _MAX_CACHED:
            _identified.clear()
        caller = _identified[address] = _identify(address)
    return caller


_MAX_CACHED = 20_000
_identified: dict[str, Caller] = {}


def _identify(address: str) -> Caller:
    ip = parse_address(address)
    if ip is None:
        return UNKNOWN_CALLER
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    kind = "private" if ip.is_private or ip.is_loopback or ip.is_link_local else "public"
    if isinstance(ip, ipaddress.IPv6Address):
        return Caller(str(_network(ip, 64).network_address), str(_network(ip, 48)), kind)
    return Caller(str(ip), str(_network(ip, 24)), kind)


def client_key(address: str | None) -> str:
    """A stable key for an address: the IPv4 address, or the IPv6 /64 network."""
    return identify(address).key


def parse_address(text: str) -> IPAddress | None:
    """An address, with or without a port and brackets: `1.2.3.4`, `1.2.3.4:5`, `::1`,
    `[::1]`, `[::1]:5`, and an IPv6 address followed by `:port` without brackets (when the
    whole cannot be read as an address, the last part is taken for the port)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    head, _, port = text.rpartition(":")
    if head and port.isdigit():
        try:
            return ipaddress.ip_address(head)
        except ValueError:
            return None
    return None


def _network(ip: IPAddress, prefix: int) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network((ip, prefix), strict=False)
