#!/bin/sh
# bench-stage.sh: `virsh start` wall time of the same domain (type='qemu',
# a small qcow2 disk holding a Debian 12 tree) under qemu:///system, with
#   (a) no request,
#   (b) a request injected by the hook at start (the appliance in prepare),
#   (c) the same request staged ahead (`virt-inject stage`): the start only
#       commits it.
# Target (DESIGN.md): (c) within 1 s of (a).  Each start is followed by
# `virsh destroy`; the disk is reset from a pristine copy before each round
# (not timed), and so is the stage in (c) (made before the timer starts).
#
# Needs: libvirtd with the virt-inject hook installed (`virt-inject hook
# install`, then libvirtd restarted) from an installed virt-inject (the hook
# runs the installed worker and reads /etc/virt-inject/virt-inject.conf: set
# force_tcg = true there on hosts without usable KVM), debootstrap (the tree
# is cached in /var/cache/virt-inject-bench, shared with bench-image.sh),
# mkfs.ext4, qemu-img, bc.  ROUNDS (default 3) starts per case, median shown.
# It defines and undefines a domain named $NAME (default vi-bench-stage).
set -eu
URI=${URI:-qemu:///system}
NAME=${NAME:-vi-bench-stage}
ROUNDS=${ROUNDS:-3}
VI=${VI:-virt-inject}
CACHE=${VIRT_INJECT_BENCH_CACHE:-/var/cache/virt-inject-bench}
NS=http://virt-inject.org/xmlns/libvirt/domain/1.0
# one UUID: each case redefines the same domain (and the stage is keyed by it)
UUID=${UUID:-5ea1be0c-57a6-4e00-8c1a-000000000001}

"$VI" hook status >/dev/null || { echo "bench-stage: the hook is not installed (virt-inject hook status)" >&2; exit 1; }
virsh -c "$URI" dominfo "$NAME" >/dev/null 2>&1 && { echo "bench-stage: a domain $NAME exists already" >&2; exit 1; }
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
if [ ! -f "$CACHE/debian12/etc/os-release" ]; then
    mkdir -p "$CACHE"
    debootstrap --variant=minbase bookworm "$CACHE/debian12" "$mirror" >/dev/null
fi
# under /var/lib/libvirt/images: where qemu:///system's qemu may open disks
T=$(mktemp -d /var/lib/libvirt/images/vi-bench-stage-XXXXXX)
chmod 0755 "$T"         # qemu (libvirt-qemu) opens the disk in it
cleanup () {
    virsh -c "$URI" destroy "$NAME" >/dev/null 2>&1 || true
    virsh -c "$URI" undefine "$NAME" >/dev/null 2>&1 || true
    "$VI" stage --drop -d "$NAME" >/dev/null 2>&1 || true
    "$VI" hook forget "$NAME" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
cp -a "$CACHE/debian12" "$T/tree"
printf '/dev/sda / ext4 defaults 0 1\n' > "$T/tree/etc/fstab"
mkfs.ext4 -q -F -d "$T/tree" "$T/img.raw" 1200M >/dev/null
rm -rf "$T/tree"
qemu-img convert -q -f raw -O qcow2 "$T/img.raw" "$T/base.qcow2"; rm -f "$T/img.raw"

domain () {  # domain [REQUEST-XML]
    cat <<XML
<domain type='qemu'><name>$NAME</name><uuid>$UUID</uuid><memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
${1:+<metadata>$1</metadata>}
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='$T/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>
<graphics type='vnc' autoport='yes' listen='127.0.0.1'/></devices></domain>
XML
}
# policy always: every start injects (b), or commits its stage (c)
REQ="<vi:inject xmlns:vi='$NS' policy='always'><vi:hostname>bench.example.com</vi:hostname><vi:file path='/etc/motd' mode='0644'>staged&#10;</vi:file></vi:inject>"

define () { domain "${1:-}" > "$T/dom.xml"; virsh -c "$URI" define "$T/dom.xml" >/dev/null; }
start_s () {  # one timed start -> seconds
    s=$(date +%s.%N)
    virsh -c "$URI" start "$NAME" >"$T/start.out" 2>&1 || { cat "$T/start.out" >&2; exit 1; }
    e=$(date +%s.%N)
    virsh -c "$URI" destroy "$NAME" >/dev/null
    echo "$e - $s" | bc
}
median () { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
round () {  # round CASE -> seconds
    cp "$T/base.qcow2" "$T/disk.qcow2"
    if [ "$1" = c ]; then
        "$VI" stage -c "$URI" -d "$NAME" >"$T/stage.out" || { cat "$T/stage.out" >&2; exit 1; }
    fi
    t=$(start_s)
    # (c) must really have been committed, not injected in full
    if [ "$1" = c ] && "$VI" stage --status -d "$NAME" | grep -q "$NAME"; then
        echo "bench-stage: the stage was not consumed by the start" >&2; exit 1
    fi
    echo "$t"
}
run_case () {  # run_case CASE -> median seconds
    i=0; while [ $i -lt "$ROUNDS" ]; do round "$1"; i=$((i + 1)); done | median
}

define;         a=$(run_case a)
define "$REQ";  b=$(run_case b)
c=$(run_case c)
printf '\nvirsh start wall time, %s, domain type qemu, median of %s starts each:\n\n' "$URI" "$ROUNDS"
printf '| case                                   | seconds |\n'
printf '|----------------------------------------|--------:|\n'
printf '| (a) no request                         | %7.2f |\n' "$a"
printf '| (b) request injected at start          | %7.2f |\n' "$b"
printf '| (c) request staged ahead               | %7.2f |\n' "$c"
d=$(echo "$c - $a" | bc -l)
printf '\n(c) - (a) = %.2f s (target <= 1 s): %s\n' "$d" \
    "$(if [ "$(echo "$d <= 1" | bc -l)" = 1 ]; then echo met; else echo MISSED; fi)"
