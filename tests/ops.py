"""What the e2e tests, `make audit` and `make bench` share: the VPS they act on, the
playbook runner and its recap, the roles' defaults, and a client loop through nginx.

The target comes from VPS_ADDRESS, VPS_CA_BUNDLE and VPS_SSH (what `make vps-info`
prints); when unset, from the local VPS itself (the Ubuntu one, and its inventory, with
LOCAL_VPS_DISTRO=ubuntu). Requests go to the real site names:
thedreamerscave.club and www resolve to the VPS for this process only, so TLS is
verified exactly as a browser would (SNI, hostname, the CA's chain).
"""

import email
import email.policy
import json
import mailbox
import os
import re
import shlex
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import requests.adapters
import urllib3.connection
import urllib3.util.connection
import yaml

REPO = Path(__file__).resolve().parent.parent
SITE = "thedreamerscave.club"
NAMES = (SITE, f"www.{SITE}")
# The local VPS of that distribution, as vps.sh names its state directory.
LOCAL_UBUNTU = os.environ.get("LOCAL_VPS_DISTRO") == "ubuntu"
INVENTORY = os.environ.get("E2E_INVENTORY", str(REPO / "ansible" / "inventories"
                                                / ("local-ubuntu" if LOCAL_UBUNTU else "local")))
# The venv's own ansible-playbook when there is one: `make bench` and `make audit` run
# the venv's python without the venv on PATH.
_VENV_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
ANSIBLE_PLAYBOOK = str(_VENV_PLAYBOOK) if _VENV_PLAYBOOK.exists() else "ansible-playbook"
RECAP_COUNTS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")


def app_env(name: str) -> str:
    """Shell text that expands, on the VPS, to NAME's value in the app's .env. Read by sed:
    the file is python-dotenv's (single-quoted, \\' escaped), which a shell cannot source."""
    return f"""\"$(sed -n "s/^{name}='\\(.*\\)'$/\\1/p" /srv/tdc/shared/.env)\""""


# redis-cli on the VPS as the app's ACL user: one command, so that it can stand in a
# pipe or after xargs.
REDIS_CLI_AS_APP = f"redis-cli --no-auth-warning -u {app_env('REDIS_URL')}"
# The local VPS's state (vps.sh's), where the local inventory writes its generated secrets.
# E2E_LOCAL_STATE names another (the local cluster's .local-cluster).
LOCAL_STATE = Path(os.environ.get("E2E_LOCAL_STATE")
                   or REPO / (".local-vps-ubuntu" if LOCAL_UBUNTU else ".local-vps"))
LOCAL_SECRETS = LOCAL_STATE / "secrets"
ADMIN_EMAIL = f"admin@{SITE}"


# --- the VPS ------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseServer:
    """The distribution's MySQL server as the mysql role installs it."""

    unit: str
    daemon: str  # the process name ps and ss show
    client: str


# By the VPS's distribution (the ID of its os-release): MariaDB on Debian, MySQL 8 on Ubuntu.
DATABASE_SERVERS = {
    "debian": DatabaseServer(unit="mariadb.service", daemon="mariadbd", client="mariadb"),
    "ubuntu": DatabaseServer(unit="mysql.service", daemon="mysqld", client="mysql"),
}


