/* test-guestfs-fake.c: the libguestfs backend's error paths, against a fake
 * libguestfs (no appliance): launch, write, rename and shutdown failures,
 * refusals, root finding with 0, 1 and 2 candidate roots, and the SELinux
 * relabel or its /.autorelabel fallback. */
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "fake-guestfs.h"
#include "vi-error.h"
#include "vi-inject.h"
#include "vi-spec.h"
#include "vi-vfs-guestfs.h"

#define FSTAB "LABEL=boot /boot ext4 defaults 0 2\nLABEL=usr /usr ext4 defaults 0 2\nLABEL=local /usr/local ext4 defaults 0 2\n"

static void
add_root (const char *dev)
{
    fake_guestfs_add_fs (dev, "ext4");
    fake_guestfs_add_file (dev, "/etc", NULL, S_IFDIR | 0755, 2);
    fake_guestfs_add_file (dev, "/etc/fstab", "", S_IFREG | 0644, 1);
    fake_guestfs_add_file (dev, "/etc/os-release", "ID=debian\n", S_IFREG | 0644, 1);
}

/* Directories on @device (mount points must exist, as in the appliance). */
static void
add_dirs (const char *device, ...)
{
    va_list ap;

    va_start (ap, device);
    for (const char *d = va_arg (ap, const char *); d; d = va_arg (ap, const char *))
        fake_guestfs_add_file (device, d, NULL, S_IFDIR | 0755, 2);
    va_end (ap);
}

static ViVfs *
open_vfs (const char *root, GError **error)
{
    ViGuestfsOptions o = { .path = "/img.qcow2", .format = "qcow2", .root = root, .smp = 1 };
    return vi_vfs_guestfs_open (&o, NULL, error);
}

static void
test_launch_failure (void)
{
    g_autoptr(GError) error = NULL;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    fake_guestfs_fail ("guestfs_launch");
    g_assert_null (open_vfs (NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "/img.qcow2: launching the appliance"));
}

static void
test_write_and_commit (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GBytes) b = g_bytes_new_static ("hello\n", 6);

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", b, 0640, 0, 0, &error));
    g_assert_null (fake_guestfs_content ("/etc/motd"));       /* staged, not renamed */
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_cmpstr (fake_guestfs_content ("/etc/motd"), ==, "hello\n");
    g_assert_true (vi_vfs_guestfs_shutdown (vfs, &error));
}

/* A write reaches the appliance only at commit: a transfer that fails
 * fails the commit, naming what it wrote, and nothing is in place; a
 * rename that meets another filesystem (EXDEV) falls back to writing the
 * file in its own directory, and that write's failure is the commit's. */
static void
test_write_failure (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GBytes) b = g_bytes_new_static ("x", 1);
    g_autofree char *before = NULL, *after = NULL;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs (NULL, &error);
    before = fake_guestfs_paths ();
    fake_guestfs_fail ("guestfs_tar_in");
    g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", b, 0644, 0, 0, &error));
    after = fake_guestfs_paths ();
    g_assert_cmpstr (before, ==, after);          /* nothing before the commit */
    g_clear_pointer (&after, g_free);
    g_assert_false (vi_vfs_commit (vfs, &error));
    g_assert_nonnull (strstr (error->message, "writing the new files (tar_in)"));
    g_clear_error (&error);
    g_assert_null (fake_guestfs_content ("/etc/motd"));

    /* the control: the same write, the transfer working */
    fake_guestfs_fail (NULL);
    g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", b, 0644, 0, 0, &error));
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (fake_guestfs_content ("/etc/motd"), ==, "x");

    /* EXDEV, then the write of the fallback fails */
    fake_guestfs_exdev_from ("/.virt-inject-stage-");
    fake_guestfs_fail ("guestfs_write");
    g_assert_true (vi_vfs_write_file (vfs, "/etc/issue", b, 0644, 0, 0, &error));
    g_assert_false (vi_vfs_commit (vfs, &error));
    g_assert_nonnull (strstr (error->message, "/etc/issue: writing the new content"));
    g_clear_error (&error);
    g_assert_null (fake_guestfs_content ("/etc/issue"));
}

