#!/bin/bash
# Runs inside the builder stage: copy the given binaries and exactly the
# shared objects they load (their ldd closure) into a fresh root, plus the
# few /etc files glibc and libpq read. The final image is FROM scratch with
# this root: no shell, no package manager, no compiler.
#   collect-rootfs.sh ROOT UID BINARY...
set -euo pipefail
root=$1 uid=$2; shift 2
mkdir -p "$root"/{etc,tmp,usr/lib/x86_64-linux-gnu,usr/lib64,usr/local/bin,usr/share/doc,keys,attachments,archive}
# Debian bookworm is merged-/usr: keep the same layout so the ELF
# interpreter path (/lib64/ld-linux-x86-64.so.2) resolves.
ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"; ln -s usr/bin "$root/bin" 2>/dev/null || true
chmod 1777 "$root/tmp"

libs=$(for b in "$@"; do ldd "$b" | awk '/=> \//{print $3} /^\t\/lib64/{print $1}'; done | sort -u)
# glibc dlopen()s libgcc_s for thread cancellation and unwinding.
libs="$libs $(ls /usr/lib/x86_64-linux-gnu/libgcc_s.so.1)"
for b in "$@"; do install -m 0755 "$b" "$root/usr/local/bin/"; done
for l in $libs; do
    real=$(readlink -f "$l")
    dest=$root$(readlink -f "$(dirname "$l")")/$(basename "$l")
    mkdir -p "$(dirname "$dest")"
    cp "$real" "$dest"   # the soname file itself, not a symlink chain
done
# License files of every Debian package a copied file came from.
for l in $libs; do dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l" 2>/dev/null || true; done |
    cut -d: -f1 | sort -u | while read -r pkg; do
        if [ -f "/usr/share/doc/$pkg/copyright" ]; then
            mkdir -p "$root/usr/share/doc/$pkg"; cp "/usr/share/doc/$pkg/copyright" "$root/usr/share/doc/$pkg/"
        fi
    done
cp /etc/nsswitch.conf /etc/host.conf "$root/etc/" 2>/dev/null || true
mkdir -p "$root/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nparley:x:%s:%s:parley:/tmp:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' "$uid" "$uid" > "$root/etc/passwd"
printf 'root:x:0:\nparley:x:%s:\nnogroup:x:65534:\n' "$uid" > "$root/etc/group"
# Fresh named volumes take these directories' owner, so the non-root
# services can write keys, attachments and archive segments into them.
chown "$uid:$uid" "$root/keys" "$root/attachments" "$root/archive"
chmod 0700 "$root/keys" "$root/attachments" "$root/archive"
echo /usr/lib/x86_64-linux-gnu > "$root/etc/ld.so.conf"
ldconfig -r "$root"
echo "rootfs: $(echo $libs | wc -w) shared objects, $(du -sh "$root" | cut -f1)"