@dataclass
class Vps:
    address: str
    ca_bundle: str
    ssh_prefix: list[str]
    # The VPS's IPv6 address and the prefix of client addresses routed to this host
    # (VPS_ADDRESS6, VPS_CLIENTS6), when the VPS has them.
    address6: str | None = None
    clients6: str | None = None

    @cached_property
    def distribution(self) -> str:
        """The VPS's distribution, as its os-release names it (debian, ubuntu)."""
        return self.run(". /etc/os-release && echo \"$ID\"").strip()

    @property
    def database(self) -> DatabaseServer:
        """The database server this VPS's distribution runs."""
        return DATABASE_SERVERS[self.distribution]

    @classmethod
    def from_settings(cls) -> "Vps":
        """The VPS that vps_settings() names."""
        settings = vps_settings()
        return cls(settings["VPS_ADDRESS"], settings["VPS_CA_BUNDLE"],
                   shlex.split(settings["VPS_SSH"]), settings.get("VPS_ADDRESS6") or None,
                   settings.get("VPS_CLIENTS6") or None)

    def run(self, command: str, check: bool = True, timeout: float = 60) -> str:
        """Run a shell command on the VPS as root and return its stdout."""
        result = subprocess.run([*self.ssh_prefix, command], capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"`{command}` failed ({result.returncode}): "
                                 f"{result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def start(self, units: str, timeout: float = 120) -> None:
        """systemctl start UNITS, once more a few seconds later should systemd fail them:
        under systemd-nspawn a unit just stopped may leave a cgroup systemd cannot attach
        the new process to yet (219/CGROUP), as the roles' restart handler knows too."""
        command = f"systemctl start {units}"
        if self.run(f"{command} >/dev/null 2>&1; echo $?", timeout=timeout).strip() != "0":
            self.run(f"sleep 5; systemctl reset-failed {units}; {command}", timeout=timeout)

    def session(self) -> requests.Session:
        """A client that trusts only the VPS's CA and ignores proxy/CA environment
        variables (REQUESTS_CA_BUNDLE would otherwise replace the CA given here)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_bundle
        return session

    def session_from(self, source: str) -> requests.Session:
        """A client like session()'s whose connections leave from SOURCE, an address of
        this host (for IPv6, any of the prefix `clients6`), to the VPS's address of
        SOURCE's family."""
        session = self.session()
        adapter = _SourceAddressAdapter(source)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
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


def vps_settings() -> dict[str, str]:
    """VPS_ADDRESS, VPS_CA_BUNDLE and VPS_SSH from the environment, or from the local VPS
    (`local-vps/vps.sh info`, which follows LOCAL_VPS_NAME and LOCAL_VPS_NET)."""
    names = ("VPS_ADDRESS", "VPS_CA_BUNDLE", "VPS_SSH")
    if all(os.environ.get(name) for name in names):
        return {name: os.environ[name] for name in names}
    info = subprocess.run([str(REPO / "local-vps" / "vps.sh"), "info"], capture_output=True,
                          text=True, check=True).stdout
    return dict(line.split("=", 1) for line in info.splitlines() if "=" in line)


def resolve_site_to(address: str, address6: str | None = None) -> None:
    """Point the site's names at ADDRESS inside this process (no /etc/hosts edit), or at
    ADDRESS6 for a connection from an IPv6 source address (Vps.session_from)."""
    original = urllib3.util.connection.create_connection

    def create_connection(host_port, *args, **kwargs):
        host, port = host_port
        if host in NAMES:
            source = kwargs.get("source_address")
            host = address6 if source and ":" in source[0] and address6 else address
        return original((host, port), *args, **kwargs)

    urllib3.util.connection.create_connection = create_connection


# Linux's IP_FREEBIND (socket.IP_FREEBIND from Python 3.12): bind an address no interface
# has, here one of the client prefix the host routes to itself (local-vps/vps.sh).
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)


class _SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connections from one source address (a new pool: no connection is shared)."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        kwargs["socket_options"] = [*urllib3.connection.HTTPConnection.default_socket_options,
                                    (socket.SOL_IP, IP_FREEBIND, 1)]
        super().init_poolmanager(*args, **kwargs)


def local_secret(name: str) -> str:
    return (LOCAL_SECRETS / name).read_text().strip()


def served_serial(vps) -> str:
    """The serial of the certificate nginx serves for the site, verified by the VPS's CA."""
    context = ssl.create_default_context(cafile=vps.ca_bundle)
    with socket.create_connection((vps.address, 443), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=SITE) as tls:
        return tls.getpeercert()["serialNumber"].upper()


