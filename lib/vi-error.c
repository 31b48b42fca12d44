/* vi-error.c: the virt-inject error domain and exit-status mapping. */
#include "vi-error.h"

#include <errno.h>
#include <string.h>

G_DEFINE_QUARK (virt-inject-error-quark, vi_error)

int
vi_error_exit_code (const GError *error)
{
    if (error == NULL)
        return 0;
    if (error->domain != VI_ERROR)
        return 2;
    switch ((ViErrorCode) error->code) {
    case VI_ERROR_INVALID:
    case VI_ERROR_TARGET:
        return 1;
    case VI_ERROR_TIMEOUT:
        return 3;
    case VI_ERROR_GUEST:
    case VI_ERROR_FAILED:
    case VI_ERROR_NOT_FOUND:
    case VI_ERROR_UNSUPPORTED:
    case VI_ERROR_COMMIT_PENDING:
    default:
        return 2;
    }
}

gboolean
vi_throw_errno (GError **error, int errsv, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *prefix = NULL;

    va_start (ap, fmt);
    prefix = g_strdup_vprintf (fmt, ap);
    va_end (ap);

    g_set_error (error, VI_ERROR,
                 errsv == ENOENT ? VI_ERROR_NOT_FOUND : VI_ERROR_FAILED,
                 "%s: %s", prefix, g_strerror (errsv));
    return FALSE;
}

gboolean
vi_throw (GError **error, ViErrorCode code, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start (ap, fmt);
    msg = g_strdup_vprintf (fmt, ap);
    va_end (ap);

    g_set_error_literal (error, VI_ERROR, code, msg);
    return FALSE;
}
