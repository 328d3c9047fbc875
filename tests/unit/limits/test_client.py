"""Who a client is: the address the platform reports, never a header the client chose."""

from __future__ import annotations

import pytest

from chat_api.limits import client_address, client_key, identify


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("203.0.113.5:51234", "203.0.113.5"),  # App Service's client-ip carries the port
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"),
        ("[2001:db8:1:2::77]:443", "2001:db8:1:2::"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("[2001:db8:1:2::77]", "2001:db8:1:2::"),  # brackets, no port
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd:443", "2001:db8:1:2::"),  # a port, no brackets
        (" 203.0.113.5:443 ", "203.0.113.5"),
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


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.5:443", "203.0.113.0/24"),
        ("[2001:db8:1:2::77]:443", "2001:db8:1::/48"),
        ("2001:db8:1:ffff:aaaa:bbbb:cccc:dddd:443", "2001:db8:1::/48"),
    ],
)
def test_a_clients_network_is_its_ipv4_24_or_ipv6_48(address, network):
    assert identify(address).network == network


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("20.1.2.3", "public"),
        ("10.0.0.4:5000", "private"),  # a proxy inside Azure
        ("127.0.0.1", "private"),
        ("[fe80::1]:80", "private"),
        ("", "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_a_caller_says_whether_its_address_can_tell_it_from_others(address, kind):
    assert identify(address).kind == kind


def test_unknown_callers_share_one_key_that_is_no_networks():
    unknown = identify(None)

    assert unknown.key != unknown.network
