/* test-rootfs-hostile.c: the root-directory backend against hostile trees.
 *
 * Every case builds a guest tree and, beside it, a "host" directory with
 * canary files.  After the VFS calls, every canary must be byte- and
 * mode-identical: nothing the guest planted (symlinks at any component,
 * "..", /proc magic links, hard links, FIFOs, devices, bind mounts, a
 * racing rename) may make the backend touch anything outside the tree, and
 * nothing may hang (alarm).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "vi-error.h"
#include "vi-fd.h"
#include "vi-inject.h"
#include "vi-spec.h"
#include "vi-vfs.h"

typedef struct {
    char *top;
    char *root;     /* guest tree */
    char *host;     /* outside the tree */
} Fixture;

static void
mkdirs (const char *base, const char *rel)
{
    g_autofree char *p = g_build_filename (base, rel, NULL);
    g_assert_cmpint (g_mkdir_with_parents (p, 0755), ==, 0);
}

static void
put (const char *base, const char *rel, const char *content, int mode)
{
    g_autofree char *p = g_build_filename (base, rel, NULL);
    g_assert_true (g_file_set_contents (p, content, -1, NULL));
    g_assert_cmpint (g_chmod (p, mode), ==, 0);
}

static void
link_to (const char *base, const char *rel, const char *target)
{
    g_autofree char *p = g_build_filename (base, rel, NULL);
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", p);

    g_assert_cmpint (system (cmd), ==, 0);
    g_assert_cmpint (symlink (target, p), ==, 0);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
    f->top = g_dir_make_tmp ("vi-hostile-XXXXXX", NULL);
    f->root = g_build_filename (f->top, "guest", NULL);
    f->host = g_build_filename (f->top, "host", NULL);
    mkdirs (f->root, "etc");
    mkdirs (f->root, "root");
    put (f->root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644);
    put (f->root, "etc/shadow", "root:*:1:0:99999:7:::\n", 0640);
    mkdirs (f->host, "etc");
    mkdirs (f->host, "root/.ssh");
    put (f->host, "etc/shadow", "root:HOSTSECRET:1:0:99999:7:::\n", 0600);
    put (f->host, "etc/passwd", "host passwd\n", 0644);
    put (f->host, "root/.ssh/authorized_keys", "host keys\n", 0600);
    put (f->host, "canary", "canary\n", 0644);
    alarm (60);
}

static gint
cmp_names (gconstpointer a, gconstpointer b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Path, type, mode, owner, content and link target of everything under
 * @dir; with @times, the mtimes too (not for the guest tree: undoing a
 * mkdir changes its parent's mtime). */
static void
snapshot (const char *dir, gboolean times, GString *out)
{
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

    while (d && (name = g_dir_read_name (d)))
        g_ptr_array_add (names, g_strdup (name));
    g_ptr_array_sort (names, cmp_names);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *p = g_build_filename (dir, names->pdata[i], NULL);
        struct stat st;

        g_assert_cmpint (lstat (p, &st), ==, 0);
        g_string_append_printf (out, "%s %o %u:%u", p, st.st_mode, st.st_uid, st.st_gid);
        if (times)
            g_string_append_printf (out, " %ld.%09ld", (long) st.st_mtim.tv_sec,
                                    st.st_mtim.tv_nsec);
        g_string_append_c (out, '\n');
        if (S_ISREG (st.st_mode)) {
            g_autofree char *c = NULL;
            g_assert_true (g_file_get_contents (p, &c, NULL, NULL));
            g_string_append (out, c);
        } else if (S_ISLNK (st.st_mode)) {
            g_autofree char *t = g_file_read_link (p, NULL);
            g_string_append_printf (out, "-> %s\n", t);
        } else if (S_ISDIR (st.st_mode)) {
            snapshot (p, times, out);
        }
    }
}

static char *
guest_state (Fixture *f)
{
    GString *s = g_string_new (NULL);
    snapshot (f->root, FALSE, s);
    return g_string_free (s, FALSE);
}

static char *
host_state (Fixture *f)
{
    GString *s = g_string_new (NULL);
    snapshot (f->host, TRUE, s);
    return g_string_free (s, FALSE);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->top);
    alarm (0);
    g_assert_cmpint (system (cmd), ==, 0);
    g_free (f->top);
    g_free (f->root);
    g_free (f->host);
}

/* Write every file an injection writes, read every file it reads; errors are
 * fine (refusals), touching the host is not. */
