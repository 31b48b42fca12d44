/* test-record.c: the guest record's JSON, formatted and parsed as hostile
 * input: a round trip, each malformed, oversize or hostile case refused
 * beside a control that differs from it only in the fault. */
#include <string.h>

#include "vi-error.h"
#include "vi-record.h"

#define UUID "6f1c1a4e-8a4b-4c2e-9d7a-0a1b2c3d4e5f"
#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static ViRecord *
sample (void)
{
    ViRecord *r = vi_record_new (UUID, HEX);
    ViRecordItem *it;

    it = g_new0 (ViRecordItem, 1);
    it->kind = VI_RECORD_DIR_CREATED;
    it->path = g_strdup ("/srv/app");
    it->mode = 0750;
    it->uid = 1000;
    vi_record_add (r, it);

    it = g_new0 (ViRecordItem, 1);
    it->kind = VI_RECORD_FILE_REPLACED;
    it->path = g_strdup ("/etc/motd");
    it->mode = 0644;
    it->orig.mode = 0600;
    it->orig.size = 3;
    it->orig.sha256 = g_strdup (HEX);
    it->orig.saved = vi_record_saved_name ("/etc/motd");
    vi_record_add (r, it);

    it = g_new0 (ViRecordItem, 1);
    it->kind = VI_RECORD_FILE_EDITED;
    it->path = g_strdup ("/root/.ssh/authorized_keys");
    it->mode = 0600;
    it->before_sha256 = g_strdup (HEX);
    it->after_sha256 = g_strdup (HEX);
    it->lines_added = g_strsplit ("ssh-ed25519 AAAA a", "\n", -1);
    vi_record_add (r, it);

    it = g_new0 (ViRecordItem, 1);
    it->kind = VI_RECORD_ATTR_CHANGED;
    it->path = g_strdup ("/home/alice");
    it->mode = 0700;
    it->orig.mode = 0755;
    it->orig.uid = 1000;
    vi_record_add (r, it);
    return r;
}

