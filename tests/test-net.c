/* test-net.c: properties of the network renderers that hold for every
 * stack, checked on the rendered text (the exact bytes are pinned by the
 * golden files, tests/test-golden.c). */
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "vi-error.h"
#include "vi-net.h"
#include "vi-spec.h"

#define NS "http://virt-inject.org/xmlns/libvirt/domain/1.0"

/* All the files a renderer makes for the <network> @body, concatenated;
 * @busybox: busybox's ifupdown (VI_RENDERER_IFUPDOWN, as on Alpine). */
static char *
render_as (ViNetRenderer renderer, gboolean busybox, const char *body)
{
    g_autofree char *xml = g_strdup_printf ("<vi:inject xmlns:vi='" NS "'><vi:network>%s"
                                            "</vi:network></vi:inject>", body);
    g_autoptr(GError) error = NULL;
    g_autoptr(ViSpec) spec = vi_spec_parse (xml, strlen (xml), NULL, &error);
    g_autoptr(GPtrArray) files = NULL;
    GString *all = g_string_new (NULL);

    g_assert_no_error (error);
    files = busybox ? vi_net_render_ifupdown_busybox (spec->interfaces)
                    : vi_net_render (renderer, spec->interfaces, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < files->len; i++)
        g_string_append (all, ((ViNetFile *) files->pdata[i])->content);
    return g_string_free (all, FALSE);
}

static char *
render (ViNetRenderer renderer, const char *body)
{
    return render_as (renderer, FALSE, body);
}

/* A consumer the test needs is missing: the test command installs every
 * one, so under CI (CI set) that is a failure, not a skip. */
static void
consumer_missing (const char *what)
{
    g_autofree char *msg = g_strdup_printf ("%s is not installed (scripts/install-deps.sh "
                                            "installs it)", what);

    if (g_getenv ("CI") != NULL) {
        g_test_message ("%s", msg);
        g_test_fail ();
    } else {
        g_test_skip (msg);
    }
}


typedef struct {
    ViNetRenderer renderer;
    const char *selects;            /* the line that selects the NIC by its MAC */
    const char *const *never;       /* what would rename it or select it by name */
} MacCase;

static const char *const nm_never[] = { "interface-name=", NULL };
static const char *const netplan_never[] = { "set-name", NULL };
static const char *const networkd_never[] = { "Name=", "[Link]", NULL };
/* a plain "auto eth0" would wait for a NIC of that name, which a guest with
 * predictable names (ens3, enp1s0) never has */
static const char *const ifupdown_never[] = { "auto eth0\n", "rename", NULL };

static const MacCase mac_cases[] = {
    { VI_RENDERER_NETWORKMANAGER, "mac-address=52:54:00:12:34:56\n", nm_never },
    { VI_RENDERER_NETPLAN, "macaddress: \"52:54:00:12:34:56\"\n", netplan_never },
    { VI_RENDERER_NETWORKD, "MACAddress=52:54:00:12:34:56\n", networkd_never },
    /* Debian's ifupdown: a MAC pattern mapped to the logical interface */
    { VI_RENDERER_IFUPDOWN, "auto mac/52:54:00:12:34:56/=eth0\niface eth0 ", ifupdown_never },
};

/* <interface name= mac=>: every stack that can match by MAC selects the NIC
 * by it and leaves its name alone (README, "Decisions"). */
static void
test_mac_no_rename (gconstpointer data)
{
    const MacCase *c = data;
    g_autofree char *out = render (c->renderer, "<vi:interface name='eth0' "
                                   "mac='52:54:00:12:34:56'><vi:dhcp/></vi:interface>");

    g_assert_nonnull (strstr (out, c->selects));
    for (const char *const *n = c->never; *n; n++)
        if (strstr (out, *n)) {
            g_test_message ("%s has '%s':\n%s", vi_net_renderer_to_string (c->renderer), *n, out);
            g_test_fail ();
        }
}

/* What busybox's ifup (networking/ifupdown.c) accepts in a stanza, as
 * read in its source: an option given twice in one stanza stops the parse
 * of the whole file (but for "up", "down", "pre-up" and "post-down", which
 * are lists of commands); the inet and inet6 static methods add the address as
 * `address`/`netmask` and give up when netmask is missing, inet wanting a
 * dotted-quad mask with contiguous bits (it converts it to a prefix
 * length), inet6 a prefix length. */
static void
check_busybox_stanza (const char *family, const char *method, GHashTable *opts)
{
    const char *address = g_hash_table_lookup (opts, "address");
    const char *netmask = g_hash_table_lookup (opts, "netmask");

    if (!g_str_equal (method, "static"))
        return;
    g_assert_nonnull (address);
    g_assert_nonnull (netmask);
    g_assert_null (strchr (address, '/'));
    if (g_str_equal (family, "inet")) {
        struct in_addr m;
        guint32 inv;

        g_assert_cmpint (inet_pton (AF_INET, netmask, &m), ==, 1);
        inv = ~ntohl (m.s_addr);
        g_assert_cmpuint (inv & (inv + 1), ==, 0);
        g_assert_cmpuint (inv, !=, G_MAXUINT32);
    } else {
        guint64 prefix = 0;

        g_assert_true (g_ascii_string_to_unsigned (netmask, 10, 1, 128, &prefix, NULL));
    }
}

static void
test_busybox_syntax (void)
{
    g_autofree char *out = render_as (VI_RENDERER_IFUPDOWN, TRUE,
        "<vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address>"
        "<vi:address>198.51.100.7/20</vi:address><vi:address>10.1.2.3/32</vi:address>"
        "<vi:address>2001:db8::10/64</vi:address><vi:address>2001:db8:1::10/48</vi:address>"
        "<vi:gateway>192.0.2.1</vi:gateway><vi:gateway>2001:db8::1</vi:gateway>"
        "<vi:nameserver>192.0.2.53</vi:nameserver><vi:nameserver>2001:db8::53</vi:nameserver>"
        "<vi:search>example.com</vi:search><vi:mtu>1450</vi:mtu>"
        "<vi:route to='198.51.100.0/24' via='192.0.2.254' metric='100'/>"
        "<vi:route to='203.0.113.0/24' via='10.1.2.3'/>"
        "<vi:route to='2001:db8:2::/48' via='2001:db8:1::1'/></vi:interface>");
    g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
    g_autoptr(GHashTable) opts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_autofree char *family = NULL, *method = NULL;
    guint stanzas = 0;

    for (guint n = 0; ; n++) {
        const char *l = lines[n];

        if (l == NULL || !g_str_has_prefix (l, "    ")) {
            if (family)
                check_busybox_stanza (family, method, opts);
            g_clear_pointer (&family, g_free);
            g_clear_pointer (&method, g_free);
            g_hash_table_remove_all (opts);
        }
        if (l == NULL)
            break;
        if (g_str_has_prefix (l, "iface ")) {
            g_auto(GStrv) w = g_strsplit (l, " ", -1);

            g_assert_cmpuint (g_strv_length (w), ==, 4);
            family = g_strdup (w[2]);
            method = g_strdup (w[3]);
            stanzas++;
        } else if (g_str_has_prefix (l, "    ")) {
            const char *sp = strchr (l + 4, ' ');

            g_assert_nonnull (family);
            g_assert_nonnull (sp);
            if (g_str_has_prefix (l, "    up ") || g_str_has_prefix (l, "    down ") ||
                g_str_has_prefix (l, "    pre-up "))
                continue;
            if (!g_hash_table_insert (opts, g_strndup (l + 4, sp - (l + 4)), g_strdup (sp + 1)))
                g_error ("option given twice in a stanza:\n%s", out);
        }
    }
    g_assert_cmpuint (stanzas, ==, 5);      /* one per address */
    /* the MTU once, before the first address; each route in the last
     * stanza of its family; DNS in resolv.conf, not here */
    g_assert_nonnull (strstr (out, "iface eth0 inet static\n    pre-up ip link set dev $IFACE mtu 1450\n"
                                   "    address 192.0.2.10\n"));
    g_assert_nonnull (strstr (out, "    netmask 255.255.255.255\n"
                                   "    up ip route add 198.51.100.0/24 via 192.0.2.254 dev $IFACE metric 100\n"
                                   "    down ip route del 198.51.100.0/24 via 192.0.2.254 dev $IFACE metric 100\n"
                                   "    up ip route add 203.0.113.0/24 via 10.1.2.3 dev $IFACE\n"));
    g_assert_true (g_str_has_suffix (out, "    netmask 48\n"
                                          "    up ip -6 route add 2001:db8:2::/48 via 2001:db8:1::1 dev $IFACE\n"
                                          "    down ip -6 route del 2001:db8:2::/48 via 2001:db8:1::1 dev $IFACE\n"));
    g_assert_null (strstr (out, "dns-"));
}

