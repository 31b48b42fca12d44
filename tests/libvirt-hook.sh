# libvirt-hook.sh: the test suites' own libvirt hooks (sourced by
# test-libvirt.sh and real/test-real.sh).
#
# libvirt runs every program in /etc/libvirt/hooks/qemu.d (lxc.d) for every
# domain, so a test hook left behind by a run that was killed (SIGKILL: no
# EXIT trap) fails the next run's starts with its own configuration.  Each
# hook a suite installs names its owner, the test's shell, by pid and start
# time; test_hooks_reap removes the ones whose owner is gone, and names any
# other hook, whose failures would fail our starts too.

TEST_HOOKS_DIR=${TEST_HOOKS_DIR:-/etc/libvirt/hooks}
TEST_HOOK_MARK='# virt-inject test hook, owner:'

# The start time of process $1 (field 22 of /proc/PID/stat), or nothing.
test_hook_starttime () {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# test_hook_write FILE BODY: a hook program owned by this shell.
test_hook_write () {
    { echo '#!/bin/sh'
      echo "$TEST_HOOK_MARK $$ $(test_hook_starttime $$)"
      printf '%s\n' "$2"; } > "$1"
    chmod 0755 "$1"
}

# Remove our test hooks whose owner is not running; name the others.
test_hooks_reap () {
    for h in "$TEST_HOOKS_DIR"/qemu.d/* "$TEST_HOOKS_DIR"/lxc.d/*; do
        [ -f "$h" ] || continue
        owner=$(sed -n "2s/^$TEST_HOOK_MARK //p" "$h")
        if [ -z "$owner" ]; then
            echo "# another libvirt hook is installed (it runs for the test domains too): $h" >&2
            continue
        fi
        pid=${owner% *}
        if [ "$(test_hook_starttime "$pid")" = "${owner#* }" ]; then
            echo "# a test hook of a running test (pid $pid) is installed: $h" >&2
        else
            echo "# removed a test hook left by a killed run (pid $pid): $h" >&2
            rm -f "$h"
        fi
    done
    if [ -e "$TEST_HOOKS_DIR/qemu" ] || [ -e "$TEST_HOOKS_DIR/lxc" ]; then
        echo "# another libvirt hook is installed: $(ls "$TEST_HOOKS_DIR/qemu" "$TEST_HOOKS_DIR/lxc" 2>/dev/null)" >&2
    fi
}
