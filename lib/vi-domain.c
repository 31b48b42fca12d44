/* vi-domain.c: from a domain XML to the injection target.
 *
 * DESIGN.md "Target and backend choice".  Every refusal says which disk or
 * filesystem was refused and why, because the administrator reading it in
 * `virsh start` output has to fix the domain, not guess.
 */
#include "vi-domain.h"

#include <string.h>

#include "vi-error.h"
#include "vi-xml.h"

static const char *const target_kind_names[] = { "image", "rootfs-dir", "rootfs-image" };
G_STATIC_ASSERT (G_N_ELEMENTS (target_kind_names) == VI_TARGET_LAST);

const char *
vi_target_kind_to_string (ViTargetKind k)
{
    return target_kind_names[k];
}

ViTarget *
vi_target_new (ViTargetKind kind, const char *path)
{
    ViTarget *t = g_new0 (ViTarget, 1);

    t->kind = kind;
    t->path = g_strdup (path);
    t->servers = g_ptr_array_new_with_free_func (g_free);
    return t;
}

void
vi_target_free (ViTarget *t)
{
    if (t == NULL)
        return;
    g_free (t->path);
    g_free (t->format);
    g_free (t->protocol);
    g_ptr_array_unref (t->servers);
    g_free (t->username);
    if (t->secret)
        explicit_bzero (t->secret, strlen (t->secret));
    g_free (t->secret);
    g_free (t->disk_dev);
    g_free (t->domain_uuid);
    g_free (t->root_device);
    g_free (t->lxc_driver);
    vi_idmap_free (t->idmap);
    g_free (t);
}

void
vi_domain_free (ViDomain *d)
{
    if (d == NULL)
        return;
    g_free (d->name);
    g_free (d->uuid);
    if (d->doc)
        xmlFreeDoc (d->doc);
    g_free (d);
}

static gboolean
uuid_is_valid (const char *s)
{
    /* 8-4-4-4-12 hex; libvirt also accepts it without dashes: normalize. */
    return s != NULL && g_uuid_string_is_valid (s);
}

ViDomain *
vi_domain_parse (const char *data, gsize len, const ViLimits *limits, GError **error)
{
    ViLimits defaults;
    g_autoptr(ViDomain) dom = g_new0 (ViDomain, 1);
    g_autofree char *type = NULL;
    xmlNode *root, *n;

    if (limits == NULL) {
        vi_limits_init_default (&defaults);
        limits = &defaults;
    }
    /* A domain XML holds the request plus disks, devices...: allow it twice
     * the request cap. */
    dom->doc = vi_xml_parse (data, len, limits->request_max * 2, "domain XML", error);
    if (dom->doc == NULL)
        return NULL;
    root = xmlDocGetRootElement (dom->doc);
    if (!vi_xml_is (root, NULL, "domain")) {
        vi_throw (error, VI_ERROR_TARGET, "domain XML: root element is <%s>, not <domain>",
                  root->name);
        return NULL;
    }
    type = vi_xml_prop (root, "type");
    if (type && (g_str_equal (type, "qemu") || g_str_equal (type, "kvm")))
        dom->driver = VI_DRIVER_QEMU;
    else if (type && g_str_equal (type, "lxc"))
        dom->driver = VI_DRIVER_LXC;
    else {
        vi_throw (error, VI_ERROR_TARGET,
                  "<domain type='%s'>: only qemu, kvm and lxc domains are supported",
                  type ? type : "");
        return NULL;
    }
    if ((n = vi_xml_child (root, NULL, "name")) != NULL)
        dom->name = vi_xml_content (n);
    if ((n = vi_xml_child (root, NULL, "uuid")) != NULL) {
        g_autofree char *u = vi_xml_content (n);
        g_strstrip (u);
        if (!uuid_is_valid (u)) {
            vi_throw (error, VI_ERROR_TARGET, "<uuid>: '%s' is not a UUID", u);
            return NULL;
        }
        dom->uuid = g_ascii_strdown (u, -1);
    }
    if (dom->name == NULL || *dom->name == '\0') {
        vi_throw (error, VI_ERROR_TARGET, "domain XML: <name> is missing");
        return NULL;
    }
    dom->inject = vi_spec_find_in_domain (root);
    return g_steal_pointer (&dom);
}

