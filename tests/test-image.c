/* test-image.c: vi-image's host side without an appliance.
 *
 * A stand-in for the libguestfs helper ($VIRT_INJECT_GUESTFS_HELPER) and a
 * wrapper around the real qemu-img first on PATH, which logs each call and
 * what its descriptor 3 is: the overlay is created and committed for real,
 * the commit holding the image's lock, and a failing qemu-img is reported
 * with its stderr; the helper's result (vi_child_result_format()) crosses
 * back, its /.autorelabel flag with it, and one we cannot read is an error.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "vi-crypt.h"
#include "vi-error.h"
#include "vi-image.h"

#define SPEC \
    "<vi:inject xmlns:vi='http://virt-inject.org/xmlns/libvirt/domain/1.0'>" \
    "<vi:hostname>h1</vi:hostname></vi:inject>"

/* the wrapper: "CMD -> FD3 FD4" per call into $VI_TEST_LOG; the command
 * named by VI_TEST_FAIL fails with a message */
static const char qemu_img_wrapper[] =
    "#!/bin/sh\n"
    "printf '%s -> %s %s\\n' \"$1\" \"$(readlink /proc/self/fd/3 || echo none)\" "
    "\"$(readlink /proc/self/fd/4 || echo none)\" >> \"$VI_TEST_LOG\"\n"
    "if [ \"$1\" = \"${VI_TEST_FAIL:-}\" ]; then\n"
    "    echo 'qemu-img: disk full' >&2; exit 1\n"
    "fi\n"
    "exec /usr/bin/qemu-img \"$@\"\n";

/* the helper: writes 4 KiB of 0x5a at offset 0 of the overlay (--add
 * PATH), as the appliance would; VI_TEST_SWAP=FILE then renames the
 * directory of $VI_TEST_SWAP_IMAGE away (the image's own ctime stays) and
 * puts a symlink to FILE where the image was; VI_TEST_TOUCH changes the
 * image (something else writing it); its arguments one a line to
 * $VI_TEST_HELPER_OUT.args and, VI_TEST_ARGS=FILE, to FILE; then
 * $VI_TEST_HELPER_OUT on stdout, exit 0 */
static const char helper[] =
    "#!/bin/sh\n"
    "printf '%s\\n' \"$@\" > \"$VI_TEST_HELPER_OUT.args\"\n"
    "if [ -n \"${VI_TEST_ARGS:-}\" ]; then printf '%s\\n' \"$@\" >\"$VI_TEST_ARGS\"; fi\n"
    "qemu-io -f qcow2 -c 'write -P 0x5a 0 4k' \"$2\" >/dev/null || exit 2\n"
    "if [ -n \"${VI_TEST_SWAP:-}\" ]; then\n"
    "    d=$(dirname \"$VI_TEST_SWAP_IMAGE\")\n"
    "    mv \"$d\" \"$d.orig\" && mkdir \"$d\" && ln -s \"$VI_TEST_SWAP\" \"$VI_TEST_SWAP_IMAGE\"\n"
    "fi\n"
    "if [ -n \"${VI_TEST_TOUCH:-}\" ]; then\n"
    "    printf x | dd of=\"$VI_TEST_IMAGE\" bs=1 seek=8192 conv=notrunc 2>/dev/null\n"
    "fi\n"
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
        g_autofree char *text = vi_child_result_format (&r);

        g_assert_true (g_file_set_contents (f->helper_out, text, -1, NULL));
    }

    f->old_path = g_strdup (g_getenv ("PATH"));
    path = g_strdup_printf ("%s:%s", bin, f->old_path ? f->old_path : "/usr/bin:/bin");
    g_setenv ("PATH", path, TRUE);
    g_setenv ("VI_TEST_LOG", f->log, TRUE);
    g_setenv ("VI_TEST_HELPER_OUT", f->helper_out, TRUE);
    g_setenv ("VIRT_INJECT_GUESTFS_HELPER", help, TRUE);
    g_setenv ("VI_TEST_IMAGE", f->image, TRUE);

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
    g_unsetenv ("VI_TEST_FAIL");
    g_unsetenv ("VI_TEST_SWAP");
    g_unsetenv ("VI_TEST_TOUCH");
    g_unsetenv ("VI_TEST_IMAGE");
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

/* Whether the first 4 KiB of the raw image @path hold the helper's 0x5a. */
static gboolean
image_has_data (const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    g_assert_true (g_file_get_contents (path, &data, &len, NULL));
    g_assert_cmpuint (len, >=, 4096);
    for (gsize i = 0; i < 4096; i++)
        if ((guchar) data[i] != 0x5a)
            return FALSE;
    return TRUE;
}

static char *
canon (const char *path)
{
    char *real = realpath (path, NULL);
    char *ret = g_strdup (real ? real : path);

    free (real);
    return ret;
}

