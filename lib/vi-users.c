/* vi-users.c: the account databases of a guest, as text (see vi-users.h).
 *
 * Every function takes the whole text of a guest file and either answers a
 * question about it or returns a new text.  An edit touches exactly one
 * line (or appends one); all other bytes, a missing final newline and CRLF
 * line ends included, are kept.
 */
#include "vi-users.h"

#include <string.h>

#include "vi-error.h"

#define LOGIN_NAME_MAX_LEN 32

void
vi_account_free (ViAccount *a)
{
    if (a == NULL)
        return;
    g_free (a->name);
    g_free (a->home);
    g_free (a->shell);
    g_free (a);
}

static gboolean
parse_id (const char *s, guint32 *out)
{
    guint64 v;

    if (!g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT32 - 1, &v, NULL))
        return FALSE;
    *out = (guint32) v;
    return TRUE;
}

/* The fields of @line (without a trailing "\r"), split on ':'. */
static GStrv
fields_of (const char *line)
{
    gsize len = strlen (line);
    g_autofree char *l = g_strndup (line, len > 0 && line[len - 1] == '\r' ? len - 1 : len);

    return g_strsplit (l, ":", -1);
}

/* A well-formed entry of a database whose entries have @n fields and an id
 * in the third: its fields, else NULL. */
static GStrv
entry_fields (const char *line, guint n, guint32 *out_id)
{
    g_auto(GStrv) f = fields_of (line);

    if (g_strv_length (f) != n || f[0][0] == '\0' || !parse_id (f[2], out_id))
        return NULL;
    return g_steal_pointer (&f);
}

static gboolean
first_field_is (const char *line, const char *name)
{
    gsize n = strlen (name);

    return strncmp (line, name, n) == 0 && line[n] == ':';
}

void
vi_login_defs_parse (const char *text, guint default_home_mode, ViLoginDefs *out)
{
    g_auto(GStrv) lines = NULL;
    struct {
        const char *key;
        guint32 *value;
    } ids[] = {
        { "UID_MIN", &out->uid_min }, { "UID_MAX", &out->uid_max },
        { "GID_MIN", &out->gid_min }, { "GID_MAX", &out->gid_max },
    };
    ViLoginDefs defaults = { 1000, 60000, 1000, 60000, default_home_mode };

    *out = defaults;
    if (text == NULL)
        return;
    lines = g_strsplit (text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) w = g_strsplit_set (g_strstrip (lines[i]), " \t", 2);
        const char *value;
        guint64 v;

        if (w[0] == NULL || w[1] == NULL)
            continue;
        value = g_strstrip (w[1]);
        for (guint k = 0; k < G_N_ELEMENTS (ids); k++)
            if (g_str_equal (w[0], ids[k].key) &&
                g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT32 - 1, &v, NULL))
                *ids[k].value = (guint32) v;
        if (g_str_equal (w[0], "HOME_MODE") &&
            g_ascii_string_to_unsigned (value, 8, 0, 0777, &v, NULL))
            out->home_mode = (guint) v;
    }
    if (out->uid_min > out->uid_max) {
        out->uid_min = defaults.uid_min;
        out->uid_max = defaults.uid_max;
    }
    if (out->gid_min > out->gid_max) {
        out->gid_min = defaults.gid_min;
        out->gid_max = defaults.gid_max;
    }
}

ViUsersLookup
vi_users_find_account (const char *passwd, const char *name, ViAccount **out)
{
    g_auto(GStrv) lines = g_strsplit (passwd, "\n", -1);
    gboolean malformed = FALSE;

    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = NULL;
        guint32 uid, gid;

        if (!first_field_is (lines[i], name))
            continue;
        f = entry_fields (lines[i], 7, &uid);
        if (f == NULL || !parse_id (f[3], &gid)) {
            malformed = TRUE;
            continue;
        }
        if (out) {
            ViAccount *a = g_new0 (ViAccount, 1);

            a->name = g_strdup (f[0]);
            a->uid = uid;
            a->gid = gid;
            a->home = g_strdup (f[5]);
            a->shell = g_strdup (f[6]);
            *out = a;
        }
        return VI_USERS_FOUND;
    }
    return malformed ? VI_USERS_MALFORMED : VI_USERS_ABSENT;
}

ViUsersLookup
vi_users_find_group (const char *group, const char *name, guint32 *out_gid)
{
    g_auto(GStrv) lines = g_strsplit (group, "\n", -1);
    gboolean malformed = FALSE;

    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = NULL;
        guint32 gid;

        if (!first_field_is (lines[i], name))
            continue;
        f = entry_fields (lines[i], 4, &gid);
        if (f == NULL) {
            malformed = TRUE;
            continue;
        }
        if (out_gid)
            *out_gid = gid;
        return VI_USERS_FOUND;
    }
    return malformed ? VI_USERS_MALFORMED : VI_USERS_ABSENT;
}

gboolean
vi_users_has_name (const char *text, const char *name)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

    for (guint i = 0; lines[i]; i++)
        if (first_field_is (lines[i], name))
            return TRUE;
    return FALSE;
}

gboolean
vi_users_id_taken (const char *text, guint32 id)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = fields_of (lines[i]);
        guint32 v;

        /* Any line with an id in its third field takes it: a malformed
         * line of another account may still be what the guest reads. */
        if (g_strv_length (f) >= 3 && parse_id (f[2], &v) && v == id)
            return TRUE;
    }
    return FALSE;
}

