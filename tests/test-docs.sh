#!/bin/sh
# test-docs.sh: every long option that `virt-inject COMMAND --help` prints is
# documented in virt-inject(1), and every command is completed by bash.
set -u
. "$(dirname "$0")/tap.sh"
VI=$VIRT_INJECT_BUILD_ROOT/tools/virt-inject
POD=$VIRT_INJECT_SOURCE_ROOT/data/virt-inject.pod
COMP=$VIRT_INJECT_SOURCE_ROOT/data/virt-inject.bash-completion
documented () {  # documented COMMAND
    missing=""
    for opt in $("$VI" "$1" --help-all 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
        case $opt in --help|--help-all) continue ;; esac
        grep -q -- "B<$opt>" "$POD" || missing="$missing $opt"
    done
    [ -z "$missing" ] || { echo "undocumented in virt-inject.pod:$missing"; return 1; }
}
completed () {
    for opt in $("$VI" "$1" --help-all 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
        case $opt in --help|--help-all) continue ;; esac
        grep -q -- "$opt" "$COMP" || { echo "not completed: $opt"; return 1; }
    done
}
for c in inject metadata validate hook; do
    ok "every option of '$c --help' is in virt-inject(1)" documented "$c"
    ok "every option of '$c --help' is completed by bash" completed "$c"
done
ok "the global options are documented" sh -c "grep -q 'B<--config-file>' '$POD' && grep -q 'B<--verbose>' '$POD'"
ok "pod2man accepts the pages" sh -c "for p in '$VIRT_INJECT_SOURCE_ROOT'/data/*.pod; do podchecker \"\$p\" 2>&1 | grep -q 'pod syntax OK' || exit 1; done"
tap_done
