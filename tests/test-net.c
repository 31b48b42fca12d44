/* test-net.c: properties of the network renderers that hold for every
 * stack, checked on the rendered text (the exact bytes are pinned by the
 * golden files, tests/test-golden.c). */
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

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

typedef struct {
    ViNetRenderer renderer;
    const char *selects;            /* the line that selects the NIC by its MAC */
    const char *const *never;       /* what would rename it or select it by name */
} MacCase;

static const char *const nm_never[] = { "interface-name=", NULL };
static const char *const netplan_never[] = { "set-name", NULL };
static const char *const networkd_never[] = { "Name=", "[Link]", NULL };

static const MacCase mac_cases[] = {
    { VI_RENDERER_NETWORKMANAGER, "mac-address=52:54:00:12:34:56\n", nm_never },
    { VI_RENDERER_NETPLAN, "macaddress: \"52:54:00:12:34:56\"\n", netplan_never },
    { VI_RENDERER_NETWORKD, "MACAddress=52:54:00:12:34:56\n", networkd_never },
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
 * of the whole file; the inet and inet6 static methods add the address as
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
        "</vi:interface>");
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
            if (!g_hash_table_insert (opts, g_strndup (l + 4, sp - (l + 4)), g_strdup (sp + 1)))
                g_error ("option given twice in a stanza:\n%s", out);
        }
    }
    g_assert_cmpuint (stanzas, ==, 5);      /* one per address */
}

/* ---- the guest's own configuration ------------------------------------- */

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
    const char *argv[] = { "sed", "-e", "/^" VI_NET_MARK_ADDED "$/{N;d}", "-e",
                           "s/^" VI_NET_MARK "//", NULL, NULL };
    int status = 0;

    g_assert_no_error (error);
    close (fd);
    g_assert_true (g_file_set_contents (path, text, -1, &error));
    argv[5] = path;
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

/* What Debian's ifup would run for eth0 (ifup --no-act), given one
 * interfaces file; NULL when ifupdown is not installed. */
static char *
ifup_no_act (const char *text)
{
    g_autofree char *path = NULL;
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(GError) error = NULL;
    int fd, status = 0;
    const char *argv[] = { "ifup", "--no-act", "-v", "-i", NULL, "eth0", NULL };

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
        g_test_skip ("ifupdown is not installed");
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
    return g_test_run ();
}
