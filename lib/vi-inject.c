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
#include "vi-firstboot.h"
#include "vi-selinux.h"
#include "vi-check.h"
#include "vi-edit.h"
#include "vi-error.h"
#include "vi-net.h"
#include "vi-users.h"
#include "vi-record.h"

#define DEFAULT_READ_MAX (8u * 1024 * 1024)

typedef enum {
    STEP_MKDIR,             /* create (mkdir -p) with mode/uid/gid */
    STEP_ATTR,              /* fix mode and owner of an existing path */
    STEP_WRITE,             /* atomically replace a file */
    STEP_UNCHANGED,         /* already as requested */
    STEP_SKIPPED,           /* deliberately not done (a symlink of /etc/skel): named in the plan */
    STEP_SYMLINK,           /* create a symbolic link (content: its target) */
    STEP_UNLINK,            /* remove a file or link (cannot be undone) */
    STEP_RMDIR,             /* remove an empty directory (cannot be undone) */
    STEP_LAST
} StepKind;

typedef struct {
    StepKind kind;
    char *path;
    GBytes *content;        /* STEP_WRITE; STEP_SYMLINK: the link's target */
    guint mode;
    guint32 uid;
    guint32 gid;
    char *why;              /* what the step is for, e.g. "password for root" */
    gboolean after_commit;  /* STEP_UNLINK: after the commit (a kept original put back) */
} Step;

/* A guest text file that several steps edit (the account databases): read
 * once, edited in memory, written once at the end of the plan. */
typedef struct {
    char *path;
    char *old;                      /* as read */
    char *text;                     /* as edited */
    ViStat st;
    GString *why;
} Edit;

struct _ViPlan {
    GPtrArray *steps;               /* (element-type Step) */
    GPtrArray *edits;               /* (element-type Edit), in the order first edited */
    GHashTable *created;            /* user name -> ViPasswdEntry of the users the plan creates */
    GHashTable *created_groups;     /* group name -> gid of the groups the plan creates */
    GHashTable *writes;             /* guest path -> Step* (planned writes) */
    GHashTable *dirs;               /* guest paths known to exist or planned */
    ViGuestFacts *facts;
    ViLabeler *labeler;             /* label written paths with the guest's policy */
    gboolean autorelabel;           /* that cannot be done: create /.autorelabel */
    gsize read_max;
    GHashTable *edited;             /* guest path -> GBytes: files read to be edited, as read */
    ViRecord *record;               /* (nullable) the guest's record, when valid */
    char *record_note;              /* (nullable) "already applied", or why it was ignored */
    gboolean keep_dropped;          /* take back nothing (keep-dropped) */
    GHashTable *line_files;         /* guest paths the request adds lines to (authorized_keys) */
    GHashTable *taken_back;         /* paths of the record's items taken back: not kept */
    GHashTable *removing;           /* paths the take-back removes (unlink, rmdir) */
    GPtrArray *taken_lines;         /* "PATH: LINE" of each line taken back, for the plan */
    GHashTable *claimed;            /* paths the request still wants but plans no step for */
    GHashTable *rebased;            /* paths edited from their kept original (rebase_on_original) */
    GHashTable *passwords;          /* user -> SHA-256 of the password field set, for the record */
    GHashTable *members;            /* "GROUP:USER" memberships virt-inject added, for the record */
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

static void
edit_free (Edit *e)
{
    g_free (e->path);
    g_free (e->old);
    g_free (e->text);
    g_string_free (e->why, TRUE);
    g_free (e);
}

void
vi_plan_free (ViPlan *plan)
{
    if (plan == NULL)
        return;
    g_ptr_array_unref (plan->steps);
    g_ptr_array_unref (plan->edits);
    g_hash_table_unref (plan->created);
    g_hash_table_unref (plan->created_groups);
    g_hash_table_unref (plan->writes);
    g_hash_table_unref (plan->dirs);
    vi_guest_facts_free (plan->facts);
    vi_labeler_free (plan->labeler);
    g_hash_table_unref (plan->edited);
    vi_record_free (plan->record);
    g_free (plan->record_note);
    g_hash_table_unref (plan->line_files);
    g_hash_table_unref (plan->taken_back);
    g_hash_table_unref (plan->removing);
    g_ptr_array_unref (plan->taken_lines);
    g_hash_table_unref (plan->claimed);
    g_hash_table_unref (plan->rebased);
    g_hash_table_unref (plan->passwords);
    g_hash_table_unref (plan->members);
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

/* The account databases: a dropped user is not deleted (its files and
 * processes would be orphaned), so their edits are never taken back whole
 * (a password field and a membership are, one by one). */
static const char *const account_files[] = {
    "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", NULL
};

static gboolean record_dir_usable (ViVfs *vfs, const char *path, const char **why,
                                   GError **error);

/* The original the guest record keeps for @it (a replaced or an edited
 * file, record_overwrite), verified against its recorded digest:
 * *@out NULL, and *@out_why why, when there is none to trust (not kept,
 * missing, altered: the guest's doing, never an error). */
static gboolean
read_kept_original (ViVfs *vfs, const ViRecordItem *it, GBytes **out, const char **out_why,
                    GError **error)
{
    g_autofree char *saved = NULL;
    g_autofree char *sha = NULL;
    g_autoptr(GBytes) orig = NULL;
    const char *dir_why = NULL;

    *out = NULL;
    *out_why = NULL;
    if (it->orig.saved == NULL) {
        *out_why = "its original was not kept (a symlink, or larger than 1 MiB)";
        return TRUE;
    }
    if (!record_dir_usable (vfs, VI_RECORD_ORIG_DIR, &dir_why, error))
        return FALSE;
    saved = g_build_filename (VI_RECORD_DIR, it->orig.saved, NULL);
    if (dir_why != NULL || !vi_vfs_read_file (vfs, saved, VI_RECORD_ORIG_MAX, &orig, NULL)) {
        *out_why = "its kept original is missing or unreadable";
        return TRUE;
    }
    sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, orig);
    if (!g_str_equal (sha, it->orig.sha256)) {
        *out_why = "its kept original was altered";
        return TRUE;
    }
    *out = g_steal_pointer (&orig);
    return TRUE;
}

/* A guest file an earlier request edited (a network file neutralised for
 * an interface, /etc/hosts, rc.local) and that is still what virt-inject
 * wrote (@now) is edited again from its kept original, not from that
 * edit: what the request no longer asks for (an interface dropped from a
 * file whose other interface is still ours) then comes back, and the
 * result is the guest's original with this request's edit, as if the
 * earlier request had never run.  Never an account database, never with
 * keep-dropped.  (transfer full) (nullable) */
static GBytes *
rebase_on_original (ViPlan *plan, ViVfs *vfs, const char *path, GBytes *now, GError **error)
{
    const ViRecordItem *it = plan->record ? vi_record_lookup (plan->record, path) : NULL;
    g_autofree char *sha = NULL;
    GBytes *orig = NULL;
    const char *why = NULL;

    if (it == NULL || plan->keep_dropped || it->kind != VI_RECORD_FILE_EDITED ||
        it->orig.saved == NULL || g_strv_contains (account_files, path))
        return NULL;
    sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, now);
    if (!g_str_equal (sha, it->after_sha256))
        return NULL;                    /* the guest changed it since: edited as it is */
    if (!read_kept_original (vfs, it, &orig, &why, error) || orig == NULL)
        return NULL;
    g_hash_table_add (plan->rebased, g_strdup (path));
    return orig;
}

/* Read a file that will be edited, with its mode and owner (see
 * rebase_on_original for what may be read instead of the file). */
