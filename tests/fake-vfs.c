/* fake-vfs.c: see fake-vfs.h. */
#include "fake-vfs.h"

#include <string.h>

#include "vi-error.h"

typedef struct {
    ViFileType type;
    GBytes *content;
    guint mode;
    guint32 uid, gid;
    char *label;                /* security.selinux, or NULL */
} Node;

typedef struct {
    ViVfs parent;
    GHashTable *nodes;          /* path -> Node (committed) */
    GHashTable *staged;         /* path -> Node (written, not committed) */
    guint calls;
    guint fail_at;
    gboolean fail_later;        /* every call after fail_at fails too */
    const char *fail_op;
} FakeVfs;

static void
node_free (Node *n)
{
    if (n->content)
        g_bytes_unref (n->content);
    g_free (n->label);
    g_free (n);
}

static Node *
node_new (ViFileType type, GBytes *content, guint mode, guint32 uid, guint32 gid)
{
    Node *n = g_new0 (Node, 1);
    n->type = type;
    n->content = content ? g_bytes_ref (content) : NULL;
    n->mode = mode;
    n->uid = uid;
    n->gid = gid;
    return n;
}

/* TRUE (with @error set) when this call is the one made to fail. */
static gboolean
injected_failure (FakeVfs *self, const char *op, const char *path, GError **error)
{
    ++self->calls;
    if (self->calls != self->fail_at &&
        !(self->fail_later && self->fail_at > 0 && self->calls > self->fail_at) &&
        !(self->fail_op && g_str_equal (op, self->fail_op)))
        return FALSE;
    vi_throw (error, VI_ERROR_FAILED, "%s: %s: injected failure (call %u)", path, op, self->calls);
    return TRUE;
}

static gboolean
parent_is_dir (FakeVfs *self, const char *path)
{
    g_autofree char *dir = g_path_get_dirname (path);
    Node *n;

    if (g_str_equal (dir, "/"))
        return TRUE;
    n = g_hash_table_lookup (self->nodes, dir);
    return n != NULL && n->type == VI_FILE_TYPE_DIRECTORY;
}

static gboolean
f_read (ViVfs *vfs, const char *path, gsize max, GBytes **out, GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;
    Node *n = g_hash_table_lookup (self->staged, path);

    if (n == NULL)
        n = g_hash_table_lookup (self->nodes, path);
    if (n == NULL)
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: no such file", path);
    if (n->type != VI_FILE_TYPE_REGULAR)
        return vi_throw (error, VI_ERROR_GUEST, "%s: not a regular file", path);
    if (g_bytes_get_size (n->content) > max)
        return vi_throw (error, VI_ERROR_GUEST, "%s: too large", path);
    *out = g_bytes_ref (n->content);
    return TRUE;
}

static gboolean
f_write (ViVfs *vfs, const char *path, GBytes *content, guint mode, guint32 uid, guint32 gid,
         GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;
    Node *n = g_hash_table_lookup (self->nodes, path);

    if (injected_failure (self, "write", path, error))
        return FALSE;
    if (!parent_is_dir (self, path))
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: parent missing", path);
    if (n && n->type == VI_FILE_TYPE_DIRECTORY)
        return vi_throw (error, VI_ERROR_GUEST, "%s: is a directory", path);
    g_hash_table_insert (self->staged, g_strdup (path),
                         node_new (VI_FILE_TYPE_REGULAR, content, mode, uid, gid));
    return TRUE;
}

/* Each directory created counts as two mutating calls, as in the real
 * backends: the mkdir itself (failing, nothing is made), then setting its
 * owner and mode (failing, the directory is there, reported in @created,
 * and the call fails). */
