/* cmd-inject.c: `virt-inject inject`: one request into one target. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli-libvirt.h"
#include "cli-request.h"
#include "vi-error.h"
#include "vi-image.h"
#include "vi-run.h"

typedef struct {
    char *image;
    char *format;
    char *rootfs;
    char *domain_xml;
    char *uri;
    char *domain;
    gboolean dry_run;
    gboolean keep_dropped;
    gboolean verbose;
} InjectOptions;

static void
inject_options_clear (InjectOptions *o)
{
    g_free (o->image);
    g_free (o->format);
    g_free (o->rootfs);
    g_free (o->domain_xml);
    g_free (o->uri);
    g_free (o->domain);
}

/* The target and the domain's own request from a domain XML (file or libvirt). */
static ViTarget *
target_from_domain (const ViDomain *dom, const ViConfig *cfg, ViSpec **inout_spec,
                    const ViDomainResolver *resolver, gboolean have_options, GError **error)
{
    if (dom->inject != NULL) {
        g_autoptr(ViSpec) domspec = vi_spec_from_node (dom->inject, &cfg->limits, error);

        if (domspec == NULL)
            return NULL;
        vi_spec_merge (domspec, *inout_spec);
        vi_spec_free (*inout_spec);
        *inout_spec = g_steal_pointer (&domspec);
    } else if (!have_options) {
        vi_throw (error, VI_ERROR_INVALID,
                  "domain '%s' has no <inject> request in its metadata and no request option "
                  "was given", dom->name);
        return NULL;
    }
    return vi_domain_choose_target (dom, *inout_spec, resolver, error);
}

/* --verbose: one line as each stage starts (an image injection spends
 * most of its time in "launch"). */
static void
print_stage (const char *stage, gpointer user_data)
{
    static const struct { const char *stage, *what; } names[] = {
        { "slot", "waiting for an appliance slot ([guestfs] max_parallel)" },
        { "launch", "launching the libguestfs appliance" },
        { "mount", "mounting the guest's filesystems" },
        { "open", "opening the guest's root directory" },
        { "write", "writing into the guest" },
        { "shutdown", "shutting the appliance down" },
        { "commit", "committing the changes into the image" },
    };
    const char *what = stage;

    (void) user_data;
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        if (g_str_equal (stage, names[i].stage))
            what = names[i].what;
    g_printerr ("virt-inject: [%s] %s\n", stage, what);
}

