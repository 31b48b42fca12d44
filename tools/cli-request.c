/* cli-request.c: the request options of `inject` and `metadata set`.
 *
 * Clear-text passwords come only from files (or are generated), are hashed
 * here with libxcrypt, and are wiped; argv never holds one.
 */
#include "cli-request.h"

#include <stdio.h>
#include <string.h>

#include "vi-crypt.h"
#include "vi-check.h"
#include "vi-error.h"

void
cli_request_add_entries (GOptionGroup *group, CliRequestOptions *opts)
{
    const GOptionEntry entries[] = {
        { "spec", 0, 0, G_OPTION_ARG_FILENAME, &opts->spec_file,
          "Request (spec) file: an <inject> element", "FILE" },
        { "ssh-key", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->ssh_keys,
          "Add every key of FILE (authorized_keys or .pub) for USER", "USER:FILE" },
        { "password", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->passwords,
          "Set USER's password: file:PATH (first line), random, locked or secret:NAME",
          "USER:SOURCE" },
        { "password-crypto", 0, 0, G_OPTION_ARG_STRING, &opts->password_crypto,
          "Hash method for clear-text passwords: yescrypt (default) or sha512", "METHOD" },
        { "file", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->files,
          "Copy HOSTFILE to GUESTPATH (mode default 0644)", "GUESTPATH:HOSTFILE[:MODE]" },
        { "hostname", 0, 0, G_OPTION_ARG_STRING, &opts->hostname, "Set the hostname", "NAME" },
        { "create-user", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->create_users,
          "Create user NAME when the guest has none (uid, group, home from the guest)", "NAME" },
        { "sudo", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->sudo,
          "Let USER run anything with sudo (/etc/sudoers.d/virt-inject-USER)", "USER[:nopasswd]" },
        { "firstboot", 0, 0, G_OPTION_ARG_FILENAME, &opts->firstboot,
          "Run the script FILE once at the guest's first boot", "FILE" },
        { "identity-reset", 0, 0, G_OPTION_ARG_NONE, &opts->identity_reset,
          "A clone: new machine-id, SSH host keys and random seed, once per domain", NULL },
        { NULL }
    };

    g_option_group_add_entries (group, entries);
}

void
cli_request_options_clear (CliRequestOptions *opts)
{
    g_clear_pointer (&opts->spec_file, g_free);
    g_clear_pointer (&opts->ssh_keys, g_strfreev);
    g_clear_pointer (&opts->passwords, g_strfreev);
    g_clear_pointer (&opts->files, g_strfreev);
    g_clear_pointer (&opts->hostname, g_free);
    g_clear_pointer (&opts->create_users, g_strfreev);
    g_clear_pointer (&opts->sudo, g_strfreev);
    g_clear_pointer (&opts->firstboot, g_free);
    g_clear_pointer (&opts->password_crypto, g_free);
    if (opts->generated) {
        explicit_bzero (opts->generated->str, opts->generated->len);
        g_string_free (g_steal_pointer (&opts->generated), TRUE);
    }
}

void
cli_request_show_generated (CliRequestOptions *opts)
{
    if (opts->generated == NULL)
        return;
    fputs (opts->generated->str, stdout);
    fflush (stdout);
    explicit_bzero (opts->generated->str, opts->generated->len);
    g_string_free (g_steal_pointer (&opts->generated), TRUE);
}

gboolean
cli_request_given (const CliRequestOptions *opts)
{
    return opts->spec_file || opts->ssh_keys || opts->passwords || opts->files || opts->hostname ||
           opts->create_users || opts->sudo || opts->firstboot || opts->identity_reset;
}

static ViUser *
user_of (ViSpec *spec, const char *name)
{
    ViUser *u = vi_spec_find_user (spec, name);

    if (u == NULL) {
        u = vi_user_new (name);
        g_ptr_array_add (spec->users, u);
    }
    return u;
}

/* Split "USER:REST" at the first ':'. */
static gboolean
split_user (const char *arg, const char *option, char **out_user, const char **out_rest,
            GError **error)
{
    const char *colon = strchr (arg, ':');
    g_autofree char *user = NULL;
    GError *e = NULL;

    if (colon == NULL || colon == arg || colon[1] == '\0')
        return vi_throw (error, VI_ERROR_INVALID, "--%s '%s': expected USER:...", option, arg);
    user = g_strndup (arg, colon - arg);
    if (!vi_check_account_name (user, &e)) {
        g_set_error (error, VI_ERROR, VI_ERROR_INVALID, "--%s: %s", option, e->message);
        g_error_free (e);
        return FALSE;
    }
    *out_user = g_steal_pointer (&user);
    *out_rest = colon + 1;
    return TRUE;
}

