/* vi-record.c: the guest's record of what virt-inject did, as JSON.
 *
 * Version 1 (README.md "The guest record"):
 *
 *   {"version": 1, "uuid": UUID|null, "digest": HEX64|null,
 *    "items": [{"kind": KIND, "path": PATH, "mode": "0644", "uid": N, "gid": N,
 *               "original": {...}            file-replaced, attributes-changed,
 *                                            file-edited (optional)
 *               "written-sha256": HEX64,     file-created, file-replaced, optional
 *               "before-sha256": HEX64,      file-edited
 *               "after-sha256": HEX64,       file-edited
 *               "lines-added": [LINE...],    file-edited, file-created, optional
 *               "passwords-set": {USER: HEX64...},  /etc/shadow, optional
 *               "members-added": ["GROUP:USER"...]}, /etc/group, /etc/gshadow, optional
 *              ...]}
 *   original: {"mode": "0644", "uid": N, "gid": N, "size": N (replaced, edited),
 *              "symlink": true (optional), "sha256": HEX64, "saved": "orig/HEX64"
 *              (both optional: a kept original)}
 *
 * The parser is the defence: the guest may have written anything there.
 * It accepts exactly this shape (no unknown member, kind or version, every
 * path valid and once) and nothing larger than VI_RECORD_MAX.
 */
#include "vi-record.h"
#include "vi-check.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "vi-error.h"
#include "vi-json.h"
#include "vi-spec.h"

static const char *const kind_names[] = {
    "file-created", "file-replaced", "file-edited", "directory-created", "attributes-changed",
};
G_STATIC_ASSERT (G_N_ELEMENTS (kind_names) == VI_RECORD_KIND_LAST);

const char *
vi_record_kind_to_string (ViRecordKind kind)
{
    g_return_val_if_fail (kind < VI_RECORD_KIND_LAST, NULL);
    return kind_names[kind];
}

void
vi_record_item_free (ViRecordItem *item)
{
    if (item == NULL)
        return;
    g_free (item->path);
    g_free (item->orig.sha256);
    g_free (item->orig.saved);
    g_free (item->written_sha256);
    g_free (item->before_sha256);
    g_free (item->after_sha256);
    g_strfreev (item->lines_added);
    g_strfreev (item->passwords_set);
    g_strfreev (item->members_added);
    g_free (item);
}

ViRecord *
vi_record_new (const char *uuid, const char *digest)
{
    ViRecord *r = g_new0 (ViRecord, 1);

    r->uuid = g_strdup (uuid);
    r->digest = g_strdup (digest);
    r->items = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_record_item_free);
    r->by_path = g_hash_table_new (g_str_hash, g_str_equal);
    return r;
}

void
vi_record_free (ViRecord *record)
{
    if (record == NULL)
        return;
    g_free (record->uuid);
    g_free (record->digest);
    g_hash_table_unref (record->by_path);
    g_ptr_array_unref (record->items);
    g_free (record);
}

ViRecordItem *
vi_record_lookup (const ViRecord *record, const char *path)
{
    return g_hash_table_lookup (record->by_path, path);
}

void
vi_record_add (ViRecord *record, ViRecordItem *item)
{
    if (vi_record_lookup (record, item->path) != NULL) {
        vi_record_item_free (item);
        return;
    }
    g_ptr_array_add (record->items, item);
    g_hash_table_insert (record->by_path, item->path, item);
}

char *
vi_record_saved_name (const char *path)
{
    g_autofree char *hex = g_compute_checksum_for_string (G_CHECKSUM_SHA256, path, -1);
    return g_strconcat ("orig/", hex, NULL);
}

const char *
vi_record_pair_value (const char *const *pairs, const char *key)
{
    gsize n = strlen (key);

    for (guint i = 0; pairs && pairs[i]; i++)
        if (strncmp (pairs[i], key, n) == 0 && pairs[i][n] == ':')
            return pairs[i] + n + 1;
    return NULL;
}

