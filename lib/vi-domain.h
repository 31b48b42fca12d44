/* vi-domain.h: from a domain XML to the injection target.
 *
 * Implements DESIGN.md "Target and backend choice", shared by the hook and
 * `inject --domain-xml` / `inject -d`.  It never guesses: a file disk without
 * <driver type=...> is refused (format probing is CVE-2010-3851), volume disks
 * and network disks that need a libvirt secret are refused unless a resolver
 * (which may ask libvirt; never the hook) is given, and an LXC domain without
 * a filesystem for "/" is refused because libvirt would give it the host's "/".
 */
#pragma once

#include <glib.h>
#include <libxml/tree.h>
#include "vi-idmap.h"
#include "vi-spec.h"

G_BEGIN_DECLS

typedef enum {
    VI_DRIVER_QEMU,             /* <domain type='qemu'|'kvm'> */
    VI_DRIVER_LXC,              /* <domain type='lxc'> */
    VI_DRIVER_LAST
} ViDriver;

typedef enum {
    VI_TARGET_IMAGE,            /* disk image for the libguestfs appliance (QEMU) */
    VI_TARGET_ROOTFS_DIR,       /* a root directory, rootfs backend (LXC mount, --rootfs) */
    VI_TARGET_ROOTFS_IMAGE,     /* an LXC image root: vi-mount, then rootfs backend */
    VI_TARGET_LAST
} ViTargetKind;

const char *vi_target_kind_to_string (ViTargetKind k);

typedef struct {
    ViTargetKind kind;
    ViDriver driver;

    /* VI_TARGET_IMAGE / VI_TARGET_ROOTFS_IMAGE: a file or block device, or a
     * network disk when protocol != NULL.  VI_TARGET_ROOTFS_DIR: the directory. */
    char *path;
    char *format;               /* "raw", "qcow2"...; never NULL for images */
    gboolean is_block;          /* <disk type='block'> / <filesystem type='block'> */
    gboolean readonly;          /* never set for a chosen target; kept for messages */

    /* network disks (libguestfs add_drive protocol/server/export) */
    char *protocol;             /* "nbd", "rbd", "iscsi", "gluster", "http"..., or NULL */
    GPtrArray *servers;         /* (element-type utf8): "tcp:HOST:PORT" or "unix:/path" */
    char *username;             /* <auth username=> when resolved, else NULL */
    char *secret;               /* resolved secret value (resolver only), else NULL */

    char *disk_dev;             /* <target dev=>, e.g. "vda" (QEMU) */
    char *root_device;          /* <vi:target root=>: the guest root filesystem, or NULL */

    /* LXC image roots */
    char *lxc_driver;           /* "loop" or "nbd" */

    ViIdMap *idmap;             /* LXC <idmap>, or NULL */

    char *domain_uuid;          /* the domain's UUID (<identity reset=>), or NULL for a
                                 * target named on the command line */
} ViTarget;

ViTarget *vi_target_new (ViTargetKind kind, const char *path);
void vi_target_free (ViTarget *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViTarget, vi_target_free)

/* What the caller (not the hook) may resolve through libvirt. */
typedef struct {
    /* <disk type='volume'><source pool= volume=>: set path, format, is_block. */
    gboolean (*resolve_volume) (gpointer opaque, const char *pool, const char *volume,
                                char **out_path, char **out_format, gboolean *out_is_block,
                                GError **error);
    /* <auth><secret type= uuid=|usage=>: set the secret's value. */
    gboolean (*resolve_secret) (gpointer opaque, const char *type, const char *uuid,
                                const char *usage, char **out_value, GError **error);
    gpointer opaque;
} ViDomainResolver;

typedef struct {
    char *name;
    char *uuid;                 /* lower-case canonical UUID */
    ViDriver driver;
    xmlDoc *doc;                /* the parsed domain XML */
    xmlNode *inject;            /* (transfer none) (nullable): our <inject> element */
} ViDomain;

void vi_domain_free (ViDomain *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViDomain, vi_domain_free)

/**
 * vi_domain_parse:
 * @data, @len: a whole domain XML (as libvirt gives the hook, or dumpxml)
 * @limits: (nullable): caps; request_max also caps the domain XML size
 *
 * Parses with vi_xml_parse(), checks the root is <domain>, reads name, uuid
 * and type (qemu/kvm/lxc; anything else VI_ERROR_TARGET), and locates our
 * <inject> element in <metadata> (not converted: see vi_spec_from_node()).
 */
ViDomain *vi_domain_parse (const char *data, gsize len, const ViLimits *limits, GError **error);

/**
 * vi_domain_choose_target:
 * @dom: the domain
 * @spec: (nullable): the request (its <target disk= root=> are honoured)
 * @resolver: (nullable): volume/secret resolution; %NULL in the hook
 *
 * Returns: (transfer full): the target, or %NULL with VI_ERROR_TARGET saying
 * which disk/filesystem was refused and why.
 */
ViTarget *vi_domain_choose_target (const ViDomain *dom, const ViSpec *spec,
                                   const ViDomainResolver *resolver, GError **error);

/** vi_target_describe: one line for logs and --dry-run ("qcow2 image /var/lib/...: vda"). */
char *vi_target_describe (const ViTarget *t);

G_END_DECLS
