/* cmd-stage.c: `virt-inject stage`: a domain's request injected ahead, into
 * an overlay the hook commits at the next start (vi-image.h, "Stages"). */
#include <stdio.h>

#include "cli.h"
#include "cli-libvirt.h"
#include "vi-error.h"
#include "vi-image.h"
#include "vi-run.h"

int
cli_stage_domain (const ViConfig *cfg, const ViDomain *dom, gboolean verbose)
{
    g_autoptr(GError) error = NULL;
    g_auto(ViRequest) req = { 0 };
    g_autoptr(ViTarget) target = NULL;
    g_autofree char *status = NULL;
    g_auto(ViInjectResult) result = { 0 };

    if (dom->inject == NULL) {
        g_printerr ("virt-inject: stage: domain '%s' has no <inject> request in its metadata\n",
                    dom->name);
        return 1;
    }
    /* what the hook does at prepare, up to the injection */
    if (!vi_request_load (cfg, dom, &req, &error))
        return cli_error (error);
    if (req.already) {
        printf ("%s: request %.12s already injected (policy once): nothing to stage\n",
                dom->name, req.digest);
        return 0;
    }
    target = vi_domain_choose_target (dom, req.spec, NULL, &error);
    if (target == NULL ||
        !vi_image_stage (cfg, target, req.spec, dom->uuid, dom->name, req.digest, NULL, NULL, &result,
                         &error))
        return cli_error (error);
    if (verbose && result.summary)
        fputs (result.summary, stdout);
    status = vi_image_stage_status (cfg, dom->uuid);
    printf ("staged: %s", status);
    printf ("the next start of %s commits it, if its disk and request are unchanged\n",
            dom->name);
    return 0;
}

int
cli_cmd_stage (CliGlobal *global, int argc, char **argv)
{
    g_autofree char *uri = NULL, *domain = NULL, *domain_xml = NULL;
    gboolean show = FALSE, drop = FALSE, verbose = FALSE;
    const GOptionEntry entries[] = {
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &uri, "libvirt connection URI", "URI" },
        { "domain", 'd', 0, G_OPTION_ARG_STRING, &domain, "Defined, shut-off domain", "DOMAIN" },
        { "domain-xml", 0, 0, G_OPTION_ARG_FILENAME, &domain_xml,
          "Domain XML file (target and request from it)", "FILE" },
        { "status", 0, 0, G_OPTION_ARG_NONE, &show,
          "Show the stages (of DOMAIN, a name or UUID, or all)", NULL },
        { "drop", 0, 0, G_OPTION_ARG_NONE, &drop, "Remove DOMAIN's stage", NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print the plan", NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new ("- inject a domain's request ahead, committed at its next start");
    g_autoptr(GError) error = NULL;
    g_autoptr(ViConfig) cfg = NULL;
    g_autoptr(ViDomain) dom = NULL;

    g_option_context_add_main_entries (ctx, entries, NULL);
    g_option_context_set_description (ctx,
        "The stage is an overlay under [paths] state_dir, in stage/UUID/, with a manifest;\n"
        "the hook commits it at the domain's next start if the request, the configuration\n"
        "and the disk are unchanged, and otherwise discards it and injects in full.\n"
        "Only local file-backed raw/qcow2 disks are staged.\n"
        "Exit status: 0 done, 1 invalid request or target, 2 injection failed, 3 timed out.");
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        return cli_error (error);
    if (argc > 1) {
        g_printerr ("virt-inject: stage: unexpected argument '%s'\n", argv[1]);
        return 1;
    }
    if (show + drop > 1 || (show || drop ? domain_xml != NULL
                                         : (domain != NULL) + (domain_xml != NULL) != 1)) {
        g_printerr ("virt-inject: stage: give -d DOMAIN or --domain-xml FILE; --status [-d "
                    "DOMAIN]; --drop -d DOMAIN\n");
        return 1;
    }
    if (drop && domain == NULL) {
        g_printerr ("virt-inject: stage: --drop needs -d DOMAIN\n");
        return 1;
    }
    cfg = cli_load_config (global);
    if (cfg == NULL)
        return 1;
    if (show) {
        g_autofree char *text = vi_image_stage_status (cfg, domain);

        fputs (*text ? text : "no stage\n", stdout);
        return 0;
    }
    if (drop) {
        guint n = vi_image_stage_drop (cfg, domain);

        printf (n ? "%s: stage dropped\n" : "%s: no stage (nothing to drop)\n", domain);
        return 0;
    }
    if (domain_xml) {
        g_autofree char *data = NULL;
        gsize len = 0;

        if (!g_file_get_contents (domain_xml, &data, &len, &error))
            return cli_error (error);
        dom = vi_domain_parse (data, len, &cfg->limits, &error);
    } else {
        g_autoptr(CliLibvirt) lv = cli_libvirt_open (uri, &error);

        if (lv)
            dom = cli_libvirt_get_domain (lv, domain, TRUE, &cfg->limits, NULL, &error);
    }
    if (dom == NULL)
        return cli_error (error);
    return cli_stage_domain (cfg, dom, verbose || global->verbose);
}
