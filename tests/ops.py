"""Helpers of the operations tests: playbook runs and a client loop through nginx."""

import os
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests
from conftest import REPO

INVENTORY = os.environ.get("E2E_INVENTORY", str(REPO / "ansible" / "inventories" / "local"))


def playbook(name: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ansible/NAME.yml against the e2e inventory; the caller checks the result."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible" / "ansible.cfg")}
    return subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, str(REPO / "ansible" / f"{name}.yml"), *args],
        capture_output=True, text=True, env=env, timeout=timeout, check=False)


def output(run: subprocess.CompletedProcess) -> str:
    return run.stdout[-4000:] + run.stderr[-2000:]


@dataclass
class Traffic:
    """Requests in a loop through nginx (keep-alive, the VPS's CA) on a thread, bounded
    in count and time, counting every answer and every socket error."""

    vps: object
    paths: tuple[str, ...] = ("/api/v1/locations", "/api/v1/health")
    max_requests: int = 50_000
    max_seconds: float = 300
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        client = self.vps.session()
        deadline = time.monotonic() + self.max_seconds
        sent = 0
        while not self._stop.is_set() and sent < self.max_requests and time.monotonic() < deadline:
            path = self.paths[sent % len(self.paths)]
            sent += 1
            try:
                self.statuses[client.get(self.vps.url(path), timeout=30).status_code] += 1
            except requests.RequestException as exc:
                self.errors.append(f"{path}: {exc!r}")

    def __enter__(self):
        self._thread.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + len(self.errors)

    @property
    def failed(self) -> dict:
        return {"non_2xx": {s: n for s, n in self.statuses.items() if not 200 <= s < 300},
                "socket_errors": self.errors[:5], "socket_error_count": len(self.errors)}

    def assert_none_lost(self):
        assert self.total > 50, f"too few requests to prove anything: {self.total}"
        failed = self.failed
        assert not failed["non_2xx"] and not self.errors, f"lost of {self.total}: {failed}"


def recap(run: subprocess.CompletedProcess) -> dict[str, dict[str, int]]:
    """The PLAY RECAP of a playbook run: host -> {ok, changed, unreachable, failed, ...}."""
    hosts = {}
    for line in run.stdout.split("PLAY RECAP", 1)[-1].splitlines():
        host, _, counts = line.partition(" : ")
        if counts:
            hosts[host.strip()] = {key: int(value) for key, value in
                                   (pair.split("=") for pair in counts.split())}
    return hosts
