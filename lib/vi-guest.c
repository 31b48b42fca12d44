/* vi-guest.c: facts about the guest, read through a VFS.
 *
 * Ownership is resolved in the guest's own /etc/passwd and /etc/group
 * (never the host's: the same name may be another id there), the hash
 * method from the guest's OS release, SELinux from /etc/selinux/config.
 * The files are guest data: reads are capped and malformed lines skipped.
 */
#include "vi-guest.h"

#include <string.h>

#include "vi-check.h"
#include "vi-error.h"

#define GUEST_READ_MAX (8u * 1024 * 1024)

void
vi_passwd_entry_free (ViPasswdEntry *e)
{
    if (e == NULL)
        return;
    g_free (e->name);
    g_free (e->home);
    g_free (e);
}

void
vi_guest_facts_free (ViGuestFacts *f)
{
    if (f == NULL)
        return;
    g_free (f->os_id);
    g_free (f->version_id);
    g_strfreev (f->id_like);
    g_free (f->selinux_type);
    g_free (f);
}

/* Lines of a guest text file; a missing file gives no lines. */
static gboolean
read_lines (ViVfs *vfs, const char *path, GStrv *out, GError **error)
{
    g_autoptr(GBytes) b = NULL;
    g_autofree char *text = NULL;
    gsize len;
    const char *data;

    if (!vi_vfs_read_file_opt (vfs, path, GUEST_READ_MAX, &b, error))
        return FALSE;
    if (b == NULL) {
        *out = g_new0 (char *, 1);
        return TRUE;
    }
    data = g_bytes_get_data (b, &len);
    text = g_strndup (data, len);
    *out = g_strsplit (text, "\n", -1);
    for (guint i = 0; (*out)[i]; i++)
        g_strchomp ((*out)[i]);     /* CRLF files, trailing blanks */
    return TRUE;
}

/* Parse "KEY=value" / KEY="value" of os-release. */
static char *
os_release_value (const char *line, const char *key)
{
    gsize klen = strlen (key);
    g_autofree char *v = NULL;
    gsize vlen;

    if (strncmp (line, key, klen) != 0 || line[klen] != '=')
        return NULL;
    v = g_strstrip (g_strdup (line + klen + 1));
    vlen = strlen (v);
    if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
        v[vlen - 1] = '\0';
        return g_strdup (v + 1);
    }
    return g_steal_pointer (&v);
}

/* Major (and minor) of VERSION_ID, "22.04" -> 22, 4. */
static void
version_numbers (const char *version, guint *major, guint *minor)
{
    g_auto(GStrv) parts = version ? g_strsplit (version, ".", 3) : NULL;

    *major = parts && parts[0] ? (guint) g_ascii_strtoull (parts[0], NULL, 10) : 0;
    *minor = parts && parts[0] && parts[1] ? (guint) g_ascii_strtoull (parts[1], NULL, 10) : 0;
}

typedef struct {
    const char *id;
    guint major;
    guint minor;
} YescryptSince;

/* First release of each distribution whose libcrypt verifies yescrypt. */
static const YescryptSince yescrypt_since[] = {
    { "debian", 11, 0 },
    { "ubuntu", 20, 4 },
    { "fedora", 30, 0 },
    { "rhel", 9, 0 },
    { "centos", 9, 0 },
    { "rocky", 9, 0 },
    { "almalinux", 9, 0 },
    { "sles", 15, 0 },
    { "opensuse-leap", 15, 0 },
    { "opensuse-tumbleweed", 0, 0 },
    { "arch", 0, 0 },
};

static ViHashMethod
hash_method_for (const char *id, const char *version)
{
    guint major, minor;

    if (id == NULL)
        return VI_HASH_SHA512;
    version_numbers (version, &major, &minor);
    for (gsize i = 0; i < G_N_ELEMENTS (yescrypt_since); i++) {
        const YescryptSince *y = &yescrypt_since[i];
        if (!g_str_equal (id, y->id))
            continue;
        if (y->major == 0)
            return VI_HASH_YESCRYPT;    /* rolling release */
        if (major > y->major || (major == y->major && minor >= y->minor))
            return VI_HASH_YESCRYPT;
        return VI_HASH_SHA512;
    }
    return VI_HASH_SHA512;
}

static gboolean
read_selinux (ViVfs *vfs, gboolean *out, char **out_type, GError **error)
{
    g_auto(GStrv) lines = NULL;
    g_autofree char *mode = NULL, *type = NULL;

    *out = FALSE;
    if (!read_lines (vfs, "/etc/selinux/config", &lines, error))
        return FALSE;
    for (guint i = 0; lines[i]; i++) {
        g_autofree char *m = os_release_value (lines[i], "SELINUX");
        g_autofree char *t = os_release_value (lines[i], "SELINUXTYPE");
        if (m)
            g_free (mode), mode = g_steal_pointer (&m);
        if (t)
            g_free (type), type = g_steal_pointer (&t);
    }
    /* Permissive still labels files and a later switch to enforcing must
     * find them right: relabel in both cases. */
    if (mode && (g_str_equal (mode, "enforcing") || g_str_equal (mode, "permissive")) && type) {
        g_autofree char *dir = g_strdup_printf ("/etc/selinux/%s", type);
        gboolean exists = FALSE;
        g_autoptr(GError) e = NULL;

        if (strchr (type, '/') == NULL && vi_vfs_exists (vfs, dir, &exists, &e))
            *out = exists;
        if (*out)
            *out_type = g_steal_pointer (&type);
    }
    return TRUE;
}

