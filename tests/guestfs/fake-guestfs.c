/* fake-guestfs.c: a stand-in for libguestfs with the same symbols, for the
 * unit tests of modules/guestfs/vi-vfs-guestfs.c (no appliance).
 *
 * Each fake "filesystem" is a table of paths; the one mounted at "/" is the
 * guest.  fake_guestfs_fail ("guestfs_rename") makes every call of that
 * function fail; fake_guestfs_mounts() lists the mountpoints in mount order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib.h>
#include <guestfs.h>

#include "fake-guestfs.h"

typedef struct {
    int mode;           /* with S_IFMT */
    int nlink;
    GBytes *content;
} Node;

struct guestfs_h {
    int last_errno;
    char *last_error;
};

static GHashTable *filesystems;     /* device -> GHashTable path -> Node */
static GHashTable *fstypes;         /* device -> type */
static GPtrArray *device_order;
static GHashTable *root_fs;         /* the mounted "/" */
static GPtrArray *mounts;
static char *fail_fn;
static GPtrArray *labels;           /* "PATH LABEL" per guestfs_lsetxattr of security.selinux */

static void
node_free (Node *n)
{
    if (n->content)
        g_bytes_unref (n->content);
    g_free (n);
}

void
fake_guestfs_reset (void)
{
    g_clear_pointer (&filesystems, g_hash_table_unref);
    g_clear_pointer (&fstypes, g_hash_table_unref);
    g_clear_pointer (&device_order, g_ptr_array_unref);
    g_clear_pointer (&mounts, g_ptr_array_unref);
    g_clear_pointer (&fail_fn, g_free);
    g_clear_pointer (&labels, g_ptr_array_unref);
    labels = g_ptr_array_new_with_free_func (g_free);
    root_fs = NULL;
    filesystems = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_hash_table_unref);
    fstypes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    device_order = g_ptr_array_new_with_free_func (g_free);
    mounts = g_ptr_array_new_with_free_func (g_free);
}

void
fake_guestfs_add_fs (const char *device, const char *type)
{
    g_hash_table_insert (filesystems, g_strdup (device),
                         g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify) node_free));
    g_hash_table_insert (fstypes, g_strdup (device), g_strdup (type));
    g_ptr_array_add (device_order, g_strdup (device));
}

void
fake_guestfs_add_file (const char *device, const char *path, const char *content, int mode,
                       int nlink)
{
    Node *n = g_new0 (Node, 1);
    GHashTable *fs = device ? g_hash_table_lookup (filesystems, device) : root_fs;

    n->mode = mode;
    n->nlink = nlink;
    n->content = g_bytes_new (content ? content : "", content ? strlen (content) : 0);
    g_hash_table_insert (fs, g_strdup (path), n);
}

void
fake_guestfs_fail (const char *fn)
{
    g_free (fail_fn);
    fail_fn = g_strdup (fn);
}

const GPtrArray *
fake_guestfs_labels (void)
{
    return labels;
}

const GPtrArray *
fake_guestfs_mounts (void)
{
    return mounts;
}

void
fake_guestfs_remove (const char *path)
{
    g_hash_table_remove (root_fs, path);
}