static void
attack (Fixture *f)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
    g_autoptr(GBytes) content = g_bytes_new_static ("INJECTED\n", 9);
    const char *const paths[] = {
        "/etc/shadow", "/etc/passwd", "/etc/hostname", "/root/.ssh/authorized_keys",
        "/etc/ssh/x", "/canary", "/etc/canary", "/root/.ssh/canary", NULL
    };

    g_assert_no_error (error);
    for (guint i = 0; paths[i]; i++) {
        g_autoptr(GBytes) out = NULL;
        g_autofree char *dir = g_path_get_dirname (paths[i]);
        ViStat st;

        g_clear_error (&error);
        (void) vi_vfs_read_file (vfs, paths[i], 1 << 20, &out, &error);
        if (out)
            g_assert_null (g_strstr_len (g_bytes_get_data (out, NULL), g_bytes_get_size (out),
                                         "HOSTSECRET"));
        g_clear_error (&error);
        (void) vi_vfs_mkdir_p (vfs, dir, 0700, 0, 0, NULL, &error);
        g_clear_error (&error);
        (void) vi_vfs_write_file (vfs, paths[i], content, 0600, 0, 0, &error);
        g_clear_error (&error);
        (void) vi_vfs_chmod (vfs, paths[i], 04777, &error);
        g_clear_error (&error);
        (void) vi_vfs_chown (vfs, paths[i], 1234, 1234, &error);
        g_clear_error (&error);
        (void) vi_vfs_stat (vfs, paths[i], &st, &error);
    }
    g_clear_error (&error);
    (void) vi_vfs_commit (vfs, &error);
    /* links and removals are not staged: after the commit, as the planner does */
    for (guint i = 0; paths[i]; i++) {
        g_autofree char *link = g_strconcat (paths[i], ".wants", NULL);

        g_clear_error (&error);
        (void) vi_vfs_symlink (vfs, link, "/canary", 1234, 1234, &error);
        g_clear_error (&error);
        (void) vi_vfs_unlink (vfs, paths[i], &error);
    }
}

typedef void (*Plant) (Fixture *f);

/* A path under the fixture's host directory (freed with the fixture's
 * teardown-scoped string pool). */
static const char *
host_path (Fixture *f, const char *rel)
{
    static GStringChunk *pool;

    if (pool == NULL)
        pool = g_string_chunk_new (1024);
    {
        g_autofree char *p = g_build_filename (f->host, rel, NULL);
        return g_string_chunk_insert (pool, p);
    }
}

static void plant_abs_dir (Fixture *f) { link_to (f->root, "etc", f->host); link_to (f->root, "root", host_path (f, "root")); }
static void plant_abs_file (Fixture *f) { link_to (f->root, "etc/shadow", host_path (f, "etc/shadow")); }
static void plant_host_root (Fixture *f) { link_to (f->root, "root", "/"); link_to (f->root, "etc/hostname", "/etc/hostname"); }
static void plant_dotdot (Fixture *f) { link_to (f->root, "etc", "../host/etc"); link_to (f->root, "root", "../../../../../../../..//tmp"); }
static void plant_deep (Fixture *f) { mkdirs (f->root, "root/.ssh"); link_to (f->root, "root/.ssh", "../../host/root/.ssh"); }
static void plant_leaf (Fixture *f) { mkdirs (f->root, "root/.ssh"); link_to (f->root, "root/.ssh/authorized_keys", host_path (f, "root/.ssh/authorized_keys")); }
static void plant_proc (Fixture *f) { link_to (f->root, "etc", "/proc/self/root/etc"); link_to (f->root, "root", "/proc/self/cwd"); }
static void plant_proc_fd (Fixture *f) { link_to (f->root, "root", "/proc/self/fd/3"); }

static void
plant_hardlink (Fixture *f)
{
    g_autofree char *g = g_build_filename (f->root, "etc/shadow", NULL);
    g_autofree char *h = g_build_filename (f->host, "etc/shadow", NULL);
    g_autofree char *ak = g_build_filename (f->root, "root/.ssh/authorized_keys", NULL);
    g_autofree char *hak = g_build_filename (f->host, "root/.ssh/authorized_keys", NULL);

    g_unlink (g);
    g_assert_cmpint (link (h, g), ==, 0);
    mkdirs (f->root, "root/.ssh");
    g_assert_cmpint (link (hak, ak), ==, 0);
}

static void
plant_fifo_dev (Fixture *f)
{
    g_autofree char *fifo = g_build_filename (f->root, "etc/shadow", NULL);
    g_autofree char *dev = g_build_filename (f->root, "etc/passwd", NULL);

    g_unlink (fifo);
    g_unlink (dev);
    g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
    if (geteuid () == 0)
        g_assert_cmpint (mknod (dev, S_IFCHR | 0600, makedev (1, 3)), ==, 0);   /* /dev/null */
}

typedef struct {
    const char *name;
    Plant plant;
} HostileCase;

static const HostileCase hostile[] = {
    { "symlink-absolute-dirs", plant_abs_dir },
    { "symlink-absolute-file", plant_abs_file },
    { "symlink-to-host-root", plant_host_root },
    { "symlink-dotdot", plant_dotdot },
    { "symlink-deep-component", plant_deep },
    { "symlink-leaf", plant_leaf },
    { "magic-link-proc-root", plant_proc },
    { "magic-link-proc-fd", plant_proc_fd },
    { "hard-links-to-host", plant_hardlink },
    { "fifo-and-device", plant_fifo_dev },
};

static void
test_hostile (Fixture *f, gconstpointer data)
{
    const HostileCase *c = data;
    g_autofree char *before = NULL, *after = NULL;

    c->plant (f);
    before = host_state (f);
    attack (f);
    after = host_state (f);
    g_assert_cmpstr (before, ==, after);
}

/* A hard link from the guest's shadow to a host file: never read (so host
 * data is never copied in), and replacing it leaves the host inode alone. */
