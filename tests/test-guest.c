/* test-guest.c: guest facts (vi-guest) read from fake trees (fake-vfs):
 * os-release and the hash method it implies, SELinux, the network stack,
 * cloud-init, and users and groups looked up in the guest's own files,
 * malformed lines skipped. */
#include <string.h>

#include "fake-vfs.h"
#include "test-cases.h"
#include "vi-crypt.h"
#include "vi-error.h"
#include "vi-guest.h"

/* The facts of @vfs, read without an error. */
static ViGuestFacts *
facts_of (ViVfs *vfs)
{
    g_autoptr(GError) error = NULL;
    ViGuestFacts *f = vi_guest_read_facts (vfs, &error);

    g_assert_no_error (error);
    g_assert_nonnull (f);
    return f;
}

/* ---- os-release --------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *path;           /* where the text is; NULL: no os-release */
    const char *text;
    const char *id;             /* expected */
    const char *version_id;
    const char *id_like;        /* the words joined by ',' */
    ViHashMethod hash;
} OsCase;

static const OsCase os_cases[] = {
    { "debian-12", "/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
      "VERSION_ID=\"12\"\nID=debian\n", "debian", "12", "", VI_HASH_YESCRYPT },
    { "debian-11", "/etc/os-release", "ID=debian\nVERSION_ID=\"11\"\n", "debian", "11", "", VI_HASH_YESCRYPT },
    { "debian-10", "/etc/os-release", "ID=debian\nVERSION_ID=\"10\"\n", "debian", "10", "", VI_HASH_SHA512 },
    { "ubuntu-20.04", "/etc/os-release", "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"20.04\"\n", "ubuntu",
      "20.04", "debian", VI_HASH_YESCRYPT },
    { "ubuntu-18.04", "/etc/os-release", "ID=ubuntu\nVERSION_ID=\"18.04\"\n", "ubuntu", "18.04", "",
      VI_HASH_SHA512 },
    { "ubuntu-20.10", "/etc/os-release", "ID=ubuntu\nVERSION_ID=\"20.10\"\n", "ubuntu", "20.10", "",
      VI_HASH_YESCRYPT },
    { "ubuntu-19.10", "/etc/os-release", "ID=ubuntu\nVERSION_ID=\"19.10\"\n", "ubuntu", "19.10", "",
      VI_HASH_SHA512 },
    { "fedora-30", "/etc/os-release", "ID=fedora\nVERSION_ID=30\n", "fedora", "30", "", VI_HASH_YESCRYPT },
    { "fedora-29", "/etc/os-release", "ID=fedora\nVERSION_ID=29\n", "fedora", "29", "", VI_HASH_SHA512 },
    { "rhel-8", "/etc/os-release", "ID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"8.6\"\n", "rhel", "8.6",
      "fedora", VI_HASH_SHA512 },
    { "rocky-9-single-quotes", "/etc/os-release", "ID='rocky'\nID_LIKE='rhel centos fedora'\n"
      "VERSION_ID='9.1'\n", "rocky", "9.1", "rhel,centos,fedora", VI_HASH_YESCRYPT },
    { "arch-rolling", "/etc/os-release", "ID=arch\nBUILD_ID=rolling\n", "arch", NULL, "", VI_HASH_YESCRYPT },
    { "alpine-unknown", "/etc/os-release", "ID=alpine\nVERSION_ID=3.18.4\n", "alpine", "3.18.4", "",
      VI_HASH_SHA512 },
    { "usr-lib-fallback", "/usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n", "debian", "12", "",
      VI_HASH_YESCRYPT },
    { "none", NULL, NULL, NULL, NULL, "", VI_HASH_SHA512 },
    { "crlf", "/etc/os-release", "ID=debian\r\nVERSION_ID=\"12\"\r\n", "debian", "12", "", VI_HASH_YESCRYPT },
    { "last-line-wins", "/etc/os-release", "ID=fedora\nID=debian\nVERSION_ID=12\n", "debian", "12", "",
      VI_HASH_YESCRYPT },
    { "spaces-around-equals-not-a-key", "/etc/os-release", "ID = debian\nVERSION_ID=12\n", NULL, "12", "",
      VI_HASH_SHA512 },
    { "unterminated-quote-kept", "/etc/os-release", "ID=\"debian\nVERSION_ID=12\n", "\"debian", "12", "",
      VI_HASH_SHA512 },
    { "comments-and-blank-lines", "/etc/os-release", "# ID=fedora\n\nID=debian\nVERSION_ID=12\n",
      "debian", "12", "", VI_HASH_YESCRYPT },
};

