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
 * @out_summary: (out) (optional): vi_plan_describe() of what was (or, with
 *   @dry_run, would be) done
 * Returns: %TRUE, or %FALSE with @error; map it with vi_error_exit_code().
 */
gboolean vi_run_inject (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
                        gboolean dry_run, ViProgressFunc progress, gpointer progress_data,
                        char **out_summary, GError **error);

G_END_DECLS
