#!/bin/sh
# test-libvirt-hook.sh: tests/libvirt-hook.sh, the suites' own libvirt hooks,
# in a scratch hooks directory (no libvirtd): a test hook whose owner is
# gone (a killed run) is removed; one whose owner runs, and a hook that is
# not a test hook (an administrator's), are kept and named.  TAP output.
set -u
. "$(dirname "$0")/tap.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
export TEST_HOOKS_DIR=$T/hooks
. "$(dirname "$0")/libvirt-hook.sh"

setup () {
    rm -rf "$TEST_HOOKS_DIR"; mkdir -p "$TEST_HOOKS_DIR/qemu.d" "$TEST_HOOKS_DIR/lxc.d"
    # a test hook of a shell that has ended (a killed run's)
    sh -c ". '$(dirname "$0")/libvirt-hook.sh'; test_hook_write '$TEST_HOOKS_DIR/qemu.d/dead' 'exit 1'"
    cp "$TEST_HOOKS_DIR/qemu.d/dead" "$TEST_HOOKS_DIR/lxc.d/dead"
    # this shell's own, and an administrator's
    test_hook_write "$TEST_HOOKS_DIR/qemu.d/live" 'exit 0'
    printf '#!/bin/sh\nexit 0\n' > "$TEST_HOOKS_DIR/qemu.d/admin"
}
t_written () { setup
    [ -x "$TEST_HOOKS_DIR/qemu.d/live" ] &&
    [ "$(sed -n 2p "$TEST_HOOKS_DIR/qemu.d/live")" = "$TEST_HOOK_MARK $$ $(test_hook_starttime $$)" ] &&
    [ "$(sed -n 3p "$TEST_HOOKS_DIR/qemu.d/live")" = 'exit 0' ] &&
    sh -n "$TEST_HOOKS_DIR/qemu.d/live"; }
t_reap () { setup
    test_hooks_reap 2>"$T/err"; cat "$T/err"
    [ ! -e "$TEST_HOOKS_DIR/qemu.d/dead" ] && [ ! -e "$TEST_HOOKS_DIR/lxc.d/dead" ] &&
    [ -e "$TEST_HOOKS_DIR/qemu.d/live" ] && [ -e "$TEST_HOOKS_DIR/qemu.d/admin" ] &&
    grep -q "removed a test hook left by a killed run .*qemu.d/dead$" "$T/err" &&
    grep -q "a test hook of a running test (pid $$) is installed: .*qemu.d/live$" "$T/err" &&
    grep -q "another libvirt hook is installed .*qemu.d/admin$" "$T/err"; }
# the owner's pid reused by another process: its start time differs
t_pid_reused () { setup
    sed -i "2s/ [0-9]*\$/ 1/" "$TEST_HOOKS_DIR/qemu.d/live"
    test_hooks_reap 2>/dev/null; [ ! -e "$TEST_HOOKS_DIR/qemu.d/live" ]; }

ok "a test hook names its owner (pid, start time) and runs as written" t_written
ok "reap: a killed run's test hooks go; a running test's and an administrator's stay, named" t_reap
ok "reap: an owner pid now another process's (start time differs) counts as gone" t_pid_reused
tap_done
