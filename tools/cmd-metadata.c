/* cmd-metadata.c: `virt-inject metadata show|set|edit|remove [-c URI] DOMAIN` */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cli.h"
#include "cli-libvirt.h"
#include "cli-request.h"
#include "vi-error.h"
#include "vi-image.h"
#include "vi-libvirt-module.h"

/* The request stored in the domain, parsed; *out NULL when there is none. */
static gboolean
load_request (CliLibvirt *lv, const char *domain, guint flags, const ViConfig *cfg, ViSpec **out,
              GError **error)
{
    g_autoptr(GError) e = NULL;
    g_autofree char *xml = cli_libvirt_get_request (lv, domain, flags, &e);

    *out = NULL;
    if (xml == NULL) {
        if (e != NULL) {
            g_propagate_error (error, g_steal_pointer (&e));
            return FALSE;
        }
        return TRUE;
    }
    *out = vi_spec_parse (xml, strlen (xml), &cfg->limits, error);
    return *out != NULL;
}

static gboolean
store (CliLibvirt *lv, const char *domain, const ViSpec *spec, guint flags, GError **error)
{
    g_autofree char *xml = vi_spec_format (spec);
    return cli_libvirt_set_request (lv, domain, xml, flags, error);
}

static int
edit (CliLibvirt *lv, const char *domain, guint flags, const ViConfig *cfg, ViSpec *old)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *tmpdir = g_dir_make_tmp ("virt-inject-edit-XXXXXX", &error);
    g_autofree char *path = NULL;
    g_autofree char *text = old ? vi_spec_format (old) : g_strdup_printf (
        "<vi:inject xmlns:vi=\"%s\">\n</vi:inject>\n", VI_SPEC_NS);
    const char *editor = g_getenv ("VISUAL");
    g_auto(GStrv) argv = NULL;
    g_autoptr(GPtrArray) args = g_ptr_array_new ();
    g_autoptr(ViSpec) spec = NULL;
    g_autofree char *edited = NULL;
    int status = 0;
    int argc;

    if (tmpdir == NULL)
        return cli_error (error);
    path = g_build_filename (tmpdir, "request.xml", NULL);
    if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
        return cli_error (error);
    if (editor == NULL || *editor == '\0')
        editor = g_getenv ("EDITOR");
    if (editor == NULL || *editor == '\0')
        editor = "vi";
    if (!g_shell_parse_argv (editor, &argc, &argv, &error))
        return cli_error (error);
    for (int i = 0; i < argc; i++)
        g_ptr_array_add (args, argv[i]);
    g_ptr_array_add (args, path);
    g_ptr_array_add (args, NULL);
    if (!g_spawn_sync (NULL, (char **) args->pdata, NULL,
                       G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL, NULL,
                       &status, &error) ||
        !g_spawn_check_wait_status (status, &error)) {
        g_printerr ("virt-inject: the editor failed (%s); the request is unchanged\n",
                    error->message);
        goto fail;
    }
    if (!g_file_get_contents (path, &edited, NULL, &error))
        goto fail_msg;
    if (g_str_equal (edited, text)) {
        printf ("request of %s unchanged\n", domain);
        (void) g_unlink (path);
        (void) g_rmdir (tmpdir);
        return 0;
    }
    spec = vi_spec_parse (edited, strlen (edited), &cfg->limits, &error);
    if (spec == NULL) {
        g_printerr ("virt-inject: the edited request is invalid, the old one is kept: %s\n",
                    error->message);
        goto fail;
    }
    if (!store (lv, domain, spec, flags, &error))
        goto fail_msg;
    printf ("request of %s saved\n", domain);
    (void) g_unlink (path);
    (void) g_rmdir (tmpdir);
    return 0;
fail_msg:
    g_printerr ("virt-inject: %s\n", error->message);
fail:
    (void) g_unlink (path);
    (void) g_rmdir (tmpdir);
    return 1;
}

