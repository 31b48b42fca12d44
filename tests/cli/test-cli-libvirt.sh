#!/bin/sh
# test-cli-libvirt.sh: the authoring commands against a real libvirtd
# (libvirt suite; TAP output).
#
#   metadata set/show/edit/remove round trips on a defined, shut-off QEMU
#   domain; no clear-text password in `virsh dumpxml`; the stored hash
#   verifies the password; an invalid edit keeps the old request;
#   `inject -d` refuses a running domain; `inject -c URI -d DOMAIN` resolves a
#   type='volume' disk of a dir pool and injects into it (one appliance
#   launch), checked by reading the image back; and into an iSCSI disk whose
#   <auth> names a libvirt secret (CHAP, served by tgtd on localhost), with
#   the password never in any process's argv nor left on disk.
set -u
B=$VIRT_INJECT_BUILD_ROOT
SRC=$VIRT_INJECT_SOURCE_ROOT
VI=$B/tools/virt-inject
CHECK=$B/tests/crypt-check
URI=qemu:///system
NS=http://virt-inject.org/xmlns/libvirt/domain/1.0
export VIRT_INJECT_MODULE_DIR=$B/modules/libvirt
export VIRT_INJECT_GUESTFS_HELPER=$B/modules/guestfs/virt-inject-guestfs
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
if ! command -v libvirtd >/dev/null; then echo "1..0 # SKIP no libvirtd"; exit 77; fi