static gboolean
disk_usable (xmlNode *disk)
{
    g_autofree char *device = vi_xml_prop (disk, "device");

    if (device != NULL && !g_str_equal (device, "disk"))
        return FALSE;
    return vi_xml_child (disk, NULL, "readonly") == NULL &&
           vi_xml_child (disk, NULL, "shareable") == NULL &&
           vi_xml_child (disk, NULL, "transient") == NULL;
}

static char *
disk_dev (xmlNode *disk)
{
    xmlNode *t = vi_xml_child (disk, NULL, "target");

    return t ? vi_xml_prop (t, "dev") : NULL;
}

static gboolean
network_servers (ViTarget *t, xmlNode *source, const char *dev, GError **error)
{
    for (xmlNode *h = source->children; h; h = h->next) {
        g_autofree char *transport = NULL, *name = NULL, *port = NULL, *socket = NULL;

        if (!vi_xml_is (h, NULL, "host"))
            continue;
        transport = vi_xml_prop (h, "transport");
        name = vi_xml_prop (h, "name");
        port = vi_xml_prop (h, "port");
        socket = vi_xml_prop (h, "socket");
        if (transport && g_str_equal (transport, "unix")) {
            if (socket == NULL || !g_path_is_absolute (socket))
                return vi_throw (error, VI_ERROR_TARGET,
                                 "disk %s: <host transport='unix'> needs an absolute socket", dev);
            g_ptr_array_add (t->servers, g_strdup_printf ("unix:%s", socket));
        } else if (transport == NULL || g_str_equal (transport, "tcp")) {
            if (name == NULL)
                return vi_throw (error, VI_ERROR_TARGET, "disk %s: <host> has no name", dev);
            g_ptr_array_add (t->servers, port ? g_strdup_printf ("tcp:%s:%s", name, port)
                                              : g_strdup_printf ("tcp:%s", name));
        } else {
            return vi_throw (error, VI_ERROR_TARGET, "disk %s: host transport '%s' is not supported",
                             dev, transport);
        }
    }
    return TRUE;
}

