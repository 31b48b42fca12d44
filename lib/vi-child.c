/* vi-child.c: run an injection in a child under a deadline (see vi-child.h).
 *
 * Why a child for everything: a deadline can only be enforced on something
 * that can be killed.  libguestfs holds its handle lock during
 * guestfs_launch, and a root directory on a hung FUSE or NFS server blocks
 * in the kernel; neither can be interrupted from a thread of the same
 * process.  A process group can: the parent polls the child's pipes until
 * the deadline, then SIGKILLs the group.  Root directories are forked, not
 * exec'ed, so they keep their start-up cost (a fork is a fraction of a
 * millisecond).
 */
#include "vi-child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "vi-error.h"
#include "vi-json.h"

#define STAGE_PREFIX "stage: "

/* ---- the wire format ---------------------------------------------------- */

char *
vi_child_result_format (const ViInjectResult *result)
{
    g_autoptr(JsonBuilder) b = json_builder_new ();
    g_autoptr(JsonNode) root = NULL;
    /* JSON strings are UTF-8; a guest path may not be (a home directory
     * from the guest's passwd), and the summary is for people */
    g_autofree char *summary = g_utf8_make_valid (result->summary ? result->summary : "", -1);

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "summary");
    json_builder_add_string_value (b, summary);
    json_builder_set_member_name (b, "autorelabel");
    json_builder_add_boolean_value (b, result->autorelabel);
    json_builder_set_member_name (b, "changes");
    json_builder_add_int_value (b, result->changes);
    json_builder_set_member_name (b, "unchanged");
    json_builder_add_int_value (b, result->unchanged);
    if (result->notes != NULL) {
        g_autofree char *notes = g_utf8_make_valid (result->notes, -1);

        json_builder_set_member_name (b, "notes");
        json_builder_add_string_value (b, notes);
    }
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    return json_to_string (root, FALSE);
}

char *
vi_child_error_format (const GError *error)
{
    g_autoptr(JsonBuilder) b = json_builder_new ();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *message = g_utf8_make_valid (error->message ? error->message : "", -1);
    int code = error->domain == VI_ERROR ? error->code : VI_ERROR_FAILED;

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "error");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "code");
    json_builder_add_int_value (b, code);
    json_builder_set_member_name (b, "message");
    json_builder_add_string_value (b, message);
    json_builder_end_object (b);
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    return json_to_string (root, FALSE);
}

/* The member @name of @obj, a value of @type, or NULL. */
static gboolean
count_ok (JsonNode *n)
{
    return n != NULL && json_node_get_int (n) >= 0 && json_node_get_int (n) <= G_MAXUINT;
}

static gboolean
parse_error_object (JsonNode *node, GError **error)
{
    JsonObject *obj = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    JsonNode *code = obj ? vi_json_value_member (obj, "code", G_TYPE_INT64) : NULL;
    JsonNode *message = obj ? vi_json_value_member (obj, "message", G_TYPE_STRING) : NULL;

    if (code == NULL || message == NULL || json_node_get_int (code) < VI_ERROR_INVALID ||
        json_node_get_int (code) > VI_ERROR_LAST_CODE)
        return vi_throw (error, VI_ERROR_FAILED, "unreadable injection result: an error needs a "
                         "\"code\" from %d to %d and a string \"message\"", VI_ERROR_INVALID,
                         VI_ERROR_LAST_CODE);
    return vi_throw (error, (ViErrorCode) json_node_get_int (code), "%s",
                     json_node_get_string (message));
}

gboolean
vi_child_result_parse (const char *text, gssize len, ViInjectResult *out_result, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(GError) e = NULL;
    JsonNode *root;
    JsonNode *summary, *autorelabel, *changes, *unchanged, *notes;
    JsonObject *obj;

    if (!json_parser_load_from_data (parser, text, len, &e))
        return vi_throw (error, VI_ERROR_FAILED, "unreadable injection result: %s", e->message);
    root = json_parser_get_root (parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        return vi_throw (error, VI_ERROR_FAILED, "unreadable injection result: not an object");
    obj = json_node_get_object (root);
    if (json_object_has_member (obj, "error"))
        return parse_error_object (json_object_get_member (obj, "error"), error);
    summary = vi_json_value_member (obj, "summary", G_TYPE_STRING);
    autorelabel = vi_json_value_member (obj, "autorelabel", G_TYPE_BOOLEAN);
    changes = vi_json_value_member (obj, "changes", G_TYPE_INT64);
    unchanged = vi_json_value_member (obj, "unchanged", G_TYPE_INT64);
    if (summary == NULL || autorelabel == NULL || !count_ok (changes) || !count_ok (unchanged))
        return vi_throw (error, VI_ERROR_FAILED,
                         "unreadable injection result: a string \"summary\", a boolean "
                         "\"autorelabel\" and counts \"changes\" and \"unchanged\" are required");
    out_result->summary = g_strdup (json_node_get_string (summary));
    out_result->autorelabel = json_node_get_boolean (autorelabel);
    out_result->changes = (guint) json_node_get_int (changes);
    out_result->unchanged = (guint) json_node_get_int (unchanged);
    notes = vi_json_value_member (obj, "notes", G_TYPE_STRING);
    out_result->notes = notes ? g_strdup (json_node_get_string (notes)) : NULL;
    return TRUE;
}

/* ---- the child's side ----------------------------------------------------- */

static void
write_all (int fd, const char *p, gsize len)
{
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= n;
    }
}

