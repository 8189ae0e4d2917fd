#!/usr/bin/env bash
# Summarises the files of every tracker instance in one folder: what was received, what failed,
# duplicate deliveries and offset gaps, per instance and per partition, the DLQ and retries,
# revenue, top customers and products, orders by status and payment method, the last metrics
# and the last errors.
#
#   ./analyze_logs.sh [DIR]      DIR defaults to run/logs when it exists, else the current folder
#
# Reads tracker-*.events and tracker-*.log (JSON lines, see the README). It is fast on big
# files: one jq pass per file turns each line into a few tab-separated fields (files are spread
# over the CPUs), then awk and sort aggregate. It never writes into DIR.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./analyze_logs.sh [DIR]

Summarises every tracker instance's tracker-*.events and tracker-*.log in DIR
(default: run/logs when it exists, else the current folder):
  messages received, deserialized, failed to deserialize, validation errors,
  duplicate deliveries (same partition and offset seen twice), offset gaps,
  counts per instance and per partition, DLQ sends, retries,
  revenue and average basket (valid order.created events, each order once),
  top 5 customers, top 5 products, orders by status and by payment method,
  the last metrics entry per instance and the last 5 errors.

Needs jq (sudo apt-get install jq / brew install jq).
Exit status: 0 on success, 1 when jq is missing or DIR holds no tracker files.
EOF
}

die() { echo "analyze_logs.sh: $*" >&2; exit 1; }

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  -*) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

