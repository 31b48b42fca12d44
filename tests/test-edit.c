/* test-edit.c: the edits of guest text files (vi-edit), byte for byte,
 * with no VFS: each case gives the guest's text and the exact text the edit
 * must give, and every edit is applied a second time to its own result,
 * which must not change it. */
#include <string.h>

#include "test-cases.h"
#include "vi-edit.h"
#include "vi-error.h"
#include "vi-net.h"

#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E alice@laptop"
#define BLOB_A "AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E"
#define KEY_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2z5O3bb1k3QGw7+0dH4j3b9bHc2cV3o6DQ0pO2xj5T bob"
#define KEY_E "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBE= carol"
#define HASH "$6$FqqoikoO6v0uIcnm$3sMy9trbuavMQmPVVGmwLgGS4Y7TnCuX514KjnCX3b3xmdl044EXeQTVASlM/JJGbJoD2nxEVeJNgrMytmxCy."
#define ADDED VI_NET_MARK_ADDED "\nsource /etc/network/interfaces.d/virt-inject-*\n"
#define BEGIN VI_NET_BLOCK_BEGIN "\n"
#define END VI_NET_BLOCK_END "\n"

/* One case of an edit: @in (NULL: the guest has no such file) and @arg
 * give @out, or the error that contains @error. */
typedef struct {
    const char *name;
    const char *in;
    const char *arg;
    const char *out;
    const char *error;
} Case;

/* An edit under test, with its argument as one string. */
typedef char *(*TextEdit) (const char *text, const char *arg, GError **error);

typedef struct {
    const Case *c;
    TextEdit edit;
} Bound;

/* @in gives @out (or the error), and the edit applied again to @out
 * gives @out. */
