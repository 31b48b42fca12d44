/* cmd-hook.c: `virt-inject hook install|uninstall|status|forget DOMAIN` */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cli.h"
#include "vi-error.h"
#include "vi-ledger.h"

#define HOOK_NAME "virt-inject"

static const char *const drivers[] = { "qemu", "lxc" };

static char *
hook_program (void)
{
    const char *env = g_getenv ("VIRT_INJECT_HOOK_PROGRAM");
    return g_strdup (env && *env ? env : LIBEXECDIR "/virt-inject-hook");
}

static int
install (const char *hook_dir)
{
    g_autofree char *prog = hook_program ();

    if (!g_file_test (prog, G_FILE_TEST_IS_EXECUTABLE)) {
        g_printerr ("virt-inject: hook program %s is missing or not executable\n", prog);
        return 2;
    }
    for (gsize i = 0; i < G_N_ELEMENTS (drivers); i++) {
        g_autofree char *dir = g_strdup_printf ("%s/%s.d", hook_dir, drivers[i]);
        g_autofree char *link = g_build_filename (dir, HOOK_NAME, NULL);
        g_autofree char *tmp = g_strdup_printf ("%s.tmp", link);

        if (g_mkdir_with_parents (dir, 0755) < 0) {
            g_printerr ("virt-inject: creating %s: %s\n", dir, g_strerror (errno));
            return 2;
        }
        (void) g_unlink (tmp);
        if (symlink (prog, tmp) < 0 || rename (tmp, link) < 0) {
            g_printerr ("virt-inject: installing %s: %s\n", link, g_strerror (errno));
            return 2;
        }
        printf ("installed %s -> %s\n", link, prog);
    }
    printf ("libvirtd reads hooks when it starts: restart it, or send it SIGHUP, "
            "for the hook to take effect\n");
    return 0;
}

static int
uninstall (const char *hook_dir)
{
    for (gsize i = 0; i < G_N_ELEMENTS (drivers); i++) {
        g_autofree char *link = g_strdup_printf ("%s/%s.d/%s", hook_dir, drivers[i], HOOK_NAME);

        if (g_unlink (link) < 0 && errno != ENOENT) {
            g_printerr ("virt-inject: removing %s: %s\n", link, g_strerror (errno));
            return 2;
        }
        printf ("removed %s\n", link);
    }
    return 0;
}

static int
status (const char *hook_dir)
{
    g_autofree char *prog = hook_program ();
    gboolean all = TRUE;

    for (gsize i = 0; i < G_N_ELEMENTS (drivers); i++) {
        g_autofree char *link = g_strdup_printf ("%s/%s.d/%s", hook_dir, drivers[i], HOOK_NAME);
        g_autofree char *target = g_file_read_link (link, NULL);
        gboolean exec = g_file_test (link, G_FILE_TEST_IS_EXECUTABLE);

        if (target == NULL && !exec) {
            printf ("%s: not installed\n", drivers[i]);
            all = FALSE;
        } else {
            printf ("%s: %s%s%s%s\n", link, exec ? "installed" : "broken (not executable)",
                    target ? " -> " : "", target ? target : "",
                    target && !g_str_equal (target, prog) ? " (not this version's hook)" : "");
            all &= exec;
        }
    }
    printf ("libvirt calls hooks in %s/<driver>.d/ since version 6.5, and reads them when "
            "libvirtd starts or gets SIGHUP\n", hook_dir);
    return all ? 0 : 1;
}

int
cli_cmd_hook (CliGlobal *global, int argc, char **argv)
{
    g_autofree char *hook_dir = NULL;
    const GOptionEntry entries[] = {
        { "hook-dir", 0, 0, G_OPTION_ARG_FILENAME, &hook_dir,
          "libvirt's hook directory (default " LIBVIRT_HOOKDIR ")", "DIR" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new ("install|uninstall|status|forget DOMAIN - manage the libvirt hook");
    g_autoptr(GError) error = NULL;

    g_option_context_add_main_entries (ctx, entries, NULL);
    g_option_context_set_description (ctx,
        "install    link the hook into DIR/qemu.d and DIR/lxc.d\n"
        "uninstall  remove those links\n"
        "status     whether libvirt will call the hook\n"
        "forget     drop DOMAIN (name or UUID) from the run-once ledger, so that the next\n"
        "           start injects again (e.g. after reverting to a snapshot)");
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        return cli_error (error), 1;
    if (hook_dir == NULL)
        hook_dir = g_strdup (LIBVIRT_HOOKDIR);
    if (argc < 2) {
        g_printerr ("virt-inject: hook: give install, uninstall, status or forget DOMAIN\n");
        return 1;
    }
    if (g_str_equal (argv[1], "install") && argc == 2)
        return install (hook_dir);
    if (g_str_equal (argv[1], "uninstall") && argc == 2)
        return uninstall (hook_dir);
    if (g_str_equal (argv[1], "status") && argc == 2)
        return status (hook_dir);
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
