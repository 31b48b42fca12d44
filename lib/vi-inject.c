/* vi-inject.c: plan every change against the guest, then apply it.
 *
 * vi_plan_build() reads what it needs through the VFS and computes every
 * byte it will write, so a request the guest cannot satisfy fails before
 * anything is written.  A step whose result is already in the guest (same
 * content, mode and owner) is recorded as "unchanged" and not applied, which
 * makes every injection idempotent.  vi_plan_apply() creates directories,
 * fixes attributes, writes files, commits the VFS batch, and labels what it
 * wrote with the guest's own SELinux policy.
 */
#include "vi-inject.h"

#include <stdarg.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "vi-crypt.h"
#include "vi-selinux.h"
#include "vi-error.h"
#include "vi-net.h"

#define DEFAULT_READ_MAX (8u * 1024 * 1024)

typedef enum {
    STEP_MKDIR,             /* create (mkdir -p) with mode/uid/gid */
    STEP_ATTR,              /* fix mode and owner of an existing path */
    STEP_WRITE,             /* atomically replace a file */
    STEP_UNCHANGED,         /* already as requested */
} StepKind;

typedef struct {
    StepKind kind;
    char *path;
    GBytes *content;        /* STEP_WRITE */
    guint mode;
    guint32 uid;
    guint32 gid;
    char *why;              /* what the step is for, e.g. "password for root" */
} Step;

struct _ViPlan {
    GPtrArray *steps;               /* (element-type Step) */
    GHashTable *writes;             /* guest path -> Step* (planned writes) */
    GHashTable *dirs;               /* guest paths known to exist or planned */
    ViGuestFacts *facts;
    ViLabeler *labeler;             /* label written paths with the guest's policy */
    gboolean autorelabel;           /* that cannot be done: create /.autorelabel */
    gsize read_max;
};

static void
step_free (Step *s)
{
    g_free (s->path);
    if (s->content)
        g_bytes_unref (s->content);
    g_free (s->why);
    g_free (s);
}

void
vi_plan_free (ViPlan *plan)
{
    if (plan == NULL)
        return;
    g_ptr_array_unref (plan->steps);
    g_hash_table_unref (plan->writes);
    g_hash_table_unref (plan->dirs);
    vi_guest_facts_free (plan->facts);
    vi_labeler_free (plan->labeler);
    g_free (plan);
}

static Step *
add_step (ViPlan *plan, StepKind kind, const char *path, guint mode, guint32 uid, guint32 gid,
          const char *why)
{
    Step *s = g_new0 (Step, 1);

    s->kind = kind;
    s->path = g_strdup (path);
    s->mode = mode;
    s->uid = uid;
    s->gid = gid;
    s->why = g_strdup (why);
    g_ptr_array_add (plan->steps, s);
    return s;
}

/* Make sure directory @path exists by the time later steps run: nothing if
 * it exists (or is planned), a mkdir step otherwise.  @path must not be an
 * existing non-directory. */
static gboolean
plan_dir (ViPlan *plan, ViVfs *vfs, const char *path, guint mode, guint32 uid, guint32 gid,
          const char *why, GError **error)
{
    ViStat st;
    g_autoptr(GError) e = NULL;
    g_autofree char *parent = NULL;

    if (g_str_equal (path, "/") || g_hash_table_contains (plan->dirs, path))
        return TRUE;
    if (g_hash_table_contains (plan->writes, path))
        return vi_throw (error, VI_ERROR_INVALID, "%s: is both a file and a directory of the "
                         "request (%s)", path, why);
    if (vi_vfs_stat (vfs, path, &st, &e)) {
        /* A symlink to a directory is resolved inside the guest root by the
         * backend, so it serves as a directory. */
        if (st.type != VI_FILE_TYPE_DIRECTORY && st.type != VI_FILE_TYPE_SYMLINK)
            return vi_throw (error, VI_ERROR_GUEST, "%s: exists and is not a directory (%s)",
                             path, why);
        g_hash_table_add (plan->dirs, g_strdup (path));
        return TRUE;
    }
    if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    /* Missing parents: 0755 root:root. */
    parent = g_path_get_dirname (path);
    if (!plan_dir (plan, vfs, parent, 0755, 0, 0, why, error))
        return FALSE;
    add_step (plan, STEP_MKDIR, path, mode, uid, gid, why);
    g_hash_table_add (plan->dirs, g_strdup (path));
    return TRUE;
}

/* Plan writing @content (transfer full) to @path, or "unchanged" when the
 * guest already has it.  @exclusive: the path comes from a user <file> and may not be
 * written by anything else of the request. */
static gboolean
plan_write (ViPlan *plan, ViVfs *vfs, const char *path, GBytes *content, guint mode, guint32 uid,
            guint32 gid, const char *why, GError **error)
{
    g_autoptr(GBytes) owned = content;     /* (transfer full) */
    ViStat st;
    g_autoptr(GError) e = NULL;
    g_autofree char *parent = g_path_get_dirname (path);
    gboolean same = FALSE;
    Step *prev = g_hash_table_lookup (plan->writes, path);

    if (prev != NULL)
        return vi_throw (error, VI_ERROR_INVALID, "%s: written twice by the request (%s; %s)",
                         path, prev->why, why);
    if (g_hash_table_contains (plan->dirs, path))
        return vi_throw (error, VI_ERROR_INVALID, "%s: is both a directory and a file of the request",
                         path);
    if (!plan_dir (plan, vfs, parent, 0755, 0, 0, why, error))
        return FALSE;

    if (vi_vfs_stat (vfs, path, &st, &e)) {
        if (st.type == VI_FILE_TYPE_DIRECTORY || st.type == VI_FILE_TYPE_OTHER)
            return vi_throw (error, VI_ERROR_GUEST, "%s: exists and is not a regular file (%s)",
                             path, why);
        if (st.type == VI_FILE_TYPE_REGULAR && st.nlink == 1 && st.mode == mode &&
            st.uid == uid && st.gid == gid && st.size == g_bytes_get_size (content)) {
            g_autoptr(GBytes) old = NULL;
            g_autoptr(GError) re = NULL;

            if (vi_vfs_read_file (vfs, path, plan->read_max, &old, &re))
                same = g_bytes_equal (old, content);
        }
    } else if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }

    prev = add_step (plan, same ? STEP_UNCHANGED : STEP_WRITE, path, mode, uid, gid, why);
    prev->content = g_steal_pointer (&owned);
    g_hash_table_insert (plan->writes, g_strdup (path), prev);
    return TRUE;
}

