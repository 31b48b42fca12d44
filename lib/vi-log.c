/* vi-log.c: journal or syslog, decided once. */
#include "vi-log.h"

#include <syslog.h>
#include <unistd.h>

static const char *log_ident = "virt-inject";
static gboolean use_journal;

void
vi_log_open (const char *ident)
{
    log_ident = ident;
    use_journal = access ("/run/systemd/journal/socket", W_OK) == 0;
    if (!use_journal)
        openlog (ident, LOG_PID, LOG_DAEMON);
}

void
vi_log (int priority, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start (ap, fmt);
    msg = g_strdup_vprintf (fmt, ap);
    va_end (ap);

    if (use_journal) {
        g_autofree char *prio = g_strdup_printf ("%d", priority);
        const GLogField fields[] = {
            { "MESSAGE", msg, -1 },
            { "PRIORITY", prio, -1 },
            { "SYSLOG_IDENTIFIER", log_ident, -1 },
        };
        if (g_log_writer_journald (G_LOG_LEVEL_MESSAGE, fields, G_N_ELEMENTS (fields), NULL) ==
            G_LOG_WRITER_HANDLED)
            return;
    }
    syslog (priority, "%s", msg);
}
