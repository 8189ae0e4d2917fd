#!/usr/bin/env bash
# `make bench-eos`: what exactly-once costs. One tracker drains the same topic in each mode
# (at_least_once, and exactly_once with transactions of 50, 500 and 5000 records), writing a
# status record per valid order in every mode (at-least-once awaits each acknowledgement,
# exactly-once commits them with the offsets), on a private Apache Kafka started here and
# stopped on exit. Then, per mode, a steady load: the latency from an event's emission to its
# status record being visible to a read_committed reader (Python confluent-kafka, not this
# project's code).
#
#   scripts/bench-eos.sh                        full run (BENCH_EOS_N=30000, about 5 minutes)
#   BENCH_EOS_N=5000 scripts/bench-eos.sh       quick check
#
# Environment:
#   BENCH_EOS_N         records drained per mode (default 30000)
#   BENCH_EOS_RATE      events/s of the latency runs (default 200)
#   BENCH_EOS_SECONDS   how long each latency run produces (default 20)
#   BENCH_EOS_SIZES     transaction sizes measured (default "50 500 5000")
#   BENCH_EOS_PORT      port of the private broker (default 19592)
#   BENCH_NO_BUILD=1    do not run cargo build (use the release binaries already built)
#   CARGO_TARGET_DIR    where cargo builds (default target/)
#
# Prints one Markdown table row per mode; exit status 0 when every run finished, 1 otherwise.
set -euo pipefail
{
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
N=${BENCH_EOS_N:-30000}
RATE=${BENCH_EOS_RATE:-200}
LAT_SECONDS=${BENCH_EOS_SECONDS:-20}
SIZES=${BENCH_EOS_SIZES:-50 500 5000}
PORT=${BENCH_EOS_PORT:-19592}
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
bin="$target_dir/release"
out="$root/target/bench-eos"
python="$root/.tools/bench-venv/bin/python"
broker="127.0.0.1:$PORT"

# The binaries read these; the benchmark passes everything explicitly.
for var in KAFKA_BROKER KAFKA_TOPIC KAFKA_CONSUMER_GROUP TRACKER_INSTANCE_ID TRACKER_LOG_DIR TRACKER_FSYNC \
  TRACKER_PROCESSING TRACKER_STATUS_TOPIC TRACKER_TRANSACTION_RECORDS PRODUCER_LOG_DIR PRODUCER_TRANSACTIONAL; do
  unset "$var"
done
say() { echo "bench-eos: $*" >&2; }
die() { echo "bench-eos: FAILED: $*" >&2; exit 1; }

"$python" -c 'import confluent_kafka' 2>/dev/null || scripts/kcat.sh --setup >/dev/null
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release --locked --quiet -p producer -p tracker
rm -rf "$out"
mkdir -p "$out"
export KAFKA_PORT=$PORT KAFKA_DATA_DIR="$out/kafka" KAFKA_HEAP=512m
export KAFKA_CONFIG_EXTRA=$'offsets.topic.num.partitions=3\ntransaction.state.log.num.partitions=3'
scripts/kafka.sh start >/dev/null
trap 'scripts/kafka.sh stop >/dev/null 2>&1 || true' EXIT

# The drained dataset: N valid orders, one topic read by every mode (a group each). No poison
# pills: a dead letter is awaited one by one in both modes, and would measure that instead.
"$bin/producer" --broker "$broker" --topic bench-orders --create-topics --count "$N" --rate 0 \
  --seed 5 --log-dir "$out" >/dev/null

# Seconds between the first and the last audit line of a file, and its line count.
span() {
  "$python" - "$1" <<'EOF_PY'
import json, sys
from datetime import datetime
def at(line):
    return datetime.fromisoformat(json.loads(line)["timestamp"].replace("Z", "+00:00")).timestamp()
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
print(len(lines), at(lines[-1]) - at(lines[0]) if len(lines) > 1 else 0)
EOF_PY
}

# Reads a status topic read_committed for $2 seconds after its first record; prints p50 and p99
# of (time received - event_timestamp) in ms over the records received after the first 2 s,
# and their count.
latency_reader() {
  "$python" - "$broker" "$1" "$2" <<'EOF_PY'
import json, sys, time
from datetime import datetime
from confluent_kafka import Consumer
broker, topic, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
consumer = Consumer({"bootstrap.servers": broker, "group.id": "bench-latency-" + topic,
                     "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                     "enable.auto.commit": False, "fetch.wait.max.ms": 10})
consumer.subscribe([topic])
samples, deadline, give_up = [], None, time.time() + 90
while time.time() < (deadline or give_up):
    message = consumer.poll(0.1)
    if message is None or message.error():
        continue
    now = time.time()
    if deadline is None:
        deadline = now + seconds
        warm = now + 2
    # The first 2 s are left out: records that waited for this reader's own group join.
    if now < warm:
        continue
    emitted = datetime.fromisoformat(json.loads(message.value())["event_timestamp"].replace("Z", "+00:00")).timestamp()
    samples.append((now - emitted) * 1000)
if not samples:
    sys.exit("no status record read")
consumer.close()
samples.sort()
pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
print(f"{pick(0.5):.0f} {pick(0.99):.0f} {len(samples)}")
EOF_PY
}

run_mode() {
  local name=$1 processing=$2 size=$3 status=${4:-yes}
  local dir="$out/$name"
  local tx_env=()
  [ "$size" = - ] || tx_env=("TRACKER_TRANSACTION_RECORDS=$size")
  mkdir -p "$dir"
  # Throughput: drain the dataset with a fresh group.
  local drain_env=("${tx_env[@]}")
  [ "$status" != yes ] || drain_env+=("TRACKER_STATUS_TOPIC=drain-status-$name")
  env "${drain_env[@]}" "$bin/tracker" --broker "$broker" --topic bench-orders --group "drain-$name" --instance-id drain \
    --log-dir "$dir" --processing "$processing" >/dev/null 2>"$dir/drain.stderr" &
  local pid=$!
  local deadline=$((SECONDS + 600))
  until [ -f "$dir/tracker-drain.events" ] && [ "$(wc -l <"$dir/tracker-drain.events")" -ge "$N" ]; do
    kill -0 "$pid" 2>/dev/null || die "$name: the tracker stopped (see $dir/drain.stderr)"
    [ $SECONDS -lt $deadline ] || die "$name: not drained in 600 s"
    sleep 0.5
  done
  kill -TERM "$pid"
  wait "$pid" || die "$name: the tracker did not stop cleanly"
  read -r lines seconds < <(span "$dir/tracker-drain.events")
  # Latency: a steady load on a topic of its own, the tracker and the reader already running.
  if [ "$status" != yes ]; then
    "$python" -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[2]); print(f'| {sys.argv[3]} | {n} | {s:.1f} | {n / s:,.0f} | - | - | - |')" \
      "$lines" "$seconds" "$name"
    return
  fi
  "$bin/producer" --broker "$broker" --topic "lat-$name" --create-topics --count 0 --log-dir "$dir" >/dev/null
  env TRACKER_STATUS_TOPIC="status-$name" "${tx_env[@]}" "$bin/tracker" --broker "$broker" --topic "lat-$name" --group "lat-$name" \
    --instance-id lat --log-dir "$dir" --processing "$processing" >/dev/null 2>"$dir/lat.stderr" &
  pid=$!
  sleep 4
  latency_reader "status-$name" $((LAT_SECONDS - 2)) >"$dir/latency" &
  local reader=$!
  sleep 4
  "$bin/producer" --broker "$broker" --topic "lat-$name" --count $((RATE * LAT_SECONDS)) \
    --rate "$RATE" --seed 6 --log-dir "$dir" >/dev/null || die "$name: the latency producer failed"
  wait "$reader" || die "$name: the latency reader failed"
  read -r p50 p99 samples <"$dir/latency"
  kill -TERM "$pid"
  wait "$pid" || die "$name: the latency tracker did not stop cleanly"
  "$python" -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[2]); print(f'| {sys.argv[3]} | {n} | {s:.1f} | {n / s:,.0f} | {sys.argv[4]} | {sys.argv[5]} | {sys.argv[6]} |')" \
    "$lines" "$seconds" "$name" "$p50" "$p99" "$samples"
}

echo "| mode | records drained | seconds | records/s | latency p50 ms | latency p99 ms | latency samples |"
echo "|---|---|---|---|---|---|---|"
run_mode at_least_once-no-status at_least_once - no
run_mode at_least_once at_least_once -
for size in $SIZES; do
  run_mode "exactly_once-$size" exactly_once "$size"
done
exit 0
}
