/* vi-edit.c: the edits of guest text files, as pure functions on text.
 *
 * The text is the guest's, so hostile: nothing here trusts its line
 * lengths, field counts or encoding, and nothing here does I/O (vi-inject
 * reads, refuses NUL bytes, and writes).  What the request contributes is
 * checked before it gets here (vi-check).
 */
#include "vi-edit.h"

#include <string.h>

#include "vi-error.h"
#include "vi-net.h"

/* The line of @lines that names @user in /etc/shadow, split on ':' into
 * *@out_fields; -1 when none. */
static int
shadow_find (char **lines, const char *user, GStrv *out_fields)
{
    for (guint l = 0; lines[l]; l++) {
        g_auto(GStrv) f = g_strsplit (lines[l], ":", -1);

        if (g_strv_length (f) < 3 || !g_str_equal (f[0], user))
            continue;
        *out_fields = g_steal_pointer (&f);
        return (int) l;
    }
    return -1;
}

char *
vi_edit_shadow_field (const char *text, const char *user, guint n)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    g_auto(GStrv) f = NULL;

    if (shadow_find (lines, user, &f) < 0 || n >= g_strv_length (f))
        return NULL;
    return g_strdup (f[n]);
}

char *
vi_edit_shadow_password (const char *text, const char *user)
{
    return vi_edit_shadow_field (text, user, 1);
}

char *
vi_edit_shadow_set_password (const char *text, const char *user, const char *field,
                             const char *today, GError **error)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    g_auto(GStrv) f = NULL;
    int l = shadow_find (lines, user, &f);

    if (l < 0) {
        vi_throw (error, VI_ERROR_GUEST, "user '%s' has no entry in the guest's /etc/shadow", user);
        return NULL;
    }
    if (g_str_equal (field, f[1]))
        return g_strdup (text);
    g_free (f[1]);
    f[1] = g_strdup (field);
    g_free (f[2]);
    f[2] = g_strdup (today);
    g_free (lines[l]);
    lines[l] = g_strjoinv (":", f);
    return g_strjoinv ("\n", lines);
}

char *
vi_edit_shadow_expire (const char *text, const char *user)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    g_auto(GStrv) f = NULL;
    int l = shadow_find (lines, user, &f);

    if (l < 0)
        return NULL;
    if (g_strv_length (f) != 9 || f[7][0] != '\0')
        return g_strdup (text);         /* not a shadow line, or an expiry already set */
    g_free (f[7]);
    f[7] = g_strdup ("1");
    g_free (lines[l]);
    lines[l] = g_strjoinv (":", f);
    return g_strjoinv ("\n", lines);
}

char *
vi_edit_shadow_lock (const char *field)
{
    return field[0] == '!' ? g_strdup (field) : g_strconcat ("!", field, NULL);
}

char *
vi_edit_hostname (const char *name)
{
    return g_strdup_printf ("%s\n", name);
}

/* @line maps @addr ("127.0.0.1"): the address, then a blank. */
static gboolean
hosts_line_is (const char *line, const char *addr)
{
    gsize n = strlen (addr);

    return strncmp (line, addr, n) == 0 && (line[n] == ' ' || line[n] == '\t');
}

char *
vi_edit_hosts (const char *hosts, const char *hostname)
{
    g_autofree char *short_name = g_strndup (hostname, strcspn (hostname, "."));
    g_autofree char *entry = NULL;
    g_auto(GStrv) lines = g_strsplit (hosts ? hosts : "127.0.0.1\tlocalhost\n", "\n", -1);
    GString *out = g_string_new (NULL);
    gboolean placed = FALSE;
    guint last_localhost = 0;
    gboolean have_localhost = FALSE;

    entry = g_str_equal (short_name, hostname)
            ? g_strdup_printf ("127.0.1.1\t%s", hostname)
            : g_strdup_printf ("127.0.1.1\t%s %s", hostname, short_name);
    for (guint i = 0; lines[i]; i++)
        if (hosts_line_is (lines[i], "127.0.0.1")) {
            last_localhost = i;
            have_localhost = TRUE;
        }
    if (!have_localhost) {
        g_string_append_printf (out, "%s\n", entry);
        placed = TRUE;
    }
    for (guint i = 0; lines[i]; i++) {
        gboolean last = lines[i + 1] == NULL;

        if (hosts_line_is (lines[i], "127.0.1.1")) {
            if (!placed) {
                g_string_append_printf (out, "%s\n", entry);
                placed = TRUE;
            }
            continue;
        }
        if (last && lines[i][0] == '\0')
            break;
        g_string_append_printf (out, "%s\n", lines[i]);
        if (have_localhost && i == last_localhost && !placed) {
            /* keep 127.0.1.1 right after localhost, where Debian puts it */
            gboolean next_is_ours = lines[i + 1] && hosts_line_is (lines[i + 1], "127.0.1.1");

            if (!next_is_ours) {
                g_string_append_printf (out, "%s\n", entry);
                placed = TRUE;
            }
        }
    }
    return g_string_free (out, FALSE);
}

/* "type blob" of an authorized_keys line, or NULL for a line that is no key. */
static char *
key_identity (const char *line)
{
    g_auto(GStrv) w = NULL;

    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '#')
        return NULL;    /* a commented-out key is not a key */
    w = g_strsplit_set (line, " \t", -1);

    for (guint i = 0; w[i]; i++)
        if (g_str_has_prefix (w[i], "ssh-") || g_str_has_prefix (w[i], "ecdsa-") ||
            g_str_has_prefix (w[i], "sk-")) {
            for (guint j = i + 1; w[j]; j++)
                if (*w[j])
                    return g_strconcat (w[i], " ", w[j], NULL);
            return NULL;
        }
    return NULL;
}

