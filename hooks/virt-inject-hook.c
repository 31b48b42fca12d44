/* virt-inject-hook: the libvirt hook for the qemu and lxc drivers (front).
 *
 * libvirtd runs a hook for every lifecycle event of every domain, and waits
 * for it.  Almost always there is nothing to do, so this front links nothing
 * but libc (no GLib, no libxml2: their loading costs milliseconds per event):
 * it drains stdin, and unless the operation is one virt-inject acts on
 * (prepare begin, migrate begin, restore begin, release end) AND the domain
 * XML mentions our namespace, it exits 0 at once with stdout empty.
 * Otherwise it execs the worker, LIBEXECDIR/virt-inject-hook-worker, with
 * the same argv and the XML on stdin (a sealed memfd).
 *
 * `virt-inject hook install` copies this program into libvirt's hook
 * directories as a real file, not a symlink: on AppArmor hosts libvirtd's
 * profile lets hooks run from under /etc/libvirt/hooks/ and judges an exec
 * by the target's real path, so a link into libexecdir would be refused.
 * The copy does not know where it came from (/proc/self/exe names the
 * copy), so the worker is found by its installed path, the one the shipped
 * AppArmor rule names (data/apparmor/).  VIRT_INJECT_HOOK_WORKER replaces
 * it for tests of the build tree; libvirtd gives hooks a clean environment,
 * so an installed hook always runs the installed worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define VI_NS "http://virt-inject.org/xmlns/libvirt/domain/1.0"
#define WORKER LIBEXECDIR "/virt-inject-hook-worker"
#define XML_MAX (64u * 1024 * 1024)

static int
acted_on (const char *op, const char *subop)
{
    if (strcmp (subop, "begin") == 0)
        return strcmp (op, "prepare") == 0 || strcmp (op, "migrate") == 0 ||
               strcmp (op, "restore") == 0;
    return strcmp (op, "release") == 0 && strcmp (subop, "end") == 0;
}

static void
die (const char *what)
{
    fprintf (stderr, "virt-inject: hook: %s: %s\n", what, strerror (errno));
    exit (2);
}

int
main (int argc, char **argv)
{
    char *xml = NULL;
    size_t len = 0, cap = 0;
    const char *worker = getenv ("VIRT_INJECT_HOOK_WORKER");
    ssize_t n;
    int fd;

    /* Always drain stdin: libvirt writes all of it. */
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > XML_MAX || (xml = realloc (xml, cap)) == NULL)
                die ("reading the domain XML");
        }
        n = read (0, xml + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die ("reading the domain XML");
        if (n == 0)
            break;
        len += (size_t) n;
    }

    if (argc < 4 || !acted_on (argv[2], argv[3]) ||
        memmem (xml, len, VI_NS, strlen (VI_NS)) == NULL) {
        free (xml);
        return 0;
    }

    if (worker == NULL || *worker == '\0')
        worker = WORKER;
    fd = memfd_create ("domain-xml", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        die ("memfd_create");
    for (size_t off = 0; off < len; off += (size_t) n) {
        n = write (fd, xml + off, len - off);
        if (n < 0 && errno == EINTR) {
            n = 0;
            continue;
        }
        if (n < 0)
            die ("memfd write");
    }
    (void) fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    if (lseek (fd, 0, SEEK_SET) < 0 || dup2 (fd, 0) < 0)
        die ("memfd");
    free (xml);
    argv[0] = (char *) worker;
    execv (worker, argv);
    die (worker);
}
