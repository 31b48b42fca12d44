/* vi-vfs-rootfs.c: the VFS contract on a container's root directory.
 *
 * The threat.  The tree belongs to a guest, and the guest may be hostile:
 * any component of any path we touch may be a symlink (absolute, relative,
 * "../../.."), a magic link (/proc/self/root, /proc/self/fd/N), a hard link
 * to a host file, a FIFO that blocks a reader forever, a device node, or a
 * bind mount leading out of the tree; and while we work, something may
 * swap a directory for a symlink.  The design this replaces resolved such
 * paths as plain host strings as root and so wrote wherever the guest
 * pointed (CVE-2012-3360/3361).
 *
 * The defence.  The root is opened once.  Every lookup below it is one
 * openat2(2) call relative to that fd with RESOLVE_IN_ROOT (the kernel
 * treats the fd as "/" for absolute symlinks and "..": nothing resolves
 * outside it, atomically, however the tree changes during the walk),
 * RESOLVE_NO_MAGICLINKS (no /proc escape hatches) and RESOLVE_NO_XDEV (no
 * crossing into another mount, such as a bind mount of a host directory).
 * The last component is never followed, and nothing but a regular file is
 * ever opened: every final component is first resolved with
 * O_PATH|O_NOFOLLOW (which opens nothing: no driver's open() runs, no FIFO
 * peer is released), inspected with fstat, and only a verified regular file
 * is then reopened for reading through /proc/self/fd/N, which names that
 * very inode, not whatever the path names by then (systemd's fd_reopen).
 * Owner and mode are changed through the O_PATH descriptor without opening
 * the inode at all.  A directory is opened only to list it, with
 * O_DIRECTORY, which fails before any driver's open() for anything else.
 * Reads have a size cap.  Files are never written in place: the new content goes
 * to a fresh temporary file (O_CREAT|O_EXCL|O_NOFOLLOW) in the same
 * directory, gets owner then mode (chown clears setuid bits), and is renamed
 * over the old name relative to the directory fd already resolved, so a
 * hard link to a host file keeps the host's content.  A file we read in
 * order to edit it (shadow, authorized_keys, hosts) is refused when it has
 * more than one link, so host data (a host /etc/shadow hard-linked into the
 * tree) is never copied into the guest.  openat2 may fail with EAGAIN when
 * a rename races the walk: we retry a bounded number of times.  Kernels
 * without openat2 (< 5.6) get a clear error: there is no fallback to
 * unconfined lookups.
 *
 * Durability is batched: write_file stages temporary files; commit() runs
 * one syncfs, all the renames, then one syncfs.  The temporary files live
 * in one staging directory per injection at the top of the tree
 * (".virt-inject-staging-XXXXXXXX", 0700, on the same filesystem, since
 * nothing crosses a mount), named by a counter, and are renamed from there
 * into place.  So a final name never holds partial content, and an
 * injection killed at any point (the deadline) leaves only that directory,
 * which the next injection's first write removes with what it holds; a
 * dry run writes nothing, so it removes nothing either.
 */
#include "vi-vfs.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib-unix.h>

#include "vi-error.h"
#include "vi-fd.h"

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
#define OPENAT2_RETRIES 32
#define SELINUX_XATTR "security.selinux"

#define STAGING_PREFIX ".virt-inject-staging-"

typedef struct {
    char *path;                 /* guest path */
    int dir_fd;                 /* the parent directory, resolved when staged */
    char *tmp_name;             /* temporary file in the staging directory */
    char *leaf;
    GBytes *content;
} Staged;

typedef struct {
    ViVfs parent;
    int root_fd;                /* O_PATH: the guest's "/" */
    int sync_fd;                /* a readable fd on the same filesystem, for syncfs */
    const ViIdMap *idmap;
    GPtrArray *staged;          /* (element-type Staged) */
    int staging_fd;             /* O_PATH: the staging directory, -1 until the first write */
    char *staging_name;         /* its name in the root */
    guint n_tmp;                /* temporary files made so far (their names) */
} RootfsVfs;

static void
staged_free (Staged *s)
{
    if (s->dir_fd >= 0)
        close (s->dir_fd);
    g_free (s->path);
    g_free (s->tmp_name);
    g_free (s->leaf);
    g_bytes_unref (s->content);
    g_free (s);
}

