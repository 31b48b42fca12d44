#!/bin/sh
# test-appliance.sh: disk images through the real libguestfs appliance.
# Launches are expensive under software emulation (~30-60 s each), so the
# images are made once and the checks batched: every injected image is read
# back by ONE guestfish session at the end.  TAP output.
#
# Images: partitioned qcow2 with a separate /boot; unpartitioned raw; LVM
# with separate /usr and /boot (merged /usr); Fedora's btrfs layout (root
# and home subvolumes, /boot separate); a block device (loop); an nbd
# export; an SELinux-enforcing guest; a nearly full filesystem.
# Faults: a failing request, the deadline, kill -9 during launch, during
# the writes and during the commit (the injector alone, and the injector
# with its qemu-img); ENOSPC.  Load: 2 x max_parallel injections at once.
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
trap 'exit 130' INT TERM    # meson's timeout: the EXIT trap still cleans up
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
conf "$T/conf-two" 900 2

KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E a@b"
H6='$6$FqqoikoO6v0uIcnm$3sMy9trbuavMQmPVVGmwLgGS4Y7TnCuX514KjnCX3b3xmdl044EXeQTVASlM/JJGbJoD2nxEVeJNgrMytmxCy.'
spec () {  # spec HOSTNAME [USER]
    cat <<XML
<vi:inject xmlns:vi='$NS'>
  <vi:user name='${2:-root}'><vi:ssh-key>$KEY</vi:ssh-key><vi:password secret='rootpw'/></vi:user>
  <vi:hostname>$1</vi:hostname>
  <vi:directory path='/srv/app' mode='0750'/>
  <vi:file path='/srv/app/tool' mode='4750' owner='alice' group='daemon'>#!/bin/sh&#10;</vi:file>
  <vi:file path='/boot/virt-inject-was-here'>boot&#10;</vi:file>
  <vi:file path='/etc/motd' mode='0640'>motd $1&#10;</vi:file>
  <vi:network><vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address><vi:gateway>192.0.2.1</vi:gateway></vi:interface></vi:network>
  <vi:meta key='role'>web</vi:meta>
</vi:inject>
XML
}
spec_noboot () { spec "$@" | grep -v '/boot/'; }

