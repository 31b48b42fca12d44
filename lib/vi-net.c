/* vi-net.c: network configuration for the stack the guest really uses.
 *
 * Detection looks at what is installed *and* enabled (binaries, systemd
 * enablement links, OpenRC runlevels), never at which directories exist: a
 * Debian tree running ifupdown also ships /etc/systemd/network/.  The
 * renderers are pure functions from the request's interfaces to files.
 */
#include "vi-net.h"

#include <fnmatch.h>
#include <string.h>

#include "vi-error.h"
#include "vi-guest.h"
#include "vi-spec.h"

void
vi_net_file_free (ViNetFile *f)
{
    if (f == NULL)
        return;
    g_free (f->path);
    g_free (f->content);
    g_free (f);
}

static gboolean
any_exists (ViVfs *vfs, const char *const *paths)
{
    for (; *paths; paths++) {
        gboolean exists = FALSE;
        g_autoptr(GError) e = NULL;

        if (vi_vfs_exists (vfs, *paths, &exists, &e) && exists)
            return TRUE;
    }
    return FALSE;
}

#define WANTS "/etc/systemd/system/multi-user.target.wants/"

ViNetRenderer
vi_guest_detect_renderer (ViVfs *vfs)
{
    static const char *const netplan_bin[] = { "/usr/sbin/netplan", "/sbin/netplan", NULL };
    static const char *const netplan_dir[] = { "/etc/netplan", NULL };
    static const char *const nm_bin[] = { "/usr/sbin/NetworkManager", "/sbin/NetworkManager", NULL };
    static const char *const nm_enabled[] = {
        WANTS "NetworkManager.service",
        "/etc/systemd/system/dbus-org.freedesktop.NetworkManager.service",
        "/etc/runlevels/default/networkmanager",
        NULL
    };
    static const char *const networkd_enabled[] = {
        WANTS "systemd-networkd.service",
        "/etc/systemd/system/dbus-org.freedesktop.network1.service",
        NULL
    };
    static const char *const ifup_bin[] = { "/sbin/ifup", "/usr/sbin/ifup", NULL };
    static const char *const ifupdown_conf[] = { "/etc/network/interfaces", NULL };

    if (any_exists (vfs, netplan_bin) && any_exists (vfs, netplan_dir))
        return VI_RENDERER_NETPLAN;
    if (any_exists (vfs, nm_bin) && any_exists (vfs, nm_enabled))
        return VI_RENDERER_NETWORKMANAGER;
    if (any_exists (vfs, networkd_enabled))
        return VI_RENDERER_NETWORKD;
    if (any_exists (vfs, ifup_bin) && any_exists (vfs, ifupdown_conf))
        return VI_RENDERER_IFUPDOWN;
    return VI_RENDERER_AUTO;
}

/* Addresses are "ADDR/PREFIX" strings; gateways and nameservers GInetAddress. */
static char *
inet_str (gpointer item)
{
    return g_inet_address_to_string (item);
}

static gboolean
inet_is_v6 (gpointer item)
{
    return g_inet_address_get_family (item) == G_SOCKET_FAMILY_IPV6;
}

/* The addresses (strings) of one family. */
static GPtrArray *
addrs_of_family (GPtrArray *arr, gboolean v6)
{
    GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

    for (guint i = 0; i < arr->len; i++)
        if ((strchr (arr->pdata[i], ':') != NULL) == v6)
            g_ptr_array_add (out, g_strdup (arr->pdata[i]));
    return out;
}

/* The gateways or nameservers (GInetAddress) of one family, as strings. */
static GPtrArray *
of_family (GPtrArray *arr, gboolean v6)
{
    GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

    for (guint i = 0; i < arr->len; i++)
        if (inet_is_v6 (arr->pdata[i]) == v6)
            g_ptr_array_add (out, inet_str (arr->pdata[i]));
    return out;
}

static char *
join (GPtrArray *strs, const char *sep)
{
    g_ptr_array_add (strs, NULL);
    g_ptr_array_set_size (strs, strs->len - 1);
    return g_strjoinv (sep, (char **) strs->pdata);
}

/* The routes of one family. */
static GPtrArray *
routes_of_family (GPtrArray *routes, gboolean v6)
{
    GPtrArray *out = g_ptr_array_new ();

    for (guint k = 0; k < routes->len; k++)
        if ((strchr (((const ViRoute *) routes->pdata[k])->to, ':') != NULL) == v6)
            g_ptr_array_add (out, routes->pdata[k]);
    return out;
}

static ViNetFile *
net_file (char *path, GString *content, guint mode)
{
    ViNetFile *f = g_new0 (ViNetFile, 1);

    f->path = path;
    f->content = g_string_free (content, FALSE);
    f->mode = mode;
    return f;
}

#define HEADER "# Written by virt-inject before the first boot.\n"

/* One "address"/"netmask" pair of a busybox static stanza: the address
 * without its prefix, and the prefix as busybox wants it (a dotted quad
 * for IPv4, which it turns into a bit count; the bit count for IPv6). */
static void
busybox_address (GString *s, const char *cidr, gboolean v6)
{
    const char *slash = strchr (cidr, '/');
    guint64 prefix = 0;

    g_assert (slash != NULL);       /* the request parser keeps ADDR/PREFIX only */
    g_assert (g_ascii_string_to_unsigned (slash + 1, 10, 0, v6 ? 128 : 32, &prefix, NULL));
    g_string_append_printf (s, "    address %.*s\n", (int) (slash - cidr), cidr);
    if (v6) {
        g_string_append_printf (s, "    netmask %u\n", (guint) prefix);
    } else {
        guint32 m = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
        g_string_append_printf (s, "    netmask %u.%u.%u.%u\n", m >> 24, (m >> 16) & 0xff,
                                (m >> 8) & 0xff, m & 0xff);
    }
}

/* The static stanzas of one family: one per address, the gateway in the
 * first (every stanza of an interface applies, in order: interfaces(5)).
 * Debian's ifupdown takes one "address A/P" per stanza: a second address
 * line in the same stanza is dropped without a word (ifupdown 0.8.41, seen
 * with `ifup --no-act` and in a booted Debian 12 guest).  busybox's static
 * method runs "ip addr add %address%/%netmask%" (IPv4: %bnmask%, from a
 * dotted-quad netmask) and gives up when netmask is missing, so "address
 * A/P" alone configures nothing; and it dies on a repeated option.
 * Checked against busybox's networking/ifupdown.c (parse(), static_up(),
 * static_up6(), read_interfaces()). */
