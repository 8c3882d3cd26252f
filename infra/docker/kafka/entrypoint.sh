#!/bin/bash
# Single-node KRaft Kafka (broker + controller in one JVM) for containers,
# from the pinned jars in /opt/kafka/libs and Parley's own scripts in
# /opt/parley/infra/kafka (the same ones `make run` uses). Creates Parley's
# topics once the broker answers (infra/kafka/create-topics.sh: pinned
# partition count), then marks itself ready for the healthcheck.
#
# Listeners: PLAINTEXT :9092 (clients, advertised as PARLEY_KAFKA_ADVERTISED),
# CONTROLLER 127.0.0.1:9093, LOCAL 127.0.0.1:9094 (tools inside the container).
# Env:
#   PARLEY_KAFKA_ADVERTISED   host:port clients are told to use (default $(hostname):9092)
#   PARLEY_KAFKA_NODE_ID      node.id (1)
#   PARLEY_KAFKA_HEAP         JVM heap flags (-Xmx512m -Xms256m)
#   PARLEY_KAFKA_DATA         data directory (/var/lib/kafka)
#   PARLEY_KAFKA_CREATE_TOPICS  1 (default) creates parley.events, .sessions,
#                             .ephemeral and .presence (create-topics.sh)
#   PARLEY_PARTITIONS, PARLEY_{EVENTS,SESSIONS,EPHEMERAL,PRESENCE}_TOPIC
#                             as create-topics.sh
#   KAFKA_CFG_SOME_PROPERTY=v  adds some.property=v to server.properties
set -euo pipefail
INFRA=/opt/parley/infra/kafka
export PARLEY_KAFKA_HOME=${PARLEY_KAFKA_HOME:-/opt/kafka}
DATA=${PARLEY_KAFKA_DATA:-/var/lib/kafka}
READY=/tmp/parley-kafka.ready

case "${1:-broker}" in
    broker) rm -f "$READY" ;;
    tool) shift; PARLEY_KAFKA_PORT=9094 . "$INFRA/env.sh"; kafka_tool "$@"; exit ;;
    *) exec "$@" ;;
esac

# The scripts in $INFRA talk to 127.0.0.1:$PARLEY_KAFKA_PORT: the LOCAL listener.
export PARLEY_KAFKA_PORT=9094 PARLEY_KAFKA_CONTROLLER_PORT=9093
. "$INFRA/env.sh"

adv=${PARLEY_KAFKA_ADVERTISED:-$(hostname):9092}
mkdir -p "$DATA"
props=$DATA/server.properties
logdir=$DATA/log
cat > "$props" <<PROPS
process.roles=broker,controller
node.id=${PARLEY_KAFKA_NODE_ID:-1}
controller.quorum.voters=${PARLEY_KAFKA_NODE_ID:-1}@127.0.0.1:9093
listeners=PLAINTEXT://0.0.0.0:9092,LOCAL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://$adv,LOCAL://127.0.0.1:9094
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,LOCAL:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=LOCAL
controller.listener.names=CONTROLLER
log.dirs=$logdir
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
num.partitions=32
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
PROPS
# KAFKA_CFG_LOG_RETENTION_HOURS=1 -> log.retention.hours=1 (later lines win)
while IFS='=' read -r k v; do
    [[ $k == KAFKA_CFG_* ]] || continue
    key=$(echo "${k#KAFKA_CFG_}" | tr 'A-Z_' 'a-z.')
    echo "$key=$v" >> "$props"
done < <(env)

if [ ! -f "$logdir/meta.properties" ]; then
    idfile=$DATA/cluster.id
    [ -s "$idfile" ] || head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' > "$idfile"
    kafka_tool kafka.tools.StorageTool format --ignore-formatted -t "$(cat "$idfile")" -c "$props"
fi

# shellcheck disable=SC2086  # heap flags are word-split on purpose
java ${PARLEY_KAFKA_HEAP:--Xmx512m -Xms256m} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$INFRA/log4j2.properties" \
    -cp "$PARLEY_KAFKA_HOME/libs/*" kafka.Kafka "$props" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' TERM INT

if [ "${PARLEY_KAFKA_CREATE_TOPICS:-1}" = 1 ]; then
    if PARLEY_KAFKA_WAIT=${PARLEY_KAFKA_WAIT:-120} "$INFRA/wait.sh" && "$INFRA/create-topics.sh"; then
        touch "$READY"
    else
        echo "kafka: topic creation failed, stopping the broker" >&2
        kill -TERM $pid 2>/dev/null || true
    fi
else
    "$INFRA/wait.sh" && touch "$READY" || true
fi

# `wait` returns early when a trapped signal arrives; keep waiting for the JVM.
rc=0
while kill -0 $pid 2>/dev/null; do wait $pid && rc=0 || rc=$?; done
exit $rc
