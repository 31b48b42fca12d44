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
 * tests/golden/distro/DISTRO/MANIFEST ("mode uid:gid path" of every file,
 * directory or link created or changed, a link with "-> target", then
 * "removed path" of every one removed), each file equal to
 * tests/golden/distro/DISTRO/files/PATH.  The one value that varies, the
 * last-change day of shadow entries the injection touched, is replaced by
 * "DAY" before comparing.  A second run changes no byte.  Needs root (the trees hold files of uid 1000);
 * skipped otherwise, CI runs it as root.
 *
 * The guest's own network configuration: each tests/golden/prior/STACK/
 * holds a guest tree without network configuration (base/), the guest's
 * own configuration of the interfaces (prior/, on top of base/), and a
 * request.xml.  Injected through the fake VFS into base + prior, the
 * request must change exactly the files in MANIFEST ("mode uid:gid path"),
 * each equal to files/PATH; a second run changes nothing; vi_net_unmark()
 * gives every edited guest file back as it was; and, the positive
 * control, the same request on base/ alone must write the same files of
 * ours and, where the stack's own tool is installed (ifup --no-act,
 * netplan's generator), give the requested interfaces exactly the same
 * configuration.
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

#include "fake-vfs.h"
#include "vi-inject.h"
#include "vi-net.h"
#include "vi-spec.h"
#include "vi-vfs.h"

static gboolean updating;

static gint
cmp_names_ptr (gconstpointer a, gconstpointer b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

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
 * injection set is today's date, and so is the digest of shadow in the
 * guest record; everything else is compared as is. */
static char *
normalize (const char *path, const char *content, const char *before)
{
    g_auto(GStrv) lines = NULL;
    g_autoptr(GString) out = g_string_new (NULL);

    if (g_str_equal (path, VI_RECORD_PATH)) {
        /* the record holds the digest of that shadow, day included */
        const char *item = strstr (content, "\"path\" : \"/etc/shadow\"");
        const char *after = item ? strstr (item, "\"after-sha256\" : \"") : NULL;
        char *copy = g_strdup (content);

        if (after) {
            after += strlen ("\"after-sha256\" : \"");
            memset (copy + (after - content), 'D', 64);
        }
        return copy;
    }
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
        g_string_append_printf (manifest, "%06o %u:%u %s", a->mode, a->uid, a->gid, p);
        if (S_ISLNK (a->mode))
            g_string_append_printf (manifest, " -> %s", a->sum);
        g_string_append_c (manifest, '\n');
        if (S_ISREG (a->mode)) {
            g_autofree char *full = g_build_filename (root, p, NULL);
            g_autofree char *golden = g_build_filename (gdir, "files", p, NULL);
            g_autofree char *content = NULL, *norm = NULL;

            g_assert_true (g_file_get_contents (full, &content, NULL, NULL));
            norm = normalize (p, content, shadow_before);
            check_golden (golden, norm, strlen (norm));
        }
    }
    /* a second run changes no byte */
    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (root, NULL, &error);
        g_autoptr(GHashTable) again = NULL;
        g_auto(ViInjectResult) result = { 0 };

        g_assert_no_error (error);
        g_assert_true (vi_inject (spec, vfs, &opts, FALSE, &result, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (result.changes, ==, 0);
        again = walk (root);
        for (GList *l = keys; l; l = l->next) {
            const Entry *a = g_hash_table_lookup (after, l->data);
            const Entry *b = g_hash_table_lookup (again, l->data);

            if (b == NULL || !g_str_equal (a->sum, b->sum) || a->mode != b->mode ||
                a->uid != b->uid || a->gid != b->gid)
                g_error ("%s: the second run changed %s", distro, (char *) l->data);
        }
        g_assert_cmpuint (g_hash_table_size (again), ==, g_hash_table_size (after));
    }
    /* what the request removed (a clone's host keys and seed) */
    g_clear_pointer (&keys, g_list_free);
    keys = g_list_sort (g_hash_table_get_keys (before), (GCompareFunc) strcmp);
    for (GList *l = keys; l; l = l->next)
        if (!g_hash_table_contains (after, l->data))
            g_string_append_printf (manifest, "removed %s\n", (char *) l->data);
    check_golden (manifest_path, manifest->str, manifest->len);

    /* a second run changes nothing */
    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (root, NULL, &error);
        g_autoptr(ViPlan) plan = vi_plan_build (spec, vfs, &opts, &error);

        g_assert_no_error (error);
        g_assert_cmpuint (vi_plan_n_changes (plan), ==, 0);
    }

    {
        g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
        g_assert_cmpint (system (cmd), ==, 0);
    }
}

