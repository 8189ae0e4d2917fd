#!/usr/bin/env bash
# Summarises the files of every tracker instance in one folder: what was received, what failed,
# duplicate deliveries and offset gaps, per instance and per partition, the DLQ and retries,
# revenue, top customers and products, orders by status and payment method, the last metrics
# and the last errors.
#
#   ./analyze_logs.sh [DIR]      DIR defaults to $TRACKER_LOG_DIR, else run/logs when it exists,
#                                else the current folder
#
# The figures come from the monitor's counting engine (`monitor --report`), the same code that
# draws the dashboard and prints `monitor --once --json`, so the report and the monitor always
# agree on the same files. jq recipes for your own questions are in docs/monitor.md.
# It never writes into DIR.
set -euo pipefail

usage() {
  cat <<'EOF_USAGE'
Usage: ./analyze_logs.sh [DIR]

Summarises every tracker instance's tracker-*.events and tracker-*.log in DIR
(default: $TRACKER_LOG_DIR, else run/logs when it exists, else the current folder):
  messages received, deserialized, failed to deserialize, validation errors,
  duplicate deliveries (same cluster, topic, partition and offset seen twice), offset gaps,
  counts per instance and per partition, lag per partition, DLQ sends, retries,
  the trackers' counters (received = processed + failed + skipped + in flight),
  revenue and average basket (valid order.created events, each order once),
  top 5 customers, top 5 products, orders by status and by payment method,
  the last metrics entry per instance and the last 5 errors.

The figures come from `monitor --report` (the monitor's counting engine).
Environment:
  BIN_DIR   use the monitor binary in this folder instead of building it
            (cargo build --release -p monitor into target/release)
Exit status: 0 on success, 1 when the monitor cannot be found or built, or DIR holds no
tracker files, 2 on bad usage.
EOF_USAGE
}

die() { echo "analyze_logs.sh: $*" >&2; exit 1; }

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  -*) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

if [ $# -eq 1 ]; then
  dir=$1
elif [ -n "${TRACKER_LOG_DIR:-}" ]; then
  dir=$TRACKER_LOG_DIR
elif [ -d run/logs ]; then
  dir=run/logs
else
  dir=.
fi
[ -d "$dir" ] || die "no such folder: $dir"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${BIN_DIR:-}" ]; then
  monitor=$BIN_DIR/monitor
  [ -x "$monitor" ] || die "$monitor is missing or not executable (BIN_DIR)"
elif command -v cargo >/dev/null 2>&1; then
  # Quick when nothing changed; the monitor does not need librdkafka.
  (cd "$root" && cargo build --release --locked --quiet -p monitor) ||
    die "could not build the monitor (cargo build --release -p monitor, see above)"
  monitor=${CARGO_TARGET_DIR:-$root/target}/release/monitor
elif command -v monitor >/dev/null 2>&1; then
  monitor=$(command -v monitor)
else
  die "the monitor binary is needed and cargo was not found to build it.
Install Rust (https://rustup.rs) and run this script again, or set BIN_DIR to the folder
that holds a built monitor (e.g. BIN_DIR=target/release)."
fi

exec "$monitor" --report --dir "$dir"