/* ---- the guest's own configuration ------------------------------------- */

static gint
strcmp_ptr (gconstpointer a, gconstpointer b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The Debian installer's /etc/network/interfaces. */
static const char debian_installer[] =
    "# This file describes the network interfaces available on your system\n"
    "# and how to activate them. For more information, see interfaces(5).\n"
    "\n"
    "source /etc/network/interfaces.d/*\n"
    "\n"
    "# The loopback network interface\n"
    "auto lo\n"
    "iface lo inet loopback\n"
    "\n"
    "# The primary network interface\n"
    "allow-hotplug eth0\n"
    "iface eth0 inet dhcp\n"
    "# This is an autoconfigured IPv6 interface\n"
    "iface eth0 inet6 auto\n";

static const char debian_installer_disabled[] =
    "# This file describes the network interfaces available on your system\n"
    "# and how to activate them. For more information, see interfaces(5).\n"
    "\n"
    "source /etc/network/interfaces.d/*\n"
    "\n"
    "# The loopback network interface\n"
    "auto lo\n"
    "iface lo inet loopback\n"
    "\n"
    "# The primary network interface\n"
    "# virt-inject: allow-hotplug eth0\n"
    "# virt-inject: iface eth0 inet dhcp\n"
    "# This is an autoconfigured IPv6 interface\n"
    "# virt-inject: iface eth0 inet6 auto\n";

/* Harder: lists naming several interfaces, an alias, a mapping, option
 * lines, continued lines, an interface whose name starts with a requested
 * one (eth10), indentation, no final newline. */
static const char tricky[] =
    "auto lo eth0 eth1\n"
    "iface lo inet loopback\n"
    "iface eth0 inet static\n"
    "    address 10.0.0.5/24\n"
    "    # a comment inside\n"
    "    up ip route add 10.9.0.0/16 \\\n"
    "       via 10.0.0.254\n"
    "\n"
    "  iface eth0:1 inet static\n"
    "    address 10.0.0.6/24\n"
    "allow-hotplug eth10 \\\n"
    "  eth0\n"
    "iface eth10 inet dhcp\n"
    "mapping eth0\n"
    "    script /usr/local/sbin/map\n"
    "    map home eth0-home\n"
    "iface eth0-home inet dhcp\n"
    "iface eth1 inet dhcp";

static const char tricky_disabled[] =
    "# virt-inject: auto lo eth0 eth1\n"
    VI_NET_MARK_ADDED "\n"
    "auto lo eth1\n"
    "iface lo inet loopback\n"
    "# virt-inject: iface eth0 inet static\n"
    "# virt-inject:     address 10.0.0.5/24\n"
    "    # a comment inside\n"
    "# virt-inject:     up ip route add 10.9.0.0/16 \\\n"
    "# virt-inject:        via 10.0.0.254\n"
    "\n"
    "# virt-inject:   iface eth0:1 inet static\n"
    "# virt-inject:     address 10.0.0.6/24\n"
    "# virt-inject: allow-hotplug eth10 \\\n"
    "# virt-inject:   eth0\n"
    VI_NET_MARK_ADDED "\n"
    "allow-hotplug eth10\n"
    "iface eth10 inet dhcp\n"
    "# virt-inject: mapping eth0\n"
    "# virt-inject:     script /usr/local/sbin/map\n"
    "# virt-inject:     map home eth0-home\n"
    "iface eth0-home inet dhcp\n"
    "iface eth1 inet dhcp";

static const char *const eth0[] = { "eth0", NULL };

/* The revert command README.md gives, run by sed(1) on @text. */
static char *
sed_revert (const char *text)
{
    g_autofree char *path = NULL;
    g_autofree char *out = NULL;
    g_autoptr(GError) error = NULL;
    int fd = g_file_open_tmp ("vi-net-XXXXXX", &path, &error);
    const char *argv[] = { "sed", "-e", "/^" VI_NET_BLOCK_BEGIN "$/,/^" VI_NET_BLOCK_END "$/d",
                           "-e", "/^" VI_NET_MARK_ADDED "$/{N;d}", "-e", "s/^" VI_NET_MARK "//",
                           NULL, NULL };
    int status = 0;

    g_assert_no_error (error);
    close (fd);
    g_assert_true (g_file_set_contents (path, text, -1, &error));
    argv[7] = path;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 &out, NULL, &status, &error));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_unlink (path);
    return g_steal_pointer (&out);
}

/* Disabling gives @want, a second pass changes no byte, vi_net_unmark()
 * and the documented sed command both give @text back. */
static void
check_disable (const char *text, const char *want)
{
    g_autofree char *got = vi_net_ifupdown_disable (text, eth0);
    g_autofree char *again = vi_net_ifupdown_disable (got, eth0);
    g_autofree char *back = vi_net_unmark (got);
    g_autofree char *sed_back = sed_revert (got);

    g_assert_cmpstr (got, ==, want);
    g_assert_cmpstr (again, ==, got);
    g_assert_cmpstr (back, ==, text);
    g_assert_cmpstr (sed_back, ==, text);
}

static void
test_ifupdown_disable (void)
{
    g_autofree char *same = vi_net_ifupdown_disable ("auto lo\niface lo inet loopback\n", eth0);

    check_disable (debian_installer, debian_installer_disabled);
    check_disable (tricky, tricky_disabled);
    g_assert_cmpstr (same, ==, "auto lo\niface lo inet loopback\n");
}

/* Only a line that really makes ifupdown read our file counts (#13). */
static void
test_ifupdown_sources (void)
{
    static const struct {
        const char *line;
        gboolean includes;
    } cases[] = {
        { "source /etc/network/interfaces.d/*", TRUE },
        { "source /etc/network/interfaces.d/virt-inject-*", TRUE },
        { "source interfaces.d/*", TRUE },
        { "source-directory /etc/network/interfaces.d", TRUE },
        { "source-directory interfaces.d", TRUE },
        { "  source /etc/network/interfaces.d/virt-inject-eth0", TRUE },
        { "source /etc/network/interfaces.d/eth0", FALSE },
        { "source /etc/network/interfaces.d/*.cfg", FALSE },
        { "source /etc/network/interfaces.d", FALSE },
        { "source-directory /etc/network/interfaces.d/eth0", FALSE },
        { "# source /etc/network/interfaces.d/*", FALSE },
        { "source /etc/network/interfaces.d/.*", FALSE },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr(GPtrArray) src = vi_net_ifupdown_sources (cases[i].line, "/etc/network");
        gboolean inc = src->len == 1 &&
            vi_net_ifupdown_source_includes (src->pdata[0],
                                             "/etc/network/interfaces.d/virt-inject-eth0");

        if (inc != cases[i].includes)
            g_error ("'%s' %s our file", cases[i].line, inc ? "includes" : "does not include");
    }
    {
        /* source-directory reads only run-parts(8) names */
        g_autoptr(GPtrArray) src = vi_net_ifupdown_sources ("source-directory interfaces.d\n",
                                                            "/etc/network");
        g_assert_false (vi_net_ifupdown_source_includes (
            src->pdata[0], "/etc/network/interfaces.d/virt-inject-eth0.100"));
    }
}

