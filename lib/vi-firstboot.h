/* vi-firstboot.h: what runs once in the guest, and a clone's new identity.
 *
 * <firstboot> arms a script that the guest runs once, as root, after the
 * network is up; <identity reset="yes"/> makes a guest cloned from a
 * template make its own machine-id, SSH host keys and random seed.  This
 * module holds the pure parts: which init system the guest boots with,
 * the text of every file written for them (units, runner, hooks), the
 * edit of /etc/rc.local, and the strict parsing of the markers the guest
 * keeps.  The planner (vi-inject.c) reads and writes through the VFS.
 *
 * Markers (under VI_STATE_DIR, 0700 root; files 0600 root) are read from
 * the guest, so they are hostile input: read with a small cap, accepted
 * only in their exact format, and anything else counts as no marker (the
 * step is done again and the marker rewritten).
 */
#pragma once

#include <glib.h>
#include "vi-vfs.h"

G_BEGIN_DECLS

typedef enum {
    VI_INIT_SYSTEMD,
    VI_INIT_OPENRC,
    VI_INIT_SYSVINIT,
    VI_INIT_UNKNOWN,
    VI_INIT_LAST
} ViInitSystem;

/** vi_init_system_to_string: "systemd", "openrc", "sysvinit", "unknown". */
const char *vi_init_system_to_string (ViInitSystem init);

/* The guest's virt-inject state directory (also the home of the guest
 * record of DESIGN.md), and what this module keeps there. */
#define VI_STATE_DIR "/var/lib/virt-inject"
#define VI_FIRSTBOOT_SCRIPT VI_STATE_DIR "/firstboot"          /* the request's script, 0700 */
#define VI_FIRSTBOOT_RUNNER VI_STATE_DIR "/firstboot-run"      /* runs it once, 0700 */
#define VI_FIRSTBOOT_MARKER VI_STATE_DIR "/firstboot.digest"   /* request digest armed */
#define VI_IDENTITY_MARKER VI_STATE_DIR "/identity.uuid"       /* domain the reset was for */
#define VI_FIRSTBOOT_LOG "/var/log/virt-inject-firstboot.log"

/* systemd */
#define VI_UNIT_DIR "/etc/systemd/system"
#define VI_WANTS_DIR VI_UNIT_DIR "/multi-user.target.wants"
#define VI_FIRSTBOOT_UNIT_NAME "virt-inject-firstboot.service"
#define VI_HOSTKEYS_UNIT_NAME "virt-inject-hostkeys.service"
/* OpenRC: the "local" service runs /etc/local.d/ *.start last, after the
 * network; it is enabled in the default runlevel when it is not */
#define VI_FIRSTBOOT_LOCAL_D "/etc/local.d/virt-inject-firstboot.start"
#define VI_OPENRC_LOCAL "/etc/init.d/local"
#define VI_OPENRC_LOCAL_LINK "/etc/runlevels/default/local"
/* sysvinit: /etc/rc.local, run last by Debian's rc.local init script */
#define VI_RC_LOCAL "/etc/rc.local"

/* "standalone": the identity marker of an injection that names no domain
 * (inject --rootfs or -a on an image). */
#define VI_IDENTITY_STANDALONE "standalone"

/**
 * vi_firstboot_detect_init:
 * Decides by what is installed: OpenRC's program (/sbin/openrc,
 * /usr/sbin/openrc), else systemd's (/lib/systemd/systemd or
 * /usr/lib/systemd/systemd) with /sbin/init a link or absent, else a
 * regular /sbin/init (sysvinit), else VI_INIT_UNKNOWN.  Errors reading
 * the guest count as absent.
 */
ViInitSystem vi_firstboot_detect_init (ViVfs *vfs);

/**
 * vi_firstboot_runner:
 * Returns: (transfer full): the POSIX sh program VI_FIRSTBOOT_RUNNER for
 * @init: it removes what starts it (the .wants link, the local.d file;
 * rc.local's line stays and finds no script), then runs the script once
 * with its output appended to VI_FIRSTBOOT_LOG and on its standard output
 * (the console), logs the exit status, and removes the script whether it
 * succeeded or not.  Never retried: the trigger is gone before it runs.
 */
char *vi_firstboot_runner (ViInitSystem init);

/** vi_firstboot_unit: (transfer full): the systemd oneshot unit that starts the runner. */
char *vi_firstboot_unit (void);

/** vi_firstboot_local_d: (transfer full): OpenRC's /etc/local.d file that starts the runner. */
char *vi_firstboot_local_d (void);

/**
 * vi_firstboot_rc_local:
 * @old: (nullable): the guest's /etc/rc.local, or %NULL when it has none
 *
 * Returns: (transfer full): rc.local with the line that starts the runner
 * (once: an rc.local that has it comes back unchanged), placed before a
 * final "exit 0" line, else appended; a new rc.local when @old is %NULL.
 */
char *vi_firstboot_rc_local (const char *old);

/**
 * vi_hostkeys_unit:
 * Returns: (transfer full): the systemd unit that regenerates the SSH host
 * keys (ssh-keygen -A) before ssh.service/sshd.service and their sockets,
 * then removes its own .wants link.
 */
char *vi_hostkeys_unit (void);

/**
 * vi_firstboot_parse_digest:
 * @content: a VI_FIRSTBOOT_MARKER as read from the guest
 * Returns: (transfer full) (nullable): the digest (64 lower-case hex
 * digits followed by one newline, nothing else), or %NULL for anything
 * else.
 */
char *vi_firstboot_parse_digest (GBytes *content);

/**
 * vi_identity_parse_uuid:
 * Returns: (transfer full) (nullable): the domain UUID of a
 * VI_IDENTITY_MARKER (a lower-case canonical UUID or
 * VI_IDENTITY_STANDALONE, then one newline), or %NULL for anything else.
 */
char *vi_identity_parse_uuid (GBytes *content);

/** vi_firstboot_marker_max: the read cap for markers (bytes). */
#define VI_MARKER_READ_MAX 256

/**
 * vi_identity_is_host_key:
 * Whether @name (an entry of /etc/ssh) is an SSH host key or its public
 * half: "ssh_host_" NAME "_key" or "_key.pub".
 */
gboolean vi_identity_is_host_key (const char *name);

/* The random seed files the guests' init systems keep (systemd's,
 * Debian's urandom script, OpenRC's, seedrng's); NULL-terminated. */
extern const char *const vi_identity_seed_files[];

G_END_DECLS
