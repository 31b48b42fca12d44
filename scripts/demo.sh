#!/bin/sh
# The README's first command: set everything up, make a sample guest (a root
# directory and a qcow2 disk image holding the same tree), inject the same
# request into both with virt-inject, and show what changed in the guest.
# Run as root on Debian 12.  Everything lives under $DEMO (default
# /var/tmp/virt-inject-demo) and is remade on each run.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${DEMO:-/var/tmp/virt-inject-demo}

"$top/scripts/install-deps.sh"
[ -f "$top/build/build.ninja" ] || meson setup "$top/build" "$top" >/dev/null
ninja -C "$top/build" >/dev/null

export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
export VIRT_INJECT_GUESTFS_HELPER="$top/build/modules/guestfs/virt-inject-guestfs"
vi="$top/build/tools/virt-inject"

rm -rf "$DEMO"
mkdir -p "$DEMO"
cd "$DEMO"

# --- a small Debian 12 guest tree (ifupdown networking) ---------------------
"$top/tests/make-guest-tree.sh" debian12 rootfs >/dev/null

# --- the same tree as a disk image: ext4 made without mounting, then qcow2 --
cp -a rootfs image-tree
printf '/dev/sda / ext4 defaults 0 1\n' > image-tree/etc/fstab
mkfs.ext4 -q -F -d image-tree -L root disk.raw 64M >/dev/null
qemu-img convert -q -f raw -O qcow2 disk.raw disk.qcow2
rm -rf image-tree disk.raw

# --- the request -------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C alice@laptop -f alice
printf 'Welcome to web1\n' > motd
cat > config.conf <<CONF
[guestfs]
force_tcg = true
[paths]
state_dir = $DEMO/state
run_dir = $DEMO/run
CONF
cat > request.xml <<'XML'
<vi:inject xmlns:vi="http://virt-inject.org/xmlns/libvirt/domain/1.0">
  <vi:directory path="/srv/app" mode="0750"/>
  <vi:network>
    <vi:interface name="eth0" mac="52:54:00:12:34:56">
      <vi:address>192.0.2.10/24</vi:address>
      <vi:address>2001:db8::10/64</vi:address>
      <vi:gateway>192.0.2.1</vi:gateway>
      <vi:nameserver>192.0.2.53</vi:nameserver>
    </vi:interface>
  </vi:network>
  <vi:meta key="role">web</vi:meta>
</vi:inject>
XML

opts="--spec request.xml --ssh-key root:alice.pub --password root:random
      --hostname web1.example.com --file /etc/motd:motd:0644"

echo "### virt-inject inject --rootfs rootfs $opts"
# shellcheck disable=SC2086
"$vi" --config-file config.conf inject --rootfs rootfs $opts

echo
echo "### the guest tree afterwards"
for f in etc/hostname etc/hosts root/.ssh/authorized_keys etc/motd \
         etc/network/interfaces.d/virt-inject-eth0 meta.js; do
    echo "--- /$f"; cat "rootfs/$f"
done
echo "--- /etc/shadow (root)"; grep '^root:' rootfs/etc/shadow
ls -ld rootfs/srv/app rootfs/root/.ssh rootfs/root/.ssh/authorized_keys

echo
echo "### virt-inject inject -a disk.qcow2 --format qcow2 $opts"
echo "### (the libguestfs appliance runs under software emulation here: ~1 min)"
# shellcheck disable=SC2086
"$vi" --config-file config.conf inject -a disk.qcow2 --format qcow2 $opts

echo
echo "### the image afterwards, read back by one guestfish session"
guestfish --ro --format=qcow2 -a disk.qcow2 -m /dev/sda <<'GF'
echo --- /etc/hostname
cat /etc/hostname
echo --- /root/.ssh/authorized_keys
cat /root/.ssh/authorized_keys
echo --- /etc/network/interfaces.d/virt-inject-eth0
cat /etc/network/interfaces.d/virt-inject-eth0
echo --- /meta.js
cat /meta.js
GF
