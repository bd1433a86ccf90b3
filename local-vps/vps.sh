#!/usr/bin/env bash
# A throwaway Debian 12 VPS (or Ubuntu 24.04 LTS, LOCAL_VPS_DISTRO=ubuntu) on this
# machine: systemd as PID 1 under systemd-nspawn in
# its own network namespace, plus what stands in for the internet around it (an apt
# proxy, an ACME CA, a DNS responder for that CA, the mail provider's relay). The
# Ansible playbooks provision it exactly as they provision the production VPS.
#
# usage: local-vps/vps.sh start|stop|ssh [CMD...]|info|status|relay-start|relay-stop|storage-start|storage-stop
# Everything needs root. State lives in .local-vps/ at the repo root (.local-vps-ubuntu/
# for Ubuntu, so that both can run at once); the rootfs tarballs are cached, one per
# distribution, in ${XDG_CACHE_HOME:-~/.cache}/tdc-local-vps/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tdc-local-vps

# The contract the Ansible inventories (local, local-ubuntu) and roles rely on: change
# nothing here lightly. LOCAL_VPS_NAME / LOCAL_VPS_NET let a second checkout (CI, a
# multi-host test) run its own VPS beside this one; the defaults are the contract.
distro=${LOCAL_VPS_DISTRO:-debian}
case $distro in
  debian)
    state=$repo/.local-vps
    default_name=tdc-vps default_net=169.254.77
    suite=bookworm
    ;;
  ubuntu)
    state=$repo/.local-vps-ubuntu
    default_name=tdc-noble default_net=169.254.76
    suite=noble
    # The host's sources are Debian's: Ubuntu's archives are named here.
    mirror=http://archive.ubuntu.com/ubuntu
    security_mirror=http://security.ubuntu.com/ubuntu
    ;;
  *)
    echo "vps: error: LOCAL_VPS_DISTRO is debian or ubuntu, not '$distro'" >&2
    exit 2
    ;;
esac
name=${LOCAL_VPS_NAME:-$default_name} # machine name, hostname and netns name
net=${LOCAL_VPS_NET:-$default_net}    # a link-local /30: the host's eth0 is 192.0.2.0/24
host_ip=$net.1                   # host end of the veth
vps_ip=$net.2
host_if=${name}0                 # host end of the veth; the VPS end is eth0 inside
# IPv6 beside it, in ULA prefixes named after the net's last two octets (169.254.77 ->
# fe4d): the link's /64 (host ::1, VPS ::2), and a /48 of client addresses routed to the
# host and local to it, so that a test can speak from many addresses of one /64 or from
# many /64s (a socket binds one with IP_FREEBIND: no address is configured for it).
net6=$(printf 'fd74:6463:%02x%02x' "$(cut -d. -f2 <<<"$net")" "$(cut -d. -f3 <<<"$net")")
host_ip6=$net6::1
vps_ip6=$net6::2
clients6=${net6/fd74:6463:/fd74:6464:}::/48
proxy_port=3142          # apt-cacher-ng
acme_port=14000          # pebble ACME API: https://$host_ip:$acme_port/dir
acme_mgmt_port=15000     # pebble management API (roots, intermediates)
dns_port=8053            # pebble-challtestsrv DNS, used by pebble's validation only
dns_mgmt_port=8055       # pebble-challtestsrv management API
site_names=(thedreamerscave.club www.thedreamerscave.club)
# The stand-in mail relay (local-vps/relay.py), as the local inventory names it:
# STARTTLS on 587, implicit TLS on 465, AUTH as relay_user with the password the
# inventory generates into .local-vps/secrets/app_smtp_password.
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

# Bump rootfs_rev when build_rootfs_tarball changes what goes into the tarball.
rootfs_rev=2
rootfs_packages=systemd,systemd-sysv,dbus,openssh-server,python3,python3-apt,sudo,iproute2,ca-certificates,curl,gnupg,procps,less,netbase
host_packages=(debootstrap systemd-container apt-cacher-ng pebble zstd iproute2 openssh-client curl openssl gpg xz-utils
  python3-aiosmtpd rclone restic)
# Ubuntu's archive signing key (Ubuntu Archive Automatic Signing Key (2018)), which signs
# noble and its -updates and -security. Debian ships no Ubuntu keyring: the key is taken
# from Ubuntu's ubuntu-keyring package and kept only if its fingerprint is this one.
ubuntu_archive_key=F6ECB3762474EDA9D21B7022871920D1991BC93C

