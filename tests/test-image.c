/* test-image.c: vi-image's host side without an appliance.
 *
 * A stand-in for the libguestfs helper ($VIRT_INJECT_GUESTFS_HELPER) and a
 * wrapper around the real qemu-img first on PATH, which logs each call and
 * what its descriptor 3 is: the overlay is created and committed for real,
 * the commit holding the image's lock, and a failing qemu-img is reported
 * with its stderr; the helper's result (vi_run_result_format()) crosses
 * back, its /.autorelabel flag with it, and one we cannot read is an error.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "vi-error.h"
#include "vi-image.h"

#define SPEC \
    "<vi:inject xmlns:vi='http://virt-inject.org/xmlns/libvirt/domain/1.0'>" \
    "<vi:hostname>h1</vi:hostname></vi:inject>"

/* the wrapper: "ARGS -> FD3" per call into $VI_TEST_LOG; VI_TEST_CREATE_FAIL
 * makes `create` fail with a message */
static const char qemu_img_wrapper[] =
    "#!/bin/sh\n"
    "printf '%s -> %s\\n' \"$1\" \"$(readlink /proc/self/fd/3 || echo none)\" >> \"$VI_TEST_LOG\"\n"
    "if [ \"$1\" = create ] && [ -n \"${VI_TEST_CREATE_FAIL:-}\" ]; then\n"
    "    echo 'qemu-img: disk full' >&2; exit 1\n"
    "fi\n"
    "exec /usr/bin/qemu-img \"$@\"\n";

/* the helper: $VI_TEST_HELPER_OUT on stdout, exit 0 */
static const char helper[] =
    "#!/bin/sh\n"
    "exec cat \"$VI_TEST_HELPER_OUT\"\n";

#define RESULT_SUMMARY "write       /.autorelabel 0644 0:0 (" VI_INJECT_AUTORELABEL_NOTE ")\n"

typedef struct {
    char *dir;
    char *image;
    char *log;
    char *helper_out;
    ViConfig *cfg;
    char *old_path;
} Fixture;

static void
write_script (const char *path, const char *text)
{
    g_assert_true (g_file_set_contents (path, text, -1, NULL));
    g_assert_cmpint (g_chmod (path, 0755), ==, 0);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
    g_autofree char *bin = NULL, *wrapper = NULL, *help = NULL, *path = NULL;
    g_autofree char *cmd = NULL;
    int status = -1;

    (void) data;
    f->dir = g_dir_make_tmp ("vi-image-XXXXXX", NULL);
    g_assert_nonnull (f->dir);
    bin = g_build_filename (f->dir, "bin", NULL);
    g_assert_cmpint (g_mkdir (bin, 0700), ==, 0);
    wrapper = g_build_filename (bin, "qemu-img", NULL);
    write_script (wrapper, qemu_img_wrapper);
    help = g_build_filename (f->dir, "helper", NULL);
    write_script (help, helper);
    f->image = g_build_filename (f->dir, "disk.raw", NULL);
    cmd = g_strdup_printf ("/usr/bin/qemu-img create -q -f raw '%s' 1M", f->image);
    g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL));
    g_assert_cmpint (status, ==, 0);
    f->log = g_build_filename (f->dir, "log", NULL);
    f->helper_out = g_build_filename (f->dir, "helper-out", NULL);
    {
        ViInjectResult r = { (char *) RESULT_SUMMARY, TRUE };
        g_autofree char *text = vi_run_result_format (&r);

        g_assert_true (g_file_set_contents (f->helper_out, text, -1, NULL));
    }

    f->old_path = g_strdup (g_getenv ("PATH"));
    path = g_strdup_printf ("%s:%s", bin, f->old_path ? f->old_path : "/usr/bin:/bin");
    g_setenv ("PATH", path, TRUE);
    g_setenv ("VI_TEST_LOG", f->log, TRUE);
    g_setenv ("VI_TEST_HELPER_OUT", f->helper_out, TRUE);
    g_setenv ("VIRT_INJECT_GUESTFS_HELPER", help, TRUE);

    f->cfg = vi_config_new_default ();
    g_free (f->cfg->state_dir);
    f->cfg->state_dir = g_build_filename (f->dir, "state", NULL);
    g_free (f->cfg->run_dir);
    f->cfg->run_dir = g_build_filename (f->dir, "run", NULL);
    f->cfg->timeout = 60;
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->dir);

    (void) data;
    g_setenv ("PATH", f->old_path, TRUE);
    g_unsetenv ("VI_TEST_LOG");
    g_unsetenv ("VI_TEST_HELPER_OUT");
    g_unsetenv ("VI_TEST_CREATE_FAIL");
    g_unsetenv ("VIRT_INJECT_GUESTFS_HELPER");
    g_assert_cmpint (system (cmd), ==, 0);
    vi_config_free (f->cfg);
    g_free (f->dir);
    g_free (f->image);
    g_free (f->log);
    g_free (f->helper_out);
    g_free (f->old_path);
}