static gboolean
read_for_edit (ViPlan *plan, ViVfs *vfs, const char *path, char **out_text, ViStat *out_st,
               GError **error)
{
    g_autoptr(GBytes) b = NULL;
    g_autoptr(GError) e = NULL;
    GBytes *base;
    gsize len;
    const char *data;

    if (!vi_vfs_stat (vfs, path, out_st, error))
        return FALSE;
    if (!vi_vfs_read_file (vfs, path, plan->read_max, &b, error))
        return FALSE;
    if ((base = rebase_on_original (plan, vfs, path, b, &e)) != NULL) {
        g_bytes_unref (b);
        b = base;
    } else if (e != NULL) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    data = g_bytes_get_data (b, &len);
    if (memchr (data, '\0', len) != NULL)
        return vi_throw (error, VI_ERROR_GUEST, "%s: contains a NUL byte (not a text file)", path);
    *out_text = g_strndup (data, len);
    g_hash_table_replace (plan->edited, g_strdup (path), g_bytes_ref (b));   /* for the record */
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

/* The account file @path as edited so far by the plan (read on first
 * use); *@out NULL when @optional and the guest has no such file. */
static gboolean
plan_edit (ViPlan *plan, ViVfs *vfs, const char *path, gboolean optional, Edit **out,
           GError **error)
{
    g_autoptr(GError) e = NULL;
    Edit *ed;

    for (guint i = 0; i < plan->edits->len; i++) {
        ed = plan->edits->pdata[i];
        if (g_str_equal (ed->path, path)) {
            *out = ed;
            return TRUE;
        }
    }
    ed = g_new0 (Edit, 1);
    if (!read_for_edit (plan, vfs, path, &ed->old, &ed->st, &e)) {
        g_free (ed);
        if (optional && g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
            *out = NULL;
            return TRUE;
        }
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    ed->path = g_strdup (path);
    ed->text = g_strdup (ed->old);
    ed->why = g_string_new (NULL);
    g_ptr_array_add (plan->edits, ed);
    *out = ed;
    return TRUE;
}

/* Replace the text of @ed by @text (transfer full), for the reason @why. */
static void
edit_set (Edit *ed, char *text, const char *why)
{
    g_free (ed->text);
    ed->text = text;
    if (strstr (ed->why->str, why) == NULL)
        g_string_append_printf (ed->why, "%s%s", ed->why->len ? "; " : "", why);
}

/* @ed's text becomes @text (transfer full), for @why, when they differ.
 * Returns: whether they did. */
static gboolean
edit_change (Edit *ed, char *text, const char *why)
{
    if (g_str_equal (text, ed->text)) {
        g_free (text);
        return FALSE;
    }
    edit_set (ed, text, why);
    return TRUE;
}

/* Plan writing every edited account file that changed. */
static gboolean
plan_edits (ViPlan *plan, ViVfs *vfs, GError **error)
{
    for (guint i = 0; i < plan->edits->len; i++) {
        const Edit *ed = plan->edits->pdata[i];

        if (!plan_changed (plan, vfs, ed->path, ed->old, ed->text, &ed->st, ed->why->str, error))
            return FALSE;
    }
    return TRUE;
}

/* The guest user @name, or the one the plan creates. */
static ViPasswdEntry *
plan_lookup_user (ViPlan *plan, ViVfs *vfs, const char *name, GError **error)
{
    const ViPasswdEntry *made = g_hash_table_lookup (plan->created, name);
    ViPasswdEntry *pw;

    if (made == NULL)
        return vi_guest_lookup_user (vfs, name, error);
    pw = g_new0 (ViPasswdEntry, 1);
    pw->name = g_strdup (made->name);
    pw->uid = made->uid;
    pw->gid = made->gid;
    pw->home = g_strdup (made->home);
    return pw;
}

static gboolean
resolve_owner (ViPlan *plan, ViVfs *vfs, const char *owner, const char *group, guint32 *uid,
               guint32 *gid, GError **error)
{
    gpointer made;

    *uid = 0;
    *gid = 0;
    if (owner) {
        g_autoptr(ViPasswdEntry) pw = plan_lookup_user (plan, vfs, owner, error);
        if (pw == NULL)
            return FALSE;
        *uid = pw->uid;
        *gid = pw->gid;
    }
    if (group && g_hash_table_lookup_extended (plan->created_groups, group, NULL, &made)) {
        *gid = GPOINTER_TO_UINT (made);
        return TRUE;
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

        if (!resolve_owner (plan, vfs, d->owner, d->group, &uid, &gid, error))
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

        if (!resolve_owner (plan, vfs, f->owner, f->group, &uid, &gid, error) ||
            !plan_write (plan, vfs, f->path, g_bytes_ref (f->content), mode, uid, gid, why, error))
            return FALSE;
    }
    return TRUE;
}

/* ---- SSH keys ---------------------------------------------------------- */

#define TAKEN_BACK "taken back: dropped from the request"

/* Notes each line of @removed, taken back from @path, for the plan. */
static void
note_taken_lines (ViPlan *plan, const char *path, const char *const *removed)
{
    for (guint i = 0; removed[i]; i++)
        g_ptr_array_add (plan->taken_lines, g_strdup_printf ("%s: %s", path, removed[i]));
}

/* The keys of @ak (@len bytes of @data) that the guest record says an
 * earlier request added and @u no longer asks for, removed: the text
 * without them, or %NULL when nothing is taken back. */
static char *
take_back_key_lines (ViPlan *plan, const char *ak, const char *data, gsize len, const ViUser *u)
{
    const ViRecordItem *it = plan->record ? vi_record_lookup (plan->record, ak) : NULL;
    g_autofree char *text = NULL;
    g_auto(GStrv) removed = NULL;
    char *out;

    if (plan->keep_dropped || it == NULL || it->lines_added == NULL ||
        memchr (data, '\0', len) != NULL)
        return NULL;
    text = g_strndup (data, len);
    out = vi_edit_take_back_lines (text, (const char *const *) it->lines_added,
                                   (const char *const *) u->ssh_keys->pdata, u->ssh_keys->len,
                                   &removed);
    if (removed[0] == NULL) {
        g_free (out);
        return NULL;
    }
    note_taken_lines (plan, ak, (const char *const *) removed);
    return out;
}

static gboolean
plan_ssh_keys (ViPlan *plan, const ViUser *u, ViVfs *vfs, GError **error)
{
    g_autoptr(ViPasswdEntry) pw = NULL;
    g_autofree char *ssh_dir = NULL, *ak = NULL, *why = NULL;
    g_autoptr(GBytes) old = NULL;
    const char *data = NULL;
    gsize len = 0;
    char *keys;
    g_autofree char *taken = NULL;
    ViStat st;
    g_autoptr(GError) e = NULL;

    if (u->ssh_keys->len == 0)
        return TRUE;
    pw = plan_lookup_user (plan, vfs, u->name, error);
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
    g_hash_table_add (plan->line_files, g_strdup (ak));
    if (old != NULL) {
        data = g_bytes_get_data (old, &len);
        /* an edit (lines added), for the record */
        g_hash_table_replace (plan->edited, g_strdup (ak), g_bytes_ref (old));
        taken = take_back_key_lines (plan, ak, data, len, u);
        if (taken != NULL) {
            data = taken;
            len = strlen (taken);
        }
    }
    keys = vi_edit_authorized_keys (data, len, (const char *const *) u->ssh_keys->pdata,
                                    u->ssh_keys->len);
    return plan_write (plan, vfs, ak, bytes_take_string (keys), 0600, pw->uid, pw->gid, why,
                       error);
}

/* ---- accounts ---------------------------------------------------------- */

/* The guest's passwd, shadow, group and gshadow are edited as text by
 * vi-users (pure functions); this glue reads them once through the VFS,
 * checks the request against them, and plans the writes.  README "Users"
 * gives the rules. */

#define SKEL_DIR "/etc/skel"
#define SKEL_MAX_BYTES (4u * 1024 * 1024)  /* all of /etc/skel copied into one home */
#define SKEL_MAX_ENTRIES 1024u             /* entries of one directory of it */
#define SKEL_MAX_DEPTH 8u

/* The days since the epoch, as shadow's last-change field. */
static char *
shadow_today (void)
{
    return g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / G_USEC_PER_SEC / 86400);
}

static gboolean
user_has_account_attrs (const ViUser *u)
{
    return u->create || u->has_uid || u->group || u->groups->len > 0 || u->shell || u->home ||
           u->sudo != VI_SUDO_NONE;
}

/* The gid of group @name (a name or a decimal gid) in @group; VI_ERROR_GUEST
 * when the guest has no such group. */
static gboolean
account_group_gid (const Edit *group, const char *user, const char *name, guint32 *out_gid,
                   GError **error)
{
    guint64 v;

    if (g_ascii_string_to_unsigned (name, 10, 0, G_MAXUINT32 - 1, &v, NULL)) {
        if (!vi_users_id_taken (group->text, (guint32) v))
            return vi_throw (error, VI_ERROR_GUEST, "user '%s': group: no group of the guest's "
                             "/etc/group has gid %s", user, name);
        *out_gid = (guint32) v;
        return TRUE;
    }
    switch (vi_users_find_group (group->text, name, out_gid)) {
    case VI_USERS_FOUND:
        return TRUE;
    case VI_USERS_MALFORMED:
        return vi_throw (error, VI_ERROR_GUEST, "user '%s': group '%s' has a malformed entry in "
                         "the guest's /etc/group", user, name);
    case VI_USERS_ABSENT:
    default:
        return vi_throw (error, VI_ERROR_GUEST, "user '%s': group '%s' does not exist in the "
                         "guest's /etc/group", user, name);
    }
}

/* An existing user is never changed by its account attributes: each one
 * the request gives must be what the guest has. */
static gboolean
check_existing_account (const ViUser *u, const ViAccount *a, const Edit *group, GError **error)
{
    if (u->has_uid && a->uid != u->uid)
        return vi_throw (error, VI_ERROR_GUEST, "user '%s' exists with uid %u; the request says "
                         "uid %u", u->name, a->uid, u->uid);
    if (u->group) {
        guint32 gid;

        if (!account_group_gid (group, u->name, u->group, &gid, error))
            return FALSE;
        if (gid != a->gid)
            return vi_throw (error, VI_ERROR_GUEST, "user '%s' exists with primary group gid %u; "
                             "the request says group '%s' (gid %u)", u->name, a->gid, u->group, gid);
    }
    if (u->home && !g_str_equal (a->home, u->home))
        return vi_throw (error, VI_ERROR_GUEST, "user '%s' exists with home '%s'; the request says "
                         "home '%s'", u->name, a->home, u->home);
    if (u->shell && !g_str_equal (a->shell, u->shell))
        return vi_throw (error, VI_ERROR_GUEST, "user '%s' exists with shell '%s'; the request says "
                         "shell '%s'", u->name, a->shell, u->shell);
    return TRUE;
}

/* Copy the regular files and directories of @src (in /etc/skel) into
 * @dst, owned by @uid:@gid; symlinks, special files and files with several
 * links are not copied and are named in the plan.  *@budget: the bytes
 * still allowed. */
static gboolean
copy_skel (ViPlan *plan, ViVfs *vfs, const char *src, const char *dst, guint depth, guint32 uid,
           guint32 gid, const char *why, gsize *budget, GError **error)
{
    g_autoptr(GPtrArray) names = NULL;

    if (depth > SKEL_MAX_DEPTH)
        return vi_throw (error, VI_ERROR_GUEST, "%s: nested deeper than %u directories (%s)", src,
                         SKEL_MAX_DEPTH, why);
    if (!vi_vfs_list_dir_opt (vfs, src, SKEL_MAX_ENTRIES, &names, error))
        return FALSE;
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *from = g_build_filename (src, names->pdata[i], NULL);
        g_autofree char *to = g_build_filename (dst, names->pdata[i], NULL);
        ViStat st;

        if (!vi_vfs_stat (vfs, from, &st, error))
            return FALSE;
        if (st.type == VI_FILE_TYPE_DIRECTORY) {
            if (!plan_dir (plan, vfs, to, st.mode & 0777, uid, gid, why, error) ||
                !copy_skel (plan, vfs, from, to, depth + 1, uid, gid, why, budget, error))
                return FALSE;
        } else if (st.type == VI_FILE_TYPE_REGULAR && st.nlink == 1) {
            g_autoptr(GBytes) b = NULL;

            if (st.size > *budget)
                return vi_throw (error, VI_ERROR_GUEST, "%s: the guest's " SKEL_DIR " holds more "
                                 "than %u bytes (%s)", from, SKEL_MAX_BYTES, why);
            if (!vi_vfs_read_file (vfs, from, MIN (*budget, plan->read_max), &b, error))
                return FALSE;
            *budget -= g_bytes_get_size (b);
            if (!plan_write (plan, vfs, to, g_steal_pointer (&b), st.mode & 0777, uid, gid, why,
                             error))
                return FALSE;
        } else {
            g_autofree char *skip = g_strdup_printf ("%s: %s of " SKEL_DIR " not copied", why,
                                                     st.type == VI_FILE_TYPE_SYMLINK ? "a symlink"
                                                     : st.type == VI_FILE_TYPE_REGULAR
                                                     ? "a file with several links"
                                                     : "a special file");
            add_step (plan, STEP_SKIPPED, from, st.mode, st.uid, st.gid, skip);
        }
    }
    return TRUE;
}

/* The mode of a new home where login.defs has no HOME_MODE: what the
 * distribution's own tool gives (Ubuntu's adduser 0750, Debian's 0700,
 * useradd with Fedora's HOME_MODE 0700). */
static guint
default_home_mode (const ViGuestFacts *facts)
{
    return g_strcmp0 (facts->os_id, "ubuntu") == 0 ? 0750 : 0700;
}

static gboolean
create_account (ViPlan *plan, const ViUser *u, ViVfs *vfs, Edit *passwd, Edit *shadow,
                Edit *group, Edit *gshadow, GError **error)
{
    g_autoptr(GBytes) defs_bytes = NULL;
    g_autofree char *defs = NULL;
    g_autofree char *home = u->home ? g_strdup (u->home) : g_strconcat ("/home/", u->name, NULL);
    const char *shell = u->shell ? u->shell : "/bin/sh";
    const char *gname = u->group ? u->group : u->name;
    g_autofree char *why = g_strdup_printf ("create user %s", u->name);
    g_autofree char *today = shadow_today ();
    g_autofree char *line = NULL;
    gboolean private_group;
    ViLoginDefs ld;
    guint32 uid, gid;
    gsize budget = SKEL_MAX_BYTES;
    ViPasswdEntry *made;
    ViStat st;
    g_autoptr(GError) e = NULL;

    if (!vi_vfs_read_file_opt (vfs, "/etc/login.defs", plan->read_max, &defs_bytes, error))
        return FALSE;
    if (defs_bytes)
        defs = g_strndup (g_bytes_get_data (defs_bytes, NULL), g_bytes_get_size (defs_bytes));
    vi_login_defs_parse (defs, default_home_mode (plan->facts), &ld);

    if (vi_users_has_name (shadow->text, u->name))
        return vi_throw (error, VI_ERROR_GUEST, "user '%s': not in the guest's /etc/passwd but "
                         "already in its /etc/shadow; not created", u->name);
    if (u->shell) {
        g_autoptr(GBytes) b = NULL;
        g_autofree char *shells = NULL;

        if (!vi_vfs_read_file_opt (vfs, "/etc/shells", plan->read_max, &b, error))
            return FALSE;
        if (b)
            shells = g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
        if (shells == NULL || !vi_users_shell_listed (shells, u->shell))
            return vi_throw (error, VI_ERROR_GUEST, "user '%s': shell '%s' is not listed in the "
                             "guest's /etc/shells", u->name, u->shell);
    }

    /* uid: the request's, or the lowest free one of login.defs' range
     * that is also free as a gid when the user gets a group of its own. */
    private_group = g_str_equal (gname, u->name) && !vi_users_has_name (group->text, gname);
    if (u->has_uid) {
        if (vi_users_id_taken (passwd->text, u->uid))
            return vi_throw (error, VI_ERROR_GUEST, "user '%s': uid %u is taken by another user of "
                             "the guest's /etc/passwd", u->name, u->uid);
        uid = u->uid;
    } else if (!vi_users_pick_id (passwd->text, private_group ? group->text : NULL, ld.uid_min,
                                  ld.uid_max, &uid)) {
        return vi_throw (error, VI_ERROR_GUEST, "user '%s': no free uid in %u-%u (the guest's "
                         "login.defs)", u->name, ld.uid_min, ld.uid_max);
    }

    if (private_group) {
        /* A group of the user's name, gid = uid where that is free. */
        if (vi_users_id_taken (group->text, uid) &&
            !vi_users_pick_id (group->text, NULL, ld.gid_min, ld.gid_max, &gid))
            return vi_throw (error, VI_ERROR_GUEST, "user '%s': no free gid in %u-%u (the guest's "
                             "login.defs)", u->name, ld.gid_min, ld.gid_max);
        if (!vi_users_id_taken (group->text, uid))
            gid = uid;
        line = g_strdup_printf ("%s:x:%u:", u->name, gid);
        edit_set (group, vi_users_append (group->text, line), why);
        if (gshadow) {
            g_clear_pointer (&line, g_free);
            line = g_strdup_printf ("%s:!::", u->name);
            edit_set (gshadow, vi_users_append (gshadow->text, line), why);
        }
        g_hash_table_insert (plan->created_groups, g_strdup (u->name), GUINT_TO_POINTER (gid));
    } else if (!account_group_gid (group, u->name, gname, &gid, error)) {
        return FALSE;
    }
    if (gid == 0)
        return vi_throw (error, VI_ERROR_INVALID, "<user name='%s'>: attribute 'group': a created "
                         "user may not have gid 0 ('%s')", u->name, gname);

    g_clear_pointer (&line, g_free);
    line = g_strdup_printf ("%s:x:%u:%u::%s:%s", u->name, uid, gid, home, shell);
    edit_set (passwd, vi_users_append (passwd->text, line), why);
    /* "*": no password (keys still work everywhere, unlike a locked "!");
     * a <password> of the request replaces it. */
    g_clear_pointer (&line, g_free);
    line = g_strdup_printf ("%s:*:%s:0:99999:7:::", u->name, today);
    edit_set (shadow, vi_users_append (shadow->text, line), why);

    /* The home: never taken over from someone else. */
    if (vi_vfs_stat (vfs, home, &st, &e))
        return vi_throw (error, VI_ERROR_GUEST, "user '%s': home %s already exists in the guest; "
                         "not taken over", u->name, home);
    if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    if (!plan_dir (plan, vfs, home, ld.home_mode, uid, gid, why, error))
        return FALSE;
    /* /etc/skel itself a symlink (to /etc, say) would copy what it points
     * to into a home the new user reads: not copied at all. */
    g_clear_error (&e);
    if (vi_vfs_stat (vfs, SKEL_DIR, &st, &e)) {
        if (st.type != VI_FILE_TYPE_DIRECTORY) {
            g_autofree char *skip = g_strdup_printf ("%s: " SKEL_DIR " is not a directory; "
                                                     "nothing copied", why);
            add_step (plan, STEP_SKIPPED, SKEL_DIR, st.mode, st.uid, st.gid, skip);
        } else if (!copy_skel (plan, vfs, SKEL_DIR, home, 0, uid, gid, why, &budget, error)) {
            return FALSE;
        }
    } else if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }

    made = g_new0 (ViPasswdEntry, 1);
    made->name = g_strdup (u->name);
    made->uid = uid;
    made->gid = gid;
    made->home = g_steal_pointer (&home);
    g_hash_table_insert (plan->created, g_strdup (u->name), made);
    return TRUE;
}

