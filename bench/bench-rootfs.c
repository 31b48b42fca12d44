/* bench-rootfs: the standard request into fresh root trees, three ways.
 *
 *   in-process  vi_inject() through the rootfs backend
 *   CLI         `virt-inject inject --rootfs DIR --spec FILE` (one process)
 *   shell       the same files made by mkdir/tee/chmod/chown processes, then
 *               `sync -f` (one syncfs: its files reach the disk, as ours do)
 *
 * and two floors, to show what any implementation must pay here:
 *   durability  bare syscalls: the same number of files written as temporary
 *               files, syncfs, renamed, syncfs (the contract, nothing else)
 *   exec        `virt-inject --version`: loading the program and its
 *               libraries, through the same system() as the CLI row; and
 *               bench-empty (next to this program), an empty main() linked
 *               with the libraries DESIGN.md prescribes: any CLI on that
 *               stack pays it; and `/bin/true`, a process that loads nothing
 *
 * Usage: bench-rootfs SOURCE_ROOT VIRT_INJECT [ROUNDS]
 * Prints a table of median milliseconds and the ratios DESIGN.md targets.
 * The password is a pre-computed hash in all three, so all three do the same
 * work (hashing cost is the same whoever pays it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <glib/gstdio.h>

#include "vi-inject.h"
#include "vi-spec.h"

#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKYGUGvHX4hk0+GGtUcqxOYOOkLN+Bn8zz6j3Vh/h4E alice@laptop"
#define KEY2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2z5O3bb1k3QGw7+0dH4j3b9bHc2cV3o6DQ0pO2xj5T bob@ops"
#define HASH "$6$FqqoikoO6v0uIcnm$3sMy9trbuavMQmPVVGmwLgGS4Y7TnCuX514KjnCX3b3xmdl044EXeQTVASlM/JJGbJoD2nxEVeJNgrMytmxCy."
#define NFILES 22

/* The standard request: 2 keys, a password, hostname, network, a
 * directory, 22 files, 2 meta entries. */
static ViSpec *
standard_request (void)
{
    ViSpec *s = vi_spec_new ();
    ViUser *u = vi_user_new ("root");
    ViInterface *i = vi_interface_new ("eth0");
    ViDirectory *d = vi_directory_new ("/srv/app");
    const char *keys[] = { "role", "tier" };

    g_ptr_array_add (u->ssh_keys, g_strdup (KEY1));
    g_ptr_array_add (u->ssh_keys, g_strdup (KEY2));
    u->password_kind = VI_PASSWORD_HASH;
    u->password = g_strdup (HASH);
    g_ptr_array_add (s->users, u);
    s->hostname = g_strdup ("web1.example.com");
    s->has_network = TRUE;
    g_ptr_array_add (i->addresses, g_strdup ("192.0.2.10/24"));
    g_ptr_array_add (i->gateways, g_inet_address_new_from_string ("192.0.2.1"));
    g_ptr_array_add (i->nameservers, g_inet_address_new_from_string ("192.0.2.53"));
    g_ptr_array_add (s->interfaces, i);
    d->mode = 0750;
    g_ptr_array_add (s->directories, d);
    for (int n = 0; n < NFILES; n++) {
        g_autofree char *path = g_strdup_printf ("/srv/app/conf/file%02d.conf", n);
        g_autofree char *text = g_strdup_printf ("setting%d = value%d\n", n, n);
        g_autoptr(GBytes) b = g_bytes_new (text, strlen (text));
        ViFile *f = vi_file_new (path, b);
        f->mode = 0640;
        g_ptr_array_add (s->files, f);
    }
    for (int n = 0; n < 2; n++) {
        ViMeta *m = g_new0 (ViMeta, 1);
        m->key = g_strdup (keys[n]);
        m->value = g_strdup ("web");
        g_ptr_array_add (s->meta, m);
    }
    return s;
}