static void
test_hardlink_semantics (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GBytes) out = NULL;
    g_autoptr(GBytes) content = g_bytes_new_static ("new\n", 4);
    g_autofree char *guest = g_build_filename (f->root, "etc/shadow", NULL);
    g_autofree char *text = NULL;

    plant_hardlink (f);
    vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
    g_assert_false (vi_vfs_read_file (vfs, "/etc/shadow", 1 << 20, &out, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "hard links"));
    g_clear_error (&error);
    g_assert_true (vi_vfs_write_file (vfs, "/etc/shadow", content, 0640, 0, 0, &error));
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_true (g_file_get_contents (guest, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "new\n");
}

/* FIFOs are refused without blocking. */
static void
test_fifo_no_hang (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GBytes) out = NULL;

    plant_fifo_dev (f);
    vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
    g_assert_false (vi_vfs_read_file (vfs, "/etc/shadow", 1 << 20, &out, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "not a regular file"));
}

/* A bind mount inside the tree that leads out of it is not crossed. */
static void
test_bind_mount (Fixture *f, gconstpointer data)
{
    pid_t pid;
    int status;

    if (geteuid () != 0) {
        g_test_skip ("bind mounts need root");
        return;
    }
    pid = fork ();
    if (pid == 0) {
        g_autofree char *mp = g_build_filename (f->root, "root", NULL);
        g_autofree char *src = g_build_filename (f->host, "root", NULL);
        g_autofree char *before = NULL, *after = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(ViVfs) vfs = NULL;
        g_autoptr(GBytes) out = NULL;

        if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount (src, mp, NULL, MS_BIND, NULL) < 0)
            _exit (3);
        before = host_state (f);
        attack (f);
        after = host_state (f);
        if (!g_str_equal (before, after))
            _exit (1);
        vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
        if (vi_vfs_read_file (vfs, "/root/.ssh/authorized_keys", 1 << 20, &out, &error))
            _exit (2);
        if (!g_error_matches (error, VI_ERROR, VI_ERROR_GUEST) || !strstr (error->message, "mount"))
            _exit (4);
        _exit (0);
    }
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* A thread... a process keeps swapping /root/.ssh between a real directory
 * and a symlink to the host while the backend writes through it. */
static void
test_race (Fixture *f, gconstpointer data)
{
    g_autofree char *ssh = g_build_filename (f->root, "root/.ssh", NULL);
    g_autofree char *alt = g_build_filename (f->root, "root/.alt", NULL);
    g_autofree char *before = NULL, *after = NULL;
    g_autoptr(GBytes) content = g_bytes_new_static ("key\n", 4);
    pid_t pid;

    mkdirs (f->root, "root/.ssh");
    g_assert_cmpint (symlink (host_path (f, "root/.ssh"), alt), ==, 0);
    before = host_state (f);
    pid = fork ();
    if (pid == 0) {
        for (;;)
            (void) renameat2 (AT_FDCWD, ssh, AT_FDCWD, alt, RENAME_EXCHANGE);
    }
    for (int round = 0; round < 1000; round++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
        g_autoptr(GBytes) out = NULL;

        g_assert_no_error (error);
        (void) vi_vfs_mkdir_p (vfs, "/root/.ssh/d", 0700, 0, 0, NULL, NULL);
        (void) vi_vfs_write_file (vfs, "/root/.ssh/authorized_keys", content, 0600, 0, 0, NULL);
        (void) vi_vfs_chmod (vfs, "/root/.ssh/authorized_keys", 0666, NULL);
        (void) vi_vfs_read_file (vfs, "/root/.ssh/authorized_keys", 4096, &out, NULL);
        (void) vi_vfs_commit (vfs, NULL);
    }
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
    after = host_state (f);
    g_assert_cmpstr (before, ==, after);
}

/* A late refusal takes the whole apply back.  The request creates nested
 * directories (/opt/x/y, /srv/a/b/c for a file, /root/.ssh for a key) and
 * changes the mode of /var/www; a later step must create
 * /etc/systemd/network, but the guest's /etc/systemd is a symlink to a
 * host directory, which the backend refuses.  Afterwards the guest tree is
 * as it was (no new directory, no temporary file, /var/www's mode back) and
 * the host directory is untouched. */
