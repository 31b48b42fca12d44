/* vi-vfs-guestfs.c: the VFS contract through the libguestfs API.
 *
 * Every file operation runs in the appliance, whose daemon resolves paths
 * inside the mounted guest (symlinks cannot reach the host: the host
 * kernel never sees the guest filesystem).  Writes are still atomic
 * replacements (a complete copy with owner, mode and label, then rename) so
 * that a guest reading a half-written file at boot is impossible, and files
 * with several links are not read for editing, as in the rootfs backend.
 * They are batched: nothing is written before commit, which sends every
 * file in one archive per filesystem (see "commit" below).
 *
 * Root finding is much cheaper than guestfs_inspect_os(): we mount each
 * Linux filesystem read-only once and keep those that hold /etc/fstab and an
 * OS release file or /bin; inspection additionally parses package databases,
 * applications and icons, which costs ~20 s under TCG.  A btrfs filesystem
 * whose default subvolume is not a root (Fedora: the top level holds the
 * subvolumes "root" and "home") is looked into: its subvolumes are listed
 * and mounted in turn (see btrfs_subvolume_roots).
 *
 * The root's /etc/fstab is then mounted as the guest will mount it, and no
 * further: btrfs entries on the subvolume their subvol=/subvolid= names;
 * no other option of the guest is passed on.  Each entry is mounted when a
 * path at or under its mount point is first reached (a findfs and a mount
 * process, ~1 s under TCG, for a /boot most requests never touch); its
 * UUID=, LABEL= or PARTUUID= is looked up in what blkid said while the
 * root was found.  A mount point that is not
 * mounted here (a noauto or nofail entry whose device is not in the image,
 * a filesystem type we do not mount, an entry under either) is remembered,
 * and every path at or under it is refused: what is there now is the
 * directory the guest's mount will hide, and writing there would report
 * success for files the guest never sees.
 */
#include "vi-vfs-guestfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <guestfs.h>

#include "vi-check.h"
#include "vi-error.h"

#define SELINUX_XATTR "security.selinux"

/* A write of the batch: nothing reaches the appliance before commit. */
typedef struct {
    char *path;
    GBytes *content;            /* a read of @path is answered from it */
    guint mode;
    guint32 uid;
    guint32 gid;
    gboolean replaces;          /* an existing regular file: its SELinux label is kept */
} Staged;

/* A directory mkdir_p made in this batch: it is in the stat cache as a
 * directory, and reaches the guest at commit (with what is staged under
 * it, moved into place whole), or before, when an operation that is not
 * staged needs it (materialize). */
typedef struct {
    char *path;
    guint mode;
    guint32 uid;
    guint32 gid;
} Pending;

/* A mount point of the guest's fstab that is not mounted here. */
typedef struct {
    char *mountpoint;
    char *why;
} Skipped;

typedef struct {
    ViVfs parent;
    guestfs_h *g;
    GPtrArray *staged;          /* Staged, one per path */
    GPtrArray *pending;         /* Pending, in creation order (a parent before its children) */
    GPtrArray *skipped;         /* Skipped */
    /* What lstat said of each guest path asked (path -> ViStat, type
     * VI_FILE_TYPE_MISSING when there was nothing), so that the planner's
     * stat and the write, read or mkdir of the same path that follows it
     * make one appliance call, not two.  Every call that changes a path
     * drops (or sets) its entry; nothing else changes the guest meanwhile. */
    GHashTable *stats;
    /* The filesystems root finding listed (Candidate), with the UUIDs,
     * labels and PARTUUIDs of those it asked blkid about, and what findfs
     * answered for the fstab specs it asked (spec -> device, "" for
     * none): the fstab's specs are looked up here first.  NULL when the
     * root was given. */
    GPtrArray *cands;
    GHashTable *found;
    /* The root's /etc/fstab (FstabEntry) and its entries still to mount
     * (Lazy, shortest mount point first): each is mounted the first time
     * a path at or under its mount point is reached (reach_path). */
    GArray *fstab;
    GPtrArray *lazy;
} GuestfsVfs;

/* How root finding left the root filesystem. */
typedef enum {
    ROOT_NOT_MOUNTED,
    ROOT_MOUNTED_RO,            /* probed read-only: remounted read-write */
    ROOT_MOUNTED_RW,
} RootMount;

/* A cache entry: lstat said ENOENT. */
#define VI_FILE_TYPE_MISSING ((ViFileType) 100)

static void
staged_free (Staged *s)
{
    g_free (s->path);
    if (s->content)
        g_bytes_unref (s->content);
    g_free (s);
}

static void
pending_free (Pending *p)
{
    g_free (p->path);
    g_free (p);
}

static void
skipped_free (Skipped *s)
{
    g_free (s->mountpoint);
    g_free (s->why);
    g_free (s);
}

