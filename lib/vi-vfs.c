/* vi-vfs.c: the dispatchers of the VFS contract.
 *
 * Every guest path is checked here (absolute, normalized, no '.'/'..', no
 * control characters) before any backend sees it, and every backend error
 * is made to name the guest path.
 */
#include "vi-vfs.h"

#include <string.h>

#include "vi-check.h"
#include "vi-error.h"

static gboolean
check_path (const char *path, GError **error)
{
    g_autoptr(GError) e = NULL;

    if (!vi_check_guest_path (path, &e))
        return vi_throw (error, VI_ERROR_INVALID, "guest path: %s", e->message);
    return TRUE;
}

gboolean
vi_vfs_read_file (ViVfs *vfs, const char *path, gsize max, GBytes **out, GError **error)
{
    return check_path (path, error) && vfs->ops->read_file (vfs, path, max, out, error);
}

gboolean
vi_vfs_write_file (ViVfs *vfs, const char *path, GBytes *content, guint mode, guint32 uid,
                   guint32 gid, GError **error)
{
    return check_path (path, error) &&
           vfs->ops->write_file (vfs, path, content, mode & 07777, uid, gid, error);
}

gboolean
vi_vfs_mkdir_p (ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid,
                GPtrArray *created, GError **error)
{
    return check_path (path, error) &&
           vfs->ops->mkdir_p (vfs, path, mode & 07777, uid, gid, created, error);
}

gboolean
vi_vfs_chmod (ViVfs *vfs, const char *path, guint mode, GError **error)
{
    return check_path (path, error) && vfs->ops->chmod (vfs, path, mode & 07777, error);
}

gboolean
vi_vfs_chown (ViVfs *vfs, const char *path, guint32 uid, guint32 gid, GError **error)
{
    return check_path (path, error) && vfs->ops->chown (vfs, path, uid, gid, error);
}

gboolean
vi_vfs_stat (ViVfs *vfs, const char *path, ViStat *out, GError **error)
{
    return check_path (path, error) && vfs->ops->stat (vfs, path, out, error);
}

gboolean
vi_vfs_rmdir (ViVfs *vfs, const char *path, GError **error)
{
    return check_path (path, error) && vfs->ops->rmdir (vfs, path, error);
}

gboolean
vi_vfs_symlink (ViVfs *vfs, const char *path, const char *target, guint32 uid, guint32 gid,
                GError **error)
{
    if (!check_path (path, error))
        return FALSE;
    if (*target == '\0' || strchr (target, '\n') != NULL)
        return vi_throw (error, VI_ERROR_INVALID, "%s: invalid symbolic link target", path);
    return vfs->ops->symlink (vfs, path, target, uid, gid, error);
}

gboolean
vi_vfs_unlink (ViVfs *vfs, const char *path, GError **error)
{
    return check_path (path, error) && vfs->ops->unlink (vfs, path, error);
}

gboolean
vi_vfs_list_dir (ViVfs *vfs, const char *path, guint max, GPtrArray **out_names, GError **error)
{
    if (!check_path (path, error))
        return FALSE;
    *out_names = NULL;
    return vfs->ops->list_dir (vfs, path, max, out_names, error);
}

gboolean
vi_vfs_commit (ViVfs *vfs, GError **error)
{
    return vfs->ops->commit (vfs, error);
}

gboolean
vi_vfs_discard (ViVfs *vfs, GError **error)
{
    return vfs->ops->discard (vfs, error);
}

void
vi_vfs_prefetch (ViVfs *vfs, const char *const *paths)
{
    g_autoptr(GPtrArray) valid = NULL;

    if (vfs->ops->prefetch == NULL)
        return;
    valid = g_ptr_array_new ();
    for (guint i = 0; paths[i]; i++)
        if (vi_check_guest_path (paths[i], NULL))
            g_ptr_array_add (valid, (gpointer) paths[i]);
    g_ptr_array_add (valid, NULL);
    vfs->ops->prefetch (vfs, (const char *const *) valid->pdata);
}

gboolean
vi_vfs_can_set_label (ViVfs *vfs)
{
    return vfs->ops->set_label != NULL;
}

gboolean
vi_vfs_set_label (ViVfs *vfs, const char *path, const char *context, GError **error)
{
    if (vfs->ops->set_label == NULL)
        return vi_throw (error, VI_ERROR_UNSUPPORTED, "the %s backend cannot set SELinux labels",
                         vfs->ops->name);
    return check_path (path, error) && vfs->ops->set_label (vfs, path, context, error);
}

void
vi_vfs_free (ViVfs *vfs)
{
    if (vfs != NULL)
        vfs->ops->free (vfs);
}

gboolean
vi_vfs_exists (ViVfs *vfs, const char *path, gboolean *out_exists, GError **error)
{
    ViStat st;
    g_autoptr(GError) e = NULL;

    if (vi_vfs_stat (vfs, path, &st, &e)) {
        *out_exists = TRUE;
        return TRUE;
    }
    if (g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        *out_exists = FALSE;
        return TRUE;
    }
    g_propagate_error (error, g_steal_pointer (&e));
    return FALSE;
}

gboolean
vi_vfs_read_file_opt (ViVfs *vfs, const char *path, gsize max, GBytes **out, GError **error)
{
    g_autoptr(GError) e = NULL;

    if (vi_vfs_read_file (vfs, path, max, out, &e))
        return TRUE;
    if (g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        *out = NULL;
        return TRUE;
    }
    g_propagate_error (error, g_steal_pointer (&e));
    return FALSE;
}

static int
cmp_names (gconstpointer a, gconstpointer b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

gboolean
vi_vfs_list_dir_opt (ViVfs *vfs, const char *path, guint max, GPtrArray **out_names,
                     GError **error)
{
    g_autoptr(GError) e = NULL;

    if (vi_vfs_list_dir (vfs, path, max, out_names, &e)) {
        g_ptr_array_sort (*out_names, cmp_names);
        return TRUE;
    }
    if (g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        *out_names = g_ptr_array_new_with_free_func (g_free);
        return TRUE;
    }
    g_propagate_error (error, g_steal_pointer (&e));
    return FALSE;
}