static void
ifupdown_static (GString *s, const char *name, GPtrArray *addrs, GPtrArray *gateways,
                 gboolean v6, gboolean busybox)
{
    const char *family = v6 ? "inet6" : "inet";

    for (guint k = 0; k < addrs->len; k++) {
        g_string_append_printf (s, "iface %s %s static\n", name, family);
        if (busybox)
            busybox_address (s, addrs->pdata[k], v6);
        else
            g_string_append_printf (s, "    address %s\n", (char *) addrs->pdata[k]);
        if (gateways->len && k == 0)
            g_string_append_printf (s, "    gateway %s\n", (char *) gateways->pdata[0]);
        /* Static IPv6 takes no address or route from router advertisements
         * (no SLAAC address beside ours): "accept_ra 0" also flushes the
         * one made when the inet stanza brought the link up first, which
         * "autoconf 0" (the default of inet6 static) alone leaves
         * (seen in the booted guests of the real suite).  busybox knows
         * neither option. */
        if (v6 && !busybox && k == 0)
            g_string_append (s, "    accept_ra 0\n");
    }
}

/* The routes of one family as ifupdown "up"/"down" commands, which Debian's
 * and busybox's ifupdown both run after the method's own (every method:
 * the static route of a DHCP interface is added once the lease is up).
 * The device is $IFACE, which both set to the physical name: with "auto
 * mac/MAC/=NAME" the NIC is not called NAME (interfaces(5), "IFACE"). */
static void
ifupdown_routes (GString *s, const ViInterface *i, gboolean v6)
{
    g_autoptr(GPtrArray) routes = routes_of_family (i->routes, v6);

    for (guint k = 0; k < routes->len; k++) {
        const ViRoute *r = routes->pdata[k];
        g_autofree char *via = inet_str (r->via);
        g_autofree char *metric = r->has_metric ? g_strdup_printf (" metric %u", r->metric)
                                                : g_strdup ("");
        g_autofree char *args = g_strdup_printf ("%s via %s dev $IFACE%s", r->to, via, metric);

        g_string_append_printf (s, "    up ip %sroute add %s\n    down ip %sroute del %s\n",
                                v6 ? "-6 " : "", args, v6 ? "-6 " : "", args);
    }
}

/* The MTU, in the first stanza: "pre-up ip link set" is run by both
 * ifupdowns and every method; the "mtu" option only by the static one
 * (and busybox's DHCP method ignores it).  $IFACE as for the routes. */
static void
ifupdown_mtu (GString *s, const ViInterface *i)
{
    const char *first = strstr (s->str, "\niface ");
    g_autofree char *line = NULL;

    if (i->mtu == 0 || first == NULL)
        return;
    line = g_strdup_printf ("    pre-up ip link set dev $IFACE mtu %u\n", i->mtu);
    g_string_insert (s, strchr (first + 1, '\n') + 1 - s->str, line);
}

/* ifupdown, Debian's or busybox's (Alpine).  busybox has no DNS handling:
 * dns-nameservers and dns-search (read by Debian's resolvconf hook) are
 * left out, and the caller writes them to /etc/resolv.conf (see
 * vi-inject.c).  Routes go in the last stanza of their family, once all
 * its addresses (and the lease) are up. */
static ViNetFile *
render_ifupdown (const ViInterface *i, gboolean busybox)
{
    GString *s = g_string_new (HEADER);
    g_autoptr(GPtrArray) a4 = addrs_of_family (i->addresses, FALSE);
    g_autoptr(GPtrArray) a6 = addrs_of_family (i->addresses, TRUE);
    g_autoptr(GPtrArray) g4 = of_family (i->gateways, FALSE);
    g_autoptr(GPtrArray) g6 = of_family (i->gateways, TRUE);
    g_autoptr(GPtrArray) dns = of_family (i->nameservers, FALSE);
    g_autoptr(GPtrArray) dns6 = of_family (i->nameservers, TRUE);
    g_autofree char *dns_line = NULL;
    g_autofree char *search = join (i->search, " ");

    for (guint k = 0; k < dns6->len; k++)
        g_ptr_array_add (dns, g_strdup (dns6->pdata[k]));
    if (!busybox) {
        g_autoptr(GString) d = g_string_new (NULL);

        if (dns->len > 0) {
            g_autofree char *all = join (dns, " ");
            g_string_append_printf (d, "    dns-nameservers %s\n", all);
        }
        if (*search)
            g_string_append_printf (d, "    dns-search %s\n", search);
        if (d->len > 0)
            dns_line = g_strdup (d->str);
    }

    /* Debian's ifupdown (>= 0.8, Debian 9) matches by MAC with a pattern:
     * "auto mac/MAC/=NAME" brings up the NIC with that MAC, whatever the
     * guest names it, with the stanzas of the logical interface NAME
     * (interfaces(5), PATTERN MATCHING INTERFACES); the NIC keeps its
     * name, as with the other stacks.  busybox has no patterns. */
    if (i->mac && !busybox)
        g_string_append_printf (s, "auto mac/%s/=%s\n", i->mac, i->name);
    else
        g_string_append_printf (s, "auto %s\n", i->name);
    if (i->mac && busybox)
        g_string_append_printf (s, "# expected MAC address: %s\n", i->mac);
    /* DHCP and static addresses: both, as in the other renderers; every
     * stanza of an interface applies (interfaces(5)), the static one first
     * so that its addresses are up even when no DHCP server answers. */
    ifupdown_static (s, i->name, a4, g4, FALSE, busybox);
    if (i->dhcp)
        g_string_append_printf (s, "iface %s inet dhcp\n", i->name);
    if (a4->len == 0 && !i->dhcp && a6->len == 0)
        g_string_append_printf (s, "iface %s inet manual\n", i->name);
    ifupdown_routes (s, i, FALSE);
    if (dns_line && (i->dhcp || a4->len > 0))
        g_string_append (s, dns_line);
    ifupdown_static (s, i->name, a6, g6, TRUE, busybox);
    ifupdown_routes (s, i, TRUE);
    if (dns_line && a6->len > 0 && !i->dhcp && a4->len == 0)
        g_string_append (s, dns_line);
    ifupdown_mtu (s, i);
    return net_file (g_strdup_printf ("/etc/network/interfaces.d/virt-inject-%s", i->name), s, 0644);
}