/* What Debian's ifup would run for @iface (ifup --no-act), given one
 * interfaces file; NULL when ifupdown is not installed. */
static char *
ifup_no_act_iface (const char *text, const char *iface)
{
    g_autofree char *path = NULL;
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(GError) error = NULL;
    int fd, status = 0;
    const char *argv[] = { "ifup", "--no-act", "-v", "-i", NULL, iface, NULL };

    if (!g_file_test ("/usr/sbin/ifup", G_FILE_TEST_IS_EXECUTABLE) &&
        !g_file_test ("/sbin/ifup", G_FILE_TEST_IS_EXECUTABLE))
        return NULL;
    fd = g_file_open_tmp ("vi-ifup-XXXXXX", &path, &error);
    g_assert_no_error (error);
    close (fd);
    g_assert_true (g_file_set_contents (path, text, -1, &error));
    argv[4] = path;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 &out, &err, &status, &error));
    g_unlink (path);
    if (!g_spawn_check_wait_status (status, NULL))
        g_error ("ifup --no-act failed:\n%s%s\n%s", out, err, text);
    return g_strconcat (out, err, NULL);
}

static char *
ifup_no_act (const char *text)
{
    return ifup_no_act_iface (text, "eth0");
}

/* The case, checked with the consumer: the installer's DHCP
 * stanza beside our static one gives a DHCP client beside the address;
 * once disabled, exactly ours (positive control: ours alone). */
static void
test_ifupdown_consumer (void)
{
    g_autofree char *ours = render (VI_RENDERER_IFUPDOWN,
        "<vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address>"
        "<vi:gateway>192.0.2.1</vi:gateway></vi:interface>");
    g_autofree char *raw = g_strconcat (debian_installer, ours, NULL);
    g_autofree char *fixed = g_strconcat (debian_installer_disabled, ours, NULL);
    g_autofree char *control = NULL, *before = NULL, *after = NULL;

    control = ifup_no_act (ours);
    if (control == NULL) {
        consumer_missing ("ifupdown (ifup)");
        return;
    }
    before = ifup_no_act (raw);
    after = ifup_no_act (fixed);
    g_assert_nonnull (strstr (control, "ip addr add 192.0.2.10/255.255.255.0"));
    g_assert_null (strstr (control, "dhclient"));
    g_assert_nonnull (strstr (before, "dhclient"));           /* the bug of #13 */
    g_assert_nonnull (strstr (after, "ip addr add 192.0.2.10/255.255.255.0"));
    g_assert_null (strstr (after, "dhclient"));
    g_assert_null (strstr (after, "accept_ra=2"));            /* nor inet6 auto */
    g_assert_cmpstr (after, ==, control);
}

/* Routes, MTU and search domains as Debian's ifup runs them: the MTU
 * before the first address (and before the DHCP client), each route after
 * the addresses (or the lease) of its family, dns-search for resolvconf. */
static void
test_ifupdown_routes_consumer (void)
{
    g_autofree char *ours = render (VI_RENDERER_IFUPDOWN,
        "<vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address>"
        "<vi:address>2001:db8::10/64</vi:address><vi:search>example.com</vi:search>"
        "<vi:route to='198.51.100.0/24' via='192.0.2.254' metric='100'/>"
        "<vi:route to='2001:db8:1::/48' via='2001:db8::fffe'/><vi:mtu>1450</vi:mtu></vi:interface>");
    g_autofree char *dhcp = render (VI_RENDERER_IFUPDOWN,
        "<vi:interface name='eth0'><vi:dhcp/><vi:route to='198.51.100.0/24' via='10.0.2.254'/>"
        "<vi:mtu>9000</vi:mtu></vi:interface>");
    g_autofree char *out = ifup_no_act (ours);
    g_autofree char *out_dhcp = NULL;
    const char *mtu, *addr, *route, *addr6, *route6;

    if (out == NULL) {
        g_test_skip ("ifupdown is not installed");
        return;
    }
    g_assert_nonnull (strstr (ours, "    dns-search example.com\n"));
    mtu = strstr (out, "ip link set dev $IFACE mtu 1450\n");
    addr = strstr (out, "ip addr add 192.0.2.10/255.255.255.0");
    route = strstr (out, "ip route add 198.51.100.0/24 via 192.0.2.254 dev $IFACE metric 100\n");
    addr6 = strstr (out, "ip -6 addr add 2001:db8::10/64");
    route6 = strstr (out, "ip -6 route add 2001:db8:1::/48 via 2001:db8::fffe dev $IFACE\n");
    g_assert_true (mtu && addr && route && addr6 && route6);
    g_assert_true (mtu < addr && addr < route && route < addr6 && addr6 < route6);
    g_assert_null (strstr (strchr (mtu, '\n'), " mtu "));  /* once */
    out_dhcp = ifup_no_act (dhcp);
    mtu = strstr (out_dhcp, "ip link set dev $IFACE mtu 9000\n");
    addr = strstr (out_dhcp, "dhclient");
    route = strstr (out_dhcp, "ip route add 198.51.100.0/24 via 10.0.2.254 dev $IFACE\n");
    g_assert_true (mtu && addr && route && mtu < addr && addr < route);
}

/* The first interface of the <network> @body. */
static ViSpec *
spec_of (const char *body)
{
    g_autofree char *xml = g_strdup_printf ("<vi:inject xmlns:vi='" NS "'><vi:network>%s"
                                            "</vi:network></vi:inject>", body);
    g_autoptr(GError) error = NULL;
    ViSpec *spec = vi_spec_parse (xml, strlen (xml), NULL, &error);

    g_assert_no_error (error);
    return spec;
}

#define ETH0_STATIC "<vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address>" \
                    "<vi:gateway>192.0.2.1</vi:gateway><vi:nameserver>192.0.2.53</vi:nameserver>" \
                    "</vi:interface>"
#define ETH0_MAC "<vi:interface name='eth0' mac='52:54:00:12:34:56'>" \
                 "<vi:address>192.0.2.10/24</vi:address></vi:interface>"

/* networkd: ours sorts before the guest's files, whatever digits they
 * start with ("00-", the "05-"), and [Match] is read as networkd
 * does for the files that could still sort before it. */
static void
test_networkd (void)
{
    g_autoptr(ViSpec) by_name = spec_of (ETH0_STATIC);
    g_autoptr(ViSpec) by_mac = spec_of (ETH0_MAC);
    const ViInterface *n = by_name->interfaces->pdata[0], *m = by_mac->interfaces->pdata[0];
    g_autofree char *path = vi_net_networkd_path (n);
    g_autofree char *base = g_path_get_basename (path);
    static const char *const guest_names[] = {
        "00-eth0.network", "00-.network", "000.network", "05-eth0.network", "0.network",
        "0-wired.network", "10-netplan-eth0.network", "50-dhcp.network", "99-default.network",
        "eth0.network", "A.network", "zz.network", "00-virt-inject-eth0.network",
        "10-virt-inject-eth0.network", NULL
    };

    for (const char *const *g = guest_names; *g; g++)
        if (strcmp (base, *g) >= 0)
            g_error ("%s does not sort before %s", base, *g);

    g_assert_true (vi_net_networkd_may_match ("[Match]\nName=eth0\n[Network]\nDHCP=yes\n", n));
    g_assert_true (vi_net_networkd_may_match ("[Match]\nName=en* eth*\n", n));
    g_assert_true (vi_net_networkd_may_match ("[Match]\nName=!eth1\n", n));
    g_assert_true (vi_net_networkd_may_match ("[Match]\nType=ether\n", n));
    g_assert_true (vi_net_networkd_may_match ("[Match]\nName=*\n", m));
    g_assert_true (vi_net_networkd_may_match ("[Match]\nMACAddress=52:54:00:12:34:56\n", m));
    g_assert_true (vi_net_networkd_may_match ("[Match]\nMACAddress=52:54:00:12:34:56\n", n));
    g_assert_false (vi_net_networkd_may_match ("[Match]\nName=eth1\n[Network]\nDHCP=yes\n", n));
    g_assert_false (vi_net_networkd_may_match ("[Match]\nName=!eth0 eth1\n", n));
    g_assert_false (vi_net_networkd_may_match ("[Match]\nMACAddress=52:54:00:ff:ff:ff\n", m));
    g_assert_false (vi_net_networkd_may_match ("[Network]\nDHCP=yes\n", n));
    g_assert_false (vi_net_networkd_may_match ("[Match]\n# Name=eth0\n", n));
}