void
vi_child_announce_stage (const char *stage)
{
    g_autofree char *line = g_strconcat (STAGE_PREFIX, stage, "\n", NULL);

    write_all (STDERR_FILENO, line, strlen (line));
}

int
vi_child_finish (const char *prog, gboolean ok, const ViInjectResult *result,
                 const GError *error)
{
    g_autofree char *json = NULL;

    if (ok) {
        json = vi_child_result_format (result);
    } else {
        g_autofree char *line = g_strdup_printf ("%s: %s\n", prog, error->message);

        json = vi_child_error_format (error);
        write_all (STDERR_FILENO, line, strlen (line));
    }
    write_all (STDOUT_FILENO, json, strlen (json));
    return ok ? 0 : vi_error_exit_code (error);
}

/* ---- the parent's side ---------------------------------------------------- */

typedef struct {
    GString *out;
    GString *err;               /* diagnostic text (stage lines taken out) */
    GString *partial;           /* an stderr line not yet ended */
    char *stage;
    const ViChildOptions *opts;
} Collect;

static void
collect_clear (Collect *c)
{
    g_string_free (c->out, TRUE);
    g_string_free (c->err, TRUE);
    g_string_free (c->partial, TRUE);
    g_free (c->stage);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Collect, collect_clear)

static void
take_stderr (Collect *c, const char *buf, gsize n)
{
    char *nl;

    g_string_append_len (c->partial, buf, n);
    while ((nl = memchr (c->partial->str, '\n', c->partial->len)) != NULL) {
        gsize len = nl - c->partial->str;

        if (len > strlen (STAGE_PREFIX) && g_str_has_prefix (c->partial->str, STAGE_PREFIX)) {
            g_free (c->stage);
            c->stage = g_strndup (c->partial->str + strlen (STAGE_PREFIX),
                                  len - strlen (STAGE_PREFIX));
            if (c->opts->progress)
                c->opts->progress (c->stage, c->opts->progress_data);
        } else {
            g_string_append_len (c->err, c->partial->str, len + 1);
        }
        g_string_erase (c->partial, 0, len + 1);
    }
}

/* Wait up to @ms milliseconds for @pid to end, without reaping it: until
 * it is reaped its process group cannot be reused, so it stays ours to
 * kill. */
