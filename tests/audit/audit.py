"""`make audit`: measure how locked down the deployed site is, with standard tools.

Each check is one function returning (tool, figure, goal, ok); the table at the end
lists them all and the exit status is 1 when any failed. The target comes from the same
VPS_* settings as the end-to-end tests (tests/ops.py): the local VPS by default. What a
check expects of a role (SSH algorithms, open ports, the app's database, the disabled
Redis commands) is read from that role's defaults.
"""

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ops import (
    LOCAL_SECRETS,
    REDIS_CLI_AS_APP,
    REPO,
    SITE,
    Vps,
    admin_token,
    local_secret,
    member_token,
    resolve_site_to,
    role_defaults,
)

OPS = Path(sys.executable).parent
SECRET_VARS = ("app_secret_key", "app_jwt_secret_key", "app_admin_password",
               "mysql_app_password", "mysql_migrate_password", "redis_password",
               "app_db_password", "app_db_migrate_password", "app_redis_url", "app_smtp_password")
# A check's verdict: True (pass), False (fail), or NOT_APPLICABLE where this host cannot
# show it (reported as such, neither a pass nor a failure).
NOT_APPLICABLE = None
Result = tuple[str, str, str, bool | None]


def run(argv: list[str], timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                          **kwargs)


def reset_rate_limits(vps: Vps) -> None:
    """Forget the API's rate-limit counters, so a run does not inherit the last one's."""
    vps.run(f"{REDIS_CLI_AS_APP} --scan --pattern '*tdc:ratelimit/*' | "
            f"xargs -r {REDIS_CLI_AS_APP} DEL >/dev/null")


# --- TLS and HTTP -------------------------------------------------------------------


def check_tls(vps: Vps) -> Result:
    out = run([str(OPS / "sslyze"), "--mozilla_config=intermediate",
               f"--certinfo_ca_file={vps.ca_bundle}", f"{SITE}:443{{{vps.address}}}"])
    compliant = out.returncode == 0 and "Compliant" in out.stdout
    failures = re.findall(r"^\s+\* (\w+):", out.stdout, re.MULTILINE)
    figure = "compliant" if compliant else "not compliant: " + ", ".join(failures or ["?"])
    return "sslyze 6", figure, "Mozilla intermediate", compliant


API_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
HSTS = "max-age=63072000; includeSubDomains"


def header_problems(label: str, response: requests.Response, api: bool,
                    authenticated: bool = False) -> list[str]:
    h = response.headers
    problems = []
    if response.url.startswith("https://") or response.request.url.startswith("https://"):
        if h.get("Strict-Transport-Security") != HSTS:
            problems.append(f"{label}: HSTS")
        for name in ("Referrer-Policy", "Permissions-Policy"):
            if not h.get(name):
                problems.append(f"{label}: {name}")
        if api:
            problems += [f"{label}: {k}" for k, v in API_HEADERS.items() if h.get(k) != v]
    if authenticated and h.get("Cache-Control") != "no-store":
        problems.append(f"{label}: Cache-Control")
    for name, value in h.items():
        if name.lower() == "x-powered-by" or (name.lower() in {"server", "via"}
                                              and re.search(r"\d|gunicorn|python", value, re.IGNORECASE)):
            problems.append(f"{label}: {name}: {value}")
    return problems


def check_headers(vps: Vps, site: requests.Session) -> Result:
    token = admin_token(vps)
    cases = [  # label, url, api, authenticated, expected status, headers
        ("200 /", vps.url("/"), False, False, 200, {}),
        ("200 api", vps.url("/api/v1/locations"), True, False, 200, {}),
        ("200 me", vps.url("/api/v1/auth/me"), True, True, 200,
         {"Authorization": f"Bearer {token}"}),
        ("301 http", vps.url("/", scheme="http"), False, False, 301, {}),
        ("301 www", vps.url("/api/v1/health", host=f"www.{SITE}"), False, False, 301, {}),
        ("404 api", vps.url("/api/v1/no-such-thing"), True, False, 404, {}),
        ("404 static", vps.url("/no-such-page"), False, False, 404, {}),
    ]
    problems, seen = [], 0
    for label, url, api, authenticated, status, headers in cases:
        response = site.get(url, headers=headers, allow_redirects=False, timeout=10)
        seen += 1
        if response.status_code != status:
            problems.append(f"{label}: status {response.status_code}")
        problems += header_problems(label, response, api, authenticated)
    # A 502: nginx with gunicorn and its socket stopped, then both started again.
    vps.run("systemctl stop tdc-gunicorn.socket tdc-gunicorn.service")
    try:
        response = site.get(vps.url("/api/v1/health"), timeout=10)
    finally:
        vps.run("systemctl start tdc-gunicorn.socket tdc-gunicorn.service")
    seen += 1
    if response.status_code != 502 or response.json().get("success") is not False:
        problems.append(f"502: status {response.status_code}, not the JSON envelope")
    problems += header_problems("502", response, True)
    vps.wait_until_ready(60)
    figure = f"{seen} responses, {len(problems)} missing" + (
        ": " + "; ".join(problems[:4]) if problems else "")
    return "requests", figure, "all headers, 200/301/404/502", not problems


