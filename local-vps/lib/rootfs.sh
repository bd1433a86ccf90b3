# shellcheck shell=bash
# The root filesystem of a local VPS (sourced by vps.sh and cluster.sh): debootstrap of
# Debian 12 or Ubuntu 24.04 LTS once into a cached tarball, unpacked for each VPS and
# made one of ours (name, apt through the proxy, root login by key).
# Expects: cache, distro (debian|ubuntu) and, per VPS (use_vps), name, vps_dir, rootfs;
# services_ip and proxy_port (the apt proxy); key (the operator's SSH key).

# Bump rootfs_rev when build_rootfs_tarball changes what goes into the tarball.
rootfs_rev=2
rootfs_packages=systemd,systemd-sysv,dbus,openssh-server,python3,python3-apt,sudo,iproute2,ca-certificates,curl,gnupg,procps,less,netbase
# Ubuntu's archive signing key (Ubuntu Archive Automatic Signing Key (2018)), which signs
# noble and its -updates and -security. Debian ships no Ubuntu keyring: the key is taken
# from Ubuntu's ubuntu-keyring package and kept only if its fingerprint is this one.
ubuntu_archive_key=F6ECB3762474EDA9D21B7022871920D1991BC93C

# The suite of $distro; Ubuntu's archives are named here (the host's sources are Debian's).
case $distro in
  debian) suite=bookworm ;;
  ubuntu)
    suite=noble
    mirror=http://archive.ubuntu.com/ubuntu
    security_mirror=http://security.ubuntu.com/ubuntu
    ;;
  *)
    echo "$log_tag: error: LOCAL_VPS_DISTRO is debian or ubuntu, not '$distro'" >&2
    exit 2
    ;;
esac

# --- the mirror ---

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
  if [ -e "$vps_dir/rootfs.ok" ]; then
    have=$(<"$vps_dir/rootfs.ok")
    [ "${have:-bookworm}" = "$suite" ] || die "$vps_dir holds a ${have:-bookworm} VPS, not $suite: stop it first"
    return 0
  fi
  tarball=$(rootfs_tarball)
  [ -s "$tarball" ] || build_rootfs_tarball "$tarball"
  rm -rf --one-file-system "$rootfs"
  mkdir -p "$rootfs"
  zstd -q -dc "$tarball" | tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$rootfs" -xpf -
  configure_rootfs
  echo "$suite" >"$vps_dir/rootfs.ok"
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
  echo "Acquire::http::Proxy \"http://$services_ip:$proxy_port\";" >"$rootfs/etc/apt/apt.conf.d/01proxy"
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

