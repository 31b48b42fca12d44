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
#include "vi-child.h"
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
 * @fds: @n_fds descriptors (-1 for none) the child gets as its descriptors
 * 3, 4, ... (duplicates: the caller keeps them).  The commit gets the image
 * and the image's lock this way, so it holds the lock even when we are
 * killed. */
static gboolean
run_tool (const char *const *argv, const int *fds, gsize n_fds, const char *what, GError **error)
{
    g_autoptr(GSubprocessLauncher) l =
        g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(GBytes) err_bytes = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) e = NULL;

    for (gsize i = 0; i < n_fds; i++) {
        /* the launcher owns what it is given: give it a duplicate */
        int keep;

        if (fds[i] < 0)
            continue;
        keep = fcntl (fds[i], F_DUPFD_CLOEXEC, 10);
        if (keep < 0)
            return vi_throw_errno (error, errno, "%s", what);
        g_subprocess_launcher_take_fd (l, keep, 3 + (int) i);
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

/* The backing of the overlay for a network disk, as qemu sees it (a local
 * image is named through our descriptor instead). */
static char *
backing_of (const ViTarget *t, GError **error)
{
    const char *server;

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

/* The image, opened once for the whole injection: the overlay's backing
 * and the commit both go through this descriptor, so a path swapped for a
 * symlink to another disk after this point cannot be hit.  Opened for
 * writing unless @dry_run: for root, who ignores permission bits, that is
 * the test that the image can be written, and a read-only image (a
 * read-only filesystem or block device, an immutable file) is refused
 * before the appliance is started, not after a launch whose result could
 * not be committed. */
static int
open_image (const char *path, gboolean dry_run, GError **error)
{
    vi_autofd fd = open (path, (dry_run ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    int ro = 0;

    if (fd < 0 && errno == ENOENT) {
        vi_throw (error, VI_ERROR_TARGET, "image %s: no such file or device", path);
        return -1;
    }
    if (fd < 0) {
        vi_throw (error, VI_ERROR_TARGET, "image %s cannot be %s: %s", path,
                  dry_run ? "read" : "written", g_strerror (errno));
        return -1;
    }
    if (fstat (fd, &st) < 0) {
        vi_throw_errno (error, errno, "image %s", path);
        return -1;
    }
    if (!S_ISREG (st.st_mode) && !S_ISBLK (st.st_mode)) {
        vi_throw (error, VI_ERROR_TARGET, "image %s is not a regular file or block device", path);
        return -1;
    }
    /* Linux lets a read-only block device be opened for writing and fails
     * the writes: ask it. */
    if (!dry_run && S_ISBLK (st.st_mode) && ioctl (fd, BLKROGET, &ro) == 0 && ro) {
        vi_throw (error, VI_ERROR_TARGET, "image %s cannot be written: %s", path,
                  "the block device is read-only");
        return -1;
    }
    return g_steal_fd (&fd);
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

/* ---- the intent: what the overlay in the work directory is ----------------
 *
 * "intent.json" beside the overlay, written when the overlay is made:
 *   {"version": 1, "state": "made"|"ready"|"committing",
 *    "image": {"dev", "ino", "size", "mtime_ns", "ctime_ns"} (local images)}
 * made:       the appliance may not have finished: never committed;
 * ready:      the helper finished after a clean shutdown: committed only onto
 *             the image it was made on, unchanged (the identity above);
 * committing: qemu-img commit started: the image may be half-committed; the
 *             next injection finishes it (roll forward: the same clusters
 *             again) before anything else, and until then every injection,
 *             a dry run too, fails whatever on-error says.
 * "ready" and "committing" are durable before what they allow happens. */

typedef struct {
    gboolean known;             /* a local image: the identity below is set */
    guint64 dev, ino, size;
    gint64 mtime_ns, ctime_ns;
} ImageId;

typedef enum { INTENT_NONE, INTENT_MADE, INTENT_READY, INTENT_COMMITTING } IntentState;

static const char *const intent_names[] = { "none", "made", "ready", "committing" };
G_STATIC_ASSERT (G_N_ELEMENTS (intent_names) == INTENT_COMMITTING + 1);

static void
image_id_of (int fd, ImageId *out)
{
    struct stat st;

    *out = (ImageId) { 0 };
    if (fd < 0 || fstat (fd, &st) < 0)
        return;
    out->known = TRUE;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    out->size = st.st_size;
    out->mtime_ns = (gint64) st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st.st_mtim.tv_nsec;
    out->ctime_ns = (gint64) st.st_ctim.tv_sec * G_GINT64_CONSTANT (1000000000) + st.st_ctim.tv_nsec;
}

static gboolean
same_file (const ImageId *a, const ImageId *b)
{
    return a->known && b->known && a->dev == b->dev && a->ino == b->ino;
}

static gboolean
image_id_equal (const ImageId *a, const ImageId *b)
{
    return same_file (a, b) && a->size == b->size && a->mtime_ns == b->mtime_ns &&
           a->ctime_ns == b->ctime_ns;
}

/* One member of the object @b is building. */
static void
set_int (JsonBuilder *b, const char *name, gint64 value)
{
    json_builder_set_member_name (b, name);
    json_builder_add_int_value (b, value);
}

static void
set_str (JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name (b, name);
    json_builder_add_string_value (b, value);
}

static void
add_image_id (JsonBuilder *b, const ImageId *id)
{
    set_int (b, "dev", (gint64) id->dev);
    set_int (b, "ino", (gint64) id->ino);
    set_int (b, "size", (gint64) id->size);
    set_int (b, "mtime_ns", id->mtime_ns);
    set_int (b, "ctime_ns", id->ctime_ns);
}

static gboolean
fsync_path (const char *path, GError **error)
{
    vi_autofd fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0 || fsync (fd) < 0)
        return vi_throw_errno (error, errno, "flushing %s to disk", path);
    return TRUE;
}

static gboolean
intent_write (const char *path, IntentState state, const ImageId *id, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new ();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;
    GFileSetContentsFlags flags = G_FILE_SET_CONTENTS_NONE;

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "version");
    json_builder_add_int_value (b, 1);
    json_builder_set_member_name (b, "state");
    json_builder_add_string_value (b, intent_names[state]);
    if (id->known) {
        json_builder_set_member_name (b, "image");
        json_builder_begin_object (b);
        add_image_id (b, id);
        json_builder_end_object (b);
    }
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    text = json_to_string (root, FALSE);
    /* What "ready" and "committing" allow must not happen before they are
     * on disk.  "made" allows nothing: lost or torn by a crash it reads as
     * no intent, which means the same (the overlay is discarded), so it is
     * not flushed; a flush here would wait for whatever else the host has
     * dirty, while the appliance could already be launching. */
    if (state != INTENT_MADE)
        flags |= G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE;
    if (!g_file_set_contents_full (path, text, -1, flags, 0600, NULL))
        return vi_throw_errno (error, errno, "recording the injection's state in %s", path);
    return TRUE;
}

static gint64
member_int (JsonObject *o, const char *name, gboolean *ok)
{
    JsonNode *n = o ? json_object_get_member (o, name) : NULL;

    if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64) {
        *ok = FALSE;
        return 0;
    }
    return json_node_get_int (n);
}

static void
read_image_id (JsonObject *o, ImageId *out, gboolean *ok)
{
    out->dev = (guint64) member_int (o, "dev", ok);
    out->ino = (guint64) member_int (o, "ino", ok);
    out->size = (guint64) member_int (o, "size", ok);
    out->mtime_ns = member_int (o, "mtime_ns", ok);
    out->ctime_ns = member_int (o, "ctime_ns", ok);
    out->known = *ok;
}

/* The state recorded at @path; INTENT_NONE when there is none or it cannot
 * be read (then the overlay is discarded, never committed). */
static IntentState
intent_read (const char *path, ImageId *out_id)
{
    g_autofree char *text = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *o, *img;
    JsonNode *state, *image;
    gboolean ok = TRUE;

    *out_id = (ImageId) { 0 };
    if (!g_file_get_contents (path, &text, NULL, NULL) ||
        !json_parser_load_from_data (parser, text, -1, NULL) ||
        !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        return INTENT_NONE;
    o = json_node_get_object (json_parser_get_root (parser));
    state = json_object_get_member (o, "state");
    if (member_int (o, "version", &ok) != 1 || !ok || state == NULL ||
        !JSON_NODE_HOLDS_VALUE (state) || json_node_get_value_type (state) != G_TYPE_STRING)
        return INTENT_NONE;
    image = json_object_get_member (o, "image");
    img = image && JSON_NODE_HOLDS_OBJECT (image) ? json_node_get_object (image) : NULL;
    if (img != NULL)
        read_image_id (img, out_id, &ok);
    for (int s = INTENT_MADE; s <= INTENT_COMMITTING; s++)
        if (g_str_equal (json_node_get_string (state), intent_names[s]))
            return (IntentState) s;
    return INTENT_NONE;
}

/* How the image is named to qemu: a local image as the descriptor we hold
 * (@proc_path: another process's view of it, /proc/PID/fd/N; else our
 * child's, /dev/fd/3), anything else as its backing string. */
typedef struct {
    char *work;
    char *overlay;
    char *dry_overlay;          /* a dry run's own: it never touches the state of the others */
    char *intent;
    char *legacy_intent;        /* "commit": the overlay's path, before intent.json */
    int image_fd;               /* -1 for network disks */
    int lock;
    const char *format;
    const char *secret_obj;     /* (nullable) */
    const char *path;           /* for messages */
} Work;

/* Commit the overlay into the image: "committing" on disk first, then the
 * overlay's backing pointed at our descriptor of the image (qemu-img rebase
 * -u: no data moves), then qemu-img commit with that descriptor as its
 * fd 3 and the image's lock as its fd 4.  The commit runs in a process of
 * its own outside the group the deadline kills, holding the lock: it runs
 * to its end even when we are killed, and the next injection waits for it. */
static gboolean
commit_overlay (Work *w, const ImageId *id, GError **error)
{
    g_autoptr(GError) e = NULL;
    int fds[] = { w->image_fd, w->lock };

    if (!intent_write (w->intent, INTENT_COMMITTING, id, error))
        return FALSE;
    (void) g_unlink (w->legacy_intent);
    if (w->image_fd >= 0) {
        const char *rebase[] = { "qemu-img", "rebase", "-q", "-u", "-F", w->format,
                                 "-b", "/dev/fd/3", w->overlay, NULL };

        if (!run_tool (rebase, fds, G_N_ELEMENTS (fds),
                       "pointing the overlay at the image (qemu-img rebase)", &e))
            return vi_throw (error, VI_ERROR_COMMIT_PENDING, "%s; the commit is pending and the "
                             "next injection into %s finishes it", e->message, w->path);
    }
    {
        g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
        g_auto(GStrv) argv = NULL;

        g_strv_builder_add_many (b, "qemu-img", "commit", "-q", NULL);
        if (w->secret_obj)
            g_strv_builder_add_many (b, "--object", w->secret_obj, NULL);
        g_strv_builder_add (b, w->overlay);
        argv = g_strv_builder_end (b);
        if (!run_tool ((const char *const *) argv, fds, G_N_ELEMENTS (fds),
                       "committing the injected changes into the image (qemu-img commit)", &e))
            return vi_throw (error, VI_ERROR_COMMIT_PENDING, "%s; the image may be half-committed: "
                             "no guest may boot on it until the next injection into %s finishes "
                             "the commit", e->message, w->path);
    }
    (void) g_unlink (w->overlay);
    (void) g_unlink (w->intent);
    return TRUE;
}

static void
add_note (GString *notes, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
add_note (GString *notes, const char *fmt, ...)
{
    va_list ap;

    va_start (ap, fmt);
    g_string_append_vprintf (notes, fmt, ap);
    va_end (ap);
    g_string_append_c (notes, '\n');
}

static void
discard (Work *w)
{
    (void) g_unlink (w->overlay);
    (void) g_unlink (w->intent);
    (void) g_unlink (w->legacy_intent);
}

/* Before anything else, deal with what an earlier injection into the same
 * image left in the work directory (see the intent above). */
static gboolean
recover (Work *w, gboolean dry_run, GString *notes, GError **error)
{
    ImageId recorded, now;
    IntentState state = intent_read (w->intent, &recorded);
    gboolean have_overlay = g_file_test (w->overlay, G_FILE_TEST_EXISTS);

    image_id_of (w->image_fd, &now);
    /* a commit recorded by an earlier version: the overlay's path in "commit" */
    if (state == INTENT_NONE && g_file_test (w->legacy_intent, G_FILE_TEST_EXISTS))
        state = INTENT_COMMITTING;
    if (!have_overlay) {
        if (!dry_run && state != INTENT_NONE)
            discard (w);
        return TRUE;
    }
    switch (state) {
    case INTENT_COMMITTING:
        if (dry_run)
            return vi_throw (error, VI_ERROR_COMMIT_PENDING,
                             "an interrupted commit into %s is pending: an injection without "
                             "--dry-run finishes it first", w->path);
        if (recorded.known && !same_file (&recorded, &now))
            return vi_throw (error, VI_ERROR_COMMIT_PENDING,
                             "an interrupted commit into %s is pending, but %s is no longer the "
                             "file the commit started on (another device or inode): not rolling "
                             "forward onto it; restore the image, or remove %s to give it up",
                             w->path, w->path, w->work);
        if (!commit_overlay (w, &recorded, error))
            return FALSE;
        add_note (notes, "finished the commit of an earlier injection into %s that had been "
                  "interrupted (roll forward)", w->path);
        return TRUE;
    case INTENT_READY:
        if (dry_run)
            return TRUE;
        if (image_id_equal (&recorded, &now)) {
            if (!commit_overlay (w, &recorded, error))
                return FALSE;
            add_note (notes, "committed the finished overlay of an earlier injection into %s "
                      "(its commit had not started; the image is unchanged since)", w->path);
            return TRUE;
        }
        discard (w);
        add_note (notes, "discarded the finished overlay of an earlier injection into %s: %s",
                  w->path, recorded.known ? "the image changed since it was made (size, "
                  "mtime or ctime)" : "the image's identity cannot be checked");
        return TRUE;
    case INTENT_MADE:
    case INTENT_NONE:
    default:
        if (dry_run)
            return TRUE;
        discard (w);
        add_note (notes, "discarded the overlay of an earlier injection into %s that did not "
                  "finish (never committed)", w->path);
        return TRUE;
    }
}

/* ---- stages: an injection made ahead, committed at the next start ---------
 *
 * STATE/stage/UUID/ holds "overlay.qcow2", made exactly as an injection's
 * overlay (under the image's lock, by the helper), whose backing is then
 * named by the disk's path, and "manifest.json", written durably last, so
 * that its presence means the overlay is finished:
 *
 *   {"version": 1, "uuid": UUID, "name": NAME, "digest": REQUEST-DIGEST,
 *    "config": {"secrets_dir", "digest_key", "request_max", "file_max",
 *               "items_max"},
 *    "disk": {"path", "format", "dev", "ino", "size", "mtime_ns", "ctime_ns"},
 *    "overlay": "overlay.qcow2"}
 *
 * Parsed strictly: no member missing, none unknown, each of its type, at
 * most STAGE_MANIFEST_MAX bytes.  Anything else is no stage.  At the start,
 * the overlay is moved into the image's work directory as a "ready"
 * overlay, and committed by commit_overlay(): a kill during that commit is
 * rolled forward by the next injection, as any other. */

#define STAGE_VERSION 1
#define STAGE_MANIFEST_MAX (64 * 1024)
#define STAGE_OVERLAY "overlay.qcow2"

typedef struct {
    char *dir;
    char *overlay;
    char *manifest;
} StagePaths;

static void
stage_paths_init (StagePaths *p, const ViConfig *cfg, const char *uuid)
{
    p->dir = g_build_filename (cfg->state_dir, "stage", uuid, NULL);
    p->overlay = g_build_filename (p->dir, STAGE_OVERLAY, NULL);
    p->manifest = g_build_filename (p->dir, "manifest.json", NULL);
}

static void
stage_paths_clear (StagePaths *p)
{
    g_free (p->dir);
    g_free (p->overlay);
    g_free (p->manifest);
}

/* Manifest first: without it, what is left is no stage. */
static void
stage_remove (const StagePaths *p)
{
    (void) g_unlink (p->manifest);
    (void) g_unlink (p->overlay);
    (void) g_rmdir (p->dir);
}

/* The configuration that shapes what an injection writes. */
static JsonNode *
stage_config_node (const ViConfig *cfg)
{
    g_autoptr(JsonBuilder) b = json_builder_new ();

    json_builder_begin_object (b);
    set_str (b, "secrets_dir", cfg->secrets_dir ? cfg->secrets_dir : "");
    set_str (b, "digest_key", cfg->digest_key ? cfg->digest_key : "");
    set_int (b, "request_max", (gint64) cfg->limits.request_max);
    set_int (b, "file_max", (gint64) cfg->limits.file_max);
    set_int (b, "items_max", (gint64) cfg->limits.items_max);
    json_builder_end_object (b);
    return json_builder_get_root (b);
}

typedef struct {
    char *uuid, *name, *digest;
    JsonNode *config;
    char *disk_path, *disk_format;
    ImageId disk;
} Manifest;

static void
manifest_clear (Manifest *m)
{
    g_free (m->uuid);
    g_free (m->name);
    g_free (m->digest);
    g_clear_pointer (&m->config, json_node_unref);
    g_free (m->disk_path);
    g_free (m->disk_format);
    *m = (Manifest) { 0 };
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Manifest, manifest_clear)

static gboolean
manifest_write (const char *path, const Manifest *m, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new ();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;

    json_builder_begin_object (b);
    set_int (b, "version", STAGE_VERSION);
    set_str (b, "uuid", m->uuid);
    set_str (b, "name", m->name);
    set_str (b, "digest", m->digest);
    json_builder_set_member_name (b, "config");
    json_builder_add_value (b, json_node_copy (m->config));
    json_builder_set_member_name (b, "disk");
    json_builder_begin_object (b);
    set_str (b, "path", m->disk_path);
    set_str (b, "format", m->disk_format);
    add_image_id (b, &m->disk);
    json_builder_end_object (b);
    set_str (b, "overlay", STAGE_OVERLAY);
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    text = json_to_string (root, TRUE);
    if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT |
                                   G_FILE_SET_CONTENTS_DURABLE, 0600, NULL))
        return vi_throw_errno (error, errno, "writing the stage's manifest %s", path);
    return TRUE;
}

/* @o has exactly the members @names, no other. */
static gboolean
has_exactly (JsonObject *o, const char *const *names)
{
    guint n = 0;

    for (; names[n]; n++)
        if (!json_object_has_member (o, names[n]))
            return FALSE;
    return json_object_get_size (o) == n;
}

static char *
member_str (JsonObject *o, const char *name, gboolean *ok)
{
    JsonNode *n = json_object_get_member (o, name);

    if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
        *ok = FALSE;
        return NULL;
    }
    return g_strdup (json_node_get_string (n));
}

/* The manifest at @path, strictly; %FALSE and a reason when it is absent,
 * truncated, too large, of another version or otherwise not ours. */
static gboolean
manifest_read (const char *path, Manifest *out, char **out_reason)
{
    static const char *const top[] = { "version", "uuid", "name", "digest", "config", "disk",
                                       "overlay", NULL };
    static const char *const config[] = { "secrets_dir", "digest_key", "request_max",
                                          "file_max", "items_max", NULL };
    static const char *const disk[] = { "path", "format", "dev", "ino", "size", "mtime_ns",
                                        "ctime_ns", NULL };
    g_autoptr(GMappedFile) map = g_mapped_file_new (path, FALSE, NULL);
    g_autoptr(JsonParser) parser = json_parser_new_immutable ();
    g_auto(Manifest) m = { 0 };
    g_autofree char *overlay = NULL;
    JsonObject *o, *d;
    JsonNode *node;
    gboolean ok = TRUE;
    gint64 version;

    if (map == NULL) {
        *out_reason = g_strdup ("it has no manifest");
        return FALSE;
    }
    if (g_mapped_file_get_length (map) > STAGE_MANIFEST_MAX) {
        *out_reason = g_strdup_printf ("its manifest is larger than %d bytes", STAGE_MANIFEST_MAX);
        return FALSE;
    }
    if (g_mapped_file_get_length (map) == 0 ||
        !json_parser_load_from_data (parser, g_mapped_file_get_contents (map),
                                     (gssize) g_mapped_file_get_length (map), NULL) ||
        !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
        *out_reason = g_strdup ("its manifest is truncated or not JSON");
        return FALSE;
    }
    o = json_node_get_object (json_parser_get_root (parser));
    version = member_int (o, "version", &ok);
    if (ok && version != STAGE_VERSION) {
        *out_reason = g_strdup_printf ("its manifest is of stage-format version %" G_GINT64_FORMAT
                                       ", not %d", version, STAGE_VERSION);
        return FALSE;
    }
    node = json_object_get_member (o, "config");
    m.config = node && JSON_NODE_HOLDS_OBJECT (node) &&
               has_exactly (json_node_get_object (node), config) ? json_node_copy (node) : NULL;
    node = json_object_get_member (o, "disk");
    d = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    if (!ok || !has_exactly (o, top) || m.config == NULL || d == NULL || !has_exactly (d, disk)) {
        *out_reason = g_strdup ("its manifest lacks a member, or has one that is not ours");
        return FALSE;
    }
    m.uuid = member_str (o, "uuid", &ok);
    m.name = member_str (o, "name", &ok);
    m.digest = member_str (o, "digest", &ok);
    overlay = member_str (o, "overlay", &ok);
    m.disk_path = member_str (d, "path", &ok);
    m.disk_format = member_str (d, "format", &ok);
    read_image_id (d, &m.disk, &ok);
    if (!ok || !g_str_equal (overlay, STAGE_OVERLAY)) {
        *out_reason = g_strdup ("its manifest has a member of the wrong type or value");
        return FALSE;
    }
    *out = m;
    m = (Manifest) { 0 };
    return TRUE;
}

/* The backing file named in the header of the qcow2 file @path ("" for
 * none), or %NULL when it is not a qcow2 file we can read.  Our own files
 * (a stage's overlay) and the disks we stage are read this way: only the
 * fixed header and the name it points to. */
static char *
qcow2_backing (int fd)
{
    guchar h[20];
    guint64 off;
    guint32 len;
    char *name;

    if (pread (fd, h, sizeof h, 0) != (ssize_t) sizeof h || memcmp (h, "QFI\xfb", 4) != 0)
        return NULL;
    off = GUINT64_FROM_BE (*(guint64 *) (h + 8));
    len = GUINT32_FROM_BE (*(guint32 *) (h + 16));
    if (off == 0)
        return g_strdup ("");
    if (len == 0 || len > 1023)
        return NULL;
    name = g_malloc0 (len + 1);
    if (pread (fd, name, len, (off_t) off) != (ssize_t) len || memchr (name, '\0', len)) {
        g_free (name);
        return NULL;
    }
    return name;
}

/* Whether @target can be staged: a local regular file, raw or qcow2, with
 * no backing file of its own (the stage depends on exactly one disk). */
static gboolean
stage_supported (const ViTarget *t, int fd, GError **error)
{
    g_autofree char *backing = NULL;
    const char *why = NULL;
    struct stat st;

    if (t->kind != VI_TARGET_IMAGE)
        why = "an LXC root is injected in seconds";
    else if (t->protocol != NULL)
        why = "a network disk can change without this host seeing it";
    else if (t->is_block)
        why = "a block device's changes do not show in its mtime";
    else if (!g_str_equal (t->format, "raw") && !g_str_equal (t->format, "qcow2"))
        why = "only raw and qcow2 images are staged";
    if (why == NULL && fd >= 0 && (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)))
        why = "it is not a regular file";
    if (why == NULL && fd >= 0 && g_str_equal (t->format, "qcow2")) {
        backing = qcow2_backing (fd);
        if (backing == NULL)
            why = "it is not a qcow2 image";
        else if (*backing)
            why = "it has a backing file, which could change under the stage";
    }
    if (why != NULL)
        return vi_throw (error, VI_ERROR_TARGET, "%s%s%s is not staged (%s): only local "
                         "file-backed qcow2/raw disks are; the hook injects it at start",
                         t->kind == VI_TARGET_IMAGE ? "disk " : "root ",
                         t->path ? t->path : "", t->protocol ? " (network)" : "", why);
    return TRUE;
}

