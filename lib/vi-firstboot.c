/* vi-firstboot.c: see vi-firstboot.h.
 *
 * The files written here are run by the guest's init system as root, so
 * none of them holds anything taken from the guest: every path is a
 * constant of this module, and the request's script is a file of its own,
 * never text pasted into a shell line.
 */
#include "vi-firstboot.h"

#include <string.h>

#include "vi-error.h"

static const char *const init_names[] = { "systemd", "openrc", "sysvinit", "unknown" };
G_STATIC_ASSERT (G_N_ELEMENTS (init_names) == VI_INIT_LAST);

const char *
vi_init_system_to_string (ViInitSystem init)
{
    g_return_val_if_fail (init < VI_INIT_LAST, "unknown");
    return init_names[init];
}

/* lstat of @path: its type, or -1 when missing or unreadable. */
static int
file_type (ViVfs *vfs, const char *path)
{
    ViStat st;

    if (!vi_vfs_stat (vfs, path, &st, NULL))
        return -1;
    return st.type;
}

static gboolean
any_exists (ViVfs *vfs, const char *const *paths)
{
    for (guint i = 0; paths[i]; i++)
        if (file_type (vfs, paths[i]) >= 0)
            return TRUE;
    return FALSE;
}

ViInitSystem
vi_firstboot_detect_init (ViVfs *vfs)
{
    static const char *const openrc[] = { "/sbin/openrc", "/usr/sbin/openrc", NULL };
    static const char *const systemd[] = { "/lib/systemd/systemd", "/usr/lib/systemd/systemd", NULL };
    int init = file_type (vfs, "/sbin/init");

    if (any_exists (vfs, openrc))
        return VI_INIT_OPENRC;
    /* systemd-sysv makes /sbin/init a link to systemd; sysvinit-core's is
     * a program of its own even where systemd is installed beside it */
    if (any_exists (vfs, systemd) && init != VI_FILE_TYPE_REGULAR)
        return VI_INIT_SYSTEMD;
    if (init == VI_FILE_TYPE_REGULAR)
        return VI_INIT_SYSVINIT;
    return VI_INIT_UNKNOWN;
}

char *
vi_firstboot_runner (ViInitSystem init)
{
    const char *trigger;

    switch (init) {
    case VI_INIT_SYSTEMD:
        trigger = "rm -f " VI_WANTS_DIR "/" VI_FIRSTBOOT_UNIT_NAME "\n";
        break;
    case VI_INIT_OPENRC:
        trigger = "rm -f " VI_FIRSTBOOT_LOCAL_D "\n";
        break;
    case VI_INIT_SYSVINIT:
        trigger = "# rc.local's line stays: it finds no script from now on\n";
        break;
    case VI_INIT_UNKNOWN:
    case VI_INIT_LAST:
    default:
        g_return_val_if_reached (NULL);
    }
    return g_strconcat (
        "#!/bin/sh\n"
        "# Written by virt-inject: runs the first-boot script of the request once, as\n"
        "# root.  Its output goes to " VI_FIRSTBOOT_LOG " and to the\n"
        "# console.  What starts this is removed first, and the script after it ran,\n"
        "# whether it succeeded or not: a failure is logged, never retried.\n"
        "script=" VI_FIRSTBOOT_SCRIPT "\n"
        "status=" VI_STATE_DIR "/firstboot.status\n"
        "log=" VI_FIRSTBOOT_LOG "\n"
        "[ -f \"$script\" ] || exit 0\n",
        trigger,
        "umask 077\n"
        "echo \"virt-inject: first-boot script starting\" | tee -a \"$log\"\n"
        "{ \"$script\"; echo \"$?\" > \"$status\"; } < /dev/null 2>&1 | tee -a \"$log\"\n"
        "rc=$(cat \"$status\" 2>/dev/null)\n"
        "rm -f \"$script\" \"$status\"\n"
        "if [ \"$rc\" = 0 ]; then\n"
        "    echo \"virt-inject: first-boot script finished\" | tee -a \"$log\"\n"
        "else\n"
        "    echo \"virt-inject: first-boot script failed (exit status ${rc:-unknown}); not retried\" \\\n"
        "        | tee -a \"$log\"\n"
        "fi\n"
        "exit 0\n", NULL);
}

char *
vi_firstboot_unit (void)
{
    return g_strdup (
        "# Written by virt-inject: runs the first-boot script once, after the network\n"
        "# is up.  The runner removes the .wants link that starts this unit.\n"
        "[Unit]\n"
        "Description=virt-inject first-boot script\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "ConditionPathExists=" VI_FIRSTBOOT_SCRIPT "\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "ExecStart=/bin/sh " VI_FIRSTBOOT_RUNNER "\n"
        "StandardOutput=journal+console\n"
        "StandardError=journal+console\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n");
}

