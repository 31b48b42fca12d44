/* fake-guestfs.c: a stand-in for libguestfs with the same symbols, for the
 * unit tests of modules/guestfs/vi-vfs-guestfs.c (no appliance).
 *
 * Each fake filesystem is a table of paths, named by its device, or for a
 * btrfs subvolume by its libguestfs mountable ("btrfsvol:/dev/sda2/home").
 * Mounts form a real table: a path resolves on the filesystem of its
 * longest mount point, a mount point must be a directory of what is
 * mounted already, and a rename across filesystems fails with EXDEV.  So a
 * test can tell which filesystem a write landed on.
 *
 * guestfs_mount_options accepts subvol= and subvolid= and refuses every
 * other option: any option of the guest's fstab that the backend passed
 * on fails the test.  fake_guestfs_fail ("guestfs_rename") makes every call
 * of that function fail; fake_guestfs_mounts() lists the mountpoints in
 * mount order and fake_guestfs_mount_log() every mount call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib.h>
#include <guestfs.h>

#include "fake-guestfs.h"

#define BTRFS_TOP_LEVEL 5

typedef struct {
    int mode;           /* with S_IFMT */
    int nlink;
    guint32 uid;
    guint32 gid;
    GBytes *content;
} Node;

typedef struct {
    char *name;             /* device, or btrfsvol:DEVICE/PATH */
    char *type;
    GHashTable *files;      /* path -> Node; "/" is the filesystem's root */
    char *device;           /* a subvolume's device, NULL for a device */
    char *subpath;          /* a subvolume's path from the top level */
    guint64 id;             /* btrfs: subvolume id (the device: the top level) */
    char *uuid;
    char *partuuid;
    char *label;            /* what blkid and findfs_label say */
    char *default_subvol;   /* btrfs device: the subvolume mounted by default, NULL: itself */
    gboolean unlisted;      /* not in list_devices/list_partitions (the kernel's other disk) */
} Fs;

typedef struct {
    char *mountpoint;
    Fs *fs;
} Mount;

struct guestfs_h {
    int last_errno;
    char *last_error;
};

static GHashTable *filesystems;     /* name -> Fs */
static GPtrArray *fs_order;         /* Fs, in the order added */
static GPtrArray *mounted;          /* Mount, in mount order */
static GPtrArray *mounts;           /* mount points ever mounted, in order */
static GPtrArray *mount_log;
static char *fail_fn;
static GPtrArray *labels;           /* "PATH LABEL" per guestfs_lsetxattr of security.selinux */
static GHashTable *calls;           /* function -> number of calls (guint) */
static char *exdev_from;            /* a rename from under this path fails with EXDEV */

/* Counts a call of @fn (see fake_guestfs_calls). */
static void
count (const char *fn)
{
    g_hash_table_insert (calls, (gpointer) fn,
                         GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (calls, fn)) + 1));
}

static void
node_free (Node *n)
{
    if (n->content)
        g_bytes_unref (n->content);
    g_free (n);
}

static Node *
node_new (int mode, int nlink, const char *content)
{
    Node *n = g_new0 (Node, 1);

    n->mode = mode;
    n->nlink = nlink;
    n->content = g_bytes_new (content ? content : "", content ? strlen (content) : 0);
    return n;
}

static void
fs_free (Fs *fs)
{
    g_free (fs->name);
    g_free (fs->type);
    g_hash_table_unref (fs->files);
    g_free (fs->device);
    g_free (fs->subpath);
    g_free (fs->uuid);
    g_free (fs->partuuid);
    g_free (fs->label);
    g_free (fs->default_subvol);
    g_free (fs);
}

static void
mount_free (Mount *m)
{
    g_free (m->mountpoint);
    g_free (m);
}

void
fake_guestfs_reset (void)
{
    g_clear_pointer (&mounted, g_ptr_array_unref);
    g_clear_pointer (&fs_order, g_ptr_array_unref);
    g_clear_pointer (&filesystems, g_hash_table_unref);
    g_clear_pointer (&mounts, g_ptr_array_unref);
    g_clear_pointer (&mount_log, g_ptr_array_unref);
    g_clear_pointer (&fail_fn, g_free);
    g_clear_pointer (&labels, g_ptr_array_unref);
    g_clear_pointer (&calls, g_hash_table_unref);
    g_clear_pointer (&exdev_from, g_free);
    calls = g_hash_table_new (g_str_hash, g_str_equal);
    labels = g_ptr_array_new_with_free_func (g_free);
    filesystems = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) fs_free);
    fs_order = g_ptr_array_new ();
    mounted = g_ptr_array_new_with_free_func ((GDestroyNotify) mount_free);
    mounts = g_ptr_array_new_with_free_func (g_free);
    mount_log = g_ptr_array_new_with_free_func (g_free);
}