/* groups=: each must exist; the user is added to its member list (and to
 * gshadow's, where the guest has one with that group). */
static gboolean
add_memberships (ViPlan *plan, const ViUser *u, Edit *group, Edit *gshadow, GError **error)
{
    g_autofree char *why = g_strdup_printf ("groups of %s", u->name);

    for (guint i = 0; i < u->groups->len; i++) {
        const char *g = u->groups->pdata[i];
        gboolean found = FALSE;
        char *text = vi_users_add_member (group->text, g, u->name, &found);

        if (!found) {
            g_free (text);
            return vi_throw (error, VI_ERROR_GUEST, "user '%s': group '%s' of groups= does not "
                             "exist in the guest's /etc/group", u->name, g);
        }
        if (edit_change (group, text, why))
            g_hash_table_add (plan->members, g_strconcat (g, ":", u->name, NULL));
        if (gshadow)
            edit_change (gshadow, vi_users_add_member (gshadow->text, g, u->name, &found), why);
    }
    return TRUE;
}

/* <sudo/>: /etc/sudoers.d/virt-inject-NAME, 0440 root:root. */
static gboolean
plan_sudo (ViPlan *plan, const ViUser *u, ViVfs *vfs, GError **error)
{
    g_autoptr(GBytes) b = NULL;
    g_autofree char *sudoers = NULL;
    g_autofree char *path = g_strconcat ("/etc/sudoers.d/virt-inject-", u->name, NULL);
    g_autofree char *why = g_strdup_printf ("sudo for %s", u->name);

    if (!vi_vfs_read_file_opt (vfs, "/etc/sudoers", plan->read_max, &b, error))
        return FALSE;
    if (b == NULL)
        return vi_throw (error, VI_ERROR_GUEST, "%s: the guest has no /etc/sudoers (is sudo "
                         "installed?)", why);
    sudoers = g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
    if (!vi_users_sudoers_includes_dir (sudoers))
        return vi_throw (error, VI_ERROR_GUEST, "%s: the guest's /etc/sudoers does not read "
                         "/etc/sudoers.d (no @includedir line)", why);
    return plan_dir (plan, vfs, "/etc/sudoers.d", 0750, 0, 0, why, error) &&
           plan_write (plan, vfs, path,
                       bytes_take_string (vi_users_sudoers_rule (u->name,
                                                                 u->sudo == VI_SUDO_NOPASSWD)),
                       0440, 0, 0, why, error);
}

static gboolean
no_such_user (GError **error, const char *name)
{
    return vi_throw (error, VI_ERROR_GUEST, "user '%s' does not exist in the guest's /etc/passwd "
                     "(create=\"yes\", or --create-user, makes it)", name);
}

static gboolean
plan_users (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    for (guint i = 0; i < spec->users->len; i++) {
        const ViUser *u = spec->users->pdata[i];
        Edit *passwd, *shadow, *group, *gshadow;
        g_autoptr(ViAccount) a = NULL;

        if (!user_has_account_attrs (u)) {
            g_autoptr(GError) e = NULL;
            g_autoptr(ViPasswdEntry) pw = vi_guest_lookup_user (vfs, u->name, &e);

            if (pw != NULL)
                continue;
            /* Say how to make a user the guest lacks (the complaint users
             * of virt-customize write most often). */
            if (plan_edit (plan, vfs, "/etc/passwd", FALSE, &passwd, NULL) &&
                !vi_users_has_name (passwd->text, u->name))
                return no_such_user (error, u->name);
            g_propagate_error (error, g_steal_pointer (&e));
            return FALSE;
        }
        if (!plan_edit (plan, vfs, "/etc/passwd", FALSE, &passwd, error) ||
            !plan_edit (plan, vfs, "/etc/group", FALSE, &group, error) ||
            !plan_edit (plan, vfs, "/etc/gshadow", TRUE, &gshadow, error))
            return FALSE;
        switch (vi_users_find_account (passwd->text, u->name, &a)) {
        case VI_USERS_FOUND:
            if (!check_existing_account (u, a, group, error))
                return FALSE;
            break;
        case VI_USERS_MALFORMED:
            return vi_throw (error, VI_ERROR_GUEST, "user '%s' has a malformed entry in the guest's "
                             "/etc/passwd", u->name);
        case VI_USERS_ABSENT:
        default:
            if (!u->create)
                return no_such_user (error, u->name);
            if (!plan_edit (plan, vfs, "/etc/shadow", FALSE, &shadow, error) ||
                !create_account (plan, u, vfs, passwd, shadow, group, gshadow, error))
                return FALSE;
        }
        if (!add_memberships (plan, u, group, gshadow, error) ||
            (u->sudo != VI_SUDO_NONE && !plan_sudo (plan, u, vfs, error)))
            return FALSE;
    }
    return TRUE;
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
        *out = vi_edit_shadow_lock (old_field);
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
    Edit *shadow = NULL;
    g_autofree char *text = NULL;
    gboolean any = FALSE;
    g_autofree char *why = NULL;
    g_autoptr(GString) names = g_string_new (NULL);
    g_autofree char *today = shadow_today ();

    for (guint i = 0; i < spec->users->len; i++)
        any |= ((ViUser *) spec->users->pdata[i])->password_kind != VI_PASSWORD_NONE;
    if (!any)
        return TRUE;

    if (!plan_edit (plan, vfs, "/etc/shadow", FALSE, &shadow, error))
        return FALSE;
    text = g_strdup (shadow->text);

    for (guint i = 0; i < spec->users->len; i++) {
        const ViUser *u = spec->users->pdata[i];
        g_autofree char *old_field = NULL, *field = NULL, *prev = NULL;

        if (u->password_kind == VI_PASSWORD_NONE)
            continue;
        g_string_append_printf (names, "%s%s", names->len ? ", " : "", u->name);
        old_field = vi_edit_shadow_password (text, u->name);
        if (old_field == NULL)
            return vi_throw (error, VI_ERROR_GUEST, "user '%s' has no entry in the guest's /etc/shadow",
                             u->name);
        if (!new_password_field (plan, u, old_field, opts, &field, error))
            return FALSE;
        g_hash_table_insert (plan->passwords, g_strdup (u->name),
                             g_compute_checksum_for_string (G_CHECKSUM_SHA256, field, -1));
        prev = g_steal_pointer (&text);
        text = vi_edit_shadow_set_password (prev, u->name, field, today, error);
        if (text == NULL)
            return FALSE;
    }
    why = g_strdup_printf ("password for %s", names->str);
    edit_set (shadow, g_steal_pointer (&text), why);
    return TRUE;
}

/* ---- hostname ---------------------------------------------------------- */

static gboolean
plan_hostname (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    g_autofree char *hosts = NULL;
    guint mode = 0644;
    guint32 uid = 0, gid = 0;
    ViStat st;
    g_autoptr(GError) e = NULL;

    if (spec->hostname == NULL)
        return TRUE;
    if (!plan_write (plan, vfs, "/etc/hostname", bytes_take_string (vi_edit_hostname (spec->hostname)),
                     0644, 0, 0, "hostname", error))
        return FALSE;

    if (vi_vfs_stat (vfs, "/etc/hosts", &st, &e)) {
        mode = st.mode;
        uid = st.uid;
        gid = st.gid;
        if (!read_for_edit (plan, vfs, "/etc/hosts", &hosts, &st, error))
            return FALSE;
    } else if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    return plan_write (plan, vfs, "/etc/hosts",
                       bytes_take_string (vi_edit_hosts (hosts, spec->hostname)), mode, uid, gid,
                       "hostname", error);
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

/* The regular files of the guest directory @dir whose paths @keep accepts
 * (given @data), appended to @out in the directory's sorted order. */
static gboolean
regular_files_in (ViVfs *vfs, const char *dir, gboolean (*keep) (const char *, gconstpointer),
                  gconstpointer data, GPtrArray *out, GError **error)
{
    g_autoptr(GPtrArray) names = NULL;

    if (!vi_vfs_list_dir_opt (vfs, dir, NET_DIR_MAX, &names, error))
        return FALSE;
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
        ViStat st;

        if (!keep (path, data))
            continue;
        if (!vi_vfs_stat (vfs, path, &st, error))
            return FALSE;
        if (st.type == VI_FILE_TYPE_REGULAR)
            g_ptr_array_add (out, g_steal_pointer (&path));
    }
    return TRUE;
}

static gboolean
keep_sourced (const char *path, gconstpointer src)
{
    return vi_net_ifupdown_source_includes (src, path);
}

static gboolean
keep_suffix (const char *path, gconstpointer suffix)
{
    return suffix == NULL || g_str_has_suffix (path, suffix);
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

    if (!vi_check_guest_path (dir, NULL))
        return TRUE;                    /* nothing a guest path can name */
    return regular_files_in (vfs, dir, keep_sourced, src, out, error);
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
                g_autofree char *name = g_path_get_basename (files->pdata[f]);

                /* an earlier request's own file this one dropped: taken
                 * back, not edited */
                if (g_str_has_prefix (name, "virt-inject-") ||
                    g_hash_table_contains (seen, files->pdata[f]) ||
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

        if (main_file && inline_block &&
            (guest = vi_edit_ifupdown_strip_block (t->text, error)) == NULL)
            return FALSE;
        text = vi_net_ifupdown_disable (guest ? guest : t->text,
                                        (const char *const *) names->pdata);
        if (main_file && inline_block) {
            g_autofree char *body = text;
            text = vi_edit_ifupdown_append_block (body, inline_block);
            why = "network (ifupdown)";
        } else if (main_file && !included) {
            g_autofree char *body = text;
            text = vi_edit_ifupdown_append_source (body);
        }
        if (g_str_equal (text, t->text) && !(main_file && inline_block))
            continue;
        if (!plan_write (plan, vfs, t->path, bytes_take_string (g_steal_pointer (&text)),
                         t->st.mode, t->st.uid, t->st.gid, why, error))
            return FALSE;
    }
    return TRUE;
}