static void
test_edit (gconstpointer data)
{
    const Bound *b = data;
    const Case *c = b->c;
    g_autoptr(GError) error = NULL;
    g_autofree char *got = b->edit (c->in, c->arg, &error);
    g_autofree char *again = NULL;

    if (c->error) {
        g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
        g_assert_nonnull (strstr (error->message, c->error));
        g_assert_null (got);
        return;
    }
    g_assert_no_error (error);
    g_assert_cmpstr (got, ==, c->out);
    again = b->edit (got, c->arg, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (again, ==, got);
}

static void
add_edit_cases (const char *prefix, const Case *cases, guint n, TextEdit edit)
{
    for (guint i = 0; i < n; i++) {
        g_autofree char *path = g_strdup_printf ("%s/%s", prefix, cases[i].name);
        Bound *b = g_new (Bound, 1);

        b->c = &cases[i];
        b->edit = edit;
        g_test_add_data_func_full (path, b, test_edit, g_free);
    }
}

/* ---- /etc/shadow -------------------------------------------------------- */

#define SHADOW "root:$y$j9T$old$hash:19000:0:99999:7:::\nalice:!:19001:0:99999:7:::\n"

static const Case shadow_get_cases[] = {
    { "root", SHADOW, "root", "$y$j9T$old$hash", NULL },
    { "locked", SHADOW, "alice", "!", NULL },
    { "missing", SHADOW, "bob", NULL, NULL },
    { "prefix-is-not-the-name", SHADOW, "roo", NULL, NULL },
    { "two-fields-is-no-entry", "bob:x\nroot:y:1\n", "bob", NULL, NULL },
    { "three-fields", "bob:x\nroot:y:1\n", "root", "y", NULL },
    { "first-of-duplicates", "root:first:1::::::\nroot:second:2::::::\n", "root", "first", NULL },
    { "empty-file", "", "root", NULL, NULL },
    { "empty-field", "root::19000:0:99999:7:::", "root", "", NULL },
};

static void
test_shadow_get (gconstpointer data)
{
    const Case *c = data;
    g_autofree char *got = vi_edit_shadow_password (c->in, c->arg);
    g_autofree char *field1 = vi_edit_shadow_field (c->in, c->arg, 1);

    g_assert_cmpstr (got, ==, c->out);
    g_assert_cmpstr (field1, ==, c->out);
}

/* Any field of the same line: the day of the last change, the expiry, the
 * name; none past the line's end. */
static void
test_shadow_field (void)
{
    g_autofree char *day = vi_edit_shadow_field (SHADOW, "alice", 2);
    g_autofree char *expiry = vi_edit_shadow_field (SHADOW, "alice", 7);
    g_autofree char *name = vi_edit_shadow_field (SHADOW, "alice", 0);
    g_autofree char *past = vi_edit_shadow_field (SHADOW, "alice", 9);
    g_autofree char *short_line = vi_edit_shadow_field ("root:y:1\n", "root", 3);

    g_assert_cmpstr (day, ==, "19001");
    g_assert_cmpstr (expiry, ==, "");
    g_assert_cmpstr (name, ==, "alice");
    g_assert_null (past);
    g_assert_null (short_line);
}

/* @arg is "USER FIELD"; the day is always 20000. */
static const Case shadow_set_cases[] = {
    { "root", SHADOW, "root " HASH,
      "root:" HASH ":20000:0:99999:7:::\nalice:!:19001:0:99999:7:::\n", NULL },
    { "second-line", SHADOW, "alice " HASH,
      "root:$y$j9T$old$hash:19000:0:99999:7:::\nalice:" HASH ":20000:0:99999:7:::\n", NULL },
    { "same-field-keeps-the-day", SHADOW, "root $y$j9T$old$hash", SHADOW, NULL },
    { "no-trailing-newline", "daemon:*:18000:0:99999:7:::\nroot:x:1:0:99999:7:::", "root !x",
      "daemon:*:18000:0:99999:7:::\nroot:!x:20000:0:99999:7:::", NULL },
    { "crlf-kept", "root:x:1:0:99999:7:::\r\nbin:*:1::::::\r\n", "root " HASH,
      "root:" HASH ":20000:0:99999:7:::\r\nbin:*:1::::::\r\n", NULL },
    { "only-the-first-duplicate", "root:a:1::::::\nroot:b:2::::::\n", "root " HASH,
      "root:" HASH ":20000::::::\nroot:b:2::::::\n", NULL },
    { "three-fields", "root:x:1", "root " HASH, "root:" HASH ":20000", NULL },
    { "comment-and-blank-lines-kept", "# shadow\n\nroot:x:1:0:::::\n\n", "root !",
      "# shadow\n\nroot:!:20000:0:::::\n\n", NULL },
    { "missing-user", SHADOW, "bob " HASH, NULL, "user 'bob' has no entry in the guest's /etc/shadow" },
    { "empty-file", "", "root " HASH, NULL, "user 'root' has no entry" },
};

static char *
shadow_set (const char *text, const char *arg, GError **error)
{
    g_auto(GStrv) a = g_strsplit (arg, " ", 2);

    return vi_edit_shadow_set_password (text, a[0], a[1], "20000", error);
}

static void
test_shadow_lock (void)
{
    static const char *const cases[][2] = {
        { HASH, "!" HASH }, { "!" HASH, "!" HASH }, { "", "!" }, { "*", "!*" }, { "!!", "!!" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *got = vi_edit_shadow_lock (cases[i][0]);
        g_autofree char *again = vi_edit_shadow_lock (got);

        g_assert_cmpstr (got, ==, cases[i][1]);
        g_assert_cmpstr (again, ==, got);
    }
}

/* ---- /etc/hostname and /etc/hosts --------------------------------------- */

static void
test_hostname (void)
{
    g_autofree char *fqdn = vi_edit_hostname ("web1.example.com");
    g_autofree char *name = vi_edit_hostname ("web1");

    g_assert_cmpstr (fqdn, ==, "web1.example.com\n");
    g_assert_cmpstr (name, ==, "web1\n");
}

#define ENTRY "127.0.1.1\tweb1.example.com web1\n"
#define DEBIAN_TAIL "\n# The following lines are desirable for IPv6 capable hosts\n" \
                    "::1     localhost ip6-localhost ip6-loopback\n"

static const Case hosts_cases[] = {
    { "debian", "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n" DEBIAN_TAIL, "web1.example.com",
      "127.0.0.1\tlocalhost\n" ENTRY DEBIAN_TAIL, NULL },
    { "missing-file", NULL, "web1.example.com", "127.0.0.1\tlocalhost\n" ENTRY, NULL },
    { "short-name", NULL, "web1", "127.0.0.1\tlocalhost\n127.0.1.1\tweb1\n", NULL },
    { "empty-file", "", "web1.example.com", ENTRY, NULL },
    { "no-trailing-newline", "127.0.0.1 localhost", "web1.example.com",
      "127.0.0.1 localhost\n" ENTRY, NULL },
    { "after-localhost", "127.0.0.1 localhost\n10.0.0.1 db\n", "web1.example.com",
      "127.0.0.1 localhost\n" ENTRY "10.0.0.1 db\n", NULL },
    { "after-the-last-localhost", "127.0.0.1 localhost\n10.0.0.1 db\n127.0.0.1\tlh\n::1 x\n",
      "web1.example.com", "127.0.0.1 localhost\n10.0.0.1 db\n127.0.0.1\tlh\n" ENTRY "::1 x\n", NULL },
    { "no-localhost-first", "::1 localhost ip6-localhost\n", "web1.example.com",
      ENTRY "::1 localhost ip6-localhost\n", NULL },
    { "duplicates-become-one", "127.0.0.1 localhost\n127.0.1.1 a\n10.0.0.1 x\n127.0.1.1\tb\n",
      "web1.example.com", "127.0.0.1 localhost\n" ENTRY "10.0.0.1 x\n", NULL },
    { "where-it-was-before-localhost", "127.0.1.1 old\n127.0.0.1 localhost\n", "web1.example.com",
      ENTRY "127.0.0.1 localhost\n", NULL },
    { "comments-kept", "# 127.0.1.1 commented\n127.0.0.1 localhost\n", "web1.example.com",
      "# 127.0.1.1 commented\n127.0.0.1 localhost\n" ENTRY, NULL },
    { "similar-address-after-localhost", "127.0.0.1 localhost\n127.0.1.10 other\n",
      "web1.example.com", "127.0.0.1 localhost\n" ENTRY "127.0.1.10 other\n", NULL },
    { "other-address-is-not-localhost", "127.0.0.10 foo\n", "web1.example.com",
      ENTRY "127.0.0.10 foo\n", NULL },
    { "crlf-lines-kept", "127.0.0.1 localhost\r\n127.0.1.1 old\r\n", "web1.example.com",
      "127.0.0.1 localhost\r\n" ENTRY, NULL },
    { "inner-blank-lines-kept", "127.0.0.1 localhost\n\n\n::1 x\n", "web1.example.com",
      "127.0.0.1 localhost\n" ENTRY "\n\n::1 x\n", NULL },
};

static char *
hosts (const char *text, const char *arg, GError **error)
{
    return vi_edit_hosts (text, arg);
}

/* ---- authorized_keys ------------------------------------------------------ */

/* @arg: the requested keys, one a line */
static const Case keys_cases[] = {
    { "no-file", NULL, KEY_A "\n" KEY_B, KEY_A "\n" KEY_B "\n", NULL },
    { "empty-file", "", KEY_A, KEY_A "\n", NULL },
    { "already-there", KEY_A "\n", KEY_A, KEY_A "\n", NULL },
    { "no-trailing-newline", KEY_A, KEY_B, KEY_A "\n" KEY_B "\n", NULL },
    { "no-trailing-newline-nothing-added", KEY_A, KEY_A, KEY_A "\n", NULL },
    { "one-byte-no-newline", "#", KEY_A, "#\n" KEY_A "\n", NULL },
    { "same-key-other-comment", "no-pty " KEY_A "\n", "ssh-ed25519 " BLOB_A " other",
      "no-pty " KEY_A "\n", NULL },
    { "commented-out-key-is-no-key", "# " KEY_A "\n", KEY_A, "# " KEY_A "\n" KEY_A "\n", NULL },
    { "duplicates-in-request", NULL, KEY_A "\n" KEY_B "\n" KEY_A, KEY_A "\n" KEY_B "\n", NULL },
    { "order-comments-blank-lines-kept", "# mine\n\n" KEY_B "\n" KEY_E "\n", KEY_A,
      "# mine\n\n" KEY_B "\n" KEY_E "\n" KEY_A "\n", NULL },
    { "crlf-line-counts", KEY_A "\r\n", KEY_A, KEY_A "\r\n", NULL },
    { "indented-key-counts", "  \t" KEY_B "\n", KEY_B "\n" KEY_E, "  \t" KEY_B "\n" KEY_E "\n", NULL },
    { "no-key-type-never-added", NULL, "foo bar\n" KEY_A, KEY_A "\n", NULL },
    { "type-without-data-never-added", NULL, "ssh-ed25519\n" KEY_A, KEY_A "\n", NULL },
    { "nothing-requested", "garbage\n", NULL, "garbage\n", NULL },
};

static char *
keys (const char *text, const char *arg, GError **error)
{
    g_auto(GStrv) k = arg ? g_strsplit (arg, "\n", -1) : g_new0 (char *, 1);

    return vi_edit_authorized_keys (text, text ? strlen (text) : 0, (const char *const *) k,
                                    g_strv_length (k));
}

/* The length, not a NUL, ends the old text. */
static void
test_authorized_keys_len (void)
{
    const char *keys[] = { KEY_B };
    g_autofree char *got = vi_edit_authorized_keys (KEY_A "\nnot this", strlen (KEY_A), keys, 1);

    g_assert_cmpstr (got, ==, KEY_A "\n" KEY_B "\n");
}

/* ---- expiring a dropped user ------------------------------------------------ */

/* @arg: the user */
static const Case expire_cases[] = {
    { "expired", "root:*:19000:0:99999:7:::\nbob:$6$x$y:19000:0:99999:7:::\n", "bob",
      "root:*:19000:0:99999:7:::\nbob:$6$x$y:19000:0:99999:7::1:\n", NULL },
    { "already-set-stays", "bob:!:19000:0:99999:7::20000:\n", "bob",
      "bob:!:19000:0:99999:7::20000:\n", NULL },
    { "short-line-stays", "bob:!:19000\n", "bob", "bob:!:19000\n", NULL },
    { "no-trailing-newline", "bob:x:1:0:99999:7:::", "bob", "bob:x:1:0:99999:7::1:", NULL },
};

static char *
expire (const char *text, const char *arg, GError **error)
{
    return vi_edit_shadow_expire (text, arg);
}

/* No line of the user: NULL. */
static void
test_expire_missing (void)
{
    g_assert_null (vi_edit_shadow_expire ("root:*:19000:0:99999:7:::\n", "bob"));
}

/* ---- taking back added lines ---------------------------------------------- */

/* @arg: the lines added, one a line, then "--" and the keys still requested */
static const Case take_back_cases[] = {
    { "dropped-key-removed", "# mine\n" KEY_A "\n" KEY_B "\n", KEY_A "\n" KEY_B "\n--\n" KEY_A,
      "# mine\n" KEY_A "\n", NULL },
    { "all-dropped", KEY_A "\n" KEY_B "\n", KEY_A "\n" KEY_B "\n--", "", NULL },
    { "guest-lines-stay", KEY_E "\n" KEY_B "\n# note\n", KEY_B "\n--", KEY_E "\n# note\n", NULL },
    { "owner-edited-line-stays", "no-pty " KEY_B "\n", KEY_B "\n--", "no-pty " KEY_B "\n", NULL },
    { "requested-under-another-comment-stays", KEY_A "\n", KEY_A "\n--\nssh-ed25519 " BLOB_A " new",
      KEY_A "\n", NULL },
    { "no-trailing-newline", KEY_E "\n" KEY_B, KEY_B "\n--", KEY_E "\n", NULL },
    { "hosts-line", "127.0.0.1\tlocalhost\n127.0.1.1\tweb1\n", "127.0.1.1\tweb1\n--",
      "127.0.0.1\tlocalhost\n", NULL },
    { "blank-lines-stay", "\n\n", "\n--", "\n\n", NULL },
};

static char *
take_back (const char *text, const char *arg, GError **error)
{
    g_auto(GStrv) parts = g_strsplit (arg, "--", 2);
    g_auto(GStrv) lines = g_strsplit (parts[0], "\n", -1);
    g_auto(GStrv) keep = g_strsplit (parts[1][0] == '\n' ? parts[1] + 1 : parts[1], "\n", -1);

    return vi_edit_take_back_lines (text, (const char *const *) lines, (const char *const *) keep,
                                    g_strv_length (keep), NULL);
}

/* The lines removed are reported, in their order in the text. */
static void
test_take_back_removed (void)
{
    const char *lines[] = { KEY_B, KEY_A, NULL };
    g_auto(GStrv) removed = NULL;
    g_autofree char *got = vi_edit_take_back_lines (KEY_A "\n" KEY_E "\n" KEY_B "\n", lines,
                                                    NULL, 0, &removed);

    g_assert_cmpstr (got, ==, KEY_E "\n");
    g_assert_cmpstrv (removed, ((const char *const[]) { KEY_A, KEY_B, NULL }));
}

/* ---- ifupdown -------------------------------------------------------------- */

static const Case strip_cases[] = {
    { "block-at-end", "auto lo\niface lo inet loopback\n" BEGIN "auto eth0\n" END, NULL,
      "auto lo\niface lo inet loopback\n", NULL },
    { "block-in-the-middle", "a\n" BEGIN "x\n" END "b\n", NULL, "a\nb\n", NULL },
    { "two-blocks", BEGIN "x\n" END "a\n" BEGIN END, NULL, "a\n", NULL },
    { "no-block", "auto lo\n\niface lo inet loopback\n", NULL, "auto lo\n\niface lo inet loopback\n", NULL },
    { "no-trailing-newline", "auto lo", NULL, "auto lo\n", NULL },
    { "empty", "", NULL, "", NULL },
    { "only-a-block", BEGIN "x\n" END, NULL, "", NULL },
    { "markers-must-be-whole-lines", "  " VI_NET_BLOCK_BEGIN "\nx\n", NULL,
      "  " VI_NET_BLOCK_BEGIN "\nx\n", NULL },
    { "crlf-marker-is-not-ours", VI_NET_BLOCK_BEGIN "\r\nx\r\n", NULL,
      VI_NET_BLOCK_BEGIN "\r\nx\r\n", NULL },
    { "unterminated", "a\n" BEGIN "x\n", NULL, NULL, "has no '# END virt-inject'" },
    { "end-before-begin", END BEGIN "x\n", NULL, NULL, "has no '# END virt-inject'" },
};

static char *
strip_block (const char *text, const char *arg, GError **error)
{
    return vi_edit_ifupdown_strip_block (text, error);
}

/* A busybox run: strip the old block, append the new one; twice gives the
 * same bytes. */
static void
test_append_block (void)
{
    static const char *const inputs[] = { "auto lo", "auto lo\n", "", "a\n" BEGIN "old\n" END "b\n" };
    static const char *const outputs[] = {
        "auto lo\n" BEGIN "auto eth0\n" END,
        "auto lo\n" BEGIN "auto eth0\n" END,
        BEGIN "auto eth0\n" END,
        "a\nb\n" BEGIN "auto eth0\n" END,
    };
    g_autofree char *empty = vi_edit_ifupdown_append_block ("x", "");

    g_assert_cmpstr (empty, ==, "x\n" BEGIN END);
    for (guint i = 0; i < G_N_ELEMENTS (inputs); i++) {
        g_autofree char *s1 = vi_edit_ifupdown_strip_block (inputs[i], NULL);
        g_autofree char *r1 = vi_edit_ifupdown_append_block (s1, "auto eth0\n");
        g_autofree char *s2 = vi_edit_ifupdown_strip_block (r1, NULL);
        g_autofree char *r2 = vi_edit_ifupdown_append_block (s2, "auto eth0\n");

        g_assert_cmpstr (r1, ==, outputs[i]);
        g_assert_cmpstr (r2, ==, r1);
    }
}

static void
test_append_source (void)
{
    static const char *const cases[][2] = {
        { "auto lo\n", "auto lo\n" ADDED },
        { "auto lo", "auto lo\n" ADDED },
        { "", ADDED },
        { "\n", "\n" ADDED },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *got = vi_edit_ifupdown_append_source (cases[i][0]);

        g_assert_cmpstr (got, ==, cases[i][1]);
    }
}

/* ---- resolv.conf ------------------------------------------------------------ */

#define OURS "nameserver 192.0.2.53\nnameserver 2001:db8::53\n"

static const Case resolv_cases[] = {
    { "missing-file", NULL, OURS, OURS, NULL },
    { "empty-file", "", OURS, OURS, NULL },
    { "keeps-search-options", "search example.com\nnameserver 1.1.1.1\noptions ndots:2\n", OURS,
      "search example.com\noptions ndots:2\n" OURS, NULL },
    { "indented-nameservers-dropped", "  nameserver 8.8.8.8\n\tnameserver 8.8.4.4\nsearch a\n", OURS,
      "search a\n" OURS, NULL },
    { "duplicates-dropped", "nameserver 1.1.1.1\nnameserver 1.1.1.1\n", OURS, OURS, NULL },
    { "tab-separated-dropped", "nameserver\t1.1.1.1\nsearch a\n", OURS, "search a\n" OURS, NULL },
    { "comments-kept", "# nameserver 9.9.9.9\n; x\nnameserver 1.1.1.1\n", OURS,
      "# nameserver 9.9.9.9\n; x\n" OURS, NULL },
    { "no-trailing-newline", "search a", OURS, "search a\n" OURS, NULL },
    { "inner-blank-lines-kept", "search a\n\noptions b\n", OURS, "search a\n\noptions b\n" OURS, NULL },
    { "crlf-lines-kept", "search a\r\nnameserver 1.1.1.1\r\n", OURS, "search a\r\n" OURS, NULL },
    { "search-replaces-search-and-domain", "domain old\nsearch a b\nnameserver 1.1.1.1\noptions x\n",
      "search example.test\n", "nameserver 1.1.1.1\noptions x\nsearch example.test\n", NULL },
    { "search-and-nameservers", "search a\nnameserver 1.1.1.1\n", "search example.test\n" OURS,
      "search example.test\n" OURS, NULL },
    { "searchlight-is-not-search", "searchlight x\n", "search example.test\n",
      "searchlight x\nsearch example.test\n", NULL },
};

static char *
resolv_conf (const char *text, const char *arg, GError **error)
{
    return vi_edit_resolv_conf (text, arg);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    VI_TEST_ADD_CASES ("/edit/shadow/get", shadow_get_cases, test_shadow_get);
    add_edit_cases ("/edit/shadow/set", shadow_set_cases, G_N_ELEMENTS (shadow_set_cases), shadow_set);
    g_test_add_func ("/edit/shadow/field", test_shadow_field);
    g_test_add_func ("/edit/shadow/lock", test_shadow_lock);
    g_test_add_func ("/edit/hostname", test_hostname);
    add_edit_cases ("/edit/hosts", hosts_cases, G_N_ELEMENTS (hosts_cases), hosts);
    add_edit_cases ("/edit/authorized-keys", keys_cases, G_N_ELEMENTS (keys_cases), keys);
    g_test_add_func ("/edit/authorized-keys/length", test_authorized_keys_len);
    add_edit_cases ("/edit/take-back", take_back_cases, G_N_ELEMENTS (take_back_cases), take_back);
    add_edit_cases ("/edit/shadow-expire", expire_cases, G_N_ELEMENTS (expire_cases), expire);
    g_test_add_func ("/edit/shadow-expire/missing", test_expire_missing);
    g_test_add_func ("/edit/take-back/removed", test_take_back_removed);
    add_edit_cases ("/edit/ifupdown/strip-block", strip_cases, G_N_ELEMENTS (strip_cases), strip_block);
    g_test_add_func ("/edit/ifupdown/append-block", test_append_block);
    g_test_add_func ("/edit/ifupdown/append-source", test_append_source);
    add_edit_cases ("/edit/resolv-conf", resolv_cases, G_N_ELEMENTS (resolv_cases), resolv_conf);
    return g_test_run ();
}
