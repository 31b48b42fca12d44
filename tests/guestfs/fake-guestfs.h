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
/* Every SELinux label guestfs_lsetxattr() set on a final path, "PATH LABEL". */
const GPtrArray *fake_guestfs_labels (void);
const char *fake_guestfs_content (const char *path);
/* Every path of the mounted root, sorted, one per line. */
char *fake_guestfs_paths (void);
void fake_guestfs_remove (const char *path);
