"""A renewal as the timer runs it: certbot.service (what certbot.timer starts) renews the
certificate from the ACME server, the deploy hook reloads nginx, and the site serves
the new certificate without a failed request."""

import pytest
from ops import Traffic, role_defaults, served_serial

pytestmark = pytest.mark.disruptive

NAME = role_defaults("nginx")["nginx_server_name"]
RENEWAL = f"/etc/letsencrypt/renewal/{NAME}.conf"
LIVE_CERT = f"/etc/letsencrypt/live/{NAME}/cert.pem"


def live_serial(vps) -> str:
    return vps.run(f"openssl x509 -in {LIVE_CERT} -noout -serial").strip().split("=")[1]


def test_the_renewal_unit_renews_and_nginx_serves_the_new_certificate(site, vps, token):
    before = served_serial(vps)
    assert before == live_serial(vps)
    nginx_pid = vps.run("systemctl show -p MainPID --value nginx").strip()
    original = vps.run(f"cat {RENEWAL}")
    # Due now: every certificate is within a renew_before_expiry this long. The unit and
    # its command stay exactly what the timer starts.
    vps.run(f"sed -i '1i renew_before_expiry = 3650 days' {RENEWAL}")
    try:
        with Traffic(vps, token, max_seconds=120, max_reconnects=1) as traffic:  # one reload
            vps.run("systemctl start certbot.service", timeout=180)
            renewed = vps.run("systemctl show -p Result --value certbot.service").strip()
            # The hook reloaded nginx before certbot.service finished.
            after = served_serial(vps)
    finally:
        vps.run(f"cat > {RENEWAL} <<'EOF'\n{original}EOF")
    assert renewed == "success"
    assert after != before, "the site still serves the old certificate"
    assert after == live_serial(vps)
    hooks = vps.run("grep -c 'Running deploy-hook command: "
                    "/etc/letsencrypt/renewal-hooks/deploy/reload-nginx' "
                    "/var/log/letsencrypt/letsencrypt.log")
    assert int(hooks) >= 1, "the deploy hook never ran"
    # Reloaded, not restarted: the same master with new workers.
    assert vps.run("systemctl show -p MainPID --value nginx").strip() == nginx_pid
    traffic.assert_none_lost()