/* --create-user NAME, --sudo USER[:nopasswd]: the spec's own rules
 * (vi_spec_validate) check the names. */
static gboolean
add_account (ViSpec *spec, const char *arg, gboolean sudo, GError **error)
{
    const char *colon = strchr (arg, ':');
    g_autofree char *name = g_strndup (arg, colon ? (gsize) (colon - arg) : strlen (arg));
    GError *e = NULL;
    ViUser *u;

    if (!vi_check_account_name (name, &e)) {
        g_set_error (error, VI_ERROR, VI_ERROR_INVALID, "--%s: %s",
                     sudo ? "sudo" : "create-user", e->message);
        g_error_free (e);
        return FALSE;
    }
    if (colon && !(sudo && g_str_equal (colon, ":nopasswd")))
        return vi_throw (error, VI_ERROR_INVALID, "--%s '%s': expected %s", sudo ? "sudo" : "create-user",
                         arg, sudo ? "USER or USER:nopasswd" : "NAME");
    u = user_of (spec, name);
    if (!sudo)
        u->create = TRUE;
    else
        u->sudo = colon ? VI_SUDO_NOPASSWD : VI_SUDO_YES;
    return TRUE;
}

static gboolean
add_ssh_keys (ViSpec *spec, const char *arg, GError **error)
{
    g_autofree char *user = NULL;
    const char *path;
    g_autofree char *text = NULL;
    g_autoptr(GError) e = NULL;
    g_auto(GStrv) lines = NULL;
    guint added = 0;
    ViUser *u;

    if (!split_user (arg, "ssh-key", &user, &path, error))
        return FALSE;
    if (!g_file_get_contents (path, &text, NULL, &e))
        return vi_throw (error, VI_ERROR_INVALID, "--ssh-key %s: %s", arg, e->message);
    u = user_of (spec, user);
    lines = g_strsplit (text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_autofree char *line = g_strstrip (g_strdup (lines[i]));
        g_autoptr(GError) ke = NULL;

        if (*line == '\0' || *line == '#')
            continue;
        if (!vi_check_ssh_key (line, TRUE, &ke))
            return vi_throw (error, VI_ERROR_INVALID, "--ssh-key %s: line %u: %s", path, i + 1,
                             ke->message);
        g_ptr_array_add (u->ssh_keys, g_steal_pointer (&line));
        added++;
    }
    if (added == 0)
        return vi_throw (error, VI_ERROR_INVALID, "--ssh-key %s: no key in the file", path);
    return TRUE;
}

static gboolean
add_password (ViSpec *spec, const char *arg, ViHashMethod method, GString *generated,
              GError **error)
{
    g_autofree char *user = NULL;
    const char *src;
    ViUser *u;
    char *clear = NULL;

    if (!split_user (arg, "password", &user, &src, error))
        return FALSE;
    u = user_of (spec, user);
    g_clear_pointer (&u->password, g_free);

    if (g_str_equal (src, "locked")) {
        u->password_kind = VI_PASSWORD_LOCKED;
        return TRUE;
    }
    if (g_str_has_prefix (src, "secret:")) {
        GError *e = NULL;
        if (!vi_check_secret_name (src + 7, &e)) {
            g_set_error (error, VI_ERROR, VI_ERROR_INVALID, "--password %s: %s", user, e->message);
            g_error_free (e);
            return FALSE;
        }
        u->password_kind = VI_PASSWORD_SECRET;
        u->password = g_strdup (src + 7);
        return TRUE;
    }
    if (g_str_has_prefix (src, "file:")) {
        clear = vi_password_read_file (src + 5, error);
        if (clear == NULL)
            return FALSE;
    } else if (g_str_equal (src, "random")) {
        clear = vi_password_random (16, error);
        if (clear == NULL)
            return FALSE;
        /* Shown once, by cli_request_show_generated(), and nowhere else. */
        g_string_append_printf (generated, "password for %s: %s\n", user, clear);
    } else {
        return vi_throw (error, VI_ERROR_INVALID,
                         "--password %s: unknown source; use USER:file:PATH, USER:random, "
                         "USER:locked or USER:secret:NAME (a clear-text password on the command "
                         "line would be visible to every user of the host)", user);
    }
    u->password = vi_crypt_hash (clear, method, error);
    vi_password_wipe (clear);
    if (u->password == NULL)
        return FALSE;
    u->password_kind = VI_PASSWORD_HASH;
    return TRUE;
}

/* The content of the host file @path for option @option (the request
 * carries it as base64 when it is not UTF-8 text), at most file_max. */
