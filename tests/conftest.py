"""Fixtures for end-to-end tests against a deployed VPS.

The target comes from VPS_ADDRESS, VPS_CA_BUNDLE and VPS_SSH (what `make vps-info`
prints); when unset, from the local VPS itself. Requests go to the real site names:
thedreamerscave.club and www resolve to the VPS for this test process only, so TLS is
verified exactly as a browser would (SNI, hostname, the CA's chain).
"""

import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import urllib3.util.connection

REPO = Path(__file__).resolve().parent.parent
SITE = "thedreamerscave.club"
NAMES = (SITE, f"www.{SITE}")


@dataclass
class Vps:
    address: str
    ca_bundle: str
    ssh_prefix: list[str]

    def run(self, command: str, check: bool = True, timeout: float = 60) -> str:
        """Run a shell command on the VPS as root and return its stdout."""
        result = subprocess.run([*self.ssh_prefix, command], capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"`{command}` failed ({result.returncode}): "
                                 f"{result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def session(self) -> requests.Session:
        """A client that trusts only the VPS's CA and ignores proxy/CA environment
        variables (REQUESTS_CA_BUNDLE would otherwise replace the CA given here)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_bundle
        return session

    def url(self, path: str, scheme: str = "https", host: str = SITE) -> str:
        return f"{scheme}://{host}{path}"

    def wait_until_ready(self, seconds: float = 120) -> requests.Response:
        """Poll readiness through nginx until it answers 200 (or time runs out)."""
        deadline = time.monotonic() + seconds
        last: requests.Response | Exception | None = None
        client = self.session()
        while time.monotonic() < deadline:
            try:
                last = client.get(self.url("/api/v1/health/ready"), timeout=10)
                if last.status_code == 200:
                    return last
            except requests.RequestException as exc:
                last = exc
            time.sleep(1)
        raise AssertionError(f"the site did not become ready in {seconds:g} s: {last!r}")


def _vps_settings() -> dict[str, str]:
    names = ("VPS_ADDRESS", "VPS_CA_BUNDLE", "VPS_SSH")
    if all(os.environ.get(name) for name in names):
        return {name: os.environ[name] for name in names}
    info = subprocess.run([str(REPO / "local-vps" / "vps.sh"), "info"], capture_output=True,
                          text=True, check=True).stdout
    return dict(line.split("=", 1) for line in info.splitlines() if "=" in line)


@pytest.fixture(scope="session")
def vps() -> Vps:
    settings = _vps_settings()
    target = Vps(settings["VPS_ADDRESS"], settings["VPS_CA_BUNDLE"],
                 shlex.split(settings["VPS_SSH"]))
    _resolve_site_to(target.address)
    return target


def _resolve_site_to(address: str) -> None:
    """Point the site's names at the VPS inside this process (no /etc/hosts edit)."""
    original = urllib3.util.connection.create_connection

    def create_connection(host_port, *args, **kwargs):
        host, port = host_port
        return original((address if host in NAMES else host, port), *args, **kwargs)

    urllib3.util.connection.create_connection = create_connection


@pytest.fixture(scope="session")
def site(vps) -> requests.Session:
    """A client of the public site that verifies the certificate against the VPS's CA."""
    vps.wait_until_ready()
    return vps.session()


def pytest_collection_modifyitems(items):
    """Run the disruptive tests (reboot, re-provisioning) after all the others."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)
