/* vi-run.h: one entry point from (target, request) to an injected guest.
 *
 * Shared by the hook and every form of `virt-inject inject`: picks the
 * backend the target's kind calls for (DESIGN.md): the rootfs backend for a
 * root directory, vi-mount + rootfs for an LXC image root, the libguestfs
 * helper (vi-image) for a disk image.  Every one runs in a child under the
 * [inject] timeout (vi-child): at expiry the child's process group is
 * killed and VI_ERROR_TIMEOUT names the stage.  Only the mains include this.
 */
#pragma once

#include <glib.h>
#include "vi-child.h"
#include "vi-config.h"
#include "vi-domain.h"
#include "vi-inject.h"
#include "vi-spec.h"

G_BEGIN_DECLS

/**
 * vi_run_inject:
 * @record: (nullable): the guest record's request digest, and whether a
 *   record of it and of the target's domain means "already applied" (policy
 *   once); %NULL: a record of no digest
 * @progress: (nullable): told of each stage
 * @out_result: (out caller-allocates) (optional): what was (or, with
 *   @dry_run, would be) done, whichever process did it; set on success, the
 *   caller clears it
 * Returns: %TRUE, or %FALSE with @error; map it with vi_error_exit_code().
 */
gboolean vi_run_inject (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
                        const ViRecordKey *record, gboolean dry_run, ViProgressFunc progress, gpointer progress_data,
                        ViInjectResult *out_result, GError **error);

/**
 * ViRequest:
 * A domain's request as the hook reads it at prepare (and `virt-inject
 * stage` ahead of it): the parsed request, its policy (the request's, else
 * the configuration's default), its keyed digest (vi_request_digest()) and
 * whether the host's run-once ledger already has it.
 */
typedef struct {
    ViSpec *spec;
    ViPolicy policy;
    char *digest;
    gboolean already;           /* policy once and the ledger has this request */
} ViRequest;

void vi_request_clear (ViRequest *req);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ViRequest, vi_request_clear)

/**
 * vi_request_load:
 * Reads @dom's request into @out (cleared by the caller).
 * Returns: %FALSE with @error when the request is invalid (@out->spec
 * %NULL: nothing in it can be read, not even on-error) or when its digest
 * cannot be made (@out->spec set: a secret it names is missing, say).
 */
gboolean vi_request_load (const ViConfig *cfg, const ViDomain *dom, ViRequest *out,
                          GError **error);

G_END_DECLS