# --- images ----------------------------------------------------------------
# A: partitioned qcow2 with a separate /boot
"$SRC/tests/make-guest-tree.sh" debian12 "$T/tree" >/dev/null
# the guest's own configuration of eth0, which a request's eth0 neutralises
printf '\nauto eth0\niface eth0 inet dhcp\n' >> "$T/tree/etc/network/interfaces"
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
# B and its copies: an unpartitioned raw filesystem image
printf '/dev/sda / ext4 defaults 0 1\n' > "$T/tree/etc/fstab"
mkfs.ext4 -q -F -d "$T/tree" "$T/B.raw" 64M >/dev/null
for i in C D E F G H K N Q1 Q2 Q3 Q4; do cp "$T/B.raw" "$T/$i.raw"; done
# S: the same tree with 4 free blocks and no reserve (ENOSPC)
mkfs.ext4 -q -F -m 0 -b 4096 -d "$T/tree" "$T/S.raw" 16M >/dev/null
free=$(dumpe2fs -h "$T/S.raw" 2>/dev/null | sed -n 's/^Free blocks: *//p')
# (not zeros: debugfs would write them as a hole)
tr '\0' x < /dev/zero | head -c $(( (free - 4) * 4096 )) > "$T/filler"
debugfs -w -R "write $T/filler /filler" "$T/S.raw" >/dev/null 2>&1; rm -f "$T/filler"
# SE: Fedora 39, SELinux enforcing
"$SRC/tests/make-guest-tree.sh" fedora39 "$T/tree-se" >/dev/null
printf '/dev/sda / ext4 defaults 0 1\n' > "$T/tree-se/etc/fstab"
mkfs.ext4 -q -F -d "$T/tree-se" "$T/SE.raw" 64M >/dev/null
# L: LVM (vg0/root, vg0/usr) plus a /boot partition, merged /usr, made by
# the appliance itself; fstab names the devices three ways.
"$SRC/tests/make-guest-tree.sh" debian12 "$T/tree-l" >/dev/null
( cd "$T/tree-l" && mkdir -p usr/lib boot && mv bin/* usr/bin/ && rmdir bin && ln -s usr/bin bin &&
  [ -L etc/os-release ] && [ -f usr/lib/os-release ] &&
  printf '/dev/mapper/vg0-root / ext4 defaults 0 1\n/dev/vg0/usr /usr ext4 defaults 0 2\nLABEL=lboot /boot ext4 defaults 0 2\n' > etc/fstab )
tar --numeric-owner -C "$T/tree-l" -cf "$T/tree-l.tar" .
truncate -s 200M "$T/L.raw"
# FB: Fedora's layout: GPT, /boot (ext4) on partition 1, and a btrfs
# filesystem on partition 2 whose top level holds nothing but the
# subvolumes "root" and "home", made by the appliance in the session
# below (mkfs.btrfs 6.2 has no --subvol).  fstab as Fedora writes it
# (UUID=, subvol=, compress=), /boot by PARTUUID= to resolve one for real,
# and lines this image cannot satisfy: vfat /boot/efi, a nofail disk and
# a noauto /dev name that are not in it.  FB2 is a copy for a refusal.
FB_UUID=6d6a3a40-0b1f-4c54-9d3e-6a1f6b0c2b11
FB_PARTUUID=8c1e2a6f-5b3d-4e9a-a7c2-1d4f6e8b9a03
FB_ABSENT=0d0a0000-dead-4000-8000-000000000000
"$SRC/tests/make-guest-tree.sh" fedora39 "$T/tree-fb" >/dev/null
mkdir -p "$T/tree-fb/data" "$T/tree-fb/backup"
cat > "$T/tree-fb/etc/fstab" <<FSTAB
UUID=$FB_UUID / btrfs subvol=root,compress=zstd:1 0 0
PARTUUID=$FB_PARTUUID /boot ext4 defaults 1 2
UUID=7A3B-19C2 /boot/efi vfat umask=0077,shortname=winnt 0 2
UUID=$FB_UUID /home btrfs subvol=home,compress=zstd:1 0 0
UUID=$FB_ABSENT /data xfs defaults,nofail 0 0
/dev/vdb1 /backup ext4 noauto 0 0
FSTAB
tar --numeric-owner -C "$T/tree-fb" -cf "$T/tree-fb.tar" .
mkfs.ext4 -q -F -L fbboot -d "$T/boot" "$T/fbboot.fs" 20M >/dev/null
truncate -s 230M "$T/fb.btrfs"
mkfs.btrfs -q -f -U "$FB_UUID" -L fedora "$T/fb.btrfs" >/dev/null
truncate -s 256M "$T/FB.raw"
printf 'label: gpt\nstart=2048, size=40960, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=%s\nstart=43008, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' \
    "$FB_PARTUUID" | sfdisk -q "$T/FB.raw"
dd if="$T/fbboot.fs" of="$T/FB.raw" bs=512 seek=2048 conv=notrunc,sparse status=none
dd if="$T/fb.btrfs" of="$T/FB.raw" bs=512 seek=43008 conv=notrunc,sparse status=none
rm -f "$T/fbboot.fs" "$T/fb.btrfs"
# one appliance makes both: L is /dev/sda, FB /dev/sdb
guestfish --format=raw -a "$T/L.raw" -a "$T/FB.raw" > "$T/lvm.out" 2>&1 <<GF
run
part-init /dev/sda mbr
part-add /dev/sda p 2048 43007
part-add /dev/sda p 43008 -1
mkfs ext4 /dev/sda1 label:lboot
pvcreate /dev/sda2
vgcreate vg0 /dev/sda2
lvcreate root vg0 80
lvcreate usr vg0 60
mkfs ext4 /dev/vg0/root
mkfs ext4 /dev/vg0/usr
mount /dev/vg0/root /
mkdir /usr
mkdir /boot
mount /dev/vg0/usr /usr
mount /dev/sda1 /boot
tar-in $T/tree-l.tar /
umount-all
mount /dev/sdb2 /
btrfs-subvolume-create /root
btrfs-subvolume-create /home
umount-all
mount-options subvol=root /dev/sdb2 /
mkdir /home
mkdir /boot
mount-options subvol=home /dev/sdb2 /home
mount /dev/sdb1 /boot
tar-in $T/tree-fb.tar /
GF
[ $? -eq 0 ] || sed 's/^/# lvm and btrfs images: /' "$T/lvm.out"
cp "$T/FB.raw" "$T/FB2.raw"

sum () { sha256sum "$1" | cut -d' ' -f1; }
# no appliance outlives its injector by more than a few seconds
no_qemu () {
    for i in $(seq 12); do pgrep -f "qemu-system.*$T" >/dev/null || return 0; sleep 0.5; done
    echo "a qemu is still running 6 s after its injector ended"; return 1
}
# wait_for PATTERN FILE PID: until PATTERN is in FILE (false if PID ended first)
wait_for () {
    until grep -q "$1" "$2" 2>/dev/null; do kill -0 "$3" 2>/dev/null || return 1; sleep 0.05; done
}
# a commit recorded as started (lib/vi-image.c: intent.json, state "committing")
intent () { cat "$T"/state/work/*/intent.json 2>/dev/null | grep -q '"state":"committing"'; }
# (a function: never put it in the background, $! would not be virt-inject)
vic () { "$VI" --config-file "$T/conf" "$@"; }
# spec_files HOSTNAME [N]: /etc/motd and N (21: the standard request's 22
# files) files of 16 KiB in /srv/app.  The files reach the appliance in one
# transfer at the end of the write stage: 200 of them (3.2 MB) make that
# stage last about a second under emulation.
spec_files () {
    { echo "<vi:inject xmlns:vi='$NS'><vi:hostname>$1</vi:hostname>"
      echo "<vi:file path='/etc/motd'>motd $1&#10;</vi:file>"
      for i in $(seq 1 "${2:-21}"); do
          printf "<vi:file path='/srv/app/f%03d'>" "$i"; head -c 12288 /dev/urandom | base64 -w0; echo "</vi:file>"
      done
      echo "</vi:inject>"; } > "$T/$1.xml"
}
# spec_hostname HOSTNAME [ATTRIBUTES]: a request of the hostname alone
spec_hostname () { echo "<vi:inject xmlns:vi='$NS' ${2:-}><vi:hostname>$1</vi:hostname></vi:inject>" > "$T/$1.xml"; }
# A test double around the real qemu-img, first on PATH for the commit
# tests: VI_TEST_COMMIT_DELAY sleeps before a commit, VI_TEST_COMMIT_RATE
# rate-limits it (bytes/s), so that a kill lands inside it.
mkdir -p "$T/bin"
cat > "$T/bin/qemu-img" <<'SH'
#!/bin/sh
if [ "$1" = commit ]; then
    shift
    [ -n "${VI_TEST_COMMIT_DELAY:-}" ] && sleep "$VI_TEST_COMMIT_DELAY"
    exec /usr/bin/qemu-img commit ${VI_TEST_COMMIT_RATE:+-r "$VI_TEST_COMMIT_RATE"} "$@"
