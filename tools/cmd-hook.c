/* cmd-hook.c: `virt-inject hook install|uninstall|status|forget DOMAIN` */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cli.h"
#include "vi-error.h"
#include "vi-image.h"
#include "vi-ledger.h"

#define HOOK_NAME "virt-inject"
#define FRONT_MAX (16 * 1024 * 1024)
#define VI_NS "http://virt-inject.org/xmlns/libvirt/domain/1.0"
#define WORKER_SUFFIX "/virt-inject-hook-worker"

/* The rules libvirtd's AppArmor profile needs to run the hook's worker
 * (data/apparmor/virt-inject-hook.in), and the one line that includes them
 * from the admin's local/usr.sbin.libvirtd.  "if exists": uninstalling
 * virt-inject must not leave libvirtd's profile unloadable. */
#define AA_SNIPPET "abstractions/virt-inject-hook"
#define AA_INCLUDE "include if exists <" AA_SNIPPET ">"

static const char *const drivers[] = { "qemu", "lxc" };

static char *
hook_program (void)
{
    const char *env = g_getenv ("VIRT_INJECT_HOOK_PROGRAM");
    return g_strdup (env && *env ? env : LIBEXECDIR "/virt-inject-hook");
}

static GBytes *
read_front (const char *prog, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents (prog, &data, &len, error))
        return NULL;
    return g_bytes_new_take (g_steal_pointer (&data), len);
}

/* Whether @data is a virt-inject hook front, of any version: an ELF
 * program holding our namespace and the worker's name. */
static gboolean
is_front (const char *data, gsize len)
{
    return len >= 4 && memcmp (data, "\177ELF", 4) == 0 &&
           memmem (data, len, VI_NS, strlen (VI_NS)) != NULL &&
           memmem (data, len, WORKER_SUFFIX, strlen (WORKER_SUFFIX)) != NULL;
}

/* The worker a hook front execs, read out of the program's bytes.  A front
 * holds its worker's installed path (LIBEXECDIR "/virt-inject-hook-worker")
 * as a C string, and that path names the installation the front belongs
 * to: /usr/local/libexec/... for a `meson install` under /usr/local,
 * /usr/libexec/... for the Debian package.  Returns NULL when @data is not
 * a front or holds no such path (the fronts of versions that were
 * installed as symlinks found their worker beside their own path). */
static char *
front_worker (const char *data, gsize len)
{
    const char *end = data + len;
    const char *p = data;

    if (!is_front (data, len))
        return NULL;
    /* sizeof counts the NUL: the suffix must end a string */
    while ((p = memmem (p, (gsize) (end - p), WORKER_SUFFIX, sizeof WORKER_SUFFIX)) != NULL) {
        const char *start = p;

        while (start > data && start[-1] != '\0' && g_ascii_isgraph (start[-1]))
            start--;
        if (*start == '/')
            return g_strndup (start, (gsize) (p - start) + strlen (WORKER_SUFFIX));
        p += sizeof WORKER_SUFFIX;
    }
    return NULL;
}

/* What an entry of a hook directory is, as far as virt-inject is concerned. */
typedef enum {
    ENTRY_MISSING,
    ENTRY_OTHER,        /* not a virt-inject hook */
    ENTRY_LINK,         /* a symlink to a virt-inject-hook (older versions) */
    ENTRY_COPY,         /* a copy of a virt-inject hook front, of any installation */
} EntryKind;

typedef struct {
    EntryKind kind;
    char *link;         /* ENTRY_LINK: the target */
    char *worker;       /* ENTRY_COPY: the worker it execs (its installation), if known */
    gboolean same;      /* ENTRY_COPY: the very bytes of @front */
} Entry;

static void
entry_clear (Entry *e)
{
    g_clear_pointer (&e->link, g_free);
    g_clear_pointer (&e->worker, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Entry, entry_clear)

static void
entry_read (const char *path, GBytes *front, Entry *out)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    struct stat st;

    *out = (Entry) { ENTRY_OTHER, NULL, NULL, FALSE };
    if (lstat (path, &st) < 0) {
        out->kind = ENTRY_MISSING;
        return;
    }
    if (S_ISLNK (st.st_mode)) {
        g_autofree char *target = g_file_read_link (path, NULL);
        g_autofree char *base = target ? g_path_get_basename (target) : NULL;

        if (base && g_str_equal (base, "virt-inject-hook")) {
            out->kind = ENTRY_LINK;
            out->link = g_steal_pointer (&target);
        }
        return;
    }
    if (!S_ISREG (st.st_mode) || st.st_size > FRONT_MAX ||
        !g_file_get_contents (path, &data, &len, NULL))
        return;
    if (!is_front (data, len))
        return;
    out->kind = ENTRY_COPY;
    out->worker = front_worker (data, len);
    out->same = front && len == g_bytes_get_size (front) &&
                memcmp (data, g_bytes_get_data (front, NULL), len) == 0;
}

