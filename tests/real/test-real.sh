#!/bin/sh
# test-real.sh: real Debian 12 guests, one per network stack (ifupdown,
# NetworkManager, systemd-networkd with systemd-resolved, netplan on
# networkd), injected by the hook on `virsh start` and then booted: libvirt
# runs them (type='qemu', TCG; direct kernel boot; user networking with a
# port of 127.0.0.1 forwarded to the guest's sshd at the injected static
# address) and each is asked over SSH, from inside, whether it got what
# was requested.  TAP output, many checks per boot.
#
# The guests keep the distribution's default NIC names (no net.ifnames=0:
# the NIC is ens16 or the like) and the request names the NIC by its MAC,
# as users must (ifupdown gets "auto mac/MAC/=eth0": README, "Decisions").  The fixtures (tests/real/fixtures.sh) are cached under
# /var/cache/virt-inject-real/: the first run builds them (debootstrap, one
# apt-get per stack), later runs only boot.
#
# Environment: VI_REAL_STACKS (default: all four), VI_REAL_CACHE,
# VI_REAL_MIRROR, VI_REAL_BOOT_TIMEOUT (seconds to wait for sshd, 420).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tap.sh"
. "$HERE/../libvirt-hook.sh"
. "$HERE/fixtures.sh"
B=$VIRT_INJECT_BUILD_ROOT
URI=qemu:///system
NS=http://virt-inject.org/xmlns/libvirt/domain/1.0
STACKS=${VI_REAL_STACKS:-ifupdown networkmanager networkd netplan cloudinit btrfs}
BOOT_TIMEOUT=${VI_REAL_BOOT_TIMEOUT:-420}

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
for c in libvirtd virsh debootstrap sshpass ssh ssh-keygen mkpasswd mkfs.ext4 mkfs.btrfs sfdisk qemu-img qemu-system-x86_64 cloud-localds; do
    if ! command -v "$c" >/dev/null; then echo "1..0 # SKIP no $c (scripts/install-deps.sh installs it)"; exit 77; fi
done

