/* vi-check.h: checks of single request values, shared by everyone.
 *
 * A leaf module (GLib and vi-error only): the request parser, the CLI's
 * quick options, the VFS dispatchers and the guest readers include it
 * without pulling in the request parser.  Each check returns %TRUE, or
 * %FALSE with VI_ERROR_INVALID and a message saying what is wrong with
 * the value (the caller prefixes where the value came from).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * vi_check_guest_path:
 * A guest path as the VFS takes it: absolute, normalized (no "//", no
 * trailing '/', no "." or ".." component), not "/" itself, valid UTF-8
 * without control characters, at most 4096 bytes and 255 per component.
 */
gboolean vi_check_guest_path (const char *path, GError **error);

/**
 * vi_check_ssh_key:
 * One authorized_keys line: a known key type (DSA refused), base64 key
 * data whose embedded type matches, an optional comment; no newline or
 * control character; at most 16384 bytes.  Options before the type (one
 * word) only when @allow_options.
 */
gboolean vi_check_ssh_key (const char *line, gboolean allow_options, GError **error);

/**
 * vi_ssh_key_has_options:
 * Whether the first word of @key, an already checked key line, is not a
 * key type (so it is an options word).
 */
gboolean vi_ssh_key_has_options (const char *key);

/**
 * vi_check_password_hash:
 * A crypt(3) string of $y$, $6$ or $5$ (MD5, DES and clear text refused),
 * without ':' or a newline, of crypt(3)'s alphabet, at least 20 bytes.
 */
gboolean vi_check_password_hash (const char *hash, GError **error);

/**
 * vi_check_secret_name:
 * A file name under the secrets directory: letters, digits, '.', '_', '-',
 * not "." or "..", at most 128 bytes.
 */
gboolean vi_check_secret_name (const char *name, GError **error);

/**
 * vi_check_account_name:
 * A guest user or group name (or number): no ':', ',', '/', space or
 * control character, no leading '-', at most 256 bytes.
 */
gboolean vi_check_account_name (const char *name, GError **error);

/** vi_check_hostname: an RFC 1123 host name (labels of 1-63, at most 253). */
gboolean vi_check_hostname (const char *name, GError **error);

/** vi_check_mac: "xx:xx:xx:xx:xx:xx" of hex digits (either case). */
gboolean vi_check_mac (const char *mac, GError **error);

/**
 * vi_parse_mode:
 * @out_mode: (out): set only on success
 * 3 or 4 octal digits ("644", "0755", "4755").
 */
gboolean vi_parse_mode (const char *s, guint *out_mode, GError **error);

/**
 * vi_parse_address_prefix:
 * Returns: (transfer full) (nullable): "ADDR/PREFIX" with the address
 * normalized by GInetAddress and the prefix in range for its family, or
 * %NULL when @text is not that.
 */
char *vi_parse_address_prefix (const char *text);

G_END_DECLS
