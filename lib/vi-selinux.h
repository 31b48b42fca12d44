/* vi-selinux.h: SELinux labels for the paths an injection writes, looked up
 * in the guest's own policy.
 *
 * An SELinux guest whose new files carry no label (or the label of where
 * they were made) denies access to them at boot; the fallback,
 * /.autorelabel, relabels the whole filesystem and reboots once more.
 * Instead the guest's text file_contexts files are read through the VFS
 * (never its compiled file_contexts.bin: a binary format parsed by the
 * host), size-capped, copied into a private directory, and handed to
 * libselinux (selabel_open with that path, no validation against the
 * host's policy, which may not exist).  Each written path then gets what
 * restorecon in the guest would give it.  The lookup runs where the
 * injection runs: in the child, under the deadline.
 */
#pragma once

#include <glib.h>
#include "vi-vfs.h"

G_BEGIN_DECLS

typedef struct _ViLabeler ViLabeler;

/**
 * vi_labeler_new:
 * @policy_type: the guest's SELINUXTYPE (no '/': checked)
 * @max: cap in bytes on each file read from the guest
 *
 * Reads /etc/selinux/@policy_type/contexts/files/file_contexts (required)
 * and, when present, its .homedirs, .local, .subs and .subs_dist
 * companions.
 * Returns: (transfer full): the labeler, or %NULL with VI_ERROR_GUEST saying
 * why the guest's policy cannot be used.
 */
ViLabeler *vi_labeler_new (ViVfs *vfs, const char *policy_type, gsize max, GError **error);

/**
 * vi_labeler_lookup:
 * @path: a guest path
 * @type: what @path is (a directory, a symbolic link, else a regular file)
 * Returns: (transfer full) (nullable): the context, or %NULL when the
 * policy gives the path none ("<<none>>" or no match): leave it alone.
 */
char *vi_labeler_lookup (ViLabeler *labeler, const char *path, ViFileType type);

void vi_labeler_free (ViLabeler *labeler);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViLabeler, vi_labeler_free)

G_END_DECLS