T=$(mktemp -d /var/tmp/vi-real-XXXXXX)
chmod 0755 "$T"
HOOKS=/etc/libvirt/hooks
domains () { for s in $STACKS; do echo "vi-real-$s"; done; }
undefine_all () {
    for d in $(domains); do
        virsh -c "$URI" destroy "$d" >/dev/null 2>&1
        virsh -c "$URI" undefine "$d" >/dev/null 2>&1
    done
}
cleanup () {
    undefine_all
    rm -f "$HOOKS/qemu.d/virt-inject-real"
    [ -n "${LIBVIRTD_PID:-}" ] && kill -HUP "$LIBVIRTD_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the daemon and the hook (as tests/test-libvirt.sh: a wrapper points
# the build tree's hook at a test configuration; libvirt gives hooks a
# minimal environment) ---------------------------------------------------
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for i in $(seq 60); do virsh -c "$URI" uri >/dev/null 2>&1 && break; sleep 1; done
LIBVIRTD_PID=$(pgrep -o -x libvirtd)
undefine_all    # leftovers of an interrupted run
mkdir -p "$T/secrets" "$T/state" "$T/run" "$HOOKS/qemu.d"
# alice's password: a fresh one per run, given as a yescrypt hash (what
# `virt-inject metadata set` stores), so that another virt-inject hook
# installed on this host (a developer's own) injects the same request.
ALICE_PW="Real-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$ALICE_PW" > "$T/alice.pw"
ALICE_HASH=$(printf '%s\n' "$ALICE_PW" | mkpasswd -m yescrypt -s)
BOB_PW="Bob-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$BOB_PW" > "$T/bob.pw"
BOB_HASH=$(printf '%s\n' "$BOB_PW" | mkpasswd -m yescrypt -s)
cat > "$T/conf" <<CONF
[guestfs]
force_tcg = true
[inject]
timeout = 900
[paths]
state_dir = $T/state
run_dir = $T/run
secrets_dir = $T/secrets
CONF
test_hooks_reap
test_hook_write "$T/hook" "export VIRT_INJECT_CONFIG=$T/conf
export VIRT_INJECT_GUESTFS_HELPER=$B/modules/guestfs/virt-inject-guestfs
export LIBGUESTFS_BACKEND=direct
export VIRT_INJECT_HOOK_WORKER=$B/hooks/virt-inject-hook-worker
exec $B/hooks/virt-inject-hook \"\$@\""
cp "$T/hook" "$HOOKS/qemu.d/virt-inject-real"
kill -HUP "$LIBVIRTD_PID"; sleep 3
for i in $(seq 60); do virsh -c "$URI" uri >/dev/null 2>&1 && break; sleep 1; done

ssh-keygen -q -t ed25519 -N '' -C root@vi-real -f "$T/root.key"
ssh-keygen -q -t ed25519 -N '' -C alice@vi-real -f "$T/alice.key"
ssh-keygen -q -t ed25519 -N '' -C bob@vi-real -f "$T/bob.key"
ROOT_PUB=$(cat "$T/root.key.pub")
ALICE_PUB=$(cat "$T/alice.key.pub")
BOB_PUB=$(cat "$T/bob.key.pub")

# What every guest is asked for.  10.0.2.0/24 is qemu's user network
# (gateway 10.0.2.2, DNS 10.0.2.3, DHCP hands out 10.0.2.15): the static
# addresses are ones its DHCP would never give, and the port forward goes
# to the first of them, so sshd answering at all means it was applied.
IP1=10.0.2.50
IP2=10.0.2.51
IP6=fd00:5ea1::50
GW=10.0.2.2
DNS1=10.0.2.3
DNS2=198.51.100.53
SEARCH=example.test
ROUTE4=203.0.113.0/24
VIA4=10.0.2.254
ROUTE6=fd00:5ea1:1::/48
VIA6=fd00:5ea1::fe
MTU=1450
FILE=/srv/vi-real/report.txt
FILE_TEXT="injected by the virt-inject hook"

mac_of () {         # a MAC per stack
    case "$1" in
    ifupdown) echo 52:54:00:5e:a1:01 ;;
    networkmanager) echo 52:54:00:5e:a1:02 ;;
    networkd) echo 52:54:00:5e:a1:03 ;;
    netplan) echo 52:54:00:5e:a1:04 ;;
    cloudinit) echo 52:54:00:5e:a1:05 ;;
    btrfs) echo 52:54:00:5e:a1:06 ;;
    esac
}
# The request's name for the NIC.  Each guest configures its NIC (ens16)
# for DHCP already (fixtures.sh): ifupdown, netplan and cloud-init's
# ifupdown name it in that configuration, so the request names the
# interface as the guest does (and gives its MAC); networkd and
# NetworkManager guests bind theirs by name or MAC, and the request calls
# it eth0, a name the guest does not use, selecting it by MAC alone.
iface_of () {
    case "$1" in
    ifupdown|netplan|cloudinit) echo ens16 ;;
    *) echo eth0 ;;
    esac
}
cmdline_of () {
    case "$1" in
    btrfs) echo "root=/dev/vda1 rootfstype=btrfs rootflags=subvol=root ro console=ttyS0" ;;
    *) echo "root=/dev/vda1 ro console=ttyS0" ;;
    esac
}
# cloudinit: a NoCloud seed (cloud-localds) that asks for DHCP on the NIC
# and for another hostname, and writes a file, which shows that cloud-init
# did read it.
SEED_FILE=/var/lib/vi-real-seed
seed_iso () {       # seed_iso DIR
    printf 'instance-id: vi-real-seed-1\nlocal-hostname: seed-host\n' > "$1/meta-data"
    printf '#cloud-config\nhostname: seed-host\nfqdn: seed-host.seed.test\nwrite_files:\n  - path: %s\n    content: "seed applied"\n' \
        "$SEED_FILE" > "$1/user-data"
    printf 'version: 2\nethernets:\n  ens16:\n    dhcp4: true\n    dhcp6: true\n' > "$1/network-config"
    cloud-localds --network-config="$1/network-config" "$1/seed.iso" "$1/user-data" "$1/meta-data"
}
free_port () {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
request () {        # request STACK MAC
    cat <<XML
<vi:inject xmlns:vi='$NS' policy='once' on-error='fail'>
  <vi:user name='root'><vi:ssh-key>$ROOT_PUB</vi:ssh-key></vi:user>
  <vi:user name='alice'><vi:ssh-key>$ALICE_PUB</vi:ssh-key><vi:password hash='$ALICE_HASH'/></vi:user>
  <vi:user name='bob' create='yes' groups='sudo' shell='/bin/bash'>
    <vi:ssh-key>$BOB_PUB</vi:ssh-key><vi:password hash='$BOB_HASH'/><vi:sudo nopasswd='yes'/>
  </vi:user>
  <vi:hostname>real-$1.example.test</vi:hostname>
  <vi:identity reset='yes'/>
  <vi:firstboot>#!/bin/sh
date +%s >> /root/firstboot-ran
echo "first boot done"
</vi:firstboot>
  <vi:file path='$FILE' mode='0640' owner='alice' group='alice'>$FILE_TEXT&#10;</vi:file>
  <vi:network>
    <vi:interface name='$(iface_of "$1")' mac='$2'>
      <vi:address>$IP1/24</vi:address>
      <vi:address>$IP2/24</vi:address>
      <vi:address>$IP6/64</vi:address>
      <vi:gateway>$GW</vi:gateway>
      <vi:nameserver>$DNS1</vi:nameserver>
      <vi:nameserver>$DNS2</vi:nameserver>
      <vi:search>$SEARCH</vi:search>
      <vi:route to='$ROUTE4' via='$VIA4' metric='100'/>
      <vi:route to='$ROUTE6' via='$VIA6'/>
      <vi:mtu>$MTU</vi:mtu>
    </vi:interface>
  </vi:network>
</vi:inject>
XML
}
domain_xml () {     # domain_xml STACK DIR MAC PORT
    cat <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>vi-real-$1</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>2</vcpu>
  <metadata>$(request "$1" "$3")</metadata>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$2/vmlinuz</kernel>
    <initrd>$2/initrd.img</initrd>
    <cmdline>$(cmdline_of "$1")</cmdline>
  </os>
  <features><acpi/></features>
  <on_reboot>destroy</on_reboot>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$2/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>$([ "$1" = cloudinit ] && printf "
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='%s/seed.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>" "$2")
    <serial type='file'><source path='$2/console.log'/><target port='0'/></serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='user,id=vinet,restrict=on,hostfwd=tcp:127.0.0.1:$4-$IP1:22'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=vinet,mac=$3,addr=0x10'/>
  </qemu:commandline>
</domain>
XML
}

SSH_OPTS="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10"
ssh_key () {        # ssh_key USER KEY PORT COMMAND... (stdin goes to COMMAND)
    u=$1 k=$2 p=$3; shift 3
    # shellcheck disable=SC2086
    ssh $SSH_OPTS -o BatchMode=yes -o IdentitiesOnly=yes -o PasswordAuthentication=no \
        -i "$k" -p "$p" "$u@127.0.0.1" "$@"
}
ssh_password () {   # ssh_password USER PASSWORD-FILE PORT COMMAND...
    u=$1 f=$2 p=$3; shift 3
    # shellcheck disable=SC2086
    sshpass -f "$f" ssh $SSH_OPTS -o PubkeyAuthentication=no -o PreferredAuthentications=password \
        -o NumberOfPasswordPrompts=1 -p "$p" "$u@127.0.0.1" "$@" </dev/null
}

# Run as root in the guest: one line per fact, "KEY VALUE...".
REPORT='
mac=$1
nic=
for d in /sys/class/net/*; do
    [ "$(cat "$d/address" 2>/dev/null)" = "$mac" ] && nic=${d##*/}
done
echo "nic $nic"
echo "hostname $(cat /proc/sys/kernel/hostname)"
echo "etc-hostname $(cat /etc/hostname)"
[ -n "$nic" ] && ip -o addr show dev "$nic" | awk "{ print \"addr\", \$4 }"
[ -n "$nic" ] && ip -o addr show dev "$nic" dynamic | awk "{ print \"dynamic\", \$4 }"
[ -n "$nic" ] && ip -o link show dev "$nic" | sed -n "s/.* mtu \([0-9]*\) .*/mtu \1/p"
ip -o -4 route show '"$ROUTE4"' | sed "s/^/route-static4 /"
ip -o -6 route show '"$ROUTE6"' | sed "s/^/route-static6 /"
sed -n "s/^search /resolv-search /p" /etc/resolv.conf
[ -n "$nic" ] && command -v resolvectl >/dev/null &&
    echo "resolved-domain $(resolvectl domain "$nic" 2>&1 | sed "s/^[^:]*: *//")"
echo "bob-home $(stat -c "%a %U:%G" /home/bob 2>&1)"
[ -f /home/bob/.bashrc ] && echo "bob-bashrc $(cmp -s /etc/skel/.bashrc /home/bob/.bashrc && echo same)"
ps -eo comm= | grep -E "^(dhclient|dhcpcd|udhcpc)\$" | sed "s/^/dhcp-client /"
command -v cloud-init >/dev/null && cloud-init status --long 2>&1 | sed "s/^/cloud-init /"
[ -e '"$SEED_FILE"' ] && echo "seed-file $(cat '"$SEED_FILE"')"
findmnt -no SOURCE,FSTYPE / | sed "s/^/mount-root /"
findmnt -no SOURCE,FSTYPE /home | sed "s/^/mount-home /"
ip -o -4 route show default | sed "s/^/route4 /"
[ -n "$nic" ] && command -v resolvectl >/dev/null &&
    echo "resolved $(resolvectl dns "$nic" 2>&1 | sed "s/^[^:]*: *//")"
sed -n "s/^nameserver/resolv.conf/p" /etc/resolv.conf
if [ -e '"$FILE"' ]; then
    echo "file-stat $(stat -c "%a %U:%G" '"$FILE"')"
    echo "file-text $(cat '"$FILE"')"
fi
echo "machine-id $(cat /etc/machine-id)"
echo "firstboot-runs $(cat /root/firstboot-ran 2>/dev/null | wc -l)"
echo "firstboot-log $(grep -c "first boot done" /var/log/virt-inject-firstboot.log 2>/dev/null)"
echo "firstboot-left $(ls -d /var/lib/virt-inject/firstboot /etc/systemd/system/multi-user.target.wants/virt-inject-firstboot.service 2>/dev/null | tr "\n" " ")"
echo "identity-uuid $(cat /var/lib/virt-inject/identity.uuid 2>/dev/null)"
echo "system $(systemctl is-system-running 2>&1)"
'

# --- one stack: fixture, define, start (the hook injects), boot, checks --
run_stack () {
    stack=$1
    d=$T/$stack
    mac=$(mac_of "$stack")
    dom=vi-real-$stack
    r=$d/report
    say () { echo "# $stack: $*"; }

    s0=$(date +%s)
    ok "$stack: fixture (cached Debian 12 tree and disk)" real_fixture "$stack" "$d"
    chmod 0755 "$d" 2>/dev/null
    s1=$(date +%s)
    port=$(free_port)
    [ "$stack" != cloudinit ] || ok "$stack: a NoCloud seed disk asking for DHCP and the hostname seed-host" \
        seed_iso "$d"
    domain_xml "$stack" "$d" "$mac" "$port" > "$d/domain.xml"
    t_start () {
        virsh -c "$URI" define "$d/domain.xml" >/dev/null || return 1
        virsh -c "$URI" start "$dom" 2>"$d/start.err" && return 0
        cat "$d/start.err"
        # A hook of another test on this host that was removed while
        # libvirtd still lists it fails every start: reload, retry once.
        grep -q "cannot execute binary $HOOKS/qemu.d/" "$d/start.err" &&
            ! grep -q "cannot execute binary $HOOKS/qemu.d/virt-inject-real" "$d/start.err" || return 1
        echo "a removed hook of another test: libvirtd reloads its hooks, start again"
        LIBVIRTD_PID=$(pgrep -o -x libvirtd)
        kill -HUP "$LIBVIRTD_PID"; sleep 3
        virsh -c "$URI" start "$dom"; }
    ok "$stack: virsh start (the hook injects through the appliance)" t_start
    s2=$(date +%s)
    t_sshd () {
        i=0
        while [ $(( $(date +%s) - s2 )) -lt "$BOOT_TIMEOUT" ]; do
            ssh_key root "$T/root.key" "$port" true </dev/null 2>"$d/ssh.err" && return 0
            virsh -c "$URI" domstate "$dom" 2>/dev/null | grep -q running || { echo "the guest stopped"; break; }
            sleep 3
        done
        echo "no root login on 127.0.0.1:$port ($IP1:22 in the guest) within $BOOT_TIMEOUT s"
        cat "$d/ssh.err"
        echo "--- end of the serial console:"; tail -n 40 "$d/console.log" 2>/dev/null
        return 1
    }
    ok "$stack: root logs in over ssh with its injected key (sshd reached at the injected $IP1)" t_sshd
    s3=$(date +%s)
    say "fixture $((s1 - s0)) s, virsh start (injection) $((s2 - s1)) s, boot to ssh $((s3 - s2)) s"

    printf '%s\n' "$REPORT" | ssh_key root "$T/root.key" "$port" sh -s "$mac" > "$r" 2>&1
    sed 's/^/#   /' "$r"
    fact () { sed -n "s/^$1 //p" "$r"; }
    nic=$(fact nic)

    t_alice_key () { [ "$(ssh_key alice "$T/alice.key" "$port" id -un </dev/null)" = alice ]; }
    t_alice_pw () { [ "$(ssh_password alice "$T/alice.pw" "$port" id -un)" = alice ]; }
    t_root_not_alice_key () { ! ssh_key root "$T/alice.key" "$port" true </dev/null; }
    ok "$stack: alice logs in with her injected key" t_alice_key
    ok "$stack: alice logs in with her injected password (sshd password authentication)" t_alice_pw
    ok "$stack: alice's key does not open root's account" t_root_not_alice_key
    t_nic () { echo "NIC with $mac: '$nic'"; [ -n "$nic" ]; }
    ok "$stack: the NIC with the requested MAC is there (named '$nic' by the guest)" t_nic
    t_hostname () { fact hostname; [ "$(fact hostname)" = "real-$stack.example.test" ]; }
    t_etc_hostname () { fact etc-hostname; [ "$(fact etc-hostname)" = "real-$stack.example.test" ]; }
    ok "$stack: the running hostname is the requested one" t_hostname
    ok "$stack: /etc/hostname holds the requested name" t_etc_hostname
    for a in "$IP1/24" "$IP2/24" "$IP6/64"; do
        t_addr () { fact addr; fact addr | grep -qx "$a"; }
        ok "$stack: $a is on the NIC with the requested MAC" t_addr
    done
    t_exact4 () {
        fact addr; fact dynamic
        [ "$(fact addr | grep -v : | sort | tr '\n' ' ')" = "$IP1/24 $IP2/24 " ]; }
    t_no_lease () {
        fact dhcp-client
        ! fact addr | grep -q '^10\.0\.2\.15/' && [ -z "$(fact dynamic)" ] &&
            [ -z "$(fact dhcp-client)" ]; }
    t_exact6 () {
        [ "$(fact addr | grep : | grep -v '^fe80:' | sort | tr '\n' ' ')" = "$IP6/64 " ]; }
    ok "$stack: the NIC has exactly the requested IPv4 addresses" t_exact4
    ok "$stack: no DHCP lease beside them (no 10.0.2.15, no dynamic address, no DHCP client), though the guest's own configuration asked for one" t_no_lease
    ok "$stack: the NIC's only global IPv6 address is the requested one (no SLAAC address from qemu's router advertisements)" t_exact6
    t_route () {
        fact route4
        fact route4 | grep -q "^default via $GW dev $nic\( \|$\)"; }
    ok "$stack: the default route is via $GW on that NIC" t_route
    t_resolv_conf () { fact resolv.conf; [ "$(fact resolv.conf | tr '\n' ' ')" = "$DNS1 $DNS2 " ]; }
    case "$stack" in
    ifupdown)
        # Debian's ifupdown hands dns-nameservers to resolvconf only, which
        # a default install lacks: virt-inject then writes /etc/resolv.conf.
        ok "$stack: /etc/resolv.conf (no resolvconf: written by virt-inject) has $DNS1 and $DNS2" t_resolv_conf
        ;;
    networkmanager)
        ok "$stack: /etc/resolv.conf (written by NetworkManager) has $DNS1 and $DNS2" t_resolv_conf
        ;;
    networkd|netplan|btrfs)
        t_dns () { fact resolved; [ "$(fact resolved)" = "$DNS1 $DNS2" ]; }
        ok "$stack: systemd-resolved uses $DNS1 and $DNS2 on that NIC" t_dns
        ;;
    esac
    t_mtu () { fact mtu; [ "$(fact mtu)" = "$MTU" ]; }
    t_route_static4 () {
        fact route-static4
        fact route-static4 | grep -q "^$ROUTE4 via $VIA4 dev $nic .*metric 100\( \|$\)"; }
    t_route_static6 () {
        fact route-static6
        fact route-static6 | grep -q "^$ROUTE6 via $VIA6 dev $nic"; }
    ok "$stack: the MTU of the NIC is $MTU" t_mtu
    ok "$stack: the route to $ROUTE4 is via $VIA4 on that NIC, metric 100" t_route_static4
    ok "$stack: the route to $ROUTE6 is via $VIA6 on that NIC" t_route_static6
    case "$stack" in
    networkd|netplan|btrfs)
        t_search () { fact resolved-domain; fact resolved-domain | grep -qw "$SEARCH"; }
        ok "$stack: systemd-resolved searches $SEARCH on that NIC" t_search ;;
    *)
        t_search () { fact resolv-search; [ "$(fact resolv-search)" = "$SEARCH" ]; }
        ok "$stack: /etc/resolv.conf searches $SEARCH" t_search ;;
    esac
    t_bob_key () { ssh_key bob "$T/bob.key" "$port" id </dev/null > "$d/bob.id" && cat "$d/bob.id" &&
        grep -q '^uid=[0-9]*(bob) gid=[0-9]*(bob) groups=.*([s]udo)' "$d/bob.id"; }
    t_bob_pw () { [ "$(ssh_password bob "$T/bob.pw" "$port" id -un)" = bob ]; }
    t_bob_sudo () { [ "$(ssh_key bob "$T/bob.key" "$port" sudo -n id -un </dev/null)" = root ]; }
    t_bob_home () { fact bob-home; fact bob-bashrc
        [ "$(fact bob-home)" = "700 bob:bob" ] && [ "$(fact bob-bashrc)" = same ]; }
    t_alice_no_sudo () { ! ssh_key alice "$T/alice.key" "$port" sudo -n true </dev/null; }
    ok "$stack: bob, created by the request, logs in with his key; his group bob and the group sudo" t_bob_key
    ok "$stack: bob logs in with his injected password" t_bob_pw
    ok "$stack: bob's sudo drop-in works (sudo -n, NOPASSWD)" t_bob_sudo
    ok "$stack: bob's home is 0700 bob:bob, filled from /etc/skel" t_bob_home
    ok "$stack: control: alice, not given sudo, cannot use it" t_alice_no_sudo
    t_file_text () { fact file-text; [ "$(fact file-text)" = "$FILE_TEXT" ]; }
    t_file_stat () { fact file-stat; [ "$(fact file-stat)" = "640 alice:alice" ]; }
    ok "$stack: $FILE has the requested content" t_file_text
    ok "$stack: $FILE is mode 0640, owned by alice:alice" t_file_stat
    case "$stack" in
    ifupdown|cloudinit)
        # The control of the lease checks: this network does answer DHCP
        # (qemu's server gives 10.0.2.15), so its absence above is the
        # configuration's doing.  dhclient asks once, with a script that
        # configures nothing.
        t_dhcp_control () {
            ssh_key root "$T/root.key" "$port" "timeout 25 dhclient -d -1 -v -sf /bin/true \
                -lf /run/vi-control.leases -pf /run/vi-control.pid $nic 2>&1; \
                ip -o -4 addr show dev $nic" </dev/null > "$d/control" 2>&1
            grep -E 'DHCPACK|bound to|10\.0\.2\.15' "$d/control"
            grep -q 'DHCPACK of 10\.0\.2\.15' "$d/control" && ! grep -q 'inet 10\.0\.2\.15/' "$d/control"; }
        ok "$stack: control: a DHCP request on the NIC gets 10.0.2.15 from this network" t_dhcp_control
        ;;
    esac
    case "$stack" in
    cloudinit)
        t_seed () { fact seed-file; fact cloud-init; [ "$(fact seed-file)" = "seed applied" ]; }
        ok "$stack: cloud-init read the seed (its write_files ran) and still kept the injected hostname and network" t_seed
        ;;
    btrfs)
        t_subvols () {
            fact mount-root; fact mount-home
            [ "$(fact mount-root)" = "/dev/vda1[/root] btrfs" ] &&
                [ "$(fact mount-home)" = "/dev/vda1[/home] btrfs" ]; }
        ok "$stack: / and /home are the btrfs subvolumes root and home (alice's key above was found in home)" t_subvols
        ;;
    esac
    host_key () { ssh-keyscan -p "$port" -t ed25519 127.0.0.1 2>/dev/null | awk '{ print $3 }'; }
    template_key=$(real_template_file "$stack" /etc/ssh/ssh_host_ed25519_key.pub | awk '{ print $2 }')
    key1=$(host_key)
    t_firstboot () { fact firstboot-runs; fact firstboot-log
        [ "$(fact firstboot-runs)" = 1 ] && [ "$(fact firstboot-log)" = 1 ]; }
    t_firstboot_gone () { fact firstboot-left; [ -z "$(fact firstboot-left | tr -d ' ')" ]; }
    t_machine_id () { fact machine-id
        fact machine-id | grep -qx '[0-9a-f]\{32\}' && [ "$(fact machine-id)" != "$VI_REAL_TEMPLATE_MACHINE_ID" ]; }
    t_host_key () { echo "template $template_key"; echo "guest    $key1"
        [ -n "$template_key" ] && [ -n "$key1" ] && [ "$key1" != "$template_key" ]; }
    t_identity_uuid () { fact identity-uuid; [ "$(fact identity-uuid)" = "$(virsh -c "$URI" domuuid "$dom")" ]; }
    ok "$stack: the first-boot script ran once, logged" t_firstboot
    ok "$stack: the first-boot script and its wants link are gone after it ran" t_firstboot_gone
    ok "$stack: a new machine-id, not the template's" t_machine_id
    ok "$stack: a new SSH host key, not the template's (made before sshd started)" t_host_key
    ok "$stack: the identity marker holds the domain's UUID" t_identity_uuid
    if [ "$stack" = networkd ]; then
        # A second boot: nothing of the first boot happens again.
        mid1=$(fact machine-id)
        t_second_boot () {
            virsh -c "$URI" shutdown "$dom" >/dev/null || return 1
            i=0
            until virsh -c "$URI" domstate "$dom" 2>/dev/null | grep -q 'shut off'; do
                i=$((i + 1)); [ $i -lt 60 ] || { virsh -c "$URI" destroy "$dom"; break; }; sleep 2
            done
            virsh -c "$URI" start "$dom" || return 1
            s2=$(date +%s)
            t_sshd; }
        ok "$stack: a second boot (virsh shutdown, virsh start: the ledger says once)" t_second_boot
        printf '%s\n' "$REPORT" | ssh_key root "$T/root.key" "$port" sh -s "$mac" > "$r" 2>&1
        t_again () { fact firstboot-runs; fact machine-id; echo "key $(host_key)"
            [ "$(fact firstboot-runs)" = 1 ] && [ "$(fact machine-id)" = "$mid1" ] &&
                [ "$(host_key)" = "$key1" ]; }
        ok "$stack: after the second boot the script has not run again, machine-id and host key unchanged" t_again
    fi
    say "system state: $(fact system)"

    virsh -c "$URI" destroy "$dom" >/dev/null 2>&1
    virsh -c "$URI" undefine "$dom" >/dev/null 2>&1
    rm -f "$d/disk.qcow2"
    say "$(($(date +%s) - s0)) s in all"
}

start=$(date +%s)
for stack in $STACKS; do
    run_stack "$stack"
done
echo "# the suite took $(($(date +%s) - start)) s"
tap_done