/* Appended to a timeout in the launch stage (or before any stage). */
static const char *
stage_hint (const char *stage)
{
    if (stage == NULL || g_str_equal (stage, "launch"))
        return "; the appliance did not finish booting: if KVM is not usable on this host "
               "(nested virtualization), set force_tcg = true in [guestfs]";
    return "";
}

/* Disk images need the libguestfs helper, which Debian ships in a package
 * of its own (virt-inject-guestfs), so that hosts with only LXC guests do
 * not install libguestfs and a kernel.  Its absence is said up front, with
 * the package to install, rather than as a failed exec. */
static gboolean
helper_present (GError **error)
{
    const char *helper = vi_image_helper_path ();

    if (access (helper, X_OK) == 0)
        return TRUE;
    if (errno == ENOENT)
        return vi_throw (error, VI_ERROR_UNSUPPORTED,
                         "disk images are injected by the libguestfs helper %s, which is not "
                         "installed: install the package virt-inject-guestfs "
                         "(apt install virt-inject-guestfs)", helper);
    return vi_throw_errno (error, errno, "cannot run the libguestfs helper %s", helper);
}

/* The helper's command line (vi-image.h). */
static GPtrArray *
helper_argv (const ViConfig *cfg, const ViTarget *target, const char *overlay,
             const char *secret_obj, const char *spec_path, const ViRecordKey *record,
             gboolean dry_run)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);

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
    if (target->domain_uuid)
        g_ptr_array_add (argv, g_strdup_printf ("--domain-uuid=%s", target->domain_uuid));
    g_ptr_array_add (argv, g_strdup_printf ("--request-max=%" G_GSIZE_FORMAT, cfg->limits.request_max));
    g_ptr_array_add (argv, g_strdup_printf ("--file-max=%" G_GSIZE_FORMAT, cfg->limits.file_max));
    g_ptr_array_add (argv, g_strdup_printf ("--items-max=%u", cfg->limits.items_max));
    if (dry_run)
        g_ptr_array_add (argv, g_strdup ("--dry-run"));
    if (record && record->digest)
        g_ptr_array_add (argv, g_strdup_printf ("--record-digest=%s", record->digest));
    if (record && record->once)
        g_ptr_array_add (argv, g_strdup ("--record-once"));
    g_ptr_array_add (argv, g_strdup ("--spec"));
    g_ptr_array_add (argv, g_strdup (spec_path));
    g_ptr_array_add (argv, NULL);
    return argv;
}