fi
exec /usr/bin/qemu-img "$@"
SH
chmod +x "$T/bin/qemu-img"

# --- injections ---------------------------------------------------------------
t_partitioned () { spec web-a > "$T/a.xml"
    vic inject -a "$T/A.qcow2" --format qcow2 --spec "$T/a.xml"; }
t_domain_xml () { spec_noboot web-b > "$T/b.xml"
    cat > "$T/b-dom.xml" <<XML
<domain type='qemu'><name>b</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
<metadata>$(cat "$T/b.xml")</metadata>
<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/B.raw'/><target dev='vda'/></disk></devices></domain>
XML
    vic inject --domain-xml "$T/b-dom.xml"; }
t_failure_unchanged () { before=$(sum "$T/C.raw"); spec_noboot web-c nosuchuser > "$T/c.xml"
    # a relative image path (qemu resolves backing files against the overlay)
    (cd "$T" && "$VI" --config-file "$T/conf" inject -a C.raw --format raw --spec c.xml) 2>"$T/c.err"; rc=$?
    cat "$T/c.err"; echo "rc=$rc"; [ $rc -eq 2 ] && grep -q "'nosuchuser'" "$T/c.err" &&
    [ "$(sum "$T/C.raw")" = "$before" ] && no_qemu; }
t_timeout () { before=$(sum "$T/D.raw"); spec_noboot web-d > "$T/d.xml"
    "$VI" --config-file "$T/conf-short" inject -a "$T/D.raw" --format raw --spec "$T/d.xml" 2>"$T/d.err"; rc=$?
    cat "$T/d.err"; [ $rc -eq 3 ] && grep -q 'timed out' "$T/d.err" && grep -q 'launch' "$T/d.err" && grep -q force_tcg "$T/d.err" &&
    [ "$(sum "$T/D.raw")" = "$before" ] && no_qemu; }