T=$(mktemp -d /var/tmp/vi-cli-libvirt-XXXXXX)
chmod 0755 "$T"
cleanup () {
    [ -n "${iscsi_uuid:-}" ] && virsh -c "$URI" secret-undefine "$iscsi_uuid" >/dev/null 2>&1
    if [ -n "${tgt_ready:-}" ]; then
        tgtadm --lld iscsi --op delete --mode target --tid 77 --force >/dev/null 2>&1
        tgtadm --lld iscsi --op delete --mode account --user vi-au-user >/dev/null 2>&1
    fi
    [ -n "${tgt_started:-}" ] && tgtadm --lld iscsi --op delete --mode system >/dev/null 2>&1
    virsh -c lxc:///system undefine vi-au-hostroot >/dev/null 2>&1
    for d in vi-au-meta vi-au-vol vi-au-iscsi; do
        virsh -c "$URI" destroy "$d" >/dev/null 2>&1
        virsh -c "$URI" undefine "$d" >/dev/null 2>&1
    done
    virsh -c "$URI" pool-destroy vi-au-pool >/dev/null 2>&1
    virsh -c "$URI" pool-undefine vi-au-pool >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM    # meson's timeout: the EXIT trap still cleans up

n=0
failed=0
ok () {  # ok DESCRIPTION COMMAND...: the command (a shell function) succeeds
    what=$1; shift
    n=$((n + 1))
    if "$@" >"$T/log" 2>&1; then echo "ok $n - $what"; else echo "not ok $n - $what"; sed 's/^/# /' "$T/log"; failed=1; fi
}

pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for i in $(seq 60); do virsh -c "$URI" uri >/dev/null 2>&1 && break; sleep 1; done

image () {  # image FILE: a qcow2 image of a Debian-like tree
    rm -rf "$T/tree"; sh "$SRC/tests/make-guest-tree.sh" debian12 "$T/tree" >/dev/null
    printf '/dev/sda / ext4 defaults 0 1\n' > "$T/tree/etc/fstab"
    mkfs.ext4 -q -F -d "$T/tree" "$T/tmp.raw" 64M >/dev/null 2>&1 &&
    qemu-img convert -q -f raw -O qcow2 "$T/tmp.raw" "$1" && rm -f "$T/tmp.raw"
}
guest_file () {  # guest_file IMAGE PATH: a file of a qcow2 image, read with debugfs
    qemu-img convert -q -f qcow2 -O raw "$1" "$T/read.raw" && debugfs -R "cat $2" "$T/read.raw" 2>/dev/null
}

ssh-keygen -q -t ed25519 -N '' -C alice@laptop -f "$T/id" >/dev/null
printf 'pw-from-file\nignored\n' > "$T/pw"; chmod 0600 "$T/pw"
qemu-img create -q -f qcow2 "$T/meta.qcow2" 16M
cat > "$T/meta.xml" <<XML
<domain type='qemu'><name>vi-au-meta</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$T/meta.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>
XML
virsh -c "$URI" define "$T/meta.xml" >/dev/null

t_show_none () {
    out=$("$VI" metadata show -c "$URI" vi-au-meta) && echo "$out" | grep -q 'has no virt-inject request'
}
t_set_show () {
    "$VI" metadata set -c "$URI" vi-au-meta --ssh-key "root:$T/id.pub" --password "root:file:$T/pw" \
        --hostname meta1.example.com &&
    "$VI" metadata set -c "$URI" vi-au-meta --ssh-key "root:$T/id.pub" --file "/etc/motd:$T/id.pub" &&
    "$VI" metadata show -c "$URI" vi-au-meta > "$T/shown.xml" && cat "$T/shown.xml" &&
    [ "$(grep -c '<vi:ssh-key>' "$T/shown.xml")" -eq 1 ] &&
    grep -q '<vi:hostname>meta1.example.com</vi:hostname>' "$T/shown.xml" &&
    grep -q '<vi:file path="/etc/motd"' "$T/shown.xml" &&
    "$VI" validate "$T/shown.xml"
}
t_random () {
    "$VI" metadata set -c "$URI" vi-au-meta --password alice:random --password-crypto sha512 > "$T/rnd" &&
    [ "$(grep -c '^password for alice: ' "$T/rnd")" -eq 1 ] &&
    sed -n 's/^password for alice: //p' "$T/rnd" > "$T/rndpw" &&
    virsh -c "$URI" dumpxml --inactive vi-au-meta > "$T/d.xml" &&
    hash=$(sed -n '/<vi:user name=.alice.>/,/<\/vi:user>/s/.*hash="\([^"]*\)".*/\1/p' "$T/d.xml") &&
    case $hash in '$6$'*) true ;; *) false ;; esac && "$CHECK" "$T/rndpw" "$hash" &&
    ! grep -qF "$(cat "$T/rndpw")" "$T/d.xml"
}
t_no_cleartext () {
    virsh -c "$URI" dumpxml vi-au-meta > "$T/dump.xml" && virsh -c "$URI" dumpxml --inactive vi-au-meta >> "$T/dump.xml" &&
    ! grep -q 'pw-from-file' "$T/dump.xml" &&
    hash=$(sed -n '/<vi:user name=.root.>/,/<\/vi:user>/s/.*hash="\([^"]*\)".*/\1/p' "$T/dump.xml" | head -1) &&
    echo "hash: $hash" && case $hash in '$y$'*) true ;; *) false ;; esac && "$CHECK" "$T/pw" "$hash"
}
t_argv_refused () {
    ! "$VI" metadata set -c "$URI" vi-au-meta --password root:hunter2 &&
    ! virsh -c "$URI" dumpxml --inactive vi-au-meta | grep -q hunter2
}
t_edit () {
    printf '#!/bin/sh\nsed -i "s/meta1.example.com/meta2.example.com/" "$1"\n' > "$T/ed-ok"
    printf '#!/bin/sh\nsed -i "s/meta2.example.com/bad_name!/" "$1"\n' > "$T/ed-bad"
    chmod +x "$T/ed-ok" "$T/ed-bad"
    EDITOR="$T/ed-ok" VISUAL= "$VI" metadata edit -c "$URI" vi-au-meta &&
    "$VI" metadata show -c "$URI" vi-au-meta | grep -q '<vi:hostname>meta2.example.com<' || return 1
    if EDITOR="$T/ed-bad" VISUAL= "$VI" metadata edit -c "$URI" vi-au-meta 2>"$T/edit.err"; then return 1; fi
    cat "$T/edit.err"
    grep -q 'invalid, the old one is kept' "$T/edit.err" &&
    "$VI" metadata show -c "$URI" vi-au-meta | grep -q '<vi:hostname>meta2.example.com<' &&
    VISUAL="sed -i s/meta2/meta3/" "$VI" metadata edit -c "$URI" vi-au-meta &&
    "$VI" metadata show -c "$URI" vi-au-meta | grep -q '<vi:hostname>meta3.example.com<'
}
t_remove () {
    "$VI" metadata remove -c "$URI" vi-au-meta &&
    "$VI" metadata show -c "$URI" vi-au-meta | grep -q 'has no virt-inject request' &&
    ! virsh -c "$URI" dumpxml --inactive vi-au-meta | grep -q "$NS"
}
t_unknown_domain () {
    "$VI" metadata show -c "$URI" vi-au-nosuch 2>"$T/e"; rc=$?
    cat "$T/e"; [ $rc -eq 1 ] && grep -q 'vi-au-nosuch' "$T/e"
}
t_running () {
    virsh -c "$URI" start vi-au-meta >/dev/null || return 1
    "$VI" inject -c "$URI" -d vi-au-meta --hostname x 2>"$T/run.err"; rc=$?
    virsh -c "$URI" destroy vi-au-meta >/dev/null
    cat "$T/run.err"; [ $rc -eq 1 ] && grep -q 'is running' "$T/run.err"
}
# inject -d of an LXC domain whose root is the host's / spelled /./: refused
# on the opened directory (exit 1, naming it), the host's files untouched.
t_host_root () {
    before=$(stat -c '%Y %s' /etc/hostname /etc/hosts 2>&1)
    cat > "$T/hostroot.xml" <<XML
<domain type='lxc'><name>vi-au-hostroot</name><memory unit='MiB'>64</memory>
<os><type>exe</type><init>/sbin/init</init></os>
<devices><filesystem type='mount'><source dir='/./'/><target dir='/'/></filesystem></devices></domain>
XML
    virsh -c lxc:///system define "$T/hostroot.xml" >/dev/null || return 1
    "$VI" inject -c lxc:///system -d vi-au-hostroot --hostname evil 2>"$T/hr.err"; rc=$?
    virsh -c lxc:///system undefine vi-au-hostroot >/dev/null
    cat "$T/hr.err"
    [ $rc -eq 1 ] && grep -q "is the host's own root directory" "$T/hr.err" &&
    [ "$(stat -c '%Y %s' /etc/hostname /etc/hosts 2>&1)" = "$before" ]
}
t_volume () {
    mkdir -p "$T/pool"
    virsh -c "$URI" pool-define-as vi-au-pool dir --target "$T/pool" >/dev/null &&
    virsh -c "$URI" pool-start vi-au-pool >/dev/null &&
    image "$T/pool/vol.qcow2" && virsh -c "$URI" pool-refresh vi-au-pool >/dev/null || return 1
    cat > "$T/vol.xml" <<XML
<domain type='qemu'><name>vi-au-vol</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='vi-au-pool' volume='vol.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>
XML
    printf '[guestfs]\nforce_tcg = true\ntimeout = 900\n[paths]\nstate_dir = %s/state\nrun_dir = %s/run\n' "$T" "$T" > "$T/conf"
    virsh -c "$URI" define "$T/vol.xml" >/dev/null &&
    "$VI" metadata set -c "$URI" vi-au-vol --ssh-key "root:$T/id.pub" --password "root:file:$T/pw" &&
    "$VI" --config-file "$T/conf" inject -c "$URI" -d vi-au-vol --hostname vol1.example.com || return 1
    [ "$(guest_file "$T/pool/vol.qcow2" /etc/hostname)" = vol1.example.com ] &&
    guest_file "$T/pool/vol.qcow2" /root/.ssh/authorized_keys | grep -qF "$(cat "$T/id.pub")" &&
    "$CHECK" "$T/pw" "$(guest_file "$T/pool/vol.qcow2" /etc/shadow | awk -F: '$1 == "root" { print $2 }')"
}

