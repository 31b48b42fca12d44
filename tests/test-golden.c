/* test-golden.c: byte-for-byte golden files.
 *
 * Network renderers: each request tests/golden/net/CASE.xml, rendered for
 * each of the four stacks and for busybox's ifupdown (Alpine), must give
 * exactly the files under
 * tests/golden/net/CASE/STACK/ (same names, same bytes, same modes in
 * MODES), no more and no fewer.
 *
 * Distributions: the request tests/golden/distro/request.xml injected
 * through the rootfs backend into a fresh generated tree of each distro
 * (tests/make-guest-tree.sh) must change exactly the files listed in
 * tests/golden/distro/DISTRO/MANIFEST ("mode uid:gid path" of every file or
 * directory created or changed), each file equal to
 * tests/golden/distro/DISTRO/files/PATH.  The one value that varies, the
 * last-change day of shadow entries the injection touched, is replaced by
 * "DAY" before comparing.  Needs root (the trees hold files of uid 1000);
 * skipped otherwise, CI runs it as root.
 *
 * VI_UPDATE_GOLDEN=1 writes the golden files instead of comparing: review
 * the resulting `git diff` as you would a code change.
 */
#include <errno.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vi-inject.h"
#include "vi-net.h"
#include "vi-spec.h"
#include "vi-vfs.h"

static gboolean updating;

/* indexed by ViNetRenderer; the last is busybox's ifupdown */
static const char *const stacks[] = {
    NULL, "ifupdown", "networkmanager", "netplan", "networkd", "ifupdown-busybox"
};
G_STATIC_ASSERT (G_N_ELEMENTS (stacks) == VI_RENDERER_LAST + 1);

/* Compare @content with the golden file @path, or write it when updating. */
static void
check_golden (const char *path, const char *content, gsize len)
{
    g_autofree char *want = NULL;
    gsize want_len = 0;
    g_autoptr(GError) error = NULL;

    if (updating) {
        g_autofree char *dir = g_path_get_dirname (path);
        g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
        g_assert_true (g_file_set_contents (path, content, (gssize) len, &error));
        return;
    }
    if (!g_file_get_contents (path, &want, &want_len, &error))
        g_error ("golden file missing: %s (VI_UPDATE_GOLDEN=1 writes it)", path);
    if (want_len != len || memcmp (want, content, len) != 0)
        g_error ("%s differs from the golden file.\n--- golden\n%s\n--- got\n%.*s", path, want,
                 (int) len, content);
}

/* The golden directory @dir holds exactly the names in @names (plus
 * MANIFEST/MODES). */
static void
check_no_stale (const char *dir, GPtrArray *names)
{
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *n;

    if (updating || d == NULL)
        return;
    while ((n = g_dir_read_name (d)) != NULL)
        if (!g_str_equal (n, "MODES") &&
            !g_ptr_array_find_with_equal_func (names, n, g_str_equal, NULL))
            g_error ("%s/%s is golden but no longer produced", dir, n);
}

static void
test_net (gconstpointer data)
{
    const char *name = data;
    g_autofree char *xml = g_strdup_printf ("%s.xml", name);
    g_autofree char *path = g_test_build_filename (G_TEST_DIST, "golden", "net", xml, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse_file (path, NULL, &error);

    g_assert_no_error (error);
    for (ViNetRenderer r = VI_RENDERER_IFUPDOWN; r <= VI_RENDERER_LAST; r++) {
        g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "golden", "net", name,
                                                      stacks[r], NULL);
        g_autofree char *modes_path = g_build_filename (dir, "MODES", NULL);
        g_autoptr(GPtrArray) files = r == VI_RENDERER_LAST
            ? vi_net_render_ifupdown_busybox (spec->interfaces)
            : vi_net_render (r, spec->interfaces, &error);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GString) modes = g_string_new (NULL);

        g_assert_no_error (error);
        for (guint i = 0; i < files->len; i++) {
            const ViNetFile *f = files->pdata[i];
            g_autofree char *base = g_path_get_basename (f->path);
            g_autofree char *golden = g_build_filename (dir, base, NULL);

            check_golden (golden, f->content, strlen (f->content));
            g_string_append_printf (modes, "%04o %s\n", f->mode, f->path);
            g_ptr_array_add (names, g_steal_pointer (&base));
        }
        check_golden (modes_path, modes->str, modes->len);
        check_no_stale (dir, names);
    }
}

/* ---- distributions ------------------------------------------------------ */

typedef struct {
    char *sum;      /* content checksum, "" for directories */
    guint mode;
    guint uid, gid;
} Entry;

static GHashTable *walk_result;
static gsize walk_prefix;

static int
walk_one (const char *fpath, const struct stat *st, int flag, struct FTW *ftw)
{
    Entry *e = g_new0 (Entry, 1);

    if (ftw->level == 0) {
        g_free (e);
        return 0;
    }
    e->mode = st->st_mode;
    e->uid = st->st_uid;
    e->gid = st->st_gid;
    if (S_ISREG (st->st_mode)) {
        g_autofree char *c = NULL;
        gsize len = 0;
        g_assert_true (g_file_get_contents (fpath, &c, &len, NULL));
        e->sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) c, len);
    } else if (S_ISLNK (st->st_mode)) {
        char target[4096];
        ssize_t n = readlink (fpath, target, sizeof target - 1);
        g_assert_cmpint (n, >=, 0);
        target[n] = '\0';
        e->sum = g_strdup (target);
    } else {
        e->sum = g_strdup ("");
    }
    g_hash_table_insert (walk_result, g_strdup (fpath + walk_prefix), e);
    return 0;
}

