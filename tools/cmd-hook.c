/* cmd-hook.c: `virt-inject hook install|uninstall|status|forget DOMAIN` */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cli.h"
#include "vi-error.h"
#include "vi-ledger.h"

#define HOOK_NAME "virt-inject"
#define FRONT_MAX (16 * 1024 * 1024)

/* The rules libvirtd's AppArmor profile needs to run the hook's worker
 * (data/apparmor/virt-inject-hook.in), and the one line that includes them
 * from the admin's local/usr.sbin.libvirtd.  "if exists": uninstalling
 * virt-inject must not leave libvirtd's profile unloadable. */
#define AA_SNIPPET "abstractions/virt-inject-hook"
#define AA_INCLUDE "include if exists <" AA_SNIPPET ">"

static const char *const drivers[] = { "qemu", "lxc" };

static char *
hook_program (void)
{
    const char *env = g_getenv ("VIRT_INJECT_HOOK_PROGRAM");
    return g_strdup (env && *env ? env : LIBEXECDIR "/virt-inject-hook");
}

/* Whether @path is a regular file with exactly the bytes of @front. */
static gboolean
same_bytes (const char *path, GBytes *front)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    struct stat st;

    if (lstat (path, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size > FRONT_MAX ||
        !g_file_get_contents (path, &data, &len, NULL))
        return FALSE;
    return len == g_bytes_get_size (front) &&
           memcmp (data, g_bytes_get_data (front, NULL), len) == 0;
}

static GBytes *
read_front (const char *prog, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents (prog, &data, &len, error))
        return NULL;
    return g_bytes_new_take (g_steal_pointer (&data), len);
}

/* @dir/HOOK_NAME becomes a copy of @front, mode 0755, replaced atomically:
 * a temporary file that is not executable while it is written (libvirt runs
 * every executable file of the directory), fsync, chmod, rename. */
static gboolean
install_copy (const char *dir, const char *dest, GBytes *front, GError **error)
{
    g_autofree char *tmp = g_build_filename (dir, "." HOOK_NAME ".XXXXXX", NULL);
    const char *p = g_bytes_get_data (front, NULL);
    gsize left = g_bytes_get_size (front);
    int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);

    if (fd < 0)
        return vi_throw_errno (error, errno, "creating a temporary file in %s", dir);
    while (left > 0) {
        ssize_t n = write (fd, p, left);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int errsv = errno;
            close (fd);
            (void) g_unlink (tmp);
            return vi_throw_errno (error, errsv, "writing %s", tmp);
        }
        p += n;
        left -= (gsize) n;
    }
    if (fsync (fd) < 0 || fchmod (fd, 0755) < 0 || close (fd) < 0) {
        int errsv = errno;
        (void) g_unlink (tmp);
        return vi_throw_errno (error, errsv, "writing %s", tmp);
    }
    if (rename (tmp, dest) < 0) {
        int errsv = errno;
        (void) g_unlink (tmp);
        return vi_throw_errno (error, errsv, "installing %s", dest);
    }
    return TRUE;
}

/* AppArmor: when libvirtd has a profile here, whether its local include
 * file includes our rules.  Never edited by us: local/ belongs to the
 * admin (dpkg creates it empty, no package writes it); we say the line.
 * Returns FALSE when AppArmor is enabled and the line, our rules or our
 * profile are missing, i.e. when a request would fail at the next start. */