/* The same work as a shell script of separate processes. */
static char *
shell_script (const char *root)
{
    GString *s = g_string_new ("set -e\n");

    g_string_append_printf (s, "R='%s'\n", root);
    g_string_append (s,
        "mkdir -p \"$R/root/.ssh\" && chmod 0700 \"$R/root/.ssh\" && chown 0:0 \"$R/root/.ssh\"\n"
        "printf '%s\\n' '" KEY1 "' | tee -a \"$R/root/.ssh/authorized_keys\" >/dev/null\n"
        "printf '%s\\n' '" KEY2 "' | tee -a \"$R/root/.ssh/authorized_keys\" >/dev/null\n"
        "chmod 0600 \"$R/root/.ssh/authorized_keys\" && chown 0:0 \"$R/root/.ssh/authorized_keys\"\n"
        "sed -i 's|^root:[^:]*:|root:" "\\$6\\$FqqoikoO6v0uIcnm\\$3sMy9trbuavMQmPVVGmwLgGS4Y7TnCuX514KjnCX3b3xmdl044EXeQTVASlM/JJGbJoD2nxEVeJNgrMytmxCy." ":|' \"$R/etc/shadow\"\n"
        "printf 'web1.example.com\\n' | tee \"$R/etc/hostname\" >/dev/null\n"
        "printf '127.0.1.1\\tweb1.example.com web1\\n' | tee -a \"$R/etc/hosts\" >/dev/null\n"
        "printf 'auto eth0\\niface eth0 inet static\\n    address 192.0.2.10/24\\n    gateway 192.0.2.1\\n' | tee \"$R/etc/network/interfaces.d/virt-inject-eth0\" >/dev/null\n"
        "mkdir -p \"$R/srv/app\" && chmod 0750 \"$R/srv/app\" && chown 0:0 \"$R/srv/app\"\n"
        "mkdir -p \"$R/srv/app/conf\" && chmod 0755 \"$R/srv/app/conf\"\n");
    for (int n = 0; n < NFILES; n++)
        g_string_append_printf (s,
            "printf 'setting%d = value%d\\n' | tee \"$R/srv/app/conf/file%02d.conf\" >/dev/null && "
            "chmod 0640 \"$R/srv/app/conf/file%02d.conf\" && chown 0:0 \"$R/srv/app/conf/file%02d.conf\"\n",
            n, n, n, n, n);
    g_string_append (s, "printf '{\"role\":\"web\",\"tier\":\"web\"}\\n' | tee \"$R/meta.js\" >/dev/null\n");
    /* the same durability as virt-inject's: one syncfs(2) of the tree */
    g_string_append (s, "sync -f \"$R\"\n");
    return g_string_free (s, FALSE);
}

/* Files the standard request writes into a Debian tree: 22 files,
 * authorized_keys, shadow, hostname, hosts, the interfaces file, meta.js. */
#define NWRITES (NFILES + 6)

/* Of those, files that exist already and are replaced: shadow, hostname, hosts. */
#define NREPLACED 3

/* The durability contract with nothing around it: NWRITES small temporary
 * files in one directory, one syncfs, NWRITES renames (NREPLACED of them over
 * existing files, as shadow, hostname and hosts are), one syncfs. */
static double
durability_floor (const char *tree)
{
    g_autofree char *dir = g_build_filename (tree, "srv", NULL);
    gint64 t0;
    int dfd;

    g_assert (g_mkdir_with_parents (dir, 0755) == 0);
    dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    g_assert (dfd >= 0);
    for (int n = 0; n < NREPLACED; n++) {
        g_autofree char *old = g_strdup_printf ("%s/file%02d", dir, n);
        g_autofree char *text = g_strnfill (1024, 'x');

        g_assert (g_file_set_contents (old, text, -1, NULL));
    }
    sync ();
    t0 = g_get_monotonic_time ();
    for (int n = 0; n < NWRITES; n++) {
        char tmp[32], text[32];
        int fd, len;

        g_snprintf (tmp, sizeof tmp, ".tmp%02d", n);
        len = g_snprintf (text, sizeof text, "setting%d = value%d\n", n, n);
        fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        g_assert (fd >= 0);
        g_assert (write (fd, text, len) == len);
        g_assert (fchmod (fd, 0640) == 0);
        close (fd);
    }
    g_assert (syncfs (dfd) == 0);
    for (int n = 0; n < NWRITES; n++) {
        char tmp[32], final[32];

        g_snprintf (tmp, sizeof tmp, ".tmp%02d", n);
        g_snprintf (final, sizeof final, "file%02d", n);
        g_assert (renameat (dfd, tmp, dfd, final) == 0);
    }
    g_assert (syncfs (dfd) == 0);
    t0 = g_get_monotonic_time () - t0;
    close (dfd);
    return t0 / 1000.0;
}

