/* vi-config.h: /etc/virt-inject/virt-inject.conf (GKeyFile).
 *
 * Every key has a default; a file that omits keys (or a missing default
 * file) gives those defaults.  `--config-file FILE` replaces the path; that
 * file must exist.  Durations are seconds.  data/virt-inject.conf documents
 * every key.
 */
#pragma once

#include <glib.h>
#include "vi-spec.h"

G_BEGIN_DECLS

#define VI_CONFIG_DEFAULT_PATH SYSCONFDIR "/virt-inject/virt-inject.conf"

typedef struct {
    /* [inject] */
    guint timeout;              /* whole-injection deadline for every kind of target,
                                 * seconds (default 600); [guestfs] timeout is its
                                 * older name */

    /* [guestfs] */
    guint memsize;              /* appliance MiB (0 = libguestfs default) */
    guint smp;                  /* appliance vCPUs (default 1) */
    gboolean force_tcg;         /* software emulation (nested KVM hosts) */
    guint max_parallel;         /* host-wide cap on concurrent appliances (default 4) */

    /* [limits] */
    ViLimits limits;

    /* [hook] */
    ViPolicy default_policy;    /* for requests without policy= (default once) */

    /* [paths] */
    char *secrets_dir;          /* default SYSCONFDIR/virt-inject/secrets */
    char *digest_key;           /* the key of the request digest's secret HMACs,
                                 * default SYSCONFDIR/virt-inject/digest.key */
    char *state_dir;            /* ledger, default LOCALSTATEDIR/lib/virt-inject */
    char *run_dir;              /* markers, slots, default RUNSTATEDIR/virt-inject */

    char *path;                 /* the file read, or NULL when defaults only */
} ViConfig;

/** vi_config_new_default: every key at its default. */
ViConfig *vi_config_new_default (void);
void vi_config_free (ViConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViConfig, vi_config_free)

/**
 * vi_config_load:
 * @path: (nullable): an explicit file (must exist), or %NULL for
 *   VI_CONFIG_DEFAULT_PATH (a missing default file means defaults)
 *
 * Unknown groups/keys and out-of-range values are VI_ERROR_INVALID naming
 * the file, group and key.
 *
 * Returns: (transfer full): the config, or %NULL with @error set.
 */
ViConfig *vi_config_load (const char *path, GError **error);

/**
 * vi_config_known_keys:
 * Returns: (transfer full): every "group.key" the parser knows (for the test
 * that data/virt-inject.conf documents them all).
 */
GStrv vi_config_known_keys (void);

G_END_DECLS