int
cli_cmd_metadata (CliGlobal *global, int argc, char **argv)
{
    g_autofree char *uri = NULL;
    gboolean config = FALSE, live = FALSE, stage = FALSE;
    CliRequestOptions req = { 0 };
    const GOptionEntry entries[] = {
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &uri, "libvirt connection URI", "URI" },
        { "config", 0, 0, G_OPTION_ARG_NONE, &config, "Affect the persistent definition", NULL },
        { "live", 0, 0, G_OPTION_ARG_NONE, &live, "Affect the running domain", NULL },
        { "stage", 0, 0, G_OPTION_ARG_NONE, &stage,
          "With set: stage the saved request (as virt-inject stage)", NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new ("show|set|edit|remove DOMAIN - the request in a domain's metadata");
    GOptionGroup *main_group = g_option_group_new (NULL, NULL, NULL, NULL, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(ViConfig) cfg = NULL;
    g_autoptr(CliLibvirt) lv = NULL;
    g_autoptr(ViSpec) spec = NULL;
    const char *action, *domain;
    guint flags;
    int status = 1;

    g_option_group_add_entries (main_group, entries);
    cli_request_add_entries (main_group, &req);
    g_option_context_set_main_group (ctx, main_group);
    g_option_context_set_description (ctx,
        "show    print the request (canonical XML)\n"
        "set     merge the request options into the request (clear-text passwords are hashed\n"
        "        first and never stored)\n"
        "edit    edit the request in $VISUAL/$EDITOR; saved only when valid\n"
        "remove  remove the request (and the domain's stage)\n"
        "--config/--live as in virsh (default: the current state of the domain).");
    if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
        status = cli_error (error);
        goto out;
    }
    if (argc != 3) {
        g_printerr ("virt-inject: metadata: give show|set|edit|remove and DOMAIN\n");
        goto out;
    }
    action = argv[1];
    domain = argv[2];
    flags = (config ? VI_LV_CONFIG : 0) | (live ? VI_LV_LIVE : 0);
    if (!g_str_equal (action, "set") && stage) {
        g_printerr ("virt-inject: metadata %s: --stage goes with 'set'\n", action);
        goto out;
    }
    if (!g_str_equal (action, "set") && cli_request_given (&req)) {
        g_printerr ("virt-inject: metadata %s: request options go with 'set'\n", action);
        goto out;
    }
    cfg = cli_load_config (global);
    if (cfg == NULL)
        goto out;
    lv = cli_libvirt_open (uri, &error);
    if (lv == NULL) {
        status = cli_error (error);
        goto out;
    }
    if (g_str_equal (action, "remove")) {
        /* Not parsed: a request that no longer validates can still be removed. */
        g_autofree char *old = cli_libvirt_get_request (lv, domain, flags, &error);

        if ((old == NULL && error != NULL) ||
            (old != NULL && !cli_libvirt_set_request (lv, domain, NULL, flags, &error))) {
            status = cli_error (error);
            goto out;
        }
        printf (old ? "request of %s removed\n" : "domain %s has no virt-inject request\n", domain);
        if (vi_image_stage_drop (cfg, domain) > 0)
            printf ("stage of %s dropped\n", domain);
        status = 0;
        goto out;
    }
    if (!load_request (lv, domain, flags, cfg, &spec, &error)) {
        status = cli_error (error);
        goto out;
    }

    if (g_str_equal (action, "show")) {
        if (spec == NULL) {
            printf ("domain %s has no virt-inject request\n", domain);
        } else {
            g_autofree char *xml = vi_spec_format (spec);
            fputs (xml, stdout);
        }
        status = 0;
    } else if (g_str_equal (action, "set")) {
        g_autoptr(ViSpec) add = NULL;

        if (!cli_request_given (&req)) {
            g_printerr ("virt-inject: metadata set: no request option given\n");
            goto out;
        }
        add = cli_request_build (&req, cfg, &error);
        if (add == NULL) {
            status = cli_error (error);
            goto out;
        }
        if (spec == NULL)
            spec = vi_spec_new ();
        vi_spec_merge (spec, add);
        if (!vi_spec_validate (spec, &cfg->limits, &error) ||
            !store (lv, domain, spec, flags, &error)) {
            status = cli_error (error);
            goto out;
        }
        cli_request_show_generated (&req);
        printf ("request of %s saved\n", domain);
        status = 0;
        /* a stage of the earlier request would only be discarded at start */
        if (vi_image_stage_drop (cfg, domain) > 0)
            printf ("stage of the earlier request of %s dropped\n", domain);
        if (stage) {
            g_autoptr(ViDomain) dom = cli_libvirt_get_domain (lv, domain, TRUE, &cfg->limits,
                                                              NULL, &error);

            status = dom ? cli_stage_domain (cfg, dom, global->verbose) : cli_error (error);
        }
    } else if (g_str_equal (action, "edit")) {
        status = edit (lv, domain, flags, cfg, spec);
    } else {
        g_printerr ("virt-inject: metadata: unknown action '%s'\n", action);
    }
out:
    cli_request_options_clear (&req);
    return status;
}
