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
 * vi_mount_within:
 * @target: a VI_TARGET_ROOTFS_IMAGE target
 *
 * Moves the calling process into a private mount namespace, mounts @target
 * there, runs @func, then unmounts and detaches.  The calling process's
 * mounts are changed for good: call it only in a child made for the
 * purpose (vi_child_run_func()), never in a CLI or the hook itself.  Needs
 * root.
 * Returns: @func's result, or %FALSE with @error when mounting failed.
 */
gboolean vi_mount_within (const ViTarget *target, ViMountFunc func, gpointer user_data,
                          GError **error);

G_END_DECLS
