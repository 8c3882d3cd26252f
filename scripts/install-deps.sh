#!/usr/bin/env bash
# Install the Debian 12 packages Parley needs -- only the ones that are missing.
#
#   scripts/install-deps.sh [--check] [GROUP...]
#
# GROUP is one of: build, run, test, all (default: all). Several may be given.
#   build  compilers, meson/ninja and the C libraries we link against
#   run    build + postgres, nginx, the JRE/maven for the local kafka broker
#   test   run + the python packages the integration tests use
#   all    everything (same as test today)
#
# --check  only report; exit 1 if something is missing, never installs.
#
# Idempotent and offline-safe: every package is checked with dpkg-query first,
# and `apt-get update` / `apt-get install` only run when something is missing,
# so a second run is fast and needs no network. Uses sudo when not root.
set -euo pipefail

BUILD_PKGS=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  librdkafka-dev libwebsockets-dev libmicrohttpd-dev libyajl-dev
  libsodium-dev libpq-dev zlib1g-dev libzstd-dev check
)
RUN_PKGS=(
  postgresql nginx-light openjdk-17-jre-headless maven python3 curl
  ca-certificates
)
TEST_PKGS=(
  python3-pytest python3-requests python3-websockets python3-venv chromium
)

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

check_only=0
groups=()
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    -h|--help) usage; exit 0 ;;
    build|run|test|all) groups+=("$arg") ;;
    *) echo "install-deps: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
[ ${#groups[@]} -eq 0 ] && groups=(all)

wanted=()
for g in "${groups[@]}"; do
  case "$g" in
    build) wanted+=("${BUILD_PKGS[@]}") ;;
    run)   wanted+=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}") ;;
    test|all) wanted+=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}" "${TEST_PKGS[@]}") ;;
  esac
done
# de-duplicate, keep order
mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | awk '!seen[$0]++')

is_installed() {
  # "install ok installed" is the only state that counts (not half-configured,
  # not config-files left over from a removal).
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
for p in "${wanted[@]}"; do
  is_installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages already installed (${groups[*]})"
  exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if [ "$check_only" -eq 1 ]; then
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: not root and sudo is not available; install as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"

still=()
for p in "${missing[@]}"; do
  is_installed "$p" || still+=("$p")
done
if [ ${#still[@]} -ne 0 ]; then
  echo "install-deps: still missing after install: ${still[*]}" >&2
  exit 1
fi
echo "install-deps: installed ${#missing[@]} package(s)"
