"""The microcache of the public lists: a cookie does not get past it, a token does, and
an admin write shows in the list within the cache's lifetime (1 s)."""

import time
import uuid

import pytest
from ops import admin_token, member_token, requests_logged

LIST = "/api/v1/locations?per_page=100"
# proxy_cache_valid in nginx/snippets/tdc-microcache.conf.
LIFETIME = 1.0


def cached_answer(site, vps, headers: dict) -> tuple[str, str]:
    """(X-Cache-Status, request id) of a GET of the list sent right after an anonymous
    one, which leaves a fresh entry in the cache."""
    site.get(vps.url(LIST), timeout=10).raise_for_status()
    request_id = f"e2e-cache-{uuid.uuid4().hex}"
    answer = site.get(vps.url(LIST), headers={**headers, "X-Request-ID": request_id},
                      timeout=10)
    assert answer.status_code == 200, answer.text[:300]
    return answer.headers["X-Cache-Status"], request_id


@pytest.mark.parametrize("cookie", ["session=1", "remember_token=x; bench=1"])
def test_a_cookie_does_not_bypass_the_cache(site, vps, cookie):
    # The entry may expire between the two requests: a few tries, each must be a hit.
    statuses = []
    for _ in range(3):
        status, request_id = cached_answer(site, vps, {"Cookie": cookie})
        statuses.append(status)
        if status == "HIT":
            break
    assert statuses[-1] == "HIT", f"a cookie got {statuses}, not an answer from the cache"
    assert "BYPASS" not in statuses
    assert requests_logged(vps, request_id) == 0, "the cached answer reached gunicorn"


def test_a_token_bypasses_the_cache_and_reaches_the_app(site, vps):
    token = member_token(vps)
    status, request_id = cached_answer(site, vps, {"Authorization": f"Bearer {token}"})
    assert status == "BYPASS"
    assert requests_logged(vps, request_id) == 1


def test_an_admin_write_shows_in_the_list_within_the_cache_lifetime(site, vps):
    admin = {"Authorization": f"Bearer {admin_token(vps)}"}
    slug = f"e2e-{uuid.uuid4().hex[:8]}"
    venue = {"slug": slug, "name": f"E2E {slug}", "description": "A venue of the cache test.",
             "capacity": 10, "sort_order": 999, "mood_category": "test",
             "theme_primary": "#101820", "theme_secondary": "#FEE715",
             "theme_accent": "#ff6f61"}

    def listed() -> bool:
        answer = site.get(vps.url(LIST), timeout=10)
        return slug in {item["slug"] for item in answer.json()["data"]}

    assert not listed()  # the cache now holds the list without the venue
    created = site.post(vps.url("/api/v1/admin/locations"), json=venue, headers=admin,
                        timeout=15)
    written = time.monotonic()
    assert created.status_code == 201, created.text
    try:
        # One stale answer may follow the expiry (proxy_cache_use_stale updating) while a
        # background request refreshes the entry.
        while not listed():
            assert time.monotonic() - written < LIFETIME + 1.0, "the write is not listed"
            time.sleep(0.05)
        print(f"listed {time.monotonic() - written:.2f} s after the write")
    finally:
        site.delete(vps.url(f"/api/v1/admin/locations/{slug}"), headers=admin, timeout=15)
