#!/bin/sh
# test-cli-inject.sh VIRT-INJECT CRYPT-CHECK MAKE-GUEST-TREE: end-to-end tests
# of `virt-inject inject --rootfs` on generated root trees (TAP output).
#
# Covers --spec, every quick option, the spec merged with the options,
# --dry-run writing nothing, the exit statuses 0/1/2, `--password USER:random`
# printed once with a shadow hash that verifies, clear text refused from
# argv, and -a without --format.  Needs root (the trees hold root-owned and
# uid 1000 files); skipped, with the reason, only when not root.
set -u

vi=$1
check=$2
mktree=$3

if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root to build guest trees with their owners"
    exit 0
fi

tmp=$(mktemp -d /tmp/test-cli-inject.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM    # meson's timeout: the EXIT trap still cleans up
n=0
failed=0

ok () {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
# expect STATUS DESCRIPTION COMMAND...: the command exits with STATUS.
expect () {
    want=$1; what=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    [ "$got" -eq "$want" ]
    ok $? "$what (exit $got, want $want)"
    [ "$got" -eq "$want" ] || sed 's/^/# /' "$tmp/out" "$tmp/err"
}
tree () {
    rm -rf "$tmp/$1"
    sh "$mktree" debian12 "$tmp/$1" >/dev/null
}
snapshot () {
    (cd "$1" && find . -printf '%p %m %u %g %s %T@\n' | sort && find . -type f -exec sha256sum {} + | sort)
}

printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E alice@laptop\n' >"$tmp/k1"
{
    echo '# two keys, a comment and a blank line'
    echo
    cat "$tmp/k1"
    echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPmmGRMvAXWb4CXmJWBBsvY9nY0gIKqa+KsIDoENRhOB bob@ops'
} >"$tmp/keys"
printf 'correct horse\nsecond line is ignored\n' >"$tmp/pw"
printf 'motd from the host\n' >"$tmp/motd"
printf '#!/bin/sh\necho hi\n' >"$tmp/script"
mkdir -p "$tmp/secrets"
printf 's3cret-from-file\n' >"$tmp/secrets/web1-alice"
chmod 0600 "$tmp/secrets/web1-alice"
printf '[paths]\nsecrets_dir = %s\nstate_dir = %s/state\nrun_dir = %s/run\n' \
    "$tmp/secrets" "$tmp" "$tmp" >"$tmp/conf"
vic () { "$vi" --config-file "$tmp/conf" "$@"; }

# --- every quick option --------------------------------------------------
tree g1
expect 0 "quick options inject" vic inject --rootfs "$tmp/g1" \
    --ssh-key "alice:$tmp/keys" --password "root:file:$tmp/pw" --password alice:secret:web1-alice \
    --password daemon:locked --file "/etc/motd:$tmp/motd" --file "/usr/local/bin/setup:$tmp/script:0755" \
    --hostname web1.example.com
# 9 of the request, 4 of the guest record (/var/lib/virt-inject, orig/,
# the original /etc/hostname, record.json; the tree has /var/lib)
grep -q "^root directory $tmp/g1: 13 changes (0 already as requested)\$" "$tmp/out" || cat "$tmp/out"
ok $? "the count of changes is printed"
ak=$tmp/g1/home/alice/.ssh/authorized_keys
[ "$(grep -c '^ssh-ed25519' "$ak")" -eq 2 ]
ok $? "both keys of the file are in alice's authorized_keys"
[ "$(stat -c '%a %u %g' "$ak")" = "600 1000 1000" ]
ok $? "authorized_keys is 0600 alice:alice"
[ "$(stat -c '%a' "$tmp/g1/home/alice/.ssh")" = 700 ]
ok $? "~/.ssh is 0700"
hash=$(awk -F: '$1 == "root" { print $2 }' "$tmp/g1/etc/shadow")
case $hash in '$y$'*) true ;; *) false ;; esac
ok $? "root's password is a yescrypt hash by default"
printf 'correct horse\n' >"$tmp/pw1"
"$check" "$tmp/pw1" "$hash"
ok $? "root's hash verifies the first line of the password file"
case $(awk -F: '$1 == "daemon" { print $2 }' "$tmp/g1/etc/shadow") in '!'*) true ;; *) false ;; esac
ok $? "daemon is locked"
"$check" "$tmp/secrets/web1-alice" "$(awk -F: '$1 == "alice" { print $2 }' "$tmp/g1/etc/shadow")"
ok $? "alice's secret was hashed at injection time"
cmp -s "$tmp/motd" "$tmp/g1/etc/motd" && [ "$(stat -c %a "$tmp/g1/etc/motd")" = 644 ]
ok $? "--file copies the content with mode 0644"
cmp -s "$tmp/script" "$tmp/g1/usr/local/bin/setup" && [ "$(stat -c %a "$tmp/g1/usr/local/bin/setup")" = 755 ]
ok $? "--file GUESTPATH:HOSTFILE:0755 keeps the mode"
[ "$(cat "$tmp/g1/etc/hostname")" = web1.example.com ] && grep -q '^127.0.1.1.*web1.example.com.*web1' "$tmp/g1/etc/hosts"
ok $? "hostname and hosts"
if grep -rq 'correct horse\|s3cret' "$tmp/g1"; then false; else true; fi
ok $? "no clear text anywhere in the guest tree"

