"""The club's public face through nginx: the page at the site root with the venues and
the upcoming events, the account pages of the e-mails' links, how the static files are
cached and compressed, the 404 page, and a frontend build shipped as a release.

The pages are loaded in a real browser: Debian's Chromium, headless, driven by Debian's
chromedriver through selenium. It reaches https://thedreamerscave.club on the VPS by a
host-resolver rule and trusts the local ACME CA from an NSS database in a throwaway HOME
(no certificate error is ignored, so the page loads only over verified TLS). Every page
is checked with axe-core (tests/axe/, from npm), and a screenshot of each state is kept
in tests/artifacts/.
"""

import hashlib
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ops import (
    REPO,
    RESET_SUBJECT,
    SITE,
    VERIFY_SUBJECT,
    admin_token,
    link_token,
    login,
    new_member,
    output,
    playbook,
    post_within_limits,
    recap,
    register_member,
    relay_mails,
    role_defaults,
    wait_for,
)
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

NGINX = role_defaults("nginx")
TIME_ZONE = NGINX["nginx_site_time_zone"]
FRONTEND_DIR = NGINX["nginx_frontend_dir"]
ARTIFACTS = REPO / "tests" / "artifacts"
AXE = REPO / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ENVELOPE_404 = {"success": False, "error": "Resource not found"}
# The lists the page asks for (nginx/html/static/site.js), each an entry of the microcache,
# which answers the first request after an entry expired with the stale entry while it
# refreshes it (snippets/tdc-microcache.conf): the tests ask first, as a visitor would.
PAGE_EVENTS = "/api/v1/events?per_page=50"
PAGE_LOCATIONS = "/api/v1/locations?per_page=100"
# proxy_cache_path in nginx/conf.d/tdc-microcache.conf.
MICROCACHE = "/var/lib/nginx/tdc-api"

# Installed before any script of the page runs (CDP): every CSP violation the page
# causes is kept for the test to read.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


# --- the browser --------------------------------------------------------------------


class Browser:
    """Headless Chromium that trusts only the VPS's CA, with the site's names mapped to
    the VPS, its console and the page's CSP violations collected."""

    def __init__(self, vps):
        if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists() and AXE.exists()):
            pytest.fail("the browser tools are missing: run `make browser-tools`")
        self.home = Path(tempfile.mkdtemp(prefix="tdc-chromium-"))
        nssdb = self.home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True)
        subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
        subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "tdc local ACME CA",
                        "-t", "C,,", "-i", vps.ca_bundle], check=True)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-proxy-server", "--window-size=1280,1800",
                         f"--user-data-dir={self.home / 'profile'}",
                         f"--host-resolver-rules=MAP {SITE} {vps.address}, MAP www.{SITE} {vps.address}"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # HOME: where Chromium reads its NSS database (the CA) from.
        service = Service(CHROMEDRIVER, env={"HOME": str(self.home), "PATH": "/usr/bin:/bin"})
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": CSP_LISTENER})

    def close(self):
        self.driver.quit()
        shutil.rmtree(self.home, ignore_errors=True)

    def open(self, path: str) -> None:
        # A blank page between: a link that differs only in its fragment would otherwise
        # stay in the same document, whose scripts ran already.
        self.driver.get("about:blank")
        self.driver.get_log("browser")  # what earlier pages logged is theirs
        self.driver.get(f"https://{SITE}{path}")

    def wait_for_text(self, selector: str, pattern: str, seconds: float = 15) -> str:
        """The text of SELECTOR once it matches PATTERN (a regular expression)."""
        def matched(driver):
            text = driver.find_element(By.CSS_SELECTOR, selector).text
            return text if re.search(pattern, text) else False
        try:
            return WebDriverWait(self.driver, seconds).until(matched)
        except TimeoutException:
            text = self.driver.find_element(By.CSS_SELECTOR, selector).text
            raise AssertionError(f"{selector} says {text!r}, not /{pattern}/") from None

    def text(self, selector: str = "body") -> str:
        return self.driver.find_element(By.CSS_SELECTOR, selector).text

    def problems(self, expected: str | None = None) -> dict[str, list]:
        """The console's errors (SEVERE; those naming EXPECTED, a URL the test meant to
        fail, left out) and the page's CSP violations."""
        errors = [entry["message"] for entry in self.driver.get_log("browser")
                  if entry["level"] == "SEVERE" and not (expected and expected in entry["message"])]
        violations = self.driver.execute_script("return window.__cspViolations || []")
        return {"console errors": errors, "CSP violations": violations}

    def axe_violations(self) -> list[str]:
        """axe-core's serious and critical violations on the page as it is now."""
        self.driver.execute_script(AXE.read_text())
        results = self.driver.execute_script(
            "return axe.run(document, {resultTypes: ['violations']})")
        return [f"{rule['id']} ({rule['impact']}): {rule['help']}: "
                f"{[node['target'] for node in rule['nodes']][:3]}"
                for rule in results["violations"] if rule["impact"] in ("serious", "critical")]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@pytest.fixture(scope="module")
