/* vi-libvirt-module.c: what virt-inject asks libvirt (see vi-libvirt-module.h).
 *
 * libvirt errors become GErrors; the default error function is silenced so
 * libvirt never prints on its own.
 */
#include "vi-libvirt-module.h"

#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <gmodule.h>

#include "vi-error.h"
#include "vi-spec.h"
#include "vi-xml.h"

const ViLibvirtOps *vi_libvirt_module_get_ops (void);

static void
silent (void *opaque, virErrorPtr err)
{
}

static gboolean
throw_virt (GError **error, const char *what)
{
    virErrorPtr e = virGetLastError ();
    ViErrorCode code = VI_ERROR_FAILED;

    if (e && (e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_NO_STORAGE_POOL ||
              e->code == VIR_ERR_NO_STORAGE_VOL || e->code == VIR_ERR_NO_SECRET))
        code = VI_ERROR_TARGET;
    return vi_throw (error, code, "%s: %s", what, e && e->message ? e->message : "libvirt error");
}

static gpointer
lv_open (const char *uri, GError **error)
{
    virConnectPtr conn;

    virSetErrorFunc (NULL, silent);
    conn = virConnectOpen (uri);
    if (conn == NULL)
        throw_virt (error, uri ? uri : "connecting to libvirt");
    return conn;
}

static void
lv_close (gpointer conn)
{
    if (conn)
        virConnectClose (conn);
}

static virDomainPtr
lookup (virConnectPtr conn, const char *name, GError **error)
{
    virDomainPtr dom = virDomainLookupByName (conn, name);

    if (dom == NULL && g_uuid_string_is_valid (name))
        dom = virDomainLookupByUUIDString (conn, name);
    if (dom == NULL)
        throw_virt (error, name);
    return dom;
}

static char *
lv_get_xml (gpointer conn, const char *domain, gboolean *out_active, GError **error)
{
    virDomainPtr dom = lookup (conn, domain, error);
    char *xml, *ret;

    if (dom == NULL)
        return NULL;
    *out_active = virDomainIsActive (dom) == 1;
    xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
    if (xml == NULL) {
        throw_virt (error, domain);     /* before virDomainFree() resets the error */
        virDomainFree (dom);
        return NULL;
    }
    virDomainFree (dom);
    ret = g_strdup (xml);
    free (xml);
    return ret;
}

static unsigned int
affect (guint flags)
{
    return (flags & VI_LV_LIVE ? VIR_DOMAIN_AFFECT_LIVE : 0) |
           (flags & VI_LV_CONFIG ? VIR_DOMAIN_AFFECT_CONFIG : 0);
}

/* Put unqualified elements into @ns (the mirror of strip_ns below). */
static void
set_ns (xmlNode *node, xmlNs *ns)
{
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        if (node->ns == NULL)
            node->ns = ns;
        set_ns (node->children, ns);
    }
}

/*
 * virDomainGetMetadata() returns the element with our namespace taken off
 * (every element unqualified, the declaration dropped).  Give it back, so the
 * request parser, which matches the namespace URI, sees what is stored.
 */
static char *
qualified (const char *xml, GError **error)
{
    g_autoptr(xmlDoc) doc = vi_xml_parse (xml, strlen (xml), 16 * 1024 * 1024, "metadata", error);
    xmlNode *root = doc ? xmlDocGetRootElement (doc) : NULL;
    xmlBuffer *buf;
    char *ret;

    if (root == NULL)
        return NULL;
    set_ns (root, xmlNewNs (root, BAD_CAST VI_SPEC_NS, BAD_CAST VI_SPEC_PREFIX));
    buf = xmlBufferCreate ();
    xmlNodeDump (buf, doc, root, 0, 0);
    ret = g_strdup ((const char *) xmlBufferContent (buf));
    xmlBufferFree (buf);
    return ret;
}

static char *
lv_get_metadata (gpointer conn, const char *domain, guint flags, GError **error)
{
    virDomainPtr dom = lookup (conn, domain, error);
    char *xml, *ret;

    if (dom == NULL)
        return NULL;
    xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, VI_SPEC_NS, affect (flags));
    if (xml == NULL) {
        virErrorPtr e = virGetLastError ();
        if (!(e && e->code == VIR_ERR_NO_DOMAIN_METADATA))
            throw_virt (error, domain);
        virDomainFree (dom);
        return NULL;
    }
    virDomainFree (dom);
    ret = qualified (xml, error);
    free (xml);
    return ret;
}

/* Take every element of our namespace out of it (libvirt puts them back). */
static void
strip_ns (xmlNode *node)
{
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        if (node->ns && xmlStrEqual (node->ns->href, BAD_CAST VI_SPEC_NS))
            node->ns = NULL;
        strip_ns (node->children);
    }
}

/*
 * virDomainSetMetadata() declares our namespace itself, with VI_SPEC_PREFIX,
 * and moves the element and its unqualified descendants into it; it refuses
 * an element that already declares that prefix, and a default-namespace
 * declaration does not survive its getter.  So the element is handed over
 * with no namespace at all: what libvirt stores (and returns) is then
 * <vi:inject xmlns:vi="VI_SPEC_NS"> with every descendant prefixed.
 */
