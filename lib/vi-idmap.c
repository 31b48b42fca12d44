/* vi-idmap.c: translate guest ids through an LXC <idmap>.
 *
 * A leaf module: the root-directory VFS translates every id it writes or
 * stats, and it must not depend on the domain or request parsers for it.
 */
#include "vi-idmap.h"

#include "vi-error.h"

ViIdMap *
vi_idmap_new (void)
{
    ViIdMap *m = g_new0 (ViIdMap, 1);

    m->uid = g_array_new (FALSE, FALSE, sizeof (ViIdRange));
    m->gid = g_array_new (FALSE, FALSE, sizeof (ViIdRange));
    return m;
}

void
vi_idmap_free (ViIdMap *map)
{
    if (map == NULL)
        return;
    g_array_unref (map->uid);
    g_array_unref (map->gid);
    g_free (map);
}

gboolean
vi_idmap_to_host (const ViIdMap *map, gboolean is_gid, guint32 guest_id, guint32 *out_host_id,
                  GError **error)
{
    GArray *ranges;

    if (map == NULL) {
        *out_host_id = guest_id;
        return TRUE;
    }
    ranges = is_gid ? map->gid : map->uid;
    for (guint i = 0; i < ranges->len; i++) {
        const ViIdRange *r = &g_array_index (ranges, ViIdRange, i);
        if (guest_id >= r->start && (guint64) guest_id < (guint64) r->start + r->count) {
            *out_host_id = r->target + (guest_id - r->start);
            return TRUE;
        }
    }
    return vi_throw (error, VI_ERROR_GUEST, "guest %s %u is not mapped by the domain's <idmap>",
                     is_gid ? "gid" : "uid", guest_id);
}

guint32
vi_idmap_to_guest (const ViIdMap *map, gboolean is_gid, guint32 host_id)
{
    GArray *ranges;

    if (map == NULL)
        return host_id;
    ranges = is_gid ? map->gid : map->uid;
    for (guint i = 0; i < ranges->len; i++) {
        const ViIdRange *r = &g_array_index (ranges, ViIdRange, i);
        if (host_id >= r->target && (guint64) host_id < (guint64) r->target + r->count)
            return r->start + (host_id - r->target);
    }
    return 65534;
}
