"""Where webhooks may go: http(s) only, to public unicast addresses: never loopback, private,
link-local, metadata or reserved addresses, IPv6 only in global unicast (2000::/3), and never an
IPv6 form that embeds a refused IPv4 address; checked at registration, on update and again at send
time on every resolved address. ``GREENLIGHT_WEBHOOK_ALLOW_PRIVATE=true`` lifts the address
rule (tests, local use)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from greenlight.errors import Unprocessable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = ("http", "https")
# The only IPv6 space that holds public unicast hosts (RFC 4291); everything else (IPv4-compatible,
# IPv4-translated, NAT64, ULA, link-local, multicast, unassigned space such as 4000::/3) is refused.
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
# Inside 2000::/3 but not public hosts. Python's is_global does not know every one of them
# (3fff::/20, RFC 9637, came after Python 3.11); 2002::/16 and 2001::/32 are checked by what they embed.
RESERVED_IN_GLOBAL_V6 = (
    ipaddress.ip_network("2001:db8::/32"),  # documentation
    ipaddress.ip_network("3fff::/20"),  # documentation
    ipaddress.ip_network("2001:2::/48"),  # benchmarking
    ipaddress.ip_network("2001:10::/28"),  # ORCHID
    ipaddress.ip_network("2001:20::/28"),  # ORCHIDv2
)
# IPv6 forms that carry an IPv4 address in their last 32 bits.
LOW_32_EMBEDDING = (
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated)
    ipaddress.ip_network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.ip_network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64, well-known prefix
    ipaddress.ip_network("64:ff9b:1::/48"),  # NAT64, local-use prefix
)


class DestinationRefused(Exception):
    """The URL cannot be used: its scheme, its host, or an address it resolves to."""

    def __init__(self, reason: str, code: str, address: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.address = address


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, translated, compatible, NAT64, 6to4,
    Teredo), if any: a host may route it to that IPv4 address."""
    if address.teredo is not None:
        return address.teredo[1]
    if address.sixtofour is not None:
        return address.sixtofour
    if int(address) > 1 and any(address in network for network in LOW_32_EMBEDDING):  # not :: or ::1
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _ipv6_refusal(address: ipaddress.IPv6Address) -> str | None:
    if address not in GLOBAL_UNICAST_V6:
        return "IPv6 address outside global unicast (2000::/3)"
    if any(address in network for network in RESERVED_IN_GLOBAL_V6):
        return "reserved address"
    return None


def refusal(address: IPAddress) -> str | None:
    """Why this address may not receive webhooks, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        inner = refusal(embedded) if embedded is not None else None
        if inner is not None:
            return f"{inner} (embedded in {address})"
    if address.is_loopback:
        return "loopback address"
    if address.is_link_local:
        return "link-local address (includes cloud metadata 169.254.169.254)"
    if address.is_multicast:
        return "multicast address"
    if address.is_unspecified:
        return "unspecified address"
    if isinstance(address, ipaddress.IPv6Address):
        reason = _ipv6_refusal(address)
        if reason is not None:
            return reason
    if address.is_private or address.is_reserved or not address.is_global:
        return "private or reserved address"
    return None


def parse_url(url: str) -> tuple[str, str, int]:
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"The URL is longer than {MAX_URL_LENGTH} characters", "INVALID_WEBHOOK_URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"The URL is not valid: {exc}", "INVALID_WEBHOOK_URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise DestinationRefused("Only http and https URLs are allowed", "INVALID_WEBHOOK_URL")
    if not parts.hostname:
        raise DestinationRefused("The URL has no host", "INVALID_WEBHOOK_URL")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return (literal,)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DestinationRefused(
            f"The host {host!r} does not resolve: {exc}", "WEBHOOK_URL_UNRESOLVABLE"
        ) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DestinationRefused(f"The host {host!r} has no address", "WEBHOOK_URL_UNRESOLVABLE")
    return tuple(addresses)


def check_destination(url: str, *, allow_private: bool) -> Destination:
    """Parse, resolve and check every address; raises DestinationRefused."""
    scheme, host, port = parse_url(url)
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise DestinationRefused(
                    f"Webhooks may not be sent to {host} ({address}): {reason}",
                    "WEBHOOK_URL_NOT_ALLOWED",
                    str(address),
                )
    return Destination(scheme=scheme, host=host, port=port, addresses=addresses)


def validate_webhook_url(url: str, *, allow_private: bool) -> str:
    """The registration-time check: the URL as given, or a 422 naming what is wrong."""
    try:
        check_destination(url, allow_private=allow_private)
    except DestinationRefused as exc:
        details = {"url": url, "reason": exc.reason}
        if exc.address is not None:
            details["address"] = exc.address
        raise Unprocessable(exc.reason, details, code=exc.code) from None
    return url
