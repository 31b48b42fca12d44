/* fake-guestfs.h: controls of the fake libguestfs (see fake-guestfs.c). */
#pragma once

#include <glib.h>

void fake_guestfs_reset (void);
void fake_guestfs_add_fs (const char *device, const char *type);
/* @device NULL: the filesystem mounted at "/". */
void fake_guestfs_add_file (const char *device, const char *path, const char *content, int mode,
                            int nlink);
void fake_guestfs_fail (const char *fn);
const GPtrArray *fake_guestfs_mounts (void);
/* Whether guestfs_feature_available() reports "selinuxrelabel". */
void fake_guestfs_set_relabel (gboolean available);
/* Every guestfs_selinux_relabel() call so far, as "SPECFILE PATH". */
const GPtrArray *fake_guestfs_relabelled (void);
const char *fake_guestfs_content (const char *path);
/* Every path of the mounted root, sorted, one per line. */
char *fake_guestfs_paths (void);
void fake_guestfs_remove (const char *path);