/* cloud-init is there when its program or its main configuration is: a
 * guest that has either runs it at boot (Debian's package ships both). */
static gboolean
has_cloud_init (ViVfs *vfs)
{
    static const char *const marks[] = { "/usr/bin/cloud-init", "/etc/cloud/cloud.cfg" };

    for (gsize i = 0; i < G_N_ELEMENTS (marks); i++) {
        gboolean exists = FALSE;

        if (vi_vfs_exists (vfs, marks[i], &exists, NULL) && exists)
            return TRUE;
    }
    return FALSE;
}

ViGuestFacts *
vi_guest_read_facts (ViVfs *vfs, GError **error)
{
    g_autoptr(ViGuestFacts) f = g_new0 (ViGuestFacts, 1);
    g_auto(GStrv) lines = NULL;
    g_autofree char *id_like = NULL;
    const char *os_release = "/etc/os-release";
    ViStat st;

    /* /etc/os-release is usually a symlink to ../usr/lib/os-release, and
     * the VFS never follows a last-component symlink: read the target the
     * os-release(5) specification gives instead of following guest data. */
    if (!vi_vfs_stat (vfs, "/etc/os-release", &st, NULL) || st.type != VI_FILE_TYPE_REGULAR)
        os_release = "/usr/lib/os-release";
    if (!read_lines (vfs, os_release, &lines, error))
        return NULL;
    for (guint i = 0; lines[i]; i++) {
        char *v;
        if ((v = os_release_value (lines[i], "ID")))
            g_free (f->os_id), f->os_id = v;
        else if ((v = os_release_value (lines[i], "VERSION_ID")))
            g_free (f->version_id), f->version_id = v;
        else if ((v = os_release_value (lines[i], "ID_LIKE")))
            g_free (id_like), id_like = v;
    }
    f->id_like = id_like ? g_strsplit_set (id_like, " \t", -1) : g_new0 (char *, 1);
    f->hash_method = hash_method_for (f->os_id, f->version_id);
    if (!read_selinux (vfs, &f->selinux_enforcing, &f->selinux_type, error))
        return NULL;
    f->net_renderer = vi_guest_detect_renderer (vfs);
    f->cloud_init = has_cloud_init (vfs);
    return g_steal_pointer (&f);
}

static gboolean
parse_id (const char *s, guint32 *out)
{
    guint64 v;

    if (s == NULL || !g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT32 - 1, &v, NULL))
        return FALSE;
    *out = (guint32) v;
    return TRUE;
}

/* The home directory of a passwd entry as a guest path.  "/home/alice/"
 * and "/home//alice" name /home/alice (the kernel resolves them so), so
 * repeated and trailing slashes are dropped before the path is checked;
 * a home that still is no valid guest path (empty, relative, "..") or is
 * "/" itself is unusable: %NULL. */
static char *
home_path (const char *field)
{
    GString *s = g_string_sized_new (strlen (field));
    g_autoptr(GError) e = NULL;

    for (const char *p = field; *p; p++)
        if (*p != '/' || s->len == 0 || s->str[s->len - 1] != '/')
            g_string_append_c (s, *p);
    if (s->len > 1 && s->str[s->len - 1] == '/')
        g_string_truncate (s, s->len - 1);
    if (!vi_check_guest_path (s->str, &e) || g_str_equal (s->str, "/")) {
        g_string_free (s, TRUE);
        return NULL;
    }
    return g_string_free (s, FALSE);
}

ViPasswdEntry *
vi_guest_lookup_user (ViVfs *vfs, const char *name, GError **error)
{
    g_auto(GStrv) lines = NULL;
    guint32 number = 0;
    gboolean is_number = parse_id (name, &number);

    if (!read_lines (vfs, "/etc/passwd", &lines, error))
        return NULL;
    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit (lines[i], ":", 8);
        guint32 uid, gid;
        ViPasswdEntry *e;

        if (g_strv_length (f) != 7 || !parse_id (f[2], &uid) || !parse_id (f[3], &gid))
            continue;
        if (is_number ? uid != number : !g_str_equal (f[0], name))
            continue;
        e = g_new0 (ViPasswdEntry, 1);
        e->name = g_strdup (f[0]);
        e->uid = uid;
        e->gid = gid;
        e->home = home_path (f[5]);
        return e;
    }
    if (is_number) {
        ViPasswdEntry *e = g_new0 (ViPasswdEntry, 1);
        e->name = g_strdup (name);
        e->uid = e->gid = number;
        e->home = NULL;
        return e;
    }
    vi_throw (error, VI_ERROR_GUEST, "user '%s' does not exist in the guest's /etc/passwd", name);
    return NULL;
}

gboolean
vi_guest_lookup_group (ViVfs *vfs, const char *name, guint32 *out_gid, GError **error)
{
    g_auto(GStrv) lines = NULL;

    if (parse_id (name, out_gid))
        return TRUE;
    if (!read_lines (vfs, "/etc/group", &lines, error))
        return FALSE;
    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit (lines[i], ":", 5);
        guint32 gid;

        if (g_strv_length (f) != 4 || !parse_id (f[2], &gid))
            continue;
        if (g_str_equal (f[0], name)) {
            *out_gid = gid;
            return TRUE;
        }
    }
    return vi_throw (error, VI_ERROR_GUEST, "group '%s' does not exist in the guest's /etc/group",
                     name);
}
