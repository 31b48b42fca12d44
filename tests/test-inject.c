/* test-inject.c: the operations, against the in-memory fake VFS (every call
 * made to fail in turn) and against real generated guest trees of four
 * distributions through the root-directory backend. */
#include <crypt.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <selinux/label.h>
#include <selinux/selinux.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "fake-vfs.h"
#include "vi-crypt.h"
#include "vi-error.h"
#include "vi-firstboot.h"
#include "vi-inject.h"
#include "vi-net.h"
#include "vi-record.h"
#include "vi-edit.h"

#define NS "http://virt-inject.org/xmlns/libvirt/domain/1.0"
#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E alice@laptop"
#define KEY2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2z5O3bb1k3QGw7+0dH4j3b9bHc2cV3o6DQ0pO2xj5T bob"

static const char *request =
    "<vi:inject xmlns:vi='" NS "'>"
    "<vi:user name='root'><vi:ssh-key>" KEY1 "</vi:ssh-key><vi:ssh-key>" KEY2 "</vi:ssh-key>"
    "<vi:password secret='rootpw'/></vi:user>"
    "<vi:user name='alice'><vi:ssh-key>" KEY1 "</vi:ssh-key><vi:password locked='yes'/></vi:user>"
    "<vi:hostname>web1.example.com</vi:hostname>"
    "<vi:directory path='/srv/app' mode='0750' owner='alice' group='wheel'/>"
    "<vi:file path='/etc/motd'>Welcome&#10;</vi:file>"
    "<vi:file path='/srv/app/run.sh' mode='0755' owner='alice'>#!/bin/sh&#10;</vi:file>"
    "<vi:network><vi:interface name='eth0' mac='52:54:00:12:34:56'>"
    "<vi:address>192.0.2.10/24</vi:address><vi:address>2001:db8::10/64</vi:address>"
    "<vi:gateway>192.0.2.1</vi:gateway><vi:nameserver>192.0.2.53</vi:nameserver></vi:interface>"
    "<vi:interface name='eth1'><vi:dhcp/></vi:interface></vi:network>"
    "<vi:meta key='role'>web</vi:meta><vi:meta key='quote'>a \"b\"</vi:meta>"
    "</vi:inject>";

/* New directories nested several levels deep (a file under a new
 * /srv/a/b/c, a new /opt/x/y, ~/.ssh of bob, whose home does not exist, and
 * of alice), and the mode and owner of existing directories changed
 * (alice's home, root's ~/.ssh): what a failed apply must take back. */
static const char *nested_request =
    "<vi:inject xmlns:vi='" NS "'>"
    "<vi:directory path='/opt/x/y' mode='0750' owner='alice'/>"
    "<vi:directory path='/home/alice' mode='0700' owner='alice' group='wheel'/>"
    "<vi:file path='/srv/a/b/c/f' mode='0600' owner='bob'>f&#10;</vi:file>"
    "<vi:user name='bob'><vi:ssh-key>" KEY2 "</vi:ssh-key></vi:user>"
    "<vi:user name='alice'><vi:ssh-key>" KEY1 "</vi:ssh-key></vi:user>"
    "<vi:user name='root'><vi:ssh-key>" KEY1 "</vi:ssh-key></vi:user>"
    "<vi:hostname>nested.example.com</vi:hostname>"
    "</vi:inject>";

static char *secrets_dir;

#define HEX_DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX_DIGEST2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static ViSpec *
parse (const char *xml)
{
    g_autoptr(GError) error = NULL;
    ViSpec *spec = vi_spec_parse (xml, strlen (xml), NULL, &error);
    g_assert_no_error (error);
    return spec;
}

static ViVfs *
debian_fake (void)
{
    ViVfs *vfs = fake_vfs_new ();

    fake_vfs_add_dir (vfs, "/etc", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/root", 0700, 0, 0);
    fake_vfs_add_dir (vfs, "/home", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/home/alice", 0755, 1000, 1000);
    fake_vfs_add_dir (vfs, "/sbin", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/etc/network", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                       "alice:x:1000:1000::/home/alice:/bin/bash\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/group", "root:x:0:\nwheel:x:10:\nshadow:x:42:\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/shadow", "root:*:19000:0:99999:7:::\nalice:$6$x$y:19000:0:99999:7:::\n",
                       0640, 0, 42);
    fake_vfs_add_file (vfs, "/etc/hosts", "127.0.0.1\tlocalhost\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/network/interfaces", "auto lo\niface lo inet loopback\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/sbin/ifup", "", 0755, 0, 0);
    return vfs;
}

static void
test_fake_all_operations (void)
{
    g_autoptr(ViSpec) spec = parse (request);
    g_autoptr(ViVfs) vfs = debian_fake ();
    ViInjectOptions opts = { .secrets_dir = secrets_dir };
    g_autoptr(GError) error = NULL;
    g_autoptr(ViPlan) again = NULL;
    g_auto(ViInjectResult) result = { 0 };
    g_auto(GStrv) shadow = NULL;
    g_auto(GStrv) root = NULL;

    g_assert_true (vi_inject (spec, vfs, &opts, FALSE, &result, &error));
    g_assert_no_error (error);
    g_assert_false (result.autorelabel);       /* no SELinux */
    {
        /* the counts are those of the plan's steps, one line each */
        g_auto(GStrv) steps = g_strsplit (result.summary, "\n", -1);
        guint unchanged = 0, all = g_strv_length (steps) - 1;

        for (guint i = 0; steps[i]; i++)
            unchanged += g_str_has_prefix (steps[i], "unchanged ");
        g_assert_cmpuint (result.changes, >, 0);
        g_assert_cmpuint (result.changes, ==, all - unchanged);
        g_assert_cmpuint (result.unchanged, ==, unchanged);
    }
    g_assert_cmpstr (fake_vfs_get (vfs, "/root/.ssh/authorized_keys"), ==, KEY1 "\n" KEY2 "\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/home/alice/.ssh/authorized_keys"), ==, KEY1 "\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/hostname"), ==, "web1.example.com\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/hosts"), ==,
                     "127.0.0.1\tlocalhost\n127.0.1.1\tweb1.example.com web1\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/motd"), ==, "Welcome\n");
    g_assert_nonnull (strstr (fake_vfs_get (vfs, "/etc/network/interfaces"),
                              VI_NET_MARK_ADDED "\nsource /etc/network/interfaces.d/virt-inject-*\n"));
    g_assert_nonnull (strstr (fake_vfs_get (vfs, "/etc/network/interfaces.d/virt-inject-eth0"),
                              "iface eth0 inet static\n    address 192.0.2.10/24\n    gateway 192.0.2.1\n"));
    g_assert_nonnull (strstr (fake_vfs_get (vfs, "/etc/network/interfaces.d/virt-inject-eth1"),
                              "auto eth1\niface eth1 inet dhcp"));
    g_assert_cmpstr (fake_vfs_get (vfs, "/meta.js"), ==,
                     "{\n  \"role\" : \"web\",\n  \"quote\" : \"a \\\"b\\\"\"\n}\n");

    shadow = g_strsplit (fake_vfs_get (vfs, "/etc/shadow"), "\n", -1);
    root = g_strsplit (shadow[0], ":", -1);
    g_assert_cmpstr (root[0], ==, "root");
    g_assert_true (g_str_has_prefix (root[1], "$y$"));        /* Debian 12: yescrypt */
    g_assert_true (vi_crypt_verify ("rootpw-secret", root[1]));
    g_assert_cmpstr (root[3], ==, "0");                        /* other fields kept */
    g_assert_cmpstr (root[4], ==, "99999");
    g_assert_true (g_str_has_prefix (shadow[1], "alice:!$6$x$y:"));   /* locked */

    /* Idempotent: a second plan has nothing to do. */
    again = vi_plan_build (spec, vfs, &opts, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (vi_plan_n_changes (again), ==, 0);
}

/* ---- users: created, checked, given groups and sudo ------------------ */

static void assert_idempotent (const ViSpec *spec, ViVfs *vfs);

#define HASH6 "$6$FqqoikoO6v0uIcnm$3sMy9trbuavMQmPVVGmwLgGS4Y7TnCuX514KjnCX3b3xmdl044EXeQTVASlM/" \
              "JJGbJoD2nxEVeJNgrMytmxCy."

/* The issue's example: bob created with every attribute, a key, a
 * password, sudo, and a file owned by him and his new group. */
static const char *users_request =
    "<vi:inject xmlns:vi='" NS "'>"
    "<vi:user name='bob' create='yes' groups='adm,audio' shell='/bin/bash'>"
    "<vi:ssh-key>" KEY2 "</vi:ssh-key><vi:password hash='" HASH6 "'/>"
    "<vi:sudo nopasswd='yes'/></vi:user>"
    "<vi:file path='/srv/bob.txt' owner='bob' group='bob'>b&#10;</vi:file>"
    "</vi:inject>";

/* debian_fake() with what creating a user reads: login.defs, shells,
 * gshadow, groups adm and audio, sudoers, and an /etc/skel. */
static ViVfs *
users_fake (void)
{
    ViVfs *vfs = debian_fake ();

    fake_vfs_add_file (vfs, "/etc/group", "root:x:0:\nwheel:x:10:\nshadow:x:42:\nadm:x:4:\n"
                       "audio:x:29:\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/gshadow", "root:*::\nadm:*::\naudio:*::\n", 0640, 0, 42);
    fake_vfs_add_file (vfs, "/etc/login.defs", "# comment\nUID_MIN\t\t 1000\nUID_MAX 60000\n", 0644,
                       0, 0);
    fake_vfs_add_file (vfs, "/etc/shells", "# /etc/shells\n/bin/sh\n/bin/bash\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/sudoers", "root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n",
                       0440, 0, 0);
    fake_vfs_add_dir (vfs, "/etc/skel", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/etc/skel/.bashrc", "# bashrc\n", 0644, 0, 0);
    fake_vfs_add_dir (vfs, "/etc/skel/.config", 0700, 0, 0);
    fake_vfs_add_file (vfs, "/etc/skel/.config/app", "x=1\n", 0600, 0, 0);
    return vfs;
}

/* A guest path as a test expects it: its content (NULL: a directory, or
 * the content is not checked), mode and owner. */
typedef struct {
    const char *path;
    const char *content;
    guint mode;
    guint32 uid;
    guint32 gid;
} WantFile;

static void
assert_files (ViVfs *vfs, const WantFile *want, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        const WantFile *w = &want[i];
        ViStat st;
        g_autoptr(GError) error = NULL;

        g_assert_true (vi_vfs_stat (vfs, w->path, &st, &error));
        g_assert_no_error (error);
        if (st.mode != w->mode || st.uid != w->uid || st.gid != w->gid)
            g_error ("%s: %04o %u:%u, not %04o %u:%u", w->path, st.mode, st.uid, st.gid, w->mode,
                     w->uid, w->gid);
        if (w->content)
            g_assert_cmpstr (fake_vfs_get (vfs, w->path), ==, w->content);
    }
}

/* What users_request makes of users_fake(): alice has uid 1000, so bob
 * gets 1001, and a group of his own with the same id; his home comes from
 * /etc/skel, owned by him, 0700 (Debian, no HOME_MODE). */
static const WantFile user_create_want[] = {
    { "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
      "bob:x:1001:1001::/home/bob:/bin/bash\n", 0644, 0, 0 },
    { "/etc/group", "root:x:0:\nwheel:x:10:\nshadow:x:42:\nadm:x:4:bob\naudio:x:29:bob\n"
      "bob:x:1001:\n", 0644, 0, 0 },
    { "/etc/gshadow", "root:*::\nadm:*::bob\naudio:*::bob\nbob:!::\n", 0640, 0, 42 },
    { "/etc/shadow", NULL, 0640, 0, 42 },
    { "/home/bob", NULL, 0700, 1001, 1001 },
    { "/home/bob/.bashrc", "# bashrc\n", 0644, 1001, 1001 },
    { "/home/bob/.config", NULL, 0700, 1001, 1001 },
    { "/home/bob/.config/app", "x=1\n", 0600, 1001, 1001 },
    { "/home/bob/.ssh/authorized_keys", KEY2 "\n", 0600, 1001, 1001 },
    { "/etc/sudoers.d", NULL, 0750, 0, 0 },
    { "/etc/sudoers.d/virt-inject-bob", "bob ALL=(ALL:ALL) NOPASSWD: ALL\n", 0440, 0, 0 },
    { "/srv/bob.txt", "b\n", 0644, 1001, 1001 },
};

static void
test_fake_user_create (void)
{
    g_autoptr(ViSpec) spec = parse (users_request);
    g_autoptr(ViVfs) vfs = users_fake ();
    g_autoptr(GError) error = NULL;
    g_autofree char *today = g_strdup_printf ("%" G_GINT64_FORMAT,
                                              g_get_real_time () / G_USEC_PER_SEC / 86400);
    g_autofree char *shadow = g_strdup_printf ("root:*:19000:0:99999:7:::\n"
                                               "alice:$6$x$y:19000:0:99999:7:::\n"
                                               "bob:" HASH6 ":%s:0:99999:7:::\n", today);

    g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_no_error (error);
    assert_files (vfs, user_create_want, G_N_ELEMENTS (user_create_want));
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/shadow"), ==, shadow);
    /* a second run changes nothing: bob is not created again */
    assert_idempotent (spec, vfs);
}

/* uid, gid and home mode from the guest's login.defs; a uid free in passwd
 * but taken as a gid is passed over for a user with a group of his own. */
static const WantFile user_login_defs_want[] = {
    { "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
      "bob:x:2001:2001::/home/bob:/bin/sh\ncarol:x:2000:4::/home/carol:/bin/sh\n", 0644, 0, 0 },
    { "/etc/group", "root:x:0:\nadm:x:4:\nold:x:2000:\nbob:x:2001:\n", 0644, 0, 0 },
    { "/home/bob", NULL, 0750, 2001, 2001 },
    { "/home/carol", NULL, 0750, 2000, 4 },
};

/* An existing user with matching attributes is checked, not recreated;
 * its groups= and sudo are still added (not to gshadow, which has no
 * wheel: left as it is). */
static const WantFile user_existing_want[] = {
    { "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
      0644, 0, 0 },
    { "/etc/group", "root:x:0:\nwheel:x:10:alice\nshadow:x:42:\nadm:x:4:\naudio:x:29:\n", 0644, 0, 0 },
    { "/etc/gshadow", "root:*::\nadm:*::\naudio:*::\n", 0640, 0, 42 },
    { "/etc/sudoers.d/virt-inject-alice", "alice ALL=(ALL:ALL) ALL\n", 0440, 0, 0 },
};

/* Files that replace those of users_fake() before a run. */
static const WantFile user_login_defs_setup[] = {
    { "/etc/login.defs", "UID_MIN 2000\nUID_MAX 2010\nGID_MIN 3000\nGID_MAX 3010\nHOME_MODE 0750\n",
      0644, 0, 0 },
    { "/etc/group", "root:x:0:\nadm:x:4:\nold:x:2000:\n", 0644, 0, 0 },
};

typedef struct {
    const char *name;
    const char *users;              /* the <user> elements */
    const WantFile *setup;
    gsize n_setup;
    const WantFile *want;
    gsize n_want;
} UserCase;

static const UserCase user_cases[] = {
    { "login-defs", "<vi:user name='bob' create='yes'/><vi:user name='carol' create='yes' group='adm'/>",
      user_login_defs_setup, G_N_ELEMENTS (user_login_defs_setup),
      user_login_defs_want, G_N_ELEMENTS (user_login_defs_want) },
    { "existing", "<vi:user name='alice' create='yes' uid='1000' home='/home/alice' "
      "shell='/bin/bash' groups='wheel'><vi:sudo/></vi:user>", NULL, 0,
      user_existing_want, G_N_ELEMENTS (user_existing_want) },
};

/* Each case on users_fake(): the files as expected, nothing of /etc/skel
 * for a user that exists, and a second run changes nothing. */
static void
test_fake_user_case (gconstpointer data)
{
    const UserCase *c = data;
    g_autofree char *xml = g_strconcat ("<vi:inject xmlns:vi='" NS "'>", c->users, "</vi:inject>",
                                        NULL);
    g_autoptr(ViSpec) spec = parse (xml);
    g_autoptr(ViVfs) vfs = users_fake ();
    g_autoptr(GError) error = NULL;

    for (gsize i = 0; i < c->n_setup; i++)
        fake_vfs_add_file (vfs, c->setup[i].path, c->setup[i].content, c->setup[i].mode,
                           c->setup[i].uid, c->setup[i].gid);
    g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_no_error (error);
    assert_files (vfs, c->want, c->n_want);
    g_assert_null (fake_vfs_get (vfs, "/home/alice/.bashrc"));
    assert_idempotent (spec, vfs);
}

typedef struct {
    const char *name;
    const char *user;               /* the <user> element */
    const char *path;               /* a guest file to replace first, or NULL */
    const char *content;
    int code;
    const char *message;
} UserFailCase;

