#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM) for development and CI,
# without Docker: only java (17+) and mvn are needed. The official jars come from Maven Central.
#
#   scripts/kafka.sh fetch                              download the jars (once; cached)
#   scripts/kafka.sh start [--port 9092] [--dir DIR]    fresh broker; prints 127.0.0.1:PORT last on stdout
#   scripts/kafka.sh status [--port P] [--dir DIR]      exit 0 if running and answering
#   scripts/kafka.sh stop [--dir DIR]                   SIGTERM, SIGKILL after 20 s; exit 0 if not running
#   scripts/kafka.sh restart [--dir DIR]                start a stopped broker again, with its data
#   scripts/kafka.sh topics [--dir DIR] -- ARGS...      kafka-topics (TopicCommand), e.g. -- --list
#
# Env: SALESFLOW_KAFKA_PORT (default 9092; the controller takes PORT+1), SALESFLOW_KAFKA_HOME (jar cache,
# default ~/.cache/salesflow/kafka-VERSION). Default DIR: ${TMPDIR:-/tmp}/salesflow-kafka.
# Logs: DIR/logs/server.log (broker), DIR/logs/tools.log (CLI tools).
set -euo pipefail

KAFKA_VERSION=4.3.1 # passed to scripts/kafka/pom.xml as -Dkafka.version
CONF=$(cd "$(dirname "${BASH_SOURCE[0]}")/kafka" && pwd)
KAFKA_HOME=${SALESFLOW_KAFKA_HOME:-$HOME/.cache/salesflow/kafka-$KAFKA_VERSION}
LIBS=$KAFKA_HOME/libs
PORT=${SALESFLOW_KAFKA_PORT:-}
DIR=${TMPDIR:-/tmp}/salesflow-kafka
START_TIMEOUT=90
STOP_TIMEOUT=20
# A fixed cluster id (base64url of "salesflow-kafka1"): every start formats a fresh log dir anyway.
CLUSTER_ID=c2FsZXNmbG93LWthZmthMQ

die() { echo "kafka.sh: $*" >&2; exit 1; }
say() { echo "kafka.sh: $*" >&2; }

