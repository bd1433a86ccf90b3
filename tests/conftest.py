"""Fixtures for end-to-end tests against a deployed VPS (see ops.py for which one)."""

import pytest
import requests
from ops import Vps, resolve_site_to


@pytest.fixture(scope="session")
def vps() -> Vps:
    target = Vps.from_settings()
    resolve_site_to(target.address)
    return target


@pytest.fixture(scope="session")
def site(vps) -> requests.Session:
    """A client of the public site that verifies the certificate against the VPS's CA."""
    vps.wait_until_ready()
    return vps.session()


def pytest_collection_modifyitems(items):
    """Run the disruptive tests (reboot, re-provisioning) after all the others."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)
