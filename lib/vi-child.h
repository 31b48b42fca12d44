/* vi-child.h: the one way an injection runs in a child process, and the one
 * format its result crosses the process boundary in.
 *
 * Every injection, whatever its target, runs in a child: a fork running a
 * function (root directories, LXC image roots) or an exec of a helper (the
 * libguestfs helper for disk images).  The child is the leader of a new
 * process group and dies with its parent (PR_SET_PDEATHSIG); the parent
 * enforces one deadline by killing the whole group, so whatever the child
 * started (the appliance's qemu, qemu-storage-daemon) goes with it.  A
 * child stuck where SIGKILL does not reach (an uninterruptible wait on a
 * hung FUSE or NFS server) is given a few seconds to die and then left to
 * the kernel: the caller returns by the deadline plus that grace.
 *
 * The wire: the child writes "stage: NAME" lines on its stderr as each
 * stage starts (anything else there is diagnostic text), and exactly one
 * JSON object on its stdout as it ends: the result
 *   {"summary": TEXT, "autorelabel": BOOL, "changes": N, "unchanged": N,
 *    "notes": TEXT (optional)}
 * or the error
 *   {"error": {"code": N, "message": TEXT}}   (N: a ViErrorCode)
 * and exits with vi_error_exit_code() of that error, or 0.
 *
 * A leaf module: the mains, vi-run and vi-image include it; it includes
 * nothing of theirs.
 */
#pragma once

#include <glib.h>
#include "vi-inject.h"

G_BEGIN_DECLS

/**
 * ViProgressFunc:
 * @stage: the stage starting: "slot" (waiting for an appliance slot),
 *   "launch", "mount", "write", "shutdown", "commit" (disk images);
 *   "open" (the root), "write" (root directories); "mount", "open",
 *   "write" (LXC image roots)
 *
 * Told as each stage of an injection starts, so that a CLI can show
 * progress and the hook can log it.  Never given a secret.
 */
typedef void (*ViProgressFunc) (const char *stage, gpointer user_data);

/* Seconds a killed child is given to be reaped before it is left behind. */
#define VI_CHILD_REAP_GRACE 3

typedef struct {
    gint64 deadline;            /* g_get_monotonic_time() by which the child must end */
    guint timeout;              /* the configured seconds, for the message */
    const char *killed;         /* what the timeout message adds: what was killed and
                                 * what it leaves ("the image was left unchanged") */
    ViProgressFunc progress;    /* (nullable) told of each stage the child announces */
    gpointer progress_data;
} ViChildOptions;

/**
 * ViChildFunc:
 * Runs in the forked child.  Announces its stages with
 * vi_child_announce_stage() and fills @out_result on success.
 */
typedef gboolean (*ViChildFunc) (gpointer user_data, ViInjectResult *out_result, GError **error);

/**
 * vi_child_run_func:
 * @out_stage: (out) (optional): the last stage the child announced (or
 *   %NULL), whether or not it succeeded; the caller frees it
 * @out_result: (out caller-allocates) (optional): set on success
 *
 * Forks, runs @func in the child under @opts' deadline and collects its
 * result.  The caller must not hold locks another thread may need (the
 * child is a fork).
 *
 * Returns: %TRUE, or %FALSE with the child's own error (same code and
 * message), VI_ERROR_TIMEOUT naming the stage, or VI_ERROR_FAILED when
 * the child died without a result.
 */
gboolean vi_child_run_func (ViChildFunc func, gpointer user_data, const ViChildOptions *opts,
                            char **out_stage, ViInjectResult *out_result, GError **error);

/**
 * vi_child_run_argv:
 * Like vi_child_run_func() for a helper program (@argv[0] an absolute path)
 * that speaks the same wire (vi_child_finish()).  Exit status 127 without a
 * result is "cannot run".
 */
gboolean vi_child_run_argv (const char *const *argv, const ViChildOptions *opts,
                            char **out_stage, ViInjectResult *out_result, GError **error);

/** vi_child_announce_stage: in a child, "stage: NAME" on stderr. */
void vi_child_announce_stage (const char *stage);

/**
 * vi_child_finish:
 * In a child or helper: writes the result (when @ok) or @error as the one
 * JSON object on stdout, and for an error also one human line
 * "@prog: MESSAGE" on stderr.
 * Returns: the exit status to end with.
 */
int vi_child_finish (const char *prog, gboolean ok, const ViInjectResult *result,
                     const GError *error);

/**
 * vi_child_result_format:
 * Returns: (transfer full): @result as the wire's result object.  Bytes of
 * the summary that are not UTF-8 become U+FFFD.
 */
char *vi_child_result_format (const ViInjectResult *result);

/**
 * vi_child_error_format:
 * Returns: (transfer full): @error as the wire's error object (an error of
 * another domain is VI_ERROR_FAILED).
 */
char *vi_child_error_format (const GError *error);

/**
 * vi_child_result_parse:
 * @out_result: (out caller-allocates): set only on success
 *
 * Reads one object of the wire (@len bytes of @text, or up to its NUL when
 * -1).  A result object gives %TRUE; an error object gives %FALSE with that
 * error (its code and message); anything else (missing or mistyped members,
 * a code out of range) is %FALSE with VI_ERROR_FAILED "unreadable ...".
 */
gboolean vi_child_result_parse (const char *text, gssize len, ViInjectResult *out_result,
                                GError **error);

G_END_DECLS