static gboolean
f_mkdir_p (ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid, GPtrArray *created,
           GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;
    g_auto(GStrv) parts = g_strsplit (path + 1, "/", -1);
    g_autoptr(GString) p = g_string_new (NULL);

    for (guint i = 0; parts[i]; i++) {
        Node *n;
        g_string_append_printf (p, "/%s", parts[i]);
        n = g_hash_table_lookup (self->nodes, p->str);
        if (n && n->type != VI_FILE_TYPE_DIRECTORY)
            return vi_throw (error, VI_ERROR_GUEST, "%s: not a directory", p->str);
        if (n)
            continue;
        if (injected_failure (self, "mkdir", p->str, error))
            return FALSE;
        g_hash_table_insert (self->nodes, g_strdup (p->str),
                             node_new (VI_FILE_TYPE_DIRECTORY, NULL, 0700, 0, 0));
        if (created)
            g_ptr_array_add (created, g_strdup (p->str));
        if (injected_failure (self, "chown", p->str, error))
            return FALSE;
        n = g_hash_table_lookup (self->nodes, p->str);
        n->mode = mode;
        n->uid = uid;
        n->gid = gid;
    }
    return TRUE;
}

static gboolean
f_chmod (ViVfs *vfs, const char *path, guint mode, GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;
    Node *n = g_hash_table_lookup (self->nodes, path);

    if (injected_failure (self, "chmod", path, error))
        return FALSE;
    if (n == NULL)
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: no such file", path);
    n->mode = mode;
    return TRUE;
}

static gboolean
f_chown (ViVfs *vfs, const char *path, guint32 uid, guint32 gid, GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;
    Node *n = g_hash_table_lookup (self->nodes, path);

    if (injected_failure (self, "chown", path, error))
        return FALSE;
    if (n == NULL)
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: no such file", path);
    n->uid = uid;
    n->gid = gid;
    return TRUE;
}

static gboolean
f_stat (ViVfs *vfs, const char *path, ViStat *out, GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;
    Node *n = g_hash_table_lookup (self->nodes, path);

    if (n == NULL)
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: no such file", path);
    out->type = n->type;
    out->mode = n->mode;
    out->uid = n->uid;
    out->gid = n->gid;
    out->size = n->content ? g_bytes_get_size (n->content) : 0;
    out->nlink = 1;
    return TRUE;
}

/* Whether @table holds a path below the directory @dir. */
static gboolean
has_child (GHashTable *table, const char *dir)
{
    g_autofree char *prefix = g_strconcat (dir, "/", NULL);
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init (&it, table);
    while (g_hash_table_iter_next (&it, &k, NULL))
        if (g_str_has_prefix (k, prefix))
            return TRUE;
    return FALSE;
}

/* A staged write counts as an entry of its directory: in the real backends
 * it is a temporary file there until commit or discard. */
static gboolean
f_rmdir (ViVfs *vfs, const char *path, GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;
    Node *n = g_hash_table_lookup (self->nodes, path);

    if (injected_failure (self, "rmdir", path, error))
        return FALSE;
    if (n == NULL)
        return TRUE;
    if (n->type != VI_FILE_TYPE_DIRECTORY)
        return vi_throw (error, VI_ERROR_GUEST, "%s: no longer a directory (left alone)", path);
    if (has_child (self->nodes, path) || has_child (self->staged, path))
        return vi_throw (error, VI_ERROR_GUEST, "%s: no longer empty (left alone)", path);
    g_hash_table_remove (self->nodes, path);
    return TRUE;
}

/* Committed entries and staged writes alike (reads see staged content
 * too); read-only, so never made to fail by the failure counter, only by
 * fake_vfs_fail_op (vfs, "list_dir"). */