rootfs=$state/rootfs
pids=$state/pids
logs=$state/log
key=$state/ssh/id_ed25519
ssh_opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes)

log() { echo "vps: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- process bookkeeping: every daemon we start is tracked by pid, never by name ---

# Print the recorded pid of NAME if that process still runs.
running_pid() {
  local f=$pids/$1 pid
  [ -s "$f" ] || return 1
  pid=$(<"$f")
  kill -0 "$pid" 2>/dev/null || return 1
  # A recycled pid would be a stranger: it must not be a zombie either.
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  echo "$pid"
}

# Start a detached daemon (own session, no stdin) logging to $logs/NAME.log; record its pid.
spawn() {
  local name=$1; shift
  mkdir -p "$pids" "$logs"
  # 9>&-: a daemon must not hold the start/stop lock.
  setsid "$@" </dev/null >>"$logs/$name.log" 2>&1 9>&- &
  echo $! >"$pids/$name"
}

# TERM the recorded pid of NAME, wait up to SECS (default 10), then KILL.
terminate() {
  local name=$1 secs=${2:-10} pid i
  pid=$(running_pid "$name") || { rm -f "$pids/$name"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    running_pid "$name" >/dev/null || break
    sleep 0.1
  done
  if running_pid "$name" >/dev/null; then
    log "$name ($pid) ignored TERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pids/$name"
}

# Wait until CMD... succeeds, up to SECS seconds.
wait_for() {
  local secs=$1 i; shift
  for ((i = 0; i < secs * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

# --- host packages and the mirror ---

ensure_host_packages() {
  "$repo/scripts/apt-ensure" "${host_packages[@]}"
}

# Print the URI the host's apt sources use for SUITE (e.g. bookworm, bookworm-security).
mirror_for() {
  local want=$1
  {
    # deb822 stanzas: print "URI SUITES..." per stanza of Types: deb.
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
      function flush() { if (deb && uri != "") print uri, suites; deb = 0; uri = ""; suites = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { $1 = ""; suites = $0 }
      END { flush() }'
    # one-line style: "deb [opts] URI SUITE COMPONENTS..."
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -E 's/\[[^]]*\]//' | awk '$1 == "deb" { print $2, $3 }'
  } | awk -v want="$want" '$1 ~ /^http:/ { for (i = 2; i <= NF; i++) if ($i == want) { sub("/*$", "", $1); print $1; exit } }'
}

# Resolve the main and security mirrors once; the security one falls back to main's host.
# Ubuntu's are set above.
resolve_mirrors() {
  [ "$distro" = debian ] || return 0
  mirror=$(mirror_for "$suite") || true
  [ -n "$mirror" ] || die "no http:// mirror for $suite in the host's apt sources"
  security_mirror=$(mirror_for "$suite-security") || true
  [ -n "$security_mirror" ] || security_mirror=${mirror%/debian}/debian-security
}

# The archive components the VPS uses: Ubuntu keeps part of what the roles install
# (certbot, chkrootkit, ...) in universe.
components() {
  case $distro in
    debian) echo main ;;
    ubuntu) echo main universe ;;
  esac
}

# --- the root filesystem ---

# Set ubuntu_keyring: a keyring of Ubuntu's archive key only, made once into the cache.
# The package that carries it comes unverified (nothing here trusts Ubuntu yet), so only
# the key with the pinned fingerprint is exported from it; that key then verifies the
# archive's Release files, which verify every package.
ensure_ubuntu_keyring() {
  local keyring=$cache/ubuntu-archive-$ubuntu_archive_key.gpg tmp deb
  ubuntu_keyring=$keyring
  if [ ! -s "$keyring" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/keyring.XXXXXX")
    deb=$(curl -fsS "$mirror/dists/$suite/main/binary-$(dpkg --print-architecture)/Packages.xz" | xz -dc |
      awk '$1 == "Package:" { p = ($2 == "ubuntu-keyring") } p && $1 == "Filename:" && !f { f = $2 } END { print f }')
    [ -n "$deb" ] || die "no ubuntu-keyring package in $mirror $suite"
    curl -fsS -o "$tmp/keyring.deb" "$mirror/$deb"
    dpkg-deb -x "$tmp/keyring.deb" "$tmp/pkg"
    mkdir -m 0700 "$tmp/gnupg"
    gpg -q --homedir "$tmp/gnupg" --no-default-keyring \
      --keyring "$tmp/pkg/usr/share/keyrings/ubuntu-archive-keyring.gpg" --export "$ubuntu_archive_key" >"$tmp/key.gpg"
    gpg -q --homedir "$tmp/gnupg" --with-colons --show-keys "$tmp/key.gpg" |
      awk -F: '$1 == "fpr" { print $10 }' | grep -qxF "$ubuntu_archive_key" ||
      { rm -rf "$tmp"; die "ubuntu-keyring ($deb) has no key $ubuntu_archive_key"; }
    mv "$tmp/key.gpg" "$keyring"
    rm -rf "$tmp"
  fi
}

# debootstrap's arguments beyond the common ones. Debian's debootstrap has no script
# named noble: every Ubuntu suite since gutsy uses gutsy's.
debootstrap_args() {
  case $distro in
    debian) echo "$suite" "$1" "$mirror" ;;
    ubuntu) echo "--keyring=$ubuntu_keyring" "--components=$(components | tr ' ' ,)" \
      "$suite" "$1" "$mirror" /usr/share/debootstrap/scripts/gutsy ;;
  esac
}

# The cache key: what debootstrap is asked for. A change of packages, suite, mirror or
# build recipe rebuilds.
rootfs_tarball() {
  local hash
  hash=$(printf '%s\n' "$rootfs_rev" "$suite" "$mirror" "$rootfs_packages" | sha256sum | cut -c1-16)
  echo "$cache/rootfs-$suite-$hash.tar.zst"
}

build_rootfs_tarball() {
  local tarball=$1 tmp
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  [ "$distro" = debian ] || ensure_ubuntu_keyring
  log "debootstrap $suite from $mirror (about a minute)"
  # shellcheck disable=SC2046 # words without spaces
  if ! debootstrap --variant=minbase --include="$rootfs_packages" $(debootstrap_args "$tmp/root") \
    >"$cache/debootstrap-$suite.log" 2>&1; then
    rm -rf --one-file-system "$tmp"
    die "debootstrap failed; see $cache/debootstrap-$suite.log"
  fi
  # Each VPS gets its own machine-id at first boot. The SSH host keys stay in the
  # tarball (one set per cache build): making an RSA key at every start costs seconds,
  # and clients of a throwaway VPS do not pin host keys anyway.
  : >"$tmp/root/etc/machine-id"
  chroot "$tmp/root" apt-get clean
  tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$tmp/root" -cf - . |
    zstd -q -T0 -3 -o "$tmp/rootfs.tar.zst"
  mv "$tmp/rootfs.tar.zst" "$tarball"
  rm -rf --one-file-system "$tmp"
  # Tarballs of an older recipe are never used again (the other distribution's stay).
  find "$cache" -maxdepth 1 -name "rootfs-$suite-*.tar.zst" ! -path "$tarball" -delete
  log "cached rootfs at $tarball"
}

# Unpack the cached rootfs only when this VPS has none: a second start keeps its disk.
# rootfs.ok names the suite unpacked (empty: bookworm, from before Ubuntu was one).
ensure_rootfs() {
  local tarball have
  if [ -e "$state/rootfs.ok" ]; then
    have=$(<"$state/rootfs.ok")
    [ "${have:-bookworm}" = "$suite" ] || die "$state holds a ${have:-bookworm} VPS, not $suite: stop it first"
    return 0
  fi
  tarball=$(rootfs_tarball)
  [ -s "$tarball" ] || build_rootfs_tarball "$tarball"
  rm -rf --one-file-system "$rootfs"
  mkdir -p "$rootfs"
  zstd -q -dc "$tarball" | tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$rootfs" -xpf -
  configure_rootfs
  echo "$suite" >"$state/rootfs.ok"
}

# What makes this rootfs a VPS of ours: name, apt through the proxy, root login by key.
configure_rootfs() {
  echo "$name" >"$rootfs/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    "$name" >"$rootfs/etc/hosts"
  # The same archives the host uses; the VPS reaches them only through the proxy.
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror $suite $(components)
deb $mirror $suite-updates $(components)
deb $security_mirror $suite-security $(components)
EOF
  # No DNS by design: an empty resolver list fails lookups at once instead of timing out.
  rm -f "$rootfs/etc/resolv.conf"
  printf '# %s has no DNS on purpose: apt goes through the proxy.\n' "$name" >"$rootfs/etc/resolv.conf"
  echo "Acquire::http::Proxy \"http://$host_ip:$proxy_port\";" >"$rootfs/etc/apt/apt.conf.d/01proxy"
  # Only fills in host keys that are missing (none, from a current tarball).
  ssh-keygen -q -A -f "$rootfs" >/dev/null
  install_ssh_key
}

ensure_ssh_key() {
  [ -s "$key" ] && return 0
  mkdir -p "$(dirname "$key")"
  ssh-keygen -q -t ed25519 -N '' -C "root@$name-operator" -f "$key"
}

install_ssh_key() {
  install -d -m 0700 "$rootfs/root/.ssh"
  install -m 0600 "$key.pub" "$rootfs/root/.ssh/authorized_keys"
}

# --- network: netns + veth, link-local /30 ---

ensure_network() {
  [ -e "/run/netns/$name" ] || ip netns add "$name"
  if ! ip link show "$host_if" >/dev/null 2>&1 || ! ip -n "$name" link show eth0 >/dev/null 2>&1; then
    # Clear a half-made pair from an interrupted start before recreating it.
    ip link del "$host_if" 2>/dev/null || true
    ip -n "$name" link del eth0 2>/dev/null || true
    ip link add "$host_if" type veth peer name "$name-p"
    ip link set "$name-p" netns "$name"
    ip -n "$name" link set "$name-p" name eth0
  fi
  ip addr replace "$host_ip/30" dev "$host_if"
  ip link set "$host_if" up
  ip -n "$name" addr replace "$vps_ip/30" dev eth0
  ip -n "$name" link set eth0 up
  ip -n "$name" link set lo up
  # nodad: usable at once, not after duplicate address detection (nothing else is on the
  # link). The client /48 is local to the host on its end of the veth (gone with it) and
  # routed there from the VPS.
  ip -6 addr replace "$host_ip6/64" dev "$host_if" nodad
  ip -n "$name" -6 addr replace "$vps_ip6/64" dev eth0 nodad
  ip -6 route replace local "$clients6" dev "$host_if"
  ip -n "$name" -6 route replace "$clients6" via "$host_ip6" dev eth0
}

remove_network() {
  ip link del "$host_if" 2>/dev/null || true
  if [ -e "/run/netns/$name" ]; then ip netns del "$name"; fi
}

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
  # The package cache outlives stop (like the rootfs tarball); one per VPS name.
  mkdir -p "$dir/log" "$cache/apt-cacher-ng-$name"
  cat >"$dir/acng.conf" <<EOF
# Written by local-vps/vps.sh: the VPS's apt proxy, pinned to the host's mirror.
CacheDir: $cache/apt-cacher-ng-$name
LogDir: $dir/log
SupportDir: /usr/lib/apt-cacher-ng
SocketPath: $dir/socket
PidFile: $dir/pid
BindAddress: $host_ip
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
  wait_for 10 curl -fsS -o /dev/null "http://$host_ip:$proxy_port/acng-report.html" ||
    die "apt-cacher-ng did not answer; see $logs/apt-cacher-ng.log"
}

# --- DNS for the CA: pebble-challtestsrv answers the site's names with the VPS ---

ensure_dns() {
  if ! running_pid challtestsrv >/dev/null; then
    # No default answers: only the names set below resolve; the challenge servers stay off.
    spawn challtestsrv pebble-challtestsrv -defaultIPv4 '' -defaultIPv6 '' \
      -dns01 "$host_ip:$dns_port" -management "$host_ip:$dns_mgmt_port" \
      -http01 '' -https01 '' -tlsalpn01 ''
  fi
  wait_for 10 curl -fsS -o /dev/null -X POST -d '{"host":"probe.invalid","addresses":["127.0.0.1"]}' \
    "http://$host_ip:$dns_mgmt_port/add-a" || die "challtestsrv did not answer; see $logs/challtestsrv.log"
  local n
  for n in "${site_names[@]}"; do
    curl -fsS -o /dev/null -X POST -d "{\"host\":\"$n\",\"addresses\":[\"$vps_ip\"]}" \
      "http://$host_ip:$dns_mgmt_port/add-a"
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
    -addext "subjectAltName=IP:$host_ip" \
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
    "listenAddress": "$host_ip:$acme_port",
    "managementListenAddress": "$host_ip:$acme_mgmt_port",
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
      pebble -config "$dir/config.json" -dnsserver "$host_ip:$dns_port"
  fi
  wait_for 15 curl -fsS -o /dev/null --cacert "$dir/api-ca.pem" "https://$host_ip:$acme_port/dir" ||
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
    pem=$(curl -fsS --cacert "$dir/api-ca.pem" "https://$host_ip:$acme_mgmt_port/$kind/0" | openssl x509)
    fp=$(openssl x509 -noout -fingerprint -sha256 <<<"$pem")
    pem_fingerprints "$file" | grep -qxF "$fp" || echo "$pem" >>"$file"
  done
}

# --- the mail provider's relay: TLS and AUTH required, mail kept in a Maildir ---

relay_listens() {
  (exec 3<>"/dev/tcp/$host_ip/$relay_port") 2>/dev/null
}

ensure_relay() {
  local dir=$state/relay
  running_pid relay >/dev/null && return 0
  # Debian's python3-aiosmtpd. Its CA (relay/ca.pem) goes to the VPS as SMTP_CA_FILE
  # (the local inventory); the mail it accepts goes to relay/maildir/.
  /usr/bin/python3 "$here/relay.py" cert "$dir" "$relay_name" "$host_ip" || die "no certificate for the relay"
  mkdir -p "$state/secrets"
  spawn relay /usr/bin/python3 -u "$here/relay.py" serve --host "$host_ip" --starttls-port "$relay_port" \
    --tls-port "$relay_tls_port" --dir "$dir" --user "$relay_user" \
    --password-file "$state/secrets/app_smtp_password"
  wait_for 10 relay_listens || die "the relay did not listen; see $logs/relay.log"
}

# --- the off-host backup storage: restic's REST protocol, append-only for the VPS ---

storage_listens() {
  (exec 3<>"/dev/tcp/$host_ip/$storage_port") 2>/dev/null && (exec 3<>"/dev/tcp/$host_ip/$storage_prune_port") 2>/dev/null
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
  /usr/bin/python3 "$here/relay.py" cert "$dir" storage.local-vps.test "$host_ip" || die "no certificate for the storage"
  mkdir -p "$dir/repo"
  ensure_secret backup_storage_password
  ensure_secret backup_prune_storage_password
  (umask 077
    echo "$storage_user:$(openssl passwd -apr1 "$(<"$state/secrets/backup_storage_password")")" >"$dir/htpasswd"
    echo "$storage_prune_user:$(openssl passwd -apr1 "$(<"$state/secrets/backup_prune_storage_password")")" >"$dir/htpasswd-prune")
  : >"$dir/rclone.conf"
  local common=(--config "$dir/rclone.conf" --cert "$dir/cert.pem" --key "$dir/key.pem")
  spawn storage rclone serve restic "${common[@]}" --addr "$host_ip:$storage_port" \
    --htpasswd "$dir/htpasswd" --append-only "$dir/repo"
  spawn storage-prune rclone serve restic "${common[@]}" --addr "$host_ip:$storage_prune_port" \
    --htpasswd "$dir/htpasswd-prune" "$dir/repo"
  wait_for 10 storage_listens || die "the backup storage did not listen; see $logs/storage.log"
}

stop_storage() {
  terminate storage
  terminate storage-prune
}

# --- the VPS itself ---

vps_ssh() {
  ssh -i "$key" "${ssh_opts[@]}" "root@$vps_ip" "$@"
}

ensure_vps() {
  if ! running_pid boot-loop >/dev/null; then
    # An nspawn whose loop died would clash with a second boot of the same rootfs.
    terminate nspawn 15
    rm -f "$state/stopping"
    spawn boot-loop "$here/boot-loop" "$rootfs" "$name" "$name" "$state"
  fi
  wait_for 60 vps_ssh -o ConnectTimeout=2 true || die "SSH to $vps_ip did not answer; see $logs/boot-loop.log"
  local s
  s=$(vps_ssh timeout 60 systemctl is-system-running --wait 2>/dev/null) || true
  case $s in
    running | degraded) log "VPS up ($s)" ;;
    *) die "VPS state '$s'; see $logs/boot-loop.log" ;;
  esac
}

