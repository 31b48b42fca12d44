/* vi-libvirt-module.h: the interface of the libvirt client module.
 *
 * The module (the only code linking libvirt) is loaded by tools/cli-libvirt.c
 * with GModule, so programs that never talk to libvirt never pay for it.
 * The ABI number changes whenever this table does.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VI_LIBVIRT_MODULE_ABI 1
#define VI_LIBVIRT_MODULE_NAME "virt-inject-libvirt"
#define VI_LIBVIRT_MODULE_SYMBOL "vi_libvirt_module_get_ops"

enum {
    VI_LV_CURRENT = 0,
    VI_LV_LIVE = 1 << 0,        /* VIR_DOMAIN_AFFECT_LIVE */
    VI_LV_CONFIG = 1 << 1,      /* VIR_DOMAIN_AFFECT_CONFIG */
};

typedef struct {
    guint abi;
    /* Connect; NULL uri: libvirt's default. */
    gpointer (*open) (const char *uri, GError **error);
    void (*close) (gpointer conn);
    /* The inactive (persistent) XML of a domain (name or UUID), and whether it runs. */
    char *(*get_xml) (gpointer conn, const char *domain, gboolean *out_active, GError **error);
    /* Our <inject> element in the domain's metadata; NULL without error when there is none. */
    char *(*get_metadata) (gpointer conn, const char *domain, guint flags, GError **error);
    /* Set (xml != NULL) or remove (xml == NULL) our element. */
    gboolean (*set_metadata) (gpointer conn, const char *domain, const char *xml, guint flags,
                              GError **error);
    gboolean (*resolve_volume) (gpointer conn, const char *pool, const char *volume,
                                char **out_path, char **out_format, gboolean *out_is_block,
                                GError **error);
    gboolean (*resolve_secret) (gpointer conn, const char *type, const char *uuid,
                                const char *usage, char **out_value, GError **error);
} ViLibvirtOps;

typedef const ViLibvirtOps *(*ViLibvirtModuleGetOps) (void);

G_END_DECLS
