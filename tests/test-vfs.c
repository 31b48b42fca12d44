/* test-vfs.c: the VFS dispatchers (vi-vfs.c) over a recording backend:
 * no backend call ever sees a path that is not a checked guest path, modes
 * reach it masked to 07777, and the _opt/exists helpers turn "not found"
 * (and only that) into an answer. */
#include <string.h>

#include "vi-error.h"
#include "vi-vfs.h"

typedef struct {
    ViVfs parent;
    GString *log;               /* "op path mode;" per backend call */
    int fail_code;              /* -1: succeed; else fail with this VI_ERROR code */
    gboolean *freed;
} MockVfs;

static gboolean
mock_call (ViVfs *vfs, const char *op, const char *path, guint mode, GError **error)
{
    MockVfs *m = (MockVfs *) vfs;

    g_string_append_printf (m->log, "%s %s %o;", op, path ? path : "-", mode);
    if (m->fail_code >= 0)
        return vi_throw (error, m->fail_code, "mock %s failed", op);
    return TRUE;
}

static gboolean
mock_read_file (ViVfs *vfs, const char *path, gsize max, GBytes **out, GError **error)
{
    if (!mock_call (vfs, "read", path, 0, error))
        return FALSE;
    *out = g_bytes_new_static ("data", 4);
    return TRUE;
}

static gboolean
mock_write_file (ViVfs *vfs, const char *path, GBytes *content, guint mode, guint32 uid,
                 guint32 gid, GError **error)
{
    return mock_call (vfs, "write", path, mode, error);
}

static gboolean
mock_mkdir_p (ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid,
              GPtrArray *created, GError **error)
{
    return mock_call (vfs, "mkdir", path, mode, error);
}

static gboolean
mock_chmod (ViVfs *vfs, const char *path, guint mode, GError **error)
{
    return mock_call (vfs, "chmod", path, mode, error);
}

static gboolean
mock_chown (ViVfs *vfs, const char *path, guint32 uid, guint32 gid, GError **error)
{
    return mock_call (vfs, "chown", path, 0, error);
}

static gboolean
mock_stat (ViVfs *vfs, const char *path, ViStat *out, GError **error)
{
    if (!mock_call (vfs, "stat", path, 0, error))
        return FALSE;
    *out = (ViStat) { .type = VI_FILE_TYPE_REGULAR, .mode = 0644, .nlink = 1 };
    return TRUE;
}

static gboolean
mock_rmdir (ViVfs *vfs, const char *path, GError **error)
{
    return mock_call (vfs, "rmdir", path, 0, error);
}

static gboolean
mock_list_dir (ViVfs *vfs, const char *path, guint max, GPtrArray **out_names, GError **error)
{
    static const char *const names[] = { "b", "a", "B", "a.d", "10", "9" };

    g_assert_null (*out_names);         /* the dispatcher cleared it */
    if (!mock_call (vfs, "list", path, 0, error))
        return FALSE;
    *out_names = g_ptr_array_new_with_free_func (g_free);
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        g_ptr_array_add (*out_names, g_strdup (names[i]));
    return TRUE;
}

static gboolean
mock_discard (ViVfs *vfs, GError **error)
{
    return mock_call (vfs, "discard", NULL, 0, error);
}

static gboolean
mock_commit (ViVfs *vfs, GError **error)
{
    return mock_call (vfs, "commit", NULL, 0, error);
}

static gboolean
mock_set_label (ViVfs *vfs, const char *path, const char *context, GError **error)
{
    return mock_call (vfs, context, path, 0, error);
}

static void
mock_free (ViVfs *vfs)
{
    MockVfs *m = (MockVfs *) vfs;

    if (m->freed)
        *m->freed = TRUE;
    g_string_free (m->log, TRUE);
    g_free (m);
}

static const ViVfsOps mock_ops = {
    .name = "mock",
    .read_file = mock_read_file,
    .write_file = mock_write_file,
    .mkdir_p = mock_mkdir_p,
    .chmod = mock_chmod,
    .chown = mock_chown,
    .stat = mock_stat,
    .rmdir = mock_rmdir,
    .list_dir = mock_list_dir,
    .discard = mock_discard,
    .commit = mock_commit,
    .set_label = mock_set_label,
    .free = mock_free,
};

static MockVfs *
mock_new (const ViVfsOps *ops)
{
    MockVfs *m = g_new0 (MockVfs, 1);

    m->parent.ops = ops;
    m->log = g_string_new (NULL);
    m->fail_code = -1;
    return m;
}

