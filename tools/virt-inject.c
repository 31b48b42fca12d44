/* virt-inject: the command-line front end.
 *
 * A thin dispatcher: global options, then one sub-command whose code lives
 * in cmd-*.c over lib/.  lib/ never prints; the commands do.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vi-error.h"

typedef struct {
    const char *name;
    int (*run) (CliGlobal *global, int argc, char **argv);
    const char *summary;
} CliCommand;

static const CliCommand commands[] = {
    { "inject", cli_cmd_inject, "inject a request into an image, a root directory or a domain" },
    { "metadata", cli_cmd_metadata, "show, set, edit or remove the request in a domain's metadata" },
    { "stage", cli_cmd_stage, "inject a domain's request ahead; the next start commits it" },
    { "validate", cli_cmd_validate, "check spec files and domain XMLs" },
    { "hook", cli_cmd_hook, "install, uninstall or inspect the libvirt hook; forget a domain" },
};

ViConfig *
cli_load_config (CliGlobal *global)
{
    g_autoptr(GError) error = NULL;
    ViConfig *cfg = vi_config_load (global->config_file, &error);

    if (cfg == NULL)
        cli_error (error);
    return cfg;
}

int
cli_error (const GError *error)
{
    g_printerr ("virt-inject: %s\n", error->message);
    return vi_error_exit_code (error);
}

static void
usage (FILE *out)
{
    fprintf (out,
             "Usage: virt-inject [--config-file FILE] [-v] COMMAND [ARGS...]\n"
             "       virt-inject COMMAND --help\n\nCommands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
        fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int
main (int argc, char **argv)
{
    CliGlobal global = { 0 };
    int i;

    setlocale (LC_ALL, "");

    /* Global options come before the command; everything after it is the
     * command's (so `inject --config` can never be mistaken for ours). */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (a[0] != '-')
            break;
        if (g_str_equal (a, "--config-file") && i + 1 < argc) {
            global.config_file = argv[++i];
        } else if (g_str_has_prefix (a, "--config-file=")) {
            global.config_file = a + strlen ("--config-file=");
        } else if (g_str_equal (a, "-v") || g_str_equal (a, "--verbose")) {
            global.verbose = TRUE;
        } else if (g_str_equal (a, "-h") || g_str_equal (a, "--help")) {
            usage (stdout);
            return 0;
        } else if (g_str_equal (a, "-V") || g_str_equal (a, "--version")) {
            printf ("virt-inject %s\n", PACKAGE_VERSION);
            return 0;
        } else {
            g_printerr ("virt-inject: unknown option '%s' (see virt-inject --help)\n", a);
            return 1;
        }
    }

    if (i >= argc) {
        usage (stderr);
        return 1;
    }

    for (gsize c = 0; c < G_N_ELEMENTS (commands); c++)
        if (g_str_equal (argv[i], commands[c].name))
            return commands[c].run (&global, argc - i, argv + i);

    g_printerr ("virt-inject: unknown command '%s' (see virt-inject --help)\n", argv[i]);
    return 1;
}
