#!/usr/bin/env bash
# The local cluster: several throwaway Debian 12 VPSs on this machine, as vps.sh boots
# one (systemd under systemd-nspawn, each in its own network namespace with a /30 to the
# host), joined by one private network (a bridge in a namespace of its own, a veth
# "eth1" from each VPS), with one set of surroundings for all (apt proxy, ACME CA and its
# DNS, mail relay, backup storage) on the host end of the edge's /30, routed from every
# VPS's own link. Only the edge's address is the site's (the public one).
#
# The hosts are those of ansible/inventories/local-cluster/hosts.yml (cluster_hosts.py
# reads it): a host's local_vps_net is its /30, its private_address its address on the
# private network (169.254.80.0/24).
#
# usage: local-vps/cluster.sh start|stop|info|status|ssh HOST [CMD...]
# Everything needs root. State lives in .local-cluster/ at the repo root (one SSH key,
# the surroundings, hosts/NAME/ per VPS); the rootfs tarball is vps.sh's cached one.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tdc-local-vps
log_tag=cluster
distro=debian
state=$repo/.local-cluster
inventory=$repo/ansible/inventories/local-cluster/hosts.yml

# shellcheck source=local-vps/lib/procs.sh
. "$here/lib/procs.sh"
# shellcheck source=local-vps/lib/rootfs.sh
. "$here/lib/rootfs.sh"
# shellcheck source=local-vps/lib/machine.sh
. "$here/lib/machine.sh"
# shellcheck source=local-vps/lib/surroundings.sh
. "$here/lib/surroundings.sh"

cluster_name=tdc-cluster # the lock's, the apt proxy cache's and the SSH key's name
private_ns=tdc-cl-net    # the network namespace of the private network's bridge
private_bridge=br0
private_prefix=24
surroundings_name=$cluster_name
host_packages=(debootstrap systemd-container zstd iproute2 openssh-client gpg xz-utils python3-yaml
  "${surroundings_packages[@]}")
pids=$state/pids
logs=$state/log
key=$state/ssh/id_ed25519
ssh_opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes)

# --- the hosts ---

# The rows "NAME NET PRIVATE_ADDRESS GROUPS" of the cluster, the edge first: those a
# start recorded (so that stop removes what it booted), else the inventory's.
hosts=()
load_hosts() {
  local rows
  if [ -s "$state/booted-hosts" ]; then
    rows=$(<"$state/booted-hosts")
  else
    rows=$("$here/cluster_hosts.py" "$inventory") || die "cannot read the hosts of $inventory"
  fi
  mapfile -t hosts <<<"$rows"
  # The surroundings listen on the edge's host end; the site's names point at the edge.
  local edge_net
  read -r _ edge_net _ <<<"${hosts[0]}"
  services_ip=$edge_net.1
  site_ip=$edge_net.2
}

# Set the variables of the host of ROW (use_vps's, private_address, groups).
use_host() {
  local host net
  read -r host net private_address groups <<<"$1"
  use_vps "$host" "$net" "$state/hosts/$host"
}

# Run CMD... once per host, with that host's variables set.
each_host() {
  local row
  for row in "${hosts[@]}"; do
    use_host "$row"
    "$@"
  done
}

# --- the private network: one bridge in its own namespace, eth1 of each VPS on it ---

ensure_private_bridge() {
  [ -e "/run/netns/$private_ns" ] || ip netns add "$private_ns"
  ip -n "$private_ns" link show "$private_bridge" >/dev/null 2>&1 ||
    ip -n "$private_ns" link add "$private_bridge" type bridge
  ip -n "$private_ns" link set "$private_bridge" up
}

# eth1 of this VPS, its private_address on it; the bridge's end is named after the VPS.
attach_private_network() {
  if ! ip -n "$name" link show eth1 >/dev/null 2>&1; then
    # Clear the bridge's end of a half-made pair before recreating it.
    ip -n "$private_ns" link del "$name" 2>/dev/null || true
    ip link add eth1 netns "$name" type veth peer name "$name" netns "$private_ns"
  fi
  ip -n "$private_ns" link set "$name" master "$private_bridge" up
  ip -n "$name" addr replace "$private_address/$private_prefix" dev eth1
  ip -n "$name" link set eth1 up
}

