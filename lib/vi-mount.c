/* vi-mount.c: LXC image roots, mounted in a private mount namespace.
 *
 * The work happens in a child (vi_child_run_func): it unshares its mount namespace and
 * makes every mount private, so nothing it mounts is visible to the host or
 * outlives it.  Raw images (and block devices) are attached to a loop
 * device; other formats are exported by qemu-storage-daemon as a FUSE file
 * (this kernel has no nbd module) and that file is loop-attached.  The
 * filesystem is mounted nosuid,nodev,noexec, the callback runs, and
 * everything is unmounted and detached on every path.  The loop device has
 * LO_FLAGS_AUTOCLEAR, so it detaches itself even if the child is killed;
 * qemu-storage-daemon is in the child's process group, which the deadline
 * kills whole (vi-child).
 */
#include "vi-mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vi-error.h"
#include "vi-fd.h"

#define VI_MOUNT_ROOT "root"            /* the mount point, in the work directory */
#define VI_MOUNT_FUSE_FILE "disk"       /* qemu-storage-daemon's FUSE export */

/* Attach @fd to a free loop device; returns the loop fd and its path. */
static int
loop_attach (int backing_fd, gboolean readonly, char **out_dev, GError **error)
{
    vi_autofd ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC);

    if (ctl < 0) {
        vi_throw_errno (error, errno, "/dev/loop-control");
        return -1;
    }
    for (int attempt = 0; attempt < 16; attempt++) {
        int n = ioctl (ctl, LOOP_CTL_GET_FREE);
        g_autofree char *dev = NULL;
        vi_autofd lfd = -1;
        struct loop_config cfg = { 0 };

        if (n < 0) {
            vi_throw_errno (error, errno, "finding a free loop device");
            return -1;
        }
        dev = g_strdup_printf ("/dev/loop%d", n);
        lfd = open (dev, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (lfd < 0) {
            vi_throw_errno (error, errno, "%s", dev);
            return -1;
        }
        cfg.fd = backing_fd;
        cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (readonly ? LO_FLAGS_READ_ONLY : 0);
        if (ioctl (lfd, LOOP_CONFIGURE, &cfg) == 0) {
            *out_dev = g_steal_pointer (&dev);
            return g_steal_fd (&lfd);
        }
        if (errno != EBUSY) {
            vi_throw_errno (error, errno, "attaching %s", dev);
            return -1;
        }
    }
    vi_throw (error, VI_ERROR_FAILED, "no free loop device");
    return -1;
}

