/* vi-image.c: disk-image injection, host side (see vi-image.h).
 *
 * All-or-nothing.  The appliance writes only into a qcow2 overlay whose
 * backing file is the image; the overlay is committed into the image only
 * after the helper exited 0, which it does only after a clean
 * guestfs_shutdown.  Any failure, timeout or kill before that leaves the
 * image byte-identical.
 *
 * The commit itself.  `qemu-img commit` copies the overlay's clusters into
 * the image; a crash in the middle would leave a mix.  So before it starts
 * we record the intent (a file "commit" beside the overlay in the image's
 * work directory under [paths] state_dir), and the next injection into the
 * same image first finishes a commit so recorded (roll forward: committing
 * the same overlay again writes the same clusters).  The commit runs in a
 * process of its own, outside the group the deadline kills: it is short, and
 * a commit half done is worse than a late one.  It inherits the image's lock,
 * so when we are killed mid-commit it still finishes, and the next injection
 * waits for it rather than racing it.
 *
 * Killing.  The helper runs in a new process group (setpgid) and gets
 * SIGKILL if we die (PR_SET_PDEATHSIG); the appliance's qemu is its child in
 * the same group.  On the deadline we kill the whole group: libguestfs holds
 * its handle lock during guestfs_launch, so nothing in-process could stop it.
 */
#include "vi-image.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>

#include "vi-error.h"
#include "vi-fd.h"
#include "vi-ledger.h"

