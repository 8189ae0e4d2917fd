#!/usr/bin/env bash
# How long the trackers stop auditing when a tracker joins the group and when one dies, with
# the classic consumer group protocol and with KIP-848's `consumer` protocol, on the local
# Apache Kafka. For docs/tracker.md and the walkthrough; not a test (it prints figures).
#
#   scripts/measure-rebalance.sh [classic|consumer ...]     (default: both)
#
# For each protocol: a fresh Kafka on KAFKA_PORT (default 19592), two trackers and the producer
# at 300 events/s; after 15 s a third tracker joins; 20 s later one of the first two is killed
# (SIGKILL); 20 s later everything stops. From the audit lines (each one's `timestamp`, when it
# was received), per partition: the longest silence around the join and around the death, and
# whether the partition changed hands. Needs the release binaries (cargo build --release).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${BIN_DIR:-$root/target/release}
port=${KAFKA_PORT:-19592}
protocols=("$@")
[ ${#protocols[@]} -gt 0 ] || protocols=(classic consumer)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; KAFKA_PORT=$port KAFKA_CONTROLLER_PORT=$((port + 1)) "$root/scripts/kafka.sh" stop >/dev/null 2>&1 || true; KAFKA_PORT=$port "$root/scripts/kafka.sh" purge >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export KAFKA_PORT=$port KAFKA_CONTROLLER_PORT=$((port + 1)) KAFKA_BROKER=127.0.0.1:$port

for protocol in "${protocols[@]}"; do
  case "$protocol" in classic | consumer) ;; *) echo "usage: $0 [classic|consumer ...]" >&2; exit 2 ;; esac
  "$root/scripts/kafka.sh" stop >/dev/null 2>&1 || true
  "$root/scripts/kafka.sh" purge >/dev/null
  "$root/scripts/kafka.sh" start >/dev/null
  logs=$work/$protocol
  mkdir -p "$logs"
  PRODUCER_LOG_DIR=$logs "$bin/producer" --create-topics --count 0 >/dev/null 2>&1
  start_tracker() {
    KAFKA_GROUP_PROTOCOL=$protocol TRACKER_INSTANCE_ID=$1 TRACKER_LOG_DIR=$logs "$bin/tracker" >/dev/null 2>&1 &
    echo $!
  }
  a=$(start_tracker a)
  b=$(start_tracker b)
  PRODUCER_LOG_DIR=$logs "$bin/producer" --rate 300 >/dev/null 2>&1 &
  producer=$!
  sleep 15
  joined=$(date -u +%s.%N)
  c=$(start_tracker c)
  sleep 20
  died=$(date -u +%s.%N)
  kill -9 "$a"
  sleep 20
  kill -TERM "$producer" "$b" "$c"
  wait "$producer" "$b" "$c" 2>/dev/null || true
  python3 - "$logs" "$joined" "$died" "$protocol" <<'EOF'
import datetime, glob, json, sys
logs, joined, died, protocol = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
seen = {}
for path in glob.glob(f"{logs}/tracker-*.events"):
    for line in open(path):
        entry = json.loads(line)
        at = datetime.datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
        seen.setdefault(entry["kafka_partition"], []).append((at, entry["instance_id"]))
def window(partition, start, end):
    lines = sorted(t for t in seen.get(partition, []) if start - 2 <= t[0] <= end)
    gap = max((b[0] - a[0] for a, b in zip(lines, lines[1:])), default=float("nan"))
    owners_before = {i for t, i in lines if t < start}
    owners_after = {i for t, i in lines if t > start}
    moved = owners_before != owners_after
    return gap, moved, ",".join(sorted(owners_before)), ",".join(sorted(owners_after))
print(f"group.protocol={protocol}")
for name, at in (("a tracker joins", joined), ("a tracker dies (SIGKILL)", died)):
    for partition in sorted(seen):
        gap, moved, before, after = window(partition, at, at + 18)
        state = f"moved {before} -> {after}" if moved else f"stayed with {before}"
        print(f"  {name:26} partition {partition}: longest silence {gap:5.2f} s  ({state})")
EOF
done