static ViTarget *
qemu_target (const ViDomain *dom, const ViSpec *spec, const ViDomainResolver *resolver,
             GError **error)
{
    xmlNode *root = xmlDocGetRootElement (dom->doc);
    xmlNode *devices = vi_xml_child (root, NULL, "devices");
    xmlNode *disk = NULL;
    g_autofree char *type = NULL, *dev = NULL, *fmt = NULL;
    g_autoptr(ViTarget) t = NULL;
    xmlNode *source, *driver;

    for (xmlNode *d = devices ? devices->children : NULL; d; d = d->next) {
        g_autofree char *this_dev = NULL;

        if (!vi_xml_is (d, NULL, "disk"))
            continue;
        this_dev = disk_dev (d);
        if (spec && spec->target_disk) {
            if (this_dev && g_str_equal (this_dev, spec->target_disk)) {
                if (!disk_usable (d)) {
                    vi_throw (error, VI_ERROR_TARGET,
                              "disk %s (<vi:target disk=>) is not a writable, unshared, "
                              "persistent disk", spec->target_disk);
                    return NULL;
                }
                disk = d;
                break;
            }
        } else if (disk_usable (d)) {
            disk = d;
            break;
        }
    }
    if (disk == NULL) {
        if (spec && spec->target_disk)
            vi_throw (error, VI_ERROR_TARGET, "the domain has no disk with target dev='%s'",
                      spec->target_disk);
        else
            vi_throw (error, VI_ERROR_TARGET,
                      "the domain has no writable disk (device='disk', not readonly, shareable "
                      "or transient)");
        return NULL;
    }

    dev = disk_dev (disk);
    if (dev == NULL)
        dev = g_strdup ("(no target)");
    type = vi_xml_prop (disk, "type");
    source = vi_xml_child (disk, NULL, "source");
    driver = vi_xml_child (disk, NULL, "driver");
    fmt = driver ? vi_xml_prop (driver, "type") : NULL;
    if (type == NULL)
        type = g_strdup ("file");

    if (g_str_equal (type, "file") || g_str_equal (type, "block")) {
        gboolean block = g_str_equal (type, "block");
        g_autofree char *path = source ? vi_xml_prop (source, block ? "dev" : "file") : NULL;

        if (path == NULL || !g_path_is_absolute (path)) {
            vi_throw (error, VI_ERROR_TARGET, "disk %s: <source %s=> is missing or not absolute",
                      dev, block ? "dev" : "file");
            return NULL;
        }
        if (fmt == NULL && !block) {
            vi_throw (error, VI_ERROR_TARGET,
                      "disk %s: <driver type=...> is missing; virt-inject never probes the "
                      "format of an image (CVE-2010-3851): set it, e.g. <driver name='qemu' "
                      "type='qcow2'/>", dev);
            return NULL;
        }
        t = vi_target_new (VI_TARGET_IMAGE, path);
        t->format = g_strdup (fmt ? fmt : "raw");
        t->is_block = block;
    } else if (g_str_equal (type, "network")) {
        g_autofree char *protocol = source ? vi_xml_prop (source, "protocol") : NULL;
        g_autofree char *name = source ? vi_xml_prop (source, "name") : NULL;
        xmlNode *auth = source ? vi_xml_child (source, NULL, "auth") : NULL;

        if (auth == NULL)
            auth = vi_xml_child (disk, NULL, "auth");
        if (protocol == NULL) {
            vi_throw (error, VI_ERROR_TARGET, "disk %s: network disk without a protocol", dev);
            return NULL;
        }
        t = vi_target_new (VI_TARGET_IMAGE, name);
        t->protocol = g_strdup (protocol);
        t->format = g_strdup (fmt ? fmt : "raw");
        if (!network_servers (t, source, dev, error))
            return NULL;
        if (auth != NULL) {
            xmlNode *secret = vi_xml_child (auth, NULL, "secret");
            g_autofree char *stype = secret ? vi_xml_prop (secret, "type") : NULL;
            g_autofree char *suuid = secret ? vi_xml_prop (secret, "uuid") : NULL;
            g_autofree char *susage = secret ? vi_xml_prop (secret, "usage") : NULL;

            if (resolver == NULL || resolver->resolve_secret == NULL) {
                vi_throw (error, VI_ERROR_TARGET,
                          "disk %s: the network disk needs a libvirt secret (<auth>), which the "
                          "hook may not fetch (it must never call libvirt); inject with "
                          "`virt-inject inject -c URI -d DOMAIN` instead", dev);
                return NULL;
            }
            t->username = vi_xml_prop (auth, "username");
            if (!resolver->resolve_secret (resolver->opaque, stype, suuid, susage, &t->secret, error))
                return NULL;
        }
    } else if (g_str_equal (type, "volume")) {
        g_autofree char *pool = source ? vi_xml_prop (source, "pool") : NULL;
        g_autofree char *vol = source ? vi_xml_prop (source, "volume") : NULL;
        g_autofree char *path = NULL, *vfmt = NULL;
        gboolean is_block = FALSE;

        if (resolver == NULL || resolver->resolve_volume == NULL) {
            vi_throw (error, VI_ERROR_TARGET,
                      "disk %s: a storage volume (pool '%s', volume '%s') can only be resolved "
                      "by asking libvirt, which the hook must never do; use a file or block "
                      "disk, or `virt-inject inject -c URI -d DOMAIN`", dev,
                      pool ? pool : "", vol ? vol : "");
            return NULL;
        }
        if (pool == NULL || vol == NULL) {
            vi_throw (error, VI_ERROR_TARGET, "disk %s: <source pool= volume=> is incomplete", dev);
            return NULL;
        }
        if (!resolver->resolve_volume (resolver->opaque, pool, vol, &path, &vfmt, &is_block, error))
            return NULL;
        t = vi_target_new (VI_TARGET_IMAGE, path);
        t->format = g_strdup (fmt ? fmt : vfmt);
        t->is_block = is_block;
        if (t->format == NULL) {
            vi_throw (error, VI_ERROR_TARGET, "disk %s: the format of volume %s/%s is unknown",
                      dev, pool, vol);
            return NULL;
        }
    } else {
        vi_throw (error, VI_ERROR_TARGET, "disk %s: disk type '%s' is not supported", dev, type);
        return NULL;
    }

    t->driver = VI_DRIVER_QEMU;
    t->disk_dev = g_steal_pointer (&dev);
    return g_steal_pointer (&t);
}