/* Read a file that will be edited, with its mode and owner. */
static gboolean
read_for_edit (ViPlan *plan, ViVfs *vfs, const char *path, char **out_text, ViStat *out_st,
               GError **error)
{
    g_autoptr(GBytes) b = NULL;
    gsize len;
    const char *data;

    if (!vi_vfs_stat (vfs, path, out_st, error))
        return FALSE;
    if (!vi_vfs_read_file (vfs, path, plan->read_max, &b, error))
        return FALSE;
    data = g_bytes_get_data (b, &len);
    if (memchr (data, '\0', len) != NULL)
        return vi_throw (error, VI_ERROR_GUEST, "%s: contains a NUL byte (not a text file)", path);
    *out_text = g_strndup (data, len);
    return TRUE;
}

static GBytes *
bytes_take_string (char *s)
{
    gsize len = strlen (s);
    return g_bytes_new_take (s, len);
}

/* Plan writing @text, an edit of the guest's file @path (@old as read with
 * read_for_edit, with @st), keeping its mode and owner; nothing when the
 * edit changed nothing. */
static gboolean
plan_changed (ViPlan *plan, ViVfs *vfs, const char *path, const char *old, const char *text,
              const ViStat *st, const char *why, GError **error)
{
    if (g_str_equal (old, text))
        return TRUE;
    return plan_write (plan, vfs, path, bytes_take_string (g_strdup (text)), st->mode, st->uid,
                       st->gid, why, error);
}

static gboolean
resolve_owner (ViVfs *vfs, const char *owner, const char *group, guint32 *uid, guint32 *gid,
               GError **error)
{
    *uid = 0;
    *gid = 0;
    if (owner) {
        g_autoptr(ViPasswdEntry) pw = vi_guest_lookup_user (vfs, owner, error);
        if (pw == NULL)
            return FALSE;
        *uid = pw->uid;
        *gid = pw->gid;
    }
    if (group && !vi_guest_lookup_group (vfs, group, gid, error))
        return FALSE;
    return TRUE;
}

/* ---- directories and files ------------------------------------------- */

