#!/bin/sh
# test-cli-docs.sh VIRT-INJECT DATA-DIR: the man pages document the CLI.
#
# For the global help and every command, each --long option printed by
# `--help` must appear (as B<--option>) in virt-inject.pod; every key of
# data/virt-inject.conf must be documented in virt-inject.conf.pod; every
# command is named in the bash completion.  Output is TAP.
set -u

vi=$1
data=$2
pod=$data/virt-inject.pod
n=0
failed=0

ok () {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

for cmd in "" inject metadata stage validate hook; do
    help=$($vi $cmd --help 2>&1)
    ok $? "virt-inject $cmd --help exits 0"
    opts=$(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u)
    [ -n "$opts" ]
    ok $? "virt-inject $cmd --help prints options"
    for o in $opts; do
        grep -q -- "B<$o>" "$pod"
        ok $? "virt-inject.1 documents $cmd $o"
        case $o in --help|--help-all|--version) continue ;; esac
        grep -q -- "$o" "$data/virt-inject.bash-completion"
        ok $? "bash completion offers $cmd $o"
    done
done

for cmd in inject metadata stage validate hook; do
    grep -q "^=item B<$cmd" "$pod"
    ok $? "virt-inject.1 has an entry for the $cmd command"
    grep -q "$cmd" "$data/virt-inject.bash-completion"
    ok $? "bash completion knows $cmd"
done

for key in $(sed -n 's/^#\([a-z_]*\) = .*/\1/p' "$data/virt-inject.conf"); do
    grep -q "^=item B<$key>" "$data/virt-inject.conf.pod"
    ok $? "virt-inject.conf.5 documents $key"
done

for page in virt-inject virt-inject-hook virt-inject.conf virt-inject-xml; do
    for section in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
        grep -q "^=head1 $section" "$data/$page.pod"
        ok $? "$page has $section"
    done
    if command -v podchecker >/dev/null; then
        podchecker "$data/$page.pod" >/dev/null 2>&1
        ok $? "$page.pod passes podchecker"
    fi
done

echo "1..$n"
exit $failed