static char *
work_dir (const Fixture *f)
{
    g_autofree char *key = g_strdup_printf ("file|%s|", f->image);
    g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);

    return g_build_filename (f->cfg->state_dir, "work", sum, NULL);
}

static gboolean
inject (Fixture *f, gboolean dry_run, ViInjectResult *result, GError **error)
{
    g_autoptr(ViSpec) spec = parse_spec ();
    g_autoptr(ViTarget) target = vi_target_new (VI_TARGET_IMAGE, f->image);

    target->format = g_strdup ("raw");
    target->domain_uuid = g_strdup ("8c0d2f4e-6a57-4b0e-9d7e-3f1a2b3c4d5e");
    return vi_image_inject (f->cfg, target, spec, NULL, dry_run, NULL, NULL, result, error);
}

/* create without a descriptor to hand down; rebase and commit with the
 * image (the descriptor opened at the start) as descriptor 3 and the
 * image's lock as 4; the appliance's write reaches the image through the
 * overlay's backing (our descriptor); the helper's result (the
 * /.autorelabel flag with the plan) comes through */
static void
test_create_and_commit (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_auto(ViInjectResult) result = { 0 };
    g_autofree char *log = NULL, *want = NULL, *image = canon (f->image);
    g_autofree char *work = work_dir (f);
    g_autofree char *lock = g_build_filename (work, "lock", NULL);

    (void) data;
    g_assert_false (image_has_data (f->image));
    g_assert_true (inject (f, FALSE, &result, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (result.summary, ==, RESULT_SUMMARY);
    g_assert_true (result.autorelabel);
    g_assert_null (result.notes);
    log = read_log (f);
    want = g_strdup_printf ("create -> none none\nrebase -> %s %s\ncommit -> %s %s\n", image,
                            lock, image, lock);
    g_assert_cmpstr (log, ==, want);
    g_assert_true (image_has_data (f->image));
    {
        /* the domain's UUID reaches the helper (<identity reset=>) */
        g_autofree char *argsp = g_strconcat (f->helper_out, ".args", NULL);
        g_autofree char *args = NULL;

        g_assert_true (g_file_get_contents (argsp, &args, NULL, NULL));
        g_assert_nonnull (strstr (args, "\n--domain-uuid=8c0d2f4e-6a57-4b0e-9d7e-3f1a2b3c4d5e\n"));
    }
}

/* The guest record's key reaches the helper, and the helper's note comes
 * back ("already applied": the helper changed nothing). */
static void
test_record_key (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_auto(ViInjectResult) result = { 0 };
    g_autoptr(ViSpec) spec = parse_spec ();
    g_autoptr(ViTarget) target = vi_target_new (VI_TARGET_IMAGE, f->image);
    g_autofree char *args_path = g_build_filename (f->dir, "args", NULL);
    g_autofree char *args = NULL;
    ViRecordKey key = { "ab12", TRUE };
    ViInjectResult r = { (char *) "", FALSE, 0, 0, (char *) VI_INJECT_ALREADY_NOTE };
    g_autofree char *text = vi_child_result_format (&r);

    (void) data;
    g_assert_true (g_file_set_contents (f->helper_out, text, -1, NULL));
    target->format = g_strdup ("raw");
    g_setenv ("VI_TEST_ARGS", args_path, TRUE);
    g_assert_true (vi_image_inject (f->cfg, target, spec, &key, FALSE, NULL, NULL, &result, &error));
    g_unsetenv ("VI_TEST_ARGS");
    g_assert_no_error (error);
    g_assert_cmpstr (result.notes, ==, VI_INJECT_ALREADY_NOTE);
    g_assert_true (g_file_get_contents (args_path, &args, NULL, NULL));
    g_assert_nonnull (strstr (args, "\n--record-digest=ab12\n--record-once\n--spec\n"));
}

/* The image's path swapped for a symlink to another disk between the
 * launch and the commit: the commit goes through the descriptor opened at
 * the start, into the original inode; the other disk is untouched. */
static void
test_swap_before_commit (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *sub = g_build_filename (f->dir, "sub", NULL);
    g_autofree char *image = g_build_filename (sub, "disk.raw", NULL);
    g_autofree char *orig = g_build_filename (f->dir, "sub.orig", "disk.raw", NULL);
    g_autofree char *other = g_build_filename (f->dir, "other.raw", NULL);
    g_autofree char *cmd = g_strdup_printf ("sh -c \"mkdir '%s' && /usr/bin/qemu-img create -q "
                                            "-f raw '%s' 1M && /usr/bin/qemu-img create -q -f raw "
                                            "'%s' 1M\"", sub, image, other);
    g_autoptr(ViSpec) spec = parse_spec ();
    g_autoptr(ViTarget) target = vi_target_new (VI_TARGET_IMAGE, image);
    int status = -1;

    (void) data;
    g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL));
    g_assert_cmpint (status, ==, 0);
    target->format = g_strdup ("raw");
    g_setenv ("VI_TEST_SWAP", other, TRUE);
    g_setenv ("VI_TEST_SWAP_IMAGE", image, TRUE);
    if (!vi_image_inject (f->cfg, target, spec, NULL, FALSE, NULL, NULL, NULL, &error))
        g_error ("%s", error->message);
    g_unsetenv ("VI_TEST_SWAP_IMAGE");
    g_assert_true (g_file_test (image, G_FILE_TEST_IS_SYMLINK));    /* the swap happened */
    g_assert_true (image_has_data (orig));
    g_assert_false (image_has_data (other));
}

