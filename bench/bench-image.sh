#!/bin/sh
# bench-image.sh BUILD_DIR: disk-image injection against a bare appliance
# launch (and virt-customize doing the same operations) on a partitioned
# qcow2 of a real Debian 12 tree (debootstrap, cached: root and /boot,
# fstab by LABEL=), all in one run; then how the cost above the launch
# grows with the number and size of files, for the image (libguestfs) and
# the root-directory backend.  Prints markdown tables.
#
# The bare launch is measured first and last; ratios use their mean (this
# machine is shared: launches vary by seconds from one minute to the next).
# VIRT_INJECT_BENCH_TARBALL: a tar of a Debian 12 tree to use instead of
# running debootstrap (e.g. /var/cache/virt-inject-ci/bookworm-minbase.tar).
# BENCH_SKIP_CUSTOMIZE=1 leaves virt-customize out (it takes a minute).
# BENCH_PAIRS=K measures only the ratio, K interleaved rounds (below).
set -eu
B=$(cd "$1" && pwd)
CACHE=${VIRT_INJECT_BENCH_CACHE:-/var/cache/virt-inject-bench}
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
export VIRT_INJECT_GUESTFS_HELPER=$B/modules/guestfs/virt-inject-guestfs
MEMSIZE=${MEMSIZE:-512}
NS=http://virt-inject.org/xmlns/libvirt/domain/1.0

if [ ! -f "$CACHE/debian12/etc/os-release" ]; then
    mkdir -p "$CACHE/debian12"
    if [ -n "${VIRT_INJECT_BENCH_TARBALL:-}" ]; then
        tar -C "$CACHE/debian12" -xf "$VIRT_INJECT_BENCH_TARBALL"
    else
        mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
        debootstrap --variant=minbase --include=ifupdown bookworm "$CACHE/debian12" \
            "${mirror:-http://deb.debian.org/debian}" >/dev/null
    fi
fi
T=$(mktemp -d /var/tmp/vi-bench-image-XXXXXX)
trap 'rm -rf "$T"' EXIT
cp -a "$CACHE/debian12" "$T/tree"
printf 'LABEL=root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n' > "$T/tree/etc/fstab"
# a tree without ifupdown (minbase): the file ifupdown would bring, which the
# request's renderer='ifupdown' edits
if [ ! -f "$T/tree/etc/network/interfaces" ]; then
    mkdir -p "$T/tree/etc/network/interfaces.d"
    printf 'source /etc/network/interfaces.d/*\n' > "$T/tree/etc/network/interfaces"
fi
mkdir -p "$T/tree/boot" "$T/tree/srv" "$T/boot"
printf 'kernel\n' > "$T/boot/vmlinuz"
mkfs.ext4 -q -F -L root -d "$T/tree" "$T/root.fs" 1200M >/dev/null
mkfs.ext4 -q -F -L boot -d "$T/boot" "$T/boot.fs" 100M >/dev/null
truncate -s 1310M "$T/img.raw"
printf 'label: dos\nstart=2048, size=2457600, type=83\nstart=2459648, type=83\n' | sfdisk -q "$T/img.raw"
dd if="$T/root.fs" of="$T/img.raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$T/boot.fs" of="$T/img.raw" bs=512 seek=2459648 conv=notrunc,sparse status=none
rm -f "$T/root.fs" "$T/boot.fs"
qemu-img convert -q -f raw -O qcow2 "$T/img.raw" "$T/base.qcow2"; rm -f "$T/img.raw"