/* ---- the guest's own configuration ----------------------------------- */

static void
load_tree (ViVfs *vfs, const char *top, const char *rel)
{
    g_autofree char *dir = g_build_filename (top, rel, NULL);
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name (d))) {
        g_autofree char *r = g_build_filename (rel, name, NULL);
        g_autofree char *full = g_build_filename (top, r, NULL);
        g_autofree char *guest = g_strconcat ("/", r, NULL);

        if (g_file_test (full, G_FILE_TEST_IS_DIR)) {
            fake_vfs_add_dir (vfs, guest, 0755, 0, 0);
            load_tree (vfs, top, r);
        } else {
            g_autofree char *c = NULL;
            guint mode = strstr (guest, "bin/") ? 0755
                       : (strstr (guest, "/netplan/") || strstr (guest, "system-connections/"))
                       ? 0600 : 0644;

            g_assert_true (g_file_get_contents (full, &c, NULL, NULL));
            fake_vfs_add_file (vfs, guest, c, mode, 0, 0);
        }
    }
}

/* A fake guest of tests/golden/prior/@stack: base/, then prior/ over it. */
static ViVfs *
prior_guest (const char *stack, gboolean with_prior)
{
    ViVfs *vfs = fake_vfs_new ();
    g_autofree char *base = g_test_build_filename (G_TEST_DIST, "golden", "prior", stack, "base",
                                                   NULL);
    g_autofree char *prior = g_test_build_filename (G_TEST_DIST, "golden", "prior", stack, "prior",
                                                    NULL);

    load_tree (vfs, base, "");
    if (with_prior)
        load_tree (vfs, prior, "");
    return vfs;
}

/* path -> content (NULL for a directory) of everything in @vfs */
static GHashTable *
fake_contents (ViVfs *vfs)
{
    GHashTable *h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(GPtrArray) paths = fake_vfs_paths (vfs);

    for (guint i = 0; i < paths->len; i++)
        g_hash_table_insert (h, g_strdup (paths->pdata[i]),
                             g_strdup (fake_vfs_get (vfs, paths->pdata[i])));
    return h;
}

/* Writes the files of @vfs under @dir (a guest path) to @root, with "source
 * /etc/" made "source ROOT/etc/" so that ifup reads them there. */
static void
materialize (ViVfs *vfs, const char *dir, const char *root)
{
    g_autoptr(GPtrArray) paths = fake_vfs_paths (vfs);
    g_autofree char *prefix = g_strconcat (dir, "/", NULL);

    for (guint i = 0; i < paths->len; i++) {
        const char *p = paths->pdata[i];
        const char *c = fake_vfs_get (vfs, p);
        g_autofree char *host = g_build_filename (root, p, NULL);
        g_autofree char *parent = g_path_get_dirname (host);
        g_autofree char *src = g_strdup_printf ("source %s/etc/", root);
        g_autofree char *srcdir = g_strdup_printf ("source-directory %s/etc/", root);
        g_auto(GStrv) a = NULL, b = NULL;
        g_autofree char *text = NULL, *text2 = NULL;

        if (!g_str_has_prefix (p, prefix) || c == NULL)
            continue;
        g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
        a = g_strsplit (c, "source /etc/", -1);
        text = g_strjoinv (src, a);
        b = g_strsplit (text, "source-directory /etc/", -1);
        text2 = g_strjoinv (srcdir, b);
        g_assert_true (g_file_set_contents (host, text2, -1, NULL));
        g_assert_cmpint (g_chmod (host, 0600), ==, 0);
    }
}

static char *
run_tool (const char *const *argv)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(GError) error = NULL;
    int status = 0;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 &out, &err, &status, &error));
    if (!g_spawn_check_wait_status (status, NULL))
        g_error ("%s failed: %s%s", argv[0], out, err);
    return g_strconcat (out, err, NULL);
}

static void
rm_rf (const char *dir)
{
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
    g_assert_cmpint (system (cmd), ==, 0);
}

/* What the stack's own tool makes of @vfs for the interfaces of @spec
 * (ifup --no-act; netplan's generator), or NULL when it is not installed
 * or the stack has none that runs offline. */