# Prepare the disk and the links of this VPS (booted later, all at once).
prepare_host() {
  mkdir -p "$vps_dir"
  ensure_rootfs
  install_ssh_key
  ensure_network
  attach_private_network
}

remove_host_network() {
  remove_network
  rm -rf "/run/systemd/nspawn/propagate/$name"
}

# --- subcommands ---

cmd_start() {
  local t0=$SECONDS
  [ "$(id -u)" -eq 0 ] || die "run as root"
  "$repo/scripts/apt-ensure" "${host_packages[@]}"
  resolve_mirrors
  rm -f "$state/booted-hosts" # a start reads the inventory afresh
  load_hosts
  mkdir -p "$state"
  printf '%s\n' "${hosts[@]}" >"$state/booted-hosts"
  name=$cluster_name ensure_ssh_key
  ensure_private_bridge
  each_host prepare_host
  start_surroundings
  each_host boot_vps
  each_host await_vps
  log "started ${#hosts[@]} hosts in $((SECONDS - t0)) s"
  cmd_info
}

cmd_stop() {
  [ "$(id -u)" -eq 0 ] || die "run as root"
  load_hosts
  if [ -d "$state" ]; then
    each_host stop_vps
    stop_surroundings
  fi
  each_host remove_host_network
  if [ -e "/run/netns/$private_ns" ]; then ip netns del "$private_ns"; fi
  # Nothing may stay mounted below the state dir before it is deleted.
  if findmnt -rn -o TARGET | grep -q "^$state/"; then
    die "something is still mounted under $state; not deleting it"
  fi
  rm -rf --one-file-system "$state"
  log "stopped"
}

host_info() {
  echo "CLUSTER_HOST=$name $vps_ip $groups ssh -i $key ${ssh_opts[*]} root@$vps_ip"
  echo "CLUSTER_PRIVATE=$name $private_address"
}

# CLUSTER_HOST=<name> <management address> <groups> <ssh command prefix>, one per host;
# CLUSTER_PRIVATE=<name> <private address> beside each.
cmd_info() {
  load_hosts
  echo "CLUSTER_CA_BUNDLE=$state/pebble/roots.pem"
  echo "CLUSTER_EDGE=$site_ip"
  each_host host_info
}

host_status() {
  echo "$name ($vps_ip, $private_address, $groups)"
  vps_process_status || status=3
  vps_system_status || status=3
}

# Exit 0 when everything runs, 3 (as `systemctl status` does) when anything does not.
cmd_status() {
  local status=0
  load_hosts
  each_host host_status
  echo "surroundings ($services_ip)"
  surroundings_status || status=3
  if [ -e "/run/netns/$private_ns" ]; then
    printf '%-6s %-14s present\n' net "$private_ns"
  else
    printf '%-6s %-14s missing\n' net "$private_ns"
    status=3
  fi
  return $status
}

cmd_ssh() {
  local want=${1:-} row found='' tty=()
  [ -n "$want" ] || die "usage: $0 ssh HOST [CMD...]"
  shift
  [ -s "$key" ] || die "no cluster: run start first"
  load_hosts
  for row in "${hosts[@]}"; do
    if [ "${row%% *}" = "$want" ]; then found=$row; fi
  done
  [ -n "$found" ] || die "no host $want in the cluster"
  use_host "$found"
  # An interactive shell needs a terminal; BatchMode only stops password prompts.
  [ $# -gt 0 ] || tty=(-t)
  exec ssh "${tty[@]}" -i "$key" "${ssh_opts[@]}" "root@$vps_ip" "$@"
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    start) with_lock "$cluster_name" cmd_start ;;
    stop) with_lock "$cluster_name" cmd_stop ;;
    info) cmd_info ;;
    status) cmd_status ;;
    ssh) cmd_ssh "$@" ;;
    *)
      echo "usage: $0 start|stop|info|status|ssh HOST [CMD...]" >&2
      exit 2
      ;;
  esac
}

main "$@"