const char *
vi_image_helper_path (void)
{
    const char *env = g_getenv ("VIRT_INJECT_GUESTFS_HELPER");

    return env && *env ? env : LIBEXECDIR "/virt-inject-guestfs";
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The backend settings of a colon-separated list, as a sorted, deduplicated
 * strv without empty items (libguestfs's own reading of the variable). */
static GStrv
settings_set (const char *list)
{
    g_auto(GStrv) items = g_strsplit (list ? list : "", ":", -1);
    g_autoptr(GPtrArray) out = g_ptr_array_new ();

    for (guint i = 0; items[i]; i++)
        if (*items[i] && !g_ptr_array_find_with_equal_func (out, items[i], g_str_equal, NULL))
            g_ptr_array_add (out, g_strdup (items[i]));
    g_ptr_array_sort (out, compare_strings);
    g_ptr_array_add (out, NULL);
    return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

char *
vi_image_env_overrides (const ViConfig *cfg, const char *const *envp)
{
    g_auto(GStrv) own = envp ? NULL : g_get_environ ();
    const char *const *env = envp ? envp : (const char *const *) own;
    const char *backend = g_environ_getenv ((char **) env, "LIBGUESTFS_BACKEND");
    const char *settings = g_environ_getenv ((char **) env, "LIBGUESTFS_BACKEND_SETTINGS");
    g_autoptr(GString) out = g_string_new (NULL);

    if (backend && *backend && !g_str_equal (backend, "direct"))
        g_string_append_printf (out, "LIBGUESTFS_BACKEND=%s from the environment is overridden: "
                                "the appliance always uses the direct backend (the libvirt "
                                "backend would call back into libvirtd, a deadlock in the "
                                "hook)\n",
                                backend);
    if (settings) {
        g_auto(GStrv) asked = settings_set (settings);
        g_auto(GStrv) given = settings_set (cfg->force_tcg ? "force_tcg" : "");

        if (!g_strv_equal ((const char *const *) asked, (const char *const *) given))
            g_string_append_printf (out, "LIBGUESTFS_BACKEND_SETTINGS=%s from the environment is "
                                    "overridden: the configuration decides the backend settings "
                                    "([guestfs] force_tcg = %s, %s%s), so the appliance gets %s\n",
                                    settings, cfg->force_tcg ? "true" : "false",
                                    cfg->path ? "from " : "the default: no configuration file",
                                    cfg->path ? cfg->path : "",
                                    cfg->force_tcg ? "force_tcg" : "no backend settings");
    }
    return out->len ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

/* Run a short host command (qemu-img) to completion, found on PATH, in our
 * environment, stdin from /dev/null and stdout silenced; its stderr goes
 * into the error when it fails.  No deadline: both are short, and a commit
 * must not be cut short (see the top comment).
 *
 * @pass_fd: -1, or a descriptor the child gets as its descriptor 3 (a
 * duplicate: the caller keeps @pass_fd).  The commit gets the image's lock
 * this way, so it holds the lock even when we are killed. */
static gboolean
run_tool (const char *const *argv, int pass_fd, const char *what, GError **error)
{
    g_autoptr(GSubprocessLauncher) l =
        g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(GBytes) err_bytes = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) e = NULL;

    if (pass_fd >= 0) {
        /* the launcher owns what it is given: give it a duplicate */
        int keep = fcntl (pass_fd, F_DUPFD_CLOEXEC, 3);

        if (keep < 0)
            return vi_throw_errno (error, errno, "%s", what);
        g_subprocess_launcher_take_fd (l, keep, 3);
    }
    p = g_subprocess_launcher_spawnv (l, argv, &e);
    /* bytes, not UTF-8: a message in another encoding must not hide the
     * exit status */
    if (p == NULL || !g_subprocess_communicate (p, NULL, NULL, NULL, &err_bytes, &e))
        return vi_throw (error, VI_ERROR_FAILED, "%s: %s", what, e->message);
    if (!g_subprocess_get_successful (p)) {
        err = g_utf8_make_valid (g_bytes_get_data (err_bytes, NULL), g_bytes_get_size (err_bytes));
        return vi_throw (error, VI_ERROR_FAILED, "%s failed: %s", what, g_strstrip (err));
    }
    return TRUE;
}

/* The backing of the overlay: the image path, or a network disk as qemu
 * sees it. */
/* The id of the qemu secret object holding a network disk's password: the
 * password itself never appears in an argv, a backing file name or a log;
 * qemu reads it from a 0600 file in the image's work directory. */
#define SECRET_ID "vi-secret0"

/* iSCSI as qemu's JSON pseudo-filename, the only form that can name a
 * password-secret: {"driver": FORMAT, "file": {"driver": "iscsi", ...}}.
 * libvirt's source name is "IQN/LUN". */
static char *
iscsi_backing (const ViTarget *t, const char *portal, GError **error)
{
    const char *slash = t->path ? strrchr (t->path, '/') : NULL;
    g_autofree char *iqn = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new ();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *json = NULL;
    guint64 lun = 0;

    if (slash == NULL || slash == t->path ||
        !g_ascii_string_to_unsigned (slash + 1, 10, 0, 255, &lun, NULL)) {
        vi_throw (error, VI_ERROR_TARGET, "iSCSI disk %s: the source name must be IQN/LUN",
                  t->path ? t->path : "(none)");
        return NULL;
    }
    iqn = g_strndup (t->path, slash - t->path);
    /* the whole node: the format driver over the protocol driver (with -F,
     * qemu-img would take a bare protocol object for a file name) */
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "driver");
    json_builder_add_string_value (b, t->format);
    json_builder_set_member_name (b, "file");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "driver");
    json_builder_add_string_value (b, "iscsi");
    json_builder_set_member_name (b, "transport");
    json_builder_add_string_value (b, "tcp");
    json_builder_set_member_name (b, "portal");
    json_builder_add_string_value (b, portal);
    json_builder_set_member_name (b, "target");
    json_builder_add_string_value (b, iqn);
    json_builder_set_member_name (b, "lun");
    json_builder_add_int_value (b, (gint64) lun);
    if (t->username) {
        json_builder_set_member_name (b, "user");
        json_builder_add_string_value (b, t->username);
    }
    if (t->secret) {
        json_builder_set_member_name (b, "password-secret");
        json_builder_add_string_value (b, SECRET_ID);
    }
    json_builder_end_object (b);
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    json = json_to_string (root, FALSE);
    return g_strconcat ("json:", json, NULL);
}

/* The backing of the overlay: the image path, or a network disk as qemu
 * sees it. */
static char *
backing_of (const ViTarget *t, GError **error)
{
    const char *server;

    /* qemu resolves a relative backing file against the overlay's directory */
    if (t->protocol == NULL)
        return g_canonicalize_filename (t->path, NULL);
    if (t->servers->len == 0) {
        vi_throw (error, VI_ERROR_TARGET, "network disk without a server");
        return NULL;
    }
    server = t->servers->pdata[0];
    if (g_str_equal (t->protocol, "iscsi") && g_str_has_prefix (server, "tcp:"))
        return iscsi_backing (t, server + 4, error);
    if (t->secret != NULL) {
        vi_throw (error, VI_ERROR_TARGET,
                  "network disks of protocol %s with <auth> are not supported (iscsi is)",
                  t->protocol);
        return NULL;
    }
    /* qemu's URI syntax for network disks: nbd+unix:///EXPORT?socket=PATH */
    if (g_str_equal (t->protocol, "nbd") && g_str_has_prefix (server, "unix:"))
        return g_strdup_printf ("nbd+unix:///%s?socket=%s", t->path ? t->path : "", server + 5);
    if (g_str_has_prefix (server, "tcp:"))
        return g_strdup_printf ("%s://%s/%s", t->protocol, server + 4, t->path ? t->path : "");
    vi_throw (error, VI_ERROR_TARGET, "network disks of protocol %s over %s are not supported",
              t->protocol, server);
    return NULL;
}

/* A read-only image (a read-only filesystem or block device, an immutable
 * file) is refused before the appliance is started, not after a launch
 * whose result could not be committed.  Opening it for writing is the
 * test that also holds for root, who ignores permission bits. */
static gboolean
check_writable (const char *path, GError **error)
{
    vi_autofd fd = open (path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    int ro = 0;

    if (fd < 0)
        return vi_throw (error, VI_ERROR_TARGET, "image %s cannot be written: %s", path,
                         g_strerror (errno));
    /* Linux lets a read-only block device be opened for writing and fails
     * the writes: ask it. */
    if (fstat (fd, &st) == 0 && S_ISBLK (st.st_mode) && ioctl (fd, BLKROGET, &ro) == 0 && ro)
        return vi_throw (error, VI_ERROR_TARGET, "image %s cannot be written: %s", path,
                         "the block device is read-only");
    return TRUE;
}

static char *
work_dir_for (const ViConfig *cfg, const ViTarget *t)
{
    g_autofree char *key = g_strdup_printf ("%s|%s|%s", t->protocol ? t->protocol : "file",
                                            t->path ? t->path : "",
                                            t->servers->len ? (char *) t->servers->pdata[0] : "");
    g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);

    return g_build_filename (cfg->state_dir, "work", sum, NULL);
}

static gboolean
commit_overlay (const char *work, const char *overlay, int lock, const char *secret_obj,
                GError **error)
{
    g_autofree char *intent = g_build_filename (work, "commit", NULL);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
    g_auto(GStrv) argv = NULL;

    /* durable before the first cluster is copied: roll-forward relies on it */
    if (!g_file_set_contents_full (intent, overlay, -1,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0600, NULL))
        return vi_throw_errno (error, errno, "recording the commit in %s", intent);
    g_strv_builder_add_many (b, "qemu-img", "commit", "-q", NULL);
    if (secret_obj)
        g_strv_builder_add_many (b, "--object", secret_obj, NULL);
    g_strv_builder_add (b, overlay);
    argv = g_strv_builder_end (b);
    /* holding the image's lock: the commit runs to its end even when we are
     * killed mid-commit, and the next injection into the image waits for it
     * instead of racing it */
    if (!run_tool ((const char *const *) argv, lock,
                   "committing the injected changes into the image (qemu-img commit)", error))
        return FALSE;
    (void) g_unlink (overlay);
    (void) g_unlink (intent);
    return TRUE;
}

/* Finish a commit a killed injector had started (see the top comment). */
static gboolean
roll_forward (const char *work, int lock, const char *secret_obj, GError **error)
{
    g_autofree char *intent = g_build_filename (work, "commit", NULL);
    g_autofree char *overlay = NULL;

    if (!g_file_get_contents (intent, &overlay, NULL, NULL))
        return TRUE;
    if (!g_file_test (overlay, G_FILE_TEST_EXISTS)) {
        (void) g_unlink (intent);
        return TRUE;
    }
    return commit_overlay (work, overlay, lock, secret_obj, error);
}

typedef struct {
    GString *out;
    GString *err;
    char *stage;
    ViProgressFunc progress;
    gpointer progress_data;
} HelperOutput;

static void
helper_output_clear (HelperOutput *h)
{
    if (h->out)
        g_string_free (h->out, TRUE);
    if (h->err)
        g_string_free (h->err, TRUE);
    g_free (h->stage);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HelperOutput, helper_output_clear)

static void
set_stage (HelperOutput *h, const char *stage)
{
    g_free (h->stage);
    h->stage = g_strdup (stage);
    if (h->progress)
        h->progress (stage, h->progress_data);
}

static void
take_lines (HelperOutput *h)
{
    /* The helper announces its stages on stderr as "stage: NAME". */
    char *p = h->err->str, *nl;
    GString *rest = g_string_new (NULL);

    while ((nl = strchr (p, '\n')) != NULL) {
        *nl = '\0';
        if (g_str_has_prefix (p, "stage: ")) {
            set_stage (h, p + 7);
        } else {
            g_string_append_printf (rest, "%s\n", p);
        }
        p = nl + 1;
    }
    g_string_append (rest, p);
    g_string_assign (h->err, rest->str);
    g_string_free (rest, TRUE);
}

static const char *
stage_hint (const char *stage)
{
    if (stage == NULL || g_str_equal (stage, "launch"))
        return "; the appliance did not finish booting: if KVM is not usable on this host "
               "(nested virtualization), set force_tcg = true in [guestfs]";
    return "";
}

/* fork+exec the helper in its own process group, collect its output, and
 * enforce the deadline on the whole group. */
static gboolean
run_helper (const char *const *argv, gint64 deadline_us, HelperOutput *h, int *out_status,
            GError **error)
{
    int outp[2], errp[2];
    pid_t pid;
    gboolean timed_out = FALSE;
    int status = 0;
    struct pollfd fds[2];
    int open_fds = 2;

    if (pipe2 (outp, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0)
        return vi_throw_errno (error, errno, "pipe");
    pid = fork ();
    if (pid < 0)
        return vi_throw_errno (error, errno, "fork");
    if (pid == 0) {
        setpgid (0, 0);
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () == 1)
            _exit (127);
        dup2 (outp[1], 1);
        dup2 (errp[1], 2);
        execv (argv[0], (char **) argv);
        _exit (127);
    }
    setpgid (pid, pid);
    close (outp[1]);
    close (errp[1]);
    fds[0] = (struct pollfd) { .fd = outp[0], .events = POLLIN };
    fds[1] = (struct pollfd) { .fd = errp[0], .events = POLLIN };

    while (open_fds > 0) {
        gint64 left = (deadline_us - g_get_monotonic_time ()) / 1000;
        int n;

        if (left <= 0) {
            timed_out = TRUE;
            break;
        }
        n = poll (fds, 2, (int) MIN (left, 1000));
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            char buf[4096];
            ssize_t r;

            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            r = read (fds[i].fd, buf, sizeof buf);
            if (r <= 0) {
                close (fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            g_string_append_len (i == 0 ? h->out : h->err, buf, r);
            if (i == 1)
                take_lines (h);
        }
    }
    if (timed_out)
        kill (-pid, SIGKILL);
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close (fds[i].fd);
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* Anything left of the group (the appliance) goes with it. */
    kill (-pid, SIGKILL);
    if (timed_out)
        return vi_throw (error, VI_ERROR_TIMEOUT,
                         "timed out after the [guestfs] timeout during the %s stage; the "
                         "appliance was killed and the image left unchanged%s",
                         h->stage ? h->stage : "launch", stage_hint (h->stage));
    *out_status = status;
    return TRUE;
}

gboolean
vi_image_inject (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
                 gboolean dry_run, ViProgressFunc progress, gpointer progress_data,
                 ViInjectResult *out_result, GError **error)
{
    gint64 deadline = g_get_monotonic_time () + (gint64) cfg->timeout * G_USEC_PER_SEC;
    vi_autofd slot = -1;
    vi_autofd lock = -1;
    g_autofree char *work = work_dir_for (cfg, target);
    g_autofree char *lock_path = g_build_filename (work, "lock", NULL);
    g_autofree char *overlay = g_build_filename (work, "overlay.qcow2", NULL);
    g_autofree char *spec_path = g_build_filename (work, "request.xml", NULL);
    g_autofree char *intent = g_build_filename (work, "commit", NULL);
    g_autofree char *canon = vi_spec_format (spec);
    g_autofree char *backing = NULL;
    g_autofree char *secret_path = g_build_filename (work, "secret", NULL);
    g_autofree char *secret_obj = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
    g_auto(HelperOutput) h = { g_string_new (NULL), g_string_new (NULL), NULL, progress,
                               progress_data };
    g_auto(ViInjectResult) result = { 0 };
    int status = 0;
    gboolean ok = FALSE;

    if (target->path == NULL && target->protocol == NULL)
        return vi_throw (error, VI_ERROR_TARGET, "no image to inject into");
    if (target->protocol == NULL && !g_file_test (target->path, G_FILE_TEST_EXISTS))
        return vi_throw (error, VI_ERROR_TARGET, "image %s: no such file or device", target->path);
    if (!dry_run && target->protocol == NULL && !check_writable (target->path, error))
        return FALSE;
    backing = backing_of (target, error);
    if (backing == NULL)
        return FALSE;

    if (g_mkdir_with_parents (work, 0700) < 0)
        return vi_throw_errno (error, errno, "creating %s", work);
    /* One injection per image at a time. */
    lock = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock < 0)
        return vi_throw_errno (error, errno, "%s", lock_path);
    while (flock (lock, LOCK_EX | LOCK_NB) < 0) {
        if (g_get_monotonic_time () >= deadline)
            return vi_throw (error, VI_ERROR_TIMEOUT,
                             "timed out waiting for another injection into the same image");
        g_usleep (100 * 1000);
    }
    if (target->secret) {
        /* 0600 in our 0700 work directory; removed on every way out */
        secret_obj = g_strdup_printf ("secret,id=" SECRET_ID ",format=raw,file=%s", secret_path);
        if (!g_file_set_contents_full (secret_path, target->secret, -1,
                                       G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL)) {
            vi_throw_errno (error, errno, "%s", secret_path);
            goto out;
        }
    }
    if (!roll_forward (work, lock, secret_obj, error))
        goto out;

    set_stage (&h, "slot");
    slot = vi_slot_acquire (cfg->run_dir, cfg->max_parallel, deadline, error);
    if (slot < 0)
        goto out;

    (void) g_unlink (overlay);
    {
        g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
        g_auto(GStrv) create = NULL;

        g_strv_builder_add_many (b, "qemu-img", "create", "-q", NULL);
        if (secret_obj)     /* qemu-img opens the backing for its size */
            g_strv_builder_add_many (b, "--object", secret_obj, NULL);
        g_strv_builder_add_many (b, "-f", "qcow2", "-F", target->format, "-b", backing, overlay,
                                 NULL);
        create = g_strv_builder_end (b);
        if (!run_tool ((const char *const *) create, -1, "creating the overlay (qemu-img create)",
                       error))
            goto out;
    }
    if (!g_file_set_contents_full (spec_path, canon, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL)) {
        vi_throw_errno (error, errno, "%s", spec_path);
        goto out;
    }

    g_ptr_array_add (argv, g_strdup (vi_image_helper_path ()));
    g_ptr_array_add (argv, g_strdup ("--add"));
    g_ptr_array_add (argv, g_strdup (overlay));
    g_ptr_array_add (argv, g_strdup ("--format"));
    g_ptr_array_add (argv, g_strdup ("qcow2"));
    if (target->root_device) {
        g_ptr_array_add (argv, g_strdup ("--root"));
        g_ptr_array_add (argv, g_strdup (target->root_device));
    }
    g_ptr_array_add (argv, g_strdup_printf ("--memsize=%u", cfg->memsize));
    g_ptr_array_add (argv, g_strdup_printf ("--smp=%u", cfg->smp));
    if (cfg->force_tcg)
        g_ptr_array_add (argv, g_strdup ("--force-tcg"));
    if (secret_obj)
        g_ptr_array_add (argv, g_strdup_printf ("--qemu-object=%s", secret_obj));
    g_ptr_array_add (argv, g_strdup_printf ("--secrets-dir=%s", cfg->secrets_dir));
    g_ptr_array_add (argv, g_strdup_printf ("--request-max=%" G_GSIZE_FORMAT, cfg->limits.request_max));
    g_ptr_array_add (argv, g_strdup_printf ("--file-max=%" G_GSIZE_FORMAT, cfg->limits.file_max));
    g_ptr_array_add (argv, g_strdup_printf ("--items-max=%u", cfg->limits.items_max));
    if (dry_run)
        g_ptr_array_add (argv, g_strdup ("--dry-run"));
    g_ptr_array_add (argv, g_strdup ("--spec"));
    g_ptr_array_add (argv, g_strdup (spec_path));
    g_ptr_array_add (argv, NULL);

    if (!run_helper ((const char *const *) argv->pdata, deadline, &h, &status, error))
        goto out;
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        int code = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
        g_autofree char *msg = g_strstrip (g_strdup (h.err->str));
        const char *prefix = "virt-inject-guestfs: ";

        if (g_str_has_prefix (msg, prefix))
            memmove (msg, msg + strlen (prefix), strlen (msg) - strlen (prefix) + 1);
        vi_throw (error, code == 1 ? VI_ERROR_TARGET : code == 3 ? VI_ERROR_TIMEOUT : VI_ERROR_FAILED,
                  "%s", *msg ? msg : code == 127 ? "cannot run the libguestfs helper"
                                                 : "the libguestfs helper failed");
        goto out;
    }
    /* before the commit: a helper we cannot understand has not done its job */
    if (!vi_run_result_parse (h.out->str, h.out->len, &result, error)) {
        g_prefix_error (error, "the libguestfs helper: ");
        goto out;
    }
    if (!dry_run)
        set_stage (&h, "commit");
    if (!dry_run && !commit_overlay (work, overlay, lock, secret_obj, error))
        goto out;
    if (out_result) {
        *out_result = result;
        result = (ViInjectResult) { 0 };
    }
    ok = TRUE;
out:
    if (ok || !g_file_test (intent, G_FILE_TEST_EXISTS))
        (void) g_unlink (overlay);
    (void) g_unlink (spec_path);
    if (secret_obj)
        (void) g_unlink (secret_path);
    return ok;
}