/* mkdir_p names what it created; rmdir removes only an empty directory. */
static void
test_mkdir_rmdir (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GBytes) b = g_bytes_new_static ("x", 1);
    g_autofree char *before = NULL, *after = NULL;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs (NULL, &error);
    before = fake_guestfs_paths ();
    g_assert_true (vi_vfs_mkdir_p (vfs, "/srv/a/b", 0750, 0, 0, created, &error));
    g_assert_cmpuint (created->len, ==, 3);
    g_assert_cmpstr (created->pdata[0], ==, "/srv");
    g_assert_cmpstr (created->pdata[2], ==, "/srv/a/b");
    /* an existing directory is not reported */
    g_ptr_array_set_size (created, 0);
    g_assert_true (vi_vfs_mkdir_p (vfs, "/srv/a/b", 0750, 0, 0, created, &error));
    g_assert_cmpuint (created->len, ==, 0);

    /* a directory with content, or a file, is left alone */
    g_assert_true (vi_vfs_write_file (vfs, "/srv/a/b/f", b, 0644, 0, 0, &error));
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_false (vi_vfs_rmdir (vfs, "/srv/a/b", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_vfs_rmdir (vfs, "/srv/a/b/f", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_cmpstr (fake_guestfs_content ("/srv/a/b/f"), ==, "x");

    fake_guestfs_remove ("/srv/a/b/f");
    for (const char *const *d = (const char *const[]) { "/srv/a/b", "/srv/a", "/srv", NULL }; *d; d++)
        g_assert_true (vi_vfs_rmdir (vfs, *d, &error));
    g_assert_true (vi_vfs_rmdir (vfs, "/srv", &error));     /* missing: nothing to do */
    after = fake_guestfs_paths ();
    g_assert_cmpstr (before, ==, after);
}

/* What the undo of a failed apply meets in the appliance: a directory of
 * the batch with a staged write under it is not empty; after discard
 * nothing of the batch is anywhere; a directory made for a symlink and
 * then not given its owner is still named as created and is removed by
 * the undo; a failing rmdir is an error that names the path, not a
 * directory already gone. */
static void
test_undo_paths (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GBytes) b = g_bytes_new_static ("x", 1);
    g_autofree char *before = NULL, *after = NULL;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    before = fake_guestfs_paths ();

    g_assert_true (vi_vfs_mkdir_p (vfs, "/srv/a", 0755, 0, 0, created, &error));
    g_assert_true (vi_vfs_write_file (vfs, "/srv/a/f", b, 0644, 0, 0, &error));
    g_assert_no_error (error);
    after = fake_guestfs_paths ();
    g_assert_cmpstr (before, ==, after);          /* made at commit */
    g_clear_pointer (&after, g_free);
    g_assert_false (vi_vfs_rmdir (vfs, "/srv/a", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "/srv/a: no longer empty"));
    g_clear_error (&error);
    g_assert_true (vi_vfs_discard (vfs, &error));
    g_assert_cmpuint (created->len, ==, 2);
    for (guint i = created->len; i > 0; i--)
        g_assert_true (vi_vfs_rmdir (vfs, created->pdata[i - 1], &error));
    g_assert_no_error (error);
    g_assert_true (vi_vfs_commit (vfs, &error));  /* nothing left to commit */
    after = fake_guestfs_paths ();
    g_assert_cmpstr (before, ==, after);
    g_clear_pointer (&after, g_free);

    g_ptr_array_set_size (created, 0);
    g_assert_true (vi_vfs_mkdir_p (vfs, "/opt/x", 0755, 0, 0, created, &error));
    g_assert_cmpuint (created->len, ==, 2);
    fake_guestfs_fail ("guestfs_lchown");
    g_assert_false (vi_vfs_symlink (vfs, "/opt/x/l", "/t", 0, 0, &error));
    g_assert_nonnull (strstr (error->message, "/opt: setting owner and mode"));
    g_clear_error (&error);
    {
        guint32 uid, gid;
        int mode;

        g_assert_true (fake_guestfs_owner ("/opt", &uid, &gid, &mode));  /* made, not owned */
        g_assert_true (S_ISDIR (mode));
    }

    fake_guestfs_fail ("guestfs_rmdir");
    g_assert_true (vi_vfs_rmdir (vfs, "/opt/x", &error));   /* never made */
    g_assert_false (vi_vfs_rmdir (vfs, "/opt", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "/opt: removing the directory"));
    g_clear_error (&error);
    fake_guestfs_fail (NULL);
    g_assert_true (vi_vfs_rmdir (vfs, "/opt", &error));
    g_assert_no_error (error);
    after = fake_guestfs_paths ();
    g_assert_cmpstr (before, ==, after);
}

/* symlink and unlink in the appliance: an existing name is refused, a
 * directory is never unlinked, a missing file is no error, and a failing
 * call names the path. */
static void
test_symlink_unlink (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    ViStat st;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    g_assert_true (vi_vfs_symlink (vfs, "/etc/unit.link", "/lib/unit", 0, 0, &error));
    g_assert_no_error (error);
    g_assert_true (vi_vfs_stat (vfs, "/etc/unit.link", &st, &error));
    g_assert_cmpint (st.type, ==, VI_FILE_TYPE_SYMLINK);
    g_assert_false (vi_vfs_symlink (vfs, "/etc/unit.link", "/x", 0, 0, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);

    g_assert_true (vi_vfs_unlink (vfs, "/etc/unit.link", &error));
    g_assert_true (vi_vfs_unlink (vfs, "/etc/unit.link", &error));
    g_assert_no_error (error);
    g_assert_false (vi_vfs_stat (vfs, "/etc/unit.link", &st, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_false (vi_vfs_unlink (vfs, "/etc", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);

    fake_guestfs_fail ("guestfs_ln_s");
    g_assert_false (vi_vfs_symlink (vfs, "/etc/b", "/x", 0, 0, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "/etc/b: creating the symbolic link"));
    g_clear_error (&error);
    fake_guestfs_fail ("guestfs_rm");
    g_assert_false (vi_vfs_unlink (vfs, "/etc/passwd", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "/etc/passwd: removing the file"));
    fake_guestfs_fail (NULL);
}

/* list_dir: the names in the directory, not the staged temporary files;
 * a missing directory is "not found", a file is no directory, and a
 * failing guestfs_ls names the path. */
static void
test_list_dir (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GPtrArray) names = NULL;
    g_autoptr(GBytes) b = g_bytes_new_static ("x\n", 2);

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    fake_guestfs_add_file ("/dev/sda1", "/etc/network", NULL, S_IFDIR | 0755, 2);
    fake_guestfs_add_file ("/dev/sda1", "/etc/network/interfaces", "auto lo\n", S_IFREG | 0644, 1);
    fake_guestfs_add_file ("/dev/sda1", "/etc/network/interfaces.d", NULL, S_IFDIR | 0755, 2);
    fake_guestfs_add_file ("/dev/sda1", "/etc/network/interfaces.d/eth0", "", S_IFREG | 0644, 1);
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    g_assert_true (vi_vfs_write_file (vfs, "/etc/network/new", b, 0644, 0, 0, &error));
    g_assert_true (vi_vfs_list_dir_opt (vfs, "/etc/network", 100, &names, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (names->len, ==, 2);
    g_assert_cmpstr (names->pdata[0], ==, "interfaces");
    g_assert_cmpstr (names->pdata[1], ==, "interfaces.d");
    g_clear_pointer (&names, g_ptr_array_unref);
    g_assert_true (vi_vfs_list_dir_opt (vfs, "/etc/netplan", 100, &names, &error));
    g_assert_cmpuint (names->len, ==, 0);
    g_clear_pointer (&names, g_ptr_array_unref);
    g_assert_false (vi_vfs_list_dir (vfs, "/etc/network/interfaces", 100, &names, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    fake_guestfs_fail ("guestfs_ls");
    g_assert_false (vi_vfs_list_dir (vfs, "/etc/network", 100, &names, &error));
    g_assert_nonnull (strstr (error->message, "/etc/network"));
}

static void
test_rename_failure (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GBytes) b = g_bytes_new_static ("x", 1);

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs (NULL, &error);
    g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", b, 0644, 0, 0, &error));
    fake_guestfs_fail ("guestfs_rename");
    g_assert_false (vi_vfs_commit (vfs, &error));
    g_assert_nonnull (strstr (error->message, "/etc/motd: replacing the file"));
}

static void
test_shutdown_failure (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs (NULL, &error);
    fake_guestfs_fail ("guestfs_shutdown");
    g_assert_false (vi_vfs_guestfs_shutdown (vfs, &error));
    g_assert_nonnull (strstr (error->message, "changes may be lost"));
    g_clear_error (&error);
    g_clear_pointer (&vfs, vi_vfs_free);

    /* what writes the filesystems back (no sync after it): its failure
     * is the shutdown's */
    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs (NULL, &error);
    fake_guestfs_fail ("guestfs_umount_all");
    g_assert_false (vi_vfs_guestfs_shutdown (vfs, &error));
    g_assert_nonnull (strstr (error->message, "unmounting"));
}

/* What prefetch learns (one lstatnslist per directory; the entries of a
 * missing directory known missing without asking) answers as the
 * one-at-a-time lstat does, and a path the VFS changes is asked again. */
static void
test_prefetch (void)
{
    static const char *const paths[] = {
        "/etc", "/etc/hosts", "/etc/link", "/etc/nope", "/srv", "/srv/app", "/srv/app/f1",
        "/srv/app/sub/f2", "/etc/hosts/x", NULL
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) b = g_bytes_new_static ("new\n", 4);

    for (guint pass = 0; pass < 2; pass++) {
        g_autoptr(ViVfs) vfs = NULL;
        ViStat st;

        fake_guestfs_reset ();
        add_root ("/dev/sda1");
        add_dirs ("/dev/sda1", "/srv", NULL);
        fake_guestfs_add_file ("/dev/sda1", "/etc/hosts", "h\n", S_IFREG | 0640, 1);
        fake_guestfs_add_file ("/dev/sda1", "/etc/link", NULL, S_IFLNK | 0777, 1);
        vfs = open_vfs (NULL, &error);
        g_assert_no_error (error);
        if (pass == 1)
            vi_vfs_prefetch (vfs, paths);
        g_assert_true (vi_vfs_stat (vfs, "/etc/hosts", &st, &error));
        g_assert_cmpint (st.type, ==, VI_FILE_TYPE_REGULAR);
        g_assert_cmpuint (st.mode, ==, 0640);
        g_assert_cmpuint (st.size, ==, 2);
        g_assert_true (vi_vfs_stat (vfs, "/etc/link", &st, &error));
        g_assert_cmpint (st.type, ==, VI_FILE_TYPE_SYMLINK);
        g_assert_true (vi_vfs_stat (vfs, "/srv", &st, &error));
        g_assert_cmpint (st.type, ==, VI_FILE_TYPE_DIRECTORY);
        for (guint i = 3; i < 8; i++) {
            if (i == 4)
                continue;
            g_assert_false (vi_vfs_stat (vfs, paths[i], &st, &error));
            g_assert_error (error, VI_ERROR, VI_ERROR_NOT_FOUND);
            g_clear_error (&error);
        }
        /* under a regular file: an error, never "not found" from a guess */
        g_assert_false (vi_vfs_stat (vfs, "/etc/hosts/x", &st, &error));
        g_assert_nonnull (error);
        g_clear_error (&error);
        /* changed through the VFS: asked again */
        g_assert_true (vi_vfs_mkdir_p (vfs, "/srv/app/sub", 0750, 0, 0, NULL, &error));
        g_assert_true (vi_vfs_stat (vfs, "/srv/app/sub", &st, &error));
        g_assert_cmpint (st.type, ==, VI_FILE_TYPE_DIRECTORY);
        g_assert_cmpuint (st.mode, ==, 0750);
        g_assert_true (vi_vfs_chmod (vfs, "/etc/hosts", 0600, &error));
        g_assert_true (vi_vfs_stat (vfs, "/etc/hosts", &st, &error));
        g_assert_cmpuint (st.mode, ==, 0600);
        g_assert_true (vi_vfs_write_file (vfs, "/srv/app/sub/f2", b, 0644, 0, 0, &error));
        g_assert_true (vi_vfs_commit (vfs, &error));
        g_assert_true (vi_vfs_stat (vfs, "/srv/app/sub/f2", &st, &error));
        g_assert_cmpint (st.type, ==, VI_FILE_TYPE_REGULAR);
        g_assert_cmpuint (st.size, ==, 4);
        g_assert_no_error (error);
    }
}

static void
test_refusals (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GBytes) out = NULL;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    fake_guestfs_add_file ("/dev/sda1", "/etc/shadow", "root:*:1::::::\n", S_IFREG | 0640, 2);
    fake_guestfs_add_file ("/dev/sda1", "/etc/fifo", NULL, S_IFIFO | 0644, 1);
    fake_guestfs_add_file ("/dev/sda1", "/etc/big", "0123456789", S_IFREG | 0644, 1);
    vfs = open_vfs (NULL, &error);
    g_assert_false (vi_vfs_read_file (vfs, "/etc/shadow", 1024, &out, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_vfs_read_file (vfs, "/etc/fifo", 1024, &out, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_vfs_read_file (vfs, "/etc/big", 5, &out, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_vfs_read_file (vfs, "/nope", 5, &out, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_NOT_FOUND);
}

static void
test_roots (void)
{
    g_autoptr(GError) e0 = NULL, e2 = NULL, e1 = NULL;
    ViVfs *vfs;
    const GPtrArray *m;

    fake_guestfs_reset ();
    fake_guestfs_add_fs ("/dev/sda1", "ext4");      /* not a root: no /etc/fstab */
    fake_guestfs_add_fs ("/dev/sdb", "swap");
    g_assert_null (open_vfs (NULL, &e0));
    g_assert_error (e0, VI_ERROR, VI_ERROR_TARGET);
    g_assert_nonnull (strstr (e0->message, "no Linux root"));

    add_root ("/dev/sda2");
    add_root ("/dev/sda3");
    g_assert_null (open_vfs (NULL, &e2));
    g_assert_error (e2, VI_ERROR, VI_ERROR_TARGET);
    g_assert_nonnull (strstr (e2->message, "/dev/sda2, /dev/sda3"));
    g_assert_nonnull (strstr (e2->message, "<vi:target root="));

    /* one root with /boot, /usr, /usr/local in its fstab: each mounted
     * when a path under it is first reached, parents first */
    fake_guestfs_reset ();
    add_root ("/dev/root");
    fake_guestfs_add_file ("/dev/root", "/etc/fstab", FSTAB, S_IFREG | 0644, 1);
    add_dirs ("/dev/root", "/boot", "/usr", NULL);
    fake_guestfs_add_fs ("/dev/boot", "ext4");
    fake_guestfs_add_fs ("/dev/usr", "ext4");
    add_dirs ("/dev/usr", "/local", NULL);
    fake_guestfs_add_fs ("/dev/local", "ext4");
    vfs = open_vfs (NULL, &e1);
    g_assert_no_error (e1);
    m = fake_guestfs_mounts ();
    g_assert_cmpuint (m->len, >=, 1);
    g_assert_cmpstr (m->pdata[m->len - 1], ==, "/");
    {
        g_autoptr(GError) e = NULL;
        g_autoptr(GBytes) b = g_bytes_new_static ("x", 1);
        ViStat st;

        /* beside the mount points: nothing more is mounted */
        g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", b, 0644, 0, 0, &e));
        g_assert_true (vi_vfs_mkdir_p (vfs, "/usrx", 0755, 0, 0, NULL, &e));
        g_assert_no_error (e);
        g_assert_cmpstr (m->pdata[m->len - 1], ==, "/");
        g_assert_true (vi_vfs_mkdir_p (vfs, "/usr/local/share", 0755, 0, 0, NULL, &e));
        g_assert_true (vi_vfs_stat (vfs, "/boot", &st, &e));
        g_assert_no_error (e);
        /* mounted once each */
        g_assert_true (vi_vfs_stat (vfs, "/usr/local/share", &st, &e));
        g_assert_no_error (e);
    }
    g_assert_cmpuint (m->len, >=, 4);
    g_assert_cmpstr (m->pdata[m->len - 4], ==, "/");
    g_assert_cmpstr (m->pdata[m->len - 3], ==, "/usr");
    g_assert_cmpstr (m->pdata[m->len - 2], ==, "/usr/local");
    g_assert_cmpstr (m->pdata[m->len - 1], ==, "/boot");
    g_assert_true (vi_vfs_commit (vfs, &e1));
    g_assert_no_error (e1);
    {
        g_autofree char *local = fake_guestfs_paths_on ("/dev/local");

        g_assert_nonnull (strstr (local, "/share\n"));
    }
    vi_vfs_free (vfs);

    /* a mount point from the guest's fstab is checked like any guest
     * path: "/../x" never reaches guestfs_mount (the same fstab without it,
     * above, mounts everything: the positive control) */
    {
        static const char *const bad[] = { "/../../tmp", "/usr/../..", "/mnt/a\x01b" };

        for (gsize b = 0; b < G_N_ELEMENTS (bad); b++) {
            g_autoptr(GError) eb = NULL;
            g_autofree char *fstab = g_strdup_printf (FSTAB "LABEL=usr %s ext4 defaults 0 2\n",
                                                      bad[b]);

            fake_guestfs_reset ();
            add_root ("/dev/root");
            fake_guestfs_add_file ("/dev/root", "/etc/fstab", fstab, S_IFREG | 0644, 1);
            fake_guestfs_add_fs ("/dev/boot", "ext4");
            fake_guestfs_add_fs ("/dev/usr", "ext4");
            fake_guestfs_add_fs ("/dev/local", "ext4");
            g_assert_null (open_vfs (NULL, &eb));
            g_assert_error (eb, VI_ERROR, VI_ERROR_GUEST);
            g_assert_nonnull (strstr (eb->message, "unusable mount point"));
            m = fake_guestfs_mounts ();
            for (guint k = 0; k < m->len; k++)
                g_assert_cmpstr (m->pdata[k], !=, bad[b]);
        }
    }

    /* merged /usr with a separate /usr: /bin and /etc/os-release are
     * symlinks into the not yet mounted /usr, and still mark the root */
    fake_guestfs_reset ();
    fake_guestfs_add_fs ("/dev/vg0/root", "ext4");
    fake_guestfs_add_file ("/dev/vg0/root", "/etc/fstab", "", S_IFREG | 0644, 1);
    fake_guestfs_add_file ("/dev/vg0/root", "/etc/os-release", NULL, S_IFLNK | 0777, 1);
    fake_guestfs_add_file ("/dev/vg0/root", "/bin", NULL, S_IFLNK | 0777, 1);
    fake_guestfs_add_fs ("/dev/vg0/usr", "ext4");
    fake_guestfs_add_file ("/dev/vg0/usr", "/lib/os-release", "ID=debian\n", S_IFREG | 0644, 1);
    vfs = open_vfs (NULL, &e1);
    g_assert_no_error (e1);
    vi_vfs_free (vfs);
}

/* An SELinux-enforcing guest: each written path gets the label the guest's
 * own file_contexts gives it (looked up with libselinux, set with
 * lsetxattr in the appliance: no setfiles needed); when the policy cannot
 * be read, /.autorelabel is created instead, the plan says why and the
 * result says so. */
#define SELINUX_SPEC \
    "<vi:inject xmlns:vi='http://virt-inject.org/xmlns/libvirt/domain/1.0'>" \
    "<vi:file path='/etc/motd'>hi&#10;</vi:file><vi:file path='/etc/issue'>x&#10;</vi:file>" \
    "</vi:inject>"
#define FILE_CONTEXTS "/etc/selinux/targeted/contexts/files/file_contexts"
#define CONTEXTS "/.*\tsystem_u:object_r:default_t:s0\n" \
                 "/etc(/.*)?\tsystem_u:object_r:etc_t:s0\n" \
                 "/etc/issue\t--\tsystem_u:object_r:etc_runtime_t:s0\n"

static void
add_selinux_root_full (const char *mode, gboolean policy)
{
    g_autofree char *config = g_strdup_printf ("SELINUX=%s\nSELINUXTYPE=targeted\n", mode);

    add_root ("/dev/sda1");
    fake_guestfs_add_file ("/dev/sda1", "/etc/selinux", NULL, S_IFDIR | 0755, 2);
    fake_guestfs_add_file ("/dev/sda1", "/etc/selinux/targeted", NULL, S_IFDIR | 0755, 2);
    fake_guestfs_add_file ("/dev/sda1", "/etc/selinux/config", config, S_IFREG | 0644, 1);
    if (policy)
        fake_guestfs_add_file ("/dev/sda1", FILE_CONTEXTS, CONTEXTS, S_IFREG | 0644, 1);
}

static void
test_selinux (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse (SELINUX_SPEC, strlen (SELINUX_SPEC), NULL, &error);
    ViInjectOptions opts = { 0 };
    const GPtrArray *r;

    g_assert_no_error (error);
    /* the guest's policy readable: the two written files, each its own label */
    {
        g_autoptr(ViVfs) vfs = NULL;
        g_auto(ViInjectResult) result = { 0 };

        fake_guestfs_reset ();
        add_selinux_root_full ("enforcing", TRUE);
        vfs = open_vfs (NULL, &error);
        g_assert_no_error (error);
        g_assert_true (vi_inject (spec, vfs, &opts, FALSE, &result, &error));
        g_assert_no_error (error);
        r = fake_guestfs_labels ();
        /* and the guest record's directories and file after them */
        g_assert_cmpuint (r->len, >, 2);
        g_assert_cmpstr (r->pdata[0], ==, "/etc/motd system_u:object_r:etc_t:s0");
        g_assert_cmpstr (r->pdata[1], ==, "/etc/issue system_u:object_r:etc_runtime_t:s0");
        g_assert_true (g_str_has_prefix (r->pdata[r->len - 1], VI_RECORD_PATH " "));
        g_assert_null (fake_guestfs_content ("/.autorelabel"));
        g_assert_nonnull (strstr (result.summary, "SELinux file_contexts"));
        g_assert_false (result.autorelabel);
    }
    /* a label that cannot be set fails the injection, naming the path */
    {
        g_autoptr(ViVfs) vfs = NULL;

        fake_guestfs_reset ();
        add_selinux_root_full ("enforcing", TRUE);
        vfs = open_vfs (NULL, &error);
        fake_guestfs_fail ("guestfs_lsetxattr");
        g_assert_false (vi_inject (spec, vfs, &opts, FALSE, NULL, &error));
        g_assert_nonnull (strstr (error->message, "labelling /etc/motd"));
        g_clear_error (&error);
    }
    /* no file_contexts: /.autorelabel, the plan says why, the result says so */
    {
        g_autoptr(ViVfs) vfs = NULL;
        g_auto(ViInjectResult) result = { 0 };

        fake_guestfs_reset ();
        add_selinux_root_full ("enforcing", FALSE);
        vfs = open_vfs (NULL, &error);
        g_assert_true (vi_inject (spec, vfs, &opts, FALSE, &result, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (fake_guestfs_labels ()->len, ==, 0);
        g_assert_cmpstr (fake_guestfs_content ("/.autorelabel"), ==, "");
        g_assert_nonnull (strstr (result.summary, VI_INJECT_AUTORELABEL_NOTE));
        g_assert_nonnull (strstr (result.summary, "the guest's SELinux policy cannot be read"));
        g_assert_true (result.autorelabel);
    }
}

/* The guest record through the libguestfs backend: written with the rest;
 * a second "once" injection of the same domain and digest applies nothing;
 * a symlinked /var/lib/virt-inject is neither read nor written through. */
static void
test_guest_record (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse (SELINUX_SPEC, strlen (SELINUX_SPEC), NULL, &error);
    const char *uuid = "6f1c1a4e-8a4b-4c2e-9d7a-0a1b2c3d4e5f";
    ViRecordKey key = { "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", TRUE };
    ViInjectOptions opts = { .domain_uuid = uuid, .record = &key };

    g_assert_no_error (error);
    fake_guestfs_reset ();
    add_selinux_root_full ("disabled", FALSE);
    for (guint run = 0; run < 2; run++) {
        g_autoptr(ViVfs) vfs = open_vfs (NULL, &error);
        g_auto(ViInjectResult) result = { 0 };

        g_assert_no_error (error);
        g_assert_true (vi_inject (spec, vfs, &opts, FALSE, &result, &error));
        g_assert_no_error (error);
        g_assert_cmpstr (result.notes, ==, run == 0 ? NULL : VI_INJECT_ALREADY_NOTE);
        if (run == 0)
            g_assert_cmpuint (result.changes, >, 0);
        else
            g_assert_cmpuint (result.changes, ==, 0);
        g_assert_nonnull (strstr (fake_guestfs_content (VI_RECORD_PATH), uuid));
        fake_guestfs_remove ("/etc/motd");      /* the owner removes it: it stays removed */
    }
    g_assert_null (fake_guestfs_content ("/etc/motd"));
    {
        g_autoptr(ViVfs) vfs = NULL;
        g_auto(ViInjectResult) result = { 0 };

        fake_guestfs_reset ();
        add_selinux_root_full ("disabled", FALSE);
        fake_guestfs_add_file ("/dev/sda1", "/var", NULL, S_IFDIR | 0755, 2);
        fake_guestfs_add_file ("/dev/sda1", "/var/lib", NULL, S_IFDIR | 0755, 2);
        fake_guestfs_add_file ("/dev/sda1", VI_RECORD_DIR, NULL, S_IFLNK | 0777, 1);
        vfs = open_vfs (NULL, &error);
        g_assert_true (vi_inject (spec, vfs, &opts, FALSE, &result, &error));
        g_assert_no_error (error);
        g_assert_nonnull (strstr (result.notes, VI_RECORD_DIR ": is a symlink"));
        g_assert_nonnull (strstr (result.notes, "guest record not written"));
        g_assert_cmpstr (fake_guestfs_content ("/etc/motd"), !=, NULL);
        g_assert_null (fake_guestfs_content (VI_RECORD_PATH));
    }
}

/* ViInjectResult.autorelabel: set exactly when this injection creates (or,
 * dry run, would create) /.autorelabel. */
typedef struct {
    const char *name;
    const char *selinux;        /* SELINUX= in the guest's config */
    gboolean policy;            /* the guest's file_contexts is there */
    gboolean present;           /* /.autorelabel is already there */
    gboolean dry_run;
    gboolean autorelabel;       /* expected flag */
    guint labelled;             /* expected labels set: the request's two files, and the
                                 * guest record's /var, /var/lib, its directory and file */
    const char *content;        /* expected /.autorelabel afterwards, NULL: none */
} AutorelabelCase;

static const AutorelabelCase autorelabel_cases[] = {
    { "labelled", "enforcing", TRUE, FALSE, FALSE, FALSE, 6, NULL },
    { "labelled-permissive", "permissive", TRUE, FALSE, FALSE, FALSE, 6, NULL },
    { "labelled-dry-run", "enforcing", TRUE, FALSE, TRUE, FALSE, 0, NULL },
    { "fallback", "enforcing", FALSE, FALSE, FALSE, TRUE, 0, "" },
    { "fallback-permissive", "permissive", FALSE, FALSE, FALSE, TRUE, 0, "" },
    { "fallback-dry-run", "enforcing", FALSE, FALSE, TRUE, TRUE, 0, NULL },
    { "already-there", "enforcing", FALSE, TRUE, FALSE, FALSE, 0, "" },
    { "disabled", "disabled", TRUE, FALSE, FALSE, FALSE, 0, NULL },
};

static void
test_autorelabel_flag (gconstpointer data)
{
    const AutorelabelCase *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse (SELINUX_SPEC, strlen (SELINUX_SPEC), NULL, &error);
    g_autoptr(ViVfs) vfs = NULL;
    g_auto(ViInjectResult) result = { 0 };

    g_assert_no_error (error);
    fake_guestfs_reset ();
    add_selinux_root_full (c->selinux, c->policy);
    if (c->present)
        fake_guestfs_add_file ("/dev/sda1", "/.autorelabel", "", S_IFREG | 0644, 1);
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    g_assert_true (vi_inject (spec, vfs, NULL, c->dry_run, &result, &error));
    g_assert_no_error (error);
    g_assert_cmpint (result.autorelabel, ==, c->autorelabel);
    g_assert_cmpuint (fake_guestfs_labels ()->len, ==, c->labelled);
    g_assert_cmpstr (fake_guestfs_content ("/.autorelabel"), ==, c->content);
    /* the plan names the fallback exactly when the flag is set */
    g_assert_cmpint (strstr (result.summary, VI_INJECT_AUTORELABEL_NOTE) != NULL, ==,
                     c->autorelabel);
}

/* ---- btrfs subvolumes and the options of the guest's fstab ------------- */

/* Fedora's layout: /boot on the first partition, a btrfs filesystem with
 * the subvolumes "root" and "home" under a bare top level. */
#define FS_UUID "6d6a3a40-0b1f-4c54-9d3e-6a1f6b0c2b11"
#define BOOT_PARTUUID "8c1e2a6f-5b3d-4e9a-a7c2-1d4f6e8b9a03"
#define FSTAB_ROOT "UUID=" FS_UUID " / btrfs subvol=root,compress=zstd:1 0 0\n"
#define FSTAB_BOOT "PARTUUID=" BOOT_PARTUUID " /boot ext4 defaults 1 2\n"
#define FSTAB_HOME "UUID=" FS_UUID " /home btrfs subvol=home,compress=zstd:1 0 0\n"
#define TOP "/dev/sda2"
#define ROOT_VOL "btrfsvol:/dev/sda2/root"
#define HOME_VOL "btrfsvol:/dev/sda2/home"
#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E a@b"
#define NS "xmlns:vi='http://virt-inject.org/xmlns/libvirt/domain/1.0'"
#define KEY_AND_MOTD \
    "<vi:inject " NS "><vi:user name='alice'><vi:ssh-key>" KEY "</vi:ssh-key></vi:user>" \
    "<vi:file path='/etc/motd'>hi&#10;</vi:file></vi:inject>"

static void
add_root_tree (const char *dev, const char *fstab)
{
    fake_guestfs_add_file (dev, "/etc", NULL, S_IFDIR | 0755, 2);
    fake_guestfs_add_file (dev, "/etc/fstab", fstab, S_IFREG | 0644, 1);
    fake_guestfs_add_file (dev, "/etc/os-release", "ID=fedora\n", S_IFREG | 0644, 1);
    fake_guestfs_add_file (dev, "/etc/passwd",
                           "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
                           S_IFREG | 0644, 1);
    fake_guestfs_add_file (dev, "/etc/group", "root:x:0:\nalice:x:1000:\n", S_IFREG | 0644, 1);
    add_dirs (dev, "/root", "/home", "/boot", "/data", "/srv", NULL);
}

static void
add_fedora (const char *fstab)
{
    fake_guestfs_add_fs ("/dev/sda1", "ext4");
    fake_guestfs_set_ids ("/dev/sda1", "2f0b9d1e-3c7a-4c1e-8d55-8a9e2f4b7c01", BOOT_PARTUUID);
    fake_guestfs_add_file ("/dev/sda1", "/vmlinuz", "kernel\n", S_IFREG | 0644, 1);
    fake_guestfs_add_fs (TOP, "btrfs");
    fake_guestfs_set_ids (TOP, FS_UUID, "64f798dd-5ac2-7744-9e65-77a8e970601b");
    add_dirs (TOP, "/root", "/home", NULL);     /* where the subvolumes are */
    fake_guestfs_add_fs (ROOT_VOL, "btrfs");    /* id 256 */
    add_root_tree (ROOT_VOL, fstab);
    fake_guestfs_add_fs (HOME_VOL, "btrfs");    /* id 257 */
    add_dirs (HOME_VOL, "/alice", NULL);
}

static gboolean
mount_logged (const char *entry)
{
    const GPtrArray *log = fake_guestfs_mount_log ();

    for (guint i = 0; i < log->len; i++)
        if (g_str_equal (log->pdata[i], entry))
            return TRUE;
    return FALSE;
}

/* What root finding asks of each filesystem.  The root's /boot and swap
 * are recognised by a findfs of their fstab specs (never asked about with
 * blkid, never mounted); a filesystem the fstab does not name is asked
 * about and looked into; blkid comes before any mount, and a RAID member
 * (metadata 0.90/1.0: a mountable filesystem at offset 0) that looks like
 * a root is never mounted.  The control: the same fixture with the
 * member's type a plain ext4 is a second root, so the member was skipped
 * for what blkid said, not for its place. */
#define OWNED_FSTAB "LABEL=root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n" \
                    "UUID=5a4e0000-0000-4000-8000-000000000003 none swap sw 0 0\n"

static void
root_and_member (const char *member_type)
{
    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    fake_guestfs_set_label ("/dev/sda1", "root");
    fake_guestfs_add_file ("/dev/sda1", "/etc/fstab", OWNED_FSTAB, S_IFREG | 0644, 1);
    add_dirs ("/dev/sda1", "/boot", NULL);
    fake_guestfs_add_fs ("/dev/sda2", "ext4");
    fake_guestfs_set_label ("/dev/sda2", "boot");
    fake_guestfs_add_fs ("/dev/sda3", "swap");
    fake_guestfs_set_ids ("/dev/sda3", "5a4e0000-0000-4000-8000-000000000003", NULL);
    fake_guestfs_add_fs ("/dev/sda4", "ext4");          /* data, not in the fstab */
    add_dirs ("/dev/sda4", "/srv", NULL);
    add_root ("/dev/sda5");                             /* looks like a root */
    fake_guestfs_set_type ("/dev/sda5", member_type);
}

static void
test_roots_asked (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) two = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    ViStat st;

    root_and_member ("linux_raid_member");
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    /* blkid: the root, the data filesystem, the member; findfs: /boot's
     * label, the swap's UUID */
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_blkid"), ==, 3);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_label"), ==, 1);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_uuid"), ==, 1);
    g_assert_true (mount_logged ("guestfs_mount_ro '' /dev/sda1 /"));
    g_assert_true (mount_logged ("guestfs_mount_ro '' /dev/sda4 /"));
    g_assert_false (mount_logged ("guestfs_mount_ro '' /dev/sda2 /"));
    g_assert_false (mount_logged ("guestfs_mount_ro '' /dev/sda3 /"));
    g_assert_false (mount_logged ("guestfs_mount_ro '' /dev/sda5 /"));
    /* /boot is mounted by what findfs said at root finding */
    g_assert_true (vi_vfs_stat (vfs, "/boot", &st, &error));
    g_assert_no_error (error);
    g_assert_true (mount_logged ("guestfs_mount_options '' /dev/sda2 /boot"));
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_label"), ==, 1);

    /* the control: sda5 a plain ext4 is a second root */
    root_and_member ("ext4");
    g_assert_null (open_vfs (NULL, &two));
    g_assert_error (two, VI_ERROR, VI_ERROR_TARGET);
    g_assert_nonnull (strstr (two->message, "/dev/sda1, /dev/sda5"));

    /* the root after its /boot: /boot is looked into first (not a root),
     * then recognised in the root's fstab by what blkid said: no findfs */
    fake_guestfs_reset ();
    fake_guestfs_add_fs ("/dev/sda1", "ext4");
    fake_guestfs_set_label ("/dev/sda1", "boot");
    add_root ("/dev/sda2");
    fake_guestfs_add_file ("/dev/sda2", "/etc/fstab", "LABEL=boot /boot ext4 defaults 0 2\n",
                           S_IFREG | 0644, 1);
    add_dirs ("/dev/sda2", "/boot", NULL);
    vi_vfs_free (g_steal_pointer (&vfs));
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_blkid"), ==, 2);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_label"), ==, 0);
    g_assert_true (vi_vfs_stat (vfs, "/boot", &st, &error));
    g_assert_no_error (error);
    g_assert_true (mount_logged ("guestfs_mount_options '' /dev/sda1 /boot"));
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_label"), ==, 0);

    /* an entry of type auto may name a btrfs filesystem (which may hold
     * a second root): not a findfs question; its filesystem is asked
     * about, and blkid's ext4 makes it the root's */
    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    fake_guestfs_add_file ("/dev/sda1", "/etc/fstab", "LABEL=data /data auto defaults 0 2\n",
                           S_IFREG | 0644, 1);
    fake_guestfs_add_fs ("/dev/sda2", "ext4");
    fake_guestfs_set_label ("/dev/sda2", "data");
    vi_vfs_free (g_steal_pointer (&vfs));
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_label"), ==, 0);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_blkid"), ==, 2);
    g_assert_false (mount_logged ("guestfs_mount_ro '' /dev/sda2 /"));
}

/* The case: keys for /home/alice land in the "home" subvolume and
 * /etc/motd in "root", as the booted guest sees them; nothing reaches the
 * top level.  Root finding looks into the subvolumes itself and does not
 * count libguestfs's own "btrfsvol:" entries a second time. */
static void
test_btrfs_fedora (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse (KEY_AND_MOTD, strlen (KEY_AND_MOTD), NULL, &error);
    g_autoptr(ViVfs) vfs = NULL;
    g_autofree char *top = NULL;
    g_autofree char *root_before = NULL, *root_after = NULL;

    g_assert_no_error (error);
    fake_guestfs_reset ();
    add_fedora (FSTAB_ROOT FSTAB_BOOT FSTAB_HOME);
    root_before = fake_guestfs_paths_on (ROOT_VOL);
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    g_assert_true (mount_logged ("guestfs_mount '' " ROOT_VOL " /"));
    g_assert_false (mount_logged ("guestfs_mount_options 'subvol=home' " TOP " /home"));
    g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_no_error (error);
    /* /home when the key went there; compress=zstd:1 is not passed on
     * (the fake refuses any option but subvol= and subvolid=); /boot,
     * never reached, never mounted */
    g_assert_true (mount_logged ("guestfs_mount_options 'subvol=home' " TOP " /home"));
    g_assert_false (mount_logged ("guestfs_mount_options '' /dev/sda1 /boot"));

    g_assert_cmpstr (fake_guestfs_content_on (HOME_VOL, "/alice/.ssh/authorized_keys"), ==, KEY "\n");
    g_assert_cmpstr (fake_guestfs_content_on (ROOT_VOL, "/etc/motd"), ==, "hi\n");
    /* the root subvolume's /home (the mount point) is untouched */
    root_after = fake_guestfs_paths_on (ROOT_VOL);
    g_assert_null (strstr (root_after, "/home/"));
    g_assert_nonnull (strstr (root_after, "/etc/motd\n"));
    top = fake_guestfs_paths_on (TOP);
    g_assert_cmpstr (top, ==, "/\n/home\n/root\n");
}

/* <vi:target root="/dev/sda2"/>: the filesystem is named, its root
 * subvolume is mounted. */
static void
test_btrfs_explicit_root (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GBytes) b = g_bytes_new_static ("x\n", 2);

    fake_guestfs_reset ();
    add_fedora (FSTAB_ROOT FSTAB_BOOT FSTAB_HOME);
    vfs = open_vfs (TOP, &error);
    g_assert_no_error (error);
    g_assert_true (mount_logged ("guestfs_mount '' " ROOT_VOL " /"));
    g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", b, 0644, 0, 0, &error));
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_cmpstr (fake_guestfs_content_on (ROOT_VOL, "/etc/motd"), ==, "x\n");
    g_clear_pointer (&vfs, vi_vfs_free);

    /* a filesystem that is not btrfs is mounted as given; a root as it
     * mounts costs that one mount: read-write at once, no blkid, no
     * remount, nothing listed */
    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs ("/dev/sda1", &error);
    g_assert_no_error (error);
    g_assert_true (mount_logged ("guestfs_mount '' /dev/sda1 /"));
    g_assert_cmpuint (fake_guestfs_mount_log ()->len, ==, 1);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_vfs_type"), ==, 0);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_blkid"), ==, 0);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_remount"), ==, 0);
    g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", b, 0644, 0, 0, &error));
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_cmpstr (fake_guestfs_content_on ("/dev/sda1", "/etc/motd"), ==, "x\n");
    g_clear_pointer (&vfs, vi_vfs_free);

    /* listing the subvolumes fails: an error naming the filesystem */
    fake_guestfs_reset ();
    add_fedora (FSTAB_ROOT FSTAB_BOOT FSTAB_HOME);
    fake_guestfs_fail ("guestfs_btrfs_subvolume_list");
    g_assert_null (open_vfs (TOP, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, TOP ": listing the btrfs subvolumes"));
    g_clear_error (&error);
    g_assert_null (open_vfs (NULL, &error));
    g_assert_nonnull (strstr (error->message, TOP ": listing the btrfs subvolumes"));
}

/* Snapshots of the root are roots too: the subvolume whose own fstab
 * mounts it at / is the one the guest boots (subvol= or subvolid=); a
 * default subvolume that is a root wins (openSUSE); with nothing to tell
 * them apart, several roots are an error naming them. */
typedef struct {
    const char *name;
    const char *root_line;      /* the "/" line of the root and of its snapshot */
    gboolean default_is_root;   /* the default subvolume is "root" */
    const char *mounted;        /* expected mount at /, NULL: an error */
} SnapshotCase;

static const SnapshotCase snapshot_cases[] = {
    { "subvol", FSTAB_ROOT, FALSE, "guestfs_mount '' " ROOT_VOL " /" },
    { "subvol-slash", "UUID=" FS_UUID " / btrfs subvol=/root 0 0\n", FALSE,
      "guestfs_mount '' " ROOT_VOL " /" },
    { "subvolid", "UUID=" FS_UUID " / btrfs subvolid=256 0 0\n", FALSE,
      "guestfs_mount '' " ROOT_VOL " /" },
    { "default-subvolume", "UUID=" FS_UUID " / btrfs defaults 0 0\n", TRUE,
      "guestfs_mount '' " TOP " /" },
    { "undecided", "UUID=" FS_UUID " / btrfs defaults 0 0\n", FALSE, NULL },
};

static void
test_btrfs_snapshots (gconstpointer data)
{
    const SnapshotCase *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autofree char *fstab = g_strconcat (c->root_line, FSTAB_BOOT FSTAB_HOME, NULL);

    fake_guestfs_reset ();
    add_fedora (fstab);
    fake_guestfs_add_fs ("btrfsvol:/dev/sda2/root/.snapshots/1/snapshot", "btrfs");
    add_root_tree ("btrfsvol:/dev/sda2/root/.snapshots/1/snapshot", fstab);
    if (c->default_is_root)
        fake_guestfs_set_btrfs_default (TOP, ROOT_VOL);
    vfs = open_vfs (NULL, &error);
    if (c->mounted) {
        g_assert_no_error (error);
        g_assert_true (mount_logged (c->mounted));
    } else {
        g_assert_null (vfs);
        g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
        g_assert_nonnull (strstr (error->message, ROOT_VOL ", btrfsvol:/dev/sda2/root/.snapshots/1/snapshot"));
        g_clear_error (&error);
        g_assert_null (open_vfs (TOP, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
        g_assert_nonnull (strstr (error->message, "several btrfs subvolumes look like a root"));
    }
}

/* One line (or a few) of the guest's fstab besides the root and /boot,
 * and what comes of it: a mount (as the fake logs it: only subvol= and
 * subvolid= ever reach it), a mount point skipped (and then refused), or
 * an error. */
typedef struct {
    const char *name;
    const char *lines;
    const char *mount;          /* expected in the mount log, or NULL */
    const char *skipped;        /* a mount point expected skipped, or NULL */
    const char *error;          /* expected in the error of the open, or NULL */
    const char *named;          /* the mount point a refusal names, if not @skipped */
} FstabCase;

static const FstabCase fstab_cases[] = {
    { "subvol", FSTAB_HOME, "guestfs_mount_options 'subvol=home' " TOP " /home", NULL, NULL },
    { "subvol-slash", "UUID=" FS_UUID " /home btrfs subvol=/home 0 0\n",
      "guestfs_mount_options 'subvol=/home' " TOP " /home", NULL, NULL },
    { "subvolid", "UUID=" FS_UUID " /home btrfs noatime,subvolid=257 0 0\n",
      "guestfs_mount_options 'subvolid=257' " TOP " /home", NULL, NULL },
    { "subvol-and-subvolid", "UUID=" FS_UUID " /home btrfs subvol=home,subvolid=257 0 0\n",
      "guestfs_mount_options 'subvol=home,subvolid=257' " TOP " /home", NULL, NULL },
    { "options-not-passed",
      "UUID=" FS_UUID " /home btrfs ro,noexec,nosuid,compress=zstd:1,x-systemd.device-timeout=0,"
      "subvol=home,defaults 0 0\nLABEL=data /srv ext4 ro,noatime,errors=remount-ro,x-systemd.automount 0 2\n",
      "guestfs_mount_options '' /dev/data /srv", NULL, NULL },
    { "partuuid-any-case", "PARTUUID=8C1E2A6F-5B3D-4E9A-A7C2-1D4F6E8B9A03 /srv ext4 defaults 0 2\n",
      "guestfs_mount_options '' /dev/sda1 /srv", NULL, NULL },
    { "noauto-present", "LABEL=data /data ext4 noauto 0 0\n",
      "guestfs_mount_options '' /dev/data /data", NULL, NULL },
    { "nofail-present", "LABEL=data /data ext4 nofail 0 0\n",
      "guestfs_mount_options '' /dev/data /data", NULL, NULL },
    { "nofail-absent-uuid", "UUID=0000dead-0000-4000-8000-000000000000 /data ext4 defaults,nofail 0 2\n",
      NULL, "/data", NULL },
    { "noauto-absent-dev", "/dev/vdb1 /data ext4 noauto 0 0\n", NULL, "/data", NULL },
    /* the appliance could open /dev/sdb1 (its kernel's name for another
     * disk), but it is not one of the image's devices */
    { "nofail-dev-not-the-image", "/dev/sdb1 /data ext4 nofail 0 0\n", NULL, "/data", NULL },
    { "dev-name", "/dev/vda1 /srv ext4 defaults 0 2\n", "guestfs_mount_options '' /dev/sda1 /srv",
      NULL, NULL },
    { "nofail-absent-partuuid", "PARTUUID=00000000-0000-4000-8000-000000000000 /data xfs nofail 0 0\n",
      NULL, "/data", NULL },
    { "nofail-absent-label", "LABEL=nosuch /data ext4 nofail,noauto 0 0\n", NULL, "/data", NULL },
    { "nofail-absent-home", "UUID=0000dead-0000-4000-8000-000000000000 /home xfs nofail 0 0\n",
      NULL, "/home", NULL },
    { "under-skipped", "UUID=0000dead-0000-4000-8000-000000000000 /data ext4 nofail 0 2\n"
      "LABEL=data /data/sub ext4 defaults 0 2\n", NULL, "/data/sub", NULL, "/data" },
    { "vfat-not-mounted", "UUID=ABCD-1234 /boot/efi vfat umask=0077,shortname=winnt 0 2\n",
      NULL, "/boot/efi", NULL },
    { "tmpfs-not-mounted", "tmpfs /data tmpfs defaults 0 0\n", NULL, "/data", NULL },
    { "escaped-mount-point", "LABEL=data /srv/my\\040data/ ext4 defaults 0 2\n",
      "guestfs_mount_options '' /dev/data /srv/my data", NULL, NULL },
    { "absent-is-fatal", "UUID=0000dead-0000-4000-8000-000000000000 /data ext4 defaults 0 2\n",
      NULL, NULL, "cannot mount /data (UUID=0000dead-0000-4000-8000-000000000000 from the guest's "
      "/etc/fstab): device not found" },
    { "absent-dev-is-fatal", "/dev/vdb1 /data ext4 defaults 0 2\n", NULL, NULL,
      "cannot mount /data (/dev/vdb1" },
    { "present-failing-is-fatal", "UUID=" FS_UUID " /home btrfs subvol=nosuch,nofail 0 0\n", NULL, NULL,
      "cannot mount /home (UUID=" FS_UUID " from the guest's /etc/fstab): mount:" },
    { "bad-subvolid", "UUID=" FS_UUID " /home btrfs subvolid=home 0 0\n", NULL, NULL,
      "mounts /home with an unusable subvolid= option" },
    { "bad-subvol", "UUID=" FS_UUID " /home btrfs subvol=a\\011b 0 0\n", NULL, NULL,
      "mounts /home with an unusable subvol= option" },
};

/* Every path operation at or under a skipped mount point is refused,
 * naming it; a path beside it (the same prefix, another name) is not. */
static void
assert_refused_error (GError *e, const char *path, const char *mountpoint, const char *op)
{
    g_autofree char *expected = g_strdup_printf ("%s: refused: %s is a mount point of the guest's "
                                                 "/etc/fstab that is not mounted here (", path,
                                                 mountpoint);

    if (e == NULL || !g_error_matches (e, VI_ERROR, VI_ERROR_GUEST) ||
        !g_str_has_prefix (e->message, expected))
        g_error ("%s %s: expected a refusal, got: %s", op, path, e ? e->message : "success");
}

static void
assert_refused (ViVfs *vfs, const char *skipped, const char *mountpoint)
{
    g_autofree char *under = g_strconcat (skipped, "/x", NULL);
    g_autofree char *beside = g_strconcat (mountpoint, "2", NULL);
    g_autoptr(GBytes) b = g_bytes_new_static ("x", 1);
    const char *paths[] = { skipped, under };

    for (gsize i = 0; i < G_N_ELEMENTS (paths); i++) {
        const char *p = paths[i];
        g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL, e5 = NULL, e6 = NULL, e7 = NULL;
        g_autoptr(GError) e8 = NULL, e9 = NULL;
        g_autoptr(GBytes) out = NULL;
        g_autoptr(GPtrArray) names = NULL;
        ViStat st;

        g_assert_false (vi_vfs_write_file (vfs, p, b, 0644, 0, 0, &e1));
        assert_refused_error (e1, p, mountpoint, "write_file");
        g_assert_false (vi_vfs_mkdir_p (vfs, p, 0755, 0, 0, NULL, &e2));
        assert_refused_error (e2, p, mountpoint, "mkdir_p");
        g_assert_false (vi_vfs_chmod (vfs, p, 0700, &e3));
        assert_refused_error (e3, p, mountpoint, "chmod");
        g_assert_false (vi_vfs_chown (vfs, p, 1, 1, &e4));
        assert_refused_error (e4, p, mountpoint, "chown");
        g_assert_false (vi_vfs_stat (vfs, p, &st, &e5));
        assert_refused_error (e5, p, mountpoint, "stat");
        g_assert_false (vi_vfs_read_file (vfs, p, 1024, &out, &e6));
        assert_refused_error (e6, p, mountpoint, "read_file");
        g_assert_false (vi_vfs_rmdir (vfs, p, &e7));
        assert_refused_error (e7, p, mountpoint, "rmdir");
        g_assert_false (vi_vfs_list_dir (vfs, p, 100, &names, &e8));
        assert_refused_error (e8, p, mountpoint, "list_dir");
        g_assert_false (vi_vfs_set_label (vfs, p, "system_u:object_r:etc_t:s0", &e9));
        assert_refused_error (e9, p, mountpoint, "set_label");
    }
    /* positive control: the same prefix, another directory */
    {
        g_autoptr(GError) e = NULL;

        g_assert_true (vi_vfs_mkdir_p (vfs, beside, 0755, 0, 0, NULL, &e));
        g_assert_no_error (e);
    }
}

/* The mount points of @lines (fstab lines), \040 read as a blank. */
static GPtrArray *
mount_points_of (const char *lines)
{
    g_auto(GStrv) l = g_strsplit (lines, "\n", -1);
    GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

    for (guint i = 0; l[i]; i++) {
        g_auto(GStrv) f = g_strsplit (l[i], " ", -1);
        g_auto(GStrv) parts = NULL;
        gsize n;

        if (g_strv_length (f) < 2)
            continue;
        parts = g_strsplit (f[1], "\\040", -1);
        g_ptr_array_add (out, g_strjoinv (" ", parts));
        n = strlen (out->pdata[out->len - 1]);
        if (n > 1 && ((char *) out->pdata[out->len - 1])[n - 1] == '/')
            ((char *) out->pdata[out->len - 1])[n - 1] = '\0';
    }
    return out;
}

static void
test_fstab_options (gconstpointer data)
{
    const FstabCase *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autofree char *fstab = g_strconcat (FSTAB_ROOT FSTAB_BOOT, c->lines, NULL);
    g_autoptr(GBytes) b = g_bytes_new_static ("hi\n", 3);

    fake_guestfs_reset ();
    add_fedora (fstab);
    fake_guestfs_add_fs ("/dev/data", "ext4");
    add_dirs ("/dev/data", "/sub", NULL);
    add_dirs (ROOT_VOL, "/srv/my data", NULL);
    fake_guestfs_add_fs ("/dev/sdb1", "ext4");
    fake_guestfs_set_unlisted ("/dev/sdb1");
    g_autoptr(GPtrArray) points = mount_points_of (c->lines);
    ViStat st;

    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    /* the root only, until a path reaches a mount point */
    g_assert_true (mount_logged ("guestfs_mount '' " ROOT_VOL " /"));
    g_assert_false (mount_logged ("guestfs_mount_options '' /dev/sda1 /boot"));
    g_assert_true (vi_vfs_stat (vfs, "/boot", &st, &error));
    g_assert_no_error (error);
    g_assert_true (mount_logged ("guestfs_mount_options '' /dev/sda1 /boot"));
    if (c->error) {
        const char *mp = points->pdata[0];
        g_autoptr(GError) again = NULL;

        /* the mount fails the first path under it, and every later one
         * with the same error, without a second try */
        g_assert_false (vi_vfs_stat (vfs, mp, &st, &error));
        g_assert_nonnull (error);
        if (strstr (error->message, c->error) == NULL)
            g_error ("'%s' is not in '%s'", c->error, error->message);
        {
            g_autofree char *under = g_strconcat (mp, "/x", NULL);
            guint mounts = fake_guestfs_mount_log ()->len;

            g_assert_false (vi_vfs_mkdir_p (vfs, under, 0755, 0, 0, NULL, &again));
            g_assert_cmpstr (again->message, ==, error->message);
            g_assert_cmpuint (fake_guestfs_mount_log ()->len, ==, mounts);
        }
        g_clear_error (&error);
    } else {
        for (guint i = 0; i < points->len; i++) {
            g_autoptr(GError) e = NULL;

            /* a skipped one refuses (checked below) */
            if (!vi_vfs_stat (vfs, points->pdata[i], &st, &e))
                g_assert_error (e, VI_ERROR, VI_ERROR_GUEST);
        }
    }
    if (c->mount)
        g_assert_true (mount_logged (c->mount));
    if (c->skipped) {
        const GPtrArray *m = fake_guestfs_mounts ();

        for (guint i = 0; i < m->len; i++)
            g_assert_cmpstr (m->pdata[i], !=, c->skipped);
        assert_refused (vfs, c->skipped, c->named ? c->named : c->skipped);
    }
    /* the injection goes on elsewhere: the positive control */
    g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", b, 0644, 0, 0, &error));
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (fake_guestfs_content_on (ROOT_VOL, "/etc/motd"), ==, "hi\n");
}

/* A whole injection with /home on a device the image does not have
 * (nofail): the keys are refused naming /home, nothing is written, not
 * even the file the request also asks for; without the keys the same
 * image takes the file. */
static void
test_skipped_home_injection (void)
{
    static const char motd[] = "<vi:inject " NS "><vi:file path='/etc/motd'>hi&#10;</vi:file></vi:inject>";
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse (KEY_AND_MOTD, strlen (KEY_AND_MOTD), NULL, &error);
    g_autoptr(ViSpec) spec_motd = vi_spec_parse (motd, strlen (motd), NULL, &error);
    g_autoptr(ViVfs) vfs = NULL;
    g_autofree char *before = NULL, *after = NULL;

    g_assert_no_error (error);
    fake_guestfs_reset ();
    add_fedora (FSTAB_ROOT FSTAB_BOOT
                "UUID=0000dead-0000-4000-8000-000000000000 /home xfs defaults,nofail 0 0\n");
    add_dirs (ROOT_VOL, "/home/alice", NULL);   /* what the mount would hide */
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    before = fake_guestfs_paths ();
    g_assert_false (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "/home is a mount point of the guest's /etc/fstab"));
    g_assert_nonnull (strstr (error->message, "UUID=0000dead-0000-4000-8000-000000000000"));
    g_clear_error (&error);
    after = fake_guestfs_paths ();
    g_assert_cmpstr (before, ==, after);
    g_assert_null (fake_guestfs_content_on (ROOT_VOL, "/etc/motd"));

    g_assert_true (vi_inject (spec_motd, vfs, NULL, FALSE, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (fake_guestfs_content_on (ROOT_VOL, "/etc/motd"), ==, "hi\n");
}

/* ---- fstab specs answered from what root finding learnt ---------------- */

#define BOOT_UUID "2c1d5f2b-6e3a-4d4c-8b9f-8e7d6c5b4a32"

/* An fstab spec of /boot is looked up in what root finding learnt: its
 * filesystem is one of the root's, not a second root, so root finding
 * asks findfs about a UUID= or LABEL= spec (one appliance process) rather
 * than blkid about the filesystem (two); the mount uses that answer.  A
 * PARTUUID= is not a findfs question: the filesystem is asked about with
 * blkid, and the mount uses what it said. */
typedef struct {
    const char *name;
    const char *spec;
    const char *findfs;         /* the findfs function asked once, or NULL for none */
    gboolean twin;              /* /dev/sda3 has /boot's UUID and label too */
    guint blkids;               /* blkid calls in all */
} SpecCase;

static const SpecCase spec_cases[] = {
    { "label", "LABEL=boot", "guestfs_findfs_label", FALSE, 1 },
    { "uuid", "UUID=" BOOT_UUID, "guestfs_findfs_uuid", FALSE, 1 },
    { "uuid-upper-case", "UUID=2C1D5F2B-6E3A-4D4C-8B9F-8E7D6C5B4A32", "guestfs_findfs_uuid", FALSE, 1 },
    { "partuuid", "PARTUUID=1234ABCD-02", NULL, FALSE, 2 },
    /* a label no filesystem has (the fake's findfs answers LABEL=NAME
     * with /dev/NAME then) */
    { "label-unknown", "LABEL=sda2", "guestfs_findfs_label", FALSE, 1 },
    /* two say this UUID: findfs chooses, as before (the fake: the first);
     * the other is asked about (blkid), and is the root's too */
    { "uuid-twice", "UUID=" BOOT_UUID, "guestfs_findfs_uuid", TRUE, 2 },
};

static void
test_fstab_spec (gconstpointer data)
{
    const SpecCase *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autofree char *fstab = g_strdup_printf ("%s /boot ext4 defaults 0 2\n", c->spec);
    const GPtrArray *log;
    ViStat st;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    fake_guestfs_add_file ("/dev/sda1", "/etc/fstab", fstab, S_IFREG | 0644, 1);
    add_dirs ("/dev/sda1", "/boot", NULL);
    fake_guestfs_add_fs ("/dev/sda2", "ext4");
    fake_guestfs_set_ids ("/dev/sda2", BOOT_UUID, "1234abcd-02");
    fake_guestfs_set_label ("/dev/sda2", "boot");
    add_dirs ("/dev/sda2", "/grub", NULL);
    if (c->twin) {
        fake_guestfs_add_fs ("/dev/sda3", "ext4");
        fake_guestfs_set_ids ("/dev/sda3", BOOT_UUID, "1234abcd-03");
        fake_guestfs_set_label ("/dev/sda3", "boot");
    }
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    g_assert_true (vi_vfs_stat (vfs, "/boot/grub", &st, &error));
    g_assert_no_error (error);
    g_assert_cmpint (st.type, ==, VI_FILE_TYPE_DIRECTORY);
    log = fake_guestfs_mount_log ();
    g_assert_cmpstr (log->pdata[log->len - 1], ==, "guestfs_mount_options '' /dev/sda2 /boot");
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_label"), ==,
                      g_strcmp0 (c->findfs, "guestfs_findfs_label") == 0);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_uuid"), ==,
                      g_strcmp0 (c->findfs, "guestfs_findfs_uuid") == 0);
    /* a PARTUUID= asked of the appliance would ask each partition again */
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_blkid"), ==, c->blkids);
    /* nothing but the root was probed */
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_mount_ro"), ==, 1);
}

/* ---- fstab filesystems mounted when first reached ------------------------ */

/* A root whose fstab has /boot and /var: an operation at or under a mount
 * point mounts it (and only then: counted mount calls), one elsewhere
 * never does; a prefetch under it mounts it before it stats (what it
 * learns is the mounted filesystem's); the record directory under /var
 * lands on /var's filesystem; shutdown unmounts what was mounted. */
static void
test_lazy_mounts (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GBytes) b = g_bytes_new_static ("x\n", 2);
    const char *elsewhere[] = { "/etc/hostname", "/bootx/y", "/varnish", NULL };
    const char *under_boot[] = { "/boot/grub/grub.cfg", NULL };
    ViStat st;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    fake_guestfs_add_file ("/dev/sda1", "/etc/fstab",
                           "LABEL=root / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n"
                           "LABEL=var /var ext4 defaults 0 2\n", S_IFREG | 0644, 1);
    add_dirs ("/dev/sda1", "/boot", "/var", NULL);
    fake_guestfs_add_fs ("/dev/boot", "ext4");
    add_dirs ("/dev/boot", "/grub", NULL);
    fake_guestfs_add_file ("/dev/boot", "/grub/grub.cfg", "menu\n", S_IFREG | 0644, 1);
    fake_guestfs_add_fs ("/dev/var", "ext4");
    add_dirs ("/dev/var", "/lib", NULL);
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_mount_options"), ==, 0);
    /* root finding asked findfs about /boot's and /var's specs (their
     * filesystems are the root's, not more roots): blkid about the root
     * only, nothing probed but the root */
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_label"), ==, 2);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_blkid"), ==, 1);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_mount_ro"), ==, 1);

    /* elsewhere, the same prefixes included: nothing mounted */
    vi_vfs_prefetch (vfs, elsewhere);
    g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", b, 0644, 0, 0, &error));
    g_assert_true (vi_vfs_mkdir_p (vfs, "/bootx", 0755, 0, 0, NULL, &error));
    g_assert_true (vi_vfs_stat (vfs, "/etc", &st, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_mount_options"), ==, 0);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_label"), ==, 2);

    /* a prefetch under /boot: mounted first, then the stats are /boot's */
    vi_vfs_prefetch (vfs, under_boot);
    g_assert_true (mount_logged ("guestfs_mount_options '' /dev/boot /boot"));
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_mount_options"), ==, 1);
    fake_guestfs_fail ("guestfs_lstatns");  /* answered from the prefetch */
    g_assert_true (vi_vfs_stat (vfs, "/boot/grub/grub.cfg", &st, &error));
    g_assert_no_error (error);
    g_assert_cmpint (st.type, ==, VI_FILE_TYPE_REGULAR);
    fake_guestfs_fail (NULL);

    /* the guest record's directory, under /var */
    g_assert_true (vi_vfs_mkdir_p (vfs, "/var/lib/virt-inject", 0700, 0, 0, NULL, &error));
    g_assert_true (vi_vfs_write_file (vfs, "/var/lib/virt-inject/record.json", b, 0600, 0, 0,
                                      &error));
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_mount_options"), ==, 2);
    /* the mounts used root finding's answers */
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_findfs_label"), ==, 2);
    g_assert_cmpstr (fake_guestfs_content_on ("/dev/var", "/lib/virt-inject/record.json"), ==, "x\n");
    g_assert_null (fake_guestfs_content_on ("/dev/sda1", "/var/lib/virt-inject/record.json"));
    g_assert_cmpstr (fake_guestfs_content_on ("/dev/sda1", "/etc/motd"), ==, "x\n");

    g_assert_true (vi_vfs_guestfs_shutdown (vfs, &error));
    g_assert_no_error (error);
    g_assert_null (fake_guestfs_content ("/etc/motd"));    /* nothing mounted any more */
}

