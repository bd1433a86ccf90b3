# shellcheck shell=bash
# What stands in for the internet around the local VPSs (sourced by vps.sh and
# cluster.sh): an apt proxy, an ACME CA with a DNS responder for it, the mail
# provider's relay and the off-host backup storage. One set serves every VPS of a
# state dir; each listens on services_ip only.
# Expects: here, cache, state (pids and logs in $state/pids, $state/log), distro,
# mirror, security_mirror; services_ip; site_ip (where the site's names point: the
# VPS, or the cluster's edge); surroundings_name (names the apt proxy's cache).

# The contract the Ansible inventories (local, local-ubuntu, local-cluster) rely on.
proxy_port=3142          # apt-cacher-ng
acme_port=14000          # pebble ACME API: https://$services_ip:$acme_port/dir
acme_mgmt_port=15000     # pebble management API (roots, intermediates)
dns_port=8053            # pebble-challtestsrv DNS, used by pebble's validation only
dns_mgmt_port=8055       # pebble-challtestsrv management API
site_names=(thedreamerscave.club www.thedreamerscave.club)
# The stand-in mail relay (local-vps/relay.py), as the local inventory names it:
# STARTTLS on 587, implicit TLS on 465, AUTH as relay_user with the password the
# inventory generates into secrets/app_smtp_password.
relay_name=relay.local-vps.test
relay_port=587
relay_tls_port=465
relay_user=tdc-relay
# The stand-in off-host backup storage: two `rclone serve restic` over one directory
# (storage/repo), TLS by a CA of its own (storage/ca.pem, the local inventory's
# backup_storage_ca_certificate). The db host's user may only add (--append-only); the
# prune user, whom only the controller knows, may delete. Passwords in secrets/.
storage_port=8043
storage_prune_port=8044
storage_user=tdc-backup
storage_prune_user=tdc-prune
# Debian packages the surroundings run on.
surroundings_packages=(apt-cacher-ng pebble openssl curl python3-aiosmtpd rclone restic)

# --- apt proxy: apt-cacher-ng pinned to the host's mirror (or Ubuntu's archives) ---

# The proxy's remaps: each name the distribution's sources may use for its archive and
# its security archive, pinned to the one mirror the VPS uses.
proxy_remaps() {
  case $distro in
    debian)
      echo "Remap-secdeb: security.debian.org security.debian.org/debian-security deb.debian.org/debian-security /debian-security ${security_mirror#http://} ; $security_mirror/"
      echo "Remap-debrep: deb.debian.org/debian ftp.debian.org/debian /debian ${mirror#http://} ; $mirror/"
      ;;
    ubuntu)
      echo "Remap-secubu: ${security_mirror#http://} ; $security_mirror/"
      echo "Remap-uburep: ${mirror#http://} ; $mirror/"
      ;;
  esac
}

# Its stock config picks mirrors from its own list (503 here) and maps the security
# archive to another host first (hangs): a private config pins both to our mirror.
write_proxy_config() {
  local dir=$state/apt-cacher-ng
  # The package cache outlives stop (like the rootfs tarball); one per VPS (or cluster) name.
  mkdir -p "$dir/log" "$cache/apt-cacher-ng-$surroundings_name"
  cat >"$dir/acng.conf" <<EOF
# Written by local-vps/lib/surroundings.sh: the apt proxy of the local VPS(s), pinned to the mirror.
CacheDir: $cache/apt-cacher-ng-$surroundings_name
LogDir: $dir/log
SupportDir: /usr/lib/apt-cacher-ng
SocketPath: $dir/socket
PidFile: $dir/pid
BindAddress: $services_ip
Port: $proxy_port
ForeGround: 1
$(proxy_remaps)
ReportPage: acng-report.html
ExThreshold: 4
EOF
}