# The standard request of issue #14: 2 keys, a password hash, hostname,
# network, a directory, N files of about 3 KiB, one base64 script, 2 meta.
ssh-keygen -q -t ed25519 -N '' -C k1 -f "$T/k1"; ssh-keygen -q -t ed25519 -N '' -C k2 -f "$T/k2"
HASH=$(openssl passwd -6 -salt benchsalt pw)
mkdir -p "$T/files" "$T/secrets"
standard () {  # standard N OUT [ROOT]: ROOT names the root (<vi:target root=>)
    { echo "<vi:inject xmlns:vi='$NS'>"
      [ -z "${3:-}" ] || echo "<vi:target root='$3'/>"
      echo "<vi:user name='root'><vi:ssh-key>$(cat "$T/k1.pub")</vi:ssh-key><vi:ssh-key>$(cat "$T/k2.pub")</vi:ssh-key><vi:password hash='$HASH'/></vi:user>"
      echo "<vi:hostname>web1.example.com</vi:hostname><vi:directory path='/srv/app' mode='0750'/>"
      for n in $(seq -w 1 "$1"); do
          printf "<vi:file path='/srv/app/file%s.conf' mode='0640'>" "$n"
          head -c 2300 /dev/urandom | base64 -w 76; echo "</vi:file>"
      done
      echo "<vi:file path='/usr/local/bin/setup' mode='0755' encoding='base64'>$(printf '#!/bin/sh\necho setup\n' | base64 -w0)</vi:file>"
      echo "<vi:network renderer='ifupdown'><vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address><vi:gateway>192.0.2.1</vi:gateway></vi:interface></vi:network>"
      echo "<vi:meta key='role'>web</vi:meta><vi:meta key='tier'>1</vi:meta></vi:inject>"; } > "$2"
}
# N files of SIZE bytes of text in a new directory, nothing else
files () {  # files N SIZE OUT
    line=$(head -c 600 /dev/urandom | base64 -w 63 | head -1)
    { echo "<vi:inject xmlns:vi='$NS'>"
      for n in $(seq -w 1 "$1"); do
          printf "<vi:file path='/srv/bench/f%s'>" "$n"
          yes "$line" | head -c "$2"; echo "</vi:file>"
      done
      echo "</vi:inject>"; } > "$3"
}
standard 20 "$T/std20.xml"
standard 100 "$T/std100.xml"
standard 20 "$T/std20r.xml" /dev/sda1
GROWTH="1:1024 10:1024 100:1024 1000:1024 1:1048000 3:1048000"
for g in $GROWTH; do files "${g%%:*}" "${g#*:}" "$T/g$g.xml"; done

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
    echo "root-password file:$T/pw"; echo "hostname web1.example.com"
    echo "mkdir /srv/app"; echo "chmod 0750:/srv/app"
    for n in $(seq -w 1 20); do
        head -c 2300 /dev/urandom | base64 -w 76 > "$T/files/file$n.conf"
        echo "upload $T/files/file$n.conf:/srv/app/file$n.conf"; echo "chmod 0640:/srv/app/file$n.conf"
    done
    printf '#!/bin/sh\necho setup\n' > "$T/files/setup"
    echo "upload $T/files/setup:/usr/local/bin/setup"; echo "chmod 0755:/usr/local/bin/setup"
    printf 'write /etc/network/interfaces.d/eth0:auto eth0\\niface eth0 inet static\\n    address 192.0.2.10/24\\n    gateway 192.0.2.1\\n\n'
    echo 'write /meta.js:{"role":"web","tier":"1"}'
} > "$T/customize.cmds"
printf 'pw\n' > "$T/pw"

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
timed () {  # timed LABEL COMMAND... -> seconds, on a fresh copy of the image
    cp "$T/base.qcow2" "$T/img.qcow2"; sync  # the copy is set-up: flushed before the clock starts
    s=$(date +%s.%N); "$@" >"$T/out.$1" 2>&1 & pid=$!
    sample_peak $pid; wait $pid || { echo "$1 failed:" >&2; cat "$T/out.$1" >&2; exit 1; }
    e=$(date +%s.%N); echo "$e - $s" | bc
}
bare () { LIBGUESTFS_MEMSIZE=$MEMSIZE guestfish --ro --format=qcow2 -a "$T/img.qcow2" run; }
# The floor of any injection into this image: the root already known (no
# root finding), mounted read-write, one file written, unmounted, the
# appliance shut down; no overlay, no planning, nothing read.
floor () { LIBGUESTFS_MEMSIZE=$MEMSIZE guestfish --format=qcow2 -a "$T/img.qcow2" run : \
               mount /dev/sda1 / : write /floor x : umount-all : shutdown; }