/* ---- the batched transfer (commit) ------------------------------------- */

static void
assert_owner (const char *path, guint32 uid, guint32 gid, int mode)
{
    guint32 u, g;
    int m;

    g_assert_true (fake_guestfs_owner (path, &u, &g, &m));
    g_assert_cmpuint (u, ==, uid);
    g_assert_cmpuint (g, ==, gid);
    g_assert_cmpint (m, ==, mode);
}

static guint
appliance_writes (void)
{
    return fake_guestfs_calls ("guestfs_tar_in") + fake_guestfs_calls ("guestfs_rename") +
           fake_guestfs_calls ("guestfs_mkdir_mode") + fake_guestfs_calls ("guestfs_write") +
           fake_guestfs_calls ("guestfs_lchown") + fake_guestfs_calls ("guestfs_chmod");
}

/* A request's files: @n files in a new tree /srv/app/sub (made by
 * mkdir_p, its mode and owner changed after), one new file and one
 * replaced file in /etc; @exdev: the renames out of the staging directory
 * fail with EXDEV.  Checks every file, owner and mode, and that no staging
 * directory is left; returns the appliance calls that wrote. */
static guint
batch_run (guint n, gboolean exdev)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GBytes) motd = g_bytes_new_static ("motd\n", 5);
    g_autoptr(GBytes) passwd = g_bytes_new_static ("root:x:0:0::/root:/bin/sh\n", 26);
    g_autofree char *paths = NULL;
    ViStat st;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    fake_guestfs_add_file ("/dev/sda1", "/etc/passwd", "old\n", S_IFREG | 0644, 1);
    add_dirs ("/dev/sda1", "/srv", NULL);
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    if (exdev)
        fake_guestfs_exdev_from ("/.virt-inject-stage-");
    g_assert_true (vi_vfs_mkdir_p (vfs, "/srv/app/sub", 0755, 0, 0, created, &error));
    g_assert_cmpuint (created->len, ==, 2);
    g_assert_true (vi_vfs_chown (vfs, "/srv/app/sub", 1000, 1001, &error));
    g_assert_true (vi_vfs_chmod (vfs, "/srv/app/sub", 0750, &error));
    g_assert_no_error (error);
    /* what is under a directory of the batch is known missing, unasked */
    {
        guint asked = fake_guestfs_calls ("guestfs_lstatns");

        g_assert_false (vi_vfs_stat (vfs, "/srv/app/sub/f0", &st, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_NOT_FOUND);
        g_clear_error (&error);
        g_assert_cmpuint (fake_guestfs_calls ("guestfs_lstatns"), ==, asked);
    }
    g_assert_true (vi_vfs_stat (vfs, "/srv/app/sub", &st, &error));
    g_assert_cmpuint (st.mode, ==, 0750);
    g_assert_cmpuint (st.uid, ==, 1000);
    for (guint i = 0; i < n; i++) {
        g_autofree char *path = g_strdup_printf ("/srv/app/sub/f%u", i);
        g_autofree char *text = g_strdup_printf ("file %u\n", i);
        g_autoptr(GBytes) b = g_bytes_new (text, strlen (text));

        g_assert_true (vi_vfs_write_file (vfs, path, b, i % 2 ? 04755 : 0600, i % 3 ? 1000 : 0,
                                          i % 5 ? 1001 : 77, &error));
        g_assert_no_error (error);
    }
    g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", motd, 0644, 0, 0, &error));
    g_assert_true (vi_vfs_write_file (vfs, "/etc/passwd", passwd, 0640, 0, 42, &error));
    g_assert_no_error (error);
    /* nothing has reached the guest yet */
    g_assert_null (fake_guestfs_content ("/srv/app"));
    g_assert_cmpstr (fake_guestfs_content ("/etc/passwd"), ==, "old\n");
    g_assert_cmpuint (appliance_writes (), ==, 0);

    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_no_error (error);
    for (guint i = 0; i < n; i++) {
        g_autofree char *path = g_strdup_printf ("/srv/app/sub/f%u", i);
        g_autofree char *text = g_strdup_printf ("file %u\n", i);

        g_assert_cmpstr (fake_guestfs_content (path), ==, text);
        assert_owner (path, i % 3 ? 1000 : 0, i % 5 ? 1001 : 77, S_IFREG | (i % 2 ? 04755 : 0600));
    }
    assert_owner ("/srv/app", 0, 0, S_IFDIR | 0755);
    assert_owner ("/srv/app/sub", 1000, 1001, S_IFDIR | 0750);
    g_assert_cmpstr (fake_guestfs_content ("/etc/motd"), ==, "motd\n");
    g_assert_cmpstr (fake_guestfs_content ("/etc/passwd"), ==, "root:x:0:0::/root:/bin/sh\n");
    assert_owner ("/etc/passwd", 0, 42, S_IFREG | 0640);
    paths = fake_guestfs_paths ();
    g_assert_null (strstr (paths, "virt-inject-stage"));
    g_assert_null (strstr (paths, ".vi-"));
    /* answers after the commit are the guest's */
    g_assert_true (vi_vfs_stat (vfs, "/srv/app/sub/f0", &st, &error));
    g_assert_no_error (error);
    g_assert_true (vi_vfs_guestfs_shutdown (vfs, &error));
    return appliance_writes ();
}

