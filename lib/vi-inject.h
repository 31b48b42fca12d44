/* vi-inject.h: the operations, planned then applied.
 *
 * vi_plan_build() reads everything it needs from the guest (passwd, group,
 * shadow, authorized_keys, hosts, os-release...) and computes every byte it
 * will write, so that a request the guest cannot satisfy (a user missing
 * from passwd or shadow, an unknown group, a file with several links) fails
 * before the first write.  vi_plan_apply() then only creates directories and
 * writes the planned files through the VFS, skipping those whose content,
 * mode and owner are already right (a second run changes no byte and no
 * mtime), commits, and relabels for SELinux; a failure before the commit
 * leaves the guest as it was.
 */
#pragma once

#include <glib.h>
#include "vi-spec.h"
#include "vi-vfs.h"
#include "vi-guest.h"
#include "vi-record.h"

G_BEGIN_DECLS

typedef struct _ViPlan ViPlan;

typedef struct {
    const char *secrets_dir;    /* for <password secret=NAME> */
    ViHashMethod *force_hash;   /* (nullable): override the guest's method */
    gsize read_max;             /* cap for guest files read (default 8 MiB when 0) */
    const char *domain_uuid;    /* (nullable): the domain injected, named in the guest
                                 * record and keying <identity reset=> (once per domain);
                                 * NULL: a bare image (VI_IDENTITY_STANDALONE) */
    const ViRecordKey *record;  /* (nullable) the guest record's digest (none: never
                                 * "already applied") */
} ViInjectOptions;

/* The plan's reason for /.autorelabel, in its summary: an SELinux guest
 * whose files the backend cannot relabel (ViInjectResult.autorelabel says
 * so to a program). */
#define VI_INJECT_AUTORELABEL_NOTE "SELinux: relabel at first boot"

/* The note of a "once" injection whose guest record says it is done. */
#define VI_INJECT_ALREADY_NOTE "already applied (guest record)"

/**
 * ViInjectResult:
 * @summary: vi_plan_describe() of what was (or, dry run, would be) done
 * @autorelabel: the guest is SELinux-enforcing and the backend cannot
 *   relabel, so this injection creates (dry run: would create) /.autorelabel
 *   and the guest relabels at its first boot
 * @changes: steps of the plan that change the guest
 * @unchanged: steps already as requested
 * @notes: see the member; the injection's own are about the guest record
 *   (VI_INJECT_ALREADY_NOTE, or why a record was ignored)
 *
 * What an injection reports to its caller; vi_child_result_format() carries
 * it across a process boundary.  Clear it with vi_inject_result_clear().
 */
typedef struct {
    char *summary;
    gboolean autorelabel;
    guint changes;
    guint unchanged;
    char *notes;        /* (nullable) what the host side did besides the plan, one line
                         * each, for the log (an earlier interrupted injection finished
                         * or discarded, and why) */
} ViInjectResult;

static inline void
vi_inject_result_clear (ViInjectResult *result)
{
    g_clear_pointer (&result->summary, g_free);
    g_clear_pointer (&result->notes, g_free);
    result->autorelabel = FALSE;
    result->changes = result->unchanged = 0;
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ViInjectResult, vi_inject_result_clear)

/**
 * vi_plan_build:
 * Reads the guest record first (vi-record.h): with @opts->record->once and
 * a valid record of the same domain UUID and digest, the plan has no step
 * and its note is VI_INJECT_ALREADY_NOTE; a record that cannot be trusted
 * counts as absent, and the note says why.  What a valid record holds and
 * this request no longer produces is taken back by steps of the same plan
 * (README "A request is desired state"; not with @spec->keep_dropped): a
 * line "remove", "rmdir", "write ... (taken back: ...)" or "remove-line"
 * each, or "skipped ... (not taken back: WHY)".  Every other plan ends
 * with the record's own steps (VI_RECORD_DIR, the originals of replaced
 * files, the record), which are "unchanged" when the guest already has
 * them.
 * Returns: (transfer full): the plan, or %NULL with @error (VI_ERROR_GUEST
 * for what the guest does not allow, naming the user/path/reason).
 */
ViPlan *vi_plan_build (const ViSpec *spec, ViVfs *vfs, const ViInjectOptions *opts, GError **error);

void vi_plan_free (ViPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViPlan, vi_plan_free)

/**
 * vi_plan_describe:
 * Returns: (transfer full): one line per step ("mkdir /root/.ssh 0700 0:0",
 * "write /etc/shadow 0640 0:42 (password for root)", "unchanged /etc/motd"),
 * never a secret; what --dry-run prints and the hook logs.
 */
char *vi_plan_describe (const ViPlan *plan);

/** vi_plan_n_changes: steps that will change the guest (0: nothing to do). */
guint vi_plan_n_changes (const ViPlan *plan);

/**
 * vi_plan_apply:
 * Applies @plan, all or nothing: when a step or the commit fails, the staged
 * writes are dropped, the directories the apply created are removed again
 * (only while empty: vi_vfs_rmdir()) and the modes and owners it changed
 * are put back, and the links it made are removed.  Files the plan removes
 * (a clone's SSH host keys and random seed, what a dropped item made) are
 * removed last before the commit and cannot be put back (a kept original
 * put back is removed only after the commit): a failure from there on leaves them
 * removed and everything else as it was (the next injection does it all
 * again: its marker was not committed).  The error names the failing step and the guest path; what
 * could not be undone follows as "(could not undo: ...)".  A commit that
 * fails after renaming some files cannot take those back; their
 * directories then stay, and say so.  A failed SELinux relabel comes after
 * the commit and is not undone.
 */
gboolean vi_plan_apply (ViPlan *plan, ViVfs *vfs, GError **error);

/**
 * vi_inject:
 * @out_result: (out caller-allocates) (optional): set on success; the
 *   caller clears it
 *
 * vi_plan_build() + vi_plan_apply() (only the build with @dry_run).
 */
gboolean vi_inject (const ViSpec *spec, ViVfs *vfs, const ViInjectOptions *opts,
                    gboolean dry_run, ViInjectResult *out_result, GError **error);

G_END_DECLS