/* One row of the floors table; takes the label. */
static void
floor_row (char *label, double ms, double shell_ms)
{
    printf ("| %-55s | %9.2f | %9.1fx |\n", label, ms, shell_ms / ms);
    g_free (label);
}

static int
cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
    qsort (v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

static char *
fresh_tree (const char *src_root, const char *template_dir, int n)
{
    char *dir = g_strdup_printf ("%s/t%d", template_dir, n);
    g_autofree char *cmd = g_strdup_printf ("cp -a '%s/template' '%s'", template_dir, dir);
    g_assert (system (cmd) == 0);
    return dir;
}

int
main (int argc, char **argv)
{
    const char *src, *cli;
    int rounds = argc > 3 ? atoi (argv[3]) : 15;
    g_autofree char *top = NULL, *cmd = NULL, *spec_path = NULL, *canon = NULL;
    g_autofree char *bindir = g_path_get_dirname (argv[0]);
    g_autofree char *argv_empty = g_strdup_printf ("'%s/bench-empty'", bindir);
    g_autoptr(ViSpec) spec = standard_request ();
    double *inproc, *rerun, *clit, *shell, *dfloor, *xfloor, *tfloor, *efloor;

    if (argc < 3) {
        fprintf (stderr, "usage: bench-rootfs SOURCE_ROOT VIRT_INJECT [ROUNDS]\n");
        return 2;
    }
    src = argv[1];
    cli = argv[2];
    inproc = g_new0 (double, rounds);
    rerun = g_new0 (double, rounds);
    clit = g_new0 (double, rounds);
    shell = g_new0 (double, rounds);
    dfloor = g_new0 (double, rounds);
    xfloor = g_new0 (double, rounds);
    tfloor = g_new0 (double, rounds);
    efloor = g_new0 (double, rounds);
    top = g_dir_make_tmp ("vi-bench-XXXXXX", NULL);
    cmd = g_strdup_printf ("%s/tests/make-guest-tree.sh debian12 %s/template >/dev/null", src, top);
    g_assert (system (cmd) == 0);
    spec_path = g_build_filename (top, "request.xml", NULL);
    canon = vi_spec_format (spec);
    g_assert (g_file_set_contents (spec_path, canon, -1, NULL));

    for (int r = 0; r < rounds; r++) {
        g_autofree char *a = fresh_tree (src, top, 4 * r);
        g_autofree char *b = fresh_tree (src, top, 4 * r + 1);
        g_autofree char *c = fresh_tree (src, top, 4 * r + 2);
        g_autofree char *d = fresh_tree (src, top, 4 * r + 3);
        g_autofree char *argv_version = g_strdup_printf ("'%s' --version >/dev/null", cli);
        g_autofree char *script = shell_script (c);
        g_autofree char *script_path = g_strdup_printf ("%s/s%d.sh", top, r);
        g_autofree char *argv_cli = g_strdup_printf ("'%s' inject --rootfs '%s' --spec '%s' >/dev/null", cli, b, spec_path);
        g_autofree char *argv_sh = g_strdup_printf ("/bin/sh '%s'", script_path);
        g_autoptr(GError) error = NULL;
        gint64 t0, t1;

        sync ();
        t0 = g_get_monotonic_time ();
        {
            g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (a, NULL, &error);
            if (!vi_inject (spec, vfs, NULL, FALSE, NULL, &error))
                g_error ("%s", error->message);
        }
        t1 = g_get_monotonic_time ();
        inproc[r] = (t1 - t0) / 1000.0;

        t0 = g_get_monotonic_time ();
        {
            g_autoptr(ViVfs) vfs = vi_vfs_rootfs_open (a, NULL, &error);
            if (!vi_inject (spec, vfs, NULL, FALSE, NULL, &error))
                g_error ("%s", error->message);
        }
        rerun[r] = (g_get_monotonic_time () - t0) / 1000.0;

        t0 = g_get_monotonic_time ();
        g_assert (system (argv_cli) == 0);
        clit[r] = (g_get_monotonic_time () - t0) / 1000.0;

        g_assert (g_file_set_contents (script_path, script, -1, NULL));
        t0 = g_get_monotonic_time ();
        g_assert (system (argv_sh) == 0);
        shell[r] = (g_get_monotonic_time () - t0) / 1000.0;

        dfloor[r] = durability_floor (d);
        t0 = g_get_monotonic_time ();
        g_assert (system (argv_version) == 0);
        xfloor[r] = (g_get_monotonic_time () - t0) / 1000.0;
        t0 = g_get_monotonic_time ();
        g_assert (system (argv_empty) == 0);
        efloor[r] = (g_get_monotonic_time () - t0) / 1000.0;
        t0 = g_get_monotonic_time ();
        g_assert (system ("/bin/true") == 0);
        tfloor[r] = (g_get_monotonic_time () - t0) / 1000.0;
    }

    {
        double mi = median (inproc, rounds), mr = median (rerun, rounds);
        double mc = median (clit, rounds), ms = median (shell, rounds);
        double md = median (dfloor, rounds), mx = median (xfloor, rounds);
        double mt = median (tfloor, rounds), me = median (efloor, rounds);

        printf ("Root directory, standard request (2 keys, password, hostname, network, a directory,\n"
                "%d files, 2 meta), first application to fresh Debian 12 trees, median of %d rounds:\n\n",
                NFILES, rounds);
        printf ("| way                               | median ms | vs shell | target                 |\n");
        printf ("|-----------------------------------|----------:|---------:|------------------------|\n");
        printf ("| in-process (vi_inject, rootfs)    | %9.2f | %7.1fx | < 5 ms, >= 50x: %-6s |\n", mi, ms / mi,
                mi < 5 && ms / mi >= 50 ? "met" : "missed");
        printf ("| in-process idempotent re-run      | %9.2f |        - | -                      |\n", mr);
        printf ("| CLI process (virt-inject inject)  | %9.2f | %7.1fx | >= 20x: %-14s |\n", mc, ms / mc,
                ms / mc >= 20 ? "met" : "missed");
        printf ("| shell tools (mkdir/tee/chmod/...) | %9.2f |     1.0x | -                      |\n", ms);
        printf ("\nFloors (what any implementation pays here; the ratio is the shell's time over it):\n\n");
        printf ("| floor                                                   | median ms | best ratio |\n");
        printf ("|---------------------------------------------------------|----------:|-----------:|\n");
        floor_row (g_strdup_printf ("durability: %d temp files, syncfs, renames, syncfs", NWRITES), md, ms);
        floor_row (g_strdup ("exec: system(\"virt-inject --version\")"), mx, ms);
        floor_row (g_strdup ("exec: empty main() on the prescribed libraries"), me, ms);
        floor_row (g_strdup ("exec: system(\"/bin/true\")"), mt, ms);
        floor_row (g_strdup ("empty main() + durability: a CLI that does no work"), me + md, ms);
    }
    cmd = (g_free (cmd), g_strdup_printf ("rm -rf '%s'", top));
    return system (cmd) == 0 ? 0 : 1;
}