# Ask the VPS to power off, give it time, then end the loop and nspawn by pid.
stop_vps() {
  local i
  running_pid boot-loop >/dev/null || running_pid nspawn >/dev/null || return 0
  touch "$state/stopping"
  # --no-block: a zero exit means the VPS took the order, so waiting for it is worth it.
  if vps_ssh -o ConnectTimeout=2 systemctl poweroff --no-block >/dev/null 2>&1; then
    for ((i = 0; i < 150; i++)); do
      running_pid boot-loop >/dev/null || running_pid nspawn >/dev/null || break
      sleep 0.1
    done
  fi
  # When poweroff did not work: TERM makes nspawn shut the VPS down in order.
  terminate boot-loop 15
  terminate nspawn 15
}

# --- subcommands ---

cmd_start() {
  local t0=$SECONDS
  [ "$(id -u)" -eq 0 ] || die "run as root"
  [ ${#host_if} -le 15 ] || die "LOCAL_VPS_NAME '$name' is too long for an interface name"
  ensure_host_packages
  resolve_mirrors
  mkdir -p "$state"
  ensure_ssh_key
  ensure_rootfs
  install_ssh_key
  ensure_network
  ensure_proxy
  ensure_dns
  ensure_pebble
  ensure_relay
  ensure_storage
  ensure_vps
  log "started in $((SECONDS - t0)) s"
  cmd_info
}

cmd_stop() {
  [ "$(id -u)" -eq 0 ] || die "run as root"
  if [ -d "$state" ]; then
    stop_vps
    terminate relay
    stop_storage
    terminate pebble
    terminate challtestsrv
    terminate apt-cacher-ng
  fi
  remove_network
  rm -rf "/run/systemd/nspawn/propagate/$name"
  # Nothing may stay mounted below the state dir before it is deleted.
  if findmnt -rn -o TARGET | grep -q "^$state/"; then
    die "something is still mounted under $state; not deleting it"
  fi
  rm -rf --one-file-system "$state"
  log "stopped"
}

cmd_ssh() {
  [ -s "$key" ] || die "no VPS: run start first"
  if [ $# -eq 0 ]; then
    # An interactive shell needs a terminal; BatchMode only stops password prompts.
    exec ssh -t -i "$key" "${ssh_opts[@]}" "root@$vps_ip"
  fi
  exec ssh -i "$key" "${ssh_opts[@]}" "root@$vps_ip" "$@"
}

cmd_info() {
  echo "VPS_ADDRESS=$vps_ip"
  echo "VPS_ADDRESS6=$vps_ip6"
  echo "VPS_CLIENTS6=$clients6"
  echo "VPS_CA_BUNDLE=$state/pebble/roots.pem"
  echo "VPS_SSH=ssh -i $key ${ssh_opts[*]} root@$vps_ip"
}

# Exit 0 when everything runs, 3 (as `systemctl status` does) when anything does not.
cmd_status() {
  local row what pid rc=0 sys
  for row in "vps boot-loop" "vps nspawn" "proxy apt-cacher-ng" "acme pebble" "dns challtestsrv" \
    "mail relay" "backup storage" "backup storage-prune"; do
    what=${row#* }
    if pid=$(running_pid "$what"); then
      printf '%-6s %-14s running  pid %s\n' "${row%% *}" "$what" "$pid"
    else
      printf '%-6s %-14s stopped\n' "${row%% *}" "$what"
      rc=3
    fi
  done
  sys=unreachable
  if [ -s "$key" ]; then
    # is-system-running exits non-zero for "degraded" too: keep what it printed.
    sys=$(vps_ssh -o ConnectTimeout=2 systemctl is-system-running 2>/dev/null) || true
  fi
  printf '%-6s %-14s %s\n' vps ssh "${sys:-unreachable}"
  case $sys in running | degraded) ;; *) rc=3 ;; esac
  return $rc
}

# start and stop change shared host state (netns, ports): one at a time.
with_lock() {
  exec 9>"/run/lock/$name.lock"
  flock 9
  "$@"
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    start) with_lock cmd_start ;;
    stop) with_lock cmd_stop ;;
    ssh) cmd_ssh "$@" ;;
    info) cmd_info ;;
    status) cmd_status ;;
    # The relay alone, for the tests of an outage: stopped, its port refuses connections.
    relay-start) with_lock ensure_relay ;;
    relay-stop) with_lock terminate relay ;;
    # The backup storage alone, likewise.
    storage-start) with_lock ensure_storage ;;
    storage-stop) with_lock stop_storage ;;
    *)
      echo "usage: $0 start|stop|ssh [CMD...]|info|status|relay-start|relay-stop|storage-start|storage-stop" >&2
      exit 2
      ;;
  esac
}

main "$@"
