/* test-crypt.c: vi-crypt: hashing and verifying, the cost bound on hashes
 * a guest chose, where clear text comes from (password files, secrets,
 * random), and the request digest with its key.  The fixed hashes below
 * were made with libxcrypt's crypt(3) outside this code. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "test-cases.h"
#include "vi-check.h"
#include "vi-crypt.h"
#include "vi-error.h"
#include "vi-spec.h"

#define NS "http://virt-inject.org/xmlns/libvirt/domain/1.0"
/* crypt ("hunter2", ...) */
#define SHA512_300K "$6$rounds=300000$saltsaltsalt$d0D6Nb7IVwKBpaHo0AmGFo7qb0lugixTp41eqb6BQ3NTdFd/f8t8FsooFuUpYmXcBAdVlnjIhNqxuZcQY2Zpu."
#define SHA512_200K "$6$rounds=200000$saltsaltsalt$UzdvFNHT0jw04Hv0ktFqXqUMIfpplzrVc1yycVZF0a4zzVyH3WJ2/c2imYv9Sm3Gz0XU7Cl65cZzQPHKVE5pA1"
#define SHA256_5000 "$5$saltsaltsalt$g1jS0B6yOBBZqrJEhPEM5XNnoxWIh2QfY2N0iDi9s73"
#define YESCRYPT_5 "$y$j9T$saltsaltsaltsalt$pQKob88sNg1.ktD6ni0OAUKcK4w22JpXSbU9UtU38wC"
#define YESCRYPT_6 "$y$jAT$saltsaltsaltsalt$kH9irW1j9i9awF0hyJPHYe5NJaqC1Sx4pflgCNtuv63"

/* A scoped temporary directory, removed with what it holds. */
static char *
tmp_dir (void)
{
    char *dir = g_dir_make_tmp ("vi-crypt-XXXXXX", NULL);

    g_assert_nonnull (dir);
    return dir;
}

static void
rm_rf (const char *dir)
{
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);

    g_assert_cmpint (system (cmd), ==, 0);
}

static void
test_method_names (void)
{
    g_assert_cmpstr (vi_hash_method_to_string (VI_HASH_YESCRYPT), ==, "yescrypt");
    g_assert_cmpstr (vi_hash_method_to_string (VI_HASH_SHA512), ==, "sha512");
    g_assert_cmpint (vi_hash_method_from_string ("yescrypt"), ==, VI_HASH_YESCRYPT);
    g_assert_cmpint (vi_hash_method_from_string ("sha512"), ==, VI_HASH_SHA512);
    g_assert_cmpint (vi_hash_method_from_string ("md5"), ==, -1);
    g_assert_cmpint (vi_hash_method_from_string (""), ==, -1);
    g_assert_cmpint (vi_hash_method_from_string (NULL), ==, -1);
}

static void
test_hash_verify (void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *y = vi_crypt_hash ("hunter2", VI_HASH_YESCRYPT, &error);
    g_autofree char *s = vi_crypt_hash ("hunter2", VI_HASH_SHA512, &error);
    g_autofree char *y2 = vi_crypt_hash ("hunter2", VI_HASH_YESCRYPT, &error);

    g_assert_no_error (error);
    g_assert_true (g_str_has_prefix (y, "$y$j9T$"));
    g_assert_true (g_str_has_prefix (s, "$6$rounds=100000$"));
    g_assert_cmpstr (y, !=, y2);                /* a fresh salt each time */
    g_assert_true (vi_crypt_verify ("hunter2", y));
    g_assert_true (vi_crypt_verify ("hunter2", s));
    g_assert_false (vi_crypt_verify ("hunter3", y));
    g_assert_false (vi_crypt_verify ("hunter3", s));
    g_assert_true (vi_check_password_hash (y, NULL));
    g_assert_true (vi_check_password_hash (s, NULL));
    /* our own hashes are within the bound we put on a guest's */
    g_assert_true (vi_crypt_cost_bounded (y));
    g_assert_true (vi_crypt_cost_bounded (s));
    /* the fixed hashes, made elsewhere */
    g_assert_true (vi_crypt_verify ("hunter2", SHA512_200K));
    g_assert_true (vi_crypt_verify ("hunter2", SHA256_5000));
    g_assert_true (vi_crypt_verify ("hunter2", YESCRYPT_5));
    g_assert_false (vi_crypt_verify ("Hunter2", YESCRYPT_5));
    /* locked or empty fields never verify */
    g_assert_false (vi_crypt_verify ("hunter2", "!" YESCRYPT_5));
    g_assert_false (vi_crypt_verify ("hunter2", "*"));
    g_assert_false (vi_crypt_verify ("", ""));
}

