#!/usr/bin/env bash
# Create Parley's topics if missing. Partition count is part of the data
# contract (key -> partition mapping), so it is pinned, never defaulted.
set -eu
. "$(dirname "$0")/env.sh"
events=${PARLEY_EVENTS_TOPIC:-parley.events}
sessions=${PARLEY_SESSIONS_TOPIC:-parley.sessions}
ephemeral=${PARLEY_EPHEMERAL_TOPIC:-parley.ephemeral}
presence=${PARLEY_PRESENCE_TOPIC:-parley.presence}
parts=${PARLEY_PARTITIONS:-32}

create() { # topic, then --config k=v pairs
    t=$1; shift
    # --if-not-exists does not reconcile an existing topic's partitions or
    # configs; changing those is a deliberate migration, not a startup step.
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
        --create --if-not-exists --topic "$t" --partitions "$parts" \
        --replication-factor 1 "$@"
    echo "kafka: topic $t ok"
}

# Events are the source of truth: never expire them.
create "$events" --config cleanup.policy=delete --config retention.ms=-1
# Sessions are rebuildable: keep one week (7 * 24 * 3600 * 1000 ms).
create "$sessions" --config cleanup.policy=delete --config retention.ms=604800000
# Typing and other live-only signals (key = conversation id): read from the
# end by pushers, never projected; a minute is plenty.
create "$ephemeral" --config cleanup.policy=delete --config retention.ms=60000
# Presence: the latest socket count per (user, pusher instance) and each
# instance's heartbeat. Compacted, so a starting pusher or auth replays
# current state, not history; tombstones live an hour, segments roll
# hourly so compaction can act on them.
create "$presence" --config cleanup.policy=compact --config segment.ms=3600000 \
    --config delete.retention.ms=3600000 --config min.compaction.lag.ms=0
