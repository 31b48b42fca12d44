/* fake-vfs.h: an in-memory VFS for the injection logic's tests.
 *
 * Every call can be made to fail: fake_vfs_fail_at (vfs, N) makes the Nth
 * mutating call (write_file, chmod, chown, rmdir, discard, commit, and for
 * each directory mkdir_p creates, the mkdir and then the setting of its
 * owner and mode: a failure there leaves the directory made, as in a real
 * backend) fail; fake_vfs_fail_from (vfs, N) makes it and
 * every later one fail; fake_vfs_fail_op (vfs, "rmdir") makes every call of
 * one operation fail (to test a failed undo).
 * Writes are staged until commit, as in the real backends, so a failure
 * before commit leaves the fake's files exactly as they were; a staged
 * write is an entry of its directory (rmdir refuses the directory) until
 * commit or discard, as the temporary file of a real backend is.
 */
#pragma once

#include "vi-vfs.h"

ViVfs *fake_vfs_new (void);
void fake_vfs_add_file (ViVfs *vfs, const char *path, const char *content, guint mode,
                        guint32 uid, guint32 gid);
void fake_vfs_add_dir (ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid);
/** A symlink (its target does not matter: it is never followed, never read). */
void fake_vfs_add_symlink (ViVfs *vfs, const char *path);
/** The committed content of @path, or NULL. */
const char *fake_vfs_get (ViVfs *vfs, const char *path);
/** The SELinux label set_label gave @path, or NULL. */
const char *fake_vfs_get_label (ViVfs *vfs, const char *path);
/** A backend that cannot set labels (set_label NULL). */
void fake_vfs_disable_labels (ViVfs *vfs);
/** The whole tree: every committed file and directory (path, type, mode,
 * owner, content), then every staged write not yet committed or discarded
 * ("staged " before its path). */
char *fake_vfs_state (ViVfs *vfs);
/** Every committed path, sorted. */
GPtrArray *fake_vfs_paths (ViVfs *vfs);
void fake_vfs_fail_at (ViVfs *vfs, guint n);
void fake_vfs_fail_from (ViVfs *vfs, guint n);
void fake_vfs_fail_op (ViVfs *vfs, const char *op);
guint fake_vfs_n_mutations (ViVfs *vfs);