static const UserFailCase user_fail_cases[] = {
    { "uid-taken", "<vi:user name='bob' create='yes' uid='1000'/>", NULL, NULL, VI_ERROR_GUEST,
      "uid 1000 is taken" },
    { "group-missing", "<vi:user name='bob' create='yes' group='staff'/>", NULL, NULL,
      VI_ERROR_GUEST, "group 'staff' does not exist" },
    { "gid-missing", "<vi:user name='bob' create='yes' group='77'/>", NULL, NULL, VI_ERROR_GUEST,
      "has gid 77" },
    { "groups-missing", "<vi:user name='bob' create='yes' groups='adm,staff'/>", NULL, NULL,
      VI_ERROR_GUEST, "group 'staff' of groups=" },
    { "shell-unlisted", "<vi:user name='bob' create='yes' shell='/bin/zsh'/>", NULL, NULL,
      VI_ERROR_GUEST, "shell '/bin/zsh' is not listed" },
    { "no-shells", "<vi:user name='bob' create='yes' shell='/bin/sh'/>", "/etc/shells", NULL,
      VI_ERROR_GUEST, "is not listed" },
    { "group-root", "<vi:user name='bob' create='yes' group='root'/>", NULL, NULL,
      VI_ERROR_INVALID, "gid 0" },
    { "home-exists", "<vi:user name='bob' create='yes' home='/home/alice'/>", NULL, NULL,
      VI_ERROR_GUEST, "home /home/alice already exists" },
    { "missing-no-create", "<vi:user name='bob' groups='adm'/>", NULL, NULL, VI_ERROR_GUEST,
      "(create=\"yes\", or --create-user, makes it)" },
    { "existing-uid", "<vi:user name='alice' create='yes' uid='1005'/>", NULL, NULL,
      VI_ERROR_GUEST, "exists with uid 1000; the request says uid 1005" },
    { "existing-group", "<vi:user name='alice' group='wheel'/>", NULL, NULL, VI_ERROR_GUEST,
      "primary group" },
    { "existing-home", "<vi:user name='alice' home='/srv/alice'/>", NULL, NULL, VI_ERROR_GUEST,
      "exists with home '/home/alice'" },
    { "existing-shell", "<vi:user name='alice' shell='/bin/sh'/>", NULL, NULL, VI_ERROR_GUEST,
      "exists with shell '/bin/bash'" },
    { "malformed-passwd", "<vi:user name='bob' create='yes'/>", "/etc/passwd",
      "root:x:0:0::/root:/bin/sh\nbob:x:oops\n", VI_ERROR_GUEST, "malformed entry" },
    { "in-shadow-only", "<vi:user name='bob' create='yes'/>", "/etc/shadow",
      "root:*:1:0:99999:7:::\nbob:*:1:0:99999:7:::\n", VI_ERROR_GUEST, "already in its /etc/shadow" },
    { "range-full", "<vi:user name='bob' create='yes'/>", "/etc/login.defs",
      "UID_MIN 1000\nUID_MAX 1000\n", VI_ERROR_GUEST, "no free uid in 1000-1000" },
    { "sudo-not-installed", "<vi:user name='alice'><vi:sudo/></vi:user>", "/etc/sudoers", NULL,
      VI_ERROR_GUEST, "no /etc/sudoers" },
    { "sudo-no-includedir", "<vi:user name='alice'><vi:sudo/></vi:user>", "/etc/sudoers",
      "root ALL=(ALL) ALL\n", VI_ERROR_GUEST, "does not read /etc/sudoers.d" },
};

/* Each refused or failed request names the reason and writes nothing. */
static void
test_fake_user_fail (gconstpointer data)
{
    const UserFailCase *c = data;
    g_autofree char *xml = g_strconcat ("<vi:inject xmlns:vi='" NS "'>", c->user,
                                        "<vi:file path='/etc/motd'>x</vi:file></vi:inject>", NULL);
    g_autoptr(ViSpec) spec = parse (xml);
    g_autoptr(ViVfs) vfs = users_fake ();
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    g_autoptr(GError) error = NULL;

    if (c->path && c->content)
        fake_vfs_add_file (vfs, c->path, c->content, 0644, 0, 0);
    else if (c->path)
        fake_vfs_remove (vfs, c->path);
    before = fake_vfs_state (vfs);
    if (vi_inject (spec, vfs, NULL, FALSE, NULL, &error))
        g_error ("%s: accepted", c->name);
    g_assert_error (error, VI_ERROR, c->code);
    if (strstr (error->message, c->message) == NULL)
        g_error ("%s: '%s' lacks '%s'", c->name, error->message, c->message);
    g_assert_cmpuint (fake_vfs_n_mutations (vfs), ==, 0);
    after = fake_vfs_state (vfs);
    g_assert_cmpstr (before, ==, after);
}

/* debian_fake() where /srv/app already exists with the wrong mode and
 * owner: the plan fixes its attributes (an undoable step) */
static ViVfs *
debian_fake_with_app (void)
{
    ViVfs *vfs = debian_fake ();

    fake_vfs_add_dir (vfs, "/srv", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/srv/app", 0700, 0, 0);
    return vfs;
}

/* debian_fake() with bob, who has no home directory, and root's ~/.ssh
 * 0755. */
static ViVfs *
nested_fake (void)
{
    ViVfs *vfs = debian_fake ();

    fake_vfs_add_file (vfs, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                       "alice:x:1000:1000::/home/alice:/bin/bash\n"
                       "bob:x:1001:1001::/home/bob:/bin/sh\n", 0644, 0, 0);
    fake_vfs_add_dir (vfs, "/root/.ssh", 0755, 0, 0);
    return vfs;
}

typedef struct {
    const char *const *xml;
    ViVfs *(*fixture) (void);
    const char *const *expect;      /* lines of fake_vfs_state() after a clean run */
} FailCase;

/* What a clean run creates or changes, so that the failed runs have that to
 * take back (type 1: directory, 0: regular file). */
static const char *const request_expect[] = {
    "/srv 1 755 0:0\n", "/srv/app 1 750 1000:10\n", "/root/.ssh 1 700 0:0\n",
    "/home/alice/.ssh 1 700 1000:1000\n", NULL
};
static const char *const request_app_expect[] = {
    "/srv/app 1 750 1000:10\n", "/root/.ssh 1 700 0:0\n", NULL
};
static const char *const nested_expect[] = {
    "/opt 1 755 0:0\n", "/opt/x 1 755 0:0\n", "/opt/x/y 1 750 1000:1000\n",
    "/home/alice 1 700 1000:10\n", "/srv 1 755 0:0\n", "/srv/a/b/c 1 755 0:0\n",
    "/srv/a/b/c/f 0 600 1001:1001\n", "/home/bob 1 700 1001:1001\n",
    "/home/bob/.ssh 1 700 1001:1001\n", "/home/alice/.ssh 1 700 1000:1000\n",
    "/root/.ssh 1 700 0:0\n", NULL
};

static const char *const users_expect[] = {
    "/home/bob 1 700 1001:1001\n", "/home/bob/.config 1 700 1001:1001\n",
    "/home/bob/.ssh 1 700 1001:1001\n", "/etc/sudoers.d 1 750 0:0\n", "/srv 1 755 0:0\n", NULL
};

/* debian_fake() that boots with systemd */
static ViVfs *
systemd_fake (void)
{
    ViVfs *vfs = debian_fake ();

    fake_vfs_add_dir (vfs, "/lib", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/lib/systemd", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/lib/systemd/systemd", "", 0755, 0, 0);
    fake_vfs_add_symlink (vfs, "/sbin/init", "/lib/systemd/systemd");
    return vfs;
}

static const char *firstboot_request =
    "<vi:inject xmlns:vi='" NS "' policy='always'>"
    "<vi:firstboot>#!/bin/sh\necho hello &gt; /root/fb</vi:firstboot>"
    "<vi:hostname>fb.example.com</vi:hostname>"
    "</vi:inject>";
static const char *const firstboot_expect[] = {
    "/var/lib/virt-inject 1 700 0:0\n", "/var/lib/virt-inject/firstboot 0 700 0:0\n#!/bin/sh\n",
    "/etc/systemd/system/virt-inject-firstboot.service 0 644 0:0\n",
    "/etc/systemd/system/multi-user.target.wants/virt-inject-firstboot.service 2 777 0:0\n"
    "/etc/systemd/system/virt-inject-firstboot.service",
    NULL
};

static const FailCase fail_cases[] = {
    { &request, debian_fake, request_expect },
    { &request, debian_fake_with_app, request_app_expect },
    { &nested_request, nested_fake, nested_expect },
    { &users_request, users_fake, users_expect },
    { &firstboot_request, systemd_fake, firstboot_expect },
};

static guint
n_changes (const ViSpec *spec, ViVfs *vfs, const ViInjectOptions *opts)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViPlan) plan = vi_plan_build (spec, vfs, opts, &error);

    g_assert_no_error (error);
    return vi_plan_n_changes (plan);
}

static void
inject_ok (const ViSpec *spec, ViVfs *vfs, const ViInjectOptions *opts)
{
    g_autoptr(GError) error = NULL;

    g_assert_true (vi_inject (spec, vfs, opts, FALSE, NULL, &error));
    g_assert_no_error (error);
}

static gboolean
fake_exists (ViVfs *vfs, const char *path)
{
    gboolean exists = FALSE;

    g_assert_true (vi_vfs_exists (vfs, path, &exists, NULL));
    return exists;
}

/* The first-boot script on systemd: armed once per request digest, also
 * under policy="always"; after the guest ran it (script and link gone),
 * the same request arms nothing; a changed request arms the new script;
 * a marker that is not exactly a digest counts as none. */
static void
test_fake_firstboot_systemd (void)
{
    g_autoptr(ViSpec) spec = parse (firstboot_request);
    g_autoptr(ViSpec) changed = parse ("<vi:inject xmlns:vi='" NS "' policy='always'>"
                                       "<vi:firstboot>#!/bin/sh\necho second</vi:firstboot>"
                                       "</vi:inject>");
    g_autoptr(ViVfs) vfs = systemd_fake ();
    ViInjectOptions opts = { 0 };
    g_autofree char *digest = vi_spec_digest (spec);
    g_autofree char *marker = g_strconcat (digest, "\n", NULL);
    g_autofree char *runner = vi_firstboot_runner (VI_INIT_SYSTEMD);
    g_autofree char *unit = vi_firstboot_unit ();
    const char *link = VI_WANTS_DIR "/" VI_FIRSTBOOT_UNIT_NAME;
    ViStat st;

    inject_ok (spec, vfs, &opts);
    g_assert_cmpstr (fake_vfs_get (vfs, VI_FIRSTBOOT_SCRIPT), ==, "#!/bin/sh\necho hello > /root/fb");
    g_assert_cmpstr (fake_vfs_get (vfs, VI_FIRSTBOOT_RUNNER), ==, runner);
    g_assert_cmpstr (fake_vfs_get (vfs, VI_UNIT_DIR "/" VI_FIRSTBOOT_UNIT_NAME), ==, unit);
    g_assert_cmpstr (fake_vfs_get (vfs, link), ==, VI_UNIT_DIR "/" VI_FIRSTBOOT_UNIT_NAME);
    g_assert_cmpstr (fake_vfs_get (vfs, VI_FIRSTBOOT_MARKER), ==, marker);
    g_assert_true (vi_vfs_stat (vfs, link, &st, NULL));
    g_assert_cmpint (st.type, ==, VI_FILE_TYPE_SYMLINK);
    g_assert_true (vi_vfs_stat (vfs, VI_FIRSTBOOT_MARKER, &st, NULL));
    g_assert_cmpuint (st.mode, ==, 0600);
    g_assert_true (vi_vfs_stat (vfs, VI_STATE_DIR, &st, NULL));
    g_assert_cmpuint (st.mode, ==, 0700);
    g_assert_cmpuint (n_changes (spec, vfs, &opts), ==, 0);

    /* the guest ran it: the runner removed the script and the link */
    g_assert_true (vi_vfs_unlink (vfs, VI_FIRSTBOOT_SCRIPT, NULL));
    g_assert_true (vi_vfs_unlink (vfs, link, NULL));
    g_assert_cmpuint (n_changes (spec, vfs, &opts), ==, 0);
    inject_ok (spec, vfs, &opts);
    g_assert_false (fake_exists (vfs, VI_FIRSTBOOT_SCRIPT));
    g_assert_false (fake_exists (vfs, link));

    /* a changed request runs its new script once */
    inject_ok (changed, vfs, &opts);
    g_assert_cmpstr (fake_vfs_get (vfs, VI_FIRSTBOOT_SCRIPT), ==, "#!/bin/sh\necho second");
    g_assert_true (fake_exists (vfs, link));
    g_assert_cmpuint (n_changes (changed, vfs, &opts), ==, 0);

    /* a hostile marker: not a digest, so the script is armed again */
    g_assert_true (vi_vfs_unlink (vfs, VI_FIRSTBOOT_SCRIPT, NULL));
    fake_vfs_add_file (vfs, VI_FIRSTBOOT_MARKER, "../../etc/shadow\n", 0600, 0, 0);
    g_assert_cmpuint (n_changes (changed, vfs, &opts), >, 0);
    inject_ok (changed, vfs, &opts);
    g_assert_true (fake_exists (vfs, VI_FIRSTBOOT_SCRIPT));
}

typedef struct {
    const char *name;
    const char *const *init_files;  /* regular files that make the init system */
    const char *trigger;            /* the file that starts the runner */
    const char *trigger_has;        /* in its content */
    guint trigger_mode;
} FirstbootInit;

static const char *const openrc_files[] = { "/sbin/openrc", "/etc/init.d/local", NULL };
static const char *const sysvinit_files[] = { "/sbin/init", NULL };

static const FirstbootInit firstboot_inits[] = {
    { "openrc", openrc_files, VI_FIRSTBOOT_LOCAL_D, "exec /bin/sh " VI_FIRSTBOOT_RUNNER "\n", 0755 },
    { "sysvinit", sysvinit_files, VI_RC_LOCAL, "/bin/sh " VI_FIRSTBOOT_RUNNER "; fi", 0755 },
};

/* OpenRC (local.d) and sysvinit (rc.local): the trigger made once, and
 * the runner that goes with the init system. */
static void
test_fake_firstboot_init (gconstpointer data)
{
    const FirstbootInit *c = data;
    g_autoptr(ViSpec) spec = parse (firstboot_request);
    g_autoptr(ViVfs) vfs = debian_fake ();
    ViInjectOptions opts = { 0 };
    g_autofree char *runner = vi_firstboot_runner (g_str_equal (c->name, "openrc") ? VI_INIT_OPENRC
                                                   : VI_INIT_SYSVINIT);
    ViStat st;

    fake_vfs_add_dir (vfs, "/etc/init.d", 0755, 0, 0);
    for (guint i = 0; c->init_files[i]; i++)
        fake_vfs_add_file (vfs, c->init_files[i], "", 0755, 0, 0);
    inject_ok (spec, vfs, &opts);
    if (g_str_equal (c->name, "openrc"))     /* the local service enabled */
        g_assert_cmpstr (fake_vfs_get (vfs, VI_OPENRC_LOCAL_LINK), ==, VI_OPENRC_LOCAL);
    g_assert_cmpstr (fake_vfs_get (vfs, VI_FIRSTBOOT_RUNNER), ==, runner);
    g_assert_nonnull (strstr (fake_vfs_get (vfs, c->trigger), c->trigger_has));
    g_assert_true (vi_vfs_stat (vfs, c->trigger, &st, NULL));
    g_assert_cmpuint (st.mode, ==, c->trigger_mode);
    g_assert_false (fake_exists (vfs, VI_WANTS_DIR "/" VI_FIRSTBOOT_UNIT_NAME));
    g_assert_cmpuint (n_changes (spec, vfs, &opts), ==, 0);
}

/* No init system to be found, or OpenRC without its local service:
 * nothing would run the script, refused. */
static void
test_fake_firstboot_no_init (void)
{
    g_autoptr(ViSpec) spec = parse (firstboot_request);
    g_autoptr(ViVfs) vfs = debian_fake ();
    g_autoptr(GError) error = NULL;

    g_assert_false (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "<firstboot>: cannot tell the guest's init system"));
    g_clear_error (&error);
    fake_vfs_add_file (vfs, "/sbin/openrc", "", 0755, 0, 0);
    g_assert_false (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "OpenRC guest has no /etc/init.d/local service"));
}

#define UUID1 "4a2f1c3e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"
#define UUID2 "5b3f1c3e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"

static const char *identity_request =
    "<vi:inject xmlns:vi='" NS "'><vi:identity reset='yes'/></vi:inject>";

/* A template's identity on top of @vfs: machine-id, D-Bus's copy, SSH
 * host keys beside sshd's configuration, a random seed. */