def check_gixy(vps: Vps) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        # The deployed configuration, links resolved, without keys and modules.
        tar = subprocess.run(
            [*vps.ssh_prefix, "tar -C /etc/nginx -chf - --exclude=./tls --exclude=./modules-enabled ."],
            capture_output=True, check=True, timeout=60)
        subprocess.run(["tar", "-C", tmp, "-xf", "-"], input=tar.stdout, check=True)
        out = run([str(OPS / "gixy"), f"{tmp}/nginx.conf"])
    issues = re.search(r"Total issues:\s*(\d+)|No issues found", out.stdout + out.stderr)
    count = issues.group(1) if issues and issues.group(1) else ("0" if issues else "?")
    return "gixy-ng", f"{count} findings on the deployed config", "0", out.returncode == 0


def check_nginx_limits(vps: Vps) -> Result:
    config = vps.run("nginx -T 2>/dev/null")
    wanted = {
        "client_max_body_size": r"client_max_body_size\s+1m;",
        "client_body_timeout": r"client_body_timeout\s+\d+s;",
        "client_header_timeout": r"client_header_timeout\s+\d+s;",
        "send_timeout": r"send_timeout\s+\d+s;",
        "proxy_read_timeout": r"proxy_read_timeout\s+\d+s;",
        # nginx -T prints an include where it stands (maintenance, before the limit).
        "auth limit_req": r"location /api/v1/auth/ \{(\s*include [^;]+;)*\s*limit_req zone=tdc_auth",
    }
    missing = [name for name, pattern in wanted.items() if not re.search(pattern, config)]
    # The limit itself: a burst of auth writes (logout without a token: no side effect)
    # answers 429 from nginx, in the envelope. Reads such as GET /auth/me are not counted.
    session = vps.session()
    statuses = [session.post(vps.url("/api/v1/auth/logout"), timeout=10) for _ in range(30)]
    limited = [r for r in statuses if r.status_code == 429]
    envelope = bool(limited) and limited[0].json() == {"success": False,
                                                      "error": "Too many requests"}
    if not envelope:
        missing.append("429 envelope on a burst")
    big = session.post(vps.url("/api/v1/locations"), data=b"x" * (2 * 1024 * 1024), timeout=30)
    if big.status_code != 413:
        missing.append(f"2 MiB body got {big.status_code}")
    time.sleep(2)  # let the burst's bucket drain before the next checks
    figure = f"body 1m, timeouts set, {len(limited)}/30 of a burst 429" + (
        f"; missing: {', '.join(missing)}" if missing else "")
    return "nginx -T, requests", figure, "limits set, 429 JSON, 413", not missing


# --- systemd ------------------------------------------------------------------------


def check_systemd(vps: Vps) -> Result:
    units = vps.run("ls /etc/systemd/system/ | grep -E '^tdc-.*\\.service$'").split()
    scores, ok = {}, bool(units)
    with tempfile.TemporaryDirectory() as tmp:
        for unit in units:
            path = Path(tmp, unit)
            path.write_text(vps.run(f"cat /etc/systemd/system/{unit}"))
            out = run(["systemd-analyze", "security", "--offline=yes", "--threshold=20",
                       str(path)])
            score = re.search(r"Overall exposure level for \S+: ([\d.]+)", out.stdout)
            scores[unit] = float(score.group(1)) if score else 10.0
            ok = ok and out.returncode == 0 and scores[unit] <= 2.0
    figure = ", ".join(f"{u.removeprefix('tdc-').removesuffix('.service')} {s}"
                       for u, s in scores.items())
    return "systemd-analyze security", figure or "no units", "<= 2.0 (goal 1.0)", ok


# --- the OS -------------------------------------------------------------------------

