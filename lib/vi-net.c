/* vi-net.c: network configuration for the stack the guest really uses.
 *
 * Detection looks at what is installed *and* enabled (binaries, systemd
 * enablement links, OpenRC runlevels), never at which directories exist: a
 * Debian tree running ifupdown also ships /etc/systemd/network/.  The
 * renderers are pure functions from the request's interfaces to files.
 */
#include "vi-net.h"

#include <string.h>

#include "vi-error.h"
#include "vi-guest.h"

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
    }
}

/* ifupdown, Debian's or busybox's (Alpine).  busybox has no DNS handling:
 * dns-nameservers (read by Debian's resolvconf hook) is left out, and the
 * caller writes the nameservers to /etc/resolv.conf (see vi-inject.c). */
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

    for (guint k = 0; k < dns6->len; k++)
        g_ptr_array_add (dns, g_strdup (dns6->pdata[k]));
    if (dns->len > 0 && !busybox) {
        g_autofree char *d = join (dns, " ");
        dns_line = g_strdup_printf ("    dns-nameservers %s\n", d);
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
    if (dns_line && (i->dhcp || a4->len > 0))
        g_string_append (s, dns_line);
    ifupdown_static (s, i->name, a6, g6, TRUE, busybox);
    if (dns_line && a6->len > 0 && !i->dhcp && a4->len == 0)
        g_string_append (s, dns_line);
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
    g_string_append (s, "autoconnect=true\n");
    g_string_append (s, "\n[ethernet]\n");
    if (i->mac)
        g_string_append_printf (s, "mac-address=%s\n", i->mac);
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
        g_string_append_printf (s, "      dhcp4: %s\n", i->dhcp ? "true" : "false");
        yaml_list (s, "      ", "addresses", addrs);
        if (i->gateways->len) {
            g_string_append (s, "      routes:\n");
            for (guint k = 0; k < i->gateways->len; k++) {
                g_autofree char *gw = inet_str (i->gateways->pdata[k]);
                g_string_append_printf (s, "        - to: default\n          via: \"%s\"\n", gw);
            }
        }
        if (dns->len) {
            g_string_append (s, "      nameservers:\n");
            yaml_list (s, "        ", "addresses", dns);
        }
    }
    return net_file (g_strdup ("/etc/netplan/90-virt-inject.yaml"), s, 0600);
}

static ViNetFile *
render_networkd (const ViInterface *i)
{
    GString *s = g_string_new (HEADER "[Match]\n");

    if (i->mac)
        g_string_append_printf (s, "MACAddress=%s\n", i->mac);
    else
        g_string_append_printf (s, "Name=%s\n", i->name);
    g_string_append (s, "\n[Network]\n");
    g_string_append_printf (s, "DHCP=%s\n", i->dhcp ? "ipv4" : "no");
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
    return net_file (g_strdup_printf ("/etc/systemd/network/10-virt-inject-%s.network", i->name),
                     s, 0644);
}

GPtrArray *
vi_net_render (ViNetRenderer renderer, GPtrArray *interfaces, GError **error)
{
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_net_file_free);

    switch (renderer) {
    case VI_RENDERER_NETPLAN:
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