static gboolean
any_mac (GPtrArray *interfaces)
{
    for (guint n = 0; n < interfaces->len; n++)
        if (((const ViInterface *) interfaces->pdata[n])->mac != NULL)
            return TRUE;
    return FALSE;
}

/* "auto mac/MAC/=NAME" is expanded when networking.service runs "ifup -a",
 * against the NICs the kernel has then.  ifupdown-pre.service waits for
 * udev ("udevadm settle") only when "ifquery --list" names an interface,
 * and a pattern names none until its NIC exists: a NIC whose driver is
 * loaded after the initramfs (by udev's coldplug in the real root) came
 * up unconfigured in the real suite's ifupdown guest.  This drop-in makes
 * networking.service wait for udev's queue, as ifupdown-pre would for a
 * name.  Guests without systemd never read it. */
static ViNetFile *
render_networking_settle (void)
{
    GString *s = g_string_new (HEADER);

    g_string_append (s, "# ifup -a expands the mac/ patterns of interfaces.d/virt-inject-*\n"
                        "# against the NICs present: wait until udev has made them all.\n"
                        "[Service]\nExecStartPre=-/bin/udevadm settle\n");
    return net_file (g_strdup ("/etc/systemd/system/networking.service.d/virt-inject.conf"), s, 0644);
}

/* A name-based (SHA-1, version 5 layout) UUID, stable across runs so that a
 * re-injection rewrites the same NetworkManager connection. */
static char *
stable_uuid (const char *name)
{
    g_autoptr(GChecksum) c = g_checksum_new (G_CHECKSUM_SHA1);
    guint8 d[20];
    gsize len = sizeof d;

    g_checksum_update (c, (const guchar *) "virt-inject:", -1);
    g_checksum_update (c, (const guchar *) name, -1);
    g_checksum_get_digest (c, d, &len);
    d[6] = (d[6] & 0x0f) | 0x50;
    d[8] = (d[8] & 0x3f) | 0x80;
    return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                            d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10],
                            d[11], d[12], d[13], d[14], d[15]);
}

static void
nm_family (GString *s, const ViInterface *i, gboolean v6)
{
    g_autoptr(GPtrArray) a = addrs_of_family (i->addresses, v6);
    g_autoptr(GPtrArray) g = of_family (i->gateways, v6);
    g_autoptr(GPtrArray) dns = of_family (i->nameservers, v6);
    g_autoptr(GPtrArray) routes = routes_of_family (i->routes, v6);
    g_autoptr(GPtrArray) v4 = addrs_of_family (i->addresses, FALSE);

    g_string_append_printf (s, "\n[%s]\n", v6 ? "ipv6" : "ipv4");
    /* <dhcp/> is DHCPv4; its static addresses are added to the lease's */
    if (!v6 && i->dhcp)
        g_string_append (s, "method=auto\n");
    else if (a->len > 0)
        g_string_append (s, "method=manual\n");
    else if (i->dhcp)
        g_string_append (s, "method=auto\n");
    else
        g_string_append (s, v6 ? "method=ignore\n" : "method=disabled\n");
    for (guint k = 0; k < a->len; k++)
        g_string_append_printf (s, "address%u=%s\n", k + 1, (char *) a->pdata[k]);
    if (g->len)
        g_string_append_printf (s, "gateway=%s\n", (char *) g->pdata[0]);
    if (dns->len) {
        g_autofree char *d = join (dns, ";");
        g_string_append_printf (s, "dns=%s;\n", d);
    }
    /* in [ipv4] when IPv4 is configured, else in [ipv6], as ifupdown's dns-search */
    if (i->search->len > 0 && v6 != (i->dhcp || v4->len > 0)) {
        g_autofree char *d = join (i->search, ";");
        g_string_append_printf (s, "dns-search=%s;\n", d);
    }
    for (guint k = 0; k < routes->len; k++) {
        const ViRoute *r = routes->pdata[k];
        g_autofree char *via = inet_str (r->via);

        g_string_append_printf (s, "route%u=%s,%s", k + 1, r->to, via);
        if (r->has_metric)
            g_string_append_printf (s, ",%u", r->metric);
        g_string_append_c (s, '\n');
    }
}

static ViNetFile *
render_nm (const ViInterface *i)
{
    GString *s = g_string_new (HEADER);
    g_autofree char *id = g_strdup_printf ("virt-inject-%s", i->name);
    g_autofree char *uuid = stable_uuid (id);

    g_string_append_printf (s, "[connection]\nid=%s\nuuid=%s\ntype=ethernet\n", id, uuid);
    if (i->mac == NULL)
        g_string_append_printf (s, "interface-name=%s\n", i->name);
    /* above every profile of the guest (the range is -999..999, default 0)
     * for the same device: NetworkManager autoconnects the highest first */
    g_string_append (s, "autoconnect=true\nautoconnect-priority=999\n");
    g_string_append (s, "\n[ethernet]\n");
    if (i->mac)
        g_string_append_printf (s, "mac-address=%s\n", i->mac);
    if (i->mtu != 0)
        g_string_append_printf (s, "mtu=%u\n", i->mtu);
    nm_family (s, i, FALSE);
    nm_family (s, i, TRUE);
    return net_file (g_strdup_printf ("/etc/NetworkManager/system-connections/%s.nmconnection", id),
                     s, 0600);
}

static void
yaml_list (GString *s, const char *indent, const char *key, GPtrArray *items)
{
    if (items->len == 0)
        return;
    g_string_append_printf (s, "%s%s:\n", indent, key);
    for (guint k = 0; k < items->len; k++)
        g_string_append_printf (s, "%s  - \"%s\"\n", indent, (char *) items->pdata[k]);
}

