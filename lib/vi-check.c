/* vi-check.c: the checks of single values of a request.
 *
 * A leaf module: the request parser (vi-spec.c), the CLI's quick options,
 * the VFS dispatchers and the guest readers all call these, and they need
 * nothing but GLib and the error domain.  Each check refuses what could
 * escape its field in the guest (a newline or ':' in a shadow field, '..'
 * in a path, a second line in authorized_keys) before anything uses it.
 */
#include "vi-check.h"

#include <string.h>

#include "vi-error.h"

gboolean
vi_check_guest_path (const char *path, GError **error)
{
    g_auto(GStrv) parts = NULL;

    if (path == NULL || *path == '\0')
        return vi_throw (error, VI_ERROR_INVALID, "empty path");
    if (path[0] != '/')
        return vi_throw (error, VI_ERROR_INVALID, "'%s' is not an absolute path", path);
    if (strlen (path) > 4096)
        return vi_throw (error, VI_ERROR_INVALID, "path is longer than 4096 bytes");
    if (!g_utf8_validate (path, -1, NULL))
        return vi_throw (error, VI_ERROR_INVALID, "path is not valid UTF-8");
    for (const char *p = path; *p; p++)
        if ((guchar) *p < 0x20 || *p == 0x7f)
            return vi_throw (error, VI_ERROR_INVALID, "path contains a control character");
    if (g_str_equal (path, "/"))
        return vi_throw (error, VI_ERROR_INVALID, "path '/' names the root itself");
    if (g_str_has_suffix (path, "/"))
        return vi_throw (error, VI_ERROR_INVALID, "'%s' ends with '/'", path);
    if (strstr (path, "//") != NULL)
        return vi_throw (error, VI_ERROR_INVALID, "'%s' is not normalized ('//')", path);
    parts = g_strsplit (path + 1, "/", -1);
    for (guint i = 0; parts[i] != NULL; i++) {
        if (g_str_equal (parts[i], ".") || g_str_equal (parts[i], ".."))
            return vi_throw (error, VI_ERROR_INVALID, "'%s': '%s' component not allowed",
                             path, parts[i]);
        if (strlen (parts[i]) > 255)
            return vi_throw (error, VI_ERROR_INVALID, "'%s': a component is longer than 255 bytes",
                             path);
    }
    return TRUE;
}

typedef struct {
    const char *type;
    gboolean refused;
} SshKeyType;

static const SshKeyType ssh_key_types[] = {
    { "ssh-ed25519", FALSE },
    { "ssh-rsa", FALSE },
    { "ecdsa-sha2-nistp256", FALSE },
    { "ecdsa-sha2-nistp384", FALSE },
    { "ecdsa-sha2-nistp521", FALSE },
    { "sk-ssh-ed25519@openssh.com", FALSE },
    { "sk-ecdsa-sha2-nistp256@openssh.com", FALSE },
    /* DSA is disabled by default since OpenSSH 7.0 and removed in 9.8:
     * injecting one gives a guest no way in, so say so now. */
    { "ssh-dss", TRUE },
};

static const SshKeyType *
find_key_type (const char *word)
{
    for (gsize i = 0; i < G_N_ELEMENTS (ssh_key_types); i++)
        if (g_str_equal (ssh_key_types[i].type, word))
            return &ssh_key_types[i];
    return NULL;
}

