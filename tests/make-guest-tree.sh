#!/bin/sh
# make-guest-tree.sh DISTRO DIR: generate a small guest root tree with the
# files virt-inject reads (os-release, passwd, group, shadow, hosts) and the
# traces of the network stack DISTRO really uses (binaries and systemd
# enablement links, not just directories).  Used by the demo, the benchmarks
# and the appliance/libvirt suites.  DISTRO: debian12 ubuntu2204 fedora39 alpine319.
set -eu

distro=$1
root=$2
mkdir -p "$root"
cd "$root"

mkdir -p etc root home/alice srv tmp usr/bin usr/sbin sbin bin var/log \
         etc/ssh etc/systemd/system/multi-user.target.wants etc/systemd/network
chmod 0700 root
chmod 1777 tmp

cat > etc/passwd <<'P'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sshd:x:105:65534::/run/sshd:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/bash
P
cat > etc/group <<'G'
root:x:0:
daemon:x:1:
shadow:x:42:
wheel:x:10:alice
alice:x:1000:
G
cat > etc/shadow <<'S'
root:*:19700:0:99999:7:::
daemon:*:19700:0:99999:7:::
sshd:!:19700::::::
alice:!:19700:0:99999:7:::
S
chmod 0640 etc/shadow
chown 0:42 etc/shadow 2>/dev/null || true
chown 1000:1000 home/alice 2>/dev/null || true
printf 'localhost\n' > etc/hostname
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > etc/hosts
touch bin/bash
chmod 0755 bin/bash
# A template's identity: machine-id, SSH host keys, sshd.
printf '0123456789abcdef0123456789abcdef\n' > etc/machine-id
chmod 0444 etc/machine-id
for t in rsa ecdsa ed25519; do
    printf 'template %s key\n' $t > etc/ssh/ssh_host_${t}_key
    printf 'ssh-%s template\n' $t > etc/ssh/ssh_host_${t}_key.pub
    chmod 0600 etc/ssh/ssh_host_${t}_key
done
printf 'PermitRootLogin prohibit-password\n' > etc/ssh/sshd_config
touch usr/sbin/sshd
chmod 0755 usr/sbin/sshd

# What creating a user reads: login.defs (HOME_MODE on Fedora, below),
# shells, gshadow (not on Alpine, below), sudoers, and a skel.
printf 'UID_MIN\t\t 1000\nUID_MAX\t\t60000\nGID_MIN\t\t 1000\nGID_MAX\t\t60000\n' > etc/login.defs
printf '# /etc/shells: valid login shells\n/bin/sh\n/bin/bash\n' > etc/shells
printf 'root:*::\ndaemon:*::\nshadow:*::\nwheel:*::alice\nalice:!::\n' > etc/gshadow
chmod 0640 etc/gshadow
chown 0:42 etc/gshadow 2>/dev/null || true
printf 'root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n' > etc/sudoers
chmod 0440 etc/sudoers
mkdir -p etc/sudoers.d etc/skel/.config
chmod 0755 etc/sudoers.d
printf '# ~/.bashrc\n' > etc/skel/.bashrc
printf '# ~/.profile\n' > etc/skel/.profile
printf 'x=1\n' > etc/skel/.config/app.conf

want=etc/systemd/system/multi-user.target.wants
case "$distro" in
debian12)
    # As on Debian: /etc/os-release is a symlink into /usr/lib.
    mkdir -p usr/lib
    cat > usr/lib/os-release <<'O'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
O
    ln -sf ../usr/lib/os-release etc/os-release
    # ifupdown installed and used; systemd-networkd present but not enabled.
    mkdir -p etc/network/interfaces.d
    printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n' > etc/network/interfaces
    mkdir -p usr/lib/systemd
    touch sbin/ifup usr/lib/systemd/systemd-networkd
    chmod 0755 sbin/ifup
    ln -sf /lib/systemd/system/networking.service "$want/networking.service"
    # systemd-sysv: /sbin/init is systemd
    mkdir -p lib/systemd var/lib/systemd
    touch lib/systemd/systemd
    ln -sf /lib/systemd/systemd sbin/init
    printf 'seed' > var/lib/systemd/random-seed
    ;;
