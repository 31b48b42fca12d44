/* vi-vfs-guestfs.c: the VFS contract through the libguestfs API.
 *
 * Every file operation runs in the appliance, whose daemon resolves paths
 * inside the mounted guest (symlinks cannot reach the host: the host
 * kernel never sees the guest filesystem).  Writes are still atomic
 * replacements (temporary file, owner, mode, label, rename) so that a guest
 * reading a half-written file at boot is impossible, and files with several
 * links are not read for editing, as in the rootfs backend.
 *
 * Root finding is much cheaper than guestfs_inspect_os(): we mount each
 * Linux filesystem read-only once and keep those that hold /etc/fstab and an
 * OS release file or /bin; inspection additionally parses package databases,
 * applications and icons, which costs ~20 s under TCG.
 */
#include "vi-vfs-guestfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <guestfs.h>

#include "vi-error.h"
#include "vi-spec.h"

#define SELINUX_XATTR "security.selinux"

typedef struct {
    char *path;
    char *tmp;
} Staged;

typedef struct {
    ViVfs parent;
    guestfs_h *g;
    GPtrArray *staged;
} GuestfsVfs;

static void
staged_free (Staged *s)
{
    g_free (s->path);
    g_free (s->tmp);
    g_free (s);
}

/* The last libguestfs error as a GError naming @path. */
static gboolean
throw_g (GuestfsVfs *self, GError **error, const char *path, const char *what)
{
    const char *msg = guestfs_last_error (self->g);
    int errnum = guestfs_last_errno (self->g);

    return vi_throw (error, errnum == ENOENT ? VI_ERROR_NOT_FOUND : VI_ERROR_FAILED,
                     "%s: %s: %s", path, what, msg ? msg : "libguestfs error");
}

static gboolean
g_read_file (ViVfs *vfs, const char *path, gsize max, GBytes **out, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    struct guestfs_statns *st;
    char *data;
    size_t size = 0;

    for (guint i = self->staged->len; i > 0; i--) {
        Staged *s = self->staged->pdata[i - 1];
        if (g_str_equal (s->path, path)) {
            data = guestfs_read_file (self->g, s->tmp, &size);
            if (data == NULL)
                return throw_g (self, error, path, "reading");
            *out = g_bytes_new_take (data, size);
            return TRUE;
        }
    }
    st = guestfs_lstatns (self->g, path);
    if (st == NULL)
        return throw_g (self, error, path, "stat");
    if ((st->st_mode & S_IFMT) != S_IFREG) {
        guestfs_free_statns (st);
        return vi_throw (error, VI_ERROR_GUEST, "%s: not a regular file (refused)", path);
    }
    if (st->st_nlink > 1) {
        guestfs_free_statns (st);
        return vi_throw (error, VI_ERROR_GUEST, "%s: has several hard links (refused)", path);
    }
    if ((guint64) st->st_size > max) {
        guestfs_free_statns (st);
        return vi_throw (error, VI_ERROR_GUEST, "%s: larger than the %" G_GSIZE_FORMAT
                         "-byte limit for files read from the guest", path, max);
    }
    guestfs_free_statns (st);
    data = guestfs_read_file (self->g, path, &size);
    if (data == NULL)
        return throw_g (self, error, path, "reading");
    *out = g_bytes_new_take (data, size);
    return TRUE;
}

static gboolean
g_write_file (ViVfs *vfs, const char *path, GBytes *content, guint mode, guint32 uid, guint32 gid,
              GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    g_autofree char *dir = g_path_get_dirname (path);
    g_autofree char *base = g_path_get_basename (path);
    g_autofree char *tmp = g_strdup_printf ("%s/.%s.vi-%08x", g_str_equal (dir, "/") ? "" : dir,
                                            base, g_random_int ());
    struct guestfs_statns *st = guestfs_lstatns (self->g, path);
    gsize len;
    const char *data = g_bytes_get_data (content, &len);
    Staged *s;

    if (st != NULL) {
        guint type = st->st_mode & S_IFMT;
        guestfs_free_statns (st);
        if (type != S_IFREG && type != S_IFLNK)
            return vi_throw (error, VI_ERROR_GUEST, "%s: exists and is not a regular file (refused)",
                             path);
    }
    if (guestfs_write (self->g, tmp, data ? data : "", len) < 0) {
        gboolean r = throw_g (self, error, path, "writing the new content");
        guestfs_rm_f (self->g, tmp);    /* a partial upload may have left it */
        return r;
    }
    if (guestfs_lchown (self->g, uid, gid, tmp) < 0 || guestfs_chmod (self->g, mode, tmp) < 0) {
        gboolean r = throw_g (self, error, path, "setting owner and mode");
        guestfs_rm_f (self->g, tmp);
        return r;
    }
    /* Keep the SELinux label of the file replaced. */
    {
        size_t lsize = 0;
        char *label = guestfs_lgetxattr (self->g, path, SELINUX_XATTR, &lsize);
        if (label != NULL) {
            (void) guestfs_lsetxattr (self->g, SELINUX_XATTR, label, lsize, tmp);
            free (label);
        }
    }
    s = g_new0 (Staged, 1);
    s->path = g_strdup (path);
    s->tmp = g_steal_pointer (&tmp);
    g_ptr_array_add (self->staged, s);
    return TRUE;
}

