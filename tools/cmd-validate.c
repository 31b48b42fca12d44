/* cmd-validate.c: `virt-inject validate FILE...` */
#include <string.h>

#include "cli.h"
#include "vi-domain.h"
#include "vi-error.h"
#include "vi-net.h"
#include "vi-xml.h"

/* A request that names its network stack: that the stack can express it
 * (netplan refuses a route metric above 2147483647).  With renderer auto
 * this is known only when injecting. */
static gboolean
stack_can_express (const ViSpec *spec, GError **error)
{
    g_autoptr(GPtrArray) files = NULL;

    if (!spec->has_network || spec->net_renderer == VI_RENDERER_AUTO)
        return TRUE;
    files = vi_net_render (spec->net_renderer, spec->interfaces, error);
    return files != NULL;
}

/* A whole domain: the request in its metadata, and a target we can pick. */
static gboolean
validate_domain (const char *data, gsize len, const ViConfig *cfg, GError **error)
{
    g_autoptr(ViDomain) dom = vi_domain_parse (data, len, &cfg->limits, error);
    g_autoptr(ViSpec) spec = NULL;
    g_autoptr(ViTarget) target = NULL;

    if (dom == NULL)
        return FALSE;
    if (dom->inject == NULL)
        return vi_throw (error, VI_ERROR_INVALID,
                         "domain '%s' has no <inject> element of namespace %s in its <metadata>",
                         dom->name, VI_SPEC_NS);
    spec = vi_spec_from_node (dom->inject, &cfg->limits, error);
    if (spec == NULL || !stack_can_express (spec, error))
        return FALSE;
    target = vi_domain_choose_target (dom, spec, NULL, error);
    return target != NULL;
}

int
cli_cmd_validate (CliGlobal *global, int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new ("FILE... - check spec files and domain XMLs");
    g_autoptr(GError) error = NULL;
    g_autoptr(ViConfig) cfg = NULL;
    int status = 0;

    g_option_context_set_description (ctx,
        "A FILE whose root element is <domain> is checked as a whole domain: its request and\n"
        "that an injection target can be chosen.  Any other FILE is a spec file.\n"
        "Exit status: 0 when every FILE is valid, 1 otherwise.");
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        return cli_error (error), 1;
    if (argc < 2) {
        g_printerr ("virt-inject: validate: no FILE given\n");
        return 1;
    }
    cfg = cli_load_config (global);
    if (cfg == NULL)
        return 1;

    for (int i = 1; i < argc; i++) {
        g_autofree char *data = NULL;
        gsize len = 0;
        g_autoptr(GError) e = NULL;
        gboolean ok;

        if (!g_file_get_contents (argv[i], &data, &len, &e)) {
            g_printerr ("virt-inject: %s\n", e->message);
            status = 1;
            continue;
        }
        /* Decide by the root element, parsed the hardened way. */
        {
            g_autoptr(xmlDoc) doc = vi_xml_parse (data, len, cfg->limits.request_max * 2, argv[i], &e);
            if (doc == NULL)
                ok = FALSE;
            else if (vi_xml_is (xmlDocGetRootElement (doc), NULL, "domain"))
                ok = validate_domain (data, len, cfg, &e);
            else {
                g_autoptr(ViSpec) spec = vi_spec_parse (data, len, &cfg->limits, &e);
                ok = spec != NULL && stack_can_express (spec, &e);
            }
        }
        if (ok) {
            g_print ("%s: valid\n", argv[i]);
        } else {
            g_printerr ("virt-inject: %s: %s\n", argv[i], e->message);
            status = 1;
        }
    }
    return status;
}
