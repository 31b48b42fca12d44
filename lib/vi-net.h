/* vi-net.h: network configuration renderers.
 *
 * Pure functions: from the request's interfaces to the files one network
 * stack reads (path, content, mode).  vi-inject writes them through the VFS.
 */
#pragma once

#include <glib.h>
#include "vi-spec.h"

G_BEGIN_DECLS

typedef struct {
    char *path;                 /* guest-absolute */
    char *content;
    guint mode;
} ViNetFile;

void vi_net_file_free (ViNetFile *f);

/**
 * vi_net_render:
 * @renderer: the stack (never VI_RENDERER_AUTO)
 * @interfaces: (element-type ViInterface): the request's interfaces
 *
 * ifupdown: /etc/network/interfaces.d/virt-inject-IFACE ("auto IFACE", or
 * "auto mac/MAC/=IFACE" when the interface has a MAC);
 * NetworkManager: /etc/NetworkManager/system-connections/virt-inject-IFACE.nmconnection (0600, autoconnect);
 * netplan: /etc/netplan/90-virt-inject.yaml (0600);
 * networkd: /etc/systemd/network/10-virt-inject-IFACE.network.
 * Match by MAC where the stack can.
 *
 * Returns: (transfer full) (element-type ViNetFile): the files, in a stable order.
 */
GPtrArray *vi_net_render (ViNetRenderer renderer, GPtrArray *interfaces, GError **error);

/**
 * vi_net_render_ifupdown_busybox:
 *
 * ifupdown as busybox reads it (Alpine): "address" without a prefix plus
 * "netmask", one stanza per address, no dns-nameservers.  The paths are
 * those of vi_net_render(); the caller inlines the contents.
 *
 * Returns: (transfer full) (element-type ViNetFile): one per interface.
 */
GPtrArray *vi_net_render_ifupdown_busybox (GPtrArray *interfaces);

/**
 * vi_net_nameservers:
 *
 * Returns: (transfer full): "nameserver ADDR" lines, one per distinct
 * nameserver of @interfaces, in order ("" when none): resolv.conf(5) lines
 * for stacks that do not handle DNS themselves.
 */
char *vi_net_nameservers (GPtrArray *interfaces);

G_END_DECLS