char *
vi_hostkeys_unit (void)
{
    return g_strdup (
        "# Written by virt-inject: this guest is a clone whose SSH host keys were\n"
        "# removed; make new ones before sshd starts (Debian's sshd does not start\n"
        "# without them), then remove the .wants link that starts this unit.\n"
        "[Unit]\n"
        "Description=virt-inject: new SSH host keys for a clone\n"
        "DefaultDependencies=no\n"
        "After=local-fs.target\n"
        "Before=ssh.service sshd.service ssh.socket sshd.socket shutdown.target\n"
        "Conflicts=shutdown.target\n"
        "ConditionFileIsExecutable=/usr/bin/ssh-keygen\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "ExecStart=/usr/bin/ssh-keygen -A\n"
        "ExecStartPost=/bin/rm -f " VI_WANTS_DIR "/" VI_HOSTKEYS_UNIT_NAME "\n"
        "StandardOutput=journal+console\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n");
}

char *
vi_firstboot_local_d (void)
{
    return g_strdup ("#!/bin/sh\n"
                     "# Written by virt-inject: starts the first-boot runner, which removes this file.\n"
                     "exec /bin/sh " VI_FIRSTBOOT_RUNNER "\n");
}

#define RC_LOCAL_LINE "if [ -f " VI_FIRSTBOOT_SCRIPT " ]; then /bin/sh " VI_FIRSTBOOT_RUNNER "; fi" \
                      "  # virt-inject first boot"

/* A line that holds only "exit 0" (blanks around it allowed). */
static gboolean
is_exit0 (const char *line)
{
    g_autofree char *t = g_strstrip (g_strdup (line));

    return g_str_equal (t, "exit 0");
}

static gboolean
is_blank (const char *line)
{
    for (; *line; line++)
        if (!g_ascii_isspace (*line))
            return FALSE;
    return TRUE;
}

char *
vi_firstboot_rc_local (const char *old)
{
    g_auto(GStrv) lines = NULL;
    GString *out;
    gint last = -1;
    gboolean exit0;

    if (old == NULL)
        return g_strdup ("#!/bin/sh\n" RC_LOCAL_LINE "\nexit 0\n");
    lines = g_strsplit (old, "\n", -1);
    for (gint i = 0; lines[i]; i++) {
        if (g_str_equal (lines[i], RC_LOCAL_LINE))
            return g_strdup (old);
        if (!is_blank (lines[i]))
            last = i;
    }
    /* an "exit 0" on the last line that is not blank ends the script: before it */
    exit0 = last >= 0 && is_exit0 (lines[last]);
    out = g_string_new (NULL);
    for (gint i = 0; lines[i]; i++) {
        if (exit0 && i == last)
            g_string_append (out, RC_LOCAL_LINE "\n");
        g_string_append (out, lines[i]);
        if (lines[i + 1] != NULL)
            g_string_append_c (out, '\n');
    }
    if (!exit0) {
        if (out->len > 0 && out->str[out->len - 1] != '\n')
            g_string_append_c (out, '\n');
        g_string_append (out, RC_LOCAL_LINE "\n");
    }
    return g_string_free (out, FALSE);
}

/* The content of a marker as a string when it is exactly @len bytes of
 * @accept followed by one newline, else NULL. */
static char *
marker_text (GBytes *content, gsize len, gboolean (*accept) (const char *s, gsize len))
{
    gsize size;
    const char *data;

    if (content == NULL)
        return NULL;
    data = g_bytes_get_data (content, &size);
    if (size != len + 1 || data[len] != '\n' || !accept (data, len))
        return NULL;
    return g_strndup (data, len);
}

static gboolean
is_lower_hex (char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static gboolean
accept_digest (const char *s, gsize len)
{
    for (gsize i = 0; i < len; i++)
        if (!is_lower_hex (s[i]))
            return FALSE;
    return TRUE;
}

static gboolean
accept_uuid (const char *s, gsize len)
{
    for (gsize i = 0; i < len; i++) {
        gboolean dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !is_lower_hex (s[i]))
            return FALSE;
    }
    return TRUE;
}

static gboolean
accept_standalone (const char *s, gsize len)
{
    return memcmp (s, VI_IDENTITY_STANDALONE, len) == 0;
}

char *
vi_firstboot_parse_digest (GBytes *content)
{
    return marker_text (content, 64, accept_digest);
}

char *
vi_identity_parse_uuid (GBytes *content)
{
    char *uuid = marker_text (content, 36, accept_uuid);

    if (uuid == NULL)
        uuid = marker_text (content, strlen (VI_IDENTITY_STANDALONE), accept_standalone);
    return uuid;
}

gboolean
vi_identity_is_host_key (const char *name)
{
    return g_str_has_prefix (name, "ssh_host_") && strlen (name) > strlen ("ssh_host__key") &&
           (g_str_has_suffix (name, "_key") || g_str_has_suffix (name, "_key.pub"));
}

const char *const vi_identity_seed_files[] = {
    "/var/lib/systemd/random-seed",
    "/var/lib/urandom/random-seed",
    "/var/lib/misc/random-seed",
    "/var/lib/seedrng/seed.credit",
    "/var/lib/seedrng/seed.no-credit",
    NULL
};
