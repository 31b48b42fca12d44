/* vi-guest.h: facts about the guest, read through a VFS.
 *
 * Everything here reads the *guest's* files (never the host's /etc): users
 * and groups for ownership, the OS for the password hash method, SELinux
 * state, and which network stack the guest really uses.  Files are read with
 * caps; a malformed line is skipped, never trusted.
 */
#pragma once

#include <glib.h>
#include "vi-vfs.h"
#include "vi-spec.h"

G_BEGIN_DECLS

typedef struct {
    char *name;
    guint32 uid;
    guint32 gid;
    char *home;                 /* absolute, validated, without repeated or trailing
                                 * slashes; %NULL when unusable (empty, relative,
                                 * "..", "/" itself, or a uid not in passwd) */
} ViPasswdEntry;

void vi_passwd_entry_free (ViPasswdEntry *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViPasswdEntry, vi_passwd_entry_free)

typedef enum {
    VI_HASH_YESCRYPT,           /* "$y$" */
    VI_HASH_SHA512,             /* "$6$rounds=..." */
    VI_HASH_LAST
} ViHashMethod;

typedef struct {
    char *os_id;                /* os-release ID ("debian", "fedora", "alpine"...), or NULL */
    char *version_id;           /* os-release VERSION_ID, or NULL */
    GStrv id_like;              /* os-release ID_LIKE words (never NULL) */
    ViHashMethod hash_method;   /* best method the guest's libcrypt verifies */
    gboolean selinux_enforcing; /* /etc/selinux/config SELINUX=enforcing (or permissive + policy: relabel too) */
    char *selinux_type;         /* its SELINUXTYPE when selinux_enforcing, else NULL */
    ViNetRenderer net_renderer; /* the stack the guest really uses; AUTO when none is
                                 * found (rendering then says so) */
    gboolean cloud_init;        /* cloud-init is installed (its program or its
                                 * /etc/cloud/cloud.cfg) and would rewrite network
                                 * configuration, hostname and /etc/hosts at boot */
} ViGuestFacts;

void vi_guest_facts_free (ViGuestFacts *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViGuestFacts, vi_guest_facts_free)

/**
 * vi_guest_read_facts:
 * Reads os-release (/etc/os-release, else /usr/lib/os-release), decides the
 * hash method, SELinux state and network renderer.
 * Returns: (transfer full): the facts, or %NULL with @error set.
 */
ViGuestFacts *vi_guest_read_facts (ViVfs *vfs, GError **error);

/**
 * vi_guest_detect_renderer:
 * Decides by what is installed and enabled (systemd enablement links,
 * binaries, init scripts), not by which directories exist.
 * Returns: the stack, or VI_RENDERER_AUTO when none is found.
 */
ViNetRenderer vi_guest_detect_renderer (ViVfs *vfs);

/**
 * vi_guest_lookup_user:
 * @name: a user name or a decimal uid
 * Returns: (transfer full): the guest /etc/passwd entry; VI_ERROR_GUEST when
 * there is no such user (a number that is not in passwd is accepted as is,
 * with gid = uid and no home).
 */
ViPasswdEntry *vi_guest_lookup_user (ViVfs *vfs, const char *name, GError **error);

/**
 * vi_guest_lookup_group:
 * @name: a group name or a decimal gid
 * Returns: %TRUE with *@out_gid set, or VI_ERROR_GUEST when unknown.
 */
gboolean vi_guest_lookup_group (ViVfs *vfs, const char *name, guint32 *out_gid, GError **error);

G_END_DECLS
