#!/usr/bin/python3
"""A stand-in for the transactional-mail provider's submission relay: on the host side of
the local VPS (as pebble stands in for Let's Encrypt), and in the backend's tests.

It insists on what a provider does: TLS first, STARTTLS on one port or implicit TLS on
another, then AUTH PLAIN or LOGIN with its one user and password; no mail without both.
Each mail it accepts goes into a Maildir, headed by X-Relay-* lines that say how it came
(TLS mode and version, the AUTH user, the peer): the tests read them there.

  relay.py cert DIR NAME IP   a CA (DIR/ca.pem) and a certificate for NAME and IP signed
                              by it (DIR/cert.pem, DIR/key.pem), unless DIR has them
  relay.py serve --host H --starttls-port P --tls-port P --dir DIR --user U --password-file F
                              serve until TERM; DIR holds cert.pem, key.pem, maildir/ and
                              the control files tests create and remove: `refuse-auth`
                              (AUTH answers 535), `tempfail` (the data answers 451),
                              `reject` (the data answers 554) and `hold` (the data waits
                              while it exists, at most HOLD_SECONDS, then answers 451: a
                              task stays mid-send meanwhile)

Runs on Debian's python3-aiosmtpd (1.4) or the backend's dev venv; only the standard
library besides. Needs openssl(1) for `cert`.
"""

import argparse
import asyncio
import hmac
import logging
import mailbox
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

STARTTLS = "starttls"
IMPLICIT_TLS = "tls"
# The longest a `hold` keeps one message waiting (below the client's SMTP timeout).
HOLD_SECONDS = 25

# AUTH LOGIN's prompts as real relays send them (Postfix, Cyrus SASL), not aiosmtpd's own
# "User Name\0": some clients (Alertmanager's) answer only these.
SMTP.AuthLoginUsernameChallenge = "Username:"
SMTP.AuthLoginPasswordChallenge = "Password:"


