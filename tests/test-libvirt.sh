#!/bin/sh
# test-libvirt.sh: against a real libvirtd started here, with the hook
# installed: `virsh define` + `virsh start` of QEMU and LXC domains.  (The
# authoring commands are tested by cli/test-cli-libvirt.sh.)  TAP output.
set -u
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/libvirt-hook.sh"
SRC=$VIRT_INJECT_SOURCE_ROOT
B=$VIRT_INJECT_BUILD_ROOT
VI=$B/tools/virt-inject
URI=qemu:///system
NS=http://virt-inject.org/xmlns/libvirt/domain/1.0
export VIRT_INJECT_MODULE_DIR=$B/modules/libvirt
export VIRT_INJECT_GUESTFS_HELPER=$B/modules/guestfs/virt-inject-guestfs
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
if ! command -v libvirtd >/dev/null; then echo "1..0 # SKIP no libvirtd"; exit 77; fi
T=$(mktemp -d /var/tmp/vi-libvirt-XXXXXX)
chmod 0755 "$T"
HOOKS=/etc/libvirt/hooks
cleanup () {
    undefine_all
    rm -f "$HOOKS/qemu.d/virt-inject-test" "$HOOKS/lxc.d/virt-inject-test"
    pkill -HUP -x libvirtd 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM    # meson's timeout: the EXIT trap still cleans up
undefine_all () {
    for d in vi-web vi-bad vi-staged vi-ct vi-ctraw vi-ctq vi-noroot; do
        virsh -c "$URI" destroy "$d" >/dev/null 2>&1
        virsh -c "$URI" undefine "$d" >/dev/null 2>&1
        virsh -c lxc:/// destroy "$d" >/dev/null 2>&1
        virsh -c lxc:/// undefine "$d" >/dev/null 2>&1
    done
}

# --- the daemon, and the hook (a wrapper: libvirt gives hooks a minimal
# environment, the wrapper points the build-tree hook at a test config) ---
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for i in $(seq 60); do virsh -c "$URI" uri >/dev/null 2>&1 && break; sleep 1; done
undefine_all    # leftovers of an interrupted run
mkdir -p "$T/secrets" "$HOOKS/qemu.d" "$HOOKS/lxc.d"
printf 'rootpw-secret\n' > "$T/secrets/rootpw"; chmod 0600 "$T/secrets/rootpw"
cat > "$T/conf" <<CONF
[guestfs]
force_tcg = true
timeout = 900
[paths]
state_dir = $T/state
run_dir = $T/run
secrets_dir = $T/secrets
digest_key = $T/digest.key
CONF
test_hooks_reap
test_hook_write "$T/hook" "export VIRT_INJECT_CONFIG=$T/conf
export VIRT_INJECT_GUESTFS_HELPER=$VIRT_INJECT_GUESTFS_HELPER
export LIBGUESTFS_BACKEND=direct
export VIRT_INJECT_HOOK_WORKER=$B/hooks/virt-inject-hook-worker
exec $B/hooks/virt-inject-hook \"\$@\""
cp "$T/hook" "$HOOKS/qemu.d/virt-inject-test"
cp "$T/hook" "$HOOKS/lxc.d/virt-inject-test"
pkill -HUP -x libvirtd; sleep 3
for i in $(seq 60); do virsh -c "$URI" uri >/dev/null 2>&1 && break; sleep 1; done

KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E a@b"
request () {  # request HOSTNAME [POLICY]
    echo "<vi:inject xmlns:vi='$NS' policy='${2:-once}'><vi:user name='root'><vi:ssh-key>$KEY</vi:ssh-key><vi:password secret='rootpw'/></vi:user><vi:hostname>$1</vi:hostname><vi:meta key='by'>hook</vi:meta></vi:inject>"
}
image () {  # image FILE FORMAT
    rm -rf "$T/tree"; "$SRC/tests/make-guest-tree.sh" debian12 "$T/tree" >/dev/null
    printf '/dev/sda / ext4 defaults 0 1\n' > "$T/tree/etc/fstab"
    mkfs.ext4 -q -F -d "$T/tree" "$T/tmp.raw" 64M >/dev/null
    if [ "$2" = raw ]; then mv "$T/tmp.raw" "$1"; else qemu-img convert -q -f raw -O "$2" "$T/tmp.raw" "$1"; rm -f "$T/tmp.raw"; fi
}
qemu_domain () {  # qemu_domain NAME DISK METADATA
    cat <<XML
<domain type='qemu'><name>$1</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<metadata>$3</metadata>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$2'/><target dev='vda' bus='virtio'/></disk>
<graphics type='vnc' port='-1' listen='127.0.0.1'/></devices></domain>
XML
}
lxc_domain () {  # lxc_domain NAME FILESYSTEM METADATA
    cat <<XML
<domain type='lxc'><name>$1</name><memory unit='MiB'>64</memory>
<metadata>$3</metadata>
<os><type>exe</type><init>/bin/sh</init></os>
<devices>$2<console type='pty'/></devices></domain>
XML
}
sum () { sha256sum "$1" | cut -d' ' -f1; }

image "$T/web.qcow2" qcow2
image "$T/bad.qcow2" qcow2
t_qemu_start () {
    qemu_domain vi-web "$T/web.qcow2" "$(request web1)" > "$T/web.xml"
    virsh -c "$URI" define "$T/web.xml" && virsh -c "$URI" start vi-web &&
    virsh -c "$URI" destroy vi-web; }
t_invalid () {
    before=$(sum "$T/bad.qcow2")
    qemu_domain vi-bad "$T/bad.qcow2" "<vi:inject xmlns:vi='$NS'><vi:hostname>bad_name!</vi:hostname></vi:inject>" > "$T/bad.xml"
    virsh -c "$URI" define "$T/bad.xml" >/dev/null || return 1
    if virsh -c "$URI" start vi-bad 2>"$T/bad.err"; then return 1; fi
    cat "$T/bad.err"; grep -q 'virt-inject: vi-bad: ' "$T/bad.err" && [ "$(sum "$T/bad.qcow2")" = "$before" ]; }
t_once () {
    s=$(date +%s); virsh -c "$URI" start vi-web && virsh -c "$URI" destroy vi-web || return 1
    e=$(date +%s); echo "second start took $((e - s)) s"; [ $((e - s)) -lt 15 ]; }

# `metadata set --stage` through the libvirt API: the request saved in the
# domain, injected ahead into a stage; `virsh start` only commits it (no
# appliance: as fast as the second start above), and the stage is gone.
image "$T/staged.qcow2" qcow2
t_metadata_stage () {
    qemu_domain vi-staged "$T/staged.qcow2" "" > "$T/staged.xml"
    virsh -c "$URI" define "$T/staged.xml" >/dev/null || return 1
    "$VI" --config-file "$T/conf" metadata set -c "$URI" vi-staged --hostname staged1 --stage \
        >"$T/ms.out" 2>&1; rc=$?; cat "$T/ms.out"
    [ $rc -eq 0 ] && grep -q '^staged: .* vi-staged: request .* staged on .*staged.qcow2' "$T/ms.out" &&
    virsh -c "$URI" dumpxml --inactive vi-staged | grep -q '<vi:hostname>staged1</vi:hostname>' &&
    "$VI" --config-file "$T/conf" stage --status | grep -q ' vi-staged: request ' || return 1
    s=$(date +%s); virsh -c "$URI" start vi-staged && virsh -c "$URI" destroy vi-staged || return 1
    e=$(date +%s); echo "the staged start took $((e - s)) s"; [ $((e - s)) -lt 15 ] &&
    "$VI" --config-file "$T/conf" stage --status | tee "$T/st.out" | grep -q '^no stage$'; }

"$SRC/tests/make-guest-tree.sh" debian12 "$T/ctroot" >/dev/null
t_lxc_dir () {
    lxc_domain vi-ct "<filesystem type='mount'><source dir='$T/ctroot'/><target dir='/'/></filesystem>" "$(request ct1 always)" > "$T/ct.xml"
    virsh -c lxc:/// define "$T/ct.xml" >/dev/null || return 1
    virsh -c lxc:/// start vi-ct >"$T/ct.out" 2>&1; cat "$T/ct.out"
    virsh -c lxc:/// destroy vi-ct >/dev/null 2>&1
    [ "$(cat "$T/ctroot/etc/hostname")" = ct1 ] && grep -q 'a@b' "$T/ctroot/root/.ssh/authorized_keys"; }
t_lxc_raw () {
    image "$T/ct.raw" raw
    lxc_domain vi-ctraw "<filesystem type='file'><driver type='loop' format='raw'/><source file='$T/ct.raw'/><target dir='/'/></filesystem>" "$(request ctraw always)" > "$T/ctraw.xml"
    virsh -c lxc:/// define "$T/ctraw.xml" >/dev/null || return 1
    virsh -c lxc:/// start vi-ctraw >"$T/ctraw.out" 2>&1; cat "$T/ctraw.out"
    virsh -c lxc:/// destroy vi-ctraw >/dev/null 2>&1
    [ "$(debugfs -R 'cat /etc/hostname' "$T/ct.raw" 2>/dev/null)" = ctraw ]; }
t_lxc_qcow2 () {
    image "$T/ct.qcow2" qcow2
    lxc_domain vi-ctq "<filesystem type='file'><driver type='nbd' format='qcow2'/><source file='$T/ct.qcow2'/><target dir='/'/></filesystem>" "$(request ctq always)" > "$T/ctq.xml"
    virsh -c lxc:/// define "$T/ctq.xml" >/dev/null || return 1
    virsh -c lxc:/// start vi-ctq >"$T/ctq.out" 2>&1; cat "$T/ctq.out"
    virsh -c lxc:/// destroy vi-ctq >/dev/null 2>&1
    qemu-img convert -q -f qcow2 -O raw "$T/ct.qcow2" "$T/ctq.raw" &&
    [ "$(debugfs -R 'cat /etc/hostname' "$T/ctq.raw" 2>/dev/null)" = ctq ]; }
t_lxc_noroot () {
    before=$(cat /etc/hostname; ls -la /root/.ssh 2>&1)
    lxc_domain vi-noroot "" "$(request evil always)" > "$T/noroot.xml"
    virsh -c lxc:/// define "$T/noroot.xml" >/dev/null || return 1
    if virsh -c lxc:/// start vi-noroot 2>"$T/noroot.err"; then virsh -c lxc:/// destroy vi-noroot; return 1; fi
    cat "$T/noroot.err"; grep -q "host's own '/'" "$T/noroot.err" &&
    [ "$(cat /etc/hostname; ls -la /root/.ssh 2>&1)" = "$before" ]; }

ok "virsh start of a QEMU domain injects through the hook" t_qemu_start
ok "an invalid request fails virsh start with the virt-inject: line, disk unchanged" t_invalid
ok "policy once: the second start launches no appliance" t_once
ok "metadata set --stage: virsh start commits the stage, no appliance" t_metadata_stage
ok "LXC domain with a directory root: the hook injected into the tree" t_lxc_dir
ok "LXC domain with a raw image root (loop)" t_lxc_raw
ok "LXC domain with a qcow2 image root (FUSE export)" t_lxc_qcow2
ok "LXC domain without a root filesystem is refused, host untouched" t_lxc_noroot

# --- read the QEMU images back in one appliance session ----------------
guestfish --ro --format=qcow2 -a "$T/web.qcow2" -a "$T/staged.qcow2" > "$T/check.out" 2>&1 <<'GF'
run
mount /dev/sda /
echo WEB-hostname
cat /etc/hostname
echo WEB-keys
cat /root/.ssh/authorized_keys
echo WEB-meta
cat /meta.js
umount /
mount /dev/sdb /
echo STAGED-hostname
cat /etc/hostname
GF
sect () { awk -v s="$1" '$0==s{f=1;next} /^[A-Z]+-[a-z]/{f=0} f' "$T/check.out"; }
t_web () { [ "$(sect WEB-hostname)" = web1 ] && sect WEB-keys | grep -q 'a@b' && sect WEB-meta | grep -q hook; }
ok "read back: the QEMU domain's disk holds the injected files" t_web
t_staged () { [ "$(sect STAGED-hostname)" = staged1 ]; }
ok "read back: the staged domain's disk holds the committed stage" t_staged
[ "$tap_failed" -eq 0 ] || sed 's/^/# /' "$T/check.out"
tap_done