static char *
unqualified (const char *xml, GError **error)
{
    g_autoptr(xmlDoc) doc = vi_xml_parse (xml, strlen (xml), 16 * 1024 * 1024, "request", error);
    xmlNode *root = doc ? xmlDocGetRootElement (doc) : NULL;
    xmlBuffer *buf;
    char *ret;

    if (root == NULL)
        return NULL;
    strip_ns (root);
    for (xmlNs **link = &root->nsDef; *link; link = &(*link)->next) {
        if (xmlStrEqual ((*link)->href, BAD_CAST VI_SPEC_NS)) {
            xmlNs *ns = *link;

            *link = ns->next;
            ns->next = NULL;
            xmlFreeNs (ns);
            break;
        }
    }
    buf = xmlBufferCreate ();
    xmlNodeDump (buf, doc, root, 0, 0);
    ret = g_strdup ((const char *) xmlBufferContent (buf));
    xmlBufferFree (buf);
    return ret;
}

static gboolean
lv_set_metadata (gpointer conn, const char *domain, const char *xml, guint flags, GError **error)
{
    g_autofree char *element = NULL;
    virDomainPtr dom;
    int rc;

    if (xml != NULL && (element = unqualified (xml, error)) == NULL)
        return FALSE;
    dom = lookup (conn, domain, error);
    if (dom == NULL)
        return FALSE;
    rc = virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, element, xml ? VI_SPEC_PREFIX : NULL,
                               VI_SPEC_NS, affect (flags));
    /* virDomainFree() resets the last error: report it first. */
    if (rc < 0)
        throw_virt (error, domain);
    virDomainFree (dom);
    return rc == 0;
}

static gboolean
lv_resolve_volume (gpointer conn, const char *pool_name, const char *vol_name, char **out_path,
                   char **out_format, gboolean *out_is_block, GError **error)
{
    virStoragePoolPtr pool = virStoragePoolLookupByName (conn, pool_name);
    virStorageVolPtr vol = NULL;
    virStorageVolInfo info;
    char *path = NULL, *xml = NULL;
    gboolean ok = FALSE;

    if (pool == NULL)
        return throw_virt (error, pool_name);
    vol = virStorageVolLookupByName (pool, vol_name);
    if (vol == NULL || (path = virStorageVolGetPath (vol)) == NULL ||
        virStorageVolGetInfo (vol, &info) < 0 || (xml = virStorageVolGetXMLDesc (vol, 0)) == NULL) {
        throw_virt (error, vol_name);
    } else {
        g_autoptr(xmlDoc) doc = vi_xml_parse (xml, strlen (xml), 1024 * 1024, "volume XML", error);
        xmlNode *target = doc ? vi_xml_child (xmlDocGetRootElement (doc), NULL, "target") : NULL;
        xmlNode *format = target ? vi_xml_child (target, NULL, "format") : NULL;

        if (doc != NULL) {
            *out_path = g_strdup (path);
            *out_format = format ? vi_xml_prop (format, "type") : NULL;
            *out_is_block = info.type == VIR_STORAGE_VOL_BLOCK;
            if (*out_format == NULL || g_str_equal (*out_format, "iso") ||
                g_str_equal (*out_format, "none"))
                g_free (*out_format), *out_format = g_strdup ("raw");
            ok = TRUE;
        }
    }
    free (path);
    free (xml);
    if (vol)
        virStorageVolFree (vol);
    virStoragePoolFree (pool);
    return ok;
}

static gboolean
lv_resolve_secret (gpointer conn, const char *type, const char *uuid, const char *usage,
                   char **out_value, GError **error)
{
    virSecretPtr secret = NULL;
    unsigned char *value;
    size_t len = 0;

    if (uuid)
        secret = virSecretLookupByUUIDString (conn, uuid);
    else if (usage && type)
        secret = virSecretLookupByUsage (conn, g_str_equal (type, "ceph") ? VIR_SECRET_USAGE_TYPE_CEPH
                                               : g_str_equal (type, "iscsi") ? VIR_SECRET_USAGE_TYPE_ISCSI
                                               : VIR_SECRET_USAGE_TYPE_NONE, usage);
    if (secret == NULL)
        return throw_virt (error, uuid ? uuid : usage ? usage : "secret");
    value = virSecretGetValue (secret, &len, 0);
    if (value == NULL) {
        virErrorPtr e = virGetLastError ();

        /* before virSecretFree() resets the error */
        if (e && e->code == VIR_ERR_INVALID_SECRET)
            vi_throw (error, VI_ERROR_TARGET,
                      "secret %s: %s; libvirt gives the value of a private secret to no "
                      "client, so virt-inject can use only a secret defined with "
                      "private='no'", uuid ? uuid : usage, e->message);
        else
            throw_virt (error, "reading the secret");
        virSecretFree (secret);
        return FALSE;
    }
    virSecretFree (secret);
    /* Ceph keys are binary; everything else is text. */
    *out_value = type && g_str_equal (type, "ceph") ? g_base64_encode (value, len)
                                                    : g_strndup ((const char *) value, len);
    explicit_bzero (value, len);
    free (value);
    return TRUE;
}

static const ViLibvirtOps ops = {
    .abi = VI_LIBVIRT_MODULE_ABI,
    .open = lv_open,
    .close = lv_close,
    .get_xml = lv_get_xml,
    .get_metadata = lv_get_metadata,
    .set_metadata = lv_set_metadata,
    .resolve_volume = lv_resolve_volume,
    .resolve_secret = lv_resolve_secret,
};

G_MODULE_EXPORT const ViLibvirtOps *
vi_libvirt_module_get_ops (void)
{
    return &ops;
}