/* Something else writes the image while the appliance runs: the overlay is
 * stale, nothing is committed, the image keeps the other writer's data. */
static void
test_image_changed_during (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *log = NULL;

    (void) data;
    g_setenv ("VI_TEST_TOUCH", "1", TRUE);
    g_assert_false (inject (f, FALSE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "changed while the injection ran"));
    log = read_log (f);
    g_assert_null (strstr (log, "commit"));
    g_assert_false (image_has_data (f->image));
}

/* A commit that fails once started: VI_ERROR_COMMIT_PENDING (which fails
 * a start whatever on-error says); a dry run then refuses and writes
 * nothing; the next real injection rolls the commit forward first, says
 * so, then injects. */
static void
test_commit_pending (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_auto(ViInjectResult) result = { 0 };
    g_autofree char *log = NULL;
    g_autofree char *before = NULL, *after = NULL;
    gsize len;

    (void) data;
    g_setenv ("VI_TEST_FAIL", "commit", TRUE);
    g_assert_false (inject (f, FALSE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_COMMIT_PENDING);
    g_assert_nonnull (strstr (error->message, "no guest may boot on it"));
    g_assert_cmpint (vi_error_exit_code (error), ==, 2);
    g_clear_error (&error);
    g_unsetenv ("VI_TEST_FAIL");

    /* a dry run: refused, no qemu-img run at all, the image unchanged */
    g_assert_true (g_file_get_contents (f->image, &before, &len, NULL));
    (void) g_unlink (f->log);
    g_assert_false (inject (f, TRUE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_COMMIT_PENDING);
    g_assert_nonnull (strstr (error->message, "without --dry-run finishes it"));
    g_clear_error (&error);
    log = read_log (f);
    g_assert_cmpstr (log, ==, "");
    g_assert_true (g_file_get_contents (f->image, &after, &len, NULL));
    g_assert_true (memcmp (before, after, len) == 0);

    /* the next injection: roll forward, then its own */
    g_assert_true (inject (f, FALSE, &result, &error));
    g_assert_no_error (error);
    g_assert_nonnull (strstr (result.notes, "roll forward"));
    g_clear_pointer (&log, g_free);
    log = read_log (f);
    g_assert_true (g_str_has_prefix (log, "rebase -> "));
    g_assert_nonnull (strstr (log, "\ncommit -> "));
    g_assert_nonnull (strstr (log, "\ncreate -> none none\n"));
    g_assert_true (image_has_data (f->image));
}

/* What an earlier injection left, by the state it recorded: a finished
 * overlay ("ready") is committed onto the unchanged image and discarded
 * when the image changed since; an unfinished one ("made") is always
 * discarded.  Each says why in the notes.  The overlays are made here with
 * the helper's 0x5a data; the injection's own helper then writes none. */
typedef struct {
    const char *state;
    gboolean change_image;
    gboolean committed;
    const char *note;
} LeftCase;

static const LeftCase left_cases[] = {
    { "ready", FALSE, TRUE, "committed the finished overlay" },
    { "ready", TRUE, FALSE, "the image changed since it was made" },
    { "made", FALSE, FALSE, "did not finish (never committed)" },
};

static void
test_left_over (Fixture *f, gconstpointer data)
{
    const LeftCase *c = data;
    g_autofree char *work = work_dir (f);
    g_autofree char *overlay = g_build_filename (work, "overlay.qcow2", NULL);
    g_autofree char *intent = g_build_filename (work, "intent.json", NULL);
    g_autofree char *cmd = NULL, *text = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(ViInjectResult) result = { 0 };
    struct stat st;
    int status = -1;

    g_assert_cmpint (g_mkdir_with_parents (work, 0700), ==, 0);
    cmd = g_strdup_printf ("sh -c \"/usr/bin/qemu-img create -q -f qcow2 -F raw -b '%s' '%s' && "
                           "qemu-io -f qcow2 -c 'write -P 0x5a 0 4k' '%s' >/dev/null\"",
                           f->image, overlay, overlay);
    g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL));
    g_assert_cmpint (status, ==, 0);
    g_assert_cmpint (stat (f->image, &st), ==, 0);
    text = g_strdup_printf ("{\"version\": 1, \"state\": \"%s\", \"image\": {\"dev\": %"
                            G_GUINT64_FORMAT ", \"ino\": %" G_GUINT64_FORMAT ", \"size\": %"
                            G_GINT64_FORMAT ", \"mtime_ns\": %" G_GINT64_FORMAT
                            ", \"ctime_ns\": %" G_GINT64_FORMAT "}}", c->state,
                            (guint64) st.st_dev, (guint64) st.st_ino, (gint64) st.st_size,
                            (gint64) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
                            (gint64) st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
    g_assert_true (g_file_set_contents (intent, text, -1, NULL));
    if (c->change_image) {
        g_autofree char *touch = g_strdup_printf ("touch '%s'", f->image);

        g_usleep (20 * 1000);
        g_assert_cmpint (system (touch), ==, 0);
    }
    /* the injection's own helper writes nothing this time */
    {
        g_autofree char *help = g_build_filename (f->dir, "helper-quiet", NULL);
        g_autofree char *script = g_strdup_printf ("#!/bin/sh\nexec cat '%s'\n", f->helper_out);
        write_script (help, script);
        g_setenv ("VIRT_INJECT_GUESTFS_HELPER", help, TRUE);
    }
    g_assert_true (inject (f, FALSE, &result, &error));
    g_assert_no_error (error);
    g_assert_nonnull (result.notes);
    if (strstr (result.notes, c->note) == NULL)
        g_error ("notes lack '%s': %s", c->note, result.notes);
    g_assert_cmpint (image_has_data (f->image), ==, c->committed);
    g_assert_false (g_file_test (overlay, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (intent, G_FILE_TEST_EXISTS));
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
    g_setenv ("VI_TEST_FAIL", "create", TRUE);
    g_assert_false (vi_image_inject (f->cfg, target, spec, NULL, FALSE, NULL, NULL, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
    g_assert_cmpstr (error->message, ==,
                     "creating the overlay (qemu-img create) failed: qemu-img: disk full");
    log = read_log (f);
    g_assert_cmpstr (log, ==, "create -> none none\n");
    g_assert_false (image_has_data (f->image));
}

/* Without the libguestfs helper (Debian: the package virt-inject-guestfs
 * not installed), the error names the package, and nothing is run. */
static void
test_helper_missing (Fixture *f, gconstpointer data)
{
    g_autofree char *missing = g_build_filename (f->dir, "no-such-helper", NULL);
    g_autofree char *log = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *expected = NULL;

    (void) data;
    g_setenv ("VIRT_INJECT_GUESTFS_HELPER", missing, TRUE);
    for (int dry = 0; dry <= 1; dry++) {
        g_assert_false (inject (f, dry, NULL, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_UNSUPPORTED);
        g_clear_pointer (&expected, g_free);
        expected = g_strdup_printf ("disk images are injected by the libguestfs helper %s, which "
                                    "is not installed: install the package virt-inject-guestfs "
                                    "(apt install virt-inject-guestfs)", missing);
        g_assert_cmpstr (error->message, ==, expected);
        g_clear_error (&error);
    }
    log = read_log (f);
    g_assert_cmpstr (log, ==, "");
    g_assert_false (image_has_data (f->image));
}

/* ---- stages ------------------------------------------------------------- */

#define UUID "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
#define DIGEST_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static ViTarget *
raw_target (const Fixture *f)
{
    ViTarget *target = vi_target_new (VI_TARGET_IMAGE, f->image);

    target->format = g_strdup ("raw");
    return target;
}

static gboolean
stage (Fixture *f, const ViSpec *spec, const char *digest, GError **error)
{
    g_autoptr(ViTarget) target = raw_target (f);

    return vi_image_stage (f->cfg, target, spec, UUID, "web1", digest, NULL, NULL, NULL, error);
}

static void
stage_ok (Fixture *f, const char *digest)
{
    g_autoptr(ViSpec) spec = parse_spec ();
    g_autoptr(GError) error = NULL;

    if (!stage (f, spec, digest, &error))
        g_error ("stage: %s", error->message);
}

/* The stage's commit at a start: NULL when committed, else the reason. */
static char *
commit_stage (Fixture *f, const char *digest)
{
    g_autoptr(ViTarget) target = raw_target (f);
    g_autoptr(GError) error = NULL;
    char *reason = NULL;

    if (!vi_image_stage_commit (f->cfg, target, UUID, digest, &reason, &error))
        g_error ("stage commit: %s", error->message);
    return reason;
}

static char *
stage_file (const Fixture *f, const char *name)
{
    return g_build_filename (f->cfg->state_dir, "stage", UUID, name, NULL);
}

/* Staged, then started: the stage leaves the image alone, holds a finished
 * overlay and its manifest; the start only commits it (no helper: no
 * create), through the image's descriptor, and nothing is left. */
static void
test_stage_then_start (Fixture *f, gconstpointer data)
{
    g_autofree char *image = canon (f->image);
    g_autofree char *work = work_dir (f);
    g_autofree char *lock = g_build_filename (work, "lock", NULL);
    g_autofree char *manifest = stage_file (f, "manifest.json");
    g_autofree char *overlay = stage_file (f, "overlay.qcow2");
    g_autofree char *dir = g_build_filename (f->cfg->state_dir, "stage", UUID, NULL);
    g_autofree char *log = NULL, *want = NULL, *status = NULL, *reason = NULL;

    (void) data;
    stage_ok (f, DIGEST_A);
    g_assert_false (image_has_data (f->image));
    g_assert_true (g_file_test (manifest, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (overlay, G_FILE_TEST_IS_REGULAR));
    g_assert_true (vi_image_stage_exists (f->cfg, UUID));
    log = read_log (f);
    g_assert_cmpstr (log, ==, "create -> none none\nrebase -> none none\n");
    status = vi_image_stage_status (f->cfg, "web1");
    g_assert_true (g_str_has_prefix (status, UUID " web1: request aaaaaaaaaaaa staged on "));
    g_assert_nonnull (strstr (status, dir));

    (void) g_unlink (f->log);
    reason = commit_stage (f, DIGEST_A);
    g_assert_null (reason);
    g_assert_true (image_has_data (f->image));
    g_clear_pointer (&log, g_free);
    log = read_log (f);
    want = g_strdup_printf ("rebase -> %s %s\ncommit -> %s %s\n", image, lock, image, lock);
    g_assert_cmpstr (log, ==, want);
    g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
    g_assert_false (vi_image_stage_exists (f->cfg, UUID));
}

/* The disk changed after the stage: discarded, never committed onto it, and
 * the full injection that follows is right.  Control: the same stage
 * unchanged commits (test_stage_then_start). */
static void
test_stage_disk_changed (Fixture *f, gconstpointer data)
{
    g_autofree char *reason = NULL;
    g_autoptr(GError) error = NULL;

    (void) data;
    stage_ok (f, DIGEST_A);
    g_usleep (20 * 1000);
    g_assert_cmpint (system ("sh -c 'printf y | dd of=\"$VI_TEST_IMAGE\" bs=1 seek=9000 "
                             "conv=notrunc 2>/dev/null'"), ==, 0);
    reason = commit_stage (f, DIGEST_A);
    g_assert_nonnull (reason);
    g_assert_nonnull (strstr (reason, "changed since it was staged"));
    g_assert_false (image_has_data (f->image));
    g_assert_false (vi_image_stage_exists (f->cfg, UUID));
    g_assert_true (inject (f, FALSE, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (image_has_data (f->image));
}

/* Another request (or the same with a rotated secret: another digest) than
 * the one staged: discarded.  The secret case computes both digests as the
 * hook does; its control is the same secret, whose stage commits. */
static void
test_stage_request_changed (Fixture *f, gconstpointer data)
{
    g_autofree char *reason = NULL;

    (void) data;
    stage_ok (f, DIGEST_A);
    reason = commit_stage (f, DIGEST_B);
    g_assert_nonnull (reason);
    g_assert_nonnull (strstr (reason, "the request changed (staged aaaaaaaaaaaa, now bbbbbbbbbbbb)"));
    g_assert_false (image_has_data (f->image));
    g_assert_false (vi_image_stage_exists (f->cfg, UUID));
}

static void
test_stage_secret_changed (Fixture *f, gconstpointer data)
{
    static const char xml[] =
        "<vi:inject xmlns:vi='http://virt-inject.org/xmlns/libvirt/domain/1.0'>"
        "<vi:user name='root'><vi:password secret='s1'/></vi:user></vi:inject>";
    g_autoptr(ViSpec) spec = vi_spec_parse (xml, strlen (xml), NULL, NULL);
    g_autofree char *secrets = g_build_filename (f->dir, "secrets", NULL);
    g_autofree char *secret = g_build_filename (secrets, "s1", NULL);
    g_autofree char *key = g_build_filename (f->dir, "digest.key", NULL);
    g_autofree char *d1 = NULL, *d2 = NULL, *again = NULL, *reason = NULL;
    g_autoptr(GError) error = NULL;

    (void) data;
    g_assert_nonnull (spec);
    g_free (f->cfg->secrets_dir);
    f->cfg->secrets_dir = g_strdup (secrets);
    g_assert_cmpint (g_mkdir (secrets, 0700), ==, 0);
    g_assert_true (g_file_set_contents_full (secret, "first\n", -1, G_FILE_SET_CONTENTS_NONE,
                                             0600, NULL));
    d1 = vi_request_digest (spec, secrets, key, &error);
    g_assert_no_error (error);

    /* control: the secret unchanged, the stage commits */
    g_assert_true (stage (f, spec, d1, &error));
    g_assert_no_error (error);
    again = vi_request_digest (spec, secrets, key, &error);
    reason = commit_stage (f, again);
    g_assert_null (reason);
    g_assert_true (image_has_data (f->image));

    /* rotated after the stage */
    g_assert_true (stage (f, spec, d1, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_set_contents_full (secret, "second\n", -1, G_FILE_SET_CONTENTS_NONE,
                                             0600, NULL));
    d2 = vi_request_digest (spec, secrets, key, &error);
    g_assert_no_error (error);
    reason = commit_stage (f, d2);
    g_assert_nonnull (reason);
    g_assert_nonnull (strstr (reason, "the request changed"));
    g_assert_false (vi_image_stage_exists (f->cfg, UUID));
}

/* The commit of a stage cut short: the start fails (COMMIT_PENDING, whatever
 * on-error says), and the next injection rolls it forward, as any other. */
static void
test_stage_commit_killed (Fixture *f, gconstpointer data)
{
    g_autoptr(ViTarget) target = raw_target (f);
    g_autoptr(GError) error = NULL;
    g_auto(ViInjectResult) result = { 0 };
    g_autofree char *reason = NULL, *log = NULL;

    (void) data;
    stage_ok (f, DIGEST_A);
    g_setenv ("VI_TEST_FAIL", "commit", TRUE);
    g_assert_false (vi_image_stage_commit (f->cfg, target, UUID, DIGEST_A, &reason, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_COMMIT_PENDING);
    g_assert_null (reason);
    g_clear_error (&error);
    g_unsetenv ("VI_TEST_FAIL");
    g_assert_false (vi_image_stage_exists (f->cfg, UUID));

    /* the injection at the next start: roll forward first (the quiet
     * helper writes nothing itself: the data is the stage's) */
    {
        g_autofree char *help = g_build_filename (f->dir, "helper-quiet", NULL);
        g_autofree char *script = g_strdup_printf ("#!/bin/sh\nexec cat '%s'\n", f->helper_out);

        write_script (help, script);
        g_setenv ("VIRT_INJECT_GUESTFS_HELPER", help, TRUE);
    }
    (void) g_unlink (f->log);
    g_assert_true (inject (f, FALSE, &result, &error));
    g_assert_no_error (error);
    g_assert_nonnull (strstr (result.notes, "roll forward"));
    log = read_log (f);
    g_assert_true (g_str_has_prefix (log, "rebase -> "));
    g_assert_true (image_has_data (f->image));
}

/* What counts as no stage: each case spoils one thing after a good stage
 * and must be discarded with its reason, the image untouched.  The first
 * case spoils nothing: it commits (the control). */
typedef struct {
    const char *name;
    const char *shell;          /* run with $M the manifest, $O the overlay, $I the image */
    const char *reason;         /* NULL: committed */
} SpoilCase;

static const SpoilCase spoil_cases[] = {
    { "intact", "true", NULL },
    { "truncated", "head -c 40 \"$M\" > \"$M.t\" && mv \"$M.t\" \"$M\"",
      "truncated or not JSON" },
    { "empty", ": > \"$M\"", "truncated or not JSON" },
    { "other-version", "sed -i 's/\"version\" : 1/\"version\" : 2/' \"$M\"",
      "stage-format version 2, not 1" },
    { "unknown-member", "sed -i 's/^{/{\"extra\": 1,/' \"$M\"", "not ours" },
    { "wrong-type", "sed -i 's/\"dev\" : \\([0-9]*\\)/\"dev\" : \"\\1\"/' \"$M\"", "wrong type" },
    { "oversize", "printf '%70000s' ' ' >> \"$M\"", "larger than 65536 bytes" },
    { "no-manifest", "rm \"$M\"", "it has no manifest" },
    { "no-overlay", "rm \"$O\"", "overlay is missing" },
    { "backing-elsewhere",
      "/usr/bin/qemu-img create -q -f raw \"$I.other\" 1M && "
      "/usr/bin/qemu-img rebase -q -u -F raw -b \"$I.other\" \"$O\"",
      "its overlay's backing is " },
    { "disk-path", "sed -i 's|disk.raw|disk2.raw|' \"$M\"", "the domain's disk is now" },
    { "other-domain", "sed -i 's/6f1c2a9e-/7f1c2a9e-/' \"$M\"", "of another domain (7f1c2a9e-" },
    { "config", "sed -i 's/\"file_max\" : [0-9]*/\"file_max\" : 7/' \"$M\"",
      "the configuration that shaped it changed" },
};

static void
test_stage_spoiled (Fixture *f, gconstpointer data)
{
    const SpoilCase *c = data;
    g_autofree char *manifest = stage_file (f, "manifest.json");
    g_autofree char *overlay = stage_file (f, "overlay.qcow2");
    g_autofree char *reason = NULL;
    g_autofree char *before = NULL;

    stage_ok (f, DIGEST_A);
    g_setenv ("M", manifest, TRUE);
    g_setenv ("O", overlay, TRUE);
    g_setenv ("I", f->image, TRUE);
    {
        const char *argv[] = { "/bin/sh", "-ec", c->shell, NULL };
        int status = -1;

        g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                     NULL, NULL, &status, NULL));
        g_assert_cmpint (status, ==, 0);
    }
    g_unsetenv ("M");
    g_unsetenv ("O");
    g_unsetenv ("I");
    if (c->reason) {
        before = vi_image_stage_status (f->cfg, UUID);
        g_assert_true (g_str_has_prefix (before, UUID));
    }
    reason = commit_stage (f, DIGEST_A);
    if (c->reason == NULL) {
        g_assert_null (reason);
        g_assert_true (image_has_data (f->image));
    } else {
        g_assert_nonnull (reason);
        if (strstr (reason, c->reason) == NULL)
            g_error ("reason lacks '%s': %s", c->reason, reason);
        g_assert_false (image_has_data (f->image));
    }
    g_assert_false (vi_image_stage_exists (f->cfg, UUID));
}

/* Only local file-backed raw/qcow2 disks without a backing file are
 * staged; the others are refused with the reason, and leave no stage. */
typedef struct {
    const char *name;
    ViTargetKind kind;
    const char *format;
    gboolean block, network, backing;
    const char *message;        /* NULL: staged (the controls) */
} RefuseCase;

static const RefuseCase refuse_cases[] = {
    { "raw", VI_TARGET_IMAGE, "raw", FALSE, FALSE, FALSE, NULL },
    { "qcow2", VI_TARGET_IMAGE, "qcow2", FALSE, FALSE, FALSE, NULL },
    { "qcow2-backing", VI_TARGET_IMAGE, "qcow2", FALSE, FALSE, TRUE, "it has a backing file" },
    { "block", VI_TARGET_IMAGE, "raw", TRUE, FALSE, FALSE, "a block device's changes" },
    { "network", VI_TARGET_IMAGE, "raw", FALSE, TRUE, FALSE, "a network disk" },
    { "lxc", VI_TARGET_ROOTFS_IMAGE, "raw", FALSE, FALSE, FALSE, "an LXC root" },
    { "vmdk", VI_TARGET_IMAGE, "vmdk", FALSE, FALSE, FALSE, "only raw and qcow2" },
};

static void
test_stage_refused (Fixture *f, gconstpointer data)
{
    const RefuseCase *c = data;
    g_autofree char *path = g_build_filename (f->dir, "disk.img", NULL);
    g_autofree char *cmd = NULL;
    g_autoptr(ViTarget) target = vi_target_new (c->kind, path);
    g_autoptr(ViSpec) spec = parse_spec ();
    g_autoptr(GError) error = NULL;

    if (c->backing)
        cmd = g_strdup_printf ("/usr/bin/qemu-img create -q -f qcow2 -F raw -b '%s' '%s'",
                               f->image, path);
    else
        cmd = g_strdup_printf ("/usr/bin/qemu-img create -q -f %s '%s' 1M",
                               g_str_equal (c->format, "qcow2") ? "qcow2" : "raw", path);
    g_assert_cmpint (system (cmd), ==, 0);
    target->format = g_strdup (c->format);
    target->is_block = c->block;
    if (c->network) {
        target->protocol = g_strdup ("nbd");
        g_ptr_array_add (target->servers, g_strdup ("tcp:192.0.2.1:10809"));
    }
    if (c->message == NULL) {
        g_assert_true (vi_image_stage (f->cfg, target, spec, UUID, "web1", DIGEST_A, NULL, NULL,
                                       NULL, &error));
        g_assert_no_error (error);
        g_assert_true (vi_image_stage_exists (f->cfg, UUID));
        return;
    }
    g_assert_false (vi_image_stage (f->cfg, target, spec, UUID, "web1", DIGEST_A, NULL, NULL,
                                    NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_TARGET);
    if (strstr (error->message, c->message) == NULL)
        g_error ("'%s' lacks '%s'", error->message, c->message);
    g_assert_nonnull (strstr (error->message, "the hook injects it at start"));
    g_assert_false (vi_image_stage_exists (f->cfg, UUID));
}

/* `stage --status` and `hook forget`: by name or UUID, sizes shown,
 * dropped entirely; another domain's stage is left alone. */
static void
test_stage_status_drop (Fixture *f, gconstpointer data)
{
    g_autofree char *status = NULL, *none = NULL;

    (void) data;
    stage_ok (f, DIGEST_A);
    none = vi_image_stage_status (f->cfg, "other");
    g_assert_cmpstr (none, ==, "");
    g_assert_cmpuint (vi_image_stage_drop (f->cfg, "other"), ==, 0);
    g_assert_true (vi_image_stage_exists (f->cfg, UUID));
    status = vi_image_stage_status (f->cfg, NULL);
    g_assert_true (g_str_has_suffix (status, "B\n") || g_str_has_suffix (status, "bytes\n"));
    g_assert_cmpuint (vi_image_stage_drop (f->cfg, "web1"), ==, 1);
    g_assert_false (vi_image_stage_exists (f->cfg, UUID));
    g_assert_cmpuint (vi_image_stage_drop (f->cfg, UUID), ==, 0);
}

/* An injection's commit left pending after the stage was made: the start
 * rolls it forward first, which changes the disk, so the stage is
 * discarded, and the reason says both. */
static void
test_stage_after_pending (Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *reason = NULL;

    (void) data;
    stage_ok (f, DIGEST_A);
    g_setenv ("VI_TEST_FAIL", "commit", TRUE);
    g_assert_false (inject (f, FALSE, NULL, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_COMMIT_PENDING);
    g_unsetenv ("VI_TEST_FAIL");
    g_assert_true (vi_image_stage_exists (f->cfg, UUID));
    reason = commit_stage (f, DIGEST_A);
    g_assert_nonnull (reason);
    if (!strstr (reason, "(roll forward); the stage was discarded: the disk ") ||
        !strstr (reason, "changed since it was staged"))
        g_error ("reason: %s", reason);
    g_assert_true (image_has_data (f->image));
    g_assert_false (vi_image_stage_exists (f->cfg, UUID));
}

static const struct {
    const char *path;
    void (*func) (Fixture *f, gconstpointer data);
} stage_tests[] = {
    { "/image/stage/then-start", test_stage_then_start },
    { "/image/stage/disk-changed", test_stage_disk_changed },
    { "/image/stage/request-changed", test_stage_request_changed },
    { "/image/stage/secret-changed", test_stage_secret_changed },
    { "/image/stage/commit-killed", test_stage_commit_killed },
    { "/image/stage/after-a-pending-commit", test_stage_after_pending },
    { "/image/stage/status-drop", test_stage_status_drop },
};

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
        g_assert_false (vi_image_inject (f->cfg, target, spec, NULL, FALSE, NULL, NULL, &result,
                                         &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_FAILED);
        g_assert_true (g_str_has_prefix (error->message, "the injection's process ended "
                                         "(status 0) without a readable result"));
        g_assert_null (result.summary);
        log = read_log (f);
        g_assert_cmpstr (log, ==, "create -> none none\n");
        g_assert_false (image_has_data (f->image));
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
    g_test_add ("/image/record-key", Fixture, NULL, fixture_set_up, test_record_key,
                fixture_tear_down);
    g_test_add ("/image/create-fails", Fixture, NULL, fixture_set_up, test_create_fails,
                fixture_tear_down);
    g_test_add ("/image/helper-missing", Fixture, NULL, fixture_set_up, test_helper_missing,
                fixture_tear_down);
    g_test_add ("/image/unreadable-result", Fixture, NULL, fixture_set_up,
                test_unreadable_result, fixture_tear_down);
    g_test_add ("/image/commit-through-the-descriptor", Fixture, NULL, fixture_set_up,
                test_swap_before_commit, fixture_tear_down);
    g_test_add ("/image/image-changed-during-injection", Fixture, NULL, fixture_set_up,
                test_image_changed_during, fixture_tear_down);
    g_test_add ("/image/commit-pending", Fixture, NULL, fixture_set_up, test_commit_pending,
                fixture_tear_down);
    for (gsize i = 0; i < G_N_ELEMENTS (left_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/image/left-over/%s%s", left_cases[i].state,
                                                 left_cases[i].change_image ? "-image-changed" : "");
        g_test_add (path, Fixture, &left_cases[i], fixture_set_up, test_left_over,
                    fixture_tear_down);
    }
    for (gsize i = 0; i < G_N_ELEMENTS (stage_tests); i++)
        g_test_add (stage_tests[i].path, Fixture, NULL, fixture_set_up, stage_tests[i].func,
                    fixture_tear_down);
    for (gsize i = 0; i < G_N_ELEMENTS (spoil_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/image/stage/spoiled/%s", spoil_cases[i].name);
        g_test_add (path, Fixture, &spoil_cases[i], fixture_set_up, test_stage_spoiled,
                    fixture_tear_down);
    }
    for (gsize i = 0; i < G_N_ELEMENTS (refuse_cases); i++) {
        g_autofree char *path = g_strdup_printf ("/image/stage/refused/%s", refuse_cases[i].name);
        g_test_add (path, Fixture, &refuse_cases[i], fixture_set_up, test_stage_refused,
                    fixture_tear_down);
    }
    return g_test_run ();
}
