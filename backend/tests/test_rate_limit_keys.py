"""Whom a per-client limit counts: an IPv4 address, an IPv6 /64, whatever the text form."""

import pytest

from app.utils.rate_limit import client_key, normalised_email

pytestmark = pytest.mark.usefixtures("clean_tables")


@pytest.mark.parametrize(("address", "key"), [
    ("198.51.100.7", "198.51.100.7"),
    # Every text form of one /64 is the same key.
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("2001:0db8:0001:0002:0000:0000:0000:0001", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::abcd", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("::1", "::/64"),
    ("::", "::/64"),
    # IPv4-mapped (a dual-stack socket): the IPv4 client, in either notation.
    ("::ffff:198.51.100.7", "198.51.100.7"),
    ("::FFFF:c633:6407", "198.51.100.7"),
    ("0:0:0:0:0:ffff:198.51.100.7", "198.51.100.7"),
])
def test_client_key(address, key):
    assert client_key(address) == key


def test_other_64s_and_addresses_are_other_keys():
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("198.51.100.7") != client_key("198.51.100.8")
    # The IPv4-compatible form (deprecated, ::a.b.c.d) is an IPv6 address like any other.
    assert client_key("::198.51.100.7") == "::/64"


@pytest.mark.parametrize(("peer", "key"), [(None, "unknown"), ("", "unknown"),
                                           ("unix", "unix"), ("not an address", "not an address")])
def test_a_peer_that_is_no_address_is_its_own_key(peer, key):
    assert client_key(peer) == key


@pytest.mark.parametrize(("value", "normalised"), [
    ("Luna@Example.COM", "luna@example.com"), (" luna@example.com ", "luna@example.com"),
    ("no at sign", None), (42, None), (None, None), (["a@b.c"], None)])
def test_normalised_email(value, normalised):
    assert normalised_email(value) == normalised


# --- through the app: nginx forwards the client's address ----------------------------------

VIA_NGINX = {"REMOTE_ADDR": "127.0.0.1"}


def login_from(client, address, email="nobody@example.com"):
    return client.post("/api/v1/auth/login", json={"email": email, "password": "not the one"},
                       headers={"X-Forwarded-For": address}, environ_base=VIA_NGINX)


def test_rotating_addresses_inside_one_64_is_one_client(client):
    statuses = [login_from(client, f"2001:db8:aa:bb::{n:x}", f"n{n}@example.com").status_code
                for n in range(1, 12)]
    assert statuses == [401] * 10 + [429]
    blocked = login_from(client, "2001:db8:aa:bb:ffff::1", "other@example.com")
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.get_json()["success"] is False
    # The next /64 is another client.
    assert login_from(client, "2001:db8:aa:bc::1", "other@example.com").status_code == 401


def test_an_ipv4_mapped_address_counts_as_its_ipv4_client(client):
    for n in range(10):
        form = "198.51.100.40" if n % 2 else "::ffff:198.51.100.40"
        assert login_from(client, form, f"m{n}@example.com").status_code == 401
    assert login_from(client, "::ffff:c633:6428", "last@example.com").status_code == 429
    assert login_from(client, "198.51.100.41", "last@example.com").status_code == 401