static ViSpec *
parse_spec (void)
{
    g_autoptr(GError) error = NULL;
    ViSpec *spec = vi_spec_parse (SPEC, strlen (SPEC), NULL, &error);

    g_assert_no_error (error);
    return spec;
}

static char *
read_log (const Fixture *f)
{
    char *text = NULL;

    if (!g_file_get_contents (f->log, &text, NULL, NULL))
        return g_strdup ("");
    return text;
}

/* create without a descriptor to hand down, commit with the image's lock
 * as its descriptor 3; the helper's result (the /.autorelabel flag with the
 * plan) comes through */
static void
test_create_and_commit (Fixture *f, gconstpointer data)
{
    g_autoptr(ViSpec) spec = parse_spec ();
    g_autoptr(ViTarget) target = vi_target_new (VI_TARGET_IMAGE, f->image);
    g_autoptr(GError) error = NULL;
    g_auto(ViInjectResult) result = { 0 };
    g_autofree char *log = NULL;
    g_auto(GStrv) lines = NULL;

    (void) data;
    target->format = g_strdup ("raw");
    g_assert_true (vi_image_inject (f->cfg, target, spec, FALSE, NULL, NULL, &result, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (result.summary, ==, RESULT_SUMMARY);
    g_assert_true (result.autorelabel);
    log = read_log (f);
    lines = g_strsplit (log, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 3);
    g_assert_cmpstr (lines[0], ==, "create -> none");
    g_assert_true (g_str_has_prefix (lines[1], "commit -> "));
    g_assert_true (g_str_has_suffix (lines[1], "/lock"));
    g_assert_true (g_str_has_prefix (lines[1] + strlen ("commit -> "), f->cfg->state_dir));
    g_assert_cmpstr (lines[2], ==, "");
}

/* a failing qemu-img: its exit status fails the injection, its stderr is
 * in the error, and nothing is committed */
static void
test_create_fails (Fixture *f, gconstpointer data)
{
    g_autoptr(ViSpec) spec = parse_spec ();
    g_autoptr(ViTarget) target = vi_target_new (VI_TARGET_IMAGE, f->image);
    g_autoptr(GError) error = NULL;
    g_autofree char *log = NULL;

    (void) data;
    target->format = g_strdup ("raw");
    g_setenv ("VI_TEST_CREATE_FAIL", "1", TRUE);
    g_assert_false (vi_image_inject (f->cfg, target, spec, FALSE, NULL, NULL, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_cmpstr (error->message, ==,
                     "creating the overlay (qemu-img create) failed: qemu-img: disk full");
    log = read_log (f);
    g_assert_cmpstr (log, ==, "create -> none\n");
}

static void
test_skip (void)
{
    g_test_skip ("needs /usr/bin/qemu-img");
}

/* a helper that exits 0 with a result we cannot read: an error, and the
 * overlay is not committed */
static void
test_unreadable_result (Fixture *f, gconstpointer data)
{
    static const char *const outputs[] = {
        "",
        "write       /etc/hostname 0644 0:0 (hostname)\n",      /* a bare plan */
        "{\"summary\": \"x\"}",                                   /* no flag */
        "{\"summary\": \"x\", \"autorelabel\": \"yes\"}",          /* not a boolean */
        "[\"x\", true]",
    };

    (void) data;
    for (gsize i = 0; i < G_N_ELEMENTS (outputs); i++) {
        g_autoptr(ViSpec) spec = parse_spec ();
        g_autoptr(ViTarget) target = vi_target_new (VI_TARGET_IMAGE, f->image);
        g_autoptr(GError) error = NULL;
        g_auto(ViInjectResult) result = { 0 };
        g_autofree char *log = NULL;

        target->format = g_strdup ("raw");
        g_assert_true (g_file_set_contents (f->helper_out, outputs[i], -1, NULL));
        (void) g_unlink (f->log);
        g_assert_false (vi_image_inject (f->cfg, target, spec, FALSE, NULL, NULL, &result,
                                         &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
        g_assert_true (g_str_has_prefix (error->message,
                                         "the libguestfs helper: unreadable injection result"));
        g_assert_null (result.summary);
        log = read_log (f);
        g_assert_cmpstr (log, ==, "create -> none\n");
    }
}

/* --verbose says where the configuration overrides libguestfs's
 * environment: the backend is always direct, the settings come from
 * [guestfs] force_tcg; an environment asking for the same is not named. */
typedef struct {
    const char *backend, *settings;     /* NULL: unset */
    gboolean force_tcg;
    const char *expected;               /* NULL: nothing overridden */
} EnvCase;

static const EnvCase env_cases[] = {
    { NULL, NULL, FALSE, NULL },
    { NULL, NULL, TRUE, NULL },
    { "direct", "force_tcg", TRUE, NULL },
    { "direct", "", FALSE, NULL },
    { NULL, "force_tcg:force_tcg:", TRUE, NULL },
    { "", NULL, FALSE, NULL },
    { NULL, "force_tcg", FALSE,
      "LIBGUESTFS_BACKEND_SETTINGS=force_tcg from the environment is overridden: the "
      "configuration decides the backend settings ([guestfs] force_tcg = false, from "
      "/etc/vi.conf), so the appliance gets no backend settings\n" },
    { NULL, "", TRUE,
      "LIBGUESTFS_BACKEND_SETTINGS= from the environment is overridden: the configuration "
      "decides the backend settings ([guestfs] force_tcg = true, from /etc/vi.conf), so the "
      "appliance gets force_tcg\n" },
    { NULL, "force_kvm", TRUE,
      "LIBGUESTFS_BACKEND_SETTINGS=force_kvm from the environment is overridden: the "
      "configuration decides the backend settings ([guestfs] force_tcg = true, from "
      "/etc/vi.conf), so the appliance gets force_tcg\n" },
    { "libvirt", "force_tcg", TRUE,
      "LIBGUESTFS_BACKEND=libvirt from the environment is overridden: the appliance always "
      "uses the direct backend (the libvirt backend would call back into libvirtd, a deadlock "
      "in the hook)\n" },
};

static void
test_env_overrides (gconstpointer data)
{
    const EnvCase *c = data;
    g_autoptr(ViConfig) cfg = vi_config_new_default ();
    g_auto(GStrv) envp = g_new0 (char *, 1);
    g_autofree char *got = NULL;

    cfg->force_tcg = c->force_tcg;
    cfg->path = g_strdup ("/etc/vi.conf");
    envp = g_environ_setenv (envp, "PATH", "/usr/bin", TRUE);
    if (c->backend)
        envp = g_environ_setenv (envp, "LIBGUESTFS_BACKEND", c->backend, TRUE);
    if (c->settings)
        envp = g_environ_setenv (envp, "LIBGUESTFS_BACKEND_SETTINGS", c->settings, TRUE);
    got = vi_image_env_overrides (cfg, (const char *const *) envp);
    g_assert_cmpstr (got, ==, c->expected);
}

/* Without a configuration file the line says the default decides. */
static void
test_env_overrides_default (void)
{
    g_autoptr(ViConfig) cfg = vi_config_new_default ();
    const char *const envp[] = { "LIBGUESTFS_BACKEND_SETTINGS=force_tcg", NULL };
    g_autofree char *got = vi_image_env_overrides (cfg, envp);

    g_assert_nonnull (strstr (got, "([guestfs] force_tcg = false, the default: no configuration "
                                   "file), so the appliance gets no backend settings"));
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS (env_cases); i++) {
        g_autofree char *name = g_strdup_printf ("/image/env-overrides/%" G_GSIZE_FORMAT, i);
        g_test_add_data_func (name, &env_cases[i], test_env_overrides);
    }
    g_test_add_func ("/image/env-overrides/default", test_env_overrides_default);
    if (!g_file_test ("/usr/bin/qemu-img", G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_add_func ("/image/qemu-img", test_skip);
        return g_test_run ();
    }
    g_test_add ("/image/create-and-commit", Fixture, NULL, fixture_set_up,
                test_create_and_commit, fixture_tear_down);
    g_test_add ("/image/create-fails", Fixture, NULL, fixture_set_up, test_create_fails,
                fixture_tear_down);
    g_test_add ("/image/unreadable-result", Fixture, NULL, fixture_set_up,
                test_unreadable_result, fixture_tear_down);
    return g_test_run ();
}