static gboolean
f_list_dir (ViVfs *vfs, const char *path, guint max, GPtrArray **out_names, GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;
    Node *n = g_hash_table_lookup (self->nodes, path);
    g_autofree char *prefix = g_str_equal (path, "/") ? g_strdup ("/") : g_strconcat (path, "/", NULL);
    g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    GHashTable *tables[] = { self->nodes, self->staged };
    GPtrArray *names;

    if (self->fail_op && g_str_equal (self->fail_op, "list_dir"))
        return vi_throw (error, VI_ERROR_FAILED, "%s: list_dir: injected failure", path);
    if (n == NULL && !g_str_equal (path, "/"))
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: no such directory", path);
    if (n != NULL && n->type != VI_FILE_TYPE_DIRECTORY)
        return vi_throw (error, VI_ERROR_GUEST, "%s: not a directory", path);
    for (guint t = 0; t < G_N_ELEMENTS (tables); t++) {
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init (&it, tables[t]);
        while (g_hash_table_iter_next (&it, &k, NULL)) {
            const char *rest = (const char *) k + strlen (prefix);

            if (g_str_has_prefix (k, prefix) && *rest && strchr (rest, '/') == NULL)
                g_hash_table_add (seen, g_strdup (rest));
        }
    }
    if (g_hash_table_size (seen) > max)
        return vi_throw (error, VI_ERROR_GUEST, "%s: more than %u entries", path, max);
    names = g_ptr_array_new_with_free_func (g_free);
    {
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init (&it, seen);
        while (g_hash_table_iter_next (&it, &k, NULL)) {
            g_ptr_array_add (names, k);
            g_hash_table_iter_steal (&it);
        }
    }
    *out_names = names;
    return TRUE;
}

static gboolean
f_commit (ViVfs *vfs, GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;
    GHashTableIter it;
    gpointer k, v;

    if (injected_failure (self, "commit", "/", error))
        return FALSE;
    g_hash_table_iter_init (&it, self->staged);
    while (g_hash_table_iter_next (&it, &k, &v)) {
        g_hash_table_insert (self->nodes, g_strdup (k), v);
        g_hash_table_iter_steal (&it);
        g_free (k);
    }
    return TRUE;
}

static gboolean
f_set_label (ViVfs *vfs, const char *path, const char *context, GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;
    Node *n = g_hash_table_lookup (self->nodes, path);

    if (injected_failure (self, "set_label", path, error))
        return FALSE;
    if (n == NULL)
        return vi_throw (error, VI_ERROR_NOT_FOUND, "%s: No such file or directory", path);
    if (n->type != VI_FILE_TYPE_REGULAR && n->type != VI_FILE_TYPE_DIRECTORY)
        return vi_throw (error, VI_ERROR_GUEST, "%s: not a regular file or directory (refused)", path);
    g_free (n->label);
    n->label = g_strdup (context);
    return TRUE;
}

static gboolean
f_discard (ViVfs *vfs, GError **error)
{
    FakeVfs *self = (FakeVfs *) vfs;

    g_hash_table_remove_all (self->staged);
    return !injected_failure (self, "discard", "/", error);
}

static void
f_free (ViVfs *vfs)
{
    FakeVfs *self = (FakeVfs *) vfs;
    g_hash_table_unref (self->nodes);
    g_hash_table_unref (self->staged);
    g_free (self);
}

static const ViVfsOps fake_ops = {
    .name = "fake", .read_file = f_read, .write_file = f_write, .mkdir_p = f_mkdir_p,
    .chmod = f_chmod, .chown = f_chown, .stat = f_stat, .rmdir = f_rmdir, .list_dir = f_list_dir,
    .discard = f_discard, .commit = f_commit, .set_label = f_set_label, .free = f_free,
};

static const ViVfsOps fake_ops_no_labels = {
    .name = "fake", .read_file = f_read, .write_file = f_write, .mkdir_p = f_mkdir_p,
    .chmod = f_chmod, .chown = f_chown, .stat = f_stat, .rmdir = f_rmdir, .list_dir = f_list_dir,
    .discard = f_discard, .commit = f_commit, .set_label = NULL, .free = f_free,
};

void
fake_vfs_disable_labels (ViVfs *vfs)
{
    vfs->ops = &fake_ops_no_labels;
}

const char *
fake_vfs_get_label (ViVfs *vfs, const char *path)
{
    Node *n = g_hash_table_lookup (((FakeVfs *) vfs)->nodes, path);

    return n ? n->label : NULL;
}