static gboolean
plan_directories (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    for (guint i = 0; i < spec->directories->len; i++) {
        const ViDirectory *d = spec->directories->pdata[i];
        guint mode = d->mode == VI_MODE_UNSET ? 0755 : d->mode;
        g_autofree char *why = g_strdup_printf ("directory %s", d->path);
        guint32 uid, gid;
        ViStat st;
        g_autoptr(GError) e = NULL;

        if (!resolve_owner (vfs, d->owner, d->group, &uid, &gid, error))
            return FALSE;
        if (vi_vfs_stat (vfs, d->path, &st, &e)) {
            if (st.type != VI_FILE_TYPE_DIRECTORY)
                return vi_throw (error, VI_ERROR_GUEST, "%s: exists and is not a directory", d->path);
            add_step (plan, st.mode == mode && st.uid == uid && st.gid == gid ? STEP_UNCHANGED
                      : STEP_ATTR, d->path, mode, uid, gid, why);
            g_hash_table_add (plan->dirs, g_strdup (d->path));
        } else if (g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
            if (!plan_dir (plan, vfs, d->path, mode, uid, gid, why, error))
                return FALSE;
        } else {
            g_propagate_error (error, g_steal_pointer (&e));
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean
plan_files (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    for (guint i = 0; i < spec->files->len; i++) {
        const ViFile *f = spec->files->pdata[i];
        guint mode = f->mode == VI_MODE_UNSET ? 0644 : f->mode;
        g_autofree char *why = g_strdup_printf ("file %s", f->path);
        guint32 uid, gid;

        if (!resolve_owner (vfs, f->owner, f->group, &uid, &gid, error) ||
            !plan_write (plan, vfs, f->path, g_bytes_ref (f->content), mode, uid, gid, why, error))
            return FALSE;
    }
    return TRUE;
}

/* ---- SSH keys ---------------------------------------------------------- */

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

static gboolean
plan_ssh_keys (ViPlan *plan, const ViUser *u, ViVfs *vfs, GError **error)
{
    g_autoptr(ViPasswdEntry) pw = NULL;
    g_autofree char *ssh_dir = NULL, *ak = NULL, *why = NULL;
    g_autoptr(GBytes) old = NULL;
    g_autoptr(GHashTable) have = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    GString *content;
    ViStat st;
    g_autoptr(GError) e = NULL;

    if (u->ssh_keys->len == 0)
        return TRUE;
    pw = vi_guest_lookup_user (vfs, u->name, error);
    if (pw == NULL)
        return FALSE;
    /* Never a default: a home of "/" would put the keys in /.ssh. */
    if (pw->home == NULL)
        return vi_throw (error, VI_ERROR_GUEST,
                         "SSH keys for %s: the user has no usable home directory in the "
                         "guest's /etc/passwd (empty, relative, \"/\" or not listed there)",
                         u->name);
    why = g_strdup_printf ("SSH keys for %s", u->name);
    ssh_dir = g_build_filename (pw->home, ".ssh", NULL);
    ak = g_build_filename (ssh_dir, "authorized_keys", NULL);

    if (vi_vfs_stat (vfs, ssh_dir, &st, &e)) {
        if (st.type != VI_FILE_TYPE_DIRECTORY)
            return vi_throw (error, VI_ERROR_GUEST, "%s: exists and is not a directory (%s)",
                             ssh_dir, why);
        if (st.mode != 0700 || st.uid != pw->uid || st.gid != pw->gid)
            add_step (plan, STEP_ATTR, ssh_dir, 0700, pw->uid, pw->gid, why);
        g_hash_table_add (plan->dirs, g_strdup (ssh_dir));
    } else if (g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        /* The home directory itself, when missing, belongs to the user. */
        if (!plan_dir (plan, vfs, pw->home, 0700, pw->uid, pw->gid, why, error) ||
            !plan_dir (plan, vfs, ssh_dir, 0700, pw->uid, pw->gid, why, error))
            return FALSE;
    } else {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }

    if (!vi_vfs_read_file_opt (vfs, ak, plan->read_max, &old, error))
        return FALSE;
    content = g_string_new (NULL);
    if (old != NULL) {
        gsize len;
        const char *data = g_bytes_get_data (old, &len);
        g_autofree char *text = g_strndup (data, len);
        g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

        g_string_append_len (content, data, len);
        if (len > 0 && data[len - 1] != '\n')
            g_string_append_c (content, '\n');
        for (guint i = 0; lines[i]; i++) {
            char *id = key_identity (lines[i]);
            if (id)
                g_hash_table_add (have, id);
        }
    }
    for (guint k = 0; k < u->ssh_keys->len; k++) {
        const char *key = u->ssh_keys->pdata[k];
        char *id = key_identity (key);

        if (id == NULL || g_hash_table_contains (have, id)) {
            g_free (id);
            continue;
        }
        g_hash_table_add (have, id);
        g_string_append_printf (content, "%s\n", key);
    }
    return plan_write (plan, vfs, ak, bytes_take_string (g_string_free (content, FALSE)), 0600,
                       pw->uid, pw->gid, why, error);
}

/* ---- passwords --------------------------------------------------------- */

static gboolean
new_password_field (ViPlan *plan, const ViUser *u, const char *old_field,
                    const ViInjectOptions *opts, char **out, GError **error)
{
    ViHashMethod method = opts->force_hash ? *opts->force_hash : plan->facts->hash_method;

    switch (u->password_kind) {
    case VI_PASSWORD_HASH:
        if (g_str_has_prefix (u->password, "$y$") && method != VI_HASH_YESCRYPT)
            return vi_throw (error, VI_ERROR_GUEST,
                             "password for %s: the guest (%s %s) cannot verify yescrypt ($y$) "
                             "hashes; give a $6$ (SHA-512) hash", u->name,
                             plan->facts->os_id ? plan->facts->os_id : "unknown OS",
                             plan->facts->version_id ? plan->facts->version_id : "");
        *out = g_strdup (u->password);
        return TRUE;
    case VI_PASSWORD_SECRET: {
        char *clear = vi_secret_read (opts->secrets_dir, u->password, error);
        gboolean keep;

        if (clear == NULL)
            return FALSE;
        /* Keep the current hash when it already is this password: a new
         * salt on every run would make the injection non-idempotent.  The
         * guest chose that hash and its cost: it is verified only when it
         * costs no more than ours, and replaced otherwise. */
        keep = vi_crypt_verify_bounded (clear, old_field);
        *out = keep ? g_strdup (old_field) : vi_crypt_hash (clear, method, error);
        vi_password_wipe (clear);
        return *out != NULL;
    }
    case VI_PASSWORD_LOCKED:
        *out = old_field[0] == '!' ? g_strdup (old_field) : g_strconcat ("!", old_field, NULL);
        return TRUE;
    case VI_PASSWORD_NONE:
    case VI_PASSWORD_LAST:
    default:
        g_assert_not_reached ();
    }
}

static gboolean
plan_passwords (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, const ViInjectOptions *opts,
                GError **error)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    ViStat st;
    gboolean any = FALSE;
    GString *out;
    g_autofree char *why = NULL;
    g_autoptr(GString) names = g_string_new (NULL);
    char today[32];

    for (guint i = 0; i < spec->users->len; i++)
        any |= ((ViUser *) spec->users->pdata[i])->password_kind != VI_PASSWORD_NONE;
    if (!any)
        return TRUE;

    if (!read_for_edit (plan, vfs, "/etc/shadow", &text, &st, error))
        return FALSE;
    g_snprintf (today, sizeof today, "%" G_GINT64_FORMAT, g_get_real_time () / G_USEC_PER_SEC / 86400);
    lines = g_strsplit (text, "\n", -1);

    for (guint i = 0; i < spec->users->len; i++) {
        const ViUser *u = spec->users->pdata[i];
        gboolean found = FALSE;

        if (u->password_kind == VI_PASSWORD_NONE)
            continue;
        g_string_append_printf (names, "%s%s", names->len ? ", " : "", u->name);
        for (guint l = 0; lines[l] && !found; l++) {
            g_auto(GStrv) f = g_strsplit (lines[l], ":", -1);
            g_autofree char *field = NULL;

            if (g_strv_length (f) < 3 || !g_str_equal (f[0], u->name))
                continue;
            found = TRUE;
            if (!new_password_field (plan, u, f[1], opts, &field, error))
                return FALSE;
            if (!g_str_equal (field, f[1])) {
                g_free (f[1]);
                f[1] = g_steal_pointer (&field);
                g_free (f[2]);
                f[2] = g_strdup (today);
                g_free (lines[l]);
                lines[l] = g_strjoinv (":", f);
            }
        }
        if (!found)
            return vi_throw (error, VI_ERROR_GUEST, "user '%s' has no entry in the guest's /etc/shadow",
                             u->name);
    }
    out = g_string_new (NULL);
    for (guint l = 0; lines[l]; l++) {
        g_string_append (out, lines[l]);
        if (lines[l + 1])
            g_string_append_c (out, '\n');
    }
    why = g_strdup_printf ("password for %s", names->str);
    return plan_write (plan, vfs, "/etc/shadow", bytes_take_string (g_string_free (out, FALSE)),
                       st.mode, st.uid, st.gid, why, error);
}

/* ---- hostname ---------------------------------------------------------- */

static gboolean
plan_hostname (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    g_autofree char *hosts = NULL;
    g_autofree char *short_name = NULL;
    g_autofree char *entry = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GBytes) old = NULL;
    GString *out;
    gboolean placed = FALSE;
    guint last_localhost = 0;
    gboolean have_localhost = FALSE;
    guint mode = 0644;
    guint32 uid = 0, gid = 0;
    ViStat st;
    g_autoptr(GError) e = NULL;

    if (spec->hostname == NULL)
        return TRUE;
    if (!plan_write (plan, vfs, "/etc/hostname",
                     bytes_take_string (g_strdup_printf ("%s\n", spec->hostname)), 0644, 0, 0,
                     "hostname", error))
        return FALSE;

    short_name = g_strndup (spec->hostname, strcspn (spec->hostname, "."));
    entry = g_str_equal (short_name, spec->hostname)
            ? g_strdup_printf ("127.0.1.1\t%s", spec->hostname)
            : g_strdup_printf ("127.0.1.1\t%s %s", spec->hostname, short_name);

    if (vi_vfs_stat (vfs, "/etc/hosts", &st, &e)) {
        mode = st.mode;
        uid = st.uid;
        gid = st.gid;
        if (!read_for_edit (plan, vfs, "/etc/hosts", &hosts, &st, error))
            return FALSE;
    } else if (g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        hosts = g_strdup ("127.0.0.1\tlocalhost\n");
    } else {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }

    lines = g_strsplit (hosts, "\n", -1);
    for (guint i = 0; lines[i]; i++)
        if (g_str_has_prefix (lines[i], "127.0.0.1") &&
            (lines[i][9] == ' ' || lines[i][9] == '\t')) {
            last_localhost = i;
            have_localhost = TRUE;
        }
    out = g_string_new (NULL);
    if (!have_localhost)
        g_string_append_printf (out, "%s\n", entry), placed = TRUE;
    for (guint i = 0; lines[i]; i++) {
        gboolean last = lines[i + 1] == NULL;

        if (g_str_has_prefix (lines[i], "127.0.1.1") &&
            (lines[i][9] == ' ' || lines[i][9] == '\t')) {
            if (!placed)
                g_string_append_printf (out, "%s\n", entry), placed = TRUE;
            continue;
        }
        if (last && lines[i][0] == '\0')
            break;
        g_string_append_printf (out, "%s\n", lines[i]);
        if (have_localhost && i == last_localhost && !placed) {
            /* keep 127.0.1.1 right after localhost, where Debian puts it */
            gboolean next_is_ours = lines[i + 1] && g_str_has_prefix (lines[i + 1], "127.0.1.1");
            if (!next_is_ours)
                g_string_append_printf (out, "%s\n", entry), placed = TRUE;
        }
    }
    return plan_write (plan, vfs, "/etc/hosts", bytes_take_string (g_string_free (out, FALSE)),
                       mode, uid, gid, "hostname", error);
}

/* ---- network ----------------------------------------------------------- */

#define IFUPDOWN_MAX_FILES 256          /* files one interfaces(5) may pull in */
#define NET_DIR_MAX 4096                /* entries of a configuration directory */

/* An interfaces(5) file ifupdown reads, with its text as read. */
typedef struct {
    char *path;
    char *text;
    ViStat st;
} GuestText;

static void
guest_text_free (GuestText *t)
{
    g_free (t->path);
    g_free (t->text);
    g_free (t);
}

/* The regular files @src makes ifupdown read, sorted as it reads them.
 * Wildcards are expanded in the last component only (ifupdown's own files
 * never use them elsewhere). */
static gboolean
ifupdown_expand (ViPlan *plan, ViVfs *vfs, const ViIfupdownSource *src, GPtrArray *out,
                 GError **error)
{
    g_autofree char *dir = src->directory ? g_strdup (src->pattern)
                                          : g_path_get_dirname (src->pattern);
    g_autoptr(GPtrArray) names = NULL;

    if (!vi_check_guest_path (dir, NULL))
        return TRUE;                    /* nothing a guest path can name */
    if (!vi_vfs_list_dir_opt (vfs, dir, NET_DIR_MAX, &names, error))
        return FALSE;
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
        ViStat st;
        g_autoptr(GError) e = NULL;

        if (!vi_net_ifupdown_source_includes (src, path))
            continue;
        if (!vi_vfs_stat (vfs, path, &st, &e)) {
            g_propagate_error (error, g_steal_pointer (&e));
            return FALSE;
        }
        if (st.type == VI_FILE_TYPE_REGULAR)
            g_ptr_array_add (out, g_steal_pointer (&path));
    }
    return TRUE;
}