ensure_proxy() {
  running_pid apt-cacher-ng >/dev/null && return 0
  write_proxy_config
  spawn apt-cacher-ng apt-cacher-ng -c "$state/apt-cacher-ng"
  wait_for 10 curl -fsS -o /dev/null "http://$services_ip:$proxy_port/acng-report.html" ||
    die "apt-cacher-ng did not answer; see $logs/apt-cacher-ng.log"
}

# --- DNS for the CA: pebble-challtestsrv answers the site's names with site_ip ---

ensure_dns() {
  if ! running_pid challtestsrv >/dev/null; then
    # No default answers: only the names set below resolve; the challenge servers stay off.
    spawn challtestsrv pebble-challtestsrv -defaultIPv4 '' -defaultIPv6 '' \
      -dns01 "$services_ip:$dns_port" -management "$services_ip:$dns_mgmt_port" \
      -http01 '' -https01 '' -tlsalpn01 ''
  fi
  wait_for 10 curl -fsS -o /dev/null -X POST -d '{"host":"probe.invalid","addresses":["127.0.0.1"]}' \
    "http://$services_ip:$dns_mgmt_port/add-a" || die "challtestsrv did not answer; see $logs/challtestsrv.log"
  local n
  for n in "${site_names[@]}"; do
    curl -fsS -o /dev/null -X POST -d "{\"host\":\"$n\",\"addresses\":[\"$site_ip\"]}" \
      "http://$services_ip:$dns_mgmt_port/add-a"
  done
}

# --- ACME CA: pebble on the host side, like the real CA outside the VPS ---

# A self-signed cert for pebble's API; CA:TRUE so clients can use it as their CA file.
ensure_pebble_cert() {
  local dir=$state/pebble
  [ -s "$dir/api-ca.pem" ] && return 0
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=tdc-vps pebble API" \
    -addext "subjectAltName=IP:$services_ip" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyCertSign" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$dir/api-key.pem" -out "$dir/api-ca.pem" 2>/dev/null
  chmod 0600 "$dir/api-key.pem"
}

# Certificates for 90 days, as Let's Encrypt issues them (pebble's default of five years
# fails Mozilla's 366-day limit that sslyze checks).
write_pebble_config() {
  local dir=$state/pebble
  cat >"$dir/config.json" <<EOF
{
  "pebble": {
    "listenAddress": "$services_ip:$acme_port",
    "managementListenAddress": "$services_ip:$acme_mgmt_port",
    "certificate": "$dir/api-ca.pem",
    "privateKey": "$dir/api-key.pem",
    "httpPort": 80,
    "tlsPort": 443,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false,
    "certificateValidityPeriod": 7776000
  }
}
EOF
}

ensure_pebble() {
  local dir=$state/pebble
  ensure_pebble_cert
  if ! running_pid pebble >/dev/null; then
    write_pebble_config
    # No sleep before validations; no deliberately rejected nonces (certbot would fail).
    spawn pebble env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
      pebble -config "$dir/config.json" -dnsserver "$services_ip:$dns_port"
  fi
  wait_for 15 curl -fsS -o /dev/null --cacert "$dir/api-ca.pem" "https://$services_ip:$acme_port/dir" ||
    die "pebble did not answer; see $logs/pebble.log"
  save_pebble_roots
}