/* How a copy of another installation's front is named in messages. */
static char *
describe_other (const char *worker)
{
    if (worker == NULL)
        return g_strdup ("the hook of an older virt-inject version");
    return g_strdup_printf ("the hook of another virt-inject installation (its worker is %s)%s",
                            worker, g_str_has_prefix (worker, "/usr/local/")
                                        ? ", left by a meson install under /usr/local" : "");
}

/* The worker of @front, the hook program this CLI installs. */
static char *
our_worker (GBytes *front)
{
    gsize len = 0;
    const char *data = front ? g_bytes_get_data (front, &len) : NULL;

    return data ? front_worker (data, len) : NULL;
}

/* Executable entries of @dir other than HOOK_NAME that are virt-inject
 * hooks too (a copy or a link under another name, by hand or by another
 * installation): libvirt runs every executable entry, so virt-inject would
 * run twice for every event.  Each is named; with @remove, removed.
 * Returns how many are left. */
static guint
other_hooks (const char *dir, gboolean remove)
{
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    guint left = 0;

    if (d == NULL)
        return 0;
    while ((name = g_dir_read_name (d)) != NULL) {
        g_autofree char *path = g_build_filename (dir, name, NULL);
        g_auto(Entry) e = { 0 };
        g_autofree char *what = NULL;

        if (g_str_equal (name, HOOK_NAME) || !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
            continue;
        entry_read (path, NULL, &e);
        if (e.kind == ENTRY_LINK)
            what = g_strdup_printf ("a symlink to %s", e.link);
        else if (e.kind == ENTRY_COPY)
            what = e.worker ? g_strdup_printf ("a copy of the hook whose worker is %s", e.worker)
                            : g_strdup ("a copy of an older version's hook");
        else
            continue;
        if (remove && g_unlink (path) == 0) {
            printf ("removed %s: a second virt-inject hook (%s); libvirt would have run "
                    "virt-inject twice\n", path, what);
            continue;
        }
        if (remove)
            g_printerr ("virt-inject: removing %s: %s\n", path, g_strerror (errno));
        printf ("%s: a second virt-inject hook (%s): libvirt runs virt-inject twice; "
                "'virt-inject hook install' removes it\n", path, what);
        left++;
    }
    return left;
}

/* @dir/HOOK_NAME becomes a copy of @front, mode 0755, replaced atomically:
 * a temporary file that is not executable while it is written (libvirt runs
 * every executable file of the directory), fsync, chmod, rename. */
static gboolean
install_copy (const char *dir, const char *dest, GBytes *front, GError **error)
{
    g_autofree char *tmp = g_build_filename (dir, "." HOOK_NAME ".XXXXXX", NULL);
    const char *p = g_bytes_get_data (front, NULL);
    gsize left = g_bytes_get_size (front);
    int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);

    if (fd < 0)
        return vi_throw_errno (error, errno, "creating a temporary file in %s", dir);
    while (left > 0) {
        ssize_t n = write (fd, p, left);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int errsv = errno;
            close (fd);
            (void) g_unlink (tmp);
            return vi_throw_errno (error, errsv, "writing %s", tmp);
        }
        p += n;
        left -= (gsize) n;
    }
    if (fsync (fd) < 0 || fchmod (fd, 0755) < 0 || close (fd) < 0) {
        int errsv = errno;
        (void) g_unlink (tmp);
        return vi_throw_errno (error, errsv, "writing %s", tmp);
    }
    if (rename (tmp, dest) < 0) {
        int errsv = errno;
        (void) g_unlink (tmp);
        return vi_throw_errno (error, errsv, "installing %s", dest);
    }
    return TRUE;
}

/* AppArmor: when libvirtd has a profile here, whether its local include
 * file includes our rules.  Never edited by us: local/ belongs to the
 * admin (dpkg creates it empty, no package writes it); we say the line.
 * Returns FALSE when AppArmor is enabled and the line, our rules or our
 * profile are missing, i.e. when a request would fail at the next start. */