static void
test_os (gconstpointer data)
{
    const OsCase *c = data;
    g_autoptr(ViVfs) vfs = fake_vfs_new ();
    g_autoptr(ViGuestFacts) f = NULL;
    g_autofree char *like = NULL;

    if (c->path)
        fake_vfs_add_file (vfs, c->path, c->text, 0644, 0, 0);
    f = facts_of (vfs);
    g_assert_cmpstr (f->os_id, ==, c->id);
    g_assert_cmpstr (f->version_id, ==, c->version_id);
    like = g_strjoinv (",", f->id_like);
    g_assert_cmpstr (like, ==, c->id_like);
    g_assert_cmpstr (vi_hash_method_to_string (f->hash_method), ==, vi_hash_method_to_string (c->hash));
}

/* /etc/os-release that is not a regular file (a symlink on a real guest,
 * here a directory) is not read: /usr/lib/os-release is. */
static void
test_os_not_regular (void)
{
    g_autoptr(ViVfs) vfs = fake_vfs_new ();
    g_autoptr(ViGuestFacts) f = NULL;

    fake_vfs_add_dir (vfs, "/etc/os-release", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/usr/lib/os-release", "ID=fedora\nVERSION_ID=39\n", 0644, 0, 0);
    f = facts_of (vfs);
    g_assert_cmpstr (f->os_id, ==, "fedora");
    g_assert_cmpstr (f->version_id, ==, "39");
}

/* ---- SELinux, cloud-init, the network stack -------------------------------- */

typedef struct {
    const char *name;
    const char *config;         /* /etc/selinux/config, or NULL */
    const char *policy_dir;     /* a directory to make, or NULL */
    gboolean enforcing;
    const char *type;
} SelinuxCase;

static const SelinuxCase selinux_cases[] = {
    { "enforcing", "SELINUX=enforcing\nSELINUXTYPE=targeted\n", "/etc/selinux/targeted", TRUE, "targeted" },
    { "permissive", "# c\nSELINUX=permissive\nSELINUXTYPE=mls\n", "/etc/selinux/mls", TRUE, "mls" },
    { "quoted", "SELINUX=\"enforcing\"\nSELINUXTYPE=\"targeted\"\n", "/etc/selinux/targeted", TRUE,
      "targeted" },
    { "disabled", "SELINUX=disabled\nSELINUXTYPE=targeted\n", "/etc/selinux/targeted", FALSE, NULL },
    { "no-policy-installed", "SELINUX=enforcing\nSELINUXTYPE=targeted\n", NULL, FALSE, NULL },
    { "no-type", "SELINUX=enforcing\n", "/etc/selinux/targeted", FALSE, NULL },
    { "type-with-slash", "SELINUX=enforcing\nSELINUXTYPE=../../etc\n", "/etc", FALSE, NULL },
    { "no-config", NULL, "/etc/selinux/targeted", FALSE, NULL },
    { "last-line-wins", "SELINUX=enforcing\nSELINUX=disabled\nSELINUXTYPE=targeted\n",
      "/etc/selinux/targeted", FALSE, NULL },
};

static void
test_selinux (gconstpointer data)
{
    const SelinuxCase *c = data;
    g_autoptr(ViVfs) vfs = fake_vfs_new ();
    g_autoptr(ViGuestFacts) f = NULL;

    if (c->config)
        fake_vfs_add_file (vfs, "/etc/selinux/config", c->config, 0644, 0, 0);
    if (c->policy_dir)
        fake_vfs_add_dir (vfs, c->policy_dir, 0755, 0, 0);
    f = facts_of (vfs);
    g_assert_cmpint (f->selinux_enforcing, ==, c->enforcing);
    g_assert_cmpstr (f->selinux_type, ==, c->type);
}

typedef struct {
    const char *name;
    const char *files[5];       /* regular files to make, NULL-terminated */
    const char *dirs[3];        /* directories to make */
    ViNetRenderer renderer;
} StackCase;

#define WANTS "/etc/systemd/system/multi-user.target.wants/"

static const StackCase stack_cases[] = {
    { "netplan", { "/usr/sbin/netplan", WANTS "systemd-networkd.service" }, { "/etc/netplan" },
      VI_RENDERER_NETPLAN },
    { "netplan-binary-without-config", { "/usr/sbin/netplan", WANTS "systemd-networkd.service" }, { NULL },
      VI_RENDERER_NETWORKD },
    { "networkmanager", { "/usr/sbin/NetworkManager", WANTS "NetworkManager.service", "/sbin/ifup",
      "/etc/network/interfaces" }, { NULL }, VI_RENDERER_NETWORKMANAGER },
    { "networkmanager-dbus-alias", { "/usr/sbin/NetworkManager",
      "/etc/systemd/system/dbus-org.freedesktop.NetworkManager.service" }, { NULL },
      VI_RENDERER_NETWORKMANAGER },
    { "networkmanager-openrc", { "/usr/sbin/NetworkManager", "/etc/runlevels/default/networkmanager" },
      { NULL }, VI_RENDERER_NETWORKMANAGER },
    { "networkmanager-installed-not-enabled", { "/usr/sbin/NetworkManager", "/sbin/ifup",
      "/etc/network/interfaces" }, { NULL }, VI_RENDERER_IFUPDOWN },
    { "networkd", { "/etc/systemd/system/dbus-org.freedesktop.network1.service" }, { NULL },
      VI_RENDERER_NETWORKD },
    /* Debian with ifupdown also ships /etc/systemd/network */
    { "ifupdown-beside-networkd-dir", { "/sbin/ifup", "/etc/network/interfaces" },
      { "/etc/systemd/network", "/etc/NetworkManager" }, VI_RENDERER_IFUPDOWN },
    { "ifup-without-interfaces", { "/sbin/ifup" }, { NULL }, VI_RENDERER_AUTO },
    { "nothing", { NULL }, { "/etc/netplan", "/etc/systemd/network" }, VI_RENDERER_AUTO },
};

static void
test_stack (gconstpointer data)
{
    const StackCase *c = data;
    g_autoptr(ViVfs) vfs = fake_vfs_new ();
    g_autoptr(ViGuestFacts) f = NULL;

    for (guint i = 0; c->files[i]; i++)
        fake_vfs_add_file (vfs, c->files[i], "", 0755, 0, 0);
    for (guint i = 0; c->dirs[i]; i++)
        fake_vfs_add_dir (vfs, c->dirs[i], 0755, 0, 0);
    g_assert_cmpint (vi_guest_detect_renderer (vfs), ==, c->renderer);
    f = facts_of (vfs);
    g_assert_cmpint (f->net_renderer, ==, c->renderer);
}

static void
test_cloud_init (void)
{
    static const struct { const char *path; gboolean file; gboolean expect; } cases[] = {
        { "/usr/bin/cloud-init", TRUE, TRUE },
        { "/etc/cloud/cloud.cfg", TRUE, TRUE },
        { "/etc/cloud", FALSE, FALSE },
        { "/usr/bin/cloud-init-per", TRUE, FALSE },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr(ViVfs) vfs = fake_vfs_new ();
        g_autoptr(ViGuestFacts) f = NULL;

        if (cases[i].file)
            fake_vfs_add_file (vfs, cases[i].path, "", 0644, 0, 0);
        else
            fake_vfs_add_dir (vfs, cases[i].path, 0755, 0, 0);
        f = facts_of (vfs);
        g_assert_cmpint (f->cloud_init, ==, cases[i].expect);
    }
}

/* ---- users and groups ------------------------------------------------------ */

#define PASSWD \
    "root:x:0:0:root:/root:/bin/bash\n" \
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" \
    "alice:x:1000:1000::/home/alice:/bin/bash\n" \
    "carol:x:1002:100::/home//carol/:/bin/sh\n" \
    "slash:x:1003:1003::/:/bin/sh\n" \
    "empty:x:1004:1004:::/bin/sh\n" \
    "rel:x:1005:1005::home/rel:/bin/sh\n" \
    "dots:x:1006:1006::/home/../etc:/bin/sh\n" \
    "dave:x:1007:1007::/home/dave:/bin/sh\r\n" \
    "eve:x:abc:1::/home/eve:/bin/sh\n" \
    "frank:x:1008:1008::/home/frank\n" \
    "gina:x:1009:1009::/home/gina:/bin/sh:extra\n" \
    "huge:x:4294967295:1::/home/huge:/bin/sh\n" \
    "alice:x:2000:2000::/home/alice2:/bin/bash\n" \
    "\n"

typedef struct {
    const char *name;
    const char *user;
    const char *error;          /* NULL: found, with: */
    const char *entry_name;
    guint32 uid;
    guint32 gid;
    const char *home;
} UserCase;

static const UserCase user_cases[] = {
    { "root", "root", NULL, "root", 0, 0, "/root" },
    { "by-name", "alice", NULL, "alice", 1000, 1000, "/home/alice" },
    { "by-number", "1000", NULL, "alice", 1000, 1000, "/home/alice" },
    { "by-number-zero", "0", NULL, "root", 0, 0, "/root" },
    { "number-not-in-passwd", "4242", NULL, "4242", 4242, 4242, NULL },
    { "home-slashes-dropped", "carol", NULL, "carol", 1002, 100, "/home/carol" },
    { "home-root-unusable", "slash", NULL, "slash", 1003, 1003, NULL },
    { "home-empty-unusable", "empty", NULL, "empty", 1004, 1004, NULL },
    { "home-relative-unusable", "rel", NULL, "rel", 1005, 1005, NULL },
    { "home-dotdot-unusable", "dots", NULL, "dots", 1006, 1006, NULL },
    { "crlf-line", "dave", NULL, "dave", 1007, 1007, "/home/dave" },
    { "missing", "bob", "user 'bob' does not exist in the guest's /etc/passwd" },
    { "uid-not-a-number-skipped", "eve", "user 'eve' does not exist" },
    { "six-fields-skipped", "frank", "user 'frank' does not exist" },
    { "eight-fields-skipped", "gina", "user 'gina' does not exist" },
    { "uid-out-of-range-skipped", "huge", "user 'huge' does not exist" },
};

static ViVfs *
users_tree (void)
{
    ViVfs *vfs = fake_vfs_new ();

    fake_vfs_add_file (vfs, "/etc/passwd", PASSWD, 0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/group", "root:x:0:\nwheel:x:10:alice,carol\nbroken:x:11\n"
                       "nan:x:abc:\nusers:x:100:\nwheel:x:99:\n", 0644, 0, 0);
    return vfs;
}

static void
test_user (gconstpointer data)
{
    const UserCase *c = data;
    g_autoptr(ViVfs) vfs = users_tree ();
    g_autoptr(GError) error = NULL;
    g_autoptr(ViPasswdEntry) e = vi_guest_lookup_user (vfs, c->user, &error);

    if (c->error) {
        g_assert_null (e);
        g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
        g_assert_nonnull (strstr (error->message, c->error));
        return;
    }
    g_assert_no_error (error);
    g_assert_cmpstr (e->name, ==, c->entry_name);
    g_assert_cmpuint (e->uid, ==, c->uid);
    g_assert_cmpuint (e->gid, ==, c->gid);
    g_assert_cmpstr (e->home, ==, c->home);
}

static void
test_no_passwd (void)
{
    g_autoptr(ViVfs) vfs = fake_vfs_new ();
    g_autoptr(GError) error = NULL;
    g_autoptr(ViPasswdEntry) e = vi_guest_lookup_user (vfs, "root", &error);
    guint32 gid = 12345;

    g_assert_null (e);
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_clear_error (&error);
    g_assert_false (vi_guest_lookup_group (vfs, "root", &gid, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_cmpuint (gid, ==, 12345);
}

static void
test_group (void)
{
    static const struct { const char *name; gint64 gid; } cases[] = {
        { "root", 0 }, { "wheel", 10 }, { "users", 100 }, { "42", 42 }, { "0", 0 },
        { "broken", -1 }, { "nan", -1 }, { "nogroup", -1 }, { "alice", -1 },
    };
    g_autoptr(ViVfs) vfs = users_tree ();

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr(GError) error = NULL;
        guint32 gid = 12345;
        gboolean ok = vi_guest_lookup_group (vfs, cases[i].name, &gid, &error);

        if (cases[i].gid < 0) {
            g_autofree char *want = g_strdup_printf ("group '%s' does not exist in the guest's "
                                                     "/etc/group", cases[i].name);
            g_assert_false (ok);
            g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
            g_assert_cmpstr (error->message, ==, want);
            continue;
        }
        g_assert_no_error (error);
        g_assert_true (ok);
        g_assert_cmpuint (gid, ==, (guint32) cases[i].gid);
    }
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    VI_TEST_ADD_CASES ("/guest/os-release", os_cases, test_os);
    g_test_add_func ("/guest/os-release/not-regular", test_os_not_regular);
    VI_TEST_ADD_CASES ("/guest/selinux", selinux_cases, test_selinux);
    VI_TEST_ADD_CASES ("/guest/network-stack", stack_cases, test_stack);
    g_test_add_func ("/guest/cloud-init", test_cloud_init);
    VI_TEST_ADD_CASES ("/guest/user", user_cases, test_user);
    g_test_add_func ("/guest/no-passwd", test_no_passwd);
    g_test_add_func ("/guest/group", test_group);
    return g_test_run ();
}