HARDENING = role_defaults("hardening")
# sshd -T's name of each setting: the algorithms the hardening role allows.
ALLOWED_SSH = {"ciphers": set(HARDENING["hardening_ssh_ciphers"]),
               "kexalgorithms": set(HARDENING["hardening_ssh_kex"]),
               "macs": set(HARDENING["hardening_ssh_macs"])}
OPEN_PORTS = HARDENING["hardening_open_tcp_ports"]


def check_ssh(vps: Vps) -> Result:
    config = dict(line.split(" ", 1) for line in vps.run("sshd -T").splitlines() if " " in line)
    problems = [f"{k} {config.get(k)}" for k, v in {
        "passwordauthentication": "no", "kbdinteractiveauthentication": "no",
        "permitemptypasswords": "no", "pubkeyauthentication": "yes"}.items()
        if config.get(k) != v]
    if config.get("permitrootlogin") not in {"prohibit-password", "without-password", "no"}:
        problems.append(f"permitrootlogin {config.get('permitrootlogin')}")
    for key, allowed in ALLOWED_SSH.items():
        weak = set(config.get(key, "").split(",")) - allowed
        if weak:
            problems.append(f"{key}: {','.join(sorted(weak))}")
    # From outside: a password-only client is turned away, and only publickey is offered.
    attempt = run(["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                   "-o", "PubkeyAuthentication=no", "-o", "BatchMode=yes",
                   "-o", "PreferredAuthentications=password,keyboard-interactive",
                   f"root@{vps.address}", "true"], timeout=30)
    if attempt.returncode == 0 or "Permission denied (publickey)" not in attempt.stderr:
        problems.append("password client not refused with publickey only")
    figure = "keys only, root by key, modern algorithms" if not problems else "; ".join(problems)
    return "sshd -T, ssh", figure, "dev-sec ssh baseline", not problems


def tcp_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


def check_firewall(vps: Vps) -> Result:
    port = 8089
    ruleset = vps.run("nft list ruleset")
    vps.run(f"systemd-run --unit=tdc-audit-listener --collect python3 -m http.server {port} "
            f"--bind 0.0.0.0")
    try:
        inside = vps.run(f"sleep 1; curl -s -o /dev/null -w '%{{http_code}}' "
                         f"http://{vps.address}:{port}/", check=False).strip() == "200"
        outside = tcp_open(vps.address, port)
    finally:
        vps.run("systemctl stop tdc-audit-listener", check=False)
    web = {p: tcp_open(vps.address, p) for p in OPEN_PORTS}
    ok = ("policy drop" in ruleset and inside and not outside and all(web.values()))
    ports = "/".join(map(str, OPEN_PORTS))
    figure = (f"{port}: open inside={inside}, from host={'open' if outside else 'closed'}; "
              f"{ports} {'open' if all(web.values()) else web}")
    return "nft, socket", figure, f"only {ports} in", ok


def check_fail2ban(vps: Vps) -> Result:
    status = vps.run("fail2ban-client status sshd", check=False)
    ok = "Currently banned" in status and "nftables" in vps.run(
        "fail2ban-client get sshd actions", check=False)
    return "fail2ban-client", "sshd jail active, nftables bans" if ok else "no sshd jail", \
        "sshd jail", ok


def check_updates_and_time(vps: Vps) -> Result:
    apt = vps.run("apt-config dump APT::Periodic", check=False)
    upgrades = 'Unattended-Upgrade "1"' in apt and vps.run(
        "dpkg-query -W -f '${Status}' unattended-upgrades", check=False).endswith("installed")
    timesync = vps.run("systemctl is-active systemd-timesyncd", check=False).strip()
    container = vps.run("systemd-detect-virt --container", check=False).strip()
    figure = f"unattended-upgrades {'on' if upgrades else 'off'}; timesyncd {timesync}"
    if not upgrades:
        return "apt-config, systemctl", figure, "on, active", False
    # A container keeps the host's clock: timesyncd skips itself there, so time sync
    # cannot be shown either way (ConditionVirtualization=!container).
    if container != "none":
        return ("apt-config, systemctl", f"{figure} (not applicable in a {container} container)",
                "on, active", NOT_APPLICABLE)
    return "apt-config, systemctl", figure, "on, active", timesync == "active"


