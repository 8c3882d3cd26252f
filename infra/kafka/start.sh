#!/usr/bin/env bash
# Run a single-node KRaft Kafka (broker+controller in one JVM) in the
# foreground. Meant to be run by a supervisor: exec means SIGTERM goes
# straight to the JVM, whose shutdown hook stops the broker cleanly.
set -eu
. "$(dirname "$0")/env.sh"

[ -f "$KAFKA_LIBS/$KAFKA_MAIN_JAR" ] || {
    echo "kafka: jars missing, run infra/kafka/fetch.sh first" >&2; exit 1; }

mkdir -p "$PARLEY_KAFKA_DATA"
props="$PARLEY_KAFKA_DATA/server.properties"
logdir="$PARLEY_KAFKA_DATA/log"

# Regenerated on every start so port/env changes take effect; the data in
# log/ is what must persist, not this file. PARLEY_KAFKA_ADVERTISED_PORT is
# the port clients are told to use after bootstrap (default: the listener;
# tests/integration/test_netfaults.py puts a proxy there).
cat > "$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$PARLEY_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PARLEY_KAFKA_PORT,CONTROLLER://127.0.0.1:$PARLEY_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:${PARLEY_KAFKA_ADVERTISED_PORT:-$PARLEY_KAFKA_PORT}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$logdir
# Single node: every internal topic must fit on one replica or the
# coordinators (groups, transactions, share groups) never come up.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
num.partitions=32
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
PROPS

# Format once. The cluster id is kept next to the data so re-formatting a
# wiped log/ (or formatting after a crash mid-format) reuses the same id.
if [ ! -f "$logdir/meta.properties" ]; then
    idfile="$PARLEY_KAFKA_DATA/cluster.id"
    if [ ! -s "$idfile" ]; then
        # Kafka cluster ids are 16 random bytes, base64url without padding.
        head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' > "$idfile"
    fi
    kafka_tool kafka.tools.StorageTool format --ignore-formatted \
        -t "$(cat "$idfile")" -c "$props"
fi

# shellcheck disable=SC2086  # heap is intentionally word-split
exec java $PARLEY_KAFKA_HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_INFRA_DIR/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$props"