/* openat2 relative to the guest root with the confinement flags, retrying
 * on EAGAIN.  @rel is relative ("etc/shadow"; "." for the root).  Returns
 * the fd or -1 with errno set. */
static int
confined_open (RootfsVfs *self, const char *rel, guint64 flags, guint64 mode)
{
    struct open_how how = {
        .flags = flags | O_CLOEXEC,
        .mode = mode,
        .resolve = RESOLVE_FLAGS,
    };

    for (int i = 0; i < OPENAT2_RETRIES; i++) {
        int fd = (int) syscall (SYS_openat2, self->root_fd, rel, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN)
            return fd;
    }
    errno = EAGAIN;
    return -1;
}

/* The name under which the kernel reopens (or changes) the inode of an
 * O_PATH descriptor: /proc/self/fd/N is a magic link to that inode itself,
 * so the guest cannot swap another file in between. */
static char *
fd_path (int fd)
{
    return g_strdup_printf ("/proc/self/fd/%d", fd);
}

/* Open for reading the regular file that the O_PATH descriptor @path_fd
 * already names (the caller checked S_ISREG on it with fstat). */
static int
reopen_regular (int path_fd)
{
    g_autofree char *p = fd_path (path_fd);

    /* no O_NOFOLLOW: the magic link itself must be followed */
    return open (p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

/* Turn an errno of a confined lookup into a GError naming the guest path. */
static gboolean
throw_lookup (GError **error, int errsv, const char *path)
{
    switch (errsv) {
    case ENOSYS:
        return vi_throw (error, VI_ERROR_UNSUPPORTED,
                         "%s: this kernel has no openat2(2); virt-inject will not resolve guest "
                         "paths without it", path);
    case ELOOP:
        return vi_throw (error, VI_ERROR_GUEST,
                         "%s: is a symbolic link, or a link loop or /proc magic link in its path",
                         path);
    case EXDEV:
        return vi_throw (error, VI_ERROR_GUEST,
                         "%s: crosses a mount point inside the guest tree (refused)", path);
    case EAGAIN:
        return vi_throw (error, VI_ERROR_GUEST,
                         "%s: the guest tree keeps changing during the lookup (refused)", path);
    case ENOTDIR:
        return vi_throw (error, VI_ERROR_GUEST, "%s: a component of the path is not a directory",
                         path);
    default:
        return vi_throw_errno (error, errsv, "%s", path);
    }
}

/* Split "/a/b/c" into the parent's relative path "a/b" ("." at the top)
 * and the leaf "c". */
static void
split_path (const char *path, char **out_dir, char **out_leaf)
{
    const char *slash = strrchr (path, '/');

    *out_leaf = g_strdup (slash + 1);
    *out_dir = slash == path ? g_strdup (".") : g_strndup (path + 1, slash - path - 1);
}

static int
open_parent (RootfsVfs *self, const char *path, char **out_leaf, GError **error)
{
    g_autofree char *dir = NULL;
    int fd;

    split_path (path, &dir, out_leaf);
    fd = confined_open (self, dir, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) {
        int errsv = errno;
        g_clear_pointer (out_leaf, g_free);
        throw_lookup (error, errsv, path);
    }
    return fd;
}

static Staged *
find_staged (RootfsVfs *self, const char *path)
{
    for (guint i = self->staged->len; i > 0; i--) {
        Staged *s = self->staged->pdata[i - 1];
        if (g_str_equal (s->path, path))
            return s;
    }
    return NULL;
}

static gboolean
to_host_ids (RootfsVfs *self, guint32 uid, guint32 gid, uid_t *out_uid, gid_t *out_gid,
             const char *path, GError **error)
{
    guint32 hu, hg;
    g_autoptr(GError) e = NULL;

    if (!vi_idmap_to_host (self->idmap, FALSE, uid, &hu, &e) ||
        !vi_idmap_to_host (self->idmap, TRUE, gid, &hg, &e))
        return vi_throw (error, VI_ERROR_GUEST, "%s: %s", path, e->message);
    *out_uid = hu;
    *out_gid = hg;
    return TRUE;
}

static gboolean
rootfs_read_file (ViVfs *vfs, const char *path, gsize max, GBytes **out, GError **error)
{
    RootfsVfs *self = (RootfsVfs *) vfs;
    Staged *staged = find_staged (self, path);
    vi_autofd pfd = -1;
    vi_autofd fd = -1;
    struct stat st;
    g_autofree char *buf = NULL;
    gsize len = 0;

    if (staged != NULL) {
        *out = g_bytes_ref (staged->content);
        return TRUE;
    }

    /* O_PATH first: a device node or FIFO is never opened, only named */
    pfd = confined_open (self, path + 1, O_PATH | O_NOFOLLOW, 0);
    if (pfd < 0)
        return throw_lookup (error, errno, path);
    if (fstat (pfd, &st) < 0)
        return vi_throw_errno (error, errno, "%s", path);
    if (!S_ISREG (st.st_mode))
        return vi_throw (error, VI_ERROR_GUEST, "%s: not a regular file (refused)", path);
    if (st.st_nlink > 1)
        return vi_throw (error, VI_ERROR_GUEST,
                         "%s: has %ju hard links; virt-inject never reads a file it may share "
                         "with something outside the guest", path, (uintmax_t) st.st_nlink);
    if ((guint64) st.st_size > max)
        return vi_throw (error, VI_ERROR_GUEST, "%s: larger than the %" G_GSIZE_FORMAT
                         "-byte limit for files read from the guest", path, max);
    fd = reopen_regular (pfd);
    if (fd < 0)
        return vi_throw_errno (error, errno, "opening %s", path);

    buf = g_malloc (max + 1);
    for (;;) {
        ssize_t n = read (fd, buf + len, max + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vi_throw_errno (error, errno, "reading %s", path);
        if (n == 0)
            break;
        len += n;
        if (len > max)
            return vi_throw (error, VI_ERROR_GUEST, "%s: larger than the %" G_GSIZE_FORMAT
                             "-byte limit for files read from the guest", path, max);
    }
    *out = g_bytes_new_take (g_realloc (g_steal_pointer (&buf), len ? len : 1), len);
    return TRUE;
}

static gboolean
write_all (int fd, GBytes *content)
{
    gsize len;
    const guint8 *p = g_bytes_get_data (content, &len);

    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return FALSE;
        p += n;
        len -= n;
    }
    return TRUE;
}

/* Keep the SELinux label of the regular file being replaced; the old file
 * is named through an O_PATH descriptor, never opened. */
static void
copy_label (int dir_fd, const char *leaf, int new_fd)
{
    vi_autofd old = openat (dir_fd, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    g_autofree char *old_path = NULL;
    struct stat st;
    char label[1024];
    ssize_t n;

    if (old < 0 || fstat (old, &st) < 0 || !S_ISREG (st.st_mode))
        return;
    old_path = fd_path (old);
    n = getxattr (old_path, SELINUX_XATTR, label, sizeof label);
    if (n > 0)
        (void) fsetxattr (new_fd, SELINUX_XATTR, label, n, 0);
}

/* Remove what a killed injection left in the staging directory @name of
 * the root: its regular files, then the directory.  Best effort: anything
 * else found there (the guest's own doing) stays, and so does the
 * directory then. */
static void
sweep_staging_dir (RootfsVfs *self, const char *name)
{
    vi_autofd pfd = confined_open (self, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
    g_autofree char *p = NULL;
    DIR *d;
    struct dirent *e;

    if (pfd < 0)
        return;
    p = fd_path (pfd);
    d = opendir (p);
    if (d == NULL)
        return;
    while ((e = readdir (d)) != NULL) {
        struct stat st;

        if (e->d_type == DT_REG ||
            (e->d_type == DT_UNKNOWN && fstatat (pfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
             S_ISREG (st.st_mode)))
            (void) unlinkat (pfd, e->d_name, 0);
    }
    closedir (d);
    (void) unlinkat (self->root_fd, name, AT_REMOVEDIR);
}

static void
sweep_staging (RootfsVfs *self)
{
    vi_autofd fd = openat (self->sync_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
    struct dirent *e;

    if (d == NULL)
        return;
    fd = -1;    /* the DIR owns it */
    while ((e = readdir (d)) != NULL)
        if (g_str_has_prefix (e->d_name, STAGING_PREFIX) &&
            (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN))
            g_ptr_array_add (names, g_strdup (e->d_name));
    closedir (d);
    for (guint i = 0; i < names->len; i++)
        sweep_staging_dir (self, names->pdata[i]);
}

/* The staging directory of this injection, made at the first write after
 * removing what earlier, killed injections left. */
static gboolean
ensure_staging (RootfsVfs *self, GError **error)
{
    if (self->staging_fd >= 0)
        return TRUE;
    sweep_staging (self);
    for (int i = 0; i < 16; i++) {
        g_autofree char *name = g_strdup_printf (STAGING_PREFIX "%08x", g_random_int ());

        if (mkdirat (self->root_fd, name, 0700) < 0) {
            if (errno == EEXIST)
                continue;
            return vi_throw_errno (error, errno, "/%s: creating the staging directory", name);
        }
        self->staging_fd = confined_open (self, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
        if (self->staging_fd < 0) {
            int errsv = errno;
            (void) unlinkat (self->root_fd, name, AT_REMOVEDIR);
            return throw_lookup (error, errsv, name);
        }
        self->staging_name = g_steal_pointer (&name);
        return TRUE;
    }
    return vi_throw (error, VI_ERROR_FAILED, "no free name for a staging directory");
}

/* Remove every uncommitted temporary file and the staging directory. */
static gboolean
drop_staging (RootfsVfs *self, GError **error)
{
    gboolean ok = TRUE;

    for (guint i = 0; i < self->staged->len; i++) {
        Staged *s = self->staged->pdata[i];

        if (s->tmp_name && unlinkat (self->staging_fd, s->tmp_name, 0) < 0 && errno != ENOENT &&
            ok)
            ok = vi_throw_errno (error, errno, "%s: removing the temporary file /%s/%s", s->path,
                                 self->staging_name, s->tmp_name);
        g_clear_pointer (&s->tmp_name, g_free);
    }
    g_ptr_array_set_size (self->staged, 0);
    if (self->staging_fd >= 0) {
        if (unlinkat (self->root_fd, self->staging_name, AT_REMOVEDIR) < 0 && errno != ENOENT &&
            ok)
            ok = vi_throw_errno (error, errno, "/%s: removing the staging directory",
                                 self->staging_name);
        vi_clear_fd (&self->staging_fd);
        g_clear_pointer (&self->staging_name, g_free);
    }
    return ok;
}

static gboolean
rootfs_write_file (ViVfs *vfs, const char *path, GBytes *content, guint mode, guint32 uid,
                   guint32 gid, GError **error)
{
    RootfsVfs *self = (RootfsVfs *) vfs;
    g_autofree char *leaf = NULL;
    vi_autofd dir_fd = -1;
    vi_autofd fd = -1;
    g_autofree char *tmp = NULL;
    struct stat st;
    uid_t huid;
    gid_t hgid;
    Staged *s;

    if (!to_host_ids (self, uid, gid, &huid, &hgid, path, error))
        return FALSE;
    dir_fd = open_parent (self, path, &leaf, error);
    if (dir_fd < 0)
        return FALSE;
    if (fstatat (dir_fd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        !S_ISREG (st.st_mode) && !S_ISLNK (st.st_mode))
        return vi_throw (error, VI_ERROR_GUEST,
                         "%s: exists and is not a regular file (refused)", path);

    if (!ensure_staging (self, error))
        return FALSE;
    tmp = g_strdup_printf ("%u", self->n_tmp++);
    fd = openat (self->staging_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return vi_throw_errno (error, errno, "%s: creating a temporary file", path);

    if (!write_all (fd, content) || fchown (fd, huid, hgid) < 0 || fchmod (fd, mode) < 0) {
        int errsv = errno;
        (void) unlinkat (self->staging_fd, tmp, 0);
        return vi_throw_errno (error, errsv, "%s: writing the new content", path);
    }
    copy_label (dir_fd, leaf, fd);

    s = g_new0 (Staged, 1);
    s->path = g_strdup (path);
    s->dir_fd = g_steal_fd (&dir_fd);
    s->tmp_name = g_steal_pointer (&tmp);
    s->leaf = g_steal_pointer (&leaf);
    s->content = g_bytes_ref (content);
    g_ptr_array_add (self->staged, s);
    return TRUE;
}

static gboolean
rootfs_mkdir_p (ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid,
                GPtrArray *created, GError **error)
{
    RootfsVfs *self = (RootfsVfs *) vfs;
    g_auto(GStrv) parts = g_strsplit (path + 1, "/", -1);
    g_autoptr(GString) sofar = g_string_new (NULL);
    vi_autofd cur = -1;
    uid_t huid;
    gid_t hgid;

    if (!to_host_ids (self, uid, gid, &huid, &hgid, path, error))
        return FALSE;

    cur = confined_open (self, ".", O_PATH | O_DIRECTORY, 0);
    if (cur < 0)
        return throw_lookup (error, errno, path);

    for (guint i = 0; parts[i] != NULL; i++) {
        vi_autofd next = -1;

        if (sofar->len)
            g_string_append_c (sofar, '/');
        g_string_append (sofar, parts[i]);

        next = confined_open (self, sofar->str, O_PATH | O_DIRECTORY, 0);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat (cur, parts[i], 0700) == 0) {
                if (created)
                    g_ptr_array_add (created, g_strconcat ("/", sofar->str, NULL));
            } else if (errno != EEXIST) {
                return vi_throw_errno (error, errno, "/%s: creating the directory", sofar->str);
            }
            next = openat (cur, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0)
                return throw_lookup (error, errno, path);
            if (fchown (next, huid, hgid) < 0 || fchmod (next, mode) < 0)
                return vi_throw_errno (error, errno, "/%s: setting owner and mode", sofar->str);
        } else if (next < 0) {
            g_autofree char *p = g_strconcat ("/", sofar->str, NULL);
            return throw_lookup (error, errno, p);
        }
        vi_clear_fd (&cur);
        cur = g_steal_fd (&next);
    }
    return TRUE;
}

/* Resolve an existing regular file or directory for a change of owner or
 * mode: an O_PATH descriptor, never following a symlink, and refusing
 * anything else before it could be opened.  The change goes through the
 * descriptor (fchownat AT_EMPTY_PATH, chmod of /proc/self/fd/N), so it
 * reaches exactly the inode inspected here, and nothing is ever opened. */
static int
resolve_for_attr (RootfsVfs *self, const char *path, struct stat *out_st, GError **error)
{
    vi_autofd pfd = confined_open (self, path + 1, O_PATH | O_NOFOLLOW, 0);

    if (pfd < 0) {
        throw_lookup (error, errno, path);
        return -1;
    }
    if (fstat (pfd, out_st) < 0) {
        vi_throw_errno (error, errno, "%s", path);
        return -1;
    }
    if (!S_ISREG (out_st->st_mode) && !S_ISDIR (out_st->st_mode)) {
        vi_throw (error, VI_ERROR_GUEST, "%s: not a regular file or directory (refused)", path);
        return -1;
    }
    /* chmod/chown act on the inode: one shared with a file outside the
     * guest (a hard link) would change that file too. */
    if (S_ISREG (out_st->st_mode) && out_st->st_nlink > 1) {
        vi_throw (error, VI_ERROR_GUEST, "%s: has %ju hard links; virt-inject never changes the "
                  "owner or mode of an inode it may share with something outside the guest",
                  path, (uintmax_t) out_st->st_nlink);
        return -1;
    }
    return g_steal_fd (&pfd);
}

static gboolean
chmod_fd (int path_fd, guint mode)
{
    g_autofree char *p = fd_path (path_fd);

    return fchmodat (AT_FDCWD, p, mode, 0) == 0;
}

static gboolean
rootfs_chmod (ViVfs *vfs, const char *path, guint mode, GError **error)
{
    struct stat st;
    vi_autofd fd = resolve_for_attr ((RootfsVfs *) vfs, path, &st, error);

    if (fd < 0)
        return FALSE;
    if (!chmod_fd (fd, mode))
        return vi_throw_errno (error, errno, "%s: chmod", path);
    return TRUE;
}

static gboolean
rootfs_chown (ViVfs *vfs, const char *path, guint32 uid, guint32 gid, GError **error)
{
    RootfsVfs *self = (RootfsVfs *) vfs;
    vi_autofd fd = -1;
    struct stat st;
    uid_t huid;
    gid_t hgid;

    if (!to_host_ids (self, uid, gid, &huid, &hgid, path, error))
        return FALSE;
    fd = resolve_for_attr (self, path, &st, error);
    if (fd < 0)
        return FALSE;
    /* chown clears set-id bits: put the mode back afterwards. */
    if (fchownat (fd, "", huid, hgid, AT_EMPTY_PATH) < 0 || !chmod_fd (fd, st.st_mode & 07777))
        return vi_throw_errno (error, errno, "%s: chown", path);
    return TRUE;
}

static gboolean rootfs_stat (ViVfs *vfs, const char *path, ViStat *out, GError **error);

/* A symbolic link's own label: lsetxattr of LEAF under the confined
 * parent's descriptor (/proc/self/fd/N/LEAF: the magic link is the
 * directory we resolved, and lsetxattr does not follow LEAF). */
static gboolean
label_link (RootfsVfs *self, const char *path, const char *context, GError **error)
{
    g_autofree char *leaf = NULL, *p = NULL;
    vi_autofd dir_fd = open_parent (self, path, &leaf, error);

    if (dir_fd < 0)
        return FALSE;
    p = g_strdup_printf ("/proc/self/fd/%d/%s", dir_fd, leaf);
    if (lsetxattr (p, SELINUX_XATTR, context, strlen (context) + 1, 0) < 0)
        return vi_throw_errno (error, errno, "%s: setting the SELinux label %s", path, context);
    return TRUE;
}

/* Through the O_PATH descriptor, as chmod: the very inode checked; a
 * link through its parent. */
static gboolean
rootfs_set_label (ViVfs *vfs, const char *path, const char *context, GError **error)
{
    struct stat st;
    vi_autofd fd = -1;
    g_autofree char *p = NULL;
    ViStat vst;

    if (!rootfs_stat (vfs, path, &vst, error))
        return FALSE;
    if (vst.type == VI_FILE_TYPE_SYMLINK)
        return label_link ((RootfsVfs *) vfs, path, context, error);
    fd = resolve_for_attr ((RootfsVfs *) vfs, path, &st, error);

    if (fd < 0)
        return FALSE;
    p = fd_path (fd);
    if (setxattr (p, SELINUX_XATTR, context, strlen (context) + 1, 0) < 0)
        return vi_throw_errno (error, errno, "%s: setting the SELinux label %s", path, context);
    return TRUE;
}

static gboolean
rootfs_stat (ViVfs *vfs, const char *path, ViStat *out, GError **error)
{
    RootfsVfs *self = (RootfsVfs *) vfs;
    vi_autofd fd = confined_open (self, path + 1, O_PATH | O_NOFOLLOW, 0);
    struct stat st;

    if (fd < 0)
        return throw_lookup (error, errno, path);
    if (fstat (fd, &st) < 0)
        return vi_throw_errno (error, errno, "%s", path);
    out->type = S_ISREG (st.st_mode) ? VI_FILE_TYPE_REGULAR
              : S_ISDIR (st.st_mode) ? VI_FILE_TYPE_DIRECTORY
              : S_ISLNK (st.st_mode) ? VI_FILE_TYPE_SYMLINK
              : VI_FILE_TYPE_OTHER;
    out->mode = st.st_mode & 07777;
    out->uid = vi_idmap_to_guest (self->idmap, FALSE, st.st_uid);
    out->gid = vi_idmap_to_guest (self->idmap, TRUE, st.st_gid);
    out->size = st.st_size;
    out->nlink = st.st_nlink;
    return TRUE;
}

/* unlinkat(@flags) of @path's leaf through its confined parent.  A parent
 * that does not exist means the leaf does not either; a parent that cannot
 * be resolved (a symlink loop, a mount crossing, a file in the way) is
 * reported, not taken for a leaf already gone.  Returns 1 when removed or
 * missing, 0 with errno set when unlinkat failed, -1 with @error set. */
static int
unlink_confined (RootfsVfs *self, const char *path, int flags, GError **error)
{
    g_autofree char *dir = NULL, *leaf = NULL;
    vi_autofd dir_fd = -1;

    split_path (path, &dir, &leaf);
    dir_fd = confined_open (self, dir, O_PATH | O_DIRECTORY, 0);
    if (dir_fd < 0) {
        if (errno == ENOENT)
            return 1;
        throw_lookup (error, errno, path);
        return -1;
    }
    return unlinkat (dir_fd, leaf, flags) == 0 || errno == ENOENT;
}

/* AT_REMOVEDIR: the kernel removes only an empty directory, so whatever
 * the guest put there instead (a file, a symlink, content) is never
 * unlinked. */
static gboolean
rootfs_rmdir (ViVfs *vfs, const char *path, GError **error)
{
    int r = unlink_confined ((RootfsVfs *) vfs, path, AT_REMOVEDIR, error);

    if (r != 0)
        return r > 0;
    if (errno == ENOTDIR)
        return vi_throw (error, VI_ERROR_GUEST, "%s: no longer a directory (left alone)", path);
    if (errno == ENOTEMPTY || errno == EEXIST)
        return vi_throw (error, VI_ERROR_GUEST, "%s: no longer empty (left alone)", path);
    return vi_throw_errno (error, errno, "%s: removing the directory", path);
}

/* symlinkat through the confined parent: the kernel creates the link and
 * never follows it; an existing entry at the leaf (EEXIST) is refused.  Its
 * owner is set on the link itself (AT_SYMLINK_NOFOLLOW) through the same
 * parent fd: the guest does not run while we inject, so the leaf is the
 * link just made. */
static gboolean
rootfs_symlink (ViVfs *vfs, const char *path, const char *target, guint32 uid, guint32 gid,
                GError **error)
{
    RootfsVfs *self = (RootfsVfs *) vfs;
    g_autofree char *leaf = NULL;
    vi_autofd dir_fd = -1;
    uid_t huid;
    gid_t hgid;

    if (!to_host_ids (self, uid, gid, &huid, &hgid, path, error))
        return FALSE;
    dir_fd = open_parent (self, path, &leaf, error);
    if (dir_fd < 0)
        return FALSE;
    if (symlinkat (target, dir_fd, leaf) < 0) {
        if (errno == EEXIST)
            return vi_throw (error, VI_ERROR_GUEST, "%s: exists already (left alone)", path);
        return vi_throw_errno (error, errno, "%s: creating the symbolic link", path);
    }
    if (fchownat (dir_fd, leaf, huid, hgid, AT_SYMLINK_NOFOLLOW) < 0)
        return vi_throw_errno (error, errno, "%s: chown of the symbolic link", path);
    return TRUE;
}

/* Without AT_REMOVEDIR: removes the name (a symlink itself, never its
 * target); the kernel refuses a directory (EISDIR). */
static gboolean
rootfs_unlink (ViVfs *vfs, const char *path, GError **error)
{
    int r = unlink_confined ((RootfsVfs *) vfs, path, 0, error);

    if (r != 0)
        return r > 0;
    if (errno == EISDIR || errno == EPERM)
        return vi_throw (error, VI_ERROR_GUEST, "%s: is a directory (left alone)", path);
    return vi_throw_errno (error, errno, "%s: removing the file", path);
}

/* The directory is opened O_DIRECTORY (a FIFO or device there is never
 * opened) through the confined lookup.  Staged writes wait in the staging
 * directory at the top of the tree, which is no directory a guest path
 * lists ("/" is not one), so they are no entries. */
static gboolean
rootfs_list_dir (ViVfs *vfs, const char *path, guint max, GPtrArray **out_names, GError **error)
{
    RootfsVfs *self = (RootfsVfs *) vfs;
    int fd = confined_open (self, path[1] ? path + 1 : ".", O_RDONLY | O_DIRECTORY, 0);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    DIR *d;
    struct dirent *de;

    if (fd < 0)
        return throw_lookup (error, errno, path);
    d = fdopendir (fd);
    if (d == NULL) {
        int errsv = errno;
        close (fd);
        return vi_throw_errno (error, errsv, "%s: listing the directory", path);
    }
    errno = 0;
    while ((de = readdir (d)) != NULL) {
        if (g_str_equal (de->d_name, ".") || g_str_equal (de->d_name, ".."))
            continue;
        if (names->len >= max) {
            closedir (d);
            return vi_throw (error, VI_ERROR_GUEST, "%s: more than %u entries (refused)", path,
                             max);
        }
        g_ptr_array_add (names, g_strdup (de->d_name));
        errno = 0;
    }
    if (errno != 0) {
        int errsv = errno;
        closedir (d);
        return vi_throw_errno (error, errsv, "%s: listing the directory", path);
    }
    closedir (d);
    *out_names = g_steal_pointer (&names);
    return TRUE;
}

static gboolean
rootfs_commit (ViVfs *vfs, GError **error)
{
    RootfsVfs *self = (RootfsVfs *) vfs;

    if (self->staged->len == 0)
        return TRUE;
    if (syncfs (self->sync_fd) < 0)
        return vi_throw_errno (error, errno, "syncing the guest filesystem");
    for (guint i = 0; i < self->staged->len; i++) {
        Staged *s = self->staged->pdata[i];

        if (renameat (self->staging_fd, s->tmp_name, s->dir_fd, s->leaf) < 0)
            return vi_throw_errno (error, errno, "%s: replacing the file", s->path);
        g_clear_pointer (&s->tmp_name, g_free);
    }
    if (syncfs (self->sync_fd) < 0)
        return vi_throw_errno (error, errno, "syncing the guest filesystem");
    /* empty now; a crash before this leaves it for the next sweep */
    return drop_staging (self, error);
}

static gboolean
rootfs_discard (ViVfs *vfs, GError **error)
{
    return drop_staging ((RootfsVfs *) vfs, error);
}

static void
rootfs_free (ViVfs *vfs)
{
    RootfsVfs *self = (RootfsVfs *) vfs;

    (void) drop_staging (self, NULL);     /* uncommitted temporary files */
    g_ptr_array_unref (self->staged);
    if (self->sync_fd >= 0)
        close (self->sync_fd);
    if (self->root_fd >= 0)
        close (self->root_fd);
    g_free (self);
}

static const ViVfsOps rootfs_ops = {
    .name = "rootfs",
    .read_file = rootfs_read_file,
    .write_file = rootfs_write_file,
    .mkdir_p = rootfs_mkdir_p,
    .discard = rootfs_discard,
    .chmod = rootfs_chmod,
    .chown = rootfs_chown,
    .stat = rootfs_stat,
    .rmdir = rootfs_rmdir,
    .symlink = rootfs_symlink,
    .unlink = rootfs_unlink,
    .list_dir = rootfs_list_dir,
    .commit = rootfs_commit,
    .set_label = rootfs_set_label,
    .free = rootfs_free,
};

/* The host's own "/" under any name ("/./", "//", "/usr/..", a symlink to
 * it, a bind mount of it) is refused: injecting there would edit the host.
 * Decided on the opened directory (device and inode), never on the
 * spelling. */
static gboolean
check_not_host_root (int root_fd, const char *root_dir, GError **error)
{
    struct stat st, host;

    if (fstat (root_fd, &st) < 0)
        return vi_throw_errno (error, errno, "root directory %s", root_dir);
    if (stat ("/", &host) < 0)
        return vi_throw_errno (error, errno, "the host's root directory");
    if (st.st_dev == host.st_dev && st.st_ino == host.st_ino)
        return vi_throw (error, VI_ERROR_TARGET,
                         "root directory %s is the host's own root directory: virt-inject "
                         "refuses to inject into it (it would edit the host)", root_dir);
    return TRUE;
}

ViVfs *
vi_vfs_rootfs_open (const char *root_dir, const ViIdMap *idmap, GError **error)
{
    vi_autofd root_fd = open (root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    RootfsVfs *self;
    struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_FLAGS };
    int probe;

    if (root_fd < 0) {
        vi_throw_errno (error, errno, "root directory %s", root_dir);
        return NULL;
    }
    if (!check_not_host_root (root_fd, root_dir, error))
        return NULL;
    /* Refuse up front on kernels without openat2: no unconfined fallback. */
    probe = (int) syscall (SYS_openat2, root_fd, ".", &how, sizeof how);
    if (probe < 0) {
        int errsv = errno;
        if (errsv == ENOSYS || errsv == EINVAL || errsv == E2BIG)
            vi_throw (error, VI_ERROR_UNSUPPORTED,
                      "root directory %s: this kernel has no usable openat2(2) "
                      "(RESOLVE_IN_ROOT); virt-inject will not resolve guest paths without it",
                      root_dir);
        else
            vi_throw_errno (error, errsv, "root directory %s", root_dir);
        return NULL;
    }
    close (probe);

    self = g_new0 (RootfsVfs, 1);
    self->parent.ops = &rootfs_ops;
    self->sync_fd = openat (root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self->sync_fd < 0) {
        vi_throw_errno (error, errno, "root directory %s", root_dir);
        g_free (self);
        return NULL;
    }
    self->root_fd = g_steal_fd (&root_fd);
    self->idmap = idmap;
    self->staged = g_ptr_array_new_with_free_func ((GDestroyNotify) staged_free);
    self->staging_fd = -1;
    return &self->parent;
}