/* Everything after the image's lock is held and the secret is in place:
 * recover, overlay, helper, commit.  With @sp, a stage instead: the
 * overlay is made in the stage's directory and, finished, kept there with
 * the manifest @manifest (completed here with the disk's identity), uncommitted. */
static gboolean
inject_locked (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec, Work *w,
               const ViRecordKey *record, const StagePaths *sp, Manifest *manifest,
               gboolean dry_run, gint64 deadline, ViProgressFunc progress, gpointer progress_data,
               ViInjectResult *out_result, GError **error)
{
    g_autofree char *spec_path = g_build_filename (w->work, "request.xml", NULL);
    g_autofree char *canon = vi_spec_format (spec);
    g_autofree char *backing = NULL;
    g_autoptr(GString) notes = g_string_new (NULL);
    g_autoptr(GPtrArray) argv = NULL;
    g_autofree char *stage = NULL;
    g_auto(ViInjectResult) result = { 0 };
    ImageId made = { 0 }, now = { 0 };
    vi_autofd slot = -1;
    ViChildOptions copts = {
        .deadline = deadline,
        .timeout = cfg->timeout,
        .killed = "the appliance was killed and the image left unchanged",
        .progress = progress,
        .progress_data = progress_data,
    };
    g_autoptr(GError) e = NULL;
    const char *overlay = sp ? sp->overlay : dry_run ? w->dry_overlay : w->overlay;
    gboolean ok;

    if (!recover (w, dry_run, notes, error))
        return FALSE;
    /* After the recovery (a pending commit needs only qemu-img): without the
     * helper there is no appliance, and the error says what to install. */
    if (!helper_present (error))
        return FALSE;

    if (progress)
        progress ("slot", progress_data);
    slot = vi_slot_acquire (cfg->run_dir, cfg->max_parallel, deadline, error);
    if (slot < 0)
        return FALSE;

    /* A local image is the appliance's backing through our descriptor, as
     * /proc/OURPID/fd/N: the helper and its qemu read the inode we opened,
     * whatever the path names by then. */
    backing = w->image_fd >= 0 ? g_strdup_printf ("/proc/%d/fd/%d", (int) getpid (), w->image_fd)
                               : backing_of (target, error);
    if (backing == NULL)
        return FALSE;
    image_id_of (w->image_fd, &made);
    (void) g_unlink (overlay);
    if (!dry_run && sp == NULL && !intent_write (w->intent, INTENT_MADE, &made, error))
        return FALSE;
    {
        g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
        g_auto(GStrv) create = NULL;

        g_strv_builder_add_many (b, "qemu-img", "create", "-q", NULL);
        if (w->secret_obj)     /* qemu-img opens the backing for its size */
            g_strv_builder_add_many (b, "--object", w->secret_obj, NULL);
        g_strv_builder_add_many (b, "-f", "qcow2", "-F", target->format, "-b", backing,
                                 overlay, NULL);
        create = g_strv_builder_end (b);
        if (!run_tool ((const char *const *) create, NULL, 0,
                       "creating the overlay (qemu-img create)", error))
            return FALSE;
    }
    /* read by the helper and removed after it: nothing to keep across a crash */
    if (!g_file_set_contents_full (spec_path, canon, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL))
        return vi_throw_errno (error, errno, "%s", spec_path);

    argv = helper_argv (cfg, target, overlay, w->secret_obj, spec_path, record, dry_run);
    ok = vi_child_run_argv ((const char *const *) argv->pdata, &copts, &stage, &result, &e);
    (void) g_unlink (spec_path);
    if (!ok) {
        if (g_error_matches (e, VI_ERROR, VI_ERROR_TIMEOUT)) {
            char *m = g_strconcat (e->message, stage_hint (stage), NULL);

            g_free (e->message);
            e->message = m;
        }
        g_propagate_error (error, g_steal_pointer (&e));
        return FALSE;
    }
    if (!dry_run) {
        /* The appliance unmounted the guest's filesystems and qemu closed
         * the overlay (SIGTERM: it flushes); the host's page cache holds
         * what it wrote until this: durable before "ready" says it may be
         * committed, even after a crash of the host. */
        if (!fsync_path (overlay, error))
            return FALSE;
        /* the image must still be what the overlay was made on: something
         * else writing it meanwhile (a running guest) makes the overlay's
         * clusters stale */
        image_id_of (w->image_fd, &now);
        if (made.known && !image_id_equal (&made, &now))
            return vi_throw (error, VI_ERROR_FAILED, "image %s changed while the injection ran "
                             "(something else writes it): the injection was discarded", w->path);
        if (sp != NULL) {
            /* the backing by the disk's name, for the check at the start
             * (the commit names it by its descriptor again) */
            const char *rebase[] = { "qemu-img", "rebase", "-q", "-u", "-F", target->format,
                                     "-b", target->path, overlay, NULL };

            if (!run_tool (rebase, NULL, 0, "naming the disk as the stage's backing "
                           "(qemu-img rebase)", error))
                return FALSE;
            manifest->disk = made;
            if (!manifest_write (sp->manifest, manifest, error))
                return FALSE;
        } else {
            if (!intent_write (w->intent, INTENT_READY, &made, error))
                return FALSE;
            if (progress)
                progress ("commit", progress_data);
            if (!commit_overlay (w, &made, error))
                return FALSE;
        }
    }
    if (notes->len > 0) {
        /* ours (recovery), then the helper's (the guest record) */
        g_autofree char *helper = g_steal_pointer (&result.notes);

        if (helper != NULL)
            g_string_append_printf (notes, "%s\n", helper);
        g_string_truncate (notes, notes->len - 1);
        result.notes = g_string_free (g_steal_pointer (&notes), FALSE);
    }
    if (out_result) {
        *out_result = result;
        result = (ViInjectResult) { 0 };
    }
    return TRUE;
}