GStrv
vi_record_lines_added (const char *before, gsize before_len, const char *after, gsize after_len)
{
    g_autofree char *b = g_strndup (before, before_len);
    g_autofree char *a = g_strndup (after, after_len);
    g_auto(GStrv) bl = g_strsplit (b, "\n", -1);
    g_auto(GStrv) al = g_strsplit (a, "\n", -1);
    g_autoptr(GStrvBuilder) added = g_strv_builder_new ();
    guint k = 0;

    /* A final empty element is the newline that ends the last line. */
    for (guint i = 0; al[i]; i++) {
        if (bl[k] && g_str_equal (al[i], bl[k]))
            k++;
        else if (al[i][0] != '\0' || al[i + 1] != NULL)
            g_strv_builder_add (added, al[i]);
    }
    if (bl[k] != NULL && !(bl[k][0] == '\0' && bl[k + 1] == NULL))
        return NULL;
    return g_strv_builder_end (added);
}

/* ---- format ------------------------------------------------------------ */

static void
add_mode_owner (JsonBuilder *b, guint mode, guint32 uid, guint32 gid)
{
    g_autofree char *m = g_strdup_printf ("%04o", mode);

    json_builder_set_member_name (b, "mode");
    json_builder_add_string_value (b, m);
    json_builder_set_member_name (b, "uid");
    json_builder_add_int_value (b, uid);
    json_builder_set_member_name (b, "gid");
    json_builder_add_int_value (b, gid);
}

static void
add_string_member (JsonBuilder *b, const char *name, const char *value)
{
    if (value == NULL)
        return;
    json_builder_set_member_name (b, name);
    json_builder_add_string_value (b, value);
}

static void
add_original (JsonBuilder *b, const ViRecordItem *it)
{
    const ViRecordOriginal *o = &it->orig;

    json_builder_set_member_name (b, "original");
    json_builder_begin_object (b);
    add_mode_owner (b, o->mode, o->uid, o->gid);
    if (it->kind != VI_RECORD_ATTR_CHANGED) {
        json_builder_set_member_name (b, "size");
        json_builder_add_int_value (b, (gint64) o->size);
    }
    if (o->symlink) {
        json_builder_set_member_name (b, "symlink");
        json_builder_add_boolean_value (b, TRUE);
    }
    add_string_member (b, "sha256", o->sha256);
    add_string_member (b, "saved", o->saved);
    json_builder_end_object (b);
}

GBytes *
vi_record_format (const ViRecord *record)
{
    g_autoptr(JsonBuilder) b = json_builder_new ();
    g_autoptr(JsonGenerator) gen = json_generator_new ();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *json = NULL;
    gsize len;

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "version");
    json_builder_add_int_value (b, VI_RECORD_VERSION);
    json_builder_set_member_name (b, "uuid");
    if (record->uuid)
        json_builder_add_string_value (b, record->uuid);
    else
        json_builder_add_null_value (b);
    json_builder_set_member_name (b, "digest");
    if (record->digest)
        json_builder_add_string_value (b, record->digest);
    else
        json_builder_add_null_value (b);
    json_builder_set_member_name (b, "items");
    json_builder_begin_array (b);
    for (guint i = 0; i < record->items->len; i++) {
        const ViRecordItem *it = record->items->pdata[i];

        json_builder_begin_object (b);
        add_string_member (b, "kind", kind_names[it->kind]);
        add_string_member (b, "path", it->path);
        add_mode_owner (b, it->mode, it->uid, it->gid);
        if (it->kind == VI_RECORD_FILE_REPLACED || it->kind == VI_RECORD_ATTR_CHANGED ||
            (it->kind == VI_RECORD_FILE_EDITED && it->orig.saved))
            add_original (b, it);
        add_string_member (b, "written-sha256", it->written_sha256);
        add_string_member (b, "before-sha256", it->before_sha256);
        add_string_member (b, "after-sha256", it->after_sha256);
        if (it->lines_added) {
            json_builder_set_member_name (b, "lines-added");
            json_builder_begin_array (b);
            for (guint l = 0; it->lines_added[l]; l++)
                json_builder_add_string_value (b, it->lines_added[l]);
            json_builder_end_array (b);
        }
        if (it->passwords_set) {
            json_builder_set_member_name (b, "passwords-set");
            json_builder_begin_object (b);
            for (guint l = 0; it->passwords_set[l]; l++) {
                g_auto(GStrv) kv = g_strsplit (it->passwords_set[l], ":", 2);

                json_builder_set_member_name (b, kv[0]);
                json_builder_add_string_value (b, kv[1]);
            }
            json_builder_end_object (b);
        }
        if (it->members_added) {
            json_builder_set_member_name (b, "members-added");
            json_builder_begin_array (b);
            for (guint l = 0; it->members_added[l]; l++)
                json_builder_add_string_value (b, it->members_added[l]);
            json_builder_end_array (b);
        }
        json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    json_generator_set_pretty (gen, TRUE);
    json_generator_set_root (gen, root);
    json = json_generator_to_data (gen, &len);
    return g_bytes_new_take (g_strconcat (json, "\n", NULL), len + 1);
}