snapshot "$tmp/g1" >"$tmp/s1"
expect 0 "a second run succeeds" vic inject --rootfs "$tmp/g1" --keep-dropped --ssh-key "alice:$tmp/keys" \
    --file "/etc/motd:$tmp/motd" --hostname web1.example.com
grep -q "^root directory $tmp/g1: 0 changes (5 already as requested)\$" "$tmp/out"
ok $? "the second run counts only steps already as requested"
snapshot "$tmp/g1" >"$tmp/s2"
cmp -s "$tmp/s1" "$tmp/s2"
ok $? "the second run changes nothing (idempotent)"

# --- the guest record on a root directory, hostile -----------------------
# /var/lib/virt-inject a symlink (to the guest's /etc, and to the host's /):
# never followed, no record written, the note says so; the control without
# it gets its record.  record.json a symlink to the guest's shadow: not read,
# replaced by a regular file, shadow untouched.
tree g8
mkdir -p "$tmp/g8/var/lib" && ln -s /etc "$tmp/g8/var/lib/virt-inject"
expect 0 "/var/lib/virt-inject a symlink: injected" vic inject --rootfs "$tmp/g8" --hostname rec8
grep -q "^virt-inject: note: guest record ignored.*/var/lib/virt-inject: is a symlink; guest record not written" "$tmp/err" &&
    [ ! -e "$tmp/g8/etc/record.json" ] && [ -L "$tmp/g8/var/lib/virt-inject" ] &&
    [ "$(cat "$tmp/g8/etc/hostname")" = rec8 ]
ok $? "the note says the record was ignored and not written; nothing through the link"
rm "$tmp/g8/var/lib/virt-inject" && ln -s / "$tmp/g8/var/lib/virt-inject"
expect 0 "/var/lib/virt-inject a symlink to /: injected" vic inject --rootfs "$tmp/g8" --hostname rec8b
[ ! -e /record.json ] && [ ! -e "$tmp/g8/record.json" ]
ok $? "no record.json at the host's / or the guest's"
rm "$tmp/g8/var/lib/virt-inject"
expect 0 "control: a real directory" vic inject --rootfs "$tmp/g8" --hostname rec8
[ -f "$tmp/g8/var/lib/virt-inject/record.json" ] && ! grep -q "note:" "$tmp/err"
ok $? "control: the record is written, no note"
sha=$(sha256sum <"$tmp/g8/etc/shadow")
rm "$tmp/g8/var/lib/virt-inject/record.json" && ln -s /etc/shadow "$tmp/g8/var/lib/virt-inject/record.json"
expect 0 "record.json a symlink to shadow: injected" vic inject --rootfs "$tmp/g8" --hostname rec8c
grep -q "^virt-inject: note: guest record ignored.*record.json: is not a regular file" "$tmp/err" &&
    [ -f "$tmp/g8/var/lib/virt-inject/record.json" ] && [ ! -L "$tmp/g8/var/lib/virt-inject/record.json" ] &&
    [ "$(sha256sum <"$tmp/g8/etc/shadow")" = "$sha" ]
ok $? "the link is not read, replaced by the record; shadow untouched"

# --- --password-crypto, random -------------------------------------------
tree g2
expect 0 "--password root:random --password-crypto sha512" \
    vic inject --rootfs "$tmp/g2" --password root:random --password-crypto sha512
[ "$(grep -c '^password for root: ' "$tmp/out")" -eq 1 ] && [ "$(grep -c 'password' "$tmp/out" "$tmp/err" | awk -F: '{ s += $2 } END { print s }')" -eq 1 ]
ok $? "the random password is printed exactly once"
sed -n 's/^password for root: //p' "$tmp/out" >"$tmp/pwr"
hash=$(awk -F: '$1 == "root" { print $2 }' "$tmp/g2/etc/shadow")
case $hash in '$6$'*) true ;; *) false ;; esac
ok $? "--password-crypto sha512 gives a \$6\$ hash"
"$check" "$tmp/pwr" "$hash"
ok $? "the shadow hash verifies the printed random password"
printf 'not-it\n' >"$tmp/wrong"
"$check" "$tmp/wrong" "$hash"
[ $? -eq 1 ]
ok $? "and does not verify another password"

# --- --spec, merged with the options -------------------------------------
tree g3
cat >"$tmp/spec.xml" <<'X'
<x:inject xmlns:x="http://virt-inject.org/xmlns/libvirt/domain/1.0">
  <x:user name="root">
    <x:ssh-key>ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E alice@laptop</x:ssh-key>
  </x:user>
  <x:hostname>from-spec</x:hostname>
  <x:directory path="/srv/app" mode="0750"/>
  <x:file path="/etc/motd">from the spec&#10;</x:file>
</x:inject>
X
expect 0 "--spec merged with quick options" vic inject --rootfs "$tmp/g3" --spec "$tmp/spec.xml" \
    --ssh-key "root:$tmp/keys" --file "/etc/motd:$tmp/motd" --hostname from-options
