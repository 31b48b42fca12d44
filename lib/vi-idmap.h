/* vi-idmap.h: the id ranges of an LXC <idmap> (parsed by vi-domain).
 *
 * A leaf module (GLib and vi-error only), so that the VFS, which translates
 * every id it writes, needs neither the domain nor the request parser.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One contiguous id range of an LXC <idmap>: guest ids start..start+count-1
 * are host ids target..target+count-1. */
typedef struct {
    guint32 start;
    guint32 target;
    guint32 count;
} ViIdRange;

typedef struct {
    GArray *uid;                /* (element-type ViIdRange) */
    GArray *gid;                /* (element-type ViIdRange) */
} ViIdMap;

ViIdMap *vi_idmap_new (void);
void vi_idmap_free (ViIdMap *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViIdMap, vi_idmap_free)

/**
 * vi_idmap_to_host:
 * @map: (nullable): the map; %NULL means identity
 * @is_gid: translate through the gid ranges instead of the uid ranges
 * @guest_id: the id inside the guest
 * @out_host_id: (out): the host id
 * Returns: %TRUE, or %FALSE with VI_ERROR_GUEST when @guest_id is unmapped.
 */
gboolean vi_idmap_to_host (const ViIdMap *map, gboolean is_gid, guint32 guest_id,
                           guint32 *out_host_id, GError **error);

/**
 * vi_idmap_to_guest:
 * The reverse of vi_idmap_to_host() (for stat); an unmapped host id gives
 * the overflow id 65534.
 */
guint32 vi_idmap_to_guest (const ViIdMap *map, gboolean is_gid, guint32 host_id);

G_END_DECLS