# Downloads the jars unless the cache already holds them for this version and this pom.
fetch() {
  local stamp
  stamp="$KAFKA_VERSION $(sha256sum <"$CONF/pom.xml" | cut -c1-64)"
  [[ -f $LIBS/.stamp && $(<"$LIBS/.stamp") == "$stamp" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found: install Maven 3.8+ (e.g. apt-get install maven)"
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  rm -rf "$LIBS.tmp" && mkdir -p "$KAFKA_HOME"
  # Into a temporary dir first, so an interrupted download never looks like a complete cache.
  mvn -q -B -Dstyle.color=never -f "$CONF/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" >&2 ||
    die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies (see above)"
  echo "$stamp" >"$LIBS.tmp/.stamp"
  rm -rf "$LIBS" && mv "$LIBS.tmp" "$LIBS"
}

# Sets JAVA to the java command line for Kafka classes from the cached jars, logging to DIR/logs/$1.
java_cmd() {
  command -v java >/dev/null || die "java not found: install a JDK 17+"
  JAVA=(java -Djava.awt.headless=true -Dkafka.logs.dir="$DIR/logs" -Dkafka.log.file="$1"
    -Dlog4j2.configurationFile="$CONF/log4j2.properties" -Dlog4j2.shutdownHookEnabled=false -cp "$LIBS/*")
}
# Short-lived CLI tools: small heap, and the C1 JIT only, which starts faster.
TOOL_OPTS=(-Xmx256m -XX:TieredStopAtLevel=1)

pid() { cat "$DIR/kafka.pid" 2>/dev/null; }
# True while the pid file names a live Kafka JVM (not some other process that reused the pid).
# -ww: a set COLUMNS (pytest sets it) would cut the long java command line before kafka.Kafka.
alive() { local p; p=$(pid) && ps -ww -p "$p" -o args= 2>/dev/null | grep -q 'kafka\.Kafka'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The broker really answers: it is in the cluster metadata and serves ApiVersions.
answering() {
  port_open "$PORT" || return 1
  java_cmd tools.log
  timeout 30 "${JAVA[@]}" "${TOOL_OPTS[@]}" org.apache.kafka.tools.BrokerApiVersionsCommand \
    --bootstrap-server "127.0.0.1:$PORT" >/dev/null 2>&1
}

stop() {
  alive || { rm -f "$DIR/kafka.pid"; say "not running (dir $DIR)"; return 0; }
  local p; p=$(pid)
  say "stopping broker (pid $p)"
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do alive || break; sleep 0.2; done
  if alive; then
    say "still running after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$p" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$DIR/kafka.pid"
}

# Prints why the start failed and the end of the broker's log, stops what is left, exits non-zero.
start_failed() {
  say "$1"
  for f in "$DIR/logs/server.log" "$DIR/logs/stdout.log"; do
    [[ -s $f ]] && { echo "---- tail of $f" >&2; tail -n 40 "$f" >&2; }
  done
  stop >/dev/null 2>&1 || true
  exit 1
}

start() {
  fetch
  alive && { say "a broker is already running in $DIR: restarting it fresh"; stop; }
  local cport=$((PORT + 1))
  for p in "$PORT" "$cport"; do
    port_open "$p" && die "port $p on 127.0.0.1 is already in use (try --port)"
  done
  # Never wipe a dir that this script did not make (e.g. a mistyped --dir $HOME).
  if [[ -e $DIR && ! -e $DIR/.salesflow-kafka && -n $(ls -A "$DIR" 2>/dev/null) ]]; then
    die "$DIR exists, is not empty and was not made by kafka.sh: refusing to wipe it"
  fi
  rm -rf "$DIR" && mkdir -p "$DIR/logs" && touch "$DIR/.salesflow-kafka"
  echo "$PORT" >"$DIR/port"
  sed -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$cport|g" -e "s|@DATA_DIR@|$DIR/data|g" \
    "$CONF/server.properties.template" >"$DIR/server.properties"
  # `kafka-storage format`: writes meta.properties and the bootstrap metadata (the KRaft requirement).
  java_cmd tools.log
  "${JAVA[@]}" "${TOOL_OPTS[@]}" kafka.tools.StorageTool format --cluster-id "$CLUSTER_ID" \
    --config "$DIR/server.properties" >"$DIR/logs/format.log" 2>&1 ||
    { cat "$DIR/logs/format.log" >&2; die "formatting the KRaft log dir failed"; }
  launch
}

# Starts the broker of an existing DIR again (after `stop`), with the topics and data it had.
restart() {
  [[ -e $DIR/.salesflow-kafka && -f $DIR/server.properties ]] ||
    die "$DIR holds no broker made by kafka.sh start: nothing to restart"
  alive && die "the broker of $DIR is still running (pid $(pid))"
  PORT=$(cat "$DIR/port")
  fetch
  launch
}

# Runs the broker of DIR in the background and waits until it answers.
launch() {
  # 1 GiB heap: plenty for tests, polite on a shared 2-core machine. G1 as Kafka's own start script uses.
  java_cmd server.log
  nohup "${JAVA[@]}" -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    kafka.Kafka "$DIR/server.properties" </dev/null >>"$DIR/logs/stdout.log" 2>&1 &
  echo $! >"$DIR/kafka.pid"
  local deadline=$((SECONDS + START_TIMEOUT))
  until answering; do
    alive || start_failed "the broker exited during startup"
    ((SECONDS < deadline)) || start_failed "the broker did not answer within ${START_TIMEOUT}s"
    sleep 1
  done
  say "broker $KAFKA_VERSION up (pid $(pid), dir $DIR, log $DIR/logs/server.log)"
  echo "127.0.0.1:$PORT"
}

status() {
  [[ -n $PORT ]] || PORT=$(cat "$DIR/port" 2>/dev/null || echo 9092)
  alive || die "not running (dir $DIR)"
  answering || die "running (pid $(pid)) but not answering on 127.0.0.1:$PORT"
  say "running (pid $(pid)) and answering on 127.0.0.1:$PORT"
}

topics() {
  [[ -n $PORT ]] || PORT=$(cat "$DIR/port" 2>/dev/null || echo 9092)
  fetch
  mkdir -p "$DIR/logs"
  java_cmd tools.log
  "${JAVA[@]}" "${TOOL_OPTS[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" "$@"
}

cmd=${1:-}; (($#)) && shift
while (($#)); do
  case $1 in
    --port) PORT=${2:?--port needs a value}; shift 2 ;;
    --dir) DIR=${2:?--dir needs a value}; shift 2 ;;
    --) shift; break ;;
    *) die "unknown argument '$1' (usage: see the top of $0)" ;;
  esac
done
DIR=$(realpath -m "$DIR") # the broker and the pid file must not depend on the caller's cwd
[[ -z $PORT || ($PORT =~ ^[0-9]+$ && PORT -ge 1 && PORT -le 65534) ]] ||
  die "--port must be a number from 1 to 65534 (PORT+1 is the controller's), got '$PORT'"
case $cmd in
  fetch) fetch ;;
  start) PORT=${PORT:-9092}; start ;;
  stop) stop ;;
  restart) restart ;;
  status) status ;;
  topics) topics "$@" ;;
  *) die "usage: $0 fetch | start [--port P] [--dir DIR] | stop [--dir DIR] | restart [--dir DIR] | status | topics -- ARGS" ;;
esac
