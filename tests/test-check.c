/* test-check.c: the single-value checks (vi-check) on their own: what each
 * accepts, and what it refuses with which message. */
#include <string.h>

#include "test-cases.h"
#include "vi-check.h"
#include "vi-error.h"

#define KEY_ED "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E alice@laptop"
#define BLOB_ED "AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E"
/* "ssh-rsa" followed by junk: the blob of a key type other than ed25519 */
#define BLOB_RSA "AAAAB3NzaC1yc2EAAAADAQAB"
#define BLOB_DSS "AAAAB3NzaC1kc3MAAAAB"
#define HASH6 "$6$FqqoikoO6v0uIcnm$3sMy9trbuavMQmPVVGmwLgGS4Y7TnCuX514KjnCX3b3xmdl044EXeQTVASlM/JJGbJoD2nxEVeJNgrMytmxCy."
#define HASHY "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7"

typedef enum {
    GUEST_PATH,
    SSH_KEY,
    SSH_KEY_OPTIONS,            /* allow_options */
    PASSWORD_HASH,
    SECRET_NAME,
    ACCOUNT_NAME,
    HOSTNAME,
    MAC,
    MODE,
} Check;

typedef struct {
    const char *name;
    Check check;
    const char *value;
    const char *error;          /* NULL: accepted; else a substring of the message */
} Case;

static char *long_path;         /* 4097 bytes */
static char *long_component;    /* a 256-byte component */
static char *long_hostname;     /* 254 bytes of valid labels */