static const char nm_guest[] =
    "[connection]\n"
    "id=Wired connection 1\n"
    "uuid=2bd1f8a5-5b0f-4f6c-9d6e-7f1c0b5d2a11\n"
    "type=ethernet\n"
    "interface-name=eth0\n"
    "timestamp=1700000000\n"
    "\n"
    "[ethernet]\n"
    "\n"
    "[ipv4]\n"
    "method=auto\n";

static const char nm_guest_disabled[] =
    "[connection]\n"
    "id=Wired connection 1\n"
    "uuid=2bd1f8a5-5b0f-4f6c-9d6e-7f1c0b5d2a11\n"
    "type=ethernet\n"
    "interface-name=eth0\n"
    "timestamp=1700000000\n"
    VI_NET_MARK_ADDED "\n"
    "autoconnect=false\n"
    "\n"
    "[ethernet]\n"
    "\n"
    "[ipv4]\n"
    "method=auto\n";

static const char nm_guest_mac[] =
    "[connection]\n"
    "id=lan\n"
    "type=802-3-ethernet\n"
    "autoconnect=true\n"
    "autoconnect-priority=999\n"
    "[802-3-ethernet]\n"
    "mac-address=52:54:00:12:34:56\n";

static const char nm_guest_mac_disabled[] =
    "[connection]\n"
    "id=lan\n"
    "type=802-3-ethernet\n"
    "# virt-inject: autoconnect=true\n"
    "autoconnect-priority=999\n"
    VI_NET_MARK_ADDED "\n"
    "autoconnect=false\n"
    "[802-3-ethernet]\n"
    "mac-address=52:54:00:12:34:56\n";

static void
check_nm (const char *text, const ViInterface *i, const char *want)
{
    g_autofree char *got = vi_net_nm_disable (text, i);
    g_autofree char *again = vi_net_nm_disable (got, i);
    g_autofree char *back = vi_net_unmark (got);
    g_autoptr(GKeyFile) kf = g_key_file_new ();
    g_autoptr(GError) error = NULL;

    g_assert_cmpstr (got, ==, want);
    g_assert_cmpstr (again, ==, got);
    g_assert_cmpstr (back, ==, text);
    /* NetworkManager reads keyfiles with GKeyFile */
    g_assert_true (g_key_file_load_from_data (kf, got, -1, G_KEY_FILE_NONE, &error));
    g_assert_no_error (error);
    if (!g_str_equal (got, text))
        g_assert_false (g_key_file_get_boolean (kf, "connection", "autoconnect", NULL));
}

/* NetworkManager: a profile bound to the NIC (by name, or by MAC for a
 * request by MAC) stops autoconnecting; unbound profiles, other devices,
 * other types and profiles already off are left alone. */
static void
test_nm (void)
{
    g_autoptr(ViSpec) by_name = spec_of (ETH0_STATIC);
    g_autoptr(ViSpec) by_mac = spec_of (ETH0_MAC);
    g_autoptr(ViSpec) other = spec_of ("<vi:interface name='eth1'><vi:dhcp/></vi:interface>");
    const ViInterface *n = by_name->interfaces->pdata[0], *m = by_mac->interfaces->pdata[0];
    const ViInterface *o = other->interfaces->pdata[0];
    g_autofree char *ours = render (VI_RENDERER_NETWORKMANAGER, ETH0_STATIC);

    g_assert_nonnull (strstr (ours, "autoconnect=true\nautoconnect-priority=999\n"));
    check_nm (nm_guest, n, nm_guest_disabled);
    check_nm (nm_guest, o, nm_guest);
    check_nm (nm_guest_mac, m, nm_guest_mac_disabled);
    check_nm (nm_guest_mac, n, nm_guest_mac);     /* bound by a MAC ours does not name */
    check_nm ("[connection]\nid=any\ntype=ethernet\n[ipv4]\nmethod=auto\n", n,
              "[connection]\nid=any\ntype=ethernet\n[ipv4]\nmethod=auto\n");
    check_nm ("[connection]\nid=w\ntype=wifi\ninterface-name=eth0\n", n,
              "[connection]\nid=w\ntype=wifi\ninterface-name=eth0\n");
    check_nm ("[connection]\nid=x\ntype=ethernet\ninterface-name=eth0\nautoconnect=false\n", n,
              "[connection]\nid=x\ntype=ethernet\ninterface-name=eth0\nautoconnect=false\n");
}

static void
check_ifcfg (const char *text, const ViInterface *i, const char *want)
{
    g_autofree char *got = vi_net_ifcfg_disable (text, i);
    g_autofree char *again = vi_net_ifcfg_disable (got, i);
    g_autofree char *back = vi_net_unmark (got);

    g_assert_cmpstr (got, ==, want);
    g_assert_cmpstr (again, ==, got);
    g_assert_cmpstr (back, ==, text);
}

/* ifcfg files (cloud-init's on RHEL-like guests), read by NetworkManager's
 * ifcfg-rh plugin: bound to the NIC, they stop coming up at boot. */
static void
test_ifcfg (void)
{
    g_autoptr(ViSpec) by_name = spec_of (ETH0_STATIC);
    g_autoptr(ViSpec) by_mac = spec_of (ETH0_MAC);
    const ViInterface *n = by_name->interfaces->pdata[0], *m = by_mac->interfaces->pdata[0];

    check_ifcfg ("# Created by cloud-init\nBOOTPROTO=dhcp\nDEVICE=eth0\nONBOOT=yes\nTYPE=Ethernet\n"
                 "USERCTL=no\n", n,
                 "# Created by cloud-init\nBOOTPROTO=dhcp\nDEVICE=eth0\n# virt-inject: ONBOOT=yes\n"
                 "TYPE=Ethernet\nUSERCTL=no\n" VI_NET_MARK_ADDED "\nONBOOT=no\n");
    check_ifcfg ("BOOTPROTO=dhcp\nHWADDR=\"52:54:00:12:34:56\"", m,
                 "BOOTPROTO=dhcp\nHWADDR=\"52:54:00:12:34:56\"\n" VI_NET_MARK_ADDED "\nONBOOT=no");
    check_ifcfg ("DEVICE=eth1\nONBOOT=yes\n", n, "DEVICE=eth1\nONBOOT=yes\n");
    check_ifcfg ("DEVICE=eth0\nONBOOT=no\n", n, "DEVICE=eth0\nONBOOT=no\n");
    check_ifcfg ("DEVICE=eth0\nTYPE=Bond\nONBOOT=yes\n", n, "DEVICE=eth0\nTYPE=Bond\nONBOOT=yes\n");
}

/* The Debian/Ubuntu installers' file, and a harder one. */
static const char netplan_installer[] =
    "# This file describes the network interfaces available on your system\n"
    "# For more information, see netplan(5).\n"
    "network:\n"
    "  version: 2\n"
    "  renderer: networkd\n"
    "  ethernets:\n"
    "    eth0:\n"
    "      dhcp4: yes\n";