t_kill9 () { before=$(sum "$T/E.raw"); spec_noboot web-e > "$T/e.xml"
    "$VI" --config-file "$T/conf" --verbose inject -a "$T/E.raw" --format raw --spec "$T/e.xml" 2>"$T/e.err" & pid=$!
    wait_for '\[launch\]' "$T/e.err" $pid; sleep 5; kill -9 $pid; wait $pid 2>/dev/null
    cat "$T/e.err"; ! grep -q '\[mount\]' "$T/e.err" &&
    [ "$(sum "$T/E.raw")" = "$before" ] && no_qemu; }
t_kill9_writes () { before=$(sum "$T/F.raw"); spec_files web-f 200
    "$VI" --config-file "$T/conf" --verbose inject -a "$T/F.raw" --format raw --spec "$T/web-f.xml" 2>"$T/f.err" & pid=$!
    wait_for '\[write\]' "$T/f.err" $pid; kill -9 $pid; wait $pid 2>/dev/null
    cat "$T/f.err"
    # killed inside the writes: the shutdown had not begun
    ! grep -q '\[shutdown\]' "$T/f.err" && [ "$(sum "$T/F.raw")" = "$before" ] && no_qemu &&
    ! intent && vic inject -a "$T/F.raw" --format raw --spec "$T/web-f.xml"; }
# G's retry keeps what web-g did (keep-dropped="yes", through the worker);
# H's retry takes back web-h's motd, files, /srv/app, its eth0 (the guest's
# own stanza back) and root's password (dropped from its request): the
# guest record rolled forward is read back in the appliance.
t_kill9_commit () { spec_files web-g; spec_hostname web-g2 "keep-dropped='yes'"
    env VI_TEST_COMMIT_DELAY=5 PATH="$T/bin:$PATH" \
        "$VI" --config-file "$T/conf" --verbose inject -a "$T/G.raw" --format raw --spec "$T/web-g.xml" 2>"$T/g.err" & pid=$!
    wait_for '\[commit\]' "$T/g.err" $pid; sleep 1; kill -9 $pid; wait $pid 2>/dev/null
    cat "$T/g.err"
    # the commit outlives its injector and holds the image: a retry started
    # now waits for it, then layers its own change on top
    pgrep -f "qemu-img commit.*$T" >/dev/null && intent &&
    vic inject -a "$T/G.raw" --format raw --spec "$T/web-g2.xml" &&
    ! pgrep -f "qemu-img.*$T" >/dev/null && ! intent && e2fsck -fn "$T/G.raw"; }
t_kill9_commit_group () { before=$(sum "$T/H.raw"); spec_files web-h; spec_hostname web-h2
    sed -i "s#</vi:inject>#<vi:user name='root'><vi:password hash='$H6'/></vi:user><vi:network renderer='ifupdown'><vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address></vi:interface></vi:network></vi:inject>#" "$T/web-h.xml"
    env VI_TEST_COMMIT_RATE=65536 PATH="$T/bin:$PATH" \
        "$VI" --config-file "$T/conf" --verbose inject -a "$T/H.raw" --format raw --spec "$T/web-h.xml" 2>"$T/h.err" & pid=$!
    wait_for '\[commit\]' "$T/h.err" $pid; sleep 3
    # the injector and its qemu-img together, as a cgroup kill would
    kill -9 $pid; pkill -9 -f "qemu-img commit.*$T"; wait $pid 2>/dev/null; sleep 1
    cat "$T/h.err"
    # half committed (the image changed, the intent is recorded); the retry
    # rolls the commit forward first
    [ "$(sum "$T/H.raw")" != "$before" ] && intent &&
    vic inject -a "$T/H.raw" --format raw --spec "$T/web-h2.xml" && ! intent && e2fsck -fn "$T/H.raw"; }
