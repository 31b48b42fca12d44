/* test-firstboot.c: the pure parts of the first-boot script and the clone
 * identity reset: init system detection, the markers (hostile input), the
 * rc.local edit, and the runner, run for real by sh in a scratch tree. */
#include <string.h>
#include <glib/gstdio.h>

#include "fake-vfs.h"
#include "vi-error.h"
#include "vi-firstboot.h"

#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UUID "4a2f1c3e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"

typedef struct {
    const char *name;
    const char *content;
    gssize len;             /* -1: strlen */
    const char *expect;     /* NULL: refused */
} MarkerCase;

static const MarkerCase digest_cases[] = {
    { "good", DIGEST "\n", -1, DIGEST },
    { "no-newline", DIGEST, -1, NULL },
    { "two-newlines", DIGEST "\n\n", -1, NULL },
    { "upper", "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n", -1, NULL },
    { "short", "0123456789abcdef\n", -1, NULL },
    { "long", DIGEST "0\n", -1, NULL },
    { "nul", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\0\n", 66, NULL },
    { "crlf", DIGEST "\r\n", -1, NULL },
    { "leading-space", " " DIGEST "\n", -1, NULL },
    { "empty", "", -1, NULL },
};

static const MarkerCase uuid_cases[] = {
    { "good", UUID "\n", -1, UUID },
    { "standalone", "standalone\n", -1, "standalone" },
    { "upper", "4A2F1C3E-8B7D-4E6F-9A0B-1C2D3E4F5A6B\n", -1, NULL },
    { "no-dashes", "4a2f1c3e8b7d4e6f9a0b1c2d3e4f5a6b\n", -1, NULL },
    { "dash-moved", "4a2f1c3e8-b7d-4e6f-9a0b-1c2d3e4f5a6b\n", -1, NULL },
    { "no-newline", UUID, -1, NULL },
    { "trailing", UUID "\nx", -1, NULL },
    { "standalone-prefix", "standalone-x\n", -1, NULL },
    { "path", "../../etc/shadow\n", -1, NULL },
    { "empty", "", -1, NULL },
};

static void
test_marker (const MarkerCase *c, char *(*parse) (GBytes *))
{
    g_autoptr(GBytes) b = g_bytes_new (c->content, c->len < 0 ? strlen (c->content) : (gsize) c->len);
    g_autofree char *got = parse (b);

    g_assert_cmpstr (got, ==, c->expect);
}

static void
test_digest (gconstpointer data)
{
    test_marker (data, vi_firstboot_parse_digest);
}

static void
test_uuid (gconstpointer data)
{
    test_marker (data, vi_identity_parse_uuid);
}

static void
test_marker_null (void)
{
    g_assert_null (vi_firstboot_parse_digest (NULL));
    g_assert_null (vi_identity_parse_uuid (NULL));
}

#define LINE "if [ -f /var/lib/virt-inject/firstboot ]; then /bin/sh /var/lib/virt-inject/firstboot-run; fi  # virt-inject first boot\n"

typedef struct {
    const char *name;
    const char *old;        /* NULL: no rc.local */
    const char *expect;
} RcCase;

static const RcCase rc_cases[] = {
    { "none", NULL, "#!/bin/sh\n" LINE "exit 0\n" },
    { "debian-template", "#!/bin/sh -e\n#\n# rc.local\n\nexit 0\n",
      "#!/bin/sh -e\n#\n# rc.local\n\n" LINE "exit 0\n" },
    { "exit0-blank-after", "#!/bin/sh\nfoo\n  exit 0  \n\n", "#!/bin/sh\nfoo\n" LINE "  exit 0  \n\n" },
    { "no-exit", "#!/bin/sh\nfoo\n", "#!/bin/sh\nfoo\n" LINE },
    { "no-final-newline", "#!/bin/sh\nfoo", "#!/bin/sh\nfoo\n" LINE },
    { "exit0-not-last", "#!/bin/sh\nexit 0\nfoo\n", "#!/bin/sh\nexit 0\nfoo\n" LINE },
    { "exit1", "#!/bin/sh\nexit 1\n", "#!/bin/sh\nexit 1\n" LINE },
    { "has-line", "#!/bin/sh\n" LINE "exit 0\n", "#!/bin/sh\n" LINE "exit 0\n" },
    { "has-line-commented", "#!/bin/sh\n# " LINE "exit 0\n", "#!/bin/sh\n# " LINE LINE "exit 0\n" },
    { "empty", "", LINE },
};

static void
test_rc_local (gconstpointer data)
{
    const RcCase *c = data;
    g_autofree char *got = vi_firstboot_rc_local (c->old);
    g_autofree char *again = vi_firstboot_rc_local (got);

    g_assert_cmpstr (got, ==, c->expect);
    g_assert_cmpstr (again, ==, got);       /* once */
}

typedef struct {
    const char *name;
    const char *files;      /* space-separated; "L:" prefix makes a symlink */
    ViInitSystem expect;
} InitCase;

static const InitCase init_cases[] = {
    { "debian-systemd", "L:/sbin/init /lib/systemd/systemd", VI_INIT_SYSTEMD },
    { "usrmerged-systemd", "L:/sbin/init /usr/lib/systemd/systemd", VI_INIT_SYSTEMD },
    { "systemd-no-init-link", "/usr/lib/systemd/systemd", VI_INIT_SYSTEMD },
    { "sysvinit-core-beside-systemd", "/sbin/init /lib/systemd/systemd", VI_INIT_SYSVINIT },
    { "sysvinit", "/sbin/init", VI_INIT_SYSVINIT },
    { "alpine", "L:/sbin/init /sbin/openrc", VI_INIT_OPENRC },
    { "openrc-on-sysvinit", "/sbin/init /usr/sbin/openrc /lib/systemd/systemd", VI_INIT_OPENRC },
    { "nothing", "", VI_INIT_UNKNOWN },
    { "init-link-only", "L:/sbin/init", VI_INIT_UNKNOWN },
};

static void
test_detect_init (gconstpointer data)
{
    const InitCase *c = data;
    g_autoptr(ViVfs) vfs = fake_vfs_new ();
    g_auto(GStrv) files = g_strsplit (c->files, " ", -1);

    fake_vfs_add_dir (vfs, "/sbin", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/lib", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/lib/systemd", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/usr", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/usr/lib", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/usr/lib/systemd", 0755, 0, 0);
    fake_vfs_add_dir (vfs, "/usr/sbin", 0755, 0, 0);
    for (guint i = 0; files[i]; i++) {
        if (*files[i] == '\0')
            continue;
        if (g_str_has_prefix (files[i], "L:"))
            fake_vfs_add_symlink (vfs, files[i] + 2, "/somewhere");
        else
            fake_vfs_add_file (vfs, files[i], "", 0755, 0, 0);
    }
    g_assert_cmpstr (vi_init_system_to_string (vi_firstboot_detect_init (vfs)), ==,
                     vi_init_system_to_string (c->expect));
}

static void
test_host_key_names (void)
{
    const char *yes[] = { "ssh_host_ed25519_key", "ssh_host_rsa_key.pub", "ssh_host_ecdsa_key", NULL };
    /* a host certificate is signed for the template's key: it goes stale, but it is the
     * operator's, not a key; it stays */
    const char *no[] = { "sshd_config", "ssh_host__key", "ssh_host_rsa_key.bak", "moduli",
                         "ssh_config", "ssh_host_ed25519_key.pub~", "ssh_host_rsa_key-cert.pub", NULL };

    for (guint i = 0; yes[i]; i++)
        g_assert_true (vi_identity_is_host_key (yes[i]));
    for (guint i = 0; no[i]; i++)
        g_assert_false (vi_identity_is_host_key (no[i]));
}

/* The unit files: what systemd needs of them. */
static void
test_units (void)
{
    g_autofree char *fb = vi_firstboot_unit ();
    g_autofree char *hk = vi_hostkeys_unit ();
    g_autofree char *ld = vi_firstboot_local_d ();

    g_assert_nonnull (strstr (fb, "\nType=oneshot\n"));
    g_assert_nonnull (strstr (fb, "\nAfter=network-online.target\n"));
    g_assert_nonnull (strstr (fb, "\nWants=network-online.target\n"));
    g_assert_nonnull (strstr (fb, "\nConditionPathExists=/var/lib/virt-inject/firstboot\n"));
    g_assert_nonnull (strstr (fb, "\nExecStart=/bin/sh /var/lib/virt-inject/firstboot-run\n"));
    g_assert_nonnull (strstr (fb, "\nStandardOutput=journal+console\n"));
    g_assert_nonnull (strstr (hk, "\nBefore=ssh.service sshd.service ssh.socket sshd.socket"));
    g_assert_nonnull (strstr (hk, "\nExecStart=/usr/bin/ssh-keygen -A\n"));
    g_assert_nonnull (strstr (hk, "\nDefaultDependencies=no\n"));
    g_assert_nonnull (strstr (hk, "rm -f /etc/systemd/system/multi-user.target.wants/"
                              "virt-inject-hostkeys.service\n"));
    g_assert_true (g_str_has_prefix (ld, "#!/bin/sh\n"));
    g_assert_nonnull (strstr (ld, "exec /bin/sh /var/lib/virt-inject/firstboot-run\n"));
}

/* Replace every guest path of @text by the same path under @top. */
static char *
relocate (const char *text, const char *top)
{
    const char *const prefixes[] = { "/var/lib/virt-inject", "/var/log/", "/etc/local.d/",
                                      "/etc/systemd/" };
    g_autofree char *s = g_strdup (text);

    for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++) {
        g_auto(GStrv) parts = g_strsplit (s, prefixes[i], -1);
        g_autofree char *with = g_strconcat (top, prefixes[i], NULL);

        g_free (s);
        s = g_strjoinv (with, parts);
    }
    return g_steal_pointer (&s);
}

static void
put (const char *top, const char *rel, const char *content, int mode)
{
    g_autofree char *p = g_build_filename (top, rel, NULL);
    g_autofree char *dir = g_path_get_dirname (p);

    g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
    g_assert_true (g_file_set_contents (p, content, -1, NULL));
    g_assert_cmpint (g_chmod (p, mode), ==, 0);
}

static gboolean
exists (const char *top, const char *rel)
{
    g_autofree char *p = g_build_filename (top, rel, NULL);

    return g_file_test (p, G_FILE_TEST_EXISTS);
}

static char *
run_runner (const char *top, const char *runner)
{
    g_autofree char *path = g_build_filename (top, "runner", NULL);
    const char *argv[] = { "/bin/sh", path, NULL };
    g_autofree char *out = NULL;
    int status = -1;
    g_autoptr(GError) error = NULL;

    g_assert_true (g_file_set_contents (path, runner, -1, NULL));
    g_assert_true (g_spawn_sync (top, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                 NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));      /* always exit 0 */
    return g_steal_pointer (&out);
}

/* The runner as each init system gets it, run by sh in a scratch tree:
 * the trigger is removed, the script runs once with its output on stdout
 * and in the log, a failure is logged, the script is removed either way,
 * and a second run does nothing. */
typedef struct {
    ViInitSystem init;
    const char *trigger;        /* relative to the scratch tree, or NULL */
    gboolean fail;
} RunnerCase;

static const RunnerCase runner_cases[] = {
    { VI_INIT_SYSTEMD, "etc/systemd/system/multi-user.target.wants/virt-inject-firstboot.service", FALSE },
    { VI_INIT_SYSTEMD, "etc/systemd/system/multi-user.target.wants/virt-inject-firstboot.service", TRUE },
    { VI_INIT_OPENRC, "etc/local.d/virt-inject-firstboot.start", FALSE },
    { VI_INIT_OPENRC, "etc/local.d/virt-inject-firstboot.start", TRUE },
    { VI_INIT_SYSVINIT, NULL, FALSE },
    { VI_INIT_SYSVINIT, NULL, TRUE },
};

static void
test_runner (gconstpointer data)
{
    const RunnerCase *c = data;
    g_autofree char *top = g_dir_make_tmp ("vi-firstboot-XXXXXX", NULL);
    g_autofree char *text = vi_firstboot_runner (c->init);
    g_autofree char *runner = relocate (text, top);
    g_autofree char *script = g_strdup_printf ("#!/bin/sh\necho ran >> %s/effect\necho to-the-log\n"
                                               "exit %d\n", top, c->fail ? 3 : 0);
    g_autofree char *out = NULL, *out2 = NULL, *log = NULL, *effect = NULL;
    g_autofree char *logp = g_build_filename (top, "var/log/virt-inject-firstboot.log", NULL);
    g_autofree char *effectp = g_build_filename (top, "effect", NULL);
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", top);

    put (top, "var/lib/virt-inject/firstboot", script, 0700);
    put (top, "var/log/.keep", "", 0600);
    if (c->trigger)
        put (top, c->trigger, "", 0644);
    out = run_runner (top, runner);
    g_assert_nonnull (strstr (out, "to-the-log\n"));
    g_assert_true (g_file_get_contents (logp, &log, NULL, NULL));
    g_assert_nonnull (strstr (log, "virt-inject: first-boot script starting\nto-the-log\n"));
    if (c->fail)
        g_assert_nonnull (strstr (log, "failed (exit status 3); not retried\n"));
    else
        g_assert_nonnull (strstr (log, "virt-inject: first-boot script finished\n"));
    g_assert_cmpstr (strstr (out, "virt-inject: first-boot script"), ==,
                     strstr (log, "virt-inject: first-boot script"));
    g_assert_false (exists (top, "var/lib/virt-inject/firstboot"));
    g_assert_false (exists (top, "var/lib/virt-inject/firstboot.status"));
    if (c->trigger)
        g_assert_false (exists (top, c->trigger));

    out2 = run_runner (top, runner);        /* the next boot: nothing */
    g_assert_cmpstr (out2, ==, "");
    g_assert_true (g_file_get_contents (effectp, &effect, NULL, NULL));
    g_assert_cmpstr (effect, ==, "ran\n");
    g_assert_cmpint (system (cmd), ==, 0);
}

/* One test per row of @table (rows have a .name), under @prefix. */
#define ADD_CASES(prefix, table, func)                                          \
    for (gsize i = 0; i < G_N_ELEMENTS (table); i++) {                          \
        g_autofree char *p = g_strdup_printf ("%s/%s", prefix, table[i].name);  \
        g_test_add_data_func (p, &table[i], func);                              \
    }

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    ADD_CASES ("/firstboot/digest-marker", digest_cases, test_digest);
    ADD_CASES ("/firstboot/identity-marker", uuid_cases, test_uuid);
    g_test_add_func ("/firstboot/marker-absent", test_marker_null);
    ADD_CASES ("/firstboot/rc-local", rc_cases, test_rc_local);
    ADD_CASES ("/firstboot/detect-init", init_cases, test_detect_init);
    g_test_add_func ("/firstboot/host-key-names", test_host_key_names);
    g_test_add_func ("/firstboot/units", test_units);
    for (gsize i = 0; i < G_N_ELEMENTS (runner_cases); i++) {
        g_autofree char *p = g_strdup_printf ("/firstboot/runner/%s/%s",
                                              vi_init_system_to_string (runner_cases[i].init),
                                              runner_cases[i].fail ? "failing" : "succeeding");
        g_test_add_data_func (p, &runner_cases[i], test_runner);
    }
    return g_test_run ();
}
