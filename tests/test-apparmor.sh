#!/bin/sh
# test-apparmor.sh: the shipped AppArmor files (data/apparmor/) against
# Debian's own libvirtd profile.  These machines have no AppArmor in their
# kernel, so nothing is loaded: apparmor_parser compiles every profile
# (-Q: skip the kernel load), and tests/apparmor-check.py reads the
# preprocessed rules (apparmor_parser -p) back and decides each exec of the
# hook's path as the kernel would.  Negative controls show that the checker
# and the compile step can fail.  TAP output.
set -u
. "$(dirname "$0")/tap.sh"
SRC=$VIRT_INJECT_SOURCE_ROOT
B=$VIRT_INJECT_BUILD_ROOT
CHECK="python3 $SRC/tests/apparmor-check.py"

PARSER=$(command -v apparmor_parser || ls /usr/sbin/apparmor_parser /sbin/apparmor_parser 2>/dev/null | head -n1)
if [ -z "$PARSER" ]; then echo "1..0 # SKIP apparmor_parser is not installed (package apparmor)"; exit 77; fi
SYS=/etc/apparmor.d
T=$(mktemp -d /tmp/vi-apparmor-XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM    # meson's timeout: the EXIT trap still cleans up

define () { sed -n "s/^#define $1 \"\(.*\)\"$/\1/p" "$B/config.h"; }
LIBEXEC=$(define LIBEXECDIR)
HOOKDIR=$(define LIBVIRT_HOOKDIR)
real () {  # real PROGRAM: its real path here, or /usr/bin/PROGRAM
    p=$(command -v "$1" 2>/dev/null || PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$1" 2>/dev/null)
    if [ -n "$p" ]; then readlink -f "$p"; else echo "/usr/bin/$1"; fi
}

# AppArmor's tree as a host has it (Debian's libvirtd profile and the
# abstractions), our files installed into it, and local/usr.sbin.libvirtd
# holding the one line an administrator adds.
tree () {  # tree DIR INCLUDE-LINE
    mkdir -p "$1/local"
    for d in tunables abstractions abi; do cp -r "$SYS/$d" "$1/"; done
    cp "$SYS/usr.sbin.libvirtd" "$1/"
    cp "$B/data/apparmor/virt-inject" "$1/"
    cp "$B/data/apparmor/virt-inject-hook" "$1/abstractions/"
    printf '%s\n' "$2" > "$1/local/usr.sbin.libvirtd"
}
LINE='include if exists <abstractions/virt-inject-hook>'
compile () { "$PARSER" -Q -K --base "$1" -I "$1" "$1/$2"; }
pp () { "$PARSER" -p --base "$1" -I "$1" "$1/$2" 2>/dev/null; }

t_debian () { [ -f "$SYS/usr.sbin.libvirtd" ] && [ -f "$SYS/abstractions/base" ] &&
    [ -f "$SYS/tunables/global" ] || {
        echo "Debian's libvirtd profile or AppArmor's abstractions are missing: install libvirt-daemon-system and apparmor"
        return 1; }
    grep -q '#include <local/usr.sbin.libvirtd>' "$SYS/usr.sbin.libvirtd"; }
t_compile () { tree "$T/aa" "$LINE" && compile "$T/aa" virt-inject && compile "$T/aa" usr.sbin.libvirtd; }
t_compile_alone () {  # libvirtd's profile still loads when virt-inject is gone ("if exists")
    tree "$T/gone" "$LINE" && rm "$T/gone/abstractions/virt-inject-hook" && compile "$T/gone" usr.sbin.libvirtd; }
t_worker_path () {  # the rule names the worker the hook program execs
    grep -q "^  $LIBEXEC/virt-inject-hook-worker Px -> virt-inject-hook-worker,$" "$B/data/apparmor/virt-inject-hook" &&
    grep -q "^profile virt-inject-hook-worker $LIBEXEC/virt-inject-hook-worker " "$B/data/apparmor/virt-inject" &&
    strings "$B/hooks/virt-inject-hook" | grep -qx "$LIBEXEC/virt-inject-hook-worker"; }

# Every exec of the hook's path, each from the profile it runs in:
# libvirtd runs the hook program (a copy in its hook directory) in its own
# profile; the hook program execs the worker (hooks/virt-inject-hook.c);
# the worker runs qemu-img (lib/vi-image.c), qemu-storage-daemon
# (lib/vi-mount.c) and the libguestfs helper (lib/vi-image.c); libguestfs
# runs qemu, sh -c "dmesg | grep", rm and supermin; supermin runs the tools
# of its dpkg handler and mke2fs (strace of a first launch).
W=virt-inject-hook-worker G=virt-inject-guestfs S=virt-inject-guestfs//supermin
steps () {
    echo "libvirtd:$HOOKDIR/qemu.d/virt-inject:libvirtd"
    echo "libvirtd:$HOOKDIR/lxc.d/virt-inject:libvirtd"
    echo "libvirtd:$LIBEXEC/virt-inject-hook-worker:$W"
    echo "$W:$LIBEXEC/virt-inject-guestfs:$G"
    for p in qemu-img qemu-storage-daemon; do echo "$W:$(real $p):$W"; done
    for p in qemu-system-x86_64 sh dmesg grep rm; do echo "$G:$(real $p):$G"; done
    echo "$G:$(real supermin):$S"
    for p in sh cp cpio grep gzip zcat ls mv readlink rm sed sort tar dpkg dpkg-query dpkg-divert mke2fs; do
        echo "$S:$(real $p):$S"; done
}
t_execs () { pp "$T/aa" usr.sbin.libvirtd > "$T/libvirtd.pp" && pp "$T/aa" virt-inject > "$T/vi.pp" &&
    $CHECK "$T/libvirtd.pp" "$T/vi.pp" -- $(steps); }
t_no_exec_else () {  # the worker runs nothing else: not a shell, not a guest's file
    ! $CHECK "$T/libvirtd.pp" "$T/vi.pp" -- "$W:$(real sh):$W" &&
    ! $CHECK "$T/libvirtd.pp" "$T/vi.pp" -- "$W:/var/lib/lxc/ct/rootfs/bin/true:$W" &&
    ! $CHECK "$T/libvirtd.pp" "$T/vi.pp" -- "$G:/var/tmp/x:$G"; }

# Negative controls: each must be refused.
t_neg_no_line () {  # libvirtd's profile without the admin's line: the worker is refused
    tree "$T/noline" "# nothing" && pp "$T/noline" usr.sbin.libvirtd > "$T/noline.pp" &&
    ! $CHECK "$T/noline.pp" "$T/vi.pp" -- "libvirtd:$LIBEXEC/virt-inject-hook-worker:$W" > "$T/out" &&
    grep -q "REFUSED libvirtd execs $LIBEXEC/virt-inject-hook-worker: no exec rule" "$T/out"; }
t_neg_symlink () {  # the old install: a symlink, judged by its target in libexec
    ! $CHECK "$T/libvirtd.pp" "$T/vi.pp" -- "libvirtd:$LIBEXEC/virt-inject-hook:libvirtd"; }
t_neg_no_profile () {  # Px into a profile that is not loaded: refused, never unconfined
    ! $CHECK "$T/libvirtd.pp" -- "libvirtd:$LIBEXEC/virt-inject-hook-worker:$W" > "$T/out" &&
    grep -q 'not loaded' "$T/out"; }
t_neg_rule_removed () {  # the worker's profile without its qemu-img rule
    tree "$T/noimg" "$LINE" && sed -i '\|^  /usr/bin/qemu-img rix,$|d' "$T/noimg/virt-inject" &&
    ! grep -q '^  /usr/bin/qemu-img' "$T/noimg/virt-inject" && compile "$T/noimg" virt-inject &&
    pp "$T/noimg" virt-inject > "$T/noimg.pp" &&
    ! $CHECK "$T/libvirtd.pp" "$T/noimg.pp" -- "$W:$(real qemu-img):$W"; }
t_neg_deny () {  # a deny rule wins over an allow rule
    tree "$T/deny" "$LINE" && sed -i 's|^  include if exists <local/virt-inject-hook-worker>|  audit deny /usr/bin/qemu-img x,\n&|' "$T/deny/virt-inject" &&
    compile "$T/deny" virt-inject && pp "$T/deny" virt-inject > "$T/deny.pp" &&
    ! $CHECK "$T/libvirtd.pp" "$T/deny.pp" -- "$W:$(real qemu-img):$W"; }
t_neg_syntax () {  # the compile step fails on a broken profile
    tree "$T/bad" "$LINE" && sed -i 's|^  /usr/bin/qemu-img rix,$|  /usr/bin/qemu-img rix|' "$T/bad/virt-inject" &&
    ! compile "$T/bad" virt-inject; }

ok "Debian's libvirtd profile, with its local include, and AppArmor's abstractions are here" t_debian
ok "apparmor_parser compiles virt-inject and libvirtd's profile including our rules" t_compile
ok "libvirtd's profile compiles with the include line once our rules are removed" t_compile_alone
ok "the Px rule and the profile name the worker the hook program execs" t_worker_path
ok "every exec of the hook's path is allowed, into the expected profile" t_execs
ok "nothing else runs: a shell from the worker, a guest file, a temporary file" t_no_exec_else
ok "negative: without the include line libvirtd may not run the worker" t_neg_no_line
ok "negative: the old symlink (libexec/virt-inject-hook) is refused under libvirtd" t_neg_symlink
ok "negative: Px into a profile that is not loaded is refused" t_neg_no_profile
ok "negative: a profile without the qemu-img rule is refused" t_neg_rule_removed
ok "negative: a deny rule wins" t_neg_deny
ok "negative: apparmor_parser rejects a broken profile" t_neg_syntax
tap_done
