#!/usr/bin/env bash
# `make bench`: the producer and the tracker against baselines measured in the same runs, on
# Apache Kafka and on Tansu. Each broker is private (started here, stopped on exit). On each,
# BENCH_RUNS rounds run one after the other; a round runs every producer once (each into a
# topic of its own), then every consumer once on the producer's topic of that round, the order
# of each group rotating from round to round. The report
# gives each ratio (ours against its baseline, both from the same round) as the median of the
# rounds and its range, and the latency of three trackers at 1,000 events/s.
#
#   scripts/bench.sh                       the default: both brokers, 5 rounds of 100,000 orders,
#                                          5 to 7 minutes on the 2-core VM (2026-12-05, load 2 to
#                                          17, with BENCH_TRACKER_BEFORE)
#   BENCH_N=20000 BENCH_RUNS=2 BENCH_BROKER=tansu scripts/bench.sh     quick check (~1 minute)
#   BENCH_TRACKER_BEFORE=path/to/tracker scripts/bench.sh              a second tracker binary in
#                                          every round: before/after of a change, same rounds
#
# Why these defaults: a round took 18 to 25 s on Tansu and 28 to 60 s on Kafka at 100,000
# orders (the Kafka tools start a JVM each), so 5 rounds on both brokers, the two broker starts
# and the two latency steps take 5 to 7 minutes; 200,000 orders would take about 12, too close
# to the 15 minutes allowed when the machine is busy. 5 rounds is the least that gives a median
# with a range.
#
# The programs of a round (all read or write N records of seed 1; CPU = user + system of every
# thread of the process, per message):
#   producer        producer --count N --rate 0 --seed 1 (a fresh topic)
#   kcat_p          kcat -P of the same N key/payload pairs with the producer's settings
#                   (enable.idempotence, acks=all, linger.ms=5, lz4, keys)
#   bare_producer   the thinnest Rust producer on the same librdkafka, the same replay (control)
#   perf_producer   Kafka only: kafka-producer-perf-test, the same settings, the same payloads
#                   (--payload-file, no keys)
#   tracker         one tracker, a fresh group, drains the round's topic; rate from its first to
#                   its last audit line, CPU when it has written N lines
#   tracker_before  the same with BENCH_TRACKER_BEFORE (when set)
#   tracker_fsync   the same with TRACKER_FSYNC=batch (when BENCH_FSYNC=1; docs/reliability.md)
#   kcat_json       kcat -C -J (a JSON envelope per record) to a file
#   kcat_copy       kcat -C -f '%k\t%s\n' to a file
#   bare_consumer   the thinnest Rust consumer, kcat's '%p\t%o\t%k\t%s\n' (control)
#   audit_only      the tracker's audit line and nothing else: parse, validate, the same .events
#                   line, one thread, no group or commits (control: what the line's contract
#                   costs by itself)
#   perf_consumer   Kafka only: kafka-consumer-perf-test (reads and drops the records)
#
# Environment:
#   BENCH_BROKER          kafka, tansu or both (default both)
#   BENCH_RUNS            rounds per broker (default 5)
#   BENCH_N               orders in each round (default 100000)
#   BENCH_STEPS           any of: throughput latency monitor follow (default: throughput latency;
#                         monitor and follow measure the monitor over the tracker's lines, on
#                         the first broker only)
#   BENCH_TANSU_PORT      port of the private Tansu (default 19392)
#   BENCH_KAFKA_PORT      port of the private Apache Kafka (default 19492; its controller +1000)
#   BENCH_LATENCY_RATE    events/s of the latency step (default 1000)
#   BENCH_LATENCY_SECONDS how long the latency step produces (default 30)
#   BENCH_LATENCY_TRACKERS trackers in the latency step's group (default 3)
#   BENCH_TRACKER_BEFORE  another tracker binary, measured in every round beside ours
#   BENCH_FSYNC=1         also drain with TRACKER_FSYNC=batch in every round
#   BENCH_MONITOR_LINES, BENCH_FOLLOW_RATE, BENCH_FOLLOW_SECONDS   the monitor steps' sizes
#   BENCH_OUT             output folder (default target/bench); results in $BENCH_OUT/results.json,
#                         the latency step's files in $BENCH_OUT/latency-BROKER/
#   BENCH_NO_BUILD=1      do not run cargo build (use the binaries already in the target dir)
#   CARGO_TARGET_DIR      where cargo builds (default target/)
#
# Exit status: 0 when every step ran (even if an aim is missed), 1 when a step failed (the
# message names the step, the round and the program).
set -euo pipefail
# The whole script is one block, read before it runs: editing the file during a run is safe.
{
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
here="$root/scripts/bench"

N=${BENCH_N:-100000}
RUNS=${BENCH_RUNS:-5}
BROKERS=${BENCH_BROKER:-both}
case "$BROKERS" in both) BROKERS="tansu kafka" ;; kafka | tansu) ;; *) echo "bench: BENCH_BROKER must be kafka, tansu or both" >&2; exit 2 ;; esac
STEPS=" ${BENCH_STEPS:-throughput latency} "
TANSU_PORT=${BENCH_TANSU_PORT:-19392}
KAFKA_PORT_BENCH=${BENCH_KAFKA_PORT:-19492}
LAT_RATE=${BENCH_LATENCY_RATE:-1000}
LAT_SECONDS=${BENCH_LATENCY_SECONDS:-30}
LAT_TRACKERS=${BENCH_LATENCY_TRACKERS:-3}
MONITOR_LINES=${BENCH_MONITOR_LINES:-1000000}
FOLLOW_RATE=${BENCH_FOLLOW_RATE:-50000}
FOLLOW_SECONDS=${BENCH_FOLLOW_SECONDS:-30}
TRACKER_BEFORE=${BENCH_TRACKER_BEFORE:-}
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
bin="$target_dir/release"
out=${BENCH_OUT:-$root/target/bench}
# Programs run from their own folders: relative paths are taken from the repository's root.
case "$out" in /*) ;; *) out="$root/$out" ;; esac
case "$TRACKER_BEFORE" in /* | "") ;; *) TRACKER_BEFORE="$root/$TRACKER_BEFORE" ;; esac
parts="$out/parts"
run_id=$(date +%s)
venv="$root/.tools/bench-venv"
kcat_lib="$root/.tools/bench-venv/kcat-lib"
started_at=$SECONDS

# The binaries read these; the benchmark passes everything by flag.
unset KAFKA_BROKER KAFKA_TOPIC KAFKA_CONSUMER_GROUP TRACKER_INSTANCE_ID TRACKER_LOG_DIR TRACKER_FSYNC \
  TRACKER_PROCESSING TRACKER_STATUS_TOPIC PRODUCER_INTERVAL_MS PRODUCER_LOG_DIR PRODUCER_POISON_RATE \
  PRODUCER_TRANSACTIONAL RETRY_MAX_ATTEMPTS DLQ_ENABLED DLQ_TOPIC

want() { [[ "$STEPS" == *" $1 "* ]]; }
say() { echo "bench: [$(( SECONDS - started_at ))s] $*" >&2; }
step="setup"
die() { echo "bench: FAILED in $step: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$1" "$2"; }
record() { python3 "$here/bench.py" record "$@"; }
lines_of() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# CPU seconds (user + system, all threads) a running process has used so far.
cpu_of_pid() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
# Runs a command under GNU time; its CPU seconds (user + system, children included) go to FILE.
cpu_timed() { # FILE COMMAND...
  local file=$1; shift
  local status=0
  /usr/bin/time -f '%U %S' -o "$file.time" "$@" || status=$?
  awk '{printf "%.2f", $1 + $2}' "$file.time" >"$file" 2>/dev/null || echo null >"$file"
  return $status
}
kcat() { LD_LIBRARY_PATH="$kcat_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" command kcat "$@"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------------------------------------
# Clean-up: every process this script started, then the brokers.
started_pids=()
tansu_started=0
kafka_started=0
cleanup() {
  local status=$?
  for pid in "${started_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${started_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$tansu_started" = 1 ]; then
    BROKER_PORT=$TANSU_PORT "$root/scripts/broker.sh" stop >&2 || true
  fi
  if [ "$kafka_started" = 1 ]; then
    KAFKA_PORT=$KAFKA_PORT_BENCH KAFKA_DATA_DIR="$out/kafka-data" "$root/scripts/kafka.sh" stop >/dev/null 2>&1 || true
    rm -rf "$out/kafka-data"
  fi
  if [ $status -eq 0 ]; then
    rm -rf "$out/work" 2>/dev/null || true
  else
    # The failed step's files stay for a look (the message says where); the bulky data goes.
    rm -rf "$out/work/data.tsv" "$out/work/payloads.txt" "$out/work"/*.out "$out/work/monitor" 2>/dev/null || true
  fi
  if [ $status -ne 0 ] && [ -d "$parts" ]; then
    say "stopped with status $status; partial results:"
    python3 "$here/bench.py" report "$parts" "$out/results.partial.json" >&2 2>/dev/null || true
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
say "[setup] tools"
command -v python3 >/dev/null || die "python3 is needed"
[ -x /usr/bin/time ] || die "GNU time is missing (/usr/bin/time): apt-get install time"
# kcat with the librdkafka of the confluent-kafka wheel (Debian's is too old for Tansu), and the
# venv the topic helper uses.
"$root/scripts/kcat.sh" --setup >&2 || die "cannot set up kcat (scripts/kcat.sh)"
kcat_version="kcat $(kcat -V 2>&1 | grep -o 'Version [0-9.]*' | head -1 | cut -d' ' -f2), $(kcat -V 2>&1 | grep -o 'librdkafka [0-9.]*' | head -1)"
if [[ " $BROKERS " == *" kafka "* ]]; then
  "$root/scripts/kafka.sh" available || die "Apache Kafka needs Java 17+ and Maven or the installed jars (scripts/kafka.sh install)"
  KAFKA_PORT=$KAFKA_PORT_BENCH "$root/scripts/kafka.sh" install >&2 || die "scripts/kafka.sh install failed"
fi
if want monitor; then command -v jq >/dev/null || die "jq is missing: apt-get install jq"; fi
if want follow; then command -v script >/dev/null || die "script (util-linux) is missing"; fi

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  say "[setup] cargo build --release --locked -p producer -p tracker -p monitor, and the three controls (target: $target_dir)"
  timeout 1800 cargo build --release --locked -p producer -p tracker -p monitor \
    --bins --example bare_producer --example bare_consumer --example audit_only >&2 || die "cargo build failed"
fi
for b in producer tracker monitor examples/bare_producer examples/bare_consumer examples/audit_only; do
  [ -x "$bin/$b" ] || die "missing $bin/$b"
done
[ -z "$TRACKER_BEFORE" ] || [ -x "$TRACKER_BEFORE" ] || die "BENCH_TRACKER_BEFORE=$TRACKER_BEFORE is not an executable"

rm -rf "$parts" "$out/work"
mkdir -p "$out" "$parts" "$out/work"
record "$parts/meta.json" \
  "date=\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"" \
  "command=\"BENCH_N=$N BENCH_RUNS=$RUNS BENCH_BROKER=${BENCH_BROKER:-both} scripts/bench.sh\"" \
  "n=$N" "runs=$RUNS" "nproc=$(nproc)" \
  "cpu=$(python3 -c 'import json;print(json.dumps(next((l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),"?")))')" \
  "ram_gb=$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)" \
  "loadavg_start=\"$(loadavg)\"" \
  "git_commit=\"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+changes')\"" \
  "kcat=\"$kcat_version\"" "java=\"$(java -version 2>&1 | head -1 | tr -d '"')\"" \
  "tracker_before=\"$TRACKER_BEFORE\"" \
  "latency_rate=$LAT_RATE" "latency_trackers=$LAT_TRACKERS"

# ---------------------------------------------------------------------------------------------
# Brokers

broker=""
start_broker() { # tansu|kafka
  step="[$1] broker start"
  case "$1" in
    tansu)
      BROKER_PORT=$TANSU_PORT "$root/scripts/broker.sh" start >&2 || die "Tansu did not start"
      tansu_started=1
      broker="127.0.0.1:$TANSU_PORT"
      record "$parts/meta.json" "tansu=\"$("$(BROKER_PORT=$TANSU_PORT "$root/scripts/broker.sh" path)" --version 2>&1 | head -1)\""
      ;;
    kafka)
      rm -rf "$out/kafka-data"
      KAFKA_PORT=$KAFKA_PORT_BENCH KAFKA_DATA_DIR="$out/kafka-data" KAFKA_HEAP=1g \
        KAFKA_CONFIG_EXTRA=$'offsets.topic.num.partitions=3\ntransaction.state.log.num.partitions=3' \
        "$root/scripts/kafka.sh" start >&2 || die "Apache Kafka did not start (see $out/kafka-data)"
      kafka_started=1
      broker="127.0.0.1:$KAFKA_PORT_BENCH"
      record "$parts/meta.json" "kafka=\"Apache Kafka $("$root/scripts/kafka.sh" version), one KRaft node, 1 GB heap\""
      ;;
  esac
}
stop_broker() { # tansu|kafka
  case "$1" in
    tansu) BROKER_PORT=$TANSU_PORT "$root/scripts/broker.sh" stop >&2 || true; tansu_started=0 ;;
    kafka)
      KAFKA_PORT=$KAFKA_PORT_BENCH KAFKA_DATA_DIR="$out/kafka-data" "$root/scripts/kafka.sh" stop >/dev/null 2>&1 || true
      kafka_started=0
      rm -rf "$out/kafka-data"
      ;;
  esac
}

# Creates a topic with the confluent-kafka admin client (the same on both brokers, no JVM).
topic() { # NAME [PARTITIONS]
  "$venv/bin/python" "$here/bench.py" topic "$broker" "$1" "${2:-3}" >&2 || die "cannot create topic $1 on $broker"
}

# Counts the records of a topic by reading them (watermarks from Tansu can be too low).
count_topic() { # TOPIC EXPECTED TIMEOUT
  timeout "$3" bash -c 'LD_LIBRARY_PATH='"$kcat_lib"' kcat -C -q -b "$1" -t "$2" -o beginning -c "$3" -f "%o\n" | wc -l' \
    _ "$broker" "$1" "$2" 2>/dev/null || true
}

# Waits until FILE has N lines or TIMEOUT seconds pass; returns 1 on timeout or when PID dies.
wait_lines() { # FILE N TIMEOUT [PID]
  local deadline=$((SECONDS + $3))
  while [ "$(lines_of "$1")" -lt "$2" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then return 1; fi
    sleep 0.2
  done
}

# Starts a tracker in the background; sets tracker_pid.
start_tracker() { # BINARY TOPIC GROUP INSTANCE DIR
  mkdir -p "$5"
  (cd "$5" && exec "$1" --broker "$broker" --topic "$2" --group "$3" --instance-id "$4" \
    --log-dir "$5" >"$5/stdout-$4.txt" 2>"$5/stderr-$4.txt") &
  tracker_pid=$!
  started_pids+=("$tracker_pid")
}

# Stops a process this script started, and forgets it (so that clean-up never signals a
# recycled PID).
stop_pid() { # PID
  local kept=() p
  for p in "${started_pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  started_pids=("${kept[@]}")
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# The programs of a round. Each writes $parts/<broker>/<round>/<program>.json with count,
# seconds (its throughput window) and cpu_seconds.

w="$out/work"
prog_producer() {
  topic "$src_topic" 3
  local t0 t1 own
  t0=$(now)
  (cd "$w" && cpu_timed "$w/producer.cpu" timeout 600 "$bin/producer" --broker "$broker" --topic "$src_topic" --count "$N" \
    --rate 0 --seed 1 --log-dir "$w" >"$w/producer.stdout" 2>"$w/producer.stderr") \
    || die "the producer failed: $(tail -3 "$w/producer.stderr")"
  t1=$(now)
  # Its own summary: "sent N ..., lost 0 in S s (R events/s)", from first send to last ack.
  own=$(grep -o 'in [0-9.]* s ([0-9.]* events/s)' "$w/producer.stdout" "$w/producer.stderr" 2>/dev/null \
    | head -1 | sed 's/.*in \([0-9.]*\) s.*/\1/' || true)
  local got; got=$(count_topic "$src_topic" "$N" 120)
  [ "$got" -eq "$N" ] || die "the producer's topic holds $got records, expected $N"
  record "$rdir/producer.json" "count=$N" "seconds=$(elapsed "$t0" "$t1")" "own_seconds=${own:-null}" \
    "cpu_seconds=$(cat "$w/producer.cpu")"
}
prog_kcat_p() {
  local t="bench-$run_id-$b-$r-kcat"
  topic "$t" 3
  local t0 t1; t0=$(now)
  cpu_timed "$w/kcat-p.cpu" timeout 600 bash -c 'LD_LIBRARY_PATH='"$kcat_lib"' kcat -P -q -b "$1" -t "$2" -K "	" -X enable.idempotence=true -X acks=all -X linger.ms=5 -X compression.type=lz4 -X message.timeout.ms=30000 <"$3"' \
    _ "$broker" "$t" "$data" || die "kcat -P failed"
  t1=$(now)
  local got; got=$(count_topic "$t" "$N" 120)
  [ "$got" -eq "$N" ] || die "kcat -P produced $got records, expected $N"
  record "$rdir/kcat_p.json" "count=$N" "seconds=$(elapsed "$t0" "$t1")" "cpu_seconds=$(cat "$w/kcat-p.cpu")"
}
prog_bare_producer() {
  local t="bench-$run_id-$b-$r-bare"
  topic "$t" 3
  cpu_timed "$w/bare-p.cpu" timeout 600 "$bin/examples/bare_producer" "$broker" "$t" "$data" >"$w/bare_producer.json" \
    || die "bare_producer failed"
  local got; got=$(count_topic "$t" "$N" 120)
  [ "$got" -eq "$N" ] || die "bare_producer produced $got records, expected $N"
  # Its own figures (first send to last acknowledgement), with the process's CPU.
  cp "$w/bare_producer.json" "$rdir/bare_producer.json"
  record "$rdir/bare_producer.json" "cpu_seconds=$(cat "$w/bare-p.cpu")"
}
prog_perf_producer() {
  local t="bench-$run_id-$b-$r-perf"
  topic "$t" 3
  local t0 t1; t0=$(now)
  cpu_timed "$w/perf-p.cpu" timeout 600 "$root/scripts/kafka.sh" tool producer-perf-test --topic "$t" --num-records "$N" \
    --throughput -1 --payload-file "$payloads" --producer-props bootstrap.servers="$broker" enable.idempotence=true \
    acks=all linger.ms=5 compression.type=lz4 >"$w/perf-p.out" 2>&1 || die "kafka-producer-perf-test failed: $(tail -3 "$w/perf-p.out")"
  t1=$(now)
  local got; got=$(count_topic "$t" "$N" 120)
  [ "$got" -eq "$N" ] || die "kafka-producer-perf-test produced $got records, expected $N"
  # Its own rate: the last summary line, "N records sent, R records/sec (...)".
  local own; own=$(grep -o '^[0-9]* records sent, [0-9.]* records/sec' "$w/perf-p.out" | tail -1 | awk '{print $4}')
  record "$rdir/perf_producer.json" "count=$N" "seconds=$(elapsed "$t0" "$t1")" "own_rate=${own:-null}" \
    "cpu_seconds=$(cat "$w/perf-p.cpu")"
}
drain_with_tracker() { # NAME BINARY
  local dir="$w/$1"
  rm -rf "$dir"
  start_tracker "$2" "$src_topic" "bench-$run_id-$b-$r-$1" bench "$dir"
  wait_lines "$dir/tracker-bench.events" "$N" 600 "$tracker_pid" \
    || die "$1 wrote $(lines_of "$dir/tracker-bench.events") of $N lines (see $dir: $(tail -2 "$dir/stderr-bench.txt"))"
  local cpu threads; cpu=$(cpu_of_pid "$tracker_pid")
  threads=$(python3 "$here/bench.py" threads "$tracker_pid" 2>/dev/null || echo null)
  stop_pid "$tracker_pid"
  python3 "$here/bench.py" span "$dir/tracker-bench.events" --expect "$N" >"$rdir/$1.json" || die "$1: span"
  record "$rdir/$1.json" "cpu_seconds=$cpu" "threads=$threads"
  if [ "$1" = tracker ] && [ ! -f "$out/tracker-lines.events" ]; then
    # Kept for the monitor steps: real audit lines of this run.
    mv "$dir/tracker-bench.events" "$out/tracker-lines.events"
  fi
  rm -rf "$dir"
}
prog_tracker() { drain_with_tracker tracker "$bin/tracker"; }
prog_tracker_before() { drain_with_tracker tracker_before "$TRACKER_BEFORE"; }
prog_tracker_fsync() { TRACKER_FSYNC=batch drain_with_tracker tracker_fsync "$bin/tracker"; }
kcat_drain() { # NAME FORMAT-ARGS...
  local name=$1; shift
  local t0 t1; t0=$(now)
  cpu_timed "$w/$name.cpu" timeout 600 bash -c 'f=$1; shift; LD_LIBRARY_PATH='"$kcat_lib"' kcat -C -q -o beginning "$@" >"$f"' \
    _ "$w/$name.out" -b "$broker" -t "$src_topic" -c "$N" "$@" || die "kcat -C ($name) failed"
  t1=$(now)
  local got; got=$(lines_of "$w/$name.out")
  # -J writes one line per record; '%k\t%s\n' too (no payload holds a newline: JSON, compact).
  [ "$got" -eq "$N" ] || die "kcat -C ($name) wrote $got lines, expected $N"
  record "$rdir/$name.json" "count=$N" "seconds=$(elapsed "$t0" "$t1")" "cpu_seconds=$(cat "$w/$name.cpu")" \
    "bytes=$(stat -c %s "$w/$name.out")"
  rm -f "$w/$name.out"
}
prog_kcat_json() { kcat_drain kcat_json -J; }
prog_kcat_copy() { kcat_drain kcat_copy -f '%k\t%s\n'; }
# A Rust control that drains the round's topic into a file and prints its own JSON figures.
control_drain() { # NAME
  cpu_timed "$w/$1.cpu" timeout 600 "$bin/examples/$1" "$broker" "$src_topic" 3 "$N" "$w/$1.out" \
    >"$w/$1.json" || die "$1 failed"
  local got; got=$(lines_of "$w/$1.out")
  [ "$got" -eq "$N" ] || die "$1 wrote $got lines, expected $N"
  cp "$w/$1.json" "$rdir/$1.json"
  record "$rdir/$1.json" "cpu_seconds=$(cat "$w/$1.cpu")"
  rm -f "$w/$1.out"
}
prog_bare_consumer() { control_drain bare_consumer; }
prog_audit_only() { control_drain audit_only; }
prog_perf_consumer() {
  local t0 t1; t0=$(now)
  cpu_timed "$w/perf-c.cpu" timeout 600 "$root/scripts/kafka.sh" tool consumer-perf-test --bootstrap-server "$broker" \
    --topic "$src_topic" --messages "$N" --group "bench-$run_id-$b-$r-perf" --timeout 60000 >"$w/perf-c.out" 2>&1 \
    || die "kafka-consumer-perf-test failed: $(tail -3 "$w/perf-c.out")"
  t1=$(now)
  # Its CSV line: ..., data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, ...
  python3 "$here/bench.py" perfconsumer "$w/perf-c.out" "$N" >"$rdir/perf_consumer.json" \
    || die "kafka-consumer-perf-test: cannot read its output ($w/perf-c.out)"
  record "$rdir/perf_consumer.json" "wall_seconds=$(elapsed "$t0" "$t1")" "cpu_seconds=$(cat "$w/perf-c.cpu")"
}