static gboolean
g_mkdir_p (ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid, GPtrArray *created,
           GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    g_auto(GStrv) parts = g_strsplit (path + 1, "/", -1);
    g_autoptr(GString) sofar = g_string_new (NULL);

    for (guint i = 0; parts[i]; i++) {
        int isdir;

        g_string_append_printf (sofar, "/%s", parts[i]);
        isdir = guestfs_is_dir_opts (self->g, sofar->str, GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1);
        if (isdir < 0)
            return throw_g (self, error, sofar->str, "stat");
        if (isdir)
            continue;
        if (guestfs_mkdir_mode (self->g, sofar->str, mode) < 0)
            return throw_g (self, error, sofar->str, "creating the directory");
        if (created)
            g_ptr_array_add (created, g_strdup (sofar->str));
        if (guestfs_lchown (self->g, uid, gid, sofar->str) < 0 ||
            guestfs_chmod (self->g, mode, sofar->str) < 0)
            return throw_g (self, error, sofar->str, "setting owner and mode");
    }
    return TRUE;
}

static gboolean
g_chmod_ (ViVfs *vfs, const char *path, guint mode, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;

    if (guestfs_chmod (self->g, mode, path) < 0)
        return throw_g (self, error, path, "chmod");
    return TRUE;
}

static gboolean
g_chown_ (ViVfs *vfs, const char *path, guint32 uid, guint32 gid, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    struct guestfs_statns *st = guestfs_lstatns (self->g, path);
    guint mode;

    if (st == NULL)
        return throw_g (self, error, path, "stat");
    mode = st->st_mode & 07777;
    guestfs_free_statns (st);
    if (guestfs_lchown (self->g, uid, gid, path) < 0 || guestfs_chmod (self->g, mode, path) < 0)
        return throw_g (self, error, path, "chown");
    return TRUE;
}

static gboolean
g_stat_ (ViVfs *vfs, const char *path, ViStat *out, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    struct guestfs_statns *st = guestfs_lstatns (self->g, path);
    guint type;

    if (st == NULL)
        return throw_g (self, error, path, "stat");
    type = st->st_mode & S_IFMT;
    out->type = type == S_IFREG ? VI_FILE_TYPE_REGULAR : type == S_IFDIR ? VI_FILE_TYPE_DIRECTORY
              : type == S_IFLNK ? VI_FILE_TYPE_SYMLINK : VI_FILE_TYPE_OTHER;
    out->mode = st->st_mode & 07777;
    out->uid = st->st_uid;
    out->gid = st->st_gid;
    out->size = st->st_size;
    out->nlink = st->st_nlink;
    guestfs_free_statns (st);
    return TRUE;
}

/* rmdir(2) in the appliance removes only an empty directory: whatever is
 * found there instead is left alone. */
static gboolean
g_rmdir (ViVfs *vfs, const char *path, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;

    if (guestfs_rmdir (self->g, path) == 0)
        return TRUE;
    switch (guestfs_last_errno (self->g)) {
    case ENOENT:
        return TRUE;
    case ENOTDIR:
        return vi_throw (error, VI_ERROR_GUEST, "%s: no longer a directory (left alone)", path);
    case ENOTEMPTY:
    case EEXIST:
        return vi_throw (error, VI_ERROR_GUEST, "%s: no longer empty (left alone)", path);
    default:
        return throw_g (self, error, path, "removing the directory");
    }
}

