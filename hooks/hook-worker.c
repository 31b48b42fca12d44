/* virt-inject-hook-worker: the work of the libvirt hook.
 *
 * virt-inject-hook (hook-front.c) execs this program, with the same argv
 * and the domain XML on stdin, only for a domain that carries our namespace
 * and an operation we act on; everything below applies to it.
 *
 * libvirt runs it for every lifecycle operation of every domain as
 *   HOOK OBJECT OPERATION SUB-OPERATION EXTRA
 * with the full domain XML on stdin, LC_ALL=C and a minimal PATH.  Contract
 * kept here:
 *   - stdin is always drained (libvirt writes all of it);
 *   - stdout stays empty (for some operations libvirt reads it as new XML);
 *   - exit 0 for success or nothing to do, non-zero with ONE line on stderr,
 *     starting "virt-inject:", which libvirt shows to the `virsh start` user;
 *   - it never calls libvirt (the daemon is waiting for us: deadlock).
 *
 * This program links only the core (GLib, libxml2, libxcrypt, json-glib):
 * disk images are handed to the libguestfs helper program, so libguestfs is
 * never loaded here.
 *
 * Environment (for tests and unusual installs): VIRT_INJECT_CONFIG names the
 * config file instead of /etc/virt-inject/virt-inject.conf;
 * VIRT_INJECT_GUESTFS_HELPER the libguestfs helper program.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "vi-config.h"
#include "vi-domain.h"
#include "vi-error.h"
#include "vi-image.h"
#include "vi-inject.h"
#include "vi-ledger.h"
#include "vi-log.h"
#include "vi-run.h"

static char *
read_stdin (gsize *out_len)
{
    GString *s = g_string_sized_new (8192);
    char buf[65536];
    ssize_t n;

    while ((n = read (0, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        g_string_append_len (s, buf, n);
    }
    *out_len = s->len;
    return g_string_free (s, FALSE);
}

static int
fail (const GError *error, const char *name)
{
    fprintf (stderr, "virt-inject: %s%s%s\n", name ? name : "", name ? ": " : "", error->message);
    return vi_error_exit_code (error);
}

/* Each stage in the log at debug level: a start that hangs shows where. */
static void
log_stage (const char *stage, gpointer user_data)
{
    vi_log (LOG_DEBUG, "domain %s: stage %s", (const char *) user_data, stage);
}

/* A stage (virt-inject stage) of this domain: committed when everything it
 * was made on still holds; else discarded, with the reason in the log, and
 * the caller injects in full.  Returns whether it was committed. */
static gboolean
commit_stage (const ViConfig *cfg, const ViDomain *dom, const ViTarget *target,
              const char *digest, GError **error)
{
    g_autofree char *reason = NULL;

    vi_log (LOG_DEBUG, "domain %s: stage commit-stage", dom->name);
    if (!vi_image_stage_commit (cfg, target, dom->uuid, digest, &reason, error))
        return FALSE;
    if (reason != NULL) {
        vi_log (LOG_NOTICE, "domain %s (%s): %s; injecting in full", dom->name, dom->uuid,
                reason);
        return FALSE;
    }
    return TRUE;
}