def check_security_updates(vps: Vps) -> Result:
    # Fresh lists first: lists fetched before the sources changed hide every fix since.
    vps.run("apt-get update -qq", timeout=300)
    archives = vps.run("apt-cache policy")
    simulated = vps.run("apt-get -s -o Debug::NoLocking=1 dist-upgrade")
    pending = re.findall(r"^Inst (\S+) .*-security[ ,\]]", simulated, re.MULTILINE)
    in_sources = "-security" in archives
    figure = (f"{len(pending)} pending" + (f": {', '.join(pending[:5])}" if pending else "")
              + ("" if in_sources else "; no security archive in the sources"))
    return "apt-get -s dist-upgrade", figure, "0, security archive in the sources", \
        in_sources and not pending


# What ssh-audit 2.5 (Debian 12) flags only because its list predates OpenSSH 9.x: the
# post-quantum key exchange OpenSSH makes its default, and the Terrapin countermeasure.
SSH_AUDIT_TOOL_AGE = {
    ("sntrup761x25519-sha512@openssh.com", "using experimental algorithm"),
    ("kex-strict-s-v00@openssh.com", "unknown algorithm"),
}
SSH_HOST_KEYS = {"ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"}


def check_ssh_audit(vps: Vps) -> Result:
    out = run(["ssh-audit", "-b", "-n", "-l", "warn", vps.address], timeout=60)
    findings = re.findall(r"^\((?:kex|key|enc|mac)\) (\S+) -- \[(?:warn|fail)\] (.+?)\s*$",
                          out.stdout, re.MULTILINE)
    problems = [f"{alg}: {why}" for alg, why in findings if (alg, why) not in SSH_AUDIT_TOOL_AGE]
    offered = json.loads(run(["ssh-audit", "-j", vps.address], timeout=60).stdout)
    keys = {key["algorithm"] for key in offered.get("key", [])}
    problems += [f"host key {key}" for key in sorted(keys - SSH_HOST_KEYS)]
    figure = (f"{len(problems)} fail/warn, host keys {', '.join(sorted(keys))}"
              + (f": {'; '.join(problems[:3])}" if problems else "")
              + f" ({len(findings) - len(problems)} of the tool's age, see README)")
    return "ssh-audit 2.5", figure, "0, ed25519 (RSA SHA-2) keys only", bool(keys) and not problems


def check_lynis(vps: Vps) -> Result:
    vps.run("lynis audit system --quick --no-colors >/dev/null", timeout=600)
    report = vps.run("cat /var/log/lynis-report.dat")
    index = re.search(r"^hardening_index=(\d+)$", report, re.MULTILINE)
    suggestions = len(re.findall(r"^suggestion\[\]=", report, re.MULTILINE))
    score = int(index.group(1)) if index else 0
    figure = f"hardening index {score}, {suggestions} suggestions (README: why they stay)"
    return "lynis 3", figure, ">= 80", score >= 80


# --- the data stores ----------------------------------------------------------------


MYSQL = role_defaults("mysql")
APP_USER, APP_DATABASE = MYSQL["mysql_app_user"], MYSQL["mysql_app_database"]
APP_PRIVILEGES = MYSQL["mysql_app_privileges"].replace(",", ", ")


def check_mysql(vps: Vps) -> Result:
    def query(sql: str) -> str:
        return vps.run(f"mariadb -N -B -e {shlex.quote(sql)}").strip()

    problems = []
    if query("SELECT COUNT(*) FROM mysql.user WHERE user = ''") != "0":
        problems.append("anonymous users")
    if query("SHOW DATABASES LIKE 'test%'"):
        problems.append("test database")
    if query("SELECT COUNT(*) FROM mysql.user WHERE user = 'root' "
             "AND host NOT IN ('localhost', '127.0.0.1', '::1')") != "0":
        problems.append("remote root")
    hosts = query(f"SELECT host FROM mysql.user WHERE user = '{APP_USER}'").split()
    for host in hosts:
        grants = query(f"SHOW GRANTS FOR '{APP_USER}'@'{host}'")
        # Rows of its own database only: no schema change, nothing elsewhere.
        allowed = ("GRANT USAGE ON *.*", f"GRANT {APP_PRIVILEGES} ON `{APP_DATABASE}`.* TO ")
        for grant in grants.splitlines():
            if not grant.startswith(allowed):
                problems.append(f"{APP_USER}@{host}: {grant[:60]}")
    if query("SELECT @@local_infile") != "0":
        problems.append("local_infile on")
    if query("SELECT @@bind_address") not in {"127.0.0.1", "localhost"}:
        problems.append("bind " + query("SELECT @@bind_address"))
    # What listens, not only what the server was told (socket activation can differ).
    for line in vps.run("ss -Hltn sport = :3306").splitlines():
        if line.split()[3].rsplit(":", 1)[0] not in {"127.0.0.1", "[::1]"}:
            problems.append("listens on " + line.split()[3])
    figure = (f"no anon/test/remote root, app rows of {APP_DATABASE}.* only, local_infile 0, "
              "127.0.0.1"
              if not problems else "; ".join(problems))
    return "mariadb", figure, "dev-sec mysql baseline", not problems


