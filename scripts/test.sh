#!/bin/sh
# The test command of the README (and of .ci/run): installs what it needs,
# builds, and runs every suite.  Run as root on Debian 12.
#
#   scripts/test.sh                 everything: unit, sanitizers, fuzzers, appliance, libvirt, packages, real
#   scripts/test.sh unit            only the named suites (unit|asan|valgrind|fuzz|appliance|libvirt|packages|real)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

suites=${*:-unit asan valgrind fuzz appliance libvirt packages real}

"$top/scripts/install-deps.sh"

# Nested KVM hangs the appliance on these machines: software emulation.
export LIBGUESTFS_BACKEND=direct
export LIBGUESTFS_BACKEND_SETTINGS=force_tcg

build="$top/build"
if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" >/dev/null
else
    meson setup "$build"
fi
ninja -C "$build"
rm -f "$build"/meson-logs/testlog-*.json "$top"/build-asan/meson-logs/testlog-*.json

results=""
status=0
run_suite () {
    name=$1; shift
    echo "=== suite: $name"
    if "$@"; then
        results="$results $name:ok"
    else
        results="$results $name:FAILED"
        status=1
    fi
}

for s in $suites; do
    case "$s" in
    unit|appliance|libvirt|packages|real)
        run_suite "$s" meson test -C "$build" --suite "$s" --print-errorlogs \
            --num-processes 2 --logbase "testlog-$s"
        ;;
    asan)
        # The unit suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
        asan="$top/build-asan"
        [ -f "$asan/build.ninja" ] || meson setup "$asan" -Db_sanitize=address,undefined \
            -Db_lundef=false -Dlibvirt=disabled
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        export ASAN_OPTIONS=detect_leaks=1
        run_suite asan sh -c "ninja -C '$asan' && meson test -C '$asan' --suite unit --print-errorlogs --num-processes 2 --logbase testlog-asan"
        ;;
    valgrind)
        # memcheck over the unit tests that do not need openat2(2): valgrind
        # 3.19 does not know that syscall, and the rootfs backend (rightly)
        # refuses to work without it; ASan covers those tests.
        run_suite valgrind env G_SLICE=always-malloc meson test -C "$build" --print-errorlogs \
            --logbase testlog-valgrind \
            --wrap='valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite -q' \
            test-spec test-check test-edit test-crypt test-guest test-vfs test-domain test-config \
            test-ledger test-guestfs-fake \
            test-inject-fake test-golden-net test-golden-prior test-net test-firstboot
        ;;
    fuzz)
        run_suite fuzz "$top/tests/fuzz/run-fuzzers.sh" "${FUZZ_SECONDS:-60}"
        ;;
    *)
        echo "scripts/test.sh: unknown suite '$s'" >&2
        exit 2
        ;;
    esac
done

# One closing line over every meson test log of this run.
python3 "$top/scripts/test-summary.py" "$build" "$top/build-asan" $results
exit $status
