/* test-net.c: properties of the network renderers that hold for every
 * stack, checked on the rendered text (the exact bytes are pinned by the
 * golden files, tests/test-golden.c). */
#include <arpa/inet.h>
#include <string.h>

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
    g_test_add_func ("/net/ifupdown-address-per-stanza", test_ifupdown_address_per_stanza);
    g_test_add_func ("/net/ifupdown-settle", test_ifupdown_settle);
    return g_test_run ();
}