/* ---- parse ------------------------------------------------------------- */

/* Every member of @obj is one of @allowed (NULL-terminated). */
static gboolean
only_members (JsonObject *obj, const char *const *allowed, const char *what, GError **error)
{
    g_autoptr(GList) names = json_object_get_members (obj);

    for (GList *l = names; l; l = l->next)
        if (!g_strv_contains (allowed, l->data))
            return vi_throw (error, VI_ERROR_GUEST, "%s: unknown member \"%s\"", what,
                             (const char *) l->data);
    return TRUE;
}

static gboolean
get_id (JsonObject *obj, const char *name, guint32 *out, const char *what, GError **error)
{
    JsonNode *n = vi_json_value_member (obj, name, G_TYPE_INT64);

    if (n == NULL || json_node_get_int (n) < 0 || json_node_get_int (n) > G_MAXUINT32)
        return vi_throw (error, VI_ERROR_GUEST, "%s: \"%s\" is not a number from 0 to %u", what,
                         name, G_MAXUINT32);
    *out = (guint32) json_node_get_int (n);
    return TRUE;
}

static gboolean
get_mode_owner (JsonObject *obj, guint *mode, guint32 *uid, guint32 *gid, const char *what,
                GError **error)
{
    JsonNode *m = vi_json_value_member (obj, "mode", G_TYPE_STRING);

    if (m == NULL || strlen (json_node_get_string (m)) != 4 ||
        !vi_parse_mode (json_node_get_string (m), mode, NULL))
        return vi_throw (error, VI_ERROR_GUEST, "%s: \"mode\" is not four octal digits", what);
    return get_id (obj, "uid", uid, what, error) && get_id (obj, "gid", gid, what, error);
}

static gboolean
is_hex64 (const char *s)
{
    if (strlen (s) != 64)
        return FALSE;
    for (const char *p = s; *p; p++)
        if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
            return FALSE;
    return TRUE;
}

/* An optional (@required FALSE) or required string member; @check, when
 * given, must accept it. */
static gboolean
get_string (JsonObject *obj, const char *name, gboolean required, gboolean (*check) (const char *),
            char **out, const char *what, GError **error)
{
    JsonNode *n = json_object_get_member (obj, name);

    if (n == NULL && !required)
        return TRUE;
    if (n == NULL || vi_json_value_member (obj, name, G_TYPE_STRING) == NULL ||
        (check && !check (json_node_get_string (n))))
        return vi_throw (error, VI_ERROR_GUEST, "%s: \"%s\" is missing or malformed", what, name);
    *out = g_strdup (json_node_get_string (n));
    return TRUE;
}

static gboolean
is_saved_name (const char *s)
{
    return g_str_has_prefix (s, "orig/") && is_hex64 (s + 5);
}

static gboolean
is_uuid (const char *s)
{
    return g_uuid_string_is_valid (s);
}

/* "uuid" and "digest": a string @check accepts, or null. */
static gboolean
get_nullable (JsonObject *obj, const char *name, gboolean (*check) (const char *), char **out,
              GError **error)
{
    JsonNode *n = json_object_get_member (obj, name);

    if (n != NULL && JSON_NODE_HOLDS_NULL (n))
        return TRUE;
    return get_string (obj, name, TRUE, check, out, "record", error);
}