def make_certificates(directory: Path, name: str, ip: str) -> None:
    """A throwaway CA and a server certificate for NAME (and IP) signed by it."""
    directory.mkdir(parents=True, exist_ok=True)
    if all((directory / f).is_file() for f in ("ca.pem", "cert.pem", "key.pem")):
        return
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run = [["openssl", "req", "-x509", *ec, "-days", "825", "-subj", "/CN=stand-in relay CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout", work / "ca-key.pem", "-out", work / "ca.pem"],
               ["openssl", "req", *ec, "-subj", f"/CN={name}",
                "-keyout", work / "key.pem", "-out", work / "cert.csr"],
               ["openssl", "x509", "-req", "-in", work / "cert.csr", "-CA", work / "ca.pem",
                "-CAkey", work / "ca-key.pem", "-CAcreateserial", "-days", "825",
                "-extfile", work / "ext.cnf", "-out", work / "cert.pem"]]
        (work / "ext.cnf").write_text(
            f"subjectAltName=DNS:{name},IP:{ip}\nbasicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        for command in run:
            subprocess.run(command, check=True, capture_output=True)
        for f in ("ca.pem", "cert.pem", "key.pem"):
            (directory / f).write_bytes((work / f).read_bytes())
    (directory / "key.pem").chmod(0o600)


class RelayHandler:
    """What the relay does with a session: check AUTH, keep each accepted mail."""

    def __init__(self, user: str, password: str | None = None,
                 password_file: Path | None = None, directory: Path | None = None) -> None:
        self.user = user
        self._password = password
        self._password_file = password_file
        self.directory = directory
        self.maildir = mailbox.Maildir(directory / "maildir") if directory else None
        # In-process switches (the backend's tests); the CLI's are control files.
        self.refuse_auth = False
        self.tempfail = False
        self.reject = False
        self.hold = False
        self.messages: list[dict[str, object]] = []
        self.auth_attempts: list[tuple[str, bool]] = []
        self._lock = threading.Lock()

    def _switch(self, name: str) -> bool:
        if getattr(self, name.replace("-", "_")):
            return True
        return self.directory is not None and (self.directory / name).exists()

    def password(self) -> str:
        # Read at each AUTH: the local inventory may generate it after the relay started.
        if self._password_file is not None:
            return self._password_file.read_text().strip()
        return self._password or ""

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        try:
            expected = self.password()
        except OSError:
            expected = ""
        ok = (not self._switch("refuse-auth") and bool(expected)
              and hmac.compare_digest(login.encode(), self.user.encode())
              and hmac.compare_digest(auth_data.password, expected.encode()))
        with self._lock:
            self.auth_attempts.append((login, ok))
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    async def handle_DATA(self, server, session, envelope):
        if self._switch("hold"):
            deadline = time.monotonic() + HOLD_SECONDS
            while self._switch("hold") and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            return "451 4.3.0 Stand-in relay: held, try again later"
        if self._switch("tempfail"):
            return "451 4.3.0 Stand-in relay: try again later"
        if self._switch("reject"):
            return "554 5.7.1 Stand-in relay: message refused"
        if not session.authenticated:  # auth_required says so too; never rely on one check
            return "530 5.7.0 Authentication required"
        tls = server.transport.get_extra_info("ssl_object")
        if tls is None:
            return "530 5.7.0 Must issue a STARTTLS command first"
        mode = STARTTLS if session.ssl is not None else IMPLICIT_TLS
        headers = (f"X-Relay-TLS: {mode} {tls.version()}\r\n"
                   f"X-Relay-Auth: {session.auth_data}\r\n"
                   f"X-Relay-Peer: {session.peer[0]}\r\n"
                   f"X-Relay-Envelope: from=<{envelope.mail_from}> "
                   f"to=<{','.join(envelope.rcpt_tos)}>\r\n").encode()
        content = envelope.original_content or envelope.content
        record = {"to": list(envelope.rcpt_tos), "from": envelope.mail_from, "tls": mode,
                  "tls_version": tls.version(), "login": session.auth_data,
                  "body": content.decode("utf-8", "replace")}
        with self._lock:
            key = self.maildir.add(headers + content) if self.maildir is not None else None
            record["key"] = key
            self.messages.append(record)
        return f"250 2.0.0 Ok: queued as {key or len(self.messages)}"


class _ImplicitTLSController(Controller):
    def factory(self):
        # AUTH without aiosmtpd's TLS check, on purpose (see Relay.start): keep it quiet,
        # in its warning and its log line.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return super().factory()


logging.getLogger("mail.log").addFilter(
    lambda record: "auth_require_tls == False" not in record.getMessage())


class Relay:
    """The relay's listeners: STARTTLS (587 in production) and implicit TLS (465)."""

    def __init__(self, handler: RelayHandler, host: str, starttls_port: int, tls_port: int,
                 cert: Path, key: Path) -> None:
        self.handler = handler
        self.host = host
        self.ports = {STARTTLS: starttls_port, IMPLICIT_TLS: tls_port}
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(cert, key)
        self._controllers: list[Controller] = []

    def start(self) -> None:
        # A stopped Controller cannot start again: make new ones each time.
        common = {"hostname": self.host, "authenticator": self.handler.authenticate,
                  "auth_required": True, "server_hostname": "stand-in-relay"}
        self._controllers = [
            # STARTTLS first, AUTH only over TLS (aiosmtpd's own checks).
            Controller(self.handler, port=self.ports[STARTTLS], tls_context=self.context,
                       require_starttls=True, auth_require_tls=True, **common),
            # Every connection to this port is TLS from its first byte; aiosmtpd only
            # knows STARTTLS's, so its TLS check is off and handle_DATA checks instead.
            _ImplicitTLSController(self.handler, port=self.ports[IMPLICIT_TLS],
                                   ssl_context=self.context, auth_require_tls=False, **common),
        ]
        for controller in self._controllers:
            controller.start()

    def stop(self) -> None:
        for controller in self._controllers:
            controller.stop()
        self._controllers = []


def serve(args: argparse.Namespace) -> None:
    directory = Path(args.dir)
    handler = RelayHandler(args.user, password_file=Path(args.password_file),
                           directory=directory)
    relay = Relay(handler, args.host, args.starttls_port, args.tls_port,
                  directory / "cert.pem", directory / "key.pem")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    relay.start()
    print(f"relay: {args.host} starttls:{args.starttls_port} tls:{args.tls_port} "
          f"user {args.user}, mail into {directory / 'maildir'}", flush=True)
    while not stop.is_set():
        stop.wait(1)
    relay.stop()
    print(f"relay: stopped after {len(handler.messages)} mails", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cert = commands.add_parser("cert")
    cert.add_argument("dir")
    cert.add_argument("name")
    cert.add_argument("ip")
    run = commands.add_parser("serve")
    run.add_argument("--host", required=True)
    run.add_argument("--starttls-port", type=int, default=587)
    run.add_argument("--tls-port", type=int, default=465)
    run.add_argument("--dir", required=True)
    run.add_argument("--user", required=True)
    run.add_argument("--password-file", required=True)
    args = parser.parse_args()
    if args.command == "cert":
        make_certificates(Path(args.dir), args.name, args.ip)
    else:
        serve(args)


if __name__ == "__main__":
    main()