/* One transfer for the whole batch: the appliance calls that write do not
 * grow with the number of files in a new directory (one tar_in, one
 * rename per replaced or new file whose directory exists, one for the new
 * tree, the staging directory made), and every file has its content,
 * owner and mode.  The fallback (EXDEV: another filesystem) gives the same
 * guest with the old per-file calls. */
static void
test_batch (void)
{
    guint ten = batch_run (10, FALSE), thousand = batch_run (1000, FALSE);

    g_assert_cmpuint (ten, ==, thousand);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_tar_in"), ==, 1);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_rename"), ==, 3);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_mkdir_mode"), ==, 1);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_write"), ==, 0);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_lchown"), ==, 0);
    g_assert_cmpuint (thousand, ==, 5);

    /* the same request when no rename out of the staging directory can
     * work: every file written in its own directory, staged copies gone */
    g_assert_cmpuint (batch_run (10, TRUE), >, 10 * 3);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_write"), ==, 12);
}

/* What a ustar member cannot hold (an owner above 07777777, a name over
 * 100 bytes with no '/' to split it at) is written the old way, and is
 * right; beside it the control: the same batch without it goes in one
 * transfer. */
static void
test_batch_unarchivable (void)
{
    g_autofree char *longname = g_strnfill (120, 'n');
    const struct {
        const char *path;
        guint32 uid;
        gboolean archived;
    } cases[] = {
        { "/srv/t/ok", 1000, TRUE },
        { "/srv/t/big-owner", 3000000, FALSE },
        { NULL, 0, FALSE },     /* the long name */
    };

    for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(ViVfs) vfs = NULL;
        g_autoptr(GBytes) b = g_bytes_new_static ("v\n", 2);
        g_autofree char *path = cases[c].path ? g_strdup (cases[c].path)
                                              : g_strconcat ("/srv/t/", longname, NULL);

        fake_guestfs_reset ();
        add_root ("/dev/sda1");
        add_dirs ("/dev/sda1", "/srv", NULL);
        vfs = open_vfs (NULL, &error);
        g_assert_true (vi_vfs_mkdir_p (vfs, "/srv/t", 0700, 5, 5, NULL, &error));
        g_assert_true (vi_vfs_write_file (vfs, path, b, 0640, cases[c].uid, 7, &error));
        g_assert_true (vi_vfs_commit (vfs, &error));
        g_assert_no_error (error);
        g_assert_cmpstr (fake_guestfs_content (path), ==, "v\n");
        assert_owner (path, cases[c].uid, 7, S_IFREG | 0640);
        assert_owner ("/srv/t", 5, 5, S_IFDIR | 0700);
        g_assert_cmpuint (fake_guestfs_calls ("guestfs_tar_in"), ==, cases[c].archived ? 1 : 0);
        g_assert_cmpuint (fake_guestfs_calls ("guestfs_write"), ==, cases[c].archived ? 0 : 1);
    }
}