static ViVfs *
add_template_identity (ViVfs *vfs)
{
    fake_vfs_add_file (vfs, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0444, 0, 0);
    fake_vfs_add_dir (vfs, "/var", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/var/lib", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/var/lib/dbus", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n", 0444, 0, 0);
    fake_vfs_add_dir (vfs, "/var/lib/systemd", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/var/lib/systemd/random-seed", "seed", 0600, 0, 0);
    fake_vfs_add_dir (vfs, "/etc/ssh", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/etc/ssh/sshd_config", "PermitRootLogin no\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/ssh/ssh_host_ed25519_key", "private", 0600, 0, 0);
    fake_vfs_add_file (vfs, "/etc/ssh/ssh_host_ed25519_key.pub", "public", 0644, 0, 0);
    fake_vfs_add_dir (vfs, "/usr", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/usr/sbin", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/usr/sbin/sshd", "", 0755, 0, 0);
    return vfs;
}

static ViVfs *
systemd_template (void)
{
    return add_template_identity (systemd_fake ());
}

/* <identity reset="yes"> on systemd: machine-id emptied (its mode kept),
 * D-Bus's copy, the host keys and the seed removed, the key unit enabled;
 * never again for the same domain, whatever the guest has since; again
 * for another domain (a clone of the clone). */
static void
test_fake_identity_systemd (void)
{
    g_autoptr(ViSpec) spec = parse (identity_request);
    g_autoptr(ViSpec) other = parse ("<vi:inject xmlns:vi='" NS "' policy='always'>"
                                     "<vi:identity reset='yes'/><vi:hostname>h</vi:hostname>"
                                     "</vi:inject>");
    g_autoptr(ViVfs) vfs = systemd_template ();
    ViInjectOptions opts = { .domain_uuid = UUID1 };
    g_autofree char *unit = vi_hostkeys_unit ();
    ViStat st;

    inject_ok (spec, vfs, &opts);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/machine-id"), ==, "");
    g_assert_true (vi_vfs_stat (vfs, "/etc/machine-id", &st, NULL));
    g_assert_cmpuint (st.mode, ==, 0444);
    g_assert_false (fake_exists (vfs, "/var/lib/dbus/machine-id"));
    g_assert_false (fake_exists (vfs, "/var/lib/systemd/random-seed"));
    g_assert_false (fake_exists (vfs, "/etc/ssh/ssh_host_ed25519_key"));
    g_assert_false (fake_exists (vfs, "/etc/ssh/ssh_host_ed25519_key.pub"));
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/ssh/sshd_config"), ==, "PermitRootLogin no\n");
    g_assert_cmpstr (fake_vfs_get (vfs, VI_UNIT_DIR "/" VI_HOSTKEYS_UNIT_NAME), ==, unit);
    g_assert_cmpstr (fake_vfs_get (vfs, VI_WANTS_DIR "/" VI_HOSTKEYS_UNIT_NAME), ==,
                     VI_UNIT_DIR "/" VI_HOSTKEYS_UNIT_NAME);
    g_assert_cmpstr (fake_vfs_get (vfs, VI_IDENTITY_MARKER), ==, UUID1 "\n");
    g_assert_cmpuint (n_changes (spec, vfs, &opts), ==, 0);

    /* booted: new keys, a new machine-id, the key unit's link gone; the
     * same domain with a changed request and policy="always": nothing */
    fake_vfs_add_file (vfs, "/etc/ssh/ssh_host_ed25519_key", "new private", 0600, 0, 0);
    fake_vfs_add_file (vfs, "/etc/machine-id", "fedcba9876543210fedcba9876543210\n", 0444, 0, 0);
    g_assert_true (vi_vfs_unlink (vfs, VI_WANTS_DIR "/" VI_HOSTKEYS_UNIT_NAME, NULL));
    inject_ok (other, vfs, &opts);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/ssh/ssh_host_ed25519_key"), ==, "new private");
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/machine-id"), ==, "fedcba9876543210fedcba9876543210\n");
    g_assert_false (fake_exists (vfs, VI_WANTS_DIR "/" VI_HOSTKEYS_UNIT_NAME));

    /* a clone of this guest: another domain */
    opts.domain_uuid = UUID2;
    inject_ok (spec, vfs, &opts);
    g_assert_false (fake_exists (vfs, "/etc/ssh/ssh_host_ed25519_key"));
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/machine-id"), ==, "");
    g_assert_true (fake_exists (vfs, VI_WANTS_DIR "/" VI_HOSTKEYS_UNIT_NAME));
    g_assert_cmpstr (fake_vfs_get (vfs, VI_IDENTITY_MARKER), ==, UUID2 "\n");

    /* no domain: the marker says so, and that is once too */
    opts.domain_uuid = NULL;
    inject_ok (spec, vfs, &opts);
    g_assert_cmpstr (fake_vfs_get (vfs, VI_IDENTITY_MARKER), ==, VI_IDENTITY_STANDALONE "\n");
    g_assert_cmpuint (n_changes (spec, vfs, &opts), ==, 0);
}

/* OpenRC: machine-id removed (dbus-uuidgen --ensure makes one), no key
 * unit (its sshd service makes missing keys).  sysvinit with sshd:
 * refused, nothing written. */
static void
test_fake_identity_other_inits (void)
{
    g_autoptr(ViSpec) spec = parse (identity_request);
    ViInjectOptions opts = { .domain_uuid = UUID1 };
    g_autoptr(GError) error = NULL;

    {
        g_autoptr(ViVfs) vfs = add_template_identity (debian_fake ());

        fake_vfs_add_file (vfs, "/sbin/openrc", "", 0755, 0, 0);
        inject_ok (spec, vfs, &opts);
        g_assert_false (fake_exists (vfs, "/etc/machine-id"));
        g_assert_false (fake_exists (vfs, "/etc/ssh/ssh_host_ed25519_key"));
        g_assert_false (fake_exists (vfs, VI_UNIT_DIR "/" VI_HOSTKEYS_UNIT_NAME));
        g_assert_cmpstr (fake_vfs_get (vfs, VI_IDENTITY_MARKER), ==, UUID1 "\n");
    }
    {
        g_autoptr(ViVfs) vfs = add_template_identity (debian_fake ());
        g_autofree char *before = NULL, *after = NULL;

        fake_vfs_add_file (vfs, "/sbin/init", "", 0755, 0, 0);
        before = fake_vfs_state (vfs);
        g_assert_false (vi_inject (spec, vfs, &opts, FALSE, NULL, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
        g_assert_nonnull (strstr (error->message, "sysvinit guest has sshd"));
        after = fake_vfs_state (vfs);
        g_assert_cmpstr (before, ==, after);
    }
}

/* A failure at any call of an identity reset: the guest is as it was,
 * but for the files removed before the failure (they cannot be put
 * back), and no marker: the next injection does it all again. */
static void
test_fake_identity_fail_everywhere (void)
{
    g_autoptr(ViSpec) spec = parse (identity_request);
    ViInjectOptions opts = { .domain_uuid = UUID1 };
    guint n_calls;

    {
        g_autoptr(ViVfs) vfs = systemd_template ();

        inject_ok (spec, vfs, &opts);
        n_calls = fake_vfs_n_mutations (vfs);
    }
    for (guint n = 1; n <= n_calls; n++) {
        g_autoptr(ViVfs) vfs = systemd_template ();
        g_autoptr(ViVfs) expect = systemd_template ();
        g_autoptr(GPtrArray) before = fake_vfs_paths (vfs);
        g_autoptr(GPtrArray) after = NULL;
        g_autofree char *state = NULL, *expect_state = NULL;
        g_autoptr(GError) error = NULL;

        fake_vfs_fail_at (vfs, n);
        g_assert_false (vi_inject (spec, vfs, &opts, FALSE, NULL, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
        after = fake_vfs_paths (vfs);
        for (guint i = 0; i < before->len; i++) {
            const char *p = before->pdata[i];
            gboolean kept = FALSE;

            for (guint j = 0; j < after->len && !kept; j++)
                kept = g_str_equal (p, after->pdata[j]);
            if (!kept) {
                g_assert_true (g_str_has_prefix (p, "/etc/ssh/ssh_host_") ||
                               g_str_equal (p, "/var/lib/dbus/machine-id") ||
                               g_str_equal (p, "/var/lib/systemd/random-seed"));
                g_assert_true (vi_vfs_unlink (expect, p, NULL));
            }
        }
        state = fake_vfs_state (vfs);
        expect_state = fake_vfs_state (expect);
        g_assert_cmpstr (state, ==, expect_state);
        g_assert_false (fake_exists (vfs, VI_IDENTITY_MARKER));
        /* and the next injection does it all */
        inject_ok (spec, vfs, &opts);
        g_assert_false (fake_exists (vfs, "/etc/ssh/ssh_host_ed25519_key"));
        g_assert_true (fake_exists (vfs, VI_WANTS_DIR "/" VI_HOSTKEYS_UNIT_NAME));
        g_assert_cmpstr (fake_vfs_get (vfs, "/etc/machine-id"), ==, "");
    }
}

/* The error of a failed apply names the step ("creating /srv/a/b/c (...)",
 * "writing /etc/motd (...)", "committing the changes"), then the VFS's
 * message, which names the path that failed (for a mkdir -p, the
 * component being created) and which call it was. */
static void
assert_names_step (const GError *error, guint call)
{
    g_autoptr(GRegex) re = g_regex_new ("^(?:(?:creating|setting mode and owner of|writing|linking) "
                                        "(/\\S*) \\(.+\\)|committing the changes): (/\\S*): "
                                        "[a-z]+: injected failure \\(call ([0-9]+)\\)$",
                                        0, 0, NULL);
    g_autoptr(GMatchInfo) m = NULL;
    g_autofree char *step_path = NULL, *failed_path = NULL, *n = NULL;

    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    if (!g_regex_match (re, error->message, 0, &m))
        g_error ("call %u: the error does not name the step: %s", call, error->message);
    step_path = g_match_info_fetch (m, 1);
    failed_path = g_match_info_fetch (m, 2);
    n = g_match_info_fetch (m, 3);
    if (*step_path != '\0' && !g_str_equal (step_path, failed_path)) {
        g_autofree char *prefix = g_strconcat (failed_path, "/", NULL);
        if (!g_str_has_prefix (step_path, prefix))
            g_error ("call %u: %s failed in the step of %s", call, failed_path, step_path);
    }
    g_assert_cmpuint (g_ascii_strtoull (n, NULL, 10), ==, call);
}

/* A failure of any mutating call leaves the whole tree exactly as it was:
 * no new directory, no changed mode or owner, no file, no staged write left
 * over (fake_vfs_state() holds them all). */
static void
test_fake_fail_everywhere (gconstpointer data)
{
    const FailCase *c = data;
    g_autoptr(ViSpec) spec = parse (*c->xml);
    ViInjectOptions opts = { .secrets_dir = secrets_dir };
    guint n_calls;

    /* Count the mutating calls of a clean run, and check that it makes
     * what the failed runs must take back. */
    {
        g_autoptr(ViVfs) vfs = c->fixture ();
        g_autofree char *state = NULL;

        g_assert_true (vi_inject (spec, vfs, &opts, FALSE, NULL, NULL));
        n_calls = fake_vfs_n_mutations (vfs);
        g_assert_cmpuint (n_calls, >, 10);
        state = fake_vfs_state (vfs);
        for (guint i = 0; c->expect[i]; i++)
            if (strstr (state, c->expect[i]) == NULL)
                g_error ("a clean run did not leave %s in:\n%s", c->expect[i], state);
    }
    for (guint n = 1; n <= n_calls; n++) {
        g_autoptr(ViVfs) vfs = c->fixture ();
        g_autofree char *before = fake_vfs_state (vfs);
        g_autofree char *after = NULL;
        g_autoptr(GError) error = NULL;

        fake_vfs_fail_at (vfs, n);
        if (vi_inject (spec, vfs, &opts, FALSE, NULL, &error))
            g_error ("a failure of mutating call %u of %u went unnoticed", n, n_calls);
        assert_names_step (error, n);
        after = fake_vfs_state (vfs);
        g_assert_cmpstr (before, ==, after);
    }
}

/* A failure whose undo fails too says what was left, and never claims a
 * clean rollback: the commit fails, and so does every rmdir of the
 * directories created on the way (/srv, /srv/app, /root/.ssh...). */
static void
test_fake_undo_failure (void)
{
    g_autoptr(ViSpec) spec = parse (request);
    ViInjectOptions opts = { .secrets_dir = secrets_dir };
    g_autoptr(ViVfs) vfs = debian_fake ();
    g_autoptr(GError) error = NULL;
    g_autofree char *state = NULL;
    guint n_calls;

    {
        g_autoptr(ViVfs) clean = debian_fake ();
        g_assert_true (vi_inject (spec, clean, &opts, FALSE, NULL, NULL));
        n_calls = fake_vfs_n_mutations (clean);
    }
    fake_vfs_fail_at (vfs, n_calls);            /* the last call: the commit */
    fake_vfs_fail_op (vfs, "rmdir");
    g_assert_false (vi_inject (spec, vfs, &opts, FALSE, NULL, &error));
    g_assert_nonnull (strstr (error->message, "committing the changes: /: commit: injected failure"));
    g_assert_nonnull (strstr (error->message, "(could not undo: "));
    g_assert_nonnull (strstr (error->message, "/srv/app: rmdir: injected failure"));
    g_assert_nonnull (strstr (error->message, "/srv: rmdir: injected failure"));
    /* innermost first */
    g_assert_true (strstr (error->message, "/srv/app: rmdir") < strstr (error->message, "/srv: rmdir"));
    /* the directories are still there, and said to be */
    state = fake_vfs_state (vfs);
    g_assert_nonnull (strstr (state, "/srv/app"));
}

/* When every undo fails too (the commit and every call after it fail),
 * each one is still tried and named: the discard, the rmdir of each created
 * directory, and both the owner and the mode of a changed directory. */
static void
test_fake_undo_all_fail (void)
{
    g_autoptr(ViSpec) spec = parse (nested_request);
    ViInjectOptions opts = { .secrets_dir = secrets_dir };
    g_autoptr(ViVfs) vfs = nested_fake ();
    g_autoptr(GError) error = NULL;
    g_autofree char *prefix = NULL, *state = NULL;
    static const char *const named[] = {
        "/: discard: injected failure", "/srv/a/b/c: rmdir: injected failure",
        "/home/bob: rmdir: injected failure", "/opt: rmdir: injected failure",
        "/home/alice: chown: injected failure", "/home/alice: chmod: injected failure",
        "/root/.ssh: chown: injected failure", "/root/.ssh: chmod: injected failure",
    };
    guint n_calls;

    {
        g_autoptr(ViVfs) clean = nested_fake ();
        g_assert_true (vi_inject (spec, clean, &opts, FALSE, NULL, NULL));
        n_calls = fake_vfs_n_mutations (clean);
    }
    fake_vfs_fail_from (vfs, n_calls);          /* the commit and everything after it */
    g_assert_false (vi_inject (spec, vfs, &opts, FALSE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    prefix = g_strdup_printf ("committing the changes: /: commit: injected failure (call %u) "
                              "(could not undo: /: discard: ", n_calls);
    if (!g_str_has_prefix (error->message, prefix))
        g_error ("%s", error->message);
    for (guint i = 0; i < G_N_ELEMENTS (named); i++)
        if (strstr (error->message, named[i]) == NULL)
            g_error ("'%s' is not named in: %s", named[i], error->message);
    state = fake_vfs_state (vfs);
    g_assert_nonnull (strstr (state, "/srv/a/b/c 1 755 0:0\n"));
    g_assert_nonnull (strstr (state, "/home/alice 1 700 1000:10\n"));
}

static void
test_fake_missing_user (void)
{
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:file path='/etc/motd'>x</vi:file>"
                                    "<vi:user name='nobody'><vi:ssh-key>" KEY1 "</vi:ssh-key></vi:user></vi:inject>");
    g_autoptr(ViVfs) vfs = debian_fake ();
    g_autofree char *before = fake_vfs_state (vfs);
    g_autofree char *after = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_false (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "'nobody'"));
    g_assert_cmpuint (fake_vfs_n_mutations (vfs), ==, 0);
    after = fake_vfs_state (vfs);
    g_assert_cmpstr (before, ==, after);
}

/* A second plan of @spec finds nothing to do. */
static void
assert_idempotent (const ViSpec *spec, ViVfs *vfs)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViPlan) again = vi_plan_build (spec, vfs, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (vi_plan_n_changes (again), ==, 0);
}

/* debian_fake() as an Alpine guest (busybox ifupdown, musl). */
static ViVfs *
alpine_fake (void)
{
    ViVfs *vfs = debian_fake ();

    fake_vfs_add_file (vfs, "/etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n", 0644, 0, 0);
    return vfs;
}

static void
test_fake_yescrypt_refused (void)
{
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:user name='root'><vi:password "
                                    "hash='$y$j9T$S8g/6R3YKLQYw4GQs7pJd0$TQ7v4IhY9VVCT0k2ZLKqake8WizPRfO7YEf7EGTEDH9'/>"
                                    "</vi:user></vi:inject>");
    g_autoptr(ViVfs) vfs = alpine_fake ();
    g_autoptr(GError) error = NULL;

    g_assert_false (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_nonnull (strstr (error->message, "yescrypt"));
}

/* @spec injected into an Alpine tree whose /etc/resolv.conf is @resolv_conf. */
static ViVfs *
alpine_injected (const ViSpec *spec, const char *resolv_conf)
{
    ViVfs *vfs = alpine_fake ();
    g_autoptr(GError) error = NULL;

    fake_vfs_add_file (vfs, "/etc/resolv.conf", resolv_conf, 0644, 0, 0);
    g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_no_error (error);
    return vfs;
}

/* Alpine (busybox ifupdown): stanzas with address + netmask inline in
 * /etc/network/interfaces, and the nameservers in /etc/resolv.conf, whose
 * other lines stay; a second run changes nothing. */
static void
test_fake_alpine_network (void)
{
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:network renderer='ifupdown'>"
                                    "<vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address>"
                                    "<vi:gateway>192.0.2.1</vi:gateway><vi:nameserver>192.0.2.53</vi:nameserver>"
                                    "<vi:nameserver>2001:db8::53</vi:nameserver></vi:interface>"
                                    "<vi:interface name='eth1'><vi:dhcp/><vi:nameserver>192.0.2.53</vi:nameserver>"
                                    "</vi:interface></vi:network></vi:inject>");
    g_autoptr(ViVfs) vfs = alpine_injected (spec, "search example.org\nnameserver 10.0.0.1\n"
                                                  "options ndots:2\n");
    const char *ifaces;

    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/resolv.conf"), ==,
                     "search example.org\noptions ndots:2\nnameserver 192.0.2.53\n"
                     "nameserver 2001:db8::53\n");
    ifaces = fake_vfs_get (vfs, "/etc/network/interfaces");
    g_assert_nonnull (strstr (ifaces, "iface eth0 inet static\n    address 192.0.2.10\n"
                              "    netmask 255.255.255.0\n    gateway 192.0.2.1\n"));
    g_assert_nonnull (strstr (ifaces, "iface eth1 inet dhcp\n"));
    g_assert_null (strstr (ifaces, "/24"));
    g_assert_null (strstr (ifaces, "dns-nameservers"));
    g_assert_null (fake_vfs_get (vfs, "/etc/network/interfaces.d/virt-inject-eth0"));
    assert_idempotent (spec, vfs);
}

/* Debian's ifupdown gives dns-nameservers and dns-search to resolvconf
 * only: without it (a default Debian install) the nameservers and search
 * domains go to /etc/resolv.conf, whose other lines stay; with it,
 * /etc/resolv.conf is resolvconf's. */
static void
test_fake_debian_nameservers (void)
{
    static const char *const req =
        "<vi:inject xmlns:vi='" NS "'><vi:network><vi:interface name='eth0' mac='52:54:00:12:34:56'>"
        "<vi:address>192.0.2.10/24</vi:address><vi:nameserver>192.0.2.53</vi:nameserver>"
        "<vi:nameserver>2001:db8::53</vi:nameserver><vi:search>example.com</vi:search>"
        "</vi:interface></vi:network></vi:inject>";
    g_autoptr(ViSpec) spec = parse (req);

    for (guint with_resolvconf = 0; with_resolvconf < 2; with_resolvconf++) {
        g_autoptr(ViVfs) vfs = debian_fake ();
        g_autoptr(GError) error = NULL;

        fake_vfs_add_file (vfs, "/etc/resolv.conf", "search example.org\nnameserver 10.0.0.1\n",
                           0644, 0, 0);
        if (with_resolvconf)
            fake_vfs_add_file (vfs, "/sbin/resolvconf", "", 0755, 0, 0);
        g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
        g_assert_no_error (error);
        g_assert_nonnull (strstr (fake_vfs_get (vfs, "/etc/network/interfaces.d/virt-inject-eth0"),
                                  "    dns-nameservers 192.0.2.53 2001:db8::53\n"
                                  "    dns-search example.com\n"));
        g_assert_cmpstr (fake_vfs_get (vfs, "/etc/resolv.conf"), ==,
                         with_resolvconf ? "search example.org\nnameserver 10.0.0.1\n"
                                         : "search example.com\nnameserver 192.0.2.53\n"
                                           "nameserver 2001:db8::53\n");
        assert_idempotent (spec, vfs);
    }
}

/* Search domains where ifupdown has no DNS handling: resolv.conf's own
 * search and domain lines give way to ours (the last would win anyway),
 * its nameservers stay when the request names none; the route and the
 * MTU are in the stanza; a second run changes nothing. */
static void
test_fake_alpine_search (void)
{
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:network renderer='ifupdown'>"
                                    "<vi:interface name='eth0'><vi:dhcp/><vi:search>example.com</vi:search>"
                                    "<vi:search>example.net</vi:search><vi:mtu>1400</vi:mtu>"
                                    "<vi:route to='198.51.100.0/24' via='10.0.2.254'/></vi:interface>"
                                    "<vi:interface name='eth1'><vi:dhcp/><vi:search>example.net</vi:search>"
                                    "</vi:interface></vi:network></vi:inject>");
    g_autoptr(ViVfs) vfs = alpine_injected (spec, "domain example.org\nsearch example.org\n"
                                                  "nameserver 10.0.0.1\noptions ndots:2\n");
    const char *ifaces;

    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/resolv.conf"), ==,
                     "nameserver 10.0.0.1\noptions ndots:2\nsearch example.com example.net\n");
    ifaces = fake_vfs_get (vfs, "/etc/network/interfaces");
    g_assert_nonnull (strstr (ifaces, "iface eth0 inet dhcp\n    pre-up ip link set dev $IFACE mtu 1400\n"
                              "    up ip route add 198.51.100.0/24 via 10.0.2.254 dev $IFACE\n"));
    g_assert_null (strstr (ifaces, "dns-search"));
    assert_idempotent (spec, vfs);
}

/* busybox refuses an interfaces file that declares an interface "auto"
 * twice: the guest's own "auto" of a requested interface is commented
 * out with its stanzas (and the line kept for the others), so ours is the
 * only one. */
static void
test_fake_alpine_auto_once (void)
{
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:network renderer='ifupdown'>"
                                    "<vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address>"
                                    "<vi:nameserver>192.0.2.53</vi:nameserver></vi:interface>"
                                    "<vi:interface name='eth1'><vi:dhcp/></vi:interface>"
                                    "</vi:network></vi:inject>");
    g_autoptr(ViVfs) vfs = alpine_fake ();
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) lines = NULL;
    guint auto_eth0 = 0, auto_eth1 = 0;

    fake_vfs_add_file (vfs, "/etc/network/interfaces", "auto lo eth0\niface lo inet loopback\n"
                       "iface eth0 inet dhcp\n", 0644, 0, 0);
    for (guint run = 0; run < 2; run++) {
        g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
        g_assert_no_error (error);
    }
    lines = g_strsplit (fake_vfs_get (vfs, "/etc/network/interfaces"), "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        auto_eth0 += g_str_equal (lines[i], "auto eth0") || g_str_equal (lines[i], "auto lo eth0");
        auto_eth1 += g_str_equal (lines[i], "auto eth1");
    }
    g_assert_cmpuint (auto_eth0, ==, 1);
    g_assert_cmpuint (auto_eth1, ==, 1);
    g_assert_true (g_str_has_prefix (fake_vfs_get (vfs, "/etc/network/interfaces"),
                                     "# virt-inject: auto lo eth0\n" VI_NET_MARK_ADDED "\nauto lo\n"
                                     "iface lo inet loopback\n"
                                     "# virt-inject: iface eth0 inet dhcp\n# BEGIN virt-inject\n"));
    /* no resolv.conf in the guest: one is made */
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/resolv.conf"), ==, "nameserver 192.0.2.53\n");
    assert_idempotent (spec, vfs);
}

