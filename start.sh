#!/usr/bin/env bash
# Starts the whole system in the background: a Kafka broker (unless one is given), the topics,
# N trackers and the producer, each with a PID file. Run ./start.sh --help for the details.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./start.sh [--help]

Starts a Kafka broker, creates the topics, builds the binaries, then starts TRACKERS trackers
(instance-1..N, one consumer group) and the producer in the background. Running it again starts
nothing new. Stop everything with ./stop.sh.

Broker, first that applies (BROKER=kafka|tansu|compose|external forces one):
  KAFKA_BROKER is set       use that cluster (host:port[,host:port]); start no broker
  a Docker engine answers   docker compose up (Apache Kafka in KRaft mode on localhost:9092,
                            Kafka UI on http://localhost:8080)
  Java 17+ and Maven        Apache Kafka from Maven Central (scripts/kafka.sh; fetched into
                            .tools/ the first time, ~55 MB) on 127.0.0.1:BROKER_PORT; records,
                            topics and committed offsets are kept until ./stop.sh --purge
  otherwise                 Tansu (scripts/broker.sh; a prebuilt binary installed into .tools/)
                            on 127.0.0.1:BROKER_PORT, memory storage: lost at ./stop.sh

Environment:
  TRACKERS=3                number of trackers
  BROKER=auto               auto, kafka, tansu (local is the same), compose, or external
  KAFKA_BROKER              an existing cluster to use instead of starting a broker
  BROKER_PORT=9092          port of the local broker (Apache Kafka: of its first node)
  KAFKA_NODES=1             Apache Kafka: 1 node, or 3 (ports BROKER_PORT..BROKER_PORT+2)
  BROKER_WAIT_S=60          how long to wait for the broker to answer
  RUN_DIR=run               root of pids/, out/ (each process's stdout and stderr), logs/
  TRACKER_LOG_DIR           where tracker-<id>.log/.events and producer.log go (RUN_DIR/logs)
  BIN_DIR                   use the producer/tracker/monitor binaries in this folder instead
                            of building them (cargo build --release into target/release)
  PRODUCER_INTERVAL_MS      steady mode: one event every MS milliseconds (default 2000)
  PRODUCER_ARGS             extra producer flags, split on spaces, e.g. "--rate 50 --poison-rate 0.05"
  PRODUCER=on               off: start the trackers only (run target/release/producer by hand)
  SCHEMA_VALIDATION=off     on: the Tansu broker refuses records of the orders topic that do not
                            match schemas/order-event.json (docs/events.md, "Refused at the door")
  Other tracker and producer variables (TRACKER_PROCESSING_DELAY_MS, TRACKER_FAILURE_RATE,
  RETRY_MAX_ATTEMPTS, DLQ_ENABLED, ...) pass through; ./config.yaml is read when it exists.
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) echo "start.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

say() { printf '==> %s\n' "$*"; }
die() { printf 'start.sh: %s\n' "$*" >&2; exit 1; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
# Paths given relative are relative to where the script was called from; the processes run
# from the repository root, so that ./config.yaml is found there.
run_dir=$(absolute "${RUN_DIR:-$root/run}")
log_dir=$(absolute "${TRACKER_LOG_DIR:-$run_dir/logs}")
pid_dir=$run_dir/pids
out_dir=$run_dir/out
trackers=${TRACKERS:-3}
broker_port=${BROKER_PORT:-9092}
broker_wait_s=${BROKER_WAIT_S:-60}
if [ -n "${BIN_DIR:-}" ]; then bin_dir=$(absolute "$BIN_DIR"); else bin_dir=""; fi
cd "$root"

case "$trackers" in
  '' | *[!0-9]*) die "TRACKERS=$trackers is not a number; use 1 to 64" ;;
esac
if [ "$trackers" -lt 1 ] || [ "$trackers" -gt 64 ]; then die "TRACKERS=$trackers is out of range; use 1 to 64"; fi
case "$broker_port" in
  '' | *[!0-9]*) die "BROKER_PORT=$broker_port is not a port number" ;;
esac
case "${PRODUCER:-on}" in
  on) producer_wanted=1 ;;
  off) producer_wanted=0 ;;
  *) die "PRODUCER=$PRODUCER is not supported: use on or off" ;;
