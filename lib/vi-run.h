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
 * vi_run_inject:
 * @out_summary: (out) (optional): vi_plan_describe() of what was (or, with
 *   @dry_run, would be) done
 * Returns: %TRUE, or %FALSE with @error; map it with vi_error_exit_code().
 */
gboolean vi_run_inject (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
                        gboolean dry_run, char **out_summary, GError **error);

G_END_DECLS