ours () { "$B/tools/virt-inject" --config-file "$T/conf" inject -a "$T/img.qcow2" --format qcow2 --spec "$T/$1.xml"; }
custom () { virt-customize --format qcow2 -a "$T/img.qcow2" --memsize "$MEMSIZE" --no-network --commands-from-file "$T/customize.cmds"; }
rootfs () {  # rootfs REQ -> seconds of the CLI on a fresh copy of the tree
    rm -rf "$T/rtree"; cp -a "$T/tree" "$T/rtree"; sync
    s=$(date +%s.%N)
    "$B/tools/virt-inject" --config-file "$T/conf" inject --rootfs "$T/rtree" --spec "$T/$1.xml" >"$T/out.r$1" 2>&1 ||
        { echo "rootfs $1 failed:" >&2; cat "$T/out.r$1" >&2; exit 1; }
    e=$(date +%s.%N); echo "$e - $s" | bc
}
ratio () { echo "($1) / ($2)" | bc -l; }

# staged REQ: the CLI with --verbose on a fresh copy of the image, each
# stage line stamped as it comes -> "TOTAL LAUNCH" seconds: LAUNCH is the
# appliance's launch inside that very run (from the [launch] line to the
# [mount] line), so TOTAL - LAUNCH is what the injection costs above its
# own launch, whatever the machine's load did to the launch.
# stamp NAME OUT PATTERN COMMAND...: runs COMMAND (its output in
# $T/full.NAME), each line matching PATTERN stamped as it comes into OUT,
# with a last line "exit=STATUS"; fails the benchmark when COMMAND failed.
# Only those lines are stamped (a date process each): a thousand plan
# lines would hold the command up on the pipe.
stamp () {
    name=$1 out=$2 pattern=$3; shift 3
    { "$@" 2>&1; echo "exit=$?"; } | tee "$T/full.$name" |
        grep --line-buffered -E "$pattern|^exit=" |
        while IFS= read -r l; do echo "$(date +%s.%N) $l"; done > "$out"
    grep -q ' exit=0$' "$out" || { echo "$name failed:" >&2; cat "$T/full.$name" >&2; exit 1; }
}
# durations STAMPED PATTERN: "NAME SECONDS, " for each stamped line matching
# PATTERN (its third field names it), up to the next one or the exit line
durations () {
    awk -v p="$2" '$0 ~ p || / exit=/ { if (name != "") printf "%s %.2f s, ", name, $1 - t0
                                       name = $3; t0 = $1 } END { print "" }' "$1"
}
staged () {
    cp "$T/base.qcow2" "$T/img.qcow2"; sync  # the copy is set-up: flushed before the clock starts
    s=$(date +%s.%N)
    stamp "$1" "$T/stages.$1" '^virt-inject: \[[a-z]+\]' \
        "$B/tools/virt-inject" --config-file "$T/conf" inject -v -a "$T/img.qcow2" --format qcow2 \
        --spec "$T/$1.xml"
    e=$(date +%s.%N)
    l0=$(awk '/\[launch\]/ { print $1; exit }' "$T/stages.$1")
    m0=$(awk '/\[mount\]/ { print $1; exit }' "$T/stages.$1")
    echo "$(echo "$e - $s" | bc) $(echo "$m0 - $l0" | bc)"
}

# BENCH_TRACE="REQ...": only where the time goes, for each request named
# (std20, std100, g1000:1024, ...): the libguestfs helper run directly on a
# fresh copy of the image with every appliance call traced, each call timed
# from its trace line to its result line; the calls summed by name.
if [ -n "${BENCH_TRACE:-}" ]; then
    for req in $BENCH_TRACE; do
        cp "$T/base.qcow2" "$T/img.qcow2"; sync  # the copy is set-up: flushed before the clock starts
        stamp "$req" "$T/trace.$req" '^libguestfs: trace: |^stage: ' \
            env VIRT_INJECT_GUESTFS_TRACE=1 "$B/modules/guestfs/virt-inject-guestfs" --add "$T/img.qcow2" \
            --format qcow2 --force-tcg --memsize="$MEMSIZE" --spec "$T/$req.xml"
        printf '\nAppliance calls of %s (launch excluded), TCG, memsize %s MiB:\n\n' "$req" "$MEMSIZE"
        printf '| call | calls | seconds |\n|---|---:|---:|\n'
        awk '$2 == "libguestfs:" && $3 == "trace:" {
                 if ($5 == "=") { if ($4 in start) { t[$4] += $1 - start[$4]; n[$4]++; delete start[$4] } }
                 else start[$4] = $1
             }
             END { for (c in t) if (c != "launch") { printf "| %s | %d | %.2f |\n", c, n[c], t[c]; all += t[c]; k += n[c] }
                   printf "| **all** | **%d** | **%.2f** |\n", k, all }' "$T/trace.$req" | sort -t'|' -k4 -rn
        printf '\nStages of the helper for %s: ' "$req"
        durations "$T/trace.$req" ' stage: '
        staged "$req" > /dev/null
        printf 'Stages of the CLI (inject -a -v) for %s: ' "$req"
        durations "$T/stages.$req" '\\[[a-z]+\\]'
    done
    exit 0