static void
test_late_refusal (Fixture *f, gconstpointer data)
{
    static const char xml[] =
        "<vi:inject xmlns:vi='http://virt-inject.org/xmlns/libvirt/domain/1.0'>"
        "<vi:directory path='/opt/x/y'/>"
        "<vi:directory path='/var/www' mode='0750'/>"
        "<vi:file path='/srv/a/b/c/f'>f&#10;</vi:file>"
        "<vi:user name='root'><vi:ssh-key>ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+"
        "GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E alice@laptop</vi:ssh-key></vi:user>"
        "<vi:network renderer='networkd'><vi:interface name='eth0'><vi:dhcp/></vi:interface>"
        "</vi:network></vi:inject>";
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse (xml, strlen (xml), NULL, &error);
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(ViPlan) plan = NULL;
    g_autofree char *before = NULL, *after = NULL, *host_before = NULL, *host_after = NULL;
    g_autofree char *steps = NULL;
    static const char *const expect[] = {
        "mkdir       /opt/x/y ", "chmod/chown /var/www 0750", "mkdir       /srv/a/b/c ",
        "mkdir       /root/.ssh ", "mkdir       /etc/systemd/network ",
    };

    g_assert_no_error (error);
    mkdirs (f->root, "var/www");
    mkdirs (f->host, "systemd");
    link_to (f->root, "etc/systemd", host_path (f, "systemd"));
    put (f->root, "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0644);
    before = guest_state (f);
    host_before = host_state (f);

    vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
    g_assert_no_error (error);
    plan = vi_plan_build (spec, vfs, NULL, &error);
    g_assert_no_error (error);
    /* the plan does create and change all that before the refused step */
    steps = vi_plan_describe (plan);
    for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
        if (strstr (steps, expect[i]) == NULL)
            g_error ("the plan lacks '%s':\n%s", expect[i], steps);
    g_assert_true (strstr (steps, expect[0]) < strstr (steps, expect[4]));

    g_assert_false (vi_plan_apply (plan, vfs, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "creating /etc/systemd/network"));
    g_assert_null (strstr (error->message, "could not undo"));
    g_clear_pointer (&vfs, vi_vfs_free);

    after = guest_state (f);
    g_assert_cmpstr (before, ==, after);
    host_after = host_state (f);
    g_assert_cmpstr (host_before, ==, host_after);
}

/* The undo of a created directory removes only an empty directory: what the
 * guest put in its place (a file, a symlink to the host, content) stays. */
static void
test_rmdir_only (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
    g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
    g_autofree char *host_before = host_state (f);
    g_autofree char *host_after = NULL;
    g_autofree char *p = NULL;

    g_assert_no_error (error);
    g_assert_true (vi_vfs_mkdir_p (vfs, "/srv/a/b", 0755, 0, 0, created, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (created->len, ==, 3);
    g_assert_cmpstr (created->pdata[0], ==, "/srv");
    g_assert_cmpstr (created->pdata[1], ==, "/srv/a");
    g_assert_cmpstr (created->pdata[2], ==, "/srv/a/b");

    /* the guest swaps /srv/a/b for a file, and /srv/a gains content */
    p = g_build_filename (f->root, "srv/a/b", NULL);
    g_assert_cmpint (rmdir (p), ==, 0);
    put (f->root, "srv/a/b", "guest data\n", 0644);
    g_assert_false (vi_vfs_rmdir (vfs, "/srv/a/b", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "/srv/a/b: no longer a directory"));
    g_clear_error (&error);
    g_assert_false (vi_vfs_rmdir (vfs, "/srv/a", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "/srv/a: no longer empty"));
    g_clear_error (&error);
    g_assert_true (g_file_test (p, G_FILE_TEST_IS_REGULAR));

    /* a symlink to a host directory in its place: neither removed nor followed */
    g_assert_cmpint (unlink (p), ==, 0);
    link_to (f->root, "srv/a/b", host_path (f, "root"));
    g_assert_false (vi_vfs_rmdir (vfs, "/srv/a/b", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_true (g_file_test (p, G_FILE_TEST_IS_SYMLINK));
    host_after = host_state (f);
    g_assert_cmpstr (host_before, ==, host_after);

    /* emptied again, the directories go, innermost first; missing is fine */
    g_assert_cmpint (unlink (p), ==, 0);
    g_assert_true (vi_vfs_rmdir (vfs, "/srv/a", &error));
    g_assert_true (vi_vfs_rmdir (vfs, "/srv", &error));
    g_assert_true (vi_vfs_rmdir (vfs, "/srv", &error));
    g_assert_no_error (error);
    g_free (p);
    p = g_build_filename (f->root, "srv", NULL);
    g_assert_false (g_file_test (p, G_FILE_TEST_EXISTS));
}

/* symlink makes the link itself, inside the tree, never following what is
 * there; unlink removes a file or a link itself (never its target, never a
 * directory); both resolve the parent inside the tree. */
static void
test_symlink_unlink (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
    g_autofree char *host_before = host_state (f);
    g_autofree char *host_after = NULL;
    g_autofree char *p = g_build_filename (f->root, "etc/unit.link", NULL);
    g_autofree char *t = NULL;
    ViStat st;

    g_assert_no_error (error);
    g_assert_true (vi_vfs_symlink (vfs, "/etc/unit.link", "/lib/unit", 0, 0, &error));
    g_assert_no_error (error);
    t = g_file_read_link (p, NULL);
    g_assert_cmpstr (t, ==, "/lib/unit");
    g_assert_true (vi_vfs_stat (vfs, "/etc/unit.link", &st, &error));
    g_assert_cmpint (st.type, ==, VI_FILE_TYPE_SYMLINK);

    /* its own SELinux label, not its target's */
    g_assert_true (vi_vfs_set_label (vfs, "/etc/unit.link", "system_u:object_r:systemd_unit_file_t:s0",
                                     &error));
    g_assert_no_error (error);
    {
        char buf[128];
        ssize_t n = lgetxattr (p, "security.selinux", buf, sizeof buf);

        g_assert_cmpint (n, ==, strlen ("system_u:object_r:systemd_unit_file_t:s0") + 1);
        g_assert_cmpstr (buf, ==, "system_u:object_r:systemd_unit_file_t:s0");
    }

    /* anything at the name already: refused, left alone */
    g_assert_false (vi_vfs_symlink (vfs, "/etc/passwd", "/x", 0, 0, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_vfs_symlink (vfs, "/etc/x", "bad\ntarget", 0, 0, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_clear_error (&error);

    /* a parent that leads to the host is resolved inside the tree */
    link_to (f->root, "srv", f->host);
    g_assert_false (vi_vfs_symlink (vfs, "/srv/etc/new", "/x", 0, 0, &error));
    g_clear_error (&error);
    g_assert_true (vi_vfs_unlink (vfs, "/srv/canary", &error));     /* not in the guest: nothing */
    g_assert_no_error (error);

    /* a link to a host file: labelled itself, the host file not; then the
     * link goes, the file stays */
    link_to (f->root, "etc/hostkey", host_path (f, "canary"));
    g_assert_true (vi_vfs_set_label (vfs, "/etc/hostkey", "system_u:object_r:etc_t:s0", &error));
    g_assert_no_error (error);
    g_assert_cmpint (lgetxattr (host_path (f, "canary"), "security.selinux", NULL, 0), <, 0);
    g_assert_true (vi_vfs_unlink (vfs, "/etc/hostkey", &error));
    g_assert_no_error (error);
    g_assert_true (vi_vfs_unlink (vfs, "/etc/unit.link", &error));
    g_assert_true (vi_vfs_unlink (vfs, "/etc/shadow", &error));
    g_assert_true (vi_vfs_unlink (vfs, "/etc/shadow", &error));      /* missing is fine */
    g_assert_no_error (error);
    g_assert_false (vi_vfs_stat (vfs, "/etc/shadow", &st, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_false (g_file_test (p, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
    g_assert_false (vi_vfs_unlink (vfs, "/root", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_true (vi_vfs_stat (vfs, "/root", &st, &error));
    host_after = host_state (f);
    g_assert_cmpstr (host_before, ==, host_after);
}

/* rmdir resolves the parent inside the tree.  A symlink in the parent to an
 * empty host directory (absolute, or climbing with "..") leads to a path
 * that does not exist in the guest: nothing to remove, and the host
 * directory stays.  A parent that cannot be resolved at all is reported,
 * never taken for a directory already gone. */
static void
test_rmdir_parent (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autofree char *before = NULL, *after = NULL, *host_before = NULL, *host_after = NULL;
    const char *sub = host_path (f, "empty/sub");

    mkdirs (f->root, "srv");
    mkdirs (f->host, "empty/sub");
    link_to (f->root, "srv/abs", host_path (f, "empty"));
    link_to (f->root, "srv/up", "../../host");
    link_to (f->root, "srv/loop", "loop");
    before = guest_state (f);
    host_before = host_state (f);
    vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
    g_assert_no_error (error);

    g_assert_true (vi_vfs_rmdir (vfs, "/srv/abs/sub", &error));
    g_assert_no_error (error);
    g_assert_true (vi_vfs_rmdir (vfs, "/srv/up/empty/sub", &error));
    g_assert_no_error (error);
    g_assert_true (g_file_test (sub, G_FILE_TEST_IS_DIR));

    g_assert_false (vi_vfs_rmdir (vfs, "/srv/loop/d", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "/srv/loop/d: "));
    g_clear_error (&error);
    g_assert_false (vi_vfs_rmdir (vfs, "/etc/passwd/d", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "/etc/passwd/d: a component of the path is not a directory"));
    g_clear_error (&error);

    after = guest_state (f);
    g_assert_cmpstr (before, ==, after);
    host_after = host_state (f);
    g_assert_cmpstr (host_before, ==, host_after);
}

/* list_dir resolves its directory inside the tree: a symlink to a host
 * directory (absolute, "..", /proc/self/root) names the guest's own
 * directory of that name, here none; a FIFO or a file is not a
 * directory; a staged write is no entry. */
static void
test_list_dir (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GPtrArray) names = NULL;
    g_autoptr(GBytes) content = g_bytes_new_static ("x\n", 2);
    g_autofree char *fifo = g_build_filename (f->root, "srv/fifo", NULL);
    g_autofree char *host_before = NULL, *host_after = NULL;

    mkdirs (f->root, "srv/d");
    put (f->root, "srv/d/a", "a\n", 0644);
    put (f->root, "srv/d/b", "b\n", 0644);
    link_to (f->root, "srv/abs", f->host);
    link_to (f->root, "srv/up", "../../host");
    link_to (f->root, "srv/proc", "/proc/self/root");
    g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
    host_before = host_state (f);
    vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
    g_assert_no_error (error);

    g_assert_true (vi_vfs_list_dir_opt (vfs, "/srv/d", 100, &names, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (names->len, ==, 2);
    g_assert_cmpstr (names->pdata[0], ==, "a");
    g_assert_cmpstr (names->pdata[1], ==, "b");
    g_clear_pointer (&names, g_ptr_array_unref);

    /* "host" does not exist in the guest's root, whichever way it is named */
    g_assert_true (vi_vfs_list_dir_opt (vfs, "/srv/abs", 100, &names, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (names->len, ==, 0);
    g_clear_pointer (&names, g_ptr_array_unref);
    g_assert_true (vi_vfs_list_dir_opt (vfs, "/srv/up", 100, &names, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (names->len, ==, 0);
    g_clear_pointer (&names, g_ptr_array_unref);

    /* "/proc" is looked up in the guest's root, where there is none */
    g_assert_false (vi_vfs_list_dir (vfs, "/srv/proc", 100, &names, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_false (vi_vfs_list_dir (vfs, "/srv/fifo", 100, &names, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_vfs_list_dir (vfs, "/etc/passwd", 100, &names, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_vfs_list_dir (vfs, "/srv/d", 1, &names, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);

    /* a staged write is no entry (it waits in the staging directory) */
    g_assert_true (vi_vfs_write_file (vfs, "/srv/d/c", content, 0644, 0, 0, &error));
    g_assert_true (vi_vfs_list_dir_opt (vfs, "/srv/d", 100, &names, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (names->len, ==, 2);
    g_clear_pointer (&names, g_ptr_array_unref);

    host_after = host_state (f);
    g_assert_cmpstr (host_before, ==, host_after);
}

/* A staged write is a temporary file in the injection's staging directory
 * at the top of the tree, never in the target directory (so a final name
 * never holds partial content); discard removes it and the staging
 * directory at once (not only when the VFS is freed), and the created
 * directories can go. */
static guint
count_staging (const char *root, guint *out_files)
{
    g_autoptr(GDir) d = g_dir_open (root, 0, NULL);
    const char *name;
    guint n = 0;

    *out_files = 0;
    while (d && (name = g_dir_read_name (d)))
        if (g_str_has_prefix (name, ".virt-inject-staging-")) {
            g_autofree char *p = g_build_filename (root, name, NULL);
            g_autoptr(GDir) sd = g_dir_open (p, 0, NULL);

            n++;
            while (sd && g_dir_read_name (sd))
                (*out_files)++;
        }
    return n;
}

static void
test_discard_then_rmdir (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GBytes) content = g_bytes_new_static ("x\n", 2);
    g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
    g_autofree char *before = guest_state (f);
    g_autofree char *after = NULL;
    g_autofree char *dir = g_build_filename (f->root, "srv/a", NULL);

    vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (vi_vfs_mkdir_p (vfs, "/srv/a", 0755, 0, 0, created, &error));
    g_assert_true (vi_vfs_write_file (vfs, "/srv/a/f", content, 0644, 0, 0, &error));
    g_assert_no_error (error);
    {
        g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
        guint files;

        g_assert_nonnull (d);
        g_assert_null (g_dir_read_name (d));        /* nothing in the target directory */
        g_assert_cmpuint (count_staging (f->root, &files), ==, 1);
        g_assert_cmpuint (files, ==, 1);
    }

    g_assert_true (vi_vfs_discard (vfs, &error));
    g_assert_no_error (error);
    {
        guint files;
        g_assert_cmpuint (count_staging (f->root, &files), ==, 0);  /* gone at once */
    }
    g_assert_cmpuint (created->len, ==, 2);
    for (guint i = created->len; i > 0; i--)
        g_assert_true (vi_vfs_rmdir (vfs, created->pdata[i - 1], &error));
    g_assert_no_error (error);
    /* the discarded write is not committed later */
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_no_error (error);
    after = guest_state (f);
    g_assert_cmpstr (before, ==, after);
}

/* The host's own "/" under any name is refused on the opened directory;
 * in the same fixture the guest tree (the positive control) opens. */
static const char *const host_root_aliases[] = { "/", "/./", "//", "/usr/..", "/etc/../.", NULL };

static void
assert_host_root_refused (const char *dir)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (dir, NULL, &error);

    g_assert_null (vfs);
    g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
    g_assert_nonnull (strstr (error->message, "the host's own root directory"));
    g_assert_nonnull (strstr (error->message, dir));
}

static void
test_host_root (Fixture *f, gconstpointer data)
{
    g_autofree char *link = g_build_filename (f->top, "link-to-root", NULL);
    g_autofree char *bind = g_build_filename (f->top, "bind-of-root", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) guest = vi_vfs_rootfs_open (f->root, NULL, &error);
    pid_t pid;
    int status;

    g_assert_no_error (error);
    g_assert_nonnull (guest);
    for (guint i = 0; host_root_aliases[i]; i++)
        assert_host_root_refused (host_root_aliases[i]);
    g_assert_cmpint (symlink ("/", link), ==, 0);
    assert_host_root_refused (link);

    /* a bind mount of "/" elsewhere, in a private mount namespace */
    g_assert_cmpint (g_mkdir (bind, 0755), ==, 0);
    pid = fork ();
    if (pid == 0) {
        g_autoptr(GError) e = NULL;
        g_autoptr(ViVfs) v = NULL;

        if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount ("/", bind, NULL, MS_BIND, NULL) < 0)
            _exit (3);
        v = vi_vfs_rootfs_open (bind, NULL, &e);
        _exit (v == NULL && g_error_matches (e, VI_ERROR, VI_ERROR_TARGET) ? 0 : 1);
    }
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* Device nodes and FIFOs are never opened: not to read, write, chmod or
 * chown them.  Two observers: a writer blocked in open(2) on a FIFO, which
 * any open for reading would release, and inotify IN_OPEN on a device node.
 * Each observer is shown to work by opening the node ourselves afterwards
 * (the positive control), so a check that cannot fire cannot pass. */
static pid_t
fifo_writer (const char *fifo)
{
    pid_t pid = fork ();

    if (pid == 0) {
        int fd;

        alarm (30);
        fd = open (fifo, O_WRONLY);     /* blocks until a reader opens */
        _exit (fd >= 0 ? 0 : 1);
    }
    return pid;
}

static gboolean
released_within (pid_t pid, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        int status;
        if (waitpid (pid, &status, WNOHANG) == pid)
            return TRUE;
        g_usleep (10 * 1000);
    }
    return FALSE;
}

static int
count_opens (int ifd)
{
    char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
    int opens = 0;
    ssize_t n;

    while ((n = read (ifd, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + n; p += sizeof (struct inotify_event) +
                                              ((struct inotify_event *) p)->len)
            if (((struct inotify_event *) p)->mask & IN_OPEN)
                opens++;
    return opens;
}

static void
touch_every_way (ViVfs *vfs, const char *path)
{
    g_autoptr(GBytes) content = g_bytes_new_static ("x\n", 2);
    g_autoptr(GBytes) out = NULL;
    g_autoptr(GError) error = NULL;
    ViStat st;

    g_assert_false (vi_vfs_read_file (vfs, path, 1 << 20, &out, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_vfs_write_file (vfs, path, content, 0600, 0, 0, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_vfs_chmod (vfs, path, 0600, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_vfs_chown (vfs, path, 0, 0, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_true (vi_vfs_stat (vfs, path, &st, &error));
    g_assert_cmpint (st.type, ==, VI_FILE_TYPE_OTHER);
}

static void
test_never_opened (Fixture *f, gconstpointer data)
{
    g_autofree char *fifo = g_build_filename (f->root, "etc/fifo", NULL);
    g_autofree char *dev = g_build_filename (f->root, "etc/dev", NULL);
    g_autofree char *reg = g_build_filename (f->root, "etc/regular", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
    g_autoptr(GBytes) out = NULL;
    vi_autofd ifd = -1;
    vi_autofd probe = -1;
    pid_t writer;

    g_assert_no_error (error);
    g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
    g_assert_cmpint (mknod (dev, S_IFCHR | 0600, makedev (1, 3)), ==, 0);   /* /dev/null */
    put (f->root, "etc/regular", "r\n", 0644);

    /* the FIFO */
    writer = fifo_writer (fifo);
    g_usleep (100 * 1000);
    touch_every_way (vfs, "/etc/fifo");
    g_assert_false (released_within (writer, 300));
    probe = open (fifo, O_RDONLY | O_NONBLOCK);     /* positive control */
    g_assert_cmpint (probe, >=, 0);
    g_assert_true (released_within (writer, 5000));
    vi_clear_fd (&probe);

    /* the device node: inotify reports opens, and not O_PATH ones (the
     * calibration: an O_PATH open reports nothing) */
    ifd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
    g_assert_cmpint (ifd, >=, 0);
    g_assert_cmpint (inotify_add_watch (ifd, dev, IN_OPEN), >=, 0);
    probe = open (dev, O_PATH);
    g_assert_cmpint (probe, >=, 0);
    vi_clear_fd (&probe);
    g_assert_cmpint (count_opens (ifd), ==, 0);
    touch_every_way (vfs, "/etc/dev");
    g_assert_cmpint (count_opens (ifd), ==, 0);
    probe = open (dev, O_RDONLY);                   /* positive control */
    g_assert_cmpint (probe, >=, 0);
    vi_clear_fd (&probe);
    g_assert_cmpint (count_opens (ifd), ==, 1);

    /* and a regular file in the same tree is read, opened once */
    g_assert_cmpint (inotify_add_watch (ifd, reg, IN_OPEN), >=, 0);
    g_assert_true (vi_vfs_read_file (vfs, "/etc/regular", 1 << 20, &out, &error));
    g_assert_no_error (error);
    g_assert_cmpint (g_bytes_get_size (out), ==, 2);
    g_assert_cmpint (count_opens (ifd), ==, 1);
    g_assert_true (vi_vfs_chmod (vfs, "/etc/regular", 0600, &error));
    g_assert_true (vi_vfs_chown (vfs, "/etc/regular", 0, 0, &error));
    g_assert_no_error (error);
    g_assert_cmpint (count_opens (ifd), ==, 0);
}

/* What a killed injection left (a staging directory with temporary files)
 * is removed by the next injection's first write, and by nothing else: a
 * VFS that only reads (a dry run) leaves it.  A guest's look-alikes are
 * not followed: a symlink with the staging name leading to the host, and
 * a directory or symlink inside a staging directory, stay where they are,
 * and the host is untouched. */
static void
test_staging_sweep (Fixture *f, gconstpointer data)
{
    g_autofree char *left = g_build_filename (f->root, ".virt-inject-staging-0badf00d", NULL);
    g_autofree char *odd = g_build_filename (f->root, ".virt-inject-staging-guest", NULL);
    g_autofree char *lnk = g_build_filename (f->root, ".virt-inject-staging-link", NULL);
    g_autofree char *host_before = NULL, *host_after = NULL;
    g_autoptr(GBytes) content = g_bytes_new_static ("new\n", 4);
    g_autoptr(GError) error = NULL;

    mkdirs (f->root, ".virt-inject-staging-0badf00d");
    put (f->root, ".virt-inject-staging-0badf00d/0", "half", 0600);
    put (f->root, ".virt-inject-staging-0badf00d/1", "half", 0600);
    mkdirs (f->root, ".virt-inject-staging-guest/keep");
    {
        g_autofree char *to_host = g_build_filename (odd, "to-host", NULL);
        g_assert_cmpint (symlink (host_path (f, "etc"), to_host), ==, 0);
    }
    g_assert_cmpint (symlink (host_path (f, "etc"), lnk), ==, 0);
    host_before = host_state (f);
    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (f->root, NULL, &error);
        g_autoptr(GBytes) out = NULL;

        g_assert_no_error (error);
        g_assert_true (vi_vfs_read_file (vfs, "/etc/passwd", 1 << 20, &out, &error));
        g_assert_no_error (error);
    }
    g_assert_true (g_file_test (left, G_FILE_TEST_IS_DIR));     /* reading removes nothing */
    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (f->root, NULL, &error);

        g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", content, 0644, 0, 0, &error));
        g_assert_true (vi_vfs_commit (vfs, &error));
        g_assert_no_error (error);
    }
    g_assert_false (g_file_test (left, G_FILE_TEST_EXISTS));    /* the leftover is gone */
    g_assert_true (g_file_test (odd, G_FILE_TEST_IS_DIR));      /* the guest's own stays */
    {
        g_autofree char *keep = g_build_filename (odd, "keep", NULL);
        g_autofree char *to_host = g_build_filename (odd, "to-host", NULL);
        g_assert_true (g_file_test (keep, G_FILE_TEST_IS_DIR));
        g_assert_true (g_file_test (to_host, G_FILE_TEST_IS_SYMLINK));
    }
    g_assert_true (g_file_test (lnk, G_FILE_TEST_IS_SYMLINK));
    host_after = host_state (f);
    g_assert_cmpstr (host_before, ==, host_after);
    {
        g_autofree char *motd = NULL;
        g_autofree char *p = g_build_filename (f->root, "etc/motd", NULL);
        g_assert_true (g_file_get_contents (p, &motd, NULL, NULL));
        g_assert_cmpstr (motd, ==, "new\n");
    }
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS (hostile); i++) {
        g_autofree char *path = g_strdup_printf ("/rootfs-hostile/%s", hostile[i].name);
        g_test_add (path, Fixture, &hostile[i], fixture_setup, test_hostile, fixture_teardown);
    }
    g_test_add ("/rootfs-hostile/hardlink-semantics", Fixture, NULL, fixture_setup,
                test_hardlink_semantics, fixture_teardown);
    g_test_add ("/rootfs-hostile/fifo-no-hang", Fixture, NULL, fixture_setup, test_fifo_no_hang,
                fixture_teardown);
    g_test_add ("/rootfs-hostile/bind-mount", Fixture, NULL, fixture_setup, test_bind_mount,
                fixture_teardown);
    g_test_add ("/rootfs-hostile/host-root-under-any-name", Fixture, NULL, fixture_setup,
                test_host_root, fixture_teardown);
    g_test_add ("/rootfs-hostile/devices-and-fifos-never-opened", Fixture, NULL, fixture_setup,
                test_never_opened, fixture_teardown);
    g_test_add ("/rootfs-hostile/late-refusal-undone", Fixture, NULL, fixture_setup,
                test_late_refusal, fixture_teardown);
    g_test_add ("/rootfs-hostile/undo-removes-only-empty-dirs", Fixture, NULL, fixture_setup,
                test_rmdir_only, fixture_teardown);
    g_test_add ("/rootfs-hostile/symlink-unlink-inside", Fixture, NULL, fixture_setup,
                test_symlink_unlink, fixture_teardown);
    g_test_add ("/rootfs-hostile/list-dir-inside", Fixture, NULL, fixture_setup, test_list_dir,
                fixture_teardown);
    g_test_add ("/rootfs-hostile/rmdir-resolves-parent-inside", Fixture, NULL, fixture_setup,
                test_rmdir_parent, fixture_teardown);
    g_test_add ("/rootfs-hostile/staging-leftovers-swept", Fixture, NULL, fixture_setup,
                test_staging_sweep, fixture_teardown);
    g_test_add ("/rootfs-hostile/discard-then-rmdir", Fixture, NULL, fixture_setup,
                test_discard_then_rmdir, fixture_teardown);
    g_test_add ("/rootfs-hostile/race-1000-rounds", Fixture, NULL, fixture_setup, test_race,
                fixture_teardown);
    return g_test_run ();
}