ViVfs *
fake_vfs_new (void)
{
    FakeVfs *self = g_new0 (FakeVfs, 1);
    self->parent.ops = &fake_ops;
    self->nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) node_free);
    self->staged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) node_free);
    return &self->parent;
}

void
fake_vfs_add_dir (ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid)
{
    FakeVfs *self = (FakeVfs *) vfs;
    g_hash_table_insert (self->nodes, g_strdup (path),
                         node_new (VI_FILE_TYPE_DIRECTORY, NULL, mode, uid, gid));
}

void
fake_vfs_add_file (ViVfs *vfs, const char *path, const char *content, guint mode, guint32 uid,
                   guint32 gid)
{
    FakeVfs *self = (FakeVfs *) vfs;
    g_autoptr(GBytes) b = g_bytes_new (content, strlen (content));
    g_hash_table_insert (self->nodes, g_strdup (path),
                         node_new (VI_FILE_TYPE_REGULAR, b, mode, uid, gid));
}

void
fake_vfs_add_symlink (ViVfs *vfs, const char *path)
{
    FakeVfs *self = (FakeVfs *) vfs;
    g_hash_table_insert (self->nodes, g_strdup (path),
                         node_new (VI_FILE_TYPE_SYMLINK, NULL, 0777, 0, 0));
}

const char *
fake_vfs_get (ViVfs *vfs, const char *path)
{
    FakeVfs *self = (FakeVfs *) vfs;
    Node *n = g_hash_table_lookup (self->nodes, path);
    static GHashTable *strings;

    if (n == NULL || n->content == NULL)
        return NULL;
    if (strings == NULL)
        strings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    {
        /* the data of empty bytes may be NULL, and g_strndup (NULL, 0) is NULL */
        gsize len = g_bytes_get_size (n->content);
        char *s = len ? g_strndup (g_bytes_get_data (n->content, NULL), len) : g_strdup ("");
        char *interned = g_hash_table_lookup (strings, s);
        if (interned) {
            g_free (s);
            return interned;
        }
        g_hash_table_add (strings, s);
        return s;
    }
}

static void
dump (GHashTable *table, const char *prefix, GString *s)
{
    g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (table), (GCompareFunc) strcmp);

    for (GList *l = keys; l; l = l->next) {
        Node *n = g_hash_table_lookup (table, l->data);
        g_string_append_printf (s, "%s%s %d %o %u:%u%s%s\n", prefix, (char *) l->data, n->type,
                                n->mode, n->uid, n->gid, n->label ? " " : "",
                                n->label ? n->label : "");
        if (n->content)
            g_string_append_len (s, g_bytes_get_data (n->content, NULL),
                                 g_bytes_get_size (n->content));
    }
}

char *
fake_vfs_state (ViVfs *vfs)
{
    FakeVfs *self = (FakeVfs *) vfs;
    GString *s = g_string_new (NULL);

    dump (self->nodes, "", s);
    dump (self->staged, "staged ", s);
    return g_string_free (s, FALSE);
}

GPtrArray *
fake_vfs_paths (ViVfs *vfs)
{
    FakeVfs *self = (FakeVfs *) vfs;
    GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (self->nodes), (GCompareFunc) strcmp);

    for (GList *l = keys; l; l = l->next)
        g_ptr_array_add (out, g_strdup (l->data));
    return out;
}

void
fake_vfs_fail_at (ViVfs *vfs, guint n)
{
    FakeVfs *self = (FakeVfs *) vfs;
    self->fail_at = n;
    self->fail_later = FALSE;
    self->calls = 0;
}

void
fake_vfs_fail_from (ViVfs *vfs, guint n)
{
    fake_vfs_fail_at (vfs, n);
    ((FakeVfs *) vfs)->fail_later = TRUE;
}

void
fake_vfs_fail_op (ViVfs *vfs, const char *op)
{
    ((FakeVfs *) vfs)->fail_op = op;
}

guint
fake_vfs_n_mutations (ViVfs *vfs)
{
    return ((FakeVfs *) vfs)->calls;
}