/* guestfs_ls runs in the appliance, chrooted in the guest's filesystem:
 * a symlink on the path resolves inside it.  The temporary files of staged
 * writes are left out. */
static gboolean
g_list_dir (ViVfs *vfs, const char *path, guint max, GPtrArray **out_names, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    char **ls;
    gboolean ok = TRUE;

    if (guestfs_is_dir_opts (self->g, path, GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1) <= 0) {
        if (guestfs_exists (self->g, path) > 0)
            return vi_throw (error, VI_ERROR_GUEST, "%s: not a directory", path);
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: no such directory", path);
    }
    ls = guestfs_ls (self->g, path);
    if (ls == NULL)
        return throw_g (self, error, path, "listing the directory");
    for (guint i = 0; ls[i]; i++) {
        g_autofree char *full = g_strdup_printf ("%s/%s", g_str_equal (path, "/") ? "" : path,
                                                 ls[i]);
        gboolean temporary = FALSE;

        for (guint k = 0; k < self->staged->len && !temporary; k++)
            temporary = g_str_equal (((Staged *) self->staged->pdata[k])->tmp, full);
        if (ok && !temporary && names->len >= max)
            ok = vi_throw (error, VI_ERROR_GUEST, "%s: more than %u entries (refused)", path, max);
        if (ok && !temporary)
            g_ptr_array_add (names, g_strdup (ls[i]));
        free (ls[i]);
    }
    free (ls);
    if (!ok)
        return FALSE;
    *out_names = g_steal_pointer (&names);
    return TRUE;
}

static gboolean
g_commit (ViVfs *vfs, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;

    for (guint i = 0; i < self->staged->len; i++) {
        Staged *s = self->staged->pdata[i];
        if (guestfs_rename (self->g, s->tmp, s->path) < 0)
            return throw_g (self, error, s->path, "replacing the file");
    }
    g_ptr_array_set_size (self->staged, 0);
    if (guestfs_sync (self->g) < 0)
        return throw_g (self, error, "/", "sync");
    return TRUE;
}

/* lsetxattr inside the appliance: no setfiles needed (Debian's appliance
 * has none), the label is the guest policy's own (vi-selinux). */
static gboolean
g_set_label (ViVfs *vfs, const char *path, const char *context, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    ViStat st;

    if (!g_stat_ (vfs, path, &st, error))
        return FALSE;
    if (st.type != VI_FILE_TYPE_REGULAR && st.type != VI_FILE_TYPE_DIRECTORY)
        return vi_throw (error, VI_ERROR_GUEST, "%s: not a regular file or directory (refused)",
                         path);
    if (guestfs_lsetxattr (self->g, SELINUX_XATTR, context, (int) strlen (context) + 1, path) < 0)
        return throw_g (self, error, path, "setting the SELinux label");
    return TRUE;
}

static gboolean
g_discard (ViVfs *vfs, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    gboolean ok = TRUE;

    for (guint i = 0; i < self->staged->len; i++) {
        const Staged *s = self->staged->pdata[i];

        if (guestfs_rm_f (self->g, s->tmp) < 0 && ok)
            ok = throw_g (self, error, s->path, "removing the temporary file");
    }
    g_ptr_array_set_size (self->staged, 0);
    return ok;
}

static void
g_free_ (ViVfs *vfs)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;

    if (self->g)
        (void) g_discard (vfs, NULL);
    g_ptr_array_unref (self->staged);
    if (self->g)
        guestfs_close (self->g);
    g_free (self);
}

static const ViVfsOps guestfs_ops = {
    .name = "guestfs", .read_file = g_read_file, .write_file = g_write_file,
    .mkdir_p = g_mkdir_p, .chmod = g_chmod_, .chown = g_chown_, .stat = g_stat_,
    .rmdir = g_rmdir, .list_dir = g_list_dir, .discard = g_discard, .commit = g_commit,
    .set_label = g_set_label, .free = g_free_,
};

/* ---- root finding ------------------------------------------------------ */

static gboolean
is_linux_fs (const char *type)
{
    static const char *const types[] = { "ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", NULL };
    return g_strv_contains (types, type);
}

/* A root holds /etc/fstab and some mark of an OS.  The marks are tested
 * without following symlinks as well: with a separate /usr (not mounted
 * while the candidates are probed) a merged-/usr guest's /bin and
 * /etc/os-release are dangling symlinks into it. */
