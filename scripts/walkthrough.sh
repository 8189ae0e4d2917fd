#!/usr/bin/env bash
# Runs the README's walkthrough ("Walkthrough: Kafka's patterns one by one", sections 1 to 9)
# step by step, in order, on real brokers started from nothing, and records what each step
# printed. The README's output blocks are that record. Sections 1 to 6 run on one Apache Kafka
# node; 7 on three nodes; 8 on Tansu (it checks the schema); 9 on one Apache Kafka node again.
#
#   scripts/walkthrough.sh            run it; one file per step in target/walkthrough/STEP.txt
#   scripts/walkthrough.sh --write    run it, then replace every block of README.md and
#                                     docs/operations.md marked <!-- walkthrough:STEP --> with
#                                     the run's STEP.txt
#   scripts/walkthrough.sh --short    a shorter run (a flood of 3,000 instead of 30,000; what
#                                     the test in make test runs): same steps, same checks
#   scripts/walkthrough.sh --sections 1-6|7-9|all
#                                     only those sections (default all; make test runs the two
#                                     halves as two tests, side by side)
#
# Regenerating the README after a change (one command; a full run took 2 min 1 s to 3 min 25 s
# on 2026-12-05, 2 shared cores, build excluded):
#
#   make walkthrough-readme           (= cargo build --release --locked && scripts/walkthrough.sh --write)
#
# Each step runs its commands as a newcomer pastes them in the repository root, in one shell (a
# variable set by one command is there for the next). What the reader sees and what runs differ
# only where this run must not touch the reader's own files or processes:
#   - run/ is a fresh temporary RUN_DIR (shown as run/);
#   - the broker is the local Apache Kafka (BROKER=kafka) on WALKTHROUGH_PORT (default 9092,
#     shown as 9092); its stored data for that port are purged first, so the run starts from an
#     empty cluster, and again at the end unless WALKTHROUGH_KEEP=1;
#   - BIN_DIR, when set, replaces target/release/ (start.sh then says it builds, as it would);
#   - cargo's own progress lines (Compiling, Finished) are left out.
# Between steps, the script waits for what the next step needs (a rebalance done, a backlog
# drained), each wait with a deadline that fails with what was missing; and it checks what the
# text teaches (totals add up to the .events lines, resume at last offset + 1, no duplicate
# after a graceful stop, ...). A failed check stops the run with exit code 1.
#
# Environment: WALKTHROUGH_PORT=9092 (sections 7 and 9 also use the next two ports, and each
# Apache Kafka node its port + 1000 for its controller, or KAFKA_CONTROLLER_PORT), WALKTHROUGH_OUT=target/walkthrough, BIN_DIR,
# WALKTHROUGH_KEEP=1 (leave the run folder and the broker data for a look).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

write=0
short=0
sections=all
while [ $# -gt 0 ]; do
  argument=$1
  shift
  case "$argument" in
    --write) write=1 ;;
    --short) short=1 ;;
    --sections)
      sections=${1:-}
      shift || true
      case "$sections" in 1-6 | 7-9 | all) ;; *) echo "walkthrough.sh: --sections takes 1-6, 7-9 or all, not '$sections'" >&2; exit 2 ;; esac
      ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "walkthrough.sh: unknown argument: $argument" >&2; exit 2 ;;
  esac
done
if [ $write -eq 1 ] && { [ $short -eq 1 ] || [ "$sections" != all ]; }; then
  echo "walkthrough.sh: --write records the full run; leave out --short and --sections" >&2
  exit 2
fi

port=${WALKTHROUGH_PORT:-9092}
case "$port" in '' | *[!0-9]*) echo "walkthrough.sh: WALKTHROUGH_PORT=$port is not a port" >&2; exit 2 ;; esac
out=${WALKTHROUGH_OUT:-$root/target/walkthrough}
flood=30000
if [ $short -eq 1 ]; then flood=3000; fi
bin_dir=""
if [ -n "${BIN_DIR:-}" ]; then bin_dir=$(cd "$BIN_DIR" && pwd); fi