fi

# BENCH_PAIRS=K: only the ratio, measured robustly: K rounds of a bare
# launch, the 20-file and the 100-file request, interleaved so that a
# change of the machine's load hits all three alike; medians, and each
# round's own ratios.  Each request's run also gives its own launch
# (staged): the cost above it, and that cost over the round's bare launch.
median () { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
if [ -n "${BENCH_PAIRS:-}" ]; then
    : > "$T/rounds"
    for k in $(seq 1 "$BENCH_PAIRS"); do
        b=$(timed bare); r20=$(staged std20); r100=$(staged std100); f=$(timed floor)
        r20r=$(staged std20r)
        echo "$k $b $r20 $r100 $f $r20r" >> "$T/rounds"
    done
    printf '
%s interleaved rounds (bare launch, 20 files, 100 files), TCG, memsize %s MiB.
"above" is the run minus its own launch; "ratio" is the run over the bare launch;
"at bare" is (bare launch + above) / bare launch:

' \
        "$BENCH_PAIRS" "$MEMSIZE"
    printf '| round | bare launch s | floor s | 20 files s | above s | ratio | at bare | 100 files s | above s | ratio | at bare |\n'
    printf '|------:|--------------:|--------:|-----------:|--------:|------:|--------:|------------:|--------:|------:|--------:|\n'
    while read -r k b s20 l20 s100 l100 f s20r l20r; do
        a20=$(echo "$s20 - $l20" | bc -l); a100=$(echo "$s100 - $l100" | bc -l)
        echo "$k $b $s20 $a20 $s100 $a100 $f $s20r $(echo "$s20r - $l20r" | bc -l)" >> "$T/above"
        printf '| %5s | %13.1f | %7.1f | %10.1f | %7.2f | %5.2f | %7.2f | %11.1f | %7.2f | %5.2f | %7.2f |\n' \
            "$k" "$b" "$f" "$s20" "$a20" "$(ratio "$s20" "$b")" "$(ratio "$b + $a20" "$b")" \
            "$s100" "$a100" "$(ratio "$s100" "$b")" "$(ratio "$b + $a100" "$b")"
    done < "$T/rounds"
    mb=$(cut -d' ' -f2 "$T/above" | median)
    m20=$(cut -d' ' -f3 "$T/above" | median); ma20=$(cut -d' ' -f4 "$T/above" | median)
    m100=$(cut -d' ' -f5 "$T/above" | median); ma100=$(cut -d' ' -f6 "$T/above" | median)
    mf=$(cut -d' ' -f7 "$T/above" | median)
    printf '| median | %12.1f | %7.1f | %10.1f | %7.2f | %5.2f | %7.2f | %11.1f | %7.2f | %5.2f | %7.2f |\n' \
        "$mb" "$mf" "$m20" "$ma20" "$(ratio "$m20" "$mb")" "$(ratio "$mb + $ma20" "$mb")" \
        "$m100" "$ma100" "$(ratio "$m100" "$mb")" "$(ratio "$mb + $ma100" "$mb")"
    printf '\nfloor (root known, mount, one write, umount, shutdown) over the bare launch: %.2f\n' \
        "$(ratio "$mf" "$mb")"
    printf 'at the 14 s launch of a quiet machine (the issue'"'"'s), (14 + median above) / 14: 20 files %.2f, 100 files %.2f\n' \
        "$(ratio "14 + $ma20" 14)" "$(ratio "14 + $ma100" 14)"
    printf '\nThe 20-file request naming its root (<vi:target root="/dev/sda1"/>: no root finding):\n\n'
    printf '| round | bare launch s | 20 files, root named s | above s | ratio | at bare |\n'
    printf '|------:|--------------:|-----------------------:|--------:|------:|--------:|\n'
    while read -r k b s20 a20 s100 a100 f s20r a20r; do
        printf '| %5s | %13.1f | %22.1f | %7.2f | %5.2f | %7.2f |\n' "$k" "$b" "$s20r" "$a20r" \
            "$(ratio "$s20r" "$b")" "$(ratio "$b + $a20r" "$b")"
    done < "$T/above"
    m20r=$(cut -d' ' -f8 "$T/above" | median); ma20r=$(cut -d' ' -f9 "$T/above" | median)
    printf '| median | %12.1f | %22.1f | %7.2f | %5.2f | %7.2f |\n' "$mb" "$m20r" "$ma20r" \
        "$(ratio "$m20r" "$mb")" "$(ratio "$mb + $ma20r" "$mb")"
    printf 'at a 14 s launch: %.2f\n' "$(ratio "14 + $ma20r" 14)"
    exit 0
fi

t_bare1=$(timed bare)
t_std20=$(timed ours std20); peak=$(cat "$T/peak" 2>/dev/null || echo 0)
t_std100=$(timed ours std100)
for g in $GROWTH; do eval "r_g$(echo "$g" | tr -c '0-9\n' _)=\"\$(staged g$g)\""; done
t_cust=0
[ -n "${BENCH_SKIP_CUSTOMIZE:-}" ] || t_cust=$(timed custom)
t_bare2=$(timed bare)
t_bare=$(echo "($t_bare1 + $t_bare2) / 2" | bc -l)

printf '\nDisk image: partitioned qcow2 (root + /boot) of a debootstrap Debian 12 tree, TCG,\n'
printf 'memsize %s MiB, one run; bare launch %.1f s first and %.1f s last, mean %.1f s.\n\n' \
    "$MEMSIZE" "$t_bare1" "$t_bare2" "$t_bare"
printf '| run                                              | seconds | ratio to bare launch |\n'
printf '|--------------------------------------------------|--------:|---------------------:|\n'
printf '| bare launch (guestfish --ro run), mean           | %7.1f |                 1.00 |\n' "$t_bare"
printf '| virt-inject inject -a, standard request, 20 files | %7.1f | %20.2f |\n' "$t_std20" "$(ratio "$t_std20" "$t_bare")"
printf '| the same with 100 files                          | %7.1f | %20.2f |\n' "$t_std100" "$(ratio "$t_std100" "$t_bare")"
[ -n "${BENCH_SKIP_CUSTOMIZE:-}" ] ||
printf '| virt-customize (the 20-file operations)          | %7.1f | %20.2f |\n' "$t_cust" "$(ratio "$t_cust" "$t_bare")"
printf '\nappliance peak resident memory during virt-inject: %s MiB\n' "$((peak / 1024))"

printf '\nCost growth: N files of SIZE in a new directory, nothing else in the request.\n'
printf 'Image: whole CLI run, its own launch, the rest (above launch), and that over\n'
printf 'the mean bare launch; root directory: the CLI on a fresh copy of the same tree\n'
printf '(ext4 under /var/tmp).\n\n'
printf '| files x size   | image s | its launch s | above launch s | (bare + above) / bare | rootfs ms |\n'
printf '|----------------|--------:|-------------:|---------------:|----------------------:|----------:|\n'
for g in $GROWTH; do
    eval "tl=\$r_g$(echo "$g" | tr -c '0-9\n' _)"
    t=${tl% *}; l=${tl#* }
    r=$(rootfs "g$g")
    n=${g%%:*}; sz=${g#*:}
    [ "$sz" -ge 1000000 ] && label="$n x 1 MiB" || label="$n x 1 KiB"
    printf '| %-14s | %7.1f | %12.1f | %14.2f | %21.2f | %9.1f |\n' "$label" "$t" "$l" \
        "$(echo "$t - $l" | bc -l)" "$(ratio "$t_bare + $t - $l" "$t_bare")" "$(echo "$r * 1000" | bc -l)"
done