REDIS = role_defaults("redis")
# Each denied command in a well-formed call (Redis checks the arity before the ACL).
REDIS_PROBES = {"CONFIG": "CONFIG GET bind", "DEBUG": "DEBUG SLEEP 0", "KEYS": "KEYS x",
                "MODULE": "MODULE LIST", "ACL": "ACL LIST"}


def redis_refuses(vps: Vps, name: str) -> bool:
    """Try a denied command as the app's user without harm: queued in a transaction that
    is then discarded (the ACL refuses it when queued; one it let through would be queued,
    never run); SHUTDOWN, which a transaction refuses before the ACL looks, as SHUTDOWN
    ABORT (with no shutdown in progress it does nothing)."""
    if name == "SHUTDOWN":
        out = vps.run(f"{REDIS_CLI_AS_APP} SHUTDOWN ABORT", check=False)
    else:
        call = shlex.quote(REDIS_PROBES.get(name, name))
        out = vps.run(f"printf 'MULTI\\n%s\\nDISCARD\\n' {call} | {REDIS_CLI_AS_APP}", check=False)
    # DEBUG is refused to every user before the ACL looks (enable-debug-command no).
    return "NOPERM" in out or "DEBUG command not allowed" in out


def check_redis(vps: Vps) -> Result:
    problems = []
    if "NOAUTH" not in vps.run("redis-cli -h 127.0.0.1 ping", check=False):
        problems.append("no password needed")
    if vps.run(f"{REDIS_CLI_AS_APP} ping").strip() != "PONG":
        problems.append("the app's user refused")
    # The default user takes no password: AUTH with the app's password alone fails.
    password = shlex.quote(local_secret("redis_password"))
    if "PONG" in vps.run(f"redis-cli --no-auth-warning -h 127.0.0.1 -a {password} ping",
                         check=False):
        problems.append("the default user logs in")
    denied = REDIS["redis_denied_commands"]
    problems += [f"{name} allowed" for name in denied if not redis_refuses(vps, name)]
    conf = vps.run("cat /etc/redis/redis.conf")
    if not re.search(r"^protected-mode yes$", conf, re.MULTILINE):
        problems.append("protected-mode off")
    listening = vps.run(f"ss -Hltn sport = :{REDIS['redis_port']}").split("\n")
    if any(line.split()[3].rsplit(":", 1)[0] not in {"127.0.0.1", "[::1]"}
           for line in listening if line.strip()):
        problems.append("listens beyond loopback")
    figure = (f"ACL user only, loopback, protected, {len(denied)} commands denied" if not problems
              else "; ".join(problems))
    return "redis-cli, ss", figure, "dev-sec/Redis guidance", not problems


def check_secrets_repo() -> Result:
    files = run(["git", "-C", str(REPO), "ls-files"]).stdout.split()
    values = [local_secret(p.name) for p in LOCAL_SECRETS.glob("*")] if LOCAL_SECRETS.is_dir() \
        else []
    problems = []
    for name in files:
        path = REPO / name
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if name.endswith("vault.yml") and not text.startswith("$ANSIBLE_VAULT"):
            problems.append(f"{name}: unencrypted vault")
        if re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", text):
            problems.append(f"{name}: private key")
        if "CHANGE-ME" in text and not name.endswith(".example") and "tests/" not in name:
            problems.append(f"{name}: vault example marker")
        if any(v and v in text for v in values):
            problems.append(f"{name}: a generated secret")
    problems += missing_no_log()
    figure = (f"{len(files)} files clean; every secret-bearing task no_log" if not problems
              else "; ".join(problems[:4]))
    return "git ls-files scan", figure, "no secret, no_log", not problems


def each_task(tasks: list[dict], no_log: bool = False) -> Iterator[tuple[dict, bool]]:
    """Every task of a tasks file, those inside a block's block/rescue/always included,
    with whether no_log covers it (its own, or its block's)."""
    for task in tasks:
        covered = bool(task.get("no_log", no_log))
        nested = [t for part in ("block", "rescue", "always") for t in task.get(part) or []]
        if nested:
            yield from each_task(nested, covered)
        else:
            yield task, covered