static ViNetFile *
render_netplan (GPtrArray *interfaces)
{
    GString *s = g_string_new (HEADER "network:\n  version: 2\n  ethernets:\n");

    for (guint n = 0; n < interfaces->len; n++) {
        const ViInterface *i = interfaces->pdata[n];
        g_autoptr(GPtrArray) addrs = addrs_of_family (i->addresses, FALSE);
        g_autoptr(GPtrArray) a6 = addrs_of_family (i->addresses, TRUE);
        g_autoptr(GPtrArray) dns = of_family (i->nameservers, FALSE);
        g_autoptr(GPtrArray) dns6 = of_family (i->nameservers, TRUE);

        for (guint k = 0; k < a6->len; k++)
            g_ptr_array_add (addrs, g_strdup (a6->pdata[k]));
        for (guint k = 0; k < dns6->len; k++)
            g_ptr_array_add (dns, g_strdup (dns6->pdata[k]));

        g_string_append_printf (s, "    %s:\n", i->name);
        /* matched by MAC, as networkd and NetworkManager do: the NIC keeps
         * the name the guest gives it (no set-name, no rename at boot) */
        if (i->mac)
            g_string_append_printf (s, "      match:\n        macaddress: \"%s\"\n", i->mac);
        /* every value a guest's definition of the same id could have set
         * otherwise: netplan merges ours over it (dhcp6: <dhcp/> is DHCPv4) */
        g_string_append_printf (s, "      dhcp4: %s\n      dhcp6: false\n",
                                i->dhcp ? "true" : "false");
        /* static IPv6: no SLAAC address or RA route beside it */
        if (a6->len > 0)
            g_string_append (s, "      accept-ra: false\n");
        if (i->mtu != 0)
            g_string_append_printf (s, "      mtu: %u\n", i->mtu);
        yaml_list (s, "      ", "addresses", addrs);
        if (i->gateways->len || i->routes->len)
            g_string_append (s, "      routes:\n");
        for (guint k = 0; k < i->gateways->len; k++) {
            g_autofree char *gw = inet_str (i->gateways->pdata[k]);
            g_string_append_printf (s, "        - to: default\n          via: \"%s\"\n", gw);
        }
        for (guint k = 0; k < i->routes->len; k++) {
            const ViRoute *r = i->routes->pdata[k];
            g_autofree char *via = inet_str (r->via);

            g_string_append_printf (s, "        - to: \"%s\"\n          via: \"%s\"\n", r->to, via);
            if (r->has_metric)
                g_string_append_printf (s, "          metric: %u\n", r->metric);
        }
        if (dns->len || i->search->len) {
            g_string_append (s, "      nameservers:\n");
            yaml_list (s, "        ", "addresses", dns);
            yaml_list (s, "        ", "search", i->search);
        }
    }
    return net_file (g_strdup (VI_NET_NETPLAN_PATH), s, 0600);
}

/* netplan (0.106, Debian 12) reads a route metric as an unsigned number
 * but writes it as a signed one: 2147483648 becomes Metric=-2147483648 in
 * networkd's file and NetworkManager's, and 4294967295 means "no metric".
 * Such a route is refused rather than given another metric. */
static gboolean
netplan_can_express (GPtrArray *interfaces, GError **error)
{
    for (guint n = 0; n < interfaces->len; n++) {
        const ViInterface *i = interfaces->pdata[n];

        for (guint k = 0; k < i->routes->len; k++) {
            const ViRoute *r = i->routes->pdata[k];

            if (r->has_metric && r->metric > G_MAXINT32)
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<interface name='%s'>: <route to='%s' metric='%u'>: netplan "
                                 "cannot express a metric above %d (it writes it as a negative "
                                 "number); use a lower metric for this guest", i->name, r->to,
                                 r->metric, G_MAXINT32);
        }
    }
    return TRUE;
}

static ViNetFile *
render_networkd (const ViInterface *i)
{
    GString *s = g_string_new (HEADER "[Match]\n");

    if (i->mac)
        g_string_append_printf (s, "MACAddress=%s\n", i->mac);
    else
        g_string_append_printf (s, "Name=%s\n", i->name);
    if (i->mtu != 0)
        g_string_append_printf (s, "\n[Link]\nMTUBytes=%u\n", i->mtu);
    g_string_append (s, "\n[Network]\n");
    g_string_append_printf (s, "DHCP=%s\n", i->dhcp ? "ipv4" : "no");
    /* static IPv6: no SLAAC address or RA route beside it */
    {
        g_autoptr(GPtrArray) a6 = addrs_of_family (i->addresses, TRUE);

        if (a6->len > 0)
            g_string_append (s, "IPv6AcceptRA=no\n");
    }
    for (guint k = 0; k < i->addresses->len; k++)
        g_string_append_printf (s, "Address=%s\n", (char *) i->addresses->pdata[k]);
    for (guint k = 0; k < i->gateways->len; k++) {
        g_autofree char *a = inet_str (i->gateways->pdata[k]);
        g_string_append_printf (s, "Gateway=%s\n", a);
    }
    for (guint k = 0; k < i->nameservers->len; k++) {
        g_autofree char *a = inet_str (i->nameservers->pdata[k]);
        g_string_append_printf (s, "DNS=%s\n", a);
    }
    if (i->search->len > 0) {
        g_autofree char *d = join (i->search, " ");
        g_string_append_printf (s, "Domains=%s\n", d);
    }
    for (guint k = 0; k < i->routes->len; k++) {
        const ViRoute *r = i->routes->pdata[k];
        g_autofree char *via = inet_str (r->via);

        g_string_append_printf (s, "\n[Route]\nDestination=%s\nGateway=%s\n", r->to, via);
        if (r->has_metric)
            g_string_append_printf (s, "Metric=%u\n", r->metric);
    }
    return net_file (vi_net_networkd_path (i), s, 0644);
}

GPtrArray *
vi_net_render (ViNetRenderer renderer, GPtrArray *interfaces, GError **error)
{
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_net_file_free);

    switch (renderer) {
    case VI_RENDERER_NETPLAN:
        if (!netplan_can_express (interfaces, error))
            return NULL;
        g_ptr_array_add (files, render_netplan (interfaces));
        break;
    case VI_RENDERER_IFUPDOWN:
    case VI_RENDERER_NETWORKMANAGER:
    case VI_RENDERER_NETWORKD:
        for (guint n = 0; n < interfaces->len; n++) {
            const ViInterface *i = interfaces->pdata[n];
            g_ptr_array_add (files, renderer == VI_RENDERER_IFUPDOWN ? render_ifupdown (i, FALSE)
                                  : renderer == VI_RENDERER_NETWORKMANAGER ? render_nm (i)
                                  : render_networkd (i));
        }
        if (renderer == VI_RENDERER_IFUPDOWN && any_mac (interfaces))
            g_ptr_array_add (files, render_networking_settle ());
        break;
    case VI_RENDERER_AUTO:
    case VI_RENDERER_LAST:
    default:
        vi_throw (error, VI_ERROR_GUEST,
                  "no network stack found in the guest (netplan, NetworkManager, "
                  "systemd-networkd or ifupdown installed and enabled); name one with "
                  "<network renderer=...>");
        return NULL;
    }
    return g_steal_pointer (&files);
}