static const char netplan_static[] =
    "network:\n"
    "  version: 2\n"
    "  ethernets:\n"
    "    eth0:\n"
    "      addresses: [10.0.0.5/24]\n"
    "      gateway4: 10.0.0.1\n"
    "      nameservers:\n"
    "        search: [example.org]\n"
    "        addresses:\n"
    "          - 10.0.0.53\n"
    "\n"
    "      routes:\n"
    "        - to: 10.9.0.0/16\n"
    "          via: 10.0.0.254\n"
    "    eth1:\n"
    "      dhcp4: true\n"
    "      addresses: [10.1.0.5/24]\n";

static const char netplan_static_disabled[] =
    "network:\n"
    "  version: 2\n"
    "  ethernets:\n"
    "# virt-inject:     eth0:\n"
    VI_NET_MARK_ADDED "\n"
    "    eth0: {}\n"
    "# virt-inject:       addresses: [10.0.0.5/24]\n"
    "# virt-inject:       gateway4: 10.0.0.1\n"
    "# virt-inject:       nameservers:\n"
    "# virt-inject:         search: [example.org]\n"
    "# virt-inject:         addresses:\n"
    "# virt-inject:           - 10.0.0.53\n"
    "\n"
    "# virt-inject:       routes:\n"
    "# virt-inject:         - to: 10.9.0.0/16\n"
    "# virt-inject:           via: 10.0.0.254\n"
    "    eth1:\n"
    "      dhcp4: true\n"
    "      addresses: [10.1.0.5/24]\n";

static const char netplan_cloud_init[] =
    "network:\n"
    "    ethernets:\n"
    "        \"eth0\":\n"
    "            dhcp4: true\n"
    "            match:\n"
    "                macaddress: 52:54:00:12:34:56\n"
    "            set-name: eth0\n"
    "            mtu: 1400\n"
    "            addresses:\n"
    "            - 10.0.0.5/24\n"
    "            - 10.0.0.6/24\n"
    "            gateway6: 2001:db8::1\n"
    "    version: 2\n";

static const char netplan_cloud_init_disabled[] =
    "network:\n"
    "    ethernets:\n"
    "        \"eth0\":\n"
    "            dhcp4: true\n"
    "            match:\n"
    "                macaddress: 52:54:00:12:34:56\n"
    "            set-name: eth0\n"
    "            mtu: 1400\n"
    "# virt-inject:             addresses:\n"
    "# virt-inject:             - 10.0.0.5/24\n"
    "# virt-inject:             - 10.0.0.6/24\n"
    "# virt-inject:             gateway6: 2001:db8::1\n"
    "    version: 2\n";

static void
check_netplan (const char *text, const ViInterface *i, const char *want)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *got = vi_net_netplan_disable (text, i, FALSE, "/etc/netplan/x.yaml", &error);
    g_autofree char *again = NULL, *back = NULL;

    g_assert_no_error (error);
    again = vi_net_netplan_disable (got, i, FALSE, "/etc/netplan/x.yaml", &error);
    g_assert_no_error (error);
    back = vi_net_unmark (got);
    g_assert_cmpstr (got, ==, want);
    g_assert_cmpstr (again, ==, got);
    g_assert_cmpstr (back, ==, text);
}

static void
check_netplan_refused (const char *text, const ViInterface *i, gboolean later, const char *why)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *got = vi_net_netplan_disable (text, i, later, "/etc/netplan/x.yaml", &error);

    g_assert_null (got);
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    if (!strstr (error->message, why))
        g_error ("'%s' lacks '%s'", error->message, why);
}

static void
test_netplan_disable (void)
{
    g_autoptr(ViSpec) by_name = spec_of (ETH0_STATIC);
    g_autoptr(ViSpec) by_mac = spec_of (ETH0_MAC);
    const ViInterface *n = by_name->interfaces->pdata[0], *m = by_mac->interfaces->pdata[0];

    /* dhcp4 alone is the merge's to override (#13: "keep that") */
    check_netplan (netplan_installer, n, netplan_installer);
    check_netplan (netplan_static, n, netplan_static_disabled);
    check_netplan (netplan_cloud_init, m, netplan_cloud_init_disabled);
    check_netplan ("network:\n  version: 2\n  ethernets:\n    eth0: {addresses: [10.0.0.5/24]}\n",
                   n, "network:\n  version: 2\n  ethernets:\n"
                   "# virt-inject:     eth0: {addresses: [10.0.0.5/24]}\n" VI_NET_MARK_ADDED "\n"
                   "    eth0: {}\n");
    check_netplan ("network:\n  ethernets: {}\n", n, "network:\n  ethernets: {}\n");
    check_netplan ("network:\n  ethernets:\n    eth10:\n      addresses: [10.0.0.5/24]\n"
                   "  vlans:\n    eth0:\n      addresses: [10.0.0.5/24]\n", n,
                   "network:\n  ethernets:\n    eth10:\n      addresses: [10.0.0.5/24]\n"
                   "  vlans:\n    eth0:\n      addresses: [10.0.0.5/24]\n");
    check_netplan_refused (netplan_installer, n, TRUE, "sorts after");
    check_netplan_refused ("network:\n  ethernets:\n    ens3:\n      match:\n"
                           "        macaddress: \"52:54:00:12:34:56\"\n      dhcp4: true\n",
                           m, FALSE, "definition 'ens3' selects the NIC of eth0");
    check_netplan_refused ("network:\n  ethernets:\n    lan:\n      match:\n"
                           "        name: eth0\n      dhcp4: true\n",
                           n, FALSE, "definition 'lan' selects");
    check_netplan_refused ("network:\n  ethernets: {eth0: {dhcp4: true}}\n", n, FALSE,
                           "flow-style");
}

/* What netplan's generator makes of @files (name, content pairs) under
 * /etc/netplan: the networkd files it writes, concatenated; NULL when
 * netplan is not installed. */
static char *
netplan_generate (const char *const *files)
{
    static const char *const generators[] = { "/usr/lib/netplan/generate", "/lib/netplan/generate",
                                              "/usr/libexec/netplan/generate", NULL };
    const char *gen = NULL;
    g_autofree char *root = NULL, *dir = NULL, *out_dir = NULL, *err = NULL, *cmd = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) d = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    GString *all = g_string_new (NULL);
    const char *name;
    int status = 0;

    for (const char *const *g = generators; *g && !gen; g++)
        if (g_file_test (*g, G_FILE_TEST_IS_EXECUTABLE))
            gen = *g;
    if (gen == NULL) {
        g_string_free (all, TRUE);
        return NULL;
    }
    root = g_dir_make_tmp ("vi-netplan-XXXXXX", &error);
    g_assert_no_error (error);
    dir = g_build_filename (root, "etc", "netplan", NULL);
    g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    for (guint k = 0; files[k]; k += 2) {
        g_autofree char *p = g_build_filename (dir, files[k], NULL);
        g_assert_true (g_file_set_contents (p, files[k + 1], -1, &error));
        g_assert_cmpint (g_chmod (p, 0600), ==, 0);
    }
    {
        const char *argv[] = { gen, "--root-dir", root, NULL };
        g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, NULL, &err,
                                     &status, &error));
    }
    if (!g_spawn_check_wait_status (status, NULL))
        g_error ("netplan generate failed: %s", err);
    out_dir = g_build_filename (root, "run", "systemd", "network", NULL);
    d = g_dir_open (out_dir, 0, NULL);
    while (d && (name = g_dir_read_name (d)))
        g_ptr_array_add (names, g_strdup (name));
    g_ptr_array_sort (names, (GCompareFunc) strcmp_ptr);
    for (guint k = 0; k < names->len; k++) {
        g_autofree char *p = g_build_filename (out_dir, names->pdata[k], NULL);
        g_autofree char *c = NULL;

        g_assert_true (g_file_get_contents (p, &c, NULL, NULL));
        g_string_append_printf (all, "== %s\n%s", (char *) names->pdata[k], c);
    }
    cmd = g_strdup_printf ("rm -rf '%s'", root);
    g_assert_cmpint (system (cmd), ==, 0);
    return g_string_free (all, FALSE);
}

