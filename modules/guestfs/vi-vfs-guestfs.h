/* vi-vfs-guestfs.h: the VFS contract inside the libguestfs appliance.
 *
 * The guest filesystem is parsed only by the appliance's kernel; the host
 * sees libguestfs API calls.  Only modules/guestfs links libguestfs.
 */
#pragma once

#include <glib.h>
#include "vi-vfs.h"

G_BEGIN_DECLS

typedef struct {
    const char *path;           /* the drive (the overlay) */
    const char *format;         /* always explicit: never probed */
    const char *root;           /* guest root device, or NULL to find it */
    guint memsize;              /* MiB, 0 = libguestfs default */
    guint smp;
    gboolean force_tcg;
    gboolean readonly;
    const char *qemu_object;    /* a qemu -object (the secret of a network disk), or NULL */
} ViGuestfsOptions;

/** A callback told the stage ("launch", "mount"...) as it begins. */
typedef void (*ViGuestfsStageFunc) (const char *stage);

/**
 * vi_vfs_guestfs_open:
 * Creates the handle (backend "direct": the libvirt backend would call back
 * into libvirt from inside a hook), adds the drive with its explicit format,
 * launches the appliance with the network off, finds the guest root (or uses
 * @opts->root) and mounts it.  Each fstab mount point is mounted when a call
 * of the VFS first reaches a path at or under it, its parents first (btrfs
 * entries on their subvol=/subvolid=; no other option of the guest is
 * passed on); one that fails to mount fails that call, and every later one
 * under it, with the mount's error.  A noauto or nofail entry whose device
 * is not in the image, and an entry of a type not mounted here (vfat,
 * tmpfs, nfs...), is skipped; every path at or under a skipped mount point
 * is then refused by every call of the VFS (VI_ERROR_GUEST naming the
 * mount point).
 * Returns: (transfer full): the VFS, or %NULL with @error set.
 */
ViVfs *vi_vfs_guestfs_open (const ViGuestfsOptions *opts, ViGuestfsStageFunc stage, GError **error);

/**
 * vi_vfs_guestfs_shutdown:
 * Unmounts and shuts the appliance down cleanly.  An error here means the
 * guest filesystem may not have been written back: the injection failed.
 */
gboolean vi_vfs_guestfs_shutdown (ViVfs *vfs, GError **error);

G_END_DECLS