/* Debian's ifupdown: the guest's stanzas of eth0 are disabled in every file
 * ifupdown reads (here one sourced by name, and one a source-directory
 * reads), not in a file nothing sources; "source .../eth0" does not read
 * our file, so a line that does is added; a second run changes nothing. */
static void
test_fake_ifupdown_guest_config (void)
{
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:network renderer='ifupdown'>"
                                    "<vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address>"
                                    "</vi:interface></vi:network></vi:inject>");
    g_autoptr(ViVfs) vfs = debian_fake ();
    g_autoptr(GError) error = NULL;

    fake_vfs_add_dir (vfs, "/etc/network/interfaces.d", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/etc/network/more.d", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/etc/network/interfaces", "auto lo\niface lo inet loopback\n"
                       "source /etc/network/interfaces.d/eth0\nsource-directory more.d\n",
                       0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/network/interfaces.d/eth0", "allow-hotplug eth0\n"
                       "iface eth0 inet dhcp\n", 0640, 0, 0);
    fake_vfs_add_file (vfs, "/etc/network/interfaces.d/old", "iface eth0 inet dhcp\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/network/more.d/v6", "iface eth0 inet6 auto\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/etc/network/more.d/skip.cfg", "iface eth0 inet6 auto\n", 0644, 0, 0);
    g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/network/interfaces"), ==,
                     "auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/eth0\n"
                     "source-directory more.d\n" VI_NET_MARK_ADDED "\n"
                     "source /etc/network/interfaces.d/virt-inject-*\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/network/interfaces.d/eth0"), ==,
                     "# virt-inject: allow-hotplug eth0\n# virt-inject: iface eth0 inet dhcp\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/network/more.d/v6"), ==,
                     "# virt-inject: iface eth0 inet6 auto\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/network/interfaces.d/old"), ==,
                     "iface eth0 inet dhcp\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/network/more.d/skip.cfg"), ==,
                     "iface eth0 inet6 auto\n");
    {
        g_autofree char *state = fake_vfs_state (vfs);
        g_assert_nonnull (strstr (state, "/etc/network/interfaces.d/eth0 0 640 0:0\n"));
    }
    assert_idempotent (spec, vfs);
}

/* What cannot be made right by ordering or by an edit is refused before
 * anything is written, naming the guest's file: a .network file that sorts
 * before ours and may match the NIC; a netplan file sorting after ours
 * that defines the interface. */
static void
test_fake_guest_config_refused (void)
{
    static const struct {
        const char *renderer, *path, *content, *message;
    } cases[] = {
        { "networkd", "/etc/systemd/network/0-a.network", "[Match]\nName=e*\n[Network]\nDHCP=yes\n",
          "/etc/systemd/network/0-a.network: sorts before" },
        { "networkd", "/usr/lib/systemd/network/0-a.network", "[Match]\nType=ether\n",
          "/usr/lib/systemd/network/0-a.network: sorts before" },
        { "netplan", "/etc/netplan/zz-admin.yaml", "network:\n  ethernets:\n    eth0:\n"
          "      dhcp4: true\n", "/etc/netplan/zz-admin.yaml: defines eth0 and sorts after" },
    };

    for (guint k = 0; k < G_N_ELEMENTS (cases); k++) {
        g_autofree char *xml = g_strdup_printf ("<vi:inject xmlns:vi='" NS "'><vi:network "
                                                "renderer='%s'><vi:interface name='eth0'>"
                                                "<vi:address>192.0.2.10/24</vi:address>"
                                                "</vi:interface></vi:network></vi:inject>",
                                                cases[k].renderer);
        g_autoptr(ViSpec) spec = parse (xml);
        g_autoptr(ViVfs) vfs = debian_fake ();
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_path_get_dirname (cases[k].path);
        g_autofree char *before = NULL, *after = NULL;

        fake_vfs_add_dir (vfs, "/usr", 0755, 0, 0);
        fake_vfs_add_dir (vfs, "/usr/lib", 0755, 0, 0);
        fake_vfs_add_dir (vfs, "/usr/lib/systemd", 0755, 0, 0);
        fake_vfs_add_dir (vfs, "/etc/systemd", 0755, 0, 0);
        fake_vfs_add_dir (vfs, dir, 0755, 0, 0);
        fake_vfs_add_file (vfs, cases[k].path, cases[k].content, 0600, 0, 0);
        before = fake_vfs_state (vfs);
        g_assert_false (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
        if (!strstr (error->message, cases[k].message))
            g_error ("'%s' lacks '%s'", error->message, cases[k].message);
        after = fake_vfs_state (vfs);
        g_assert_cmpstr (after, ==, before);
    }
}

static void
test_fake_collision (void)
{
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:hostname>h</vi:hostname>"
                                    "<vi:file path='/etc/hostname'>x</vi:file></vi:inject>");
    g_autoptr(ViVfs) vfs = debian_fake ();
    g_autoptr(GError) error = NULL;

    g_assert_false (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_nonnull (strstr (error->message, "written twice"));
}

/* Regressions found in review: a commented-out key does not count as
 * present; 127.0.0.10 is not the localhost line; a path cannot be both a
 * file and a directory; apply errors name the path. */
static void
test_fake_edge_cases (void)
{
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:hostname>h1</vi:hostname>"
                                    "<vi:user name='root'><vi:ssh-key>" KEY1 "</vi:ssh-key></vi:user></vi:inject>");
    g_autoptr(ViSpec) clash = parse ("<vi:inject xmlns:vi='" NS "'><vi:file path='/srv/a'>x</vi:file>"
                                     "<vi:file path='/srv/a/b'>y</vi:file></vi:inject>");
    g_autoptr(ViVfs) vfs = debian_fake ();
    g_autoptr(GError) error = NULL;

    fake_vfs_add_dir (vfs, "/root/.ssh", 0700, 0, 0);
    fake_vfs_add_file (vfs, "/root/.ssh/authorized_keys", "# " KEY1 "\n", 0600, 0, 0);
    fake_vfs_add_file (vfs, "/etc/hosts", "127.0.0.10\tother\n127.0.0.1\tlocalhost\n", 0644, 0, 0);
    g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (fake_vfs_get (vfs, "/root/.ssh/authorized_keys"), ==, "# " KEY1 "\n" KEY1 "\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/hosts"), ==,
                     "127.0.0.10\tother\n127.0.0.1\tlocalhost\n127.0.1.1\th1\n");

    g_assert_false (vi_inject (clash, vfs, NULL, FALSE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "/srv/a: is both a file and a directory"));
    g_clear_error (&error);

    fake_vfs_fail_at (vfs, 1);
    {
        g_autoptr(ViSpec) one = parse ("<vi:inject xmlns:vi='" NS "'><vi:file path='/etc/motd'>m</vi:file></vi:inject>");
        g_assert_false (vi_inject (one, vfs, NULL, FALSE, NULL, &error));
        g_assert_nonnull (strstr (error->message, "writing /etc/motd (file /etc/motd)"));
    }
}

/* Review finding: a passwd home with a trailing slash (or a doubled one)
 * names the same directory; the keys go to HOME/.ssh/authorized_keys, never
 * to a '//' path and never to /.ssh. */
static void
test_fake_home_slashes (void)
{
    static const char *const homes[] = { "/home/alice/", "/home/alice//", "/home//alice" };
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:user name='alice'>"
                                    "<vi:ssh-key>" KEY1 "</vi:ssh-key></vi:user></vi:inject>");

    for (gsize h = 0; h < G_N_ELEMENTS (homes); h++) {
        g_autoptr(ViVfs) vfs = debian_fake ();
        g_autoptr(GError) error = NULL;
        g_autofree char *passwd = g_strdup_printf ("root:x:0:0:root:/root:/bin/bash\n"
                                                   "alice:x:1000:1000::%s:/bin/bash\n", homes[h]);
        g_auto(ViInjectResult) result = { 0 };
        gboolean exists = TRUE;

        fake_vfs_add_file (vfs, "/etc/passwd", passwd, 0644, 0, 0);
        vi_inject (spec, vfs, NULL, FALSE, &result, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (fake_vfs_get (vfs, "/home/alice/.ssh/authorized_keys"), ==, KEY1 "\n");
        g_assert_null (fake_vfs_get (vfs, "/.ssh/authorized_keys"));
        g_assert_null (strstr (result.summary, "//"));
        g_assert_nonnull (strstr (result.summary, "mkdir       /home/alice/.ssh 0700 1000:1000"));
        g_assert_true (vi_vfs_exists (vfs, "/.ssh", &exists, &error));
        g_assert_false (exists);
    }
}

/* A user whose home is empty, relative, "/" or "..", or a uid that passwd
 * does not list, gets no keys in /.ssh: the injection fails naming the
 * user, and nothing is written.  The positive control: the same request
 * for a user with a real home. */
