/* cli.h: what the sub-commands of virt-inject share. */
#pragma once

#include <glib.h>
#include "vi-config.h"
#include "vi-domain.h"

G_BEGIN_DECLS

typedef struct {
    const char *config_file;    /* --config-file, or NULL */
    gboolean verbose;
} CliGlobal;

/* Each command parses its own argv (argv[0] is the command name) and returns
 * the exit status; it prints its errors as "virt-inject: MESSAGE". */
int cli_cmd_validate (CliGlobal *global, int argc, char **argv);
int cli_cmd_inject (CliGlobal *global, int argc, char **argv);
int cli_cmd_metadata (CliGlobal *global, int argc, char **argv);
int cli_cmd_hook (CliGlobal *global, int argc, char **argv);
int cli_cmd_stage (CliGlobal *global, int argc, char **argv);

/**
 * cli_stage_domain:
 * Stages @dom's own request on the target the hook would choose (what
 * `virt-inject stage` and `metadata set --stage` do) and prints where.
 * Returns: the exit status.
 */
int cli_stage_domain (const ViConfig *cfg, const ViDomain *dom, gboolean verbose);

/** cli_load_config: vi_config_load(global->config_file); prints the error. */
ViConfig *cli_load_config (CliGlobal *global);

/** cli_error: print "virt-inject: " + message on stderr and return its exit code. */
int cli_error (const GError *error);

G_END_DECLS