static char *
consumer_view (const char *stack, ViVfs *vfs, const ViSpec *spec)
{
    g_autofree char *root = NULL;
    GString *s;

    if (g_str_equal (stack, "ifupdown") && g_file_test ("/usr/sbin/ifup", G_FILE_TEST_IS_EXECUTABLE)) {
        g_autofree char *file = NULL;

        root = g_dir_make_tmp ("vi-prior-XXXXXX", NULL);
        materialize (vfs, "/etc/network", root);
        file = g_build_filename (root, "etc", "network", "interfaces", NULL);
        s = g_string_new (NULL);
        for (guint i = 0; i < spec->interfaces->len; i++) {
            const char *name = ((ViInterface *) spec->interfaces->pdata[i])->name;
            const char *argv[] = { "ifup", "--no-act", "-v", "-i", file, name, NULL };
            g_autofree char *out = run_tool (argv);
            g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

            /* which files it read differs by design; what it does must not */
            g_string_append_printf (s, "== %s\n", name);
            for (guint k = 0; lines[k]; k++)
                if (!g_str_has_prefix (lines[k], "ifup: parsing file "))
                    g_string_append_printf (s, "%s\n", lines[k]);
        }
        rm_rf (root);
        return g_string_free (s, FALSE);
    }
    if (g_str_equal (stack, "netplan") &&
        g_file_test ("/usr/lib/netplan/generate", G_FILE_TEST_IS_EXECUTABLE)) {
        const char *argv[] = { "/usr/lib/netplan/generate", "--root-dir", NULL, NULL };
        g_autofree char *out = NULL;

        root = g_dir_make_tmp ("vi-prior-XXXXXX", NULL);
        materialize (vfs, "/etc/netplan", root);
        argv[2] = root;
        out = run_tool (argv);
        s = g_string_new (NULL);
        for (guint i = 0; i < spec->interfaces->len; i++) {
            const char *name = ((ViInterface *) spec->interfaces->pdata[i])->name;
            g_autofree char *base = g_strdup_printf ("10-netplan-%s.network", name);
            g_autofree char *p = g_build_filename (root, "run", "systemd", "network", base, NULL);
            g_autofree char *c = NULL;

            g_assert_true (g_file_get_contents (p, &c, NULL, NULL));
            /* the configuration, not [Match]: a guest's set-name (as
             * cloud-init writes it) stays, and adds its Name= there */
            g_assert_nonnull (strstr (c, "[Network]"));
            g_string_append_printf (s, "== %s\n%s", base, strstr (c, "[Network]"));
        }
        rm_rf (root);
        return g_string_free (s, FALSE);
    }
    return NULL;
}

/* What each stack must show whatever tool there is: networkd's first
 * matching file for each NIC is ours; NetworkManager's only profile that
 * may autoconnect on it is ours; busybox's file brings each interface up
 * once and has no other stanza of it. */