GPtrArray *
vi_net_render_ifupdown_busybox (GPtrArray *interfaces)
{
    GPtrArray *files = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_net_file_free);

    for (guint n = 0; n < interfaces->len; n++)
        g_ptr_array_add (files, render_ifupdown (interfaces->pdata[n], TRUE));
    return files;
}

char *
vi_net_nameservers (GPtrArray *interfaces)
{
    GString *s = g_string_new (NULL);

    for (guint n = 0; n < interfaces->len; n++) {
        const ViInterface *i = interfaces->pdata[n];

        for (guint k = 0; k < i->nameservers->len; k++) {
            g_autofree char *a = inet_str (i->nameservers->pdata[k]);
            g_autofree char *line = g_strdup_printf ("nameserver %s\n", a);

            if (strstr (s->str, line) == NULL)
                g_string_append (s, line);
        }
    }
    return g_string_free (s, FALSE);
}

char *
vi_net_search (GPtrArray *interfaces)
{
    g_autoptr(GPtrArray) all = g_ptr_array_new ();
    g_autofree char *joined = NULL;

    for (guint n = 0; n < interfaces->len; n++) {
        const ViInterface *i = interfaces->pdata[n];

        for (guint k = 0; k < i->search->len; k++)
            if (!g_ptr_array_find_with_equal_func (all, i->search->pdata[k], g_str_equal, NULL))
                g_ptr_array_add (all, i->search->pdata[k]);
    }
    if (all->len == 0)
        return g_strdup ("");
    joined = join (all, " ");
    return g_strdup_printf ("search %s\n", joined);
}

/* ---- the guest's own configuration of the requested interfaces --------- */

/* Lines of @text and back: g_strsplit() on '\n' keeps a last "" for a final
 * newline, so joining with '\n' gives the same bytes back. */
static char *
join_lines (GPtrArray *out)
{
    g_ptr_array_add (out, NULL);
    return g_strjoinv ("\n", (char **) out->pdata);
}

char *
vi_net_unmark (const char *text)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    g_autoptr(GPtrArray) out = g_ptr_array_new ();

    for (guint i = 0; lines[i]; i++) {
        if (g_str_equal (lines[i], VI_NET_BLOCK_BEGIN)) {
            while (lines[i + 1] && !g_str_equal (lines[i], VI_NET_BLOCK_END))
                i++;
            continue;
        }
        if (g_str_equal (lines[i], VI_NET_MARK_ADDED) && lines[i + 1] != NULL) {
            i++;                            /* and the line it marks */
            continue;
        }
        g_ptr_array_add (out, g_str_has_prefix (lines[i], VI_NET_MARK)
                              ? lines[i] + strlen (VI_NET_MARK) : lines[i]);
    }
    return join_lines (out);
}

/* @name is one of @ifaces, or an alias of one ("eth0:1"). */
static gboolean
names_requested (const char *name, const char *const *ifaces)
{
    for (; *ifaces; ifaces++) {
        gsize n = strlen (*ifaces);

        if (strncmp (name, *ifaces, n) == 0 && (name[n] == '\0' || name[n] == ':'))
            return TRUE;
    }
    return FALSE;
}

/* Ends with a backslash: interfaces(5) continues the line on the next. */
static gboolean
continued (const char *line)
{
    gsize n = strlen (line);

    while (n > 0 && g_ascii_isspace (line[n - 1]))
        n--;
    return n > 0 && line[n - 1] == '\\';
}

/* The words of the logical line made of lines[first..last]. */
static char **
logical_words (char **lines, guint first, guint last)
{
    g_autoptr(GString) s = g_string_new (NULL);
    g_auto(GStrv) w = NULL;
    GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

    for (guint k = first; k <= last; k++) {
        gsize n = strlen (lines[k]);

        while (n > 0 && g_ascii_isspace (lines[k][n - 1]))
            n--;
        if (k < last && n > 0)
            n--;                            /* the backslash */
        g_string_append_len (s, lines[k], n);
        g_string_append_c (s, ' ');
    }
    w = g_strsplit_set (s->str, " \t", -1);
    for (guint k = 0; w[k]; k++)
        if (*w[k])
            g_ptr_array_add (out, g_strdup (w[k]));
    g_ptr_array_add (out, NULL);
    return (char **) g_ptr_array_free (out, FALSE);
}

/* Keywords that start a stanza, and those followed by interface names. */
static gboolean
names_interfaces (const char *kw)
{
    return g_str_equal (kw, "auto") || g_str_has_prefix (kw, "allow-") ||
           g_str_equal (kw, "mapping") || g_str_equal (kw, "no-auto-down") ||
           g_str_equal (kw, "no-scripts");
}

static gboolean
starts_stanza (const char *kw)
{
    return names_interfaces (kw) || g_str_equal (kw, "iface") || g_str_equal (kw, "source") ||
           g_str_equal (kw, "source-directory") || g_str_equal (kw, "rename") ||
           g_str_equal (kw, "template");
}