/* A file under an fstab mount point is staged on that filesystem (a
 * rename cannot cross filesystems): one transfer per filesystem, each
 * file on the right one, no staging directory left on either. */
/* The root with /var on a filesystem of its own (fstab by label);
 * @trap: that filesystem's root is seen as a symlink by lstat. */
static ViVfs *
open_with_var (gboolean trap)
{
    g_autoptr(GError) error = NULL;
    ViVfs *vfs;

    fake_guestfs_reset ();
    add_root ("/dev/root");
    fake_guestfs_add_file ("/dev/root", "/etc/fstab", "LABEL=var /var ext4 defaults 0 2\n",
                           S_IFREG | 0644, 1);
    add_dirs ("/dev/root", "/var", NULL);
    fake_guestfs_add_fs ("/dev/var", "ext4");
    fake_guestfs_set_label ("/dev/var", "var");
    add_dirs ("/dev/var", "/lib", NULL);
    if (trap)
        fake_guestfs_add_file ("/dev/var", "/", NULL, S_IFLNK | 0777, 1);
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    return vfs;
}

/* A file under an fstab mount point is staged on that filesystem (a
 * rename cannot cross filesystems): one transfer per filesystem, each
 * file on the right one, no staging directory left on either.
 *
 * The appliance's tar runs outside the chroot: a mount point that lstat
 * does not call a directory (the trap: the filesystem's root seen as a
 * symlink) is never a staging place; its files are written in their own
 * directories, and are right.  The control is the same request without
 * the trap, in one transfer per filesystem. */
