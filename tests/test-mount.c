/* test-mount.c: LXC image roots (vi-mount) on images made here: a raw
 * ext4 image on a loop device and a qcow2 one through qemu-storage-daemon,
 * mounted nosuid,nodev,noexec in a private namespace, written through, and
 * cleaned up on success and failure alike (no mount, no mount point, no
 * loop device, no daemon left); and the refusals.  Needs root, loop
 * devices and /dev/fuse, as test-hook does.  This program is the process
 * made for the purpose that vi_mount_within() asks for: it leaves the
 * host's mount namespace for a private one of its own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "vi-error.h"
#include "vi-mount.h"

static char *tmp;               /* the scoped temporary directory */

static void
run (const char *const *argv)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *err = NULL;
    int status = 0;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH |
                                 G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status,
                                 &error));
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, NULL))
        g_error ("%s failed: %s", argv[0], err);
}

/* An ext4 image at @path holding /etc/hostname = "h1\n"; @format raw or qcow2. */
static void
make_image (const char *path, const char *format)
{
    g_autofree char *tree = g_build_filename (tmp, "tree", NULL);
    g_autofree char *etc = g_build_filename (tree, "etc", NULL);
    g_autofree char *hostname = g_build_filename (etc, "hostname", NULL);
    g_autofree char *raw = g_strconcat (path, ".raw", NULL);

    g_assert_cmpint (g_mkdir_with_parents (etc, 0755), ==, 0);
    g_assert_true (g_file_set_contents (hostname, "h1\n", -1, NULL));
    {
        const char *argv[] = { "mkfs.ext4", "-q", "-F", "-d", tree, raw, "8M", NULL };
        run (argv);
    }
    if (g_str_equal (format, "raw")) {
        g_assert_cmpint (g_rename (raw, path), ==, 0);
    } else {
        const char *argv[] = { "qemu-img", "convert", "-q", "-f", "raw", "-O", format, raw, path, NULL };
        run (argv);
        g_assert_cmpint (g_unlink (raw), ==, 0);
    }
}

/* The content of @guest_path in the raw ext4 image @raw, read by debugfs. */
static char *
debugfs_cat (const char *raw, const char *guest_path)
{
    g_autofree char *req = g_strdup_printf ("cat %s", guest_path);
    const char *argv[] = { "debugfs", "-R", req, raw, NULL };
    char *out = NULL;
    int status = 0;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH |
                                 G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    return out;
}

typedef struct {
    gboolean write;             /* write /written */
    gboolean fail;              /* return an error */
    char *root;                 /* the root the callback was given */
    char *hostname;             /* /etc/hostname as read there */
    unsigned long flags;        /* statvfs f_flag of the root */
    char *loop;                 /* "loopN" the root was on, or NULL */
} Seen;

static void
seen_clear (Seen *s)
{
    g_free (s->root);
    g_free (s->hostname);
    g_free (s->loop);
}

/* The source device of the mount at @dir in /proc/self/mountinfo, or NULL. */
static char *
mount_source (const char *dir)
{
    g_autofree char *info = NULL;
    g_auto(GStrv) lines = NULL;

    g_assert_true (g_file_get_contents ("/proc/self/mountinfo", &info, NULL, NULL));
    lines = g_strsplit (info, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit (lines[i], " ", -1);
        guint n = g_strv_length (f);

        if (n < 10 || !g_str_equal (f[4], dir))
            continue;
        for (guint k = 6; k + 2 < n; k++)
            if (g_str_equal (f[k], "-"))
                return g_strdup (f[k + 2]);
    }
    return NULL;
}

