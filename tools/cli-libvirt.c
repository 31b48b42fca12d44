/* cli-libvirt.c: load the libvirt module on first use and ask it. */
#include "cli-libvirt.h"

#include <gmodule.h>

#include "vi-error.h"
#include "vi-libvirt-module.h"

struct _CliLibvirt {
    GModule *module;
    const ViLibvirtOps *ops;
    gpointer conn;
};

static const char *
module_dir (void)
{
    const char *env = g_getenv ("VIRT_INJECT_MODULE_DIR");
    return env && *env ? env : MODULEDIR;
}

CliLibvirt *
cli_libvirt_open (const char *uri, GError **error)
{
    g_autofree char *path = g_build_filename (module_dir (), VI_LIBVIRT_MODULE_NAME ".so", NULL);
    CliLibvirt *lv = g_new0 (CliLibvirt, 1);
    ViLibvirtModuleGetOps get_ops = NULL;

    lv->module = g_module_open (path, G_MODULE_BIND_LOCAL);
    if (lv->module == NULL) {
        vi_throw (error, VI_ERROR_UNSUPPORTED, "cannot load the libvirt module: %s",
                  g_module_error ());
        cli_libvirt_close (lv);
        return NULL;
    }
    if (!g_module_symbol (lv->module, VI_LIBVIRT_MODULE_SYMBOL, (gpointer *) &get_ops) ||
        (lv->ops = get_ops ()) == NULL || lv->ops->abi != VI_LIBVIRT_MODULE_ABI) {
        vi_throw (error, VI_ERROR_UNSUPPORTED, "%s is not a virt-inject %s module of this version",
                  path, VI_LIBVIRT_MODULE_NAME);
        cli_libvirt_close (lv);
        return NULL;
    }
    lv->conn = lv->ops->open (uri, error);
    if (lv->conn == NULL) {
        cli_libvirt_close (lv);
        return NULL;
    }
    return lv;
}

void
cli_libvirt_close (CliLibvirt *lv)
{
    if (lv == NULL)
        return;
    if (lv->conn)
        lv->ops->close (lv->conn);
    /* The module stays loaded: libvirt keeps threads and atexit handlers. */
    g_free (lv);
}

static gboolean
resolve_volume (gpointer opaque, const char *pool, const char *volume, char **out_path,
                char **out_format, gboolean *out_is_block, GError **error)
{
    CliLibvirt *lv = opaque;
    return lv->ops->resolve_volume (lv->conn, pool, volume, out_path, out_format, out_is_block,
                                    error);
}

static gboolean
resolve_secret (gpointer opaque, const char *type, const char *uuid, const char *usage,
                char **out_value, GError **error)
{
    CliLibvirt *lv = opaque;
    return lv->ops->resolve_secret (lv->conn, type, uuid, usage, out_value, error);
}

ViDomain *
cli_libvirt_get_domain (CliLibvirt *lv, const char *domain, gboolean refuse_running,
                        const ViLimits *limits, ViDomainResolver *out_resolver, GError **error)
{
    gboolean active = FALSE;
    g_autofree char *xml = lv->ops->get_xml (lv->conn, domain, &active, error);

    if (xml == NULL)
        return NULL;
    if (refuse_running && active) {
        vi_throw (error, VI_ERROR_TARGET,
                  "domain %s is running: its disks are in use (shut it down first)", domain);
        return NULL;
    }
    if (out_resolver) {
        out_resolver->resolve_volume = resolve_volume;
        out_resolver->resolve_secret = resolve_secret;
        out_resolver->opaque = lv;
    }
    return vi_domain_parse (xml, strlen (xml), limits, error);
}

char *
cli_libvirt_get_request (CliLibvirt *lv, const char *domain, guint flags, GError **error)
{
    return lv->ops->get_metadata (lv->conn, domain, flags, error);
}

gboolean
cli_libvirt_set_request (CliLibvirt *lv, const char *domain, const char *xml, guint flags,
                         GError **error)
{
    return lv->ops->set_metadata (lv->conn, domain, xml, flags, error);
}
