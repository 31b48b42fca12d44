/* vi-ledger.h: host state kept between hook invocations.
 *
 * - the run-once ledger (@state_dir/ledger/UUID): the request digest last
 *   injected successfully into that domain, and its name (for `hook forget`);
 * - migration/restore markers (@run_dir/markers/UUID): while present, the
 *   domain's disk belongs to a guest running elsewhere and is never touched;
 *   they expire (a daemon crash must not block injection forever);
 * - appliance slots (@run_dir/slots/N.lock): flock()ed files capping how many
 *   appliances run at once on the host.
 *
 * Files are written atomically (temp + rename) by root into root-owned
 * directories created 0700; names are validated UUIDs, never guest data.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/** vi_ledger_has: whether the ledger holds @digest for @uuid. */
gboolean vi_ledger_has (const char *state_dir, const char *uuid, const char *digest);

/**
 * vi_ledger_has_request:
 * @digest: the request digest (vi_request_digest())
 * @legacy: the digest without secrets (vi_spec_digest()), what entries
 *   recorded before the digest covered secrets hold
 *
 * Whether the ledger holds this request for @uuid.  An entry holding
 * @legacy (when it differs from @digest) counts once and is rewritten with
 * @digest, so that a secret rotated later re-arms the request.
 */
gboolean vi_ledger_has_request (const char *state_dir, const char *uuid, const char *name,
                                const char *digest, const char *legacy);

/** vi_ledger_record: store @digest (and @name) for @uuid. */
gboolean vi_ledger_record (const char *state_dir, const char *uuid, const char *name,
                           const char *digest, GError **error);

/**
 * vi_ledger_forget:
 * @domain: a UUID or a domain name recorded with vi_ledger_record()
 * @out_found: (out) (optional): whether an entry was removed
 */
gboolean vi_ledger_forget (const char *state_dir, const char *domain, gboolean *out_found,
                           GError **error);

/* Markers: @kind is "migrate" or "restore". */
gboolean vi_marker_set (const char *run_dir, const char *uuid, const char *kind, GError **error);
/** vi_marker_active: a marker younger than @max_age_s exists for @uuid (older ones are removed). */
gboolean vi_marker_active (const char *run_dir, const char *uuid, guint max_age_s, char **out_kind);
gboolean vi_marker_clear (const char *run_dir, const char *uuid, GError **error);

#define VI_MARKER_MAX_AGE_S (24 * 3600)

/**
 * vi_slot_acquire:
 * Takes one of @max slots, waiting until @deadline_us (g_get_monotonic_time()
 * clock).  Expiry is VI_ERROR_TIMEOUT ("waiting for an appliance slot").
 * Returns: the locked fd (close it to release), or -1 with @error.
 */
int vi_slot_acquire (const char *run_dir, guint max, gint64 deadline_us, GError **error);

G_END_DECLS
