#!/usr/bin/env bash
# Stops what start.sh started: the producer first (it flushes), then the trackers, then the
# broker start.sh started. Run ./stop.sh --help for the details.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./stop.sh [--help]

Stops what ./start.sh started, from the PID files in RUN_DIR/pids:
  1. SIGTERM to the producer, which flushes the records in flight, and waits for it;
  2. SIGTERM to the trackers, which finish their messages, commit and write a stopped entry;
  3. SIGKILL for whatever still runs when STOP_TIMEOUT seconds have passed since step 1;
  4. stops the broker start.sh started (docker compose down, or scripts/broker.sh stop);
     an external cluster (KAFKA_BROKER) is left alone;
  5. removes the PID files.
Only PIDs from its own PID files are signalled, and only while they still run the expected
binary (a recycled PID is never signalled). Running it when nothing runs is fine.

Environment:
  RUN_DIR=run        the folder start.sh used
  STOP_TIMEOUT=15    seconds before SIGKILL
  KEEP_BROKER=1      leave the broker running
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) echo "stop.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run_dir=$(absolute "${RUN_DIR:-$root/run}")
pid_dir=$run_dir/pids
broker_file=$run_dir/broker
stop_timeout=${STOP_TIMEOUT:-15}
case "$stop_timeout" in
  '' | *[!0-9]*) echo "stop.sh: STOP_TIMEOUT=$stop_timeout is not a whole number of seconds" >&2; exit 2 ;;
esac
cd "$root"

cmdline() {
  if [ -r "/proc/$1/cmdline" ]; then tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true
  else ps -p "$1" -o args= 2>/dev/null || true; fi
}
# Whether $1 is alive and runs the binary named $2. A zombie has an empty command line, so it
# counts as gone.
runs() {
  local args
  kill -0 "$1" 2>/dev/null || return 1
  args=$(cmdline "$1")
  args=${args%% *}
  [ "${args##*/}" = "$2" ]
}

shopt -s nullglob
pid_files=("$pid_dir"/*.pid)
if [ ${#pid_files[@]} -eq 0 ] && [ ! -f "$broker_file" ]; then
  echo "Nothing to stop: no PID files in $pid_dir and no broker recorded."
  exit 0
fi

# name -> pid of what really runs; stale PID files are reported and removed.
names=()
pids=()
for pid_file in "$pid_dir"/producer.pid "${pid_files[@]}"; do
  [ -f "$pid_file" ] || continue
  name=$(basename "$pid_file" .pid)
  case " ${names[*]:-} " in *" $name "*) continue ;; esac
  binary=tracker
  [ "$name" = producer ] && binary=producer
  pid=$(cat "$pid_file" 2>/dev/null || true)
  if [[ "$pid" =~ ^[0-9]+$ ]] && runs "$pid" "$binary"; then
    names+=("$name")
    pids+=("$pid")
  else
    echo "$name: not running (stale PID file removed)"
    rm -f "$pid_file"
  fi
done

# Milliseconds since the epoch (bash 5), or whole seconds scaled on an older bash.
now_ms() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    local micros=${EPOCHREALTIME//[!0-9]/}
    echo $((10#$micros / 1000))
  else
    echo $(($(date +%s) * 1000))
  fi
}
deadline=$(($(now_ms) + stop_timeout * 1000))
declare -A status=()
# Waits until every listed index has exited or the deadline passes.
wait_for() {
  local index pending
  while :; do
    pending=0
    for index in "$@"; do
      if [ -z "${status[$index]:-}" ]; then
        if runs "${pids[$index]}" "$(binary_of "$index")"; then
          pending=1
        else
          status[$index]="stopped cleanly"
        fi
      fi
    done
    if [ $pending -eq 0 ] || [ "$(now_ms)" -ge $deadline ]; then return 0; fi
    sleep 0.1
  done
}
binary_of() { if [ "${names[$1]}" = producer ]; then echo producer; else echo tracker; fi; }

producer_indexes=()
tracker_indexes=()
for index in "${!names[@]}"; do
  if [ "${names[$index]}" = producer ]; then producer_indexes+=("$index"); else tracker_indexes+=("$index"); fi
done

for group in producer tracker; do
  if [ $group = producer ]; then indexes=("${producer_indexes[@]}"); else indexes=("${tracker_indexes[@]}"); fi
  [ ${#indexes[@]} -gt 0 ] || continue
  for index in "${indexes[@]}"; do
    # Checked again right before the signal: only a PID that still runs our binary gets one.
    if runs "${pids[$index]}" "$(binary_of "$index")"; then
      kill -TERM "${pids[$index]}" 2>/dev/null || true
    fi
  done
  wait_for "${indexes[@]}"
done

for index in "${!names[@]}"; do
  if [ -z "${status[$index]:-}" ]; then
    if runs "${pids[$index]}" "$(binary_of "$index")"; then
      kill -KILL "${pids[$index]}" 2>/dev/null || true
      status[$index]="killed after $stop_timeout s"
    else
      status[$index]="stopped cleanly"
    fi
  fi
  printf '%s (pid %s): %s\n' "${names[$index]}" "${pids[$index]}" "${status[$index]}"
  rm -f "$pid_dir/${names[$index]}.pid"
done

# SIGKILLed processes vanish at once, but be sure before the broker goes away under them.
for index in "${!names[@]}"; do
  for _ in $(seq 50); do runs "${pids[$index]}" "$(binary_of "$index")" || break; sleep 0.1; done
done

if [ -f "$broker_file" ]; then
  recorded=$(cat "$broker_file")
  if [ -n "${KEEP_BROKER:-}" ] && [ "${KEEP_BROKER}" != 0 ]; then
    echo "broker: left running ($recorded; KEEP_BROKER is set)"
  else
    case "$recorded" in
      local\ *)
        port=${recorded#local }
        if BROKER_PORT=$port scripts/broker.sh stop >/dev/null; then
          echo "broker: local Tansu on port $port stopped"
        else
          echo "stop.sh: could not stop the local broker on port $port (scripts/broker.sh status)" >&2
          exit 1
        fi
        ;;
      compose)
        if docker compose down; then
          echo "broker: docker compose down done"
        else
          echo "stop.sh: docker compose down failed" >&2
          exit 1
        fi
        ;;
      *) echo "broker: ${recorded#external } is an external cluster; left running" ;;
    esac
    rm -f "$broker_file"
  fi
fi
