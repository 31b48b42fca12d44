/* vi-vfs.h: the VFS contract every backend implements.
 *
 * Paths are guest-absolute and already validated (vi_check_guest_path).  The
 * injection code (vi-guest, vi-inject, vi-net) touches a guest only through
 * these calls, so the same logic runs on a root directory (vi-vfs-rootfs.c,
 * openat2-confined), inside the libguestfs appliance (modules/guestfs), and on
 * the in-memory fake of the tests (tests/fake-vfs.c).
 *
 * Ids are the guest's: a backend with an idmap translates them.
 *
 * Durability is batched: write_file may only stage the new content; all staged
 * files become visible at once in commit() (rootfs: all temp files written,
 * one syncfs, all renames, one syncfs).  A read_file of a path staged in the
 * same batch returns the staged content.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>
#include "vi-idmap.h"

G_BEGIN_DECLS

typedef struct _ViVfs ViVfs;

typedef enum {
    VI_FILE_TYPE_REGULAR,
    VI_FILE_TYPE_DIRECTORY,
    VI_FILE_TYPE_SYMLINK,
    VI_FILE_TYPE_OTHER,         /* fifo, socket, device */
} ViFileType;

typedef struct {
    ViFileType type;
    guint mode;                 /* permission bits (07777) */
    guint32 uid;                /* guest ids */
    guint32 gid;
    guint64 size;
    guint64 nlink;
} ViStat;

typedef struct {
    const char *name;           /* "rootfs", "guestfs", "fake" */

    /* Read a regular file (never through a symlink on the last component),
     * at most @max bytes: larger is VI_ERROR_GUEST naming the path and cap.
     * Not a regular file: VI_ERROR_GUEST.  Missing: VI_ERROR_NOT_FOUND. */
    gboolean (*read_file) (ViVfs *vfs, const char *path, gsize max, GBytes **out, GError **error);

    /* Atomically replace (or create) @path with @content: a complete copy
     * on the same filesystem (rootfs: a temp file in the same directory;
     * guestfs: a staging directory at the mount point, see
     * vi-vfs-guestfs.c), owner then mode set, then rename.  Never writes
     * through an existing inode.  Replacing an existing file keeps its SELinux label.
     * The parent must exist.  A directory or other non-regular at @path is
     * VI_ERROR_GUEST. */
    gboolean (*write_file) (ViVfs *vfs, const char *path, GBytes *content,
                            guint mode, guint32 uid, guint32 gid, GError **error);

    /* mkdir -p: each missing component created with @mode/@uid/@gid, one at a
     * time, each re-opened as a directory without following symlinks (a
     * symlink component is resolved inside the guest root, never outside).
     * Existing directories are left as they are.  Each directory created is
     * appended to @created (guest paths, outermost first; @created may be
     * NULL), also when a later component fails, so that the caller can take
     * back exactly what was made. */
    gboolean (*mkdir_p) (ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid,
                         GPtrArray *created, GError **error);

    gboolean (*chmod) (ViVfs *vfs, const char *path, guint mode, GError **error);
    gboolean (*chown) (ViVfs *vfs, const char *path, guint32 uid, guint32 gid, GError **error);

    /* lstat semantics on the last component. Missing: VI_ERROR_NOT_FOUND. */
    gboolean (*stat) (ViVfs *vfs, const char *path, ViStat *out, GError **error);

    /* Remove an empty directory (one that mkdir_p created), and nothing
     * else: a file or symlink found at @path, or a directory that is no
     * longer empty, is left alone and is VI_ERROR_GUEST.  Missing (the
     * directory or its parent) is not an error; a parent that cannot be
     * resolved is.  Used to undo a failed injection. */
    gboolean (*rmdir) (ViVfs *vfs, const char *path, GError **error);

    /* Create the symbolic link @path pointing at @target (a string the
     * guest resolves at run time; the backend never follows it), owned by
     * @uid/@gid.  Done at once, not staged: the injection makes its links
     * after the commit.  The parent must exist; anything already at @path
     * is VI_ERROR_GUEST.  Used to enable units (a systemd .wants link). */
    gboolean (*symlink) (ViVfs *vfs, const char *path, const char *target, guint32 uid,
                         guint32 gid, GError **error);

    /* Remove the regular file or symbolic link @path (the link itself,
     * never what it points at), at once, not staged.  A directory is
     * VI_ERROR_GUEST and left alone; missing is not an error.  Used to
     * drop a clone's SSH host keys and random seed. */
    gboolean (*unlink) (ViVfs *vfs, const char *path, GError **error);

    /* The names of the entries of directory @path (no "." or ".."), in
     * any order; at most @max, more is VI_ERROR_GUEST.  A symlink on the
     * path is resolved inside the guest root.  Missing: VI_ERROR_NOT_FOUND;
     * not a directory: VI_ERROR_GUEST.  Staged writes are not entries.
     * Used to find the guest's own network configuration. */
    gboolean (*list_dir) (ViVfs *vfs, const char *path, guint max, GPtrArray **out_names,
                          GError **error);

    /* Drop every staged write, removing their temporary files; what was
     * committed stays.  Every one is tried; the first failure is reported.
     * Used to undo a failed injection. */
    gboolean (*discard) (ViVfs *vfs, GError **error);

    /* Make every staged write durable and visible. */
    gboolean (*commit) (ViVfs *vfs, GError **error);

    /* Set the SELinux label (security.selinux) of the regular file,
     * directory or symbolic link (the link itself) @path, never following a
     * symlink; @context is what the
     * guest's policy gives it (vi-selinux).  May be NULL (the backend
     * cannot: the caller falls back to /.autorelabel). */
    gboolean (*set_label) (ViVfs *vfs, const char *path, const char *context, GError **error);

    /* Optional (NULL: nothing to gain).  A hint that the caller is about
     * to stat (or read, or write) @paths: a backend for which every stat
     * is a round trip may lstat them all in a few calls and answer the
     * stats that follow from what it learned.  Never an error: what could
     * not be learned is asked one path at a time later.  Answers stay
     * exact: a backend drops what it learned of a path when it changes
     * that path. */
    void (*prefetch) (ViVfs *vfs, const char *const *paths);

    /* Free the backend; staged writes not committed are discarded. */
    void (*free) (ViVfs *vfs);
} ViVfsOps;

