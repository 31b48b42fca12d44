#!/bin/sh
# test-appliance.sh: disk images through the real libguestfs appliance.
# Launches are expensive under software emulation (~30-60 s each), so the
# images are made once and the checks batched: every injected image is read
# back by ONE guestfish session at the end.  TAP output.
set -u
. "$(dirname "$0")/tap.sh"
SRC=$VIRT_INJECT_SOURCE_ROOT
B=$VIRT_INJECT_BUILD_ROOT
VI=$B/tools/virt-inject
export VIRT_INJECT_GUESTFS_HELPER=$B/modules/guestfs/virt-inject-guestfs
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
NS=http://virt-inject.org/xmlns/libvirt/domain/1.0

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
if ! ls /boot/vmlinuz-* >/dev/null 2>&1; then echo "1..0 # SKIP no kernel for the appliance"; exit 77; fi
T=$(mktemp -d /var/tmp/vi-appliance-XXXXXX)
trap 'pkill -9 -f "qemu-nbd.*$T" 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$T/secrets"
printf 'rootpw-secret\n' > "$T/secrets/rootpw"; chmod 0600 "$T/secrets/rootpw"
conf () {  # conf FILE TIMEOUT MAX_PARALLEL
    cat > "$1" <<CONF
[guestfs]
force_tcg = true
timeout = $2
max_parallel = $3
[paths]
state_dir = $T/state
run_dir = $T/run
secrets_dir = $T/secrets
CONF
}
conf "$T/conf" 900 2
conf "$T/conf-short" 4 2
conf "$T/conf-one" 900 1

KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E a@b"
spec () {  # spec HOSTNAME [USER]
    cat <<XML
<vi:inject xmlns:vi='$NS'>
  <vi:user name='${2:-root}'><vi:ssh-key>$KEY</vi:ssh-key><vi:password secret='rootpw'/></vi:user>
  <vi:hostname>$1</vi:hostname>
  <vi:directory path='/srv/app' mode='0750'/>
  <vi:file path='/boot/virt-inject-was-here'>boot&#10;</vi:file>
  <vi:file path='/etc/motd' mode='0640'>motd $1&#10;</vi:file>
  <vi:network><vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address><vi:gateway>192.0.2.1</vi:gateway></vi:interface></vi:network>
  <vi:meta key='role'>web</vi:meta>
</vi:inject>
XML
}
spec_noboot () { spec "$@" | grep -v '/boot/'; }

# --- images: a partitioned qcow2 with a separate /boot; an unpartitioned raw
"$SRC/tests/make-guest-tree.sh" debian12 "$T/tree" >/dev/null
printf 'LABEL=root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n' > "$T/tree/etc/fstab"
mkdir -p "$T/boot" "$T/tree/boot"; printf 'kernel\n' > "$T/boot/vmlinuz"
mkfs.ext4 -q -F -L root -d "$T/tree" "$T/root.fs" 60M >/dev/null
mkfs.ext4 -q -F -L boot -d "$T/boot" "$T/boot.fs" 20M >/dev/null
truncate -s 100M "$T/part.raw"
printf 'label: dos\nstart=2048, size=122880, type=83\nstart=124928, size=40960, type=83\n' | sfdisk -q "$T/part.raw"
dd if="$T/root.fs" of="$T/part.raw" bs=512 seek=2048 conv=notrunc status=none
dd if="$T/boot.fs" of="$T/part.raw" bs=512 seek=124928 conv=notrunc status=none
qemu-img convert -q -f raw -O qcow2 "$T/part.raw" "$T/A.qcow2"
rm -f "$T/part.raw" "$T/root.fs" "$T/boot.fs"
printf '/dev/sda / ext4 defaults 0 1\n' > "$T/tree/etc/fstab"
mkfs.ext4 -q -F -d "$T/tree" "$T/B.raw" 64M >/dev/null
cp "$T/B.raw" "$T/C.raw"; cp "$T/B.raw" "$T/D.raw"; cp "$T/B.raw" "$T/E.raw"; cp "$T/B.raw" "$T/N.raw"
sum () { sha256sum "$1" | cut -d' ' -f1; }
no_qemu () { sleep 2; ! pgrep -f "qemu-system.*$T" >/dev/null; }

t_partitioned () { spec web-a > "$T/a.xml"
    "$VI" --config-file "$T/conf" inject -a "$T/A.qcow2" --format qcow2 --spec "$T/a.xml"; }
t_domain_xml () { spec_noboot web-b > "$T/b.xml"
    cat > "$T/b-dom.xml" <<XML
<domain type='qemu'><name>b</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
<metadata>$(cat "$T/b.xml")</metadata>
<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/B.raw'/><target dev='vda'/></disk></devices></domain>
XML
    "$VI" --config-file "$T/conf" inject --domain-xml "$T/b-dom.xml"; }
t_failure_unchanged () { before=$(sum "$T/C.raw"); spec_noboot web-c nosuchuser > "$T/c.xml"
    # a relative image path (qemu resolves backing files against the overlay)
    (cd "$T" && "$VI" --config-file "$T/conf" inject -a C.raw --format raw --spec c.xml) 2>"$T/c.err"; rc=$?
    cat "$T/c.err"; echo "rc=$rc"; [ $rc -eq 2 ] && grep -q "'nosuchuser'" "$T/c.err" &&
    [ "$(sum "$T/C.raw")" = "$before" ] && no_qemu; }