static void
test_round_trip (void)
{
    g_autoptr(ViRecord) r = sample ();
    g_autoptr(GBytes) json = vi_record_format (r);
    g_autoptr(GBytes) again = NULL;
    g_autoptr(ViRecord) back = NULL;
    g_autoptr(GError) error = NULL;
    ViRecordItem *it;

    back = vi_record_parse (json, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (back->uuid, ==, UUID);
    g_assert_cmpstr (back->digest, ==, HEX);
    g_assert_cmpuint (back->items->len, ==, 4);
    it = vi_record_lookup (back, "/etc/motd");
    g_assert_nonnull (it);
    g_assert_cmpint (it->kind, ==, VI_RECORD_FILE_REPLACED);
    g_assert_cmpuint (it->orig.mode, ==, 0600);
    g_assert_cmpuint (it->orig.size, ==, 3);
    g_assert_true (g_str_has_prefix (it->orig.saved, "orig/"));
    g_assert_cmpstr (it->orig.sha256, ==, HEX);
    it = vi_record_lookup (back, "/root/.ssh/authorized_keys");
    g_assert_cmpstr (it->lines_added[0], ==, "ssh-ed25519 AAAA a");
    g_assert_null (it->lines_added[1]);
    g_assert_cmpuint (vi_record_lookup (back, "/home/alice")->orig.mode, ==, 0755);
    g_assert_cmpuint (vi_record_lookup (back, "/srv/app")->uid, ==, 1000);
    /* the same bytes again: no time, a stable order */
    again = vi_record_format (back);
    g_assert_true (g_bytes_equal (json, again));

    /* a record of no domain */
    {
        g_autoptr(ViRecord) bare = vi_record_new (NULL, NULL);
        g_autoptr(GBytes) b = vi_record_format (bare);
        g_autoptr(ViRecord) p = vi_record_parse (b, &error);

        g_assert_no_error (error);
        g_assert_null (p->uuid);
        g_assert_null (p->digest);
        g_assert_cmpuint (p->items->len, ==, 0);
    }
}

static void
test_first_item_wins (void)
{
    g_autoptr(ViRecord) r = sample ();
    ViRecordItem *it = g_new0 (ViRecordItem, 1);

    it->kind = VI_RECORD_FILE_CREATED;
    it->path = g_strdup ("/etc/motd");
    vi_record_add (r, it);
    g_assert_cmpuint (r->items->len, ==, 4);
    g_assert_cmpint (vi_record_lookup (r, "/etc/motd")->kind, ==, VI_RECORD_FILE_REPLACED);
}

static void
test_lines_added (void)
{
    g_auto(GStrv) appended = vi_record_lines_added ("a\nb\n", 4, "a\nb\nc\n", 6);
    g_auto(GStrv) inserted = vi_record_lines_added ("a\nc\n", 4, "a\nb\nc\n", 6);
    g_auto(GStrv) from_nothing = vi_record_lines_added ("", 0, "k\n", 2);
    g_auto(GStrv) changed = vi_record_lines_added ("a:1\nb\n", 6, "a:2\nb\n", 6);
    g_auto(GStrv) removed = vi_record_lines_added ("a\nb\n", 4, "a\n", 2);

    g_assert_cmpstrv (appended, ((const char *const[]) { "c", NULL }));
    g_assert_cmpstrv (inserted, ((const char *const[]) { "b", NULL }));
    g_assert_cmpstrv (from_nothing, ((const char *const[]) { "k", NULL }));
    g_assert_null (changed);
    g_assert_null (removed);
}

/* A valid document with one item, its parts replaceable: @head the
 * top-level members before "items", @item the one item. */
#define DOC(head, item) "{\"version\": 1, " head "\"items\": [" item "]}"
#define HEAD "\"uuid\": \"" UUID "\", \"digest\": \"" HEX "\", "
#define CREATED "{\"kind\": \"file-created\", \"path\": \"/etc/x\", \"mode\": \"0644\", " \
                "\"uid\": 0, \"gid\": 0}"
#define ORIG(extra) "{\"kind\": \"file-replaced\", \"path\": \"/etc/x\", \"mode\": \"0644\", " \
                    "\"uid\": 0, \"gid\": 0, \"original\": {\"mode\": \"0600\", \"uid\": 0, " \
                    "\"gid\": 0, \"size\": 1" extra "}}"
/* a file-edited item of @path, with @extra members */
#define EDITED(path, extra) "{\"kind\": \"file-edited\", \"path\": \"" path "\", \"mode\": \"0640\", " \
                            "\"uid\": 0, \"gid\": 42, \"before-sha256\": \"" HEX "\", " \
                            "\"after-sha256\": \"" HEX "\"" extra "}"
#define EDIT_ORIG(extra) "\"original\": {\"mode\": \"0640\", \"uid\": 0, \"gid\": 42, \"size\": 9" extra "}"
/* vi_record_saved_name ("/etc/x") */
#define SAVED_X "orig/4074fa014f8d9a3ad45467ee52b8f1ed343ee1f5edc7309d8d0b2e153c48aca6"

typedef struct {
    const char *name;
    const char *bad;        /* refused */
    const char *good;       /* the control: accepted */
} Case;

static const Case cases[] = {
    { "not-json", "{\"version\": 1, ", DOC (HEAD, CREATED) },
    { "not-object", "[1]", DOC (HEAD, CREATED) },
    { "version-unknown", "{\"version\": 2, " HEAD "\"items\": []}", DOC (HEAD, "") },
    { "version-string", "{\"version\": \"1\", " HEAD "\"items\": []}", DOC (HEAD, "") },
    { "version-missing", "{" HEAD "\"items\": []}", DOC (HEAD, "") },
    { "member-unknown", DOC (HEAD "\"time\": 5, ", ""), DOC (HEAD, "") },
    { "uuid-missing", DOC ("\"digest\": \"" HEX "\", ", ""), DOC ("\"uuid\": null, \"digest\": \"" HEX "\", ", "") },
    { "uuid-malformed", DOC ("\"uuid\": \"6f1c\", \"digest\": null, ", ""), DOC ("\"uuid\": null, \"digest\": null, ", "") },
    { "digest-upper", DOC ("\"uuid\": null, \"digest\": \"" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef" "\", ", ""),
      DOC ("\"uuid\": null, \"digest\": \"" HEX "\", ", "") },
    { "digest-number", DOC ("\"uuid\": null, \"digest\": 5, ", ""), DOC ("\"uuid\": null, \"digest\": null, ", "") },
    { "items-missing", "{\"version\": 1, " HEAD "\"x\": 1}", DOC (HEAD, "") },
    { "items-object", "{\"version\": 1, " HEAD "\"items\": {}}", DOC (HEAD, "") },
    { "item-not-object", DOC (HEAD, "\"/etc/x\""), DOC (HEAD, CREATED) },
    { "kind-unknown", DOC (HEAD, "{\"kind\": \"user-created\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0}"),
      DOC (HEAD, CREATED) },
    { "path-dotdot", DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"/etc/../x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0}"),
      DOC (HEAD, CREATED) },
    { "path-relative", DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0}"),
      DOC (HEAD, CREATED) },
    { "path-newline", DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"/etc/x\\n\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0}"),
      DOC (HEAD, CREATED) },
    { "path-twice", DOC (HEAD, CREATED ", " CREATED), DOC (HEAD, CREATED) },
    { "mode-decimal", DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"/etc/x\", \"mode\": 420, \"uid\": 0, \"gid\": 0}"),
      DOC (HEAD, CREATED) },
    { "uid-negative", DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": -1, \"gid\": 0}"),
      DOC (HEAD, CREATED) },
    { "uid-huge", DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 4294967296, \"gid\": 0}"),
      DOC (HEAD, CREATED) },
    { "item-member-unknown", DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0, \"original\": {}}"),
      DOC (HEAD, CREATED) },
    { "saved-elsewhere", DOC (HEAD, ORIG (", \"sha256\": \"" HEX "\", \"saved\": \"orig/../../../etc/shadow\"")),
      DOC (HEAD, ORIG (", \"sha256\": \"" HEX "\", \"saved\": \"" SAVED_X "\"")) },
    { "saved-other-path", DOC (HEAD, ORIG (", \"sha256\": \"" HEX "\", \"saved\": \"orig/" HEX "\"")),
      DOC (HEAD, ORIG (", \"sha256\": \"" HEX "\", \"saved\": \"" SAVED_X "\"")) },
    { "saved-without-digest", DOC (HEAD, ORIG (", \"saved\": \"" SAVED_X "\"")),
      DOC (HEAD, ORIG ("")) },
    { "original-missing", DOC (HEAD, "{\"kind\": \"file-replaced\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0}"),
      DOC (HEAD, ORIG ("")) },
    { "symlink-false", DOC (HEAD, ORIG (", \"symlink\": false")), DOC (HEAD, ORIG (", \"symlink\": true")) },
    { "edited-without-digests", DOC (HEAD, "{\"kind\": \"file-edited\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0}"),
      DOC (HEAD, "{\"kind\": \"file-edited\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0, "
                 "\"before-sha256\": \"" HEX "\", \"after-sha256\": \"" HEX "\"}") },
    { "lines-not-lines", DOC (HEAD, "{\"kind\": \"file-edited\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0, "
                               "\"before-sha256\": \"" HEX "\", \"after-sha256\": \"" HEX "\", \"lines-added\": [\"a\\nb\"]}"),
      DOC (HEAD, "{\"kind\": \"file-edited\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0, "
                 "\"before-sha256\": \"" HEX "\", \"after-sha256\": \"" HEX "\", \"lines-added\": [\"a\", \"b\"]}") },
    /* what virt-inject wrote: a digest, on created and replaced files only */
    { "written-malformed", DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0, "
                                 "\"written-sha256\": \"../x\"}"),
      DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0, "
                 "\"written-sha256\": \"" HEX "\"}") },
    { "written-on-edited", DOC (HEAD, "{\"kind\": \"file-edited\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, \"gid\": 0, "
                                 "\"before-sha256\": \"" HEX "\", \"after-sha256\": \"" HEX "\", \"written-sha256\": \"" HEX "\"}"),
      DOC (HEAD, ORIG ("") ", {\"kind\": \"file-replaced\", \"path\": \"/etc/y\", \"mode\": \"0644\", \"uid\": 0, "
                 "\"gid\": 0, \"original\": {\"mode\": \"0600\", \"uid\": 0, \"gid\": 0, \"size\": 1}, "
                 "\"written-sha256\": \"" HEX "\"}") },
    { "created-lines-not-lines", DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"/etc/x\", \"mode\": \"0600\", \"uid\": 0, \"gid\": 0, "
                                       "\"written-sha256\": \"" HEX "\", \"lines-added\": [5]}"),
      DOC (HEAD, "{\"kind\": \"file-created\", \"path\": \"/etc/x\", \"mode\": \"0600\", \"uid\": 0, \"gid\": 0, "
                 "\"written-sha256\": \"" HEX "\", \"lines-added\": [\"k\"]}") },
    { "lines-on-replaced", DOC (HEAD, "{\"kind\": \"file-replaced\", \"path\": \"/etc/x\", \"mode\": \"0644\", \"uid\": 0, "
                                 "\"gid\": 0, \"original\": {\"mode\": \"0600\", \"uid\": 0, \"gid\": 0, \"size\": 1}, "
                                 "\"lines-added\": [\"k\"]}"),
      DOC (HEAD, ORIG ("")) },
    /* an edit's kept original: always kept (digest and name), never a symlink */
    { "edited-original-not-kept", DOC (HEAD, EDITED ("/etc/x", ", " EDIT_ORIG (""))),
      DOC (HEAD, EDITED ("/etc/x", ", " EDIT_ORIG (", \"sha256\": \"" HEX "\", \"saved\": \"" SAVED_X "\""))) },
    { "edited-original-symlink", DOC (HEAD, EDITED ("/etc/x", ", " EDIT_ORIG (", \"symlink\": true, \"sha256\": \"" HEX "\", \"saved\": \"" SAVED_X "\""))),
      DOC (HEAD, EDITED ("/etc/x", ", " EDIT_ORIG (", \"sha256\": \"" HEX "\", \"saved\": \"" SAVED_X "\""))) },
    { "edited-original-elsewhere", DOC (HEAD, EDITED ("/etc/x", ", " EDIT_ORIG (", \"sha256\": \"" HEX "\", \"saved\": \"orig/" HEX "\""))),
      DOC (HEAD, EDITED ("/etc/x", ", " EDIT_ORIG (", \"sha256\": \"" HEX "\", \"saved\": \"" SAVED_X "\""))) },
    /* the password fields virt-inject set: of /etc/shadow, by account name */
    { "passwords-elsewhere", DOC (HEAD, EDITED ("/etc/passwd", ", \"passwords-set\": {\"root\": \"" HEX "\"}")),
      DOC (HEAD, EDITED ("/etc/shadow", ", \"passwords-set\": {\"root\": \"" HEX "\"}")) },
    { "passwords-bad-name", DOC (HEAD, EDITED ("/etc/shadow", ", \"passwords-set\": {\"../root\": \"" HEX "\"}")),
      DOC (HEAD, EDITED ("/etc/shadow", ", \"passwords-set\": {\"root\": \"" HEX "\"}")) },
    { "passwords-not-digest", DOC (HEAD, EDITED ("/etc/shadow", ", \"passwords-set\": {\"root\": \"$6$salt$hash\"}")),
      DOC (HEAD, EDITED ("/etc/shadow", ", \"passwords-set\": {\"root\": \"" HEX "\"}")) },
    { "passwords-array", DOC (HEAD, EDITED ("/etc/shadow", ", \"passwords-set\": [\"root\"]")),
      DOC (HEAD, EDITED ("/etc/shadow", ", \"passwords-set\": {}")) },
    /* memberships virt-inject added: of /etc/group, "GROUP:USER" */
    { "members-elsewhere", DOC (HEAD, EDITED ("/etc/sudoers", ", \"members-added\": [\"wheel:bob\"]")),
      DOC (HEAD, EDITED ("/etc/group", ", \"members-added\": [\"wheel:bob\"]")) },
    { "members-three-fields", DOC (HEAD, EDITED ("/etc/group", ", \"members-added\": [\"wheel:bob:x\"]")),
      DOC (HEAD, EDITED ("/etc/group", ", \"members-added\": [\"wheel:bob\"]")) },
    { "members-bad-name", DOC (HEAD, EDITED ("/etc/group", ", \"members-added\": [\"wheel:b,ob\"]")),
      DOC (HEAD, EDITED ("/etc/group", ", \"members-added\": [\"wheel:bob\"]")) },
    { "members-not-strings", DOC (HEAD, EDITED ("/etc/group", ", \"members-added\": [5]")),
      DOC (HEAD, EDITED ("/etc/group", ", \"members-added\": []")) },
};

