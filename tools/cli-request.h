/* cli-request.h: the request options shared by `inject` and `metadata set`.
 *
 * --spec FILE, --ssh-key USER:FILE, --password USER:file:PATH|random|locked|secret:NAME,
 * --file GUESTPATH:HOSTFILE[:MODE], --hostname NAME, --password-crypto yescrypt|sha512,
 * --create-user NAME, --sudo USER[:nopasswd], --firstboot FILE, --identity-reset.
 * Clear-text passwords are hashed here, before anything else sees them;
 * `random` passwords are kept (only) until cli_request_show_generated().
 */
#pragma once

#include <glib.h>
#include "vi-config.h"
#include "vi-spec.h"

G_BEGIN_DECLS

typedef struct {
    char *spec_file;
    char **ssh_keys;            /* USER:FILE */
    char **passwords;           /* USER:file:PATH | USER:random | USER:locked | USER:secret:NAME */
    char **files;               /* GUESTPATH:HOSTFILE[:MODE] */
    char *hostname;
    char **create_users;        /* NAME */
    char **sudo;                /* USER | USER:nopasswd */
    char *firstboot;            /* FILE: the script run once at first boot */
    gboolean identity_reset;
    char *password_crypto;      /* "yescrypt" (default) or "sha512" */
    GString *generated;         /* "password for USER: ..." lines of USER:random, not yet shown */
} CliRequestOptions;

/** cli_request_add_entries: add the options above to @group (pointing into @opts). */
void cli_request_add_entries (GOptionGroup *group, CliRequestOptions *opts);

/** cli_request_options_clear: free what option parsing allocated. */
void cli_request_options_clear (CliRequestOptions *opts);

/**
 * cli_request_show_generated:
 * Prints, once, on stdout, the passwords that USER:random generated (call it
 * only after the request has been stored or injected, so a password is never
 * shown for a request that was not applied), then wipes them.
 */
void cli_request_show_generated (CliRequestOptions *opts);

/** cli_request_given: whether any request option was given. */
gboolean cli_request_given (const CliRequestOptions *opts);

/**
 * cli_request_build:
 * Builds the request: the --spec file (if any) merged with the quick options
 * (vi_spec_merge), then validated.  VI_ERROR_INVALID names the option.
 */
ViSpec *cli_request_build (CliRequestOptions *opts, const ViConfig *cfg, GError **error);

G_END_DECLS