t_enospc () { before=$(sum "$T/S.raw")
    { echo "<vi:inject xmlns:vi='$NS'><vi:file path='/etc/motd'>new motd&#10;</vi:file>"
      printf "<vi:file path='/srv/big'>"; head -c 98304 /dev/urandom | base64 -w0; echo "</vi:file></vi:inject>"; } > "$T/s.xml"
    vic inject -a "$T/S.raw" --format raw --spec "$T/s.xml" 2>"$T/s.err"; rc=$?
    cat "$T/s.err"; echo "rc=$rc"
    [ $rc -eq 2 ] && grep -q -i 'no space left' "$T/s.err" && [ "$(sum "$T/S.raw")" = "$before" ] && no_qemu; }
t_lvm () { spec web-l | sed "s#</vi:inject>#<vi:file path='/usr/local/share/vi-usr'>usr\&\#10;</vi:file></vi:inject>#" > "$T/l.xml"
    vic inject -a "$T/L.raw" --format raw --spec "$T/l.xml"; }
# Root finding looks into the subvolumes; /home is mounted on "home";
# the nofail disk and the noauto name, absent, are skipped.
t_btrfs () { cat > "$T/fb.xml" <<XML
<vi:inject xmlns:vi='$NS'>
  <vi:user name='alice'><vi:ssh-key>$KEY</vi:ssh-key></vi:user>
  <vi:hostname>web-fb</vi:hostname>
  <vi:file path='/etc/motd'>motd web-fb&#10;</vi:file>
  <vi:file path='/boot/virt-inject-was-here'>boot&#10;</vi:file>
</vi:inject>
XML
    vic inject -a "$T/FB.raw" --format raw --spec "$T/fb.xml"; }
# The same image named by its btrfs device; a file under the skipped /data
# is refused naming it, and nothing is written (t_btrfs is the control).
t_btrfs_skipped () { before=$(sum "$T/FB2.raw")
    cat > "$T/fb2.xml" <<XML
<vi:inject xmlns:vi='$NS'><vi:target root='/dev/sda2'/>
  <vi:file path='/etc/motd'>motd web-fb2&#10;</vi:file>
  <vi:file path='/data/app.conf'>x&#10;</vi:file>
</vi:inject>
XML
    vic inject -a "$T/FB2.raw" --format raw --spec "$T/fb2.xml" 2>"$T/fb2.err"; rc=$?
    cat "$T/fb2.err"; echo "rc=$rc"
    [ $rc -eq 2 ] && grep -q "/data is a mount point of the guest's /etc/fstab" "$T/fb2.err" &&
    grep -q "UUID=$FB_ABSENT" "$T/fb2.err" && [ "$(sum "$T/FB2.raw")" = "$before" ] && no_qemu; }
t_blockdev () { spec_noboot web-k > "$T/k.xml"
    loop=$(losetup -f --show "$T/K.raw") || return 1
    vic inject -a "$loop" --format raw --spec "$T/k.xml"; rc=$?
    losetup -d "$loop"; [ $rc -eq 0 ]; }
t_selinux () { spec_noboot web-se > "$T/se.xml"
    vic inject -a "$T/SE.raw" --format raw --spec "$T/se.xml" --verbose > "$T/se.out"; rc=$?
    cat "$T/se.out"
    # labels from the guest's own file_contexts (no setfiles in Debian's
    # appliance, and none needed): said in the plan, no /.autorelabel
    [ $rc -eq 0 ] && grep -q "from the guest's SELinux file_contexts" "$T/se.out" &&
    ! grep -q 'relabel at first boot' "$T/se.out"; }