/* The image's work directory, its lock held (one injection per image at a
 * time, waiting until @deadline), and the paths of what lives there. */
static gboolean
work_open (Work *w, const ViConfig *cfg, const ViTarget *target, int image_fd, gint64 deadline,
           GError **error)
{
    g_autofree char *lock_path = NULL;

    w->work = work_dir_for (cfg, target);
    w->overlay = g_build_filename (w->work, "overlay.qcow2", NULL);
    w->dry_overlay = g_build_filename (w->work, "dry-run.qcow2", NULL);
    w->intent = g_build_filename (w->work, "intent.json", NULL);
    w->legacy_intent = g_build_filename (w->work, "commit", NULL);
    w->image_fd = image_fd;
    w->lock = -1;
    w->format = target->format;
    w->path = target->path ? target->path : "(network disk)";
    if (g_mkdir_with_parents (w->work, 0700) < 0)
        return vi_throw_errno (error, errno, "creating %s", w->work);
    lock_path = g_build_filename (w->work, "lock", NULL);
    w->lock = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (w->lock < 0)
        return vi_throw_errno (error, errno, "%s", lock_path);
    while (flock (w->lock, LOCK_EX | LOCK_NB) < 0) {
        if (g_get_monotonic_time () >= deadline)
            return vi_throw (error, VI_ERROR_TIMEOUT,
                             "timed out waiting for another injection into the same image");
        g_usleep (100 * 1000);
    }
    return TRUE;
}