[ "$(grep -c '^ssh-ed25519' "$tmp/g3/root/.ssh/authorized_keys")" -eq 2 ]
ok $? "a key in both the spec and the options is added once"
cmp -s "$tmp/motd" "$tmp/g3/etc/motd"
ok $? "a file given again by the options replaces the spec's"
[ "$(cat "$tmp/g3/etc/hostname")" = from-options ]
ok $? "the options' hostname wins"
[ "$(stat -c %a "$tmp/g3/srv/app")" = 750 ]
ok $? "the spec's directory is created"

# --- --dry-run ------------------------------------------------------------
tree g4
snapshot "$tmp/g4" >"$tmp/d1"
expect 0 "--dry-run" vic inject --rootfs "$tmp/g4" --spec "$tmp/spec.xml" --password root:locked --dry-run
snapshot "$tmp/g4" >"$tmp/d2"
cmp -s "$tmp/d1" "$tmp/d2"
ok $? "--dry-run writes nothing"
grep -q '^dry run: nothing written' "$tmp/out" && grep -q '/etc/shadow' "$tmp/out" && grep -q '/srv/app' "$tmp/out"
ok $? "--dry-run prints the plan"

# --- refusals and exit statuses -------------------------------------------
tree g5
snapshot "$tmp/g5" >"$tmp/r1"
expect 1 "a clear-text password in argv is refused" vic inject --rootfs "$tmp/g5" --password root:hunter2
grep -q 'clear-text password on the command line' "$tmp/err" && ! grep -q hunter2 "$tmp/err"
ok $? "the refusal says why and does not echo the password"
expect 1 "an invalid hostname" vic inject --rootfs "$tmp/g5" --hostname 'bad_name!'
expect 1 "a bad key file" sh -c "printf 'ssh-ed25519 !!!notbase64\n' >'$tmp/bad' && '$vi' --config-file '$tmp/conf' inject --rootfs '$tmp/g5' --ssh-key 'root:$tmp/bad'"
expect 1 "a relative --file guest path" vic inject --rootfs "$tmp/g5" --file "etc/motd:$tmp/motd"
expect 1 "an unknown --password-crypto" vic inject --rootfs "$tmp/g5" --password root:locked --password-crypto md5
net_spec () {           # net_spec FILE RENDERER ROUTE-ATTRIBUTES
    printf '<vi:inject xmlns:vi="http://virt-inject.org/xmlns/libvirt/domain/1.0"><vi:network renderer="%s"><vi:interface name="eth0"><vi:address>192.0.2.10/24</vi:address><vi:route %s/><vi:mtu>1450</vi:mtu><vi:search>example.com</vi:search></vi:interface></vi:network></vi:inject>\n' "$2" "$3" >"$1"
}
net_spec "$tmp/route-ok.xml" ifupdown 'to="198.51.100.0/24" via="192.0.2.254" metric="2147483648"'
net_spec "$tmp/route-far.xml" ifupdown 'to="198.51.100.0/24" via="192.0.3.254"'
net_spec "$tmp/route-fam.xml" ifupdown 'to="2001:db8:1::/48" via="192.0.2.254"'
net_spec "$tmp/route-netplan.xml" netplan 'to="198.51.100.0/24" via="192.0.2.254" metric="2147483648"'
expect 0 "validate: a route, an MTU and a search domain" vic validate "$tmp/route-ok.xml"
expect 1 "validate: a route whose via is not reachable" vic validate "$tmp/route-far.xml"
grep -q '192.0.3.254 is not reachable from the interface' "$tmp/err"
ok $? "the refusal names the unreachable next hop"
expect 1 "validate: a route of two families" vic validate "$tmp/route-fam.xml"
expect 1 "validate: a metric netplan cannot express" vic validate "$tmp/route-netplan.xml"
expect 1 "inject: a metric netplan cannot express" vic inject --rootfs "$tmp/g5" --spec "$tmp/route-netplan.xml"
grep -q 'netplan cannot express a metric above 2147483647' "$tmp/err"
ok $? "the refusal says netplan cannot express it"
expect 1 "no request option" vic inject --rootfs "$tmp/g5"
expect 1 "two targets" vic inject --rootfs "$tmp/g5" -a "$tmp/x.img" --format raw --hostname a
expect 1 "-a without --format" vic inject -a "$tmp/x.img" --hostname a
grep -q 'needs --format' "$tmp/err"
ok $? "the error tells the user to give --format"
# The host's own root under any name: refused on the opened directory (exit 1),
# as a root directory and as an LXC domain's root, and /etc/hostname untouched;
# the same commands on a guest tree succeed (the positive control).
host_before=$(stat -c '%Y %s' /etc/hostname /etc/hosts 2>&1)
ln -s / "$tmp/link-to-root"
for alias in / /./ // /usr/.. "$tmp/link-to-root"; do
    expect 1 "inject --rootfs $alias (the host's root) is refused" \
        vic inject --rootfs "$alias" --hostname evil --dry-run
    grep -q "is the host's own root directory" "$tmp/err"
    ok $? "the refusal of $alias names it"
    printf "<domain type='lxc'><name>h</name><metadata><vi:inject xmlns:vi='http://virt-inject.org/xmlns/libvirt/domain/1.0'><vi:hostname>evil</vi:hostname></vi:inject></metadata><devices><filesystem type='mount'><source dir='%s'/><target dir='/'/></filesystem></devices></domain>\n" "$alias" >"$tmp/hostroot.xml"
    expect 1 "inject --domain-xml with <source dir='$alias'/> is refused" \
        vic inject --domain-xml "$tmp/hostroot.xml" --dry-run
