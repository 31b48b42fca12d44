/* vi-crypt.c: password hashing with libxcrypt, and where clear text comes from.
 *
 * Clear-text passwords are held only in memory, wiped with explicit_bzero
 * after use, and leave this module only as crypt(3) strings.
 */
#include "vi-crypt.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vi-check.h"
#include "vi-error.h"
#include "vi-fd.h"

static const char *const hash_method_names[] = { "yescrypt", "sha512" };
G_STATIC_ASSERT (G_N_ELEMENTS (hash_method_names) == VI_HASH_LAST);

const char *
vi_hash_method_to_string (ViHashMethod m)
{
    return hash_method_names[m];
}

int
vi_hash_method_from_string (const char *s)
{
    for (gsize i = 0; s && i < G_N_ELEMENTS (hash_method_names); i++)
        if (g_str_equal (hash_method_names[i], s))
            return (int) i;
    return -1;
}

char *
vi_crypt_hash (const char *clear, ViHashMethod method, GError **error)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *data = g_new0 (struct crypt_data, 1);
    const char *prefix = method == VI_HASH_YESCRYPT ? "$y$" : "$6$";
    /* 0 = libxcrypt's default cost; for SHA-512 that is rounds=5000, which
     * is weak: ask for the cost Debian's login tools use. */
    unsigned long count = method == VI_HASH_YESCRYPT ? 0 : 100000;
    char *hash;
    char *ret = NULL;

    if (crypt_gensalt_rn (prefix, count, NULL, 0, salt, sizeof salt) == NULL) {
        vi_throw (error, VI_ERROR_FAILED, "cannot make a %s salt: %s",
                  vi_hash_method_to_string (method), g_strerror (errno));
        g_free (data);
        return NULL;
    }
    hash = crypt_r (clear, salt, data);
    if (hash == NULL || hash[0] == '*')
        vi_throw (error, VI_ERROR_FAILED, "%s hashing failed", vi_hash_method_to_string (method));
    else
        ret = g_strdup (hash);
    explicit_bzero (data, sizeof *data);
    g_free (data);
    return ret;
}

/* Whether @hash is a yescrypt hash at virt-inject's own cost (libxcrypt's
 * default) or lower: its parameter field is one crypt_gensalt_rn() gives
 * for a cost of 1 to that default.  Comparing with what the library itself
 * writes needs no decoder of yescrypt's parameter encoding. */
static gboolean
yescrypt_cost_ok (const char *hash)
{
    const char *params = hash + 3;
    const char *end = strchr (params, '$');

    if (end == NULL)
        return FALSE;
    for (unsigned long cost = 1; cost <= VI_CRYPT_YESCRYPT_MAX_COST; cost++) {
        char salt[CRYPT_GENSALT_OUTPUT_SIZE];
        const char *p;

        if (crypt_gensalt_rn ("$y$", cost, NULL, 0, salt, sizeof salt) == NULL)
            continue;
        p = salt + 3;
        if (strncmp (p, params, end - params) == 0 && p[end - params] == '$')
            return TRUE;
    }
    return FALSE;
}

/* Whether @hash is SHA-256/512-crypt with at most VI_CRYPT_SHA_MAX_ROUNDS
 * rounds (5000 when it names none). */
static gboolean
sha_rounds_ok (const char *hash)
{
    const char *p = hash + 3;
    const char *end;
    g_autofree char *digits = NULL;
    guint64 rounds;

    if (!g_str_has_prefix (p, "rounds="))
        return TRUE;
    p += strlen ("rounds=");
    end = strchr (p, '$');
    if (end == NULL || end == p || end - p > 10)
        return FALSE;
    digits = g_strndup (p, end - p);
    return g_ascii_string_to_unsigned (digits, 10, 0, VI_CRYPT_SHA_MAX_ROUNDS, &rounds, NULL);
}

gboolean
vi_crypt_cost_bounded (const char *hash)
{
    if (g_str_has_prefix (hash, "$y$"))
        return yescrypt_cost_ok (hash);
    if (g_str_has_prefix (hash, "$6$") || g_str_has_prefix (hash, "$5$"))
        return sha_rounds_ok (hash);
    return FALSE;
}

gboolean
vi_crypt_verify_bounded (const char *clear, const char *hash)
{
    return vi_crypt_cost_bounded (hash) && vi_crypt_verify (clear, hash);
}

gboolean
vi_crypt_verify (const char *clear, const char *hash)
{
    struct crypt_data *data = g_new0 (struct crypt_data, 1);
    const char *out = crypt_r (clear, hash, data);
    gboolean ok = out != NULL && out[0] != '*' && g_str_equal (out, hash);

    explicit_bzero (data, sizeof *data);
    g_free (data);
    return ok;
}

void
vi_password_wipe (char *clear)
{
    if (clear == NULL)
        return;
    explicit_bzero (clear, strlen (clear));
    g_free (clear);
}

/* The first line of @fd's content, without its newline. */
static char *
read_first_line (int fd, const char *what, GError **error)
{
    char buf[4096];
    gsize len = 0;
    char *nl;
    char *ret;

    for (;;) {
        ssize_t n = read (fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vi_throw_errno (error, errno, "%s", what);
            explicit_bzero (buf, sizeof buf);
            return NULL;
        }
        if (n == 0 || (len += n) == sizeof buf - 1)
            break;
    }
    buf[len] = '\0';
    nl = strchr (buf, '\n');
    if (nl)
        *nl = '\0';
    if (buf[0] == '\0') {
        explicit_bzero (buf, sizeof buf);
        vi_throw (error, VI_ERROR_INVALID, "%s: the password (first line) is empty", what);
        return NULL;
    }
    if (strlen (buf) != (nl ? (gsize) (nl - buf) : len)) {
        explicit_bzero (buf, sizeof buf);
        vi_throw (error, VI_ERROR_INVALID, "%s: the password contains a NUL byte", what);
        return NULL;
    }
    ret = g_strdup (buf);
    explicit_bzero (buf, sizeof buf);
    return ret;
}