def missing_no_log() -> list[str]:
    """Tasks whose arguments or template use a secret variable but lack no_log."""
    missing = []
    for tasks_file in (REPO / "ansible" / "roles").glob("*/tasks/*.yml"):
        role = tasks_file.parent.parent
        for task, covered in each_task(yaml.safe_load(tasks_file.read_text()) or []):
            body = json.dumps({k: v for k, v in task.items() if k != "name"})
            template = (task.get("ansible.builtin.template") or {}).get("src")
            if template and (role / "templates" / template).is_file():
                body += (role / "templates" / template).read_text()
            # An assert prints only its own messages, which name variables, not values.
            if "ansible.builtin.assert" in task:
                continue
            if any(var in body for var in SECRET_VARS) and not covered:
                missing.append(f"{tasks_file.relative_to(REPO)}: {task.get('name')}")
    return missing


def check_secrets_vps(vps: Vps) -> Result:
    found = vps.run(
        "find /srv/tdc /etc/redis /etc/mysql /etc/letsencrypt /etc/nginx/tls -xdev -type f "
        "-perm -o=r \\( -name .env -o -name 'redis*.conf' -o -name 'privkey*' "
        "-o -name '*.key' -o -name 'debian.cnf' -o -name '*secret*' \\) 2>/dev/null",
        check=False).split()
    return "find", f"{len(found)} world-readable" + (f": {', '.join(found[:3])}" if found
                                                    else ""), "0", not found


# --- the API under hostile input ----------------------------------------------------


# The app's own limits, raised in gunicorn's environment (which wins over its .env) for
# the admin fuzzing only: a runtime drop-in, gone after the run and at any reboot.
RAISED_LIMITS = "/run/systemd/system/tdc-gunicorn.service.d/zz-audit-rate-limits.conf"
# The one rule of the bodies JSON Schema cannot state, kept to by the generated bodies.
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")


@contextlib.contextmanager
def accounts_put_back(vps: Vps):
    """Every account's role and active flag as before: fuzzing as the admin promotes,
    demotes and deactivates accounts at random, the admin's own once another is admin."""
    before = vps.run(f"mariadb -N -B -e 'SELECT id, role, is_active FROM users' {APP_DATABASE}")
    try:
        yield
    finally:
        updates = "".join(f"UPDATE users SET role = '{role}', is_active = {active} "
                          f"WHERE id = {int(user_id)};"
                          for user_id, role, active in (line.split("\t")
                                                        for line in before.splitlines()))
        vps.run(f"echo {shlex.quote(updates)} | mariadb {APP_DATABASE}")


# Every limit the API reads (backend/app/config.py, RATE_LIMIT_SETTINGS).
RATE_LIMIT_SETTINGS = ("RATELIMIT_LOGIN", "RATELIMIT_LOGIN_ACCOUNT", "RATELIMIT_REGISTER",
                       "RATELIMIT_REGISTER_ACCOUNT", "RATELIMIT_RESEND",
                       "RATELIMIT_RESEND_ACCOUNT", "RATELIMIT_RESET", "RATELIMIT_RESET_ACCOUNT")


@contextlib.contextmanager
def raised_rate_limits(vps: Vps):
    lines = "".join(f'Environment=\\"{name}=10000 per minute\\"\\n'
                    for name in RATE_LIMIT_SETTINGS)
    vps.run(f"mkdir -p {Path(RAISED_LIMITS).parent} && printf \"[Service]\\n{lines}\" > "
            f"{RAISED_LIMITS} && systemctl daemon-reload && systemctl restart tdc-gunicorn")
    try:
        vps.wait_until_ready(60)
        yield
    finally:
        vps.run(f"rm -f {RAISED_LIMITS} && systemctl daemon-reload && "
                "systemctl restart tdc-gunicorn")
        vps.wait_until_ready(60)


