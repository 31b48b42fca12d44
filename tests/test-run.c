/* test-run.c: vi-run's result across a process boundary
 * (vi_run_result_format / vi_run_result_parse), both ways and against
 * what a broken or hostile peer could write. */
#include <string.h>

#include "vi-error.h"
#include "vi-run.h"

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
    g_autofree char *text = vi_run_result_format (&in);

    /* one line: nothing else on a stdout or a pipe can be mistaken for it */
    g_assert_null (strchr (text, '\n'));
    g_assert_true (vi_run_result_parse (text, -1, &out, &error));
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
    g_autofree char *text = vi_run_result_format (&in);

    g_assert_true (vi_run_result_parse (text, -1, &out, &error));
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
};

static void
test_unreadable (gconstpointer data)
{
    const char *text = *(const char *const *) data;
    ViInjectResult out = { NULL, FALSE };
    g_autoptr(GError) error = NULL;

    g_assert_false (vi_run_result_parse (text, -1, &out, &error));
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

    g_assert_true (vi_run_result_parse (text, strlen (text) - strlen ("garbage"), &out, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (out.summary, ==, "s");
    g_assert_true (out.autorelabel);
    g_assert_cmpuint (out.changes, ==, 3);
    g_assert_cmpuint (out.unchanged, ==, 2);
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS (round_trips); i++) {
        g_autofree char *path = g_strdup_printf ("/run/result/round-trip/%" G_GSIZE_FORMAT, i);
        g_test_add_data_func (path, &round_trips[i], test_round_trip);
    }
    g_test_add_func ("/run/result/not-utf8", test_not_utf8);
    for (gsize i = 0; i < G_N_ELEMENTS (unreadable); i++) {
        g_autofree char *path = g_strdup_printf ("/run/result/unreadable/%" G_GSIZE_FORMAT, i);
        g_test_add_data_func (path, &unreadable[i], test_unreadable);
    }
    g_test_add_func ("/run/result/lenient", test_lenient);
    return g_test_run ();
}
