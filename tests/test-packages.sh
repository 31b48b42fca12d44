#!/bin/sh
# test-packages.sh: the Debian packages (debian/).  Builds virt-inject and
# virt-inject-guestfs from a copy of the tree (scripts/build-packages.sh:
# dpkg-buildpackage -us -uc -b, the checkout stays clean), runs lintian, and
# installs them with apt into a fresh Debian 12 tree (debootstrap minbase,
# made once and kept as a tar in /var/cache/virt-inject-ci/), chrooted with
# its / bind-mounted onto itself.  There: the LXC-only install, the hook,
# the helper's absence named, the helper's package, an upgrade that keeps
# the configuration, the ledger and a staged result, remove, purge, and an
# install over a meson install under /usr/local.  Needs root and Debian's
# archive (apt in the tree; downloads are kept in the cache).  TAP output.
set -u
. "$(dirname "$0")/tap.sh"
SRC=$VIRT_INJECT_SOURCE_ROOT
B=$VIRT_INJECT_BUILD_ROOT
CACHE=${VIRT_INJECT_CI_CACHE:-/var/cache/virt-inject-ci}
MIRROR=${VIRT_INJECT_CI_MIRROR:-http://deb.debian.org/debian}
NS=http://virt-inject.org/xmlns/libvirt/domain/1.0
LIBEXEC=/usr/libexec/virt-inject

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
for p in dpkg-buildpackage lintian debootstrap; do
    command -v "$p" >/dev/null || { echo "1..0 # SKIP no $p (scripts/install-deps.sh)"; exit 77; }
done

W=$(mktemp -d /var/tmp/vi-packages-XXXXXX)
R=$W/root
P=$B/packages
unmount_all () {
    # Innermost first; the bind of $R onto itself is the last one.
    findmnt -rn -o TARGET | grep -F "$R" | sort -r | while IFS= read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}
cleanup () {
    unmount_all
    if findmnt -rn -o TARGET | grep -qF "$R"; then
        echo "# $R still has mounts: left in place" >&2
    elif [ -n "${VIRT_INJECT_KEEP:-}" ]; then
        echo "# kept: $W" >&2
    else
        rm -rf --one-file-system "$W"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM    # meson's timeout: the EXIT trap still cleans up

# in_root COMMAND...: run in the tree, as apt would on a host of its own.
in_root () {
    chroot "$R" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive INITRD=No HOME=/root "$@" </dev/null
}
# apt_in_root ARGS...: apt-get in the tree, its output kept in $W/apt.log.
# (unsafe-io: no fsync per file, in a tree that is thrown away)
apt_in_root () { in_root apt-get -y -q -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-unsafe-io "$@" > "$W/apt.log" 2>&1
    st=$?; cat "$W/apt.log" >> "$W/apt-all.log"
    [ $st -eq 0 ] || { cat "$W/apt.log"; return 1; }; }
installed () { in_root dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }
deb () { ls "$P"/"$1"_*.deb; }

# --- build and lintian ----------------------------------------------------
listing () { ls -a "$SRC" "$SRC/debian"; ls -a "$SRC/.." | grep '^virt-inject.*\.\(deb\|changes\|buildinfo\)$'; }
t_build () {
    listing > "$W/listing.before"
    "$SRC/scripts/build-packages.sh" "$P" > "$W/build.log" 2>&1 || { tail -50 "$W/build.log"; return 1; }
    deb virt-inject && deb virt-inject-guestfs &&
    # the checkout is left as it was: no build products in it or next to it
    listing | diff "$W/listing.before" -; }
t_version () {
    meson_v=$(sed -n "s/^  version : '\(.*\)',$/\1/p" "$SRC/meson.build")
    deb_v=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
    echo "meson $meson_v, debian/changelog $deb_v"
    [ -n "$meson_v" ] && [ "${deb_v%%+*}" = "$meson_v" ]; }
t_lintian () {
    lintian --fail-on error,warning --pedantic --info "$P"/virt-inject_*.changes > "$W/lintian.log" 2>&1
    st=$?; grep -v '^N:' "$W/lintian.log"; [ $st -eq 0 ]; }
# No libguestfs and no kernel in virt-inject: not in its fields, not in any
# of its programs (the libvirt module links libvirt0, the client library).
t_no_guestfs () {
    f=$(dpkg-deb -f "$(deb virt-inject)" Depends Pre-Depends Recommends); echo "$f"
    ! echo "$f" | grep -Eq 'guestfs|linux-image|supermin|qemu-system' || return 1
    dpkg-deb -x "$(deb virt-inject)" "$W/x" || return 1
    for e in $(find "$W/x" -type f -perm -u+x) $(find "$W/x" -name '*.so'); do
        ! objdump -p "$e" | grep NEEDED | grep -q guestfs || { echo "$e links libguestfs"; return 1; }
    done
    [ -z "$(find "$W/x" -name 'virt-inject-guestfs')" ]; }

ok "the packages build from a copy of the tree (dpkg-buildpackage -us -uc -b), the checkout untouched" t_build
ok "debian/changelog carries meson's project version" t_version
ok "lintian: no error, no warning (overrides justified in debian/)" t_lintian
ok "virt-inject needs no libguestfs and no kernel (fields, and no program links it)" t_no_guestfs

# --- a fresh Debian 12 tree ----------------------------------------------
t_tree () {
    mkdir -p "$CACHE/apt-archives/partial" || return 1
    (
        flock 9
        if [ ! -f "$CACHE/bookworm-minbase.tar" ]; then
            rm -rf "$CACHE/bootstrap"
            debootstrap --variant=minbase bookworm "$CACHE/bootstrap" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 ||
                { tail "$CACHE/debootstrap.log"; exit 1; }
            tar -C "$CACHE/bootstrap" -cf "$CACHE/bookworm-minbase.tar.tmp" . &&
                mv "$CACHE/bookworm-minbase.tar.tmp" "$CACHE/bookworm-minbase.tar" &&
                rm -rf --one-file-system "$CACHE/bootstrap"
        fi
    ) 9>"$CACHE/lock" || return 1
    mkdir "$R" && tar -C "$R" -xf "$CACHE/bookworm-minbase.tar" || return 1
    mount --bind "$R" "$R" && mount -t proc proc "$R/proc" &&
    mount --bind "$CACHE/apt-archives" "$R/var/cache/apt/archives" || return 1
    printf '#!/bin/sh\n# no daemon starts in this tree\nexit 101\n' > "$R/usr/sbin/policy-rc.d"
    chmod 0755 "$R/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$R/etc/resolv.conf"
    mkdir -p "$R/tmp/debs" && cp "$P"/*.deb "$R/tmp/debs/" && chmod -R a+rX "$R/tmp/debs" &&
    apt_in_root update &&
    ! installed libvirt0 && ! installed libguestfs0; }
ok "a fresh Debian 12 tree (debootstrap minbase), its / bind-mounted onto itself" t_tree

VI_DEB=/tmp/debs/$(basename "$(deb virt-inject)")
VG_DEB=/tmp/debs/$(basename "$(deb virt-inject-guestfs)")

# --- virt-inject alone: what an LXC-only host installs ---------------------
t_resolve () {  # with Recommends, as a plain `apt install` would
    in_root apt-get install -s "$VI_DEB" > "$W/sim.log" 2>&1 || { cat "$W/sim.log"; return 1; }
    grep -c '^Inst ' "$W/sim.log"
    ! grep -E '^Inst (libguestfs|linux-image|supermin)' "$W/sim.log"; }
t_install () {
    apt_in_root install --no-install-recommends "$VI_DEB" &&
    installed virt-inject && ! installed libguestfs0 && ! installed virt-inject-guestfs &&
    [ -z "$(ls "$R"/boot/vmlinuz* 2>/dev/null)" ] &&
    grep -q 'virt-inject: in a chroot: no libvirt daemon reloaded' "$W/apt.log"; }
t_version_runs () { in_root virt-inject --version | tee /dev/stderr | grep -q "$(dpkg-deb -f "$(deb virt-inject)" Version | sed 's/+.*//')"; }
hooks_current () {
    for drv in qemu lxc; do f=$R/etc/libvirt/hooks/$drv.d/virt-inject
        [ -f "$f" ] && [ ! -L "$f" ] && [ "$(stat -c %a "$f")" = 755 ] && cmp -s "$f" "$R$LIBEXEC/virt-inject-hook" ||
            { echo "$f is not a copy of $LIBEXEC/virt-inject-hook"; return 1; }
    done
    in_root /usr/bin/virt-inject hook status; }
t_files () {
    in_root dpkg -L virt-inject > "$W/files" || return 1
    for f in /usr/bin/virt-inject $LIBEXEC/virt-inject-hook $LIBEXEC/virt-inject-hook-worker \
             /usr/lib/x86_64-linux-gnu/virt-inject/virt-inject-libvirt.so \
             /usr/share/virt-inject/schemas/virt-inject.rng /usr/share/man/man1/virt-inject.1.gz \
             /usr/share/man/man8/virt-inject-hook.8.gz /usr/share/man/man5/virt-inject.conf.5.gz \
             /usr/share/bash-completion/completions/virt-inject /usr/lib/tmpfiles.d/virt-inject.conf \
             /etc/apparmor.d/virt-inject /etc/apparmor.d/abstractions/virt-inject-hook; do
        grep -qx "$f" "$W/files" || { echo "missing: $f"; return 1; }
    done
    in_root dpkg-query -W -f='${Conffiles}\n' virt-inject | grep -q '^ /etc/virt-inject/virt-inject.conf ' &&
    [ "$(stat -c %a "$R/var/lib/virt-inject")" = 700 ]; }
# The installed hook, as libvirt calls it, injects into an LXC root
# directory (policy once: the ledger gets the domain).
UUID=6f1c1a9e-3b1e-4c55-9a0a-2f7d0c3e5b11
lxc_xml () {
    cat <<XML
<domain type='lxc'><name>ct1</name><uuid>$UUID</uuid>
<metadata><vi:inject xmlns:vi='$NS'><vi:hostname>$1</vi:hostname>
<vi:user name='root'><vi:ssh-key>ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E ci@packages</vi:ssh-key></vi:user>
</vi:inject></metadata>
<devices><filesystem type='mount'><source dir='/tmp/ct'/><target dir='/'/></filesystem></devices></domain>
XML
}
t_hook_injects () {
    "$SRC/tests/make-guest-tree.sh" debian12 "$R/tmp/ct" >/dev/null || return 1
    lxc_xml ct-one > "$R/tmp/ct.xml"
    chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
        /etc/libvirt/hooks/lxc.d/virt-inject ct1 prepare begin - < "$R/tmp/ct.xml" &&
    [ "$(cat "$R/tmp/ct/etc/hostname")" = ct-one ] &&
    grep -q ci@packages "$R/tmp/ct/root/.ssh/authorized_keys" &&
    [ -f "$R/var/lib/virt-inject/ledger/$UUID" ]; }
t_no_helper () {
    truncate -s 16M "$R/tmp/disk.raw"
    in_root virt-inject inject -a /tmp/disk.raw --format raw --hostname x > "$W/nohelper.log" 2>&1
    st=$?; cat "$W/nohelper.log"
    [ $st -eq 2 ] && grep -q 'install the package virt-inject-guestfs' "$W/nohelper.log"; }

ok "virt-inject resolves (Recommends included) without libguestfs or a kernel" t_resolve
ok "apt install ./virt-inject_*.deb alone: no libguestfs, no kernel; no daemon reloaded in a chroot" t_install
ok "virt-inject --version" t_version_runs
ok "the hook is enabled for qemu and lxc (copies of the installed front), hook status exit 0" hooks_current
ok "programs, module, schema, man pages, completion, tmpfiles.d, AppArmor; the configuration a conffile" t_files
ok "the installed hook injects into an LXC root directory and records the ledger" t_hook_injects
ok "a disk image without virt-inject-guestfs: exit 2 naming the package" t_no_helper

# --- virt-inject-guestfs: disk images work at once -------------------------
t_guestfs () {
    apt_in_root install --no-install-recommends "$VG_DEB" &&
    installed virt-inject-guestfs && installed libguestfs0 &&
    [ -n "$(ls "$R"/boot/vmlinuz-* 2>/dev/null)" ] && [ -x "$R$LIBEXEC/virt-inject-guestfs" ]; }
# The default configuration, nothing else set up: a disk image is injected
# through the appliance (supermin builds it from the tree's packages and
# kernel; no /dev/kvm in the tree, so libguestfs emulates).
t_appliance () {
    "$SRC/tests/make-guest-tree.sh" debian12 "$W/img-tree" >/dev/null &&
    printf '/dev/sda / ext4 defaults 0 1\n' > "$W/img-tree/etc/fstab" &&
    mkfs.ext4 -q -F -d "$W/img-tree" "$R/tmp/disk.img" 64M || return 1
    in_root virt-inject inject -a /tmp/disk.img --format raw --hostname from-the-package > "$W/app.log" 2>&1
    st=$?; cat "$W/app.log"
    [ $st -eq 0 ] && [ "$(debugfs -R 'cat /etc/hostname' "$R/tmp/disk.img" 2>/dev/null)" = from-the-package ]; }
ok "apt install ./virt-inject-guestfs_*.deb brings libguestfs and a kernel" t_guestfs
ok "a disk image is injected at once, with the default configuration" t_appliance

# --- upgrade: the configuration, the ledger and a staged result stay -----
t_upgrade () {
    sed -i 's/^#force_tcg = false$/force_tcg = true/' "$R/etc/virt-inject/virt-inject.conf" &&
    grep -qx 'force_tcg = true' "$R/etc/virt-inject/virt-inject.conf" || return 1
    cp "$R/etc/virt-inject/virt-inject.conf" "$W/conf.before"
    mkdir -p "$R/var/lib/virt-inject/stage/$UUID" &&
    echo staged > "$R/var/lib/virt-inject/stage/$UUID/overlay.qcow2" || return 1
    (cd "$R/var/lib/virt-inject" && find . -type f -exec sha256sum {} + | sort) > "$W/state.before"
    # the same packages as a later version (+ci1): a real upgrade for dpkg
    for p in virt-inject virt-inject-guestfs; do
        rm -rf "$W/re" && dpkg-deb -R "$(deb $p)" "$W/re" || return 1
        v=$(sed -n 's/^Version: //p' "$W/re/DEBIAN/control")
        sed -i "s/^Version: .*/Version: $v+ci1/; s/virt-inject (= $v)/virt-inject (= $v+ci1)/" "$W/re/DEBIAN/control"
        dpkg-deb -b "$W/re" "$R/tmp/debs/up-$p.deb" >/dev/null || return 1
    done
    apt_in_root install --no-install-recommends /tmp/debs/up-virt-inject.deb /tmp/debs/up-virt-inject-guestfs.deb || return 1
    in_root dpkg-query -W -f='${Version}\n' virt-inject | grep -q '+ci1$' &&
    cmp "$R/etc/virt-inject/virt-inject.conf" "$W/conf.before" &&
    [ -z "$(ls "$R"/etc/virt-inject/*.dpkg-* 2>/dev/null)" ] &&
    (cd "$R/var/lib/virt-inject" && find . -type f -exec sha256sum {} + | sort) | cmp - "$W/state.before" &&
    hooks_current; }
ok "upgrade: the edited configuration, the ledger and a staged result are kept, the hook current" t_upgrade

# --- remove, then purge ----------------------------------------------------
t_remove () {
    apt_in_root remove virt-inject virt-inject-guestfs || return 1
    cat "$W/apt.log" | grep 'removed /etc/libvirt/hooks'
    ! installed virt-inject && [ ! -e "$R/usr/bin/virt-inject" ] &&
    [ ! -e "$R/etc/libvirt/hooks/qemu.d/virt-inject" ] && [ ! -e "$R/etc/libvirt/hooks/lxc.d/virt-inject" ] &&
    # nothing left for libvirt to run: every domain starts as before
    [ -z "$(find "$R/etc/libvirt/hooks" -type f -perm -u+x 2>/dev/null)" ] &&
    [ -f "$R/etc/virt-inject/virt-inject.conf" ] && [ -f "$R/var/lib/virt-inject/ledger/$UUID" ]; }
t_purge () {
    apt_in_root purge virt-inject virt-inject-guestfs || return 1
    [ -z "$(in_root dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'virt-inject*' 2>/dev/null | grep -v '^un ')" ] &&
    [ ! -e "$R/etc/virt-inject" ] && [ ! -e "$R/var/lib/virt-inject" ] && [ ! -e "$R/run/virt-inject" ] &&
    [ ! -e "$R/etc/apparmor.d/virt-inject" ] &&
    left=$(find "$R" -xdev -path "$R/tmp" -prune -o -path "$R/var/cache/apt/archives" -prune -o \
        -name '*virt-inject*' -print) &&
    { [ -z "$left" ] || { echo "left: $left"; false; }; }; }
ok "apt remove: the hook is gone, the configuration and the ledger stay" t_remove
ok "apt purge: nothing of virt-inject is left (state, ledger, configuration)" t_purge

# --- over a meson install under /usr/local ---------------------------------
define () { sed -n "s/^#define $1 \"\(.*\)\"$/\1/p" "$B/config.h"; }
t_local () {
    case $(define LIBEXECDIR) in
    /usr/local/*) ;;
    *) echo "# $B is not configured for /usr/local: nothing to install there"; return 0 ;;
    esac
    meson install -C "$B" --no-rebuild --quiet --destdir "$R" > "$W/meson.log" 2>&1 || { cat "$W/meson.log"; return 1; }
    in_root /usr/local/bin/virt-inject hook install > "$W/local.log" 2>&1 || { cat "$W/local.log"; return 1; }
    # and a second copy of it, as an administrator might have made
    cp -p "$R/etc/libvirt/hooks/qemu.d/virt-inject" "$R/etc/libvirt/hooks/qemu.d/50-local-copy"
    grep -q /usr/local/libexec "$R/etc/apparmor.d/virt-inject" || return 1
    apt_in_root install --no-install-recommends "$VI_DEB" "$VG_DEB" || return 1
    grep -E '/usr/local|second virt-inject' "$W/apt.log"
    grep -q 'qemu.d/virt-inject: it was the hook of another virt-inject installation .*left by a meson install under /usr/local' "$W/apt.log" &&
    grep -q 'removed /etc/libvirt/hooks/qemu.d/50-local-copy: a second virt-inject hook' "$W/apt.log" &&
    grep -q 'an earlier meson install under /usr/local is still there: /usr/local/bin/virt-inject' "$W/apt.log" &&
    grep -q '/etc/apparmor.d/virt-inject is from a meson install under /usr/local' "$W/apt.log" &&
    [ "$(ls "$R/etc/libvirt/hooks/qemu.d")" = virt-inject ] && [ "$(ls "$R/etc/libvirt/hooks/lxc.d")" = virt-inject ] &&
    grep -q "$LIBEXEC/virt-inject-hook-worker" "$R/etc/apparmor.d/virt-inject" &&
    in_root dpkg --verify virt-inject && hooks_current; }
ok "over a meson install under /usr/local: its hook named and replaced, never run twice" t_local

tap_done
