#!/usr/bin/env bash
# Stops what start.sh started: the producer first (it flushes), then the trackers, then the
# broker start.sh started. Run ./stop.sh --help for the details.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./stop.sh [--purge] [--help]

Stops what ./start.sh started, from the PID files in RUN_DIR/pids:
  1. SIGTERM to the producer, which flushes the records in flight, and waits for it;
  2. SIGTERM to the trackers, which finish their messages, commit and write a stopped entry;
  3. SIGKILL for whatever still runs when STOP_TIMEOUT seconds have passed since step 1;
  4. stops the broker start.sh started (the local Apache Kafka with a controlled shutdown, the
     local Tansu, or docker compose down); an external cluster (KAFKA_BROKER) is left alone;
  5. removes the PID files.
The local Apache Kafka's stored data stays for the next ./start.sh (Tansu keeps nothing).

  --purge   then delete the stored data as well: the local Apache Kafka's records, topics,
            committed offsets and cluster id (scripts/kafka.sh purge, for BROKER_PORT when no
            broker is recorded), or the Compose volumes (docker compose down --volumes). The
            tracker files in RUN_DIR/logs stay.
Only PIDs from its own PID files are signalled, and only while they still run the expected
binary and started at the time recorded (a recycled PID is never signalled). One start.sh or
stop.sh at a time on a RUN_DIR (a lock). Running it when nothing runs is fine.

Environment:
  RUN_DIR=run        the folder start.sh used
  STOP_TIMEOUT=15    seconds before SIGKILL
  KEEP_BROKER=1      leave the broker running
EOF
}

purge=0
for argument in "$@"; do
  case "$argument" in
    -h | --help) usage; exit 0 ;;
    --purge) purge=1 ;;
    *) echo "stop.sh: unknown argument: $argument" >&2; usage >&2; exit 2 ;;
  esac
done

die() { printf 'stop.sh: %s\n' "$*" >&2; exit 1; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
run_dir=$(absolute "${RUN_DIR:-$root/run}")
pid_dir=$run_dir/pids
broker_file=$run_dir/broker
stop_timeout=${STOP_TIMEOUT:-15}
case "$stop_timeout" in
  '' | *[!0-9]*) echo "stop.sh: STOP_TIMEOUT=$stop_timeout is not a whole number of seconds" >&2; exit 2 ;;
esac
cd "$root"
if [ -d "$run_dir" ]; then lock_run_dir "$run_dir"; fi

# Deletes the local Apache Kafka's stored data on port $1 (--purge).
purge_local() {
  KAFKA_PORT=$1 scripts/kafka.sh purge || { echo "stop.sh: could not delete the stored data" >&2; exit 1; }
}

shopt -s nullglob
pid_files=("$pid_dir"/*.pid)
if [ ${#pid_files[@]} -eq 0 ] && [ ! -f "$broker_file" ]; then
  echo "Nothing to stop: no PID files in $pid_dir and no broker recorded."
  if [ $purge -eq 1 ]; then purge_local "${BROKER_PORT:-9092}"; fi
  exit 0
fi

# name -> pid of what really runs; stale PID files are reported and removed.
names=()
pids=()
starts=()
for pid_file in "$pid_dir"/producer.pid "${pid_files[@]}"; do
  [ -f "$pid_file" ] || continue
  name=$(basename "$pid_file" .pid)
  case " ${names[*]:-} " in *" $name "*) continue ;; esac
  binary=tracker
  [ "$name" = producer ] && binary=producer
  if read_pid_file "$pid_file" && runs "$pid_value" "$binary" "$pid_started"; then
    names+=("$name")
    pids+=("$pid_value")
    starts+=("$pid_started")
  else
    echo "$name: not running (stale PID file removed)"
    forget_pid "$pid_file"
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
        if runs "${pids[$index]}" "$(binary_of "$index")" "${starts[$index]}"; then
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
    if runs "${pids[$index]}" "$(binary_of "$index")" "${starts[$index]}"; then
      kill -TERM "${pids[$index]}" 2>/dev/null || true
    fi
  done
  wait_for "${indexes[@]}"
done

for index in "${!names[@]}"; do
  if [ -z "${status[$index]:-}" ]; then
    if runs "${pids[$index]}" "$(binary_of "$index")" "${starts[$index]}"; then
      kill -KILL "${pids[$index]}" 2>/dev/null || true
      status[$index]="killed after $stop_timeout s"
    else
      status[$index]="stopped cleanly"
    fi
  fi
  printf '%s (pid %s): %s\n' "${names[$index]}" "${pids[$index]}" "${status[$index]}"
  forget_pid "$pid_dir/${names[$index]}.pid"
done

# SIGKILLed processes vanish at once, but be sure before the broker goes away under them.
for index in "${!names[@]}"; do
  for _ in $(seq 50); do runs "${pids[$index]}" "$(binary_of "$index")" "${starts[$index]}" || break; sleep 0.1; done
done

if [ -f "$broker_file" ]; then
  recorded=$(cat "$broker_file")
  read_broker_record "$broker_file"
  if [ -n "${KEEP_BROKER:-}" ] && [ "${KEEP_BROKER}" != 0 ]; then
    echo "broker: left running ($recorded; KEEP_BROKER is set)"
    [ $purge -eq 0 ] || echo "stop.sh: --purge ignored: the broker still runs (KEEP_BROKER)" >&2
  else
    case "$record_mode" in
      kafka)
        if KAFKA_PORT=$record_port KAFKA_NODES=$record_nodes scripts/kafka.sh stop | sed 's/^/broker: /'; then
          [ $purge -eq 1 ] || echo "broker: data kept in $(show "$root/.tools/kafka-data/$record_port") (./stop.sh --purge deletes it)"
        else
          echo "stop.sh: could not stop Apache Kafka on port $record_port (scripts/kafka.sh status)" >&2
          exit 1
        fi
        if [ $purge -eq 1 ]; then KAFKA_NODES=$record_nodes purge_local "$record_port"; fi
        ;;
      tansu)
        if BROKER_PORT=$record_port scripts/broker.sh stop >/dev/null; then
          echo "broker: local Tansu on port $record_port stopped (memory storage: its data are gone)"
        else
          echo "stop.sh: could not stop the local broker on port $record_port (scripts/broker.sh status)" >&2
          exit 1
        fi
        ;;
      compose)
        volumes=()
        [ $purge -eq 0 ] || volumes=(--volumes)
        if docker compose down "${volumes[@]}"; then
          echo "broker: docker compose down ${volumes[*]} done"
        else
          echo "stop.sh: docker compose down failed" >&2
          exit 1
        fi
        ;;
      *)
        echo "broker: $record_bootstrap is an external cluster; left running"
        [ $purge -eq 0 ] || echo "stop.sh: --purge does not touch an external cluster" >&2
        ;;
    esac
    rm -f "$broker_file"
  fi
elif [ $purge -eq 1 ]; then
  purge_local "${BROKER_PORT:-9092}"
fi