void
fake_guestfs_add_fs (const char *device, const char *type)
{
    Fs *fs = g_new0 (Fs, 1);

    fs->name = g_strdup (device);
    fs->type = g_strdup (type);
    fs->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) node_free);
    g_hash_table_insert (fs->files, g_strdup ("/"), node_new (S_IFDIR | 0755, 2, NULL));
    fs->id = BTRFS_TOP_LEVEL;
    if (g_str_has_prefix (device, "btrfsvol:")) {
        /* btrfsvol:/dev/sda2/PATH: the device is the first two components */
        const char *p = strchr (device + strlen ("btrfsvol:/dev/"), '/');
        guint n = 0;

        g_assert_nonnull (p);
        fs->device = g_strndup (device + strlen ("btrfsvol:"), p - device - strlen ("btrfsvol:"));
        fs->subpath = g_strdup (p + 1);
        g_assert_nonnull (g_hash_table_lookup (filesystems, fs->device));
        for (guint i = 0; i < fs_order->len; i++)
            if (((Fs *) fs_order->pdata[i])->device)
                n++;
        fs->id = 256 + n;
    }
    g_hash_table_insert (filesystems, fs->name, fs);
    g_ptr_array_add (fs_order, fs);
}

/* Sets the string *@field of a filesystem to a copy of @value. */
static void
set_string (char **field, const char *value)
{
    g_free (*field);
    *field = g_strdup (value);
}

static Fs *
fs_of (const char *device)
{
    Fs *fs = g_hash_table_lookup (filesystems, device);

    g_assert_nonnull (fs);
    return fs;
}

void
fake_guestfs_set_btrfs_default (const char *device, const char *subvolume)
{
    set_string (&fs_of (device)->default_subvol, subvolume);
}

void
fake_guestfs_set_ids (const char *device, const char *uuid, const char *partuuid)
{
    set_string (&fs_of (device)->uuid, uuid);
    set_string (&fs_of (device)->partuuid, partuuid);
}

/* What blkid calls @device's type (a RAID member holding a filesystem). */
void
fake_guestfs_set_type (const char *device, const char *type)
{
    set_string (&fs_of (device)->type, type);
}

void
fake_guestfs_set_label (const char *device, const char *label)
{
    set_string (&fs_of (device)->label, label);
}

guint
fake_guestfs_calls (const char *fn)
{
    return GPOINTER_TO_UINT (g_hash_table_lookup (calls, fn));
}

void
fake_guestfs_set_unlisted (const char *device)
{
    Fs *fs = g_hash_table_lookup (filesystems, device);

    g_assert_nonnull (fs);
    fs->unlisted = TRUE;
}

/* The filesystem @path is on and its path there, through what is mounted:
 * the longest mount point that is @path or a parent of it. */
static Fs *
resolve (const char *path, const char **rel)
{
    Mount *best = NULL;
    gsize best_len = 0;

    for (guint i = 0; i < mounted->len; i++) {
        Mount *m = mounted->pdata[i];
        gsize len = strlen (m->mountpoint);

        if (g_str_equal (m->mountpoint, "/"))
            len = 0;
        else if (!(g_str_has_prefix (path, m->mountpoint) && (path[len] == '\0' || path[len] == '/')))
            continue;
        if (best == NULL || len >= best_len) {
            best = m;
            best_len = len;
        }
    }
    if (best == NULL)
        return NULL;
    *rel = path[best_len] ? path + best_len : "/";
    return best->fs;
}

static GHashTable *
files_for (const char *device, const char *path, const char **rel)
{
    Fs *fs;

    if (device == NULL)
        return (fs = resolve (path, rel)) ? fs->files : NULL;
    fs = g_hash_table_lookup (filesystems, device);
    g_assert_nonnull (fs);
    *rel = path;
    return fs->files;
}

