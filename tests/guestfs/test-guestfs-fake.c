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
    fake_guestfs_fail ("guestfs_write");   /* leaves half a temporary file, as a cut upload */
    g_assert_false (vi_vfs_write_file (vfs, "/etc/motd", b, 0644, 0, 0, &error));
    g_assert_nonnull (strstr (error->message, "/etc/motd"));
    g_clear_error (&error);
    /* the temporary file is gone with the failed write */
    after = fake_guestfs_paths ();
    g_assert_cmpstr (before, ==, after);
    g_assert_true (vi_vfs_commit (vfs, &error));
    g_assert_null (fake_guestfs_content ("/etc/motd"));
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

/* What the undo of a failed apply meets in the appliance: a staged
 * temporary file keeps its directory until discard removes it; a directory
 * made and then not given its owner is still named as created; a failing
 * rmdir is an error that names the path, not a directory already gone. */
static void
test_undo_paths (void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViVfs) vfs = NULL;
    g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GBytes) b = g_bytes_new_static ("x", 1);
    g_autofree char *before = NULL, *after = NULL, *staged = NULL;

    fake_guestfs_reset ();
    add_root ("/dev/sda1");
    vfs = open_vfs (NULL, &error);
    g_assert_no_error (error);
    before = fake_guestfs_paths ();

    g_assert_true (vi_vfs_mkdir_p (vfs, "/srv/a", 0755, 0, 0, created, &error));
    g_assert_true (vi_vfs_write_file (vfs, "/srv/a/f", b, 0644, 0, 0, &error));
    g_assert_no_error (error);
    staged = fake_guestfs_paths ();
    g_assert_nonnull (strstr (staged, "/srv/a/.f.vi-"));
    g_assert_false (vi_vfs_rmdir (vfs, "/srv/a", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "/srv/a: no longer empty"));
    g_clear_error (&error);
    g_assert_true (vi_vfs_discard (vfs, &error));
    g_assert_cmpuint (created->len, ==, 2);
    for (guint i = created->len; i > 0; i--)
        g_assert_true (vi_vfs_rmdir (vfs, created->pdata[i - 1], &error));
    g_assert_no_error (error);
    after = fake_guestfs_paths ();
    g_assert_cmpstr (before, ==, after);
    g_clear_pointer (&after, g_free);

    g_ptr_array_set_size (created, 0);
    fake_guestfs_fail ("guestfs_lchown");
    g_assert_false (vi_vfs_mkdir_p (vfs, "/opt/x", 0755, 0, 0, created, &error));
    g_assert_nonnull (strstr (error->message, "/opt: setting owner and mode"));
    g_clear_error (&error);
    g_assert_cmpuint (created->len, ==, 1);
    g_assert_cmpstr (created->pdata[0], ==, "/opt");

    fake_guestfs_fail ("guestfs_rmdir");
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

    /* one root with /boot, /usr, /usr/local in its fstab: shortest first */
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
    g_assert_cmpuint (m->len, >=, 4);
    g_assert_cmpstr (m->pdata[m->len - 4], ==, "/");
    g_assert_cmpstr (m->pdata[m->len - 3], ==, "/usr");
    g_assert_cmpstr (m->pdata[m->len - 2], ==, "/boot");
    g_assert_cmpstr (m->pdata[m->len - 1], ==, "/usr/local");
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
        g_assert_cmpuint (r->len, ==, 2);
        g_assert_cmpstr (r->pdata[0], ==, "/etc/motd system_u:object_r:etc_t:s0");
        g_assert_cmpstr (r->pdata[1], ==, "/etc/issue system_u:object_r:etc_runtime_t:s0");
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

/* ViInjectResult.autorelabel: set exactly when this injection creates (or,
 * dry run, would create) /.autorelabel. */
typedef struct {
    const char *name;
    const char *selinux;        /* SELINUX= in the guest's config */
    gboolean policy;            /* the guest's file_contexts is there */
    gboolean present;           /* /.autorelabel is already there */
    gboolean dry_run;
    gboolean autorelabel;       /* expected flag */
    guint labelled;             /* expected labels set */
    const char *content;        /* expected /.autorelabel afterwards, NULL: none */
} AutorelabelCase;

static const AutorelabelCase autorelabel_cases[] = {
    { "labelled", "enforcing", TRUE, FALSE, FALSE, FALSE, 2, NULL },
    { "labelled-permissive", "permissive", TRUE, FALSE, FALSE, FALSE, 2, NULL },
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
    g_test_add_func ("/guestfs-fake/undo-paths", test_undo_paths);
    g_test_add_func ("/guestfs-fake/shutdown-failure", test_shutdown_failure);
    g_test_add_func ("/guestfs-fake/refusals", test_refusals);
    g_test_add_func ("/guestfs-fake/root-finding", test_roots);
    g_test_add_func ("/guestfs-fake/selinux", test_selinux);
    for (gsize i = 0; i < G_N_ELEMENTS (autorelabel_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/guestfs-fake/autorelabel-flag/%s",
                                                 autorelabel_cases[i].name);
        g_test_add_data_func (path, &autorelabel_cases[i], test_autorelabel_flag);
    }
    return g_test_run ();
}
