/* cli-libvirt.h: what the CLI asks libvirt, through the libvirt module.
 *
 * The module (modules/libvirt/, the only code linking libvirt) is loaded with
 * GModule on first use, so `virt-inject validate`, `inject --rootfs` and the
 * hook never pay for libvirt (DESIGN.md "Layout").
 */
#pragma once

#include <string.h>
#include <glib.h>
#include "vi-domain.h"
#include "vi-spec.h"

G_BEGIN_DECLS

typedef struct _CliLibvirt CliLibvirt;

/** cli_libvirt_open: load the module and connect to @uri (NULL: libvirt default). */
CliLibvirt *cli_libvirt_open (const char *uri, GError **error);
void cli_libvirt_close (CliLibvirt *lv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliLibvirt, cli_libvirt_close)

/**
 * cli_libvirt_get_domain:
 * The inactive (persistent) XML of @domain (name or UUID), parsed; a running
 * domain is refused with VI_ERROR_TARGET when @refuse_running.
 * @out_resolver is filled with a resolver bound to @lv (volumes, secrets).
 */
ViDomain *cli_libvirt_get_domain (CliLibvirt *lv, const char *domain, gboolean refuse_running,
                                  const ViLimits *limits, ViDomainResolver *out_resolver,
                                  GError **error);

/**
 * cli_libvirt_get_request:
 * @flags: VI_LV_LIVE / VI_LV_CONFIG (vi-libvirt-module.h), 0 for current
 * Returns: (transfer full) (nullable): our <inject> element of @domain's
 * metadata as XML; %NULL without @error set when it has none.
 */
char *cli_libvirt_get_request (CliLibvirt *lv, const char *domain, guint flags, GError **error);

/** cli_libvirt_set_request: store @xml as the request, or remove it (@xml %NULL). */
gboolean cli_libvirt_set_request (CliLibvirt *lv, const char *domain, const char *xml,
                                  guint flags, GError **error);

G_END_DECLS