static void
test_fake_home_unusable (void)
{
    static const char *const homes[] = { "", "home/alice", "/", "//", "/home/../alice", "/." };
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:user name='alice'>"
                                    "<vi:ssh-key>" KEY1 "</vi:ssh-key></vi:user></vi:inject>");
    g_autoptr(ViSpec) by_uid = parse ("<vi:inject xmlns:vi='" NS "'><vi:user name='4321'>"
                                      "<vi:ssh-key>" KEY1 "</vi:ssh-key></vi:user></vi:inject>");

    for (gsize h = 0; h <= G_N_ELEMENTS (homes); h++) {
        g_autoptr(ViVfs) vfs = debian_fake ();
        g_autoptr(GError) error = NULL;
        g_autofree char *passwd = NULL;
        g_autofree char *before = NULL, *after = NULL;
        const char *home = h < G_N_ELEMENTS (homes) ? homes[h] : "/home/alice";

        passwd = g_strdup_printf ("root:x:0:0:root:/root:/bin/bash\n"
                                  "alice:x:1000:1000::%s:/bin/bash\n", home);
        fake_vfs_add_file (vfs, "/etc/passwd", passwd, 0644, 0, 0);
        before = fake_vfs_state (vfs);
        if (h == G_N_ELEMENTS (homes)) {
            g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
            g_assert_no_error (error);
            g_assert_cmpstr (fake_vfs_get (vfs, "/home/alice/.ssh/authorized_keys"), ==, KEY1 "\n");
            continue;
        }
        g_assert_false (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
        g_assert_nonnull (strstr (error->message, "SSH keys for alice: the user has no usable home"));
        after = fake_vfs_state (vfs);
        g_assert_cmpstr (before, ==, after);
    }
    {
        g_autoptr(ViVfs) vfs = debian_fake ();
        g_autoptr(GError) error = NULL;

        g_assert_false (vi_inject (by_uid, vfs, NULL, FALSE, NULL, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
        g_assert_nonnull (strstr (error->message, "SSH keys for 4321"));
        g_assert_null (fake_vfs_get (vfs, "/.ssh/authorized_keys"));
    }
}

/* cloud-init: a guest that has it gets a drop-in that keeps the injected
 * network configuration and hostname, with only the keys the request
 * needs; a guest without it (the control), or a request that sets
 * neither, gets none; a second run changes nothing. */
typedef struct {
    const char *name;
    gboolean cloud_init;
    const char *request;    /* inside <vi:inject> */
    const char *dropin;     /* NULL: none written */
} CloudInitCase;

#define CI_HEAD "# Written by virt-inject: cloud-init keeps the network configuration and\n" \
                "# hostname that virt-inject injected.  A cloud-config user-data that sets\n" \
                "# these keys itself still wins (cloud-init merges it over this file).\n"
#define CI_NET "<vi:network><vi:interface name='eth0'><vi:dhcp/></vi:interface></vi:network>"

static const CloudInitCase cloud_init_cases[] = {
    { "network-and-hostname", TRUE, "<vi:hostname>web1</vi:hostname>" CI_NET,
      CI_HEAD "network:\n  config: disabled\npreserve_hostname: true\nmanage_etc_hosts: false\n" },
    { "hostname-only", TRUE, "<vi:hostname>web1</vi:hostname>",
      CI_HEAD "preserve_hostname: true\nmanage_etc_hosts: false\n" },
    { "network-only", TRUE, CI_NET, CI_HEAD "network:\n  config: disabled\n" },
    { "neither", TRUE, "<vi:file path='/etc/motd'>hi&#10;</vi:file>", NULL },
    { "no-cloud-init", FALSE, "<vi:hostname>web1</vi:hostname>" CI_NET, NULL },
};

static void
test_fake_cloud_init (gconstpointer data)
{
    const CloudInitCase *c = data;
    g_autofree char *xml = g_strdup_printf ("<vi:inject xmlns:vi='" NS "'>%s</vi:inject>",
                                            c->request);
    g_autoptr(ViSpec) spec = parse (xml);
    g_autoptr(ViVfs) vfs = debian_fake ();
    g_autoptr(GError) error = NULL;
    g_autoptr(ViPlan) again = NULL;

    if (c->cloud_init) {
        fake_vfs_add_dir (vfs, "/usr", 0755, 0, 0);
        fake_vfs_add_dir (vfs, "/usr/bin", 0755, 0, 0);
        fake_vfs_add_file (vfs, "/usr/bin/cloud-init", "", 0755, 0, 0);
    }
    g_assert_true (vi_inject (spec, vfs, NULL, FALSE, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/cloud/cloud.cfg.d/99-virt-inject.cfg"), ==, c->dropin);
    if (c->dropin != NULL) {
        /* YAML as cloud-init reads it (PyYAML's safe_load, as cloud-init does),
         * with the values of the right types */
        g_autofree char *tmp = NULL;
        int fd = g_file_open_tmp ("vi-cloud-XXXXXX.cfg", &tmp, &error);
        g_autofree char *cmd = NULL;
        int status = -1;

        g_assert_no_error (error);
        close (fd);
        g_assert_true (g_file_set_contents (tmp, c->dropin, -1, NULL));
        cmd = g_strdup_printf ("python3 -c \"import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); "
                               "assert d.get('network', {'config': 'disabled'}) == {'config': 'disabled'}; "
                               "assert d.get('preserve_hostname', True) is True; "
                               "assert d.get('manage_etc_hosts', False) is False; "
                               "assert set(d) <= {'network', 'preserve_hostname', 'manage_etc_hosts'}\" %s",
                               tmp);
        g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL));
        g_assert_cmpint (status, ==, 0);
        g_unlink (tmp);
    }
    again = vi_plan_build (spec, vfs, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (vi_plan_n_changes (again), ==, 0);
}

/* ---- real trees ------------------------------------------------------ */

typedef struct {
    const char *distro;
    const char *net_file;       /* the file the guest's stack reads */
    const char *net_expect;     /* a line it must hold */
    const char *hash_prefix;
    const char *const *labels;  /* "PATH LABEL" the guest's policy gives, or NULL */
} Distro;

/* fedora39's small policy (make-guest-tree.sh): each path its own type */
static const char *const fedora_labels[] = {
    "/etc/shadow system_u:object_r:shadow_t:s0",
    "/etc/hostname system_u:object_r:hostname_etc_t:s0",
    "/etc/motd system_u:object_r:etc_t:s0",
    "/etc/NetworkManager/system-connections/virt-inject-eth0.nmconnection "
        "system_u:object_r:NetworkManager_etc_rw_t:s0",
    "/root/.ssh system_u:object_r:ssh_home_t:s0",
    "/root/.ssh/authorized_keys system_u:object_r:ssh_home_t:s0",
    "/home/alice/.ssh unconfined_u:object_r:ssh_home_t:s0",
    "/home/alice/.ssh/authorized_keys unconfined_u:object_r:ssh_home_t:s0",
    "/srv/app system_u:object_r:var_t:s0",
    "/srv/app/run.sh system_u:object_r:var_t:s0",
    "/meta.js system_u:object_r:default_t:s0",
    NULL
};

static const Distro distros[] = {
    { "debian12", "/etc/network/interfaces.d/virt-inject-eth0", "iface eth0 inet6 static", "$y$", NULL },
    { "ubuntu2204", "/etc/netplan/99-virt-inject.yaml", "        macaddress: \"52:54:00:12:34:56\"", "$y$", NULL },
    { "fedora39", "/etc/NetworkManager/system-connections/virt-inject-eth0.nmconnection", "address1=192.0.2.10/24", "$y$", fedora_labels },
    { "alpine319", "/etc/network/interfaces", "# BEGIN virt-inject", "$6$", NULL },
};

/* The security.selinux of @path in the tree, without following it. */
static char *
tree_label (const char *root, const char *path)
{
    g_autofree char *p = g_build_filename (root, path, NULL);
    char buf[256];
    ssize_t n = lgetxattr (p, "security.selinux", buf, sizeof buf - 1);

    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return g_strdup (buf);    /* the value ends with its NUL, as setfiles writes it */
}

static char *
tree_file (const char *root, const char *path)
{
    g_autofree char *p = g_build_filename (root, path, NULL);
    char *c = NULL;
    g_file_get_contents (p, &c, NULL, NULL);
    return c;
}

static char *
mtimes (const char *root)
{
    g_autofree char *cmd = g_strdup_printf ("find '%s' -printf '%%p %%T@ %%m %%U:%%G\\n' | sort", root);
    char *out = NULL;
    g_assert_true (g_spawn_command_line_sync (cmd, &out, NULL, NULL, NULL));
    return out;
}

/* A fresh generated tree of @distro (make-guest-tree.sh) in a new
 * temporary directory *@out_top; returns its root. */
static char *
make_tree (const char *distro, char **out_top)
{
    g_autofree char *script = g_build_filename (g_getenv ("VIRT_INJECT_SOURCE_ROOT"), "tests",
                                                "make-guest-tree.sh", NULL);
    g_autofree char *cmd = NULL;
    char *root;
    int status;

    *out_top = g_dir_make_tmp ("vi-tree-XXXXXX", NULL);
    root = g_build_filename (*out_top, "root", NULL);
    cmd = g_strdup_printf ("%s %s %s", script, distro, root);
    g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL));
    g_assert_cmpint (status, ==, 0);
    return root;
}

static void
test_tree (gconstpointer data)
{
    const Distro *d = data;
    g_autofree char *top = NULL, *root = NULL, *cmd = NULL;
    g_autoptr(ViSpec) spec = parse (request);
    ViInjectOptions opts = { .secrets_dir = secrets_dir };
    g_autoptr(GError) error = NULL;
    g_autofree char *net = NULL, *shadow = NULL, *before = NULL, *after = NULL;
    g_autofree char *relabel = NULL;
    g_auto(ViInjectResult) result = { 0 };

    if (geteuid () != 0) {
        g_test_skip ("needs root (guest trees owned by other uids)");
        return;
    }
    root = make_tree (d->distro, &top);

    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (root, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (vi_inject (spec, vfs, &opts, FALSE, &result, &error));
        g_assert_no_error (error);
    }
    net = tree_file (root, d->net_file);
    g_assert_nonnull (net);
    if (strstr (net, d->net_expect) == NULL)
        g_error ("%s: %s lacks '%s':\n%s", d->distro, d->net_file, d->net_expect, net);
    shadow = tree_file (root, "/etc/shadow");
    {
        g_auto(GStrv) f = g_strsplit (shadow, ":", 3);
        g_assert_true (g_str_has_prefix (f[1], d->hash_prefix));
        g_assert_true (vi_crypt_verify ("rootpw-secret", f[1]));
    }
    /* an SELinux guest whose policy is readable gets labels, not /.autorelabel */
    relabel = g_build_filename (root, ".autorelabel", NULL);
    g_assert_false (g_file_test (relabel, G_FILE_TEST_EXISTS));
    g_assert_false (result.autorelabel);
    for (guint i = 0; d->labels && d->labels[i]; i++) {
        g_auto(GStrv) pl = g_strsplit (d->labels[i], " ", 2);
        g_autofree char *got = tree_label (root, pl[0]);

        if (g_strcmp0 (got, pl[1]) != 0)
            g_error ("%s: %s is labelled %s, not %s", d->distro, pl[0], got, pl[1]);
    }
    {
        g_autofree char *ak = g_build_filename (root, "root/.ssh/authorized_keys", NULL);
        g_autofree char *srv = g_build_filename (root, "srv/app", NULL);
        struct stat st;
        g_assert_cmpint (stat (ak, &st), ==, 0);
        g_assert_cmpint (st.st_mode & 07777, ==, 0600);
        g_assert_cmpint (stat (srv, &st), ==, 0);
        g_assert_cmpint (st.st_mode & 07777, ==, 0750);
        g_assert_cmpint (st.st_uid, ==, 1000);     /* alice in the guest's passwd */
        g_assert_cmpint (st.st_gid, ==, 10);       /* wheel in the guest's group */
    }

    /* Idempotent: no byte and no mtime changes on a second run. */
    before = mtimes (root);
    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (root, NULL, &error);
        g_autoptr(ViPlan) plan = vi_plan_build (spec, vfs, &opts, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (vi_plan_n_changes (plan), ==, 0);
        g_assert_true (vi_plan_apply (plan, vfs, &error));
    }
    after = mtimes (root);
    g_assert_cmpstr (before, ==, after);

    g_free (cmd);
    cmd = g_strdup_printf ("rm -rf '%s'", top);
    g_assert_cmpint (system (cmd), ==, 0);
}

/* The guest chooses the hash already in its shadow, and so what verifying
 * a secret against it would cost.  Only hashes at virt-inject's own cost
 * or lower are verified (and kept when they match: idempotence); any
 * other method or a higher cost is replaced without hashing it.  Each case
 * runs in a child under a deadline and, without ASan (which reserves
 * terabytes of address space), a 512 MiB RLIMIT_AS. */
typedef struct {
    const char *name;
    const char *hash;       /* NULL: made by make_own() */
    gboolean kept;          /* the positive controls: verified and kept */
} CostCase;

static const CostCase cost_cases[] = {
    { "sha512-999999999-rounds", "$6$rounds=999999999$abcdefgh$" "xxxxxxxxxxxxxxxxxxxxxx", FALSE },
    { "sha256-999999999-rounds", "$5$rounds=999999999$abcdefgh$" "xxxxxxxxxxxxxxxxxxxxxx", FALSE },
    { "sha512-just-over-the-cap", "$6$rounds=200001$abcdefgh$xxxxxxxxxxxxxxxxxxxxxx", FALSE },
    { "bcrypt-cost-31", "$2b$31$abcdefghijklmnopqrstuuxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", FALSE },
    { "scrypt", "$7$DU..../....abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", FALSE },
    { "gost-yescrypt", "$gy$j9T$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", FALSE },
    { "yescrypt-cost-11", "$y$jFT$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", FALSE },
    { "yescrypt-own-cost", NULL, TRUE },
    { "sha512-own-rounds", NULL, TRUE },
    { "sha256-default-rounds", NULL, TRUE },
};

/* A hash of the test secret made the way the case's name says. */
static char *
make_own (const CostCase *c)
{
    g_autoptr(GError) error = NULL;
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data data = { 0 };

    if (g_str_has_prefix (c->name, "yescrypt"))
        return vi_crypt_hash ("rootpw-secret", VI_HASH_YESCRYPT, &error);
    if (g_str_has_prefix (c->name, "sha512"))
        return vi_crypt_hash ("rootpw-secret", VI_HASH_SHA512, &error);
    g_assert_nonnull (crypt_gensalt_rn ("$5$", 0, NULL, 0, salt, sizeof salt));
    return g_strdup (crypt_r ("rootpw-secret", salt, &data));
}

static void
test_fake_guest_hash_cost (gconstpointer data)
{
    const CostCase *c = data;
    g_autofree char *old = c->hash ? g_strdup (c->hash) : make_own (c);
    g_autofree char *shadow = g_strdup_printf ("root:%s:19000:0:99999:7:::\n", old);
    gint64 start;
    pid_t pid;
    int status;

    g_assert_nonnull (old);
    /* the cost check itself agrees with the table */
    g_assert_cmpint (vi_crypt_cost_bounded (old), ==, c->kept);
    start = g_get_monotonic_time ();
    pid = fork ();
    if (pid == 0) {
        g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:user name='root'>"
                                        "<vi:password secret='rootpw'/></vi:user></vi:inject>");
        g_autoptr(ViVfs) vfs = debian_fake ();
        ViInjectOptions opts = { .secrets_dir = secrets_dir };
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) f = NULL;
#if !defined(__SANITIZE_ADDRESS__)
        struct rlimit as = { 512 << 20, 512 << 20 };

        if (setrlimit (RLIMIT_AS, &as) < 0)
            _exit (10);
#endif
        alarm (5);
        fake_vfs_add_file (vfs, "/etc/shadow", shadow, 0640, 0, 42);
        if (!vi_inject (spec, vfs, &opts, FALSE, NULL, &error))
            _exit (11);
        f = g_strsplit (fake_vfs_get (vfs, "/etc/shadow"), ":", 3);
        if (c->kept)
            _exit (g_str_equal (f[1], old) ? 0 : 12);
        /* replaced by a hash of ours that verifies the secret */
        _exit (!g_str_equal (f[1], old) && vi_crypt_verify ("rootpw-secret", f[1]) ? 0 : 13);
    }
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    if (!WIFEXITED (status))
        g_error ("%s: the injection was killed by signal %d (the deadline)", c->name,
                 WTERMSIG (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    /* well under a second, including our own yescrypt hash */
    g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
}

/* A Debian tree carrying the real reference policy: the file_contexts that
 * Debian's selinux-policy-default builds when it is installed, copied from
 * the host (the text files only).  Every path the request creates or writes
 * reads back with the label selabel_lookup gives it from that policy, and
 * the labels differ by path (the control: not one default for all). */
#define HOST_POLICY "/etc/selinux/default/contexts/files"

/* A hostile /etc/skel in a real tree (rootfs backend): a symlink to
 * /etc/shadow, a FIFO, a file hard-linked to a root-only file and a directory
 * symlink are not copied and are named in the plan; the regular files
 * are; a second run changes nothing.  Then /etc/skel itself a symlink to
 * /etc: nothing of it is copied. */
static void
test_tree_user_hostile_skel (void)
{
    g_autofree char *top = NULL, *root = NULL, *cmd = NULL;
    g_autofree char *skel = NULL, *p = NULL;
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'><vi:user name='bob' create='yes'>"
                                    "<vi:ssh-key>" KEY2 "</vi:ssh-key></vi:user>"
                                    "<vi:user name='carol' create='yes'/></vi:inject>");
    g_autoptr(ViSpec) dave_only = parse ("<vi:inject xmlns:vi='" NS "'>"
                                          "<vi:user name='dave' create='yes'/></vi:inject>");
    g_autoptr(GError) error = NULL;
    g_auto(ViInjectResult) result = { 0 };
    g_auto(ViInjectResult) again = { 0 };
    g_auto(ViInjectResult) third = { 0 };
    struct stat st;

    if (geteuid () != 0) {
        g_test_skip ("needs root (guest trees owned by other uids)");
        return;
    }
    root = make_tree ("debian12", &top);
    skel = g_build_filename (root, "etc", "skel", NULL);
    p = g_build_filename (skel, "shadow-link", NULL);
    g_assert_cmpint (symlink ("/etc/shadow", p), ==, 0);
    g_free (p);
    p = g_build_filename (skel, "fifo", NULL);
    g_assert_cmpint (mkfifo (p, 0644), ==, 0);
    g_free (p);
    p = g_build_filename (skel, "secret-link", NULL);
    {
        g_autofree char *secret = g_build_filename (root, "etc", "secret", NULL);
        g_assert_true (g_file_set_contents (secret, "secret\n", -1, NULL));
        g_assert_cmpint (chmod (secret, 0600), ==, 0);
        g_assert_cmpint (link (secret, p), ==, 0);
    }
    g_free (p);
    p = g_build_filename (skel, ".config", "etc", NULL);
    g_assert_cmpint (symlink ("/etc", p), ==, 0);

    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (root, NULL, &error);
        g_assert_no_error (error);
        vi_inject (spec, vfs, NULL, FALSE, &result, &error);
        g_assert_no_error (error);
    }
    for (guint i = 0; i < 4; i++) {
        static const char *const skipped[] = {
            "skipped     /etc/skel/shadow-link 0777 0:0 (create user bob: a symlink of /etc/skel "
            "not copied)",
            "skipped     /etc/skel/fifo 0644 0:0 (create user bob: a special file of /etc/skel "
            "not copied)",
            "skipped     /etc/skel/secret-link 0600 0:0 (create user bob: a file with several "
            "links of /etc/skel not copied)",
            "skipped     /etc/skel/.config/etc 0777 0:0 (create user bob: a symlink of /etc/skel "
            "not copied)",
        };
        if (strstr (result.summary, skipped[i]) == NULL)
            g_error ("the plan lacks '%s':\n%s", skipped[i], result.summary);
    }
    for (guint i = 0; i < 4; i++) {
        static const char *const absent[] = {
            "home/bob/shadow-link", "home/bob/fifo", "home/bob/secret-link", "home/bob/.config/etc"
        };
        g_autofree char *path = g_build_filename (root, absent[i], NULL);
        g_assert_cmpint (lstat (path, &st), ==, -1);
    }
    {
        g_autofree char *bashrc = tree_file (root, "/home/carol/.bashrc");
        g_autofree char *ak = tree_file (root, "/home/bob/.ssh/authorized_keys");
        g_autofree char *home = g_build_filename (root, "home", "bob", NULL);

        g_assert_cmpstr (bashrc, ==, "# ~/.bashrc\n");
        g_assert_cmpstr (ak, ==, KEY2 "\n");
        g_assert_cmpint (stat (home, &st), ==, 0);
        g_assert_cmpint (st.st_mode & 07777, ==, 0700);
        g_assert_cmpint (st.st_uid, ==, 1001);
        g_assert_cmpint (st.st_gid, ==, 1001);
    }
    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (root, NULL, &error);
        g_assert_no_error (error);
        vi_inject (spec, vfs, NULL, FALSE, &again, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (again.changes, ==, 0);
    }

    /* /etc/skel -> /etc */
    g_free (cmd);
    cmd = g_strdup_printf ("rm -rf '%s'", skel);
    g_assert_cmpint (system (cmd), ==, 0);
    g_assert_cmpint (symlink ("/etc", skel), ==, 0);
    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (root, NULL, &error);
        g_autofree char *dave = g_build_filename (root, "home", "dave", NULL);
        g_autoptr(GDir) dir = NULL;

        g_assert_no_error (error);
        vi_inject (dave_only, vfs, NULL, FALSE, &third, &error);
        g_assert_no_error (error);
        g_assert_nonnull (strstr (third.summary, "skipped     /etc/skel 0777 0:0 (create user dave: "
                                  "/etc/skel is not a directory; nothing copied)"));
        dir = g_dir_open (dave, 0, &error);
        g_assert_no_error (error);
        g_assert_null (g_dir_read_name (dir));
    }
    g_free (cmd);
    cmd = g_strdup_printf ("rm -rf '%s'", top);
    g_assert_cmpint (system (cmd), ==, 0);
}

static void
test_tree_real_policy (void)
{
    static const char *const paths[] = {
        "/etc/shadow", "/etc/hostname", "/etc/hosts", "/etc/motd", "/root/.ssh",
        "/root/.ssh/authorized_keys", "/home/alice/.ssh", "/home/alice/.ssh/authorized_keys",
        "/srv/app", "/srv/app/run.sh", "/meta.js", "/etc/network/interfaces.d/virt-inject-eth0",
        "/var/lib/virt-inject", "/var/lib/virt-inject/firstboot", "/etc/machine-id",
        "/etc/systemd/system/virt-inject-firstboot.service",
        "/etc/systemd/system/multi-user.target.wants/virt-inject-firstboot.service",
        "/etc/systemd/system/multi-user.target.wants/virt-inject-hostkeys.service",
    };
    g_autoptr(ViSpec) spec = parse (request);
    g_autoptr(ViSpec) clone = parse ("<vi:inject xmlns:vi='" NS "'><vi:identity reset='yes'/>"
                                     "<vi:firstboot>#!/bin/sh\ntrue\n</vi:firstboot></vi:inject>");
    ViInjectOptions opts = { .secrets_dir = secrets_dir };
    g_autoptr(GError) error = NULL;
    g_autofree char *top = NULL, *root = NULL, *cmd = NULL, *script = NULL, *pol = NULL;
    g_autofree char *fc = g_build_filename (HOST_POLICY, "file_contexts", NULL);
    g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    struct selinux_opt sopts[] = { { SELABEL_OPT_PATH, fc } };
    struct selabel_handle *h;
    int status;

    if (geteuid () != 0 || !g_file_test (fc, G_FILE_TEST_IS_REGULAR)) {
        g_test_skip ("needs root and Debian's selinux-policy-default (" HOST_POLICY ")");
        return;
    }
    top = g_dir_make_tmp ("vi-tree-XXXXXX", NULL);
    root = g_build_filename (top, "root", NULL);
    script = g_build_filename (g_getenv ("VIRT_INJECT_SOURCE_ROOT"), "tests", "make-guest-tree.sh", NULL);
    pol = g_build_filename (root, "etc/selinux/default/contexts/files", NULL);
    cmd = g_strdup_printf ("sh -c \"%s debian12 %s >/dev/null && mkdir -p %s && "
                           "cp " HOST_POLICY "/file_contexts " HOST_POLICY "/file_contexts.homedirs "
                           HOST_POLICY "/file_contexts.subs_dist %s/ && "
                           "printf 'SELINUX=enforcing\\nSELINUXTYPE=default\\n' > %s/etc/selinux/config\"",
                           script, root, pol, pol, root);
    g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL));
    g_assert_cmpint (status, ==, 0);
    vi_spec_merge (spec, clone);    /* and a clone's first boot: files, links, a marker */
    {
        g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (root, NULL, &error);
        g_auto(ViInjectResult) result = { 0 };

        g_assert_no_error (error);
        g_assert_true (vi_inject (spec, vfs, &opts, FALSE, &result, &error));
        g_assert_no_error (error);
        g_assert_false (result.autorelabel);
    }
    h = selabel_open (SELABEL_CTX_FILE, sopts, 1);
    g_assert_nonnull (h);
    for (gsize i = 0; i < G_N_ELEMENTS (paths); i++) {
        g_autofree char *got = tree_label (root, paths[i]);
        g_autofree char *full = g_build_filename (root, paths[i], NULL);
        struct stat st;
        char *want = NULL;

        g_assert_cmpint (lstat (full, &st), ==, 0);
        g_assert_cmpint (selabel_lookup (h, &want, paths[i], st.st_mode & S_IFMT), ==, 0);
        if (g_strcmp0 (got, want) != 0)
            g_error ("%s is labelled %s; the policy says %s", paths[i], got, want);
        g_hash_table_add (seen, g_strdup (want));
        freecon (want);
    }
    selabel_close (h);
    /* the control: the policy's own types, several of them */
    g_assert_cmpuint (g_hash_table_size (seen), >=, 4);
    {
        g_autofree char *shadow = tree_label (root, "/etc/shadow");
        g_assert_nonnull (strstr (shadow, ":shadow_t:"));
    }
    g_free (cmd);
    cmd = g_strdup_printf ("rm -rf '%s'", top);
    g_assert_cmpint (system (cmd), ==, 0);
}

