/* vi-fd.h: scoped file descriptors (GLib's g_autofd is 2.76; Debian 12 has 2.74). */
#pragma once

#include <errno.h>
#include <unistd.h>

/* Close *fd if open, keeping errno (so a cleanup never hides the error). */
static inline void
vi_clear_fd (int *fd)
{
    if (*fd >= 0) {
        int errsv = errno;
        close (*fd);
        errno = errsv;
        *fd = -1;
    }
}

/* An int fd closed when it goes out of scope; pair with g_steal_fd(). */
#define vi_autofd __attribute__ ((cleanup (vi_clear_fd))) int