/* The consumer's view: netplan generate over the guest's file and ours
 * gives exactly what ours alone gives (the positive control), once the
 * guest's file is edited; before, its address, gateway and DNS were kept
 * beside ours. */
static void
test_netplan_consumer (void)
{
    g_autoptr(ViSpec) spec = spec_of (ETH0_STATIC);
    g_autofree char *ours = render (VI_RENDERER_NETPLAN, ETH0_STATIC);
    g_autofree char *edited = vi_net_netplan_disable (netplan_static,
                                                      spec->interfaces->pdata[0], FALSE,
                                                      "/etc/netplan/01-netcfg.yaml", NULL);
    const char *control_files[] = { "99-virt-inject.yaml", ours, NULL };
    const char *installer_files[] = { "01-netcfg.yaml", netplan_installer,
                                      "99-virt-inject.yaml", ours, NULL };
    const char *edited_files[] = { "01-netcfg.yaml", edited, "99-virt-inject.yaml", ours, NULL };
    g_autofree char *control = netplan_generate (control_files);
    g_autofree char *installer = NULL, *fixed = NULL;

    if (control == NULL) {
        consumer_missing ("netplan.io");
        return;
    }
    installer = netplan_generate (installer_files);
    fixed = netplan_generate (edited_files);
    g_assert_nonnull (strstr (control, "Address=192.0.2.10/24\n"));
    g_assert_nonnull (strstr (control, "DNS=192.0.2.53\n"));
    g_assert_null (strstr (control, "DHCP"));
    g_assert_cmpstr (installer, ==, control);       /* dhcp4: yes merged away */
    /* eth0 exactly as ours alone; the guest's eth1 as it was */
    g_assert_true (g_str_has_prefix (fixed, control));
    g_assert_cmpstr (fixed + strlen (control), ==, "== 10-netplan-eth1.network\n[Match]\n"
                     "Name=eth1\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=ipv6\n"
                     "Address=10.1.0.5/24\n\n[DHCP]\nRouteMetric=100\nUseMTU=true\n");
    {
        /* a guest's address unedited stays beside ours: what the edit is for */
        const char *raw_files[] = { "01-netcfg.yaml", "network:\n  version: 2\n  ethernets:\n"
                                    "    eth0:\n      addresses: [10.0.0.5/24]\n",
                                    "99-virt-inject.yaml", ours, NULL };
        g_autofree char *raw = netplan_generate (raw_files);

        g_assert_nonnull (strstr (raw, "Address=10.0.0.5/24\nAddress=192.0.2.10/24\n"));
    }
}

/* What netplan's generator makes of our netplan file is what we write for
 * networkd: the same [Link] MTUBytes=, Domains= and [Route] sections (a
 * consistency check of the two renderers). */
static void
test_netplan_routes_consumer (void)
{
    static const char *const bodies[] = {
        "<vi:interface name='eth0' mac='52:54:00:12:34:56'><vi:address>192.0.2.10/24</vi:address>"
        "<vi:address>2001:db8::10/64</vi:address><vi:gateway>192.0.2.1</vi:gateway>"
        "<vi:nameserver>192.0.2.53</vi:nameserver><vi:search>example.com</vi:search>"
        "<vi:search>example.org</vi:search>"
        "<vi:route to='198.51.100.0/24' via='192.0.2.254' metric='100'/>"
        "<vi:route to='203.0.113.0/25' via='192.0.2.253'/>"
        "<vi:route to='::/0' via='2001:db8::1' metric='2147483647'/><vi:mtu>1450</vi:mtu></vi:interface>",
        "<vi:interface name='eth0'><vi:dhcp/><vi:search>example.com</vi:search>"
        "<vi:route to='198.51.100.0/24' via='10.0.2.254' metric='50'/><vi:mtu>9000</vi:mtu>"
        "</vi:interface>",
    };

    for (guint n = 0; n < G_N_ELEMENTS (bodies); n++) {
        g_autofree char *ours = render (VI_RENDERER_NETPLAN, bodies[n]);
        g_autofree char *networkd = render (VI_RENDERER_NETWORKD, bodies[n]);
        const char *files[] = { "99-virt-inject.yaml", ours, NULL };
        g_autofree char *gen = netplan_generate (files);
        g_auto(GStrv) lines = g_strsplit (networkd, "\n", -1);

        if (gen == NULL) {
            g_test_skip ("netplan.io is not installed");
            return;
        }
        for (guint k = 0; lines[k]; k++) {
            g_autofree char *line = g_strdup_printf ("\n%s\n", lines[k]);

            if (g_str_has_prefix (lines[k], "MTUBytes=") || g_str_has_prefix (lines[k], "Domains="))
                g_assert_nonnull (strstr (gen, line));
        }
        g_assert_nonnull (strstr (networkd, "\n[Route]\n"));
        if (strstr (gen, strstr (networkd, "\n[Route]\n")) == NULL)
            g_error ("netplan generate gives other routes than ours:\n%s\n--- ours\n%s", gen,
                     networkd);
    }
}

/* NetworkManager: the search domains once, in the family that is
 * configured (IPv4 when it is). */
static void
test_nm_search_family (void)
{
    static const struct {
        const char *body;
        const char *want;
    } cases[] = {
        { "<vi:address>2001:db8::10/64</vi:address>", "[ipv6]\nmethod=manual\naddress1=2001:db8::10/64\n"
          "dns-search=example.com;\n" },
        { "<vi:address>192.0.2.10/24</vi:address>", "[ipv4]\nmethod=manual\naddress1=192.0.2.10/24\n"
          "dns-search=example.com;\n" },
        { "<vi:dhcp/><vi:address>2001:db8::10/64</vi:address>", "[ipv4]\nmethod=auto\n"
          "dns-search=example.com;\n" },
    };

    for (guint n = 0; n < G_N_ELEMENTS (cases); n++) {
        g_autofree char *body = g_strdup_printf ("<vi:interface name='eth0'>%s<vi:search>example.com"
                                                 "</vi:search></vi:interface>", cases[n].body);
        g_autofree char *out = render (VI_RENDERER_NETWORKMANAGER, body);
        const char *at = strstr (out, cases[n].want);

        g_assert_nonnull (at);
        at = strstr (at, "dns-search");
        g_assert_true (strstr (out, "dns-search") == at);       /* the first */
        g_assert_null (strstr (at + 1, "dns-search"));          /* and the only one */
    }
}

/* A metric netplan would write as a negative number is refused for
 * netplan (exit 1), and only there. */
static void
test_netplan_metric_refused (void)
{
    g_autoptr(ViSpec) spec = spec_of ("<vi:interface name='eth0'><vi:address>192.0.2.10/24</vi:address>"
                                      "<vi:route to='198.51.100.0/24' via='192.0.2.254' "
                                      "metric='2147483648'/></vi:interface>");
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) files = vi_net_render (VI_RENDERER_NETPLAN, spec->interfaces, &error);

    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_assert_null (files);
    g_assert_nonnull (strstr (error->message, "netplan cannot express a metric above 2147483647"));
    g_assert_cmpint (vi_error_exit_code (error), ==, 1);
    for (ViNetRenderer r = VI_RENDERER_IFUPDOWN; r < VI_RENDERER_LAST; r++) {
        g_autoptr(GPtrArray) ok = r == VI_RENDERER_NETPLAN ? NULL
                                  : vi_net_render (r, spec->interfaces, NULL);

        g_assert_true (r == VI_RENDERER_NETPLAN || ok != NULL);
    }
}