char *
vi_net_ifupdown_disable (const char *text, const char *const *ifaces)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
    gboolean in_disabled = FALSE;       /* the option lines of a disabled stanza */

    for (guint i = 0; lines[i]; ) {
        const char *l = lines[i] + strspn (lines[i], " \t");
        guint last = i;
        g_auto(GStrv) w = NULL;
        gboolean disable = FALSE;
        g_autofree char *replacement = NULL;

        if (*l == '#' || *l == '\0') {     /* comments and blank lines end nothing */
            g_ptr_array_add (out, g_strdup (lines[i++]));
            continue;
        }
        while (continued (lines[last]) && lines[last + 1] != NULL)
            last++;
        w = logical_words (lines, i, last);
        if (starts_stanza (w[0])) {
            in_disabled = FALSE;
            if (g_str_equal (w[0], "iface") && w[1] && names_requested (w[1], ifaces)) {
                disable = in_disabled = TRUE;
            } else if (names_interfaces (w[0])) {
                g_autoptr(GString) kept = g_string_new (NULL);
                guint n_kept = 0, n_ours = 0;

                g_string_append_len (kept, lines[i], l - lines[i]);
                g_string_append (kept, w[0]);
                for (guint k = 1; w[k]; k++) {
                    if (names_requested (w[k], ifaces)) {
                        n_ours++;
                    } else {
                        g_string_append_printf (kept, " %s", w[k]);
                        n_kept++;
                    }
                }
                disable = n_ours > 0;
                /* a mapping of the requested interfaces only goes with its options */
                in_disabled = disable && n_kept == 0 && g_str_equal (w[0], "mapping");
                if (disable && n_kept > 0)
                    replacement = g_string_free (g_steal_pointer (&kept), FALSE);
            }
        } else {
            disable = in_disabled;
        }
        for (; i <= last; i++)
            g_ptr_array_add (out, disable ? g_strconcat (VI_NET_MARK, lines[i], NULL)
                                          : g_strdup (lines[i]));
        if (replacement) {
            g_ptr_array_add (out, g_strdup (VI_NET_MARK_ADDED));
            g_ptr_array_add (out, g_steal_pointer (&replacement));
        }
    }
    return join_lines (out);
}

void
vi_ifupdown_source_free (ViIfupdownSource *s)
{
    if (s == NULL)
        return;
    g_free (s->pattern);
    g_free (s);
}

GPtrArray *
vi_net_ifupdown_sources (const char *text, const char *file_dir)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_ifupdown_source_free);

    for (guint i = 0; lines[i]; i++) {
        const char *l = lines[i] + strspn (lines[i], " \t");
        guint last = i;
        g_auto(GStrv) w = NULL;

        if (*l == '#' || *l == '\0')
            continue;
        while (continued (lines[last]) && lines[last + 1] != NULL)
            last++;
        w = logical_words (lines, i, last);
        i = last;
        if ((g_str_equal (w[0], "source") || g_str_equal (w[0], "source-directory")) && w[1]) {
            ViIfupdownSource *src = g_new0 (ViIfupdownSource, 1);

            src->directory = g_str_equal (w[0], "source-directory");
            src->pattern = g_canonicalize_filename (w[1], file_dir);
            g_ptr_array_add (out, src);
        }
    }
    return out;
}

/* A name run-parts(8) (and so source-directory) accepts. */
static gboolean
run_parts_name (const char *name)
{
    if (*name == '\0')
        return FALSE;
    for (; *name; name++)
        if (!g_ascii_isalnum (*name) && *name != '_' && *name != '-')
            return FALSE;
    return TRUE;
}

gboolean
vi_net_ifupdown_source_includes (const ViIfupdownSource *src, const char *path)
{
    g_autofree char *dir = NULL, *base = NULL;

    if (!src->directory)
        return fnmatch (src->pattern, path, FNM_PATHNAME | FNM_PERIOD) == 0;
    dir = g_path_get_dirname (path);
    base = g_path_get_basename (path);
    return g_str_equal (dir, src->pattern) && run_parts_name (base);
}

/* ---- systemd-networkd ---------------------------------------------------- */

char *
vi_net_networkd_path (const ViInterface *i)
{
    return g_strdup_printf ("/etc/systemd/network/0-virt-inject-%s.network", i->name);
}

/* Whether @value (a whitespace-separated list, "!" in front inverting it)
 * excludes @what; @mac: compare as MAC addresses. */
static gboolean
match_list_excludes (const char *value, const char *what, gboolean mac)
{
    gboolean invert = *value == '!';
    g_auto(GStrv) w = g_strsplit_set (value + invert, " \t", -1);
    gboolean any = FALSE, listed = FALSE;

    for (guint k = 0; w[k]; k++) {
        if (*w[k] == '\0')
            continue;
        any = TRUE;
        listed |= mac ? g_ascii_strcasecmp (w[k], what) == 0 : fnmatch (w[k], what, 0) == 0;
    }
    return any && (invert ? listed : !listed);
}

gboolean
vi_net_networkd_may_match (const char *text, const ViInterface *i)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    gboolean in_match = FALSE, any_key = FALSE, excluded = FALSE;

    for (guint k = 0; lines[k]; k++) {
        g_autofree char *l = g_strstrip (g_strdup (lines[k]));
        char *eq;

        if (*l == '[') {
            in_match = g_str_equal (l, "[Match]");
            continue;
        }
        if (!in_match || *l == '#' || *l == ';' || (eq = strchr (l, '=')) == NULL)
            continue;
        *eq = '\0';
        g_strchomp (l);
        g_strchug (eq + 1);
        if (eq[1] == '\0')
            continue;               /* an empty assignment resets; nothing to test */
        any_key = TRUE;
        if (i->mac && (g_str_equal (l, "MACAddress") || g_str_equal (l, "PermanentMACAddress")))
            excluded |= match_list_excludes (eq + 1, i->mac, TRUE);
        else if (!i->mac && g_str_equal (l, "Name"))
            excluded |= match_list_excludes (eq + 1, i->name, FALSE);
    }
    /* no [Match] setting: networkd ignores the file ("No valid settings
     * found in the [Match] section, ignoring file") */
    return any_key && !excluded;
}

/* ---- NetworkManager ------------------------------------------------------ */

/* The value of @key in [@group] of the keyfile @lines, or NULL. */
static char *
keyfile_value (char **lines, const char *group, const char *key)
{
    g_autofree char *header = g_strdup_printf ("[%s]", group);
    gboolean in = FALSE;
    char *value = NULL;

    for (guint k = 0; lines[k]; k++) {
        const char *l = lines[k] + strspn (lines[k], " \t");
        gsize n = strlen (key);

        if (*l == '[') {
            g_autofree char *h = g_strstrip (g_strdup (l));
            in = g_str_equal (h, header);
        } else if (in && strncmp (l, key, n) == 0 && (l[n] == '=' || l[n] == ' ')) {
            const char *v = strchr (l, '=');
            if (v) {
                g_free (value);
                value = g_strstrip (g_strdup (v + 1));
            }
        }
    }
    return value;
}