char *
vi_password_read_file (const char *path, GError **error)
{
    vi_autofd fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        vi_throw (error, VI_ERROR_INVALID, "password file %s: %s", path, g_strerror (errno));
        return NULL;
    }
    return read_first_line (fd, path, error);
}

char *
vi_secret_read (const char *secrets_dir, const char *name, GError **error)
{
    g_autofree char *path = g_build_filename (secrets_dir, name, NULL);
    vi_autofd fd = -1;
    struct stat st;

    if (!vi_check_secret_name (name, error))
        return NULL;
    fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        vi_throw (error, VI_ERROR_INVALID, "secret '%s' (%s): %s", name, path, g_strerror (errno));
        return NULL;
    }
    if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)) {
        vi_throw (error, VI_ERROR_INVALID, "secret '%s' (%s): not a regular file", name, path);
        return NULL;
    }
    if (st.st_uid != geteuid () || (st.st_mode & 077) != 0) {
        vi_throw (error, VI_ERROR_INVALID,
                  "secret '%s' (%s): must be owned by uid %u and not accessible to group or "
                  "others (chmod 0600)", name, path, (guint) geteuid ());
        return NULL;
    }
    return read_first_line (fd, path, error);
}

char *
vi_password_random (guint len, GError **error)
{
    /* No 0/O, 1/l/I: the password is read off a terminal and typed. */
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const guint n = sizeof alphabet - 1;
    char *out = g_malloc (len + 1);
    guint i = 0;

    while (i < len) {
        guint8 rnd[64];
        ssize_t got = getrandom (rnd, sizeof rnd, 0);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            vi_throw_errno (error, errno, "getrandom");
            vi_password_wipe (out);
            return NULL;
        }
        for (ssize_t k = 0; k < got && i < len; k++)
            if (rnd[k] < 256 - (256 % n))   /* no modulo bias */
                out[i++] = alphabet[rnd[k] % n];
        explicit_bzero (rnd, sizeof rnd);
    }
    out[len] = '\0';
    return out;
}

/* ---- the request digest ---------------------------------------------------- */

#define DIGEST_KEY_LEN 32

/* The host's digest key at @path: made (32 random bytes, 0600) when
 * missing, refused unless a regular root-only file of exactly that size. */
static gboolean
digest_key (const char *path, guint8 out[DIGEST_KEY_LEN], GError **error)
{
    vi_autofd fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    ssize_t n;

    if (fd < 0 && errno == ENOENT) {
        g_autofree char *dir = g_path_get_dirname (path);
        guint8 key[DIGEST_KEY_LEN];
        vi_autofd w = -1;
        gboolean ok;

        if (g_mkdir_with_parents (dir, 0755) < 0)
            return vi_throw_errno (error, errno, "the digest key's directory %s", dir);
        if (getrandom (key, sizeof key, 0) != (ssize_t) sizeof key)
            return vi_throw_errno (error, errno, "getrandom");
        /* O_EXCL: two hooks racing to make it, one wins, both read it */
        w = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (w < 0 && errno != EEXIST) {
            explicit_bzero (key, sizeof key);
            return vi_throw_errno (error, errno, "creating the digest key %s", path);
        }
        ok = w < 0 || (write (w, key, sizeof key) == (ssize_t) sizeof key && fsync (w) == 0);
        explicit_bzero (key, sizeof key);
        if (!ok)
            return vi_throw_errno (error, errno, "writing the digest key %s", path);
        fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    }
    if (fd < 0)
        return vi_throw_errno (error, errno, "the digest key %s", path);
    if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid () ||
        (st.st_mode & 077) != 0 || st.st_size != DIGEST_KEY_LEN)
        return vi_throw (error, VI_ERROR_INVALID, "the digest key %s must be a regular file of "
                         "%d bytes owned by uid %u, not accessible to group or others",
                         path, DIGEST_KEY_LEN, (guint) geteuid ());
    n = read (fd, out, DIGEST_KEY_LEN);
    if (n != DIGEST_KEY_LEN)
        return vi_throw_errno (error, n < 0 ? errno : EIO, "reading the digest key %s", path);
    return TRUE;
}

char *
vi_request_digest (const ViSpec *spec, const char *secrets_dir, const char *key_path,
                   GError **error)
{
    g_autofree char *canon = vi_spec_format (spec);
    g_autoptr(GString) text = NULL;
    guint8 key[DIGEST_KEY_LEN];
    gboolean have_key = FALSE;

    for (guint i = 0; i < spec->users->len; i++) {
        const ViUser *u = spec->users->pdata[i];
        char *clear;
        g_autofree char *mac = NULL;

        if (u->password_kind != VI_PASSWORD_SECRET)
            continue;
        if (!have_key) {
            if (!digest_key (key_path, key, error))
                return NULL;
            have_key = TRUE;
            text = g_string_new (canon);
        }
        clear = vi_secret_read (secrets_dir, u->password, error);
        if (clear == NULL) {
            explicit_bzero (key, sizeof key);
            return NULL;
        }
        mac = g_compute_hmac_for_data (G_CHECKSUM_SHA256, key, sizeof key, (const guchar *) clear,
                                       strlen (clear));
        vi_password_wipe (clear);
        g_string_append_printf (text, "\nsecret %s %s", u->password, mac);
    }
    if (!have_key)
        return vi_spec_digest (spec);   /* no secret: the digest it always had */
    explicit_bzero (key, sizeof key);
    return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text->str, text->len);
}