# Fingerprints of every certificate in a PEM file, one a line.
pem_fingerprints() {
  local file=$1 tmp f
  [ -s "$file" ] || return 0
  tmp=$(mktemp -d)
  awk -v d="$tmp" '/-BEGIN CERTIFICATE-/ { n++ } n { print > (d "/" n ".pem") }' "$file"
  for f in "$tmp"/*.pem; do
    [ -e "$f" ] && openssl x509 -noout -fingerprint -sha256 -in "$f"
  done
  rm -rf "$tmp"
}

# Append pebble's current root (and intermediate) to files that only grow: pebble makes a
# new CA at every start, and certificates from an earlier run must still verify.
save_pebble_roots() {
  local dir=$state/pebble kind file pem fp
  for kind in roots intermediates; do
    file=$dir/$kind.pem
    touch "$file"
    pem=$(curl -fsS --cacert "$dir/api-ca.pem" "https://$services_ip:$acme_mgmt_port/$kind/0" | openssl x509)
    fp=$(openssl x509 -noout -fingerprint -sha256 <<<"$pem")
    pem_fingerprints "$file" | grep -qxF "$fp" || echo "$pem" >>"$file"
  done
}

# --- the mail provider's relay: TLS and AUTH required, mail kept in a Maildir ---

relay_listens() {
  (exec 3<>"/dev/tcp/$services_ip/$relay_port") 2>/dev/null
}

ensure_relay() {
  local dir=$state/relay
  running_pid relay >/dev/null && return 0
  # Debian's python3-aiosmtpd. Its CA (relay/ca.pem) goes to the VPS as SMTP_CA_FILE
  # (the local inventory); the mail it accepts goes to relay/maildir/.
  /usr/bin/python3 "$here/relay.py" cert "$dir" "$relay_name" "$services_ip" || die "no certificate for the relay"
  mkdir -p "$state/secrets"
  spawn relay /usr/bin/python3 -u "$here/relay.py" serve --host "$services_ip" --starttls-port "$relay_port" \
    --tls-port "$relay_tls_port" --dir "$dir" --user "$relay_user" \
    --password-file "$state/secrets/app_smtp_password"
  wait_for 10 relay_listens || die "the relay did not listen; see $logs/relay.log"
}

# --- the off-host backup storage: restic's REST protocol, append-only for the VPS ---

storage_listens() {
  (exec 3<>"/dev/tcp/$services_ip/$storage_port") 2>/dev/null && (exec 3<>"/dev/tcp/$services_ip/$storage_prune_port") 2>/dev/null
}

# A password in secrets/NAME, made once (the local inventory reads the same file).
ensure_secret() {
  local file=$state/secrets/$1
  mkdir -p "$state/secrets"
  [ -s "$file" ] || (umask 077 && openssl rand -hex 16 >"$file")
}

ensure_storage() {
  local dir=$state/storage
  running_pid storage >/dev/null && running_pid storage-prune >/dev/null && return 0
  terminate storage
  terminate storage-prune
  /usr/bin/python3 "$here/relay.py" cert "$dir" storage.local-vps.test "$services_ip" || die "no certificate for the storage"
  mkdir -p "$dir/repo"
  ensure_secret backup_storage_password
  ensure_secret backup_prune_storage_password
  (umask 077
    echo "$storage_user:$(openssl passwd -apr1 "$(<"$state/secrets/backup_storage_password")")" >"$dir/htpasswd"
    echo "$storage_prune_user:$(openssl passwd -apr1 "$(<"$state/secrets/backup_prune_storage_password")")" >"$dir/htpasswd-prune")
  : >"$dir/rclone.conf"
  local common=(--config "$dir/rclone.conf" --cert "$dir/cert.pem" --key "$dir/key.pem")
  spawn storage rclone serve restic "${common[@]}" --addr "$services_ip:$storage_port" \
    --htpasswd "$dir/htpasswd" --append-only "$dir/repo"
  spawn storage-prune rclone serve restic "${common[@]}" --addr "$services_ip:$storage_prune_port" \
    --htpasswd "$dir/htpasswd-prune" "$dir/repo"
  wait_for 10 storage_listens || die "the backup storage did not listen; see $logs/storage.log"
}

stop_storage() {
  terminate storage
  terminate storage-prune
}


# --- all of them ---

start_surroundings() {
  ensure_proxy
  ensure_dns
  ensure_pebble
  ensure_relay
  ensure_storage
}

stop_surroundings() {
  terminate relay
  stop_storage
  terminate pebble
  terminate challtestsrv
  terminate apt-cacher-ng
}

# "proxy apt-cacher-ng running ..." and so on; false when any is stopped.
surroundings_status() {
  status_rows "proxy apt-cacher-ng" "acme pebble" "dns challtestsrv" \
    "mail relay" "backup storage" "backup storage-prune"
}