static gboolean
ended_within (pid_t pid, int ms)
{
    for (int waited = 0;; waited += 10) {
        siginfo_t si = { 0 };

        if (waitid (P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
            if (si.si_pid == pid)
                return TRUE;
        } else if (errno != EINTR) {
            return TRUE;    /* not our child any more: nothing to wait for */
        }
        if (waited >= ms)
            return FALSE;
        g_usleep (10 * 1000);
    }
}

/* Reap @pid within @ms milliseconds; FALSE when it is still there. */
static gboolean
reap_within (pid_t pid, int ms, int *out_status)
{
    for (int waited = 0;; waited += 10) {
        pid_t r = waitpid (pid, out_status, WNOHANG);

        if (r == pid || (r < 0 && errno != EINTR))
            return TRUE;
        if (waited >= ms)
            return FALSE;
        g_usleep (10 * 1000);
    }
}

/* Read the child's pipes until both close or the deadline passes. */
static gboolean
collect_until (int out_fd, int err_fd, Collect *c)
{
    struct pollfd fds[2] = {
        { .fd = out_fd, .events = POLLIN },
        { .fd = err_fd, .events = POLLIN },
    };
    int open_fds = 2;

    while (open_fds > 0) {
        gint64 left = (c->opts->deadline - g_get_monotonic_time ()) / 1000;
        int n;

        if (left <= 0)
            return FALSE;
        n = poll (fds, 2, (int) MIN (left, 1000));
        if (n < 0 && errno != EINTR)
            return TRUE;    /* cannot wait any more: take what we have */
        for (int i = 0; n > 0 && i < 2; i++) {
            char buf[4096];
            ssize_t r;

            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            r = read (fds[i].fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                fds[i].fd = -1;
                open_fds--;
            } else if (i == 0) {
                g_string_append_len (c->out, buf, r);
            } else {
                take_stderr (c, buf, r);
            }
        }
    }
    return TRUE;
}

static gboolean
throw_timeout (const Collect *c, gboolean reaped, GError **error)
{
    return vi_throw (error, VI_ERROR_TIMEOUT,
                     "timed out after %u s (the [inject] timeout) during the %s stage; %s%s",
                     c->opts->timeout, c->stage ? c->stage : "start",
                     c->opts->killed ? c->opts->killed : "the injection was killed",
                     reaped ? "" : " (the killed process is stuck in the kernel, in a hung "
                                   "filesystem, and was left to end by itself)");
}

/* The result of a child that ran to its end with @status. */
static gboolean
child_outcome (const Collect *c, int status, ViInjectResult *out_result, GError **error)
{
    g_auto(ViInjectResult) result = { 0 };
    g_autofree char *diag = g_strstrip (g_strdup (c->err->str));
    g_autoptr(GError) e = NULL;
    const char *detail;

    if (c->out->len > 0) {
        if (!vi_child_result_parse (c->out->str, c->out->len, &result, &e)) {
            if (!g_str_has_prefix (e->message, "unreadable injection result"))
                return vi_throw (error, e->code, "%s", e->message);   /* the child's own */
        } else if (WIFEXITED (status) && WEXITSTATUS (status) == 0) {
            if (out_result) {
                *out_result = result;
                result = (ViInjectResult) { 0 };
            }
            return TRUE;
        }
    }
    if (WIFEXITED (status) && WEXITSTATUS (status) == 127 && c->out->len == 0)
        return vi_throw (error, VI_ERROR_FAILED, "cannot run the injection's helper%s%s",
                         *diag ? ": " : "", diag);
    if (WIFSIGNALED (status))
        return vi_throw (error, VI_ERROR_FAILED, "the injection's process died of signal %d%s%s",
                         WTERMSIG (status), *diag ? ": " : "", diag);
    detail = *diag ? diag : e ? e->message : NULL;
    return vi_throw (error, VI_ERROR_FAILED, "the injection's process ended (status %d) without "
                     "a readable result%s%s", WIFEXITED (status) ? WEXITSTATUS (status) : -1,
                     detail ? ": " : "", detail ? detail : "");
}

/* Fork; the child becomes a group leader that dies with us, gets the pipes
 * as stdout/stderr, and runs @func or execs @argv. */
static gboolean
run_child (ViChildFunc func, gpointer user_data, const char *const *argv,
           const ViChildOptions *opts, char **out_stage, ViInjectResult *out_result,
           GError **error)
{
    g_auto(Collect) c = { g_string_new (NULL), g_string_new (NULL), g_string_new (NULL), NULL, opts };
    int outp[2], errp[2];
    pid_t parent = getpid ();
    pid_t pid;
    int status = 0;
    gboolean finished, reaped;

    if (pipe2 (outp, O_CLOEXEC) < 0)
        return vi_throw_errno (error, errno, "pipe");
    if (pipe2 (errp, O_CLOEXEC) < 0) {
        int errsv = errno;
        close (outp[0]);
        close (outp[1]);
        return vi_throw_errno (error, errsv, "pipe");
    }
    pid = fork ();
    if (pid < 0) {
        int errsv = errno;
        close (outp[0]);
        close (outp[1]);
        close (errp[0]);
        close (errp[1]);
        return vi_throw_errno (error, errsv, "fork");
    }
    if (pid == 0) {
        setpgid (0, 0);
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);
        if (dup2 (outp[1], STDOUT_FILENO) < 0 || dup2 (errp[1], STDERR_FILENO) < 0)
            _exit (127);
        if (argv != NULL) {
            execv (argv[0], (char **) argv);
            _exit (127);
        } else {
            g_auto(ViInjectResult) result = { 0 };
            g_autoptr(GError) e = NULL;
            gboolean ok = func (user_data, &result, &e);

            _exit (vi_child_finish ("virt-inject", ok, &result, e));
        }
    }
    /* both sides set the group, so a kill right after fork finds it */
    setpgid (pid, pid);
    close (outp[1]);
    close (errp[1]);

    finished = collect_until (outp[0], errp[0], &c);
    close (outp[0]);
    close (errp[0]);
    if (finished)
        finished = ended_within (pid, (int) MAX (0, (opts->deadline - g_get_monotonic_time ()) / 1000));
    /* the whole group: the child if the deadline passed, and in any case
     * whatever it left running (a daemon it started) */
    kill (-pid, SIGKILL);
    reaped = reap_within (pid, VI_CHILD_REAP_GRACE * 1000, &status);
    if (out_stage)
        *out_stage = g_strdup (c.stage);
    if (!finished)
        return throw_timeout (&c, reaped, error);
    return child_outcome (&c, status, out_result, error);
}

gboolean
vi_child_run_func (ViChildFunc func, gpointer user_data, const ViChildOptions *opts,
                   char **out_stage, ViInjectResult *out_result, GError **error)
{
    return run_child (func, user_data, NULL, opts, out_stage, out_result, error);
}

gboolean
vi_child_run_argv (const char *const *argv, const ViChildOptions *opts, char **out_stage,
                   ViInjectResult *out_result, GError **error)
{
    g_return_val_if_fail (argv != NULL && argv[0] != NULL, FALSE);
    return run_child (NULL, NULL, argv, opts, out_stage, out_result, error);
}