static gboolean
callback (const char *root_dir, gpointer user_data, GError **error)
{
    Seen *s = user_data;
    g_autofree char *hostname = g_build_filename (root_dir, "etc", "hostname", NULL);
    g_autofree char *source = mount_source (root_dir);
    struct statvfs sv;

    s->root = g_strdup (root_dir);
    g_assert_true (g_file_get_contents (hostname, &s->hostname, NULL, NULL));
    g_assert_cmpint (statvfs (root_dir, &sv), ==, 0);
    s->flags = sv.f_flag;
    if (source && g_str_has_prefix (source, "/dev/loop"))
        s->loop = g_strdup (source + strlen ("/dev/"));
    if (s->write) {
        g_autofree char *written = g_build_filename (root_dir, "written", NULL);
        g_assert_true (g_file_set_contents (written, "through vi-mount\n", -1, NULL));
    }
    if (s->fail)
        return vi_throw (error, VI_ERROR_GUEST, "the callback failed");
    return TRUE;
}

/* Nothing of a mount is left: no mount at the root, no mount point, the
 * loop device detached, no child process (qemu-storage-daemon) alive. */
static void
assert_cleaned_up (const Seen *s)
{
    g_autofree char *source = mount_source (s->root);

    g_assert_null (source);
    g_assert_false (g_file_test (s->root, G_FILE_TEST_EXISTS));
    if (s->loop) {
        g_autofree char *backing = g_strdup_printf ("/sys/block/%s/loop/backing_file", s->loop);
        guint i;

        /* autoclear detaches on the last close, which may lag the umount */
        for (i = 0; i < 200 && g_file_test (backing, G_FILE_TEST_EXISTS); i++)
            g_usleep (10 * 1000);
        g_assert_false (g_file_test (backing, G_FILE_TEST_EXISTS));
    }
    g_assert_cmpint (waitpid (-1, NULL, WNOHANG), ==, -1);
    g_assert_cmpint (errno, ==, ECHILD);
}

/* vi_mount_within() in a work directory of vi_mount_workdir_new(), which
 * holds nothing afterwards, and which vi_mount_workdir_remove() removes. */
static gboolean
mount_within (const ViTarget *t, ViMountFunc func, gpointer data, GError **error)
{
    g_autofree char *work = vi_mount_workdir_new (NULL);
    g_autoptr(GDir) dir = NULL;
    gboolean ok;

    g_assert_nonnull (work);
    ok = vi_mount_within (t, work, func, data, error);
    dir = g_dir_open (work, 0, NULL);
    g_assert_nonnull (dir);
    g_assert_null (g_dir_read_name (dir));
    vi_mount_workdir_remove (work);
    g_assert_false (g_file_test (work, G_FILE_TEST_EXISTS));
    return ok;
}

static ViTarget *
image_target (const char *path, const char *format)
{
    ViTarget *t = vi_target_new (VI_TARGET_ROOTFS_IMAGE, path);

    t->format = g_strdup (format);
    t->lxc_driver = g_strdup (g_str_equal (format, "raw") ? "loop" : "nbd");
    return t;
}