struct _ViVfs {
    const ViVfsOps *ops;
};

/* Dispatchers: check arguments, call the backend, and make sure every error
 * names the guest path.  The injection code calls only these. */
gboolean vi_vfs_read_file (ViVfs *vfs, const char *path, gsize max, GBytes **out, GError **error);
gboolean vi_vfs_write_file (ViVfs *vfs, const char *path, GBytes *content, guint mode,
                            guint32 uid, guint32 gid, GError **error);
gboolean vi_vfs_mkdir_p (ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid,
                         GPtrArray *created, GError **error);
gboolean vi_vfs_chmod (ViVfs *vfs, const char *path, guint mode, GError **error);
gboolean vi_vfs_chown (ViVfs *vfs, const char *path, guint32 uid, guint32 gid, GError **error);
gboolean vi_vfs_stat (ViVfs *vfs, const char *path, ViStat *out, GError **error);
gboolean vi_vfs_rmdir (ViVfs *vfs, const char *path, GError **error);
gboolean vi_vfs_symlink (ViVfs *vfs, const char *path, const char *target, guint32 uid,
                         guint32 gid, GError **error);
gboolean vi_vfs_unlink (ViVfs *vfs, const char *path, GError **error);
gboolean vi_vfs_list_dir (ViVfs *vfs, const char *path, guint max, GPtrArray **out_names,
                          GError **error);
gboolean vi_vfs_commit (ViVfs *vfs, GError **error);
gboolean vi_vfs_discard (ViVfs *vfs, GError **error);
gboolean vi_vfs_can_set_label (ViVfs *vfs);
/* Passes the valid guest paths of @paths (NULL-terminated) to the
 * backend's prefetch, if it has one. */
void vi_vfs_prefetch (ViVfs *vfs, const char *const *paths);
gboolean vi_vfs_set_label (ViVfs *vfs, const char *path, const char *context, GError **error);
void vi_vfs_free (ViVfs *vfs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViVfs, vi_vfs_free)

/**
 * vi_vfs_exists:
 * Returns: %TRUE when @path exists (lstat), %FALSE when it does not; an error
 * other than "not found" is returned through @error with %FALSE.
 */
gboolean vi_vfs_exists (ViVfs *vfs, const char *path, gboolean *out_exists, GError **error);

/**
 * vi_vfs_read_file_opt:
 * Like vi_vfs_read_file() but a missing file gives *@out = %NULL and %TRUE.
 */
gboolean vi_vfs_read_file_opt (ViVfs *vfs, const char *path, gsize max, GBytes **out, GError **error);

/**
 * vi_vfs_list_dir_opt:
 * Like vi_vfs_list_dir() but a missing directory gives an empty array; the
 * names come sorted (strcmp, the order of the guests' own readers).
 */
gboolean vi_vfs_list_dir_opt (ViVfs *vfs, const char *path, guint max, GPtrArray **out_names,
                              GError **error);

/* ---- the root-directory backend (vi-vfs-rootfs.c) ---- */

/**
 * vi_vfs_rootfs_open:
 * @root_dir: host path of the guest's root directory (trusted: it comes from
 *   the domain XML or the command line, never from the guest)
 * @idmap: (nullable) (transfer none): kept by the caller for the VFS's
 *   lifetime, or %NULL for identity
 *
 * Opens @root_dir once (O_PATH|O_DIRECTORY) and resolves everything under it
 * with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV).
 * A kernel without openat2 is VI_ERROR_UNSUPPORTED (no unconfined fallback).
 *
 * Returns: (transfer full): the VFS, or %NULL with @error set.
 */
ViVfs *vi_vfs_rootfs_open (const char *root_dir, const ViIdMap *idmap, GError **error);

G_END_DECLS