done
[ "$(stat -c '%Y %s' /etc/hostname /etc/hosts 2>&1)" = "$host_before" ]
ok $? "the host's /etc/hostname and /etc/hosts are untouched"
tree g5root
sed "s|source dir='[^']*'|source dir='$tmp/g5root'|" "$tmp/hostroot.xml" >"$tmp/guestroot.xml"
expect 0 "the same domain XML on a guest tree is injected (positive control)" \
    vic inject --domain-xml "$tmp/guestroot.xml"
[ "$(cat "$tmp/g5root/etc/hostname")" = evil ]
ok $? "the guest tree got the hostname"
expect 2 "a user missing from the guest fails the injection" \
    vic inject --rootfs "$tmp/g5" --hostname ok --ssh-key "nosuchuser:$tmp/k1"
snapshot "$tmp/g5" >"$tmp/r2"
cmp -s "$tmp/r1" "$tmp/r2"
ok $? "refused and failed requests wrote nothing"

# --- read-only images are refused before any appliance starts -------------
truncate -s 8M "$tmp/ro.img"
before=$(sha256sum <"$tmp/ro.img")
chattr +i "$tmp/ro.img"
expect 1 "an immutable image file is refused" vic inject -a "$tmp/ro.img" --format raw --hostname a
grep -q "ro.img cannot be written" "$tmp/err"
ok $? "the error names the image and says it cannot be written"
chattr -i "$tmp/ro.img"
if loop=$(losetup -r -f --show "$tmp/ro.img" 2>/dev/null); then
    expect 1 "a read-only block device is refused" vic inject -a "$loop" --format raw --hostname a
    losetup -d "$loop"
else
    ok 1 "a read-only block device is refused (cannot attach a loop device)"
fi
[ "$(sha256sum <"$tmp/ro.img")" = "$before" ]
ok $? "both read-only images are unchanged"

# --- without the libguestfs helper (Debian: virt-inject-guestfs not
# installed) a disk image fails naming the package; the image is unchanged
truncate -s 8M "$tmp/nohelper.img"
before=$(sha256sum <"$tmp/nohelper.img")
printf '[paths]\nstate_dir = %s/state\nrun_dir = %s/run\n' "$tmp" "$tmp" >"$tmp/conf-nohelper"
expect 2 "a disk image without the libguestfs helper fails" env VIRT_INJECT_GUESTFS_HELPER="$tmp/no-such-helper" \
    "$vi" --config-file "$tmp/conf-nohelper" inject -a "$tmp/nohelper.img" --format raw --hostname a
grep -q "^virt-inject: .*$tmp/no-such-helper, which is not installed: install the package virt-inject-guestfs" "$tmp/err" &&
    [ "$(sha256sum <"$tmp/nohelper.img")" = "$before" ]
ok $? "the error names the package virt-inject-guestfs; the image is unchanged"

# --- --verbose names the stages -----------------------------------------
tree g6
expect 0 "--verbose" vic inject --rootfs "$tmp/g6" --hostname verbose --verbose
grep -q '^virt-inject: \[write\] writing into the guest' "$tmp/err"
ok $? "--verbose announces the write stage"

# --- --verbose says where the configuration overrides libguestfs's
# environment (a stand-in helper: no appliance is started) ---------------
truncate -s 8M "$tmp/env.img"
for tcg in false true; do
    printf '[guestfs]\nforce_tcg = %s\n[paths]\nstate_dir = %s/state\nrun_dir = %s/run\n' \
        "$tcg" "$tmp" "$tmp" >"$tmp/conf-$tcg"
done
envrun () {  # envrun CONFIG-FORCE-TCG OPTION...: stderr in $tmp/err
    tcg=$1; shift
    LIBGUESTFS_BACKEND_SETTINGS=force_tcg VIRT_INJECT_GUESTFS_HELPER=/bin/false \
        "$vi" --config-file "$tmp/conf-$tcg" inject --hostname e "$@" >/dev/null 2>"$tmp/err"
}
envrun false -a "$tmp/env.img" --format raw --verbose
grep -q "^virt-inject: LIBGUESTFS_BACKEND_SETTINGS=force_tcg from the environment is overridden: .*force_tcg = false, from $tmp/conf-false), so the appliance gets no backend settings$" "$tmp/err"
ok $? "--verbose: force_tcg in the environment, false in the configuration: it says so"
envrun false -a "$tmp/env.img" --format raw
! grep -q LIBGUESTFS "$tmp/err"
ok $? "without --verbose: not a word"
envrun true -a "$tmp/env.img" --format raw --verbose
! grep -q LIBGUESTFS "$tmp/err"
ok $? "--verbose: the environment asks for what the configuration gives: nothing said"
tree g7
envrun false --rootfs "$tmp/g7" --verbose
! grep -q LIBGUESTFS "$tmp/err"
ok $? "--verbose with a root directory (no appliance): nothing said"