static gboolean
parse_idmap (xmlNode *root, ViIdMap **out, GError **error)
{
    xmlNode *idmap = vi_xml_child (root, NULL, "idmap");
    g_autoptr(ViIdMap) map = NULL;

    *out = NULL;
    if (idmap == NULL)
        return TRUE;
    map = vi_idmap_new ();
    for (xmlNode *c = idmap->children; c; c = c->next) {
        gboolean is_uid = vi_xml_is (c, NULL, "uid");
        ViIdRange r;
        const char *names[] = { "start", "target", "count" };
        guint32 *fields[] = { &r.start, &r.target, &r.count };

        if (!is_uid && !vi_xml_is (c, NULL, "gid"))
            continue;
        for (int i = 0; i < 3; i++) {
            g_autofree char *v = vi_xml_prop (c, names[i]);
            guint64 n;

            if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT32, &n, NULL))
                return vi_throw (error, VI_ERROR_TARGET, "<idmap><%s>: attribute '%s' is not a number",
                                 c->name, names[i]);
            *fields[i] = (guint32) n;
        }
        /* target + (guest_id - start) must stay below 2^32: a map that
         * wraps would turn a guest id into host uid 0 */
        if ((guint64) r.start + r.count > (guint64) G_MAXUINT32 + 1 ||
            (guint64) r.target + r.count > (guint64) G_MAXUINT32 + 1)
            return vi_throw (error, VI_ERROR_TARGET,
                             "<idmap><%s start='%u' target='%u' count='%u'>: the range passes "
                             "the largest id (2^32 - 1) and would wrap around to 0",
                             c->name, r.start, r.target, r.count);
        g_array_append_val (is_uid ? map->uid : map->gid, r);
    }
    *out = g_steal_pointer (&map);
    return TRUE;
}