static gint
cmp_paths (gconstpointer a, gconstpointer b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char *
fake_guestfs_paths (void)
{
    g_autoptr(GPtrArray) keys = g_ptr_array_new ();
    GString *s = g_string_new (NULL);
    GHashTableIter it;
    gpointer k;

    if (root_fs) {
        g_hash_table_iter_init (&it, root_fs);
        while (g_hash_table_iter_next (&it, &k, NULL))
            g_ptr_array_add (keys, k);
    }
    g_ptr_array_sort (keys, cmp_paths);
    for (guint i = 0; i < keys->len; i++)
        g_string_append_printf (s, "%s\n", (const char *) keys->pdata[i]);
    return g_string_free (s, FALSE);
}

const char *
fake_guestfs_content (const char *path)
{
    Node *n = root_fs ? g_hash_table_lookup (root_fs, path) : NULL;
    static char buf[4096];

    if (n == NULL || n->content == NULL)
        return NULL;
    g_snprintf (buf, sizeof buf, "%.*s", (int) g_bytes_get_size (n->content),
                (const char *) g_bytes_get_data (n->content, NULL));
    return buf;
}

static int
err (guestfs_h *g, int e, const char *msg)
{
    g->last_errno = e;
    g_free (g->last_error);
    g->last_error = g_strdup (msg);
    return -1;
}

#define FAILS(g, fn) (fail_fn && g_str_equal (fail_fn, fn) ? err (g, EIO, fn " failed (fake)") : 0)

static Node *
lookup (guestfs_h *g, const char *path)
{
    Node *n = root_fs ? g_hash_table_lookup (root_fs, path) : NULL;
    if (n == NULL)
        err (g, ENOENT, "No such file or directory");
    return n;
}

guestfs_h *guestfs_create_flags (unsigned flags, ...) { return g_new0 (guestfs_h, 1); }
void guestfs_set_error_handler (guestfs_h *g, guestfs_error_handler_cb cb, void *opaque) { }
const char *guestfs_last_error (guestfs_h *g) { return g->last_error; }
int guestfs_last_errno (guestfs_h *g) { return g->last_errno; }
int guestfs_set_backend (guestfs_h *g, const char *backend) { return g_str_equal (backend, "direct") ? 0 : err (g, EINVAL, "backend"); }
int guestfs_set_network (guestfs_h *g, int network) { return network ? err (g, EINVAL, "network must stay off") : 0; }
int guestfs_set_memsize (guestfs_h *g, int memsize) { return 0; }
int guestfs_set_smp (guestfs_h *g, int smp) { return 0; }
int guestfs_set_backend_settings (guestfs_h *g, char *const *settings) { return 0; }
int guestfs_config (guestfs_h *g, const char *param, const char *value) { return g_str_equal (param, "-object") ? 0 : err (g, EINVAL, "config"); }
int guestfs_launch (guestfs_h *g) { return FAILS (g, "guestfs_launch"); }
int guestfs_shutdown (guestfs_h *g) { return FAILS (g, "guestfs_shutdown"); }
int guestfs_sync (guestfs_h *g) { return FAILS (g, "guestfs_sync"); }
int guestfs_umount_all (guestfs_h *g) { root_fs = NULL; return 0; }
void guestfs_close (guestfs_h *g) { g_free (g->last_error); g_free (g); }

int
guestfs_add_drive_opts (guestfs_h *g, const char *filename, ...)
{
    va_list ap;
    int key;
    const char *format = NULL;

    va_start (ap, filename);
    while ((key = va_arg (ap, int)) != -1) {
        if (key == GUESTFS_ADD_DRIVE_OPTS_FORMAT)
            format = va_arg (ap, const char *);
        else
            (void) va_arg (ap, int);
    }
    va_end (ap);
    /* the backend must never let libguestfs probe the format */
    return format ? 0 : err (g, EINVAL, "no format given");
}

char **
guestfs_list_filesystems (guestfs_h *g)
{
    char **out = g_new0 (char *, 2 * device_order->len + 1);

    for (guint i = 0; i < device_order->len; i++) {
        out[2 * i] = strdup (device_order->pdata[i]);
        out[2 * i + 1] = strdup (g_hash_table_lookup (fstypes, device_order->pdata[i]));
    }
    return out;
}

static int
do_mount (guestfs_h *g, const char *device, const char *mp)
{
    GHashTable *fs = g_hash_table_lookup (filesystems, device);

    if (fs == NULL)
        return err (g, ENOENT, "no such device");
    if (g_str_equal (mp, "/"))
        root_fs = fs;
    g_ptr_array_add (mounts, g_strdup (mp));
    return 0;
}

int guestfs_mount (guestfs_h *g, const char *device, const char *mp) { return FAILS (g, "guestfs_mount") ?: do_mount (g, device, mp); }
int guestfs_mount_ro (guestfs_h *g, const char *device, const char *mp) { return do_mount (g, device, mp); }
char *guestfs_findfs_uuid (guestfs_h *g, const char *uuid) { err (g, ENOENT, "uuid"); return NULL; }

char *
guestfs_findfs_label (guestfs_h *g, const char *label)
{
    char *dev = g_strdup_printf ("/dev/%s", label);
    if (g_hash_table_contains (filesystems, dev))
        return dev;
    g_free (dev);
    err (g, ENOENT, "label");
    return NULL;
}

struct guestfs_statns *
guestfs_lstatns (guestfs_h *g, const char *path)
{
    Node *n = lookup (g, path);
    struct guestfs_statns *st;

    if (n == NULL)
        return NULL;
    st = calloc (1, sizeof *st);
    st->st_mode = n->mode;
    st->st_nlink = n->nlink;
    st->st_size = n->content ? g_bytes_get_size (n->content) : 0;
    return st;
}

void guestfs_free_statns (struct guestfs_statns *st) { free (st); }

char *
guestfs_read_file (guestfs_h *g, const char *path, size_t *size_r)
{
    Node *n = lookup (g, path);
    gsize len;
    const void *d;
    char *out;

    if (n == NULL)
        return NULL;
    d = g_bytes_get_data (n->content, &len);
    out = malloc (len + 1);
    if (len > 0)            /* an empty file's data may be NULL */
        memcpy (out, d, len);
    *size_r = len;
    return out;
}

char *
guestfs_cat (guestfs_h *g, const char *path)
{
    size_t len;
    char *d = guestfs_read_file (g, path, &len);
    char *s;

    if (d == NULL)
        return NULL;
    s = strndup (d, len);
    free (d);
    return s;
}

int
guestfs_write (guestfs_h *g, const char *path, const char *content, size_t size)
{
    g_autofree char *text = NULL;

    if (fail_fn && g_str_equal (fail_fn, "guestfs_write")) {
        /* as an upload cut short: half the content is there */
        text = g_strndup (content, size / 2);
        fake_guestfs_add_file (NULL, path, text, S_IFREG | 0644, 1);
        return err (g, EIO, "guestfs_write failed (fake)");
    }
    text = g_strndup (content, size);
    fake_guestfs_add_file (NULL, path, text, S_IFREG | 0644, 1);
    return 0;
}

int
guestfs_lchown (guestfs_h *g, int owner, int group, const char *path)
{
    if (FAILS (g, "guestfs_lchown"))
        return -1;
    return lookup (g, path) ? 0 : -1;
}

int
guestfs_chmod (guestfs_h *g, int mode, const char *path)
{
    Node *n = lookup (g, path);
    if (n == NULL)
        return -1;
    n->mode = (n->mode & S_IFMT) | mode;
    return 0;
}

char *guestfs_lgetxattr (guestfs_h *g, const char *path, const char *name, size_t *size_r) { err (g, ENODATA, "no label"); return NULL; }
int
guestfs_lsetxattr (guestfs_h *g, const char *xattr, const char *val, int vallen, const char *path)
{
    if (FAILS (g, "guestfs_lsetxattr") < 0)
        return -1;
    if (g_str_equal (xattr, "security.selinux")) {
        /* the value is NUL-terminated, as setfiles writes it */
        if (vallen < 1 || val[vallen - 1] != '\0')
            return err (g, EINVAL, "label without its NUL");
        g_ptr_array_add (labels, g_strdup_printf ("%s %s", path, val));
    }
    return 0;
}
int guestfs_rm_f (guestfs_h *g, const char *path) { if (root_fs) g_hash_table_remove (root_fs, path); return 0; }

int
guestfs_rmdir (guestfs_h *g, const char *path)
{
    g_autofree char *prefix = g_strconcat (path, "/", NULL);
    Node *n;
    GHashTableIter it;
    gpointer k;

    if (FAILS (g, "guestfs_rmdir"))
        return -1;
    n = lookup (g, path);
    if (n == NULL)
        return -1;
    if (!S_ISDIR (n->mode))
        return err (g, ENOTDIR, "Not a directory");
    g_hash_table_iter_init (&it, root_fs);
    while (g_hash_table_iter_next (&it, &k, NULL))
        if (g_str_has_prefix (k, prefix))
            return err (g, ENOTEMPTY, "Directory not empty");
    g_hash_table_remove (root_fs, path);
    return 0;
}

int
guestfs_rename (guestfs_h *g, const char *from, const char *to)
{
    Node *n;
    gpointer key = NULL, value = NULL;

    if (FAILS (g, "guestfs_rename"))
        return -1;
    if (!g_hash_table_steal_extended (root_fs, from, &key, &value))
        return err (g, ENOENT, "rename");
    n = value;
    g_free (key);
    g_hash_table_insert (root_fs, g_strdup (to), n);
    return 0;
}

static int
is_type (guestfs_h *g, const char *path, int type)
{
    Node *n = root_fs ? g_hash_table_lookup (root_fs, path) : NULL;
    return n != NULL && (n->mode & S_IFMT) == type;
}

int guestfs_is_dir (guestfs_h *g, const char *path) { return is_type (g, path, S_IFDIR); }
int guestfs_is_file (guestfs_h *g, const char *path) { return is_type (g, path, S_IFREG); }
int guestfs_is_dir_opts (guestfs_h *g, const char *path, ...) { return is_type (g, path, S_IFDIR); }
int guestfs_is_file_opts (guestfs_h *g, const char *path, ...) { return is_type (g, path, S_IFREG); }
int guestfs_is_symlink (guestfs_h *g, const char *path) { return is_type (g, path, S_IFLNK); }
int guestfs_exists (guestfs_h *g, const char *path) { return root_fs && g_hash_table_contains (root_fs, path); }

char **
guestfs_ls (guestfs_h *g, const char *dir)
{
    g_autofree char *prefix = g_str_equal (dir, "/") ? g_strdup ("/") : g_strconcat (dir, "/", NULL);
    GPtrArray *out = g_ptr_array_new ();
    GHashTableIter it;
    gpointer k;

    if (FAILS (g, "guestfs_ls")) {
        g_ptr_array_free (out, TRUE);
        return NULL;
    }
    g_hash_table_iter_init (&it, root_fs);
    while (g_hash_table_iter_next (&it, &k, NULL))
        if (g_str_has_prefix (k, prefix) && ((char *) k)[strlen (prefix)] &&
            strchr ((char *) k + strlen (prefix), '/') == NULL)
            g_ptr_array_add (out, strdup ((char *) k + strlen (prefix)));
    g_ptr_array_add (out, NULL);
    return (char **) g_ptr_array_free (out, FALSE);
}

int
guestfs_mkdir_mode (guestfs_h *g, const char *path, int mode)
{
    fake_guestfs_add_file (NULL, path, NULL, S_IFDIR | mode, 2);
    return 0;
}
