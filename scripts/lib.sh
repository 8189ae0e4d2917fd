# Helpers shared by start.sh and stop.sh (sourced, not run). Each script sets `root` (the
# repository's folder) before sourcing this file.

# A path given relative is relative to where the script was called from.
absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

# A shorter path for messages when it lies under the repository.
show() { case "$1" in "$root"/*) printf '%s\n' "${1#"$root"/}" ;; *) printf '%s\n' "$1" ;; esac; }

# When process $1 started, in clock ticks since boot (field 22 of /proc/PID/stat); empty when
# it is gone. With the pid it names one process: a recycled pid has another start time.
start_time() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  # Field 22 of the line is the 20th after the command name (which may hold spaces).
  set -- $stat
  printf '%s\n' "${20:-}"
}

# The file name of the program process $1 runs (from /proc/PID/exe, so a path with spaces is
# read whole); empty when it is gone, a zombie, or not ours to inspect.
exe_name() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 0
  exe=${exe% (deleted)}
  printf '%s\n' "${exe##*/}"
}

# The folder of the program process $1 runs.
exe_dir() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 0
  exe=${exe% (deleted)}
  printf '%s\n' "${exe%/*}"
}

# Whether process $1 is alive and runs the binary named $2 and, when $3 is given, is the one
# that started at that time: a recycled pid runs something else, or started later.
runs() {
  kill -0 "$1" 2>/dev/null || return 1
  [ "$(exe_name "$1")" = "$2" ] || return 1
  [ -z "${3:-}" ] || [ "$(start_time "$1")" = "$3" ]
}

# Writes pid file $1 (NAME.pid) for process $2: the pid alone, as `kill $(cat NAME.pid)`
# expects, and its start time beside it in NAME.start.
record_pid() {
  printf '%s\n' "$2" >"$1"
  start_time "$2" >"${1%.pid}.start"
}

# Removes pid file $1 and its start time.
forget_pid() { rm -f "$1" "${1%.pid}.start"; }

# Reads pid file $1 into pid_value and its start time into pid_started (empty when there is
# none, as from an older version). Returns 1 when it holds no pid.
read_pid_file() {
  pid_value=""
  pid_started=""
  [ -f "$1" ] || return 1
  read -r pid_value _ <"$1" 2>/dev/null || true
  [[ "$pid_value" =~ ^[0-9]+$ ]] || return 1
  if [ -f "${1%.pid}.start" ]; then read -r pid_started <"${1%.pid}.start" 2>/dev/null || true; fi
  [[ "${pid_started:-0}" =~ ^[0-9]+$ ]] || pid_started=""
}

# Whether the process of pid file $1 runs the binary named $2. Removes the pid file when it
# is stale.
running() {
  local pid_file=$1 binary=$2
  [ -f "$pid_file" ] || return 1
  if read_pid_file "$pid_file" && runs "$pid_value" "$binary" "$pid_started"; then return 0; fi
  forget_pid "$pid_file"
  return 1
}

# One start.sh or stop.sh at a time on run folder $1: holds a lock (flock on $1/.lock, file
# descriptor 9, released when the script ends, however it ends) or dies naming the holder.
# Children that outlive the script must not inherit it: start them with 9>&-.
lock_run_dir() {
  local lock=$1/.lock holder
  mkdir -p "$1"
  [ ! -L "$lock" ] || die "$(show "$lock") is a symbolic link; remove it"
  exec 9>>"$lock"
  if ! flock -n 9; then
    holder=$(tr -dc '0-9' <"$lock" 2>/dev/null | head -c 10)
    die "another start.sh or stop.sh (pid ${holder:-unknown}) is running on $(show "$1"); wait for it to finish"
  fi
  printf '%s\n' "$$" >"$lock"
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