static gboolean
parse_original (JsonObject *item, ViRecordItem *it, const char *what, GError **error)
{
    static const char *const allowed[] = { "mode", "uid", "gid", "size", "symlink", "sha256",
                                           "saved", NULL };
    JsonNode *n = json_object_get_member (item, "original");
    JsonObject *o = n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
    gboolean replaced = it->kind == VI_RECORD_FILE_REPLACED;
    gboolean edited = it->kind == VI_RECORD_FILE_EDITED;
    JsonNode *size, *symlink;

    if (o == NULL)
        return vi_throw (error, VI_ERROR_GUEST, "%s: \"original\" is missing or not an object",
                         what);
    if (!only_members (o, allowed, what, error) ||
        !get_mode_owner (o, &it->orig.mode, &it->orig.uid, &it->orig.gid, what, error))
        return FALSE;
    size = vi_json_value_member (o, "size", G_TYPE_INT64);
    symlink = json_object_get_member (o, "symlink");
    if ((replaced || edited) != (size != NULL) || (size && json_node_get_int (size) < 0))
        return vi_throw (error, VI_ERROR_GUEST, "%s: \"size\" is malformed", what);
    if (size)
        it->orig.size = (guint64) json_node_get_int (size);
    if (symlink && (!replaced || vi_json_value_member (o, "symlink", G_TYPE_BOOLEAN) == NULL ||
                    !json_node_get_boolean (symlink)))
        return vi_throw (error, VI_ERROR_GUEST, "%s: \"symlink\" is malformed", what);
    it->orig.symlink = symlink != NULL;
    if (!get_string (o, "sha256", FALSE, is_hex64, &it->orig.sha256, what, error) ||
        !get_string (o, "saved", FALSE, is_saved_name, &it->orig.saved, what, error))
        return FALSE;
    /* A kept original is a replaced or edited regular file: its digest and
     * its name, the one derived from the path (never a name of the guest's
     * choosing); an edited file's "original" is only ever a kept one. */
    if ((it->orig.sha256 != NULL) != (it->orig.saved != NULL) ||
        (it->orig.saved && (!(replaced || edited) || it->orig.symlink)) ||
        (edited && it->orig.saved == NULL)) {
        return vi_throw (error, VI_ERROR_GUEST, "%s: \"sha256\" and \"saved\" go together, for a "
                         "replaced or edited file", what);
    }
    if (it->orig.saved) {
        g_autofree char *expected = vi_record_saved_name (it->path);
        if (!g_str_equal (expected, it->orig.saved))
            return vi_throw (error, VI_ERROR_GUEST, "%s: \"saved\" is not the name of this path",
                             what);
    }
    return TRUE;
}

static gboolean
parse_lines (JsonObject *item, ViRecordItem *it, const char *what, GError **error)
{
    JsonNode *n = json_object_get_member (item, "lines-added");
    JsonArray *a = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
    g_autoptr(GStrvBuilder) b = NULL;

    if (n == NULL)
        return TRUE;
    if (a == NULL)
        return vi_throw (error, VI_ERROR_GUEST, "%s: \"lines-added\" is not an array", what);
    b = g_strv_builder_new ();
    for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonNode *l = json_array_get_element (a, i);

        if (!JSON_NODE_HOLDS_VALUE (l) || json_node_get_value_type (l) != G_TYPE_STRING ||
            strchr (json_node_get_string (l), '\n') != NULL)
            return vi_throw (error, VI_ERROR_GUEST, "%s: \"lines-added\" holds a non-line", what);
        g_strv_builder_add (b, json_node_get_string (l));
    }
    it->lines_added = g_strv_builder_end (b);
    return TRUE;
}

/* "passwords-set" of /etc/shadow: {USER: HEX64}, kept as "USER:HEX64". */
static gboolean
parse_passwords (JsonObject *item, ViRecordItem *it, const char *what, GError **error)
{
    JsonNode *n = json_object_get_member (item, "passwords-set");
    JsonObject *o = n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
    g_autoptr(GList) names = NULL;
    g_autoptr(GStrvBuilder) b = NULL;

    if (n == NULL)
        return TRUE;
    if (o == NULL || !g_str_equal (it->path, "/etc/shadow"))
        return vi_throw (error, VI_ERROR_GUEST, "%s: \"passwords-set\" is malformed, or not of "
                         "/etc/shadow", what);
    b = g_strv_builder_new ();
    names = json_object_get_members (o);
    for (GList *l = names; l; l = l->next) {
        JsonNode *v = vi_json_value_member (o, l->data, G_TYPE_STRING);
        g_autofree char *pair = NULL;

        if (!vi_check_account_name (l->data, NULL) || v == NULL ||
            !is_hex64 (json_node_get_string (v)))
            return vi_throw (error, VI_ERROR_GUEST, "%s: \"passwords-set\" holds a malformed entry",
                             what);
        pair = g_strconcat (l->data, ":", json_node_get_string (v), NULL);
        g_strv_builder_add (b, pair);
    }
    it->passwords_set = g_strv_builder_end (b);
    return TRUE;
}

