# shellcheck shell=bash
# Messages and process bookkeeping of the local VPSs (sourced by vps.sh and cluster.sh).
# Every daemon started is tracked by pid, never by name: its pid file is $pids/NAME and
# its log $logs/NAME.log, whatever $pids and $logs are where the function is called (a
# function may make them `local` to keep one VPS's processes apart).

log() { echo "$log_tag: $*" >&2; }
die() { log "error: $*"; exit 1; }

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

# Print "name what running pid N" or "... stopped" for each "name what" ROW; false when
# any is stopped.
status_rows() {
  local row what pid rc=0
  for row in "$@"; do
    what=${row#* }
    if pid=$(running_pid "$what"); then
      printf '%-6s %-14s running  pid %s\n' "${row%% *}" "$what" "$pid"
    else
      printf '%-6s %-14s stopped\n' "${row%% *}" "$what"
      rc=3
    fi
  done
  return $rc
}

# start and stop change shared host state (netns, ports): one at a time per LOCK name.
with_lock() {
  local lock=$1; shift
  exec 9>"/run/lock/$lock.lock"
  flock 9
  "$@"
}