static gboolean
mount_fs (const char *dev, const char *dir, GError **error)
{
    static const char *const types[] = { "ext4", "xfs", "btrfs", "ext3", "ext2" };
    int errsv = 0;

    for (gsize i = 0; i < G_N_ELEMENTS (types); i++) {
        if (mount (dev, dir, types[i], MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
            return TRUE;
        if (errno != EINVAL)
            errsv = errno;
    }
    return vi_throw (error, VI_ERROR_TARGET, "%s: no ext4/xfs/btrfs filesystem could be mounted%s%s",
                     dev, errsv ? ": " : "", errsv ? g_strerror (errsv) : "");
}

/* qemu-storage-daemon exporting @image (@format) as the FUSE file @file. */
static GPid
qsd_start (const char *image, const char *format, const char *file, GError **error)
{
    g_autofree char *blk_file = g_strdup_printf ("driver=file,filename=%s,node-name=file0", image);
    g_autofree char *blk_fmt = g_strdup_printf ("driver=%s,file=file0,node-name=disk0", format);
    g_autofree char *exp = g_strdup_printf ("type=fuse,id=exp0,node-name=disk0,mountpoint=%s,"
                                            "writable=on", file);
    const char *argv[] = { "qemu-storage-daemon", "--blockdev", blk_file, "--blockdev", blk_fmt,
                           "--export", exp, NULL };
    GPid pid;
    g_autoptr(GError) e = NULL;
    struct stat before, now;

    if (strchr (image, ',') != NULL)
        return vi_throw (error, VI_ERROR_TARGET, "%s: image paths with ',' are not supported", image), 0;
    if (stat (file, &before) < 0)
        return vi_throw_errno (error, errno, "%s", file), 0;
    if (!g_spawn_async (NULL, (char **) argv, NULL,
                        G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                        NULL, NULL, &pid, &e))
        return vi_throw (error, VI_ERROR_FAILED, "qemu-storage-daemon: %s", e->message), 0;
    /* The export is ready when the file's inode is the FUSE one. */
    for (int i = 0; i < 200; i++) {
        int status;
        if (stat (file, &now) == 0 && now.st_dev != before.st_dev)
            return pid;
        if (waitpid (pid, &status, WNOHANG) == pid) {
            vi_throw (error, VI_ERROR_FAILED, "qemu-storage-daemon exited before exporting %s",
                      image);
            return 0;
        }
        g_usleep (25 * 1000);
    }
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
    vi_throw (error, VI_ERROR_FAILED, "qemu-storage-daemon did not export %s in time", image);
    return 0;
}

static void
qsd_stop (GPid pid)
{
    if (pid <= 0)
        return;
    kill (pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid (pid, NULL, WNOHANG) == pid)
            return;
        g_usleep (25 * 1000);
    }
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
}

/* Mount, run, clean up.  Returns the callback's result.  Everything it
 * makes is in @work_dir, which vi_mount_workdir_remove() empties even when
 * this process was killed. */
static gboolean
child_work (const ViTarget *target, const char *work_dir, ViMountFunc func, gpointer user_data,
            GError **error)
{
    g_autofree char *mnt = g_build_filename (work_dir, VI_MOUNT_ROOT, NULL);
    g_autofree char *fusefile = NULL;
    g_autofree char *loopdev = NULL;
    vi_autofd backing = -1;
    vi_autofd loop = -1;
    GPid qsd = 0;
    gboolean ok = FALSE, mounted = FALSE, made = FALSE;

    if (unshare (CLONE_NEWNS) < 0)
        return vi_throw_errno (error, errno, "unshare(CLONE_NEWNS)");
    if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return vi_throw_errno (error, errno, "making mounts private");
    if (g_mkdir (mnt, 0700) < 0) {
        vi_throw_errno (error, errno, "%s", mnt);
        goto out;
    }
    made = TRUE;

    if (target->is_block || g_str_equal (target->format, "raw")) {
        backing = open (target->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    } else {
        fusefile = g_build_filename (work_dir, VI_MOUNT_FUSE_FILE, NULL);
        if (!g_file_set_contents (fusefile, "", 0, NULL)) {
            vi_throw_errno (error, errno, "%s", fusefile);
            goto out;
        }
        qsd = qsd_start (target->path, target->format, fusefile, error);
        if (qsd == 0)
            goto out;
        backing = open (fusefile, O_RDWR | O_CLOEXEC);
    }
    if (backing < 0) {
        vi_throw_errno (error, errno, "%s", target->path);
        goto out;
    }
    if (target->is_block) {
        loopdev = g_strdup (target->path);
        if (!mount_fs (target->path, mnt, error))
            goto out;
    } else {
        loop = loop_attach (backing, FALSE, &loopdev, error);
        if (loop < 0 || !mount_fs (loopdev, mnt, error))
            goto out;
    }
    mounted = TRUE;
    ok = func (mnt, user_data, error);

out:
    if (mounted && umount2 (mnt, 0) < 0 && ok) {
        ok = vi_throw_errno (error, errno, "unmounting %s", target->path);
    }
    if (loop >= 0)
        ioctl (loop, LOOP_CLR_FD, 0);
    vi_clear_fd (&loop);
    vi_clear_fd (&backing);
    qsd_stop (qsd);
    if (fusefile)
        (void) g_unlink (fusefile);
    if (made)
        (void) g_rmdir (mnt);
    return ok;
}

char *
vi_mount_workdir_new (GError **error)
{
    char *dir = g_dir_make_tmp ("virt-inject-mnt-XXXXXX", NULL);

    if (dir == NULL)
        vi_throw_errno (error, errno, "creating a mount point");
    return dir;
}

void
vi_mount_workdir_remove (const char *work_dir)
{
    g_autofree char *mnt = NULL, *fusefile = NULL;

    if (work_dir == NULL)
        return;
    /* A mount of a killed child's namespace is not in ours: the mount
     * point is an empty directory here. */
    mnt = g_build_filename (work_dir, VI_MOUNT_ROOT, NULL);
    fusefile = g_build_filename (work_dir, VI_MOUNT_FUSE_FILE, NULL);
    (void) g_rmdir (mnt);
    (void) g_unlink (fusefile);
    (void) g_rmdir (work_dir);
}

gboolean
vi_mount_within (const ViTarget *target, const char *work_dir, ViMountFunc func,
                 gpointer user_data, GError **error)
{
    if (target->kind != VI_TARGET_ROOTFS_IMAGE)
        return vi_throw (error, VI_ERROR_TARGET, "not an LXC image root");
    if (geteuid () != 0)
        return vi_throw (error, VI_ERROR_UNSUPPORTED,
                         "mounting an LXC image root needs root (a private mount namespace)");
    return child_work (target, work_dir, func, user_data, error);
}
