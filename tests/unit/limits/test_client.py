"""Who a client is: the address the platform reports, never a header the client chose."""

from __future__ import annotations

import pytest

from chat_api.limits import client_address, client_key


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("203.0.113.5:51234", "203.0.113.5"),  # App Service's client-ip carries the port
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"),
        ("[2001:db8:1:2::77]:443", "2001:db8:1:2::"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("", "unknown"),
        (None, "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_a_client_key_is_the_ipv4_address_or_the_ipv6_64_network(address, key):
    assert client_key(address) == key


def test_two_addresses_in_one_ipv6_64_are_one_client():
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9")


def test_without_a_front_end_the_client_is_the_peer_and_forwarded_headers_are_ignored():
    headers = {"x-forwarded-for": "198.51.100.1", "client-ip": "198.51.100.2"}

    assert client_address(headers, "127.0.0.1", header="") == "127.0.0.1"


def test_behind_the_front_end_the_client_is_its_client_ip_header_not_x_forwarded_for():
    headers = {"x-forwarded-for": "198.51.100.1, 203.0.113.5", "client-ip": "203.0.113.5:443"}

    assert client_address(headers, "127.0.0.1", header="client-ip") == "203.0.113.5:443"
