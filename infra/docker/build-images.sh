#!/usr/bin/env bash
# Build every Parley image offline (no registry): the Debian base first
# (build-base.sh), then runtime, web, kafka and postgres on top of it.
#   infra/docker/build-images.sh [runtime|web|kafka|postgres ...]
# Env: PARLEY_TAG (default local), PARLEY_BASE_IMAGE, PARLEY_CONTEXT (build
# context, default the repo root), DOCKER (default /usr/bin/docker),
# PARLEY_NO_CACHE=1 (build every layer again: a cold build's time; apt's
# download cache mount still applies).
# Prints one "image NAME SIZE SECONDS" line per image.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CTX=${PARLEY_CONTEXT:-$ROOT}
TAG=${PARLEY_TAG:-local}
BASE=${PARLEY_BASE_IMAGE:-parley/bookworm-slim:local}
DOCKER=${DOCKER:-/usr/bin/docker}
export DOCKER_BUILDKIT=1 BUILDKIT_PROGRESS=plain
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(runtime web kafka postgres)

PARLEY_BASE_IMAGE=$BASE "$ROOT/infra/docker/build-base.sh"

web_root() {
    # The built web client when there is one, else the placeholder page.
    if [ -f "$CTX/web/dist/index.html" ]; then echo web/dist; else echo infra/local/www; fi
}

build() { # name dockerfile [build args...]
    local name=$1 file=$2; shift 2
    local t0=$SECONDS log
    log=$(mktemp)
    if [ -n "${PARLEY_NO_CACHE:-}" ]; then set -- --no-cache "$@"; fi
    if ! "$DOCKER" build -f "$ROOT/infra/docker/$file" --build-arg "BASE=$BASE" "$@" \
            -t "parley/$name:$TAG" "$CTX" >"$log" 2>&1; then
        tail -60 "$log" >&2; rm -f "$log"
        echo "image $name: build FAILED" >&2; return 1
    fi
    rm -f "$log"
    printf 'image %-9s %8s %4ss\n' "parley/$name:$TAG" \
        "$("$DOCKER" image inspect -f '{{.Size}}' "parley/$name:$TAG" | numfmt --to=si)" "$((SECONDS - t0))"
}

for t in "${targets[@]}"; do
    case $t in
        runtime)  build runtime Dockerfile.runtime ;;
        web)      build web Dockerfile.web --build-arg "WEB_ROOT=$(web_root)" ;;
        kafka)    [ -f "$CTX/.parley/kafka/libs/kafka_2.13-4.3.1.jar" ] || "$ROOT/infra/kafka/fetch.sh"
                  build kafka Dockerfile.kafka ;;
        postgres) build postgres Dockerfile.postgres ;;
        *) echo "unknown image $t" >&2; exit 2 ;;
    esac
done
