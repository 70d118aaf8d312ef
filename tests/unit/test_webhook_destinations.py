"""Which addresses may receive webhooks: public unicast only, IPv4 hidden in IPv6 included.

The whole path (registration, update, send time, DNS answers) is tested through the API in
tests/adversarial/test_ssrf.py; these are the address rules alone.
"""

from __future__ import annotations

import ipaddress

import pytest

from greenlight.notifications.ssrf import DestinationRefused, embedded_ipv4, parse_url, refusal

REFUSED = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
    "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1",
    "::ffff:0:a00:1", "64:ff9b:1::a00:1", "2002:7f00:1::", "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "2001:db8::1", "100::1", "3fff::1",
]  # fmt: skip
ALLOWED = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_reserved_and_embedded_private_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_unicast_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_the_ipv4_inside_6to4_and_teredo_is_found() -> None:
    assert embedded_ipv4(ipaddress.IPv6Address("2002:0a00:0001::")) == ipaddress.IPv4Address("10.0.0.1")
    teredo = ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:80ff:fffe")
    assert embedded_ipv4(teredo) == ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("https://example.com/hook", ("https", "example.com", 443)),
        ("HTTP://Example.com:8080/x", ("http", "example.com", 8080)),
        ("http://[2606:4700::1]/", ("http", "2606:4700::1", 80)),
    ],
)
def test_urls_name_a_scheme_host_and_port(url: str, parsed: tuple[str, str, int]) -> None:
    assert parse_url(url) == parsed


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "http:///nohost", "http://example.com:99999/", "http://" + "x" * 3000]
)
def test_other_schemes_hostless_or_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        parse_url(url)
