/* vi-ledger.c: host state between hook invocations (see vi-ledger.h).
 *
 * Names of files here come from validated UUIDs and small integers, never
 * from guest data or free-form domain names.
 */
#include "vi-ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vi-error.h"

static gboolean
check_uuid (const char *uuid, GError **error)
{
    if (uuid == NULL || !g_uuid_string_is_valid (uuid))
        return vi_throw (error, VI_ERROR_INVALID, "'%s' is not a domain UUID", uuid ? uuid : "");
    return TRUE;
}

static gboolean
ensure_dir (const char *path, GError **error)
{
    if (g_mkdir_with_parents (path, 0700) < 0)
        return vi_throw_errno (error, errno, "creating %s", path);
    return TRUE;
}

static gboolean
write_atomic (const char *dir, const char *name, const char *content, GError **error)
{
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_autoptr(GError) e = NULL;

    if (!ensure_dir (dir, error))
        return FALSE;
    /* g_file_set_contents: temp file in the same directory, fsync, rename. */
    if (!g_file_set_contents_full (path, content, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &e))
        return vi_throw (error, VI_ERROR_FAILED, "%s", e->message);
    return TRUE;
}

gboolean
vi_ledger_has (const char *state_dir, const char *uuid, const char *digest)
{
    g_autofree char *path = NULL;
    g_autoptr(GKeyFile) kf = g_key_file_new ();
    g_autofree char *have = NULL;

    if (!check_uuid (uuid, NULL))
        return FALSE;
    path = g_build_filename (state_dir, "ledger", uuid, NULL);
    if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL))
        return FALSE;
    have = g_key_file_get_string (kf, "injected", "digest", NULL);
    return have != NULL && g_str_equal (have, digest);
}

gboolean
vi_ledger_has_request (const char *state_dir, const char *uuid, const char *name,
                       const char *digest, const char *legacy)
{
    if (vi_ledger_has (state_dir, uuid, digest))
        return TRUE;
    if (g_str_equal (legacy, digest) || !vi_ledger_has (state_dir, uuid, legacy))
        return FALSE;
    (void) vi_ledger_record (state_dir, uuid, name, digest, NULL);
    return TRUE;
}

gboolean
vi_ledger_record (const char *state_dir, const char *uuid, const char *name, const char *digest,
                  GError **error)
{
    g_autofree char *dir = g_build_filename (state_dir, "ledger", NULL);
    g_autoptr(GKeyFile) kf = g_key_file_new ();
    g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
    g_autofree char *when = g_date_time_format_iso8601 (now);
    g_autofree char *data = NULL;

    if (!check_uuid (uuid, error))
        return FALSE;
    g_key_file_set_string (kf, "injected", "name", name ? name : "");
    g_key_file_set_string (kf, "injected", "digest", digest);
    g_key_file_set_string (kf, "injected", "time", when);
    data = g_key_file_to_data (kf, NULL, NULL);
    return write_atomic (dir, uuid, data, error);
}

gboolean
vi_ledger_forget (const char *state_dir, const char *domain, gboolean *out_found, GError **error)
{
    g_autofree char *dir = g_build_filename (state_dir, "ledger", NULL);
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *entry;
    gboolean found = FALSE;

    while (d && (entry = g_dir_read_name (d)) != NULL) {
        g_autofree char *path = NULL;
        g_autoptr(GKeyFile) kf = NULL;
        g_autofree char *name = NULL;

        if (!g_uuid_string_is_valid (entry))
            continue;
        path = g_build_filename (dir, entry, NULL);
        kf = g_key_file_new ();
        if (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL))
            name = g_key_file_get_string (kf, "injected", "name", NULL);
        if (g_ascii_strcasecmp (entry, domain) == 0 || (name && g_str_equal (name, domain))) {
            if (g_unlink (path) < 0 && errno != ENOENT)
                return vi_throw_errno (error, errno, "removing %s", path);
            found = TRUE;
        }
    }
    if (out_found)
        *out_found = found;
    return TRUE;
}

gboolean
vi_marker_set (const char *run_dir, const char *uuid, const char *kind, GError **error)
{
    g_autofree char *dir = g_build_filename (run_dir, "markers", NULL);
    g_autofree char *content = g_strdup_printf ("%s\n", kind);

    if (!check_uuid (uuid, error))
        return FALSE;
    return write_atomic (dir, uuid, content, error);
}

gboolean
vi_marker_active (const char *run_dir, const char *uuid, guint max_age_s, char **out_kind)
{
    g_autofree char *path = NULL;
    struct stat st;
    g_autofree char *kind = NULL;

    if (!check_uuid (uuid, NULL))
        return FALSE;
    path = g_build_filename (run_dir, "markers", uuid, NULL);
    if (stat (path, &st) < 0)
        return FALSE;
    if (g_get_real_time () / G_USEC_PER_SEC - st.st_mtime > (gint64) max_age_s) {
        (void) g_unlink (path);     /* stale: a daemon crash must not block injection forever */
        return FALSE;
    }
    if (out_kind) {
        if (g_file_get_contents (path, &kind, NULL, NULL))
            g_strstrip (kind);
        *out_kind = g_steal_pointer (&kind);
    }
    return TRUE;
}

gboolean
vi_marker_clear (const char *run_dir, const char *uuid, GError **error)
{
    g_autofree char *path = NULL;

    if (!check_uuid (uuid, error))
        return FALSE;
    path = g_build_filename (run_dir, "markers", uuid, NULL);
    if (g_unlink (path) < 0 && errno != ENOENT)
        return vi_throw_errno (error, errno, "removing %s", path);
    return TRUE;
}

int
vi_slot_acquire (const char *run_dir, guint max, gint64 deadline_us, GError **error)
{
    g_autofree char *dir = g_build_filename (run_dir, "slots", NULL);

    if (!ensure_dir (dir, error))
        return -1;
    for (;;) {
        for (guint i = 0; i < max; i++) {
            g_autofree char *name = g_strdup_printf ("%u.lock", i);
            g_autofree char *path = g_build_filename (dir, name, NULL);
            int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

            if (fd < 0) {
                vi_throw_errno (error, errno, "appliance slot %s", path);
                return -1;
            }
            if (flock (fd, LOCK_EX | LOCK_NB) == 0)
                return fd;
            close (fd);
        }
        if (g_get_monotonic_time () >= deadline_us) {
            vi_throw (error, VI_ERROR_TIMEOUT,
                      "timed out waiting for an appliance slot ([guestfs] max_parallel=%u "
                      "appliances are already running)", max);
            return -1;
        }
        g_usleep (100 * 1000);
    }
}
