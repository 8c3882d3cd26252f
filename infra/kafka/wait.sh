#!/usr/bin/env bash
# Block until the broker serves requests, or fail after
# PARLEY_KAFKA_WAIT seconds (default 180: a loaded 2-core box is slow to start a JVM).
set -eu
. "$(dirname "$0")/env.sh"
limit=${PARLEY_KAFKA_WAIT:-180}
end=$((SECONDS + limit))

# Cheap phase first: poll the TCP port from bash, no JVM per attempt.
until (exec 3<>"/dev/tcp/127.0.0.1/$PARLEY_KAFKA_PORT") 2>/dev/null; do
    [ $SECONDS -lt $end ] || { echo "kafka: port $PARLEY_KAFKA_PORT not open after ${limit}s" >&2; exit 1; }
    sleep 0.5
done

# An open port is not a ready broker; one real metadata round-trip is.
# The admin client retries internally, bounded by the remaining budget.
left=$((end - SECONDS)); [ $left -ge 5 ] || left=5
cfg=$(mktemp); trap 'rm -f "$cfg"' EXIT
echo "default.api.timeout.ms=$((left * 1000))" > "$cfg"
if timeout "$((left + 5))" bash -c '. "$1"; kafka_tool org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$2" --list' _ \
        "$KAFKA_INFRA_DIR/env.sh" "$cfg" >/dev/null; then
    echo "kafka: ready on $KAFKA_BOOTSTRAP"
else
    echo "kafka: broker on $KAFKA_BOOTSTRAP not ready after ${limit}s" >&2; exit 1
fi
