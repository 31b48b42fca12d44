/* vi-mount.h: LXC image roots, mounted for the rootfs backend.
 *
 * LXC containers whose root is an image (<filesystem type='file'> with a loop
 * or nbd driver, or type='block') are mounted by libvirt on the host when they
 * start, so mounting them here adds no new exposure.  We do it in a private
 * mount namespace (unshare(CLONE_NEWNS) in a child process, propagation
 * private), nosuid,nodev,noexec: raw files on a loop device; other formats
 * through qemu-nbd when the kernel has nbd, else a qemu-storage-daemon FUSE
 * export of the image, loop-mounted.  Everything is unmounted and detached on
 * every path, errors included.  Never an appliance.
 */
#pragma once

#include <glib.h>
#include "vi-domain.h"

G_BEGIN_DECLS

/**
 * ViMountFunc:
 * Called with the mounted root (a host path valid only inside the private
 * namespace, for vi_vfs_rootfs_open()).
 */
typedef gboolean (*ViMountFunc) (const char *root_dir, gpointer user_data, GError **error);

/**
 * vi_mount_workdir_new:
 * An empty directory (0700, under $TMPDIR) for vi_mount_within(), made by
 * the process that outlives the child, so that it can remove it whatever
 * becomes of the child (vi_mount_workdir_remove()).
 * Returns: (transfer full): its path, or %NULL with @error
 */
char *vi_mount_workdir_new (GError **error);

/**
 * vi_mount_workdir_remove:
 * Removes what vi_mount_within() makes in @work_dir (the mount point, the
 * FUSE export's file), then @work_dir; @work_dir may be %NULL.
 */
void vi_mount_workdir_remove (const char *work_dir);

/**
 * vi_mount_within:
 * @target: a VI_TARGET_ROOTFS_IMAGE target
 * @work_dir: an empty directory of vi_mount_workdir_new()
 *
 * Moves the calling process into a private mount namespace, mounts @target
 * there, runs @func, then unmounts and detaches.  The calling process's
 * mounts are changed for good: call it only in a child made for the
 * purpose (vi_child_run_func()), never in a CLI or the hook itself.  Needs
 * root.
 * Returns: @func's result, or %FALSE with @error when mounting failed.
 */
gboolean vi_mount_within (const ViTarget *target, const char *work_dir, ViMountFunc func,
                          gpointer user_data, GError **error);

G_END_DECLS
