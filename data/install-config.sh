#!/bin/sh
# install-config.sh SAMPLE CONFIG: `meson install` step (data/meson.build).
#
# SAMPLE and CONFIG are absolute installed paths ($DESTDIR is honoured).
# CONFIG is the
# administrator's file: it is created from SAMPLE when missing and never
# replaced, so an upgrade keeps an edited force_tcg.  The defaults of each
# version are in the sample, installed beside the other data.
set -eu
sample=$1
conf=${DESTDIR:-}$2

if [ -e "$conf" ] || [ -L "$conf" ]; then
    echo "Keeping $conf (this version's defaults: $sample)"
    exit 0
fi
if [ -n "${MESON_INSTALL_DRY_RUN:-}" ]; then
    echo "Would install $sample as $conf"
    exit 0
fi
mkdir -p "$(dirname "$conf")"
tmp=$(mktemp "$conf.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat "${DESTDIR:-}$sample" > "$tmp"
chmod 0644 "$tmp"
# ln refuses to replace a file that appeared meanwhile (mv would not).
ln "$tmp" "$conf"
echo "Installing $conf"