static void
test_image (gconstpointer data)
{
    const char *format = data;
    g_autofree char *img = g_strdup_printf ("%s/ct.%s", tmp, format);
    g_autofree char *raw = g_strdup_printf ("%s/check.raw", tmp);
    g_autoptr(ViTarget) t = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *written = NULL;
    Seen s = { .write = TRUE };

    make_image (img, format);
    t = image_target (img, format);
    g_assert_true (mount_within (t, callback, &s, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (s.hostname, ==, "h1\n");
    g_assert_true (s.flags & ST_NOSUID);
    g_assert_true (s.flags & ST_NODEV);
    g_assert_true (s.flags & ST_NOEXEC);
    g_assert_false (s.flags & ST_RDONLY);
    g_assert_nonnull (s.loop);
    assert_cleaned_up (&s);

    /* what the callback wrote is in the image */
    if (g_str_equal (format, "raw")) {
        written = debugfs_cat (img, "/written");
    } else {
        const char *argv[] = { "qemu-img", "convert", "-q", "-f", format, "-O", "raw", img, raw, NULL };
        run (argv);
        written = debugfs_cat (raw, "/written");
        g_assert_cmpint (g_unlink (raw), ==, 0);
    }
    g_assert_cmpstr (written, ==, "through vi-mount\n");
    g_assert_cmpint (g_unlink (img), ==, 0);
    seen_clear (&s);
}

/* A failing callback: its error, and the same clean-up. */
static void
test_callback_fails (void)
{
    g_autofree char *img = g_strdup_printf ("%s/fail.raw", tmp);
    g_autoptr(ViTarget) t = NULL;
    g_autoptr(GError) error = NULL;
    Seen s = { .fail = TRUE };

    make_image (img, "raw");
    t = image_target (img, "raw");
    g_assert_false (mount_within (t, callback, &s, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_cmpstr (error->message, ==, "the callback failed");
    g_assert_nonnull (s.root);
    assert_cleaned_up (&s);
    g_assert_cmpint (g_unlink (img), ==, 0);
    seen_clear (&s);
}

static gboolean
never_called (const char *root_dir, gpointer user_data, GError **error)
{
    g_error ("the callback ran on %s", root_dir);
    return FALSE;
}

static void
test_refused (void)
{
    g_autofree char *zeros = g_strdup_printf ("%s/zeros.raw", tmp);
    g_autofree char *comma = g_strdup_printf ("%s/a,b.qcow2", tmp);
    g_autofree char *missing = g_strdup_printf ("%s/missing.raw", tmp);
    g_autoptr(ViTarget) dir = vi_target_new (VI_TARGET_ROOTFS_DIR, tmp);
    g_autoptr(ViTarget) image = vi_target_new (VI_TARGET_IMAGE, zeros);
    g_autoptr(ViTarget) t_zeros = image_target (zeros, "raw");
    g_autoptr(ViTarget) t_comma = image_target (comma, "qcow2");
    g_autoptr(ViTarget) t_missing = image_target (missing, "raw");
    g_autoptr(GError) error = NULL;
    g_autofree char *block = g_malloc0 (1 << 20);

    g_assert_false (mount_within (dir, never_called, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
    g_assert_cmpstr (error->message, ==, "not an LXC image root");
    g_clear_error (&error);
    g_assert_false (mount_within (image, never_called, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
    g_clear_error (&error);

    /* no filesystem on it */
    g_assert_true (g_file_set_contents (zeros, block, 1 << 20, NULL));
    g_assert_false (mount_within (t_zeros, never_called, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
    g_assert_nonnull (strstr (error->message, "no ext4/xfs/btrfs filesystem could be mounted"));
    g_clear_error (&error);

    /* qemu-storage-daemon's option syntax would split the path */
    g_assert_true (g_file_set_contents (comma, "", 0, NULL));
    g_assert_false (mount_within (t_comma, never_called, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
    g_assert_nonnull (strstr (error->message, "image paths with ',' are not supported"));
    g_clear_error (&error);

    g_assert_false (mount_within (t_missing, never_called, NULL, &error));
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, missing));

}

int
main (int argc, char **argv)
{
    g_autofree char *cmd = NULL;
    int ret;

    g_test_init (&argc, &argv, NULL);
    if (geteuid () != 0)
        g_error ("test-mount needs root (loop devices, a private mount namespace)");
    tmp = g_dir_make_tmp ("vi-test-mount-XXXXXX", NULL);
    g_assert_nonnull (tmp);
    g_test_add_data_func ("/mount/raw-loop", "raw", test_image);
    g_test_add_data_func ("/mount/qcow2-fuse", "qcow2", test_image);
    g_test_add_func ("/mount/callback-fails", test_callback_fails);
    g_test_add_func ("/mount/refused", test_refused);
    ret = g_test_run ();
    cmd = g_strdup_printf ("rm -rf '%s'", tmp);
    if (system (cmd) != 0)
        ret = 1;
    g_free (tmp);
    return ret;
}