int
cli_cmd_inject (CliGlobal *global, int argc, char **argv)
{
    InjectOptions o = { 0 };
    CliRequestOptions req = { 0 };
    const GOptionEntry entries[] = {
        { "add", 'a', 0, G_OPTION_ARG_FILENAME, &o.image, "Disk image or block device", "IMAGE" },
        { "format", 0, 0, G_OPTION_ARG_STRING, &o.format,
          "Format of IMAGE (raw, qcow2, ...): required, never probed", "FMT" },
        { "rootfs", 0, 0, G_OPTION_ARG_FILENAME, &o.rootfs, "Container root directory", "DIR" },
        { "domain-xml", 0, 0, G_OPTION_ARG_FILENAME, &o.domain_xml,
          "Domain XML file (target and request from it)", "FILE" },
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &o.uri, "libvirt connection URI", "URI" },
        { "domain", 'd', 0, G_OPTION_ARG_STRING, &o.domain, "Defined, shut-off domain", "DOMAIN" },
        { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &o.dry_run, "Print the plan, write nothing", NULL },
        { "keep-dropped", 0, 0, G_OPTION_ARG_NONE, &o.keep_dropped,
          "Take back nothing of an earlier request that this one no longer asks for", NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.verbose, "Print every step", NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new ("- inject a request into a guest");
    GOptionGroup *main_group = g_option_group_new (NULL, NULL, NULL, NULL, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(ViConfig) cfg = NULL;
    g_autoptr(ViSpec) spec = NULL;
    g_autoptr(ViTarget) target = NULL;
    g_autoptr(ViDomain) dom = NULL;
    ViRecordKey record = { 0 };
    g_auto(ViInjectResult) result = { 0 };
    g_autofree char *what = NULL;
    int n_targets;
    int status = 1;

    g_option_group_add_entries (main_group, entries);
    cli_request_add_entries (main_group, &req);
    g_option_context_set_main_group (ctx, main_group);
    g_option_context_set_description (ctx,
        "Exactly one target: -a IMAGE --format FMT, --rootfs DIR, --domain-xml FILE, or\n"
        "-c URI -d DOMAIN.  The request: --spec FILE and/or the quick options; with a domain,\n"
        "its <metadata> request is used and the options are merged into it.\n"
        "Exit status: 0 done, 1 invalid request or target, 2 injection failed, 3 timed out.");
    if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
        status = cli_error (error);
        goto out;
    }
    if (argc > 1) {
        g_printerr ("virt-inject: inject: unexpected argument '%s'\n", argv[1]);
        goto out;
    }
    n_targets = (o.image != NULL) + (o.rootfs != NULL) + (o.domain_xml != NULL) + (o.domain != NULL);
    if (n_targets != 1) {
        g_printerr ("virt-inject: inject: give exactly one of -a, --rootfs, --domain-xml, -d\n");
        goto out;
    }
    if (o.uri && !o.domain) {
        g_printerr ("virt-inject: inject: -c URI goes with -d DOMAIN\n");
        goto out;
    }
    cfg = cli_load_config (global);
    if (cfg == NULL)
        goto out;
    spec = cli_request_build (&req, cfg, &error);
    if (spec == NULL) {
        status = cli_error (error);
        goto out;
    }

    if (o.image) {
        if (o.format == NULL) {
            g_printerr ("virt-inject: inject: -a %s needs --format (raw, qcow2, ...): virt-inject "
                        "never probes a disk format (CVE-2010-3851)\n", o.image);
            goto out;
        }
        if (!cli_request_given (&req)) {
            g_printerr ("virt-inject: inject: nothing to inject (give --spec or request options)\n");
            goto out;
        }
        target = vi_target_new (VI_TARGET_IMAGE, o.image);
        target->format = g_strdup (o.format);
        target->root_device = g_strdup (spec->target_root);
    } else if (o.rootfs) {
        if (!cli_request_given (&req)) {
            g_printerr ("virt-inject: inject: nothing to inject (give --spec or request options)\n");
            goto out;
        }
        target = vi_target_new (VI_TARGET_ROOTFS_DIR, o.rootfs);
    } else if (o.domain_xml) {
        g_autofree char *data = NULL;
        gsize len = 0;

        if (!g_file_get_contents (o.domain_xml, &data, &len, &error)) {
            g_printerr ("virt-inject: %s\n", error->message);
            goto out;
        }
        dom = vi_domain_parse (data, len, &cfg->limits, &error);
        if (dom == NULL ||
            (target = target_from_domain (dom, cfg, &spec, NULL, cli_request_given (&req),
                                          &error)) == NULL) {
            status = cli_error (error);
            goto out;
        }
    } else {
        g_autoptr(CliLibvirt) lv = cli_libvirt_open (o.uri, &error);
        ViDomainResolver resolver = { 0 };

        if (lv == NULL ||
            (dom = cli_libvirt_get_domain (lv, o.domain, TRUE, &cfg->limits, &resolver,
                                           &error)) == NULL ||
            (target = target_from_domain (dom, cfg, &spec, &resolver, cli_request_given (&req),
                                          &error)) == NULL) {
            status = cli_error (error);
            goto out;
        }
    }

    what = vi_target_describe (target);
    if (o.verbose || global->verbose) {
        g_printerr ("virt-inject: injecting into %s\n", what);
        /* The configuration decides the appliance's backend settings: say
         * where the environment asked for others. */
        if (target->kind == VI_TARGET_IMAGE) {
            g_autofree char *overrides = vi_image_env_overrides (cfg, NULL);
            g_auto(GStrv) lines = g_strsplit (overrides ? overrides : "", "\n", -1);

            for (guint i = 0; lines[i]; i++)
                if (*lines[i])
                    g_printerr ("virt-inject: %s\n", lines[i]);
        }
    }
    /* An explicit injection: no policy once; the guest record names the
     * domain (the target's), when there is one, and no request digest
     * (that is the hook's, under the host's digest key). */
    if (o.keep_dropped)
        spec->keep_dropped = TRUE;   /* as <inject keep-dropped="yes">: crosses to the worker */
    if (!vi_run_inject (cfg, target, spec, &record, o.dry_run,
                        o.verbose || global->verbose ? print_stage : NULL, NULL, &result,
                        &error)) {
        status = cli_error (error);
        goto out;
    }
    if (result.notes != NULL) {
        g_auto(GStrv) notes = g_strsplit (result.notes, "\n", -1);

        for (guint i = 0; notes[i]; i++)
            g_printerr ("virt-inject: note: %s\n", notes[i]);
    }
    if (!o.dry_run)
        cli_request_show_generated (&req);
    if (o.dry_run)
        printf ("dry run: nothing written to %s; the plan:\n", what);
    if (o.dry_run || o.verbose || global->verbose)
        fputs (result.summary, stdout);
    else
        printf ("%s: %u change%s (%u already as requested)\n", what, result.changes,
                result.changes == 1 ? "" : "s", result.unchanged);
    status = 0;
out:
    inject_options_clear (&o);
    cli_request_options_clear (&req);
    return status;
}
