/* test-ledger.c: run-once ledger, markers, appliance slots, and the ledger
 * with request digests (vi-crypt itself: test-crypt.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>
#include <glib/gstdio.h>

#include "vi-crypt.h"
#include "vi-error.h"
#include "vi-ledger.h"
#include "vi-spec.h"

#define UUID "8c0d2f4e-6a57-4b0e-9d7e-3f1a2b3c4d5e"

static void
test_ledger (void)
{
    g_autofree char *dir = g_dir_make_tmp ("vi-ledger-XXXXXX", NULL);
    g_autoptr(GError) error = NULL;
    gboolean found = FALSE;

    g_assert_false (vi_ledger_has (dir, UUID, "abc"));
    g_assert_true (vi_ledger_record (dir, UUID, "web1", "abc", &error));
    g_assert_true (vi_ledger_has (dir, UUID, "abc"));
    g_assert_false (vi_ledger_has (dir, UUID, "abd"));
    g_assert_true (vi_ledger_forget (dir, "web1", &found, &error));
    g_assert_true (found);
    g_assert_false (vi_ledger_has (dir, UUID, "abc"));
    g_assert_true (vi_ledger_record (dir, UUID, "web1", "abc", &error));
    g_assert_true (vi_ledger_forget (dir, UUID, &found, &error));
    g_assert_true (found);
    g_assert_true (vi_ledger_forget (dir, "other", &found, &error));
    g_assert_false (found);
    /* never a path from an unchecked name */
    g_assert_false (vi_ledger_record (dir, "../../etc/x", "n", "d", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
}

static void
test_markers (void)
{
    g_autofree char *dir = g_dir_make_tmp ("vi-marker-XXXXXX", NULL);
    g_autofree char *path = g_build_filename (dir, "markers", UUID, NULL);
    g_autofree char *kind = NULL;
    struct utimbuf old = { 1000, 1000 };

    g_assert_false (vi_marker_active (dir, UUID, 3600, NULL));
    g_assert_true (vi_marker_set (dir, UUID, "migrate", NULL));
    g_assert_true (vi_marker_active (dir, UUID, 3600, &kind));
    g_assert_cmpstr (kind, ==, "migrate");
    g_assert_true (vi_marker_clear (dir, UUID, NULL));
    g_assert_false (vi_marker_active (dir, UUID, 3600, NULL));
    /* stale markers expire */
    g_assert_true (vi_marker_set (dir, UUID, "restore", NULL));
    g_assert_cmpint (utime (path, &old), ==, 0);
    g_assert_false (vi_marker_active (dir, UUID, 3600, NULL));
    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_slots (void)
{
    g_autofree char *dir = g_dir_make_tmp ("vi-slot-XXXXXX", NULL);
    g_autoptr(GError) error = NULL;
    gint64 t0 = g_get_monotonic_time ();
    int a = vi_slot_acquire (dir, 2, t0 + G_USEC_PER_SEC, &error);
    int b = vi_slot_acquire (dir, 2, t0 + G_USEC_PER_SEC, &error);
    int c;

    g_assert_cmpint (a, >=, 0);
    g_assert_cmpint (b, >=, 0);
    c = vi_slot_acquire (dir, 2, g_get_monotonic_time () + 300 * 1000, &error);
    g_assert_cmpint (c, ==, -1);
    g_assert_error (error, VI_ERROR, VI_ERROR_TIMEOUT);
    g_assert_nonnull (strstr (error->message, "max_parallel=2"));
    g_clear_error (&error);
    close (a);
    c = vi_slot_acquire (dir, 2, g_get_monotonic_time () + G_USEC_PER_SEC, &error);
    g_assert_no_error (error);
    g_assert_cmpint (c, >=, 0);
    close (b);
    close (c);
}

/* The request digest: a request without secrets keeps its old digest (and
 * makes no key); with a secret, the key is made root-only, the digest is
 * stable, and changes when the secret's value or the key changes, never
 * holding the value; a key others can read is refused. */
static ViSpec *
spec_with (const char *inner)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = g_strdup_printf (
        "<vi:inject xmlns:vi='http://virt-inject.org/xmlns/libvirt/domain/1.0'>%s</vi:inject>",
        inner);
    ViSpec *spec = vi_spec_parse (xml, strlen (xml), NULL, &error);

    g_assert_no_error (error);
    return spec;
}

static void
test_request_digest (void)
{
    g_autofree char *dir = g_dir_make_tmp ("vi-digest-XXXXXX", NULL);
    g_autofree char *secrets = g_build_filename (dir, "secrets", NULL);
    g_autofree char *secret = g_build_filename (secrets, "s1", NULL);
    g_autofree char *key = g_build_filename (dir, "conf", "digest.key", NULL);
    g_autoptr(ViSpec) plain = spec_with ("<vi:hostname>h</vi:hostname>");
    g_autoptr(ViSpec) with = spec_with ("<vi:hostname>h</vi:hostname><vi:user name='root'>"
                                        "<vi:password secret='s1'/></vi:user>");
    g_autoptr(GError) error = NULL;
    g_autofree char *d_plain = NULL, *d1 = NULL, *d2 = NULL, *d3 = NULL, *d4 = NULL;
    g_autofree char *legacy = vi_spec_digest (with);
    g_autofree char *cmd = NULL;
    struct stat st;

    g_assert_cmpint (g_mkdir (secrets, 0700), ==, 0);
    g_assert_true (g_file_set_contents_full (secret, "first-value\n", -1,
                                             G_FILE_SET_CONTENTS_NONE, 0600, NULL));
    d_plain = vi_request_digest (plain, secrets, key, &error);
    g_assert_no_error (error);
    {
        g_autofree char *old = vi_spec_digest (plain);
        g_assert_cmpstr (d_plain, ==, old);
    }
    g_assert_false (g_file_test (key, G_FILE_TEST_EXISTS));

    d1 = vi_request_digest (with, secrets, key, &error);
    g_assert_no_error (error);
    g_assert_cmpint (stat (key, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 07777, ==, 0600);
    g_assert_cmpint (st.st_size, ==, 32);
    g_assert_cmpstr (d1, !=, legacy);
    d2 = vi_request_digest (with, secrets, key, &error);
    g_assert_cmpstr (d2, ==, d1);
    /* a rotated secret: another digest */
    g_assert_true (g_file_set_contents_full (secret, "second-value\n", -1,
                                             G_FILE_SET_CONTENTS_NONE, 0600, NULL));
    d3 = vi_request_digest (with, secrets, key, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (d3, !=, d1);
    /* another key (another host): another digest for the same value */
    g_assert_cmpint (g_unlink (key), ==, 0);
    d4 = vi_request_digest (with, secrets, key, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (d4, !=, d3);
    /* a key others can read is refused */
    g_assert_cmpint (g_chmod (key, 0644), ==, 0);
    g_assert_null (vi_request_digest (with, secrets, key, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "digest key"));
    g_clear_error (&error);
    /* a missing secret is an error, not a digest without it */
    g_assert_cmpint (g_chmod (key, 0600), ==, 0);
    g_assert_cmpint (g_unlink (secret), ==, 0);
    g_assert_null (vi_request_digest (with, secrets, key, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_clear_error (&error);

    /* the ledger: a legacy entry counts once and becomes the keyed one */
    {
        g_autofree char *state = g_build_filename (dir, "state", NULL);

        g_assert_true (vi_ledger_record (state, UUID, "web1", legacy, &error));
        g_assert_true (vi_ledger_has_request (state, UUID, "web1", d1, legacy));
        g_assert_true (vi_ledger_has (state, UUID, d1));
        g_assert_false (vi_ledger_has (state, UUID, legacy));
        /* the secret rotated since: the request is injected again */
        g_assert_false (vi_ledger_has_request (state, UUID, "web1", d3, legacy));
        /* no secrets: the digest is the legacy one, nothing rewritten */
        g_assert_true (vi_ledger_record (state, UUID, "web1", d_plain, &error));
        g_assert_true (vi_ledger_has_request (state, UUID, "web1", d_plain, d_plain));
    }
    cmd = g_strdup_printf ("rm -rf '%s'", dir);
    g_assert_cmpint (system (cmd), ==, 0);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/ledger/run-once", test_ledger);
    g_test_add_func ("/ledger/markers", test_markers);
    g_test_add_func ("/ledger/slots", test_slots);
    g_test_add_func ("/crypt/request-digest", test_request_digest);
    return g_test_run ();
}