# --- users created from a spec: exit 0, 1 and 2, and idempotent ----------
tree gu
vi_ns='xmlns:vi="http://virt-inject.org/xmlns/libvirt/domain/1.0"'
userspec () {  # userspec FILE USER-ELEMENT
    printf '<vi:inject %s>%s</vi:inject>\n' "$vi_ns" "$2" >"$1"
}
userspec "$tmp/bob.xml" "<vi:user name=\"bob\" create=\"yes\" groups=\"wheel\" shell=\"/bin/bash\"><vi:ssh-key>$(cat "$tmp/k1")</vi:ssh-key><vi:sudo nopasswd=\"yes\"/></vi:user>"
expect 0 "a user created" vic inject --rootfs "$tmp/gu" --spec "$tmp/bob.xml"
grep -qx 'bob:x:1001:1001::/home/bob:/bin/bash' "$tmp/gu/etc/passwd" &&
    grep -qx 'bob:x:1001:' "$tmp/gu/etc/group" && grep -qx 'wheel:x:10:alice,bob' "$tmp/gu/etc/group"
ok $? "bob in passwd, his own group, and a member of wheel"
[ "$(stat -c '%a %u:%g' "$tmp/gu/home/bob" "$tmp/gu/home/bob/.bashrc" "$tmp/gu/etc/sudoers.d/virt-inject-bob")" = "700 1001:1001
644 1001:1001
440 0:0" ]
ok $? "his home from /etc/skel, his sudoers file 0440"
[ "$(cat "$tmp/gu/etc/sudoers.d/virt-inject-bob")" = 'bob ALL=(ALL:ALL) NOPASSWD: ALL' ]
ok $? "the sudoers file holds exactly the rule"
snapshot "$tmp/gu" >"$tmp/gu.before"
expect 0 "the same request again" vic inject --rootfs "$tmp/gu" --spec "$tmp/bob.xml"
snapshot "$tmp/gu" >"$tmp/gu.after"
cmp -s "$tmp/gu.before" "$tmp/gu.after"
ok $? "the second run changes no byte (bob is not created again)"
expect 0 "--create-user with --ssh-key and --sudo" vic inject --rootfs "$tmp/gu" \
    --create-user dave --ssh-key "dave:$tmp/k1" --sudo dave:nopasswd
cmp -s "$tmp/k1" "$tmp/gu/home/dave/.ssh/authorized_keys" &&
    grep -qx 'dave:x:1002:1002::/home/dave:/bin/sh' "$tmp/gu/etc/passwd" &&
    [ "$(cat "$tmp/gu/etc/sudoers.d/virt-inject-dave")" = 'dave ALL=(ALL:ALL) NOPASSWD: ALL' ]
ok $? "the key of a user the guest did not have, his passwd entry and sudoers file"
expect 1 "--sudo for a name with a '.' is refused" vic inject --rootfs "$tmp/gu" --sudo j.doe
expect 1 "--sudo USER:other is refused" vic inject --rootfs "$tmp/gu" --sudo dave:yes
expect 2 "--ssh-key for a user the guest lacks, without --create-user" vic inject --rootfs "$tmp/gu" \
    --ssh-key "erin:$tmp/k1"
grep -q 'create="yes", or --create-user, makes it' "$tmp/err"
ok $? "and says how to create the user"
snapshot "$tmp/gu" >"$tmp/gu.before"
userspec "$tmp/u1.xml" '<vi:user name="bob2" create="yes" uid="0"/>'
expect 1 "uid 0 for a created user is refused" vic inject --rootfs "$tmp/gu" --spec "$tmp/u1.xml"
expect 1 "and by validate" vic validate "$tmp/u1.xml"
expect 0 "validate accepts the user of the issue's example" vic validate "$tmp/bob.xml"
userspec "$tmp/u1.xml" '<vi:user name="Bob" create="yes"/>'
expect 1 "a name that is no login name is refused" vic inject --rootfs "$tmp/gu" --spec "$tmp/u1.xml"
userspec "$tmp/u2.xml" '<vi:user name="carol" create="yes" uid="1000"/>'
expect 2 "a uid taken by another fails" vic inject --rootfs "$tmp/gu" --spec "$tmp/u2.xml"
grep -q "uid 1000 is taken" "$tmp/err"
ok $? "and says so"
userspec "$tmp/u2.xml" '<vi:user name="bob" uid="1500"/>'
expect 2 "an existing user whose uid differs fails" vic inject --rootfs "$tmp/gu" --spec "$tmp/u2.xml"
grep -q "exists with uid 1001; the request says uid 1500" "$tmp/err"
ok $? "naming the field"
userspec "$tmp/u2.xml" '<vi:user name="carol" create="yes" shell="/bin/zsh"/>'
expect 2 "a shell not in /etc/shells fails" vic inject --rootfs "$tmp/gu" --spec "$tmp/u2.xml"
snapshot "$tmp/gu" >"$tmp/gu.after"
cmp -s "$tmp/gu.before" "$tmp/gu.after"
ok $? "the refused and failed requests wrote nothing"
# --firstboot and --identity-reset: the script armed for systemd, the
# clone's host keys and seed removed, the markers; a second run changes
# nothing; a domain's UUID is what the identity marker keeps.
tree gfb
expect 0 "--firstboot FILE --identity-reset" vic inject --rootfs "$tmp/gfb" \
    --firstboot "$tmp/script" --identity-reset
cmp -s "$tmp/script" "$tmp/gfb/var/lib/virt-inject/firstboot" &&
    [ "$(stat -c %a "$tmp/gfb/var/lib/virt-inject/firstboot")" = 700 ] &&
    [ "$(readlink "$tmp/gfb/etc/systemd/system/multi-user.target.wants/virt-inject-firstboot.service")" = \
      /etc/systemd/system/virt-inject-firstboot.service ] &&
    grep -qx 'ExecStart=/bin/sh /var/lib/virt-inject/firstboot-run' \
        "$tmp/gfb/etc/systemd/system/virt-inject-firstboot.service"
ok $? "--firstboot: the script, its unit and the unit's wants link"
grep -qx '[0-9a-f]\{64\}' "$tmp/gfb/var/lib/virt-inject/firstboot.digest" &&
    [ "$(stat -c %a "$tmp/gfb/var/lib/virt-inject")" = 700 ] &&
    [ "$(stat -c %a "$tmp/gfb/var/lib/virt-inject/firstboot.digest")" = 600 ]
ok $? "--firstboot: the digest marker, 0600 in a 0700 directory"
! ls "$tmp/gfb/etc/ssh" | grep -q ssh_host_ && [ -f "$tmp/gfb/etc/ssh/sshd_config" ] &&
    [ ! -s "$tmp/gfb/etc/machine-id" ] && [ -f "$tmp/gfb/etc/machine-id" ] &&
    [ ! -e "$tmp/gfb/var/lib/systemd/random-seed" ] &&
    [ -L "$tmp/gfb/etc/systemd/system/multi-user.target.wants/virt-inject-hostkeys.service" ] &&
    [ "$(cat "$tmp/gfb/var/lib/virt-inject/identity.uuid")" = standalone ]
ok $? "--identity-reset: host keys and seed removed, machine-id emptied, key unit enabled"
snapshot "$tmp/gfb" >"$tmp/sfb1"
expect 0 "--firstboot --identity-reset again" vic inject --rootfs "$tmp/gfb" \
    --firstboot "$tmp/script" --identity-reset
snapshot "$tmp/gfb" >"$tmp/sfb2"
cmp -s "$tmp/sfb1" "$tmp/sfb2"
ok $? "a second run changes no byte, no mode, no mtime"
tree gfbd
printf "<domain type='lxc'><name>fb</name><uuid>4A2F1C3E-8B7D-4E6F-9A0B-1C2D3E4F5A6B</uuid><metadata><vi:inject xmlns:vi='http://virt-inject.org/xmlns/libvirt/domain/1.0'><vi:identity reset='yes'/></vi:inject></metadata><devices><filesystem type='mount'><source dir='%s'/><target dir='/'/></filesystem></devices></domain>\n" "$tmp/gfbd" >"$tmp/fb.xml"
expect 0 "--domain-xml with <identity reset='yes'/>" vic inject --domain-xml "$tmp/fb.xml"
[ "$(cat "$tmp/gfbd/var/lib/virt-inject/identity.uuid")" = 4a2f1c3e-8b7d-4e6f-9a0b-1c2d3e4f5a6b ]
ok $? "the identity marker keeps the domain's UUID"

# --- a request is desired state: what it drops is taken back -------------
# On a real root tree (the rootfs backend): request A (two keys for alice, a
# created file, a replaced /etc/motd, a created directory with a file), the
# guest then changes one created file, request B keeps one key and one file.
# The tree is then the original plus B alone, byte for byte, mode and owner
# (but the changed file, which stays); the dry-run plan lists each removal;
# --keep-dropped keeps A's items.  A also sets root's password, adds alice
# to group daemon, configures eth0 and eth1 (the guest's own eth0 stanza
# commented out) and arms a first-boot script; B keeps eth1 only: the
# password, the membership, the guest's eth0 stanza come back, the
# first-boot files go.
KA='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E alice@laptop'
KB='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2z5O3bb1k3QGw7+0dH4j3b9bHc2cV3o6DQ0pO2xj5T bob'
KG='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKSXtl9Lrs6mMzyq0jVqgWrd+6B0c0Z8YkPpcA9U3QWD guest'
NS=http://virt-inject.org/xmlns/libvirt/domain/1.0
H6='$6$FqqoikoO6v0uIcnm$3sMy9trbuavMQmPVVGmwLgGS4Y7TnCuX514KjnCX3b3xmdl044EXeQTVASlM/JJGbJoD2nxEVeJNgrMytmxCy.'
ETH0='<vi:interface name="eth0"><vi:address>192.0.2.10/24</vi:address></vi:interface>'
ETH1='<vi:interface name="eth1"><vi:address>198.51.100.7/24</vi:address></vi:interface>'
{
    echo "<vi:inject xmlns:vi=\"$NS\">"
    echo "<vi:user name=\"alice\" groups=\"daemon\"><vi:ssh-key>$KA</vi:ssh-key><vi:ssh-key>$KB</vi:ssh-key></vi:user>"
    echo "<vi:user name=\"root\"><vi:password hash=\"$H6\"/></vi:user>"
    echo '<vi:network renderer="ifupdown">'"$ETH0$ETH1"'</vi:network>'
    echo '<vi:firstboot>#!/bin/sh&#10;true&#10;</vi:firstboot>'
    echo '<vi:directory path="/srv/app" mode="0750"/>'
    echo '<vi:file path="/srv/app/run.sh" mode="0755">#!/bin/sh&#10;</vi:file>'
    echo '<vi:file path="/etc/created.conf">created by A&#10;</vi:file>'
    echo '<vi:file path="/etc/changed.conf">created by A&#10;</vi:file>'
    echo "<vi:file path=\"/etc/motd\">A's motd&#10;</vi:file>"
    echo '<vi:file path="/etc/kept.conf">A and B&#10;</vi:file>'
    echo '</vi:inject>'
} >"$tmp/reqA.xml"
{
    echo "<vi:inject xmlns:vi=\"$NS\">"
    echo "<vi:user name=\"alice\"><vi:ssh-key>$KA</vi:ssh-key></vi:user>"
    echo '<vi:network renderer="ifupdown">'"$ETH1"'</vi:network>'
    echo '<vi:file path="/etc/kept.conf">A and B&#10;</vi:file>'
    echo '</vi:inject>'
} >"$tmp/reqB.xml"
# every path but the record's directory (and the path $2): type, mode,
# owner, then the content of every file
listing () {
    (cd "$1" &&
     find . -path ./var/lib/virt-inject -prune -o ! -path "./${2:-none}" -printf '%p %y %m %U %G\n' | sort &&
     find . -path ./var/lib/virt-inject -prune -o -type f ! -path "./${2:-none}" -exec sha256sum {} + | sort)
}
tree gd
mkdir -p "$tmp/gd/home/alice/.ssh" && printf '%s\n' "$KG" >"$tmp/gd/home/alice/.ssh/authorized_keys" &&
    printf 'the guest motd\n' >"$tmp/gd/etc/motd" && chmod 0640 "$tmp/gd/etc/motd" &&
    chgrp 4 "$tmp/gd/etc/motd" &&
    printf '\nauto eth0\niface eth0 inet dhcp\n' >>"$tmp/gd/etc/network/interfaces"
ok $? "the original tree: the guest's own key, motd (0640 root:4) and eth0 stanza"
rm -rf "$tmp/gdb" "$tmp/gdk" && cp -a "$tmp/gd" "$tmp/gdb" && cp -a "$tmp/gd" "$tmp/gdk"
expect 0 "request A" vic inject --rootfs "$tmp/gd" --spec "$tmp/reqA.xml"
[ "$(grep -c '^ssh-ed25519' "$tmp/gd/home/alice/.ssh/authorized_keys")" = 3 ] && [ -f "$tmp/gd/srv/app/run.sh" ] &&
    grep -q "^root:$H6:" "$tmp/gd/etc/shadow" && grep -qx 'daemon:x:1:alice' "$tmp/gd/etc/group" &&
    ! grep -qx 'iface eth0 inet dhcp' "$tmp/gd/etc/network/interfaces" &&
    [ -f "$tmp/gd/var/lib/virt-inject/firstboot" ] &&
    [ -L "$tmp/gd/etc/systemd/system/multi-user.target.wants/virt-inject-firstboot.service" ]
ok $? "A: three keys (the guest's and two), the directory and its file, root's password, alice in daemon, the guest's eth0 stanza disabled, first boot armed"
printf 'the guest changed it\n' >"$tmp/gd/etc/changed.conf"
expect 0 "request B, dry run" vic inject --rootfs "$tmp/gd" --spec "$tmp/reqB.xml" --dry-run
grep -qxF "remove-line /home/alice/.ssh/authorized_keys: $KB (taken back: dropped from the request)" "$tmp/out" &&
    grep -qx 'remove      /etc/created.conf 0644 0:0 (taken back: dropped from the request)' "$tmp/out" &&
    grep -qx 'remove      /srv/app/run.sh 0755 0:0 (taken back: dropped from the request)' "$tmp/out" &&
    grep -qx 'rmdir       /srv/app 0750 0:0 (taken back: dropped from the request)' "$tmp/out" &&
    grep -qx 'write       /etc/motd 0640 0:4 (taken back: dropped from the request (the original put back))' "$tmp/out" &&
    grep -qx 'skipped     /etc/changed.conf 0644 0:0 (not taken back: changed in the guest since virt-inject wrote it)' "$tmp/out" &&
    grep -qx 'write       /etc/shadow 0640 0:42 (taken back: password of root dropped from the request (the original put back))' "$tmp/out" &&
    grep -qx 'write       /etc/group 0644 0:0 (taken back: alice dropped from group daemon by the request)' "$tmp/out" &&
    grep -qx 'remove      /etc/network/interfaces.d/virt-inject-eth0 0644 0:0 (taken back: dropped from the request)' "$tmp/out" &&
    grep -qx 'remove      /var/lib/virt-inject/firstboot 0700 0:0 (taken back: dropped from the request)' "$tmp/out"
ok $? "the dry-run plan lists every removal, and the changed file that stays"
[ -f "$tmp/gd/etc/created.conf" ] && [ -d "$tmp/gd/srv/app" ]
ok $? "the dry run took nothing back"
expect 0 "request B" vic inject --rootfs "$tmp/gd" --spec "$tmp/reqB.xml"
expect 0 "request B alone, on the original tree" vic inject --rootfs "$tmp/gdb" --spec "$tmp/reqB.xml"
listing "$tmp/gd" etc/changed.conf >"$tmp/gd.list"
listing "$tmp/gdb" etc/changed.conf >"$tmp/gdb.list"
cmp -s "$tmp/gd.list" "$tmp/gdb.list" || diff "$tmp/gd.list" "$tmp/gdb.list" | sed 's/^/# /'
cmp -s "$tmp/gd.list" "$tmp/gdb.list"
ok $? "A then B is the original tree plus B: paths, types, modes, owners, content"
[ "$(cat "$tmp/gd/etc/changed.conf")" = "the guest changed it" ]
ok $? "the file the guest changed in between stays"
grep -qx 'root:\*:19700:0:99999:7:::' "$tmp/gd/etc/shadow" && grep -qx 'daemon:x:1:' "$tmp/gd/etc/group" &&
    grep -qx 'iface eth0 inet dhcp' "$tmp/gd/etc/network/interfaces" &&
    ! grep -qx 'iface eth1 inet dhcp' "$tmp/gd/etc/network/interfaces" &&
    [ ! -e "$tmp/gd/var/lib/virt-inject/firstboot" ] && [ ! -e "$tmp/gd/var/lib/virt-inject/firstboot-run" ] &&
    [ ! -e "$tmp/gd/var/lib/virt-inject/firstboot.digest" ]
ok $? "B: root's own password field, the membership gone, the guest's eth0 stanza back, the first-boot script, runner and marker gone"
[ ! -e "$tmp/gd/var/lib/virt-inject/orig/$(printf %s /etc/motd | sha256sum | cut -d' ' -f1)" ]
ok $? "the kept original of the motd put back is gone with its item"
expect 0 "request B again" vic inject --rootfs "$tmp/gd" --spec "$tmp/reqB.xml"
grep -q ': 0 changes' "$tmp/out"
ok $? "B again changes nothing"
expect 0 "request A (for --keep-dropped)" vic inject --rootfs "$tmp/gdk" --spec "$tmp/reqA.xml"
listing "$tmp/gdk" >"$tmp/gdk.a"
expect 0 "B with --keep-dropped" vic inject --rootfs "$tmp/gdk" --spec "$tmp/reqB.xml" --keep-dropped
listing "$tmp/gdk" >"$tmp/gdk.b"
cmp -s "$tmp/gdk.a" "$tmp/gdk.b" && grep -q '"/etc/created.conf"' "$tmp/gdk/var/lib/virt-inject/record.json"
ok $? "--keep-dropped leaves A's items in the tree and in the record"

# A hostile record takes nothing back, beside a clean record that does: an
# item path with "..", under a symlinked directory (to the guest's /etc and
# to a host directory), an oversize record.
printf 'the guest file\n' >"$tmp/victim"
vsha=$(sha256sum <"$tmp/victim" | cut -d' ' -f1)
mkdir -p "$tmp/outside" && cp "$tmp/victim" "$tmp/outside/victim"
printf '<vi:inject xmlns:vi="%s"><vi:file path="/etc/kept.conf">B&#10;</vi:file></vi:inject>\n' "$NS" >"$tmp/reqH.xml"
for case in control dotdot symlink-etc symlink-host oversize; do
    tree gh
    cp "$tmp/victim" "$tmp/gh/etc/victim"
    item=/srv/link/victim
    case $case in
    dotdot) item=/srv/../etc/victim ;;
    symlink-etc) ln -s /etc "$tmp/gh/srv/link" ;;
    symlink-host) ln -s "$tmp/outside" "$tmp/gh/srv/link" ;;
    esac
    [ -L "$tmp/gh/srv/link" ] || { mkdir "$tmp/gh/srv/link" && cp "$tmp/victim" "$tmp/gh/srv/link/victim"; }
    mkdir -p "$tmp/gh/var/lib/virt-inject" && chmod 700 "$tmp/gh/var/lib/virt-inject"
    printf '{"version": 1, "uuid": null, "digest": null, "items": [{"kind": "file-created", "path": "%s", "mode": "0644", "uid": 0, "gid": 0, "written-sha256": "%s"}]}' \
        "$item" "$vsha" >"$tmp/gh/var/lib/virt-inject/record.json"
    if [ "$case" = oversize ]; then
        head -c 1048576 /dev/zero | tr '\0' ' ' >>"$tmp/gh/var/lib/virt-inject/record.json"
    fi
    expect 0 "hostile record ($case): inject" vic inject --rootfs "$tmp/gh" --spec "$tmp/reqH.xml" -v
    if [ "$case" = control ]; then
        grep -qx 'remove      /srv/link/victim 0644 0:0 (taken back: dropped from the request)' "$tmp/out" &&
            [ ! -e "$tmp/gh/srv/link/victim" ] && cmp -s "$tmp/victim" "$tmp/gh/etc/victim"
        ok $? "clean record: the recorded file is taken back, nothing else"
    else
        ! grep -q '(taken back:' "$tmp/out" && cmp -s "$tmp/victim" "$tmp/gh/etc/victim" &&
            cmp -s "$tmp/victim" "$tmp/outside/victim" &&
            { [ -L "$tmp/gh/srv/link" ] || cmp -s "$tmp/victim" "$tmp/gh/srv/link/victim"; }
        ok $? "hostile record ($case): nothing taken back, nothing outside touched"
    fi
done

echo "1..$n"
exit $failed