def browser(vps, site):
    started = time.monotonic()
    chromium = Browser(vps)
    yield chromium
    chromium.close()
    print(f"browser session: {time.monotonic() - started:.1f} s")


def assert_clean_page(browser, expected_failure: str | None = None):
    """No console error, no CSP violation, no serious or critical axe finding."""
    assert browser.problems(expected_failure) == {"console errors": [], "CSP violations": []}
    assert browser.axe_violations() == []


# --- the data the page shows --------------------------------------------------------


@pytest.fixture(scope="module")
def admin(site, vps) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(vps)}"}


@pytest.fixture(scope="module")
def published_event(site, vps, admin):
    """A published event three days ahead at 19:30 UTC at the Jazz Club, removed after."""
    slug = f"e2e-page-{uuid.uuid4().hex[:8]}"
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(hour=19, minute=30, second=0,
                                                             microsecond=0)
    event = {"slug": slug, "title": f"Late set {slug[-8:]}", "event_type": "live-session",
             "description": "Standards until the small hours.", "location": "jazz-club",
             "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat()}
    created = site.post(vps.url("/api/v1/admin/events"), json=event, headers=admin, timeout=15)
    assert created.status_code == 201, created.text
    published = site.post(vps.url(f"/api/v1/admin/events/{slug}/publish"), headers=admin,
                          timeout=15)
    assert published.status_code == 200, published.text
    assert wait_for(lambda: slug in site.get(vps.url(PAGE_EVENTS), timeout=10).text, 5), \
        "the published event is not in the public list"
    yield created.json()["data"] | {"starts": starts}
    site.delete(vps.url(f"/api/v1/admin/events/{slug}"), headers=admin, timeout=15)


@pytest.fixture(scope="module")
def venues(site, vps, token) -> list[str]:
    # With a token, past the microcache: after a lull its first answer is the old one.
    answer = site.get(vps.url(PAGE_LOCATIONS), timeout=10,
                      headers={"Authorization": f"Bearer {token}"})
    names = [location["name"] for location in answer.json()["data"]]
    assert len(names) >= 8, names  # the seed's eight
    return names


# --- caching, compression, 404 (plain HTTP) -----------------------------------------


def page_asset_paths(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_the_page_is_revalidated_and_its_files_are_kept_a_year(site, vps):
    page = site.get(vps.url("/"), timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-cache"
    assets = page_asset_paths(page.text)
    assert {Path(path).suffix for path in assets} == {".css", ".js", ".svg"}, assets
    for path in assets:
        asset = site.get(vps.url(path), timeout=10)
        assert asset.status_code == 200, path
        assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable", path
        # The name carries the content's hash: a changed file is a new URL.
        assert hashlib.sha256(asset.content).hexdigest()[:12] in path
        assert asset.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_text_is_sent_gzipped(site, vps):
    assets = page_asset_paths(site.get(vps.url("/"), timeout=10).text)
    texts = ["/", "/account/reset", *(path for path in assets if path.endswith((".css", ".js")))]
    assert len(texts) == 4, texts
    for path in texts:
        answer = site.get(vps.url(path), headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert answer.status_code == 200, path
        assert answer.headers.get("Content-Encoding") == "gzip", path
        assert "Accept-Encoding" in answer.headers.get("Vary", ""), path


@pytest.mark.parametrize("path", ["/no-such-page", "/static/no-such-file.css",
                                  "/account/no-such-page", "/events/123"])
def test_an_unknown_static_path_gets_the_sites_404_page(site, vps, path):
    answer = site.get(vps.url(path), timeout=10)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "Nothing here" in answer.text and page_asset_paths(answer.text)
    assert answer.headers["Cache-Control"] == "no-cache"
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/nothing", "/api/v1/auth/nothing"])
def test_an_unknown_api_path_is_still_the_json_envelope(site, vps, path):
    answer = site.get(vps.url(path), timeout=10)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == ENVELOPE_404


# --- in the browser -----------------------------------------------------------------


def test_the_page_shows_the_venues_and_a_published_event(browser, published_event, venues):
    started = time.monotonic()
    browser.open("/")
    events = browser.wait_for_text('[data-list="events"]', re.escape(published_event["title"]))
    browser.wait_for_text('[data-list="locations"]', re.escape(venues[-1]))
    # Title, venue, and the local date and time in the club's zone, the zone named.
    local = published_event["starts"].astimezone(ZoneInfo(TIME_ZONE))
    card = next(text for text in events.split(published_event["title"])[1:])
    assert f"{local:%H:%M}" in card and f"{local.day} {local:%b %Y}" in card, card
    assert local.tzname() in card and "Jazz Club" in card, card
    assert TIME_ZONE in browser.text(".note")
    assert all(name in browser.text('[data-list="locations"]') for name in venues)
    assert browser.screenshot("public-page").stat().st_size > 10_000
    assert_clean_page(browser)
    print(f"page checked in the browser in {time.monotonic() - started:.1f} s")


def test_the_page_says_what_it_is_without_javascript(site, vps):
    # What a browser without JavaScript shows: the markup alone names the site and the API.
    page = re.sub(r"\s+", " ", site.get(vps.url("/"), timeout=10).text)
    assert "<h1>The Dreamer's Cave</h1>" in page and "A virtual music club" in page
    assert 'href="/api/v1/events"' in page and "turn on JavaScript to see it here" in page


# A token of the right form that the club never sent (404), and one of the wrong form (422).
UNKNOWN_TOKEN = "e2e" + "0" * 40


@pytest.mark.parametrize(("path", "pattern"), [
    ("/account/verify", r"has no token"),
    (f"/account/verify#token={UNKNOWN_TOKEN}", r"not known to the club \(Unknown link token\)"),
    ("/account/verify#token=e2e-not-a-token", r"not valid \(Validation failed\)"),
])
def test_the_verify_page_shows_the_apis_refusal(browser, path, pattern):
    browser.open(path)
    browser.wait_for_text('[data-status="account"]', pattern)
    assert "#" not in browser.driver.current_url, "the token stayed in the address bar"
    assert_clean_page(browser, expected_failure="/api/v1/auth/verify")


def test_the_reset_page_checks_the_form_then_shows_the_apis_refusal(browser):
    browser.open(f"/account/reset#token={UNKNOWN_TOKEN}")
    form = browser.driver.find_element(By.CSS_SELECTOR, '[data-form="reset"]')
    WebDriverWait(browser.driver, 10).until(lambda _: form.is_displayed())
    assert "#" not in browser.driver.current_url
    form.find_element(By.ID, "password").send_keys("short")
    form.find_element(By.CSS_SELECTOR, "button").click()
    browser.wait_for_text('[data-error="password"]', r"At least 10 characters")
    form.find_element(By.ID, "password").clear()
    form.find_element(By.ID, "password").send_keys("a long new passphrase")
    form.find_element(By.ID, "password-again").send_keys("a long new passphrase")
    form.find_element(By.CSS_SELECTOR, "button").click()
    browser.wait_for_text('[data-status="account"]', r"not known to the club")
    assert not form.is_displayed(), "the form stays for a token the API refused"
    browser.screenshot("account-reset-refused")
    assert_clean_page(browser, expected_failure="/api/v1/auth/reset")


def test_the_verify_page_confirms_the_address_of_a_real_link(browser, vps):
    member = new_member("page")
    assert post_within_limits(vps, "/api/v1/auth/register", member).status_code == 202
    assert wait_for(lambda: relay_mails(member["email"], VERIFY_SUBJECT), 60, 0.2)
    [mail] = relay_mails(member["email"], VERIFY_SUBJECT)
    browser.open(f"/account/verify#token={link_token(mail, 'verify')}")
    browser.wait_for_text('[data-status="account"]', r"address is confirmed")
    browser.screenshot("account-verify-done")
    assert_clean_page(browser)
    assert login(vps, member["email"], member["password"])


def test_the_reset_page_sets_the_password_of_a_real_link(browser, vps):
    member = register_member(vps, new_member("page"))
    answer = post_within_limits(vps, "/api/v1/auth/reset-request", {"email": member["email"]})
    assert answer.status_code == 202, answer.text
    assert wait_for(lambda: relay_mails(member["email"], RESET_SUBJECT), 60, 0.2)
    [mail] = relay_mails(member["email"], RESET_SUBJECT)
    browser.open(f"/account/reset#token={link_token(mail, 'reset')}")
    form = browser.driver.find_element(By.CSS_SELECTOR, '[data-form="reset"]')
    WebDriverWait(browser.driver, 10).until(lambda _: form.is_displayed())
    # A common password: the API's field error shows, the form stays for another.
    for field in ("password", "password-again"):
        form.find_element(By.ID, field).send_keys("password12345")
    form.find_element(By.CSS_SELECTOR, "button").click()
    browser.wait_for_text('[data-error="password"]', r"too common")
    assert form.is_displayed()
    new_password = "amber moths over the quarry"
    for field in ("password", "password-again"):
        form.find_element(By.ID, field).clear()
        form.find_element(By.ID, field).send_keys(new_password)
    form.find_element(By.CSS_SELECTOR, "button").click()
    browser.wait_for_text('[data-status="account"]', r"new password is set")
    browser.screenshot("account-reset-done")
    assert_clean_page(browser, expected_failure="/api/v1/auth/reset")
    assert login(vps, member["email"], new_password)


@pytest.mark.disruptive
def test_the_page_says_the_api_is_unavailable_when_gunicorn_is_stopped(browser, site, vps):
    vps.run("systemctl stop tdc-gunicorn.socket tdc-gunicorn.service")
    try:
        # The microcache answers a list it holds with the stale entry for as long as its
        # background refresh fails (proxy_cache_use_stale updating): emptied, it has none,
        # as after a quiet minute (its `inactive`). The reload makes workers whose open-file
        # cache holds no descriptor of a removed entry. Then nginx answers 502 itself.
        vps.run(f"find {MICROCACHE} -type f -delete && systemctl reload nginx")

        def unavailable() -> bool:
            client = vps.session()  # new connections: to the new workers
            return all(client.get(vps.url(path), timeout=10).status_code == 502
                       for path in (PAGE_EVENTS, PAGE_LOCATIONS))

        assert wait_for(unavailable, 15), "nginx still answers the lists"
        browser.open("/")
        for name in ("events", "locations"):
            text = browser.wait_for_text(f'[data-status="{name}"]', r"unavailable")
            assert "HTTP 502" in text or "Service temporarily unavailable" in text, text
        browser.screenshot("public-page-api-unavailable")
        # The failed requests are the only errors: no CSP violation, the page accessible.
        problems = browser.problems(expected="/api/v1/")
        assert problems == {"console errors": [], "CSP violations": []}
        assert browser.axe_violations() == []
    finally:
        vps.start("tdc-gunicorn.socket tdc-gunicorn.service")
        vps.wait_until_ready(seconds=60)


# --- a frontend build as a release --------------------------------------------------


def fake_build(root: Path, name: str) -> Path:
    """A directory shaped like a Vite dist/: index.html and a fingerprinted module."""
    dist = root / name
    (dist / "assets").mkdir(parents=True)
    script = f'document.body.dataset.build = "{name}";\n'
    digest = hashlib.sha256(script.encode()).hexdigest()[:8]
    (dist / "assets" / f"app-{digest}.js").write_text(script)
    (dist / "index.html").write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{name}</title>'
        f'<script type="module" src="/assets/app-{digest}.js"></script></head>'
        f"<body><h1>frontend {name}</h1></body></html>\n")
    return dist


def ship(name: str, *args: str) -> None:
    run = playbook(name, "--tags", "nginx", *args)
    assert run.returncode == 0, output(run)
    assert all(counts["failed"] == 0 for counts in recap(run).values())


@pytest.mark.disruptive
def test_a_frontend_build_ships_as_a_release_with_a_client_route_fallback(site, vps, tmp_path):
    first, second = fake_build(tmp_path, "first"), fake_build(tmp_path, "second")
    try:
        ship("site", "-e", f"nginx_frontend_dist={first}")
        assert "frontend first" in site.get(vps.url("/"), timeout=10).text
        # deploy.yml ships the next build; the one before stays for a rollback.
        ship("deploy", "-e", f"nginx_frontend_dist={second}")
        page = site.get(vps.url("/"), timeout=10)
        assert "frontend second" in page.text and page.headers["Cache-Control"] == "no-cache"
        releases = vps.run(f"ls {FRONTEND_DIR}/releases").split()
        current = vps.run(f"readlink {FRONTEND_DIR}/current").strip()
        assert len(releases) == 2 and current in {f"releases/{r}" for r in releases}
        previous = next(r for r in releases if f"releases/{r}" != current)
        assert "frontend first" in vps.run(f"cat {FRONTEND_DIR}/releases/{previous}/index.html")

        # Client routes get the build's index.html; the API and missing files do not.
        route = site.get(vps.url("/events/123"), timeout=10)
        assert route.status_code == 200 and "frontend second" in route.text
        script = re.search(r'src="(/assets/[^"]+)"', page.text).group(1)
        asset = site.get(vps.url(script), timeout=10)
        assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]
        assert site.get(vps.url("/assets/app-missing.js"), timeout=10).status_code == 404
        api = site.get(vps.url("/api/v1/nope"), timeout=10)
        assert api.status_code == 404 and api.json() == ENVELOPE_404
    finally:
        ship("site")
    page = site.get(vps.url("/"), timeout=10)
    assert 'data-page="home"' in page.text, "the club's own page is not back"
    assert site.get(vps.url("/events/123"), timeout=10).status_code == 404