/* Every dispatcher that takes a path, called on @path; what it returned. */
static gboolean
call_op (ViVfs *vfs, const char *op, const char *path, GError **error)
{
    g_autoptr(GBytes) b = NULL;
    g_autoptr(GBytes) content = g_bytes_new_static ("x", 1);
    g_autoptr(GPtrArray) names = NULL;
    ViStat st;
    gboolean exists;

    if (g_str_equal (op, "read"))
        return vi_vfs_read_file (vfs, path, 100, &b, error);
    if (g_str_equal (op, "read-opt"))
        return vi_vfs_read_file_opt (vfs, path, 100, &b, error);
    if (g_str_equal (op, "write"))
        return vi_vfs_write_file (vfs, path, content, 0644, 0, 0, error);
    if (g_str_equal (op, "mkdir"))
        return vi_vfs_mkdir_p (vfs, path, 0755, 0, 0, NULL, error);
    if (g_str_equal (op, "chmod"))
        return vi_vfs_chmod (vfs, path, 0600, error);
    if (g_str_equal (op, "chown"))
        return vi_vfs_chown (vfs, path, 1, 1, error);
    if (g_str_equal (op, "stat"))
        return vi_vfs_stat (vfs, path, &st, error);
    if (g_str_equal (op, "exists"))
        return vi_vfs_exists (vfs, path, &exists, error);
    if (g_str_equal (op, "rmdir"))
        return vi_vfs_rmdir (vfs, path, error);
    if (g_str_equal (op, "list"))
        return vi_vfs_list_dir (vfs, path, 10, &names, error);
    if (g_str_equal (op, "list-opt"))
        return vi_vfs_list_dir_opt (vfs, path, 10, &names, error);
    if (g_str_equal (op, "label"))
        return vi_vfs_set_label (vfs, path, "system_u:object_r:etc_t:s0", error);
    g_assert_not_reached ();
}

static const char *const path_ops[] = {
    "read", "read-opt", "write", "mkdir", "chmod", "chown", "stat", "exists", "rmdir", "list",
    "list-opt", "label",
};

static const char *const bad_paths[] = {
    "", "etc/passwd", "/", "/etc/", "//etc", "/etc/../root", "/etc/./x", "/etc/..", "/a\nb",
    "/a\x01", "/\xff",
};

/* A path that is no guest path never reaches the backend: VI_ERROR_INVALID
 * "guest path: ...". */