/* The account items: the passwords set and memberships added, an edit's
 * kept original, through a format and parse. */
static void
test_account_items (void)
{
    g_autoptr(GError) error = NULL;

    {
        static const char doc[] = DOC (HEAD, EDITED ("/etc/shadow", ", " EDIT_ORIG (", \"sha256\": \""
                                       HEX "\", \"saved\": \"orig/"
                                       "7b5ddf499844cf05866927513cf62fee9af8c281812def040b964146b0ea87d6\"")
                                       ", \"passwords-set\": {\"root\": \"" HEX "\", \"bob\": \"" HEX "\"}")
                                       ", " EDITED ("/etc/group", ", \"members-added\": [\"adm:bob\", \"wheel:bob\"]"));
        g_autoptr(GBytes) in = g_bytes_new_static (doc, sizeof doc - 1);
        g_autoptr(ViRecord) p = vi_record_parse (in, &error);
        g_autoptr(GBytes) out = NULL;
        g_autoptr(ViRecord) p2 = NULL;
        const ViRecordItem *sh, *gr;

        g_assert_no_error (error);
        sh = vi_record_lookup (p, "/etc/shadow");
        gr = vi_record_lookup (p, "/etc/group");
        g_assert_cmpstr (vi_record_pair_value ((const char *const *) sh->passwords_set, "bob"), ==, HEX);
        g_assert_null (vi_record_pair_value ((const char *const *) sh->passwords_set, "bo"));
        g_assert_cmpstrv (gr->members_added, ((const char *const[]) { "adm:bob", "wheel:bob", NULL }));
        g_assert_nonnull (sh->orig.saved);
        out = vi_record_format (p);
        p2 = vi_record_parse (out, &error);
        g_assert_no_error (error);
        g_assert_cmpstrv (vi_record_lookup (p2, "/etc/shadow")->passwords_set, sh->passwords_set);
        g_assert_cmpstrv (vi_record_lookup (p2, "/etc/group")->members_added, gr->members_added);
        g_assert_cmpstr (vi_record_lookup (p2, "/etc/shadow")->orig.saved, ==, sh->orig.saved);
    }
}