t_timeout () { before=$(sum "$T/D.raw"); spec_noboot web-d > "$T/d.xml"
    "$VI" --config-file "$T/conf-short" inject -a "$T/D.raw" --format raw --spec "$T/d.xml" 2>"$T/d.err"; rc=$?
    cat "$T/d.err"; [ $rc -eq 3 ] && grep -q 'timed out' "$T/d.err" && grep -q 'launch' "$T/d.err" &&
    [ "$(sum "$T/D.raw")" = "$before" ] && no_qemu; }
t_kill9 () { before=$(sum "$T/E.raw"); spec_noboot web-e > "$T/e.xml"
    "$VI" --config-file "$T/conf" inject -a "$T/E.raw" --format raw --spec "$T/e.xml" & pid=$!
    sleep 8; kill -9 $pid; wait $pid 2>/dev/null
    sleep 3; [ "$(sum "$T/E.raw")" = "$before" ] && no_qemu; }
t_parallel_cap () { spec_noboot web-par > "$T/p.xml"; cp "$T/B.raw" "$T/P1.raw"; cp "$T/B.raw" "$T/P2.raw"
    ( while :; do pgrep -c -f "qemu-system.*$T" >> "$T/count" || echo 0 >> "$T/count"; sleep 0.5; done ) & sampler=$!
    "$VI" --config-file "$T/conf-one" inject -a "$T/P1.raw" --format raw --spec "$T/p.xml" & p1=$!
    "$VI" --config-file "$T/conf-one" inject -a "$T/P2.raw" --format raw --spec "$T/p.xml" & p2=$!
    wait $p1; r1=$?; wait $p2; r2=$?; kill $sampler
    max=$(sort -n "$T/count" | tail -1); echo "rc=$r1,$r2 max qemu at once: $max"
    [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$max" -le 1 ]; }
t_nbd () { spec_noboot web-n > "$T/n.xml"
    qemu-nbd --fork --persistent --socket="$T/nbd.sock" --format=raw "$T/N.raw" || return 1
    cat > "$T/n-dom.xml" <<XML
<domain type='qemu'><name>n</name><metadata>$(cat "$T/n.xml")</metadata>
<devices><disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd'><host transport='unix' socket='$T/nbd.sock'/></source><target dev='vda'/></disk></devices></domain>
XML
    "$VI" --config-file "$T/conf" inject --domain-xml "$T/n-dom.xml"; rc=$?
    pkill -f "qemu-nbd.*$T"; sleep 1; [ $rc -eq 0 ]; }

ok "partitioned qcow2 with a separate /boot (root found, fstab mounted)" t_partitioned
ok "unpartitioned raw image through --domain-xml" t_domain_xml
ok "a failing injection (user missing) leaves the image byte-identical" t_failure_unchanged
ok "deadline expiry: exit 3, stage named, no qemu left, image unchanged" t_timeout
ok "kill -9 of the injector during launch: image unchanged, no qemu left" t_kill9
ok "max_parallel=1: two injections both succeed, never two appliances" t_parallel_cap
ok "network disk: nbd export on a unix socket" t_nbd

# --- read everything back in one appliance session ----------------------
guestfish --ro --format=qcow2 -a "$T/A.qcow2" --format=raw -a "$T/B.raw" -a "$T/E.raw" \
    -a "$T/P1.raw" -a "$T/P2.raw" -a "$T/N.raw" > "$T/check.out" 2>&1 <<'GF'
run
mount /dev/sda1 /
mount /dev/sda2 /boot
echo A-hostname
cat /etc/hostname
echo A-boot
cat /boot/virt-inject-was-here
echo A-keys
cat /root/.ssh/authorized_keys
echo A-shadow
cat /etc/shadow
echo A-modes
lstatns /etc/motd
lstatns /srv/app
echo A-net
cat /etc/network/interfaces.d/virt-inject-eth0
echo A-meta
cat /meta.js
umount-all
mount /dev/sdb /
echo B-hostname
cat /etc/hostname
umount-all
mount /dev/sdc /
echo E-retry-hostname
cat /etc/hostname
umount-all
mount /dev/sdd /
echo P1-hostname
cat /etc/hostname
umount-all
mount /dev/sde /
echo P2-hostname
cat /etc/hostname
umount-all
mount /dev/sdf /
echo N-hostname
cat /etc/hostname
GF
after () { sed -n "/^$1\$/,/^[A-Z][A-Z0-9]*-/p" "$T/check.out" | sed '1d;$d'; }
sect () { awk -v s="$1" '$0==s{f=1;next} /^[A-Z][A-Z0-9]*-[a-z]/{f=0} f' "$T/check.out"; }
t_a () { [ "$(sect A-hostname)" = web-a ] && [ "$(sect A-boot)" = boot ] &&
    sect A-keys | grep -q 'a@b' && sect A-shadow | grep -q '^root:\$y\$' &&
    sect A-net | grep -q 'address 192.0.2.10/24' && sect A-meta | grep -q '"role" : "web"' &&
    sect A-modes | grep -q 'st_mode: 33184' && sect A-modes | grep -q 'st_mode: 16872'; }
t_b () { [ "$(sect B-hostname)" = web-b ]; }
t_e () { [ "$(sect E-retry-hostname)" = localhost ]; }
t_p () { [ "$(sect P1-hostname)" = web-par ] && [ "$(sect P2-hostname)" = web-par ]; }
t_n () { [ "$(sect N-hostname)" = web-n ]; }
ok "read back: every operation landed in the partitioned image, /boot included" t_a
ok "read back: the --domain-xml image" t_b
ok "read back: the killed injection left the old hostname" t_e
ok "read back: both capped injections landed" t_p
ok "read back: the nbd network disk" t_n
[ "$tap_failed" -eq 0 ] || sed 's/^/# /' "$T/check.out"
tap_done
