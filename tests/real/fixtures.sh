#!/bin/sh
# fixtures.sh: the real Debian 12 guests of the `real` suite, built once and
# cached.  Sourced by test-real.sh; also runnable by hand:
#
#   tests/real/fixtures.sh STACK OUTDIR    # OUTDIR/disk.qcow2, vmlinuz, initrd.img
#
# STACK: ifupdown | networkmanager | networkd | netplan | cloudinit | btrfs
# (cloudinit: ifupdown with Debian's cloud-init; btrfs: networkd with root
# and /home on btrfs subvolumes).
#
# One debootstrap base tree (kernel, sshd, systemd, udev, no network stack)
# is cached as a tarball keyed by a hash of everything that makes it (mirror,
# suite, package list, the setup run in the chroot).  Each stack's tree is
# the base plus `apt-get install` of that stack's packages in a chroot, from
# the same mirror, cached the same way under a key that includes the base's.
# Each stack's pristine disk (a partitioned qcow2 made with mkfs.ext4 -d, no
# loop mount) and the kernel and initrd of its /boot are cached too, so a
# warm run only copies a disk.  A new entry replaces the entries of other
# keys (about 5 GiB in all).  Cache: $VI_REAL_CACHE, by default
# /var/cache/virt-inject-real/; a lock file serialises builders.
#
# The guests' common setup (what the checks rely on):
# * root has no password (the test injects a key); the user `alice` (uid 1000)
#   exists with a locked password (the test injects its key and password);
#   the request creates the user `bob` (sudo is installed, nobody may use it);
# * sshd allows password authentication (for alice's injected password) and
#   root logins by key (Debian's default, prohibit-password);
# * /etc/fstab mounts the root by UUID, the kernel gets root=/dev/vda1;
# * nothing on the guest reaches out (apt timers masked), and its NIC keeps
#   the distribution's default name (no net.ifnames=0).

VI_REAL_CACHE=${VI_REAL_CACHE:-/var/cache/virt-inject-real}
VI_REAL_SUITE=bookworm
# The root filesystem's UUID, fixed so that /etc/fstab can name it.
VI_REAL_ROOT_UUID=7f1d5c2a-3e1b-4c0d-9a57-5e0a1c2b3d4e
# Each guest is a template's clone: this machine-id, and the SSH host keys
# openssh-server's installation made in the tree (the request resets both).
VI_REAL_TEMPLATE_MACHINE_ID=5ea1c0de5ea1c0de5ea1c0de5ea1c0de

# The Debian mirror the host's apt uses (deb822 or one-line sources),
# unless $VI_REAL_MIRROR names one.
real_mirror () {
    if [ -n "${VI_REAL_MIRROR:-}" ]; then echo "$VI_REAL_MIRROR"; return; fi
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" && $3 == "bookworm" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }')
    if [ -z "$m" ]; then
        m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
            awk '/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm" && u != "") { print u; exit } }')
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

REAL_BASE_PKGS="linux-image-amd64,initramfs-tools,openssh-server,systemd-sysv,udev,kmod,iproute2,procps,sudo"

# Run inside the base tree's chroot once, after debootstrap.
REAL_BASE_SETUP='
set -eu
echo debian-base > /etc/hostname
printf "127.0.0.1\tlocalhost\n127.0.1.1\tdebian-base\n::1\tlocalhost ip6-localhost ip6-loopback\n" > /etc/hosts
# no nameserver until a network stack (or the injection) gives one
: > /etc/resolv.conf
printf "UUID=%s / ext4 errors=remount-ro 0 1\n" "$ROOT_UUID" > /etc/fstab
passwd -d root >/dev/null && passwd -l root >/dev/null
useradd -m -u 1000 -s /bin/bash alice
printf "PasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM yes\nPermitRootLogin prohibit-password\nUseDNS no\n" \
    > /etc/ssh/sshd_config.d/50-virt-inject-real.conf
# Quiet and quick under TCG: no timers that reach out, no waiting for a
# network that the injected configuration may bring up later.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
    ln -sf /dev/null /etc/systemd/system/$u
