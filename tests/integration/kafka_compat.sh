#!/usr/bin/env bash
# Build and run the librdkafka <-> broker compatibility check. Expects a
# broker already running (infra/kafka/start.sh) at $PARLEY_KAFKA_BROKERS.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046  # pkg-config output must word-split
${CC:-cc} -std=c11 -Wall -Wextra -Werror -O1 -o "$tmp/kafka_compat" \
    "$here/kafka_compat.c" $(pkg-config --cflags --libs rdkafka)
"$tmp/kafka_compat"