/* "members-added" of /etc/group and /etc/gshadow: ["GROUP:USER"]. */
static gboolean
parse_members (JsonObject *item, ViRecordItem *it, const char *what, GError **error)
{
    JsonNode *n = json_object_get_member (item, "members-added");
    JsonArray *a = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
    g_autoptr(GStrvBuilder) b = NULL;

    if (n == NULL)
        return TRUE;
    if (a == NULL || !(g_str_equal (it->path, "/etc/group") || g_str_equal (it->path, "/etc/gshadow")))
        return vi_throw (error, VI_ERROR_GUEST, "%s: \"members-added\" is malformed, or not of "
                         "/etc/group or /etc/gshadow", what);
    b = g_strv_builder_new ();
    for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonNode *e = json_array_get_element (a, i);
        g_auto(GStrv) gu = NULL;

        if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
            return vi_throw (error, VI_ERROR_GUEST, "%s: \"members-added\" holds a non-string", what);
        gu = g_strsplit (json_node_get_string (e), ":", -1);
        if (g_strv_length (gu) != 2 || !vi_check_account_name (gu[0], NULL) ||
            !vi_check_account_name (gu[1], NULL))
            return vi_throw (error, VI_ERROR_GUEST, "%s: \"members-added\" holds a malformed entry",
                             what);
        g_strv_builder_add (b, json_node_get_string (e));
    }
    it->members_added = g_strv_builder_end (b);
    return TRUE;
}

static ViRecordItem *
parse_item (JsonNode *node, guint index, GError **error)
{
    static const char *const common[] = { "kind", "path", "mode", "uid", "gid", NULL };
    static const char *const created[] = { "kind", "path", "mode", "uid", "gid",
                                           "written-sha256", "lines-added", NULL };
    static const char *const replaced[] = { "kind", "path", "mode", "uid", "gid", "original",
                                            "written-sha256", NULL };
    static const char *const with_original[] = { "kind", "path", "mode", "uid", "gid", "original",
                                                 NULL };
    static const char *const edited[] = { "kind", "path", "mode", "uid", "gid", "before-sha256",
                                          "after-sha256", "lines-added", "original",
                                          "passwords-set", "members-added", NULL };
    g_autofree char *what = g_strdup_printf ("item %u", index);
    g_autoptr(ViRecordItem) it = g_new0 (ViRecordItem, 1);
    g_autofree char *kind = NULL;
    JsonObject *obj;
    gint k = -1;

    if (!JSON_NODE_HOLDS_OBJECT (node)) {
        vi_throw (error, VI_ERROR_GUEST, "%s: not an object", what);
        return NULL;
    }
    obj = json_node_get_object (node);
    if (!get_string (obj, "kind", TRUE, NULL, &kind, what, error))
        return NULL;
    for (guint i = 0; i < VI_RECORD_KIND_LAST; i++)
        if (g_str_equal (kind, kind_names[i]))
            k = (gint) i;
    if (k < 0) {
        vi_throw (error, VI_ERROR_GUEST, "%s: unknown kind \"%s\"", what, kind);
        return NULL;
    }
    it->kind = (ViRecordKind) k;
    if (!get_string (obj, "path", TRUE, NULL, &it->path, what, error))
        return NULL;
    if (!vi_check_guest_path (it->path, NULL)) {
        vi_throw (error, VI_ERROR_GUEST, "%s: \"path\" is not a valid guest path", what);
        return NULL;
    }
    if (!only_members (obj, it->kind == VI_RECORD_FILE_EDITED ? edited
                            : it->kind == VI_RECORD_FILE_CREATED ? created
                            : it->kind == VI_RECORD_FILE_REPLACED ? replaced
                            : it->kind == VI_RECORD_ATTR_CHANGED ? with_original : common,
                       what, error) ||
        !get_mode_owner (obj, &it->mode, &it->uid, &it->gid, what, error))
        return NULL;
    if (it->kind == VI_RECORD_FILE_EDITED &&
        (!get_string (obj, "before-sha256", TRUE, is_hex64, &it->before_sha256, what, error) ||
         !get_string (obj, "after-sha256", TRUE, is_hex64, &it->after_sha256, what, error) ||
         !parse_lines (obj, it, what, error) || !parse_passwords (obj, it, what, error) ||
         !parse_members (obj, it, what, error) ||
         (json_object_has_member (obj, "original") && !parse_original (obj, it, what, error))))
        return NULL;
    if (it->kind == VI_RECORD_FILE_CREATED && !parse_lines (obj, it, what, error))
        return NULL;
    if (!get_string (obj, "written-sha256", FALSE, is_hex64, &it->written_sha256, what, error))
        return NULL;
    if ((it->kind == VI_RECORD_FILE_REPLACED || it->kind == VI_RECORD_ATTR_CHANGED) &&
        !parse_original (obj, it, what, error))
        return NULL;
    return g_steal_pointer (&it);
}

