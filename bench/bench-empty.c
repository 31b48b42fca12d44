/* bench-empty: a program that does nothing but is linked with the libraries
 * DESIGN.md prescribes for the CLI (GLib/GIO, libxml2, json-glib, libxcrypt).
 * bench-rootfs times its start as the floor of any CLI built on that stack.
 * Each library is referenced (never called) so that --as-needed keeps it. */
#include <crypt.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libxml/parser.h>

int
main (int argc, char **argv)
{
    if (argc > 1000) {
        /* unreachable: only to keep every library a dependency */
        xmlInitParser ();
        g_object_unref (json_builder_new ());
        g_object_unref (g_inet_address_new_any (G_SOCKET_FAMILY_IPV4));
        return crypt_gensalt_rn (NULL, 0, NULL, 0, argv[0], 0) != NULL;
    }
    return 0;
}