/* For an ifupdown that does nothing with dns-nameservers and dns-search
 * (busybox's; Debian's without resolvconf): the nameservers and search
 * domains go to /etc/resolv.conf, whose own nameserver lines (search and
 * domain lines) they replace; the other lines (options) are kept.  A
 * symlink there (a resolver's runtime file) is replaced by a file, never
 * followed.  @why: the plan's reason. */
static gboolean
plan_resolv_conf (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, const char *why, GError **error)
{
    static const char path[] = "/etc/resolv.conf";
    g_autofree char *ns = vi_net_nameservers (spec->interfaces);
    g_autofree char *search = vi_net_search (spec->interfaces);
    g_autofree char *ours = g_strconcat (search, ns, NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) e = NULL;
    ViStat st = { .mode = 0644 };

    if (*ours == '\0')
        return TRUE;
    if (!vi_vfs_stat (vfs, path, &st, &e) && !g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    /* missing, or a symlink: a new file, 0644 root:root */
    if (e != NULL || st.type == VI_FILE_TYPE_SYMLINK)
        st = (ViStat) { .mode = 0644 };
    else if (!read_for_edit (plan, vfs, path, &text, &st, error))
        return FALSE;
    return plan_write (plan, vfs, path, bytes_take_string (vi_edit_resolv_conf (text, ours)),
                       st.mode, st.uid, st.gid, why, error);
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
        g_autofree char *top = g_strndup (*dirs, strcspn (*dirs + 1, "/") + 1);
        ViStat st;
        g_autoptr(GError) e = NULL;

        if (g_str_equal (top, "/lib") && vi_vfs_stat (vfs, top, &st, &e) &&
            st.type == VI_FILE_TYPE_SYMLINK)
            continue;
        if (!regular_files_in (vfs, *dirs, keep_suffix, suffix, out, error))
            return FALSE;
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

/* ---- first boot and identity (the files: vi-firstboot) ------------------ */

/* A marker under VI_STATE_DIR, as @parse accepts it; %NULL when missing,
 * oversized, not a regular file or malformed (hostile: counts as none). */
static char *
read_marker (ViVfs *vfs, const char *path, char *(*parse) (GBytes *))
{
    g_autoptr(GBytes) b = NULL;

    if (!vi_vfs_read_file (vfs, path, VI_MARKER_READ_MAX, &b, NULL))
        return NULL;
    return parse (b);
}

/* Plan the marker @path holding @value; %TRUE in *@out_same when the guest
 * has it already (the step is then "unchanged"). */
static gboolean
plan_marker (ViPlan *plan, ViVfs *vfs, const char *path, const char *value,
             char *(*parse) (GBytes *), gboolean *out_same, const char *why, GError **error)
{
    g_autofree char *old = read_marker (vfs, path, parse);

    *out_same = old != NULL && g_str_equal (old, value);
    return plan_dir (plan, vfs, VI_STATE_DIR, 0700, 0, 0, why, error) &&
           plan_write (plan, vfs, path, bytes_take_string (g_strconcat (value, "\n", NULL)), 0600,
                       0, 0, why, error);
}

/* What <firstboot> and <identity> make: their own once-only lifecycle
 * (the runner removes itself after the first boot; a clone's identity is
 * never put back), so never taken back; their markers and scripts live
 * under VI_STATE_DIR, which is the record's own directory. */
static const char *const machinery_files[] = {
    VI_UNIT_DIR "/" VI_FIRSTBOOT_UNIT_NAME, VI_WANTS_DIR "/" VI_FIRSTBOOT_UNIT_NAME,
    VI_UNIT_DIR "/" VI_HOSTKEYS_UNIT_NAME, VI_WANTS_DIR "/" VI_HOSTKEYS_UNIT_NAME,
    VI_FIRSTBOOT_LOCAL_D, VI_OPENRC_LOCAL_LINK, VI_RC_LOCAL, "/etc/machine-id", NULL
};

/* A <firstboot> or <identity> done before and still requested plans no
 * step: the directories of its files stay the request's (not taken back
 * once the runner removed what was in them). */
static void
claim_machinery (ViPlan *plan)
{
    for (guint i = 0; machinery_files[i]; i++) {
        g_autofree char *dir = g_path_get_dirname (machinery_files[i]);

        while (!g_str_equal (dir, "/")) {
            char *up = g_path_get_dirname (dir);

            g_hash_table_add (plan->claimed, g_steal_pointer (&dir));
            dir = up;
        }
    }
}

/* Plan the link @path -> @target: an existing link there is taken for
 * ours (the VFS reads no link targets), anything else is refused. */
static gboolean
plan_link (ViPlan *plan, ViVfs *vfs, const char *path, const char *target, const char *why,
           GError **error)
{
    g_autofree char *parent = g_path_get_dirname (path);
    ViStat st;
    g_autoptr(GError) e = NULL;
    Step *s;

    if (!plan_dir (plan, vfs, parent, 0755, 0, 0, why, error))
        return FALSE;
    if (vi_vfs_stat (vfs, path, &st, &e)) {
        if (st.type != VI_FILE_TYPE_SYMLINK)
            return vi_throw (error, VI_ERROR_GUEST, "%s: exists and is not a symbolic link (%s)",
                             path, why);
        add_step (plan, STEP_UNCHANGED, path, 0777, 0, 0, why);
        return TRUE;
    }
    if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    s = add_step (plan, STEP_SYMLINK, path, 0777, 0, 0, why);
    s->content = g_bytes_new (target, strlen (target));
    return TRUE;
}

/* Plan removing @path when it is a regular file or a link. */
static gboolean
plan_unlink (ViPlan *plan, ViVfs *vfs, const char *path, const char *why, GError **error)
{
    ViStat st;
    g_autoptr(GError) e = NULL;

    if (!vi_vfs_stat (vfs, path, &st, &e)) {
        if (g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND))
            return TRUE;
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    if (st.type == VI_FILE_TYPE_REGULAR || st.type == VI_FILE_TYPE_SYMLINK)
        add_step (plan, STEP_UNLINK, path, st.mode, st.uid, st.gid, why);
    return TRUE;
}

/* Plan a systemd unit file and its multi-user.target.wants link. */
static gboolean
plan_unit (ViPlan *plan, ViVfs *vfs, const char *name, char *text, const char *why,
           GError **error)
{
    g_autofree char *unit = g_build_filename (VI_UNIT_DIR, name, NULL);
    g_autofree char *link = g_build_filename (VI_WANTS_DIR, name, NULL);

    return plan_write (plan, vfs, unit, bytes_take_string (text), 0644, 0, 0, why, error) &&
           plan_link (plan, vfs, link, unit, why, error);
}

static ViInitSystem
init_system (ViVfs *vfs, const char *what, GError **error)
{
    ViInitSystem init = vi_firstboot_detect_init (vfs);

    if (init == VI_INIT_UNKNOWN)
        vi_throw (error, VI_ERROR_GUEST, "%s: cannot tell the guest's init system (no systemd, "
                  "OpenRC or /sbin/init found)", what);
    return init;
}

static gboolean plan_firstboot_dropped (ViPlan *plan, ViVfs *vfs, GError **error);

/* <firstboot>: armed once per request digest (VI_FIRSTBOOT_MARKER), also
 * under policy="always"; the runner removes the script after it ran.  The
 * digest is the request's own (vi_spec_digest), not the keyed one of the
 * ledger and record: a rotated secret re-applies the password, it does not
 * re-run a first-boot script; and the marker, readable in the guest, holds
 * no hash of a secret's value. */
static gboolean
plan_firstboot (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    g_autofree char *digest = NULL;
    gboolean same;
    ViInitSystem init;

    if (spec->firstboot == NULL)
        return plan_firstboot_dropped (plan, vfs, error);
    init = init_system (vfs, "<firstboot>", error);
    if (init == VI_INIT_UNKNOWN)
        return FALSE;
    digest = vi_spec_digest (spec);
    if (!plan_marker (plan, vfs, VI_FIRSTBOOT_MARKER, digest, vi_firstboot_parse_digest, &same,
                      "first boot: the request digest it runs for", error))
        return FALSE;
    if (same) {
        claim_machinery (plan);
        return TRUE;    /* armed, or ran, for this request: never again */
    }
    if (!plan_write (plan, vfs, VI_FIRSTBOOT_SCRIPT, g_bytes_ref (spec->firstboot), 0700, 0, 0,
                     "first boot: the script", error) ||
        !plan_write (plan, vfs, VI_FIRSTBOOT_RUNNER, bytes_take_string (vi_firstboot_runner (init)),
                     0700, 0, 0, "first boot: runs the script once", error))
        return FALSE;
    switch (init) {
    case VI_INIT_SYSTEMD:
        return plan_unit (plan, vfs, VI_FIRSTBOOT_UNIT_NAME, vi_firstboot_unit (),
                          "first boot: systemd unit", error);
    case VI_INIT_OPENRC: {
        gboolean local = FALSE;

        if (!vi_vfs_exists (vfs, VI_OPENRC_LOCAL, &local, error))
            return FALSE;
        if (!local)
            return vi_throw (error, VI_ERROR_GUEST, "<firstboot>: this OpenRC guest has no %s "
                             "service, which runs /etc/local.d", VI_OPENRC_LOCAL);
        return plan_dir (plan, vfs, "/etc/local.d", 0755, 0, 0, "first boot", error) &&
               plan_write (plan, vfs, VI_FIRSTBOOT_LOCAL_D,
                           bytes_take_string (vi_firstboot_local_d ()), 0755, 0, 0,
                           "first boot: OpenRC local.d", error) &&
               plan_link (plan, vfs, VI_OPENRC_LOCAL_LINK, VI_OPENRC_LOCAL,
                          "first boot: OpenRC's local service in the default runlevel", error);
    }
    case VI_INIT_SYSVINIT: {
        g_autofree char *old = NULL;
        ViStat st = { .mode = 0755 };
        gboolean exists = FALSE;

        if (!vi_vfs_exists (vfs, VI_RC_LOCAL, &exists, error) ||
            (exists && !read_for_edit (plan, vfs, VI_RC_LOCAL, &old, &st, error)))
            return FALSE;
        st.mode |= 0755;    /* Debian's rc.local script runs it only when executable */
        return plan_write (plan, vfs, VI_RC_LOCAL, bytes_take_string (vi_firstboot_rc_local (old)),
                           st.mode, st.uid, st.gid, "first boot: rc.local", error);
    }
    case VI_INIT_UNKNOWN:
    case VI_INIT_LAST:
    default:
        g_assert_not_reached ();
    }
}

/* <identity reset="yes">: once per domain (VI_IDENTITY_MARKER), whatever
 * the policy or a changed request. */
static gboolean
plan_identity (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, const ViInjectOptions *opts,
               GError **error)
{
    const char *key = opts->domain_uuid ? opts->domain_uuid : VI_IDENTITY_STANDALONE;
    g_autofree char *line = g_strconcat (key, "\n", NULL);
    g_autoptr(GBytes) check = g_bytes_new (line, strlen (line));
    g_autofree char *valid = vi_identity_parse_uuid (check);
    g_autoptr(GPtrArray) names = NULL;
    gboolean same, keys = FALSE, sshd = FALSE;
    ViInitSystem init;
    ViStat st;
    g_autoptr(GError) e = NULL;

    if (!spec->identity_reset)
        return TRUE;
    if (valid == NULL)
        return vi_throw (error, VI_ERROR_INVALID, "<identity>: '%s' is not a domain UUID", key);
    init = init_system (vfs, "<identity>", error);
    if (init == VI_INIT_UNKNOWN)
        return FALSE;
    if (!plan_marker (plan, vfs, VI_IDENTITY_MARKER, key, vi_identity_parse_uuid, &same,
                      "identity: the domain it was reset for", error))
        return FALSE;
    if (same) {
        claim_machinery (plan);
        return TRUE;
    }

    /* machine-id: systemd makes a new one at boot for an empty file (a
     * missing one would also be a "first boot": presets re-applied); the
     * others' dbus-uuidgen --ensure makes a missing one */
    if (!vi_vfs_stat (vfs, "/etc/machine-id", &st, &e)) {
        if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
            g_propagate_error (error, g_steal_pointer (&e));
            return FALSE;
        }
        st.type = VI_FILE_TYPE_OTHER;   /* none: nothing to reset */
    }
    if (st.type == VI_FILE_TYPE_REGULAR && st.size > 0) {
        if (init == VI_INIT_SYSTEMD) {
            if (!plan_write (plan, vfs, "/etc/machine-id", g_bytes_new_static ("", 0), st.mode,
                             st.uid, st.gid, "identity: machine-id emptied, made anew at boot",
                             error))
                return FALSE;
        } else if (!plan_unlink (plan, vfs, "/etc/machine-id", "identity: machine-id", error)) {
            return FALSE;
        }
    }
    if (vi_vfs_stat (vfs, "/var/lib/dbus/machine-id", &st, NULL) &&
        st.type == VI_FILE_TYPE_REGULAR &&
        !plan_unlink (plan, vfs, "/var/lib/dbus/machine-id", "identity: D-Bus machine-id", error))
        return FALSE;

    if (!vi_vfs_list_dir_opt (vfs, "/etc/ssh", 4096, &names, error))
        return FALSE;
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename ("/etc/ssh", names->pdata[i], NULL);

        if (!vi_identity_is_host_key (names->pdata[i]))
            continue;
        keys = TRUE;
        if (!plan_unlink (plan, vfs, path, "identity: SSH host key", error))
            return FALSE;
    }
    if (!vi_vfs_exists (vfs, "/usr/sbin/sshd", &sshd, error))
        return FALSE;
    if (keys || sshd) {
        switch (init) {
        case VI_INIT_SYSTEMD:
            if (!plan_unit (plan, vfs, VI_HOSTKEYS_UNIT_NAME, vi_hostkeys_unit (),
                            "identity: new SSH host keys before sshd", error))
                return FALSE;
            break;
        case VI_INIT_OPENRC:
            break;      /* OpenRC's sshd service makes missing host keys itself */
        case VI_INIT_SYSVINIT:
            return vi_throw (error, VI_ERROR_GUEST, "<identity>: this sysvinit guest has sshd, "
                             "which does not make missing host keys, and virt-inject has no hook "
                             "that runs before it there (not supported)");
        case VI_INIT_UNKNOWN:
        case VI_INIT_LAST:
        default:
            g_assert_not_reached ();
        }
    }
    for (guint i = 0; vi_identity_seed_files[i]; i++)
        if (!plan_unlink (plan, vfs, vi_identity_seed_files[i], "identity: random seed", error))
            return FALSE;
    return TRUE;
}