def wait_for(predicate, seconds: float, interval: float = 1) -> bool:
    """Poll PREDICATE until it holds (True) or SECONDS pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# --- the stand-in mail relay (local-vps/relay.py, on the host side of the VPS) ---------

RELAY_DIR = LOCAL_STATE / "relay"
RELAY_USER = "tdc-relay"  # vps.sh's relay_user, the local inventory's app_smtp_username


def relay_mails(to: str, subject: str | None = None) -> list[email.message.EmailMessage]:
    """The mails the stand-in relay accepted for TO (with SUBJECT, if given), oldest first,
    with its X-Relay-* headers: X-Relay-TLS (starttls or tls, and the version),
    X-Relay-Auth, X-Relay-Peer."""
    box = mailbox.Maildir(RELAY_DIR / "maildir", create=False)
    found = []
    for key in sorted(box.keys()):  # a Maildir key starts with its delivery time
        with box.get_file(key) as f:
            message = email.message_from_binary_file(f, policy=email.policy.default)
        if f"to=<{to}>" in message["X-Relay-Envelope"] and subject in (None, message["Subject"]):
            found.append(message)
    return found


# The subjects of the account mails (backend/app/tasks/account_mail.py, email.py).
VERIFY_SUBJECT = "Confirm your e-mail address"
RESET_SUBJECT = "Set a new password"
WELCOME_SUBJECT = "Welcome to The Dreamer's Cave"
LINK_TOKEN = re.compile(r"https://thedreamerscave\.club/account/(verify|reset)#token=([\w-]+)")


def link_token(mail: email.message.EmailMessage, purpose: str) -> str:
    """The token of the one PURPOSE link (verify, reset) in MAIL."""
    [(found, token)] = LINK_TOKEN.findall(mail.get_content())
    assert found == purpose, mail.get_content()
    return token


def vps_sh(*args: str) -> None:
    """local-vps/vps.sh ARGS for this VPS (LOCAL_VPS_NAME and _NET come along)."""
    subprocess.run([str(REPO / "local-vps" / "vps.sh"), *args], check=True, timeout=60,
                   capture_output=True)


@contextmanager
def relay_refusing(switch: str) -> Iterator[None]:
    """The relay refuses meanwhile: `refuse-auth` (535 to AUTH), `tempfail` (451 to the
    data) or `reject` (554 to the data)."""
    control = RELAY_DIR / switch
    control.touch()
    try:
        yield
    finally:
        control.unlink(missing_ok=True)


def queue_welcome(vps: Vps, user_id: int) -> None:
    """Queue USER_ID's welcome mail on the VPS (`celery call`, as the app's user)."""
    vps.run("cd /srv/tdc/current && runuser -u tdc -- env TDC_ENV_FILE=/srv/tdc/shared/.env "
            f"venv/bin/celery -A app.tasks call tdc.send_welcome_email --args '[{int(user_id)}]'")


def worker_journal(vps: Vps, grep: str, since: str = "-10min") -> list[str]:
    """The Celery worker's journal lines matching GREP (a regular expression)."""
    lines = vps.run(f"journalctl -u tdc-celery-worker -o cat --no-pager --since {since} "
                    f"--grep {shlex.quote(grep)} || true")
    return [line for line in lines.splitlines() if line and not line.startswith("-- ")]


# --- members ------------------------------------------------------------------------


def new_member(prefix: str = "e2e") -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"email": f"{prefix}-{tag}@example.com", "username": f"{prefix}_{tag}",
            "password": f"a long {prefix} passphrase"}


def post_within_limits(vps: Vps, path: str, body: dict) -> requests.Response:
    """POST BODY to PATH, waiting out the API's rate limit when it answers 429 (a few
    times: its Retry-After names when one slot frees up, which another client may take)."""
    for attempt in range(4):
        answer = vps.session().post(vps.url(path), json=body, timeout=15)
        if answer.status_code != 429 or attempt == 3:
            break
        time.sleep(min(65, int(answer.headers.get("Retry-After", 60)) + 1))
    return answer