static gboolean
looks_like_root (guestfs_h *g)
{
    return guestfs_is_file (g, "/etc/fstab") > 0 &&
           (guestfs_is_file_opts (g, "/etc/os-release", GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1) > 0 ||
            guestfs_is_symlink (g, "/etc/os-release") > 0 ||
            guestfs_is_file (g, "/usr/lib/os-release") > 0 ||
            guestfs_is_dir_opts (g, "/bin", GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1) > 0 ||
            guestfs_is_symlink (g, "/bin") > 0);
}

static char *
find_root (GuestfsVfs *self, GError **error)
{
    char **fs = guestfs_list_filesystems (self->g);
    g_autoptr(GPtrArray) roots = g_ptr_array_new_with_free_func (g_free);

    if (fs == NULL) {
        throw_g (self, error, "/", "listing filesystems");
        return NULL;
    }
    for (guint i = 0; fs[i] && fs[i + 1]; i += 2) {
        if (is_linux_fs (fs[i + 1]) && guestfs_mount_ro (self->g, fs[i], "/") == 0) {
            if (looks_like_root (self->g))
                g_ptr_array_add (roots, g_strdup (fs[i]));
            guestfs_umount_all (self->g);
        }
    }
    for (guint i = 0; fs[i]; i++)
        free (fs[i]);
    free (fs);

    if (roots->len == 1)
        return g_strdup (roots->pdata[0]);
    if (roots->len == 0) {
        vi_throw (error, VI_ERROR_TARGET, "no Linux root filesystem found in the image");
        return NULL;
    }
    g_ptr_array_add (roots, NULL);
    {
        g_autofree char *list = g_strjoinv (", ", (char **) roots->pdata);
        vi_throw (error, VI_ERROR_TARGET,
                  "the image has several root filesystems (%s); pick one with "
                  "<vi:target root=\"DEVICE\"/> in the request", list);
    }
    return NULL;
}

/* The appliance's name for a device of the guest's fstab. */
static char *
fstab_device (guestfs_h *g, const char *spec)
{
    if (g_str_has_prefix (spec, "UUID="))
        return guestfs_findfs_uuid (g, spec + 5);
    if (g_str_has_prefix (spec, "LABEL="))
        return guestfs_findfs_label (g, spec + 6);
    if (g_str_has_prefix (spec, "/dev/vd") || g_str_has_prefix (spec, "/dev/hd") ||
        g_str_has_prefix (spec, "/dev/xvd"))
        return g_strdup_printf ("/dev/sd%s", spec + (spec[6] == 'v' && spec[5] == 'x' ? 8 : 7));
    if (g_str_has_prefix (spec, "/dev/"))
        return strdup (spec);
    return NULL;
}

typedef struct {
    char *mountpoint;
    char *spec;
} FstabMount;

static void
fstab_mount_clear (gpointer p)
{
    FstabMount *m = p;
    g_free (m->mountpoint);
    g_free (m->spec);
}

static gint
by_length (gconstpointer a, gconstpointer b)
{
    const FstabMount *x = a, *y = b;
    return (gint) strlen (x->mountpoint) - (gint) strlen (y->mountpoint);
}