static void
test_bad_paths (gconstpointer data)
{
    const char *op = data;

    for (guint i = 0; i < G_N_ELEMENTS (bad_paths); i++) {
        MockVfs *m = mock_new (&mock_ops);
        g_autoptr(ViVfs) vfs = &m->parent;
        g_autoptr(GError) error = NULL;

        g_assert_false (call_op (vfs, op, bad_paths[i], &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
        g_assert_true (g_str_has_prefix (error->message, "guest path: "));
        g_assert_cmpstr (m->log->str, ==, "");
    }
    {
        MockVfs *m = mock_new (&mock_ops);
        g_autoptr(ViVfs) vfs = &m->parent;
        g_autoptr(GError) error = NULL;

        g_assert_false (call_op (vfs, op, NULL, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
        g_assert_cmpstr (m->log->str, ==, "");
    }
}

/* A good path reaches the backend as given, once. */
static void
test_good_path (gconstpointer data)
{
    const char *op = data;
    MockVfs *m = mock_new (&mock_ops);
    g_autoptr(ViVfs) vfs = &m->parent;
    g_autoptr(GError) error = NULL;

    g_assert_true (call_op (vfs, op, "/etc/caf\xc3\xa9 x", &error));
    g_assert_no_error (error);
    g_assert_nonnull (strstr (m->log->str, " /etc/caf\xc3\xa9 x "));
    g_assert_cmpuint (strlen (m->log->str), ==, strcspn (m->log->str, ";") + 1);
}

static void
test_modes_masked (void)
{
    MockVfs *m = mock_new (&mock_ops);
    g_autoptr(ViVfs) vfs = &m->parent;
    g_autoptr(GBytes) content = g_bytes_new_static ("x", 1);

    g_assert_true (vi_vfs_write_file (vfs, "/f", content, 0100644, 0, 0, NULL));
    g_assert_true (vi_vfs_mkdir_p (vfs, "/d", 040755, 0, 0, NULL, NULL));
    g_assert_true (vi_vfs_chmod (vfs, "/f", 0177777, NULL));
    g_assert_true (vi_vfs_chmod (vfs, "/f", 04755, NULL));
    g_assert_cmpstr (m->log->str, ==, "write /f 644;mkdir /d 755;chmod /f 7777;chmod /f 4755;");
}

/* exists and the _opt helpers: "not found" is an answer, any other error
 * is passed on as it is. */
static void
test_not_found (void)
{
    MockVfs *m = mock_new (&mock_ops);
    g_autoptr(ViVfs) vfs = &m->parent;
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) b = NULL;
    g_autoptr(GPtrArray) names = NULL;
    gboolean exists = FALSE;

    g_assert_true (vi_vfs_exists (vfs, "/x", &exists, &error));
    g_assert_true (exists);
    g_assert_true (vi_vfs_read_file_opt (vfs, "/x", 10, &b, &error));
    g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "data", 4);
    g_clear_pointer (&b, g_bytes_unref);

    m->fail_code = VI_ERROR_NOT_FOUND;
    g_assert_true (vi_vfs_exists (vfs, "/x", &exists, &error));
    g_assert_false (exists);
    g_assert_true (vi_vfs_read_file_opt (vfs, "/x", 10, &b, &error));
    g_assert_null (b);
    g_assert_true (vi_vfs_list_dir_opt (vfs, "/x", 10, &names, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (names->len, ==, 0);
    g_clear_pointer (&names, g_ptr_array_unref);
    /* the plain calls pass "not found" on */
    g_assert_false (vi_vfs_read_file (vfs, "/x", 10, &b, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_NOT_FOUND);
    g_clear_error (&error);

    m->fail_code = VI_ERROR_GUEST;
    exists = TRUE;
    g_assert_false (vi_vfs_exists (vfs, "/x", &exists, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_cmpstr (error->message, ==, "mock stat failed");
    g_clear_error (&error);
    g_assert_false (vi_vfs_read_file_opt (vfs, "/x", 10, &b, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_cmpstr (error->message, ==, "mock read failed");
    g_clear_error (&error);
    g_assert_false (vi_vfs_list_dir_opt (vfs, "/x", 10, &names, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_null (names);
}

/* list_dir_opt sorts by strcmp (the order the guests' own readers use);
 * list_dir leaves the backend's order. */
static void
test_list_sorted (void)
{
    MockVfs *m = mock_new (&mock_ops);
    g_autoptr(ViVfs) vfs = &m->parent;
    g_autoptr(GPtrArray) sorted = NULL;
    g_autoptr(GPtrArray) raw = NULL;
    g_autofree char *s = NULL, *r = NULL;

    g_assert_true (vi_vfs_list_dir_opt (vfs, "/d", 10, &sorted, NULL));
    g_ptr_array_add (sorted, NULL);
    s = g_strjoinv (",", (char **) sorted->pdata);
    g_assert_cmpstr (s, ==, "10,9,B,a,a.d,b");
    g_assert_true (vi_vfs_list_dir (vfs, "/d", 10, &raw, NULL));
    g_ptr_array_add (raw, NULL);
    r = g_strjoinv (",", (char **) raw->pdata);
    g_assert_cmpstr (r, ==, "b,a,B,a.d,10,9");
}

static void
test_labels (void)
{
    static ViVfsOps mock_ops_nolabel;
    MockVfs *with = mock_new (&mock_ops);
    MockVfs *without = NULL;
    g_autoptr(ViVfs) v1 = &with->parent;
    g_autoptr(ViVfs) v2 = NULL;
    g_autoptr(GError) error = NULL;

    mock_ops_nolabel = mock_ops;
    mock_ops_nolabel.name = "mock-nolabel";
    mock_ops_nolabel.set_label = NULL;
    without = mock_new (&mock_ops_nolabel);
    v2 = &without->parent;

    g_assert_true (vi_vfs_can_set_label (v1));
    g_assert_true (vi_vfs_set_label (v1, "/etc/motd", "system_u:object_r:etc_t:s0", &error));
    g_assert_cmpstr (with->log->str, ==, "system_u:object_r:etc_t:s0 /etc/motd 0;");

    g_assert_false (vi_vfs_can_set_label (v2));
    g_assert_false (vi_vfs_set_label (v2, "/etc/motd", "x", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_UNSUPPORTED);
    g_assert_cmpstr (error->message, ==, "the mock-nolabel backend cannot set SELinux labels");
    g_assert_cmpstr (without->log->str, ==, "");
}

static void
test_batch_and_free (void)
{
    MockVfs *m = mock_new (&mock_ops);
    ViVfs *vfs = &m->parent;
    gboolean freed = FALSE;
    g_autoptr(GError) error = NULL;

    m->freed = &freed;
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_true (vi_vfs_discard (vfs, &error));
    g_assert_cmpstr (m->log->str, ==, "commit - 0;discard - 0;");
    m->fail_code = VI_ERROR_FAILED;
    g_assert_false (vi_vfs_commit (vfs, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    vi_vfs_free (vfs);
    g_assert_true (freed);
    vi_vfs_free (NULL);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (path_ops); i++) {
        g_autofree char *bad = g_strdup_printf ("/vfs/bad-paths/%s", path_ops[i]);
        g_autofree char *good = g_strdup_printf ("/vfs/good-path/%s", path_ops[i]);

        g_test_add_data_func (bad, path_ops[i], test_bad_paths);
        g_test_add_data_func (good, path_ops[i], test_good_path);
    }
    g_test_add_func ("/vfs/modes-masked", test_modes_masked);
    g_test_add_func ("/vfs/not-found", test_not_found);
    g_test_add_func ("/vfs/list-sorted", test_list_sorted);
    g_test_add_func ("/vfs/labels", test_labels);
    g_test_add_func ("/vfs/batch-and-free", test_batch_and_free);
    return g_test_run ();
}