/* ---- the guest record ---------------------------------------------------- */

#define UUID_A "6f1c1a4e-8a4b-4c2e-9d7a-0a1b2c3d4e5f"
#define UUID_B "0d3e9c1b-2f4a-4b6c-8d9e-1f2a3b4c5d6e"

/* The guest's record, parsed (it must be valid). */
static ViRecord *
guest_record (ViVfs *vfs)
{
    const char *json = fake_vfs_get (vfs, VI_RECORD_PATH);
    g_autoptr(GBytes) b = NULL;
    g_autoptr(GError) error = NULL;
    ViRecord *r;

    g_assert_nonnull (json);
    b = g_bytes_new (json, strlen (json));
    r = vi_record_parse (b, &error);
    g_assert_no_error (error);
    return r;
}

static char *
digest_of (const ViSpec *spec, const char *key_path)
{
    g_autoptr(GError) error = NULL;
    char *d = vi_request_digest (spec, secrets_dir, key_path, &error);

    g_assert_no_error (error);
    return d;
}

/* One injection with the record key (@uuid, @digest, once); the result's
 * changes. */
static guint
inject_once (const ViSpec *spec, ViVfs *vfs, const char *uuid, const char *digest,
             char **out_notes)
{
    ViRecordKey key = { digest, TRUE };
    ViInjectOptions opts = { .secrets_dir = secrets_dir, .domain_uuid = uuid,
                              .record = &key };
    g_auto(ViInjectResult) result = { 0 };
    g_autoptr(GError) error = NULL;

    g_assert_true (vi_inject (spec, vfs, &opts, FALSE, &result, &error));
    g_assert_no_error (error);
    if (out_notes)
        *out_notes = g_steal_pointer (&result.notes);
    return result.changes;
}

/* What each step did, in the record; the record's own files are 0700/0600
 * root; nothing of a secret in it. */
static void
test_record_items (void)
{
    g_autoptr(ViSpec) spec = parse (request);
    g_autoptr(ViVfs) vfs = debian_fake ();
    g_autoptr(ViRecord) r = NULL;
    ViRecordItem *it;
    ViStat st;

    fake_vfs_add_file (vfs, "/etc/motd", "the guest's own motd\n", 0600, 0, 0);
    g_assert_cmpuint (inject_once (spec, vfs, UUID_A, HEX_DIGEST, NULL), >, 0);
    r = guest_record (vfs);
    g_assert_cmpstr (r->uuid, ==, UUID_A);
    g_assert_cmpstr (r->digest, ==, HEX_DIGEST);

    it = vi_record_lookup (r, "/srv/app");
    g_assert_cmpint (it->kind, ==, VI_RECORD_DIR_CREATED);
    g_assert_cmpuint (it->mode, ==, 0750);
    g_assert_cmpint (vi_record_lookup (r, "/srv/app/run.sh")->kind, ==, VI_RECORD_FILE_CREATED);
    g_assert_cmpint (vi_record_lookup (r, "/root/.ssh")->kind, ==, VI_RECORD_DIR_CREATED);
    g_assert_cmpint (vi_record_lookup (r, "/meta.js")->kind, ==, VI_RECORD_FILE_CREATED);
    /* a replaced file: its original, kept 0600 under orig/ */
    it = vi_record_lookup (r, "/etc/motd");
    g_assert_cmpint (it->kind, ==, VI_RECORD_FILE_REPLACED);
    g_assert_cmpuint (it->orig.mode, ==, 0600);
    g_assert_cmpuint (it->orig.size, ==, strlen ("the guest's own motd\n"));
    {
        g_autofree char *saved = g_build_filename (VI_RECORD_DIR, it->orig.saved, NULL);

        g_assert_cmpstr (fake_vfs_get (vfs, saved), ==, "the guest's own motd\n");
        g_assert_true (vi_vfs_stat (vfs, saved, &st, NULL));
        g_assert_cmpuint (st.mode, ==, 0600);
        g_assert_true (vi_vfs_stat (vfs, VI_RECORD_ORIG_DIR, &st, NULL));
        g_assert_cmpuint (st.mode, ==, 0700);
    }
    /* edits: the line added to hosts; shadow only as digests */
    it = vi_record_lookup (r, "/etc/hosts");
    g_assert_cmpint (it->kind, ==, VI_RECORD_FILE_EDITED);
    g_assert_cmpstrv (it->lines_added,
                      ((const char *const[]) { "127.0.1.1\tweb1.example.com web1", NULL }));
    it = vi_record_lookup (r, "/etc/shadow");
    g_assert_cmpint (it->kind, ==, VI_RECORD_FILE_EDITED);
    g_assert_null (it->lines_added);
    g_assert_cmpuint (it->gid, ==, 42);
    /* an existing directory whose mode and owner changed */
    {
        g_autoptr(ViSpec) attr = parse ("<vi:inject xmlns:vi='" NS "' keep-dropped='yes'>"
                                        "<vi:directory path='/home/alice' "
                                        "mode='0700' owner='alice' group='wheel'/></vi:inject>");
        g_autoptr(ViRecord) r2 = NULL;

        inject_once (attr, vfs, UUID_A, HEX_DIGEST2, NULL);    /* another request */
        r2 = guest_record (vfs);
        it = vi_record_lookup (r2, "/home/alice");
        g_assert_cmpint (it->kind, ==, VI_RECORD_ATTR_CHANGED);
        g_assert_cmpuint (it->orig.mode, ==, 0755);
        g_assert_cmpuint (it->mode, ==, 0700);
        /* and the items of the first request are still there (keep-dropped) */
        g_assert_cmpuint (r2->items->len, ==, r->items->len + 1);
    }
    g_assert_true (vi_vfs_stat (vfs, VI_RECORD_DIR, &st, NULL));
    g_assert_cmpuint (st.mode, ==, 0700);
    g_assert_true (vi_vfs_stat (vfs, VI_RECORD_PATH, &st, NULL));
    g_assert_cmpuint (st.mode, ==, 0600);
    g_assert_cmpuint (st.uid, ==, 0);
    g_assert_null (strstr (fake_vfs_get (vfs, VI_RECORD_PATH), "rootpw-secret"));
}

/* The record is written in the same apply: a failure anywhere leaves no
 * record; a second identical run changes nothing, the record included. */
static void
test_record_all_or_nothing (void)
{
    g_autoptr(ViSpec) spec = parse (request);
    g_autoptr(ViVfs) vfs = debian_fake ();
    g_autoptr(ViVfs) failing = debian_fake ();
    ViRecordKey key = { HEX_DIGEST, FALSE };
    ViInjectOptions opts = { .secrets_dir = secrets_dir, .domain_uuid = UUID_A,
                              .record = &key };
    g_autoptr(GError) error = NULL;
    g_autofree char *state = NULL, *again = NULL;
    guint n;

    fake_vfs_fail_op (failing, "commit");
    g_assert_false (vi_inject (spec, failing, &opts, FALSE, NULL, &error));
    g_assert_null (fake_vfs_get (failing, VI_RECORD_PATH));
    g_clear_error (&error);

    g_assert_true (vi_inject (spec, vfs, &opts, FALSE, NULL, &error));
    g_assert_no_error (error);
    state = fake_vfs_state (vfs);
    n = fake_vfs_n_mutations (vfs);
    {
        g_auto(ViInjectResult) result = { 0 };

        g_assert_true (vi_inject (spec, vfs, &opts, FALSE, &result, &error));
        g_assert_cmpuint (result.changes, ==, 0);
        g_assert_null (result.notes);
    }
    again = fake_vfs_state (vfs);
    g_assert_cmpstr (again, ==, state);
    g_assert_cmpuint (fake_vfs_n_mutations (vfs), ==, n + 1);     /* the empty commit */
}

/* policy once across hosts: a host whose ledger misses reads the guest's
 * record.  Same domain and request: nothing is applied (the owner's edits
 * stay); another UUID (a clone), or a rotated secret: injected. */
