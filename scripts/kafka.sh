#!/usr/bin/env bash
# Apache Kafka without Docker: the broker's own jars from Maven Central (scripts/kafka/pom.xml),
# run with the machine's Java, KRaft mode, every node both broker and controller, 127.0.0.1 only.
#
#   scripts/kafka.sh install        fetch Apache Kafka into .tools/kafka/VERSION/libs (once; Maven)
#   scripts/kafka.sh available      exit 0 when Java 17+ and Maven (or the installed jars) are here
#   scripts/kafka.sh start          start the cluster in the background, wait until it answers
#   scripts/kafka.sh stop           SIGTERM (controlled shutdown; three nodes: a clean shutdown of
#                                   each, see write_properties), SIGKILL after KAFKA_STOP_TIMEOUT
#   scripts/kafka.sh status         say whether it runs (exit 0) or not (exit 1)
#   scripts/kafka.sh purge          delete the stored data (records, topics, committed offsets,
#                                   cluster id, SCRAM users); refuses while it runs
#   scripts/kafka.sh run [NODE]     run node NODE (default 1) in the foreground (exec java):
#                                   formats its storage first when it is new. The tests use it.
#   scripts/kafka.sh bootstrap      print the bootstrap addresses (host:port,...)
#   scripts/kafka.sh pid NODE       print the pid of a running node
#   scripts/kafka.sh tool NAME ARGS run one of Kafka's own tools: consumer-groups, topics,
#                                   configs, metadata-quorum, producer-perf-test,
#                                   consumer-perf-test, console-consumer, storage
#   scripts/kafka.sh version        print the pinned version
#
# Environment:
#   KAFKA_PORT=9092              client port of node 1; node N listens on KAFKA_PORT+N-1
#   KAFKA_CONTROLLER_PORT        controller (KRaft quorum) port of node 1 (default KAFKA_PORT+1000);
#                                node N on KAFKA_CONTROLLER_PORT+N-1
#   KAFKA_NODES=1                1, or 3 for a cluster of three quorum voters
#   KAFKA_DATA_DIR               where each node keeps its settings, data, log and pid
#                                (default .tools/kafka-data/KAFKA_PORT; node N in node-N/)
#   KAFKA_HEAP=512m              -Xms and -Xmx of each node
#   KAFKA_SCRAM_USERS            "name=password,..." created as SCRAM-SHA-512 users when the
#                                storage is formatted; the client listener then requires
#                                SASL_PLAINTEXT with SCRAM-SHA-512
#   KAFKA_CONFIG_EXTRA           more server.properties lines (newline-separated key=value)
#   KAFKA_WAIT_S=60              how long start waits for every node to answer
#   KAFKA_STOP_TIMEOUT=30        seconds stop waits for a controlled shutdown before SIGKILL
#   JAVA_HOME                    the Java to use (default: java on PATH)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pom="$root/scripts/kafka/pom.xml"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
home="$root/.tools/kafka/$version"
libs="$home/libs"
port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-$((port + 1000))}
nodes=${KAFKA_NODES:-1}
data_root=${KAFKA_DATA_DIR:-$root/.tools/kafka-data/$port}
heap=${KAFKA_HEAP:-512m}
stop_timeout=${KAFKA_STOP_TIMEOUT:-30}

die() { echo "kafka.sh: $*" >&2; exit 1; }
usage_error() { echo "kafka.sh: $*" >&2; exit 2; }

case "$nodes" in 1 | 3) ;; *) usage_error "KAFKA_NODES=$nodes is not supported: use 1 or 3" ;; esac
for value in "$port" "$controller_port" "$stop_timeout"; do
  case "$value" in '' | *[!0-9]*) usage_error "KAFKA_PORT, KAFKA_CONTROLLER_PORT and KAFKA_STOP_TIMEOUT take whole numbers, not '$value'" ;; esac
done
case "$heap" in [0-9]*[mMgG]) ;; *) usage_error "KAFKA_HEAP=$heap is not a heap size: use e.g. 512m or 1g" ;; esac

