#!/bin/sh
# bench-image.sh BUILD_DIR: disk-image injection against a bare appliance
# launch and against virt-customize doing the same operations, on an image
# of a real Debian 12 tree (debootstrap, cached), all in one run.
# Prints a table of seconds, ratios and the appliance's peak memory.
set -eu
B=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VIRT_INJECT_BENCH_CACHE:-/var/cache/virt-inject-bench}
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
export VIRT_INJECT_GUESTFS_HELPER=$B/modules/guestfs/virt-inject-guestfs
MEMSIZE=${MEMSIZE:-512}

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
if [ ! -f "$CACHE/debian12/etc/os-release" ]; then
    mkdir -p "$CACHE"
    debootstrap --variant=minbase --include=ifupdown bookworm "$CACHE/debian12" "$mirror" >/dev/null
fi
T=$(mktemp -d /var/tmp/vi-bench-image-XXXXXX)
trap 'rm -rf "$T"' EXIT
cp -a "$CACHE/debian12" "$T/tree"
printf '/dev/sda / ext4 defaults 0 1\n' > "$T/tree/etc/fstab"
mkfs.ext4 -q -F -d "$T/tree" "$T/img.raw" 1200M >/dev/null
rm -rf "$T/tree"
qemu-img convert -q -f raw -O qcow2 "$T/img.raw" "$T/base.qcow2"; rm -f "$T/img.raw"

# The standard request: 2 keys, a password, hostname, network, a directory,
# 22 files, 2 meta entries.
ssh-keygen -q -t ed25519 -N '' -C k1 -f "$T/k1"; ssh-keygen -q -t ed25519 -N '' -C k2 -f "$T/k2"
mkdir -p "$T/files" "$T/secrets"
printf 'pw\n' > "$T/secrets/pw"; chmod 0600 "$T/secrets/pw"
{
    echo "<vi:inject xmlns:vi='http://virt-inject.org/xmlns/libvirt/domain/1.0'>"
    echo "<vi:user name='root'><vi:ssh-key>$(cat "$T/k1.pub")</vi:ssh-key><vi:ssh-key>$(cat "$T/k2.pub")</vi:ssh-key><vi:password secret='pw'/></vi:user>"
    echo "<vi:hostname>web1.example.com</vi:hostname><vi:directory path='/srv/app' mode='0750'/>"
    for n in $(seq -w 1 22); do
        printf 'setting%s = value\n' "$n" > "$T/files/file$n.conf"
        echo "<vi:file path='/srv/app/file$n.conf' mode='0640'>setting$n = value&#10;</vi:file>"
    done
    echo "<vi:network><vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address><vi:gateway>192.0.2.1</vi:gateway></vi:interface></vi:network>"
    echo "<vi:meta key='role'>web</vi:meta><vi:meta key='tier'>1</vi:meta></vi:inject>"
} > "$T/request.xml"
cat > "$T/conf" <<CONF
[guestfs]
force_tcg = true
memsize = $MEMSIZE
[paths]
state_dir = $T/state
run_dir = $T/run
secrets_dir = $T/secrets
CONF
{
    echo "ssh-inject root:file:$T/k1.pub"; echo "ssh-inject root:file:$T/k2.pub"
    echo "root-password file:$T/secrets/pw"; echo "hostname web1.example.com"
    echo "mkdir /srv/app"; echo "chmod 0750:/srv/app"
    for n in $(seq -w 1 22); do echo "upload $T/files/file$n.conf:/srv/app/file$n.conf"; echo "chmod 0640:/srv/app/file$n.conf"; done
    printf 'write /etc/network/interfaces.d/eth0:auto eth0\\niface eth0 inet static\\n    address 192.0.2.10/24\\n    gateway 192.0.2.1\\n\n'
    echo 'write /meta.js:{"role":"web","tier":"1"}'
} > "$T/customize.cmds"

peak_kib=0
sample_peak () {  # the appliance's resident memory, sampled while $1 runs
    while kill -0 "$1" 2>/dev/null; do
        for p in $(pgrep -f "qemu-system.*$T" 2>/dev/null); do
            r=$(awk '/VmHWM/ {print $2}' /proc/$p/status 2>/dev/null || echo 0)
            [ "${r:-0}" -gt "$peak_kib" ] && peak_kib=$r && echo "$r" > "$T/peak"
        done
        sleep 0.5
    done
}
timed () {  # timed LABEL COMMAND... -> seconds
    cp "$T/base.qcow2" "$T/img.qcow2"
    s=$(date +%s.%N); "$@" >"$T/out.$1" 2>&1 & pid=$!
    sample_peak $pid; wait $pid || { echo "$1 failed:" >&2; cat "$T/out.$1" >&2; exit 1; }
    e=$(date +%s.%N); echo "$e - $s" | bc
}
bare () { LIBGUESTFS_MEMSIZE=$MEMSIZE guestfish --ro --format=qcow2 -a "$T/img.qcow2" run; }
ours () { "$B/tools/virt-inject" --config-file "$T/conf" inject -a "$T/img.qcow2" --format qcow2 --spec "$T/request.xml"; }
custom () { virt-customize --format qcow2 -a "$T/img.qcow2" --memsize "$MEMSIZE" --no-network --commands-from-file "$T/customize.cmds"; }

t_bare=$(timed bare)
t_ours=$(timed ours); peak=$(cat "$T/peak" 2>/dev/null || echo 0)
t_cust=$(timed custom)
printf '\nDisk image (qcow2 of a debootstrap Debian 12 tree, TCG, memsize %s MiB), one run:\n\n' "$MEMSIZE"
printf '| run                                          | seconds | ratio to bare launch |\n'
printf '|----------------------------------------------|--------:|---------------------:|\n'
printf '| bare launch (guestfish --ro run)             | %7.1f |                 1.00 |\n' "$t_bare"
printf '| virt-inject inject -a (standard request)     | %7.1f | %20.2f |\n' "$t_ours" "$(echo "$t_ours / $t_bare" | bc -l)"
printf '| virt-customize (same operations)             | %7.1f | %20.2f |\n' "$t_cust" "$(echo "$t_cust / $t_bare" | bc -l)"
printf '\nvirt-inject / virt-customize = %.2f (target < 0.5); virt-inject / bare = %.2f (target <= 1.25)\n' \
    "$(echo "$t_ours / $t_cust" | bc -l)" "$(echo "$t_ours / $t_bare" | bc -l)"
printf 'appliance peak resident memory during virt-inject: %s MiB\n' "$((peak / 1024))"