static gboolean
apparmor_report (const char *aa_dir)
{
    g_autofree char *profile = g_build_filename (aa_dir, "usr.sbin.libvirtd", NULL);
    g_autofree char *local = g_build_filename (aa_dir, "local", "usr.sbin.libvirtd", NULL);
    g_autofree char *snippet = g_build_filename (aa_dir, AA_SNIPPET, NULL);
    g_autofree char *ours = g_build_filename (aa_dir, "virt-inject", NULL);
    g_autofree char *text = NULL;
    g_autofree char *enabled = NULL;
    gboolean included = FALSE, on, files;

    if (!g_file_test (profile, G_FILE_TEST_EXISTS))
        return TRUE;
    on = g_file_get_contents ("/sys/module/apparmor/parameters/enabled", &enabled, NULL, NULL) &&
         enabled[0] == 'Y';
    if (g_file_get_contents (local, &text, NULL, NULL)) {
        g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

        for (guint i = 0; lines[i]; i++) {
            const char *l = g_strstrip (lines[i]);

            if (l[0] == '#' && !g_str_has_prefix (l, "#include"))
                continue;
            included |= strstr (l, "<" AA_SNIPPET ">") != NULL;
        }
    }
    if (!on && !included) {
        printf ("AppArmor: not enabled on this host; where it is, libvirtd needs the line '%s' "
                "in %s\n", AA_INCLUDE, local);
        return TRUE;
    }
    files = g_file_test (snippet, G_FILE_TEST_EXISTS) && g_file_test (ours, G_FILE_TEST_EXISTS);
    if (!files)
        printf ("AppArmor: %s or %s is missing: install virt-inject with "
                "-Dapparmor_dir=%s\n", snippet, ours, aa_dir);
    if (included) {
        printf ("AppArmor: %s includes %s: libvirtd may run the hook's worker (in the "
                "virt-inject-hook-worker profile)\n", local, AA_SNIPPET);
        return files || !on;
    }
    printf ("AppArmor: libvirtd's profile does not let it run the hook's worker: add the line\n"
            "  %s\n"
            "to %s, then load the profiles: apparmor_parser -r %s %s\n",
            AA_INCLUDE, local, ours, profile);
    return FALSE;
}

static int
install (const char *hook_dir, const char *aa_dir)
{
    g_autofree char *prog = hook_program ();
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) front = NULL;
    g_autofree char *worker = NULL;

    if (!g_file_test (prog, G_FILE_TEST_IS_EXECUTABLE)) {
        g_printerr ("virt-inject: hook program %s is missing or not executable\n", prog);
        return 2;
    }
    front = read_front (prog, &error);
    if (front == NULL) {
        g_printerr ("virt-inject: %s\n", error->message);
        return 2;
    }
    worker = our_worker (front);
    for (gsize i = 0; i < G_N_ELEMENTS (drivers); i++) {
        g_autofree char *dir = g_strdup_printf ("%s/%s.d", hook_dir, drivers[i]);
        g_autofree char *dest = g_build_filename (dir, HOOK_NAME, NULL);
        g_auto(Entry) old = { 0 };

        if (g_mkdir_with_parents (dir, 0755) < 0) {
            g_printerr ("virt-inject: creating %s: %s\n", dir, g_strerror (errno));
            return 2;
        }
        entry_read (dest, front, &old);
        if (old.kind == ENTRY_LINK)
            printf ("replacing %s, a symlink to %s (older versions)\n", dest, old.link);
        else if (old.kind == ENTRY_COPY && g_strcmp0 (old.worker, worker) != 0) {
            g_autofree char *what = describe_other (old.worker);

            printf ("replacing %s: it was %s; only this one runs from now on\n", dest, what);
        }
        else if (old.kind == ENTRY_OTHER)
            printf ("replacing %s, which was not a virt-inject hook\n", dest);
        if (!install_copy (dir, dest, front, &error)) {
            g_printerr ("virt-inject: %s\n", error->message);
            return 2;
        }
        printf ("installed %s (a copy of %s)\n", dest, prog);
        other_hooks (dir, TRUE);
    }
    apparmor_report (aa_dir);
    printf ("libvirtd reads hooks when it starts: restart it, or send it SIGHUP, "
            "for the hook to take effect\n");
    return 0;
}

/* Removes the copy, or the symlink an older version installed. */
static int
uninstall (const char *hook_dir)
{
    for (gsize i = 0; i < G_N_ELEMENTS (drivers); i++) {
        g_autofree char *path = g_strdup_printf ("%s/%s.d/%s", hook_dir, drivers[i], HOOK_NAME);

        if (g_unlink (path) < 0) {
            if (errno != ENOENT) {
                g_printerr ("virt-inject: removing %s: %s\n", path, g_strerror (errno));
                return 2;
            }
            printf ("%s: not installed\n", path);
            continue;
        }
        printf ("removed %s\n", path);
    }
    return 0;
}

/* Exit 0 only when every driver has a current copy of the hook program,
 * no other virt-inject hook beside it (and, on an AppArmor host, libvirtd's
 * profile lets it run the worker). */