def fuzz(vps: Vps, token: str, log: str, *extra: str, own_user_id: int | None = None) -> Result:
    """schemathesis over every route of the API's description, as the holder of TOKEN
    (whose account, OWN_USER_ID, the admin routes then leave alone: see HOOKS)."""
    wrapper = ("import sys, urllib3.util.connection as c; o = c.create_connection;"
               f"c.create_connection = lambda hp, *a, **k: o(({vps.address!r} if hp[0] in "
               f"({SITE!r}, 'www.{SITE}') else hp[0], hp[1]), *a, **k);"
               "from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis';"
               "sys.exit(schemathesis())")
    config = Path(__file__).with_name("schemathesis.toml")
    out = run([sys.executable, "-c", wrapper, "--config-file", str(config), "run",
               vps.url("/api/v1/openapi.json"),
               # Every check (schemathesis' default; schemathesis.toml turns one off for
               # one operation, which a `--checks all` here would override): the spec
               # states the bounds the API enforces (data it allows is accepted, data it
               # forbids refused) and nginx answers TRACE in JSON.
               "--max-examples", "15", "--max-time", "120",
               "--tls-verify", vps.ca_bundle, "--request-timeout", "10",
               "--header", f"Authorization: Bearer {token}",
               # logout would revoke the token half-way and leave the rest unauthenticated
               "--exclude-path", "/api/v1/auth/logout",
               "--exclude-path", "/api/v1/auth/logout-all",
               "--suppress-health-check", "all", *extra], timeout=240,
              env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": str(HOOKS),
                   "TDC_FUZZ_OWN_USER_ID": str(own_user_id or "")})
    text = out.stdout
    summary = re.search(r"(\d+) generated.*", text) or re.search(r"Test cases:.*", text)
    failures = re.findall(r"^\s*[_]+ ([A-Z]+ /\S+) [_]+", text, re.MULTILINE)
    figure = (summary.group(0).strip() if summary else f"exit {out.returncode}") + (
        f"; failing: {', '.join(failures[:3])}" if failures else "")
    if out.returncode != 0:
        Path(REPO / ".build").mkdir(exist_ok=True)
        (REPO / ".build" / log).write_text(text + out.stderr)
        figure += f" (log: .build/{log})"
    return "schemathesis 4", figure, "no 5xx, conforms", out.returncode == 0


def check_schemathesis(vps: Vps, site: requests.Session) -> Result:
    """As a member: admin routes answer 403, which they document."""
    reset_rate_limits(vps)
    return fuzz(vps, member_token(vps, "audit"), "schemathesis.log")


def check_schemathesis_admin(vps: Vps, site: requests.Session) -> Result:
    """As the admin: every admin body is validated and fuzzed, the site's data changed at
    random (the throwaway VPS's). The admin's own account is left alone (HOOKS): once
    the run has made another member admin it could demote or deactivate it, and go on
    with a token refused everywhere.

    Every check but use_after_free, positive_data_acceptance included: the description
    states every rule of the bodies (ends_at after starts_at in words, which HOOKS keeps
    the generated bodies to)."""
    reset_rate_limits(vps)
    with raised_rate_limits(vps), accounts_put_back(vps):
        token = admin_token(vps)
        own = site.get(vps.url("/api/v1/auth/me"), timeout=10,
                       headers={"Authorization": f"Bearer {token}"}).json()["data"]["id"]
        tool, figure, _, ok = fuzz(vps, token, "schemathesis-admin.log",
                                   # A location's DELETE deactivates it, by design: an
                                   # admin still GETs it, to PATCH it active again.
                                   "--exclude-checks", "use_after_free", own_user_id=own)
    return tool, figure, "no 5xx, conforms (1 check out)", ok


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict, alg: str = "HS256", key: str | None = None) -> str:
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}.get(alg)
    signature = b64(hmac.new(key.encode(), f"{head}.{body}".encode(), digest).digest()) \
        if key and digest else ""
    return f"{head}.{body}.{signature}"


def check_token_attacks(vps: Vps, site: requests.Session) -> Result:
    key = local_secret("app_jwt_secret_key")
    valid = admin_token(vps)
    claims = json.loads(base64.urlsafe_b64decode(valid.split(".")[1] + "=="))
    now = int(time.time())
    head, body, sig = valid.split(".")
    attacks = {
        "alg none": jwt(claims, "none"),
        "HS512": jwt(claims, "HS512", key),
        "RS256 header": jwt(claims, "RS256", key),
        "bad signature": f"{head}.{body}.{sig[:-4]}AAAA",
        "expired": jwt({**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600},
                       "HS256", key),
    }

    def me(token: str) -> int:
        return site.get(vps.url("/api/v1/auth/me"), timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).status_code

    problems = [] if me(valid) == 200 else ["a valid token is refused"]
    problems += [name for name, token in attacks.items() if me(token) != 401]
    site.post(vps.url("/api/v1/auth/logout"), headers={"Authorization": f"Bearer {valid}"},
              timeout=10)
    if me(valid) != 401:
        problems.append("revoked")
    figure = f"{len(attacks) + 1} attacks refused 401" if not problems else \
        "accepted: " + ", ".join(problems)
    return "requests (JWT)", figure, "all 401", not problems