static gboolean
apparmor_report (const char *aa_dir)
{
    g_autofree char *profile = g_build_filename (aa_dir, "usr.sbin.libvirtd", NULL);
    g_autofree char *local = g_build_filename (aa_dir, "local", "usr.sbin.libvirtd", NULL);
    g_autofree char *snippet = g_build_filename (aa_dir, AA_SNIPPET, NULL);
    g_autofree char *ours = g_build_filename (aa_dir, "virt-inject", NULL);
    g_autofree char *text = NULL;
    g_autofree char *enabled = NULL;
    gboolean included = FALSE, on, files;

    if (!g_file_test (profile, G_FILE_TEST_EXISTS))
        return TRUE;
    on = g_file_get_contents ("/sys/module/apparmor/parameters/enabled", &enabled, NULL, NULL) &&
         enabled[0] == 'Y';
    if (g_file_get_contents (local, &text, NULL, NULL)) {
        g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

        for (guint i = 0; lines[i]; i++) {
            const char *l = g_strstrip (lines[i]);

            if (l[0] == '#' && !g_str_has_prefix (l, "#include"))
                continue;
            included |= strstr (l, "<" AA_SNIPPET ">") != NULL;
        }
    }
    if (!on && !included) {
        printf ("AppArmor: not enabled on this host; where it is, libvirtd needs the line '%s' "
                "in %s\n", AA_INCLUDE, local);
        return TRUE;
    }
    files = g_file_test (snippet, G_FILE_TEST_EXISTS) && g_file_test (ours, G_FILE_TEST_EXISTS);
    if (!files)
        printf ("AppArmor: %s or %s is missing: install virt-inject with "
                "-Dapparmor_dir=%s\n", snippet, ours, aa_dir);
    if (included) {
        printf ("AppArmor: %s includes %s: libvirtd may run the hook's worker (in the "
                "virt-inject-hook-worker profile)\n", local, AA_SNIPPET);
        return files || !on;
    }
    printf ("AppArmor: libvirtd's profile does not let it run the hook's worker: add the line\n"
            "  %s\n"
            "to %s, then load the profiles: apparmor_parser -r %s %s\n",
            AA_INCLUDE, local, ours, profile);
    return FALSE;
}

static int
install (const char *hook_dir, const char *aa_dir)
{
    g_autofree char *prog = hook_program ();
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) front = NULL;

    if (!g_file_test (prog, G_FILE_TEST_IS_EXECUTABLE)) {
        g_printerr ("virt-inject: hook program %s is missing or not executable\n", prog);
        return 2;
    }
    front = read_front (prog, &error);
    if (front == NULL) {
        g_printerr ("virt-inject: %s\n", error->message);
        return 2;
    }
    for (gsize i = 0; i < G_N_ELEMENTS (drivers); i++) {
        g_autofree char *dir = g_strdup_printf ("%s/%s.d", hook_dir, drivers[i]);
        g_autofree char *dest = g_build_filename (dir, HOOK_NAME, NULL);

        if (g_mkdir_with_parents (dir, 0755) < 0) {
            g_printerr ("virt-inject: creating %s: %s\n", dir, g_strerror (errno));
            return 2;
        }
        if (!install_copy (dir, dest, front, &error)) {
            g_printerr ("virt-inject: %s\n", error->message);
            return 2;
        }
        printf ("installed %s (a copy of %s)\n", dest, prog);
    }
    apparmor_report (aa_dir);
    printf ("libvirtd reads hooks when it starts: restart it, or send it SIGHUP, "
            "for the hook to take effect\n");
    return 0;
}

/* Removes the copy, or the symlink an older version installed. */
static int
uninstall (const char *hook_dir)
{
    for (gsize i = 0; i < G_N_ELEMENTS (drivers); i++) {
        g_autofree char *path = g_strdup_printf ("%s/%s.d/%s", hook_dir, drivers[i], HOOK_NAME);

        if (g_unlink (path) < 0) {
            if (errno != ENOENT) {
                g_printerr ("virt-inject: removing %s: %s\n", path, g_strerror (errno));
                return 2;
            }
            printf ("%s: not installed\n", path);
            continue;
        }
        printf ("removed %s\n", path);
    }
    return 0;
}

/* Exit 0 only when every driver has a current copy of the hook program
 * (and, on an AppArmor host, libvirtd's profile lets it run the worker). */