/* ---- the guest record (vi-record.h) ------------------------------------ */

/* Whether @path is a real directory (not a symlink to one) or missing;
 * *@why says otherwise what it is. */
static gboolean
record_dir_usable (ViVfs *vfs, const char *path, const char **why, GError **error)
{
    ViStat st;
    g_autoptr(GError) e = NULL;

    *why = NULL;
    if (vi_vfs_stat (vfs, path, &st, &e)) {
        if (st.type == VI_FILE_TYPE_SYMLINK)
            *why = "is a symlink";
        else if (st.type != VI_FILE_TYPE_DIRECTORY)
            *why = "is not a directory";
        return TRUE;
    }
    if (g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND))
        return TRUE;
    g_propagate_error (error, g_steal_pointer (&e));
    return FALSE;
}

/* Reads the guest's record into plan->record when it can be trusted, and
 * else says why in plan->record_note.  With @key->once and a record of the
 * same domain (@uuid) and digest, the note is VI_INJECT_ALREADY_NOTE. */
static gboolean
read_guest_record (ViPlan *plan, ViVfs *vfs, const char *uuid, const ViRecordKey *key,
                   GError **error)
{
    g_autoptr(GBytes) data = NULL;
    g_autoptr(GError) e = NULL;
    const char *why = NULL, *where = VI_RECORD_DIR;
    ViStat st;

    if (!record_dir_usable (vfs, VI_RECORD_DIR, &why, error))
        return FALSE;
    if (why == NULL && !vi_vfs_stat (vfs, VI_RECORD_PATH, &st, &e)) {
        if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
            g_propagate_error (error, g_steal_pointer (&e));
            return FALSE;
        }
    } else if (why == NULL) {
        where = VI_RECORD_PATH;
        if (st.type != VI_FILE_TYPE_REGULAR)
            why = "is not a regular file";
        else if (st.size > VI_RECORD_MAX)
            why = "is larger than the record's cap (1 MiB)";
        else if (!vi_vfs_read_file (vfs, VI_RECORD_PATH, VI_RECORD_MAX, &data, &e))
            why = e->message;   /* it changed under us: absent too */
        else if ((plan->record = vi_record_parse (data, &e)) == NULL)
            why = e->message;
    }
    if (why != NULL)
        plan->record_note = g_strdup_printf ("guest record ignored (nothing in it is trusted): "
                                             "%s: %s", where, why);
    else if (plan->record && key && key->once && uuid && key->digest &&
             g_strcmp0 (plan->record->uuid, uuid) == 0 &&
             g_strcmp0 (plan->record->digest, key->digest) == 0)
        plan->record_note = g_strdup (VI_INJECT_ALREADY_NOTE);
    return TRUE;
}

static gboolean
under_record_dir (const char *path)
{
    return g_str_equal (path, VI_RECORD_DIR) || g_str_has_prefix (path, VI_RECORD_DIR "/");
}

/* ---- taking back what a request dropped (the guest record) ------------- */

/* The record's item of @path stays, and the plan says why in a line. */
static void
leave (ViPlan *plan, const ViRecordItem *it, const char *why)
{
    g_autofree char *text = g_strdup_printf ("not taken back: %s", why);

    add_step (plan, STEP_SKIPPED, it->path, it->mode, it->uid, it->gid, text);
}

static void
taken_back (ViPlan *plan, const char *path)
{
    g_hash_table_add (plan->taken_back, g_strdup (path));
}

static void
plan_removal (ViPlan *plan, StepKind kind, const char *path, const ViStat *st)
{
    add_step (plan, kind, path, st->mode, st->uid, st->gid, TAKEN_BACK);
    g_hash_table_add (plan->removing, g_strdup (path));
    taken_back (plan, path);
}

/* Whether @path can be taken back at all: *@out_why NULL when every
 * directory above it is a real one, else why not; *@out_gone when a
 * directory above it (so the path) no longer exists.  A symlink on the way
 * would make the path name another file of the guest than the one
 * virt-inject wrote. */
static gboolean
item_reachable (ViVfs *vfs, const char *path, const char **out_why, gboolean *out_gone,
                GError **error)
{
    g_autofree char *dir = g_path_get_dirname (path);
    g_autoptr(GPtrArray) up = g_ptr_array_new_with_free_func (g_free);

    *out_why = NULL;
    *out_gone = FALSE;
    while (!g_str_equal (dir, "/")) {
        char *next = g_path_get_dirname (dir);

        g_ptr_array_add (up, g_steal_pointer (&dir));
        dir = next;
    }
    for (guint i = up->len; i > 0; i--) {         /* from the root down */
        ViStat st;
        g_autoptr(GError) e = NULL;

        if (!vi_vfs_stat (vfs, up->pdata[i - 1], &st, &e)) {
            if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
                g_propagate_error (error, g_steal_pointer (&e));
                return FALSE;
            }
            *out_gone = TRUE;
            return TRUE;
        }
        if (st.type != VI_FILE_TYPE_DIRECTORY) {
            *out_why = "a directory above it is no longer a directory (a symlink?)";
            return TRUE;
        }
    }
    return TRUE;
}

/* The item's path as it is now: *@out_gone (and the item taken back: there
 * is nothing left to take back) when it no longer exists. */
static gboolean
stat_item (ViPlan *plan, ViVfs *vfs, const ViRecordItem *it, ViStat *out_st, gboolean *out_gone,
           GError **error)
{
    g_autoptr(GError) e = NULL;

    *out_gone = FALSE;
    if (vi_vfs_stat (vfs, it->path, out_st, &e))
        return TRUE;
    if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    *out_gone = TRUE;
    taken_back (plan, it->path);
    return TRUE;
}

/* Removes the lines @it added to the guest's file (read as @now, with
 * @st) that are still there, keeping everything else. */
static gboolean
take_back_lines (ViPlan *plan, ViVfs *vfs, const ViRecordItem *it, GBytes *now, const ViStat *st,
                 GError **error)
{
    gsize len;
    const char *data = g_bytes_get_data (now, &len);
    g_autofree char *text = NULL;
    g_autofree char *out = NULL;
    g_auto(GStrv) removed = NULL;

    if (memchr (data, '\0', len) != NULL) {
        leave (plan, it, "it holds a NUL byte now (not a text file)");
        return TRUE;
    }
    text = g_strndup (data, len);
    out = vi_edit_take_back_lines (text, (const char *const *) it->lines_added, NULL, 0, &removed);
    taken_back (plan, it->path);
    if (removed[0] == NULL)
        return TRUE;                            /* the owner removed them already */
    note_taken_lines (plan, it->path, (const char *const *) removed);
    return plan_write (plan, vfs, it->path, bytes_take_string (g_steal_pointer (&out)), st->mode,
                       st->uid, st->gid, TAKEN_BACK, error);
}

/* The kept original of @it put back (content, mode, owner); the plan says
 * why not when there is none to trust.  (The kept copy goes with the item:
 * record_items.) */
static gboolean
put_back_original (ViPlan *plan, ViVfs *vfs, const ViRecordItem *it, GError **error)
{
    g_autoptr(GBytes) orig = NULL;
    const char *why = NULL;

    if (!read_kept_original (vfs, it, &orig, &why, error))
        return FALSE;
    if (orig == NULL) {
        leave (plan, it, why);
        return TRUE;
    }
    if (!plan_write (plan, vfs, it->path, g_steal_pointer (&orig), it->orig.mode, it->orig.uid,
                     it->orig.gid, TAKEN_BACK " (the original put back)", error))
        return FALSE;
    taken_back (plan, it->path);
    return TRUE;
}

/* A file virt-inject created, replaced or edited (@st: as it is now): the
 * file removed, its kept original put back, or the lines it added
 * removed; only when the guest did not change it since (its SHA-256 is
 * what virt-inject wrote; added lines: each line still as written). */
static gboolean
take_back_file (ViPlan *plan, ViVfs *vfs, const ViRecordItem *it, const ViStat *st,
                GError **error)
{
    /* an edit that did more than add lines: only its kept original undoes it */
    gboolean whole_edit = it->kind == VI_RECORD_FILE_EDITED && it->lines_added == NULL;
    const char *written = whole_edit ? it->after_sha256 : it->written_sha256;
    g_autoptr(GBytes) now = NULL;
    g_autofree char *sha = NULL;

    if (whole_edit && it->orig.saved == NULL) {
        leave (plan, it, "an edit that did not only add lines, and its original was not kept");
        return TRUE;
    }
    if (st->type != VI_FILE_TYPE_REGULAR || st->nlink != 1) {
        leave (plan, it, "no longer a regular file of one link");
        return TRUE;
    }
    if (st->size > plan->read_max) {
        leave (plan, it, "larger than virt-inject reads (changed in the guest since)");
        return TRUE;
    }
    if (!vi_vfs_read_file (vfs, it->path, plan->read_max, &now, error))
        return FALSE;
    sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, now);
    if (!whole_edit && (it->kind == VI_RECORD_FILE_EDITED ||
                        (it->lines_added && g_strcmp0 (sha, it->written_sha256) != 0)))
        return take_back_lines (plan, vfs, it, now, st, error);
    if (written == NULL) {
        leave (plan, it, "the record has no digest of what virt-inject wrote");
        return TRUE;
    }
    if (!g_str_equal (sha, written)) {
        leave (plan, it, "changed in the guest since virt-inject wrote it");
        return TRUE;
    }
    if (it->kind == VI_RECORD_FILE_CREATED) {
        plan_removal (plan, STEP_UNLINK, it->path, st);
        return TRUE;
    }
    return put_back_original (plan, vfs, it, error);
}