/* /etc/network/interfaces and every file it sources (source,
 * source-directory, recursively), except @ours, each once.  *@included:
 * whether every path of @ours is one of the files read. */
static gboolean
ifupdown_read_all (ViPlan *plan, ViVfs *vfs, GPtrArray *ours, GPtrArray *out,
                   gboolean *included, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) todo = g_ptr_array_new_with_free_func (g_free);
    guint n_included = 0;

    g_ptr_array_add (todo, g_strdup ("/etc/network/interfaces"));
    for (guint k = 0; k < todo->len; k++) {
        GuestText *t = g_new0 (GuestText, 1);
        g_autofree char *dir = NULL;
        g_autoptr(GPtrArray) sources = NULL;

        t->path = g_strdup (todo->pdata[k]);
        g_ptr_array_add (out, t);
        if (!read_for_edit (plan, vfs, t->path, &t->text, &t->st, error))
            return FALSE;
        g_hash_table_add (seen, t->path);
        dir = g_path_get_dirname (t->path);
        sources = vi_net_ifupdown_sources (t->text, dir);
        for (guint s = 0; s < sources->len; s++) {
            g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

            for (guint o = 0; o < ours->len; o++)
                if (vi_net_ifupdown_source_includes (sources->pdata[s], ours->pdata[o]) &&
                    !g_hash_table_contains (seen, ours->pdata[o])) {
                    g_hash_table_add (seen, ours->pdata[o]);
                    n_included++;
                }
            if (!ifupdown_expand (plan, vfs, sources->pdata[s], files, error))
                return FALSE;
            for (guint f = 0; f < files->len; f++) {
                if (g_hash_table_contains (seen, files->pdata[f]) ||
                    g_ptr_array_find_with_equal_func (todo, files->pdata[f], g_str_equal, NULL))
                    continue;
                if (todo->len >= IFUPDOWN_MAX_FILES)
                    return vi_throw (error, VI_ERROR_GUEST, "/etc/network/interfaces: sources "
                                     "more than %u files (refused)", IFUPDOWN_MAX_FILES);
                g_ptr_array_add (todo, g_strdup (files->pdata[f]));
            }
        }
    }
    *included = n_included == ours->len;
    return TRUE;
}

/* @text without the "# BEGIN virt-inject" ... "# END virt-inject" block of
 * an earlier run (busybox), its last line ended by a newline. */