static const Case cases[] = {
    { "path/plain", GUEST_PATH, "/etc/motd", NULL },
    { "path/deep", GUEST_PATH, "/srv/app/a b/c-d_e.f", NULL },
    { "path/utf8", GUEST_PATH, "/srv/caf\xc3\xa9", NULL },
    { "path/dots-in-names", GUEST_PATH, "/srv/..hidden/.x/a..b", NULL },
    { "path/null", GUEST_PATH, NULL, "empty path" },
    { "path/empty", GUEST_PATH, "", "empty path" },
    { "path/relative", GUEST_PATH, "etc/motd", "is not an absolute path" },
    { "path/root", GUEST_PATH, "/", "names the root itself" },
    { "path/trailing-slash", GUEST_PATH, "/srv/", "ends with '/'" },
    { "path/double-slash", GUEST_PATH, "/etc//motd", "not normalized" },
    { "path/dot", GUEST_PATH, "/srv/./app", "'.' component not allowed" },
    { "path/dotdot", GUEST_PATH, "/etc/../shadow", "'..' component not allowed" },
    { "path/dotdot-last", GUEST_PATH, "/etc/..", "'..' component not allowed" },
    { "path/newline", GUEST_PATH, "/etc/mo\ntd", "control character" },
    { "path/tab", GUEST_PATH, "/etc/mo\ttd", "control character" },
    { "path/del", GUEST_PATH, "/etc/mo\x7ftd", "control character" },
    { "path/bad-utf8", GUEST_PATH, "/etc/\xff", "not valid UTF-8" },

    { "key/ed25519", SSH_KEY, KEY_ED, NULL },
    { "key/no-comment", SSH_KEY, "ssh-ed25519 " BLOB_ED, NULL },
    { "key/padded", SSH_KEY, "  ssh-ed25519\t" BLOB_ED "  c  ", NULL },
    { "key/newline", SSH_KEY, KEY_ED "\n", "must be one line" },
    { "key/cr", SSH_KEY, KEY_ED "\r", "must be one line" },
    { "key/control", SSH_KEY, "ssh-ed25519 " BLOB_ED " a\x01", "control character" },
    { "key/unknown-type", SSH_KEY, "ssh-foo " BLOB_ED, "unknown SSH key type" },
    { "key/options-refused", SSH_KEY, "no-pty " KEY_ED, "options before the key type are not allowed" },
    { "key/dss-refused", SSH_KEY, "ssh-dss " BLOB_DSS, "OpenSSH no longer accepts DSA keys" },
    { "key/no-data", SSH_KEY, "ssh-ed25519", "has no key data" },
    { "key/not-base64", SSH_KEY, "ssh-ed25519 AAAA*AAA", "not valid base64" },
    { "key/base64-length", SSH_KEY, "ssh-ed25519 AAAAA", "not valid base64" },
    { "key/too-short", SSH_KEY, "ssh-ed25519 AA==", "too short" },
    { "key/type-mismatch", SSH_KEY, "ssh-ed25519 " BLOB_RSA, "does not match its type ssh-ed25519" },
    { "key-options/one-word", SSH_KEY_OPTIONS, "no-pty,no-agent-forwarding " KEY_ED, NULL },
    { "key-options/two-words", SSH_KEY_OPTIONS, "no-pty from=\"x\" " KEY_ED, "must be one word" },

    { "hash/sha512", PASSWORD_HASH, HASH6, NULL },
    { "hash/yescrypt", PASSWORD_HASH, HASHY, NULL },
    { "hash/null", PASSWORD_HASH, NULL, "empty password hash" },
    { "hash/colon", PASSWORD_HASH, "$6$abc:def$ghijklmnopqrstuvwxyz", "must not contain ':'" },
    { "hash/newline", PASSWORD_HASH, "$6$abc\ndef$ghijklmnopqrstuvwxyz", "must not contain ':' or a newline" },
    { "hash/md5", PASSWORD_HASH, "$1$abcdefgh$ijklmnopqrstuvwxyz012", "MD5 password hashes ($1$) are refused" },
    { "hash/des", PASSWORD_HASH, "abJnggxhB/yWI", "DES hashes and clear-text passwords are refused" },
    { "hash/bcrypt", PASSWORD_HASH, "$2b$10$abcdefghijklmnopqrstuv", "unsupported password hash method" },
    { "hash/bad-char", PASSWORD_HASH, "$6$abc def$ghijklmnopqrstuvwxyz", "crypt(3) never produces" },
    { "hash/short", PASSWORD_HASH, "$6$abc$def", "too short" },

    { "secret/plain", SECRET_NAME, "web1-root.v2_a", NULL },
    { "secret/empty", SECRET_NAME, "", "empty secret name" },
    { "secret/slash", SECRET_NAME, "a/b", "must not contain '/'" },
    { "secret/dotdot", SECRET_NAME, "..", "is not allowed" },
    { "secret/space", SECRET_NAME, "a b", "may only hold letters" },

    { "account/name", ACCOUNT_NAME, "alice", NULL },
    { "account/number", ACCOUNT_NAME, "1000", NULL },
    { "account/dollar", ACCOUNT_NAME, "machine$", NULL },
    { "account/empty", ACCOUNT_NAME, "", "empty user or group name" },
    { "account/dash", ACCOUNT_NAME, "-r", "starts with '-'" },
    { "account/colon", ACCOUNT_NAME, "a:b", "must not contain ':'" },
    { "account/space", ACCOUNT_NAME, "a b", "spaces or control characters" },
    { "account/newline", ACCOUNT_NAME, "a\nb", "spaces or control characters" },
    { "account/slash", ACCOUNT_NAME, "a/b", "must not contain '/'" },
    { "account/comma", ACCOUNT_NAME, "a,b", "must not contain ','" },

    { "hostname/short", HOSTNAME, "web1", NULL },
    { "hostname/fqdn", HOSTNAME, "web1.example.com", NULL },
    { "hostname/empty", HOSTNAME, "", "empty hostname" },
    { "hostname/empty-label", HOSTNAME, "web1..example", "1 to 63 characters" },
    { "hostname/trailing-dot", HOSTNAME, "web1.", "1 to 63 characters" },
    { "hostname/underscore", HOSTNAME, "web_1", "only letters, digits" },
    { "hostname/leading-dash", HOSTNAME, "-web1", "starts or ends with '-'" },
    { "hostname/trailing-dash", HOSTNAME, "web1-.example", "starts or ends with '-'" },
    { "hostname/label-64", HOSTNAME, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "1 to 63 characters" },

    { "mac/lower", MAC, "52:54:00:12:34:56", NULL },
    { "mac/upper", MAC, "52:54:00:AB:CD:EF", NULL },
    { "mac/dashes", MAC, "52-54-00-12-34-56", "is not a MAC address" },
    { "mac/short", MAC, "52:54:00:12:34", "is not a MAC address" },
    { "mac/not-hex", MAC, "52:54:00:12:34:5g", "is not a MAC address" },
    { "mac/null", MAC, NULL, "is not a MAC address" },

    { "mode/3", MODE, "644", NULL },
    { "mode/4", MODE, "4755", NULL },
    { "mode/2-digits", MODE, "64", "3 or 4 octal digits" },
    { "mode/5-digits", MODE, "01777", "3 or 4 octal digits" },
    { "mode/not-octal", MODE, "0648", "3 or 4 octal digits" },
    { "mode/null", MODE, NULL, "3 or 4 octal digits" },
};

static gboolean
run_check (Check check, const char *value, GError **error)
{
    guint mode = 0;

    switch (check) {
    case GUEST_PATH: return vi_check_guest_path (value, error);
    case SSH_KEY: return vi_check_ssh_key (value, FALSE, error);
    case SSH_KEY_OPTIONS: return vi_check_ssh_key (value, TRUE, error);
    case PASSWORD_HASH: return vi_check_password_hash (value, error);
    case SECRET_NAME: return vi_check_secret_name (value, error);
    case ACCOUNT_NAME: return vi_check_account_name (value, error);
    case HOSTNAME: return vi_check_hostname (value, error);
    case MAC: return vi_check_mac (value, error);
    case MODE: return vi_parse_mode (value, &mode, error);
    default: g_assert_not_reached ();
    }
}

static void
test_case (gconstpointer data)
{
    const Case *c = data;
    g_autoptr(GError) error = NULL;
    gboolean ok = run_check (c->check, c->value, &error);

    if (c->error == NULL) {
        g_assert_no_error (error);
        g_assert_true (ok);
        return;
    }
    g_assert_false (ok);
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    if (strstr (error->message, c->error) == NULL)
        g_error ("'%s' does not contain '%s'", error->message, c->error);
}

