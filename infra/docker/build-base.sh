#!/usr/bin/env bash
# Build the base image every Parley Dockerfile names (parley/bookworm-slim:local)
# from Debian's own packages, so CI needs no image registry:
#   debootstrap --variant=minbase bookworm -> tarball (cached) -> docker import.
# On a laptop with registry access you can skip this and build with
#   --build-arg BASE=debian:bookworm-slim
# Env: PARLEY_BASE_IMAGE (tag), PARLEY_DEBIAN_MIRROR (default: the host's
# deb.debian.org-style mirror from /etc/apt), PARLEY_CACHE_DIR (tarball cache),
# PARLEY_REBUILD_BASE=1 (ignore the cached tarball).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TAG=${PARLEY_BASE_IMAGE:-parley/bookworm-slim:local}
CACHE=${PARLEY_CACHE_DIR:-$ROOT/.parley/docker}
TARBALL=$CACHE/bookworm-minbase.tar
DOCKER=${DOCKER:-/usr/bin/docker}

mirror() {
    [ -n "${PARLEY_DEBIAN_MIRROR:-}" ] && { echo "$PARLEY_DEBIAN_MIRROR"; return; }
    # deb822 (URIs: ...) or one-line (deb URL suite ...) sources; first one
    # that serves the main archive (not -security, not third-party repos).
    local m
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        sed -nE 's/^URIs:[[:space:]]*(\S+).*/\1/p; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?(\S+)[[:space:]]+bookworm[[:space:]].*/\2/p' |
        grep -E '/debian/?$' | head -n1)
    echo "${m:-http://deb.debian.org/debian}"
}

if "$DOCKER" image inspect "$TAG" >/dev/null 2>&1 && [ -z "${PARLEY_REBUILD_BASE:-}" ]; then
    echo "base: $TAG already present"; exit 0
fi

mkdir -p "$CACHE"
if [ ! -s "$TARBALL" ] || [ -n "${PARLEY_REBUILD_BASE:-}" ]; then
    command -v debootstrap >/dev/null || { echo "base: debootstrap missing (apt-get install debootstrap)" >&2; exit 1; }
    MIRROR=$(mirror)
    SEC=${MIRROR%/debian}/debian-security
    work=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    echo "base: debootstrap minbase bookworm from $MIRROR"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$work/root" "$MIRROR" \
        > "$CACHE/debootstrap.log" 2>&1 || { tail -30 "$CACHE/debootstrap.log" >&2; exit 1; }
    r=$work/root
    cat > "$r/etc/apt/sources.list" <<SRC
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SEC bookworm-security main
SRC
    # The same trims debian:bookworm-slim makes: no docs, man pages or
    # locales in images, no .debs or package lists left behind.
    cat > "$r/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
CFG
    cat > "$r/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\nAcquire::Languages "none";\n' \
        > "$r/etc/apt/apt.conf.d/docker-norecommends"
    find "$r/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
    rm -rf "$r/usr/share/man"/* "$r/usr/share/info"/* "$r/usr/share/locale"/* \
           "$r/var/lib/apt/lists"/* "$r/var/cache/apt"/*.bin "$r/var/cache/apt/archives"/*.deb \
           "$r/var/log"/*.log "$r/var/log/apt"/* "$r/tmp"/* "$r/root/.bash_history" 2>/dev/null || true
    : > "$r/etc/machine-id"
    # Fixed mtimes are not needed: the tarball is cached, so the imported
    # image id stays the same for as long as the cache lives.
    tar --numeric-owner --xattrs -C "$r" -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
fi
echo "base: importing $TARBALL as $TAG"
"$DOCKER" import -c 'CMD ["/bin/bash"]' -c 'ENV LANG=C.UTF-8' "$TARBALL" "$TAG" >/dev/null
"$DOCKER" image ls "$TAG"