static gboolean
strip_inline_block (const char *text, char **out, GError **error)
{
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    GString *s = g_string_new (NULL);
    gboolean skipping = FALSE;

    for (guint i = 0; lines[i]; i++) {
        if (g_str_equal (lines[i], VI_NET_BLOCK_BEGIN)) {
            gboolean ended = FALSE;
            for (guint k = i + 1; lines[k] && !ended; k++)
                ended = g_str_equal (lines[k], VI_NET_BLOCK_END);
            if (!ended) {
                g_string_free (s, TRUE);
                return vi_throw (error, VI_ERROR_GUEST, "/etc/network/interfaces: a "
                                 "'# BEGIN virt-inject' block has no '# END virt-inject'");
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
    *out = g_string_free (s, FALSE);
    return TRUE;
}

/* The guest's own stanzas of the requested interfaces are commented out
 * (vi_net_ifupdown_disable) in /etc/network/interfaces and in every file it
 * sources other than ours: ifupdown applies every stanza of an interface,
 * so a guest's "iface eth0 inet dhcp" beside ours gave a lease beside the
 * static address.  Debian's ifupdown (@inline NULL): our files are
 * @ours, and "source /etc/network/interfaces.d/virt-inject-*" is added
 * when nothing read includes them.  busybox's (@inline: our stanzas):
 * they go in /etc/network/interfaces itself, between markers, replaced on
 * re-runs (every ifupdown reads that file; not every one reads
 * "source"). */
static gboolean
plan_ifupdown_guest (ViPlan *plan, ViVfs *vfs, const ViSpec *spec, GPtrArray *ours,
                     const char *inline_block, GError **error)
{
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func ((GDestroyNotify) guest_text_free);
    g_autoptr(GPtrArray) names = g_ptr_array_new ();
    gboolean included = FALSE;

    for (guint i = 0; i < spec->interfaces->len; i++)
        g_ptr_array_add (names, ((ViInterface *) spec->interfaces->pdata[i])->name);
    g_ptr_array_add (names, NULL);
    if (!ifupdown_read_all (plan, vfs, ours, texts, &included, error))
        return FALSE;

    for (guint k = 0; k < texts->len; k++) {
        GuestText *t = texts->pdata[k];
        gboolean main_file = k == 0;
        g_autofree char *guest = NULL, *text = NULL;
        const char *why = "network (ifupdown: the guest's own stanzas of the interfaces disabled)";

        if (main_file && inline_block && !strip_inline_block (t->text, &guest, error))
            return FALSE;
        text = vi_net_ifupdown_disable (guest ? guest : t->text,
                                        (const char *const *) names->pdata);
        if (main_file && inline_block) {
            g_autofree char *body = text;
            text = g_strconcat (body, *body && !g_str_has_suffix (body, "\n") ? "\n" : "",
                                VI_NET_BLOCK_BEGIN "\n", inline_block, VI_NET_BLOCK_END "\n",
                                NULL);
            why = "network (ifupdown)";
        } else if (main_file && !included) {
            g_autofree char *body = text;
            text = g_strconcat (body, *body && !g_str_has_suffix (body, "\n") ? "\n" : "",
                                VI_NET_MARK_ADDED "\n"
                                "source /etc/network/interfaces.d/virt-inject-*\n", NULL);
        }
        if (g_str_equal (text, t->text) && !(main_file && inline_block))
            continue;
        if (!plan_write (plan, vfs, t->path, bytes_take_string (g_steal_pointer (&text)),
                         t->st.mode, t->st.uid, t->st.gid, why, error))
            return FALSE;
    }
    return TRUE;
}

/* For an ifupdown that does nothing with dns-nameservers (busybox's; Debian's
 * without resolvconf): the nameservers go to /etc/resolv.conf, whose own
 * nameserver lines they replace; the other lines (search, options) are
 * kept.  A symlink there (a resolver's runtime file) is replaced by a file,
 * never followed.  @why: the plan's reason. */
static gboolean
plan_resolv_conf (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, const char *why, GError **error)
{
    static const char path[] = "/etc/resolv.conf";
    g_autofree char *ours = vi_net_nameservers (spec->interfaces);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GError) e = NULL;
    GString *out;
    ViStat st = { .mode = 0644 };       /* a new file: 0644 root:root */

    if (*ours == '\0')
        return TRUE;
    if (!vi_vfs_stat (vfs, path, &st, &e) && !g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    if (e != NULL || st.type == VI_FILE_TYPE_SYMLINK) {
        text = g_strdup ("");
        st = (ViStat) { .mode = 0644 };
    } else if (!read_for_edit (plan, vfs, path, &text, &st, error)) {
        return FALSE;
    }
    out = g_string_new (NULL);
    lines = g_strsplit (text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        const char *l = lines[i] + strspn (lines[i], " \t");

        if (g_str_has_prefix (l, "nameserver") || (lines[i + 1] == NULL && lines[i][0] == '\0'))
            continue;
        g_string_append_printf (out, "%s\n", lines[i]);
    }
    g_string_append (out, ours);
    return plan_write (plan, vfs, path, bytes_take_string (g_string_free (out, FALSE)), st.mode,
                       st.uid, st.gid, why, error);
}

/* Debian's ifupdown hands dns-nameservers to resolvconf (or openresolv)
 * from their if-up.d hooks: with neither installed, nothing reads them. */
static gboolean
has_resolvconf (ViVfs *vfs, gboolean *out_has, GError **error)
{
    static const char *const paths[] = { "/sbin/resolvconf", "/usr/sbin/resolvconf", NULL };

    for (const char *const *p = paths; *p; p++) {
        gboolean exists = FALSE;

        if (!vi_vfs_exists (vfs, *p, &exists, error))
            return FALSE;
        if (exists) {
            *out_has = TRUE;
            return TRUE;
        }
    }
    *out_has = FALSE;
    return TRUE;
}

/* The regular files of the directories @dirs whose names end with
 * @suffix (NULL: all), as guest paths, each directory's sorted.  A
 * directory reached through a symlink to another of @dirs ("/lib" on a
 * merged-/usr guest) is listed once. */
static gboolean
config_files (ViVfs *vfs, const char *const *dirs, const char *suffix, GPtrArray *out,
              GError **error)
{
    for (; *dirs; dirs++) {
        g_autoptr(GPtrArray) names = NULL;
        g_autofree char *top = g_strndup (*dirs, strcspn (*dirs + 1, "/") + 1);
        ViStat st;
        g_autoptr(GError) e = NULL;

        if (g_str_equal (top, "/lib") && vi_vfs_stat (vfs, top, &st, &e) &&
            st.type == VI_FILE_TYPE_SYMLINK)
            continue;
        if (!vi_vfs_list_dir_opt (vfs, *dirs, NET_DIR_MAX, &names, error))
            return FALSE;
        for (guint i = 0; i < names->len; i++) {
            g_autofree char *path = g_build_filename (*dirs, names->pdata[i], NULL);

            if (suffix && !g_str_has_suffix (names->pdata[i], suffix))
                continue;
            g_clear_error (&e);
            if (!vi_vfs_stat (vfs, path, &st, &e)) {
                g_propagate_error (error, g_steal_pointer (&e));
                return FALSE;
            }
            if (st.type == VI_FILE_TYPE_REGULAR)
                g_ptr_array_add (out, g_steal_pointer (&path));
        }
    }
    return TRUE;
}

/* systemd-networkd applies to a link the first .network file, in the
 * lexical order of the names across its directories, whose [Match]
 * matches: ours is named to sort before the guest's own
 * (vi_net_networkd_path), which are left alone.  A guest file that still
 * sorts before ours and may match the same NIC would win: refused, with
 * what to do. */
static gboolean
plan_networkd_guest (ViVfs *vfs, const ViSpec *spec, gsize read_max, GError **error)
{
    static const char *const dirs[] = {
        "/etc/systemd/network", "/run/systemd/network", "/usr/local/lib/systemd/network",
        "/usr/lib/systemd/network", "/lib/systemd/network", NULL
    };
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

    if (!config_files (vfs, dirs, ".network", files, error))
        return FALSE;
    for (guint n = 0; n < spec->interfaces->len; n++) {
        const ViInterface *i = spec->interfaces->pdata[n];
        g_autofree char *ours = vi_net_networkd_path (i);
        g_autofree char *our_name = g_path_get_basename (ours);

        for (guint f = 0; f < files->len; f++) {
            g_autofree char *name = g_path_get_basename (files->pdata[f]);
            g_autoptr(GBytes) b = NULL;
            g_autofree char *text = NULL;

            /* ours, of this request or an earlier one */
            if (strcmp (name, our_name) >= 0 || g_str_has_prefix (name, "0-virt-inject-"))
                continue;
            if (!vi_vfs_read_file (vfs, files->pdata[f], read_max, &b, error))
                return FALSE;
            text = g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
            if (vi_net_networkd_may_match (text, i))
                return vi_throw (error, VI_ERROR_GUEST, "%s: sorts before %s and may match %s; "
                                 "systemd-networkd would apply it instead of ours: rename it to "
                                 "sort after ours, or make its [Match] exclude the NIC",
                                 (char *) files->pdata[f], ours, i->name);
        }
    }
    return TRUE;
}

/* netplan: ours sorts last and sets dhcp4/dhcp6, so it wins the merge of
 * a guest's definition of the same id; what a merge only adds to
 * (addresses, routes, nameservers, gateways) is commented out of the
 * guest's definition (vi_net_netplan_disable). */
static gboolean
plan_netplan_guest (ViPlan *plan, ViVfs *vfs, const ViSpec *spec, GError **error)
{
    static const char *const dirs[] = { "/lib/netplan", "/usr/lib/netplan", "/etc/netplan",
                                        "/run/netplan", NULL };
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
    g_autofree char *our_name = g_path_get_basename (VI_NET_NETPLAN_PATH);

    if (!config_files (vfs, dirs, ".yaml", files, error))
        return FALSE;
    for (guint f = 0; f < files->len; f++) {
        const char *path = files->pdata[f];
        g_autofree char *name = g_path_get_basename (path);
        g_autofree char *orig = NULL, *text = NULL;
        ViStat st;

        if (g_str_equal (path, VI_NET_NETPLAN_PATH))
            continue;
        if (!read_for_edit (plan, vfs, path, &orig, &st, error))
            return FALSE;
        text = g_strdup (orig);
        for (guint n = 0; n < spec->interfaces->len; n++) {
            g_autofree char *prev = text;

            text = vi_net_netplan_disable (prev, spec->interfaces->pdata[n],
                                           strcmp (name, our_name) > 0, path, error);
            if (text == NULL)
                return FALSE;
        }
        if (!plan_changed (plan, vfs, path, orig, text, &st, "network (netplan: the guest's own "
                           "addresses, routes and nameservers of the interfaces disabled)", error))
            return FALSE;
    }
    return TRUE;
}

/* NetworkManager: ours has the highest autoconnect-priority; a guest's
 * profile bound to the same NIC no longer autoconnects: a keyfile
 * (vi_net_nm_disable), or an ifcfg file, which the ifcfg-rh plugin reads
 * as a profile (vi_net_ifcfg_disable). */
static gboolean
plan_nm_guest (ViPlan *plan, ViVfs *vfs, const ViSpec *spec, GPtrArray *ours, GError **error)
{
    static const char *const dirs[] = { "/etc/NetworkManager/system-connections",
                                        "/usr/lib/NetworkManager/system-connections",
                                        "/run/NetworkManager/system-connections", NULL };
    static const char *const ifcfg_dirs[] = { "/etc/sysconfig/network-scripts", NULL };
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
    guint n_keyfiles;

    if (!config_files (vfs, dirs, NULL, files, error))
        return FALSE;
    n_keyfiles = files->len;
    if (!config_files (vfs, ifcfg_dirs, NULL, files, error))
        return FALSE;
    for (guint f = 0; f < files->len; f++) {
        const char *path = files->pdata[f];
        gboolean ifcfg = f >= n_keyfiles;
        g_autofree char *orig = NULL, *text = NULL;
        g_autofree char *name = g_path_get_basename (path);
        ViStat st;

        if (g_ptr_array_find_with_equal_func (ours, path, g_str_equal, NULL) ||
            (ifcfg && !g_str_has_prefix (name, "ifcfg-")))
            continue;
        if (!read_for_edit (plan, vfs, path, &orig, &st, error))
            return FALSE;
        text = g_strdup (orig);
        for (guint n = 0; n < spec->interfaces->len; n++) {
            g_autofree char *prev = text;
            text = ifcfg ? vi_net_ifcfg_disable (prev, spec->interfaces->pdata[n])
                         : vi_net_nm_disable (prev, spec->interfaces->pdata[n]);
        }
        if (!plan_changed (plan, vfs, path, orig, text, &st, "network (NetworkManager: the guest's "
                           "own profile of the interface no longer autoconnects)", error))
            return FALSE;
    }
    return TRUE;
}

static gboolean
plan_network (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    ViNetRenderer r;
    g_autoptr(GPtrArray) files = NULL;
    gboolean busybox = FALSE;

    if (!spec->has_network)
        return TRUE;
    r = spec->net_renderer != VI_RENDERER_AUTO ? spec->net_renderer : plan->facts->net_renderer;
    busybox = r == VI_RENDERER_IFUPDOWN && plan->facts->os_id &&
              g_str_equal (plan->facts->os_id, "alpine");
    if (busybox) {
        g_autoptr(GString) block = g_string_new (NULL);
        g_autoptr(GPtrArray) none = g_ptr_array_new ();

        files = vi_net_render_ifupdown_busybox (spec->interfaces);
        for (guint i = 0; i < files->len; i++)
            g_string_append (block, ((ViNetFile *) files->pdata[i])->content);
        return plan_ifupdown_guest (plan, vfs, spec, none, block->str, error) &&
               plan_resolv_conf (plan, spec, vfs, "network (nameservers: busybox ifupdown has no DNS)",
                                 error);
    }
    files = vi_net_render (r, spec->interfaces, error);
    if (files == NULL)
        return FALSE;
    {
        g_autoptr(GPtrArray) ours = g_ptr_array_new ();

        /* the files "source" lines must reach (not the systemd drop-in) */
        for (guint i = 0; i < files->len; i++)
            if (r != VI_RENDERER_IFUPDOWN ||
                g_str_has_prefix (((ViNetFile *) files->pdata[i])->path,
                                  "/etc/network/interfaces.d/"))
                g_ptr_array_add (ours, ((ViNetFile *) files->pdata[i])->path);
        if ((r == VI_RENDERER_IFUPDOWN && !plan_ifupdown_guest (plan, vfs, spec, ours, NULL, error)) ||
            (r == VI_RENDERER_NETWORKD && !plan_networkd_guest (vfs, spec, plan->read_max, error)) ||
            (r == VI_RENDERER_NETPLAN && !plan_netplan_guest (plan, vfs, spec, error)) ||
            (r == VI_RENDERER_NETWORKMANAGER && !plan_nm_guest (plan, vfs, spec, ours, error)))
            return FALSE;
    }
    for (guint i = 0; i < files->len; i++) {
        ViNetFile *f = files->pdata[i];
        g_autofree char *why = g_strdup_printf ("network (%s)", vi_net_renderer_to_string (r));

        if (!plan_write (plan, vfs, f->path, g_bytes_new (f->content, strlen (f->content)),
                         f->mode, 0, 0, why, error))
            return FALSE;
    }
    if (r == VI_RENDERER_IFUPDOWN) {
        gboolean resolvconf = FALSE;

        if (!has_resolvconf (vfs, &resolvconf, error))
            return FALSE;
        if (!resolvconf &&
            !plan_resolv_conf (plan, spec, vfs, "network (nameservers: ifupdown without resolvconf)",
                               error))
            return FALSE;
    }
    return TRUE;
}

/* ---- cloud-init -------------------------------------------------------- */

/* A guest with cloud-init rewrites its network configuration, hostname and
 * /etc/hosts at boot from whatever datasource it finds (a NoCloud seed disk
 * a user also attached, a cloud's metadata service).  When the request sets
 * those, a drop-in of ours in /etc/cloud/cloud.cfg.d tells cloud-init to
 * leave them alone, with its documented switches.  It sorts last, so it
 * wins over the image's own cloud.cfg.d files.  What still wins over it: a
 * cloud-config user-data that sets the same keys itself (cloud-init merges
 * user-data over the system configuration); a datasource's network
 * configuration and meta-data hostname do not. */
#define CLOUD_INIT_DROPIN "/etc/cloud/cloud.cfg.d/99-virt-inject.cfg"

static gboolean
plan_cloud_init (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    GString *cfg;

    if (!plan->facts->cloud_init || (!spec->has_network && spec->hostname == NULL))
        return TRUE;
    cfg = g_string_new ("# Written by virt-inject: cloud-init keeps the network configuration and\n"
                        "# hostname that virt-inject injected.  A cloud-config user-data that sets\n"
                        "# these keys itself still wins (cloud-init merges it over this file).\n");
    if (spec->has_network)
        g_string_append (cfg, "network:\n  config: disabled\n");
    if (spec->hostname != NULL)
        g_string_append (cfg, "preserve_hostname: true\nmanage_etc_hosts: false\n");
    return plan_dir (plan, vfs, "/etc/cloud/cloud.cfg.d", 0755, 0, 0, "cloud-init", error) &&
           plan_write (plan, vfs, CLOUD_INIT_DROPIN, bytes_take_string (g_string_free (cfg, FALSE)),
                       0644, 0, 0, "cloud-init: keep the injected network and hostname", error);
}

/* ---- meta -------------------------------------------------------------- */

static gboolean
plan_meta (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    g_autoptr(JsonBuilder) b = NULL;
    g_autoptr(JsonGenerator) gen = NULL;
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *json = NULL;

    if (spec->meta->len == 0)
        return TRUE;
    b = json_builder_new ();
    json_builder_begin_object (b);
    for (guint i = 0; i < spec->meta->len; i++) {
        const ViMeta *m = spec->meta->pdata[i];
        json_builder_set_member_name (b, m->key);
        json_builder_add_string_value (b, m->value);
    }
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    gen = json_generator_new ();
    json_generator_set_pretty (gen, TRUE);
    json_generator_set_root (gen, root);
    json = json_generator_to_data (gen, NULL);
    return plan_write (plan, vfs, "/meta.js",
                       bytes_take_string (g_strconcat (json, "\n", NULL)), 0644, 0, 0, "meta",
                       error);
}

/* ---- the plan ---------------------------------------------------------- */

ViPlan *
vi_plan_build (const ViSpec *spec, ViVfs *vfs, const ViInjectOptions *opts, GError **error)
{
    ViInjectOptions defaults = { 0 };
    g_autoptr(ViPlan) plan = g_new0 (ViPlan, 1);

    if (opts == NULL)
        opts = &defaults;
    plan->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) step_free);
    plan->writes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    plan->dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    plan->read_max = opts->read_max ? opts->read_max : DEFAULT_READ_MAX;

    plan->facts = vi_guest_read_facts (vfs, error);
    if (plan->facts == NULL)
        return NULL;

    /* Every user the request names must exist before anything is planned. */
    for (guint i = 0; i < spec->users->len; i++) {
        g_autoptr(ViPasswdEntry) pw =
            vi_guest_lookup_user (vfs, ((ViUser *) spec->users->pdata[i])->name, error);
        if (pw == NULL)
            return NULL;
    }

    /* The request's own paths and their parents, learned at once where
     * the backend can (the appliance: a call per directory, not one per
     * path). */
    {
        g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

        for (guint i = 0; i < spec->directories->len + spec->files->len; i++) {
            const char *p = i < spec->directories->len
                ? ((ViDirectory *) spec->directories->pdata[i])->path
                : ((ViFile *) spec->files->pdata[i - spec->directories->len])->path;
            g_autofree char *cur = g_strdup (p);

            while (!g_str_equal (cur, "/") && !g_hash_table_contains (seen, cur)) {
                char *up = g_path_get_dirname (cur);

                g_hash_table_add (seen, cur);
                g_ptr_array_add (paths, g_steal_pointer (&cur));
                cur = up;
            }
        }
        g_ptr_array_add (paths, NULL);
        vi_vfs_prefetch (vfs, (const char *const *) paths->pdata);
    }
    if (!plan_directories (plan, spec, vfs, error) || !plan_files (plan, spec, vfs, error))
        return NULL;
    for (guint i = 0; i < spec->users->len; i++)
        if (!plan_ssh_keys (plan, spec->users->pdata[i], vfs, error))
            return NULL;
    if (!plan_passwords (plan, spec, vfs, opts, error) ||
        !plan_hostname (plan, spec, vfs, error) ||
        !plan_network (plan, spec, vfs, error) ||
        !plan_cloud_init (plan, spec, vfs, error) ||
        !plan_meta (plan, spec, vfs, error))
        return NULL;

    /* Labels only when something changes: an idempotent run reads no policy. */
    if ((spec->selinux == VI_SELINUX_YES ||
         (spec->selinux == VI_SELINUX_AUTO && plan->facts->selinux_enforcing)) &&
        vi_plan_n_changes (plan) > 0) {
        g_autoptr(GError) e = NULL;
        g_autofree char *reason = NULL;

        if (!vi_vfs_can_set_label (vfs))
            reason = g_strdup_printf ("the %s backend cannot set labels", vfs->ops->name);
        else if ((plan->labeler = vi_labeler_new (vfs, plan->facts->selinux_type, plan->read_max,
                                                  &e)) == NULL)
            reason = g_strdup (e->message);
        if (plan->labeler == NULL) {
            gboolean exists = FALSE;
            if (!vi_vfs_exists (vfs, "/.autorelabel", &exists, error))
                return NULL;
            if (!exists) {
                g_autofree char *why = g_strdup_printf (VI_INJECT_AUTORELABEL_NOTE ": %s", reason);

                plan->autorelabel = TRUE;
                if (!plan_write (plan, vfs, "/.autorelabel", g_bytes_new_static ("", 0), 0644, 0, 0,
                                 why, error))
                    return NULL;
            }
        }
    }
    return g_steal_pointer (&plan);
}

guint
vi_plan_n_changes (const ViPlan *plan)
{
    guint n = 0;

    for (guint i = 0; i < plan->steps->len; i++)
        n += ((Step *) plan->steps->pdata[i])->kind != STEP_UNCHANGED;
    return n;
}

char *
vi_plan_describe (const ViPlan *plan)
{
    static const char *const verbs[] = { "mkdir", "chmod/chown", "write", "unchanged" };
    GString *s = g_string_new (NULL);

    for (guint i = 0; i < plan->steps->len; i++) {
        const Step *st = plan->steps->pdata[i];
        g_string_append_printf (s, "%-11s %s %04o %u:%u (%s)\n", verbs[st->kind], st->path, st->mode,
                                st->uid, st->gid, st->why);
    }
    if (plan->labeler)
        g_string_append (s, "label       the created and written paths, from the guest's SELinux "
                         "file_contexts\n");
    return g_string_free (s, FALSE);
}

/* The undo log of an apply: directories it created and attributes it
 * changed, so that a failure before the commit leaves the guest as it was
 * (staged writes are dropped by the VFS). */
typedef struct {
    char *path;
    gboolean created;           /* a directory we created: remove it */
    ViStat old;                 /* else: the mode and owner to put back */
} Undo;

static void
undo_free (Undo *u)
{
    g_free (u->path);
    g_free (u);
}

static void
undo_add (GPtrArray *undo, const char *path, gboolean created, const ViStat *old)
{
    Undo *u = g_new0 (Undo, 1);

    u->path = g_strdup (path);
    u->created = created;
    if (old)
        u->old = *old;
    g_ptr_array_add (undo, u);
}

static void
note_undo_failure (GString *failed, GError **e)
{
    g_string_append_printf (failed, "%s%s", failed->len ? "; " : "", (*e)->message);
    g_clear_error (e);
}

/* Drop the staged writes, then undo in reverse order (innermost directory
 * first); best effort: a directory that is no longer empty (the commit had
 * begun), or that the guest replaced, is left alone, never its content
 * removed.  Every undo is tried even when an earlier one failed.  Returns
 * what could not be put back, or NULL. */
static char *
rollback (GPtrArray *undo, ViVfs *vfs)
{
    g_autoptr(GString) failed = g_string_new (NULL);
    g_autoptr(GError) e = NULL;

    if (!vi_vfs_discard (vfs, &e))
        note_undo_failure (failed, &e);
    for (guint i = undo->len; i > 0; i--) {
        const Undo *u = undo->pdata[i - 1];

        if (u->created) {
            if (!vi_vfs_rmdir (vfs, u->path, &e))
                note_undo_failure (failed, &e);
            continue;
        }
        /* The owner, then the mode (a chown may clear set-id bits), the
         * mode also when the owner could not be put back. */
        if (!vi_vfs_chown (vfs, u->path, u->old.uid, u->old.gid, &e))
            note_undo_failure (failed, &e);
        if (!vi_vfs_chmod (vfs, u->path, u->old.mode, &e))
            note_undo_failure (failed, &e);
    }
    return failed->len ? g_string_free (g_steal_pointer (&failed), FALSE) : NULL;
}

static gboolean
apply_failed (GPtrArray *undo, ViVfs *vfs, GError **error, int code, const char *fmt, ...)
    G_GNUC_PRINTF (5, 6);

static gboolean
apply_failed (GPtrArray *undo, ViVfs *vfs, GError **error, int code, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    g_autofree char *left = rollback (undo, vfs);
    va_list ap;

    va_start (ap, fmt);
    msg = g_strdup_vprintf (fmt, ap);
    va_end (ap);
    if (left)
        return vi_throw (error, code, "%s (could not undo: %s)", msg, left);
    return vi_throw (error, code, "%s", msg);
}

/* What restorecon in the guest would give each path the plan created or
 * wrote (after the commit: a label is an attribute of the final inode). */
static gboolean
label_written (ViPlan *plan, ViVfs *vfs, GError **error)
{
    if (plan->labeler == NULL)
        return TRUE;
    for (guint i = 0; i < plan->steps->len; i++) {
        Step *st = plan->steps->pdata[i];
        g_autofree char *con = NULL;
        g_autoptr(GError) e = NULL;

        if (st->kind != STEP_MKDIR && st->kind != STEP_WRITE)
            continue;
        con = vi_labeler_lookup (plan->labeler, st->path, st->kind == STEP_MKDIR);
        if (con != NULL && !vi_vfs_set_label (vfs, st->path, con, &e))
            return vi_throw (error, e->domain == VI_ERROR ? e->code : VI_ERROR_FAILED,
                             "labelling %s (%s) after the commit: %s", st->path, st->why,
                             e->message);
    }
    return TRUE;
}

gboolean
vi_plan_apply (ViPlan *plan, ViVfs *vfs, GError **error)
{
    g_autoptr(GPtrArray) undo = g_ptr_array_new_with_free_func ((GDestroyNotify) undo_free);

    for (guint i = 0; i < plan->steps->len; i++) {
        const Step *st = plan->steps->pdata[i];
        gboolean ok = TRUE;
        g_autoptr(GError) e = NULL;
        ViStat old;

        switch (st->kind) {
        case STEP_MKDIR: {
            g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func (g_free);

            ok = vi_vfs_mkdir_p (vfs, st->path, st->mode, st->uid, st->gid, created, &e);
            for (guint j = 0; j < created->len; j++)     /* also those made before a failure */
                undo_add (undo, created->pdata[j], TRUE, NULL);
            break;
        }
        case STEP_ATTR:
            ok = vi_vfs_stat (vfs, st->path, &old, &e);
            if (ok)
                undo_add (undo, st->path, FALSE, &old);
            ok = ok && vi_vfs_chown (vfs, st->path, st->uid, st->gid, &e) &&
                 vi_vfs_chmod (vfs, st->path, st->mode, &e);
            break;
        case STEP_WRITE:
            ok = vi_vfs_write_file (vfs, st->path, st->content, st->mode, st->uid, st->gid, &e);
            break;
        case STEP_UNCHANGED:
            continue;
        default:
            g_assert_not_reached ();
        }
        if (!ok) {
            static const char *const what[] = { "creating", "setting mode and owner of", "writing" };
            return apply_failed (undo, vfs, error, e->domain == VI_ERROR ? e->code : VI_ERROR_FAILED,
                                 "%s %s (%s): %s", what[st->kind], st->path, st->why, e->message);
        }
    }
    {
        g_autoptr(GError) e = NULL;
        if (!vi_vfs_commit (vfs, &e))
            return apply_failed (undo, vfs, error, e->domain == VI_ERROR ? e->code : VI_ERROR_FAILED,
                                 "committing the changes: %s", e->message);
    }
    return label_written (plan, vfs, error);
}

gboolean
vi_inject (const ViSpec *spec, ViVfs *vfs, const ViInjectOptions *opts, gboolean dry_run,
           ViInjectResult *out_result, GError **error)
{
    g_autoptr(ViPlan) plan = vi_plan_build (spec, vfs, opts, error);

    if (plan == NULL)
        return FALSE;
    if (!dry_run && !vi_plan_apply (plan, vfs, error))
        return FALSE;
    if (out_result) {
        out_result->summary = vi_plan_describe (plan);
        out_result->autorelabel = plan->autorelabel;
        out_result->changes = vi_plan_n_changes (plan);
        out_result->unchanged = plan->steps->len - out_result->changes;
    }
    return TRUE;
}