ViRecord *
vi_record_parse (GBytes *data, GError **error)
{
    static const char *const allowed[] = { "version", "uuid", "digest", "items", NULL };
    g_autoptr(JsonParser) parser = json_parser_new_immutable ();
    g_autoptr(ViRecord) record = vi_record_new (NULL, NULL);
    g_autoptr(GError) e = NULL;
    gsize len;
    const char *text = g_bytes_get_data (data, &len);
    JsonNode *root, *version, *items;
    JsonObject *obj;
    JsonArray *a;

    if (len > VI_RECORD_MAX) {
        vi_throw (error, VI_ERROR_GUEST, "larger than %u bytes", VI_RECORD_MAX);
        return NULL;
    }
    if (len == 0 || memchr (text, '\0', len) != NULL ||
        !json_parser_load_from_data (parser, text, (gssize) len, &e)) {
        vi_throw (error, VI_ERROR_GUEST, "not JSON%s%s", e ? ": " : "", e ? e->message : "");
        return NULL;
    }
    root = json_parser_get_root (parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
        vi_throw (error, VI_ERROR_GUEST, "not a JSON object");
        return NULL;
    }
    obj = json_node_get_object (root);
    version = vi_json_value_member (obj, "version", G_TYPE_INT64);
    if (version == NULL || json_node_get_int (version) != VI_RECORD_VERSION) {
        vi_throw (error, VI_ERROR_GUEST, "not version %d", VI_RECORD_VERSION);
        return NULL;
    }
    items = json_object_get_member (obj, "items");
    if (!only_members (obj, allowed, "record", error) ||
        !get_nullable (obj, "uuid", is_uuid, &record->uuid, error) ||
        !get_nullable (obj, "digest", is_hex64, &record->digest, error))
        return NULL;
    if (items == NULL || !JSON_NODE_HOLDS_ARRAY (items)) {
        vi_throw (error, VI_ERROR_GUEST, "\"items\" is missing or not an array");
        return NULL;
    }
    a = json_node_get_array (items);
    if (json_array_get_length (a) > VI_RECORD_ITEMS_MAX) {
        vi_throw (error, VI_ERROR_GUEST, "more than %u items", VI_RECORD_ITEMS_MAX);
        return NULL;
    }
    for (guint i = 0; i < json_array_get_length (a); i++) {
        ViRecordItem *it = parse_item (json_array_get_element (a, i), i, error);

        if (it == NULL)
            return NULL;
        if (vi_record_lookup (record, it->path) != NULL) {
            vi_throw (error, VI_ERROR_GUEST, "item %u: %s is recorded twice", i, it->path);
            vi_record_item_free (it);
            return NULL;
        }
        vi_record_add (record, it);
    }
    return g_steal_pointer (&record);
}
