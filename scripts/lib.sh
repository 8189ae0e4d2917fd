# Helpers shared by start.sh and stop.sh (sourced, not run). Each script sets `root` (the
# repository's folder) before sourcing this file.

# A path given relative is relative to where the script was called from.
absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

# A shorter path for messages when it lies under the repository.
show() { case "$1" in "$root"/*) printf '%s\n' "${1#"$root"/}" ;; *) printf '%s\n' "$1" ;; esac; }

# The command line of a process, NULs as spaces; empty when it is gone (or a zombie).
cmdline() {
  if [ -r "/proc/$1/cmdline" ]; then tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true
  else ps -p "$1" -o args= 2>/dev/null || true; fi
}

# Whether process $1 is alive and runs the binary named $2. A zombie has an empty command line,
# so it counts as gone; a recycled PID runs something else, so it does not count either.
runs() {
  local args
  kill -0 "$1" 2>/dev/null || return 1
  args=$(cmdline "$1")
  args=${args%% *}
  [ "${args##*/}" = "$2" ]
}

# Whether the PID in pid file $1 runs the binary named $2. Removes the PID file when it is stale.
running() {
  local pid_file=$1 binary=$2 pid
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file" 2>/dev/null || true)
  if [[ "$pid" =~ ^[0-9]+$ ]] && runs "$pid" "$binary"; then return 0; fi
  rm -f "$pid_file"
  return 1
}

# The broker start.sh records in RUN_DIR/broker, one line: "kafka PORT NODES" (the local
# Apache Kafka), "tansu PORT" (the local Tansu; "local PORT ..." from older versions),
# "compose" or "external BOOTSTRAP". Sets record_mode and, for a local broker, record_port (and
# record_nodes for Apache Kafka), or record_bootstrap for an external one.
read_broker_record() {
  local mode rest
  read -r mode rest <"$1" || true
  record_mode=$mode
  record_port=""
  record_nodes=1
  record_bootstrap=""
  case "$mode" in
    kafka)
      record_port=${rest%% *}
      case "$rest" in *" "*) record_nodes=${rest#* } ;; esac
      ;;
    tansu | local)
      record_mode=tansu
      record_port=${rest%% *}
      ;;
    external) record_bootstrap=$rest ;;
  esac
}