char *
vi_edit_authorized_keys (const char *old, gsize len, const char *const *keys, guint n_keys)
{
    g_autoptr(GHashTable) have = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    GString *content = g_string_new (NULL);

    if (old != NULL) {
        g_autofree char *text = g_strndup (old, len);
        g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

        g_string_append_len (content, old, len);
        if (len > 0 && old[len - 1] != '\n')
            g_string_append_c (content, '\n');
        for (guint i = 0; lines[i]; i++) {
            char *id = key_identity (lines[i]);
            if (id)
                g_hash_table_add (have, id);
        }
    }
    for (guint k = 0; k < n_keys; k++) {
        char *id = key_identity (keys[k]);

        if (id == NULL || g_hash_table_contains (have, id)) {
            g_free (id);
            continue;
        }
        g_hash_table_add (have, id);
        g_string_append_printf (content, "%s\n", keys[k]);
    }
    return g_string_free (content, FALSE);
}

char *
vi_edit_take_back_lines (const char *text, const char *const *lines, const char *const *keep,
                         guint n_keep, GStrv *out_removed)
{
    g_autoptr(GHashTable) kept = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_auto(GStrv) split = g_strsplit (text, "\n", -1);
    g_autoptr(GStrvBuilder) removed = g_strv_builder_new ();
    GString *s = g_string_new (NULL);

    for (guint k = 0; k < n_keep; k++) {
        char *id = key_identity (keep[k]);
        if (id)
            g_hash_table_add (kept, id);
    }
    for (guint i = 0; split[i]; i++) {
        g_autofree char *id = NULL;
        gboolean last = split[i + 1] == NULL;  /* after the last newline */

        if (split[i][0] != '\0' && g_strv_contains (lines, split[i]) &&
            ((id = key_identity (split[i])) == NULL || !g_hash_table_contains (kept, id))) {
            g_strv_builder_add (removed, split[i]);
            continue;
        }
        g_string_append_printf (s, last ? "%s" : "%s\n", split[i]);
    }
    if (out_removed)
        *out_removed = g_strv_builder_end (removed);
    return g_string_free (s, FALSE);
}

char *
vi_edit_ifupdown_strip_block (const char *text, GError **error)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    g_autoptr(GString) s = g_string_new (NULL);
    gboolean skipping = FALSE;

    for (guint i = 0; lines[i]; i++) {
        if (g_str_equal (lines[i], VI_NET_BLOCK_BEGIN)) {
            gboolean ended = FALSE;

            for (guint k = i + 1; lines[k] && !ended; k++)
                ended = g_str_equal (lines[k], VI_NET_BLOCK_END);
            if (!ended) {
                vi_throw (error, VI_ERROR_GUEST, "/etc/network/interfaces: a "
                          "'# BEGIN virt-inject' block has no '# END virt-inject'");
                return NULL;
            }
            skipping = TRUE;
            continue;
        }
        if (skipping) {
            skipping = !g_str_equal (lines[i], VI_NET_BLOCK_END);
            continue;
        }
        if (lines[i + 1] == NULL && lines[i][0] == '\0')
            break;
        g_string_append_printf (s, "%s\n", lines[i]);
    }
    return g_string_free (g_steal_pointer (&s), FALSE);
}

/* @text, a newline added when it is not empty and lacks one, then @tail. */
static char *
append_lines (const char *text, const char *tail)
{
    return g_strconcat (text, *text && !g_str_has_suffix (text, "\n") ? "\n" : "", tail, NULL);
}

char *
vi_edit_ifupdown_append_block (const char *text, const char *block)
{
    g_autofree char *tail = g_strconcat (VI_NET_BLOCK_BEGIN "\n", block, VI_NET_BLOCK_END "\n",
                                         NULL);

    return append_lines (text, tail);
}

char *
vi_edit_ifupdown_append_source (const char *text)
{
    return append_lines (text, VI_NET_MARK_ADDED "\n"
                         "source /etc/network/interfaces.d/virt-inject-*\n");
}

/* Whether @line starts with the keyword @word (then a blank). */
static gboolean
is_keyword (const char *line, const char *word)
{
    gsize n = strlen (word);

    return strncmp (line, word, n) == 0 && (line[n] == ' ' || line[n] == '\t');
}

/* Whether one of the lines of @text starts with the keyword @word. */
static gboolean
has_line (const char *text, const char *word)
{
    for (const char *l = text; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
        if (is_keyword (l, word))
            return TRUE;
    return FALSE;
}

char *
vi_edit_resolv_conf (const char *text, const char *ours)
{
    g_auto(GStrv) lines = g_strsplit (text ? text : "", "\n", -1);
    GString *out = g_string_new (NULL);
    gboolean ns = has_line (ours, "nameserver"), search = has_line (ours, "search");

    for (guint i = 0; lines[i]; i++) {
        const char *l = lines[i] + strspn (lines[i], " \t");

        if ((ns && is_keyword (l, "nameserver")) ||
            (search && (is_keyword (l, "search") || is_keyword (l, "domain"))) ||
            (lines[i + 1] == NULL && lines[i][0] == '\0'))
            continue;
        g_string_append_printf (out, "%s\n", lines[i]);
    }
    g_string_append (out, ours);
    return g_string_free (out, FALSE);
}
