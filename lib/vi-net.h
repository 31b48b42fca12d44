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
 * NetworkManager: /etc/NetworkManager/system-connections/virt-inject-IFACE.nmconnection (0600, autoconnect, autoconnect-priority 999);
 * netplan: /etc/netplan/99-virt-inject.yaml (0600, sorts last);
 * networkd: /etc/systemd/network/0-virt-inject-IFACE.network (sorts first).
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

/**
 * vi_net_search:
 *
 * Returns: (transfer full): "search DOMAIN..." and a newline, the distinct
 * search domains of @interfaces in order ("" when none): the resolv.conf(5)
 * line beside vi_net_nameservers().
 */
char *vi_net_search (GPtrArray *interfaces);

/* ---- the guest's own configuration of the requested interfaces ----------
 *
 * Edits of guest files are pure functions on their text, idempotent (a
 * second pass changes no byte), and reversible: a guest line virt-inject
 * disables gets VI_NET_MARK in front of it, a line it adds follows a line
 * VI_NET_MARK_ADDED, and the stanzas it puts in busybox's
 * /etc/network/interfaces are between VI_NET_BLOCK_BEGIN and
 * VI_NET_BLOCK_END.  vi_net_unmark() (and the sed command in README.md,
 * "The guest's own network configuration") undoes all three.
 */
#define VI_NET_MARK "# virt-inject: "
#define VI_NET_MARK_ADDED "# virt-inject: added the next line"
#define VI_NET_BLOCK_BEGIN "# BEGIN virt-inject"
#define VI_NET_BLOCK_END "# END virt-inject"

/**
 * vi_net_unmark:
 * Returns: (transfer full): @text without the lines from
 * VI_NET_BLOCK_BEGIN to VI_NET_BLOCK_END, nor the line after
 * VI_NET_MARK_ADDED (with that marker), and without VI_NET_MARK at the
 * start of every other line: the guest's text as it was before
 * virt-inject.
 */
char *vi_net_unmark (const char *text);

/**
 * vi_net_ifupdown_disable:
 * @text: an interfaces(5) file
 * @ifaces: the requested interface names
 *
 * Comments out (VI_NET_MARK) every stanza of @ifaces ("iface IFACE ...",
 * and "iface IFACE:N ...", an alias adding addresses to IFACE) with its
 * option lines, and takes @ifaces out of the lines that name interfaces
 * ("auto", "allow-*", "mapping", "no-auto-down", "no-scripts"): a line
 * naming only them is commented out, a line naming others too is commented
 * out and followed by VI_NET_MARK_ADDED and the same line without them.
 *
 * Returns: (transfer full): the new text (equal to @text when nothing is
 * to change).
 */
char *vi_net_ifupdown_disable (const char *text, const char *const *ifaces);

typedef struct {
    gboolean directory;         /* source-directory DIR, else source PATTERN */
    char *pattern;              /* absolute */
} ViIfupdownSource;

void vi_ifupdown_source_free (ViIfupdownSource *s);

/**
 * vi_net_ifupdown_sources:
 * @text: an interfaces(5) file
 * @file_dir: the directory of that file (relative paths in it are relative
 *   to it, interfaces(5))
 *
 * Returns: (transfer full) (element-type ViIfupdownSource): its "source"
 * and "source-directory" lines, in order.
 */
GPtrArray *vi_net_ifupdown_sources (const char *text, const char *file_dir);

/**
 * vi_net_ifupdown_source_includes:
 * Whether @src makes ifupdown read the file @path: a "source" pattern
 * matching it (shell wildcards, as glob(3)), or a "source-directory" of its
 * directory when its name is one run-parts(8) accepts
 * ([A-Za-z0-9_-]+).
 */
gboolean vi_net_ifupdown_source_includes (const ViIfupdownSource *src, const char *path);

/** The path of our networkd file for @i: it sorts before the guest's own
 * (networkd applies the first file, in lexical order of the names, whose
 * [Match] matches). */
char *vi_net_networkd_path (const ViInterface *i);

/**
 * vi_net_networkd_may_match:
 * @text: a .network file of the guest
 *
 * Whether its [Match] section may select the NIC of @i: %FALSE only when a
 * Name= (for @i matched by name) or MACAddress=/PermanentMACAddress= (for
 * @i matched by MAC) excludes it, or when there is no [Match] setting at
 * all (networkd ignores such a file).
 */
gboolean vi_net_networkd_may_match (const char *text, const ViInterface *i);

/**
 * vi_net_nm_disable:
 * @text: a NetworkManager keyfile of the guest
 *
 * A profile of type ethernet bound to the NIC of @i (interface-name= its
 * name, or mac-address= its MAC) that may autoconnect gets
 * "autoconnect=false" at the end of [connection] (after
 * VI_NET_MARK_ADDED), its own autoconnect line commented out: it can no
 * longer take the device when ours is not up.  Other profiles are left
 * alone: ours outranks them by autoconnect-priority.
 *
 * Returns: (transfer full): the new text (equal to @text when nothing is
 * to change).
 */
char *vi_net_nm_disable (const char *text, const ViInterface *i);

/**
 * vi_net_ifcfg_disable:
 * @text: an ifcfg file of the guest (/etc/sysconfig/network-scripts/ifcfg-*,
 *   which NetworkManager's ifcfg-rh plugin reads as profiles)
 *
 * The same as vi_net_nm_disable() for that format: an Ethernet ifcfg
 * bound to the NIC of @i (DEVICE= its name, or HWADDR= its MAC) that is
 * brought up at boot gets "ONBOOT=no" (after VI_NET_MARK_ADDED), its own
 * ONBOOT line commented out.
 *
 * Returns: (transfer full): the new text (equal to @text when nothing is
 * to change).
 */
char *vi_net_ifcfg_disable (const char *text, const ViInterface *i);

#define VI_NET_NETPLAN_PATH "/etc/netplan/99-virt-inject.yaml"

/**
 * vi_net_netplan_disable:
 * @text: a netplan YAML file of the guest
 * @later: the file sorts after ours, so that its values win over ours
 *
 * netplan merges every file in the lexical order of the names, later
 * values replacing earlier ones, but lists (addresses, routes,
 * nameservers, routing-policy) appended, and gateway4/gateway6 kept.  In
 * a definition of @i's name under "ethernets", those keys are commented
 * out (VI_NET_MARK); a definition left with nothing becomes "ID: {}"
 * (after VI_NET_MARK_ADDED).  dhcp4/dhcp6 and the rest are left to the
 * merge: ours sets them.
 *
 * Returns: (transfer full): the new text, or %NULL with @error
 * (VI_ERROR_GUEST) for what cannot be made right by an edit: a
 * definition of another id that selects the same NIC (its MAC, or its
 * name as match or set-name), a definition of @i in a file that sorts
 * after ours (@later), a flow-style "ethernets" naming it.
 */
char *vi_net_netplan_disable (const char *text, const ViInterface *i, gboolean later,
                              const char *path, GError **error);

G_END_DECLS