static void
test_hostile (gconstpointer data)
{
    const Case *c = data;
    g_autoptr(GBytes) bad = g_bytes_new_static (c->bad, strlen (c->bad));
    g_autoptr(GBytes) good = g_bytes_new_static (c->good, strlen (c->good));
    g_autoptr(ViRecord) control = NULL;
    g_autoptr(ViRecord) refused = NULL;
    g_autoptr(GError) error = NULL;

    control = vi_record_parse (good, &error);
    g_assert_no_error (error);
    g_assert_nonnull (control);
    refused = vi_record_parse (bad, &error);
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_null (refused);
}

static void
test_saved_name (void)
{
    g_autofree char *name = vi_record_saved_name ("/etc/x");

    g_assert_cmpstr (name, ==, SAVED_X);
}

/* Oversize: refused by size before parsing; the same record just under
 * the cap is read.  Also a NUL inside and too many items. */
static void
test_oversize (void)
{
    GString *s = g_string_new ("{\"version\": 1, " HEAD "\"items\": [");
    g_autoptr(GBytes) big = NULL;
    g_autoptr(GBytes) fits = NULL;
    g_autoptr(ViRecord) r = NULL;
    g_autoptr(GError) error = NULL;
    guint n = 0;

    while (s->len < VI_RECORD_MAX - 200) {
        g_string_append_printf (s, "%s{\"kind\": \"directory-created\", \"path\": \"/d/%u\", "
                                "\"mode\": \"0755\", \"uid\": 0, \"gid\": 0}", n ? ", " : "", n);
        n++;
    }
    g_string_append (s, "]}");
    g_assert_cmpuint (n, <=, VI_RECORD_ITEMS_MAX);
    fits = g_bytes_new (s->str, s->len);
    r = vi_record_parse (fits, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (r->items->len, ==, n);

    g_string_insert_len (s, s->len - 2, "                                                        "
                         "                                                                       "
                         "                                                                       ", -1);
    g_assert_cmpuint (s->len, >, VI_RECORD_MAX);
    big = g_bytes_new (s->str, s->len);
    g_clear_pointer (&r, vi_record_free);
    r = vi_record_parse (big, &error);
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_null (r);
    g_clear_error (&error);
    {
        static const char nul[] = "{\"version\": 1, \"uuid\": null, \"digest\": null, \"items\": []}\0";
        g_autoptr(GBytes) with_nul = g_bytes_new_static (nul, sizeof nul);
        g_autoptr(GBytes) without = g_bytes_new_static (nul, sizeof nul - 2);
        g_autoptr(ViRecord) ok = vi_record_parse (without, &error);

        g_assert_no_error (error);
        g_assert_null (vi_record_parse (with_nul, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    }
    g_string_free (s, TRUE);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/record/round-trip", test_round_trip);
    g_test_add_func ("/record/first-item-wins", test_first_item_wins);
    g_test_add_func ("/record/lines-added", test_lines_added);
    g_test_add_func ("/record/saved-name", test_saved_name);
    g_test_add_func ("/record/oversize", test_oversize);
    g_test_add_func ("/record/account-items", test_account_items);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = g_strdup_printf ("/record/hostile/%s", cases[i].name);
        g_test_add_data_func (path, &cases[i], test_hostile);
    }
    return g_test_run ();
}