java_bin() {
  if [ -n "${JAVA_HOME:-}" ]; then echo "$JAVA_HOME/bin/java"; else command -v java || true; fi
}

# The major version of the Java that would run the broker, or nothing.
java_major() {
  local java; java=$(java_bin)
  [ -n "$java" ] && [ -x "$java" ] || return 0
  "$java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p'
}

installed() { [ -f "$home/complete" ]; }

available() {
  local major; major=$(java_major)
  [ -n "$major" ] && [ "$major" -ge 17 ] && { installed || command -v mvn >/dev/null 2>&1; }
}

install() {
  if installed; then
    echo "Apache Kafka $version already installed: $(show_path "$home")"
    return
  fi
  local major; major=$(java_major)
  [ -n "$major" ] || die "Java is needed to run Apache Kafka (apt-get install openjdk-17-jre-headless), or set JAVA_HOME"
  [ "$major" -ge 17 ] || die "Apache Kafka $version needs Java 17 or newer; $(java_bin) is Java $major (set JAVA_HOME)"
  command -v mvn >/dev/null 2>&1 || die "Maven is needed to fetch Apache Kafka from Maven Central (apt-get install maven)"
  echo "Installing Apache Kafka $version from Maven Central into $(show_path "$home") (about 55 MB, once) ..."
  rm -rf "$home"
  mkdir -p "$home"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" \
    >"$home/install.log" 2>&1 || { cat "$home/install.log" >&2; die "Maven could not fetch Apache Kafka $version (output above)"; }
  [ -f "$libs/kafka_2.13-$version.jar" ] || die "Maven finished, but $libs holds no kafka_2.13-$version.jar"
  touch "$home/complete"
  echo "Apache Kafka $version installed: $(show_path "$libs") ($(ls "$libs" | wc -l) jars)"
}

