#!/bin/sh
# test-ansible.sh: contrib/ansible/site.yml against this host (group
# "hypervisors" = localhost, connection local) and a libvirtd started here:
# it installs the packages built from this checkout (those of
# test-packages.sh, rebuilt if the sources changed), sets the configuration
# and a secret, defines an LXC domain whose <metadata> carries a request and
# starts it.  LXC containers do not start in this sandbox, but libvirt runs
# the prepare hook first: the check is the injected guest tree, and that the
# start did not fail in the hook.  Afterwards the domain is undefined and the
# packages are PURGED from this host: run it on CI machines.  TAP output.
set -u
. "$(dirname "$0")/tap.sh"
SRC=$VIRT_INJECT_SOURCE_ROOT
B=$VIRT_INJECT_BUILD_ROOT
P=$B/packages
DOM=vi-ansible
KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E ci@ansible"

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
for p in ansible-playbook libvirtd dpkg-buildpackage; do
    command -v "$p" >/dev/null || { echo "1..0 # SKIP no $p (scripts/install-deps.sh)"; exit 77; }
done

T=$(mktemp -d /var/tmp/vi-ansible-XXXXXX)
chmod 0755 "$T"
# The package owns the hook directories and dpkg removes them with it when
# they are empty: those that were here before are made again at the end.
had_dirs=$(ls -d /etc/libvirt/hooks/qemu.d /etc/libvirt/hooks/lxc.d 2>/dev/null)
cleanup () {
    virsh -c lxc:/// destroy "$DOM" >/dev/null 2>&1
    virsh -c lxc:/// undefine "$DOM" >/dev/null 2>&1
    rm -f /etc/virt-inject/secrets/ci-root
    rmdir /etc/virt-inject/secrets 2>/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q virt-inject virt-inject-guestfs >/dev/null 2>&1
    rm -rf /var/cache/virt-inject-ansible /var/lib/virt-inject-ansible "$T"
    for d in $had_dirs; do mkdir -p "$d"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM    # meson's timeout: the EXIT trap still cleans up

# --- the packages, the daemon, a guest tree ----------------------------------
"$SRC/scripts/build-packages.sh" --if-changed "$P" > "$T/build.log" 2>&1 || { cat "$T/build.log"; exit 1; }
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for i in $(seq 60); do virsh -c lxc:/// uri >/dev/null 2>&1 && break; sleep 1; done
virsh -c lxc:/// destroy "$DOM" >/dev/null 2>&1; virsh -c lxc:/// undefine "$DOM" >/dev/null 2>&1
"$SRC/tests/make-guest-tree.sh" debian12 "$T/ct" >/dev/null
shadow_before=$(grep '^root:' "$T/ct/etc/shadow")

# The CI inventory: this host, no ssh; already root, and no sudo here.
cat > "$T/inventory" <<EOF
[hypervisors]
localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3 ansible_become=false
EOF
cat > "$T/vars.json" <<EOF
{
  "virt_inject_debs": ["$(ls "$P"/virt-inject_*.deb)", "$(ls "$P"/virt-inject-guestfs_*.deb)"],
  "virt_inject_settings": [
    {"section": "inject", "option": "timeout", "value": "300"},
    {"section": "guestfs", "option": "force_tcg", "value": "true"}
  ],
  "virt_inject_secrets": {"ci-root": "correct horse battery staple"},
  "vi_domain": {"name": "$DOM", "uri": "lxc:///", "root_dir": "$T/ct", "init": "/bin/sh", "memory_mib": 64},
  "vi_request": {
    "policy": "once", "hostname": "ansible-ct",
    "users": [{"name": "root", "ssh_keys": ["$KEY"], "password_secret": "ci-root"}],
    "meta": {"deployed-by": "ansible"}
  },
  "vi_start_may_fail": true
}
EOF
playbook () {
    ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCAL_TEMP=$T/ansible-tmp \
    ANSIBLE_REMOTE_TEMP=$T/ansible-tmp \
        ansible-playbook -v -i "$T/inventory" "$SRC/contrib/ansible/site.yml" -e "@$T/vars.json"
}

# --- the playbook ---------------------------------------------------------------
t_play () { playbook > "$T/play.log" 2>&1; st=$?; grep -E '^(TASK|ok:|changed:|fatal:|failed=|PLAY RECAP)|ignoring|localhost +:' "$T/play.log"
    [ $st -eq 0 ] || { tail -40 "$T/play.log"; return 1; }; }
t_installed () {
    dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' virt-inject virt-inject-guestfs | tee /dev/stderr |
        grep -c '^ii ' | grep -qx 2 &&
    grep -qx 'force_tcg = true' /etc/virt-inject/virt-inject.conf &&
    [ "$(stat -c %a /etc/virt-inject/secrets/ci-root)" = 600 ] &&
    /usr/bin/virt-inject hook status; }
# The running daemon was told (Debian 12: the monolithic libvirtd, no
# systemd here: SIGHUP through its pid file).
t_reloaded () { grep -o "virt-inject: sending SIGHUP to libvirtd (pid [0-9]*)" "$T/play.log" | head -1 |
    grep -q "pid $(cat /run/libvirtd.pid))"; }
t_injected () {
    [ "$(cat "$T/ct/etc/hostname")" = ansible-ct ] &&
    grep -q ci@ansible "$T/ct/root/.ssh/authorized_keys" &&
    grep -q '"deployed-by" *: *"ansible"' "$T/ct/meta.js" &&
    root=$(grep '^root:' "$T/ct/etc/shadow") && [ "$root" != "$shadow_before" ] &&
    echo "$root" | grep -q '^root:\$y\$'; }
t_start_not_hook () { grep -q 'Hook script execution failed' "$T/play.log" && return 1
    grep -q 'A start that failed must not have failed in the hook' "$T/play.log"; }
# The request is part of the domain's XML: what moves with the domain.
t_in_xml () { virsh -c lxc:/// dumpxml "$DOM" > "$T/dom.xml" &&
    grep -q 'http://virt-inject.org/xmlns/libvirt/domain/1.0' "$T/dom.xml" &&
    virt-inject metadata show -c lxc:/// "$DOM" | grep -q '<vi:hostname>ansible-ct</vi:hostname>'; }
# Run twice, the packages and the settings are unchanged.
t_again () { playbook > "$T/play2.log" 2>&1 || { tail -30 "$T/play2.log"; return 1; }
    for task in 'Install them, with their dependencies' 'The same settings on every host'; do
        sed -n "/^TASK \[$task/,/^TASK/p" "$T/play2.log" | grep -q '^changed:' &&
            { echo "changed on the second run: $task"; return 1; }
    done; return 0; }

ok "ansible-playbook contrib/ansible/site.yml on localhost (connection local)" t_play
ok "the packages are installed, the settings and the secret in place, hook status exit 0" t_installed
ok "the running libvirtd was sent SIGHUP so that it calls the new hook" t_reloaded
ok "the started domain's tree got the request: hostname, key, password from the secret, meta" t_injected
ok "the start did not fail in the hook" t_start_not_hook
# what the start said here (LXC containers do not run in this sandbox)
sed -n '/^TASK \[Start it/,/^TASK/p' "$T/play.log" | grep -o '"msg": "[^"]*"' | head -1 | sed 's/^/# start: /'
ok "the request is in the domain's XML (virsh dumpxml, virt-inject metadata show)" t_in_xml
ok "a second run changes neither the packages nor the settings" t_again

# --- and gone again -----------------------------------------------------------
t_purged () { virsh -c lxc:/// undefine "$DOM" >/dev/null 2>&1
    # the secret and its directory are ours to remove (dpkg keeps what it did not install)
    rm -f /etc/virt-inject/secrets/ci-root && rmdir /etc/virt-inject/secrets || return 1
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q virt-inject virt-inject-guestfs > "$T/purge.log" 2>&1 ||
        { cat "$T/purge.log"; return 1; }
    [ ! -e /etc/libvirt/hooks/qemu.d/virt-inject ] && [ ! -e /etc/libvirt/hooks/lxc.d/virt-inject ] &&
    [ ! -e /var/lib/virt-inject ] && [ ! -e /etc/virt-inject ]; }
ok "apt purge on this host: the hook, the state and the configuration are gone" t_purged
tap_done