/* An existing path whose mode and owner virt-inject changed: put back
 * while they are still what virt-inject set. */
static gboolean
take_back_attr (ViPlan *plan, ViVfs *vfs, const ViRecordItem *it, const ViStat *st,
                GError **error)
{
    if (st->type == VI_FILE_TYPE_SYMLINK || st->mode != it->mode || st->uid != it->uid ||
        st->gid != it->gid) {
        leave (plan, it, "its mode or owner changed in the guest since");
        return TRUE;
    }
    add_step (plan, STEP_ATTR, it->path, it->orig.mode, it->orig.uid, it->orig.gid,
              TAKEN_BACK " (the mode and owner put back)");
    taken_back (plan, it->path);
    return TRUE;
}

/* A directory virt-inject created: removed when nothing is left in it
 * once the take-back's removals are done. */
static gboolean
take_back_dir (ViPlan *plan, ViVfs *vfs, const ViRecordItem *it, const ViStat *st,
               GError **error)
{
    g_autoptr(GError) e = NULL;
    g_autoptr(GPtrArray) names = NULL;

    if (st->type != VI_FILE_TYPE_DIRECTORY) {
        leave (plan, it, "no longer a directory");
        return TRUE;
    }
    if (!vi_vfs_list_dir (vfs, it->path, 4096, &names, &e)) {
        if (e->domain != VI_ERROR || e->code != VI_ERROR_GUEST) {
            g_propagate_error (error, g_steal_pointer (&e));
            return FALSE;
        }
        return TRUE;    /* more entries than listed: in use */
    }
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *child = g_build_filename (it->path, names->pdata[i], NULL);

        if (!g_hash_table_contains (plan->removing, child))
            return TRUE;    /* in use: it stays, as recorded (no line: the usual case) */
    }
    plan_removal (plan, STEP_RMDIR, it->path, st);
    return TRUE;
}

static gboolean
take_back_item (ViPlan *plan, ViVfs *vfs, const ViRecordItem *it, GError **error)
{
    const char *why = NULL;
    gboolean gone = FALSE;
    ViStat st;

    if (g_strv_contains (account_files, it->path)) {
        leave (plan, it, "users and groups are not deleted");
        return TRUE;
    }
    if (!item_reachable (vfs, it->path, &why, &gone, error))
        return FALSE;
    if (gone) {
        taken_back (plan, it->path);
        return TRUE;
    }
    if (why != NULL) {
        leave (plan, it, why);
        return TRUE;
    }
    if (!stat_item (plan, vfs, it, &st, &gone, error))
        return FALSE;
    if (gone)
        return TRUE;
    switch (it->kind) {
    case VI_RECORD_FILE_CREATED:
    case VI_RECORD_FILE_REPLACED:
    case VI_RECORD_FILE_EDITED:
        return take_back_file (plan, vfs, it, &st, error);
    case VI_RECORD_ATTR_CHANGED:
        return take_back_attr (plan, vfs, it, &st, error);
    case VI_RECORD_DIR_CREATED:
        return take_back_dir (plan, vfs, it, &st, error);
    default:
        g_assert_not_reached ();
    }
}

/* A <firstboot> the request no longer has (its marker in the guest, a
 * trusted record, not keep-dropped) is disarmed, whether it ran or not:
 * its script (still there when the guest never booted since), runner,
 * marker and the systemd .wants link that starts it are removed; its
 * unit, OpenRC local.d file and the line virt-inject added to rc.local are
 * taken back like any file of the record (while they are what virt-inject
 * wrote), and OpenRC's local service link when virt-inject made it.  What
 * the script did when it ran cannot be undone. */
static gboolean
plan_firstboot_dropped (ViPlan *plan, ViVfs *vfs, GError **error)
{
    static const char *const ours[] = {
        VI_FIRSTBOOT_SCRIPT, VI_FIRSTBOOT_RUNNER, VI_FIRSTBOOT_MARKER,
        VI_WANTS_DIR "/" VI_FIRSTBOOT_UNIT_NAME, NULL
    };
    static const char *const recorded[] = {
        VI_UNIT_DIR "/" VI_FIRSTBOOT_UNIT_NAME, VI_FIRSTBOOT_LOCAL_D, VI_RC_LOCAL, NULL
    };
    const ViRecordItem *link;
    gboolean armed = FALSE;

    if (plan->record == NULL || plan->keep_dropped)
        return TRUE;
    if (!vi_vfs_exists (vfs, VI_FIRSTBOOT_MARKER, &armed, error))
        return FALSE;
    if (!armed)
        return TRUE;
    for (const char *const *p = ours; *p; p++) {
        ViStat st;
        g_autoptr(GError) e = NULL;

        if (!vi_vfs_stat (vfs, *p, &st, &e)) {
            if (g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND))
                continue;
            g_propagate_error (error, g_steal_pointer (&e));
            return FALSE;
        }
        if (st.type == VI_FILE_TYPE_REGULAR || st.type == VI_FILE_TYPE_SYMLINK)
            plan_removal (plan, STEP_UNLINK, *p, &st);
    }
    /* the OpenRC link virt-inject made (a created item): still a link */
    link = vi_record_lookup (plan->record, VI_OPENRC_LOCAL_LINK);
    if (link != NULL && link->kind == VI_RECORD_FILE_CREATED) {
        ViStat st;

        if (vi_vfs_stat (vfs, VI_OPENRC_LOCAL_LINK, &st, NULL) && st.type == VI_FILE_TYPE_SYMLINK)
            plan_removal (plan, STEP_UNLINK, VI_OPENRC_LOCAL_LINK, &st);
    }
    for (const char *const *p = recorded; *p; p++) {
        const ViRecordItem *it = vi_record_lookup (plan->record, *p);

        if (it != NULL && !take_back_item (plan, vfs, it, error))
            return FALSE;
    }
    return TRUE;
}

/* Whether @path is in @home (the home of a user virt-inject created), made
 * there for the user and kept with the user: all but the SSH keys it was
 * given (taken back like any keys when the request drops them). */
static gboolean
home_keeps (const char *home, const char *path)
{
    g_autofree char *keys = g_build_filename (home, ".ssh", "authorized_keys", NULL);

    if (g_str_equal (path, keys))
        return FALSE;
    return g_str_equal (path, home) ||
           (g_str_has_prefix (path, home) && path[strlen (home)] == '/');
}

/* The items of the guest's record that this plan no longer produces (no
 * step, no planned or known directory, no file read to be edited) are
 * taken back, innermost first (the record lists a directory before what
 * was made in it): files, then the directories left empty.  Not with
 * keep-dropped. */
static gboolean
plan_take_back (ViPlan *plan, ViVfs *vfs, GError **error)
{
    g_autoptr(GHashTable) produced = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) homes = g_ptr_array_new_with_free_func (g_free);
    const ViRecordItem *passwd;

    if (plan->record == NULL || plan->keep_dropped)
        return TRUE;
    for (guint i = 0; i < plan->steps->len; i++)
        g_hash_table_add (produced, ((Step *) plan->steps->pdata[i])->path);
    /* The homes of the users virt-inject created (their passwd lines):
     * users are not deleted, nor what was made in their homes. */
    passwd = vi_record_lookup (plan->record, "/etc/passwd");
    for (guint i = 0; passwd && passwd->lines_added && passwd->lines_added[i]; i++) {
        g_auto(GStrv) f = g_strsplit (passwd->lines_added[i], ":", 7);

        if (g_strv_length (f) == 7 && vi_check_guest_path (f[5], NULL) && !g_str_equal (f[5], "/"))
            g_ptr_array_add (homes, g_strdup (f[5]));
    }
    for (guint pass = 0; pass < 2; pass++) {
        for (guint i = plan->record->items->len; i > 0; i--) {
            const ViRecordItem *it = plan->record->items->pdata[i - 1];
            gboolean in_home = FALSE;

            for (guint h = 0; h < homes->len; h++)
                in_home |= home_keeps (homes->pdata[h], it->path);
            if (in_home || (pass == 1) != (it->kind == VI_RECORD_DIR_CREATED) ||
                under_record_dir (it->path) || g_strv_contains (machinery_files, it->path) ||
                g_hash_table_contains (produced, it->path) ||
                g_hash_table_contains (plan->claimed, it->path) ||
                g_hash_table_contains (plan->writes, it->path) ||
                g_hash_table_contains (plan->dirs, it->path) ||
                (g_hash_table_contains (plan->edited, it->path) &&
                 !g_hash_table_contains (plan->rebased, it->path)))
                continue;
            if (!take_back_item (plan, vfs, it, error))
                return FALSE;
        }
    }
    return TRUE;
}

/* The item of a write over an existing file: edited when the plan read it
 * to edit it, else replaced.  The original is kept (a write step of the
 * plan) when it is a regular file of at most VI_RECORD_ORIG_MAX bytes, for
 * a replaced file, for an edited one (rebase_on_original; put back whole
 * when the edit did more than add lines), and for /etc/shadow, whose
 * password fields are put back from it one by one; not for the other
 * account databases, nor authorized_keys, whose lines are taken back one
 * by one.
 * The record itself holds no password hash (what virt-inject set would
 * outlive a rotation there): only digests. */
static gboolean
record_overwrite (ViPlan *plan, ViVfs *vfs, const Step *step, const ViStat *st,
                  gboolean can_keep, ViRecordItem *it, GError **error)
{
    GBytes *before = g_hash_table_lookup (plan->edited, step->path);
    g_autoptr(GBytes) orig = NULL;
    gsize blen, alen;
    const char *b, *a;

    it->orig.mode = st->mode;
    it->orig.uid = st->uid;
    it->orig.gid = st->gid;
    it->orig.size = st->size;
    if (before != NULL) {
        b = g_bytes_get_data (before, &blen);
        a = g_bytes_get_data (step->content, &alen);
        it->kind = VI_RECORD_FILE_EDITED;
        it->before_sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, before);
        it->after_sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, step->content);
        if (!g_str_equal (step->path, "/etc/shadow") && !g_str_equal (step->path, "/etc/gshadow"))
            it->lines_added = vi_record_lines_added (b, blen, a, alen);
        if (!can_keep || blen > VI_RECORD_ORIG_MAX ||
            g_hash_table_contains (plan->line_files, step->path) ||
            (g_strv_contains (account_files, step->path) &&
             !g_str_equal (step->path, "/etc/shadow")))
            return TRUE;
        orig = g_bytes_ref (before);
    } else {
        it->kind = VI_RECORD_FILE_REPLACED;
        it->orig.symlink = st->type == VI_FILE_TYPE_SYMLINK;
        if (st->type != VI_FILE_TYPE_REGULAR || st->size > VI_RECORD_ORIG_MAX || !can_keep)
            return TRUE;
        if (!vi_vfs_read_file (vfs, step->path, VI_RECORD_ORIG_MAX, &orig, error))
            return FALSE;
    }
    it->orig.size = g_bytes_get_size (orig);
    it->orig.sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, orig);
    it->orig.saved = vi_record_saved_name (step->path);
    {
        g_autofree char *saved = g_build_filename (VI_RECORD_DIR, it->orig.saved, NULL);

        return plan_dir (plan, vfs, VI_RECORD_ORIG_DIR, 0700, 0, 0, "guest record", error) &&
               plan_write (plan, vfs, saved, g_steal_pointer (&orig), 0600, 0, 0,
                           "guest record: the original of a replaced or edited file", error);
    }
}

/* @it, the record's item of a path @step writes again, keeps its kind (the
 * first thing done is what can be taken back) and learns what is there
 * now: the digest of what virt-inject wrote, and of its lines those still
 * there and those this write adds. */
