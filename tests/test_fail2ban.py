"""fail2ban bans: a client that is not on the ignore list and keeps failing SSH logins
is refused by nftables, and let in again once the ban time is over.

The client is a network namespace of its own, linked straight into the local VPS's
(the controller's address is on the ignore list, so the tests' own SSH never counts).
"""

import os
import subprocess
import time

import pytest
from ops import role_defaults, wait_for

HARDENING = role_defaults("hardening")
# The test's ban time, instead of the role's hour; put back afterwards.
SHORT_BANTIME = 10
VPS_NETNS = os.environ.get("LOCAL_VPS_NAME", "tdc-vps")
# A /30 beside the VPS's own (.0/30) in the same link-local /24, which is this VPS's.
NET = os.environ.get("LOCAL_VPS_NET", "169.254.77")
VPS_SIDE, CLIENT_SIDE = f"{NET}.5", f"{NET}.6"
CLIENT_NETNS = f"{VPS_NETNS}-c"
VPS_IF, CLIENT_IF = f"{VPS_NETNS}-c0", f"{VPS_NETNS}-c1"


def seconds(duration: str | int) -> int:
    """fail2ban's time of the role's defaults (600, 10m, 1h, 1d) in seconds."""
    text = str(duration)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


@pytest.fixture
def stranger(vps):
    """A client namespace at CLIENT_SIDE, linked to the VPS's netns at VPS_SIDE."""
    if not os.path.exists(f"/run/netns/{VPS_NETNS}"):
        pytest.skip(f"needs the local VPS's network namespace {VPS_NETNS}")
    subprocess.run(["ip", "netns", "del", CLIENT_NETNS], capture_output=True, check=False)
    sh("ip", "netns", "add", CLIENT_NETNS)
    try:
        sh("ip", "link", "add", VPS_IF, "netns", VPS_NETNS, "type", "veth",
           "peer", "name", CLIENT_IF, "netns", CLIENT_NETNS)
        sh("ip", "-n", VPS_NETNS, "addr", "add", f"{VPS_SIDE}/30", "dev", VPS_IF)
        sh("ip", "-n", VPS_NETNS, "link", "set", VPS_IF, "up")
        sh("ip", "-n", CLIENT_NETNS, "addr", "add", f"{CLIENT_SIDE}/30", "dev", CLIENT_IF)
        sh("ip", "-n", CLIENT_NETNS, "link", "set", CLIENT_IF, "up")
        yield CLIENT_NETNS
    finally:
        subprocess.run(["ip", "-n", VPS_NETNS, "link", "del", VPS_IF], capture_output=True,
                       check=False)
        sh("ip", "netns", "del", CLIENT_NETNS)


def ssh_port_open(netns: str) -> bool:
    """Whether a TCP connection from NETNS to the VPS's port 22 is accepted."""
    probe = (f"import socket; socket.create_connection(({VPS_SIDE!r}, 22), timeout=3)")
    return subprocess.run(["ip", "netns", "exec", netns, "python3", "-c", probe],
                          capture_output=True, timeout=30, check=False).returncode == 0


def failed_login(netns: str, keys: list[str]) -> None:
    """One SSH login offering keys the VPS does not know, more than MaxAuthTries: sshd
    logs 'maximum authentication attempts exceeded', one failure to fail2ban."""
    argv = ["ip", "netns", "exec", netns, "ssh", "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5"]
    for key in keys:
        argv += ["-i", key]
    run = subprocess.run([*argv, f"root@{VPS_SIDE}", "true"], capture_output=True, text=True,
                         timeout=30, check=False)
    assert run.returncode == 255 and "Too many authentication failures" in run.stderr, run.stderr


def banned(vps) -> str:
    return vps.run("nft list set inet f2b-table addr-set-sshd 2>/dev/null || true")


def test_repeated_failed_ssh_logins_are_banned_by_nftables_until_the_ban_time_ends(
        vps, stranger, tmp_path):
    # The jail runs with the role's settings: its ban time is the one the test shortens.
    bantime = int(vps.run("fail2ban-client get sshd bantime"))
    assert bantime == seconds(HARDENING["hardening_fail2ban_bantime"])
    maxretry = HARDENING["hardening_fail2ban_maxretry"]
    assert int(vps.run("fail2ban-client get sshd maxretry")) == maxretry
    keys = []
    for n in range(int(vps.run("sshd -T | awk '$1 == \"maxauthtries\" {print $2}'")) + 1):
        keys.append(str(tmp_path / f"stranger-{n}"))
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keys[-1])
    assert ssh_port_open(stranger)

    vps.run(f"fail2ban-client set sshd bantime {SHORT_BANTIME}")
    try:
        # maxretry failures ban (fewer when an earlier run's are still within findtime);
        # fail2ban reads the journal a little behind and may merge failures of the same
        # second, so a few more tries are allowed, a second apart.
        attempts = 0
        while CLIENT_SIDE not in banned(vps) and attempts < 3 * maxretry:
            failed_login(stranger, keys)
            attempts += 1
            wait_for(lambda: CLIENT_SIDE in banned(vps), 1, 0.5)
        assert wait_for(lambda: CLIENT_SIDE in banned(vps), 10, 0.5), \
            f"no ban after {attempts} failed logins: " + vps.run("tail -n 20 /var/log/fail2ban.log")
        banned_at = time.monotonic()
        assert not ssh_port_open(stranger), "a banned address still reaches sshd"
        assert vps.run("true") == ""  # the controller, on the ignore list, still gets in

        assert wait_for(lambda: CLIENT_SIDE not in banned(vps), SHORT_BANTIME + 20, 0.5), \
            "the ban outlasted its ban time"
        assert time.monotonic() - banned_at >= SHORT_BANTIME - 2
        assert ssh_port_open(stranger), "the address is still refused after the ban"
    finally:
        vps.run(f"fail2ban-client set sshd unbanip {CLIENT_SIDE}", check=False)
        vps.run(f"fail2ban-client set sshd bantime {bantime}")
