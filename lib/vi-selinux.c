/* vi-selinux.c: labels from the guest's file_contexts (see vi-selinux.h). */
#include "vi-selinux.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <selinux/label.h>
#include <selinux/selinux.h>

#include "vi-error.h"

struct _ViLabeler {
    struct selabel_handle *handle;
    char *dir;                  /* the private copy of the guest's files */
};

/* The companions libselinux reads beside file_contexts. */
static const char *const optional_suffixes[] = { ".homedirs", ".local", ".subs", ".subs_dist" };

void
vi_labeler_free (ViLabeler *l)
{
    if (l == NULL)
        return;
    if (l->handle)
        selabel_close (l->handle);
    if (l->dir) {
        g_autofree char *main_copy = g_build_filename (l->dir, "file_contexts", NULL);

        (void) g_unlink (main_copy);
        for (gsize i = 0; i < G_N_ELEMENTS (optional_suffixes); i++) {
            g_autofree char *p = g_strconcat (main_copy, optional_suffixes[i], NULL);
            (void) g_unlink (p);
        }
        (void) g_rmdir (l->dir);
        g_free (l->dir);
    }
    g_free (l);
}

/* Copy the guest file @guest_path into @host_path (0600).  A missing
 * optional file is skipped; a missing required one is an error. */
static gboolean
copy_out (ViVfs *vfs, const char *guest_path, const char *host_path, gsize max,
          gboolean required, GError **error)
{
    g_autoptr(GBytes) content = NULL;
    g_autoptr(GError) e = NULL;
    gsize len;
    const char *data;

    if (!vi_vfs_read_file (vfs, guest_path, max, &content, &e)) {
        if (!required && g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND))
            return TRUE;
        return vi_throw (error, VI_ERROR_GUEST, "the guest's SELinux policy cannot be read: %s",
                         e->message);
    }
    data = g_bytes_get_data (content, &len);
    if (memchr (data, '\0', len) != NULL)
        return vi_throw (error, VI_ERROR_GUEST, "the guest's SELinux policy cannot be read: %s "
                         "is not a text file", guest_path);
    if (!g_file_set_contents_full (host_path, data, len, G_FILE_SET_CONTENTS_NONE, 0600, &e))
        return vi_throw (error, VI_ERROR_FAILED, "%s", e->message);
    return TRUE;
}

ViLabeler *
vi_labeler_new (ViVfs *vfs, const char *policy_type, gsize max, GError **error)
{
    g_autoptr(ViLabeler) l = g_new0 (ViLabeler, 1);
    g_autofree char *guest_dir = NULL;
    g_autofree char *guest_main = NULL;
    g_autofree char *host_main = NULL;
    g_autoptr(GError) e = NULL;
    struct selinux_opt opts[] = {
        { SELABEL_OPT_PATH, NULL },
        { SELABEL_OPT_VALIDATE, NULL },     /* NULL: no validation against the host */
    };

    if (policy_type == NULL || *policy_type == '\0' || strchr (policy_type, '/') != NULL ||
        g_str_equal (policy_type, "..") || g_str_equal (policy_type, ".")) {
        vi_throw (error, VI_ERROR_GUEST, "the guest's /etc/selinux/config names no usable "
                  "SELINUXTYPE");
        return NULL;
    }
    guest_dir = g_strdup_printf ("/etc/selinux/%s/contexts/files", policy_type);
    guest_main = g_build_filename (guest_dir, "file_contexts", NULL);
    l->dir = g_dir_make_tmp ("virt-inject-selinux-XXXXXX", &e);
    if (l->dir == NULL) {
        vi_throw (error, VI_ERROR_FAILED, "%s", e->message);
        return NULL;
    }
    host_main = g_build_filename (l->dir, "file_contexts", NULL);
    if (!copy_out (vfs, guest_main, host_main, max, TRUE, error))
        return NULL;
    for (gsize i = 0; i < G_N_ELEMENTS (optional_suffixes); i++) {
        g_autofree char *gp = g_strconcat (guest_main, optional_suffixes[i], NULL);
        g_autofree char *hp = g_strconcat (host_main, optional_suffixes[i], NULL);

        if (!copy_out (vfs, gp, hp, max, FALSE, error))
            return NULL;
    }
    opts[0].value = host_main;
    l->handle = selabel_open (SELABEL_CTX_FILE, opts, 1);
    if (l->handle == NULL) {
        vi_throw (error, VI_ERROR_GUEST, "the guest's SELinux file_contexts (%s) cannot be "
                  "parsed: %s", guest_main, g_strerror (errno));
        return NULL;
    }
    return g_steal_pointer (&l);
}

char *
vi_labeler_lookup (ViLabeler *l, const char *path, ViFileType type)
{
    char *con = NULL;
    char *ret;
    int mode = type == VI_FILE_TYPE_DIRECTORY ? S_IFDIR : type == VI_FILE_TYPE_SYMLINK ? S_IFLNK
             : S_IFREG;

    if (selabel_lookup (l->handle, &con, path, mode) < 0)
        return NULL;
    ret = g_str_equal (con, "<<none>>") ? NULL : g_strdup (con);
    freecon (con);
    return ret;
}
