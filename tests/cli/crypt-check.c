/* crypt-check: test helper for the CLI tests.
 *
 *   crypt-check PASSWORD-FILE HASH
 *
 * Exit 0 when the first line of PASSWORD-FILE (as virt-inject reads it)
 * verifies against HASH with vi_crypt_verify(), 1 when it does not, 2 on a
 * usage or read error.  The password travels in a file, never in argv.
 */
#include <stdio.h>

#include "vi-crypt.h"

int
main (int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    char *clear;
    gboolean ok;

    if (argc != 3) {
        fprintf (stderr, "usage: crypt-check PASSWORD-FILE HASH\n");
        return 2;
    }
    clear = vi_password_read_file (argv[1], &error);
    if (clear == NULL) {
        fprintf (stderr, "crypt-check: %s\n", error->message);
        return 2;
    }
    ok = vi_crypt_verify (clear, argv[2]);
    vi_password_wipe (clear);
    return ok ? 0 : 1;
}
