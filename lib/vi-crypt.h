/* vi-crypt.h: password hashing (libxcrypt) and clear-text password sources.
 *
 * Clear text lives only in memory here, is wiped after use, and never goes
 * to argv, logs, or XML: callers get a crypt(3) string.
 */
#pragma once

#include <glib.h>
#include "vi-guest.h"
#include "vi-spec.h"

G_BEGIN_DECLS

const char *vi_hash_method_to_string (ViHashMethod m);   /* "yescrypt", "sha512" */
int vi_hash_method_from_string (const char *s);          /* -1 when unknown */

/**
 * vi_crypt_hash:
 * Hashes @clear with a fresh salt from crypt_gensalt_rn() (yescrypt, or
 * SHA-512 with rounds=100000... per libxcrypt's default cost).
 * Returns: (transfer full): the crypt string, or %NULL with VI_ERROR_FAILED.
 */
char *vi_crypt_hash (const char *clear, ViHashMethod method, GError **error);

/** vi_crypt_verify: whether @clear matches @hash (crypt_r), at whatever
 * cost @hash names: only for hashes virt-inject or its user made. */
gboolean vi_crypt_verify (const char *clear, const char *hash);

/* The costs up to which a hash found in a guest is verified at all
 * (vi_crypt_verify_bounded): yescrypt at libxcrypt's default cost (5, what
 * vi_crypt_hash uses) or lower; SHA-256/512-crypt with at most this many
 * rounds (twice what vi_crypt_hash uses). */
#define VI_CRYPT_YESCRYPT_MAX_COST 5
#define VI_CRYPT_SHA_MAX_ROUNDS 200000

/**
 * vi_crypt_cost_bounded:
 * Returns: whether verifying @hash costs at most what virt-inject's own
 * hashes cost: $y$ at cost <= VI_CRYPT_YESCRYPT_MAX_COST, $6$/$5$ with at
 * most VI_CRYPT_SHA_MAX_ROUNDS rounds.  Every other method ($2b$, $7$,
 * $gy$, ...) and any higher cost is %FALSE.  Computes no hash.
 */
gboolean vi_crypt_cost_bounded (const char *hash);

/**
 * vi_crypt_verify_bounded:
 * Whether @clear matches @hash, for a @hash a guest chose: %FALSE without
 * hashing anything when vi_crypt_cost_bounded() is %FALSE, so a guest
 * cannot make the host burn CPU or memory on a costly hash.
 */
gboolean vi_crypt_verify_bounded (const char *clear, const char *hash);

/**
 * vi_password_read_file:
 * The clear-text password in @path: its first line without the newline.
 * Empty, or with a NUL, ':' is allowed in clear text (it is hashed), but an
 * empty password is VI_ERROR_INVALID.
 * Returns: (transfer full): the password, or %NULL with @error.
 */
char *vi_password_read_file (const char *path, GError **error);

/**
 * vi_secret_read:
 * Reads @secrets_dir/@name (name already checked: no '/'), which must be a
 * regular file owned by root and not readable by group/others
 * (VI_ERROR_INVALID otherwise), and returns its first line.
 */
char *vi_secret_read (const char *secrets_dir, const char *name, GError **error);

/**
 * vi_password_random:
 * Returns: (transfer full): a random password of @len characters from an
 * unambiguous alphabet (GLib's CSPRNG-backed g_random is not enough: uses
 * getrandom(2)).
 */
char *vi_password_random (guint len, GError **error);

/**
 * vi_request_digest:
 * @key_path: the host's digest key ([paths] digest_key): 32 random bytes in a
 *   root-only file, made when missing
 *
 * The digest the run-once ledger (and whatever else must notice a changed
 * request) keys on: SHA-256 of the canonical request and, for each
 * <password secret=NAME>, of NAME and an HMAC-SHA256 of the secret's value
 * under the digest key.  So a rotated secret is a changed request, and the
 * digest reveals nothing of the value (the key is needed to test a guess).
 * A request without secrets keeps vi_spec_digest(): ledger entries made
 * before secrets were covered still match.  Hosts that share requests with
 * secrets across migrations share the key file.
 * Returns: (transfer full): hex SHA-256, or %NULL with @error (a secret or
 * the key that cannot be read: VI_ERROR_INVALID).
 */
char *vi_request_digest (const ViSpec *spec, const char *secrets_dir, const char *key_path,
                         GError **error);

/** vi_password_wipe: zero and free a clear-text password. */
void vi_password_wipe (char *clear);

G_END_DECLS