t_load () { spec_noboot web-q > "$T/q.xml"; : > "$T/count"
    ( while :; do
          n=$(pgrep -c -f "qemu-system.*$T"); rss=0
          for p in $(pgrep -f "qemu-system.*$T"); do
              rss=$((rss + $(awk '/^VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || echo 0)))
          done
          echo "$n $rss" >> "$T/count"; sleep 0.5
      done ) & sampler=$!
    start=$(date +%s); pids=""
    for i in 1 2 3 4; do
        "$VI" --config-file "$T/conf-two" inject -a "$T/Q$i.raw" --format raw --spec "$T/q.xml" & pids="$pids $!"
    done
    rcs=""; for p in $pids; do wait $p; rcs="$rcs$?"; done
    kill $sampler; wait $sampler 2>/dev/null
    max=$(cut -d' ' -f1 "$T/count" | sort -n | tail -1)
    peak=$(cut -d' ' -f2 "$T/count" | sort -n | tail -1)
    echo "4 injections, max_parallel=2: exit statuses $rcs, at most $max appliances at once," \
         "peak appliance RSS $((peak / 1024)) MiB, $(( $(date +%s) - start )) s" | tee "$T/load.txt"
    [ "$rcs" = 0000 ] && [ "$max" -eq 2 ]; }
t_nbd () { spec_noboot web-n > "$T/n.xml"
    qemu-nbd --fork --persistent --socket="$T/nbd.sock" --format=raw "$T/N.raw" || return 1
    cat > "$T/n-dom.xml" <<XML
<domain type='qemu'><name>n</name><metadata>$(cat "$T/n.xml")</metadata>
<devices><disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd'><host transport='unix' socket='$T/nbd.sock'/></source><target dev='vda'/></disk></devices></domain>
XML
    vic inject --domain-xml "$T/n-dom.xml"; rc=$?
    pkill -f "qemu-nbd.*$T"; sleep 1; [ $rc -eq 0 ]; }

ok "partitioned qcow2 with a separate /boot (root found, fstab mounted)" t_partitioned
ok "unpartitioned raw image through --domain-xml" t_domain_xml
ok "LVM root and /usr with a /boot partition, merged /usr (fstab: mapper, vg path, label)" t_lvm
ok "Fedora btrfs: root found in a subvolume, /home on its subvolume, absent nofail/noauto skipped" t_btrfs
ok "Fedora btrfs by device: a file under a skipped nofail mount point refused, image unchanged" t_btrfs_skipped
[ -f "$T/fb2.err" ] && sed 's/^/# /' "$T/fb2.err"
ok "a block device (loop) given with -a" t_blockdev
ok "network disk: nbd export on a unix socket" t_nbd
ok "SELinux-enforcing guest: labels from its own file_contexts, said in the plan, no /.autorelabel" t_selinux
ok "a failing injection (user missing) leaves the image byte-identical" t_failure_unchanged
ok "deadline expiry: exit 3, stage named, no qemu left, image unchanged" t_timeout
ok "kill -9 of the injector during launch: image unchanged, no qemu left" t_kill9
ok "kill -9 during the writes: image unchanged, no qemu left, the retry succeeds" t_kill9_writes
ok "kill -9 of the injector during the commit: the commit completes, a retry waits for it" t_kill9_commit
ok "kill -9 of injector and qemu-img mid-commit: the retry rolls forward, fsck clean" t_kill9_commit_group
ok "a full guest filesystem (ENOSPC): exit 2, the image byte-identical" t_enospc
ok "load: 4 injections with max_parallel=2 all succeed, never more than 2 appliances" t_load
[ -f "$T/load.txt" ] && sed 's/^/# /' "$T/load.txt"

# --- read everything back in one appliance session --------------------------
# Drives in this order: sda=A (qcow2) then, raw: B E F G H K N Q1..Q4 SE L FB.
raws="B E F G H K N Q1 Q2 Q3 Q4 SE L"
set -- --format=qcow2 -a "$T/A.qcow2" --format=raw
for i in $raws; do set -- "$@" -a "$T/$i.raw"; done
set -- "$@" -a "$T/FB.raw"
{
    echo run
    printf 'mount /dev/sda1 /\nmount /dev/sda2 /boot\n'
    echo "echo A-hostname"; echo "cat /etc/hostname"
    echo "echo A-boot"; echo "cat /boot/virt-inject-was-here"
    echo "echo A-keys"; echo "cat /root/.ssh/authorized_keys"
    echo "echo A-shadow"; echo "cat /etc/shadow"
    echo "echo A-modes"; echo "lstatns /etc/motd"; echo "lstatns /srv/app"
    echo "echo A-tool"; echo "lstatns /srv/app/tool"
    echo "echo A-top"; echo "ls /"; echo "echo A-boot-top"; echo "ls /boot"
    echo "echo A-net"; echo "cat /etc/network/interfaces.d/virt-inject-eth0"
    echo "echo A-ifaces"; echo "cat /etc/network/interfaces"
    echo "echo A-meta"; echo "cat /meta.js"
    echo umount-all
    letter=b
    for i in $raws; do
        [ "$i" = L ] && break
        echo "mount /dev/sd$letter /"
        echo "echo $i-hostname"; echo "-cat /etc/hostname"
        echo "echo $i-motd"; echo "-cat /etc/motd"
        echo "echo $i-files"; echo "-ls /srv/app"
        [ "$i" = H ] && { echo "echo H-appdir"; echo "-is-dir /srv/app"
            echo "echo H-record"; echo "-cat /var/lib/virt-inject/record.json"
            echo "echo H-ifaces"; echo "-cat /etc/network/interfaces"
            echo "echo H-netfile"; echo "-is-file /etc/network/interfaces.d/virt-inject-eth0"
            echo "echo H-shadow"; echo "-cat /etc/shadow"; }
        [ "$i" = SE ] && { echo "echo SE-autorelabel"; echo "-is-file /.autorelabel"
            # (guestfish prints a buffer without a newline: echo one)
            echo "echo SE-label-hostname"; echo "-lgetxattr /etc/hostname security.selinux"; echo "echo"
            echo "echo SE-label-keys"; echo "-lgetxattr /root/.ssh/authorized_keys security.selinux"
            echo "echo"; }
        echo umount-all
        letter=$(echo "$letter" | tr 'a-y' 'b-z')
    done
    echo "mount /dev/vg0/root /"; echo "mount /dev/vg0/usr /usr"; echo "mount /dev/sd${letter}1 /boot"
    echo "echo L-hostname"; echo "cat /etc/hostname"
    echo "echo L-boot"; echo "cat /boot/virt-inject-was-here"
    echo "echo L-usr"; echo "cat /usr/local/share/vi-usr"
    echo "echo L-keys"; echo "cat /root/.ssh/authorized_keys"
    echo umount-all
    # FB through the subvolumes the guest mounts, then its top level
    fb=$(echo "$letter" | tr 'a-y' 'b-z')
    echo "mount-options subvol=root /dev/sd${fb}2 /"; echo "mount-options subvol=home /dev/sd${fb}2 /home"
    echo "mount /dev/sd${fb}1 /boot"
    echo "echo FB-hostname"; echo "cat /etc/hostname"
    echo "echo FB-motd"; echo "cat /etc/motd"
    echo "echo FB-boot"; echo "cat /boot/virt-inject-was-here"
    echo "echo FB-keys"; echo "cat /home/alice/.ssh/authorized_keys"
    echo "echo FB-keys-stat"; echo "lstatns /home/alice/.ssh/authorized_keys"
    echo "echo FB-autorelabel"; echo "is-file /.autorelabel"
    echo "echo FB-label-keys"; echo "-lgetxattr /home/alice/.ssh/authorized_keys security.selinux"; echo "echo"
    echo umount-all
    echo "mount /dev/sd${fb}2 /"
    echo "echo FB-top"; echo "ls /"
} > "$T/check.gf"
guestfish --ro "$@" < "$T/check.gf" > "$T/check.out" 2>&1
sect () { awk -v s="$1" '$0==s{f=1;next} /^[A-Z][A-Z0-9]*-[a-z]/{f=0} f' "$T/check.out"; }
nfiles () { sect "$1-files" | grep -c '^f[0-9][0-9][0-9]$'; }
t_a () { [ "$(sect A-hostname)" = web-a ] && [ "$(sect A-boot)" = boot ] &&
    sect A-keys | grep -q 'a@b' && sect A-shadow | grep -q '^root:\$y\$' &&
    sect A-net | grep -q 'address 192.0.2.10/24' && ! sect A-ifaces | grep -qx 'iface eth0 inet dhcp' &&
    sect A-ifaces | grep -qx 'iface lo inet loopback' && sect A-meta | grep -q '"role" : "web"' &&
    sect A-modes | grep -q 'st_mode: 33184' && sect A-modes | grep -q 'st_mode: 16872' &&
    sect A-tool | grep -qx 'st_mode: 35304' && sect A-tool | grep -qx 'st_uid: 1000' &&
    sect A-tool | grep -qx 'st_gid: 1' && sect A-top | grep -qx srv &&
    ! sect A-top | grep -q virt-inject-stage && sect A-boot-top | grep -qx virt-inject-was-here &&
    ! sect A-boot-top | grep -q virt-inject-stage; }
t_b () { [ "$(sect B-hostname)" = web-b ]; }
t_e () { [ "$(sect E-hostname)" = localhost ]; }
t_f () { [ "$(sect F-hostname)" = web-f ] && [ "$(nfiles F)" -eq 200 ]; }
t_g () { [ "$(sect G-hostname)" = web-g2 ] && [ "$(sect G-motd)" = "motd web-g" ] && [ "$(nfiles G)" -eq 21 ]; }
t_h () { [ "$(sect H-hostname)" = web-h2 ] && ! sect H-motd | grep -q 'motd web-h' &&
    [ "$(nfiles H)" -eq 0 ] && sect H-appdir | grep -qx false && sect H-record | grep -q '"/etc/hostname"' &&
    ! sect H-record | grep -q '"/srv/app' && sect H-ifaces | grep -qx 'iface eth0 inet dhcp' &&
    sect H-netfile | grep -qx false && sect H-shadow | grep -qx 'root:\*:19700:0:99999:7:::' &&
    ! sect H-record | grep -q 'passwords-set'; }
t_k () { [ "$(sect K-hostname)" = web-k ]; }
t_n () { [ "$(sect N-hostname)" = web-n ]; }
t_q () { for i in 1 2 3 4; do [ "$(sect Q$i-hostname)" = web-q ] || return 1; done; }
t_se () { [ "$(sect SE-hostname)" = web-se ] && [ "$(sect SE-autorelabel)" = false ] &&
    sect SE-label-hostname | grep -q 'system_u:object_r:hostname_etc_t:s0' &&
    sect SE-label-keys | grep -q 'system_u:object_r:ssh_home_t:s0'; }
t_l () { [ "$(sect L-hostname)" = web-l ] && [ "$(sect L-boot)" = boot ] && [ "$(sect L-usr)" = usr ] &&
    sect L-keys | grep -q 'a@b'; }
ok "read back: every operation landed in the partitioned image, /boot included (the real tar: a set-uid file owned alice:daemon by number, no staging directory left on / or /boot)" t_a
ok "read back: the --domain-xml image" t_b
ok "read back: the image killed during launch still has the old hostname" t_e
ok "read back: the retry after the kill during the writes wrote all 201 files" t_f
ok "read back: the commit of the killed injector and its retry both landed" t_g
ok "read back: the rolled-forward commit landed, its retry took back what it dropped (motd, files, /srv/app, eth0 with the guest's own stanza back, root's password)" t_h
ok "read back: the block device" t_k
ok "read back: the nbd network disk" t_n
ok "read back: all four load-test images" t_q
ok "read back: the SELinux guest's files carry its policy's labels, and no /.autorelabel" t_se
t_fb () { [ "$(sect FB-hostname)" = web-fb ] && [ "$(sect FB-motd)" = "motd web-fb" ] &&
    [ "$(sect FB-boot)" = boot ] && sect FB-keys | grep -q 'a@b' &&
    sect FB-keys-stat | grep -q '^st_uid: 1000$' && [ "$(sect FB-autorelabel)" = false ] &&
    sect FB-label-keys | grep -q 'unconfined_u:object_r:ssh_home_t:s0' &&
    [ "$(sect FB-top | tr '\n' ' ')" = "home root " ]; }
ok "read back: LVM root, /usr and /boot each got their file" t_l
ok "read back: btrfs keys in the home subvolume, files in root and /boot, the top level untouched" t_fb
[ "$tap_failed" -eq 0 ] || sed 's/^/# /' "$T/check.out"
tap_done
