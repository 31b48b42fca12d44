/* vi-run.h: one entry point from (target, request) to an injected guest.
 *
 * Shared by the hook and every form of `virt-inject inject`: picks the
 * backend the target's kind calls for (DESIGN.md): the rootfs backend for a
 * root directory, vi-mount + rootfs for an LXC image root, the libguestfs
 * helper (vi-image) for a disk image.
 */
#pragma once

#include <glib.h>
#include "vi-config.h"
#include "vi-domain.h"
#include "vi-inject.h"
#include "vi-spec.h"

G_BEGIN_DECLS

/**
 * ViProgressFunc:
 * @stage: the stage starting: "slot" (waiting for an appliance slot),
 *   "launch", "mount", "write", "shutdown", "commit" (disk images);
 *   "mount", "write" (root directories and LXC image roots)
 *
 * Told as each stage of an injection starts, so that a CLI can show
 * progress and the hook can log it.  Never given a secret.
 */
typedef void (*ViProgressFunc) (const char *stage, gpointer user_data);

/**
 * vi_run_inject:
 * @progress: (nullable): told of each stage
 * @out_result: (out caller-allocates) (optional): what was (or, with
 *   @dry_run, would be) done, whichever process did it; set on success, the
 *   caller clears it
 * Returns: %TRUE, or %FALSE with @error; map it with vi_error_exit_code().
 */
gboolean vi_run_inject (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
                        gboolean dry_run, ViProgressFunc progress, gpointer progress_data,
                        ViInjectResult *out_result, GError **error);

/**
 * vi_run_result_format:
 * Returns: (transfer full): @result as one JSON object, {"summary": TEXT,
 * "autorelabel": BOOL, "changes": N, "unchanged": N}: how a result crosses a process boundary (the
 * libguestfs helper's stdout, the LXC mount child's pipe).  Bytes of the
 * summary that are not UTF-8 become U+FFFD.
 */
char *vi_run_result_format (const ViInjectResult *result);

/**
 * vi_run_result_parse:
 * @out_result: (out caller-allocates): set only on success
 *
 * Reads what vi_run_result_format() wrote (@len bytes of @text, or up to
 * its NUL when -1).  Both members are required with their types; others
 * are ignored.
 * Returns: %TRUE, or %FALSE with VI_ERROR_FAILED.
 */
gboolean vi_run_result_parse (const char *text, gssize len, ViInjectResult *out_result,
                              GError **error);

G_END_DECLS