static void
check_structure (const char *stack, ViVfs *vfs, const ViSpec *spec)
{
    g_autoptr(GPtrArray) paths = fake_vfs_paths (vfs);

    for (guint n = 0; n < spec->interfaces->len; n++) {
        const ViInterface *i = spec->interfaces->pdata[n];

        if (g_str_equal (stack, "networkd")) {
            g_autofree char *ours = vi_net_networkd_path (i);
            g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

            for (guint k = 0; k < paths->len; k++) {
                const char *p = paths->pdata[k];
                const char *c = fake_vfs_get (vfs, p);

                /* (our file of another interface is by name or by a
                 * different MAC: the request's own business) */
                if (g_str_has_suffix (p, ".network") && c && vi_net_networkd_may_match (c, i) &&
                    (g_str_equal (p, ours) || !strstr (p, "/0-virt-inject-")))
                    g_ptr_array_add (names, g_path_get_basename (p));
            }
            g_ptr_array_sort (names, (GCompareFunc) cmp_names_ptr);
            g_assert_cmpuint (names->len, >, 0);
            g_assert_true (g_str_has_suffix (ours, names->pdata[0]));
        } else if (g_str_equal (stack, "networkmanager")) {
            for (guint k = 0; k < paths->len; k++) {
                const char *p = paths->pdata[k];
                const char *c = fake_vfs_get (vfs, p);
                g_autoptr(GKeyFile) kf = g_key_file_new ();
                g_autofree char *ifname = NULL, *mac = NULL, *id = NULL;
                g_autoptr(GError) e = NULL;
                gboolean autoconnect;

                if (!strstr (p, "/system-connections/") || c == NULL)
                    continue;
                g_assert_true (g_key_file_load_from_data (kf, c, -1, G_KEY_FILE_NONE, NULL));
                ifname = g_key_file_get_string (kf, "connection", "interface-name", NULL);
                mac = g_key_file_get_string (kf, "ethernet", "mac-address", NULL);
                id = g_key_file_get_string (kf, "connection", "id", NULL);
                autoconnect = g_key_file_get_boolean (kf, "connection", "autoconnect", &e);
                if (e != NULL)
                    autoconnect = TRUE;             /* NetworkManager's default */
                if (!autoconnect || !((ifname && g_str_equal (ifname, i->name) && !i->mac) ||
                                      (mac && i->mac && g_ascii_strcasecmp (mac, i->mac) == 0) ||
                                      (ifname && g_str_equal (ifname, i->name))))
                    continue;
                if (!g_str_has_prefix (id, "virt-inject-"))
                    g_error ("%s may still autoconnect on %s:\n%s", p, i->name, c);
                g_assert_cmpint (g_key_file_get_integer (kf, "connection", "autoconnect-priority",
                                                         NULL), ==, 999);
            }
            for (guint k = 0; k < paths->len; k++) {
                const char *p = paths->pdata[k];
                g_autofree char *base = g_path_get_basename (p);
                g_autofree char *device = g_strdup_printf ("DEVICE=%s\n", i->name);
                const char *c = fake_vfs_get (vfs, p);

                /* ifcfg-rh: bound to the NIC by name, so never on at boot */
                if (strstr (p, "/network-scripts/ifcfg-") && c && strstr (c, device) &&
                    !g_str_has_suffix (c, "\nONBOOT=no\n"))
                    g_error ("%s may still come up on %s:\n%s", p, i->name, c);
            }
        } else if (g_str_equal (stack, "ifupdown-busybox")) {
            g_auto(GStrv) lines = g_strsplit (fake_vfs_get (vfs, "/etc/network/interfaces"), "\n", -1);
            g_autofree char *auto_line = g_strdup_printf ("auto %s", i->name);
            g_autofree char *iface = g_strdup_printf ("iface %s ", i->name);
            guint autos = 0;
            gboolean ours = FALSE;

            for (guint k = 0; lines[k]; k++) {
                ours |= g_str_equal (lines[k], "# BEGIN virt-inject");
                autos += g_str_equal (lines[k], auto_line);
                if (!ours && g_str_has_prefix (lines[k] + strspn (lines[k], " \t"), iface))
                    g_error ("a stanza of %s outside ours: %s", i->name, lines[k]);
            }
            g_assert_cmpuint (autos, ==, 1);
        }
    }
}