die() { echo "walkthrough.sh: $*" >&2; exit 1; }
for tool in jq kcat java mvn; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (see the README's prerequisites)"
done

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/walkthrough.XXXXXX")
mkdir -p "$out"
rm -f "$out"/*.txt

export RUN_DIR=$run_dir BROKER=kafka BROKER_PORT=$port KAFKA_PORT=$port
export KAFKA_BROKER=127.0.0.1:$port # for the binaries run by hand (dlq, producer)
unset TRACKER_LOG_DIR PRODUCER_ARGS PRODUCER KAFKA_NODES TRACKERS TRACKER_PROCESSING SCHEMA_VALIDATION TRACKER_PROCESSING_DELAY_MS TRACKER_METRICS_INTERVAL_MS NO_COLOR
# cargo test's library path would make kcat load the librdkafka cargo built, not the system's.
unset LD_LIBRARY_PATH
if [ -n "$bin_dir" ]; then export BIN_DIR=$bin_dir; fi

cleanup() {
  local status=$?
  RUN_DIR=$run_dir STOP_TIMEOUT=15 ./stop.sh >/dev/null 2>&1 || true
  if [ "${WALKTHROUGH_KEEP:-}" = 1 ]; then
    echo "walkthrough.sh: run folder kept: $run_dir" >&2
  else
    KAFKA_PORT=$port scripts/kafka.sh purge >/dev/null 2>&1 || true
    rm -rf "$run_dir"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What runs: the reader's command with this run's folder, port and binaries.
executed() {
  local command=$1
  command=$(printf '%s' "$command" | sed -E "s#(^|[ (=<>])run/#\1$run_dir/#g; s#127\.0\.0\.1:9092#127.0.0.1:$port#g")
  if [ -n "$bin_dir" ]; then command=${command//target\/release\//$bin_dir/}; fi
  printf '%s' "$command"
}

# What the reader sees: this run's folder, port and binaries named as the reader's.
shown() {
  local sed_program="s#$run_dir#run#g; s#RUN_DIR=run \./stop\.sh#./stop.sh#g; s#$root/##g; s#\.tools/broker/$port/#.tools/broker/9092/#g"
  sed_program+="; s#127\.0\.0\.1:$port([^0-9]|\$)#127.0.0.1:9092\1#g; s#127\.0\.0\.1:$((port + 1))([^0-9]|\$)#127.0.0.1:9093\1#g; s#127\.0\.0\.1:$((port + 2))([^0-9]|\$)#127.0.0.1:9094\1#g; s#kafka-data/$port([^0-9]|\$)#kafka-data/9092\1#g; s#port $port([^0-9]|\$)#port 9092\1#g"
  if [ -n "$bin_dir" ]; then
    sed_program+="; s#$bin_dir/#target/release/#g; s#${bin_dir#"$root"/}/#target/release/#g"
    sed_program+="; s#==> Using the binaries in .* \(BIN_DIR\)#==> Building the release binaries (cargo build --release; the first build takes a few minutes)#"
  fi
  sed -E "$sed_program" | grep -vE '^ *(Compiling|Finished|Blocking|Updating|Downloading|Downloaded|Locking) ' || true
}

step_file=""
# step NAME: the commands that follow (cmd) go into target/walkthrough/NAME.txt.
step() {
  step_file=$out/$1.txt
  : >"$step_file"
  echo "==> step $1" >&2
}

# cmd COMMAND: run it as the reader would, record "$ COMMAND" and what it printed. A command
# that fails stops the walkthrough (the README must not show a failing command).
cmd() {
  local display=$1 status=0
  # In this shell, not a subshell: a variable one command sets is there for the next.
  eval "$(executed "$display")" >"$run_dir/command.out" 2>&1 </dev/null || status=$?
  {
    printf '$ %s\n' "$display"
    shown <"$run_dir/command.out"
  } >>"$step_file"
  [ $status -eq 0 ] || {
    cat "$step_file" >&2
    die "the command above exited with $status"
  }
}

# wait_until SECONDS WHAT CONDITION: poll CONDITION (a shell command) until it holds.
wait_until() {
  local deadline=$((SECONDS + $1))
  until eval "$3" >/dev/null 2>&1; do
    [ $SECONDS -lt "$deadline" ] || die "waited $1 s for $2"
    sleep 0.5
  done
}

# check WHAT CONDITION: what the text teaches must hold in this run.
check() {
  eval "$2" >/dev/null 2>&1 || die "check failed: $1"
  echo "    ok: $1" >&2
}

logs=$run_dir/logs
# The monitor the waits below read, the one the reader's commands run (BIN_DIR's when given).
monitor=${bin_dir:-$root/target/release}/monitor
# Each tracker's current assignment (its last partitions_assigned entry) is one partition.
one_partition_each() {
  local f
  for f in "$logs"/tracker-instance-{1,2,3}.log; do
    [ "$(jq -s -c 'map(select(.kind == "partitions_assigned")) | last | .metadata.partitions | length' "$f")" = 1 ] || return 1
  done
}
# Everything the topic holds has been audited: the .events lines reach COUNT.
events_lines() { cat "$logs"/tracker-*.events 2>/dev/null | wc -l; }
metrics_after() { # FILE TIMESTAMP: a metrics entry written after TIMESTAMP
  jq -s -e --arg t "$2" 'any(.[]; .kind == "metrics" and .timestamp > $t)' "$1"
}
now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# --- From nothing ----------------------------------------------------------------------------
if [ -z "$bin_dir" ]; then
  echo "==> building the release binaries (cargo build --release --locked)" >&2
  cargo build --release --locked -p producer -p tracker -p monitor -p dlq
fi
KAFKA_PORT=$port scripts/kafka.sh status >/dev/null 2>&1 &&
  die "an Apache Kafka already runs on port $port (scripts/kafka.sh stop, or WALKTHROUGH_PORT)"

# The stored data of an earlier run go before the first recorded step, so that step always
# prints what a first start prints.
KAFKA_PORT=$port scripts/kafka.sh purge >/dev/null

# Sections 1 to 6: one Apache Kafka node, three trackers, one run folder.
sections_1_to_6() {
  # --- 0. Start ---------------------------------------------------------------------------------
  step start
  cmd './stop.sh --purge && rm -rf run/logs'
  cmd 'TRACKER_METRICS_INTERVAL_MS=5000 PRODUCER_ARGS="--rate 20" ./start.sh'
  wait_until 90 "each tracker to hold one partition" one_partition_each
  started_at=$(now)
  for i in 1 2 3; do
    wait_until 30 "a metrics entry of instance-$i" "metrics_after '$logs/tracker-instance-$i.log' '$started_at'"
  done
  # The group's committed offsets: the trackers commit every 5 s.
  sleep 1

  # --- 1. Competing consumers ------------------------------------------------------------------
  step competing-consumers
  cmd 'target/release/monitor --dir run/logs --once | head -15'
  step assignments
  cmd 'for f in run/logs/tracker-*.log; do jq -s -c '"'"'map(select(.kind == "partitions_assigned")) | last | {instance_id, partitions: .metadata.partitions}'"'"' $f; done'
  step consumer-groups
  cmd 'scripts/kafka.sh tool consumer-groups --bootstrap-server 127.0.0.1:9092 --describe --group order-tracker | sort -k3n | sed "s/ *$//"'

  # --- 2. Kill an instance ---------------------------------------------------------------------
  step kill
  killed_at=$(now)
  cmd 'kill -9 $(cat run/pids/instance-2.pid)'
  taken_over() { # partition 1 assigned to instance-1 or instance-3 after the kill
    cat "$logs"/tracker-instance-{1,3}.log |
      jq -s -e --arg t "$killed_at" 'any(.[]; .kind == "partitions_assigned" and .timestamp > $t and (.metadata.partitions | length) == 2)'
  }
  wait_until 60 "another tracker to take over instance-2's partition" taken_over
  step takeover
  cmd 'jq -r '"'"'select(.kind | test("partitions_")) | "\(.timestamp[11:23])  \(.instance_id)  \(.kind)  \(.metadata.partitions)"'"'"' run/logs/tracker-*.log | sort'
  step restart-missing
  restarted_at=$(now)
  cmd './start.sh'
  wait_until 60 "instance-2 to rejoin and the group to settle" \
    "jq -s -e --arg t '$restarted_at' 'any(.[]; .kind == \"partitions_assigned\" and .timestamp > \$t)' '$logs/tracker-instance-2.log' && one_partition_each"
  step rejoin
  cmd 'jq -r '"'"'select(.kind | test("partitions_")) | "\(.timestamp[11:23])  \(.instance_id)  \(.kind)  \(.metadata.partitions)"'"'"' run/logs/tracker-*.log | sort | tail -6'
  step duplicates
  cmd 'jq -s '"'"'group_by("\(.kafka_partition)/\(.kafka_offset)") | map(select(length > 1)) | length'"'"' run/logs/tracker-*.events'
  cmd './analyze_logs.sh run/logs | grep -E "duplicate deliveries|missing offsets"'
  check "no offset missing after the SIGKILL" \
    "./analyze_logs.sh '$logs' | grep -E '^ *missing offsets +0 '"

  # --- 3. A flood ------------------------------------------------------------------------------
  step flood-restart
  cmd './stop.sh && mv run/logs run/logs-1-2'
  cmd 'TRACKER_PROCESSING_DELAY_MS=1 TRACKER_METRICS_INTERVAL_MS=5000 PRODUCER_ARGS="--rate 20" ./start.sh'
  wait_until 90 "each tracker to hold one partition" one_partition_each
  step flood
  flood_at=$(now)
  before_flood=$(events_lines)
  cmd "target/release/producer --count $flood --rate 0 2>/dev/null"
  drained() { # a metrics entry after the flood with lag 0 in every tracker, well after it started
    local f
    for f in "$logs"/tracker-instance-{1,2,3}.log; do
      jq -s -e --arg t "$flood_at" '[.[] | select(.kind == "metrics" and .timestamp > $t)] | (length >= 2 and (last.metadata.total_lag == 0))' "$f" >/dev/null || return 1
    done
  }
  wait_until 300 "the flood to drain (lag 0 in every tracker)" drained
  check "the flood was audited whole" "[ $(events_lines) -ge $((before_flood + flood)) ]"
  step lag
  cmd 'jq -r '"'"'select(.kind == "metrics") | "\(.timestamp[11:19])  received \(.metadata.messages_received)  lag \(.metadata.total_lag)  msg/s \(.metadata.messages_per_second)"'"'"' run/logs/tracker-instance-1.log'

  # --- 4. Poison pills -------------------------------------------------------------------------
  step poison
  poison_at=$(now)
  cmd 'for kind in invalid-json bad-amounts not-utf8 empty; do target/release/producer --poison $kind --count 1 2>/dev/null; done'
  dead_lettered() {
    [ "$(cat "$logs"/tracker-*.log | jq -c --arg t "$poison_at" 'select(.kind == "dlq_sent" and .timestamp > $t)' | wc -l)" -ge 4 ]
  }
  wait_until 60 "the 4 poison pills to be dead-lettered" dead_lettered
  cmd 'jq -c '"'"'select(.deserialized == false or .validation_error != null) | {kafka_partition, kafka_offset, poison: .headers.poison_kind, error, validation_error, raw_message_base64}'"'"' run/logs/tracker-*.events | sort -t\" -k8'
  cmd 'jq -c '"'"'select(.kind == "dlq_sent") | {instance_id, error, kind: .metadata.error_kind, dlq_offset: .metadata.dlq_offset}'"'"' run/logs/tracker-*.log | sort -t\" -k8'
  step dlq-kcat
  cmd 'kcat -C -b 127.0.0.1:9092 -t orders-dlq -e -q -f '"'"'offset %o  key %k  %S bytes\n  headers: %h\n'"'"''
  step dlq-redrive
  cmd 'target/release/dlq list'
  cmd 'target/release/dlq export --error-kind validation > bad.jsonl'
  cmd 'jq -c '"'"'.payload.order.total_cents = .payload.order.subtotal_cents + .payload.order.shipping_cents + .payload.order.tax_cents'"'"' bad.jsonl > fixed.jsonl'
  cmd 'target/release/dlq redrive --from-file fixed.jsonl'
  redriven() {
    cat "$logs"/tracker-*.events | jq -s -e 'any(.[]; .headers["dlq.redriven.from"] != null and .validation_error == null)'
  }
  wait_until 30 "the redriven order to be audited" redriven
  cmd 'jq -c '"'"'select(.headers["dlq.redriven.from"] != null) | {kafka_partition, kafka_offset, redriven_from: .headers["dlq.redriven.from"], validation_error}'"'"' run/logs/tracker-*.events'
  cmd 'target/release/dlq redrive --from-file fixed.jsonl; echo "exit code $?"'
  rm -f bad.jsonl fixed.jsonl

  # --- 5. A graceful stop ----------------------------------------------------------------------
  step stop
  cmd './stop.sh'
  step stop-totals
  cmd 'for f in run/logs/tracker-*.log; do tail -1 $f | jq -c '"'"'{instance_id, kind, signal: .metadata.signal, received: .metadata.total_messages_received}'"'"'; done'
  cmd 'cat run/logs/tracker-*.events | wc -l'
  cmd 'for f in run/logs/tracker-*.log; do tail -1 $f; done | jq -s '"'"'map(.metadata.total_messages_received) | add'"'"''
  check "the stop entries' totals add up to the .events lines" \
    "[ \"\$(for f in '$logs'/tracker-*.log; do tail -1 \$f; done | jq -s 'map(.metadata.total_messages_received) | add')\" = \"\$(events_lines | tr -d ' ')\" ]"

  # --- 6. Stop everything, start again ---------------------------------------------------------
  step resume-before
  cmd 'for p in 0 1 2; do cat run/logs/tracker-*.events | jq "select(.kafka_partition==$p) | .kafka_offset" | sort -n | tail -1; done'
  last_offsets=$(for p in 0 1 2; do cat "$logs"/tracker-*.events | jq "select(.kafka_partition==$p) | .kafka_offset" | sort -n | tail -1; done | tr '\n' ' ')
  step resume-start
  cmd 'restart=$(date -u +%FT%T.%3NZ)'
  cmd 'PRODUCER_ARGS="--rate 20" ./start.sh'
  wait_until 90 "each tracker to hold one partition" one_partition_each
  resumed() { # every partition has audited a record since the restart
    [ "$(cat "$logs"/tracker-*.events | jq -s --arg t "$restart" '[.[] | select(.timestamp > $t) | .kafka_partition] | unique | length')" = 3 ]
  }
  wait_until 60 "every partition to audit a record after the restart" resumed
  step resume-after
  cmd './stop.sh'
  cmd 'cat run/logs/tracker-*.events | jq -s -c --arg restart "$restart" '"'"'map(select(.timestamp > $restart)) | group_by(.kafka_partition) | map({partition: .[0].kafka_partition, first_offset: (map(.kafka_offset) | min)}) | .[]'"'"''
  first_offsets=$(cat "$logs"/tracker-*.events | jq -s -r --arg restart "$restart" 'map(select(.timestamp > $restart)) | group_by(.kafka_partition) | map(map(.kafka_offset) | min) | .[]' | tr '\n' ' ')
  expected_first=$(for offset in $last_offsets; do printf '%s ' $((offset + 1)); done)
  check "each partition resumed at its last offset + 1 ($expected_first)" "[ '$first_offsets' = '$expected_first' ]"
  step resume-report
  cmd './analyze_logs.sh run/logs | grep -E "duplicate deliveries|missing offsets|^ +topic|^ +orders +[0-9]+ +[0-9]"'
  check "no duplicate and no missing offset across the restart" \
    "./analyze_logs.sh '$logs' | grep -E '^ *duplicate deliveries +0 ' && ./analyze_logs.sh '$logs' | grep -E '^ *missing offsets +0 '"
}

# Sections 7 to 9: what only a real cluster shows (three Apache Kafka nodes, then exactly once)
# and a broker that checks the schema (Tansu). Each starts from a stopped system, as the README
# says; the broker's port is the same, the other two nodes on the next two ports.
sections_7_to_9() {
  # --- 7. Lose a broker ------------------------------------------------------------------------
  step cluster-start
  # What the purge says depends on what ran before (section 6's data, or none in a run of
  # sections 7 to 9 alone): it is not shown.
  cmd './stop.sh --purge >/dev/null && rm -rf run/logs'
  cmd 'BROKER=kafka KAFKA_NODES=3 TRACKER_METRICS_INTERVAL_MS=5000 PRODUCER_ARGS="--rate 50" ./start.sh'
  wait_until 120 "each tracker to hold one partition" one_partition_each
  step cluster-describe
  cmd 'scripts/kafka.sh tool topics --bootstrap-server 127.0.0.1:9092 --describe --topic orders | grep Partition: | cut -f3-6'
  step cluster-kill
  cmd 'leader=$(scripts/kafka.sh tool topics --bootstrap-server 127.0.0.1:9092 --describe --topic orders | awk '"'"'$4 == "0" {print $6}'"'"')'
  cmd 'kill -9 $(KAFKA_NODES=3 scripts/kafka.sh pid $leader)'
  # The trackers' latest metrics entries, as the monitor reads them, see the loss: every ISR down
  # to two copies, partition 0 led by another node.
  degraded() {
    "$monitor" --once --dir "$logs" 2>/dev/null | grep -E '^partition ' >"$run_dir/partitions.now" || return 1
    [ "$(grep -c 'isr 2/3' "$run_dir/partitions.now")" = 3 ] && ! grep -qE "^partition 0: leader $leader," "$run_dir/partitions.now"
  }
  # Kafka's own clocks: the controller gives up on the node after broker.session.timeout.ms (9 s),
  # a leader drops a silent follower from the ISR after replica.lag.time.max.ms (30 s), and the
  # trackers report every 5 s: about 40 s, and much more on a loaded machine.
  wait_until 180 "every partition to run on two in-sync copies, partition 0 led by another node" degraded
  step cluster-degraded
  cmd "target/release/monitor --once --dir run/logs | grep -E '^partition|^connections of instance-1'"
  step cluster-rejoin
  cmd 'KAFKA_NODES=3 scripts/kafka.sh start'
  rejoined() {
    "$monitor" --once --dir "$logs" 2>/dev/null | grep -E '^partition ' >"$run_dir/partitions.now" || return 1
    [ "$(grep -c 'isr 3/3' "$run_dir/partitions.now")" = 3 ]
  }
  wait_until 180 "node $leader to be back in every ISR" rejoined
  cmd "target/release/monitor --once --dir run/logs | grep -E '^partition'"
  step cluster-nothing-lost
  cmd './stop.sh --purge'
  cmd 'jq -c '"'"'select(.kind == "stopped") | .metadata | {sent, acknowledged, failed, lost}'"'"' run/logs/producer.log'
  cmd './analyze_logs.sh run/logs | grep -E "duplicate deliveries|missing offsets|leader changes"'
  check "no offset missing after the loss of a broker" \
    "./analyze_logs.sh '$logs' | grep -E '^ *missing offsets +0 '"
  check "every acknowledged record was audited" \
    "[ \"\$(jq -r 'select(.kind == \"stopped\") | .metadata.acknowledged' '$logs/producer.log')\" -le \"\$(cat '$logs'/tracker-*.events | jq -r '\"\\(.kafka_partition)/\\(.kafka_offset)\"' | sort -u | wc -l)\" ]"

  # --- 8. Refused at the door --------------------------------------------------------------------
  step schema-start
  cmd 'rm -rf run/logs'
  cmd 'SCHEMA_VALIDATION=on BROKER=tansu ./start.sh'
  wait_until 90 "each tracker to hold one partition" one_partition_each
  step schema-refused
  poison_at=$(now)
  cmd 'target/release/producer --poison wrong-types --count 3 --rate 0 2>/dev/null; echo "exit code $?"'
  cmd 'target/release/producer --poison bad-amounts --count 1 2>/dev/null'
  one_dead_letter() {
    [ "$(cat "$logs"/tracker-*.log | jq -c --arg t "$poison_at" 'select(.kind == "dlq_sent" and .timestamp > $t)' | wc -l)" -ge 1 ]
  }
  wait_until 60 "the order that breaks a business rule to be dead-lettered" one_dead_letter
  cmd 'target/release/dlq list'
  check "the records of the wrong shape never reached the topic" \
    "[ \"\$(scripts/kcat.sh -b 127.0.0.1:$port -C -t orders -e -q -f '%h\\n' | grep -c 'poison_kind=wrong-types')\" = 0 ]"

  # --- 9. Exactly once -----------------------------------------------------------------------
  step eos-start
  cmd './stop.sh && rm -rf run/logs'
  # Exported: the ./start.sh that restarts the killed tracker below must start the same system.
  cmd 'export BROKER=kafka TRACKERS=2 TRACKER_PROCESSING=exactly_once PRODUCER=off'
  cmd './start.sh'
  two_trackers_assigned() {
    local f
    for f in "$logs"/tracker-instance-{1,2}.log; do
      jq -s -e 'map(select(.kind == "partitions_assigned")) | last | .metadata.partitions | length > 0' "$f" >/dev/null || return 1
    done
  }
  wait_until 90 "both trackers to hold partitions" two_trackers_assigned
  step eos-run
  cmd 'target/release/producer --transactional --abort-rate 0.2 --poison-rate 0.02 --count 2000 --rate 200 --seed 3 >run/transactional.out 2>&1 &'
  eos_audited() { [ "$(cat "$logs"/tracker-instance-1.events 2>/dev/null | wc -l)" -ge 100 ]; }
  wait_until 60 "instance-1 to audit its first transactions" eos_audited
  cmd 'kill -9 $(cat run/pids/instance-1.pid) && ./start.sh | grep instance-1'
  cmd 'wait && tail -1 run/transactional.out'
  cmd 'kcat -b 127.0.0.1:9092 -C -t orders -e -q -X isolation.level=read_uncommitted | wc -l'
  cmd 'kcat -b 127.0.0.1:9092 -C -t orders -e -q -X isolation.level=read_committed | wc -l'
  committed=$(kcat -b "127.0.0.1:$port" -C -t orders -e -q -X isolation.level=read_committed | wc -l)
  eos_done() {
    "$monitor" --once --dir "$logs" 2>/dev/null | grep -qE "^exactly once: $committed records"
  }
  wait_until 120 "the trackers to audit the $committed committed records" eos_done
  step eos-effects
  cmd "target/release/monitor --once --dir run/logs | grep '^exactly once'"
  cmd 'kcat -b 127.0.0.1:9092 -C -t order-status -e -q -X isolation.level=read_committed | jq -s -c '"'"'{status_records: length, events: (map("\(.source_partition)/\(.source_offset)") | unique | length)}'"'"''
  cmd 'kcat -b 127.0.0.1:9092 -C -t orders-dlq -e -q -X isolation.level=read_committed -f '"'"'%h\n'"'"' | grep -oE "dlq\.original\.partition=[0-9]+|dlq\.original\.offset=[0-9]+" | paste -d" " - - | jq -R -s -c '"'"'split("\n") | map(select(. != "")) | {dead_letters: length, records: (unique | length)}'"'"''
  check "one status record per valid committed order, no duplicate" \
    "kcat -b 127.0.0.1:$port -C -t order-status -e -q -X isolation.level=read_committed | jq -s -e 'length == (map(\"\\(.source_partition)/\\(.source_offset)\") | unique | length)'"
  check "each committed record has exactly one effect (a status record or a dead letter)" \
    "[ \$((\$(kcat -b 127.0.0.1:$port -C -t order-status -e -q -X isolation.level=read_committed | wc -l) + \$(kcat -b 127.0.0.1:$port -C -t orders-dlq -e -q -X isolation.level=read_committed | wc -l))) = $committed ]"
  cmd './stop.sh --purge && unset BROKER TRACKERS TRACKER_PROCESSING PRODUCER'
}

case "$sections" in
  1-6) sections_1_to_6 ;;
  7-9) sections_7_to_9 ;;
  all) sections_1_to_6; sections_7_to_9 ;;
esac

echo "walkthrough.sh: every step ran and every check held; output in $(printf '%s' "$out" | sed "s#^$root/##")" >&2

# --- README ----------------------------------------------------------------------------------
# The pages whose marked blocks come from this run; the README holds every step.
if [ $write -eq 1 ]; then
  python3 - "$out" "$root/README.md" "$root/docs/operations.md" <<'EOF'
import datetime, pathlib, re, sys
out = pathlib.Path(sys.argv[1])
steps = {path.stem for path in out.glob("*.txt")}
def replace(match):
    name = match.group(1)
    body = (out / f"{name}.txt").read_text()
    return f"<!-- walkthrough:{name} -->\n```\n{body}```"
for page in map(pathlib.Path, sys.argv[2:]):
    text = page.read_text()
    markers = set(re.findall(r"<!-- walkthrough:([a-z0-9-]+) -->", text))
    if markers - steps:
        sys.exit(f"walkthrough.sh: {page.name} marks steps the run does not have: {sorted(markers - steps)}")
    if page.name == "README.md" and markers != steps:
        sys.exit(f"walkthrough.sh: steps missing from README.md: {sorted(steps - markers)}")
    new, count = re.subn(r"<!-- walkthrough:([a-z0-9-]+) -->\n```[^\n]*\n.*?^```", replace, text, flags=re.S | re.M)
    new = re.sub(r"Run on \d{4}-\d{2}-\d{2}", "Run on " + datetime.date.today().isoformat(), new)
    page.write_text(new)
    print(f"walkthrough.sh: {count} blocks of {page.name} rewritten", file=sys.stderr)
EOF
fi
