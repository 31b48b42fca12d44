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
 * namespace, for vi_vfs_rootfs_open()).  It runs in a child process: what it
 * reports goes back through @out_text (may stay %NULL) and @error.
 */
typedef gboolean (*ViMountFunc) (const char *root_dir, gpointer user_data, char **out_text,
                                 GError **error);

/**
 * vi_mount_run:
 * @target: a VI_TARGET_ROOTFS_IMAGE target
 *
 * Mounts @target in a private mount namespace, runs @func there, then
 * unmounts and detaches.  The namespace is entered by the calling process
 * (which must be single-threaded and root) in a forked child so the caller's
 * namespace never changes; @func runs in that child and its GError is
 * passed back to the caller, with @out_text.
 */
gboolean vi_mount_run (const ViTarget *target, ViMountFunc func, gpointer user_data,
                       char **out_text, GError **error);

G_END_DECLS