static void
work_close (Work *w)
{
    if (w->lock >= 0)
        close (w->lock);
    g_free (w->work);
    g_free (w->overlay);
    g_free (w->dry_overlay);
    g_free (w->intent);
    g_free (w->legacy_intent);
    *w = (Work) { .lock = -1, .image_fd = -1 };
}

gboolean
vi_image_inject (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
                 const ViRecordKey *record, gboolean dry_run, ViProgressFunc progress, gpointer progress_data,
                 ViInjectResult *out_result, GError **error)
{
    gint64 deadline = g_get_monotonic_time () + (gint64) cfg->timeout * G_USEC_PER_SEC;
    g_autofree char *secret_path = NULL;
    g_autofree char *secret_obj = NULL;
    vi_autofd image_fd = -1;
    Work w = { .lock = -1, .image_fd = -1 };
    gboolean ok;

    if (target->path == NULL && target->protocol == NULL)
        return vi_throw (error, VI_ERROR_TARGET, "no image to inject into");
    if (target->protocol == NULL) {
        image_fd = open_image (target->path, dry_run, error);
        if (image_fd < 0)
            return FALSE;
    }
    if (!work_open (&w, cfg, target, image_fd, deadline, error)) {
        work_close (&w);
        return FALSE;
    }
    secret_path = g_build_filename (w.work, "secret", NULL);
    if (target->secret) {
        /* 0600 in our 0700 work directory; removed on every way out */
        secret_obj = g_strdup_printf ("secret,id=" SECRET_ID ",format=raw,file=%s", secret_path);
        if (!g_file_set_contents_full (secret_path, target->secret, -1,
                                       G_FILE_SET_CONTENTS_NONE, 0600, NULL)) {
            vi_throw_errno (error, errno, "%s", secret_path);
            work_close (&w);
            return FALSE;
        }
    }
    w.secret_obj = secret_obj;
    w.path = target->path ? target->path : "(network disk)";
    ok = inject_locked (cfg, target, spec, &w, record, NULL, NULL, dry_run, deadline, progress, progress_data,
                        out_result, error);
    /* A failed injection leaves nothing to commit, unless its commit
     * started: then the overlay is what the next injection rolls forward. */
    if (dry_run) {
        (void) g_unlink (w.dry_overlay);
    } else if (!ok) {
        ImageId ignored;

        if (intent_read (w.intent, &ignored) != INTENT_COMMITTING &&
            !g_file_test (w.legacy_intent, G_FILE_TEST_EXISTS))
            discard (&w);
    }
    if (secret_obj)
        (void) g_unlink (secret_path);
    work_close (&w);
    return ok;
}

