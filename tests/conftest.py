"""Fixtures for end-to-end tests against a deployed VPS (see ops.py for which one)."""

import pytest
import requests
from ops import Vps, member_token, resolve_site_to


@pytest.fixture(scope="session")
def vps() -> Vps:
    target = Vps.from_settings()
    resolve_site_to(target.address, target.address6)
    return target


@pytest.fixture(scope="session")
def site(vps) -> requests.Session:
    """A client of the public site that verifies the certificate against the VPS's CA."""
    vps.wait_until_ready()
    return vps.session()


@pytest.fixture(scope="session")
def token(site, vps) -> str:
    """A bearer token of a throwaway member: what the load loops send (see ops.Traffic)."""
    return member_token(vps, "load")


def pytest_collection_modifyitems(items):
    """Run the disruptive tests (reboot, re-provisioning) after all the others, and the
    restores last of all: they cut off every token, the session's too."""
    items.sort(key=lambda item: (item.get_closest_marker("disruptive") is not None,
                                 item.get_closest_marker("restores") is not None))