static int
status (const char *hook_dir, const char *aa_dir)
{
    g_autofree char *prog = hook_program ();
    g_autoptr(GBytes) front = read_front (prog, NULL);
    g_autofree char *worker = our_worker (front);
    gboolean all = TRUE;

    for (gsize i = 0; i < G_N_ELEMENTS (drivers); i++) {
        g_autofree char *dir = g_strdup_printf ("%s/%s.d", hook_dir, drivers[i]);
        g_autofree char *path = g_build_filename (dir, HOOK_NAME, NULL);
        gboolean exec = g_file_test (path, G_FILE_TEST_IS_EXECUTABLE);
        g_auto(Entry) e = { 0 };

        entry_read (path, front, &e);
        if (e.kind == ENTRY_MISSING) {
            printf ("%s: not installed\n", drivers[i]);
            all = FALSE;
        } else if (e.kind == ENTRY_LINK) {
            printf ("%s: a symlink to %s, as older versions installed it%s: AppArmor refuses "
                    "it; run 'virt-inject hook install' to install a copy\n", path, e.link,
                    exec ? "" : " (broken)");
            all = FALSE;
        } else if (!exec) {
            printf ("%s: broken (not executable)\n", path);
            all = FALSE;
        } else if (front == NULL) {
            printf ("%s: installed, but %s cannot be read to compare\n", path, prog);
            all = FALSE;
        } else if (e.kind == ENTRY_COPY && e.same) {
            printf ("%s: installed (a copy of %s)\n", path, prog);
        } else if (e.kind == ENTRY_COPY && g_strcmp0 (e.worker, worker) != 0) {
            g_autofree char *what = describe_other (e.worker);

            printf ("%s: %s, not a copy of %s: run 'virt-inject hook install' to replace it\n",
                    path, what, prog);
            all = FALSE;
        } else if (e.kind == ENTRY_COPY) {
            printf ("%s: stale copy (differs from %s): run 'virt-inject hook install' again\n",
                    path, prog);
            all = FALSE;
        } else {
            printf ("%s: not a virt-inject hook: 'virt-inject hook install' replaces it\n", path);
            all = FALSE;
        }
        if (other_hooks (dir, FALSE) > 0)
            all = FALSE;
    }
    all &= apparmor_report (aa_dir);
    printf ("libvirt calls hooks in %s/<driver>.d/ since version 6.5, and reads them when "
            "libvirtd starts or gets SIGHUP\n", hook_dir);
    return all ? 0 : 1;
}

int
cli_cmd_hook (CliGlobal *global, int argc, char **argv)
{
    g_autofree char *hook_dir = NULL;
    g_autofree char *aa_dir = NULL;
    const GOptionEntry entries[] = {
        { "hook-dir", 0, 0, G_OPTION_ARG_FILENAME, &hook_dir,
          "libvirt's hook directory (default " LIBVIRT_HOOKDIR ")", "DIR" },
        { "apparmor-dir", 0, 0, G_OPTION_ARG_FILENAME, &aa_dir,
          "AppArmor's profile directory (default " APPARMOR_DIR ")", "DIR" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new ("install|uninstall|status|forget DOMAIN - manage the libvirt hook");
    g_autoptr(GError) error = NULL;

    g_option_context_add_main_entries (ctx, entries, NULL);
    g_option_context_set_description (ctx,
        "install    copy the hook program into DIR/qemu.d and DIR/lxc.d\n"
        "uninstall  remove those copies (or the links of older versions)\n"
        "status     whether libvirt will call the hook, and whether it is this version's;\n"
        "           on an AppArmor host, whether libvirtd's profile lets it run the worker\n"
        "forget     drop DOMAIN (name or UUID) from the run-once ledger, so that the next\n"
        "           start injects again (e.g. after reverting to a snapshot), and its stage");
    if (!g_option_context_parse (ctx, &argc, &argv, &error))
        return cli_error (error), 1;
    if (hook_dir == NULL)
        hook_dir = g_strdup (LIBVIRT_HOOKDIR);
    if (aa_dir == NULL)
        aa_dir = g_strdup (APPARMOR_DIR);
    if (argc < 2) {
        g_printerr ("virt-inject: hook: give install, uninstall, status or forget DOMAIN\n");
        return 1;
    }
    if (g_str_equal (argv[1], "install") && argc == 2)
        return install (hook_dir, aa_dir);
    if (g_str_equal (argv[1], "uninstall") && argc == 2)
        return uninstall (hook_dir);
    if (g_str_equal (argv[1], "status") && argc == 2)
        return status (hook_dir, aa_dir);
    if (g_str_equal (argv[1], "forget") && argc == 3) {
        g_autoptr(ViConfig) cfg = cli_load_config (global);
        gboolean found = FALSE;

        if (cfg == NULL)
            return 1;
        if (!vi_ledger_forget (cfg->state_dir, argv[2], &found, &error))
            return cli_error (error);
        printf (found ? "forgot %s: its next start injects again\n"
                      : "%s: no ledger entry (nothing to forget)\n", argv[2]);
        if (vi_image_stage_drop (cfg, argv[2]) > 0)
            printf ("%s: stage dropped\n", argv[2]);
        return 0;
    }
    g_printerr ("virt-inject: hook: give install, uninstall, status or forget DOMAIN\n");
    return 1;
}
