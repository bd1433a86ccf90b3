"""Abuse limits through nginx: IPv6 clients counted per /64 by nginx and by the API, and
failed logins limited per account from any address.

The local VPS routes a client /48 to this host (local-vps/vps.sh: VPS_CLIENTS6), so a
test speaks from as many addresses of one /64, or from as many /64s, as it likes. Every
test takes /64s of its own at random: the counters of earlier runs stay in nginx and
Redis for their windows.
"""

import ipaddress
import json
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from ops import new_member, register_member

# The API's defaults (backend/app/config.py): logins per client, failed logins per account.
LOGINS_PER_CLIENT = 10
FAILED_LOGINS_PER_ACCOUNT = 20
# nginx's limit on /api/v1/auth/ (nginx/nginx.conf): 5 r/s, bursts of 10.
NGINX_RATE, NGINX_BURST = 5, 10
TOO_MANY_FAILURES = "Too many wrong passwords for this account; retry later"


@pytest.fixture(scope="module")
def prefixes(vps):
    """fresh() -> a /64 of the client prefix no other test of this run took."""
    if not (vps.address6 and vps.clients6):
        pytest.skip("the VPS names no IPv6 address and client prefix (VPS_ADDRESS6, _CLIENTS6)")
    clients = ipaddress.IPv6Network(vps.clients6)
    numbers = iter(random.sample(range(2 ** (64 - clients.prefixlen)), 1000))

    def fresh() -> ipaddress.IPv6Network:
        return ipaddress.IPv6Network((int(clients.network_address) + (next(numbers) << 64), 64))

    return fresh


def address_in(network: ipaddress.IPv6Network, n: int) -> str:
    return str(network.network_address + n)


def post_from(vps, source: str, path: str, body: dict | None = None):
    return vps.session_from(source).post(vps.url(path), json=body, timeout=30)


def test_nginx_counts_an_ipv6_64_as_one_client(vps, prefixes):
    """Writes to /auth/ from many addresses of one /64 hit nginx's limit; as many from as
    many /64s do not. Logout without a token: the API answers 401 and counts nothing."""
    # Sent at once, far more than the burst and what 5 r/s adds while they are answered.
    requests_sent = 6 * (NGINX_BURST + 1)

    def burst(sources):
        with ThreadPoolExecutor(max_workers=30) as pool:
            return list(pool.map(lambda s: post_from(vps, s, "/api/v1/auth/logout"), sources))

    one = prefixes()
    same_64 = burst([address_in(one, n + 1) for n in range(requests_sent)])
    refused = [answer for answer in same_64 if answer.status_code == 429]
    assert refused, f"no 429 among {requests_sent} writes from one /64"
    assert {answer.status_code for answer in same_64} == {401, 429}
    # nginx's own answer (snippets/tdc-api-errors.conf), not the API's.
    assert refused[0].json() == {"success": False, "error": "Too many requests"}
    assert refused[0].headers["Retry-After"] == "1"

    apart = burst([address_in(prefixes(), 1) for _ in range(requests_sent)])
    assert [answer.status_code for answer in apart] == [401] * requests_sent


def test_the_api_counts_an_ipv6_64_as_one_client(vps, prefixes):
    """Logins from a new address of one /64 each time, paced below nginx's rate: the API's
    per-client limit answers the one past it."""
    one = prefixes()
    statuses, last = [], None
    for n in range(LOGINS_PER_CLIENT + 1):
        time.sleep(1 / NGINX_RATE)
        last = post_from(vps, address_in(one, 0x1000 + n), "/api/v1/auth/login",
                         {"email": f"rotating-{uuid.uuid4().hex[:8]}@example.com",
                          "password": "not the password"})
        statuses.append(last.status_code)
    assert statuses == [401] * LOGINS_PER_CLIENT + [429]
    # The API's answer (its limit headers), retry after its window.
    assert last.headers["X-RateLimit-Limit"] == str(LOGINS_PER_CLIENT)
    assert int(last.headers["Retry-After"]) > 1
    assert last.json()["success"] is False
    # Another /64 is another client.
    other = post_from(vps, address_in(prefixes(), 1), "/api/v1/auth/login",
                      {"email": "someone-else@example.com", "password": "not the password"})
    assert other.status_code == 401


def test_failed_logins_limit_the_account_from_any_address(vps, prefixes, site):
    # Verified, so that the right password would otherwise log in.
    member = register_member(vps, new_member("limits"))
    wrong = {"email": member["email"], "password": "not the password"}
    # Each failure from another /64: no per-client limit is near.
    statuses = [post_from(vps, address_in(prefixes(), 1), "/api/v1/auth/login", wrong).status_code
                for _ in range(FAILED_LOGINS_PER_ACCOUNT)]
    assert statuses == [401] * FAILED_LOGINS_PER_ACCOUNT
    # Then even the right password, from yet another client, waits out the window.
    right = {"email": member["email"], "password": member["password"]}
    limited = post_from(vps, address_in(prefixes(), 1), "/api/v1/auth/login", right)
    assert limited.status_code == 429, limited.text
    assert limited.json() == {"success": False, "error": TOO_MANY_FAILURES}
    assert int(limited.headers["Retry-After"]) > 60
    # An unknown e-mail is limited the same way (no enumeration by 429s).
    unknown = {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "password": "nope nope"}
    unknown_statuses = [post_from(vps, address_in(prefixes(), 1), "/api/v1/auth/login",
                                  unknown).status_code
                        for _ in range(FAILED_LOGINS_PER_ACCOUNT + 1)]
    assert unknown_statuses == [401] * FAILED_LOGINS_PER_ACCOUNT + [429]


def test_the_app_sees_the_ipv6_client(vps, prefixes):
    source = address_in(prefixes(), 0xabc)
    request_id = f"e2e-ipv6-{uuid.uuid4().hex}"
    answer = vps.session_from(source).get(vps.url("/api/v1/health"), timeout=30,
                                          headers={"X-Request-ID": request_id})
    assert answer.status_code == 200
    lines = vps.run(f"journalctl -u tdc-gunicorn -o cat --no-pager --grep {request_id}")
    entries = [json.loads(line) for line in lines.splitlines() if line.startswith("{")]
    assert {entry["remote_addr"] for entry in entries if entry.get("path")} == {source}