def login(vps: Vps, email: str, password: str) -> str:
    """A bearer token of that account, through nginx."""
    answer = post_within_limits(vps, "/api/v1/auth/login", {"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["access_token"]


def register_member(vps: Vps, member: dict[str, str]) -> dict:
    """Sign MEMBER up through nginx and verify the address with the link of the mail the
    relay got, as the member would; MEMBER with its "id". The welcome mail follows."""
    answer = post_within_limits(vps, "/api/v1/auth/register", member)
    assert answer.status_code == 202, answer.text
    assert wait_for(lambda: relay_mails(member["email"], VERIFY_SUBJECT), 60, 0.2), \
        "no verification mail at the relay"
    [mail] = relay_mails(member["email"], VERIFY_SUBJECT)
    verified = vps.session().post(vps.url("/api/v1/auth/verify"), timeout=15,
                                  json={"token": link_token(mail, "verify")})
    assert verified.status_code == 200, verified.text
    return {**member, "id": verified.json()["data"]["id"]}


def member_token(vps: Vps, prefix: str = "e2e") -> str:
    """Register a throwaway member, verify it and log in."""
    member = register_member(vps, new_member(prefix))
    return login(vps, member["email"], member["password"])


def admin_token(vps: Vps) -> str:
    """A token of the first admin, whose password the local VPS generated."""
    return login(vps, ADMIN_EMAIL, local_secret("app_admin_password"))


def requests_logged(vps: Vps, marker: str) -> int:
    """How many request lines gunicorn's journal holds whose request id contains MARKER:
    one line per request that reached the app."""
    lines = vps.run(f"journalctl -u tdc-gunicorn -o cat --no-pager --grep {shlex.quote(marker)}"
                    """ | grep -c '"message": "request"' || true""")
    return int(lines.strip() or 0)


# --- Ansible ------------------------------------------------------------------------


def playbook(name: str, *args: str, timeout: float = 600,
             inventory: str = INVENTORY) -> subprocess.CompletedProcess:
    """Run ansible/NAME.yml against INVENTORY; the caller checks the result."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible" / "ansible.cfg")}
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", inventory, str(REPO / "ansible" / f"{name}.yml"), *args],
        capture_output=True, text=True, env=env, timeout=timeout, check=False)


def output(run: subprocess.CompletedProcess) -> str:
    """The tail of a run's output, enough to say why it failed."""
    return run.stdout[-4000:] + run.stderr[-2000:]


def recap(run: subprocess.CompletedProcess) -> dict[str, dict[str, int]]:
    """The PLAY RECAP of a playbook run: per host, its counts of RECAP_COUNTS. Ansible's
    `ok` already includes the `changed` tasks. Raises when the run printed no recap, so
    that a check over every host never passes on none."""
    _, marker, tail = run.stdout.rpartition("PLAY RECAP")
    hosts = {}
    for line in tail.splitlines()[1:] if marker else []:
        host, _, counts = line.partition(" : ")
        found = dict(re.findall(r"(\w+)=(\d+)", counts))
        if host.strip() and found:
            hosts[host.strip()] = {key: int(found.get(key, 0)) for key in RECAP_COUNTS}
    if not hosts:
        raise ValueError(f"no PLAY RECAP in the run's output:\n{output(run)}")
    return hosts


def role_defaults(role: str) -> dict:
    """ansible/roles/ROLE/defaults/main.yml, the values a role's checks expect."""
    path = REPO / "ansible" / "roles" / role / "defaults" / "main.yml"
    return yaml.safe_load(path.read_text()) or {}


def is_envelope(answer: requests.Response) -> bool:
    """True when ANSWER is the API's JSON envelope of a failure."""
    try:
        body = answer.json()
    except ValueError:
        return False
    return answer.headers.get("Content-Type", "").startswith("application/json") \
        and body.get("success") is False and isinstance(body.get("error"), str)


# --- the stand-in backup storage (vps.sh's `rclone serve restic`, on the host side) ---

STORAGE_DIR = LOCAL_STATE / "storage"


@contextmanager
def storage_down() -> Iterator[None]:
    """The backup storage stopped meanwhile (its ports refuse connections)."""
    vps_sh("storage-stop")
    try:
        yield
    finally:
        vps_sh("storage-start")


# --- load ---------------------------------------------------------------------------


@dataclass
class Traffic:
    """Requests in a loop through nginx (keep-alive, the VPS's CA) on a thread, bounded
    in count and time, counting every answer and every socket error.

    The routes (the venue list by default) query MariaDB and are sent with a member's
    bearer token: a request with credentials bypasses the microcache, so every request
    that succeeds was answered by gunicorn and the database, never by nginx alone. Each carries a request
    id with this loop's tag: assert_none_lost() checks that every answer says BYPASS and
    that gunicorn's journal has one request line per answer."""

    vps: Vps
    # None: requests without credentials (the microcache may answer them).
    token: str | None
    # Taken in turn: public lists, which query MariaDB and whose X-Cache-Status (set only
    # where the microcache applies) shows the bypass.
    paths: tuple[str, ...] = ("/api/v1/locations",)
    max_requests: int = 50_000
    max_seconds: float = 300
    # Paced below journald's default limit (10,000 lines per 30 s a unit), which would
    # otherwise drop the request lines that prove each request reached gunicorn.
    max_rate: float = 150
    statuses: Counter = field(default_factory=Counter)
    cache: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # The answers that were not 2xx: (status, whether the body was the API's JSON envelope).
    refusals: Counter = field(default_factory=Counter)
    # An nginx reload closes the idle keep-alive connections of its old workers: a request
    # sent on one just then meets a closed connection with no answer, and an HTTP/1.1
    # client sends it again on a new one (RFC 9112, 9.3.1). Allowed this many times in all
    # (0: never; one per reload the test makes). The request never reached gunicorn the
    # first time, so assert_none_lost's one request line per answer still holds.
    max_reconnects: int = 0
    reconnects: int = 0

    def __post_init__(self):
        self.tag = f"traffic-{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        client = self.vps.session()
        if self.token:
            client.headers["Authorization"] = f"Bearer {self.token}"
        started = time.monotonic()
        deadline = started + self.max_seconds
        sent = 0
        while not self._stop.is_set() and sent < self.max_requests and time.monotonic() < deadline:
            time.sleep(max(0.0, started + sent / self.max_rate - time.monotonic()))
            path = self.paths[sent % len(self.paths)]
            sent += 1
            try:
                answer = self._get(client, path, f"{self.tag}-{sent}")
                self.statuses[answer.status_code] += 1
                if not 200 <= answer.status_code < 300:
                    self.refusals[answer.status_code, is_envelope(answer)] += 1
                self.cache[answer.headers.get("X-Cache-Status", "none")] += 1
            except requests.RequestException as exc:
                self.errors.append(f"{path}: {exc!r}")

    def _get(self, client: requests.Session, path: str, request_id: str) -> requests.Response:
        """GET PATH; sent again on a new connection (at most max_reconnects times in all)
        when nginx closed the idle keep-alive connection it went on without an answer."""
        try:
            return client.get(self.vps.url(path), timeout=30, headers={"X-Request-ID": request_id})
        except requests.ConnectionError as exc:
            if "RemoteDisconnected" not in repr(exc) or self.reconnects >= self.max_reconnects:
                raise
            self.reconnects += 1
            return client.get(self.vps.url(path), timeout=30, headers={"X-Request-ID": request_id})

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

    def assert_none_lost(self) -> int:
        """Every request answered 2xx by gunicorn; returns how many reached it."""
        assert self.total > 50, f"too few requests to prove anything: {self.total}"
        failed = self.failed
        assert not failed["non_2xx"] and not self.errors, f"lost of {self.total}: {failed}"
        assert self.cache == {"BYPASS": self.total}, f"not all passed the cache: {self.cache}"
        reached = requests_logged(self.vps, self.tag)
        assert reached == self.total, f"gunicorn logged {reached} of {self.total} requests"
        print(f"{self.total} requests, all answered 2xx by gunicorn ({reached} logged)")
        return reached


# --- monitoring ---------------------------------------------------------------------


def prometheus_query(vps: Vps, expr: str) -> list[dict]:
    """The instant vector EXPR evaluates to in the VPS's Prometheus (loopback only, so
    asked over SSH): [{"metric": {labels}, "value": [time, "text"]}, ...]."""
    port = role_defaults("monitoring")["monitoring_ports"]["prometheus"]
    answer = vps.run(f"curl -sSf --get --data-urlencode {shlex.quote('query=' + expr)} "
                     f"http://127.0.0.1:{port}/api/v1/query")
    return json.loads(answer)["data"]["result"]


class AlertReceiver:
    """A webhook receiver for Alertmanager on the host's end of the VPS's link (where the
    local inventory's monitoring_alert_webhook_url points): keeps every alert it is sent,
    with the status of that notification (firing, resolved)."""

    PORT = 9099

    def __init__(self, vps: Vps):
        self.alerts: list[dict] = []
        received = self.alerts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                for alert in body.get("alerts", []):
                    received.append({"path": self.path, "time": time.monotonic(), **alert})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        host = vps.address.rsplit(".", 1)[0] + ".1"
        self._server = ThreadingHTTPServer((host, self.PORT), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, alertname: str, status: str, seconds: float, since: float = 0,
                 **labels: str) -> float:
        """Seconds from SINCE (time.monotonic()) until an alert named ALERTNAME with STATUS
        and LABELS arrived; fails after SECONDS."""
        def arrived():
            return [alert for alert in self.alerts
                    if alert["time"] >= since and alert["status"] == status
                    and alert["labels"].get("alertname") == alertname
                    and all(alert["labels"].get(k) == v for k, v in labels.items())]
        assert wait_for(lambda: arrived(), seconds), (
            f"no {status} {alertname} {labels} within {seconds:g} s; got: "
            f"{sorted({(a['labels'].get('alertname'), a['status']) for a in self.alerts})}")
        return arrived()[0]["time"] - since