gboolean
vi_users_pick_id (const char *a, const char *b, guint32 min, guint32 max, guint32 *out_id)
{
    g_autoptr(GHashTable) taken = g_hash_table_new (g_direct_hash, g_direct_equal);
    const char *texts[] = { a, b };

    /* One pass over each text, then the lowest free id: a range of 60000
     * ids is not searched line by line. */
    for (guint t = 0; t < G_N_ELEMENTS (texts); t++) {
        g_auto(GStrv) lines = NULL;

        if (texts[t] == NULL)
            continue;
        lines = g_strsplit (texts[t], "\n", -1);
        for (guint i = 0; lines[i]; i++) {
            g_auto(GStrv) f = fields_of (lines[i]);
            guint32 v;

            if (g_strv_length (f) >= 3 && parse_id (f[2], &v) && v >= min && v <= max)
                g_hash_table_add (taken, GUINT_TO_POINTER (v - min + 1));
        }
    }
    for (guint64 id = min; id <= max; id++)
        if (!g_hash_table_contains (taken, GUINT_TO_POINTER ((guint32) (id - min + 1)))) {
            *out_id = (guint32) id;
            return TRUE;
        }
    return FALSE;
}

char *
vi_users_append (const char *text, const char *line)
{
    gsize len = strlen (text);

    return g_strconcat (text, len > 0 && text[len - 1] != '\n' ? "\n" : "", line, "\n", NULL);
}

/* @text with the member list of @group's line changed by @change (which
 * returns the new list, or NULL for no change). */
static char *
change_members (const char *text, const char *group, const char *user,
                char *(*change) (char **members, const char *old, const char *user),
                gboolean *out_found)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

    *out_found = FALSE;
    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = NULL;
        g_auto(GStrv) members = NULL;
        gsize len = strlen (lines[i]);
        gboolean cr = len > 0 && lines[i][len - 1] == '\r';
        char *list;

        if (!first_field_is (lines[i], group))
            continue;
        f = fields_of (lines[i]);
        if (g_strv_length (f) != 4)
            continue;
        *out_found = TRUE;
        members = g_strsplit (f[3], ",", -1);
        list = change (members, f[3], user);
        if (list == NULL)
            return g_strdup (text);
        g_free (f[3]);
        f[3] = list;
        g_free (lines[i]);
        lines[i] = g_strjoinv (":", f);
        if (cr) {
            char *with_cr = g_strconcat (lines[i], "\r", NULL);
            g_free (lines[i]);
            lines[i] = with_cr;
        }
        return g_strjoinv ("\n", lines);
    }
    return g_strdup (text);
}

static char *
member_added (char **members, const char *old, const char *user)
{
    if (g_strv_contains ((const char *const *) members, user))
        return NULL;
    return *old ? g_strconcat (old, ",", user, NULL) : g_strdup (user);
}

static char *
member_removed (char **members, const char *old, const char *user)
{
    g_autoptr(GStrvBuilder) b = NULL;
    g_auto(GStrv) kept = NULL;

    if (!g_strv_contains ((const char *const *) members, user))
        return NULL;
    b = g_strv_builder_new ();
    for (guint i = 0; members[i]; i++)
        if (!g_str_equal (members[i], user))
            g_strv_builder_add (b, members[i]);
    kept = g_strv_builder_end (b);
    return g_strjoinv (",", kept);
}

char *
vi_users_add_member (const char *text, const char *group, const char *user, gboolean *out_found)
{
    return change_members (text, group, user, member_added, out_found);
}

char *
vi_users_remove_member (const char *text, const char *group, const char *user)
{
    gboolean found;

    return change_members (text, group, user, member_removed, &found);
}

gboolean
vi_users_shell_listed (const char *shells, const char *shell)
{
    g_auto(GStrv) lines = g_strsplit (shells, "\n", -1);

    for (guint i = 0; lines[i]; i++)
        if (lines[i][0] != '#' && g_str_equal (g_strstrip (lines[i]), shell))
            return TRUE;
    return FALSE;
}

gboolean
vi_users_sudoers_includes_dir (const char *sudoers)
{
    g_auto(GStrv) lines = g_strsplit (sudoers, "\n", -1);

    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) w = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
        guint n = 0;

        if (w[0] == NULL ||
            (!g_str_equal (w[0], "@includedir") && !g_str_equal (w[0], "#includedir")))
            continue;
        for (guint k = 1; w[k]; k++)
            if (*w[k] != '\0') {
                n++;
                if (n == 1 && g_str_equal (w[k], "/etc/sudoers.d"))
                    return TRUE;
            }
    }
    return FALSE;
}

char *
vi_users_sudoers_rule (const char *name, gboolean nopasswd)
{
    return g_strdup_printf ("%s ALL=(ALL:ALL) %sALL\n", name, nopasswd ? "NOPASSWD: " : "");
}

gboolean
vi_users_check_login_name (const char *name, GError **error)
{
    gsize len = strlen (name);

    if (len == 0 || len > LOGIN_NAME_MAX_LEN)
        return vi_throw (error, VI_ERROR_INVALID, "'%s' is not a login name: 1 to %d bytes",
                         name, LOGIN_NAME_MAX_LEN);
    if (!g_ascii_islower (name[0]) && name[0] != '_')
        return vi_throw (error, VI_ERROR_INVALID, "'%s' is not a login name: it must start with "
                         "a lower-case letter or '_'", name);
    for (gsize i = 1; i < len; i++) {
        char c = name[i];

        if (g_ascii_islower (c) || g_ascii_isdigit (c) || c == '_' || c == '-' || c == '.' ||
            (c == '$' && i == len - 1))
            continue;
        return vi_throw (error, VI_ERROR_INVALID, "'%s' is not a login name: only lower-case "
                         "letters, digits, '_', '-', '.' and a final '$'", name);
    }
    return TRUE;
}