static int
prepare (const ViConfig *cfg, ViDomain *dom)
{
    g_autoptr(GError) error = NULL;
    g_auto(ViRequest) req = { 0 };
    g_autoptr(ViTarget) target = NULL;
    g_auto(ViInjectResult) result = { 0 };
    g_autofree char *what = NULL;
    g_autofree char *marker = NULL;
    ViRecordKey record = { 0 };
    gint64 start = g_get_monotonic_time ();

    if (dom->uuid && vi_marker_active (cfg->run_dir, dom->uuid, VI_MARKER_MAX_AGE_S, &marker)) {
        vi_log (LOG_INFO, "domain %s (%s): %s marker present: the disk belongs to a running "
                "guest, not injecting", dom->name, dom->uuid, marker);
        return 0;
    }
    if (!vi_request_load (cfg, dom, &req, &error)) {
        if (req.spec == NULL) {
            /* An invalid request fails the start whatever on-error says:
             * we cannot even read what it says. */
            vi_log (LOG_ERR, "domain %s: invalid injection request: %s", dom->name,
                    error->message);
            return fail (error, dom->name);
        }
        vi_log (LOG_ERR, "domain %s: %s", dom->name, error->message);
        if (req.spec->on_error == VI_ON_ERROR_WARN)
            return 0;
        return fail (error, dom->name);
    }
    if (req.already) {
        vi_log (LOG_INFO, "domain %s (%s): request %.12s already injected (policy once)",
                dom->name, dom->uuid, req.digest);
        if (vi_image_stage_drop (cfg, dom->uuid) > 0)
            vi_log (LOG_NOTICE, "domain %s: discarded its stage: the request is already "
                    "injected", dom->name);
        return 0;
    }

    /* The ledger missed (another host's, or none): with policy once the
     * injection itself reads the guest's record, and applies nothing when
     * the guest already carries this request for this domain. */
    record.digest = req.digest;
    record.once = req.policy == VI_POLICY_ONCE;
    target = vi_domain_choose_target (dom, req.spec, NULL, &error);
    if (target != NULL) {
        gboolean staged = FALSE;

        what = vi_target_describe (target);
        if (vi_image_stage_exists (cfg, dom->uuid))
            staged = commit_stage (cfg, dom, target, req.digest, &error);
        if (!staged && error == NULL)
            vi_run_inject (cfg, target, req.spec, &record, FALSE, log_stage, (gpointer) dom->name,
                           &result, &error);
        if (error == NULL && dom->uuid && req.policy == VI_POLICY_ONCE)
            vi_ledger_record (cfg->state_dir, dom->uuid, dom->name, req.digest, &error);
        if (staged && error == NULL) {
            vi_log (LOG_INFO, "domain %s (%s): committed the staged request %.12s into %s in "
                    "%.1f s", dom->name, dom->uuid, req.digest, what,
                    (g_get_monotonic_time () - start) / 1e6);
            return 0;
        }
    }
    if (error != NULL) {
        vi_log (LOG_ERR, "domain %s (%s): injection into %s failed after %.1f s: %s", dom->name,
                dom->uuid ? dom->uuid : "-", what ? what : "?",
                (g_get_monotonic_time () - start) / 1e6, error->message);
        /* on-error="warn" lets the domain start, except on an image whose
         * commit started and did not finish: no guest boots half-committed */
        if (req.spec->on_error == VI_ON_ERROR_WARN &&
            !g_error_matches (error, VI_ERROR, VI_ERROR_COMMIT_PENDING))
            return 0;
        return fail (error, dom->name);
    }
    {
        g_auto(GStrv) lines = g_strsplit (result.summary ? result.summary : "", "\n", -1);

        g_auto(GStrv) notes = g_strsplit (result.notes ? result.notes : "", "\n", -1);

        for (guint i = 0; notes[i]; i++)
            if (*notes[i])
                vi_log (LOG_NOTICE, "domain %s: %s", dom->name, notes[i]);
        for (guint i = 0; lines[i]; i++)
            if (*lines[i])
                vi_log (LOG_DEBUG, "domain %s: %s", dom->name, lines[i]);
        if (result.autorelabel)
            vi_log (LOG_NOTICE, "domain %s: SELinux guest whose injected files cannot be "
                    "relabelled here: created /.autorelabel, the guest relabels at first boot",
                    dom->name);
        vi_log (LOG_INFO, "domain %s (%s): %s request %.12s into %s (%s backend): "
                "%u changes in %.1f s", dom->name, dom->uuid ? dom->uuid : "-",
                result.notes && strstr (result.notes, VI_INJECT_ALREADY_NOTE)
                ? "already applied (guest record):" : "injected", req.digest, what,
                target->kind == VI_TARGET_IMAGE ? "libguestfs" : "rootfs", result.changes,
                (g_get_monotonic_time () - start) / 1e6);
    }
    return 0;
}

int
main (int argc, char **argv)
{
    g_autofree char *xml = NULL;
    gsize len = 0;
    const char *op, *subop;
    gboolean is_prepare, is_incoming, is_release;
    g_autoptr(GError) error = NULL;
    g_autoptr(ViConfig) cfg = NULL;
    g_autoptr(ViDomain) dom = NULL;

    xml = read_stdin (&len);
    if (argc < 4)
        return 0;
    op = argv[2];
    subop = argv[3];
    is_prepare = g_str_equal (op, "prepare") && g_str_equal (subop, "begin");
    is_incoming = (g_str_equal (op, "migrate") || g_str_equal (op, "restore")) &&
                  g_str_equal (subop, "begin");
    is_release = g_str_equal (op, "release") && g_str_equal (subop, "end");
    if (!is_prepare && !is_incoming && !is_release)
        return 0;
    /* No request in this domain: nothing to do, without parsing anything. */
    if (is_prepare && memmem (xml, len, VI_SPEC_NS, strlen (VI_SPEC_NS)) == NULL)
        return 0;

    vi_log_open ("virt-inject-hook");
    cfg = vi_config_load (g_getenv ("VIRT_INJECT_CONFIG"), &error);
    if (cfg == NULL)
        return fail (error, NULL);
    dom = vi_domain_parse (xml, len, &cfg->limits, &error);
    if (dom == NULL) {
        /* Only a prepare with our request may fail the operation. */
        if (is_prepare)
            return fail (error, NULL);
        return 0;
    }

    if (is_incoming) {
        if (dom->uuid && !vi_marker_set (cfg->run_dir, dom->uuid, op, &error)) {
            vi_log (LOG_ERR, "domain %s: cannot record the %s marker: %s", dom->name, op,
                    error->message);
            return fail (error, dom->name);
        }
        return 0;
    }
    if (is_release) {
        if (dom->uuid)
            vi_marker_clear (cfg->run_dir, dom->uuid, NULL);
        return 0;
    }
    if (dom->inject == NULL)
        return 0;
    return prepare (cfg, dom);
}