static void
test_record_once (void)
{
    g_autoptr(ViSpec) spec = parse (request);
    g_autoptr(ViVfs) vfs = debian_fake ();
    g_autofree char *dir = g_dir_make_tmp ("vi-key-XXXXXX", NULL);
    g_autofree char *key_path = g_build_filename (dir, "digest.key", NULL);
    g_autofree char *secret = g_build_filename (secrets_dir, "rootpw", NULL);
    g_autofree char *digest = digest_of (spec, key_path);
    g_autofree char *rotated = NULL, *notes = NULL, *shadow = NULL;

    g_assert_cmpuint (inject_once (spec, vfs, UUID_A, digest, &notes), >, 0);
    g_assert_null (notes);
    /* the owner edits the guest; the domain moves to a host without its ledger */
    fake_vfs_add_file (vfs, "/etc/motd", "edited by the owner\n", 0644, 0, 0);
    fake_vfs_add_file (vfs, "/root/.ssh/authorized_keys", KEY2 "\n", 0600, 0, 0);
    g_assert_cmpuint (inject_once (spec, vfs, UUID_A, digest, &notes), ==, 0);
    g_assert_cmpstr (notes, ==, VI_INJECT_ALREADY_NOTE);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/motd"), ==, "edited by the owner\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/root/.ssh/authorized_keys"), ==, KEY2 "\n");
    {
        /* the plan says so */
        ViRecordKey key = { digest, TRUE };
        ViInjectOptions opts = { .secrets_dir = secrets_dir, .domain_uuid = UUID_A,
                                  .record = &key };
        g_autoptr(ViPlan) plan = vi_plan_build (spec, vfs, &opts, NULL);
        g_autofree char *text = vi_plan_describe (plan);

        g_assert_cmpstr (text, ==, "note        " VI_INJECT_ALREADY_NOTE "\n");
    }
    /* policy always: the record changes nothing of that */
    {
        ViRecordKey key = { digest, FALSE };
        ViInjectOptions opts = { .secrets_dir = secrets_dir, .domain_uuid = UUID_A,
                                  .record = &key };

        g_assert_true (vi_inject (spec, vfs, &opts, TRUE, NULL, NULL));
        {
            g_autoptr(ViPlan) plan = vi_plan_build (spec, vfs, &opts, NULL);
            g_assert_cmpuint (vi_plan_n_changes (plan), >, 0);
        }
    }
    /* a clone: same request, another UUID */
    g_clear_pointer (&notes, g_free);
    g_assert_cmpuint (inject_once (spec, vfs, UUID_B, digest, &notes), >, 0);
    g_assert_null (notes);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/motd"), ==, "Welcome\n");
    {
        g_autoptr(ViRecord) r = guest_record (vfs);
        g_assert_cmpstr (r->uuid, ==, UUID_B);
        /* still the first thing done to motd: it was created */
        g_assert_cmpint (vi_record_lookup (r, "/etc/motd")->kind, ==, VI_RECORD_FILE_CREATED);
    }
    /* a rotated secret: another digest, the password is set again */
    shadow = g_strdup (fake_vfs_get (vfs, "/etc/shadow"));
    g_assert_true (g_file_set_contents_full (secret, "rotated-secret\n", -1,
                                             G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
    rotated = digest_of (spec, key_path);
    g_assert_cmpstr (rotated, !=, digest);
    g_assert_cmpuint (inject_once (spec, vfs, UUID_B, rotated, NULL), >, 0);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/shadow"), !=, shadow);
    g_assert_true (g_file_set_contents_full (secret, "rootpw-secret\n", -1,
                                             G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
    g_assert_cmpint (g_unlink (key_path), ==, 0);
    g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* A record that cannot be trusted counts as absent: "once" misses, the
 * request is applied, the note says why.  Each case beside its control:
 * the same fixture with a valid record is "already applied". */
typedef struct {
    const char *name;
    const char *record;         /* record.json, or NULL */
    gboolean dir_symlink;       /* /var/lib/virt-inject is a symlink */
    gboolean file_symlink;      /* record.json is a symlink */
    gsize pad;                  /* spaces added to a valid record */
    const char *why;            /* in the note */
} HostileRecord;

#define VALID_RECORD "{\"version\": 1, \"uuid\": \"" UUID_A "\", \"digest\": \"" HEX_DIGEST "\", " \
                     "\"items\": [{\"kind\": \"file-created\", \"path\": \"/etc/motd\", " \
                     "\"mode\": \"0644\", \"uid\": 0, \"gid\": 0}]}"

static const HostileRecord hostile_records[] = {
    { "dir-symlink", VALID_RECORD, TRUE, FALSE, 0, VI_RECORD_DIR ": is a symlink" },
    { "file-symlink", NULL, FALSE, TRUE, 0, VI_RECORD_PATH ": is not a regular file" },
    { "oversize", VALID_RECORD, FALSE, FALSE, VI_RECORD_MAX, "larger than the record's cap" },
    { "bad-json", "{\"version\": 1, \"uuid\": \"" UUID_A "\"", FALSE, FALSE, 0, "not JSON" },
    { "dotdot", "{\"version\": 1, \"uuid\": \"" UUID_A "\", \"digest\": \"" HEX_DIGEST "\", "
                "\"items\": [{\"kind\": \"file-created\", \"path\": \"/etc/../etc/motd\", "
                "\"mode\": \"0644\", \"uid\": 0, \"gid\": 0}]}",
      FALSE, FALSE, 0, "\"path\" is not a valid guest path" },
    { "version", "{\"version\": 2, \"uuid\": \"" UUID_A "\", \"digest\": \"" HEX_DIGEST "\", "
                 "\"items\": []}", FALSE, FALSE, 0, "not version 1" },
};

static ViVfs *
hostile_record_guest (const HostileRecord *c, gboolean control)
{
    ViVfs *vfs = debian_fake ();

    fake_vfs_add_dir (vfs, "/var", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/var/lib", 0755, 0, 0);
    if (c->dir_symlink && !control) {
        fake_vfs_add_symlink (vfs, VI_RECORD_DIR, "/etc");
        return vfs;
    }
    fake_vfs_add_dir (vfs, VI_RECORD_DIR, 0700, 0, 0);
    if (c->file_symlink && !control) {
        fake_vfs_add_symlink (vfs, VI_RECORD_PATH, "/etc/shadow");
    } else if (control || c->record) {
        g_autofree char *pad = g_strnfill (control ? 0 : c->pad, ' ');
        g_autofree char *json = g_strconcat (control ? VALID_RECORD : c->record, pad, NULL);

        fake_vfs_add_file (vfs, VI_RECORD_PATH, json, 0600, 0, 0);
    }
    return vfs;
}

static void
test_record_hostile (gconstpointer data)
{
    const HostileRecord *c = data;
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'>"
                                    "<vi:file path='/etc/motd'>Welcome&#10;</vi:file></vi:inject>");
    g_autoptr(ViVfs) control = hostile_record_guest (c, TRUE);
    g_autoptr(ViVfs) vfs = hostile_record_guest (c, FALSE);
    g_autofree char *notes = NULL;
    ViRecordKey key = { HEX_DIGEST, TRUE };
    ViInjectOptions opts = { .secrets_dir = secrets_dir, .domain_uuid = UUID_A,
                              .record = &key };

    g_assert_cmpuint (inject_once (spec, control, UUID_A, HEX_DIGEST, &notes), ==, 0);
    g_assert_cmpstr (notes, ==, VI_INJECT_ALREADY_NOTE);
    g_assert_null (fake_vfs_get (control, "/etc/motd"));
    g_clear_pointer (&notes, g_free);
    {
        g_autoptr(ViPlan) plan = vi_plan_build (spec, vfs, &opts, NULL);
        g_autofree char *text = vi_plan_describe (plan);

        g_assert_nonnull (strstr (text, "note        guest record ignored"));
        g_assert_nonnull (strstr (text, c->why));
    }
    g_assert_cmpuint (inject_once (spec, vfs, UUID_A, HEX_DIGEST, &notes), >, 0);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/motd"), ==, "Welcome\n");
    g_assert_nonnull (strstr (notes, c->why));
    if (c->dir_symlink) {
        /* never written through the link */
        g_assert_nonnull (strstr (notes, "guest record not written"));
        g_assert_null (fake_vfs_get (vfs, VI_RECORD_PATH));
    } else {
        /* replaced by a valid one */
        g_autoptr(ViRecord) r = guest_record (vfs);
        g_assert_cmpstr (r->uuid, ==, UUID_A);
    }
}

/* ---- taking back what a request dropped -------------------------------- */

#define KEY_GUEST "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKSXtl9Lrs6mMzyq0jVqgWrd+6B0c0Z8YkPpcA9U3QWD guest"

/* A: two keys, a created file, a replaced file (its original kept), a
 * created directory with a file, a file B keeps.  B: one key, the kept
 * file; everything else of A dropped. */
#define REQUEST_A(attrs) \
    "<vi:inject xmlns:vi='" NS "'" attrs ">" \
    "<vi:user name='root'><vi:ssh-key>" KEY1 "</vi:ssh-key><vi:ssh-key>" KEY2 "</vi:ssh-key></vi:user>" \
    "<vi:directory path='/srv/app' mode='0750'/>" \
    "<vi:file path='/srv/app/run.sh' mode='0755'>#!/bin/sh&#10;</vi:file>" \
    "<vi:file path='/etc/created.conf'>created by A&#10;</vi:file>" \
    "<vi:file path='/etc/changed.conf'>created by A, then the guest's&#10;</vi:file>" \
    "<vi:file path='/etc/motd'>A's motd&#10;</vi:file>" \
    "<vi:file path='/etc/kept.conf'>A and B&#10;</vi:file></vi:inject>"
#define REQUEST_B(attrs) \
    "<vi:inject xmlns:vi='" NS "'" attrs ">" \
    "<vi:user name='root'><vi:ssh-key>" KEY1 "</vi:ssh-key></vi:user>" \
    "<vi:file path='/etc/kept.conf'>A and B&#10;</vi:file></vi:inject>"

/* debian_fake() with the guest's own motd and authorized_keys. */
static ViVfs *
dropped_fake (void)
{
    ViVfs *vfs = debian_fake ();

    fake_vfs_add_dir (vfs, "/srv", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/var", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/var/lib", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/etc/motd", "the guest's own motd\n", 0640, 0, 4);
    fake_vfs_add_dir (vfs, "/root/.ssh", 0700, 0, 0);
    fake_vfs_add_file (vfs, "/root/.ssh/authorized_keys", KEY_GUEST "\n", 0600, 0, 0);
    return vfs;
}

/* Every committed path but the record's directory (its items differ by
 * history), with type, mode, owner and the SHA-256 of its content; and
 * without /etc/changed.conf when @without_changed. */
static char *
state_without_record (ViVfs *vfs, gboolean without_changed)
{
    g_autoptr(GPtrArray) paths = fake_vfs_paths (vfs);
    GString *s = g_string_new (NULL);

    for (guint i = 0; i < paths->len; i++) {
        const char *p = paths->pdata[i];
        const char *content = fake_vfs_get (vfs, p);
        g_autofree char *sha = content ? g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                                                        content, -1) : NULL;
        ViStat st;

        if (g_str_has_prefix (p, VI_RECORD_DIR) ||
            (without_changed && g_str_equal (p, "/etc/changed.conf")))
            continue;
        g_assert_true (vi_vfs_stat (vfs, p, &st, NULL));
        g_string_append_printf (s, "%s %d %04o %u:%u %s\n", p, st.type, st.mode, st.uid, st.gid,
                                sha ? sha : "-");
    }
    return g_string_free (s, FALSE);
}

static char *
plan_text (const ViSpec *spec, ViVfs *vfs)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ViPlan) plan = vi_plan_build (spec, vfs, NULL, &error);

    g_assert_no_error (error);
    return vi_plan_describe (plan);
}

/* A then B: the tree is the original plus B, byte for byte, mode and
 * owner, but for the file the guest changed in between (it stays, the
 * plan says so); the plan lists each removal first; B again changes
 * nothing. */
static void
test_dropped_taken_back (void)
{
    g_autoptr(ViSpec) a = parse (REQUEST_A (""));
    g_autoptr(ViSpec) b = parse (REQUEST_B (""));
    g_autoptr(ViVfs) vfs = dropped_fake ();
    g_autoptr(ViVfs) only_b = dropped_fake ();
    g_autofree char *plan = NULL;
    g_autofree char *got = NULL;
    g_autofree char *want = NULL;
    g_autoptr(ViRecord) r = NULL;

    inject_ok (a, vfs, NULL);
    g_assert_cmpstr (fake_vfs_get (vfs, "/root/.ssh/authorized_keys"), ==,
                     KEY_GUEST "\n" KEY1 "\n" KEY2 "\n");
    /* the guest's owner edits a created file */
    fake_vfs_add_file (vfs, "/etc/changed.conf", "the guest's now\n", 0644, 0, 0);

    plan = plan_text (b, vfs);
    g_assert_nonnull (strstr (plan, "remove-line /root/.ssh/authorized_keys: " KEY2
                              " (taken back: dropped from the request)\n"));
    g_assert_nonnull (strstr (plan, "remove      /etc/created.conf 0644 0:0 (taken back: dropped "
                              "from the request)\n"));
    g_assert_nonnull (strstr (plan, "remove      /srv/app/run.sh 0755 0:0 (taken back"));
    g_assert_nonnull (strstr (plan, "rmdir       /srv/app 0750 0:0 (taken back: dropped from the "
                              "request)\n"));
    g_assert_nonnull (strstr (plan, "write       /etc/motd 0640 0:4 (taken back: dropped from the "
                              "request (the original put back))\n"));
    g_assert_nonnull (strstr (plan, "skipped     /etc/changed.conf 0644 0:0 (not taken back: "
                              "changed in the guest since virt-inject wrote it)\n"));
    g_assert_null (strstr (plan, "kept.conf 0644 0:0 (taken back"));
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/created.conf"), ==, "created by A\n"); /* a plan */

    inject_ok (b, vfs, NULL);
    inject_ok (b, only_b, NULL);
    got = state_without_record (vfs, TRUE);
    want = state_without_record (only_b, TRUE);
    g_assert_cmpstr (got, ==, want);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/changed.conf"), ==, "the guest's now\n");
    g_assert_cmpstr (fake_vfs_get (vfs, "/root/.ssh/authorized_keys"), ==,
                     KEY_GUEST "\n" KEY1 "\n");
    /* the kept original is gone with its item; the changed file stays recorded */
    r = guest_record (vfs);
    g_assert_null (vi_record_lookup (r, "/etc/motd"));
    g_assert_null (vi_record_lookup (r, "/etc/created.conf"));
    g_assert_null (vi_record_lookup (r, "/srv/app"));
    g_assert_nonnull (vi_record_lookup (r, "/etc/changed.conf"));
    g_assert_cmpstrv (vi_record_lookup (r, "/root/.ssh/authorized_keys")->lines_added,
                      ((const char *const[]) { KEY1, NULL }));
    {
        g_autofree char *saved = vi_record_saved_name ("/etc/motd");
        g_autofree char *path = g_build_filename (VI_RECORD_DIR, saved, NULL);

        g_assert_null (fake_vfs_get (vfs, path));
    }
    g_assert_cmpuint (n_changes (b, vfs, NULL), ==, 0);

    /* a replaced file the owner deleted after A: nothing to put back, and
     * its kept original goes with its item (no orphan under orig/) */
    {
        g_autoptr(ViVfs) deleted = dropped_fake ();
        g_autofree char *saved = vi_record_saved_name ("/etc/motd");
        g_autofree char *kept = g_build_filename (VI_RECORD_DIR, saved, NULL);
        g_autoptr(ViRecord) r2 = NULL;

        inject_ok (a, deleted, NULL);
        g_assert_nonnull (fake_vfs_get (deleted, kept));
        fake_vfs_remove (deleted, "/etc/motd");
        inject_ok (b, deleted, NULL);
        g_assert_null (fake_vfs_get (deleted, kept));
        g_assert_null (fake_vfs_get (deleted, "/etc/motd"));
        r2 = guest_record (deleted);
        g_assert_null (vi_record_lookup (r2, "/etc/motd"));
    }

    /* and dropping the last key takes it back too, the guest's stays */
    {
        g_autoptr(ViSpec) none = parse ("<vi:inject xmlns:vi='" NS "'>"
                                        "<vi:file path='/etc/kept.conf'>A and B&#10;</vi:file>"
                                        "</vi:inject>");

        inject_ok (none, vfs, NULL);
        g_assert_cmpstr (fake_vfs_get (vfs, "/root/.ssh/authorized_keys"), ==, KEY_GUEST "\n");
    }
}

/* A created user the request drops: not deleted (passwd, group, the
 * home and what was copied into it stay) but expired (shadow field 8),
 * and the SSH keys and the sudoers drop-in virt-inject gave it are taken
 * back; a key line the owner added beside them stays; a shadow the guest
 * changed since is left alone, and the plan says so.  Control: the same
 * run with bob still requested keeps all of it. */
static void
test_dropped_user (void)
{
    g_autoptr(ViSpec) a = parse (users_request);
    g_autoptr(ViSpec) b = parse ("<vi:inject xmlns:vi='" NS "'>"
                                 "<vi:file path='/srv/bob.txt' owner='bob' group='bob'>b&#10;"
                                 "</vi:file></vi:inject>");
    g_autoptr(ViVfs) vfs = users_fake ();
    g_autoptr(ViVfs) control = users_fake ();
    g_autoptr(ViVfs) edited = users_fake ();
    g_autofree char *passwd = NULL, *shadow = NULL, *plan = NULL, *expired = NULL;
    g_auto(GStrv) f = NULL;

    inject_ok (a, vfs, NULL);
    inject_ok (a, control, NULL);
    inject_ok (a, edited, NULL);
    g_assert_nonnull (fake_vfs_get (vfs, "/etc/sudoers.d/virt-inject-bob"));
    g_assert_cmpstr (fake_vfs_get (vfs, "/home/bob/.ssh/authorized_keys"), ==, KEY2 "\n");
    passwd = g_strdup (fake_vfs_get (vfs, "/etc/passwd"));
    shadow = g_strdup (fake_vfs_get (vfs, "/etc/shadow"));
    /* expired, and its password back to what virt-inject created ("*") */
    {
        g_autofree char *day = vi_edit_shadow_field (shadow, "bob", 2);
        g_autofree char *no_password = vi_edit_shadow_set_password (shadow, "bob", "*", day, NULL);

        g_assert_cmpstr (no_password, !=, shadow);
        expired = vi_edit_shadow_expire (no_password, "bob");
        g_assert_cmpstr (expired, !=, no_password);
    }

    /* control: bob still requested */
    inject_ok (a, control, NULL);
    g_assert_nonnull (fake_vfs_get (control, "/etc/sudoers.d/virt-inject-bob"));
    g_assert_cmpstr (fake_vfs_get (control, "/home/bob/.ssh/authorized_keys"), ==, KEY2 "\n");
    g_assert_cmpstr (fake_vfs_get (control, "/etc/shadow"), ==, shadow);

    plan = plan_text (b, vfs);
    g_assert_nonnull (strstr (plan, "remove      /home/bob/.ssh/authorized_keys 0600 1001:1001 "
                              "(taken back: dropped from the request)\n"));
    g_assert_nonnull (strstr (plan, "remove      /etc/sudoers.d/virt-inject-bob 0440 0:0 "
                              "(taken back: dropped from the request)\n"));
    g_assert_nonnull (strstr (plan, "skipped     /etc/passwd 0644 0:0 (not taken back: users and "
                              "groups are not deleted)\n"));
    g_assert_nonnull (strstr (plan, "write       /etc/shadow 0640 0:42 (taken back: user bob "
                              "dropped from the request (expired, not deleted); taken back: "
                              "password of bob dropped from the request (the original put "
                              "back))\n"));
    g_assert_nonnull (strstr (plan, "write       /etc/group 0644 0:0 (taken back: bob dropped from "
                              "group adm by the request; taken back: bob dropped from group "
                              "audio by the request)\n"));
    inject_ok (b, vfs, NULL);
    g_assert_null (fake_vfs_get (vfs, "/home/bob/.ssh/authorized_keys"));
    g_assert_null (fake_vfs_get (vfs, "/etc/sudoers.d/virt-inject-bob"));
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/passwd"), ==, passwd);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/shadow"), ==, expired);
    /* its memberships taken back: the groups as the guest had them */
    g_assert_nonnull (strstr (fake_vfs_get (vfs, "/etc/group"), "\nadm:x:4:\naudio:x:29:\n"));
    g_assert_nonnull (strstr (fake_vfs_get (vfs, "/etc/gshadow"), "\nadm:*::\naudio:*::\n"));
    f = g_strsplit (strstr (fake_vfs_get (vfs, "/etc/shadow"), "\nbob:") + 1, ":", -1);
    g_assert_cmpstr (f[7], ==, "1");
    g_assert_cmpstr (fake_vfs_get (vfs, "/home/bob/.bashrc"), ==, "# bashrc\n");
    g_assert_true (fake_exists (vfs, "/home/bob/.ssh"));
    g_assert_cmpuint (n_changes (b, vfs, NULL), ==, 0);

    /* the owner added a key: only virt-inject's goes; the guest changed
     * shadow (a password): bob is not expired */
    fake_vfs_add_file (edited, "/home/bob/.ssh/authorized_keys", KEY2 "\n" KEY1 "\n", 0600, 1001,
                       1001);
    {
        g_autofree char *changed = g_strconcat (shadow, "carol:!:19000:0:99999:7:::\n", NULL);

        fake_vfs_add_file (edited, "/etc/shadow", changed, 0640, 0, 42);
        g_clear_pointer (&plan, g_free);
        plan = plan_text (b, edited);
        g_assert_nonnull (strstr (plan, "skipped     /etc/shadow 0640 0:42 (not taken back: user "
                                  "bob dropped from the request, not expired: /etc/shadow "
                                  "changed in the guest since)\n"));
        inject_ok (b, edited, NULL);
        /* not expired, but the password virt-inject set (still as set) is
         * taken back field by field */
        {
            g_autofree char *day = vi_edit_shadow_field (shadow, "bob", 2);
            g_autofree char *want = vi_edit_shadow_set_password (changed, "bob", "*", day, NULL);

            g_assert_cmpstr (fake_vfs_get (edited, "/etc/shadow"), ==, want);
        }
    }
    g_assert_cmpstr (fake_vfs_get (edited, "/home/bob/.ssh/authorized_keys"), ==, KEY1 "\n");
}

/* The guest's own ifupdown stanzas for eth0 and eth1. */
#define GUEST_INTERFACES \
    "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n\n" \
    "auto eth1\niface eth1 inet dhcp\n"
#define NET_REQUEST(ifaces, extra) \
    "<vi:inject xmlns:vi='" NS "'><vi:network renderer='ifupdown'>" ifaces "</vi:network>" \
    "<vi:file path='/etc/kept.conf'>kept&#10;</vi:file>" extra "</vi:inject>"
#define NET_ETH0 "<vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address></vi:interface>"
#define NET_ETH1 "<vi:interface name='eth1'><vi:address>198.51.100.7/24</vi:address></vi:interface>"

static ViVfs *
interfaces_fake (void)
{
    ViVfs *vfs = dropped_fake ();

    fake_vfs_add_file (vfs, "/etc/network/interfaces", GUEST_INTERFACES, 0644, 0, 0);
    fake_vfs_add_dir (vfs, "/etc/cloud", 0755, 0, 0);
    fake_vfs_add_file (vfs, "/etc/cloud/cloud.cfg", "# the guest's\n", 0644, 0, 0);
    return vfs;
}

/* A (eth0 and eth1, a meta) neutralises the guest's own stanzas of both
 * and writes cloud-init's drop-in; B (eth1 only) brings the guest's eth0
 * stanza back (the file is edited again from its kept original) and
 * removes /meta.js, C (no network) the whole file, byte for byte, and the
 * drop-in goes:
 * each tree equals the request alone on the original guest.  A file the
 * guest changed since A stays as it is (the plan says so).  Control: A
 * then A changes nothing. */
static void
test_dropped_interface (void)
{
    g_autoptr(ViSpec) a = parse (NET_REQUEST (NET_ETH0 NET_ETH1, "<vi:meta key='role'>web</vi:meta>"));
    g_autoptr(ViSpec) b = parse (NET_REQUEST (NET_ETH1, ""));
    g_autoptr(ViSpec) c = parse ("<vi:inject xmlns:vi='" NS "'>"
                                 "<vi:file path='/etc/kept.conf'>kept&#10;</vi:file></vi:inject>");
    const ViSpec *seq[] = { b, c };
    g_autoptr(ViVfs) vfs = interfaces_fake ();
    g_autoptr(ViVfs) changed = interfaces_fake ();
    g_autofree char *plan = NULL;

    inject_ok (a, vfs, NULL);
    g_assert_null (strstr (fake_vfs_get (vfs, "/etc/network/interfaces"), "\niface eth0 inet dhcp"));
    g_assert_null (strstr (fake_vfs_get (vfs, "/etc/network/interfaces"), "\niface eth1 inet dhcp"));
    g_assert_nonnull (fake_vfs_get (vfs, "/meta.js"));
    g_assert_nonnull (fake_vfs_get (vfs, "/etc/cloud/cloud.cfg.d/99-virt-inject.cfg"));
    g_assert_cmpuint (n_changes (a, vfs, NULL), ==, 0);
    for (guint i = 0; i < G_N_ELEMENTS (seq); i++) {
        g_autoptr(ViVfs) alone = interfaces_fake ();
        g_autofree char *got = NULL, *want = NULL;

        inject_ok (seq[i], vfs, NULL);
        inject_ok (seq[i], alone, NULL);
        got = state_without_record (vfs, FALSE);
        want = state_without_record (alone, FALSE);
        g_assert_cmpstr (got, ==, want);
        g_assert_cmpstr (fake_vfs_get (vfs, "/etc/network/interfaces"), ==,
                         fake_vfs_get (alone, "/etc/network/interfaces"));
        g_assert_cmpuint (n_changes (seq[i], vfs, NULL), ==, 0);
    }
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/network/interfaces"), ==, GUEST_INTERFACES);
    g_assert_null (fake_vfs_get (vfs, "/etc/network/interfaces.d/virt-inject-eth0"));
    g_assert_null (fake_vfs_get (vfs, "/etc/network/interfaces.d/virt-inject-eth1"));
    g_assert_null (fake_vfs_get (vfs, "/meta.js"));
    g_assert_null (fake_vfs_get (vfs, "/etc/cloud/cloud.cfg.d/99-virt-inject.cfg"));
    {
        g_autoptr(ViRecord) r = guest_record (vfs);
        g_autofree char *saved = vi_record_saved_name ("/etc/network/interfaces");
        g_autofree char *path = g_build_filename (VI_RECORD_DIR, saved, NULL);

        g_assert_null (vi_record_lookup (r, "/etc/network/interfaces"));
        g_assert_null (fake_vfs_get (vfs, path));
    }

    /* the guest's owner edits the neutralised file after A */
    inject_ok (a, changed, NULL);
    {
        g_autofree char *edited = g_strconcat (fake_vfs_get (changed, "/etc/network/interfaces"),
                                               "# the owner's\n", NULL);

        fake_vfs_add_file (changed, "/etc/network/interfaces", edited, 0644, 0, 0);
        plan = plan_text (c, changed);
        g_assert_nonnull (strstr (plan, "skipped     /etc/network/interfaces 0644 0:0 (not taken "
                                  "back: changed in the guest since virt-inject wrote it)\n"));
        /* B: eth0's own file still goes (never edited as a guest's) */
        inject_ok (b, changed, NULL);
        g_assert_null (fake_vfs_get (changed, "/etc/network/interfaces.d/virt-inject-eth0"));
        g_assert_nonnull (fake_vfs_get (changed, "/etc/network/interfaces.d/virt-inject-eth1"));
        g_assert_cmpstr (fake_vfs_get (changed, "/etc/network/interfaces"), ==, edited);
        inject_ok (c, changed, NULL);
        g_assert_cmpstr (fake_vfs_get (changed, "/etc/network/interfaces"), ==, edited);
    }
}

/* Passwords and memberships of existing users: a password virt-inject set
 * goes back to the guest's own (field 2 and its day) when dropped, a
 * membership it added is removed; one the guest changed since stays, and
 * the plan says so.  Controls: the same request again changes nothing;
 * keep-dropped keeps them. */
static void
test_dropped_password_group (void)
{
    g_autoptr(ViSpec) a = parse ("<vi:inject xmlns:vi='" NS "'>"
                                 "<vi:user name='root'><vi:password hash='" HASH6 "'/></vi:user>"
                                 "<vi:user name='alice' groups='wheel'><vi:password hash='" HASH6
                                 "'/></vi:user></vi:inject>");
    g_autoptr(ViSpec) b = parse ("<vi:inject xmlns:vi='" NS "'>"
                                 "<vi:file path='/etc/kept.conf'>kept&#10;</vi:file></vi:inject>");
    g_autoptr(ViSpec) keep = parse ("<vi:inject xmlns:vi='" NS "' keep-dropped='yes'>"
                                    "<vi:file path='/etc/kept.conf'>kept&#10;</vi:file></vi:inject>");
    g_autoptr(ViVfs) vfs = users_fake ();
    g_autoptr(ViVfs) kept = users_fake ();
    g_autofree char *shadow0 = g_strdup (fake_vfs_get (vfs, "/etc/shadow"));
    g_autofree char *group0 = g_strdup (fake_vfs_get (vfs, "/etc/group"));
    g_autofree char *plan = NULL;
    g_autofree char *field = NULL;

    inject_ok (a, vfs, NULL);
    inject_ok (a, kept, NULL);
    g_assert_cmpuint (n_changes (a, vfs, NULL), ==, 0);
    field = vi_edit_shadow_password (fake_vfs_get (vfs, "/etc/shadow"), "root");
    g_assert_cmpstr (field, ==, HASH6);
    g_assert_nonnull (strstr (fake_vfs_get (vfs, "/etc/group"), "\nwheel:x:10:alice\n"));
    /* the owner changes alice's password after A */
    {
        g_autofree char *mine = vi_edit_shadow_set_password (fake_vfs_get (vfs, "/etc/shadow"),
                                                             "alice", "$6$own$hash", "20000", NULL);

        fake_vfs_add_file (vfs, "/etc/shadow", mine, 0640, 0, 42);
    }
    plan = plan_text (b, vfs);
    g_assert_nonnull (strstr (plan, "write       /etc/shadow 0640 0:42 (taken back: password of "
                              "root dropped from the request (the original put back))\n"));
    g_assert_nonnull (strstr (plan, "skipped     /etc/shadow 0640 0:42 (not taken back: password "
                              "of alice dropped from the request, changed in the guest since)\n"));
    g_assert_nonnull (strstr (plan, "write       /etc/group 0644 0:0 (taken back: alice dropped "
                              "from group wheel by the request)\n"));
    inject_ok (b, vfs, NULL);
    {
        g_autofree char *want = vi_edit_shadow_set_password (shadow0, "alice", "$6$own$hash",
                                                             "20000", NULL);

        g_assert_cmpstr (fake_vfs_get (vfs, "/etc/shadow"), ==, want);    /* root's "*" again */
    }
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/group"), ==, group0);
    g_assert_cmpuint (n_changes (b, vfs, NULL), ==, 0);
    {
        g_autoptr(ViRecord) r = guest_record (vfs);

        g_assert_null (vi_record_lookup (r, "/etc/shadow")->passwords_set);
        g_assert_null (vi_record_lookup (r, "/etc/group")->members_added);
    }

    /* keep-dropped: nothing put back, still recorded for a later request */
    inject_ok (keep, kept, NULL);
    g_clear_pointer (&field, g_free);
    field = vi_edit_shadow_password (fake_vfs_get (kept, "/etc/shadow"), "root");
    g_assert_cmpstr (field, ==, HASH6);
    g_assert_nonnull (strstr (fake_vfs_get (kept, "/etc/group"), "\nwheel:x:10:alice\n"));
    inject_ok (b, kept, NULL);
    g_assert_cmpstr (fake_vfs_get (kept, "/etc/shadow"), ==, shadow0);
    g_assert_cmpstr (fake_vfs_get (kept, "/etc/group"), ==, group0);
}

/* A <firstboot> dropped before the guest booted is disarmed: its script,
 * runner, marker, unit and .wants link go, and the tree equals B alone on
 * the original guest.  Control: kept while requested. */
static void
test_dropped_firstboot (void)
{
    g_autoptr(ViSpec) a = parse ("<vi:inject xmlns:vi='" NS "'>"
                                 "<vi:firstboot>#!/bin/sh\necho hello</vi:firstboot>"
                                 "<vi:file path='/etc/kept.conf'>kept&#10;</vi:file></vi:inject>");
    g_autoptr(ViSpec) b = parse ("<vi:inject xmlns:vi='" NS "'>"
                                 "<vi:file path='/etc/kept.conf'>kept&#10;</vi:file></vi:inject>");
    g_autoptr(ViVfs) vfs = systemd_fake ();
    g_autoptr(ViVfs) alone = systemd_fake ();
    g_autofree char *got = NULL, *want = NULL;
    static const char *const gone[] = {
        VI_FIRSTBOOT_SCRIPT, VI_FIRSTBOOT_RUNNER, VI_FIRSTBOOT_MARKER,
        VI_UNIT_DIR "/" VI_FIRSTBOOT_UNIT_NAME, VI_WANTS_DIR "/" VI_FIRSTBOOT_UNIT_NAME, NULL
    };

    inject_ok (a, vfs, NULL);
    inject_ok (a, vfs, NULL);
    for (const char *const *p = gone; *p; p++)
        g_assert_true (fake_exists (vfs, *p));
    inject_ok (b, vfs, NULL);
    for (const char *const *p = gone; *p; p++)
        g_assert_false (fake_exists (vfs, *p));
    inject_ok (b, alone, NULL);
    got = state_without_record (vfs, FALSE);
    want = state_without_record (alone, FALSE);
    g_assert_cmpstr (got, ==, want);
    g_assert_cmpuint (n_changes (b, vfs, NULL), ==, 0);

    /* the owner changed the unit after A: it stays (the plan says so),
     * and nothing starts it any more */
    {
        g_autoptr(ViVfs) changed = systemd_fake ();
        g_autofree char *plan = NULL;

        inject_ok (a, changed, NULL);
        fake_vfs_add_file (changed, VI_UNIT_DIR "/" VI_FIRSTBOOT_UNIT_NAME, "# the owner's\n", 0644,
                           0, 0);
        plan = plan_text (b, changed);
        g_assert_nonnull (strstr (plan, "skipped     " VI_UNIT_DIR "/" VI_FIRSTBOOT_UNIT_NAME
                                  " 0644 0:0 (not taken back: changed in the guest since "
                                  "virt-inject wrote it)\n"));
        inject_ok (b, changed, NULL);
        g_assert_cmpstr (fake_vfs_get (changed, VI_UNIT_DIR "/" VI_FIRSTBOOT_UNIT_NAME), ==,
                         "# the owner's\n");
        g_assert_false (fake_exists (changed, VI_WANTS_DIR "/" VI_FIRSTBOOT_UNIT_NAME));
        g_assert_false (fake_exists (changed, VI_FIRSTBOOT_SCRIPT));
    }
}

/* keep-dropped (the request attribute; the CLI's --keep-dropped sets it):
 * A's items stay, in the guest and in the record. */
static void
test_dropped_keep (void)
{
    g_autoptr(ViSpec) a = parse (REQUEST_A (""));
    g_autoptr(ViSpec) b = parse (REQUEST_B (" keep-dropped='yes'"));
    g_autoptr(ViVfs) vfs = dropped_fake ();
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    g_autofree char *plan = NULL;
    g_autoptr(ViRecord) r = NULL;

    inject_ok (a, vfs, NULL);
    before = state_without_record (vfs, FALSE);
    plan = plan_text (b, vfs);
    g_assert_null (strstr (plan, "taken back"));
    inject_ok (b, vfs, NULL);
    after = state_without_record (vfs, FALSE);
    g_assert_cmpstr (after, ==, before);
    r = guest_record (vfs);
    g_assert_nonnull (vi_record_lookup (r, "/etc/created.conf"));
    g_assert_nonnull (vi_record_lookup (r, "/srv/app"));
    g_assert_cmpint (vi_record_lookup (r, "/etc/motd")->kind, ==, VI_RECORD_FILE_REPLACED);
    /* the attribute is not part of what first boot keys on */
    {
        g_autoptr(ViSpec) plain = parse (REQUEST_B (""));
        g_autofree char *d1 = vi_spec_digest (plain);
        g_autofree char *d2 = vi_spec_digest (b);
        g_autofree char *f = vi_spec_format (b);

        g_assert_cmpstr (d1, ==, d2);
        g_assert_nonnull (strstr (f, "keep-dropped=\"yes\""));
    }
}

/* A hostile record takes nothing back; each beside its control, the same
 * guest with a clean record, which does take the file back. */
typedef struct {
    const char *name;
    const char *path;           /* the item's path */
    gboolean parent_symlink;    /* /srv/link -> /etc, and the item /srv/link/victim */
    gsize pad;                  /* spaces added to the record */
    const char *why;            /* in the plan, or NULL when the record is ignored */
} HostileTakeBack;

static const HostileTakeBack hostile_take_backs[] = {
    { "dotdot", "/srv/../etc/victim", FALSE, 0, NULL },
    { "symlinked-parent", "/srv/link/victim", TRUE, 0, "a directory above it is no longer a directory" },
    { "oversize", "/srv/link/victim", FALSE, VI_RECORD_MAX, NULL },
};

#define VICTIM "the guest's own file\n"

static ViVfs *
hostile_take_back_guest (const HostileTakeBack *c, gboolean control)
{
    ViVfs *vfs = dropped_fake ();
    g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, VICTIM, -1);
    g_autofree char *pad = g_strnfill (control ? 0 : c->pad, ' ');
    g_autofree char *json = NULL;

    fake_vfs_add_file (vfs, "/etc/victim", VICTIM, 0644, 0, 0);
    if (c->parent_symlink && !control) {
        fake_vfs_add_symlink (vfs, "/srv/link", "/etc");
    } else {
        fake_vfs_add_dir (vfs, "/srv/link", 0755, 0, 0);
        fake_vfs_add_file (vfs, "/srv/link/victim", VICTIM, 0644, 0, 0);
    }
    fake_vfs_add_dir (vfs, VI_RECORD_DIR, 0700, 0, 0);
    json = g_strdup_printf ("{\"version\": 1, \"uuid\": null, \"digest\": null, \"items\": "
                            "[{\"kind\": \"file-created\", \"path\": \"%s\", \"mode\": \"0644\", "
                            "\"uid\": 0, \"gid\": 0, \"written-sha256\": \"%s\"}]}%s",
                            control ? "/srv/link/victim" : c->path, sha, pad);
    fake_vfs_add_file (vfs, VI_RECORD_PATH, json, 0600, 0, 0);
    return vfs;
}