# ---------------------------------------------------------------------------------------------
throughput() { # broker name
  local producers=(producer kcat_p bare_producer) consumers=(tracker kcat_json kcat_copy bare_consumer audit_only)
  [ -z "$TRACKER_BEFORE" ] || consumers+=(tracker_before)
  [ "${BENCH_FSYNC:-0}" != 1 ] || consumers+=(tracker_fsync)
  if [ "$b" = kafka ]; then producers+=(perf_producer); consumers+=(perf_consumer); fi
  for r in $(seq "$RUNS"); do
    rdir="$parts/$b/$r"
    mkdir -p "$rdir"
    src_topic="bench-$run_id-$b-$r-producer"
    record "$rdir/meta.json" "loadavg_start=\"$(loadavg)\""
    # The producers first, in an order that rotates from round to round (the producer's topic
    # is the one the consumers read), then the consumers, rotating too.
    local k p n=${#producers[@]}
    for k in $(seq 0 $((n - 1))); do
      p=${producers[$(( (k + r - 1) % n ))]}
      step="[$b round $r/$RUNS] $p"; say "$step (load $(loadavg))"; "prog_$p"
      if [ "$p" = producer ] && [ ! -s "$data" ]; then
        step="[$b round $r] dataset"
        say "$step: the producer's records, dumped with kcat, for the replays"
        timeout 300 bash -c 'LD_LIBRARY_PATH='"$kcat_lib"' kcat -C -q -b "$1" -t "$2" -o beginning -c "$3" -f "%k\t%s\n" >"$4"' \
          _ "$broker" "$src_topic" "$N" "$data" || die "kcat could not dump $N records of $src_topic"
        [ "$(lines_of "$data")" -eq "$N" ] || die "the dataset has $(lines_of "$data") lines, expected $N"
        cut -f2 "$data" >"$payloads"
      fi
    done
    n=${#consumers[@]}
    for k in $(seq 0 $((n - 1))); do
      p=${consumers[$(( (k + r - 1) % n ))]}
      step="[$b round $r/$RUNS] $p"; say "$step"; "prog_$p"
    done
    record "$rdir/meta.json" "loadavg_end=\"$(loadavg)\""
    python3 "$here/bench.py" round "$rdir" >&2 || true
  done
}

latency() {
  local lat_count=$((LAT_RATE * LAT_SECONDS)) t="bench-$run_id-$b-latency" ldir="$w/latency-$b" pids=() i
  step="[$b latency]"
  rm -rf "$ldir"
  mkdir -p "$ldir"
  topic "$t" 3
  say "$step $LAT_TRACKERS trackers join $t (load $(loadavg))"
  for i in $(seq "$LAT_TRACKERS"); do
    start_tracker "$bin/tracker" "$t" "bench-$run_id-$b-latency" "latency-$i" "$ldir"
    pids+=("$tracker_pid")
  done
  # Wait until every partition is assigned (each tracker logs the partitions it got).
  local deadline=$((SECONDS + 90))
  until python3 "$here/bench.py" assigned "$ldir" 3 >/dev/null 2>&1; do
    for i in "${pids[@]}"; do kill -0 "$i" 2>/dev/null || die "a tracker exited (see $ldir)"; done
    [ $SECONDS -lt $deadline ] || die "the trackers did not get the 3 partitions within 90 s (see $ldir)"
    sleep 0.2
  done
  sleep 2
  say "$step producer --rate $LAT_RATE --count $lat_count"
  (cd "$ldir" && timeout $((LAT_SECONDS + 120)) "$bin/producer" --broker "$broker" --topic "$t" \
    --count "$lat_count" --rate "$LAT_RATE" --log-dir "$ldir" >"$ldir/producer.stdout" 2>"$ldir/producer.stderr") \
    || die "the producer failed (see $ldir/producer.stderr)"
  deadline=$((SECONDS + 60))
  until [ "$(cat "$ldir"/tracker-latency-*.events 2>/dev/null | wc -l)" -ge "$lat_count" ]; do
    [ $SECONDS -lt $deadline ] || die "the trackers wrote $(cat "$ldir"/tracker-latency-*.events | wc -l) of $lat_count lines"
    sleep 0.5
  done
  for i in "${pids[@]}"; do stop_pid "$i"; done
  # The records' CreateTime (set by the producer's librdkafka), to split each latency in two.
  timeout 120 bash -c 'LD_LIBRARY_PATH='"$kcat_lib"' kcat -C -q -b "$1" -t "$2" -o beginning -c "$3" -J >"$4"' \
    _ "$broker" "$t" "$lat_count" "$ldir/records.json" || die "kcat could not read the $lat_count records of $t"
  python3 "$here/bench.py" latency --createtime "$ldir/records.json" "$ldir"/tracker-latency-*.events \
    >"$parts/$b/latency.json" || die "latency figures"
  record "$parts/$b/latency.json" "trackers=$LAT_TRACKERS" "rate=$LAT_RATE" "loadavg=\"$(loadavg)\""
  say "$step $(head -c 300 "$parts/$b/latency.json")"
  # Kept for a closer look (which seconds, which tracker): target/bench/latency-BROKER/.
  rm -rf "$out/latency-$b"
  mv "$ldir" "$out/latency-$b"
}

data="$w/data.tsv"
payloads="$w/payloads.txt"
for b in $BROKERS; do
  mkdir -p "$parts/$b"
  start_broker "$b"
  want throughput && throughput
  want latency && latency
  stop_broker "$b"
done

# ---------------------------------------------------------------------------------------------
# The monitor, over the tracker's own lines (optional steps).
if want monitor || want follow; then
  [ -f "$out/tracker-lines.events" ] || die "the monitor steps need the throughput step's tracker lines"
fi
if want monitor; then
  step="[monitor]"
  mdir="$w/monitor"
  mkdir -p "$mdir"
  say "$step building a file of $MONITOR_LINES real .events lines"
  python3 "$here/bench.py" repeat "$out/tracker-lines.events" "$mdir/tracker-bench.events" "$MONITOR_LINES" \
    >"$mdir/repeat.json" || die "cannot build the monitor file"
  bytes=$(stat -c %s "$mdir/tracker-bench.events")
  wc -l "$mdir/tracker-bench.events" >/dev/null # warm the page cache
  t0=$(now)
  timeout 300 wc -l "$mdir/tracker-bench.events" >/dev/null || die "wc -l failed"
  t1=$(now)
  record "$parts/monitor_wc.json" "lines=$MONITOR_LINES" "bytes=$bytes" "seconds=$(elapsed "$t0" "$t1")"
  say "$step monitor --once --json over $MONITOR_LINES lines ($((bytes / 1048576)) MB)"
  t0=$(now)
  timeout 600 /usr/bin/time -v "$bin/monitor" --once --json --dir "$mdir" >"$mdir/monitor.json" 2>"$mdir/monitor.time" \
    || die "monitor --once failed (see $mdir/monitor.time)"
  t1=$(now)
  record "$parts/monitor_once.json" "lines=$MONITOR_LINES" "bytes=$bytes" "seconds=$(elapsed "$t0" "$t1")" \
    "max_rss_kb=$(python3 "$here/bench.py" maxrss "$mdir/monitor.time")"
  say "$step jq -c . over the same file"
  t0=$(now)
  timeout 900 /usr/bin/time -v jq -c . "$mdir/tracker-bench.events" >/dev/null 2>"$mdir/jq.time" || die "jq failed"
  t1=$(now)
  record "$parts/monitor_jq.json" "lines=$MONITOR_LINES" "seconds=$(elapsed "$t0" "$t1")" \
    "max_rss_kb=$(python3 "$here/bench.py" maxrss "$mdir/jq.time")"
  rm -f "$mdir/tracker-bench.events"
fi
if want follow; then
  step="[follow]"
  fdir="$w/follow"
  mkdir -p "$fdir"
  : >"$fdir/tracker-bench-1.events"; : >"$fdir/tracker-bench-2.events"; : >"$fdir/tracker-bench-3.events"
  say "$step interactive monitor (under script, a pseudo-terminal) following 3 files at $FOLLOW_RATE lines/s for $FOLLOW_SECONDS s"
  # stdin stays open (sleep) so that script does not hang up the monitor; q is never sent.
  (sleep $((FOLLOW_SECONDS + 60)) | exec script -qfec "stty rows 50 cols 160; exec '$bin/monitor' --dir '$fdir'" /dev/null \
    >"$fdir/screen.out" 2>&1) &
  follow_wrapper=$!
  started_pids+=("$follow_wrapper")
  monitor_pid=""
  for _ in $(seq 50); do
    for p in $(ps -o pid= --ppid "$follow_wrapper" 2>/dev/null) ; do
      for q in $p $(ps -o pid= --ppid "$p" 2>/dev/null); do
        for x in $q $(ps -o pid= --ppid "$q" 2>/dev/null); do
          [ "$(cat "/proc/$x/comm" 2>/dev/null)" = monitor ] && monitor_pid=$x
        done
      done
    done
    [ -n "$monitor_pid" ] && break
    sleep 0.1
  done
  [ -n "$monitor_pid" ] || die "the interactive monitor did not start (see $fdir/screen.out)"
  started_pids+=("$monitor_pid")
  sleep 1
  kill -0 "$monitor_pid" 2>/dev/null || die "the interactive monitor exited (see $fdir/screen.out)"
  timeout $((FOLLOW_SECONDS + 60)) python3 "$here/bench.py" append --src "$out/tracker-lines.events" \
    --dir "$fdir" --rate "$FOLLOW_RATE" --seconds "$FOLLOW_SECONDS" --files 3 \
    --pid "$monitor_pid" --samples "$parts/follow_samples.json" >"$parts/follow.json" \
    || die "the appender failed"
  sleep 0.5
  kill -0 "$monitor_pid" 2>/dev/null || die "the interactive monitor died while following (see $fdir/screen.out)"
  stop_pid "$monitor_pid"
  stop_pid "$follow_wrapper"
fi
rm -f "$out/tracker-lines.events"

record "$parts/meta.json" "loadavg_end=\"$(loadavg)\"" "minutes=$(( (SECONDS - started_at + 30) / 60 ))"
echo
step="report"
python3 "$here/bench.py" report "$parts" "$out/results.json" || die "the report"
echo
say "results: $out/results.json ($(( (SECONDS - started_at + 30) / 60 )) minutes)"
exit 0
}