esac
broker_choice=${BROKER:-auto}
case "$broker_choice" in
  auto | kafka | tansu | compose | external) ;;
  local) broker_choice=tansu ;;
  *) die "BROKER=$BROKER is not supported: use auto, kafka, tansu, compose or external" ;;
esac
schema_validation=${SCHEMA_VALIDATION:-off}
case "$schema_validation" in
  on | off) ;;
  *) die "SCHEMA_VALIDATION=$SCHEMA_VALIDATION is not supported: use on or off" ;;
esac
kafka_nodes=${KAFKA_NODES:-1}
case "$kafka_nodes" in
  1 | 3) ;;
  *) die "KAFKA_NODES=$kafka_nodes is not supported: use 1 or 3" ;;
esac
mkdir -p "$pid_dir" "$out_dir" "$log_dir"
lock_run_dir "$run_dir"

# Which processes are already up; when all are, there is nothing to do.
missing=()
for i in $(seq 1 "$trackers"); do
  running "$pid_dir/instance-$i.pid" tracker || missing+=("instance-$i")
done
[ $producer_wanted -eq 0 ] || running "$pid_dir/producer.pid" producer || missing+=(producer)
if [ ${#missing[@]} -eq 0 ]; then
  say "Already running (nothing started); stop with ./stop.sh"
fi

# --- Binaries --------------------------------------------------------------------------------
if [ ${#missing[@]} -gt 0 ]; then
  if [ -n "$bin_dir" ]; then
    say "Using the binaries in $(show "$bin_dir") (BIN_DIR)"
  else
    command -v cargo >/dev/null 2>&1 || die "cargo is needed to build the binaries (https://rustup.rs), or set BIN_DIR to a folder holding them"
    say "Building the release binaries (cargo build --release; the first build takes a few minutes)"
    cargo build --release --locked -p producer -p tracker -p monitor -p dlq || die "the build failed (see above)"
    bin_dir=$(absolute "${CARGO_TARGET_DIR:-$root/target}")/release
  fi
  for binary in producer tracker monitor; do
    [ -x "$bin_dir/$binary" ] || die "$bin_dir/$binary is missing or not executable"
  done
elif [ -z "$bin_dir" ]; then
  # Nothing to start: name the folder the running producer (or first tracker) came from.
  read_pid_file "$pid_dir/producer.pid" || read_pid_file "$pid_dir/instance-1.pid" || true
  bin_dir=$(exe_dir "$pid_value")
fi

# --- Broker ----------------------------------------------------------------------------------
# The broker a previous start recorded stays the one in use while its processes run.
broker_file=$run_dir/broker
recorded=""
if [ -f "$broker_file" ]; then recorded=$(cat "$broker_file"); fi
some_running=$(( trackers + 1 - ${#missing[@]} ))

answers() { # host:port
  local host=${1%:*} port=${1##*:}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}
wait_for() { # bootstrap list, seconds, what to read on failure
  local deadline=$((SECONDS + $2)) server
  while :; do
    for server in ${1//,/ }; do
      if answers "$server"; then return 0; fi
    done
    [ $SECONDS -lt "$deadline" ] || die "the broker at $1 did not answer within $2 s; $3"
    sleep 0.5
  done
}

if [ "$some_running" -gt 0 ] && [ -n "$recorded" ]; then
  read_broker_record "$broker_file"
  mode=$record_mode
  case "$mode" in
    kafka) broker_port=$record_port; kafka_nodes=$record_nodes ;;
    tansu) broker_port=$record_port; bootstrap=127.0.0.1:$broker_port ;;
    compose) bootstrap=127.0.0.1:9092 ;;
    *) bootstrap=$record_bootstrap; mode=external ;;
  esac
  say "Broker: keeping the one this run uses ($recorded)"
elif [ "$broker_choice" = external ] || { [ "$broker_choice" = auto ] && [ -n "${KAFKA_BROKER:-}" ]; }; then
  [ -n "${KAFKA_BROKER:-}" ] || die "BROKER=external needs KAFKA_BROKER=host:port"
  mode=external
  bootstrap=$KAFKA_BROKER
  say "Broker: the existing cluster $bootstrap (KAFKA_BROKER is set; no broker started)"
elif [ "$broker_choice" = compose ] ||
  { [ "$broker_choice" = auto ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }; then
  mode=compose
  bootstrap=127.0.0.1:9092
  why="a Docker engine answers"
  [ "$broker_choice" = auto ] || why="BROKER=compose"
  command -v docker >/dev/null 2>&1 || die "BROKER=compose needs Docker (https://docs.docker.com/engine/install/)"
  say "Broker: Apache Kafka with Docker Compose ($why)"
elif [ "$broker_choice" = kafka ] || { [ "$broker_choice" = auto ] && scripts/kafka.sh available; }; then
  mode=kafka
  if [ "$broker_choice" = kafka ]; then why="BROKER=kafka"; else why="no Docker engine; Java and Maven are here"; fi
  say "Broker: Apache Kafka $(scripts/kafka.sh version) from Maven Central, $kafka_nodes node(s) ($why)"
else
  mode=tansu
  bootstrap=127.0.0.1:$broker_port
  if [ "$broker_choice" = tansu ]; then why="BROKER=${BROKER}"; else why="no Docker engine, no Java 17 with Maven"; fi
  say "Broker: the local Tansu broker on $bootstrap ($why; set KAFKA_BROKER to use a cluster)"
fi

if [ "$schema_validation" = on ] && [ "$mode" != tansu ]; then
  die "SCHEMA_VALIDATION=on needs the local Tansu broker (BROKER=tansu); the broker here is $mode, which does not validate records against a schema"
fi

# The local Apache Kafka's settings, for scripts/kafka.sh.
kafka_env=(KAFKA_PORT="$broker_port" KAFKA_NODES="$kafka_nodes")
case "$mode" in
  kafka)
    kafka_data=$(show "$root/.tools/kafka-data/$broker_port")
    bootstrap=$(env "${kafka_env[@]}" scripts/kafka.sh bootstrap)
    say "Storage: $kafka_data (Apache Kafka's log dirs)"
    echo "    records, topics and committed offsets survive ./stop.sh and ./start.sh; ./stop.sh --purge deletes them"
    env "${kafka_env[@]}" KAFKA_WAIT_S="$broker_wait_s" scripts/kafka.sh start 9>&- ||
      die "Apache Kafka did not start; see $kafka_data/node-1/kafka.log"
    echo "kafka $broker_port $kafka_nodes" >"$broker_file"
    wait_for "$bootstrap" "$broker_wait_s" "see $kafka_data/node-1/kafka.log"
    ;;
  tansu)
    say "Storage: memory"
    echo "    records, topics and committed offsets are lost at stop; each start is a new, empty cluster"
    echo "    to keep them: BROKER=kafka ./start.sh (Apache Kafka; needs Java 17 and Maven)"
    # SCHEMA_VALIDATION=on: Tansu validates produced records against schemas/registry/<topic>.json.
    # Tansu 0.6 reads file:// URLs relative to its working folder (even file:///abs), which is
    # the repository root here.
    tansu_args=${TANSU_ARGS:-}
    if [ "$schema_validation" = on ]; then
      tansu_args="$tansu_args --schema-registry file://./schemas/registry"
      echo "    schema validation: records of orders that do not match schemas/order-event.json are refused"
    fi
    TANSU_ARGS=$tansu_args BROKER_PORT=$broker_port scripts/broker.sh start 9>&- ||
      die "the local broker did not start; see $(show "$root/.tools/broker/$broker_port/tansu.log")"
    echo "tansu $broker_port" >"$broker_file"
    wait_for "$bootstrap" "$broker_wait_s" "see $(show "$root/.tools/broker/$broker_port/tansu.log")"
    ;;
  compose)
    echo "compose" >"$broker_file"
    timeout_s=$((broker_wait_s > 120 ? broker_wait_s : 120))
    docker compose up -d --wait --wait-timeout "$timeout_s" kafka 9>&- ||
      die "Kafka did not become healthy within $timeout_s s; see: docker compose logs kafka"
    docker compose run --rm kafka-init >"$out_dir/kafka-init.out" 2>&1 ||
      die "creating the topics failed; see $(show "$out_dir/kafka-init.out")"
    docker compose up -d kafka-ui >/dev/null 2>&1 9>&- || echo "    (Kafka UI did not start; see: docker compose logs kafka-ui)"
    wait_for "$bootstrap" "$broker_wait_s" "see: docker compose logs kafka"
    ;;
  external)
    echo "external $bootstrap" >"$broker_file"
    wait_for "$bootstrap" "$broker_wait_s" "check KAFKA_BROKER and that the cluster runs"
    ;;
esac

if [ ${#missing[@]} -gt 0 ]; then
  # --- Topics --------------------------------------------------------------------------------
  say "Topics: creating orders (3 partitions) and orders-dlq when missing"
  bounded=()
  if command -v timeout >/dev/null 2>&1; then bounded=(timeout 60); fi
  if ! KAFKA_BROKER=$bootstrap PRODUCER_LOG_DIR=$out_dir \
    "${bounded[@]}" "$bin_dir/producer" --create-topics --count 0 </dev/null >"$out_dir/create-topics.out" 2>&1; then
    cat "$out_dir/create-topics.out" >&2
    die "could not create the topics on $bootstrap (output above, also in $(show "$out_dir/create-topics.out"))"
  fi

  # --- Processes -----------------------------------------------------------------------------
  started=()
  for name in "${missing[@]}"; do
    out=$out_dir/$name.out
    if [ "$name" = producer ]; then
      # shellcheck disable=SC2086 # PRODUCER_ARGS is a list of flags on purpose
      KAFKA_BROKER=$bootstrap PRODUCER_LOG_DIR=$log_dir \
        "$bin_dir/producer" ${PRODUCER_ARGS:-} </dev/null >>"$out" 2>&1 9>&- &
    else
      KAFKA_BROKER=$bootstrap TRACKER_INSTANCE_ID=$name TRACKER_LOG_DIR=$log_dir \
        "$bin_dir/tracker" </dev/null >>"$out" 2>&1 9>&- &
    fi
    record_pid "$pid_dir/$name.pid" $!
    started+=("$name")
  done

  # Bad configuration makes a process exit at once: catch it here rather than leave a dead PID.
  sleep 1
  failed=0
  for name in "${started[@]}"; do
    binary=tracker
    [ "$name" = producer ] && binary=producer
    if ! running "$pid_dir/$name.pid" "$binary"; then
      failed=1
      echo "start.sh: $name exited right after it started; the end of $(show "$out_dir/$name.out"):" >&2
      tail -n 5 "$out_dir/$name.out" | sed 's/^/    /' >&2
    fi
  done
  [ $failed -eq 0 ] || die "some processes did not start (the others run: ./stop.sh stops them)"
fi

# --- What runs -------------------------------------------------------------------------------
echo
printf '%-12s %8s  %s\n' process pid "log (stdout and stderr in $(show "$out_dir"))"
for i in $(seq 1 "$trackers"); do
  name=instance-$i
  running "$pid_dir/$name.pid" tracker && read_pid_file "$pid_dir/$name.pid" &&
    printf '%-12s %8s  %s\n' "$name" "$pid_value" "$(show "$log_dir/tracker-$name.log")"
done
running "$pid_dir/producer.pid" producer && read_pid_file "$pid_dir/producer.pid" &&
  printf '%-12s %8s  %s\n' producer "$pid_value" "$(show "$log_dir/producer.log")"
if [ "$mode" = kafka ]; then
  echo "broker       $bootstrap (Apache Kafka $(scripts/kafka.sh version), data kept in $kafka_data)"
elif [ "$mode" = tansu ]; then
  echo "broker       $bootstrap (Tansu, memory storage)"
else
  echo "broker       $bootstrap ($mode)"
fi
echo
echo "Watch:    $(show "$bin_dir/monitor") --dir $(show "$log_dir")"
echo "Analyse:  ./analyze_logs.sh $(show "$log_dir")"
if [ "$mode" = compose ]; then echo "Kafka UI: http://localhost:8080"; fi
if [ "$run_dir" = "$root/run" ]; then echo "Stop:     ./stop.sh"; else echo "Stop:     RUN_DIR=$run_dir ./stop.sh"; fi