static void
test_prior (gconstpointer data)
{
    const char *stack = data;
    g_autofree char *req = g_test_build_filename (G_TEST_DIST, "golden", "prior", stack,
                                                  "request.xml", NULL);
    g_autofree char *gdir = g_test_build_filename (G_TEST_DIST, "golden", "prior", stack, NULL);
    g_autofree char *manifest_path = g_build_filename (gdir, "MANIFEST", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse_file (req, NULL, &error);
    g_autoptr(ViVfs) vfs = NULL, control = NULL;
    g_autoptr(GHashTable) before = NULL, after = NULL, control_before = NULL, control_after = NULL;
    g_autoptr(GPtrArray) paths = NULL;
    g_autoptr(GString) manifest = g_string_new (NULL);
    g_autoptr(ViPlan) again = NULL;
    g_autofree char *view = NULL, *control_view = NULL;

    g_assert_no_error (error);
    vfs = prior_guest (stack, TRUE);
    before = fake_contents (vfs);
    g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_no_error (error);
    after = fake_contents (vfs);

    paths = fake_vfs_paths (vfs);
    for (guint k = 0; k < paths->len; k++) {
        const char *p = paths->pdata[k];
        const char *a = g_hash_table_lookup (after, p);
        gboolean existed = g_hash_table_contains (before, p);
        ViStat st;

        if (existed && g_strcmp0 (a, g_hash_table_lookup (before, p)) == 0)
            continue;
        g_assert_true (vi_vfs_stat (vfs, p, &st, NULL));
        g_string_append_printf (manifest, "%04o %u:%u %s\n", st.mode, st.uid, st.gid, p);
        if (a) {
            g_autofree char *golden = g_build_filename (gdir, "files", p, NULL);
            check_golden (golden, a, strlen (a));
        }
        /* every guest file edited comes back as it was */
        if (existed && a) {
            g_autofree char *back = vi_net_unmark (a);
            g_assert_cmpstr (back, ==, g_hash_table_lookup (before, p));
        }
    }
    check_golden (manifest_path, manifest->str, manifest->len);

    /* a second run changes nothing */
    again = vi_plan_build (spec, vfs, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (vi_plan_n_changes (again), ==, 0);

    /* the positive control: the guest without its own configuration gets
     * the same files of ours, and the same configuration */
    control = prior_guest (stack, FALSE);
    control_before = fake_contents (control);
    g_assert_true (vi_inject (spec, control, NULL, FALSE, NULL, &error));
    g_assert_no_error (error);
    control_after = fake_contents (control);
    for (guint k = 0; k < paths->len; k++) {
        const char *p = paths->pdata[k];

        /* (but the guest record: it says what was done, which differs) */
        if (!g_hash_table_contains (before, p) && !g_str_has_prefix (p, VI_RECORD_DIR "/"))
            g_assert_cmpstr (g_hash_table_lookup (control_after, p), ==,
                             g_hash_table_lookup (after, p));
    }
    check_structure (stack, vfs, spec);
    check_structure (stack, control, spec);
    view = consumer_view (stack, vfs, spec);
    control_view = consumer_view (stack, control, spec);
    if (view) {
        g_test_message ("%s", view);
        g_assert_cmpstr (view, ==, control_view);
    } else if (g_str_equal (stack, "ifupdown") || g_str_equal (stack, "netplan")) {
        g_test_message ("%s: its tool is not installed, the consumer check did not run", stack);
    }

    /* the network dropped from the request (issue #17): every file of the
     * guest back byte for byte, every file of ours gone, nothing else */
    {
        static const char xml[] = "<vi:inject xmlns:vi='" VI_SPEC_NS "'>"
                                  "<vi:file path='/etc/dropped'>x&#10;</vi:file></vi:inject>";
        g_autoptr(ViSpec) none = vi_spec_parse (xml, sizeof xml - 1, NULL, &error);
        g_autoptr(GHashTable) dropped = NULL;
        g_autoptr(GPtrArray) now = NULL;

        g_assert_no_error (error);
        g_assert_true (vi_inject (none, vfs, NULL, FALSE, NULL, &error));
        g_assert_no_error (error);
        dropped = fake_contents (vfs);
        now = fake_vfs_paths (vfs);
        for (guint k = 0; k < now->len; k++) {
            const char *p = now->pdata[k];

            if (g_str_has_prefix (p, VI_RECORD_DIR) || g_str_equal (p, "/etc/dropped") ||
                g_str_equal (p, "/var") || g_str_equal (p, "/var/lib"))
                continue;
            if (!g_hash_table_contains (before, p))
                g_error ("%s: left after the network was dropped", p);
            g_assert_cmpstr (g_hash_table_lookup (dropped, p), ==, g_hash_table_lookup (before, p));
        }
        g_assert_cmpuint (g_hash_table_size (dropped), >=, g_hash_table_size (before));
    }
}

int
main (int argc, char **argv)
{
    static const char *const nets[] = { "static4", "static6", "dhcp", "dhcp-static", "mac", "two", "multi",
                                        "routes", "routes-dhcp" };
    static const char *const distros[] = { "debian12", "ubuntu2204", "fedora39", "alpine319" };
    static const char *const priors[] = { "ifupdown", "ifupdown-busybox", "networkd", "netplan",
                                          "networkmanager" };

    g_test_init (&argc, &argv, NULL);
    updating = g_strcmp0 (g_getenv ("VI_UPDATE_GOLDEN"), "1") == 0;
    for (guint i = 0; i < G_N_ELEMENTS (nets); i++) {
        g_autofree char *p = g_strdup_printf ("/golden/net/%s", nets[i]);
        g_test_add_data_func (p, nets[i], test_net);
    }
    for (guint i = 0; i < G_N_ELEMENTS (priors); i++) {
        g_autofree char *p = g_strdup_printf ("/golden/prior/%s", priors[i]);
        g_test_add_data_func (p, priors[i], test_prior);
    }
    for (guint i = 0; i < G_N_ELEMENTS (distros); i++) {
        g_autofree char *p = g_strdup_printf ("/golden/distro/%s", distros[i]);
        g_test_add_data_func (p, distros[i], test_distro);
    }
    return g_test_run ();
}