gboolean
vi_check_ssh_key (const char *line, gboolean allow_options, GError **error)
{
    g_autofree char *copy = NULL;
    g_auto(GStrv) words = NULL;
    const SshKeyType *kt = NULL;
    guint i, n = 0;
    g_autofree guchar *blob = NULL;
    gsize blob_len = 0;
    guint32 tlen;

    if (strchr (line, '\n') || strchr (line, '\r'))
        return vi_throw (error, VI_ERROR_INVALID, "an SSH key must be one line (newline found)");
    for (const char *p = line; *p; p++)
        if ((guchar) *p < 0x20 && *p != '\t')
            return vi_throw (error, VI_ERROR_INVALID, "SSH key contains a control character");
    if (strlen (line) > 16384)
        return vi_throw (error, VI_ERROR_INVALID, "SSH key is longer than 16384 bytes");

    copy = g_strstrip (g_strdup (line));
    words = g_strsplit_set (copy, " \t", -1);
    for (i = 0; words[i] != NULL; i++) {
        if (*words[i] == '\0')
            continue;
        kt = find_key_type (words[i]);
        if (kt != NULL)
            break;
        n++;
    }
    if (kt == NULL)
        return vi_throw (error, VI_ERROR_INVALID, "unknown SSH key type in '%.40s%s'", copy,
                         strlen (copy) > 40 ? "..." : "");
    if (n > 0 && !allow_options)
        return vi_throw (error, VI_ERROR_INVALID,
                         "SSH key options before the key type are not allowed "
                         "(set allow-options=\"yes\" to allow them)");
    if (n > 1)
        return vi_throw (error, VI_ERROR_INVALID, "SSH key options must be one word (no spaces)");
    if (kt->refused)
        return vi_throw (error, VI_ERROR_INVALID,
                         "SSH key type %s is refused: OpenSSH no longer accepts DSA keys", kt->type);

    for (i = i + 1; words[i] != NULL && *words[i] == '\0'; i++)
        ;
    if (words[i] == NULL)
        return vi_throw (error, VI_ERROR_INVALID, "SSH key of type %s has no key data", kt->type);
    for (const char *p = words[i]; *p; p++)
        if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
            return vi_throw (error, VI_ERROR_INVALID, "SSH key data is not valid base64");
    if (strlen (words[i]) % 4 != 0)
        return vi_throw (error, VI_ERROR_INVALID, "SSH key data is not valid base64");
    blob = g_base64_decode (words[i], &blob_len);
    if (blob_len < 4)
        return vi_throw (error, VI_ERROR_INVALID, "SSH key data is too short");
    tlen = ((guint32) blob[0] << 24) | ((guint32) blob[1] << 16) | ((guint32) blob[2] << 8) | blob[3];
    if (tlen != strlen (kt->type) || blob_len < 4 + (gsize) tlen ||
        memcmp (blob + 4, kt->type, tlen) != 0)
        return vi_throw (error, VI_ERROR_INVALID,
                         "SSH key data does not match its type %s", kt->type);
    return TRUE;
}

gboolean
vi_check_password_hash (const char *hash, GError **error)
{
    static const char crypt_chars[] =
        "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$=,";

    if (hash == NULL || *hash == '\0')
        return vi_throw (error, VI_ERROR_INVALID, "empty password hash");
    if (strchr (hash, ':') || strchr (hash, '\n') || strchr (hash, '\r'))
        return vi_throw (error, VI_ERROR_INVALID,
                         "password hash must not contain ':' or a newline");
    if (g_str_has_prefix (hash, "$1$"))
        return vi_throw (error, VI_ERROR_INVALID, "MD5 password hashes ($1$) are refused");
    if (hash[0] != '$')
        return vi_throw (error, VI_ERROR_INVALID,
                         "not a crypt(3) hash: DES hashes and clear-text passwords are "
                         "refused; use $y$, $6$ or $5$");
    if (!g_str_has_prefix (hash, "$y$") && !g_str_has_prefix (hash, "$6$") &&
        !g_str_has_prefix (hash, "$5$"))
        return vi_throw (error, VI_ERROR_INVALID,
                         "unsupported password hash method: use $y$ (yescrypt), $6$ (SHA-512) or $5$ (SHA-256)");
    for (const char *p = hash; *p; p++)
        if (!strchr (crypt_chars, *p))
            return vi_throw (error, VI_ERROR_INVALID, "password hash contains a character "
                             "crypt(3) never produces");
    if (strlen (hash) < 20)
        return vi_throw (error, VI_ERROR_INVALID, "password hash is too short to be a crypt(3) hash");
    return TRUE;
}

gboolean
vi_check_secret_name (const char *name, GError **error)
{
    if (name == NULL || *name == '\0')
        return vi_throw (error, VI_ERROR_INVALID, "empty secret name");
    if (strchr (name, '/'))
        return vi_throw (error, VI_ERROR_INVALID, "secret name '%s' must not contain '/'", name);
    if (g_str_equal (name, ".") || g_str_equal (name, ".."))
        return vi_throw (error, VI_ERROR_INVALID, "secret name '%s' is not allowed", name);
    if (strlen (name) > 128)
        return vi_throw (error, VI_ERROR_INVALID, "secret name is longer than 128 bytes");
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
            return vi_throw (error, VI_ERROR_INVALID,
                             "secret name '%s' may only hold letters, digits, '.', '_' and '-'", name);
    return TRUE;
}

