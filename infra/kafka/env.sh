# Sourced by the other scripts: one place for paths/versions so fetch,
# start and tools can never disagree about where the jars live.
# shellcheck shell=bash
KAFKA_VERSION=4.3.1
KAFKA_MAIN_JAR="kafka_2.13-${KAFKA_VERSION}.jar"
KAFKA_INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PARLEY_ROOT=$(cd "$KAFKA_INFRA_DIR/../.." && pwd)
PARLEY_KAFKA_HOME=${PARLEY_KAFKA_HOME:-$PARLEY_ROOT/.parley/kafka}
PARLEY_KAFKA_PORT=${PARLEY_KAFKA_PORT:-9092}
PARLEY_KAFKA_CONTROLLER_PORT=${PARLEY_KAFKA_CONTROLLER_PORT:-9093}
PARLEY_KAFKA_DATA=${PARLEY_KAFKA_DATA:-$PARLEY_ROOT/.parley/data/kafka}
PARLEY_KAFKA_HEAP=${PARLEY_KAFKA_HEAP:--Xmx512m -Xms256m}
KAFKA_LIBS="$PARLEY_KAFKA_HOME/libs"
KAFKA_BOOTSTRAP="127.0.0.1:$PARLEY_KAFKA_PORT"

# Run a Kafka CLI class. Tools get a small heap and no JIT tiers beyond C1:
# they are short-lived, and JVM start-up dominates on 2 cores.
kafka_tool() {
    java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
        -Dlog4j2.configurationFile="$KAFKA_INFRA_DIR/log4j2-tools.properties" \
        -cp "$KAFKA_LIBS/*" "$@"
}