show_path() { case "$1" in "$root"/*) printf '%s\n' "${1#"$root"/}" ;; *) printf '%s\n' "$1" ;; esac; }

node_dir() { echo "$data_root/node-$1"; }
client_port_of() { echo $((port + $1 - 1)); }
controller_port_of() { echo $((controller_port + $1 - 1)); }

bootstrap() {
  local node list=()
  for node in $(seq 1 "$nodes"); do list+=("127.0.0.1:$(client_port_of "$node")"); done
  (IFS=,; echo "${list[*]}")
}

# A cluster id as Kafka makes them (16 random bytes, base64url, 22 characters), never one that
# starts with '-', which a command line would read as an option.
new_cluster_id() {
  local id
  while id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); [ "${id#-}" != "$id" ]; do :; done
  printf '%s' "$id"
}

sasl_enabled() { [ -n "${KAFKA_SCRAM_USERS:-}" ] || [ -f "$data_root/sasl" ]; }

# server.properties of node $1. With SASL, clients and brokers authenticate with SCRAM-SHA-512;
# the brokers as a user of their own, made at format time.
write_properties() {
  local node=$1 dir voters="" other protocol=PLAINTEXT
  dir=$(node_dir "$node")
  for other in $(seq 1 "$nodes"); do
    voters="${voters:+$voters,}$other@127.0.0.1:$(controller_port_of "$other")"
  done
  if sasl_enabled; then protocol=SASL_PLAINTEXT; fi
  local replication=1 min_isr=1
  if [ "$nodes" -eq 3 ]; then replication=3; min_isr=2; fi
  umask 077
  {
    echo "# Written by scripts/kafka.sh at each start; edit KAFKA_CONFIG_EXTRA instead."
    echo "process.roles=broker,controller"
    echo "node.id=$node"
    echo "controller.quorum.voters=$voters"
    echo "listeners=CLIENT://127.0.0.1:$(client_port_of "$node"),CONTROLLER://127.0.0.1:$(controller_port_of "$node")"
    echo "advertised.listeners=CLIENT://127.0.0.1:$(client_port_of "$node")"
    echo "listener.security.protocol.map=CLIENT:$protocol,CONTROLLER:PLAINTEXT"
    echo "inter.broker.listener.name=CLIENT"
    echo "controller.listener.names=CONTROLLER"
    echo "log.dirs=$dir/data"
    # Internal topics as replicated as the cluster allows.
    echo "offsets.topic.replication.factor=$replication"
    echo "transaction.state.log.replication.factor=$replication"
    echo "transaction.state.log.min.isr=$min_isr"
    echo "share.coordinator.state.topic.replication.factor=$replication"
    echo "share.coordinator.state.topic.min.isr=$min_isr"
    echo "default.replication.factor=$replication"
    echo "min.insync.replicas=$min_isr"
    # Consumers join at once instead of waiting 3 s for others: quicker demos and tests.
    echo "group.initial.rebalance.delay.ms=0"
    # KIP-848 groups (group.protocol=consumer): the broker's session timeout, 6 s like the
    # trackers' classic one (Kafka's default is 45 s, its floor too), heartbeats every 2 s.
    echo "group.consumer.min.session.timeout.ms=6000"
    echo "group.consumer.session.timeout.ms=6000"
    echo "group.consumer.min.heartbeat.interval.ms=2000"
    echo "group.consumer.heartbeat.interval.ms=2000"
    # Topics are created on purpose (start.sh, the producer's --create-topics), never by a typo.
    echo "auto.create.topics.enable=false"
    # Three nodes are stopped together (stop stops them all). With controlled shutdown, a
    # broker asks the controller quorum to move its leaders away before it goes; when the other
    # nodes have already left, no quorum answers and it waits 5 minutes (measured: 307 s for the
    # last node, 2026-12-05). Without it each node still closes its logs cleanly, in seconds.
    # (A lost node is the drills' and the walkthrough's subject: they kill it with SIGKILL.)
    if [ "$nodes" -eq 3 ]; then echo "controlled.shutdown.enable=false"; fi
    if sasl_enabled; then
      echo "sasl.enabled.mechanisms=SCRAM-SHA-512"
      echo "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512"
      echo "listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"kafka-broker\" password=\"$(cat "$data_root/broker-password")\";"
    fi
    if [ -n "${KAFKA_CONFIG_EXTRA:-}" ]; then printf '%s\n' "$KAFKA_CONFIG_EXTRA"; fi
  } >"$dir/server.properties"
  cat >"$dir/log4j2.yaml" <<'EOF'
# Kafka's own messages that say what a node does (start, stop, elections); the rest at WARN.
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: INFO
      - name: kafka.server.BrokerServer
        level: INFO
      - name: kafka.server.ControllerServer
        level: INFO
      - name: org.apache.kafka.controller.QuorumController
        level: INFO
EOF
}

# Formats node $1's storage once: the cluster id (shared by the nodes, kept in KAFKA_DATA_DIR),
# the static quorum, and the SCRAM users.
format() {
  local node=$1 dir args=()
  dir=$(node_dir "$node")
  [ -f "$dir/data/meta.properties" ] && return 0
  if [ ! -f "$data_root/cluster-id" ]; then
    # Nodes started together race here: the id is written aside, then linked into place, which
    # fails when another node got there first; every node then reads the one that won.
    new_cluster_id >"$data_root/cluster-id.$node"
    ln "$data_root/cluster-id.$node" "$data_root/cluster-id" 2>/dev/null || true
    rm -f "$data_root/cluster-id.$node"
  fi
  if sasl_enabled; then
    local user
    args+=(--add-scram "SCRAM-SHA-512=[name=kafka-broker,password=$(cat "$data_root/broker-password")]")
    IFS=, read -r -a users <<<"${KAFKA_SCRAM_USERS:-}"
    for user in "${users[@]}"; do
      [ -n "$user" ] || continue
      case "$user" in *=*) ;; *) usage_error "KAFKA_SCRAM_USERS takes name=password pairs separated by commas" ;; esac
      args+=(--add-scram "SCRAM-SHA-512=[name=${user%%=*},password=${user#*=}]")
    done
  fi
  "$(java_bin)" -Xmx256m -cp "$libs/*" -Dlog4j2.configurationFile="$dir/log4j2.yaml" kafka.tools.StorageTool format \
    -t "$(cat "$data_root/cluster-id")" -c "$dir/server.properties" "${args[@]}" >"$dir/format.log" 2>&1 ||
    { cat "$dir/format.log" >&2; die "formatting node $node's storage failed (output above)"; }
}

# Prepares node $1 and replaces this shell with its JVM, so the caller's pid (and its
# parent-death signal, in the tests) is the broker's.
run() {
  local node=${1:-1}
  case "$node" in '' | *[!0-9]*) usage_error "run takes a node number from 1 to $nodes" ;; esac
  [ "$node" -ge 1 ] && [ "$node" -le "$nodes" ] || usage_error "node $node does not exist: KAFKA_NODES=$nodes"
  installed || install >&2
  local dir; dir=$(node_dir "$node")
  mkdir -p "$dir"
  chmod 700 "$data_root" "$dir"
  if [ -n "${KAFKA_SCRAM_USERS:-}" ] && [ ! -f "$data_root/sasl" ]; then
    [ ! -f "$dir/data/meta.properties" ] || die "KAFKA_SCRAM_USERS is set, but $(show_path "$data_root") was formatted without SASL: purge it first"
    (umask 077; new_cluster_id >"$data_root/broker-password"; touch "$data_root/sasl")
  fi
  write_properties "$node"
  format "$node"
  cd "$dir"
  exec "$(java_bin)" "-Xms$heap" "-Xmx$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.yaml" -cp "$libs/*" kafka.Kafka "$dir/server.properties"
}

answers_on() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid of node $1 when it runs the broker: the same process, started at the time recorded.
node_pid() {
  local dir pid started
  dir=$(node_dir "$1")
  [ -f "$dir/kafka.pid" ] || return 1
  read -r pid started <"$dir/kafka.pid" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ "$(process_start "$pid")" = "$started" ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qx kafka.Kafka || return 1
  echo "$pid"
}

# When process $1 started, in clock ticks since boot (field 22 of /proc/PID/stat): with the pid,
# it names one process, even after the pid is reused.
process_start() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  # Field 22 of the line is the 20th after the command name.
  awk '{print $20}' <<<"$stat"
}

start() {
  installed || install
  mkdir -p "$data_root"
  local node pid dir started=()
  for node in $(seq 1 "$nodes"); do
    if pid=$(node_pid "$node"); then
      echo "Node $node already runs (pid $pid, 127.0.0.1:$(client_port_of "$node"))"
      continue
    fi
    for check in "$(client_port_of "$node")" "$(controller_port_of "$node")"; do
      ! answers_on "$check" || die "something else listens on 127.0.0.1:$check; set KAFKA_PORT (and KAFKA_CONTROLLER_PORT) to free ports"
    done
    dir=$(node_dir "$node")
    mkdir -p "$dir"
    setsid "$0" run "$node" >>"$dir/kafka.log" 2>&1 </dev/null &
    pid=$!
    # The process start time makes the pid file name this process only.
    sleep 0.1
    echo "$pid $(process_start "$pid")" >"$dir/kafka.pid"
    started+=("$node")
  done
  local deadline=$((SECONDS + ${KAFKA_WAIT_S:-60}))
  for node in "${started[@]}"; do
    dir=$(node_dir "$node")
    until answers_on "$(client_port_of "$node")"; do
      if ! kill -0 "$(cut -d' ' -f1 "$dir/kafka.pid")" 2>/dev/null; then
        rm -f "$dir/kafka.pid"
        tail -n 20 "$dir/kafka.log" >&2
        die "node $node exited during start-up (the end of $(show_path "$dir/kafka.log") is above)"
      fi
      [ $SECONDS -lt $deadline ] || die "node $node did not answer on 127.0.0.1:$(client_port_of "$node") within ${KAFKA_WAIT_S:-60} s; see $(show_path "$dir/kafka.log")"
      sleep 0.2
    done
  done
  for node in $(seq 1 "$nodes"); do
    dir=$(node_dir "$node")
    echo "Apache Kafka $version node $node running on 127.0.0.1:$(client_port_of "$node") (pid $(node_pid "$node" || echo '?'), data $(show_path "$dir/data"), log $(show_path "$dir/kafka.log"))"
  done
}

stop() {
  local node pid pids=() stopped=0 shutdown_kind="controlled shutdown"
  [ "$nodes" -eq 1 ] || shutdown_kind="clean shutdown"
  for node in $(seq 1 "$nodes"); do
    if pid=$(node_pid "$node"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$node:$pid")
    else
      rm -f "$(node_dir "$node")/kafka.pid"
    fi
  done
  [ ${#pids[@]} -gt 0 ] || { echo "No Apache Kafka node started by this script runs on port $port"; return 0; }
  local deadline=$((SECONDS + stop_timeout)) entry
  for entry in "${pids[@]}"; do
    node=${entry%%:*}
    pid=${entry#*:}
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      echo "Apache Kafka node $node killed after $stop_timeout s (pid $pid)"
    else
      echo "Apache Kafka node $node stopped (pid $pid, $shutdown_kind)"
      stopped=$((stopped + 1))
    fi
    rm -f "$(node_dir "$node")/kafka.pid"
  done
}

status() {
  local node pid code=0
  for node in $(seq 1 "$nodes"); do
    if pid=$(node_pid "$node"); then
      echo "node $node running on 127.0.0.1:$(client_port_of "$node") (pid $pid, Apache Kafka $version, cluster id $(cat "$data_root/cluster-id" 2>/dev/null || echo unknown))"
    else
      echo "node $node not running (port $(client_port_of "$node"))"
      code=1
    fi
  done
  return $code
}

purge() {
  local node
  for node in $(seq 1 "$nodes"); do
    if node_pid "$node" >/dev/null; then die "node $node still runs: stop it first (./stop.sh, or scripts/kafka.sh stop)"; fi
  done
  if [ -d "$data_root" ]; then
    local size; size=$(du -sh "$data_root" 2>/dev/null | cut -f1)
    rm -rf "$data_root"
    echo "Deleted the stored data of Apache Kafka on port $port ($size in $(show_path "$data_root"): records, topics, committed offsets, cluster id)"
  else
    echo "No stored data for Apache Kafka on port $port ($(show_path "$data_root") does not exist)"
  fi
}

# Runs one of Kafka's own command-line tools (what bin/kafka-<name>.sh runs), quietly logged.
tool() {
  local name=${1:-} class
  [ -n "$name" ] || usage_error "tool takes a name: consumer-groups, topics, configs, metadata-quorum, producer-perf-test, consumer-perf-test, console-consumer, storage"
  shift
  case "$name" in
    consumer-groups) class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    topics) class=org.apache.kafka.tools.TopicCommand ;;
    configs) class=kafka.admin.ConfigCommand ;;
    metadata-quorum) class=org.apache.kafka.tools.MetadataQuorumCommand ;;
    producer-perf-test) class=org.apache.kafka.tools.ProducerPerformance ;;
    consumer-perf-test) class=org.apache.kafka.tools.ConsumerPerformance ;;
    console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    storage) class=kafka.tools.StorageTool ;;
    *) usage_error "no tool named '$name': use consumer-groups, topics, configs, metadata-quorum, producer-perf-test, consumer-perf-test, console-consumer or storage" ;;
  esac
  installed || install >&2
  # The admin tools start fast with the first JIT tier only; the perf tests measure, so they
  # get the full JIT and room for their buffers.
  local jvm=(-Xmx256m -XX:TieredStopAtLevel=1)
  case "$name" in *-perf-test) jvm=(-Xmx512m) ;; esac
  exec "$(java_bin)" "${jvm[@]}" -Dlog4j2.level=WARN -cp "$libs/*" "$class" "$@"
}

case "${1:-}" in
  -h | --help) sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  install) install ;;
  available) available ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  purge) purge ;;
  run) shift; run "$@" ;;
  bootstrap) bootstrap ;;
  pid) node_pid "${2:-1}" ;;
  tool) shift; tool "$@" ;;
  version) echo "$version" ;;
  *) echo "usage: scripts/kafka.sh install|available|start|stop|status|purge|run [NODE]|bootstrap|pid NODE|tool NAME [ARGS]|version" >&2; exit 2 ;;
esac