static void
test_dropped_hostile (gconstpointer data)
{
    const HostileTakeBack *c = data;
    g_autoptr(ViSpec) spec = parse ("<vi:inject xmlns:vi='" NS "'>"
                                    "<vi:file path='/etc/kept.conf'>B&#10;</vi:file></vi:inject>");
    g_autoptr(ViVfs) control = hostile_take_back_guest (c, TRUE);
    g_autoptr(ViVfs) vfs = hostile_take_back_guest (c, FALSE);
    g_autofree char *plan = plan_text (spec, vfs);
    g_autofree char *cplan = plan_text (spec, control);

    /* control: the clean record's file is taken back */
    g_assert_nonnull (strstr (cplan, "remove      /srv/link/victim 0644 0:0 (taken back"));
    inject_ok (spec, control, NULL);
    g_assert_null (fake_vfs_get (control, "/srv/link/victim"));
    g_assert_cmpstr (fake_vfs_get (control, "/etc/victim"), ==, VICTIM);

    /* hostile: nothing taken back, nothing else touched */
    g_assert_null (strstr (plan, "(taken back:"));
    if (c->why)
        g_assert_nonnull (strstr (plan, c->why));
    else
        g_assert_nonnull (strstr (plan, "guest record ignored"));
    inject_ok (spec, vfs, NULL);
    g_assert_cmpstr (fake_vfs_get (vfs, "/etc/victim"), ==, VICTIM);
    if (!c->parent_symlink)
        g_assert_cmpstr (fake_vfs_get (vfs, "/srv/link/victim"), ==, VICTIM);
}

int
main (int argc, char **argv)
{
    g_autofree char *secret = NULL;
    int ret;

    g_test_init (&argc, &argv, NULL);
    secrets_dir = g_dir_make_tmp ("vi-secrets-XXXXXX", NULL);
    secret = g_build_filename (secrets_dir, "rootpw", NULL);
    g_assert_true (g_file_set_contents_full (secret, "rootpw-secret\n", -1,
                                             G_FILE_SET_CONTENTS_NONE, 0600, NULL));

    g_test_add_func ("/inject/fake/all-operations", test_fake_all_operations);
    g_test_add_func ("/inject/fake/record/items", test_record_items);
    g_test_add_func ("/inject/fake/record/all-or-nothing", test_record_all_or_nothing);
    g_test_add_func ("/inject/fake/record/once", test_record_once);
    g_test_add_func ("/inject/fake/dropped/taken-back", test_dropped_taken_back);
    g_test_add_func ("/inject/fake/dropped/keep-dropped", test_dropped_keep);
    g_test_add_func ("/inject/fake/dropped/created-user", test_dropped_user);
    g_test_add_func ("/inject/fake/dropped/interface", test_dropped_interface);
    g_test_add_func ("/inject/fake/dropped/password-group", test_dropped_password_group);
    g_test_add_func ("/inject/fake/dropped/firstboot", test_dropped_firstboot);
    for (guint i = 0; i < G_N_ELEMENTS (hostile_take_backs); i++) {
        g_autofree char *path = g_strdup_printf ("/inject/fake/dropped/hostile/%s",
                                                 hostile_take_backs[i].name);
        g_test_add_data_func (path, &hostile_take_backs[i], test_dropped_hostile);
    }
    for (guint i = 0; i < G_N_ELEMENTS (hostile_records); i++) {
        g_autofree char *path = g_strdup_printf ("/inject/fake/record/hostile/%s",
                                                 hostile_records[i].name);
        g_test_add_data_func (path, &hostile_records[i], test_record_hostile);
    }
    g_test_add_data_func ("/inject/fake/fail-at-every-step", &fail_cases[0],
                          test_fake_fail_everywhere);
    g_test_add_data_func ("/inject/fake/fail-at-every-step-existing-dir", &fail_cases[1],
                          test_fake_fail_everywhere);
    g_test_add_data_func ("/inject/fake/fail-at-every-step-firstboot", &fail_cases[3],
                          test_fake_fail_everywhere);
    g_test_add_data_func ("/inject/fake/fail-at-every-step-nested-dirs", &fail_cases[2],
                          test_fake_fail_everywhere);
    g_test_add_data_func ("/inject/fake/fail-at-every-step-new-user", &fail_cases[3],
                          test_fake_fail_everywhere);
    g_test_add_func ("/inject/fake/undo-failure-reported", test_fake_undo_failure);
    g_test_add_func ("/inject/fake/firstboot-systemd", test_fake_firstboot_systemd);
    for (gsize i = 0; i < G_N_ELEMENTS (firstboot_inits); i++) {
        g_autofree char *path = g_strdup_printf ("/inject/fake/firstboot-%s", firstboot_inits[i].name);
        g_test_add_data_func (path, &firstboot_inits[i], test_fake_firstboot_init);
    }
    g_test_add_func ("/inject/fake/firstboot-no-init", test_fake_firstboot_no_init);
    g_test_add_func ("/inject/fake/identity-systemd", test_fake_identity_systemd);
    g_test_add_func ("/inject/fake/identity-openrc-sysvinit", test_fake_identity_other_inits);
    g_test_add_func ("/inject/fake/identity-fail-at-every-step", test_fake_identity_fail_everywhere);
    g_test_add_func ("/inject/fake/undo-all-fail-all-named", test_fake_undo_all_fail);
    g_test_add_func ("/inject/fake/missing-user", test_fake_missing_user);
    g_test_add_func ("/inject/fake/user-create", test_fake_user_create);
    for (guint i = 0; i < G_N_ELEMENTS (user_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/inject/fake/user/%s", user_cases[i].name);
        g_test_add_data_func (path, &user_cases[i], test_fake_user_case);
    }
    for (guint i = 0; i < G_N_ELEMENTS (user_fail_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/inject/fake/user-fail/%s", user_fail_cases[i].name);
        g_test_add_data_func (path, &user_fail_cases[i], test_fake_user_fail);
    }
    g_test_add_func ("/inject/fake/yescrypt-refused-on-musl", test_fake_yescrypt_refused);
    g_test_add_func ("/inject/fake/alpine-network", test_fake_alpine_network);
    g_test_add_func ("/inject/fake/alpine-search", test_fake_alpine_search);
    g_test_add_func ("/inject/fake/alpine-auto-once", test_fake_alpine_auto_once);
    g_test_add_func ("/inject/fake/ifupdown-guest-config", test_fake_ifupdown_guest_config);
    g_test_add_func ("/inject/fake/guest-config-refused", test_fake_guest_config_refused);
    g_test_add_func ("/inject/fake/debian-nameservers", test_fake_debian_nameservers);
    g_test_add_func ("/inject/fake/collision", test_fake_collision);
    g_test_add_func ("/inject/fake/edge-cases", test_fake_edge_cases);
    g_test_add_func ("/inject/fake/home-trailing-slash", test_fake_home_slashes);
    g_test_add_func ("/inject/fake/home-unusable", test_fake_home_unusable);
    for (gsize i = 0; i < G_N_ELEMENTS (cloud_init_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/inject/fake/cloud-init/%s",
                                                 cloud_init_cases[i].name);
        g_test_add_data_func (path, &cloud_init_cases[i], test_fake_cloud_init);
    }
    for (gsize i = 0; i < G_N_ELEMENTS (cost_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/inject/fake/guest-hash-cost/%s",
                                                 cost_cases[i].name);
        g_test_add_data_func (path, &cost_cases[i], test_fake_guest_hash_cost);
    }
    g_test_add_func ("/inject/tree/debian12-real-selinux-policy", test_tree_real_policy);
    g_test_add_func ("/inject/tree/user-hostile-skel", test_tree_user_hostile_skel);
    for (gsize i = 0; i < G_N_ELEMENTS (distros); i++) {
        g_autofree char *path = g_strdup_printf ("/inject/tree/%s", distros[i].distro);
        g_test_add_data_func (path, &distros[i], test_tree);
    }
    ret = g_test_run ();
    g_unlink (secret);
    g_rmdir (secrets_dir);
    return ret;
}