ubuntu2204)
    cat > etc/os-release <<'O'
PRETTY_NAME="Ubuntu 22.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
ID=ubuntu
ID_LIKE=debian
O
    mkdir -p etc/netplan usr/lib/systemd
    printf 'network:\n  version: 2\n  ethernets: {}\n' > etc/netplan/50-cloud-init.yaml
    chmod 0600 etc/netplan/50-cloud-init.yaml
    touch usr/sbin/netplan usr/lib/systemd/systemd-networkd
    chmod 0755 usr/sbin/netplan
    ln -sf /lib/systemd/system/systemd-networkd.service "$want/systemd-networkd.service"
    mkdir -p lib/systemd var/lib/systemd
    touch lib/systemd/systemd
    ln -sf /lib/systemd/systemd sbin/init
    printf 'seed' > var/lib/systemd/random-seed
    ;;
fedora39)
    cat > etc/os-release <<'O'
NAME="Fedora Linux"
VERSION="39 (Server Edition)"
ID=fedora
VERSION_ID=39
PRETTY_NAME="Fedora Linux 39 (Server Edition)"
O
    mkdir -p etc/NetworkManager/system-connections etc/selinux/targeted/contexts/files
    touch usr/sbin/NetworkManager
    chmod 0755 usr/sbin/NetworkManager
    ln -sf /usr/lib/systemd/system/NetworkManager.service "$want/NetworkManager.service"
    mkdir -p usr/lib/systemd
    touch usr/lib/systemd/systemd
    ln -sf ../lib/systemd/systemd sbin/init
    printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' > etc/selinux/config
    # A small policy in the shape of Fedora's: each injected path has its type.
    cat > etc/selinux/targeted/contexts/files/file_contexts <<'FC'
/.*	system_u:object_r:default_t:s0
/etc(/.*)?	system_u:object_r:etc_t:s0
/etc/shadow.*	--	system_u:object_r:shadow_t:s0
/etc/hostname	--	system_u:object_r:hostname_etc_t:s0
/etc/NetworkManager(/.*)?	system_u:object_r:NetworkManager_etc_t:s0
/etc/NetworkManager/system-connections(/.*)?	system_u:object_r:NetworkManager_etc_rw_t:s0
/root(/.*)?	system_u:object_r:admin_home_t:s0
/root/\.ssh(/.*)?	system_u:object_r:ssh_home_t:s0
/home/[^/]+/\.ssh(/.*)?	unconfined_u:object_r:ssh_home_t:s0
/srv(/.*)?	system_u:object_r:var_t:s0
FC
    # Fedora: shadow and gshadow are 0000 root:root; new homes 0700
    chmod 0000 etc/shadow etc/gshadow
    chown 0:0 etc/shadow etc/gshadow 2>/dev/null || true
    printf 'HOME_MODE\t0700\n' >> etc/login.defs
    ;;
alpine319)
    cat > etc/os-release <<'O'
NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
O
    # busybox ifupdown under OpenRC; no systemd at all.
    rm -rf etc/systemd
    mkdir -p etc/network etc/runlevels/boot
    printf 'auto lo\niface lo inet loopback\n' > etc/network/interfaces
    touch bin/busybox
    chmod 0755 bin/busybox
    ln -sf /bin/busybox sbin/ifup
    ln -sf /etc/init.d/networking etc/runlevels/boot/networking
    # OpenRC, its local service not in a runlevel; busybox's init
    mkdir -p etc/init.d etc/runlevels/default
    touch sbin/openrc etc/init.d/local
    chmod 0755 sbin/openrc etc/init.d/local
    ln -sf /bin/busybox sbin/init
    mkdir -p var/lib/seedrng
    printf 'seed' > var/lib/seedrng/seed.credit
    sed -i 's#/bin/bash#/bin/ash#' etc/passwd
    # Alpine: no gshadow; ash is a login shell
    rm -f etc/gshadow
    printf '/bin/ash\n' >> etc/shells
    ;;
*)
    echo "make-guest-tree.sh: unknown distro '$distro'" >&2
    exit 2
    ;;
esac