static void
test_batch_mounts (void)
{
    for (int trap = 0; trap < 2; trap++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(ViVfs) vfs = open_with_var (trap);
        g_autoptr(GBytes) b = g_bytes_new_static ("x\n", 2);
        g_autofree char *root = NULL, *var = NULL;

        g_assert_true (vi_vfs_write_file (vfs, "/etc/motd", b, 0644, 0, 0, &error));
        g_assert_true (vi_vfs_write_file (vfs, "/var/lib/f", b, 0644, 0, 0, &error));
        g_assert_true (vi_vfs_write_file (vfs, "/var/lib/g", b, 0600, 3, 4, &error));
        g_assert_true (vi_vfs_commit (vfs, &error));
        g_assert_no_error (error);
        g_assert_cmpstr (fake_guestfs_content_on ("/dev/root", "/etc/motd"), ==, "x\n");
        g_assert_cmpstr (fake_guestfs_content_on ("/dev/var", "/lib/f"), ==, "x\n");
        g_assert_cmpstr (fake_guestfs_content_on ("/dev/var", "/lib/g"), ==, "x\n");
        assert_owner ("/var/lib/g", 3, 4, S_IFREG | 0600);
        g_assert_cmpuint (fake_guestfs_calls ("guestfs_tar_in"), ==, trap ? 1 : 2);
        g_assert_cmpuint (fake_guestfs_calls ("guestfs_write"), ==, trap ? 2 : 0);
        root = fake_guestfs_paths_on ("/dev/root");
        var = fake_guestfs_paths_on ("/dev/var");
        g_assert_null (strstr (root, "virt-inject-stage"));
        g_assert_null (strstr (var, "virt-inject-stage"));
        g_assert_null (strstr (var, ".vi-"));
    }
}

