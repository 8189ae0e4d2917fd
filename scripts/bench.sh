#!/usr/bin/env bash
# `make bench`: throughput, memory and latency of producer, tracker and monitor, each printed
# next to a baseline measured in the same run (kcat, a Python confluent-kafka loop, wc -l, jq,
# and two controls: the thinnest Rust producer and consumer on the same librdkafka), on a
# private local broker (Tansu) that is started here and stopped on exit.
#
#   scripts/bench.sh                       full run (BENCH_N=200000, 3 to 8 minutes; jq is the slowest part)
#   BENCH_N=20000 scripts/bench.sh         quick check
#
# Environment:
#   BENCH_N               orders in the dataset (default 200000)
#   BENCH_PORT            port of the private broker (default 19392)
#   BENCH_STEPS           steps to run, any of: producer tracker monitor follow latency
#                         (default: all; tracker, monitor and follow need the producer step's
#                         topic or tracker lines and run it when needed)
#   BENCH_MONITOR_LINES   lines of the file given to `monitor --once` (default 1000000)
#   BENCH_FOLLOW_RATE     lines/s appended to the three followed files, in all (default 50000)
#   BENCH_FOLLOW_SECONDS  how long the files grow (default 30)
#   BENCH_LATENCY_RATE    events/s of the latency step (default 1000)
#   BENCH_LATENCY_SECONDS how long the latency step produces (default 30)
#   BENCH_OUT             output folder (default target/bench); results in $BENCH_OUT/results.json
#   BENCH_KEEP=1          keep the big data files (dataset, 1M-line file, followed files)
#   BENCH_NO_BUILD=1      do not run cargo build (use the binaries already in the target dir)
#   CARGO_TARGET_DIR      where cargo builds (default target/)
#
# Exit status: 0 when every step ran (even if an aim is missed), 1 when a step failed.
set -euo pipefail
# The whole script is one block, read before it runs: editing the file during a run is safe.
{
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
here="$root/scripts/bench"

N=${BENCH_N:-200000}
PORT=${BENCH_PORT:-19392}
STEPS=" ${BENCH_STEPS:-producer tracker monitor follow latency} "
MONITOR_LINES=${BENCH_MONITOR_LINES:-1000000}
FOLLOW_RATE=${BENCH_FOLLOW_RATE:-50000}
FOLLOW_SECONDS=${BENCH_FOLLOW_SECONDS:-30}
LAT_RATE=${BENCH_LATENCY_RATE:-1000}
LAT_SECONDS=${BENCH_LATENCY_SECONDS:-30}
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
bin="$target_dir/release"
out=${BENCH_OUT:-$root/target/bench}
parts="$out/parts"
broker="127.0.0.1:$PORT"
run_id=$(date +%s)
venv="$root/.tools/bench-venv"
kcat_lib="$root/.tools/bench-venv/kcat-lib"

# The binaries read these; the benchmark passes everything by flag.
unset KAFKA_BROKER KAFKA_TOPIC KAFKA_CONSUMER_GROUP TRACKER_INSTANCE_ID TRACKER_LOG_DIR TRACKER_FSYNC \
  PRODUCER_INTERVAL_MS PRODUCER_LOG_DIR PRODUCER_POISON_RATE RETRY_MAX_ATTEMPTS DLQ_ENABLED DLQ_TOPIC

want() { [[ "$STEPS" == *" $1 "* ]]; }
say() { echo "bench: $*" >&2; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$1" "$2"; }
record() { python3 "$here/bench.py" record "$@"; }
lines_of() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# CPU seconds (user + system, all threads) a running process has used so far.
cpu_of_pid() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
# Runs a command under GNU time; its CPU seconds (user + system, children included) go to FILE.
cpu_timed() { # FILE COMMAND...
  local file=$1; shift
  /usr/bin/time -f '%U %S' -o "$file.time" "$@"
  local status=$?
  awk '{printf "%.2f", $1 + $2}' "$file.time" >"$file" 2>/dev/null || echo null >"$file"
  return $status
}

if want tracker || want monitor || want follow; then STEPS="$STEPS producer "; fi
if want follow; then STEPS="$STEPS tracker "; fi
if want monitor; then STEPS="$STEPS tracker "; fi

# ---------------------------------------------------------------------------------------------
# Clean-up: every process this script started, then the broker.
started_pids=()
broker_started=0
cleanup() {
  local status=$?
  for pid in "${started_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${started_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$broker_started" = 1 ]; then
    BROKER_PORT=$PORT "$root/scripts/broker.sh" stop >&2 || true
  fi
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    rm -f "$out/data.tsv" "$out/monitor/tracker-bench.events" "$out"/follow/*.events \
      "$out/tracker-kcat.tsv" "$out/tracker-bare.tsv" "$out/tracker-python.jsonl" 2>/dev/null || true
  fi
  if [ $status -ne 0 ]; then
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
command -v jq >/dev/null || die "jq is missing: apt-get install jq"
command -v script >/dev/null || die "script (util-linux) is missing"
# kcat with the librdkafka of the confluent-kafka wheel (Debian's is too old for Tansu), and the
# venv the Python baselines use.
"$root/scripts/kcat.sh" --setup || die "cannot set up kcat (scripts/kcat.sh)"
kcat() { LD_LIBRARY_PATH="$kcat_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" command kcat "$@"; }
kcat_version="kcat $(kcat -V 2>&1 | grep -o 'Version [0-9.]*' | head -1 | cut -d' ' -f2), $(kcat -V 2>&1 | grep -o 'librdkafka [0-9.]*' | head -1)"


if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  say "[setup] cargo build --release --locked -p producer -p tracker -p monitor, and the two controls (target: $target_dir)"
  timeout 1800 cargo build --release --locked -p producer -p tracker -p monitor \
    --bins --example bare_producer --example bare_consumer >&2 || die "cargo build failed"
fi
for b in producer tracker monitor examples/bare_producer examples/bare_consumer; do
  [ -x "$bin/$b" ] || die "missing $bin/$b"
done

rm -rf "$parts"
mkdir -p "$out" "$parts" "$out/logs"
record "$parts/meta.json" \
  "date=\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"" \
  "command=\"BENCH_N=$N scripts/bench.sh\"" \
  "n=$N" "nproc=$(nproc)" \
  "cpu=$(python3 -c 'import json;print(json.dumps(next((l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),"?")))')" \
  "ram_gb=$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)" \
  "loadavg_start=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" \
  "git_commit=\"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\"" \
  "kcat=\"$kcat_version\"" \
  "latency_rate=$LAT_RATE" "follow_rate=$FOLLOW_RATE" "follow_seconds=$FOLLOW_SECONDS" \
  "monitor_lines=$MONITOR_LINES"

say "[setup] private broker on $broker"
BROKER_PORT=$PORT "$root/scripts/broker.sh" start >&2 || die "the broker did not start"
broker_started=1
record "$parts/meta.json" "tansu=\"$("$(BROKER_PORT=$PORT "$root/scripts/broker.sh" path)" --version 2>&1 | head -1)\""
topic() { BROKER_PORT=$PORT "$root/scripts/broker.sh" topic "$1" "${2:-3}" >/dev/null || die "cannot create topic $1"; }
dlq="bench-$run_id-dlq"
topic "$dlq" 1
export DLQ_TOPIC=$dlq

# Counts the records of a topic by reading them (watermarks from Tansu can be too low).
count_topic() { # TOPIC EXPECTED TIMEOUT
  timeout "$3" bash -c 'LD_LIBRARY_PATH='"$kcat_lib"' kcat -C -q -b "$1" -t "$2" -o beginning -c "$3" -f "%o\n" | wc -l' \
    _ "$broker" "$1" "$2" 2>/dev/null || true
}

# Waits until FILE has N lines or TIMEOUT seconds pass; returns 1 on timeout.
wait_lines() { # FILE N TIMEOUT [PID]
  local deadline=$((SECONDS + $3))
  while [ "$(lines_of "$1")" -lt "$2" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then return 1; fi
    sleep 0.5
  done
}

# Starts a tracker in the background; sets tracker_pid.
start_tracker() { # TOPIC GROUP INSTANCE DIR
  mkdir -p "$4"
  (cd "$4" && exec "$bin/tracker" --broker "$broker" --topic "$1" --group "$2" --instance-id "$3" \
    --log-dir "$4" >"$4/tracker.stdout" 2>"$4/tracker.stderr") &
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

data_topic="bench-$run_id-producer"

# ---------------------------------------------------------------------------------------------
if want producer; then
  say "[producer] producer --count $N --rate 0 --seed 1 -> $data_topic"
  topic "$data_topic" 3
  t0=$(now)
  (cd "$out/logs" && cpu_timed "$out/logs/producer.cpu" timeout 600 "$bin/producer" --broker "$broker" --topic "$data_topic" --count "$N" \
    --rate 0 --seed 1 --log-dir "$out/logs" >"$out/logs/producer.stdout" 2>"$out/logs/producer.stderr") \
    || die "producer failed (see $out/logs/producer.stderr)"
  t1=$(now)
  # Its own summary: "sent N ..., lost 0 in S s (R events/s)", from first send to last ack.
  own=$(grep -o 'in [0-9.]* s ([0-9.]* events/s)' "$out/logs/producer.stdout" "$out/logs/producer.stderr" 2>/dev/null \
    | head -1 | sed 's/.*in \([0-9.]*\) s.*/\1/' || true)
  record "$parts/producer.json" "count=$N" "seconds=$(elapsed "$t0" "$t1")" "own_seconds=${own:-null}" \
    "cpu_seconds=$(cat "$out/logs/producer.cpu")"
  say "[producer] $(elapsed "$t0" "$t1") s; dumping the dataset with kcat"
  timeout 300 bash -c 'LD_LIBRARY_PATH='"$kcat_lib"' kcat -C -q -b "$1" -t "$2" -o beginning -c "$3" -f "%k\t%s\n" >"$4"' \
    _ "$broker" "$data_topic" "$N" "$out/data.tsv" || die "kcat could not dump $N records of $data_topic"
  got=$(lines_of "$out/data.tsv")
  [ "$got" -eq "$N" ] || die "the dataset has $got lines, expected $N"

  kcat_topic="bench-$run_id-kcat"
  topic "$kcat_topic" 3
  say "[producer] kcat -P the same $N records -> $kcat_topic"
  t0=$(now)
  cpu_timed "$out/logs/kcat-p.cpu" timeout 600 bash -c 'LD_LIBRARY_PATH='"$kcat_lib"' kcat -P -q -b "$1" -t "$2" -K "	" -X enable.idempotence=true -X acks=all -X linger.ms=5 -X compression.type=lz4 -X message.timeout.ms=30000 <"$3"' \
    _ "$broker" "$kcat_topic" "$out/data.tsv" || die "kcat -P failed"
  t1=$(now)
  got=$(count_topic "$kcat_topic" "$N" 120)
  [ "$got" -eq "$N" ] || die "kcat produced $got records, expected $N"
  record "$parts/producer_kcat.json" "count=$N" "seconds=$(elapsed "$t0" "$t1")" \
    "cpu_seconds=$(cat "$out/logs/kcat-p.cpu")"
  say "[producer] kcat $(elapsed "$t0" "$t1") s"

  # Control: the same replay by the thinnest Rust producer (crates/producer/examples).
  bare_topic="bench-$run_id-bare"
  topic "$bare_topic" 3
  say "[producer] bare_producer (control) replays the same $N records -> $bare_topic"
  timeout 600 "$bin/examples/bare_producer" "$broker" "$bare_topic" "$out/data.tsv" >"$parts/producer_bare.json" \
    || die "bare_producer failed"
  say "[producer] bare_producer $(cat "$parts/producer_bare.json")"
fi

# ---------------------------------------------------------------------------------------------
if want tracker; then
  say "[tracker] one tracker drains the $N records of $data_topic"
  tdir="$out/tracker"
  rm -rf "$tdir"
  start_tracker "$data_topic" "bench-$run_id-tracker" bench "$tdir"
  wait_lines "$tdir/tracker-bench.events" "$N" 600 "$tracker_pid" \
    || die "the tracker wrote $(lines_of "$tdir/tracker-bench.events") of $N lines (see $tdir)"
  tracker_cpu=$(cpu_of_pid "$tracker_pid")
  tracker_threads=$(python3 "$here/bench.py" threads "$tracker_pid" 2>/dev/null || echo null)
  stop_pid "$tracker_pid"
  python3 "$here/bench.py" span "$tdir/tracker-bench.events" --expect "$N" >"$parts/tracker.json" \
    || die "tracker span"
  record "$parts/tracker.json" "cpu_seconds=$tracker_cpu" "threads=$tracker_threads"
  say "[tracker] $(cat "$parts/tracker.json")"

  # The price of tracker.fsync=batch: the same drain, each batch fdatasync'ed before its offsets
  # are stored (see docs/reliability.md).
  say "[tracker] the same drain with TRACKER_FSYNC=batch"
  fdir="$out/tracker-fsync"
  rm -rf "$fdir"
  TRACKER_FSYNC=batch start_tracker "$data_topic" "bench-$run_id-tracker-fsync" bench "$fdir"
  wait_lines "$fdir/tracker-bench.events" "$N" 600 "$tracker_pid" \
    || die "the tracker with fsync wrote $(lines_of "$fdir/tracker-bench.events") of $N lines (see $fdir)"
  tracker_cpu=$(cpu_of_pid "$tracker_pid")
  stop_pid "$tracker_pid"
  python3 "$here/bench.py" span "$fdir/tracker-bench.events" --expect "$N" >"$parts/tracker_fsync.json" \
    || die "tracker fsync span"
  record "$parts/tracker_fsync.json" "cpu_seconds=$tracker_cpu"
  say "[tracker] fsync=batch $(cat "$parts/tracker_fsync.json")"
  say "[tracker] fsync=batch / fsync=never throughput: $(python3 -c 'import json, sys; a, b = (json.load(open(f)).get("rate") for f in sys.argv[1:]); print(f"{a / b:.2f}x" if a and b else "n/a")' "$parts/tracker_fsync.json" "$parts/tracker.json")"

  say "[tracker] kcat -C the same topic to a file"
  t0=$(now)
  cpu_timed "$out/logs/kcat-c.cpu" timeout 300 bash -c 'LD_LIBRARY_PATH='"$kcat_lib"' kcat -C -q -b "$1" -t "$2" -o beginning -c "$3" -f "%p\t%o\t%k\t%s\n" >"$4"' \
    _ "$broker" "$data_topic" "$N" "$out/tracker-kcat.tsv" || die "kcat -C failed"
  t1=$(now)
  got=$(lines_of "$out/tracker-kcat.tsv")
  [ "$got" -eq "$N" ] || die "kcat consumed $got records, expected $N"
  record "$parts/tracker_kcat.json" "count=$N" "seconds=$(elapsed "$t0" "$t1")" \
    "cpu_seconds=$(cat "$out/logs/kcat-c.cpu")"
  say "[tracker] kcat $(elapsed "$t0" "$t1") s"

  say "[tracker] bare_consumer (control): the thinnest Rust consumer, kcat's output format"
  timeout 300 "$bin/examples/bare_consumer" "$broker" "$data_topic" 3 "$N" "$out/tracker-bare.tsv" \
    >"$parts/tracker_bare.json" || die "bare_consumer failed"
  say "[tracker] bare_consumer $(cat "$parts/tracker_bare.json")"

  say "[tracker] Python confluent-kafka loop (scripts/bench/python_tracker.py)"
  timeout 600 "$venv/bin/python" "$here/python_tracker.py" --broker "$broker" --topic "$data_topic" \
    --group "bench-$run_id-python" --count "$N" --out "$out/tracker-python.jsonl" >"$parts/tracker_python.json" \
    || die "python_tracker.py failed: $(cat "$parts/tracker_python.json")"
  say "[tracker] python $(cat "$parts/tracker_python.json")"
fi

# ---------------------------------------------------------------------------------------------
if want monitor; then
  mdir="$out/monitor"
  rm -rf "$mdir"
  mkdir -p "$mdir"
  say "[monitor] building a file of $MONITOR_LINES real .events lines"
  python3 "$here/bench.py" repeat "$out/tracker/tracker-bench.events" "$mdir/tracker-bench.events" "$MONITOR_LINES" \
    >"$mdir/repeat.json" || die "cannot build the monitor file"
  bytes=$(stat -c %s "$mdir/tracker-bench.events")
  wc -l "$mdir/tracker-bench.events" >/dev/null # warm the page cache
  t0=$(now)
  timeout 300 wc -l "$mdir/tracker-bench.events" >/dev/null || die "wc -l failed"
  t1=$(now)
  record "$parts/monitor_wc.json" "lines=$MONITOR_LINES" "bytes=$bytes" "seconds=$(elapsed "$t0" "$t1")"
  say "[monitor] monitor --once --json over $MONITOR_LINES lines ($((bytes / 1048576)) MB)"
  t0=$(now)
  timeout 600 /usr/bin/time -v "$bin/monitor" --once --json --dir "$mdir" >"$mdir/monitor.json" 2>"$mdir/monitor.time" \
    || die "monitor --once failed (see $mdir/monitor.time)"
  t1=$(now)
  record "$parts/monitor_once.json" "lines=$MONITOR_LINES" "bytes=$bytes" "seconds=$(elapsed "$t0" "$t1")" \
    "max_rss_kb=$(python3 "$here/bench.py" maxrss "$mdir/monitor.time")"
  say "[monitor] monitor $(elapsed "$t0" "$t1") s; jq -c . over the same file"
  t0=$(now)
  timeout 900 /usr/bin/time -v jq -c . "$mdir/tracker-bench.events" >/dev/null 2>"$mdir/jq.time" || die "jq failed"
  t1=$(now)
  record "$parts/monitor_jq.json" "lines=$MONITOR_LINES" "seconds=$(elapsed "$t0" "$t1")" \
    "max_rss_kb=$(python3 "$here/bench.py" maxrss "$mdir/jq.time")"
  say "[monitor] jq $(elapsed "$t0" "$t1") s"
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -f "$mdir/tracker-bench.events"
fi

# ---------------------------------------------------------------------------------------------
if want follow; then
  fdir="$out/follow"
  rm -rf "$fdir"
  mkdir -p "$fdir"
  : >"$fdir/tracker-bench-1.events"; : >"$fdir/tracker-bench-2.events"; : >"$fdir/tracker-bench-3.events"
  say "[follow] interactive monitor (under script, a pseudo-terminal) following 3 files at $FOLLOW_RATE lines/s for $FOLLOW_SECONDS s"
  # stdin stays open (sleep) so that script does not hang up the monitor; q is never sent.
  (sleep $((FOLLOW_SECONDS + 60)) | exec script -qfec "stty rows 50 cols 160; exec '$bin/monitor' --dir '$fdir'" /dev/null \
    >"$fdir/screen.out" 2>&1) &
  follow_wrapper=$!
  started_pids+=("$follow_wrapper")
  monitor_pid=""
  for _ in $(seq 50); do
    for p in $(ps -o pid= --ppid "$follow_wrapper" 2>/dev/null) ; do
      for q in $p $(ps -o pid= --ppid "$p" 2>/dev/null); do
        for r in $q $(ps -o pid= --ppid "$q" 2>/dev/null); do
          [ "$(cat "/proc/$r/comm" 2>/dev/null)" = monitor ] && monitor_pid=$r
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
  timeout $((FOLLOW_SECONDS + 60)) python3 "$here/bench.py" append --src "$out/tracker/tracker-bench.events" \
    --dir "$fdir" --rate "$FOLLOW_RATE" --seconds "$FOLLOW_SECONDS" --files 3 \
    --pid "$monitor_pid" --samples "$parts/follow_samples.json" >"$parts/follow.json" \
    || die "the appender failed"
  sleep 0.5
  kill -0 "$monitor_pid" 2>/dev/null || die "the interactive monitor died while following (see $fdir/screen.out)"
  stop_pid "$monitor_pid"
  stop_pid "$follow_wrapper"
  say "[follow] appender $(cat "$parts/follow.json")"
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -f "$fdir"/*.events
fi

# ---------------------------------------------------------------------------------------------
if want latency; then
  lat_count=$((LAT_RATE * LAT_SECONDS))
  lat_topic="bench-$run_id-latency"
  ldir="$out/latency"
  rm -rf "$ldir"
  topic "$lat_topic" 3
  say "[latency] tracker and the Python baseline join $lat_topic"
  start_tracker "$lat_topic" "bench-$run_id-latency" latency "$ldir"
  # Two baselines: a Python consumer with the tracker's fetch.wait.max.ms (100 ms), and one with
  # 10 ms, to show how much of the latency is the fetch wait.
  python_pids=()
  for variant in python python_fw10; do
    extra=(--set fetch.wait.max.ms=100); [ "$variant" = python_fw10 ] && extra=(--set fetch.wait.max.ms=10)
    "$venv/bin/python" "$here/python_tracker.py" --broker "$broker" --topic "$lat_topic" \
      --group "bench-$run_id-latency-$variant" --count "$lat_count" --out "$ldir/$variant.jsonl" \
      --ready "$ldir/$variant.ready" --batch 1 "${extra[@]}" >"$ldir/$variant.json" 2>"$ldir/$variant.stderr" &
    python_pids+=($!)
    started_pids+=($!)
  done
  deadline=$((SECONDS + 60))
  until grep -q '"Partitions assigned"' "$ldir/tracker-latency.log" 2>/dev/null && [ -s "$ldir/python.ready" ] \
    && [ -s "$ldir/python_fw10.ready" ]; do
    kill -0 "$tracker_pid" 2>/dev/null || die "the tracker exited (see $ldir)"
    for pid in "${python_pids[@]}"; do kill -0 "$pid" 2>/dev/null || die "python_tracker.py exited (see $ldir/*.stderr)"; done
    [ $SECONDS -lt $deadline ] || die "the consumers did not get partitions within 60 s (see $ldir)"
    sleep 0.2
  done
  sleep 1
  say "[latency] producer --rate $LAT_RATE --count $lat_count"
  (cd "$ldir" && timeout $((LAT_SECONDS + 120)) "$bin/producer" --broker "$broker" --topic "$lat_topic" \
    --count "$lat_count" --rate "$LAT_RATE" --log-dir "$ldir" >"$ldir/producer.stdout" 2>"$ldir/producer.stderr") \
    || die "producer failed (see $ldir/producer.stderr)"
  wait_lines "$ldir/tracker-latency.events" "$lat_count" 60 "$tracker_pid" \
    || die "the tracker wrote $(lines_of "$ldir/tracker-latency.events") of $lat_count lines"
  stop_pid "$tracker_pid"
  for variant in python python_fw10; do
    wait_lines "$ldir/$variant.jsonl" "$lat_count" 60 \
      || die "python_tracker.py wrote $(lines_of "$ldir/$variant.jsonl") of $lat_count lines ($variant)"
  done
  for pid in "${python_pids[@]}"; do wait "$pid" || true; stop_pid "$pid"; done
  python3 "$here/bench.py" latency "$ldir/tracker-latency.events" >"$parts/latency.json" || die "latency"
  python3 "$here/bench.py" latency "$ldir/python.jsonl" >"$parts/latency_python.json" || die "latency (python)"
  python3 "$here/bench.py" latency "$ldir/python_fw10.jsonl" >"$parts/latency_python_fw10.json" || die "latency (python)"
  say "[latency] tracker $(cat "$parts/latency.json")"
  say "[latency] python  $(cat "$parts/latency_python.json")"
  say "[latency] python, fetch.wait.max.ms=10 $(cat "$parts/latency_python_fw10.json")"
fi

record "$parts/meta.json" "loadavg_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
echo
python3 "$here/bench.py" report "$parts" "$out/results.json"
echo
say "results: $out/results.json"
exit 0
}
