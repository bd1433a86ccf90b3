# shellcheck shell=bash
# One local VPS (sourced by vps.sh and cluster.sh): its network namespace with a veth
# to the host, and its boot under systemd-nspawn (kept booted by boot-loop).
# Expects: here (local-vps/), key and ssh_opts (the operator's SSH), services_ip (where
# the surroundings listen: this VPS's host end, or another host address routed to it).

# Set the variables of the VPS NAME (machine name, hostname and netns name) on the
# link-local /30 NET.x (the host's eth0 is 192.0.2.0/24) whose state is in DIR.
use_vps() {
  name=$1 net=$2 vps_dir=$3
  rootfs=$vps_dir/rootfs
  host_ip=$net.1 # host end of the veth
  vps_ip=$net.2
  host_if=${name}0 # host end of the veth; the VPS end is eth0 inside
  # IPv6 beside it, in ULA prefixes named after the net's last two octets (169.254.77 ->
  # fe4d): the link's /64 (host ::1, VPS ::2), and a /48 of client addresses routed to the
  # host and local to it, so that a test can speak from many addresses of one /64 or from
  # many /64s (a socket binds one with IP_FREEBIND: no address is configured for it).
  net6=$(printf 'fd74:6463:%02x%02x' "$(cut -d. -f2 <<<"$net")" "$(cut -d. -f3 <<<"$net")")
  host_ip6=$net6::1
  vps_ip6=$net6::2
  clients6=${net6/fd74:6463:/fd74:6464:}::/48
  [ ${#host_if} -le 15 ] || die "the VPS name '$name' is too long for an interface name"
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
  # The surroundings on another host address (a cluster's, on its first VPS's link) are
  # reached through this link's host end; the VPS has no other route out.
  if [ "$services_ip" != "$host_ip" ]; then
    ip -n "$name" route replace "$services_ip/32" via "$host_ip" dev eth0
  fi
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

# --- the VPS itself: its processes are in $vps_dir/pids, their logs in $vps_dir/log ---

vps_ssh() {
  ssh -i "$key" "${ssh_opts[@]}" "root@$vps_ip" "$@"
}

# Start the boot loop unless it runs; do not wait for the boot (await_vps does).
boot_vps() {
  local pids=$vps_dir/pids logs=$vps_dir/log
  running_pid boot-loop >/dev/null && return 0
  # An nspawn whose loop died would clash with a second boot of the same rootfs.
  terminate nspawn 15
  rm -f "$vps_dir/stopping"
  spawn boot-loop "$here/boot-loop" "$rootfs" "$name" "$name" "$vps_dir"
}

# Wait until the VPS answers SSH and systemd has finished booting it.
await_vps() {
  local s
  wait_for 60 vps_ssh -o ConnectTimeout=2 true || die "SSH to $vps_ip did not answer; see $vps_dir/log/boot-loop.log"
  s=$(vps_ssh timeout 60 systemctl is-system-running --wait 2>/dev/null) || true
  case $s in
    running | degraded) log "$name up ($s)" ;;
    *) die "$name state '$s'; see $vps_dir/log/boot-loop.log" ;;
  esac
}

ensure_vps() {
  boot_vps
  await_vps
}

# Ask the VPS to power off, give it time, then end the loop and nspawn by pid.
stop_vps() {
  local pids=$vps_dir/pids i
  running_pid boot-loop >/dev/null || running_pid nspawn >/dev/null || return 0
  touch "$vps_dir/stopping"
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

# "vps boot-loop running ..." for the VPS's processes; false when any is stopped.
vps_process_status() {
  local pids=$vps_dir/pids
  status_rows "vps boot-loop" "vps nspawn"
}

# "vps ssh running" (or degraded, ...): what systemd in the VPS says, over SSH; false
# unless it runs.
vps_system_status() {
  local sys=unreachable
  if [ -s "$key" ]; then
    # is-system-running exits non-zero for "degraded" too: keep what it printed.
    sys=$(vps_ssh -o ConnectTimeout=2 systemctl is-system-running 2>/dev/null) || true
  fi
  printf '%-6s %-14s %s\n' vps ssh "${sys:-unreachable}"
  case $sys in running | degraded) ;; *) return 3 ;; esac
}