typedef struct {
    const char *name;
    const char *hash;
    gboolean bounded;
} CostCase;

static const CostCase cost_cases[] = {
    { "yescrypt-5", YESCRYPT_5, TRUE },
    { "yescrypt-4", "$y$j8T$saltsaltsaltsalt$x", TRUE },
    { "yescrypt-1", "$y$j75$saltsaltsaltsalt$x", TRUE },
    { "yescrypt-6", YESCRYPT_6, FALSE },
    { "yescrypt-11", "$y$jFT$saltsaltsaltsalt$x", FALSE },
    { "yescrypt-no-end", "$y$j9T", FALSE },
    { "yescrypt-no-params", "$y$$saltsaltsaltsalt$x", FALSE },
    { "sha512-default-5000", "$6$saltsaltsalt$x", TRUE },
    { "sha512-200000", SHA512_200K, TRUE },
    { "sha512-300000", SHA512_300K, FALSE },
    { "sha512-200001", "$6$rounds=200001$salt$x", FALSE },
    { "sha256-1000", "$5$rounds=1000$salt$x", TRUE },
    { "sha256-12-digits", "$5$rounds=999999999999$salt$x", FALSE },
    { "rounds-empty", "$6$rounds=$salt$x", FALSE },
    { "rounds-not-a-number", "$6$rounds=12a$salt$x", FALSE },
    { "rounds-negative", "$6$rounds=-1$salt$x", FALSE },
    { "rounds-no-end", "$6$rounds=5000", FALSE },
    { "bcrypt", "$2b$05$abcdefghijklmnopqrstuu", FALSE },
    { "scrypt", "$7$CU..../....abcdefgh$x", FALSE },
    { "gost-yescrypt", "$gy$j9T$salt$x", FALSE },
    { "md5", "$1$salt$x", FALSE },
    { "des", "abJnggxhB/yWI", FALSE },
    { "locked", "!", FALSE },
    { "empty", "", FALSE },
};

static void
test_cost_bounded (gconstpointer data)
{
    const CostCase *c = data;

    g_assert_cmpint (vi_crypt_cost_bounded (c->hash), ==, c->bounded);
}

/* A hash above the bound is not even tried: the right password does not
 * verify through vi_crypt_verify_bounded although it does through
 * vi_crypt_verify. */
static void
test_verify_bounded (void)
{
    g_assert_true (vi_crypt_verify_bounded ("hunter2", SHA512_200K));
    g_assert_true (vi_crypt_verify_bounded ("hunter2", YESCRYPT_5));
    g_assert_true (vi_crypt_verify_bounded ("hunter2", SHA256_5000));
    g_assert_false (vi_crypt_verify_bounded ("hunter3", SHA512_200K));
    g_assert_false (vi_crypt_verify_bounded ("hunter3", YESCRYPT_5));

    g_assert_true (vi_crypt_verify ("hunter2", SHA512_300K));
    g_assert_false (vi_crypt_verify_bounded ("hunter2", SHA512_300K));
    g_assert_true (vi_crypt_verify ("hunter2", YESCRYPT_6));
    g_assert_false (vi_crypt_verify_bounded ("hunter2", YESCRYPT_6));
}

typedef struct {
    const char *name;
    const char *content;
    gssize len;                 /* -1: strlen */
    const char *password;       /* NULL: refused with @error */
    const char *error;
} FileCase;

