/* vi-image.h: disk-image injection, host side.
 *
 * The appliance never touches the image directly: a temporary qcow2 overlay
 * is created on top of it, the helper program virt-inject-guestfs (the only
 * program that links libguestfs; see modules/guestfs/) injects into the
 * overlay inside the appliance, in a child process of its own process group
 * that dies with its parent (PR_SET_PDEATHSIG).  The deadline is enforced
 * here by killing that group.  Only after a clean guestfs_shutdown is the
 * overlay committed into the image, so a failed, timed-out or killed
 * injection leaves the image byte-identical.  Appliances are capped
 * host-wide by vi_slot_acquire().
 */
/*
 * The helper's command line (the contract between vi-image.c and
 * modules/guestfs/virt-inject-guestfs.c):
 *
 *   virt-inject-guestfs --add PATH --format FMT [--root DEVICE]
 *       [--memsize MIB] [--smp N] [--force-tcg] [--secrets-dir DIR]
 *       [--qemu-object secret,id=vi-secret0,format=raw,file=F]
 *       [--request-max B] [--file-max B] [--items-max N]
 *       [--dry-run] [--domain-uuid UUID] [--record-digest HEX] [--record-once]
 *       --spec FILE
 *
 * FILE holds the canonical request (vi_spec_format).  PATH is the overlay
 * (format qcow2) whose backing file is the real image; the backing of an
 * iSCSI disk with <auth> names the secret object, whose file F (0600, in
 * the work directory) holds the password.  The helper speaks vi-child's
 * wire: "stage: NAME" lines on stderr, and one JSON object on stdout: its
 * ViInjectResult (the plan and whether it creates /.autorelabel) after a
 * clean guestfs_shutdown and exit 0, or its error, with exit status
 * vi_error_exit_code().  It never touches any file but PATH.
 */
#pragma once

#include <glib.h>
#include "vi-config.h"
#include "vi-domain.h"
#include "vi-child.h"
#include "vi-spec.h"

G_BEGIN_DECLS

/**
 * vi_image_helper_path:
 * Returns: (transfer none): $VIRT_INJECT_GUESTFS_HELPER, else the installed
 * LIBEXECDIR/virt-inject-guestfs.
 */
const char *vi_image_helper_path (void);

/**
 * vi_image_env_overrides:
 * @cfg: the configuration ([guestfs] force_tcg, and the file it came from)
 * @envp: (nullable): the environment to compare with (for tests), or %NULL
 *   for the process's
 *
 * The configuration is the one place that decides the appliance's backend
 * and its settings: the helper creates its handle with
 * GUESTFS_CREATE_NO_ENVIRONMENT, so LIBGUESTFS_BACKEND and
 * LIBGUESTFS_BACKEND_SETTINGS are never read.  This says where such a
 * variable asks for something else than what the appliance will get (the
 * backend is always "direct"; the settings are "force_tcg" or none), for
 * `--verbose`.  A variable asking for the same thing is not mentioned.
 *
 * Returns: (transfer full) (nullable): one line per overridden variable,
 * each ending in a newline, or %NULL when nothing is overridden.
 */
char *vi_image_env_overrides (const ViConfig *cfg, const char *const *envp);

/**
 * vi_image_inject:
 * @cfg: deadline, memsize, smp, force_tcg, max_parallel, limits, paths
 * @target: a VI_TARGET_IMAGE target
 * @spec: the request
 * @record: (nullable): the guest record's key, as for vi_run_inject()
 *   (given to the helper as --record-digest, --record-once; the domain is
 *   the target's, --domain-uuid)
 * @dry_run: plan only (no overlay commit, nothing written)
 * @progress: (nullable): told of each stage as it starts
 * @out_result: (out caller-allocates) (optional): what the helper reported
 *   (the plan / what was done, one step a line; the /.autorelabel flag); set
 *   on success, the caller clears it
 *
 * Returns: %TRUE, or %FALSE with @error (VI_ERROR_TIMEOUT naming the stage:
 * waiting for a slot, launch, mount, write, commit).
 */
gboolean vi_image_inject (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
                          const ViRecordKey *record, gboolean dry_run, ViProgressFunc progress, gpointer progress_data,
                          ViInjectResult *out_result, GError **error);

/*
 * Stages (`virt-inject stage`): an injection made ahead, while the domain is
 * shut off, into an overlay kept under [paths] state_dir, in stage/UUID/:
 * overlay.qcow2 and manifest.json (the request digest, the stage-format
 * version, the configuration that shapes an injection, the disk's path,
 * format and identity: device, inode, size, mtime and ctime in ns).  At the
 * next start the hook commits it, and only if all of that still holds;
 * anything else discards it.  Only local file-backed raw/qcow2 disks
 * without a backing file are staged.
 */

/**
 * vi_image_stage:
 * @uuid: the domain's UUID (names the stage)
 * @name: (nullable): the domain's name (for `stage --status`, `hook forget`)
 * @digest: the request digest (vi_request_digest()) the hook will compare
 * @out_result: (out caller-allocates) (optional): what the helper reported
 *
 * Injects @spec into a new overlay on @target, as vi_image_inject() would,
 * but leaves it uncommitted, as the stage of @uuid (replacing an earlier
 * one).  A target that cannot be staged (LXC, network disk, block device,
 * another format, a qcow2 with a backing file) is VI_ERROR_TARGET.
 * On failure no stage is left.
 */
gboolean vi_image_stage (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
                         const char *uuid, const char *name, const char *digest,
                         ViProgressFunc progress, gpointer progress_data,
                         ViInjectResult *out_result, GError **error);

/** vi_image_stage_exists: whether a stage directory exists for @uuid. */
gboolean vi_image_stage_exists (const ViConfig *cfg, const char *uuid);

/**
 * vi_image_stage_commit:
 * @target: the domain's target as the start sees it
 * @digest: the request digest now
 * @out_reason: (out) (transfer full): %NULL when the stage was committed;
 *   else why it was not (and, if there was one, that it was discarded)
 *
 * Under the image's lock: finishes what an earlier injection left (roll
 * forward), then commits the stage of @uuid into @target if its manifest
 * is readable, of this version, for @digest, made under the same
 * configuration, on this very disk unchanged, and its overlay's backing is
 * that disk.  The commit goes through the work directory's intent
 * ("ready", then "committing"), so a commit cut short is rolled forward by
 * the next injection.  The stage is gone afterwards, whatever happened.
 *
 * Returns: %TRUE (committed, or not with @out_reason), or %FALSE with
 * @error (VI_ERROR_COMMIT_PENDING when the commit started and failed).
 */
gboolean vi_image_stage_commit (const ViConfig *cfg, const ViTarget *target, const char *uuid,
                                const char *digest, char **out_reason, GError **error);

/**
 * vi_image_stage_status:
 * @domain: (nullable): a UUID or a domain name; %NULL for every stage
 *
 * Returns: (transfer full): one line per stage: UUID, name, request, disk,
 * where it is and the size of its overlay; or why it is not usable.  Empty
 * when there is none.
 */
char *vi_image_stage_status (const ViConfig *cfg, const char *domain);

/**
 * vi_image_stage_drop:
 * @domain: (nullable): a UUID or a domain name; %NULL for every stage
 * Returns: how many stages were removed.
 */
guint vi_image_stage_drop (const ViConfig *cfg, const char *domain);

G_END_DECLS