/* A symlink into a directory of the batch makes that directory at once
 * (symlinks are not staged); the files staged under it then go in as
 * files of an existing directory. */
static void
test_batch_materialize (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GBytes) b = g_bytes_new_static ("u\n", 2);

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs (NULL, &error);
    g_assert_true (vi_vfs_mkdir_p (vfs, "/etc/systemd/system/x.wants", 0755, 0, 0, NULL, &error));
    g_assert_true (vi_vfs_write_file (vfs, "/etc/systemd/system/x.service", b, 0644, 0, 0, &error));
    g_assert_null (fake_guestfs_content ("/etc/systemd"));
    g_assert_true (vi_vfs_symlink (vfs, "/etc/systemd/system/x.wants/x.service",
                                   "/etc/systemd/system/x.service", 0, 0, &error));
    g_assert_no_error (error);
    assert_owner ("/etc/systemd/system/x.wants", 0, 0, S_IFDIR | 0755);
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (fake_guestfs_content ("/etc/systemd/system/x.service"), ==, "u\n");
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_tar_in"), ==, 1);
    g_assert_cmpuint (fake_guestfs_calls ("guestfs_rename"), ==, 1);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/guestfs-fake/launch-failure", test_launch_failure);
    g_test_add_func ("/guestfs-fake/write-and-commit", test_write_and_commit);
    g_test_add_func ("/guestfs-fake/list-dir", test_list_dir);
    g_test_add_func ("/guestfs-fake/write-failure", test_write_failure);
    g_test_add_func ("/guestfs-fake/rename-failure", test_rename_failure);
    g_test_add_func ("/guestfs-fake/mkdir-rmdir", test_mkdir_rmdir);
    g_test_add_func ("/guestfs-fake/batch", test_batch);
    g_test_add_func ("/guestfs-fake/batch/unarchivable", test_batch_unarchivable);
    g_test_add_func ("/guestfs-fake/batch/mounts", test_batch_mounts);
    g_test_add_func ("/guestfs-fake/batch/materialize", test_batch_materialize);
    g_test_add_func ("/guestfs-fake/undo-paths", test_undo_paths);
    g_test_add_func ("/guestfs-fake/symlink-unlink", test_symlink_unlink);
    g_test_add_func ("/guestfs-fake/shutdown-failure", test_shutdown_failure);
    g_test_add_func ("/guestfs-fake/refusals", test_refusals);
    g_test_add_func ("/guestfs-fake/prefetch", test_prefetch);
    g_test_add_func ("/guestfs-fake/root-finding", test_roots);
    g_test_add_func ("/guestfs-fake/root-finding/asked", test_roots_asked);
    g_test_add_func ("/guestfs-fake/lazy-mounts", test_lazy_mounts);
    for (gsize i = 0; i < G_N_ELEMENTS (spec_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/guestfs-fake/fstab-spec/%s", spec_cases[i].name);
        g_test_add_data_func (path, &spec_cases[i], test_fstab_spec);
    }
    g_test_add_func ("/guestfs-fake/selinux", test_selinux);
    g_test_add_func ("/guestfs-fake/guest-record", test_guest_record);
    g_test_add_func ("/guestfs-fake/btrfs/fedora", test_btrfs_fedora);
    g_test_add_func ("/guestfs-fake/btrfs/explicit-root", test_btrfs_explicit_root);
    for (gsize i = 0; i < G_N_ELEMENTS (snapshot_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/guestfs-fake/btrfs/snapshots/%s",
                                                 snapshot_cases[i].name);
        g_test_add_data_func (path, &snapshot_cases[i], test_btrfs_snapshots);
    }
    for (gsize i = 0; i < G_N_ELEMENTS (fstab_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/guestfs-fake/fstab/%s", fstab_cases[i].name);
        g_test_add_data_func (path, &fstab_cases[i], test_fstab_options);
    }
    g_test_add_func ("/guestfs-fake/fstab/skipped-home-injection", test_skipped_home_injection);
    for (gsize i = 0; i < G_N_ELEMENTS (autorelabel_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/guestfs-fake/autorelabel-flag/%s",
                                                 autorelabel_cases[i].name);
        g_test_add_data_func (path, &autorelabel_cases[i], test_autorelabel_flag);
    }
    return g_test_run ();
}