/* Debian's ifupdown keeps the first "address" of a stanza and drops the
 * others without a word (ifupdown 0.8.41): each static address needs a
 * stanza of its own, the family's gateway in its first one. */
static void
test_ifupdown_address_per_stanza (void)
{
    g_autofree char *out = render (VI_RENDERER_IFUPDOWN,
        "<vi:interface name='eth0' mac='52:54:00:12:34:56'><vi:address>192.0.2.10/24</vi:address>"
        "<vi:address>198.51.100.7/20</vi:address><vi:address>10.1.2.3/32</vi:address>"
        "<vi:address>2001:db8::10/64</vi:address><vi:address>2001:db8:1::10/48</vi:address>"
        "<vi:gateway>192.0.2.1</vi:gateway><vi:gateway>2001:db8::1</vi:gateway>"
        "<vi:nameserver>192.0.2.53</vi:nameserver></vi:interface>");
    g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
    const char *want[] = { "inet 192.0.2.10/24 gw", "inet 198.51.100.7/20", "inet 10.1.2.3/32",
                           "inet6 2001:db8::10/64 gw", "inet6 2001:db8:1::10/48" };
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
    GString *cur = NULL;

    for (guint n = 0; lines[n]; n++) {
        const char *l = lines[n];

        if (g_str_has_prefix (l, "iface eth0 ")) {
            g_auto(GStrv) w = g_strsplit (l, " ", -1);

            g_assert_cmpstr (w[3], ==, "static");
            if (cur)
                g_ptr_array_add (got, g_string_free (cur, FALSE));
            cur = g_string_new (w[2]);
        } else if (g_str_has_prefix (l, "    address ")) {
            g_assert_nonnull (cur);
            g_assert_null (strchr (cur->str, ' '));     /* no second address */
            g_string_append_printf (cur, " %s", l + strlen ("    address "));
        } else if (g_str_has_prefix (l, "    gateway ")) {
            g_assert_nonnull (cur);
            g_string_append (cur, " gw");
        }
    }
    if (cur)
        g_ptr_array_add (got, g_string_free (cur, FALSE));
    g_assert_cmpuint (got->len, ==, G_N_ELEMENTS (want));
    for (guint k = 0; k < got->len; k++)
        g_assert_cmpstr (got->pdata[k], ==, want[k]);
}

/* A mac/ pattern names no interface until its NIC exists: networking.service
 * then waits for udev (a drop-in), and only then. */
static void
test_ifupdown_settle (void)
{
    g_autofree char *with_mac = render (VI_RENDERER_IFUPDOWN, "<vi:interface name='eth0' "
                                        "mac='52:54:00:12:34:56'><vi:dhcp/></vi:interface>");
    g_autofree char *by_name = render (VI_RENDERER_IFUPDOWN, "<vi:interface name='eth0'>"
                                       "<vi:dhcp/></vi:interface>");

    g_assert_nonnull (strstr (with_mac, "[Service]\nExecStartPre=-/bin/udevadm settle\n"));
    g_assert_null (strstr (by_name, "udevadm"));
}

/* NetworkManager's own keyfile reader (nmcli --offline, NetworkManager
 * 1.42: it reads a profile on stdin, validates and normalises it, and
 * writes it out again; no daemon).  scripts/install-deps.sh puts nmcli
 * under /var/cache/virt-inject-ci/nmcli without installing the daemon.
 * Returns what NetworkManager made of @text, or NULL when nmcli is
 * missing; a profile it refuses fails the test. */
static char *
nm_offline (const char *text)
{
    g_autofree char *nmcli = g_find_program_in_path ("nmcli");
    g_autoptr(GKeyFile) kf = g_key_file_new ();
    g_autofree char *id = NULL, *out = NULL, *err = NULL, *in = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) p = NULL;

    if (nmcli == NULL && g_file_test ("/var/cache/virt-inject-ci/nmcli/usr/bin/nmcli",
                                      G_FILE_TEST_IS_EXECUTABLE))
        nmcli = g_strdup ("/var/cache/virt-inject-ci/nmcli/usr/bin/nmcli");
    if (nmcli == NULL)
        return NULL;
    g_assert_true (g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, &error));
    id = g_key_file_get_string (kf, "connection", "id", &error);
    g_assert_no_error (error);
    /* a modification that changes nothing: NetworkManager's reading of it */
    p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                          G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, nmcli, "--offline",
                          "connection", "modify", "connection.id", id, NULL);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_communicate_utf8 (p, text, NULL, &out, &err, &error));
    g_assert_no_error (error);
    if (!g_subprocess_get_if_exited (p) || g_subprocess_get_exit_status (p) != 0)
        g_error ("nmcli --offline refused the profile: %s\n%s", err, text);
    return g_steal_pointer (&out);
}

/* Every key of @ours has our value in NetworkManager's reading of it (MACs
 * compared without case: it writes them in capitals; a key it leaves out
 * must have its default value). */
static void
assert_nm_kept (const char *ours, const char *theirs)
{
    g_autoptr(GKeyFile) a = g_key_file_new (), b = g_key_file_new ();
    g_auto(GStrv) groups = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true (g_key_file_load_from_data (a, ours, -1, G_KEY_FILE_NONE, &error));
    g_assert_true (g_key_file_load_from_data (b, theirs, -1, G_KEY_FILE_NONE, &error));
    groups = g_key_file_get_groups (a, NULL);
    for (guint g = 0; groups[g]; g++) {
        g_auto(GStrv) keys = g_key_file_get_keys (a, groups[g], NULL, &error);
        /* NetworkManager names the ethernet setting by its alias */
        const char *bg = g_str_equal (groups[g], "802-3-ethernet") ? "ethernet" : groups[g];

        g_assert_no_error (error);
        for (guint k = 0; keys[k]; k++) {
            g_autofree char *va = g_key_file_get_value (a, groups[g], keys[k], NULL);
            g_autofree char *vb = g_key_file_get_value (b, bg, keys[k], NULL);

            /* NetworkManager leaves out a property at its default */
            static const char *const defaults[] = { "connection", "autoconnect", "true", NULL };

            for (guint d = 0; vb == NULL && defaults[d]; d += 3)
                if (g_str_equal (groups[g], defaults[d]) && g_str_equal (keys[k], defaults[d + 1]))
                    vb = g_strdup (defaults[d + 2]);
            /* ... and writes gateway= into address1 as "ADDRESS,GATEWAY" */
            if ((g_str_equal (groups[g], "ipv4") || g_str_equal (groups[g], "ipv6"))) {
                g_autofree char *gw = g_key_file_get_value (a, groups[g], "gateway", NULL);
                g_autofree char *a1 = g_key_file_get_value (b, groups[g], "address1", NULL);
                g_autofree char *folded = gw && a1 ? g_strconcat (",", gw, NULL) : NULL;

                if (folded && g_str_has_suffix (a1, folded)) {
                    g_autofree char *with_gw = g_strconcat (va, folded, NULL);

                    if ((g_str_equal (keys[k], "gateway") && vb == NULL) ||
                        (g_str_equal (keys[k], "address1") && g_str_equal (vb, with_gw))) {
                        g_free (vb);
                        vb = g_strdup (va);
                    }
                }
            }
            /* ... and the setting's alias for its full name */
            if (vb && g_str_equal (keys[k], "type") && g_str_equal (va, "802-3-ethernet") &&
                g_str_equal (vb, "ethernet")) {
                g_free (vb);
                vb = g_strdup (va);
            }
            if (vb == NULL || g_ascii_strcasecmp (va, vb) != 0)
                g_error ("NetworkManager changed [%s] %s=%s into '%s':\n%s", groups[g], keys[k],
                         va, vb ? vb : "(dropped)", theirs);
        }
    }
}