char *
vi_net_nm_disable (const char *text, const ViInterface *i)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    g_autofree char *type = keyfile_value (lines, "connection", "type");
    g_autofree char *ifname = keyfile_value (lines, "connection", "interface-name");
    g_autofree char *autoconnect = keyfile_value (lines, "connection", "autoconnect");
    g_autofree char *mac = keyfile_value (lines, "ethernet", "mac-address");
    g_autofree char *mac_old = keyfile_value (lines, "802-3-ethernet", "mac-address");
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
    gboolean bound, in_connection = FALSE, done = FALSE;
    guint last_key = 0;
    gint connection_header = -1;

    if (mac == NULL)
        mac = g_steal_pointer (&mac_old);
    if (type && !g_str_equal (type, "ethernet") && !g_str_equal (type, "802-3-ethernet"))
        return g_strdup (text);
    bound = (ifname && g_str_equal (ifname, i->name)) ||
            (mac && i->mac && g_ascii_strcasecmp (mac, i->mac) == 0);
    if (!bound || (autoconnect && (g_ascii_strcasecmp (autoconnect, "false") == 0 ||
                                   g_str_equal (autoconnect, "0") ||
                                   g_ascii_strcasecmp (autoconnect, "no") == 0)))
        return g_strdup (text);

    /* the last line of [connection] that is not blank */
    for (guint k = 0; lines[k]; k++) {
        const char *l = lines[k] + strspn (lines[k], " \t");

        if (*l == '[') {
            g_autofree char *h = g_strstrip (g_strdup (l));
            in_connection = g_str_equal (h, "[connection]");
            if (in_connection) {
                connection_header = k;
                last_key = k;
            }
        } else if (in_connection && *l != '\0') {
            last_key = k;
        }
    }
    if (connection_header < 0)
        return g_strdup (text);         /* not a profile NetworkManager would load */
    for (guint k = 0; lines[k]; k++) {
        const char *l = lines[k] + strspn (lines[k], " \t");
        gboolean is_autoconnect = k > (guint) connection_header && k <= last_key &&
                                  g_str_has_prefix (l, "autoconnect") &&
                                  (l[11] == '=' || l[11] == ' ');

        g_ptr_array_add (out, is_autoconnect ? g_strconcat (VI_NET_MARK, lines[k], NULL)
                                             : g_strdup (lines[k]));
        if (k == last_key && !done) {
            g_ptr_array_add (out, g_strdup (VI_NET_MARK_ADDED));
            g_ptr_array_add (out, g_strdup ("autoconnect=false"));
            done = TRUE;
        }
    }
    return join_lines (out);
}

/* The value of the shell variable @key in the ifcfg @lines (quotes
 * removed), or NULL. */
static char *
ifcfg_value (char **lines, const char *key)
{
    char *value = NULL;
    gsize n = strlen (key);

    for (guint k = 0; lines[k]; k++) {
        const char *l = lines[k] + strspn (lines[k], " \t");
        gsize len;

        if (strncmp (l, key, n) != 0 || l[n] != '=')
            continue;
        g_free (value);
        value = g_strstrip (g_strdup (l + n + 1));
        len = strlen (value);
        if (len >= 2 && (value[0] == '"' || value[0] == '\'') && value[len - 1] == value[0]) {
            memmove (value, value + 1, len - 2);
            value[len - 2] = '\0';
        }
    }
    return value;
}

char *
vi_net_ifcfg_disable (const char *text, const ViInterface *i)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    g_autofree char *type = ifcfg_value (lines, "TYPE");
    g_autofree char *device = ifcfg_value (lines, "DEVICE");
    g_autofree char *hwaddr = ifcfg_value (lines, "HWADDR");
    g_autofree char *onboot = ifcfg_value (lines, "ONBOOT");
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
    guint n = g_strv_length (lines);
    gboolean bound;

    if (type && g_ascii_strcasecmp (type, "Ethernet") != 0)
        return g_strdup (text);
    bound = (device && g_str_equal (device, i->name)) ||
            (hwaddr && i->mac && g_ascii_strcasecmp (hwaddr, i->mac) == 0);
    if (!bound || (onboot && (g_ascii_strcasecmp (onboot, "no") == 0 ||
                              g_ascii_strcasecmp (onboot, "false") == 0)))
        return g_strdup (text);
    for (guint k = 0; k < n; k++) {
        const char *l = lines[k] + strspn (lines[k], " \t");
        gboolean last = k + 1 == n || (k + 2 == n && lines[k + 1][0] == '\0');

        if (k + 1 == n && lines[k][0] == '\0') {
            g_ptr_array_add (out, g_strdup (""));       /* the final newline */
            break;
        }
        g_ptr_array_add (out, g_str_has_prefix (l, "ONBOOT=")
                              ? g_strconcat (VI_NET_MARK, lines[k], NULL) : g_strdup (lines[k]));
        if (last) {
            g_ptr_array_add (out, g_strdup (VI_NET_MARK_ADDED));
            g_ptr_array_add (out, g_strdup ("ONBOOT=no"));
        }
    }
    if (n == 0 || (n == 1 && lines[0][0] == '\0'))
        return g_strdup (text);
    return join_lines (out);
}

/* ---- netplan ------------------------------------------------------------- */

/* One line of block-style YAML: FALSE for a blank line or a comment; else
 * its indentation and, for "KEY:" or "KEY: VALUE", the key (unquoted) and
 * the value ("" when none; a trailing comment is no value). */
static gboolean
yaml_line (const char *line, guint *indent, char **key, char **value)
{
    const char *p = line + strspn (line, " ");
    const char *k, *end, *colon;

    *key = *value = NULL;
    *indent = p - line;
    if (*p == '\0' || *p == '#')
        return FALSE;
    if (*p == '"' || *p == '\'') {
        k = p + 1;
        end = strchr (k, *p);
        if (end == NULL)
            return TRUE;
        colon = end + 1;
    } else {
        k = p;
        for (colon = p; *colon && !(*colon == ':' && (colon[1] == '\0' || colon[1] == ' '));
             colon++)
            ;
        end = colon;
    }
    if (*colon != ':' || *p == '-')
        return TRUE;
    *key = g_strndup (k, end - k);
    g_strchomp (*key);
    *value = g_strstrip (g_strdup (colon + 1));
    if (**value == '#')
        **value = '\0';
    return TRUE;
}

/* Keys whose values netplan adds to ours instead of replacing them. */
static gboolean
netplan_additive (const char *key)
{
    static const char *const keys[] = { "addresses", "routes", "routing-policy", "nameservers",
                                        "gateway4", "gateway6", NULL };

    return g_strv_contains (keys, key);
}

