# tap.sh: a few lines of TAP for the shell test programs (sourced).
tap_n=0
tap_failed=0
ok () {                 # ok DESCRIPTION COMMAND...
    desc=$1; shift
    tap_n=$((tap_n + 1))
    if "$@" >"$TAP_LOG" 2>&1; then
        echo "ok $tap_n - $desc"
    else
        echo "not ok $tap_n - $desc"
        sed 's/^/# /' "$TAP_LOG"
        # and on stderr: meson prints a failed test's stderr, not its TAP
        { echo "not ok $tap_n - $desc"; sed 's/^/# /' "$TAP_LOG"; } >&2
        tap_failed=$((tap_failed + 1))
    fi
}
tap_done () {
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}
TAP_LOG=$(mktemp)
