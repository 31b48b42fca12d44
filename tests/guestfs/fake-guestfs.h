/* fake-guestfs.h: controls of the fake libguestfs (see fake-guestfs.c). */
#pragma once

#include <glib.h>

void fake_guestfs_reset (void);
/* A filesystem: a device ("/dev/sda2"), or a btrfs subvolume of a device
 * added before it, named as libguestfs names mountables
 * ("btrfsvol:/dev/sda2/root"; ids are given from 256 in order). */
void fake_guestfs_add_fs (const char *device, const char *type);
/* The subvolume that mounting the btrfs @device gives (default: the top
 * level, id 5), given by its mountable name. */
void fake_guestfs_set_btrfs_default (const char *device, const char *subvolume);
/* What findfs-uuid and blkid know of @device (either may be NULL). */
void fake_guestfs_set_ids (const char *device, const char *uuid, const char *partuuid);
/* The LABEL blkid reports for @device (findfs_label still answers
 * LABEL=NAME with /dev/NAME only). */
void fake_guestfs_set_label (const char *device, const char *label);
void fake_guestfs_set_type (const char *device, const char *type);
/* How many times @fn ("guestfs_blkid", "guestfs_findfs_label",
 * "guestfs_findfs_uuid", "guestfs_mount_options"...) was called since the
 * last reset. */
guint fake_guestfs_calls (const char *fn);
/* @device can be opened by name but libguestfs does not list it: the
 * appliance kernel's name for a disk that is not the image's. */
void fake_guestfs_set_unlisted (const char *device);
/* @device NULL: resolved through what is mounted (longest mount point). */
void fake_guestfs_add_file (const char *device, const char *path, const char *content, int mode,
                            int nlink);
void fake_guestfs_fail (const char *fn);
/* Every mount point mounted so far, in mount order. */
const GPtrArray *fake_guestfs_mounts (void);
/* Every mount call so far: "FUNCTION 'OPTIONS' MOUNTABLE MOUNTPOINT"
 * (OPTIONS empty for guestfs_mount and guestfs_mount_ro). */
const GPtrArray *fake_guestfs_mount_log (void);
/* Every SELinux label guestfs_lsetxattr() set on a final path, "PATH LABEL". */
const GPtrArray *fake_guestfs_labels (void);
/* Through what is mounted. */
const char *fake_guestfs_content (const char *path);
/* On one filesystem (device or "btrfsvol:" subvolume), mounted or not. */
const char *fake_guestfs_content_on (const char *device, const char *path);
/* Every path of what is mounted, sorted, one per line. */
char *fake_guestfs_paths (void);
/* Every path of one filesystem, mounted or not, sorted, one per line. */
char *fake_guestfs_paths_on (const char *device);
void fake_guestfs_remove (const char *path);
/* A rename from a path that starts with @prefix fails with EXDEV (a
 * target on another filesystem than the staging directory). */
void fake_guestfs_exdev_from (const char *prefix);
/* The owner and mode (with the type) of @path, through what is mounted. */
gboolean fake_guestfs_owner (const char *path, guint32 *uid, guint32 *gid, int *mode);