/* Our profiles and the guest's profiles as virt-inject edits them, read by
 * NetworkManager itself: accepted, and every value as we wrote it (a
 * disabled guest profile's autoconnect=false included).  The controls: a
 * profile NetworkManager refuses fails nm_offline, and an unedited guest
 * profile keeps autoconnecting. */
static void
test_nm_consumer (void)
{
    static const char *const requests[] = {
        ETH0_STATIC, ETH0_MAC,
        "<vi:interface name='eth0'><vi:dhcp/></vi:interface>",
        "<vi:interface name='eth0' mac='52:54:00:12:34:56'><vi:dhcp/>"
        "<vi:address>192.0.2.10/24</vi:address><vi:address>2001:db8::10/64</vi:address>"
        "<vi:gateway>2001:db8::1</vi:gateway><vi:nameserver>2001:db8::53</vi:nameserver>"
        "</vi:interface>",
        NULL
    };
    g_autoptr(ViSpec) by_name = spec_of (ETH0_STATIC);
    g_autoptr(ViSpec) by_mac = spec_of (ETH0_MAC);
    const ViInterface *n = by_name->interfaces->pdata[0], *m = by_mac->interfaces->pdata[0];
    g_autofree char *control = nm_offline (nm_guest);

    if (control == NULL) {
        consumer_missing ("nmcli (NetworkManager 1.42)");
        return;
    }
    g_assert_nonnull (strstr (control, "interface-name=eth0"));
    g_assert_null (strstr (control, "autoconnect=false"));
    for (guint r = 0; requests[r]; r++) {
        g_autofree char *ours = render (VI_RENDERER_NETWORKMANAGER, requests[r]);
        g_autofree char *theirs = nm_offline (ours);

        assert_nm_kept (ours, theirs);
    }
    {
        g_autofree char *a = vi_net_nm_disable (nm_guest, n);
        g_autofree char *b = vi_net_nm_disable (nm_guest_mac, m);
        g_autofree char *ta = nm_offline (a), *tb = nm_offline (b);

        g_assert_nonnull (strstr (ta, "autoconnect=false"));
        g_assert_nonnull (strstr (tb, "autoconnect=false"));
        assert_nm_kept (a, ta);
        assert_nm_kept (b, tb);
    }
}

/* Each golden file of ours, read by the program that will read it in the
 * guest: every .nmconnection by NetworkManager (nm_offline), every netplan
 * directory's YAML files together by netplan's generator, each Debian
 * ifupdown file of ours by ifup --no-act for each interface it defines. */
static void
golden_walk (const char *dir, guint *n_nm, guint *n_netplan, guint *n_ifup)
{
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    g_autoptr(GPtrArray) yaml = g_ptr_array_new_with_free_func (g_free);
    const char *name;

    g_assert_nonnull (d);
    while ((name = g_dir_read_name (d))) {
        g_autofree char *path = g_build_filename (dir, name, NULL);
        g_autofree char *text = NULL;

        if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
            golden_walk (path, n_nm, n_netplan, n_ifup);
            continue;
        }
        if (!g_str_has_suffix (name, ".nmconnection") && !g_str_has_suffix (name, ".yaml") &&
            !g_str_has_prefix (name, "virt-inject-"))
            continue;
        g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
        if (g_str_has_suffix (name, ".nmconnection")) {
            g_autofree char *theirs = nm_offline (text);

            assert_nm_kept (text, theirs);
            (*n_nm)++;
        } else if (g_str_has_suffix (name, ".yaml")) {
            g_ptr_array_add (yaml, g_strdup (name));
            g_ptr_array_add (yaml, g_steal_pointer (&text));
        } else if (g_str_has_suffix (dir, "/ifupdown") ||
                   g_str_has_suffix (dir, "/etc/network/interfaces.d")) {
            g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

            for (guint k = 0; lines[k]; k++) {
                g_auto(GStrv) w = g_strsplit (lines[k], " ", -1);
                g_autofree char *out = NULL;

                if (w[0] == NULL || !g_str_equal (w[0], "iface") || w[1] == NULL)
                    continue;
                out = ifup_no_act_iface (text, w[1]);
                g_assert_nonnull (out);
                (*n_ifup)++;
            }
        }
    }
    if (yaml->len) {
        g_autofree char *out = NULL;
        gboolean ours = FALSE;

        for (guint k = 0; k < yaml->len; k += 2)
            ours |= g_str_equal (yaml->pdata[k], "99-virt-inject.yaml");
        g_ptr_array_add (yaml, NULL);
        out = netplan_generate ((const char *const *) yaml->pdata);
        g_assert_nonnull (out);
        if (ours && strstr (out, "[Match]") == NULL)
            g_error ("netplan generated nothing for %s", dir);
        (*n_netplan)++;
    }
}

static void
test_golden_consumers (void)
{
    g_autofree char *golden = g_test_build_filename (G_TEST_DIST, "golden", NULL);
    g_autofree char *nm = nm_offline (nm_guest);
    g_autofree char *ifup = ifup_no_act ("iface eth0 inet dhcp\n");
    static const char *const control[] = { "a.yaml", "network: {version: 2}\n", NULL };
    g_autofree char *netplan = netplan_generate (control);
    guint n_nm = 0, n_netplan = 0, n_ifup = 0;

    if (nm == NULL || ifup == NULL || netplan == NULL) {
        consumer_missing (nm == NULL ? "nmcli" : ifup == NULL ? "ifupdown" : "netplan.io");
        return;
    }
    golden_walk (golden, &n_nm, &n_netplan, &n_ifup);
    g_test_message ("%u NetworkManager profiles, %u netplan directories, %u ifupdown stanzas",
                    n_nm, n_netplan, n_ifup);
    /* the walk found them (tests/golden/net has seven requests per stack) */
    g_assert_cmpuint (n_nm, >=, 7);
    g_assert_cmpuint (n_netplan, >=, 7);
    g_assert_cmpuint (n_ifup, >=, 7);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (mac_cases); i++) {
        g_autofree char *p = g_strdup_printf ("/net/mac-no-rename/%s",
                                              vi_net_renderer_to_string (mac_cases[i].renderer));
        g_test_add_data_func (p, &mac_cases[i], test_mac_no_rename);
    }
    g_test_add_func ("/net/busybox-syntax", test_busybox_syntax);
    g_test_add_func ("/net/ifupdown/disable", test_ifupdown_disable);
    g_test_add_func ("/net/ifupdown/sources", test_ifupdown_sources);
    g_test_add_func ("/net/ifupdown/consumer", test_ifupdown_consumer);
    g_test_add_func ("/net/ifupdown/routes-consumer", test_ifupdown_routes_consumer);
    g_test_add_func ("/net/netplan/routes-consumer", test_netplan_routes_consumer);
    g_test_add_func ("/net/netplan/metric-refused", test_netplan_metric_refused);
    g_test_add_func ("/net/networkd", test_networkd);
    g_test_add_func ("/net/networkmanager", test_nm);
    g_test_add_func ("/net/networkmanager/search-family", test_nm_search_family);
    g_test_add_func ("/net/networkmanager/ifcfg", test_ifcfg);
    g_test_add_func ("/net/networkmanager/consumer", test_nm_consumer);
    g_test_add_func ("/net/golden/consumers", test_golden_consumers);
    g_test_add_func ("/net/netplan/disable", test_netplan_disable);
    g_test_add_func ("/net/netplan/consumer", test_netplan_consumer);
    g_test_add_func ("/net/ifupdown-address-per-stanza", test_ifupdown_address_per_stanza);
    g_test_add_func ("/net/ifupdown-settle", test_ifupdown_settle);
    return g_test_run ();
}
