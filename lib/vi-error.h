/* vi-error.h: the one error domain of virt-inject.
 *
 * lib/ reports every failure as a GError in VI_ERROR; the programs map the
 * code to an exit status with vi_error_exit_code() (DESIGN.md: 0 done,
 * 1 invalid request or target, 2 injection failed, 3 timed out).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VI_ERROR (vi_error_quark ())
GQuark vi_error_quark (void);

typedef enum {
    VI_ERROR_INVALID,       /* the request is invalid (XML, schema, semantic rule) -> exit 1 */
    VI_ERROR_TARGET,        /* no usable injection target in the domain/args       -> exit 1 */
    VI_ERROR_GUEST,         /* the guest does not allow the request (user missing,
                             * file with several links, unsafe tree...)            -> exit 2 */
    VI_ERROR_FAILED,        /* an operation failed while injecting                  -> exit 2 */
    VI_ERROR_NOT_FOUND,     /* a guest path does not exist (callers often expect it) -> exit 2 */
    VI_ERROR_UNSUPPORTED,   /* the host cannot do it safely (no openat2, no nbd...) -> exit 2 */
    VI_ERROR_TIMEOUT,       /* the deadline expired; nothing left running           -> exit 3 */
    VI_ERROR_COMMIT_PENDING,/* a commit into a disk image started and did not finish:
                             * the image is half-committed until the next injection
                             * rolls it forward; fails a start whatever on-error
                             * says                                                 -> exit 2 */
} ViErrorCode;

#define VI_ERROR_LAST_CODE VI_ERROR_COMMIT_PENDING

/**
 * vi_error_exit_code:
 * @error: (nullable): an error, or %NULL for success
 *
 * Returns: the process exit status DESIGN.md assigns to @error: 0 for %NULL,
 * 1 for VI_ERROR_INVALID/VI_ERROR_TARGET, 3 for VI_ERROR_TIMEOUT, 2 otherwise
 * (including errors of other domains).
 */
int vi_error_exit_code (const GError *error);

/**
 * vi_throw_errno:
 * @error: return location
 * @errsv: the errno value (saved by the caller before any other call)
 * @fmt: printf-style prefix naming what failed (for guest paths: the path)
 *
 * Sets @error to VI_ERROR_FAILED (VI_ERROR_NOT_FOUND for ENOENT) with the
 * message "<prefix>: <strerror(errsv)>".
 *
 * Returns: %FALSE, so callers can write `return vi_throw_errno (...);`.
 */
gboolean vi_throw_errno (GError **error, int errsv, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

/**
 * vi_throw:
 * Sets @error to @code of VI_ERROR with a formatted message.
 * Returns: %FALSE.
 */
gboolean vi_throw (GError **error, ViErrorCode code, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

G_END_DECLS