static void
record_rewritten (ViPlan *plan, ViRecordItem *it, const Step *step)
{
    char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, step->content);
    GBytes *before = g_hash_table_lookup (plan->edited, step->path);
    g_autofree char *b = before ? g_strndup (g_bytes_get_data (before, NULL),
                                             g_bytes_get_size (before)) : g_strdup ("");
    g_autofree char *a = g_strndup (g_bytes_get_data (step->content, NULL),
                                    g_bytes_get_size (step->content));
    g_auto(GStrv) bl = NULL;
    g_auto(GStrv) al = NULL;
    g_autoptr(GStrvBuilder) lines = NULL;

    if (it->kind == VI_RECORD_FILE_EDITED) {
        g_free (it->after_sha256);
        it->after_sha256 = sha;
    } else {
        g_free (it->written_sha256);
        it->written_sha256 = sha;
    }
    if (it->lines_added == NULL)
        return;
    bl = g_strsplit (b, "\n", -1);
    al = g_strsplit (a, "\n", -1);
    lines = g_strv_builder_new ();
    for (guint i = 0; it->lines_added[i]; i++)
        if (g_strv_contains ((const char *const *) al, it->lines_added[i]))
            g_strv_builder_add (lines, it->lines_added[i]);
    for (guint i = 0; al[i]; i++)
        if (al[i][0] != '\0' && !g_strv_contains ((const char *const *) bl, al[i]) &&
            !g_strv_contains ((const char *const *) it->lines_added, al[i]))
            g_strv_builder_add (lines, al[i]);
    g_strfreev (it->lines_added);
    it->lines_added = g_strv_builder_end (lines);
}

/* What the plan's steps do, as record items, after those of the guest's
 * record (the first thing done to a path is what can be taken back). */
static gboolean
record_items (ViPlan *plan, ViVfs *vfs, ViRecord *rec, guint n_steps, gboolean can_keep,
              GError **error)
{
    for (guint i = 0; plan->record && i < plan->record->items->len; i++) {
        ViRecordItem *old = plan->record->items->pdata[i];

        /* taken back (or gone): leaves the record, and its kept original
         * with it once the commit is done (not through an orig/ that is
         * not a real directory: @can_keep) */
        if (g_hash_table_contains (plan->taken_back, old->path)) {
            if (old->orig.saved != NULL && can_keep) {
                g_autofree char *saved = g_build_filename (VI_RECORD_DIR, old->orig.saved, NULL);

                add_step (plan, STEP_UNLINK, saved, 0600, 0, 0, TAKEN_BACK " (the kept "
                          "original of a path taken back)")->after_commit = TRUE;
            }
            continue;
        }
        plan->record->items->pdata[i] = NULL;  /* moved to @rec */
        vi_record_add (rec, old);
    }
    for (guint i = 0; i < n_steps; i++) {
        const Step *step = plan->steps->pdata[i];
        g_autoptr(ViRecordItem) it = NULL;
        ViStat st;
        g_autoptr(GError) e = NULL;

        /* not recorded: what was not done, and what <identity> removes (a
         * template's host keys are not kept in the clone) */
        if (step->kind == STEP_UNCHANGED || step->kind == STEP_SKIPPED ||
            step->kind == STEP_UNLINK || step->kind == STEP_RMDIR ||
            under_record_dir (step->path) || g_hash_table_contains (plan->taken_back, step->path))
            continue;
        if (vi_record_lookup (rec, step->path) != NULL) {
            if (step->kind == STEP_WRITE)
                record_rewritten (plan, vi_record_lookup (rec, step->path), step);
            continue;
        }
        it = g_new0 (ViRecordItem, 1);
        it->path = g_strdup (step->path);
        it->mode = step->mode;
        it->uid = step->uid;
        it->gid = step->gid;
        if (step->kind == STEP_MKDIR) {
            it->kind = VI_RECORD_DIR_CREATED;
        } else if (!vi_vfs_stat (vfs, step->path, &st, &e)) {
            if (!g_error_matches (e, VI_ERROR, VI_ERROR_NOT_FOUND)) {
                g_propagate_error (error, g_steal_pointer (&e));
                return FALSE;
            }
            it->kind = VI_RECORD_FILE_CREATED;
        } else if (step->kind == STEP_ATTR) {
            it->kind = VI_RECORD_ATTR_CHANGED;
            it->orig.mode = st.mode;
            it->orig.uid = st.uid;
            it->orig.gid = st.gid;
        } else if (!record_overwrite (plan, vfs, step, &st, can_keep, it, error)) {
            return FALSE;
        }
        if (step->kind == STEP_WRITE && it->kind != VI_RECORD_FILE_EDITED)
            it->written_sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, step->content);
        if (step->kind == STEP_WRITE && it->kind == VI_RECORD_FILE_CREATED &&
            g_hash_table_contains (plan->line_files, step->path))
            it->lines_added = vi_record_lines_added ("", 0, g_bytes_get_data (step->content, NULL),
                                                     g_bytes_get_size (step->content));
        vi_record_add (rec, g_steal_pointer (&it));
    }
    return TRUE;
}

static int
compare_strings (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* @set's keys, sorted, "KEY:VALUE" when @with_values; NULL when empty. */
static GStrv
sorted_pairs (GHashTable *set, gboolean with_values)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
    g_autofree gpointer *keys = g_hash_table_get_keys_as_array (set, NULL);
    guint n = g_hash_table_size (set);

    if (n == 0)
        return NULL;
    qsort (keys, n, sizeof *keys, compare_strings);
    for (guint i = 0; i < n; i++) {
        g_autofree char *pair = with_values
            ? g_strconcat (keys[i], ":", (char *) g_hash_table_lookup (set, keys[i]), NULL)
            : g_strdup (keys[i]);

        g_strv_builder_add (b, pair);
    }
    return g_strv_builder_end (b);
}

/* The passwords and memberships of the account databases as they are once
 * the plan is applied: those virt-inject set or added, and keeps, on the
 * record's /etc/shadow and /etc/group items (when there are such items:
 * a file virt-inject never changed holds nothing of its own). */
static void
record_accounts (ViPlan *plan, ViRecord *rec)
{
    ViRecordItem *shadow = vi_record_lookup (rec, "/etc/shadow");
    ViRecordItem *group = vi_record_lookup (rec, "/etc/group");

    if (shadow && shadow->kind == VI_RECORD_FILE_EDITED) {
        g_strfreev (shadow->passwords_set);
        shadow->passwords_set = sorted_pairs (plan->passwords, TRUE);
    }
    if (group && group->kind == VI_RECORD_FILE_EDITED) {
        g_strfreev (group->members_added);
        group->members_added = sorted_pairs (plan->members, FALSE);
    }
}

/* The record's steps, after every other: VI_RECORD_DIR (0700), the kept
 * originals, the record (0600).  A VI_RECORD_DIR (or orig/) that is not a
 * real directory is left alone and no record (no original) is written;
 * the note says so. */
static gboolean
plan_record (ViPlan *plan, ViVfs *vfs, const char *uuid, const ViRecordKey *key,
             GError **error)
{
    g_autoptr(ViRecord) rec = vi_record_new (uuid, key ? key->digest : NULL);
    g_autoptr(GBytes) json = NULL;
    const char *why = NULL, *orig_why = NULL;
    guint n_steps;
    ViStat st;
    g_autoptr(GError) e = NULL;

    if (!record_dir_usable (vfs, VI_RECORD_DIR, &why, error) ||
        !record_dir_usable (vfs, VI_RECORD_ORIG_DIR, &orig_why, error))
        return FALSE;
    if (why != NULL) {
        g_autofree char *note = plan->record_note;

        plan->record_note = g_strdup_printf ("%s%sguest record not written: " VI_RECORD_DIR " %s",
                                             note ? note : "", note ? "; " : "", why);
        return TRUE;
    }
    n_steps = plan->steps->len;
    if (!plan_dir (plan, vfs, VI_RECORD_DIR, 0700, 0, 0, "guest record", error))
        return FALSE;
    if (vi_vfs_stat (vfs, VI_RECORD_DIR, &st, &e) && (st.mode != 0700 || st.uid || st.gid))
        add_step (plan, STEP_ATTR, VI_RECORD_DIR, 0700, 0, 0, "guest record");
    if (!record_items (plan, vfs, rec, n_steps, orig_why == NULL, error))
        return FALSE;
    record_accounts (plan, rec);
    json = vi_record_format (rec);
    if (g_bytes_get_size (json) > VI_RECORD_MAX)
        return vi_throw (error, VI_ERROR_INVALID, VI_RECORD_PATH ": the record of this request "
                         "would be larger than %u bytes", VI_RECORD_MAX);
    return plan_write (plan, vfs, VI_RECORD_PATH, g_steal_pointer (&json), 0600, 0, 0,
                       "guest record", error);
}

/* Users virt-inject created (their lines in the record's /etc/passwd item)
 * that the request no longer names are not deleted but expired (shadow
 * field 8), while /etc/shadow is what virt-inject last wrote (its record
 * digest): a shadow the guest changed since is left, and the plan says so.
 * An expiry already set stays.  Before plan_edits(), which writes it. */
static gboolean
plan_expire_dropped (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    const ViRecordItem *passwd, *shadow;
    Edit *ed = NULL;
    g_autofree char *sha = NULL;

    if (plan->record == NULL || plan->keep_dropped)
        return TRUE;
    passwd = vi_record_lookup (plan->record, "/etc/passwd");
    shadow = vi_record_lookup (plan->record, "/etc/shadow");
    for (guint i = 0; passwd && passwd->lines_added && passwd->lines_added[i]; i++) {
        g_auto(GStrv) f = g_strsplit (passwd->lines_added[i], ":", 2);
        g_autofree char *why = NULL;
        gboolean named = FALSE;
        char *text;

        if (f[0] == NULL || f[1] == NULL || !vi_check_account_name (f[0], NULL))
            continue;
        for (guint u = 0; u < spec->users->len; u++)
            named |= g_str_equal (((ViUser *) spec->users->pdata[u])->name, f[0]);
        if (named)
            continue;
        if (ed == NULL && !plan_edit (plan, vfs, "/etc/shadow", TRUE, &ed, error))
            return FALSE;
        if (ed == NULL)
            return TRUE;                        /* no shadow: nothing to expire */
        if (sha == NULL)
            sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, ed->old, -1);
        if (shadow == NULL || shadow->kind != VI_RECORD_FILE_EDITED ||
            g_strcmp0 (shadow->after_sha256, sha) != 0) {
            why = g_strdup_printf ("not taken back: user %s dropped from the request, not "
                                   "expired: /etc/shadow changed in the guest since", f[0]);
            add_step (plan, STEP_SKIPPED, "/etc/shadow", ed->st.mode, ed->st.uid, ed->st.gid, why);
            continue;
        }
        text = vi_edit_shadow_expire (ed->text, f[0]);
        if (text == NULL || g_str_equal (text, ed->text)) {
            g_free (text);
            continue;                           /* gone, or an expiry already set */
        }
        why = g_strdup_printf ("taken back: user %s dropped from the request (expired, not "
                               "deleted)", f[0]);
        edit_set (ed, text, why);
    }
    return TRUE;
}

/* Whether the request still asks for @user in @group (groups=). */
static gboolean
spec_wants_member (const ViSpec *spec, const char *group, const char *user)
{
    for (guint i = 0; i < spec->users->len; i++) {
        const ViUser *u = spec->users->pdata[i];

        if (g_str_equal (u->name, user))
            for (guint k = 0; k < u->groups->len; k++)
                if (g_str_equal (u->groups->pdata[k], group))
                    return TRUE;
    }
    return FALSE;
}

/* A membership virt-inject added (the record's "members-added" of
 * /etc/group) that the request no longer asks for is taken back: the user
 * leaves that group's member list in /etc/group and /etc/gshadow, where it
 * still is (the guest's own memberships are never recorded, so never
 * touched).  The memberships still asked for stay recorded; with
 * keep-dropped, all do.  Before plan_edits(), which writes the files. */
