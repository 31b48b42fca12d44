/* test-config.c: defaults, overrides, refusals, and that data/virt-inject.conf
 * documents every key the parser knows (and no other). */
#include <string.h>
#include <glib/gstdio.h>

#include "vi-config.h"
#include "vi-error.h"

static char *
write_conf (const char *text)
{
    g_autofree char *dir = g_dir_make_tmp ("vi-conf-XXXXXX", NULL);
    char *path = g_build_filename (dir, "c.conf", NULL);
    g_assert_true (g_file_set_contents (path, text, -1, NULL));
    return path;
}

static void
test_defaults (void)
{
    g_autoptr(ViConfig) cfg = vi_config_new_default ();
    g_assert_cmpuint (cfg->timeout, ==, 600);
    g_assert_cmpuint (cfg->max_parallel, ==, 4);
    g_assert_false (cfg->force_tcg);
    g_assert_cmpuint (cfg->limits.request_max, ==, 4 * 1024 * 1024);
    g_assert_cmpuint (cfg->limits.file_max, ==, 1024 * 1024);
    g_assert_cmpuint (cfg->limits.items_max, ==, 4096);
    g_assert_cmpint (cfg->default_policy, ==, VI_POLICY_ONCE);
}

static void
test_override (void)
{
    g_autofree char *path = write_conf ("[guestfs]\ntimeout = 42\nforce_tcg = true\n"
                                        "[hook]\ndefault_policy = always\n[paths]\nstate_dir = /x\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(ViConfig) cfg = vi_config_load (path, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (cfg->timeout, ==, 42);
    g_assert_true (cfg->force_tcg);
    g_assert_cmpint (cfg->default_policy, ==, VI_POLICY_ALWAYS);
    g_assert_cmpstr (cfg->state_dir, ==, "/x");
    g_assert_cmpuint (cfg->max_parallel, ==, 4);     /* omitted: default */
}

/* [inject] timeout is the deadline of every injection; [guestfs] timeout,
 * its older name, is still read, and loses to it in either order. */
static void
test_timeout_alias (void)
{
    static const struct { const char *text; guint want; } cases[] = {
        { "[inject]\ntimeout = 7\n", 7 },
        { "[guestfs]\ntimeout = 8\n", 8 },
        { "[guestfs]\ntimeout = 8\n[inject]\ntimeout = 9\n", 9 },
        { "[inject]\ntimeout = 9\n[guestfs]\ntimeout = 8\n", 9 },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = write_conf (cases[i].text);
        g_autoptr(GError) error = NULL;
        g_autoptr(ViConfig) cfg = vi_config_load (path, &error);

        g_assert_no_error (error);
        g_assert_cmpuint (cfg->timeout, ==, cases[i].want);
    }
}

static const struct { const char *text; const char *error; } bad[] = {
    { "[inject]\ntimeout = 0\n", "[inject] timeout" },
    { "[guestfs]\nbogus = 1\n", "[guestfs] bogus: unknown key" },
    { "[nope]\nx = 1\n", "[nope]: unknown group" },
    { "[guestfs]\ntimeout = soon\n", "[guestfs] timeout" },
    { "[guestfs]\ntimeout = 0\n", "[guestfs] timeout" },
    { "[guestfs]\nforce_tcg = maybe\n", "not true or false" },
    { "[hook]\ndefault_policy = never\n", "not once or always" },
    { "[paths]\nrun_dir = relative\n", "not an absolute path" },
    { "not a key file", "c.conf" },
};

static void
test_bad (void)
{
    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_autofree char *path = write_conf (bad[i].text);
        g_autoptr(GError) error = NULL;
        g_autoptr(ViConfig) cfg = vi_config_load (path, &error);

        g_assert_null (cfg);
        g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
        if (strstr (error->message, bad[i].error) == NULL)
            g_error ("'%s' lacks '%s'", error->message, bad[i].error);
    }
}

static void
test_missing_explicit (void)
{
    g_autoptr(GError) error = NULL;
    g_assert_null (vi_config_load ("/nonexistent/virt-inject.conf", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
}

static void
test_documented (void)
{
    g_autofree char *path = g_build_filename (g_getenv ("VIRT_INJECT_SOURCE_ROOT"), "data",
                                              "virt-inject.conf", NULL);
    g_autofree char *text = NULL;
    g_auto(GStrv) keys = vi_config_known_keys ();
    g_auto(GStrv) lines = NULL;
    g_autofree char *group = NULL;
    guint documented = 0;

    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    lines = g_strsplit (text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        const char *l = lines[i];
        g_autofree char *k = NULL;

        if (l[0] == '[') {
            g_free (group);
            group = g_strndup (l + 1, strcspn (l + 1, "]"));
            continue;
        }
        /* a documented key is "#key = default" */
        if (l[0] != '#' || !g_ascii_isalpha (l[1]) || strstr (l, " = ") == NULL)
            continue;
        k = g_strdup_printf ("%s.%.*s", group, (int) strcspn (l + 1, " "), l + 1);
        g_assert_true (g_strv_contains ((const char *const *) keys, k));
        documented++;
    }
    g_assert_cmpuint (documented, ==, g_strv_length (keys));
    /* and the documented file itself loads (all commented: defaults) */
    {
        g_autoptr(GError) error = NULL;
        g_autoptr(ViConfig) cfg = vi_config_load (path, &error);
        g_assert_no_error (error);
    }
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/config/defaults", test_defaults);
    g_test_add_func ("/config/override", test_override);
    g_test_add_func ("/config/timeout-alias", test_timeout_alias);
    g_test_add_func ("/config/bad", test_bad);
    g_test_add_func ("/config/missing-explicit", test_missing_explicit);
    g_test_add_func ("/config/documented", test_documented);
    return g_test_run ();
}