static gboolean
mount_root (GuestfsVfs *self, const char *root, GError **error)
{
    char *fstab;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GArray) mounts = g_array_new (FALSE, TRUE, sizeof (FstabMount));
    g_autoptr(GError) e = NULL;

    g_array_set_clear_func (mounts, fstab_mount_clear);
    if (guestfs_mount (self->g, root, "/") < 0)
        return throw_g (self, error, root, "mounting the root filesystem");
    fstab = guestfs_cat (self->g, "/etc/fstab");
    if (fstab == NULL)
        return TRUE;    /* no fstab: just the root */
    lines = g_strsplit (fstab, "\n", -1);
    free (fstab);

    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
        g_autoptr(GPtrArray) w = g_ptr_array_new ();
        FstabMount m;
        const char *mp, *type;

        for (guint k = 0; f[k]; k++)
            if (*f[k])
                g_ptr_array_add (w, f[k]);
        if (w->len < 3 || *(char *) w->pdata[0] == '#')
            continue;
        mp = w->pdata[1];
        type = w->pdata[2];
        if (mp[0] != '/' || g_str_equal (mp, "/") || !is_linux_fs (type))
            continue;
        /* guest data: checked as every guest path is before it reaches
         * guestfs_mount ("/../x", control characters, ...) */
        if (!vi_check_guest_path (mp, &e))
            return vi_throw (error, VI_ERROR_GUEST,
                             "the guest's /etc/fstab names an unusable mount point: %s",
                             e->message);
        m.mountpoint = g_strdup (mp);
        m.spec = g_strdup (w->pdata[0]);
        g_array_append_val (mounts, m);
    }
    /* Shortest first, so /usr is mounted before /usr/local. */
    g_array_sort (mounts, by_length);
    for (guint i = 0; i < mounts->len; i++) {
        const FstabMount *m = &g_array_index (mounts, FstabMount, i);
        char *dev = fstab_device (self->g, m->spec);

        if (dev == NULL || guestfs_mount (self->g, dev, m->mountpoint) < 0) {
            free (dev);
            return vi_throw (error, VI_ERROR_TARGET,
                             "cannot mount %s (%s from the guest's /etc/fstab): %s",
                             m->mountpoint, m->spec,
                             guestfs_last_error (self->g) ? guestfs_last_error (self->g)
                                                          : "device not found");
        }
        free (dev);
    }
    return TRUE;
}

ViVfs *
vi_vfs_guestfs_open (const ViGuestfsOptions *opts, ViGuestfsStageFunc stage, GError **error)
{
    GuestfsVfs *self = g_new0 (GuestfsVfs, 1);
    g_autoptr(ViVfs) vfs = &self->parent;
    g_autofree char *root = NULL;

    self->parent.ops = &guestfs_ops;
    self->staged = g_ptr_array_new_with_free_func ((GDestroyNotify) staged_free);
    self->g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);
    if (self->g == NULL) {
        vi_throw (error, VI_ERROR_FAILED, "cannot create a libguestfs handle");
        return NULL;
    }
    guestfs_set_error_handler (self->g, NULL, NULL);
    /* Never the libvirt backend: from inside a libvirt hook it would call
     * back into libvirtd and deadlock. */
    if (guestfs_set_backend (self->g, "direct") < 0 ||
        guestfs_set_network (self->g, 0) < 0 ||
        (opts->memsize && guestfs_set_memsize (self->g, (int) opts->memsize) < 0) ||
        (opts->smp && guestfs_set_smp (self->g, (int) opts->smp) < 0)) {
        throw_g (self, error, opts->path, "configuring libguestfs");
        return NULL;
    }
    if (opts->force_tcg) {
        char *settings[] = { (char *) "force_tcg", NULL };
        if (guestfs_set_backend_settings (self->g, settings) < 0) {
            throw_g (self, error, opts->path, "configuring libguestfs");
            return NULL;
        }
    }
    /* The overlay's backing may name a qemu secret object (an iSCSI
     * password read from a file): qemu must have it before it opens the
     * drive. */
    if (opts->qemu_object && guestfs_config (self->g, "-object", opts->qemu_object) < 0) {
        throw_g (self, error, opts->path, "configuring libguestfs");
        return NULL;
    }
    if (guestfs_add_drive_opts (self->g, opts->path,
                                GUESTFS_ADD_DRIVE_OPTS_FORMAT, opts->format,
                                GUESTFS_ADD_DRIVE_OPTS_READONLY, opts->readonly ? 1 : 0,
                                -1) < 0) {
        throw_g (self, error, opts->path, "adding the disk");
        return NULL;
    }
    if (stage)
        stage ("launch");
    if (guestfs_launch (self->g) < 0) {
        throw_g (self, error, opts->path, "launching the appliance");
        return NULL;
    }
    if (stage)
        stage ("mount");
    root = opts->root ? g_strdup (opts->root) : find_root (self, error);
    if (root == NULL || !mount_root (self, root, error))
        return NULL;
    return g_steal_pointer (&vfs);
}

gboolean
vi_vfs_guestfs_shutdown (ViVfs *vfs, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;

    if (guestfs_umount_all (self->g) < 0)
        return throw_g (self, error, "/", "unmounting");
    if (guestfs_shutdown (self->g) < 0)
        return throw_g (self, error, "/", "shutting the appliance down (changes may be lost)");
    return TRUE;
}