/* A line of a definition of another id that selects the NIC of @i. */
static gboolean
netplan_selects (const char *key, const char *value, const char *line, const ViInterface *i)
{
    if (i->mac) {
        g_autofree char *low = g_ascii_strdown (line, -1);
        return strstr (low, i->mac) != NULL;
    }
    if (key && value && (g_str_equal (key, "name") || g_str_equal (key, "set-name"))) {
        g_autofree char *v = g_strdup (value);
        gsize n = strlen (v);

        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v[n - 1] = '\0';
            return g_str_equal (v + 1, i->name);
        }
        return g_str_equal (v, i->name);
    }
    return FALSE;
}

typedef struct {
    char *id;
    guint header;
    guint indent;
    gint child_indent;
    guint children, disabled;
    gboolean child_disabled;        /* the lines of the current child go too */
} NetplanDef;

/* The end of definition @def: one of @i whose every key went becomes
 * "ID: {}" (a definition with no value is an error to netplan). */
static void
netplan_end_def (NetplanDef *def, const ViInterface *i, gboolean *off, char **added)
{
    if (def->id && g_str_equal (def->id, i->name) && def->children > 0 &&
        def->disabled == def->children) {
        off[def->header] = TRUE;
        added[def->header] = g_strdup_printf ("%*s%s: {}", (int) def->indent, "", def->id);
    }
    g_clear_pointer (&def->id, g_free);
}

char *
vi_net_netplan_disable (const char *text, const ViInterface *i, gboolean later, const char *path,
                        GError **error)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    guint n = g_strv_length (lines);
    g_autofree gboolean *off = g_new0 (gboolean, n + 1);
    g_autofree char **added = g_new0 (char *, n + 1);      /* a line added after line k */
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
    gboolean in_network = FALSE, in_eth = FALSE;
    guint eth_indent = 0;
    gint id_indent = -1;
    NetplanDef def = { 0 };
    gboolean ok = TRUE;

    for (guint k = 0; k < n && ok; k++) {
        guint ind;
        g_autofree char *key = NULL, *value = NULL;

        if (!yaml_line (lines[k], &ind, &key, &value))
            continue;
        if (ind == 0) {
            netplan_end_def (&def, i, off, added);
            in_network = key && g_str_equal (key, "network");
            in_eth = FALSE;
            continue;
        }
        if (!in_network)
            continue;
        if (in_eth && ind <= eth_indent) {
            netplan_end_def (&def, i, off, added);
            in_eth = FALSE;
        }
        if (!in_eth) {
            if (key && g_str_equal (key, "ethernets")) {
                g_autofree char *low = g_ascii_strdown (value, -1);

                if (*value == '\0') {
                    in_eth = TRUE;
                    eth_indent = ind;
                    id_indent = -1;
                } else if (strstr (value, i->name) || (i->mac && strstr (low, i->mac))) {
                    ok = vi_throw (error, VI_ERROR_GUEST, "%s: its flow-style 'ethernets' may "
                                   "configure %s; virt-inject edits only block style: rewrite it "
                                   "or remove %s from it", path, i->name, i->name);
                }
            }
            continue;
        }
        if (id_indent < 0 || ind <= (guint) id_indent) {
            netplan_end_def (&def, i, off, added);
            id_indent = ind;
            def = (NetplanDef) { .id = g_strdup (key ? key : ""), .header = k, .indent = ind,
                                 .child_indent = -1 };
            if (g_str_equal (def.id, i->name) && later) {
                ok = vi_throw (error, VI_ERROR_GUEST, "%s: defines %s and sorts after %s, so "
                               "netplan would let its values win; rename it to sort before, or "
                               "remove %s from it", path, i->name, VI_NET_NETPLAN_PATH, i->name);
            } else if (g_str_equal (def.id, i->name) && value && *value &&
                       !g_str_equal (value, "{}")) {
                /* a flow mapping on the line: all or nothing */
                if (strstr (value, "addresses") || strstr (value, "routes") ||
                    strstr (value, "routing-policy") || strstr (value, "nameservers") ||
                    strstr (value, "gateway")) {
                    off[k] = TRUE;
                    added[k] = g_strdup_printf ("%*s%s: {}", (int) ind, "", def.id);
                }
                g_clear_pointer (&def.id, g_free);
            } else if (!g_str_equal (def.id, i->name) &&
                       netplan_selects (NULL, NULL, lines[k], i)) {
                ok = FALSE;
            }
            if (!ok && error && *error == NULL)
                vi_throw (error, VI_ERROR_GUEST, "%s: its definition '%s' selects the NIC of %s "
                          "too; netplan would configure it twice: name the interface '%s' in the "
                          "request, or remove that definition", path, def.id, i->name, def.id);
            continue;
        }
        if (def.id == NULL)
            continue;
        if (!g_str_equal (def.id, i->name)) {
            if (netplan_selects (key, value, lines[k], i))
                ok = vi_throw (error, VI_ERROR_GUEST, "%s: its definition '%s' selects the NIC "
                               "of %s too; netplan would configure it twice: name the interface "
                               "'%s' in the request, or remove that definition", path, def.id,
                               i->name, def.id);
            continue;
        }
        if (def.child_indent < 0)
            def.child_indent = ind;
        /* a sequence may be indented as its key ("addresses:" then "- X"
         * below it, as cloud-init writes): it is still that key's value */
        if (ind <= (guint) def.child_indent && lines[k][ind] != '-') {
            def.children++;
            def.child_disabled = key && netplan_additive (key);
            def.disabled += def.child_disabled;
        }
        off[k] = def.child_disabled;
    }
    if (ok)
        netplan_end_def (&def, i, off, added);
    g_clear_pointer (&def.id, g_free);
    if (!ok) {
        for (guint k = 0; k < n; k++)
            g_free (added[k]);
        return NULL;
    }
    for (guint k = 0; k < n; k++) {
        g_ptr_array_add (out, off[k] ? g_strconcat (VI_NET_MARK, lines[k], NULL)
                                     : g_strdup (lines[k]));
        if (added[k]) {
            g_ptr_array_add (out, g_strdup (VI_NET_MARK_ADDED));
            g_ptr_array_add (out, added[k]);
        }
    }
    return join_lines (out);
}