t_iscsi () {
    IQN=iqn.2026-11.org.virt-inject:au
    PW=chap-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')
    rm -rf "$T/tree"; sh "$SRC/tests/make-guest-tree.sh" debian12 "$T/tree" >/dev/null
    printf '/dev/sda / ext4 defaults 0 1\n' > "$T/tree/etc/fstab"
    mkfs.ext4 -q -F -d "$T/tree" "$T/lun.raw" 64M >/dev/null 2>&1 || return 1
    if ! pgrep -x tgtd >/dev/null; then tgtd || return 1; tgt_started=1; sleep 1; fi
    tgt_ready=1
    tgtadm --lld iscsi --op new --mode target --tid 77 -T "$IQN" &&
    tgtadm --lld iscsi --op new --mode logicalunit --tid 77 --lun 1 -b "$T/lun.raw" &&
    tgtadm --lld iscsi --op bind --mode target --tid 77 -I ALL &&
    tgtadm --lld iscsi --op new --mode account --user vi-au-user --password "$PW" &&
    tgtadm --lld iscsi --op bind --mode account --tid 77 --user vi-au-user || return 1
    # CHAP is enforced: without the password the LUN cannot be opened
    ! qemu-img info "iscsi://127.0.0.1:3260/$IQN/1" >/dev/null 2>&1 || return 1
    cat > "$T/iscsi.xml" <<XML
<domain type='qemu'><name>vi-au-iscsi</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='network' device='disk'><driver name='qemu' type='raw'/>
<source protocol='iscsi' name='$IQN/1'><host name='127.0.0.1' port='3260'/>
<auth username='vi-au-user'><secret type='iscsi' usage='vi-au-iscsi'/></auth></source>
<target dev='vda' bus='virtio'/></disk></devices></domain>
XML
    virsh -c "$URI" define "$T/iscsi.xml" >/dev/null || return 1
    # libvirt reveals a private secret to no client: first one of those
    # (a clear refusal), then the same secret with private='no'
    printf '%s' "$PW" > "$T/chap"
    for private in yes no; do
        [ -n "${iscsi_uuid:-}" ] && virsh -c "$URI" secret-undefine "$iscsi_uuid" >/dev/null
        echo "<secret ephemeral='no' private='$private'><usage type='iscsi'><target>vi-au-iscsi</target></usage></secret>" > "$T/secret.xml"
        iscsi_uuid=$(virsh -c "$URI" secret-define "$T/secret.xml" | awk '{print $2}')
        virsh -c "$URI" secret-set-value "$iscsi_uuid" --file "$T/chap" --plain >/dev/null || return 1
        [ $private = no ] && break
        "$VI" --config-file "$T/conf" inject -c "$URI" -d vi-au-iscsi --hostname x 2>"$T/priv.err"; rc=$?
        cat "$T/priv.err"; [ $rc -eq 1 ] && grep -q "private='no'" "$T/priv.err" || return 1
    done
    rm -f "$T/chap"
    # every process's argv, sampled while the injection runs
    ( while :; do ps -eo args >> "$T/argv.log"; sleep 0.2; done ) & sampler=$!
    "$VI" --config-file "$T/conf" inject -c "$URI" -d vi-au-iscsi --hostname iscsi.example.com \
        --ssh-key "root:$T/id.pub"; rc=$?
    kill $sampler; wait $sampler 2>/dev/null
    [ $rc -eq 0 ] || return 1
    grep -q 'qemu-system' "$T/argv.log" && ! grep -qF "$PW" "$T/argv.log" &&
    ! grep -rqF "$PW" "$T/state" &&
    [ "$(debugfs -R 'cat /etc/hostname' "$T/lun.raw" 2>/dev/null)" = iscsi.example.com ] &&
    debugfs -R 'cat /root/.ssh/authorized_keys' "$T/lun.raw" 2>/dev/null | grep -qF "$(cat "$T/id.pub")"
}

ok "metadata show on a domain without a request" t_show_none
ok "metadata set merges (no duplicate key), show prints a valid request" t_set_show
ok "metadata set --password USER:random prints once; the stored hash verifies it" t_random
ok "no clear-text password in virsh dumpxml; the stored yescrypt hash verifies" t_no_cleartext
ok "a clear-text password in argv is refused and never stored" t_argv_refused
ok "metadata edit saves a valid edit, keeps the old request on an invalid one" t_edit
ok "metadata remove" t_remove
ok "an unknown domain is an error naming it" t_unknown_domain
ok "inject -d refuses a running domain" t_running
ok "inject -d of an LXC domain whose root is the host's / under another name is refused" t_host_root
ok "inject -c URI -d resolves a type='volume' disk and injects into it" t_volume
ok "inject -c URI -d into an iSCSI disk with CHAP from a libvirt secret; password in no argv" t_iscsi

echo "1..$n"
exit $failed