/* The length limits, on values made at run time. */
static void
test_lengths (void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path_4096 = g_strndup (long_path, 4096);
    g_autofree char *hostname_253 = g_strndup (long_hostname, 253);
    g_autofree char *key = g_strdup_printf ("ssh-ed25519 %s %0*d", BLOB_ED, 16384, 0);
    g_autofree char *secret = g_strnfill (129, 'a');
    g_autofree char *account = g_strnfill (257, 'a');

    g_assert_true (vi_check_guest_path (path_4096, NULL));
    g_assert_false (vi_check_guest_path (long_path, &error));
    g_assert_error (error, VI_ERROR, VI_ERROR_INVALID);
    g_assert_cmpstr (error->message, ==, "path is longer than 4096 bytes");
    g_clear_error (&error);
    g_assert_false (vi_check_guest_path (long_component, &error));
    g_assert_nonnull (strstr (error->message, "a component is longer than 255 bytes"));
    g_clear_error (&error);

    g_assert_false (vi_check_hostname (long_hostname, &error));
    g_assert_cmpstr (error->message, ==, "hostname is longer than 253 characters");
    g_clear_error (&error);
    g_assert_true (vi_check_hostname (hostname_253, NULL));

    g_assert_false (vi_check_ssh_key (key, FALSE, &error));
    g_assert_cmpstr (error->message, ==, "SSH key is longer than 16384 bytes");
    g_clear_error (&error);
    g_assert_false (vi_check_secret_name (secret, &error));
    g_assert_cmpstr (error->message, ==, "secret name is longer than 128 bytes");
    g_clear_error (&error);
    g_assert_false (vi_check_account_name (account, &error));
    g_assert_cmpstr (error->message, ==, "user or group name is longer than 256 bytes");
}

static void
test_mode_value (void)
{
    static const struct { const char *s; guint mode; } modes[] = {
        { "644", 0644 }, { "0755", 0755 }, { "4755", 04755 }, { "000", 0 }, { "7777", 07777 },
    };

    for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
        guint mode = 12345;

        g_assert_true (vi_parse_mode (modes[i].s, &mode, NULL));
        g_assert_cmpuint (mode, ==, modes[i].mode);
    }
    {
        guint mode = 12345;

        g_assert_false (vi_parse_mode ("9", &mode, NULL));
        g_assert_cmpuint (mode, ==, 12345);     /* set only on success */
    }
}

static void
test_address_prefix (void)
{
    static const char *const addresses[][2] = {
        { "192.0.2.10/24", "192.0.2.10/24" },
        { "2001:DB8:0:0::10/64", "2001:db8::10/64" },
        { "10.0.0.1/32", "10.0.0.1/32" },
        { "::1/128", "::1/128" },
        { "192.0.2.10", NULL },
        { "192.0.2.10/33", NULL },
        { "192.0.2.10/0", NULL },
        { "2001:db8::1/129", NULL },
        { "192.0.2.10/24x", NULL },
        { "host/24", NULL },
        { "/24", NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS (addresses); i++) {
        g_autofree char *got = vi_parse_address_prefix (addresses[i][0]);

        g_assert_cmpstr (got, ==, addresses[i][1]);
    }
    g_assert_null (vi_parse_address_prefix (NULL));
}

static void
test_key_options (void)
{
    g_assert_false (vi_ssh_key_has_options (KEY_ED));
    g_assert_false (vi_ssh_key_has_options ("ecdsa-sha2-nistp256 AAAA"));
    g_assert_true (vi_ssh_key_has_options ("no-pty " KEY_ED));
    g_assert_true (vi_ssh_key_has_options ("command=\"x\" " KEY_ED));
}

int
main (int argc, char **argv)
{
    GString *p = g_string_new ("/");
    GString *h = g_string_new (NULL);
    g_autofree char *component = g_strnfill (256, 'a');
    int ret;

    g_test_init (&argc, &argv, NULL);
    while (p->len < 4097)
        g_string_append (p, "abcdefg/");
    g_string_truncate (p, 4097);
    if (p->str[4096] == '/')
        p->str[4096] = 'x';
    long_path = g_string_free (p, FALSE);
    long_component = g_strconcat ("/srv/", component, NULL);
    while (h->len < 254)
        g_string_append (h, "abcdefghi.");
    g_string_truncate (h, 254);
    long_hostname = g_string_free (h, FALSE);

    VI_TEST_ADD_CASES ("/check", cases, test_case);
    g_test_add_func ("/check/lengths", test_lengths);
    g_test_add_func ("/check/mode-value", test_mode_value);
    g_test_add_func ("/check/address-prefix", test_address_prefix);
    g_test_add_func ("/check/key-has-options", test_key_options);
    ret = g_test_run ();
    g_free (long_path);
    g_free (long_component);
    g_free (long_hostname);
    return ret;
}
