#!/usr/bin/env bash
# Fetch the Kafka broker + tools jars from Maven Central into
# $PARLEY_KAFKA_HOME/libs. Idempotent: a verified install is left alone.
set -eu
. "$(dirname "$0")/env.sh"

verify() {
    # kafka.sha256 pins the main jar independently of Maven's own checksum
    # files (mvn -C only proves the download matches what Central serves).
    (cd "$KAFKA_LIBS" && sha256sum --quiet -c "$KAFKA_INFRA_DIR/kafka.sha256")
}

if [ -f "$PARLEY_KAFKA_HOME/.fetched" ] && verify 2>/dev/null; then
    echo "kafka: $KAFKA_VERSION already fetched in $KAFKA_LIBS"
    exit 0
fi

# Download into a scratch dir and swap in at the end, so an interrupted
# fetch never leaves a half-populated libs/ that looks complete.
mkdir -p "$PARLEY_KAFKA_HOME"
tmp="$PARLEY_KAFKA_HOME/libs.tmp"
rm -rf "$tmp"
mvn -q -B -C -Dstyle.color=never -f "$KAFKA_INFRA_DIR/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime
rm -rf "$KAFKA_LIBS"
mv "$tmp" "$KAFKA_LIBS"
verify
touch "$PARLEY_KAFKA_HOME/.fetched"
echo "kafka: fetched $KAFKA_VERSION ($(ls "$KAFKA_LIBS" | wc -l) jars) into $KAFKA_LIBS"
