#!/bin/sh
# test-install.sh: what `meson install` puts where (into a DESTDIR).  The
# configuration is the administrator's: created from the sample when
# missing, never replaced, so an upgrade keeps an edited force_tcg.  TAP.
set -u
. "$(dirname "$0")/tap.sh"
SRC=$VIRT_INJECT_SOURCE_ROOT
B=$VIRT_INJECT_BUILD_ROOT
T=$(mktemp -d /tmp/vi-install-XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM    # meson's timeout: the EXIT trap still cleans up

define () { sed -n "s/^#define $1 \"\(.*\)\"$/\1/p" "$B/config.h"; }
D=$T/dest
CONF=$D$(define SYSCONFDIR)/virt-inject/virt-inject.conf
LIBEXEC=$D$(define LIBEXECDIR)
AA=$D$(define APPARMOR_DIR)
install () { meson install -C "$B" --no-rebuild --quiet --destdir "$D" > "$T/install.log" 2>&1 ||
    { cat "$T/install.log"; return 1; }; }
sample () { find "$D" -name virt-inject.conf.sample; }

t_first () { install && [ -f "$CONF" ] && [ "$(stat -c %a "$CONF")" = 644 ] &&
    [ -n "$(sample)" ] && cmp -s "$CONF" "$(sample)" && cmp -s "$CONF" "$SRC/data/virt-inject.conf" &&
    [ -z "$(find "$(dirname "$CONF")" -name 'virt-inject.conf.*')" ]; }
t_kept () { sed -i 's/^#force_tcg = false$/force_tcg = true/' "$CONF" && grep -qx 'force_tcg = true' "$CONF" &&
    cp "$CONF" "$T/edited" && install && cmp -s "$CONF" "$T/edited" &&
    cmp -s "$(sample)" "$SRC/data/virt-inject.conf"; }
t_symlink_kept () { rm "$CONF" && ln -s /nonexistent "$CONF" && install &&
    [ "$(readlink "$CONF")" = /nonexistent ] && rm "$CONF" && install && [ -f "$CONF" ] && [ ! -L "$CONF" ]; }
t_programs () { [ -x "$LIBEXEC/virt-inject-hook" ] && [ -x "$LIBEXEC/virt-inject-hook-worker" ]; }
t_apparmor () { [ -f "$AA/virt-inject" ] && [ -f "$AA/abstractions/virt-inject-hook" ] &&
    [ ! -e "$AA/local/usr.sbin.libvirtd" ] &&
    grep -q "^profile virt-inject-hook-worker $(define LIBEXECDIR)/virt-inject-hook-worker " "$AA/virt-inject"; }

ok "first install: the configuration is created from the sample (0644)" t_first
ok "second install: an edited configuration (force_tcg = true) is kept; the sample is this version's" t_kept
ok "a symlink in the configuration's place is left alone; a removed configuration comes back" t_symlink_kept
ok "the hook program and its worker are in libexecdir" t_programs
ok "the AppArmor profile and libvirtd's rules go to apparmor_dir, local/ untouched" t_apparmor
tap_done