static void
entry_free (Entry *e)
{
    g_free (e->sum);
    g_free (e);
}

static GHashTable *
walk (const char *root)
{
    GHashTable *h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) entry_free);
    walk_result = h;
    walk_prefix = strlen (root);
    g_assert_cmpint (nftw (root, walk_one, 16, FTW_PHYS), ==, 0);
    return h;
}

/* shadow: the last-change day (field 3) of the entries whose hash the
 * injection set is today's date; everything else is compared as is. */
static char *
normalize (const char *path, const char *content, const char *before)
{
    g_auto(GStrv) lines = NULL;
    g_autoptr(GString) out = g_string_new (NULL);

    if (!g_str_equal (path, "/etc/shadow"))
        return g_strdup (content);
    lines = g_strsplit (content, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit (lines[i], ":", -1);
        g_autofree char *joined = NULL;

        if (g_strv_length (f) > 3 && !strstr (before, lines[i])) {
            g_free (f[2]);
            f[2] = g_strdup ("DAY");
        }
        joined = g_strjoinv (":", f);
        g_string_append (out, joined);
        if (lines[i + 1])
            g_string_append_c (out, '\n');
    }
    return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_distro (gconstpointer data)
{
    const char *distro = data;
    g_autofree char *tmp = NULL;
    g_autofree char *root = NULL;
    g_autofree char *mktree = g_test_build_filename (G_TEST_DIST, "make-guest-tree.sh", NULL);
    g_autofree char *req = g_test_build_filename (G_TEST_DIST, "golden", "distro", "request.xml",
                                                  NULL);
    g_autofree char *gdir = g_test_build_filename (G_TEST_DIST, "golden", "distro", distro, NULL);
    g_autofree char *manifest_path = g_build_filename (gdir, "MANIFEST", NULL);
    g_autofree char *shadow_before = NULL;
    g_autofree char *shadow_path = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse_file (req, NULL, &error);
    g_autoptr(GHashTable) before = NULL, after = NULL;
    g_autoptr(GList) keys = NULL;
    g_autoptr(GString) manifest = g_string_new (NULL);
    ViInjectOptions opts = { 0 };
    int status = 0;

    if (geteuid () != 0) {
        g_test_skip ("needs root: the generated trees hold files of uid 1000");
        return;
    }
    g_assert_no_error (error);
    /* mkdtemp(3) template: the X's become a unique name */
    tmp = g_dir_make_tmp ("vi-golden-XXXXXX", &error);
    g_assert_no_error (error);
    root = g_build_filename (tmp, "root", NULL);
    shadow_path = g_build_filename (root, "etc", "shadow", NULL);
    const char *argv[] = { "sh", mktree, distro, root, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH |
                                 G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
                                 &error));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_true (g_file_get_contents (shadow_path, &shadow_before, NULL, NULL));
    before = walk (root);
    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (root, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (vi_inject (spec, vfs, &opts, FALSE, NULL, &error));
        g_assert_no_error (error);
    }
    after = walk (root);

    keys = g_list_sort (g_hash_table_get_keys (after), (GCompareFunc) strcmp);
    for (GList *l = keys; l; l = l->next) {
        const char *p = l->data;
        const Entry *a = g_hash_table_lookup (after, p), *b = g_hash_table_lookup (before, p);

        if (b && g_str_equal (a->sum, b->sum) && a->mode == b->mode && a->uid == b->uid &&
            a->gid == b->gid)
            continue;
        g_string_append_printf (manifest, "%06o %u:%u %s\n", a->mode, a->uid, a->gid, p);
        if (S_ISREG (a->mode)) {
            g_autofree char *full = g_build_filename (root, p, NULL);
            g_autofree char *golden = g_build_filename (gdir, "files", p, NULL);
            g_autofree char *content = NULL, *norm = NULL;

            g_assert_true (g_file_get_contents (full, &content, NULL, NULL));
            norm = normalize (p, content, shadow_before);
            check_golden (golden, norm, strlen (norm));
        }
    }
    /* and nothing disappeared */
    for (GList *l = g_hash_table_get_keys (before); l; l = g_list_delete_link (l, l))
        if (!g_hash_table_contains (after, l->data))
            g_error ("%s: %s disappeared", distro, (char *) l->data);
    check_golden (manifest_path, manifest->str, manifest->len);

    {
        g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
        g_assert_cmpint (system (cmd), ==, 0);
    }
}

int
main (int argc, char **argv)
{
    static const char *const nets[] = { "static4", "static6", "dhcp", "dhcp-static", "mac", "two", "multi" };
    static const char *const distros[] = { "debian12", "ubuntu2204", "fedora39", "alpine319" };

    g_test_init (&argc, &argv, NULL);
    updating = g_strcmp0 (g_getenv ("VI_UPDATE_GOLDEN"), "1") == 0;
    for (guint i = 0; i < G_N_ELEMENTS (nets); i++) {
        g_autofree char *p = g_strdup_printf ("/golden/net/%s", nets[i]);
        g_test_add_data_func (p, nets[i], test_net);
    }
    for (guint i = 0; i < G_N_ELEMENTS (distros); i++) {
        g_autofree char *p = g_strdup_printf ("/golden/distro/%s", distros[i]);
        g_test_add_data_func (p, distros[i], test_distro);
    }
    return g_test_run ();
}
