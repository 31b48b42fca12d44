#!/bin/sh
# Build the Debian packages virt-inject and virt-inject-guestfs from this
# checkout without touching it: the tree (tracked and new files, not the
# ignored build directories) is copied to a temporary directory and built
# there with `dpkg-buildpackage -us -uc -b`; the .deb, .changes and
# .buildinfo files end up in OUTDIR, with a stamp of the sources they came
# from.
#
#   scripts/build-packages.sh OUTDIR              build
#   scripts/build-packages.sh --if-changed OUTDIR build unless OUTDIR holds
#                                                 packages of these very sources
#
# Needs the build dependencies of debian/control (scripts/install-deps.sh).
set -eu

if_changed=false
if [ "${1:-}" = --if-changed ]; then
    if_changed=true
    shift
fi
if [ $# -ne 1 ]; then
    echo "usage: $0 [--if-changed] OUTDIR" >&2
    exit 2
fi
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)

# The files of the source tree, one a line (what the packages are built from).
files () {
    if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$top" ls-files -co --exclude-standard | sort -u |
            while IFS= read -r f; do [ -e "$top/$f" ] && printf '%s\n' "$f"; done
    else
        (cd "$top" && find . -path './build*' -prune -o -path './obj-*' -prune -o \
            -path ./.git -prune -o -type f -print | sed 's|^\./||' | sort)
    fi
}
stamp () { files | (cd "$top" && tr '\n' '\0' | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1; }

now=$(stamp)
if $if_changed && [ "$(cat "$out/source.stamp" 2>/dev/null)" = "$now" ] &&
   ls "$out"/virt-inject_*.deb "$out"/virt-inject-guestfs_*.deb >/dev/null 2>&1; then
    echo "build-packages.sh: $out holds the packages of these sources"
    exit 0
fi

work=$(mktemp -d /var/tmp/vi-debbuild-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/virt-inject"
files | (cd "$top" && tar -cf - -T -) | tar -C "$work/virt-inject" -xf -
(
    cd "$work/virt-inject"
    DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -us -uc -b
)
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo "$out/source.stamp"
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
echo "$now" > "$out/source.stamp"
ls "$out"
