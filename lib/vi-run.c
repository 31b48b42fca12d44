/* vi-run.c: dispatch (target, request) to the backend its kind calls for. */
#include "vi-run.h"

#include "vi-error.h"
#include "vi-image.h"
#include "vi-inject.h"
#include "vi-mount.h"
#include "vi-vfs.h"

typedef struct {
    const ViConfig *cfg;
    const ViTarget *target;
    const ViSpec *spec;
    gboolean dry_run;
    ViProgressFunc progress;
    gpointer progress_data;
    char *summary;
} RootfsJob;

static gboolean
inject_rootfs (const char *root_dir, gpointer user_data, char **out_text, GError **error)
{
    RootfsJob *job = user_data;
    ViInjectOptions opts = { .secrets_dir = job->cfg->secrets_dir };
    g_autoptr(ViVfs) vfs = NULL;

    vfs = vi_vfs_rootfs_open (root_dir, job->target->idmap, error);
    if (vfs == NULL)
        return FALSE;
    if (job->progress)
        job->progress ("write", job->progress_data);
    return vi_inject (job->spec, vfs, &opts, job->dry_run, out_text, error);
}

gboolean
vi_run_inject (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
               gboolean dry_run, ViProgressFunc progress, gpointer progress_data,
               char **out_summary, GError **error)
{
    RootfsJob job = { cfg, target, spec, dry_run, progress, progress_data, NULL };
    gboolean ok = FALSE;

    switch (target->kind) {
    case VI_TARGET_ROOTFS_DIR:
        ok = inject_rootfs (target->path, &job, &job.summary, error);
        break;
    case VI_TARGET_ROOTFS_IMAGE:
        if (progress)
            progress ("mount", progress_data);
        ok = vi_mount_run (target, inject_rootfs, &job, &job.summary, error);
        break;
    case VI_TARGET_IMAGE:
        return vi_image_inject (cfg, target, spec, dry_run, progress, progress_data, out_summary,
                                error);
    case VI_TARGET_LAST:
    default:
        g_assert_not_reached ();
    }

    if (ok && out_summary != NULL)
        *out_summary = g_steal_pointer (&job.summary);
    g_free (job.summary);
    return ok;
}