static gboolean
at_or_under (const char *path, const char *mountpoint)
{
    gsize n = strlen (mountpoint);

    return strncmp (path, mountpoint, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static gboolean
strictly_under (const char *path, const char *dir)
{
    return at_or_under (path, dir) && !g_str_equal (path, dir);
}

/* The directory of this batch at @path, or NULL. */
static Pending *
pending_at (GuestfsVfs *self, const char *path)
{
    for (guint i = 0; i < self->pending->len; i++) {
        Pending *p = self->pending->pdata[i];

        if (g_str_equal (p->path, path))
            return p;
    }
    return NULL;
}

/* The outermost directory of this batch that @path is strictly under, or
 * NULL (creation order puts a parent first). */
static Pending *
pending_above (GuestfsVfs *self, const char *path)
{
    for (guint i = 0; i < self->pending->len; i++) {
        Pending *p = self->pending->pdata[i];

        if (strictly_under (path, p->path))
            return p;
    }
    return NULL;
}

static Staged *
staged_at (GuestfsVfs *self, const char *path)
{
    for (guint i = 0; i < self->staged->len; i++) {
        Staged *s = self->staged->pdata[i];

        if (g_str_equal (s->path, path))
            return s;
    }
    return NULL;
}

/* The skipped mount point @path is at or under, or NULL. */
static const Skipped *
skipped_at (GuestfsVfs *self, const char *path)
{
    for (guint i = 0; i < self->skipped->len; i++) {
        const Skipped *s = self->skipped->pdata[i];

        if (at_or_under (path, s->mountpoint))
            return s;
    }
    return NULL;
}

static gboolean mount_lazy (GuestfsVfs *self, const char *path, GError **error);

/* Every operation on @path starts here.  The fstab filesystems @path is
 * at or under are mounted first (mount_lazy).  Then nothing at or under a
 * skipped mount point is written, nor read: the directory there is hidden
 * once the guest mounts the filesystem, and reading it could make the plan
 * a silent no-op (a key "already present" in the hidden directory). */
static gboolean
reach_path (GuestfsVfs *self, const char *path, GError **error)
{
    const Skipped *s;

    if (!mount_lazy (self, path, error))
        return FALSE;
    s = skipped_at (self, path);
    if (s == NULL)
        return TRUE;
    return vi_throw (error, VI_ERROR_GUEST,
                     "%s: refused: %s is a mount point of the guest's /etc/fstab that is not "
                     "mounted here (%s); what is there now is hidden once the guest mounts it",
                     path, s->mountpoint, s->why);
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

static void
learn_stat (GuestfsVfs *self, const char *path, const struct guestfs_statns *st)
{
    ViStat *n = g_new0 (ViStat, 1);
    guint type;

    if (st == NULL) {
        n->type = VI_FILE_TYPE_MISSING;
    } else {
        type = st->st_mode & S_IFMT;
        n->type = type == S_IFREG ? VI_FILE_TYPE_REGULAR : type == S_IFDIR ? VI_FILE_TYPE_DIRECTORY
                : type == S_IFLNK ? VI_FILE_TYPE_SYMLINK : VI_FILE_TYPE_OTHER;
        n->mode = st->st_mode & 07777;
        n->uid = st->st_uid;
        n->gid = st->st_gid;
        n->size = st->st_size;
        n->nlink = st->st_nlink;
    }
    g_hash_table_insert (self->stats, g_strdup (path), n);
}

/* Whether the nearest parent of @path (or @path itself, @self_too) that
 * the cache knows is known to be missing, or is a directory of this batch
 * (pending): then so is @path. */
static gboolean
known_missing (GuestfsVfs *self, const char *path, gboolean self_too)
{
    g_autofree char *cur = self_too ? g_strdup (path) : g_path_get_dirname (path);

    while (!g_str_equal (cur, "/")) {
        const ViStat *k = g_hash_table_lookup (self->stats, cur);
        char *up;

        /* a directory only this batch makes holds nothing yet */
        if (k != NULL)
            return k->type == VI_FILE_TYPE_MISSING ||
                   (!g_str_equal (cur, path) && pending_at (self, cur) != NULL);
        up = g_path_get_dirname (cur);
        g_free (cur);
        cur = up;
    }
    return FALSE;
}

/* lstat through the cache: VI_ERROR_NOT_FOUND when there is nothing at
 * @path. */
static gboolean
lstat_cached (GuestfsVfs *self, const char *path, ViStat *out, GError **error)
{
    const ViStat *known = g_hash_table_lookup (self->stats, path);
    struct guestfs_statns *st;

    if (known == NULL && known_missing (self, path, FALSE)) {
        learn_stat (self, path, NULL);
        known = g_hash_table_lookup (self->stats, path);
    }
    if (known == NULL) {
        st = guestfs_lstatns (self->g, path);
        if (st == NULL) {
            if (guestfs_last_errno (self->g) == ENOENT)
                learn_stat (self, path, NULL);
            return throw_g (self, error, path, "stat");
        }
        learn_stat (self, path, st);
        guestfs_free_statns (st);
        known = g_hash_table_lookup (self->stats, path);
    }
    if (known->type == VI_FILE_TYPE_MISSING)
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: stat: No such file or directory", path);
    *out = *known;
    return TRUE;
}

/* @path changed: the next lstat asks the appliance. */
static void
forget_stat (GuestfsVfs *self, const char *path)
{
    g_hash_table_remove (self->stats, path);
}

/* Files up to this size are read with one pread (a reply message); larger
 * ones with guestfs_read_file, which goes through a download: ~0.3 s a
 * file under TCG against a few ms. */
#define PREAD_MAX (1024 * 1024)

static gboolean
g_read_file (ViVfs *vfs, const char *path, gsize max, GBytes **out, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    ViStat st;
    char *data;
    size_t size = 0;

    if (!reach_path (self, path, error))
        return FALSE;
    for (guint i = self->staged->len; i > 0; i--) {
        Staged *s = self->staged->pdata[i - 1];
        if (g_str_equal (s->path, path)) {
            *out = g_bytes_ref (s->content);
            return TRUE;
        }
    }
    if (!lstat_cached (self, path, &st, error))
        return FALSE;
    if (st.type != VI_FILE_TYPE_REGULAR)
        return vi_throw (error, VI_ERROR_GUEST, "%s: not a regular file (refused)", path);
    if (st.nlink > 1)
        return vi_throw (error, VI_ERROR_GUEST, "%s: has several hard links (refused)", path);
    if (st.size > max)
        return vi_throw (error, VI_ERROR_GUEST, "%s: larger than the %" G_GSIZE_FORMAT
                         "-byte limit for files read from the guest", path, max);
    /* A regular file (lstat above): pread's open cannot meet a symlink,
     * a FIFO or a device.  One byte more than lstat said shows a file
     * that changed under us. */
    if (st.size < PREAD_MAX)
        data = guestfs_pread (self->g, path, (int) st.size + 1, 0, &size);
    else
        data = guestfs_read_file (self->g, path, &size);
    if (data == NULL)
        return throw_g (self, error, path, "reading");
    if (size != st.size) {
        free (data);
        return vi_throw (error, VI_ERROR_GUEST, "%s: changed while it was read (refused)", path);
    }
    *out = g_bytes_new_take (data, size);
    return TRUE;
}

static gboolean
g_write_file (ViVfs *vfs, const char *path, GBytes *content, guint mode, guint32 uid, guint32 gid,
              GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    g_autofree char *dir = g_path_get_dirname (path);
    ViStat st;
    g_autoptr(GError) e = NULL;
    Staged *s;

    if (!reach_path (self, path, error))
        return FALSE;
    if (lstat_cached (self, path, &st, &e)) {
        if (st.type != VI_FILE_TYPE_REGULAR && st.type != VI_FILE_TYPE_SYMLINK)
            return vi_throw (error, VI_ERROR_GUEST, "%s: exists and is not a regular file (refused)",
                             path);
    } else if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    /* The parent must exist, as it must for the rename at commit; what
     * the cache does not know is left to the rename. */
    if (pending_at (self, dir) == NULL && known_missing (self, dir, TRUE))
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: writing the new content: %s: "
                         "No such file or directory", path, dir);
    s = staged_at (self, path);
    if (s == NULL) {
        s = g_new0 (Staged, 1);
        s->path = g_strdup (path);
        g_ptr_array_add (self->staged, s);
    }
    g_clear_pointer (&s->content, g_bytes_unref);
    s->content = g_bytes_ref (content);
    s->mode = mode;
    s->uid = uid;
    s->gid = gid;
    s->replaces = e == NULL && st.type == VI_FILE_TYPE_REGULAR;
    return TRUE;
}

/* The directory @p made in the guest now, as mkdir_p did before
 * directories waited for the commit. */
static gboolean
mkdir_now (GuestfsVfs *self, const Pending *p, GError **error)
{
    if (guestfs_mkdir_mode (self->g, p->path, p->mode) < 0)
        return throw_g (self, error, p->path, "creating the directory");
    if (guestfs_lchown (self->g, p->uid, p->gid, p->path) < 0 ||
        guestfs_chmod (self->g, p->mode, p->path) < 0)
        return throw_g (self, error, p->path, "setting owner and mode");
    return TRUE;
}

/* The directories of this batch at or above @path made now, outermost
 * first: an operation that is not staged (a symlink, a label) needs them
 * there. */
static gboolean
materialize (GuestfsVfs *self, const char *path, GError **error)
{
    for (guint i = 0; i < self->pending->len;) {
        Pending *p = self->pending->pdata[i];

        gboolean ok;

        if (!at_or_under (path, p->path)) {
            i++;
            continue;
        }
        /* no longer of the batch, whatever happens: an undo removes it
         * from the guest (rmdir), or finds it missing */
        p = g_ptr_array_steal_index (self->pending, i);
        ok = mkdir_now (self, p, error);
        pending_free (p);
        if (!ok)
            return FALSE;
    }
    return TRUE;
}

/* The SELinux label of the file @target replaces given to @copy, its
 * replacement (a new file has none to keep: the caller does not ask). */
static void
keep_label (GuestfsVfs *self, const char *target, const char *copy)
{
    size_t lsize = 0;
    char *label = guestfs_lgetxattr (self->g, target, SELINUX_XATTR, &lsize);

    if (label != NULL) {
        (void) guestfs_lsetxattr (self->g, SELINUX_XATTR, label, lsize, copy);
        free (label);
    }
}

/* One file written the way every file was before the batched transfer:
 * a temporary file in its own directory (the guest resolves the path),
 * owner, mode, the replaced file's label, one rename.  What commit does
 * when the staging directory is on another filesystem than the file. */
static gboolean
write_now (GuestfsVfs *self, const Staged *s, GError **error)
{
    g_autofree char *dir = g_path_get_dirname (s->path);
    g_autofree char *base = g_path_get_basename (s->path);
    g_autofree char *tmp = g_strdup_printf ("%s/.%s.vi-%08x", g_str_equal (dir, "/") ? "" : dir,
                                            base, g_random_int ());
    gsize len;
    const char *data = g_bytes_get_data (s->content, &len);

    if (guestfs_write (self->g, tmp, data ? data : "", len) < 0) {
        gboolean r = throw_g (self, error, s->path, "writing the new content");
        guestfs_rm_f (self->g, tmp);    /* a partial upload may have left it */
        return r;
    }
    if (guestfs_lchown (self->g, s->uid, s->gid, tmp) < 0 ||
        guestfs_chmod (self->g, s->mode, tmp) < 0) {
        gboolean r = throw_g (self, error, s->path, "setting owner and mode");
        guestfs_rm_f (self->g, tmp);
        return r;
    }
    if (s->replaces)
        keep_label (self, s->path, tmp);
    forget_stat (self, s->path);
    if (guestfs_rename (self->g, tmp, s->path) < 0) {
        gboolean r = throw_g (self, error, s->path, "replacing the file");
        guestfs_rm_f (self->g, tmp);
        return r;
    }
    return TRUE;
}

static gboolean
g_mkdir_p (ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid, GPtrArray *created,
           GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    g_auto(GStrv) parts = g_strsplit (path + 1, "/", -1);
    g_autoptr(GString) sofar = g_string_new (NULL);

    if (!reach_path (self, path, error))
        return FALSE;
    for (guint i = 0; parts[i]; i++) {
        const ViStat *known;
        gboolean missing;
        Pending *p;

        g_string_append_printf (sofar, "/%s", parts[i]);
        /* What the planner's lstat said answers for a directory and for
         * nothing there; a symlink is followed (inside the guest) by
         * asking. */
        known = g_hash_table_lookup (self->stats, sofar->str);
        if (known && known->type == VI_FILE_TYPE_DIRECTORY)
            continue;
        missing = known ? known->type == VI_FILE_TYPE_MISSING
                        : known_missing (self, sofar->str, FALSE);
        if (!missing) {
            int isdir = guestfs_is_dir_opts (self->g, sofar->str,
                                             GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1);
            ViStat st;
            g_autoptr(GError) e = NULL;

            if (isdir < 0)
                return throw_g (self, error, sofar->str, "stat");
            if (isdir)
                continue;
            if (lstat_cached (self, sofar->str, &st, &e))
                return vi_throw (error, VI_ERROR_GUEST, "%s: creating the directory: something "
                                 "that is not a directory is there (refused)", sofar->str);
            if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
                g_propagate_error (error, g_steal_pointer (&e));
                return FALSE;
            }
        }
        /* made at commit (or when something needs it before) */
        p = g_new0 (Pending, 1);
        p->path = g_strdup (sofar->str);
        p->mode = mode;
        p->uid = uid;
        p->gid = gid;
        g_ptr_array_add (self->pending, p);
        if (created)
            g_ptr_array_add (created, g_strdup (sofar->str));
        {
            ViStat *n = g_new0 (ViStat, 1);

            n->type = VI_FILE_TYPE_DIRECTORY;
            n->mode = mode;
            n->uid = uid;
            n->gid = gid;
            n->nlink = 2;
            g_hash_table_insert (self->stats, g_strdup (sofar->str), n);
        }
    }
    return TRUE;
}

/* What the appliance would answer for a path under a directory that is
 * not made yet. */
static gboolean
not_there_yet (GError **error, const char *path, const char *what)
{
    return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: %s: No such file or directory", path, what);
}

static gboolean
g_chmod_ (ViVfs *vfs, const char *path, guint mode, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    Pending *p;

    if (!reach_path (self, path, error))
        return FALSE;
    if ((p = pending_at (self, path)) != NULL) {
        ViStat *known = g_hash_table_lookup (self->stats, path);

        p->mode = mode;
        if (known)
            known->mode = mode;
        return TRUE;
    }
    if (pending_above (self, path))
        return not_there_yet (error, path, "chmod");
    forget_stat (self, path);
    if (guestfs_chmod (self->g, mode, path) < 0)
        return throw_g (self, error, path, "chmod");
    return TRUE;
}

static gboolean
g_chown_ (ViVfs *vfs, const char *path, guint32 uid, guint32 gid, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    ViStat st;
    guint mode;
    Pending *p;

    if (!reach_path (self, path, error))
        return FALSE;
    if ((p = pending_at (self, path)) != NULL) {
        ViStat *known = g_hash_table_lookup (self->stats, path);

        p->uid = uid;
        p->gid = gid;
        if (known) {
            known->uid = uid;
            known->gid = gid;
        }
        return TRUE;
    }
    if (pending_above (self, path))
        return not_there_yet (error, path, "chown");
    if (!lstat_cached (self, path, &st, error))
        return FALSE;
    mode = st.mode;
    forget_stat (self, path);
    if (guestfs_lchown (self->g, uid, gid, path) < 0 || guestfs_chmod (self->g, mode, path) < 0)
        return throw_g (self, error, path, "chown");
    return TRUE;
}

static gboolean
g_stat_ (ViVfs *vfs, const char *path, ViStat *out, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;

    if (!reach_path (self, path, error))
        return FALSE;
    return lstat_cached (self, path, out, error);
}

/* Whether a write or a directory of this batch is under @dir. */
static gboolean
batch_holds (GuestfsVfs *self, const char *dir)
{
    for (guint i = 0; i < self->staged->len; i++)
        if (strictly_under (((Staged *) self->staged->pdata[i])->path, dir))
            return TRUE;
    for (guint i = 0; i < self->pending->len; i++)
        if (strictly_under (((Pending *) self->pending->pdata[i])->path, dir))
            return TRUE;
    return FALSE;
}

/* rmdir(2) in the appliance removes only an empty directory: whatever is
 * found there instead is left alone.  A directory of this batch is
 * dropped, if nothing staged is under it. */
static gboolean
g_rmdir (ViVfs *vfs, const char *path, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    Pending *p;

    if (!reach_path (self, path, error))
        return FALSE;
    if ((p = pending_at (self, path)) != NULL) {
        if (batch_holds (self, path))
            return vi_throw (error, VI_ERROR_GUEST, "%s: no longer empty (left alone)", path);
        g_ptr_array_remove (self->pending, p);
        learn_stat (self, path, NULL);
        return TRUE;
    }
    if (pending_above (self, path))
        return TRUE;
    forget_stat (self, path);
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

/* ln -s in the appliance, chrooted in the guest's filesystem: the target
 * is a string, never followed; guestfs_ln_s refuses an existing name. */
static gboolean
g_symlink (ViVfs *vfs, const char *path, const char *target, guint32 uid, guint32 gid,
           GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    g_autofree char *dir = g_path_get_dirname (path);

    if (!reach_path (self, path, error) || !materialize (self, dir, error))
        return FALSE;
    forget_stat (self, path);
    if (guestfs_ln_s (self->g, target, path) < 0) {
        if (guestfs_last_errno (self->g) == EEXIST)
            return vi_throw (error, VI_ERROR_GUEST, "%s: exists already (left alone)", path);
        return throw_g (self, error, path, "creating the symbolic link");
    }
    if (guestfs_lchown (self->g, uid, gid, path) < 0)
        return throw_g (self, error, path, "chown of the symbolic link");
    return TRUE;
}

/* guestfs_rm removes a file or a symlink itself and refuses a directory. */
static gboolean
g_unlink (ViVfs *vfs, const char *path, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;

    if (!reach_path (self, path, error))
        return FALSE;
    if (pending_at (self, path))
        return vi_throw (error, VI_ERROR_GUEST, "%s: is a directory (left alone)", path);
    if (pending_above (self, path))
        return TRUE;
    forget_stat (self, path);
    if (guestfs_rm (self->g, path) == 0)
        return TRUE;
    switch (guestfs_last_errno (self->g)) {
    case ENOENT:
        return TRUE;
    case EISDIR:
        return vi_throw (error, VI_ERROR_GUEST, "%s: is a directory (left alone)", path);
    default:
        return throw_g (self, error, path, "removing the file");
    }
}

/* guestfs_ls runs in the appliance, chrooted in the guest's filesystem:
 * a symlink on the path resolves inside it.  Staged writes are not
 * entries: a directory of this batch is empty. */
static gboolean
g_list_dir (ViVfs *vfs, const char *path, guint max, GPtrArray **out_names, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    char **ls;
    gboolean ok = TRUE;

    if (!reach_path (self, path, error))
        return FALSE;
    if (pending_above (self, path))
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: no such directory", path);
    if (pending_at (self, path)) {
        *out_names = g_steal_pointer (&names);
        return TRUE;
    }
    if (guestfs_is_dir_opts (self->g, path, GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1) <= 0) {
        if (guestfs_exists (self->g, path) > 0)
            return vi_throw (error, VI_ERROR_GUEST, "%s: not a directory", path);
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: no such directory", path);
    }
    ls = guestfs_ls (self->g, path);
    if (ls == NULL)
        return throw_g (self, error, path, "listing the directory");
    for (guint i = 0; ls[i]; i++) {
        if (ok && names->len >= max)
            ok = vi_throw (error, VI_ERROR_GUEST, "%s: more than %u entries (refused)", path, max);
        if (ok)
            g_ptr_array_add (names, g_strdup (ls[i]));
        free (ls[i]);
    }
    free (ls);
    if (!ok)
        return FALSE;
    *out_names = g_steal_pointer (&names);
    return TRUE;
}

/* ---- commit: the batched transfer --------------------------------------
 *
 * Every staged file and every directory of the batch reaches the guest in
 * one tar_in per filesystem, then one rename per file and one per new
 * directory tree.  The archive is made here (libarchive, ustar, numeric
 * owners: uname and gname empty, so the appliance's tar never maps a name
 * through the appliance's own passwd), and unpacked into a staging
 * directory that this commit creates at the root of the filesystem's
 * mount point.  The appliance's tar runs without a chroot (tar -C
 * /sysroot/DIR), so the staging directory's path must mean the same thing
 * inside and outside the guest: every component of the mount point is
 * checked to be a directory, not a symlink (lstat, chrooted), and the
 * staging directory itself is made by mkdir, which refuses an existing
 * name.  Its members are names this code made ("f7", "t2/sub/file"), so
 * tar meets no guest name and no symlink.  The renames run chrooted, as
 * every other call: a target reached through a guest symlink resolves in
 * the guest, and one that lands on another filesystem (EXDEV) is written
 * the old way (write_now).
 *
 * Atomicity is unchanged: a replaced file is replaced by one rename of a
 * complete file with its owner, mode and label already set, a new
 * directory tree appears by one rename, and the image changes only when
 * the overlay is committed after a clean shutdown. */

#define STAGE_PREFIX ".virt-inject-stage-"

typedef struct {
    char *member;               /* name in the archive and under the staging directory */
    Staged *file;               /* a file whose parent exists, or */
    Pending *tree;              /* a directory of this batch whose parent exists, */
    GPtrArray *dirs;            /* with the directories (Pending, parents first) */
    GPtrArray *files;           /* and the files (Staged) under it */
} Item;

typedef struct {
    char *mountpoint;
    char *stage;                /* the staging directory, once made */
    GPtrArray *items;           /* Item */
} Batch;

static void
item_free (Item *it)
{
    g_free (it->member);
    if (it->dirs)
        g_ptr_array_unref (it->dirs);
    if (it->files)
        g_ptr_array_unref (it->files);
    g_free (it);
}

/* The name of @path of the tree @it under @prefix ("t3/sub/file"). */
static char *
tree_name (const char *prefix, const Item *it, const char *path)
{
    return g_strconcat (prefix, it->member, path + strlen (it->tree->path), NULL);
}

static void
batch_free (Batch *b)
{
    g_free (b->mountpoint);
    g_free (b->stage);
    g_ptr_array_unref (b->items);
    g_free (b);
}

static const char *mount_point_of (GuestfsVfs *self, const char *path);

/* Whether @dir and every directory above it are directories, not
 * symlinks (lstat): then /sysroot@dir in the appliance is @dir of the
 * guest. */
static gboolean
real_directory_path (GuestfsVfs *self, const char *dir)
{
    g_autofree char *cur = g_strdup (dir);

    while (!g_str_equal (cur, "/")) {
        ViStat st;
        char *up;

        if (!lstat_cached (self, cur, &st, NULL) || st.type != VI_FILE_TYPE_DIRECTORY)
            return FALSE;
        up = g_path_get_dirname (cur);
        g_free (cur);
        cur = up;
    }
    return TRUE;
}

static gboolean
add_entry (struct archive *a, const char *name, gboolean dir, guint mode, guint32 uid,
           guint32 gid, GBytes *content, time_t now)
{
    struct archive_entry *e = archive_entry_new ();
    gsize len = 0;
    const void *data = content ? g_bytes_get_data (content, &len) : NULL;
    gboolean ok;

    archive_entry_set_pathname (e, name);
    archive_entry_set_filetype (e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm (e, mode & 07777);
    archive_entry_set_uid (e, uid);
    archive_entry_set_gid (e, gid);
    archive_entry_set_mtime (e, now, 0);
    archive_entry_set_size (e, dir ? 0 : (la_int64_t) len);
    ok = archive_write_header (a, e) == ARCHIVE_OK &&
         (len == 0 || archive_write_data (a, data, len) == (la_ssize_t) len);
    archive_entry_free (e);
    return ok;
}

/* The archive of @b in a memory file (memfd), or -1 when something in it
 * cannot be a ustar member (a name too long or not ASCII, an id too
 * large): @b is then written the old way. */
static int
make_archive (Batch *b)
{
    int fd = memfd_create ("virt-inject-batch", MFD_CLOEXEC);
    struct archive *a;
    time_t now = time (NULL);
    gboolean ok;

    if (fd < 0)
        return -1;
    a = archive_write_new ();
    ok = a != NULL && archive_write_set_format_ustar (a) == ARCHIVE_OK &&
         archive_write_open_fd (a, fd) == ARCHIVE_OK;
    for (guint i = 0; ok && i < b->items->len; i++) {
        const Item *it = b->items->pdata[i];

        if (it->file) {
            ok = add_entry (a, it->member, FALSE, it->file->mode, it->file->uid, it->file->gid,
                            it->file->content, now);
            continue;
        }
        ok = add_entry (a, it->member, TRUE, it->tree->mode, it->tree->uid, it->tree->gid, NULL,
                        now);
        for (guint k = 0; ok && k < it->dirs->len; k++) {
            const Pending *p = it->dirs->pdata[k];
            g_autofree char *name = tree_name ("", it, p->path);

            ok = add_entry (a, name, TRUE, p->mode, p->uid, p->gid, NULL, now);
        }
        for (guint k = 0; ok && k < it->files->len; k++) {
            const Staged *f = it->files->pdata[k];
            g_autofree char *name = tree_name ("", it, f->path);

            ok = add_entry (a, name, FALSE, f->mode, f->uid, f->gid, f->content, now);
        }
    }
    ok = a != NULL && archive_write_close (a) == ARCHIVE_OK && ok;
    if (a)
        archive_write_free (a);
    if (!ok) {
        close (fd);
        return -1;
    }
    return fd;
}

/* @it the old way: each directory made, each file written in its own
 * directory. */
static gboolean
item_now (GuestfsVfs *self, const Item *it, GError **error)
{
    if (it->file)
        return write_now (self, it->file, error);
    if (!mkdir_now (self, it->tree, error))
        return FALSE;
    for (guint k = 0; k < it->dirs->len; k++)
        if (!mkdir_now (self, it->dirs->pdata[k], error))
            return FALSE;
    for (guint k = 0; k < it->files->len; k++)
        if (!write_now (self, it->files->pdata[k], error))
            return FALSE;
    return TRUE;
}

static gboolean
batch_now (GuestfsVfs *self, const Batch *b, GError **error)
{
    for (guint i = 0; i < b->items->len; i++)
        if (!item_now (self, b->items->pdata[i], error))
            return FALSE;
    return TRUE;
}

/* What is left under the staging directory of a tree that could not be
 * moved (EXDEV): removed, innermost first, chrooted. */
static gboolean
drop_staged_tree (GuestfsVfs *self, const Batch *b, const Item *it, GError **error)
{
    g_autofree char *prefix = g_strconcat (b->stage, "/", NULL);

    for (guint k = 0; k < it->files->len; k++) {
        g_autofree char *name = tree_name (prefix, it, ((Staged *) it->files->pdata[k])->path);

        if (guestfs_rm (self->g, name) < 0)
            return throw_g (self, error, name, "removing the staged copy");
    }
    /* deepest first: it->dirs (parents first) backwards, then the tree */
    for (guint k = it->dirs->len + 1; k > 0; k--) {
        const Pending *p = k > 1 ? it->dirs->pdata[k - 2] : it->tree;
        g_autofree char *name = tree_name (prefix, it, p->path);

        if (guestfs_rmdir (self->g, name) < 0)
            return throw_g (self, error, name, "removing the staged copy");
    }
    return TRUE;
}

/* Moves each item of @b from the staging directory into place. */
static gboolean
batch_move (GuestfsVfs *self, Batch *b, GError **error)
{
    for (guint i = 0; i < b->items->len; i++) {
        const Item *it = b->items->pdata[i];
        g_autofree char *from = g_strconcat (b->stage, "/", it->member, NULL);
        const char *to = it->file ? it->file->path : it->tree->path;

        if (it->file && it->file->replaces)
            keep_label (self, to, from);
        forget_stat (self, to);
        if (guestfs_rename (self->g, from, to) == 0)
            continue;
        if (guestfs_last_errno (self->g) != EXDEV)
            return throw_g (self, error, to, it->file ? "replacing the file"
                                                      : "moving the new directory into place");
        /* on another filesystem than its mount point's (a guest symlink
         * on the way, a nested btrfs subvolume) */
        if (it->file) {
            if (!write_now (self, it->file, error))
                return FALSE;
            if (guestfs_rm (self->g, from) < 0)
                return throw_g (self, error, from, "removing the staged copy");
            continue;
        }
        if (!item_now (self, it, error) || !drop_staged_tree (self, b, it, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean
batch_commit (GuestfsVfs *self, Batch *b, GError **error)
{
    g_autofree char *tarfile = NULL;
    int fd;
    gboolean ok;

    if (!real_directory_path (self, b->mountpoint))
        return batch_now (self, b, error);
    fd = make_archive (b);
    if (fd < 0)
        return batch_now (self, b, error);
    for (int tries = 0;; tries++) {
        g_free (b->stage);
        b->stage = g_strdup_printf ("%s/" STAGE_PREFIX "%08x",
                                    g_str_equal (b->mountpoint, "/") ? "" : b->mountpoint,
                                    g_random_int ());
        if (guestfs_mkdir_mode (self->g, b->stage, 0700) == 0)
            break;
        if (guestfs_last_errno (self->g) != EEXIST || tries == 2) {
            close (fd);
            return throw_g (self, error, b->stage, "creating the staging directory");
        }
    }
    tarfile = g_strdup_printf ("/dev/fd/%d", fd);
    ok = guestfs_tar_in (self->g, tarfile, b->stage) == 0;
    close (fd);
    if (!ok)
        return throw_g (self, error, b->mountpoint, "writing the new files (tar_in)");
    if (!batch_move (self, b, error))
        return FALSE;
    if (guestfs_rmdir (self->g, b->stage) < 0)
        return throw_g (self, error, b->stage, "removing the staging directory");
    g_clear_pointer (&b->stage, g_free);
    return TRUE;
}

static gboolean
g_commit (ViVfs *vfs, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    g_autoptr(GPtrArray) batches = g_ptr_array_new_with_free_func ((GDestroyNotify) batch_free);
    guint n = 0;
    gboolean ok = TRUE;

    /* the items: trees first (a directory of the batch whose parent is
     * not one), then the files no such directory holds */
    for (guint pass = 0; pass < 2; pass++) {
        GPtrArray *list = pass == 0 ? self->pending : self->staged;

        for (guint i = 0; i < list->len; i++) {
            const char *path = pass == 0 ? ((Pending *) list->pdata[i])->path
                                         : ((Staged *) list->pdata[i])->path;
            const char *mp;
            Batch *b = NULL;
            Item *it;

            if (pending_above (self, path))
                continue;
            mp = mount_point_of (self, path);
            for (guint k = 0; k < batches->len && b == NULL; k++)
                if (g_str_equal (((Batch *) batches->pdata[k])->mountpoint, mp))
                    b = batches->pdata[k];
            if (b == NULL) {
                b = g_new0 (Batch, 1);
                b->mountpoint = g_strdup (mp);
                b->items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
                g_ptr_array_add (batches, b);
            }
            it = g_new0 (Item, 1);
            it->member = g_strdup_printf ("%c%u", pass == 0 ? 't' : 'f', n++);
            if (pass == 0) {
                it->tree = list->pdata[i];
                it->dirs = g_ptr_array_new ();
                it->files = g_ptr_array_new ();
                for (guint k = 0; k < self->pending->len; k++)
                    if (strictly_under (((Pending *) self->pending->pdata[k])->path, path))
                        g_ptr_array_add (it->dirs, self->pending->pdata[k]);
                for (guint k = 0; k < self->staged->len; k++)
                    if (strictly_under (((Staged *) self->staged->pdata[k])->path, path))
                        g_ptr_array_add (it->files, self->staged->pdata[k]);
            } else {
                it->file = list->pdata[i];
            }
            g_ptr_array_add (b->items, it);
        }
    }
    for (guint k = 0; k < batches->len && ok; k++)
        ok = batch_commit (self, batches->pdata[k], error);
    /* no guestfs_sync here: vi_vfs_guestfs_shutdown() unmounts, which
     * writes everything back and reports a failure to */
    for (guint i = 0; i < self->staged->len; i++)
        forget_stat (self, ((Staged *) self->staged->pdata[i])->path);
    g_ptr_array_set_size (self->staged, 0);
    g_ptr_array_set_size (self->pending, 0);
    return ok;
}

static gint
by_strlen (gconstpointer a, gconstpointer b)
{
    return (gint) strlen (*(const char *const *) a) - (gint) strlen (*(const char *const *) b);
}

/* One guestfs_lstatnslist per directory (the daemon opens the directory
 * chrooted in the guest, then fstatat(AT_SYMLINK_NOFOLLOW) each name),
 * parents before their children, so that the entries of a directory found
 * missing are known missing without asking. */
static void
g_prefetch (ViVfs *vfs, const char *const *paths)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    g_autoptr(GHashTable) by_dir = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) g_ptr_array_unref);
    g_autoptr(GPtrArray) dirs = g_ptr_array_new ();
    GHashTableIter it;
    gpointer key;

    for (guint i = 0; paths[i]; i++) {
        GPtrArray *names;
        g_autofree char *dir = NULL;

        /* a mount that fails is the operation's to report, not ours */
        if (g_str_equal (paths[i], "/") || g_hash_table_contains (self->stats, paths[i]) ||
            !mount_lazy (self, paths[i], NULL) || skipped_at (self, paths[i]) != NULL)
            continue;
        dir = g_path_get_dirname (paths[i]);
        names = g_hash_table_lookup (by_dir, dir);
        if (names == NULL) {
            names = g_ptr_array_new_with_free_func (g_free);
            g_hash_table_insert (by_dir, g_steal_pointer (&dir), names);
        }
        g_ptr_array_add (names, g_path_get_basename (paths[i]));
    }
    g_hash_table_iter_init (&it, by_dir);
    while (g_hash_table_iter_next (&it, &key, NULL))
        g_ptr_array_add (dirs, key);
    g_ptr_array_sort (dirs, by_strlen);
    for (guint i = 0; i < dirs->len; i++) {
        const char *dir = dirs->pdata[i];
        GPtrArray *names = g_hash_table_lookup (by_dir, dir);
        gboolean missing = !g_str_equal (dir, "/") &&
                           (known_missing (self, dir, TRUE) || pending_at (self, dir) != NULL);
        struct guestfs_statns_list *l = NULL;

        if (!missing) {
            g_ptr_array_add (names, NULL);
            l = guestfs_lstatnslist (self->g, dir, (char *const *) names->pdata);
            g_ptr_array_set_size (names, names->len - 1);
            if (l == NULL || l->len != names->len) {
                if (l)
                    guestfs_free_statns_list (l);
                continue;       /* asked one at a time later */
            }
        }
        for (guint k = 0; k < names->len; k++) {
            g_autofree char *path = g_build_filename (dir, names->pdata[k], NULL);

            learn_stat (self, path, missing || l->val[k].st_ino == -1 ? NULL : &l->val[k]);
        }
        if (l)
            guestfs_free_statns_list (l);
    }
}

/* lsetxattr inside the appliance: no setfiles needed (Debian's appliance
 * has none), the label is the guest policy's own (vi-selinux). */
static gboolean
g_set_label (ViVfs *vfs, const char *path, const char *context, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;
    ViStat st;

    if (!g_stat_ (vfs, path, &st, error) || !materialize (self, path, error))
        return FALSE;
    if (st.type != VI_FILE_TYPE_REGULAR && st.type != VI_FILE_TYPE_DIRECTORY &&
        st.type != VI_FILE_TYPE_SYMLINK)
        return vi_throw (error, VI_ERROR_GUEST, "%s: not a regular file, directory or link "
                         "(refused)", path);
    if (guestfs_lsetxattr (self->g, SELINUX_XATTR, context, (int) strlen (context) + 1, path) < 0)
        return throw_g (self, error, path, "setting the SELinux label");
    return TRUE;
}

/* Nothing staged has reached the appliance: dropping it is forgetting it.
 * The directories of the batch are known missing again. */
static gboolean
g_discard (ViVfs *vfs, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;

    for (guint i = 0; i < self->pending->len; i++)
        learn_stat (self, ((Pending *) self->pending->pdata[i])->path, NULL);
    g_ptr_array_set_size (self->pending, 0);
    g_ptr_array_set_size (self->staged, 0);
    return TRUE;
}

static void
g_free_ (ViVfs *vfs)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;

    if (self->g)
        (void) g_discard (vfs, NULL);
    g_ptr_array_unref (self->staged);
    g_ptr_array_unref (self->pending);
    g_ptr_array_unref (self->skipped);
    g_hash_table_unref (self->stats);
    if (self->cands)
        g_ptr_array_unref (self->cands);
    if (self->found)
        g_hash_table_unref (self->found);
    if (self->lazy)
        g_ptr_array_unref (self->lazy);
    if (self->fstab)
        g_array_unref (self->fstab);
    if (self->g)
        guestfs_close (self->g);
    g_free (self);
}

static const ViVfsOps guestfs_ops = {
    .name = "guestfs", .read_file = g_read_file, .write_file = g_write_file,
    .mkdir_p = g_mkdir_p, .chmod = g_chmod_, .chown = g_chown_, .stat = g_stat_,
    .rmdir = g_rmdir, .symlink = g_symlink, .unlink = g_unlink,
    .list_dir = g_list_dir, .discard = g_discard, .commit = g_commit,
    .set_label = g_set_label, .prefetch = g_prefetch, .free = g_free_,
};

/* ---- the guest's /etc/fstab -------------------------------------------- */

static gboolean
is_linux_fs (const char *type)
{
    static const char *const types[] = { "ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", NULL };
    return g_strv_contains (types, type);
}

typedef struct {
    char *spec;                 /* UUID=..., LABEL=..., PARTUUID=..., /dev/... */
    char *mountpoint;           /* without trailing '/' */
    char *type;
    char *subvol;               /* btrfs subvol= (NULL: not given) */
    char *subvolid;             /* btrfs subvolid= (NULL: not given) */
    gboolean noauto;
    gboolean nofail;
} FstabEntry;

static void
fstab_entry_clear (gpointer p)
{
    FstabEntry *e = p;

    g_free (e->spec);
    g_free (e->mountpoint);
    g_free (e->type);
    g_free (e->subvol);
    g_free (e->subvolid);
}

/* fstab(5) fields escape blanks as \040 (any \ooo octal but \000, as
 * libmount reads them). */
static char *
fstab_unescape (const char *field)
{
    GString *out = g_string_new (NULL);

    for (const char *p = field; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7' && (p[1] != '0' || p[2] != '0' || p[3] != '0')) {
            g_string_append_c (out, (char) ((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0')));
            p += 3;
        } else {
            g_string_append_c (out, *p);
        }
    }
    return g_string_free (out, FALSE);
}

/* The entries of @text, options read: subvol=, subvolid=, noauto and
 * nofail are all we look at.  The other options are the guest's business
 * (ro, noexec, compress=, x-systemd.*...) and never reach a mount here. */
static GArray *
fstab_parse (const char *text)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    GArray *entries = g_array_new (FALSE, TRUE, sizeof (FstabEntry));

    g_array_set_clear_func (entries, fstab_entry_clear);
    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
        g_autoptr(GPtrArray) w = g_ptr_array_new ();
        g_autofree char *options = NULL;
        g_auto(GStrv) opts = NULL;
        FstabEntry e = { 0 };
        gsize n;

        for (guint k = 0; f[k]; k++)
            if (*f[k])
                g_ptr_array_add (w, f[k]);
        if (w->len < 3 || *(char *) w->pdata[0] == '#')
            continue;
        e.spec = fstab_unescape (w->pdata[0]);
        e.mountpoint = fstab_unescape (w->pdata[1]);
        for (n = strlen (e.mountpoint); n > 1 && e.mountpoint[n - 1] == '/'; n--)
            e.mountpoint[n - 1] = '\0';
        e.type = fstab_unescape (w->pdata[2]);
        /* as libmount: the field is unescaped, then split at commas */
        options = fstab_unescape (w->len > 3 ? w->pdata[3] : "defaults");
        opts = g_strsplit (options, ",", -1);
        for (guint k = 0; opts[k]; k++) {
            const char *o = opts[k];

            if (g_str_equal (o, "noauto")) {
                e.noauto = TRUE;
            } else if (g_str_equal (o, "nofail")) {
                e.nofail = TRUE;
            } else if (g_str_has_prefix (o, "subvol=")) {
                g_free (e.subvol);
                e.subvol = g_strdup (o + strlen ("subvol="));
            } else if (g_str_has_prefix (o, "subvolid=")) {
                g_free (e.subvolid);
                e.subvolid = g_strdup (o + strlen ("subvolid="));
            }
        }
        g_array_append_val (entries, e);
    }
    return entries;
}

/* A subvolume path as mount(8) takes it in subvol=: the path from the top
 * level, a leading '/' or not.  Ours go to the appliance's mount as one
 * option, so no comma and no control character (a name from the guest). */
static gboolean
usable_subvol (const char *path)
{
    if (path == NULL || *path == '\0')
        return FALSE;
    for (const char *p = path; *p; p++)
        if ((guchar) *p < 0x20 || *p == 0x7f || *p == ',')
            return FALSE;
    return TRUE;
}

static gboolean
usable_subvolid (const char *id)
{
    if (id == NULL || *id == '\0' || strlen (id) > 20)
        return FALSE;
    for (const char *p = id; *p; p++)
        if (!g_ascii_isdigit (*p))
            return FALSE;
    return TRUE;
}

static const char *
skip_slashes (const char *path)
{
    while (*path == '/')
        path++;
    return path;
}

/* Whether @fstab mounts the btrfs subvolume @path (id @id) at /. */
static gboolean
fstab_mounts_at_root (const char *fstab, const char *path, guint64 id)
{
    g_autoptr(GArray) entries = fstab_parse (fstab);

    for (guint i = 0; i < entries->len; i++) {
        const FstabEntry *e = &g_array_index (entries, FstabEntry, i);

        if (!g_str_equal (e->mountpoint, "/"))
            continue;
        if (e->subvol && g_str_equal (skip_slashes (e->subvol), skip_slashes (path)))
            return TRUE;
        if (e->subvolid && usable_subvolid (e->subvolid) &&
            g_ascii_strtoull (e->subvolid, NULL, 10) == id)
            return TRUE;
    }
    return FALSE;
}

/* ---- root finding ------------------------------------------------------ */

/* The guest's /etc/fstab (free()), or NULL when it has none: one pread,
 * not guestfs_cat's download (~0.5 s under TCG); guestfs_cat for one of
 * 1 MiB or more. */
static char *
read_fstab (guestfs_h *g)
{
    const int max = 1024 * 1024;
    size_t size = 0;
    char *data = guestfs_pread (g, "/etc/fstab", max, 0, &size);
    char *text;

    if (data == NULL)
        return NULL;
    if (size >= (size_t) max) {
        free (data);
        return guestfs_cat (g, "/etc/fstab");
    }
    text = strndup (data, size);
    free (data);
    return text;
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

/* Mounts @mountable read-only at / and says whether it looks like a root;
 * if so and @out_fstab is not NULL, *@out_fstab is its /etc/fstab (free()).
 * A root stays mounted when @keep_root says so; anything else is
 * unmounted. */
static gboolean
probe_root_keep (guestfs_h *g, const char *mountable, char **out_fstab, gboolean keep_root)
{
    gboolean root;

    if (guestfs_mount_ro (g, mountable, "/") < 0)
        return FALSE;
    root = looks_like_root (g);
    if (root && out_fstab)
        *out_fstab = read_fstab (g);
    if (!root || !keep_root)
        guestfs_umount_all (g);
    return root;
}

static gboolean
probe_root (guestfs_h *g, const char *mountable, char **out_fstab)
{
    return probe_root_keep (g, mountable, out_fstab, FALSE);
}

/* The roots among the subvolumes of the btrfs filesystem @device other than
 * its default one (what mounting @device gives), as "btrfsvol:" mountables,
 * added to @roots.  Fedora keeps the root in the subvolume "root" and
 * /home in "home" under a bare top level.  Snapshots of a root look like
 * roots too; a subvolume whose own /etc/fstab mounts it at / is what the
 * guest boots, and a copy's fstab names its original, so when any
 * subvolume names itself only those are kept.
 *
 * libguestfs's list_filesystems lists subvolumes as well, but 1.48 names
 * them after the appliance kernel's device, which is not always the API's
 * name: one launch here listed "btrfsvol:/dev/sdb2/root" for /dev/sda2,
 * and in another that name failed to mount ("expecting a btrfs volume").
 * So we list them ourselves and name them after @device. */
static gboolean
btrfs_subvolume_roots (GuestfsVfs *self, const char *device, GPtrArray *roots, GError **error)
{
    struct guestfs_btrfssubvolume_list *vols = guestfs_btrfs_subvolume_list (self->g, device);
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GPtrArray) named = g_ptr_array_new ();
    int64_t def;

    if (vols == NULL)
        return throw_g (self, error, device, "listing the btrfs subvolumes");
    def = guestfs_btrfs_subvolume_get_default (self->g, device);
    for (guint32 i = 0; i < vols->len; i++) {
        const struct guestfs_btrfssubvolume *v = &vols->val[i];
        g_autofree char *m = NULL;
        char *fstab = NULL;

        if ((int64_t) v->btrfssubvolume_id == def || !usable_subvol (v->btrfssubvolume_path))
            continue;
        m = g_strdup_printf ("btrfsvol:%s/%s", device, skip_slashes (v->btrfssubvolume_path));
        if (!probe_root (self->g, m, &fstab))
            continue;
        if (fstab && fstab_mounts_at_root (fstab, v->btrfssubvolume_path, v->btrfssubvolume_id))
            g_ptr_array_add (named, m);
        g_ptr_array_add (found, g_steal_pointer (&m));
        free (fstab);
    }
    guestfs_free_btrfssubvolume_list (vols);
    {
        GPtrArray *keep = named->len > 0 ? named : found;

        for (guint i = 0; i < keep->len; i++)
            g_ptr_array_add (roots, g_strdup (keep->pdata[i]));
    }
    return TRUE;
}

/* Adds to @roots the root that the filesystem @device (of @type) holds:
 * itself, or on btrfs, when its default subvolume is not a root, its
 * subvolumes that are. */
static gboolean
roots_of (GuestfsVfs *self, const char *device, const char *type, GPtrArray *roots, GError **error)
{
    if (probe_root (self->g, device, NULL)) {
        g_ptr_array_add (roots, g_strdup (device));
        return TRUE;
    }
    if (g_str_equal (type, "btrfs"))
        return btrfs_subvolume_roots (self, device, roots, error);
    return TRUE;
}

static void
strv_free_ (char **list)
{
    for (guint i = 0; list && list[i]; i++)
        free (list[i]);
    free (list);
}

/* Whether the whole device @dev is partitioned: a partition's name is the
 * device's name and a number (sda1, nvme0n1p1, md0p1). */
static gboolean
has_partitions (const char *dev, char **partitions)
{
    gsize n = strlen (dev);

    for (guint i = 0; partitions && partitions[i]; i++) {
        const char *rest = partitions[i] + n;

        if (strncmp (partitions[i], dev, n) != 0)
            continue;
        if (*rest == 'p')
            rest++;
        if (*rest != '\0' && strspn (rest, "0123456789") == strlen (rest))
            return TRUE;
    }
    return FALSE;
}

/* A filesystem that may hold a root.  blkid is asked about it (known)
 * only when root finding comes to look into it: one that the root found
 * first mounts elsewhere (its /boot, its swap) is recognised by a findfs
 * of the fstab's spec instead, one appliance process where blkid is two
 * (udevadm settle, then blkid), 0.2-0.4 s under TCG. */
typedef struct {
    char *name;
    gboolean known;             /* blkid was asked: what it said is below */
    char *type;
    char *uuid;
    char *label;
    char *partuuid;
    gboolean owned;             /* the root found mounts it elsewhere */
} Candidate;

static void
candidate_free (Candidate *c)
{
    g_free (c->name);
    g_free (c->type);
    g_free (c->uuid);
    g_free (c->label);
    g_free (c->partuuid);
    g_free (c);
}

/* Appends to @cands a candidate for the block device @name, unless it is
 * there already. */
static void
add_candidate (GPtrArray *cands, const char *name)
{
    Candidate *c;

    for (guint k = 0; k < cands->len; k++)
        if (g_str_equal (((Candidate *) cands->pdata[k])->name, name))
            return;
    c = g_new0 (Candidate, 1);
    c->name = g_strdup (name);
    g_ptr_array_add (cands, c);
}

/* add_candidate for each name of @list, which is free()d here. */
static void
add_candidates (GPtrArray *cands, char **list)
{
    for (guint i = 0; list && list[i]; i++)
        add_candidate (cands, list[i]);
    strv_free_ (list);
}

/* Asks blkid about @c (a device it finds nothing on, such as an extended
 * partition, gets no type).  Sets *@lvm / *@md when it is a member of a
 * volume group / an array.  This comes before @c is ever mounted: an md
 * member with metadata 0.90 or 1.0 holds a mountable filesystem at offset
 * 0, and blkid calls it a member, not that filesystem. */
static void
learn (GuestfsVfs *self, Candidate *c, gboolean *lvm, gboolean *md)
{
    char **kv = guestfs_blkid (self->g, c->name);

    c->known = TRUE;
    for (guint k = 0; kv && kv[k] && kv[k + 1]; k += 2) {
        char **field = g_str_equal (kv[k], "TYPE") ? &c->type
                     : g_str_equal (kv[k], "UUID") ? &c->uuid
                     : g_str_equal (kv[k], "LABEL") ? &c->label
                     : g_str_equal (kv[k], "PART_ENTRY_UUID") ? &c->partuuid : NULL;
        if (field && *field == NULL)
            *field = g_strdup (kv[k + 1]);
    }
    strv_free_ (kv);
    *lvm = *lvm || g_strcmp0 (c->type, "LVM2_member") == 0;
    *md = *md || g_strcmp0 (c->type, "linux_raid_member") == 0;
}

/* The block devices that may hold a root (Candidate in @out, nothing
 * asked of them yet): whole disks without a partition table, and
 * partitions; md arrays and LVM logical volumes join when a member of one
 * is found (find_root).  This is what guestfs_list_filesystems looks at,
 * without what it costs: it asks the partition type of every partition
 * (sfdisk), scans LVM (lvs) and LDM, one process each in the appliance,
 * ~20 s under TCG here. */
static gboolean
list_candidates (GuestfsVfs *self, GPtrArray *out, GError **error)
{
    char **partitions = guestfs_list_partitions (self->g);
    char **devices = NULL;

    /* The appliance has one disk, ours (vi_vfs_guestfs_open adds one
     * drive): with partitions it is no filesystem itself, and the devices
     * need not be asked (each question is a process in the appliance,
     * half a second under TCG). */
    if (partitions != NULL && partitions[0] == NULL)
        devices = guestfs_list_devices (self->g);
    if (partitions == NULL || (partitions[0] == NULL && devices == NULL)) {
        strv_free_ (partitions);
        return throw_g (self, error, "/", "listing the block devices");
    }
    for (guint i = 0; devices && devices[i]; i++)
        if (!has_partitions (devices[i], partitions))
            add_candidate (out, devices[i]);
    strv_free_ (devices);
    add_candidates (out, partitions);
    return TRUE;
}

/* Whether the fstab spec @spec (UUID=, LABEL=, PARTUUID=, /dev/NAME) names
 * the candidate @c, as far as what is known of it says. */
static gboolean
spec_names (const char *spec, const Candidate *c)
{
    if (g_str_has_prefix (spec, "UUID="))
        return c->uuid && g_ascii_strcasecmp (spec + 5, c->uuid) == 0;
    if (g_str_has_prefix (spec, "LABEL="))
        return c->label && g_str_equal (spec + 6, c->label);
    if (g_str_has_prefix (spec, "PARTUUID="))
        return c->partuuid && g_ascii_strcasecmp (spec + 9, c->partuuid) == 0;
    return g_str_equal (spec, c->name);
}

/* Whether findfs may be asked about @spec: a UUID= or a LABEL=. */
static gboolean
findfs_spec (const char *spec)
{
    return g_str_has_prefix (spec, "UUID=") || g_str_has_prefix (spec, "LABEL=");
}

/* The device findfs says @spec (findfs_spec) names, or NULL for none; asked
 * once per spec, the answer kept in self->found. */
static const char *
findfs_cached (GuestfsVfs *self, const char *spec)
{
    const char *known;
    char *dev;

    if (g_hash_table_lookup_extended (self->found, spec, NULL, (gpointer *) &known))
        return *known ? known : NULL;
    dev = g_str_has_prefix (spec, "UUID=") ? guestfs_findfs_uuid (self->g, spec + 5)
                                           : guestfs_findfs_label (self->g, spec + 6);
    g_hash_table_insert (self->found, g_strdup (spec), g_strdup (dev ? dev : ""));
    free (dev);
    return findfs_cached (self, spec);
}

/* Whether the root's fstab entry @e says where a filesystem of that root
 * goes (its /boot, /usr, /home..., its swap): that filesystem is a part of
 * the root's system, not a second root. */
static gboolean
owning_entry (const FstabEntry *e)
{
    return (e->mountpoint[0] == '/' && !g_str_equal (e->mountpoint, "/")) ||
           g_str_equal (e->type, "swap");
}

/* Marks the candidates that the root's fstab @entries mounts elsewhere
 * (owning_entry) as owned: by what blkid said of those it was asked
 * about, and, while some candidate has not been asked, by findfs for a
 * UUID= or LABEL= spec (one process, where blkid would be two for each
 * candidate).  A btrfs filesystem is never owned: it may hold the root
 * and /home; so an entry of type btrfs owns nothing, and one of type auto
 * (which may be btrfs) only what blkid was asked about. */
static void
mark_owned (GuestfsVfs *self, GPtrArray *cands, GArray *entries)
{
    gboolean unknown = FALSE;

    for (guint k = 0; k < cands->len; k++)
        unknown = unknown || !((Candidate *) cands->pdata[k])->known;
    for (guint i = 0; i < entries->len; i++) {
        const FstabEntry *e = &g_array_index (entries, FstabEntry, i);
        const char *dev = NULL;

        if (!owning_entry (e) || g_str_equal (e->type, "btrfs"))
            continue;
        if (unknown && findfs_spec (e->spec) && !g_str_equal (e->type, "auto"))
            dev = findfs_cached (self, e->spec);
        for (guint k = 0; k < cands->len; k++) {
            Candidate *c = cands->pdata[k];

            if (g_strcmp0 (c->type, "btrfs") != 0 &&
                (spec_names (e->spec, c) || g_strcmp0 (dev, c->name) == 0))
                c->owned = TRUE;
        }
    }
}

/* Finds the root.  Every candidate is asked about (blkid), and each Linux
 * filesystem among them mounted read-only and looked into, but for those
 * the first root found mounts elsewhere in its own fstab (mark_owned).
 * The root stays mounted (read-only) while the rest are asked about;
 * when no other filesystem had to be mounted, it is still mounted at the
 * end and *@out_mounted says so (ROOT_MOUNTED_RO): the caller remounts it
 * read-write instead of mounting it again (~1 s under TCG each mount).
 * The root's fstab, read and parsed here, is left in self->fstab. */
static char *
find_root (GuestfsVfs *self, RootMount *out_mounted, GError **error)
{
    g_autoptr(GPtrArray) cands = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
    g_autoptr(GPtrArray) roots = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GArray) owners = NULL;
    gboolean mounted = FALSE, lvm = FALSE, md = FALSE, lvm_listed = FALSE, md_listed = FALSE;

    if (!list_candidates (self, cands, error))
        return NULL;
    for (guint i = 0; i < cands->len; i++) {
        Candidate *c = cands->pdata[i];
        char *fstab = NULL;

        if (c->owned)
            continue;
        if (!c->known) {
            learn (self, c, &lvm, &md);
            /* the arrays and volumes the members make (activated at
             * launch) join the candidates, after the partitions */
            if (md && !md_listed) {
                md_listed = TRUE;
                add_candidates (cands, guestfs_list_md_devices (self->g));
            }
            if (lvm && !lvm_listed) {
                lvm_listed = TRUE;
                add_candidates (cands, guestfs_lvs (self->g));
            }
            if (owners != NULL)
                mark_owned (self, cands, owners);
            if (c->owned)
                continue;
        }
        if (c->type == NULL || !is_linux_fs (c->type))
            continue;
        if (mounted) {
            guestfs_umount_all (self->g);
            mounted = FALSE;
        }
        if (g_str_equal (c->type, "btrfs")) {
            if (!roots_of (self, c->name, c->type, roots, error))
                return NULL;
            continue;
        }
        if (!probe_root_keep (self->g, c->name, &fstab, TRUE))
            continue;
        g_ptr_array_add (roots, g_strdup (c->name));
        mounted = roots->len == 1;
        if (roots->len == 1 && fstab != NULL) {
            owners = fstab_parse (fstab);
            mark_owned (self, cands, owners);
        }
        free (fstab);
        if (!mounted)
            guestfs_umount_all (self->g);
    }
    if (roots->len == 1) {
        *out_mounted = mounted ? ROOT_MOUNTED_RO : ROOT_NOT_MOUNTED;
        self->cands = g_steal_pointer (&cands);
        self->fstab = g_steal_pointer (&owners);
        return g_strdup (roots->pdata[0]);
    }
    if (mounted)
        guestfs_umount_all (self->g);
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

/* <vi:target root="DEVICE"/> names a filesystem.  On btrfs the root may
 * be a subvolume of it, chosen as root finding chooses; anything else is
 * mounted as given. */
static char *
explicit_root (GuestfsVfs *self, const char *device, RootMount *out_mounted, GError **error)
{
    char *type;
    gboolean btrfs;
    g_autoptr(GPtrArray) roots = g_ptr_array_new_with_free_func (g_free);

    /* The named filesystem is where the writes go: mounted read-write at
     * once, it costs one appliance process (no blkid, no remount) when it
     * is the root as it mounts, which is the common case. */
    if (guestfs_mount (self->g, device, "/") == 0) {
        if (looks_like_root (self->g)) {
            *out_mounted = ROOT_MOUNTED_RW;
            return g_strdup (device);
        }
        guestfs_umount_all (self->g);
    }
    type = guestfs_vfs_type (self->g, device);
    btrfs = type && g_str_equal (type, "btrfs");
    free (type);
    if (!btrfs)
        return g_strdup (device);
    if (!roots_of (self, device, "btrfs", roots, error))
        return NULL;
    if (roots->len == 0)
        return g_strdup (device);
    if (roots->len == 1)
        return g_strdup (roots->pdata[0]);
    g_ptr_array_add (roots, NULL);
    {
        g_autofree char *list = g_strjoinv (", ", (char **) roots->pdata);
        vi_throw (error, VI_ERROR_TARGET,
                  "%s: several btrfs subvolumes look like a root (%s) and none is the one "
                  "its own /etc/fstab mounts at /", device, list);
    }
    return NULL;
}

/* ---- mounting the root's fstab ----------------------------------------- */

/* The partition whose GPT or MBR partition UUID is @partuuid (blkid's
 * PART_ENTRY_UUID; libguestfs 1.48 has no findfs-partuuid), or NULL. */
static char *
find_partuuid (guestfs_h *g, const char *partuuid)
{
    char **parts = guestfs_list_partitions (g);
    char *found = NULL;

    if (parts == NULL)
        return NULL;
    for (guint i = 0; parts[i]; i++) {
        /* a partition without a filesystem may fail: it is not this one */
        char **kv = found ? NULL : guestfs_blkid (g, parts[i]);

        for (guint k = 0; kv && kv[k] && kv[k + 1]; k += 2)
            if (g_str_equal (kv[k], "PART_ENTRY_UUID") && g_ascii_strcasecmp (kv[k + 1], partuuid) == 0)
                found = strdup (parts[i]);
        for (guint k = 0; kv && kv[k]; k++)
            free (kv[k]);
        free (kv);
        free (parts[i]);
    }
    free (parts);
    return found;
}

static gboolean
strv_take_contains (char **list, const char *s)
{
    gboolean found = FALSE;

    for (guint i = 0; list && list[i]; i++) {
        found = found || g_str_equal (list[i], s);
        free (list[i]);
    }
    free (list);
    return found;
}

/* Whether @dev (/dev/sdX or /dev/sdXN) is a disk or partition of the
 * image.  The appliance opens such a name if its kernel has it, and its
 * kernel names the guest's disk /dev/sda or /dev/sdb from one launch to
 * the next: only libguestfs's lists say which names are the image's. */
static gboolean
is_image_device (guestfs_h *g, const char *dev)
{
    return strv_take_contains (guestfs_list_devices (g), dev) ||
           strv_take_contains (guestfs_list_partitions (g), dev);
}

/* The device of root finding's findings that the UUID=, LABEL= or
 * PARTUUID= @spec names, or NULL: none, several (findfs decides, as
 * before), another kind of spec, or the root was given.  Root finding
 * asked findfs about the UUID= and LABEL= specs of the root's fstab
 * (self->found) and blkid about every other filesystem (a filesystem is
 * either), so the common spec costs no process here (~0.3 s under TCG
 * each).  A spec with a backslash is left to findfs: blkid's export
 * format escapes with backslashes, and an escaped value must not match a
 * spec that spells the escape literally. */
static const char *
candidate_device (GuestfsVfs *self, const char *spec)
{
    const Candidate *found = NULL;
    const char *dev;

    if (self->cands == NULL || strchr (spec, '\\') != NULL ||
        !(g_str_has_prefix (spec, "UUID=") || g_str_has_prefix (spec, "LABEL=") ||
          g_str_has_prefix (spec, "PARTUUID=")))
        return NULL;
    /* (findfs finding none leaves it to blkid's answers) */
    if (g_hash_table_lookup_extended (self->found, spec, NULL, (gpointer *) &dev) && *dev)
        return dev;
    for (guint i = 0; i < self->cands->len; i++) {
        const Candidate *c = self->cands->pdata[i];

        if (!spec_names (spec, c))
            continue;
        if (found != NULL)
            return NULL;
        found = c;
    }
    return found ? found->name : NULL;
}

/* The appliance's name for the device of an fstab spec (free()), or NULL
 * when the image has none.  A disk name (vdX, hdX, xvdX as sdX) is the
 * image's only if libguestfs lists it; any other /dev name (/dev/mapper,
 * a volume group) is returned as it is and the mount says whether it is
 * there. */
static char *
fstab_device (GuestfsVfs *self, const char *spec)
{
    guestfs_h *g = self->g;
    const char *known = candidate_device (self, spec);
    char *dev = NULL;

    if (known != NULL)
        return strdup (known);
    if (findfs_spec (spec)) {
        known = findfs_cached (self, spec);
        return known ? strdup (known) : NULL;
    }
    if (g_str_has_prefix (spec, "PARTUUID="))
        return find_partuuid (g, spec + 9);
    if (g_str_has_prefix (spec, "/dev/vd") || g_str_has_prefix (spec, "/dev/hd") ||
        g_str_has_prefix (spec, "/dev/xvd"))
        dev = g_strdup_printf ("/dev/sd%s", spec + (spec[6] == 'v' && spec[5] == 'x' ? 8 : 7));
    else if (g_str_has_prefix (spec, "/dev/sd"))
        dev = strdup (spec);
    else if (g_str_has_prefix (spec, "/dev/"))
        return strdup (spec);
    if (dev != NULL && !is_image_device (g, dev))
        g_clear_pointer (&dev, free);
    return dev;
}

static void
skip_mount (GuestfsVfs *self, const char *mountpoint, char *why)
{
    Skipped *s = g_new0 (Skipped, 1);

    s->mountpoint = g_strdup (mountpoint);
    s->why = why;
    g_ptr_array_add (self->skipped, s);
}

/* Mounts @e, or skips it when it may be missing (noauto, nofail) and its
 * device is not in the image.  A device that is there and does not mount
 * is an error whatever the options say. */
static gboolean
mount_entry (GuestfsVfs *self, const FstabEntry *e, GError **error)
{
    g_autoptr(GString) options = g_string_new (NULL);
    char *dev;
    gboolean absent;

    if (g_str_equal (e->type, "btrfs")) {
        if (e->subvol && !usable_subvol (e->subvol))
            return vi_throw (error, VI_ERROR_GUEST,
                             "the guest's /etc/fstab mounts %s with an unusable subvol= option",
                             e->mountpoint);
        if (e->subvolid && !usable_subvolid (e->subvolid))
            return vi_throw (error, VI_ERROR_GUEST,
                             "the guest's /etc/fstab mounts %s with an unusable subvolid= option",
                             e->mountpoint);
        if (e->subvol)
            g_string_append_printf (options, "subvol=%s", e->subvol);
        if (e->subvolid)
            g_string_append_printf (options, "%ssubvolid=%s", options->len ? "," : "", e->subvolid);
    }
    dev = fstab_device (self, e->spec);
    if (dev != NULL && guestfs_mount_options (self->g, options->str, dev, e->mountpoint) == 0) {
        free (dev);
        return TRUE;
    }
    /* a /dev name the appliance does not have fails with ENOENT (ENXIO) */
    absent = dev == NULL || (g_str_has_prefix (e->spec, "/dev/") &&
                             (guestfs_last_errno (self->g) == ENOENT ||
                              guestfs_last_errno (self->g) == ENXIO));
    free (dev);
    if (absent && (e->noauto || e->nofail)) {
        skip_mount (self, e->mountpoint,
                    g_strdup_printf ("its device %s is not in this image and the entry says %s",
                                     e->spec, e->noauto && e->nofail ? "noauto,nofail"
                                              : e->noauto ? "noauto" : "nofail"));
        return TRUE;
    }
    return vi_throw (error, VI_ERROR_TARGET, "cannot mount %s (%s from the guest's /etc/fstab): %s",
                     e->mountpoint, e->spec,
                     !absent && guestfs_last_error (self->g) ? guestfs_last_error (self->g)
                                                             : "device not found");
}

static gint
by_length (gconstpointer a, gconstpointer b)
{
    const FstabEntry *x = *(FstabEntry *const *) a, *y = *(FstabEntry *const *) b;
    return (gint) strlen (x->mountpoint) - (gint) strlen (y->mountpoint);
}

/* An fstab entry not mounted yet. */
typedef struct {
    const FstabEntry *e;        /* in self->fstab */
    gboolean done;              /* mounted, or skipped */
    GError *failed;             /* its mount failed: every path under it fails so */
} Lazy;

static void
lazy_free (Lazy *l)
{
    g_clear_error (&l->failed);
    g_free (l);
}

/* The stat cache knows nothing at or under @mountpoint from before it was
 * mounted (reach_path comes first), but a stale entry there would be
 * wrong; cheap to make sure. */
static void
forget_under (GuestfsVfs *self, const char *mountpoint)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init (&it, self->stats);
    while (g_hash_table_iter_next (&it, &key, NULL))
        if (at_or_under (key, mountpoint))
            g_hash_table_iter_remove (&it);
}

/* Mounts the fstab entries that @path is at or under and that are not
 * mounted yet, in mount order (so /usr before /usr/local), as they would
 * have been mounted at open: a request that never reaches /boot costs no
 * findfs and no mount (~1 s under TCG).  An entry under a mount point
 * that was skipped is skipped too.  An entry that fails to mount fails
 * this and every later path under it with the error the mount gave. */
static gboolean
mount_lazy (GuestfsVfs *self, const char *path, GError **error)
{
    for (guint i = 0; self->lazy && i < self->lazy->len; i++) {
        Lazy *l = self->lazy->pdata[i];
        const Skipped *parent;

        if (l->done || !at_or_under (path, l->e->mountpoint))
            continue;
        if (l->failed == NULL) {
            parent = skipped_at (self, l->e->mountpoint);
            if (parent != NULL) {
                skip_mount (self, l->e->mountpoint,
                            g_strdup_printf ("it is under %s, which is not mounted",
                                             parent->mountpoint));
                l->done = TRUE;
                continue;
            }
            if (mount_entry (self, l->e, &l->failed)) {
                forget_under (self, l->e->mountpoint);
                l->done = TRUE;
                continue;
            }
        }
        if (error)
            *error = g_error_copy (l->failed);
        return FALSE;
    }
    return TRUE;
}

/* The mount point whose filesystem holds @path, as far as the mount
 * table tells (a guest symlink on the way can lead elsewhere: the rename
 * then says EXDEV). */
static const char *
mount_point_of (GuestfsVfs *self, const char *path)
{
    const char *best = "/";

    for (guint i = 0; self->lazy && i < self->lazy->len; i++) {
        const Lazy *l = self->lazy->pdata[i];

        if (l->done && l->failed == NULL && skipped_at (self, l->e->mountpoint) == NULL &&
            at_or_under (path, l->e->mountpoint) && strlen (l->e->mountpoint) > strlen (best))
            best = l->e->mountpoint;
    }
    return best;
}

/* Mounts @root at / (or remounts it read-write when root finding left it
 * mounted: @mounted) and reads its /etc/fstab.  Its entries are checked
 * now and mounted later, when a path under them is first reached
 * (mount_lazy); those we do not mount (another type, under one of those)
 * are remembered in self->skipped now. */
static gboolean
mount_root (GuestfsVfs *self, const char *root, RootMount mounted, GError **error)
{
    g_autoptr(GPtrArray) mounts = g_ptr_array_new ();   /* FstabEntry in self->fstab */
    int r = 0;

    if (mounted == ROOT_MOUNTED_RO)
        r = guestfs_remount (self->g, "/", GUESTFS_REMOUNT_RW, 1, -1);
    else if (mounted == ROOT_NOT_MOUNTED)
        r = guestfs_mount (self->g, root, "/");
    if (r < 0)
        return throw_g (self, error, root, "mounting the root filesystem");
    if (self->fstab == NULL) {
        /* not read by root finding (a root named, or found on btrfs) */
        char *fstab = read_fstab (self->g);

        if (fstab == NULL)
            return TRUE;    /* no fstab: just the root */
        self->fstab = fstab_parse (fstab);
        free (fstab);
    }

    for (guint i = 0; i < self->fstab->len; i++) {
        FstabEntry *e = &g_array_index (self->fstab, FstabEntry, i);
        g_autoptr(GError) bad = NULL;

        if (e->mountpoint[0] != '/' || g_str_equal (e->mountpoint, "/"))
            continue;   /* swap, and the root itself */
        /* guest data: checked as every guest path is before it reaches
         * guestfs_mount ("/../x", control characters, ...).  A mount point
         * we would not mount anyway and that no request path can be under
         * is left alone. */
        if (!vi_check_guest_path (e->mountpoint, &bad)) {
            if (!is_linux_fs (e->type))
                continue;
            return vi_throw (error, VI_ERROR_GUEST,
                             "the guest's /etc/fstab names an unusable mount point: %s",
                             bad->message);
        }
        g_ptr_array_add (mounts, e);
    }
    g_ptr_array_sort (mounts, by_length);
    self->lazy = g_ptr_array_new_with_free_func ((GDestroyNotify) lazy_free);
    for (guint i = 0; i < mounts->len; i++) {
        const FstabEntry *e = mounts->pdata[i];
        const Skipped *parent = skipped_at (self, e->mountpoint);
        Lazy *l;

        if (parent != NULL) {
            skip_mount (self, e->mountpoint,
                        g_strdup_printf ("it is under %s, which is not mounted", parent->mountpoint));
        } else if (!is_linux_fs (e->type)) {
            skip_mount (self, e->mountpoint,
                        g_strdup_printf ("virt-inject does not mount %s filesystems", e->type));
        } else {
            l = g_new0 (Lazy, 1);
            l->e = e;
            g_ptr_array_add (self->lazy, l);
        }
    }
    return TRUE;
}

ViVfs *
vi_vfs_guestfs_open (const ViGuestfsOptions *opts, ViGuestfsStageFunc stage, GError **error)
{
    GuestfsVfs *self = g_new0 (GuestfsVfs, 1);
    g_autoptr(ViVfs) vfs = &self->parent;
    g_autofree char *root = NULL;
    RootMount how = ROOT_NOT_MOUNTED;

    self->parent.ops = &guestfs_ops;
    self->staged = g_ptr_array_new_with_free_func ((GDestroyNotify) staged_free);
    self->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_free);
    self->skipped = g_ptr_array_new_with_free_func ((GDestroyNotify) skipped_free);
    self->stats = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    self->found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    self->g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);
    if (self->g == NULL) {
        vi_throw (error, VI_ERROR_FAILED, "cannot create a libguestfs handle");
        return NULL;
    }
    guestfs_set_error_handler (self->g, NULL, NULL);
    /* Every appliance call on stderr, for measuring (bench/): the handle
     * ignores LIBGUESTFS_TRACE (GUESTFS_CREATE_NO_ENVIRONMENT). */
    if (g_getenv ("VIRT_INJECT_GUESTFS_TRACE") != NULL)
        (void) guestfs_set_trace (self->g, 1);
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
    root = opts->root ? explicit_root (self, opts->root, &how, error)
                      : find_root (self, &how, error);
    if (root == NULL || !mount_root (self, root, how, error))
        return NULL;
    return g_steal_pointer (&vfs);
}

gboolean
vi_vfs_guestfs_shutdown (ViVfs *vfs, GError **error)
{
    GuestfsVfs *self = (GuestfsVfs *) vfs;

    /* Unmounting writes every filesystem back, and says so when it
     * cannot; qemu, ended by SIGTERM, flushes the overlay as it closes it,
     * and the host makes that durable (vi-image).  libguestfs's autosync
     * would unmount and sync once more, and the sync flushes qemu's cache
     * to the host disk device by device: half a second under TCG each. */
    if (guestfs_umount_all (self->g) < 0)
        return throw_g (self, error, "/", "unmounting");
    if (guestfs_set_autosync (self->g, 0) < 0 || guestfs_shutdown (self->g) < 0)
        return throw_g (self, error, "/", "shutting the appliance down (changes may be lost)");
    return TRUE;
}