void
fake_guestfs_add_file (const char *device, const char *path, const char *content, int mode,
                       int nlink)
{
    const char *rel;
    GHashTable *files = files_for (device, path, &rel);

    g_assert_nonnull (files);
    g_hash_table_insert (files, g_strdup (rel), node_new (mode, nlink, content));
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

const GPtrArray *
fake_guestfs_mount_log (void)
{
    return mount_log;
}

void
fake_guestfs_remove (const char *path)
{
    const char *rel;
    GHashTable *files = files_for (NULL, path, &rel);

    if (files)
        g_hash_table_remove (files, rel);
}

static gint
cmp_paths (gconstpointer a, gconstpointer b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char *
fake_guestfs_paths (void)
{
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
    GString *s = g_string_new (NULL);

    for (guint i = 0; i < mounted->len; i++) {
        const Mount *m = mounted->pdata[i];
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init (&it, m->fs->files);
        while (g_hash_table_iter_next (&it, &k, NULL)) {
            if (g_str_equal (m->mountpoint, "/"))
                g_ptr_array_add (keys, g_strdup (k));
            else
                g_ptr_array_add (keys, g_strconcat (m->mountpoint, g_str_equal (k, "/") ? "" : k,
                                                    NULL));
        }
    }
    g_ptr_array_sort (keys, cmp_paths);
    for (guint i = 0; i < keys->len; i++)
        g_string_append_printf (s, "%s\n", (const char *) keys->pdata[i]);
    return g_string_free (s, FALSE);
}

char *
fake_guestfs_paths_on (const char *device)
{
    Fs *fs = g_hash_table_lookup (filesystems, device);
    g_autoptr(GPtrArray) keys = g_ptr_array_new ();
    GString *s = g_string_new (NULL);
    GHashTableIter it;
    gpointer k;

    g_assert_nonnull (fs);
    g_hash_table_iter_init (&it, fs->files);
    while (g_hash_table_iter_next (&it, &k, NULL))
        g_ptr_array_add (keys, k);
    g_ptr_array_sort (keys, cmp_paths);
    for (guint i = 0; i < keys->len; i++)
        g_string_append_printf (s, "%s\n", (const char *) keys->pdata[i]);
    return g_string_free (s, FALSE);
}

static const char *
content_of (GHashTable *files, const char *rel)
{
    Node *n = files ? g_hash_table_lookup (files, rel) : NULL;
    static char buf[4096];

    if (n == NULL || n->content == NULL || !S_ISREG (n->mode))
        return NULL;
    g_snprintf (buf, sizeof buf, "%.*s", (int) g_bytes_get_size (n->content),
                (const char *) g_bytes_get_data (n->content, NULL));
    return buf;
}

const char *
fake_guestfs_content (const char *path)
{
    const char *rel;
    GHashTable *files = files_for (NULL, path, &rel);

    return content_of (files, rel);
}

const char *
fake_guestfs_content_on (const char *device, const char *path)
{
    const char *rel;
    GHashTable *files = files_for (device, path, &rel);

    return content_of (files, rel);
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
    const char *rel;
    GHashTable *files = files_for (NULL, path, &rel);
    Node *n = files ? g_hash_table_lookup (files, rel) : NULL;

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
int guestfs_set_trace (guestfs_h *g, int trace) { return 0; }
int guestfs_config (guestfs_h *g, const char *param, const char *value) { return g_str_equal (param, "-object") ? 0 : err (g, EINVAL, "config"); }
int guestfs_launch (guestfs_h *g) { return FAILS (g, "guestfs_launch"); }
int guestfs_shutdown (guestfs_h *g) { return FAILS (g, "guestfs_shutdown"); }
int guestfs_sync (guestfs_h *g) { return FAILS (g, "guestfs_sync"); }
int guestfs_umount_all (guestfs_h *g)
{
    if (FAILS (g, "guestfs_umount_all"))
        return -1;
    g_ptr_array_set_size (mounted, 0);
    return 0;
}
int guestfs_set_autosync (guestfs_h *g, int autosync) { return 0; }
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

/* As libguestfs lists them: each btrfs device's subvolumes other than its
 * default, as "btrfsvol:" mountables, then the device. */
char **
guestfs_list_filesystems (guestfs_h *g)
{
    GPtrArray *out = g_ptr_array_new ();

    for (guint i = 0; i < fs_order->len; i++) {
        const Fs *fs = fs_order->pdata[i];

        if (fs->device)
            continue;
        for (guint k = 0; g_str_equal (fs->type, "btrfs") && k < fs_order->len; k++) {
            const Fs *sub = fs_order->pdata[k];

            if (sub->device && g_str_equal (sub->device, fs->name) &&
                g_strcmp0 (fs->default_subvol, sub->name) != 0) {
                g_ptr_array_add (out, strdup (sub->name));
                g_ptr_array_add (out, strdup ("btrfs"));
            }
        }
        g_ptr_array_add (out, strdup (fs->name));
        g_ptr_array_add (out, strdup (fs->type));
    }
    g_ptr_array_add (out, NULL);
    return (char **) g_ptr_array_free (out, FALSE);
}

static Fs *
subvolume (const char *device, const char *path, guint64 id)
{
    for (guint i = 0; i < fs_order->len; i++) {
        Fs *fs = fs_order->pdata[i];

        if (fs->device && g_str_equal (fs->device, device) &&
            (path ? g_str_equal (fs->subpath, path) : fs->id == id))
            return fs;
    }
    return NULL;
}

static int
do_mount (guestfs_h *g, const char *fn, const char *options, const char *mountable, const char *mp)
{
    Fs *base = g_hash_table_lookup (filesystems, mountable);
    Fs *fs = base, *chosen = NULL;
    g_auto(GStrv) opts = g_strsplit (options, ",", -1);

    count (fn);
    if (fail_fn && g_str_equal (fail_fn, fn))
        return err (g, EIO, "mount failed (fake)");
    if (base == NULL)
        return err (g, ENOENT, "mount: No such file or directory");
    for (guint i = 0; opts[i]; i++) {
        const char *o = opts[i];
        Fs *vol;

        if (*o == '\0')
            continue;
        if (!g_str_equal (base->type, "btrfs") || base->device)
            return err (g, EINVAL, "fake: a subvolume option for a device that is not a btrfs device");
        if (g_str_has_prefix (o, "subvol=")) {
            const char *p = o + strlen ("subvol=");

            while (*p == '/')
                p++;
            vol = *p ? subvolume (mountable, p, 0) : base;
        } else if (g_str_has_prefix (o, "subvolid=")) {
            guint64 id = g_ascii_strtoull (o + strlen ("subvolid="), NULL, 10);

            vol = id == BTRFS_TOP_LEVEL ? base : subvolume (mountable, NULL, id);
        } else {
            /* the guest's other options are never passed on */
            return err (g, EINVAL, "fake: unexpected mount option");
        }
        /* as mount(8) says it; libguestfs sets no errno */
        if (vol == NULL || (chosen && vol != chosen))
            return err (g, 0, "mount: /sysroot: mount(2) system call failed: No such file or directory");
        chosen = vol;
    }
    if (chosen)
        fs = chosen;
    else if (base->default_subvol)
        fs = g_hash_table_lookup (filesystems, base->default_subvol);
    if (!g_str_equal (mp, "/")) {
        const char *rel;
        GHashTable *files = files_for (NULL, mp, &rel);
        Node *n = files ? g_hash_table_lookup (files, rel) : NULL;

        if (n == NULL || !S_ISDIR (n->mode))
            return err (g, 0, "mount: mount point does not exist");
    }
    {
        Mount *m = g_new0 (Mount, 1);

        m->mountpoint = g_strdup (mp);
        m->fs = fs;
        g_ptr_array_add (mounted, m);
    }
    g_ptr_array_add (mounts, g_strdup (mp));
    g_ptr_array_add (mount_log, g_strdup_printf ("%s '%s' %s %s", fn, options, mountable, mp));
    return 0;
}

int guestfs_mount (guestfs_h *g, const char *device, const char *mp) { return do_mount (g, "guestfs_mount", "", device, mp); }
int guestfs_mount_ro (guestfs_h *g, const char *device, const char *mp) { return do_mount (g, "guestfs_mount_ro", "", device, mp); }
int guestfs_mount_options (guestfs_h *g, const char *options, const char *device, const char *mp) { return do_mount (g, "guestfs_mount_options", options, device, mp); }

char *
guestfs_vfs_type (guestfs_h *g, const char *mountable)
{
    Fs *fs = g_hash_table_lookup (filesystems, mountable);

    count ("guestfs_vfs_type");
    if (fs == NULL) {
        err (g, ENOENT, "vfs_type: No such file or directory");
        return NULL;
    }
    return strdup (fs->type);
}

char *
guestfs_findfs_uuid (guestfs_h *g, const char *uuid)
{
    count ("guestfs_findfs_uuid");
    for (guint i = 0; i < fs_order->len; i++) {
        const Fs *fs = fs_order->pdata[i];

        if (fs->uuid && g_ascii_strcasecmp (fs->uuid, uuid) == 0)
            return strdup (fs->name);
    }
    err (g, 0, "findfs: unable to resolve");
    return NULL;
}

char *
guestfs_findfs_label (guestfs_h *g, const char *label)
{
    char *dev;

    count ("guestfs_findfs_label");
    for (guint i = 0; i < fs_order->len; i++) {
        const Fs *fs = fs_order->pdata[i];

        if (fs->label && g_str_equal (fs->label, label))
            return strdup (fs->name);
    }
    /* a filesystem without a label set answers to its device's name */
    dev = g_strdup_printf ("/dev/%s", label);
    if (g_hash_table_contains (filesystems, dev))
        return dev;
    g_free (dev);
    err (g, 0, "findfs: unable to resolve");
    return NULL;
}

/* The fake has no disks apart from their filesystems: both lists are the
 * devices with a filesystem, less those made unlisted. */
char **
guestfs_list_partitions (guestfs_h *g)
{
    GPtrArray *out = g_ptr_array_new ();

    for (guint i = 0; i < fs_order->len; i++) {
        const Fs *fs = fs_order->pdata[i];

        if (fs->device == NULL && !fs->unlisted)
            g_ptr_array_add (out, strdup (fs->name));
    }
    g_ptr_array_add (out, NULL);
    return (char **) g_ptr_array_free (out, FALSE);
}

char **guestfs_list_devices (guestfs_h *g) { return guestfs_list_partitions (g); }

char **
guestfs_blkid (guestfs_h *g, const char *device)
{
    Fs *fs = g_hash_table_lookup (filesystems, device);
    GPtrArray *out;

    count ("guestfs_blkid");
    if (FAILS (g, "guestfs_blkid"))
        return NULL;
    if (fs == NULL || fs->device) {
        err (g, ENOENT, "blkid: No such file or directory");
        return NULL;
    }
    out = g_ptr_array_new ();
    g_ptr_array_add (out, strdup ("TYPE"));
    g_ptr_array_add (out, strdup (fs->type));
    if (fs->uuid) {
        g_ptr_array_add (out, strdup ("UUID"));
        g_ptr_array_add (out, strdup (fs->uuid));
    }
    if (fs->label) {
        g_ptr_array_add (out, strdup ("LABEL"));
        g_ptr_array_add (out, strdup (fs->label));
    }
    if (fs->partuuid) {
        g_ptr_array_add (out, strdup ("PART_ENTRY_UUID"));
        g_ptr_array_add (out, strdup (fs->partuuid));
    }
    g_ptr_array_add (out, NULL);
    return (char **) g_ptr_array_free (out, FALSE);
}

struct guestfs_btrfssubvolume_list *
guestfs_btrfs_subvolume_list (guestfs_h *g, const char *device)
{
    Fs *fs = g_hash_table_lookup (filesystems, device);
    struct guestfs_btrfssubvolume_list *l;

    if (FAILS (g, "guestfs_btrfs_subvolume_list"))
        return NULL;
    if (fs == NULL || fs->device || !g_str_equal (fs->type, "btrfs")) {
        err (g, EINVAL, "btrfs_subvolume_list: not a btrfs device");
        return NULL;
    }
    l = calloc (1, sizeof *l);
    l->val = calloc (fs_order->len + 1, sizeof *l->val);
    for (guint i = 0; i < fs_order->len; i++) {
        const Fs *sub = fs_order->pdata[i];

        if (sub->device && g_str_equal (sub->device, device)) {
            l->val[l->len].btrfssubvolume_id = sub->id;
            l->val[l->len].btrfssubvolume_top_level_id = BTRFS_TOP_LEVEL;
            l->val[l->len].btrfssubvolume_path = strdup (sub->subpath);
            l->len++;
        }
    }
    return l;
}

void
guestfs_free_btrfssubvolume_list (struct guestfs_btrfssubvolume_list *l)
{
    if (l == NULL)
        return;
    for (guint32 i = 0; i < l->len; i++)
        free (l->val[i].btrfssubvolume_path);
    free (l->val);
    free (l);
}

int64_t
guestfs_btrfs_subvolume_get_default (guestfs_h *g, const char *device)
{
    Fs *fs = g_hash_table_lookup (filesystems, device);
    Fs *def;

    if (fs == NULL || fs->device || !g_str_equal (fs->type, "btrfs"))
        return err (g, EINVAL, "btrfs_subvolume_get_default: not a btrfs device");
    def = fs->default_subvol ? g_hash_table_lookup (filesystems, fs->default_subvol) : NULL;
    return def ? (int64_t) def->id : BTRFS_TOP_LEVEL;
}

struct guestfs_statns *
guestfs_lstatns (guestfs_h *g, const char *path)
{
    Node *n;
    struct guestfs_statns *st;

    if (FAILS (g, "guestfs_lstatns"))
        return NULL;
    n = lookup (g, path);
    if (n == NULL)
        return NULL;
    st = calloc (1, sizeof *st);
    st->st_mode = n->mode;
    st->st_nlink = n->nlink;
    st->st_uid = n->uid;
    st->st_gid = n->gid;
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

    count ("guestfs_write");
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
    Node *n;

    count ("guestfs_lchown");
    if (FAILS (g, "guestfs_lchown"))
        return -1;
    n = lookup (g, path);
    if (n == NULL)
        return -1;
    n->uid = (guint32) owner;
    n->gid = (guint32) group;
    return 0;
}

int
guestfs_chmod (guestfs_h *g, int mode, const char *path)
{
    Node *n;

    count ("guestfs_chmod");
    n = lookup (g, path);
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
int guestfs_rm_f (guestfs_h *g, const char *path) { fake_guestfs_remove (path); return 0; }

int
guestfs_rmdir (guestfs_h *g, const char *path)
{
    const char *rel;
    GHashTable *files;
    g_autofree char *prefix = NULL;
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
    files = files_for (NULL, path, &rel);
    prefix = g_strconcat (rel, "/", NULL);
    g_hash_table_iter_init (&it, files);
    while (g_hash_table_iter_next (&it, &k, NULL))
        if (g_str_has_prefix (k, prefix))
            return err (g, ENOTEMPTY, "Directory not empty");
    g_hash_table_remove (files, rel);
    return 0;
}

int
guestfs_ln_s (guestfs_h *g, const char *target, const char *linkname)
{
    if (FAILS (g, "guestfs_ln_s"))
        return -1;
    if (lookup (g, linkname) != NULL)
        return err (g, EEXIST, "ln -s: File exists");
    fake_guestfs_add_file (NULL, linkname, target, S_IFLNK | 0777, 1);
    return 0;
}

int
guestfs_rm (guestfs_h *g, const char *path)
{
    Node *n;

    if (FAILS (g, "guestfs_rm"))
        return -1;
    n = lookup (g, path);
    if (n == NULL)
        return -1;
    if (S_ISDIR (n->mode))
        return err (g, EISDIR, "rm: Is a directory");
    fake_guestfs_remove (path);
    return 0;
}

/* A directory moves with everything under it. */
int
guestfs_rename (guestfs_h *g, const char *from, const char *to)
{
    const char *rel_from, *rel_to;
    GHashTable *src, *dst;
    gpointer key = NULL, value = NULL;
    g_autofree char *prefix = NULL;
    g_autoptr(GPtrArray) under = g_ptr_array_new_with_free_func (g_free);
    GHashTableIter it;
    gpointer k;

    count ("guestfs_rename");
    if (FAILS (g, "guestfs_rename"))
        return -1;
    if (exdev_from && g_str_has_prefix (from, exdev_from))
        return err (g, EXDEV, "rename: Invalid cross-device link (fake)");
    src = files_for (NULL, from, &rel_from);
    dst = files_for (NULL, to, &rel_to);
    if (src != dst)
        return err (g, EXDEV, "rename: Invalid cross-device link");
    if (src == NULL || !g_hash_table_steal_extended (src, rel_from, &key, &value))
        return err (g, ENOENT, "rename");
    g_free (key);
    g_hash_table_insert (dst, g_strdup (rel_to), value);
    prefix = g_strconcat (rel_from, "/", NULL);
    g_hash_table_iter_init (&it, src);
    while (g_hash_table_iter_next (&it, &k, NULL))
        if (g_str_has_prefix (k, prefix))
            g_ptr_array_add (under, g_strdup (k));
    for (guint i = 0; i < under->len; i++) {
        const char *old = under->pdata[i];

        g_hash_table_steal_extended (src, old, &key, &value);
        g_free (key);
        g_hash_table_insert (dst, g_strconcat (rel_to, old + strlen (rel_from), NULL), value);
    }
    return 0;
}

void
fake_guestfs_exdev_from (const char *prefix)
{
    g_free (exdev_from);
    exdev_from = g_strdup (prefix);
}

gboolean
fake_guestfs_owner (const char *path, guint32 *uid, guint32 *gid, int *mode)
{
    const char *rel;
    GHashTable *files = files_for (NULL, path, &rel);
    Node *n = files ? g_hash_table_lookup (files, rel) : NULL;

    if (n == NULL)
        return FALSE;
    *uid = n->uid;
    *gid = n->gid;
    *mode = n->mode;
    return TRUE;
}

/* GNU tar -C /sysroot@dir -xf - as root: every member with its numeric
 * owner and its mode, directories and regular files only (what the
 * backend puts in). */
int
guestfs_tar_in (guestfs_h *g, const char *tarfile, const char *dir)
{
    struct archive *a;
    struct archive_entry *e;
    Node *d;
    int r, fd;

    count ("guestfs_tar_in");
    if (FAILS (g, "guestfs_tar_in"))
        return -1;
    d = lookup (g, dir);
    if (d == NULL)
        return -1;
    if (!S_ISDIR (d->mode))
        return err (g, ENOTDIR, "tar_in: not a directory");
    fd = open (tarfile, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err (g, errno, "tar_in: cannot open the archive");
    a = archive_read_new ();
    archive_read_support_format_tar (a);
    if (archive_read_open_fd (a, fd, 10240) != ARCHIVE_OK) {
        archive_read_free (a);
        close (fd);
        return err (g, EINVAL, "tar_in: not an archive");
    }
    while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname (e);
        g_autofree char *path = NULL;
        g_autoptr(GByteArray) data = g_byte_array_new ();
        char buf[4096];
        la_ssize_t got;
        Node *n;

        g_assert_true (archive_entry_uname (e) == NULL || !*archive_entry_uname (e));
        g_assert_true (archive_entry_gname (e) == NULL || !*archive_entry_gname (e));
        g_assert_true (archive_entry_filetype (e) == AE_IFREG ||
                       archive_entry_filetype (e) == AE_IFDIR);
        g_assert_true (name[0] != '/' && strstr (name, "..") == NULL);
        path = g_strconcat (dir, "/", name, NULL);
        if (g_str_has_suffix (path, "/"))
            path[strlen (path) - 1] = '\0';
        while ((got = archive_read_data (a, buf, sizeof buf)) > 0)
            g_byte_array_append (data, (const guint8 *) buf, (guint) got);
        g_byte_array_append (data, (const guint8 *) "", 1);
        n = node_new (archive_entry_filetype (e) | (int) archive_entry_perm (e),
                      archive_entry_filetype (e) == AE_IFDIR ? 2 : 1, NULL);
        g_bytes_unref (n->content);
        n->content = g_bytes_new (data->data, data->len - 1);
        n->uid = (guint32) archive_entry_uid (e);
        n->gid = (guint32) archive_entry_gid (e);
        {
            const char *rel;
            GHashTable *files = files_for (NULL, path, &rel);

            g_hash_table_insert (files, g_strdup (rel), n);
        }
    }
    archive_read_free (a);
    close (fd);
    return r == ARCHIVE_EOF ? 0 : err (g, EIO, "tar_in: a broken archive");
}

static int
is_type (guestfs_h *g, const char *path, int type)
{
    const char *rel;
    GHashTable *files = files_for (NULL, path, &rel);
    Node *n = files ? g_hash_table_lookup (files, rel) : NULL;

    return n != NULL && (n->mode & S_IFMT) == type;
}

int guestfs_is_dir (guestfs_h *g, const char *path) { return is_type (g, path, S_IFDIR); }
int guestfs_is_file (guestfs_h *g, const char *path) { return is_type (g, path, S_IFREG); }
int guestfs_is_dir_opts (guestfs_h *g, const char *path, ...) { return is_type (g, path, S_IFDIR); }
int guestfs_is_file_opts (guestfs_h *g, const char *path, ...) { return is_type (g, path, S_IFREG); }
int guestfs_is_symlink (guestfs_h *g, const char *path) { return is_type (g, path, S_IFLNK); }

int
guestfs_exists (guestfs_h *g, const char *path)
{
    const char *rel;
    GHashTable *files = files_for (NULL, path, &rel);

    return files && g_hash_table_contains (files, rel);
}

/* The names in @dir, on the filesystem @dir is on (what is mounted below
 * it is not listed, as ls(1) would show only its mount point). */
char **
guestfs_ls (guestfs_h *g, const char *dir)
{
    const char *rel;
    GHashTable *files;
    g_autofree char *prefix = NULL;
    GPtrArray *out;
    GHashTableIter it;
    gpointer k;

    if (FAILS (g, "guestfs_ls"))
        return NULL;
    files = files_for (NULL, dir, &rel);
    if (files == NULL) {
        err (g, ENOENT, "ls: No such file or directory");
        return NULL;
    }
    prefix = g_str_equal (rel, "/") ? g_strdup ("/") : g_strconcat (rel, "/", NULL);
    out = g_ptr_array_new ();
    g_hash_table_iter_init (&it, files);
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
    count ("guestfs_mkdir_mode");
    if (FAILS (g, "guestfs_mkdir_mode"))
        return -1;
    if (guestfs_exists (g, path))
        return err (g, EEXIST, "mkdir: File exists");
    fake_guestfs_add_file (NULL, path, NULL, S_IFDIR | mode, 2);
    return 0;
}

/* The fake has no LVM or md: its volumes are listed as partitions. */
char **guestfs_lvs (guestfs_h *g) { return g_new0 (char *, 1); }
char **guestfs_list_md_devices (guestfs_h *g) { return g_new0 (char *, 1); }

char *
guestfs_pread (guestfs_h *g, const char *path, int count, int64_t offset, size_t *size_r)
{
    size_t len;
    char *d;

    if (FAILS (g, "guestfs_pread"))
        return NULL;
    d = guestfs_read_file (g, path, &len);
    if (d == NULL)
        return NULL;
    len = (size_t) offset >= len ? 0 : MIN (len - (size_t) offset, (size_t) count);
    memmove (d, d + offset, len);
    *size_r = len;
    return d;
}

/* Only what root finding asks: "/" read-write again. */
int
guestfs_remount (guestfs_h *g, const char *mountpoint, ...)
{
    gboolean found = FALSE;

    count ("guestfs_remount");
    if (FAILS (g, "guestfs_remount"))
        return -1;
    for (guint i = 0; i < mounted->len; i++)
        found = found || g_str_equal (((Mount *) mounted->pdata[i])->mountpoint, mountpoint);
    if (!found)
        return err (g, EINVAL, "remount: not mounted");
    g_ptr_array_add (mount_log, g_strdup_printf ("guestfs_remount rw %s", mountpoint));
    return 0;
}

struct guestfs_statns_list *
guestfs_lstatnslist (guestfs_h *g, const char *path, char *const *names)
{
    struct guestfs_statns_list *l;
    struct guestfs_statns *dir;
    guint n = g_strv_length ((char **) names);

    if (FAILS (g, "guestfs_lstatnslist"))
        return NULL;
    dir = guestfs_lstatns (g, path);
    if (dir == NULL)
        return NULL;
    free (dir);
    l = calloc (1, sizeof *l);
    l->len = n;
    l->val = calloc (n ? n : 1, sizeof *l->val);
    for (guint i = 0; i < n; i++) {
        g_autofree char *p = g_build_filename (path, names[i], NULL);
        struct guestfs_statns *st = guestfs_lstatns (g, p);

        if (st == NULL) {
            l->val[i].st_ino = -1;
            continue;
        }
        l->val[i] = *st;
        l->val[i].st_ino = 1;
        free (st);
    }
    return l;
}

void
guestfs_free_statns_list (struct guestfs_statns_list *l)
{
    free (l->val);
    free (l);
}
