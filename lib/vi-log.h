/* vi-log.h: the programs' log (journal, else syslog).
 *
 * Used by hooks/ and tools/ only: lib/ reports through GError and never
 * logs.  Messages must never contain a secret.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/** vi_log_open: log as @ident to the journal when it runs, else syslog. */
void vi_log_open (const char *ident);

/** vi_log: one message at syslog @priority (LOG_INFO, LOG_ERR...). */
void vi_log (int priority, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