gboolean
vi_image_stage (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
                const char *uuid, const char *name, const char *digest,
                ViProgressFunc progress, gpointer progress_data, ViInjectResult *out_result,
                GError **error)
{
    gint64 deadline = g_get_monotonic_time () + (gint64) cfg->timeout * G_USEC_PER_SEC;
    vi_autofd image_fd = -1;
    Work w = { .lock = -1, .image_fd = -1 };
    StagePaths sp = { 0 };
    g_auto(Manifest) m = { 0 };
    gboolean ok;

    if (uuid == NULL || !g_uuid_string_is_valid (uuid))
        return vi_throw (error, VI_ERROR_TARGET, "a stage needs the domain's UUID");
    if (!stage_supported (target, -1, error))
        return FALSE;
    image_fd = open_image (target->path, FALSE, error);
    if (image_fd < 0 || !stage_supported (target, image_fd, error))
        return FALSE;
    stage_paths_init (&sp, cfg, uuid);
    m.uuid = g_strdup (uuid);
    m.name = g_strdup (name ? name : "");
    m.digest = g_strdup (digest);
    m.config = stage_config_node (cfg);
    m.disk_path = g_strdup (target->path);
    m.disk_format = g_strdup (target->format);
    ok = work_open (&w, cfg, target, image_fd, deadline, error);
    if (ok) {
        /* an earlier stage goes first: its manifest before anything else */
        stage_remove (&sp);
        ok = g_mkdir_with_parents (sp.dir, 0700) == 0 ||
             vi_throw_errno (error, errno, "creating %s", sp.dir);
    }
    if (ok) {
        /* the guest record of a staged injection names its domain (the
         * target's) and request */
        ViRecordKey record = { .digest = digest, .once = FALSE };

        ok = inject_locked (cfg, target, spec, &w, &record, &sp, &m, FALSE, deadline, progress,
                            progress_data, out_result, error);
    }
    if (!ok)
        stage_remove (&sp);
    work_close (&w);
    stage_paths_clear (&sp);
    return ok;
}