static int
status (const char *hook_dir, const char *aa_dir)
{
    g_autofree char *prog = hook_program ();
    g_autoptr(GBytes) front = read_front (prog, NULL);
    gboolean all = TRUE;

    for (gsize i = 0; i < G_N_ELEMENTS (drivers); i++) {
        g_autofree char *path = g_strdup_printf ("%s/%s.d/%s", hook_dir, drivers[i], HOOK_NAME);
        g_autofree char *target = g_file_read_link (path, NULL);
        gboolean exec = g_file_test (path, G_FILE_TEST_IS_EXECUTABLE);
        struct stat st;

        if (lstat (path, &st) < 0) {
            printf ("%s: not installed\n", drivers[i]);
            all = FALSE;
        } else if (target != NULL) {
            printf ("%s: a symlink to %s, as older versions installed it%s: AppArmor refuses "
                    "it; run 'virt-inject hook install' to install a copy\n", path, target,
                    exec ? "" : " (broken)");
            all = FALSE;
        } else if (!exec) {
            printf ("%s: broken (not executable)\n", path);
            all = FALSE;
        } else if (front == NULL) {
            printf ("%s: installed, but %s cannot be read to compare\n", path, prog);
            all = FALSE;
        } else if (!same_bytes (path, front)) {
            printf ("%s: stale copy (differs from %s): run 'virt-inject hook install' again\n",
                    path, prog);
            all = FALSE;
        } else {
            printf ("%s: installed (a copy of %s)\n", path, prog);
        }
    }
    all &= apparmor_report (aa_dir);
    printf ("libvirt calls hooks in %s/<driver>.d/ since version 6.5, and reads them when "
            "libvirtd starts or gets SIGHUP\n", hook_dir);
    return all ? 0 : 1;
}

int
cli_cmd_hook (CliGlobal *global, int argc, char **argv)
{
    g_autofree char *hook_dir = NULL;
    g_autofree char *aa_dir = NULL;
    const GOptionEntry entries[] = {
        { "hook-dir", 0, 0, G_OPTION_ARG_FILENAME, &hook_dir,
          "libvirt's hook directory (default " LIBVIRT_HOOKDIR ")", "DIR" },
        { "apparmor-dir", 0, 0, G_OPTION_ARG_FILENAME, &aa_dir,
          "AppArmor's profile directory (default " APPARMOR_DIR ")", "DIR" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new ("install|uninstall|status|forget DOMAIN - manage the libvirt hook");
    g_autoptr(GError) error = NULL;

    g_option_context_add_main_entries (ctx, entries, NULL);
    g_option_context_set_description (ctx,
        "install    copy the hook program into DIR/qemu.d and DIR/lxc.d\n"
        "uninstall  remove those copies (or the links of older versions)\n"
        "status     whether libvirt will call the hook, and whether it is this version's;\n"
        "           on an AppArmor host, whether libvirtd's profile lets it run the worker\n"
        "forget     drop DOMAIN (name or UUID) from the run-once ledger, so that the next\n"
        "           start injects again (e.g. after reverting to a snapshot)");
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        return cli_error (error), 1;
    if (hook_dir == NULL)
        hook_dir = g_strdup (LIBVIRT_HOOKDIR);
    if (aa_dir == NULL)
        aa_dir = g_strdup (APPARMOR_DIR);
    if (argc < 2) {
        g_printerr ("virt-inject: hook: give install, uninstall, status or forget DOMAIN\n");
        return 1;
    }
    if (g_str_equal (argv[1], "install") && argc == 2)
        return install (hook_dir, aa_dir);
    if (g_str_equal (argv[1], "uninstall") && argc == 2)
        return uninstall (hook_dir);
    if (g_str_equal (argv[1], "status") && argc == 2)
        return status (hook_dir, aa_dir);
    if (g_str_equal (argv[1], "forget") && argc == 3) {
        g_autoptr(ViConfig) cfg = cli_load_config (global);
        gboolean found = FALSE;

        if (cfg == NULL)
            return 1;
        if (!vi_ledger_forget (cfg->state_dir, argv[2], &found, &error))
            return cli_error (error);
        printf (found ? "forgot %s: its next start injects again\n"
                      : "%s: no ledger entry (nothing to forget)\n", argv[2]);
        return 0;
    }
    g_printerr ("virt-inject: hook: give install, uninstall, status or forget DOMAIN\n");
    return 1;
}