static ViTarget *
lxc_target (const ViDomain *dom, GError **error)
{
    xmlNode *root = xmlDocGetRootElement (dom->doc);
    xmlNode *devices = vi_xml_child (root, NULL, "devices");
    xmlNode *fs = NULL;
    g_autofree char *type = NULL;
    g_autoptr(ViTarget) t = NULL;
    xmlNode *source, *driver;

    for (xmlNode *d = devices ? devices->children : NULL; d; d = d->next) {
        xmlNode *target;
        g_autofree char *dir = NULL;

        if (!vi_xml_is (d, NULL, "filesystem"))
            continue;
        target = vi_xml_child (d, NULL, "target");
        dir = target ? vi_xml_prop (target, "dir") : NULL;
        if (dir && g_str_equal (dir, "/")) {
            fs = d;
            break;
        }
    }
    if (fs == NULL) {
        vi_throw (error, VI_ERROR_TARGET,
                  "the LXC domain has no <filesystem> with <target dir='/'/>: libvirt would give "
                  "the container the host's own '/', so virt-inject refuses to inject (it would "
                  "edit the host)");
        return NULL;
    }
    if (vi_xml_child (fs, NULL, "readonly") != NULL) {
        vi_throw (error, VI_ERROR_TARGET, "the LXC root filesystem is read-only");
        return NULL;
    }
    type = vi_xml_prop (fs, "type");
    if (type == NULL)
        type = g_strdup ("mount");
    source = vi_xml_child (fs, NULL, "source");
    driver = vi_xml_child (fs, NULL, "driver");

    if (g_str_equal (type, "mount")) {
        g_autofree char *dir = source ? vi_xml_prop (source, "dir") : NULL;

        if (dir == NULL || !g_path_is_absolute (dir) || g_str_equal (dir, "/")) {
            vi_throw (error, VI_ERROR_TARGET,
                      "LXC root filesystem: <source dir=> is missing, relative or the host's '/'");
            return NULL;
        }
        t = vi_target_new (VI_TARGET_ROOTFS_DIR, dir);
    } else if (g_str_equal (type, "file")) {
        g_autofree char *file = source ? vi_xml_prop (source, "file") : NULL;
        g_autofree char *dtype = driver ? vi_xml_prop (driver, "type") : NULL;
        g_autofree char *dfmt = driver ? vi_xml_prop (driver, "format") : NULL;

        if (file == NULL || !g_path_is_absolute (file)) {
            vi_throw (error, VI_ERROR_TARGET, "LXC root filesystem: <source file=> is missing or relative");
            return NULL;
        }
        if (dtype == NULL || (!g_str_equal (dtype, "loop") && !g_str_equal (dtype, "nbd"))) {
            vi_throw (error, VI_ERROR_TARGET,
                      "LXC root filesystem image %s: <driver type='loop'|'nbd'> is required", file);
            return NULL;
        }
        if (dfmt == NULL) {
            if (g_str_equal (dtype, "loop"))
                dfmt = g_strdup ("raw");
            else {
                vi_throw (error, VI_ERROR_TARGET,
                          "LXC root filesystem image %s: <driver type='nbd'> needs format=; "
                          "virt-inject never probes an image format (CVE-2010-3851)", file);
                return NULL;
            }
        }
        if (g_str_equal (dtype, "loop") && !g_str_equal (dfmt, "raw")) {
            vi_throw (error, VI_ERROR_TARGET,
                      "LXC root filesystem image %s: the loop driver takes raw images only", file);
            return NULL;
        }
        t = vi_target_new (VI_TARGET_ROOTFS_IMAGE, file);
        t->lxc_driver = g_steal_pointer (&dtype);
        t->format = g_steal_pointer (&dfmt);
    } else if (g_str_equal (type, "block")) {
        g_autofree char *dev = source ? vi_xml_prop (source, "dev") : NULL;

        if (dev == NULL || !g_path_is_absolute (dev)) {
            vi_throw (error, VI_ERROR_TARGET, "LXC root filesystem: <source dev=> is missing or relative");
            return NULL;
        }
        t = vi_target_new (VI_TARGET_ROOTFS_IMAGE, dev);
        t->format = g_strdup ("raw");
        t->is_block = TRUE;
    } else {
        vi_throw (error, VI_ERROR_TARGET, "LXC root filesystem of type '%s' is not supported", type);
        return NULL;
    }
    t->driver = VI_DRIVER_LXC;
    if (!parse_idmap (root, &t->idmap, error))
        return NULL;
    return g_steal_pointer (&t);
}

ViTarget *
vi_domain_choose_target (const ViDomain *dom, const ViSpec *spec,
                         const ViDomainResolver *resolver, GError **error)
{
    ViTarget *t;

    if (dom->driver == VI_DRIVER_LXC) {
        if (spec && spec->target_disk) {
            vi_throw (error, VI_ERROR_TARGET,
                      "<vi:target disk=> does not apply to an LXC domain (its root is a filesystem)");
            return NULL;
        }
        t = lxc_target (dom, error);
    } else {
        t = qemu_target (dom, spec, resolver, error);
    }
    if (t != NULL && spec && spec->target_root)
        t->root_device = g_strdup (spec->target_root);
    if (t != NULL)
        t->domain_uuid = g_strdup (dom->uuid);
    return t;
}

char *
vi_target_describe (const ViTarget *t)
{
    switch (t->kind) {
    case VI_TARGET_ROOTFS_DIR:
        return g_strdup_printf ("root directory %s%s", t->path, t->idmap ? " (id-mapped)" : "");
    case VI_TARGET_ROOTFS_IMAGE:
        return g_strdup_printf ("LXC root image %s (%s, %s)", t->path, t->format,
                                t->is_block ? "block" : t->lxc_driver);
    case VI_TARGET_IMAGE:
        if (t->protocol)
            return g_strdup_printf ("%s disk %s%s%s (%s)", t->protocol, t->path ? t->path : "",
                                    t->disk_dev ? ": " : "", t->disk_dev ? t->disk_dev : "",
                                    t->format);
        return g_strdup_printf ("%s %s %s%s%s", t->format, t->is_block ? "block device" : "image",
                                t->path, t->disk_dev ? ": " : "", t->disk_dev ? t->disk_dev : "");
    case VI_TARGET_LAST:
    default:
        g_assert_not_reached ();
    }
}
