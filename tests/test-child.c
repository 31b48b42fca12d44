/* test-child.c: vi-child, the one runner of every injection.
 *
 * The result across a process boundary (vi_child_result_format / _parse,
 * the error object too), both ways and against what a broken or hostile
 * peer could write; and the runner itself: a result and an error come back
 * as the child made them, stages are told, and at the deadline the whole
 * process group (a grandchild too) is killed, in time, naming the stage.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "vi-error.h"
#include "vi-child.h"

typedef struct {
    const char *summary;
    gboolean autorelabel;
    guint changes, unchanged;
} RoundTrip;

static const RoundTrip round_trips[] = {
    { "", FALSE, 0, 0 },
    { "write       /.autorelabel 0644 0:0 (" VI_INJECT_AUTORELABEL_NOTE ")\n", TRUE, 1, 0 },
    { "mkdir       /home/a \"b\"\\c\t/.ssh 0700 1000:1000\nunchanged   /etc/motd\n", FALSE, 1, 1 },
    { "write       /etc/h\xc3\xa9llo 0644 0:0\n", TRUE, G_MAXUINT, 7 },
};

static void
test_round_trip (gconstpointer data)
{
    const RoundTrip *c = data;
    ViInjectResult in = { (char *) c->summary, c->autorelabel, c->changes, c->unchanged };
    g_auto(ViInjectResult) out = { 0 };
    g_autoptr(GError) error = NULL;
    g_autofree char *text = vi_child_result_format (&in);

    /* one line: nothing else on a stdout or a pipe can be mistaken for it */
    g_assert_null (strchr (text, '\n'));
    g_assert_true (vi_child_result_parse (text, -1, &out, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (out.summary, ==, c->summary);
    g_assert_cmpint (out.autorelabel, ==, c->autorelabel);
    g_assert_cmpuint (out.changes, ==, c->changes);
    g_assert_cmpuint (out.unchanged, ==, c->unchanged);
}

/* a guest path that is not UTF-8 (a home from the guest's passwd) still
 * gives a result the parent can read */
static void
test_not_utf8 (void)
{
    ViInjectResult in = { (char *) "mkdir       /home/\xff/.ssh\n", TRUE };
    g_auto(ViInjectResult) out = { 0 };
    g_autoptr(GError) error = NULL;
    g_autofree char *text = vi_child_result_format (&in);

    g_assert_true (vi_child_result_parse (text, -1, &out, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (out.summary, ==, "mkdir       /home/\xef\xbf\xbd/.ssh\n");
    g_assert_true (out.autorelabel);
}

static const char *const unreadable[] = {
    "",
    "unchanged   /etc/motd\n",
    "{\"summary\": \"x\"",
    "[\"x\", true]",
    "\"x\"",
    "{\"summary\": \"x\"}",
    "{\"autorelabel\": true}",
    "{\"summary\": 1, \"autorelabel\": true}",
    "{\"summary\": null, \"autorelabel\": true}",
    "{\"summary\": \"x\", \"autorelabel\": \"true\"}",
    "{\"summary\": \"x\", \"autorelabel\": 1}",
    "{\"summary\": \"x\", \"autorelabel\": [true]}",
    "{\"summary\": \"x\", \"autorelabel\": true}",
    "{\"summary\": \"x\", \"autorelabel\": true, \"changes\": 1}",
    "{\"summary\": \"x\", \"autorelabel\": true, \"changes\": -1, \"unchanged\": 0}",
    "{\"summary\": \"x\", \"autorelabel\": true, \"changes\": 4294967296, \"unchanged\": 0}",
    "{\"summary\": \"x\", \"autorelabel\": true, \"changes\": 1.5, \"unchanged\": 0}",
    "{\"summary\": \"x\", \"autorelabel\": true, \"changes\": \"1\", \"unchanged\": 0}",
    "{\"error\": \"x\"}",
    "{\"error\": {\"code\": 2}}",
    "{\"error\": {\"message\": \"m\"}}",
    "{\"error\": {\"code\": 99, \"message\": \"m\"}}",
    "{\"error\": {\"code\": -1, \"message\": \"m\"}}",
    "{\"error\": {\"code\": \"2\", \"message\": \"m\"}}",
};

static void
test_unreadable (gconstpointer data)
{
    const char *text = *(const char *const *) data;
    ViInjectResult out = { NULL, FALSE };
    g_autoptr(GError) error = NULL;

    g_assert_false (vi_child_result_parse (text, -1, &out, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_true (g_str_has_prefix (error->message, "unreadable injection result"));
    /* set only on success */
    g_assert_null (out.summary);
    g_assert_false (out.autorelabel);
}

/* members are found by name, in any order, others ignored; a length stops
 * the parse where the text ends */
static void
test_lenient (void)
{
    static const char text[] = "{\"other\": [1], \"unchanged\": 2, \"autorelabel\": true, "
                               "\"changes\": 3, \"summary\": \"s\"}garbage";
    g_auto(ViInjectResult) out = { 0 };
    g_autoptr(GError) error = NULL;

    g_assert_true (vi_child_result_parse (text, strlen (text) - strlen ("garbage"), &out, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (out.summary, ==, "s");
    g_assert_true (out.autorelabel);
    g_assert_cmpuint (out.changes, ==, 3);
    g_assert_cmpuint (out.unchanged, ==, 2);
}

/* An error object carries its code and message across; an error of another
 * domain goes as VI_ERROR_FAILED. */
static void
test_error_round_trip (void)
{
    g_autoptr(GError) in = g_error_new (VI_ERROR, VI_ERROR_GUEST, "/etc/shadow: \"odd\"\n");
    g_autoptr(GError) other = g_error_new (G_FILE_ERROR, G_FILE_ERROR_NOENT, "gone");
    g_autoptr(GError) out = NULL;
    g_autofree char *text = vi_child_error_format (in);
    g_autofree char *text2 = vi_child_error_format (other);
    ViInjectResult r = { 0 };

    g_assert_false (vi_child_result_parse (text, -1, &r, &out));
    g_assert_error (out, VI_ERROR, VI_ERROR_GUEST);
    g_assert_cmpstr (out->message, ==, in->message);
    g_clear_error (&out);
    g_assert_false (vi_child_result_parse (text2, -1, &r, &out));
    g_assert_error (out, VI_ERROR, VI_ERROR_FAILED);
    g_assert_cmpstr (out->message, ==, "gone");
    g_assert_null (r.summary);
}

/* ---- the runner --------------------------------------------------------- */

typedef enum { CHILD_OK, CHILD_FAIL, CHILD_HANG, CHILD_EXIT_SILENT } ChildMode;

typedef struct {
    ChildMode mode;
    char *pidfile;          /* the hanging child's grandchild writes its pid here */
} ChildJob;

static gboolean
child_func (gpointer user_data, ViInjectResult *out_result, GError **error)
{
    ChildJob *job = user_data;

    vi_child_announce_stage ("mount");
    vi_child_announce_stage ("write");
    switch (job->mode) {
    case CHILD_OK:
        out_result->summary = g_strdup ("write       /etc/motd 0644 0:0\n");
        out_result->changes = 1;
        return TRUE;
    case CHILD_FAIL:
        return vi_throw (error, VI_ERROR_GUEST, "/etc/shadow: refused");
    case CHILD_HANG: {
        pid_t gc = fork ();

        if (gc == 0) {
            for (;;)
                pause ();
        }
        {
            g_autofree char *pid = g_strdup_printf ("%d", (int) gc);
            g_file_set_contents (job->pidfile, pid, -1, NULL);
        }
        for (;;)
            pause ();
    }
    case CHILD_EXIT_SILENT:
    default:
        _exit (0);
    }
}

static void
note_stage (const char *stage, gpointer user_data)
{
    g_string_append_printf (user_data, "%s,", stage);
}

static void
test_runner_ok (void)
{
    ChildJob job = { CHILD_OK, NULL };
    g_autoptr(GString) stages = g_string_new (NULL);
    ViChildOptions o = { g_get_monotonic_time () + 10 * G_USEC_PER_SEC, 10, NULL, note_stage, stages };
    g_auto(ViInjectResult) r = { 0 };
    g_autoptr(GError) error = NULL;
    g_autofree char *stage = NULL;

    g_assert_true (vi_child_run_func (child_func, &job, &o, &stage, &r, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (r.summary, ==, "write       /etc/motd 0644 0:0\n");
    g_assert_cmpuint (r.changes, ==, 1);
    g_assert_cmpstr (stages->str, ==, "mount,write,");
    g_assert_cmpstr (stage, ==, "write");
}

static void
test_runner_error (void)
{
    ChildJob job = { CHILD_FAIL, NULL };
    ViChildOptions o = { g_get_monotonic_time () + 10 * G_USEC_PER_SEC, 10, NULL, NULL, NULL };
    g_auto(ViInjectResult) r = { 0 };
    g_autoptr(GError) error = NULL;

    g_assert_false (vi_child_run_func (child_func, &job, &o, NULL, &r, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_GUEST);
    g_assert_cmpstr (error->message, ==, "/etc/shadow: refused");
    g_assert_null (r.summary);
}

static void
test_runner_silent (void)
{
    ChildJob job = { CHILD_EXIT_SILENT, NULL };
    ViChildOptions o = { g_get_monotonic_time () + 10 * G_USEC_PER_SEC, 10, NULL, NULL, NULL };
    g_autoptr(GError) error = NULL;
    const char *const missing[] = { "/nonexistent/helper", NULL };

    g_assert_false (vi_child_run_func (child_func, &job, &o, NULL, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "without a readable result"));
    g_clear_error (&error);
    g_assert_false (vi_child_run_argv (missing, &o, NULL, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "cannot run"));
}

/* The deadline kills the child and its grandchild, in time, and the error
 * names the stage and the configured seconds. */
static void
test_runner_deadline (void)
{
    g_autofree char *dir = g_dir_make_tmp ("vi-child-XXXXXX", NULL);
    g_autofree char *pidfile = g_build_filename (dir, "pid", NULL);
    ChildJob job = { CHILD_HANG, pidfile };
    gint64 start = g_get_monotonic_time ();
    ViChildOptions o = { start + G_USEC_PER_SEC, 1, "the test child was killed", NULL, NULL };
    g_autoptr(GError) error = NULL;
    g_autofree char *stage = NULL;
    g_autofree char *pidtext = NULL;
    pid_t gc;

    g_assert_nonnull (dir);
    g_assert_false (vi_child_run_func (child_func, &job, &o, &stage, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_TIMEOUT);
    g_assert_cmpstr (error->message, ==, "timed out after 1 s (the [inject] timeout) during the "
                     "write stage; the test child was killed");
    g_assert_cmpstr (stage, ==, "write");
    g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
    /* the grandchild is gone too (it was reparented, so poll for it) */
    g_assert_true (g_file_get_contents (pidfile, &pidtext, NULL, NULL));
    gc = (pid_t) g_ascii_strtoll (pidtext, NULL, 10);
    g_assert_cmpint (gc, >, 0);
    for (int i = 0; i < 300 && kill (gc, 0) == 0; i++) {
        g_autofree char *statp = g_strdup_printf ("/proc/%d/stat", (int) gc);
        g_autofree char *st = NULL;

        /* a zombie waiting for init to reap it is dead enough */
        if (g_file_get_contents (statp, &st, NULL, NULL) && strstr (st, ") Z "))
            break;
        g_usleep (10 * 1000);
    }
    {
        g_autofree char *statp = g_strdup_printf ("/proc/%d/stat", (int) gc);
        g_autofree char *st = NULL;
        g_assert_true (kill (gc, 0) < 0 ||
                       (g_file_get_contents (statp, &st, NULL, NULL) && strstr (st, ") Z ")));
    }
    (void) g_unlink (pidfile);
    (void) g_rmdir (dir);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS (round_trips); i++) {
        g_autofree char *path = g_strdup_printf ("/child/result/round-trip/%" G_GSIZE_FORMAT, i);
        g_test_add_data_func (path, &round_trips[i], test_round_trip);
    }
    g_test_add_func ("/child/result/not-utf8", test_not_utf8);
    for (gsize i = 0; i < G_N_ELEMENTS (unreadable); i++) {
        g_autofree char *path = g_strdup_printf ("/child/result/unreadable/%" G_GSIZE_FORMAT, i);
        g_test_add_data_func (path, &unreadable[i], test_unreadable);
    }
    g_test_add_func ("/child/result/lenient", test_lenient);
    g_test_add_func ("/child/result/error", test_error_round_trip);
    g_test_add_func ("/child/runner/result", test_runner_ok);
    g_test_add_func ("/child/runner/error", test_runner_error);
    g_test_add_func ("/child/runner/no-result", test_runner_silent);
    g_test_add_func ("/child/runner/deadline-kills-the-group", test_runner_deadline);
    return g_test_run ();
}