done
systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1 || true
# An initramfs with what this virtual machine needs to mount its root, not
# every storage driver (MODULES=most): less to load and run under TCG.
printf "MODULES=list\n" > /etc/initramfs-tools/conf.d/virt-inject-real
printf "virtio_pci\nvirtio_blk\next4\n" >> /etc/initramfs-tools/modules
update-initramfs -u -k all >/dev/null 2>&1
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/*
'

# Each stack: its packages and the setup run in its chroot after them.
real_stack_pkgs () {
    case "$1" in
    ifupdown) echo "ifupdown isc-dhcp-client" ;;
    networkmanager) echo "network-manager dbus libpam-systemd" ;;
    networkd) echo "systemd-resolved dbus libpam-systemd" ;;
    netplan) echo "netplan.io systemd-resolved dbus libpam-systemd" ;;
    cloudinit) echo "cloud-init ifupdown isc-dhcp-client" ;;
    btrfs) echo "systemd-resolved dbus libpam-systemd btrfs-progs" ;;
    *) return 1 ;;
    esac
}
# Each stack's guest also arrives configuring its NIC by DHCP, as guests
# do (the installer's stanza, an administrator's .network file, netplan's
# 01-netcfg.yaml, a NetworkManager profile): the injection must make its
# own configuration the one that applies, with no lease beside it.  The NIC
# is ens16 (virtio-net at PCI slot 0x10, see domain_xml in test-real.sh).
real_stack_setup () {
    case "$1" in
    ifupdown)
        # The Debian installer's /etc/network/interfaces.
        echo 'printf "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\n# The primary network interface\nallow-hotplug ens16\niface ens16 inet dhcp\n" > /etc/network/interfaces'
        ;;
    networkmanager)
        # NetworkManager writes /etc/resolv.conf itself (dns=default); a
        # profile bound to the NIC by its MAC asks for DHCP.
        echo 'rm -f /etc/resolv.conf; systemctl enable NetworkManager.service >/dev/null
              printf "[connection]\nid=Wired\ntype=ethernet\nautoconnect-priority=10\n\n[ethernet]\nmac-address=52:54:00:5E:A1:02\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n" > /etc/NetworkManager/system-connections/Wired.nmconnection
              chmod 0600 /etc/NetworkManager/system-connections/Wired.nmconnection'
        ;;
    networkd|btrfs)
        # An administrator's file for the NIC, by name, sorting early.
        echo 'systemctl enable systemd-networkd.service systemd-resolved.service >/dev/null
              printf "[Match]\nName=ens16\n\n[Network]\nDHCP=yes\n" > /etc/systemd/network/05-ens16.network'
        if [ "$1" = btrfs ]; then
            # Root and /home are subvolumes of one btrfs filesystem, as
            # Fedora lays them out (real_image_dir makes the disk).
            echo 'printf "UUID=%s / btrfs subvol=root 0 0\nUUID=%s /home btrfs subvol=home 0 0\n" "$ROOT_UUID" "$ROOT_UUID" > /etc/fstab
                  printf "btrfs\n" >> /etc/initramfs-tools/modules
                  update-initramfs -u -k all >/dev/null 2>&1'
        fi
        ;;
    netplan)
        # netplan's generator enables systemd-networkd at boot; resolved
        # applies the nameservers, as on Ubuntu.  The installer's file.
        echo 'mkdir -p /etc/netplan; systemctl enable systemd-resolved.service >/dev/null
              printf "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    ens16:\n      dhcp4: true\n" > /etc/netplan/01-netcfg.yaml
              chmod 0600 /etc/netplan/01-netcfg.yaml'
        ;;
    cloudinit)
        # Debian's cloud-init on ifupdown: only the NoCloud datasource (the
        # seed disk test-real.sh attaches); the installer's DHCP stanza.
        echo 'printf "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug ens16\niface ens16 inet dhcp\n" > /etc/network/interfaces
              printf "datasource_list: [ NoCloud, None ]\n" > /etc/cloud/cloud.cfg.d/90-dpkg.cfg'
        ;;
    esac
}

real_hash () { printf '%s' "$*" | sha256sum | cut -c1-16; }
real_base_key () { real_hash "base-v1 $(real_mirror) $VI_REAL_SUITE $REAL_BASE_PKGS $VI_REAL_ROOT_UUID $REAL_BASE_SETUP"; }
real_stack_key () { real_hash "stack-v3 $VI_REAL_TEMPLATE_MACHINE_ID $(real_base_key) $1 $(real_stack_pkgs "$1") $(real_stack_setup "$1")"; }
real_image_key () { real_hash "image-v2 $(real_stack_key "$1")"; }

# real_chroot_mounts DIR on|off: /proc, /sys, /dev/pts for apt in a chroot.
real_chroot_mounts () {
    if [ "$2" = on ]; then
        mount -t proc proc "$1/proc" && mount -t sysfs sysfs "$1/sys" &&
            mount -t devpts devpts "$1/dev/pts" -o newinstance,ptmxmode=0666
    else
        for m in dev/pts sys proc; do
            mountpoint -q "$1/$m" && umount -l "$1/$m"
        done
        return 0
    fi
}

real_log () { echo "# fixtures: $*" >&2; }

# real_prune KEEP GLOB...: a new entry replaces those of other keys (the
# cache holds one base, one tree and one disk per stack, about 5 GiB).
real_prune () {
    keep=$1; shift
    for f in "$@"; do
        [ "$f" = "$keep" ] || [ ! -e "$f" ] || rm -rf "$f"
    done
}

# A scratch directory in the cache, on a tmpfs where mounting one works
# (dpkg's fsyncs and the trees' many small files then cost no disk I/O).
real_work_new () {
    w=$(mktemp -d "$VI_REAL_CACHE/work-XXXXXX") || return 1
    mount -t tmpfs -o size=16g,mode=0700 virt-inject-real "$w" 2>/dev/null || true
    echo "$w"
}
real_work_drop () {
    [ -d "$1/root" ] && real_chroot_mounts "$1/root" off
    mountpoint -q "$1" && umount "$1"
    rm -rf "$1"
}
real_fail () {          # real_fail WORK MESSAGE: the log's end, then drop WORK
    real_log "$2"
    [ -f "$1/log" ] && tail -n 30 "$1/log" | sed 's/^/# /' >&2
    real_work_drop "$1"
    return 1
}
# real_tar_out DIR TAR: DIR's tree as TAR, atomically.
real_tar_out () {
    tar --numeric-owner --xattrs -C "$1" -cf "$2.tmp" . && mv "$2.tmp" "$2" || { rm -f "$2.tmp"; return 1; }
}

# The base tree's tarball (built when missing); prints its path.
real_base_tar () {
    key=$(real_base_key)
    tar=$VI_REAL_CACHE/base-$key.tar
    if [ ! -f "$tar" ]; then
        real_log "debootstrap $VI_REAL_SUITE from $(real_mirror) (no cached base $key)"
        work=$(real_work_new) || return 1
        debootstrap --variant=minbase --include="$REAL_BASE_PKGS" \
                "$VI_REAL_SUITE" "$work/root" "$(real_mirror)" > "$work/log" 2>&1 ||
            { real_fail "$work" "debootstrap failed"; return 1; }
        printf 'deb %s %s main\n' "$(real_mirror)" "$VI_REAL_SUITE" > "$work/root/etc/apt/sources.list"
        real_chroot_mounts "$work/root" on &&
        ROOT_UUID=$VI_REAL_ROOT_UUID chroot "$work/root" /bin/sh -c "$REAL_BASE_SETUP" >> "$work/log" 2>&1 ||
            { real_fail "$work" "the base tree's setup failed"; return 1; }
        real_chroot_mounts "$work/root" off
        real_tar_out "$work/root" "$tar" || { real_fail "$work" "cannot write $tar"; return 1; }
        real_prune "$tar" "$VI_REAL_CACHE"/base-*.tar
        real_work_drop "$work"
    fi
    echo "$tar"
}

# real_stack_tree STACK DIR: the stack's tree in DIR (from its cached
# tarball, or built from the base's and then cached).
real_stack_tree () {
    stack=$1 root=$2
    key=$(real_stack_key "$stack")
    tar=$VI_REAL_CACHE/stack-$stack-$key.tar
    if [ -f "$tar" ]; then
        mkdir -p "$root" && tar --numeric-owner --xattrs -C "$root" -xf "$tar"
        return
    fi
    base=$(real_base_tar) || return 1
    real_log "apt-get install $(real_stack_pkgs "$stack") (no cached $stack tree $key)"
    mkdir -p "$root" && tar --numeric-owner --xattrs -C "$root" -xf "$base" || return 1
    cp /etc/resolv.conf "$root/etc/resolv.conf.real" &&
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d" &&
    chmod 0755 "$root/usr/sbin/policy-rc.d" &&
    real_chroot_mounts "$root" on || return 1
    ROOT_UUID=$VI_REAL_ROOT_UUID chroot "$root" /bin/sh -c "
            set -e
            mv /etc/resolv.conf /etc/resolv.conf.orig
            cp /etc/resolv.conf.real /etc/resolv.conf
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -q
            apt-get install -y -q --no-install-recommends $(real_stack_pkgs "$stack")
            apt-get clean; rm -rf /var/lib/apt/lists/*
            # systemd-resolved makes it a link to its stub: keep that
            if [ ! -L /etc/resolv.conf ]; then mv /etc/resolv.conf.orig /etc/resolv.conf; fi
            rm -f /etc/resolv.conf.orig /etc/resolv.conf.real /usr/sbin/policy-rc.d
            echo $VI_REAL_TEMPLATE_MACHINE_ID > /etc/machine-id
            $(real_stack_setup "$stack")
            " || return 1
    real_chroot_mounts "$root" off
    real_tar_out "$root" "$tar" && real_prune "$tar" "$VI_REAL_CACHE/stack-$stack"-*.tar
}

# real_mkfs STACK WORK: WORK/fs.raw, the root filesystem of WORK/root.
# ext4, made with mkfs.ext4 -d; for the btrfs guest, a btrfs whose
# subvolumes `root` and `home` hold the tree and its /home (mkfs.btrfs 6.2
# has no --subvol: the test's own fresh filesystem is loop-mounted here to
# make them).
real_mkfs () {
    if [ "$1" != btrfs ]; then
        mkfs.ext4 -q -F -U "$VI_REAL_ROOT_UUID" -L root -d "$2/root" "$2/fs.raw" 3071M
        return
    fi
    truncate -s 3071M "$2/fs.raw" &&
    mkfs.btrfs -q -f -U "$VI_REAL_ROOT_UUID" -L root "$2/fs.raw" &&
    mkdir "$2/mnt" && mount -o loop "$2/fs.raw" "$2/mnt" || return 1
    btrfs -q subvolume create "$2/mnt/root" && btrfs -q subvolume create "$2/mnt/home" &&
    (cd "$2/root" && tar --numeric-owner --xattrs --exclude=./home -cf - .) |
        tar --numeric-owner --xattrs -C "$2/mnt/root" -xf - &&
    mkdir -m 0755 "$2/mnt/root/home" &&
    (cd "$2/root/home" && tar --numeric-owner --xattrs -cf - .) |
        tar --numeric-owner --xattrs -C "$2/mnt/home" -xf -
    rc=$?
    umount "$2/mnt"
    return $rc
}

# One stack's pristine image directory (disk.qcow2, vmlinuz, initrd.img).
real_image_dir () {
    stack=$1
    key=$(real_image_key "$stack")
    dir=$VI_REAL_CACHE/image-$stack-$key
    if [ ! -f "$dir/disk.qcow2" ]; then
        work=$(real_work_new) || return 1
        real_stack_tree "$stack" "$work/root" > "$work/log" 2>&1 ||
            { real_fail "$work" "the $stack tree failed"; return 1; }
        real_log "making the $stack disk (no cached image $key)"
        mkdir "$work/out" &&
        cp -L "$work/root/vmlinuz" "$work/out/vmlinuz" && cp -L "$work/root/initrd.img" "$work/out/initrd.img" ||
            { real_fail "$work" "no /vmlinuz or /initrd.img in the $stack tree"; return 1; }
        # A 3 GiB disk: 1 MiB of partition table, then the root filesystem.
        { real_mkfs "$stack" "$work" &&
          truncate -s 3G "$work/disk.raw" &&
          echo 'start=2048, type=83' | sfdisk -q "$work/disk.raw" &&
          dd if="$work/fs.raw" of="$work/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none &&
          qemu-img convert -q -f raw -O qcow2 "$work/disk.raw" "$work/out/disk.qcow2"; } >> "$work/log" 2>&1 ||
            { real_fail "$work" "making the $stack disk failed"; return 1; }
        rm -rf "$dir" "$dir.tmp"
        cp -r "$work/out" "$dir.tmp" && mv "$dir.tmp" "$dir" ||
            { real_fail "$work" "cannot write $dir"; return 1; }
        real_prune "$dir" "$VI_REAL_CACHE/image-$stack"-*
        real_work_drop "$work"
    fi
    echo "$dir"
}

# real_template_file STACK PATH: a file of the stack's cached tree (the
# template the guest is a clone of), on stdout.
real_template_file () {
    tar --numeric-owner -xOf "$VI_REAL_CACHE/stack-$1-$(real_stack_key "$1").tar" ".$2"
}

# real_fixture STACK OUTDIR: a fresh copy of the stack's disk (the hook
# writes into it) and its kernel and initrd, under a cache lock.
real_fixture () {
    mkdir -p "$VI_REAL_CACHE" || return 1
    (
        flock 9
        # under the lock, every scratch directory is one a killed run left
        for w in "$VI_REAL_CACHE"/work-*; do
            [ -d "$w" ] && real_work_drop "$w"
        done
        rm -rf "$VI_REAL_CACHE"/*.tmp
        dir=$(real_image_dir "$1") || exit 1
        mkdir -p "$2" &&
        cp --sparse=always "$dir/disk.qcow2" "$2/disk.qcow2" &&
        cp "$dir/vmlinuz" "$dir/initrd.img" "$2/"
    ) 9>"$VI_REAL_CACHE/lock"
}

# Run by hand: build (or find) one stack's fixture.
case "$0" in
*/fixtures.sh)
    set -u
    [ $# -eq 2 ] || { echo "usage: $0 STACK OUTDIR" >&2; exit 2; }
    real_stack_pkgs "$1" >/dev/null || { echo "$0: unknown stack '$1'" >&2; exit 2; }
    real_fixture "$1" "$2"
    ;;
esac