static const FileCase file_cases[] = {
    { "first-line", "first line\nsecond\n", -1, "first line", NULL },
    { "no-newline", "s3cret", -1, "s3cret", NULL },
    { "spaces-and-colon-kept", " a:b \n", -1, " a:b ", NULL },
    { "cr-kept", "pw\r\n", -1, "pw\r", NULL },
    { "empty-line", "\nsecond\n", -1, NULL, "the password (first line) is empty" },
    { "empty-file", "", -1, NULL, "the password (first line) is empty" },
    { "nul", "a\0b\n", 4, NULL, "the password contains a NUL byte" },
    { "nul-after-the-line", "ab\n\0", 4, "ab", NULL },
};

static void
test_password_file (gconstpointer data)
{
    const FileCase *c = data;
    g_autofree char *dir = tmp_dir ();
    g_autofree char *f = g_build_filename (dir, "pw", NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *pw = NULL;

    g_assert_true (g_file_set_contents (f, c->content, c->len, NULL));
    pw = vi_password_read_file (f, &error);
    if (c->password) {
        g_assert_no_error (error);
        g_assert_cmpstr (pw, ==, c->password);
    } else {
        g_assert_null (pw);
        g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
        g_assert_nonnull (strstr (error->message, c->error));
        g_assert_nonnull (strstr (error->message, f));
    }
    rm_rf (dir);
}

static void
test_password_file_missing (void)
{
    g_autoptr(GError) error = NULL;

    g_assert_null (vi_password_read_file ("/nonexistent/virt-inject/pw", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "password file /nonexistent/virt-inject/pw"));
}

static void
test_secret (void)
{
    g_autofree char *dir = tmp_dir ();
    g_autofree char *sec = g_build_filename (dir, "web1", NULL);
    g_autofree char *link = g_build_filename (dir, "link", NULL);
    g_autofree char *sub = g_build_filename (dir, "sub", NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *s = NULL;

    g_assert_true (g_file_set_contents (sec, "s3cret\nnot this\n", -1, NULL));
    g_assert_cmpint (g_chmod (sec, 0644), ==, 0);
    g_assert_null (vi_secret_read (dir, "web1", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "chmod 0600"));
    g_clear_error (&error);
    g_assert_cmpint (g_chmod (sec, 0640), ==, 0);
    g_assert_null (vi_secret_read (dir, "web1", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_cmpint (g_chmod (sec, 0600), ==, 0);
    s = vi_secret_read (dir, "web1", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (s, ==, "s3cret");

    /* never through a symlink, never a directory, never a name with '/' */
    g_assert_cmpint (symlink ("web1", link), ==, 0);
    g_assert_null (vi_secret_read (dir, "link", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "secret 'link'"));
    g_clear_error (&error);
    g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
    g_assert_null (vi_secret_read (dir, "sub", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "not a regular file"));
    g_clear_error (&error);
    g_assert_null (vi_secret_read (dir, "../web1", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "must not contain '/'"));
    g_clear_error (&error);
    g_assert_null (vi_secret_read (dir, "absent", &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "secret 'absent'"));
    rm_rf (dir);
}

static void
test_random (void)
{
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    g_autoptr(GError) error = NULL;
    g_autofree char *empty = vi_password_random (0, &error);
    g_autofree char *a = vi_password_random (64, &error);
    g_autofree char *b = vi_password_random (64, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (empty, ==, "");
    g_assert_cmpuint (strlen (a), ==, 64);
    g_assert_cmpstr (a, !=, b);
    for (const char *p = a; *p; p++)
        g_assert_nonnull (strchr (alphabet, *p));
    for (const char *p = "0O1lI"; *p; p++)
        g_assert_null (strchr (a, *p));
}

static ViSpec *
spec_with (const char *inner)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = g_strdup_printf ("<vi:inject xmlns:vi='" NS "'>%s</vi:inject>", inner);
    ViSpec *spec = vi_spec_parse (xml, strlen (xml), NULL, &error);

    g_assert_no_error (error);
    return spec;
}

static void
write_file (const char *path, const void *data, gsize len, int mode)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

    g_assert_cmpint (fd, >=, 0);
    g_assert_cmpint (write (fd, data, len), ==, (gssize) len);
    g_assert_cmpint (fchmod (fd, mode), ==, 0);
    close (fd);
}

/* A secrets directory holding the digest key (32 bytes, 0600, known), the
 * secret s1 = "one" and a request naming it. */
typedef struct {
    char *dir;
    char *key;
    guint8 k[32];
    ViSpec *spec;
} Digest;

static void
digest_setup (Digest *d, gconstpointer data)
{
    g_autofree char *s1 = NULL;

    d->dir = tmp_dir ();
    d->key = g_build_filename (d->dir, "digest.key", NULL);
    s1 = g_build_filename (d->dir, "s1", NULL);
    for (guint i = 0; i < sizeof d->k; i++)
        d->k[i] = (guint8) (i * 7 + 1);
    write_file (d->key, d->k, sizeof d->k, 0600);
    write_file (s1, "one\n", 4, 0600);
    d->spec = spec_with ("<vi:user name='root'><vi:password secret='s1'/></vi:user>");
}

static void
digest_teardown (Digest *d, gconstpointer data)
{
    rm_rf (d->dir);
    g_free (d->dir);
    g_free (d->key);
    vi_spec_free (d->spec);
}

static char *
hmac (const guint8 *key, const char *value)
{
    return g_compute_hmac_for_data (G_CHECKSUM_SHA256, key, 32, (const guchar *) value,
                                    strlen (value));
}

/* The digest: SHA-256 of the canonical request, then a line "secret NAME
 * HMAC-SHA256(key, value)" per secret, in request order. */
static void
test_request_digest_value (Digest *d, gconstpointer data)
{
    g_autofree char *s2 = g_build_filename (d->dir, "s2", NULL);
    ViUser *bob = vi_user_new ("bob");
    g_autofree char *canon = NULL, *mac1 = hmac (d->k, "one"), *mac2 = hmac (d->k, "two");
    g_autofree char *text = NULL, *want = NULL, *got = NULL;
    g_autoptr(GError) error = NULL;

    write_file (s2, "two", 3, 0600);
    bob->password_kind = VI_PASSWORD_SECRET;
    bob->password = g_strdup ("s2");
    g_ptr_array_add (d->spec->users, bob);     /* the request owns it */
    canon = vi_spec_format (d->spec);
    text = g_strdup_printf ("%s\nsecret s1 %s\nsecret s2 %s", canon, mac1, mac2);
    want = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);

    got = vi_request_digest (d->spec, d->dir, d->key, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (got, ==, want);
}

/* The key must be exactly 32 bytes in a root-only regular file. */
static void
test_digest_key_refused (Digest *d, gconstpointer data)
{
    g_autofree char *real = g_build_filename (d->dir, "real.key", NULL);
    guint8 k[33] = { 0 };

    /* short, long */
    for (guint len = 31; len <= 33; len += 2) {
        g_autoptr(GError) error = NULL;

        write_file (d->key, k, len, 0600);
        g_assert_null (vi_request_digest (d->spec, d->dir, d->key, &error));
        g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
        g_assert_nonnull (strstr (error->message, "must be a regular file of 32 bytes"));
    }
    /* a symlink to a good key */
    {
        g_autoptr(GError) error = NULL;

        g_assert_cmpint (g_unlink (d->key), ==, 0);
        write_file (real, k, 32, 0600);
        g_assert_cmpint (symlink ("real.key", d->key), ==, 0);
        g_assert_null (vi_request_digest (d->spec, d->dir, d->key, &error));
        g_assert_nonnull (error);
        g_assert_nonnull (strstr (error->message, "digest key"));
    }
}

int
main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/crypt/method-names", test_method_names);
    g_test_add_func ("/crypt/hash-verify", test_hash_verify);
    VI_TEST_ADD_CASES ("/crypt/cost-bounded", cost_cases, test_cost_bounded);
    g_test_add_func ("/crypt/verify-bounded", test_verify_bounded);
    VI_TEST_ADD_CASES ("/crypt/password-file", file_cases, test_password_file);
    g_test_add_func ("/crypt/password-file/missing", test_password_file_missing);
    g_test_add_func ("/crypt/secret", test_secret);
    g_test_add_func ("/crypt/random", test_random);
    g_test_add ("/crypt/request-digest/value", Digest, NULL, digest_setup, test_request_digest_value,
                digest_teardown);
    g_test_add ("/crypt/request-digest/key-refused", Digest, NULL, digest_setup,
                test_digest_key_refused, digest_teardown);
    return g_test_run ();
}