static GBytes *
read_host_file (const char *option, const char *path, const ViLimits *limits,
                gboolean *out_base64, GError **error)
{
    g_autoptr(GError) e = NULL;
    g_autofree char *content = NULL;
    gsize len = 0;

    if (!g_file_get_contents (path, &content, &len, &e)) {
        vi_throw (error, VI_ERROR_INVALID, "--%s %s: %s", option, path, e->message);
        return NULL;
    }
    if (len > limits->file_max) {
        vi_throw (error, VI_ERROR_INVALID, "--%s %s: %" G_GSIZE_FORMAT " bytes exceeds the limit "
                  "of %" G_GSIZE_FORMAT " bytes ([limits] file_max)", option, path, len,
                  limits->file_max);
        return NULL;
    }
    *out_base64 = !g_utf8_validate (content, len, NULL) || memchr (content, '\0', len) != NULL;
    return g_bytes_new_take (g_steal_pointer (&content), len);
}

static gboolean
add_file (ViSpec *spec, const char *arg, const ViLimits *limits, GError **error)
{
    g_auto(GStrv) parts = g_strsplit (arg, ":", 3);
    g_autoptr(GError) e = NULL;
    g_autoptr(GBytes) b = NULL;
    gboolean base64;
    ViFile *f;

    if (g_strv_length (parts) < 2)
        return vi_throw (error, VI_ERROR_INVALID, "--file '%s': expected GUESTPATH:HOSTFILE[:MODE]",
                         arg);
    if (!vi_check_guest_path (parts[0], &e))
        return vi_throw (error, VI_ERROR_INVALID, "--file %s: %s", parts[0], e->message);
    b = read_host_file ("file", parts[1], limits, &base64, error);
    if (b == NULL)
        return FALSE;
    f = vi_file_new (parts[0], b);
    f->base64 = base64;
    if (parts[2] && !vi_parse_mode (parts[2], &f->mode, &e)) {
        vi_file_free (f);
        return vi_throw (error, VI_ERROR_INVALID, "--file %s: %s", arg, e->message);
    }
    g_ptr_array_add (spec->files, f);
    return TRUE;
}

ViSpec *
cli_request_build (CliRequestOptions *opts, const ViConfig *cfg, GError **error)
{
    g_autoptr(ViSpec) spec = NULL;
    g_autoptr(ViSpec) quick = vi_spec_new ();
    int method = VI_HASH_YESCRYPT;

    if (opts->password_crypto) {
        method = vi_hash_method_from_string (opts->password_crypto);
        if (method < 0) {
            vi_throw (error, VI_ERROR_INVALID,
                      "--password-crypto '%s': use yescrypt or sha512", opts->password_crypto);
            return NULL;
        }
    }
    if (opts->spec_file) {
        spec = vi_spec_parse_file (opts->spec_file, &cfg->limits, error);
        if (spec == NULL)
            return NULL;
    } else {
        spec = vi_spec_new ();
    }

    for (guint i = 0; opts->create_users && opts->create_users[i]; i++)
        if (!add_account (quick, opts->create_users[i], FALSE, error))
            return NULL;
    for (guint i = 0; opts->sudo && opts->sudo[i]; i++)
        if (!add_account (quick, opts->sudo[i], TRUE, error))
            return NULL;
    for (guint i = 0; opts->ssh_keys && opts->ssh_keys[i]; i++)
        if (!add_ssh_keys (quick, opts->ssh_keys[i], error))
            return NULL;
    if (opts->passwords && opts->generated == NULL)
        opts->generated = g_string_new (NULL);
    for (guint i = 0; opts->passwords && opts->passwords[i]; i++)
        if (!add_password (quick, opts->passwords[i], method, opts->generated, error))
            return NULL;
    for (guint i = 0; opts->files && opts->files[i]; i++)
        if (!add_file (quick, opts->files[i], &cfg->limits, error))
            return NULL;
    if (opts->hostname) {
        GError *e = NULL;
        if (!vi_check_hostname (opts->hostname, &e)) {
            g_set_error (error, VI_ERROR, VI_ERROR_INVALID, "--hostname: %s", e->message);
            g_error_free (e);
            return NULL;
        }
        quick->hostname = g_strdup (opts->hostname);
    }
    if (opts->firstboot) {
        quick->firstboot = read_host_file ("firstboot", opts->firstboot, &cfg->limits,
                                           &quick->firstboot_base64, error);
        if (quick->firstboot == NULL)
            return NULL;
    }
    quick->identity_reset = opts->identity_reset;
    vi_spec_merge (spec, quick);
    if (!vi_spec_validate (spec, &cfg->limits, error))
        return NULL;
    return g_steal_pointer (&spec);
}