/* Why the stage @m (in @sp) may not be committed onto the disk @w holds
 * for the request @digest, or %NULL when it may. */
static char *
stage_mismatch (const ViConfig *cfg, const ViTarget *target, const StagePaths *sp,
                const Manifest *m, const char *uuid, const char *digest, Work *w)
{
    g_autoptr(JsonNode) config = stage_config_node (cfg);
    g_autofree char *backing = NULL;
    vi_autofd ofd = -1;
    ImageId now;

    if (!g_str_equal (m->uuid, uuid))
        return g_strdup_printf ("its manifest is of another domain (%s)", m->uuid);
    if (!g_str_equal (m->digest, digest))
        return g_strdup_printf ("the request changed (staged %.12s, now %.12s)", m->digest, digest);
    if (!json_node_equal (m->config, config))
        return g_strdup ("the configuration that shaped it changed (secrets_dir, digest_key "
                         "or [limits])");
    if (!g_str_equal (m->disk_path, target->path) || !g_str_equal (m->disk_format, target->format))
        return g_strdup_printf ("it was made on %s (%s), the domain's disk is now %s (%s)",
                                m->disk_path, m->disk_format, target->path, target->format);
    image_id_of (w->image_fd, &now);
    if (!image_id_equal (&m->disk, &now))
        return g_strdup_printf ("the disk %s changed since it was staged (device, inode, size, "
                                "mtime or ctime)", target->path);
    ofd = open (sp->overlay, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    backing = ofd >= 0 ? qcow2_backing (ofd) : NULL;
    if (backing == NULL)
        return g_strdup ("its overlay is missing or not a qcow2 file");
    if (!g_str_equal (backing, target->path))
        return g_strdup_printf ("its overlay's backing is %s, not the disk %s", backing,
                                target->path);
    return NULL;
}

gboolean
vi_image_stage_commit (const ViConfig *cfg, const ViTarget *target, const char *uuid,
                       const char *digest, char **out_reason, GError **error)
{
    gint64 deadline = g_get_monotonic_time () + (gint64) cfg->timeout * G_USEC_PER_SEC;
    vi_autofd image_fd = -1;
    Work w = { .lock = -1, .image_fd = -1 };
    StagePaths sp = { 0 };
    g_auto(Manifest) m = { 0 };
    g_autoptr(GString) notes = g_string_new (NULL);
    g_autoptr(GError) e = NULL;
    char *reason = NULL;
    gboolean ok = FALSE;

    *out_reason = NULL;
    if (uuid == NULL || !g_uuid_string_is_valid (uuid)) {
        *out_reason = g_strdup ("the domain has no UUID");
        return TRUE;
    }
    stage_paths_init (&sp, cfg, uuid);
    if (!g_file_test (sp.dir, G_FILE_TEST_IS_DIR)) {
        *out_reason = g_strdup ("there is none");
        stage_paths_clear (&sp);
        return TRUE;
    }
    if (!stage_supported (target, -1, &e)) {
        reason = g_strdup (e->message);
        ok = TRUE;
        goto out;
    }
    image_fd = open_image (target->path, FALSE, error);
    if (image_fd < 0 || !work_open (&w, cfg, target, image_fd, deadline, error))
        goto out;
    /* what an earlier injection left first: a pending commit rolls forward
     * (the disk then no longer matches the stage) */
    if (!recover (&w, FALSE, notes, error))
        goto out;
    if (!manifest_read (sp.manifest, &m, &reason) ||
        (reason = stage_mismatch (cfg, target, &sp, &m, uuid, digest, &w)) != NULL) {
        ok = TRUE;
        goto out;
    }
    /* the stage becomes the work directory's finished overlay, which the
     * rules of the intent then cover: committed only onto this disk as it
     * is, rolled forward when the commit is cut short */
    if (!intent_write (w.intent, INTENT_READY, &m.disk, error))
        goto out;
    if (rename (sp.overlay, w.overlay) < 0) {
        vi_throw_errno (error, errno, "moving the stage %s into %s", sp.overlay, w.work);
        discard (&w);
        goto out;
    }
    {
        /* the move on disk before the commit can write the image: a crash
         * must not find "committing" without its overlay */
        vi_autofd dir = open (w.work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dir < 0 || fsync (dir) < 0) {
            vi_throw_errno (error, errno, "%s", w.work);
            discard (&w);
            goto out;
        }
    }
    ok = commit_overlay (&w, &m.disk, error);
    if (!ok) {
        ImageId ignored;

        if (intent_read (w.intent, &ignored) != INTENT_COMMITTING)
            discard (&w);
    }
out:
    stage_remove (&sp);
    /* what the recovery did comes first: it may be why the disk changed */
    if (notes->len > 0)
        g_string_overwrite (notes, notes->len - 1, "; ");
    if (ok && reason)
        *out_reason = g_strconcat (notes->str, "the stage was discarded: ", reason, NULL);
    g_free (reason);
    work_close (&w);
    stage_paths_clear (&sp);
    return ok;
}

gboolean
vi_image_stage_exists (const ViConfig *cfg, const char *uuid)
{
    g_autofree char *dir = NULL;

    if (uuid == NULL || !g_uuid_string_is_valid (uuid))
        return FALSE;
    dir = g_build_filename (cfg->state_dir, "stage", uuid, NULL);
    return g_file_test (dir, G_FILE_TEST_IS_DIR);
}

/* Calls @func for each stage directory (only @domain's, by UUID or by the
 * name in its manifest, when not %NULL), with its manifest when it has a
 * readable one (else %NULL and why). */
typedef void (*StageFunc) (const StagePaths *sp, const char *uuid, const Manifest *m,
                           const char *reason, gpointer data);

static void
stage_foreach (const ViConfig *cfg, const char *domain, StageFunc func, gpointer data)
{
    g_autofree char *root = g_build_filename (cfg->state_dir, "stage", NULL);
    g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    const char *entry;

    while (dir && (entry = g_dir_read_name (dir)) != NULL)
        if (g_uuid_string_is_valid (entry))
            g_ptr_array_add (names, g_strdup (entry));
    g_ptr_array_sort (names, compare_strings);
    for (guint i = 0; i < names->len; i++) {
        const char *uuid = names->pdata[i];
        StagePaths sp = { 0 };
        g_auto(Manifest) m = { 0 };
        g_autofree char *reason = NULL;
        gboolean have;

        stage_paths_init (&sp, cfg, uuid);
        have = manifest_read (sp.manifest, &m, &reason);
        if (domain == NULL || g_ascii_strcasecmp (domain, uuid) == 0 ||
            (have && g_str_equal (domain, m.name)))
            func (&sp, uuid, have ? &m : NULL, reason, data);
        stage_paths_clear (&sp);
    }
}

static void
describe_stage (const StagePaths *sp, const char *uuid, const Manifest *m, const char *reason,
                gpointer data)
{
    GString *out = data;
    struct stat st;
    guint64 size = stat (sp->overlay, &st) == 0 ? (guint64) st.st_blocks * 512 : 0;
    g_autofree char *human = g_format_size (size);

    if (m != NULL)
        g_string_append_printf (out, "%s %s: request %.12s staged on %s (%s) in %s, %s\n", uuid,
                                m->name, m->digest, m->disk_path, m->disk_format, sp->dir, human);
    else
        g_string_append_printf (out, "%s: no usable stage in %s (%s): %s; the next start "
                                "discards it\n", uuid, sp->dir, human, reason);
}

char *
vi_image_stage_status (const ViConfig *cfg, const char *domain)
{
    GString *out = g_string_new (NULL);

    stage_foreach (cfg, domain, describe_stage, out);
    return g_string_free (out, FALSE);
}

static void
drop_stage (const StagePaths *sp, const char *uuid, const Manifest *m, const char *reason,
            gpointer data)
{
    guint *n = data;

    (void) uuid;
    (void) m;
    (void) reason;
    stage_remove (sp);
    (*n)++;
}

guint
vi_image_stage_drop (const ViConfig *cfg, const char *domain)
{
    guint n = 0;

    stage_foreach (cfg, domain, drop_stage, &n);
    return n;
}
