#!/usr/bin/env bash
# CI for containers and Kubernetes, offline (no image registry needed):
#   1. k8s    render infra/k8s (dev, prod, the flood Jobs) and validate every
#             object: Kubernetes API schemas (kubernetes-validate), Strimzi,
#             KEDA and CloudNativePG CRD schemas (../shared/k8s-crds), and
#             the semantic checks in tests/k8s
#   2. images start dockerd if needed, build the Debian base from Debian's
#             packages (debootstrap, cached in .parley/docker) and the
#             runtime, web, kafka and postgres images
#   3. smoke  docker compose stack up, end-to-end smoke through nginx,
#             scale pusher=3 / history-projector=4, tear down (down -v)
#
#   scripts/ci-containers.sh [k8s|images|smoke ...]     (default: all three)
#
# Leaves no containers behind; dockerd keeps running. Needs root (apt-get,
# dockerd). Env: PARLEY_COMPOSE (compose command), KUSTOMIZE (binary).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DOCKER=/usr/bin/docker
KUSTOMIZE_VERSION=v5.5.0
steps=("$@"); [ ${#steps[@]} -gt 0 ] || steps=(k8s images smoke)
T0=$SECONDS
declare -A took

say() { echo "ci-containers: $*"; }

apt_install() { # install only the Debian packages that are missing
    local missing=()
    for p in "$@"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "apt-get install ${missing[*]}"
    # Another apt may be running on a shared machine: wait for its lock.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

start_dockerd() {
    if "$DOCKER" info >/dev/null 2>&1; then return 0; fi
    mkdir -p .parley/logs
    say "starting dockerd (data in /var/lib/docker, log .parley/logs/dockerd.log)"
    setsid -f /usr/sbin/dockerd --data-root /var/lib/docker \
        >>"$ROOT/.parley/logs/dockerd.log" 2>&1 </dev/null
    for _ in $(seq 120); do
        "$DOCKER" info >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    tail -20 .parley/logs/dockerd.log >&2
    say "dockerd did not come up in 60 s"; return 1
}

kustomize_bin() {
    if [ -n "${KUSTOMIZE:-}" ]; then echo "$KUSTOMIZE"; return; fi
    local k=$ROOT/.parley/bin/kustomize
    # `go install` builds report "(devel)", so the version is kept beside it.
    if [ -x "$k" ] && [ "$(cat "$k.version" 2>/dev/null)" = "$KUSTOMIZE_VERSION" ]; then
        echo "$k"; return
    fi
    # Pinned kustomize from the Go module proxy (a Go module, built locally).
    say "go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
    GOBIN=$ROOT/.parley/bin GOFLAGS=-mod=mod go install -trimpath -ldflags='-s -w' \
        "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
    echo "$KUSTOMIZE_VERSION" > "$k.version"
    echo "$k"
}

step_k8s() {
    apt_install python3-venv
    local venv=.parley/venv-k8s
    if [ ! -x $venv/bin/python ] || ! cmp -s tests/k8s/requirements.txt $venv/.requirements; then
        rm -rf $venv
        /usr/bin/python3 -m venv $venv
        $venv/bin/pip install -q --disable-pip-version-check -r tests/k8s/requirements.txt
        cp tests/k8s/requirements.txt $venv/.requirements
    fi
    KUSTOMIZE=$(kustomize_bin) $venv/bin/python -m pytest -q -p no:cacheprovider tests/k8s
}

step_images() {
    apt_install docker.io debootstrap iptables ca-certificates
    start_dockerd
    # The Kafka image takes the sha256-pinned jars that `make` already uses.
    infra/kafka/fetch.sh
    infra/docker/build-images.sh
}

step_smoke() {
    apt_install docker.io docker-compose python3-requests python3-websockets
    start_dockerd
    /usr/bin/python3 tests/compose/smoke.py --project parley-ci
}

for s in "${steps[@]}"; do
    t=$SECONDS
    case $s in
        k8s) step_k8s ;;
        images) step_images ;;
        smoke) step_smoke ;;
        *) echo "usage: $0 [k8s|images|smoke ...]" >&2; exit 2 ;;
    esac
    took[$s]=$((SECONDS - t))
done
for s in "${steps[@]}"; do say "$s took ${took[$s]}s"; done
say "all done in $((SECONDS - T0))s"