if [ $# -eq 1 ]; then
  dir=$1
elif [ -d run/logs ]; then
  dir=run/logs
else
  dir=.
fi
[ -d "$dir" ] || die "no such folder: $dir"

if ! command -v jq >/dev/null 2>&1; then
  cat >&2 <<'EOF'
analyze_logs.sh: jq is required but was not found in PATH.
Install it, then run this script again:
  Debian/Ubuntu:  sudo apt-get install jq
  Fedora/RHEL:    sudo dnf install jq
  macOS:          brew install jq
EOF
  exit 1
fi

shopt -s nullglob
events_files=("$dir"/tracker-*.events)
log_files=("$dir"/tracker-*.log)
if [ ${#events_files[@]} -eq 0 ] && [ ${#log_files[@]} -eq 0 ]; then
  die "no tracker files (tracker-*.events, tracker-*.log) in $dir
Start the system with ./start.sh (files land in run/logs), or pass the folder that holds them."
fi

export LC_ALL=C
tab=$(printf '\t')
tmp=$(mktemp -d "${TMPDIR:-/tmp}/analyze_logs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
jobs=$(nproc 2>/dev/null || echo 2)
# ANALYZE_TIMING=1 prints how long each stage took, on stderr.
stage_start=$(date +%s.%N)
stage() {
  [ -z "${ANALYZE_TIMING:-}" ] && return 0
  local now; now=$(date +%s.%N)
  awk -v a="$stage_start" -v b="$now" -v what="$1" 'BEGIN { printf "analyze_logs.sh: %-28s %6.2f s\n", what, b - a }' >&2
  stage_start=$now
}

# ---------------------------------------------------------------------------------------------
# Pass 1 (jq, once per line): every .events line becomes one "E" row, plus one "I" row per item
# of an order.created event. The program is kept flat on purpose: jq's time goes into parsing,
# and every branch here costs as much again; awk makes the decisions.
#   E inst topic partition offset deserialized no_validation_error status order_id total customer name method
#   I product_id product_name quantity
# A line that is not a JSON object (say, half-written) gives an E row with an empty partition.
# shellcheck disable=SC2016 # jq programs, not shell expansions
events_program='
((fromjson? | objects) // {}) as $e | $e.order_full as $o
| ["E", $inst, $e.kafka_topic, $e.kafka_partition, $e.kafka_offset, $e.deserialized, $e.validation_error == null,
   $e.status, $e.order_id, $o.total_cents, $o.customer.customer_id, $o.customer.name, $o.payment.method],
  (if $e.status == "created" then $o.items[]? | ["I", .product_id, .name, .quantity] else empty end)
| @tsv'

# Pass 1 over the .log files:
#   K inst kind level
#   M inst timestamp uptime received processed failed success_rate msg_per_s lag retries dlq dups partitions
#   R timestamp inst kind text                (level ERROR only)
# shellcheck disable=SC2016
logs_program='
def inst: $inst;
def num: if . == null then "-" else tostring end;
(fromjson? // null) as $l
| if ($l | type) != "object" then ["X", inst]
  else
    ["K", inst, ($l.kind // "?"), ($l.level // "?")],
    (if $l.kind == "metrics" then
       ($l.metadata // {}) as $m
       | ["M", inst, ($l.timestamp // "?"), ($m.uptime_seconds | num), ($m.messages_received | num),
          ($m.messages_processed | num), ($m.messages_failed | num), ($m.success_rate_percent | num),
          ($m.messages_per_second | num), ($m.total_lag | num), ($m.retries | num), ($m.dlq_sent | num),
          ($m.duplicates | num),
          ([($m.partitions // [])[] | .partition | tostring] | if length == 0 then "-" else join(",") end)]
     else empty end),
    (if $l.level == "ERROR" then
       ["R", ($l.timestamp // "?"), inst, ($l.kind // "?"),
        (($l.error // $l.message // "") | if length > 110 then .[0:107] + "..." else . end)]
     else empty end)
  end
| @tsv'

# jq's time goes into parsing, so the parts of an .events line that are never needed here are
# cut before jq sees them: the raw payload (half of the line) and the two addresses. Inside a
# JSON string every '"' is escaped, so '","raw_message_base64":' after '"raw_message":"' is
# the end of the payload string, and ',"created_at":"' after ',"shipping_address":{' ends the
# addresses; a line of another shape is passed through unchanged.
# shellcheck disable=SC2016 # an awk program
export ANALYZE_STRIP='{
  line = $0
  s = index(line, "\"raw_message\":\"")
  if (s > 0) {
    rest = substr(line, s + 15)
    e = index(rest, "\",\"raw_message_base64\":")
    if (e > 0) line = substr(line, 1, s + 14) substr(rest, e)
  }
  s = index(line, ",\"shipping_address\":{")
  if (s > 0) {
    rest = substr(line, s)
    e = index(rest, ",\"created_at\":\"")
    if (e > 0) line = substr(line, 1, s - 1) substr(rest, e)
  }
  print line
}'
export ANALYZE_EVENTS_PROGRAM=$events_program ANALYZE_LOGS_PROGRAM=$logs_program

# Big files are cut at line ends into pieces of about CHUNK bytes, so every CPU parses its own
# piece; each piece writes its own output, named so that the rows keep the files' line order.
chunk_bytes=${ANALYZE_CHUNK_BYTES:-33554432}
plan() { # kind files... -> "kind file instance start length output" per piece
  local kind=$1 file size start cut rest piece=0
  shift
  for file in "$@"; do
    size=$(wc -c <"$file" | tr -d ' ')
    start=0
    while [ "$start" -lt "$size" ]; do
      cut=$((start + chunk_bytes))
      if [ "$cut" -ge "$size" ]; then
        cut=$size
      else
        # The line holding byte $cut goes to this piece.
        rest=$(tail -c +"$((cut + 1))" "$file" | awk '{ print length($0); exit }' || true)
        cut=$((cut + ${rest:-0} + 1))
        [ "$cut" -le "$size" ] || cut=$size
      fi
      local instance=${file##*/tracker-}
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$file" "${instance%.*}" "$start" "$((cut - start))" \
        "$tmp/$kind.$(printf '%08d' "$piece")"
      start=$cut
      piece=$((piece + 1))
    done
  done
}
# shellcheck disable=SC2016 # the worker script expands its own arguments
worker='
kind=$1 file=$2 instance=$3 start=$4 length=$5 output=$6
if [ "$kind" = events ]; then program=$ANALYZE_EVENTS_PROGRAM; else program=$ANALYZE_LOGS_PROGRAM; fi
tail -c +"$((start + 1))" "$file" | head -c "$length" | awk "$ANALYZE_STRIP" |
  jq -R -r --arg inst "$instance" "$program" >"$output"
'
{
  plan events "${events_files[@]}"
  plan logs "${log_files[@]}"
} >"$tmp/plan.tsv"
tr '\t\n' '\0\0' <"$tmp/plan.tsv" | xargs -0 -n 6 -P "$jobs" bash -c "$worker" analyze-worker ||
  die "could not read the files (see the messages above)"
stage "jq over the files"
: >"$tmp/events.tsv"
: >"$tmp/logs.tsv"
for f in "$tmp"/events.[0-9]*; do cat "$f" >>"$tmp/events.tsv"; rm -f "$f"; done
for f in "$tmp"/logs.[0-9]*; do cat "$f" >>"$tmp/logs.tsv"; rm -f "$f"; done

# ---------------------------------------------------------------------------------------------
stage "gathering the rows"
# Pass 2 (awk over the rows): counters, per instance, per order.
awk -F '\t' -v out="$tmp" '
function rank(s) {
  return s == "created" ? 0 : s == "paid" ? 1 : s == "shipped" ? 2 : s == "delivered" ? 3 : s == "cancelled" ? 4 : -1
}
$1 == "E" && $4 == "" { unreadable++; inst_bad[$2]++; instances[$2] = 1; counting = 0; next }
$1 == "E" {
  i = $2; instances[i] = 1
  received++; inst_received[i]++
  print $3 "\t" $4 "\t" $5 "\t" i > (out "/offsets.tsv")
  ok = $6 == "true"
  if (ok) { deserialized++; inst_deser[i]++ } else { undeserializable++; inst_undeser[i]++ }
  if (ok && $7 == "false") { invalid++; inst_invalid[i]++ }
  counting = 0
  if (ok && $7 == "true") {
    valid++
    id = $9
    r = rank($8)
    if (!(id in furthest) || r > rank(furthest[id])) furthest[id] = $8
    if (!(id in method) && $13 != "") method[id] = $13
    if ($8 == "created" && !(id in created)) {
      created[id] = 1; counting = 1
      orders++; revenue += $10
      customer_revenue[$11] += $10; customer_orders[$11]++; customer_name[$11] = $12
    }
  }
  next
}
$1 == "I" && counting {
  product_quantity[$2] += $4; product_orders[$2]++; product_name[$2] = $3
  next
}
END {
  printf "received\t%.0f\ndeserialized\t%.0f\nundeserializable\t%.0f\ninvalid\t%.0f\nvalid\t%.0f\n", \
    received, deserialized, undeserializable, invalid, valid > (out "/totals.tsv")
  printf "unreadable\t%.0f\norders\t%.0f\nrevenue\t%.0f\n", unreadable, orders, revenue > (out "/totals.tsv")
  for (i in instances)
    printf "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\n", i, inst_received[i], inst_deser[i], inst_undeser[i], \
      inst_invalid[i], inst_bad[i] > (out "/instances.tsv")
  for (c in customer_revenue)
    printf "%s\t%.0f\t%.0f\t%s\n", c, customer_revenue[c], customer_orders[c], customer_name[c] > (out "/customers.tsv")
  for (p in product_quantity)
    printf "%s\t%.0f\t%.0f\t%s\n", p, product_quantity[p], product_orders[p], product_name[p] > (out "/products.tsv")
  for (id in furthest) status_count[furthest[id]]++
  for (s in status_count) printf "%s\t%.0f\n", s, status_count[s] > (out "/status.tsv")
  for (id in method) method_count[method[id]]++
  for (m in method_count) printf "%s\t%.0f\n", m, method_count[m] > (out "/methods.tsv")
}' "$tmp/events.tsv"
touch "$tmp/offsets.tsv" "$tmp/totals.tsv" "$tmp/instances.tsv" "$tmp/customers.tsv" \
  "$tmp/products.tsv" "$tmp/status.tsv" "$tmp/methods.tsv"

# Duplicates and gaps: sort every (topic, partition, offset) once, then walk each partition.
stage "awk over the rows"
sort -t "$tab" -k1,1 -k2,2n -k3,3n -S 25% "$tmp/offsets.tsv" | awk -F '\t' -v out="$tmp" '
function flush() {
  if (key == "") return
  printf "%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%s\n", topic, part, n, distinct, first, last, dups, \
    missing, (ranges == "" ? "-" : ranges), readers > (out "/partitions.tsv")
  total_dups += dups; total_missing += missing
}
{
  k = $1 "\t" $2
  if (k != key) {
    flush()
    key = k; topic = $1; part = $2; n = 0; distinct = 0; dups = 0; missing = 0; ranges = ""; nranges = 0
    first = $3; prev = ""; readers = ""; delete seen_reader
  }
  n++
  if (!($4 in seen_reader)) { seen_reader[$4] = 1; readers = readers (readers == "" ? "" : ",") $4 }
  if (prev != "" && $3 == prev) { dups++; next }
  if (prev != "" && $3 > prev + 1) {
    missing += $3 - prev - 1
    nranges++
    if (nranges <= 3) ranges = ranges (ranges == "" ? "" : " ") (prev + 1 == $3 - 1 ? sprintf("%.0f", prev + 1) : sprintf("%.0f-%.0f", prev + 1, $3 - 1))
    else if (nranges == 4) ranges = ranges " ..."
  }
  distinct++; prev = $3; last = $3
}
END {
  flush()
  printf "duplicates\t%.0f\nmissing\t%.0f\n", total_dups, total_missing > (out "/totals.tsv.offsets")
}'
touch "$tmp/partitions.tsv" "$tmp/totals.tsv.offsets"

stage "offsets: duplicates and gaps"
# Log rows: counts per instance and kind, last metrics per instance, errors.
awk -F '\t' -v out="$tmp" '
$1 == "X" { unreadable++; next }
$1 == "K" { count[$2 "\t" $3]++; instances[$2] = 1; kinds[$3]++; next }
$1 == "M" { line = $3; for (f = 4; f <= NF; f++) line = line "\t" $f; metrics[$2] = line; next }
$1 == "R" { print $2 "\t" $3 "\t" $4 "\t" $5 > (out "/errors.tsv"); next }
END {
  split("dlq_sent retry_scheduled processing_failed dlq_failed duplicate_skipped out_of_order kafka_error commit_failed partitions_assigned stopped", wanted, " ")
  for (i in instances) {
    line = i
    for (w = 1; w <= 10; w++) line = line "\t" (count[i "\t" wanted[w]] + 0)
    print line > (out "/log_instances.tsv")
  }
  for (k in kinds) printf "%s\t%.0f\n", k, kinds[k] > (out "/kinds.tsv")
  for (i in metrics) print i "\t" metrics[i] > (out "/metrics.tsv")
  printf "log_unreadable\t%.0f\n", unreadable > (out "/totals.tsv.logs")
}' "$tmp/logs.tsv"
touch "$tmp/log_instances.tsv" "$tmp/kinds.tsv" "$tmp/metrics.tsv" "$tmp/errors.tsv" "$tmp/totals.tsv.logs"

# ---------------------------------------------------------------------------------------------
stage "log rows"
# Report.
total() { awk -F '\t' -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? 0 : v) }' "$tmp"/totals.tsv*; }
kind() { awk -F '\t' -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? 0 : v) }' "$tmp/kinds.tsv"; }
eur() { awk -v c="$1" 'BEGIN { s = c < 0 ? "-" : ""; if (c < 0) c = -c; e = int(c / 100); printf "%s%.0f.%02d", s, e, c - e * 100 }'; }
section() { printf '\n== %s\n' "$1"; }
row() { # label value [note]
  if [ -n "${3:-}" ]; then printf '  %-34s %12s  %s\n' "$1" "$2" "$3"; else printf '  %-34s %12s\n' "$1" "$2"; fi
}

received=$(total received)
orders=$(total orders)
revenue=$(total revenue)
instances=$(cut -f1 "$tmp/instances.tsv" "$tmp/log_instances.tsv" | sort -u | paste -sd ' ' -)

printf 'Tracker files in %s: %d .events, %d .log; instances: %s\n' \
  "$dir" "${#events_files[@]}" "${#log_files[@]}" "${instances:-none}"

section "Messages (.events)"
row "received" "$received"
row "deserialized" "$(total deserialized)"
row "failed to deserialize" "$(total undeserializable)"
row "validation errors" "$(total invalid)" "parsed, but break a business rule"
row "duplicate deliveries" "$(total duplicates)" "same topic, partition and offset seen again"
row "missing offsets" "$(total missing)" "gaps between the first and last offset seen"
[ "$(total unreadable)" = 0 ] || row "unreadable lines" "$(total unreadable)" "not JSON (half-written?)"

section "Failures and recovery (.log)"
row "sent to the DLQ" "$(kind dlq_sent)" "dlq_sent"
row "DLQ sends that failed" "$(kind dlq_failed)" "dlq_failed"
row "retries" "$(kind retry_scheduled)" "retry_scheduled"
row "processing failures" "$(kind processing_failed)" "processing_failed"
row "duplicate events skipped" "$(kind duplicate_skipped)" "duplicate_skipped (same event id)"
row "events out of lifecycle order" "$(kind out_of_order)" "out_of_order"
row "Kafka errors" "$(kind kafka_error)" "kafka_error"
row "failed commits" "$(kind commit_failed)" "commit_failed"
row "partition assignments" "$(kind partitions_assigned)" "partitions_assigned (rebalances)"
[ "$(total log_unreadable)" = 0 ] || row "unreadable log lines" "$(total log_unreadable)" "not JSON"

section "Per instance"
printf '  %-20s %10s %10s %9s %8s %6s %8s %9s %8s\n' instance received deserial. undeser. invalid dlq retries proc.fail stopped
join -t "$tab" -a1 -a2 -e 0 -o 0,1.2,1.3,1.4,1.5,2.2,2.3,2.4,2.11 \
  <(sort -t "$tab" -k1,1 "$tmp/instances.tsv") <(sort -t "$tab" -k1,1 "$tmp/log_instances.tsv") |
  awk -F '\t' '{ printf "  %-20s %10s %10s %9s %8s %6s %8s %9s %8s\n", $1, $2, $3, $4, $5, $6, $7, $8, ($9 > 0 ? "yes" : "no") }'

section "Per partition"
printf '  %-12s %5s %10s %10s %10s %10s %6s %8s  %-20s %s\n' topic part received distinct first last dups missing "gaps" "read by"
sort -t "$tab" -k1,1 -k2,2n "$tmp/partitions.tsv" |
  awk -F '\t' '{ printf "  %-12s %5s %10s %10s %10s %10s %6s %8s  %-20s %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'

section "Revenue (valid order.created events, each order once)"
row "orders" "$orders"
row "revenue" "$(eur "$revenue") EUR"
if [ "$orders" -gt 0 ]; then
  row "average basket" "$(awk -v r="$revenue" -v n="$orders" 'BEGIN { c = int(r / n + 0.5); printf "%.0f.%02d", int(c / 100), c % 100 }') EUR"
else
  row "average basket" "-"
fi

section "Top 5 customers by revenue"
sort -t "$tab" -k2,2nr -k1,1 "$tmp/customers.tsv" | awk 'NR <= 5' |
  awk -F '\t' '{ e = int($2 / 100); printf "  %-12s %12s EUR %6s orders  %s\n", $1, sprintf("%.0f.%02d", e, $2 - e * 100), $3, $4 }'

section "Top 5 products by quantity"
sort -t "$tab" -k2,2nr -k1,1 "$tmp/products.tsv" | awk 'NR <= 5' |
  awk -F '\t' '{ printf "  %-12s %8s units %6s orders  %s\n", $1, $2, $3, $4 }'

section "Orders by status (furthest status seen per order)"
awk -F '\t' '{ r = $1 == "created" ? 0 : $1 == "paid" ? 1 : $1 == "shipped" ? 2 : $1 == "delivered" ? 3 : $1 == "cancelled" ? 4 : 5
  print r "\t" $0 }' "$tmp/status.tsv" | sort -n | awk -F '\t' '{ printf "  %-34s %12s\n", $2, $3 }'

section "Orders by payment method"
sort -t "$tab" -k2,2nr "$tmp/methods.tsv" | awk -F '\t' '{ printf "  %-34s %12s\n", $1, $2 }'

section "Last metrics per instance"
if [ -s "$tmp/metrics.tsv" ]; then
  printf '  %-20s %-24s %8s %9s %9s %7s %8s %7s %6s %7s %5s %s\n' \
    instance time uptime_s received processed failed success% msg/s lag retries dlq partitions
  sort "$tmp/metrics.tsv" | awk -F '\t' '
    function fixed(v, digits) { return v == "-" ? v : sprintf("%." digits "f", v) }
    { printf "  %-20s %-24s %8s %9s %9s %7s %8s %7s %6s %7s %5s %s\n",
      $1, $2, fixed($3, 0), $4, $5, $6, fixed($7, 2), fixed($8, 1), $9, $10, $11, $13 }'
else
  echo "  (no metrics entry yet: one is written every metrics interval, 30 s by default)"
fi

section "Last 5 errors"
if [ -s "$tmp/errors.tsv" ]; then
  sort -t "$tab" -k1,1 "$tmp/errors.tsv" | tail -5 |
    awk -F '\t' '{ printf "  %-24s %-16s %-22s %s\n", $1, $2, $3, $4 }'
else
  echo "  (none)"
fi
