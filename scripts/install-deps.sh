#!/bin/sh
# Install every Debian 12 package virt-inject needs to build, run and test
# (and to build and test its Debian packages, and the Ansible example).
# Idempotent: packages already present are left alone; safe to run repeatedly.
#
#   scripts/install-deps.sh          build + run + every test suite
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: must run as root (apt-get)" >&2
    exit 1
fi

PKGS="
  meson ninja-build pkg-config gcc clang libclang-rt-14-dev
  libglib2.0-dev libglib2.0-bin libxml2-dev libxml2-utils
  libcrypt-dev libjson-glib-dev libguestfs-dev libarchive-dev libvirt-dev libselinux1-dev
  selinux-policy-default
  libguestfs-tools guestfs-tools linux-image-amd64
  qemu-system-x86 qemu-utils qemu-system-common qemu-block-extra
  libvirt-daemon-system libvirt-daemon-driver-lxc libvirt-clients
  e2fsprogs fdisk parted lvm2 util-linux fuse3 dosfstools btrfs-progs
  debootstrap valgrind openssh-client sshpass whois bc
  procps perl python3 mount kmod tgt bindfs
  apparmor binutils python3-yaml cloud-image-utils
  ifupdown netplan.io libnm0
  debhelper lintian dpkg-dev ansible python3-apt python3-libvirt python3-lxml
"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing
fi

# NetworkManager's nmcli, for test-net's offline check of our profiles
# (`nmcli --offline` reads a keyfile, needs no daemon): taken out of the
# network-manager package without installing it, so that no NetworkManager
# daemon is installed on the test machine.  libnm0 (above) is its library.
NMCLI_DIR=/var/cache/virt-inject-ci/nmcli
if [ ! -x "$NMCLI_DIR/usr/bin/nmcli" ]; then
    mkdir -p "$NMCLI_DIR"
    tmp=$(mktemp -d)
    chmod 0755 "$tmp"
    (cd "$tmp" && apt-get download network-manager >/dev/null 2>&1) ||
        { apt-get update >/dev/null && (cd "$tmp" && apt-get download network-manager); }
    dpkg-deb --fsys-tarfile "$tmp"/network-manager_*.deb | tar -C "$NMCLI_DIR" -x ./usr/bin/nmcli
    rm -rf "$tmp"
fi