static gboolean
plan_drop_memberships (ViPlan *plan, const ViSpec *spec, ViVfs *vfs, GError **error)
{
    const ViRecordItem *group = plan->record ? vi_record_lookup (plan->record, "/etc/group") : NULL;

    for (guint i = 0; group && group->members_added && group->members_added[i]; i++) {
        const char *pair = group->members_added[i];
        g_auto(GStrv) gu = g_strsplit (pair, ":", 2);
        g_autofree char *why = NULL;
        Edit *ed = NULL, *gshadow = NULL;

        if (plan->keep_dropped || spec_wants_member (spec, gu[0], gu[1])) {
            g_hash_table_add (plan->members, g_strdup (pair));
            continue;
        }
        why = g_strdup_printf ("taken back: %s dropped from group %s by the request", gu[1], gu[0]);
        if (!plan_edit (plan, vfs, "/etc/group", FALSE, &ed, error) ||
            !plan_edit (plan, vfs, "/etc/gshadow", TRUE, &gshadow, error))
            return FALSE;
        /* (no change: the owner removed it already) */
        edit_change (ed, vi_users_remove_member (ed->text, gu[0], gu[1]), why);
        if (gshadow)
            edit_change (gshadow, vi_users_remove_member (gshadow->text, gu[0], gu[1]), why);
    }
    return TRUE;
}

/* Whether the guest record says virt-inject created @user (its line is in
 * the /etc/passwd item's added lines). */
static gboolean
record_created_user (const ViRecord *record, const char *user)
{
    const ViRecordItem *passwd = vi_record_lookup (record, "/etc/passwd");
    gsize n = strlen (user);

    for (guint i = 0; passwd && passwd->lines_added && passwd->lines_added[i]; i++)
        if (strncmp (passwd->lines_added[i], user, n) == 0 && passwd->lines_added[i][n] == ':')
            return TRUE;
    return FALSE;
}

/* A password virt-inject set (the record's "passwords-set" of /etc/shadow:
 * the digest of the field it wrote) that the request no longer sets goes
 * back to the guest's own: field 2 and its last-change day from the kept
 * original of /etc/shadow ("*", no password, for a user virt-inject
 * created), only while the field is still what virt-inject set.  A field
 * the guest changed since is the owner's and stays; the plan says so.
 * With keep-dropped, the record keeps them.  Before plan_edits(). */
static gboolean
plan_restore_passwords (ViPlan *plan, ViVfs *vfs, GError **error)
{
    const ViRecordItem *shadow = plan->record ? vi_record_lookup (plan->record, "/etc/shadow")
                                              : NULL;
    g_autoptr(GBytes) orig = NULL;
    g_autofree char *orig_text = NULL;
    const char *orig_why = NULL;
    Edit *ed = NULL;

    for (guint i = 0; shadow && shadow->passwords_set && shadow->passwords_set[i]; i++) {
        g_auto(GStrv) us = g_strsplit (shadow->passwords_set[i], ":", 2);
        g_autofree char *cur = NULL, *cur_sha = NULL, *field = NULL, *day = NULL, *why = NULL;
        char *text;

        if (g_hash_table_contains (plan->passwords, us[0]))
            continue;                           /* set again by this request */
        if (plan->keep_dropped) {
            g_hash_table_insert (plan->passwords, g_strdup (us[0]), g_strdup (us[1]));
            continue;
        }
        if (ed == NULL && !plan_edit (plan, vfs, "/etc/shadow", TRUE, &ed, error))
            return FALSE;
        if (ed == NULL || (cur = vi_edit_shadow_password (ed->text, us[0])) == NULL)
            continue;                           /* the user is gone */
        cur_sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, cur, -1);
        if (!g_str_equal (cur_sha, us[1])) {
            why = g_strdup_printf ("not taken back: password of %s dropped from the request, "
                                   "changed in the guest since", us[0]);
            add_step (plan, STEP_SKIPPED, "/etc/shadow", ed->st.mode, ed->st.uid, ed->st.gid, why);
            continue;
        }
        if (orig_text == NULL && orig_why == NULL) {
            if (!read_kept_original (vfs, shadow, &orig, &orig_why, error))
                return FALSE;
            if (orig != NULL)
                orig_text = g_strndup (g_bytes_get_data (orig, NULL), g_bytes_get_size (orig));
        }
        if (orig_text != NULL) {
            field = vi_edit_shadow_field (orig_text, us[0], 1);
            day = vi_edit_shadow_field (orig_text, us[0], 2);
        }
        if (field == NULL && orig_text != NULL && record_created_user (plan->record, us[0]))
            field = g_strdup ("*");             /* as virt-inject created it */
        if (field == NULL) {
            why = g_strdup_printf ("not taken back: password of %s dropped from the request: %s",
                                   us[0], orig_why ? orig_why : "the guest's original has no "
                                   "line for the user");
            add_step (plan, STEP_SKIPPED, "/etc/shadow", ed->st.mode, ed->st.uid, ed->st.gid, why);
            continue;
        }
        if (day == NULL) {
            text = vi_edit_shadow_field (ed->text, us[0], 2);
            day = text ? text : g_strdup ("");
        }
        text = vi_edit_shadow_set_password (ed->text, us[0], field, day, error);
        if (text == NULL)
            return FALSE;
        why = g_strdup_printf ("taken back: password of %s dropped from the request (the "
                               "original put back)", us[0]);
        edit_set (ed, text, why);
    }
    return TRUE;
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
    plan->edits = g_ptr_array_new_with_free_func ((GDestroyNotify) edit_free);
    plan->created = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) vi_passwd_entry_free);
    plan->created_groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    plan->read_max = opts->read_max ? opts->read_max : DEFAULT_READ_MAX;
    plan->edited = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_bytes_unref);
    plan->line_files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    plan->taken_back = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    plan->removing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    plan->taken_lines = g_ptr_array_new_with_free_func (g_free);
    plan->claimed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    plan->rebased = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    plan->passwords = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    plan->members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    plan->keep_dropped = spec->keep_dropped;

    if (!read_guest_record (plan, vfs, opts->domain_uuid, opts->record, error))
        return NULL;
    if (plan->record_note && g_str_equal (plan->record_note, VI_INJECT_ALREADY_NOTE))
        return g_steal_pointer (&plan);         /* "once", and the guest carries it */

    plan->facts = vi_guest_read_facts (vfs, error);
    if (plan->facts == NULL)
        return NULL;

    /* Every user the request names must exist, or be created, before
     * anything else is planned. */
    if (!plan_users (plan, spec, vfs, error))
        return NULL;

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
        !plan_expire_dropped (plan, spec, vfs, error) ||
        !plan_restore_passwords (plan, vfs, error) ||
        !plan_drop_memberships (plan, spec, vfs, error) ||
        !plan_edits (plan, vfs, error) ||
        !plan_hostname (plan, spec, vfs, error) ||
        !plan_network (plan, spec, vfs, error) ||
        !plan_cloud_init (plan, spec, vfs, error) ||
        !plan_meta (plan, spec, vfs, error) ||
        !plan_identity (plan, spec, vfs, opts, error) ||
        !plan_firstboot (plan, spec, vfs, error) ||
        !plan_take_back (plan, vfs, error))
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
    if (!plan_record (plan, vfs, opts->domain_uuid, opts->record, error))
        return NULL;
    return g_steal_pointer (&plan);
}

guint
vi_plan_n_changes (const ViPlan *plan)
{
    guint n = 0;

    for (guint i = 0; i < plan->steps->len; i++)
        n += ((Step *) plan->steps->pdata[i])->kind != STEP_UNCHANGED &&
             ((Step *) plan->steps->pdata[i])->kind != STEP_SKIPPED;
    return n;
}

char *
vi_plan_describe (const ViPlan *plan)
{
    static const char *const verbs[STEP_LAST] = {
        [STEP_MKDIR] = "mkdir", [STEP_ATTR] = "chmod/chown", [STEP_WRITE] = "write",
        [STEP_UNCHANGED] = "unchanged", [STEP_SKIPPED] = "skipped", [STEP_SYMLINK] = "symlink",
        [STEP_UNLINK] = "remove", [STEP_RMDIR] = "rmdir",
    };
    GString *s = g_string_new (NULL);

    for (guint i = 0; i < plan->steps->len; i++) {
        const Step *st = plan->steps->pdata[i];
        if (st->kind == STEP_SYMLINK)
            g_string_append_printf (s, "%-11s %s -> %.*s (%s)\n", verbs[st->kind], st->path,
                                    (int) g_bytes_get_size (st->content),
                                    (const char *) g_bytes_get_data (st->content, NULL), st->why);
        else
            g_string_append_printf (s, "%-11s %s %04o %u:%u (%s)\n", verbs[st->kind], st->path,
                                    st->mode, st->uid, st->gid, st->why);
    }
    for (guint i = 0; i < plan->taken_lines->len; i++)
        g_string_append_printf (s, "remove-line %s (" TAKEN_BACK ")\n",
                                (const char *) plan->taken_lines->pdata[i]);
    if (plan->labeler)
        g_string_append (s, "label       the created and written paths, from the guest's SELinux "
                         "file_contexts\n");
    if (plan->record_note)
        g_string_append_printf (s, "note        %s\n", plan->record_note);
    return g_string_free (s, FALSE);
}

/* The undo log of an apply: directories it created and attributes it
 * changed, so that a failure before the commit leaves the guest as it was
 * (staged writes are dropped by the VFS). */
typedef struct {
    char *path;
    gboolean created;           /* a directory we created: remove it */
    gboolean link;              /* a symbolic link we created: remove it */
    ViStat old;                 /* else: the mode and owner to put back */
} Undo;

static void
undo_free (Undo *u)
{
    g_free (u->path);
    g_free (u);
}

static Undo *
undo_add (GPtrArray *undo, const char *path, gboolean created, const ViStat *old)
{
    Undo *u = g_new0 (Undo, 1);

    u->path = g_strdup (path);
    u->created = created;
    if (old)
        u->old = *old;
    g_ptr_array_add (undo, u);
    return u;
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
        if (u->link) {
            if (!vi_vfs_unlink (vfs, u->path, &e))
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

        if (st->kind != STEP_MKDIR && st->kind != STEP_WRITE && st->kind != STEP_SYMLINK)
            continue;
        con = vi_labeler_lookup (plan->labeler, st->path,
                                 st->kind == STEP_MKDIR ? VI_FILE_TYPE_DIRECTORY
                                 : st->kind == STEP_SYMLINK ? VI_FILE_TYPE_SYMLINK
                                 : VI_FILE_TYPE_REGULAR);
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

    /* Two passes: every step that can be undone, then the removals, which
     * cannot, last before the commit (a failure before them leaves the
     * guest as it was; one at or after them leaves the files removed and
     * everything else as it was: markers are committed only with the
     * rest, so the next injection does it all again). */
    for (guint i = 0; i < 2 * plan->steps->len; i++) {
        const Step *st = plan->steps->pdata[i % plan->steps->len];
        gboolean ok = TRUE;
        g_autoptr(GError) e = NULL;
        ViStat old;

        if ((i < plan->steps->len) == (st->kind == STEP_UNLINK || st->kind == STEP_RMDIR) ||
            st->after_commit)
            continue;
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
        case STEP_SYMLINK: {
            g_autofree char *target = g_strndup (g_bytes_get_data (st->content, NULL),
                                                 g_bytes_get_size (st->content));

            ok = vi_vfs_symlink (vfs, st->path, target, st->uid, st->gid, &e);
            if (ok)
                undo_add (undo, st->path, FALSE, NULL)->link = TRUE;
            break;
        }
        case STEP_UNLINK:
            ok = vi_vfs_unlink (vfs, st->path, &e);
            break;
        case STEP_RMDIR:
            ok = vi_vfs_rmdir (vfs, st->path, &e);
            break;
        case STEP_UNCHANGED:
        case STEP_SKIPPED:
            continue;
        default:
            g_assert_not_reached ();
        }
        if (!ok) {
            static const char *const what[STEP_LAST] = {
                [STEP_MKDIR] = "creating", [STEP_ATTR] = "setting mode and owner of",
                [STEP_WRITE] = "writing", [STEP_SYMLINK] = "linking", [STEP_UNLINK] = "removing",
                [STEP_RMDIR] = "removing",
            };
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
    /* The kept originals put back: only now that the files are back, and
     * the record no longer names them. */
    for (guint i = 0; i < plan->steps->len; i++) {
        const Step *st = plan->steps->pdata[i];
        g_autoptr(GError) e = NULL;

        if (st->after_commit && !vi_vfs_unlink (vfs, st->path, &e))
            return vi_throw (error, e->domain == VI_ERROR ? e->code : VI_ERROR_FAILED,
                             "removing %s (%s) after the commit: %s", st->path, st->why,
                             e->message);
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
        out_result->notes = g_strdup (plan->record_note);
    }
    return TRUE;
}