def check_login_rate_limit(vps: Vps, site: requests.Session) -> Result:
    reset_rate_limits(vps)
    statuses = []
    for _ in range(15):
        response = site.post(vps.url("/api/v1/auth/login"), timeout=10,
                             json={"email": "nobody@thedreamerscave.club", "password": "wrong1234"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    ok = statuses[-1] == 429 and response.json().get("success") is False
    figure = f"429 (envelope) after {len(statuses)} logins" if ok else f"statuses {statuses}"
    return "requests", figure, "429 through nginx", ok


def check_client_address(vps: Vps) -> Result:
    # The e2e test already proves it (real address logged, forged X-Forwarded-For ignored).
    test = "tests/test_members.py::test_member_logs_in_and_the_app_sees_the_real_client"
    reset_rate_limits(vps)
    out = run([str(OPS / "pytest"), "-q", "-c", "tests/pytest.ini", test], cwd=REPO,
              env={**os.environ, "VPS_ADDRESS": vps.address, "VPS_CA_BUNDLE": vps.ca_bundle,
                   "VPS_SSH": shlex.join(vps.ssh_prefix)})
    return "pytest (e2e)", "real address, forged XFF ignored" if out.returncode == 0 else \
        "failed: " + out.stdout.strip().splitlines()[-1], "real client", out.returncode == 0


# --- the table ----------------------------------------------------------------------


def main() -> int:
    vps = Vps.from_settings()
    resolve_site_to(vps.address)
    site = vps.session()
    vps.wait_until_ready()
    reset_rate_limits(vps)
    checks: list[tuple[str, Callable[[], Result]]] = [
        ("TLS", lambda: check_tls(vps)),
        ("HTTP security headers", lambda: check_headers(vps, site)),
        ("nginx config", lambda: check_gixy(vps)),
        ("nginx limits", lambda: check_nginx_limits(vps)),
        ("systemd sandboxing", lambda: check_systemd(vps)),
        ("SSH", lambda: check_ssh(vps)),
        ("firewall", lambda: check_firewall(vps)),
        ("fail2ban", lambda: check_fail2ban(vps)),
        ("updates, time sync", lambda: check_updates_and_time(vps)),
        ("pending security updates", lambda: check_security_updates(vps)),
        ("SSH algorithms", lambda: check_ssh_audit(vps)),
        ("lynis", lambda: check_lynis(vps)),
        ("MySQL", lambda: check_mysql(vps)),
        ("Redis", lambda: check_redis(vps)),
        ("secrets in the repo", check_secrets_repo),
        ("secrets on the VPS", lambda: check_secrets_vps(vps)),
        ("token attacks", lambda: check_token_attacks(vps, site)),
        # Before the fuzzing, which spends this client's register and login limits.
        ("client address", lambda: check_client_address(vps)),
        ("API fuzzing", lambda: check_schemathesis(vps, site)),
        ("API fuzzing, admin", lambda: check_schemathesis_admin(vps, site)),
        ("login rate limit", lambda: check_login_rate_limit(vps, site)),
    ]
    rows = []
    for name, check in checks:
        started = time.monotonic()
        try:
            tool, figure, goal, ok = check()
        except Exception as exc:  # noqa: BLE001 - a check that cannot run has failed, with why
            tool, figure, goal, ok = "-", f"error: {type(exc).__name__}: {exc}"[:120], "-", False
        verdict = "n/a" if ok is NOT_APPLICABLE else "pass" if ok else "FAIL"
        rows.append((name, tool, figure, goal, verdict, f"{time.monotonic() - started:.0f}s"))
        print(f"{rows[-1][4]:4}  {name}", file=sys.stderr, flush=True)
    header = ("check", "tool", "figure", "goal", "result", "time")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    failed = [r[0] for r in rows if r[4] == "FAIL"]
    unknown = [r[0] for r in rows if r[4] == "n/a"]
    passed = len(rows) - len(failed) - len(unknown)
    print(f"\n{passed}/{len(rows)} checks pass" +
          (f"; not applicable here: {', '.join(unknown)}" if unknown else "") +
          (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
