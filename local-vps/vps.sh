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
# The parts live in lib/ (the surroundings, one VPS, its rootfs), which cluster.sh shares.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tdc-local-vps
log_tag=vps

# The contract the Ansible inventories (local, local-ubuntu) and roles rely on: change
# nothing here lightly. LOCAL_VPS_NAME / LOCAL_VPS_NET let a second checkout (CI, a
# multi-host test) run its own VPS beside this one; the defaults are the contract.
distro=${LOCAL_VPS_DISTRO:-debian}
case $distro in
  debian)
    state=$repo/.local-vps
    default_name=tdc-vps default_net=169.254.77
    ;;
  ubuntu)
    state=$repo/.local-vps-ubuntu
    default_name=tdc-noble default_net=169.254.76
    ;;
esac

# shellcheck source=local-vps/lib/procs.sh
. "$here/lib/procs.sh"
# shellcheck source=local-vps/lib/rootfs.sh
. "$here/lib/rootfs.sh"
# shellcheck source=local-vps/lib/machine.sh
. "$here/lib/machine.sh"
# shellcheck source=local-vps/lib/surroundings.sh
. "$here/lib/surroundings.sh"

# The one VPS: its state is the state dir itself.
use_vps "${LOCAL_VPS_NAME:-$default_name}" "${LOCAL_VPS_NET:-$default_net}" "$state"
# The surroundings listen on the host end of its veth and point the site's names at it.
services_ip=$host_ip
site_ip=$vps_ip
surroundings_name=$name

host_packages=(debootstrap systemd-container zstd iproute2 openssh-client gpg xz-utils "${surroundings_packages[@]}")
pids=$state/pids
logs=$state/log
key=$state/ssh/id_ed25519
ssh_opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes)

# --- subcommands ---

cmd_start() {
  local t0=$SECONDS
  [ "$(id -u)" -eq 0 ] || die "run as root"
  "$repo/scripts/apt-ensure" "${host_packages[@]}"
  resolve_mirrors
  mkdir -p "$state"
  ensure_ssh_key
  ensure_rootfs
  install_ssh_key
  ensure_network
  start_surroundings
  ensure_vps
  log "started in $((SECONDS - t0)) s"
  cmd_info
}

cmd_stop() {
  [ "$(id -u)" -eq 0 ] || die "run as root"
  if [ -d "$state" ]; then
    stop_vps
    stop_surroundings
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
  local rc=0
  vps_process_status || rc=3
  surroundings_status || rc=3
  vps_system_status || rc=3
  return $rc
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    start) with_lock "$name" cmd_start ;;
    stop) with_lock "$name" cmd_stop ;;
    ssh) cmd_ssh "$@" ;;
    info) cmd_info ;;
    status) cmd_status ;;
    # The relay alone, for the tests of an outage: stopped, its port refuses connections.
    relay-start) with_lock "$name" ensure_relay ;;
    relay-stop) with_lock "$name" terminate relay ;;
    # The backup storage alone, likewise.
    storage-start) with_lock "$name" ensure_storage ;;
    storage-stop) with_lock "$name" stop_storage ;;
    *)
      echo "usage: $0 start|stop|ssh [CMD...]|info|status|relay-start|relay-stop|storage-start|storage-stop" >&2
      exit 2
      ;;
  esac
}

main "$@"
