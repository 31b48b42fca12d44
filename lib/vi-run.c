/* vi-run.c: dispatch (target, request) to the backend its kind calls for,
 * in a child under the one deadline (vi-child). */
#include "vi-run.h"

#include "vi-child.h"
#include "vi-crypt.h"
#include "vi-error.h"
#include "vi-image.h"
#include "vi-inject.h"
#include "vi-ledger.h"
#include "vi-mount.h"
#include "vi-vfs.h"

typedef struct {
    const ViConfig *cfg;
    const ViTarget *target;
    const ViSpec *spec;
    const ViRecordKey *record;
    gboolean dry_run;
    const char *work_dir;       /* an LXC image root's mount point is made in it */
    ViInjectResult *result;     /* where inject_mounted() leaves its result */
} RootfsJob;

/* In the child: the rootfs backend on @root_dir. */
static gboolean
inject_rootfs (const char *root_dir, RootfsJob *job, ViInjectResult *out_result, GError **error)
{
    ViInjectOptions opts = {
        .secrets_dir = job->cfg->secrets_dir,
        .domain_uuid = job->target->domain_uuid,
        .record = job->record,
    };
    g_autoptr(ViVfs) vfs = NULL;

    vi_child_announce_stage ("open");
    vfs = vi_vfs_rootfs_open (root_dir, job->target->idmap, error);
    if (vfs == NULL)
        return FALSE;
    vi_child_announce_stage ("write");
    return vi_inject (job->spec, vfs, &opts, job->dry_run, out_result, error);
}

/* ViMountFunc, in the child: the root as mounted by vi_mount_within(). */
static gboolean
inject_mounted (const char *root_dir, gpointer user_data, GError **error)
{
    RootfsJob *job = user_data;

    return inject_rootfs (root_dir, job, job->result, error);
}

/* ViChildFunc: a root directory, or an LXC image root mounted first. */
static gboolean
child_inject (gpointer user_data, ViInjectResult *out_result, GError **error)
{
    RootfsJob *job = user_data;

    if (job->target->kind == VI_TARGET_ROOTFS_DIR)
        return inject_rootfs (job->target->path, job, out_result, error);
    vi_child_announce_stage ("mount");
    job->result = out_result;
    return vi_mount_within (job->target, job->work_dir, inject_mounted, job, error);
}

gboolean
vi_run_inject (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
               const ViRecordKey *record, gboolean dry_run, ViProgressFunc progress, gpointer progress_data,
               ViInjectResult *out_result, GError **error)
{
    RootfsJob job = { cfg, target, spec, record, dry_run, NULL, NULL };
    g_autofree char *work_dir = NULL;
    gboolean ok;
    ViChildOptions copts = {
        .deadline = g_get_monotonic_time () + (gint64) cfg->timeout * G_USEC_PER_SEC,
        .timeout = cfg->timeout,
        .killed = "the injection was killed with its process group; no file of the guest holds "
                  "partial content, and what it left in its staging directory the next "
                  "injection removes",
        .progress = progress,
        .progress_data = progress_data,
    };

    switch (target->kind) {
    case VI_TARGET_ROOTFS_DIR:
        return vi_child_run_func (child_inject, &job, &copts, NULL, out_result, error);
    case VI_TARGET_ROOTFS_IMAGE:
        /* made and removed here: a child the deadline killed cannot */
        work_dir = vi_mount_workdir_new (error);
        if (work_dir == NULL)
            return FALSE;
        job.work_dir = work_dir;
        ok = vi_child_run_func (child_inject, &job, &copts, NULL, out_result, error);
        vi_mount_workdir_remove (work_dir);
        return ok;
    case VI_TARGET_IMAGE:
        return vi_image_inject (cfg, target, spec, record, dry_run, progress, progress_data, out_result,
                                error);
    case VI_TARGET_LAST:
    default:
        g_assert_not_reached ();
    }
}

void
vi_request_clear (ViRequest *req)
{
    g_clear_pointer (&req->spec, vi_spec_free);
    g_clear_pointer (&req->digest, g_free);
}

gboolean
vi_request_load (const ViConfig *cfg, const ViDomain *dom, ViRequest *out, GError **error)
{
    g_autofree char *legacy = NULL;

    out->spec = vi_spec_from_node (dom->inject, &cfg->limits, error);
    if (out->spec == NULL)
        return FALSE;
    out->policy = out->spec->has_policy ? out->spec->policy : cfg->default_policy;
    out->digest = vi_request_digest (out->spec, cfg->secrets_dir, cfg->digest_key, error);
    if (out->digest == NULL)
        return FALSE;
    /* ledger entries of before the keyed digest still match */
    legacy = vi_spec_digest (out->spec);
    out->already = out->policy == VI_POLICY_ONCE && dom->uuid &&
                   vi_ledger_has_request (cfg->state_dir, dom->uuid, dom->name, out->digest,
                                          legacy);
    return TRUE;
}
