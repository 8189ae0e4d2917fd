#!/usr/bin/env bash
# Makes the README's picture of the monitor from a real run: starts the whole system with
# ./start.sh in a folder of its own (its own local broker port, so a running system is left
# alone), lets the producer send orders for a while, draws one frame of the monitor over the
# files it wrote (monitor --screenshot, an SVG of exactly what the dashboard draws), and stops
# everything. Run scripts/screenshot.sh --help for the details.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/screenshot.sh [FILE.svg]

Starts the system (./start.sh: a local broker, TRACKERS trackers, the producer) in a temporary
RUN_DIR, waits RUN_S seconds, writes one frame of the monitor over its files to FILE.svg
(default docs/img/monitor.svg), then stops everything (./stop.sh) and deletes the folder.

Environment:
  SIZE=120x36          the frame, in columns x rows
  RUN_S=45             how long the system runs before the picture
  TRACKERS=3           trackers to start
  SCREENSHOT_PORT=19492  port of the local broker started for the picture
  PRODUCER_ARGS        producer flags (default: 20 orders/s, 2 % poison pills, a fixed seed)
  BIN_DIR              use the binaries in this folder instead of building them (as start.sh)
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
out=$(absolute "${1:-$root/docs/img/monitor.svg}")
size=${SIZE:-120x36}
run_s=${RUN_S:-45}
case "$run_s" in
  '' | *[!0-9]*) echo "screenshot.sh: RUN_S=$run_s is not a number of seconds" >&2; exit 2 ;;
esac
mkdir -p "$(dirname "$out")"

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/order-tracking-screenshot.XXXXXX")
export RUN_DIR=$run_dir BROKER=local BROKER_STORAGE=memory BROKER_PORT=${SCREENSHOT_PORT:-19492}
export TRACKERS=${TRACKERS:-3}
# Metrics every 5 s, so that lag and the counters are fresh in the picture.
export TRACKER_METRICS_INTERVAL_MS=5000
export PRODUCER_ARGS=${PRODUCER_ARGS:---rate 20 --poison-rate 0.02 --seed 7}
unset KAFKA_BROKER TRACKER_LOG_DIR

finish() {
  "$root/stop.sh" >/dev/null 2>&1 || echo "screenshot.sh: ./stop.sh failed; see $run_dir" >&2
  rm -rf "$run_dir"
}
trap finish EXIT

"$root/start.sh"
echo "==> running for ${run_s}s"
sleep "$run_s"
monitor=${BIN_DIR:+$(absolute "$BIN_DIR")/monitor}
monitor=${monitor:-$root/target/release/monitor}
# From inside the run folder, so that the header names `logs`, not a temporary path.
(cd "$run_dir" && "$monitor" --dir logs --screenshot "$out" --size "$size")
echo "==> wrote $(show "$out")"