gboolean
vi_check_account_name (const char *name, GError **error)
{
    if (name == NULL || *name == '\0')
        return vi_throw (error, VI_ERROR_INVALID, "empty user or group name");
    if (strlen (name) > 256)
        return vi_throw (error, VI_ERROR_INVALID, "user or group name is longer than 256 bytes");
    if (name[0] == '-')
        return vi_throw (error, VI_ERROR_INVALID, "user or group name '%s' starts with '-'", name);
    for (const char *p = name; *p; p++) {
        if (*p == ':')
            return vi_throw (error, VI_ERROR_INVALID, "user or group name must not contain ':'");
        if ((guchar) *p <= 0x20 || *p == 0x7f)
            return vi_throw (error, VI_ERROR_INVALID,
                             "user or group name must not contain spaces or control characters");
        if (*p == '/' || *p == ',')
            return vi_throw (error, VI_ERROR_INVALID, "user or group name must not contain '%c'", *p);
    }
    return TRUE;
}

gboolean
vi_check_hostname (const char *name, GError **error)
{
    g_auto(GStrv) labels = NULL;
    gsize len;

    if (name == NULL || *name == '\0')
        return vi_throw (error, VI_ERROR_INVALID, "empty hostname");
    len = strlen (name);
    if (len > 253)
        return vi_throw (error, VI_ERROR_INVALID, "hostname is longer than 253 characters");
    labels = g_strsplit (name, ".", -1);
    for (guint i = 0; labels[i] != NULL; i++) {
        const char *l = labels[i];
        gsize ll = strlen (l);

        if (ll == 0 || ll > 63)
            return vi_throw (error, VI_ERROR_INVALID,
                             "hostname: each label must be 1 to 63 characters (RFC 1123)");
        for (const char *p = l; *p; p++)
            if (!g_ascii_isalnum (*p) && *p != '-')
                return vi_throw (error, VI_ERROR_INVALID,
                                 "hostname may hold only letters, digits, '-' and '.' (RFC 1123)");
        if (l[0] == '-' || l[ll - 1] == '-')
            return vi_throw (error, VI_ERROR_INVALID,
                             "hostname label '%s' starts or ends with '-' (RFC 1123)", l);
    }
    return TRUE;
}

gboolean
vi_check_mac (const char *mac, GError **error)
{
    if (mac == NULL || strlen (mac) != 17)
        return vi_throw (error, VI_ERROR_INVALID, "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
                         mac ? mac : "");
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? mac[i] != ':' : !g_ascii_isxdigit (mac[i]))
            return vi_throw (error, VI_ERROR_INVALID,
                             "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", mac);
    }
    return TRUE;
}

char *
vi_parse_address_prefix (const char *text)
{
    const char *slash = text ? strchr (text, '/') : NULL;
    g_autofree char *addr_s = NULL;
    g_autoptr(GInetAddress) addr = NULL;
    guint64 prefix;
    guint max;
    g_autofree char *norm = NULL;

    if (slash == NULL)
        return NULL;
    addr_s = g_strndup (text, slash - text);
    addr = g_inet_address_new_from_string (addr_s);
    if (addr == NULL)
        return NULL;
    max = g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6 ? 128 : 32;
    if (!g_ascii_string_to_unsigned (slash + 1, 10, 1, max, &prefix, NULL))
        return NULL;
    norm = g_inet_address_to_string (addr);
    return g_strdup_printf ("%s/%u", norm, (guint) prefix);
}

gboolean
vi_parse_mode (const char *s, guint *out_mode, GError **error)
{
    gsize len = s ? strlen (s) : 0;
    guint64 v;

    if (len < 3 || len > 4)
        return vi_throw (error, VI_ERROR_INVALID,
                         "mode '%s' must be 3 or 4 octal digits (0000-7777)", s ? s : "");
    for (gsize i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '7')
            return vi_throw (error, VI_ERROR_INVALID,
                             "mode '%s' must be 3 or 4 octal digits (0000-7777)", s);
    v = g_ascii_strtoull (s, NULL, 8);
    *out_mode = (guint) v;
    return TRUE;
}

gboolean
vi_ssh_key_has_options (const char *key)
{
    g_autofree char *first = g_strndup (key, strcspn (key, " \t"));

    return find_key_type (first) == NULL;
}
