/* vi-spec.c: parse, validate and format the injection request.
 *
 * The request comes from users (spec files) and from domain XML that any
 * libvirt client with write access may have edited, so it is hostile input.
 * Order of checks: the hardened parser (vi-xml.c: no DTD, no entities, size
 * cap); a structural walk that refuses any unknown element or attribute and
 * names it; the RelaxNG schema (xml/virt-inject.rng, compiled into the
 * library); then the semantic rules of DESIGN.md, in vi_spec_validate().
 * Nothing of the request is used before all of it has passed.
 */
#include "vi-spec.h"

#include <string.h>
#include <libxml/relaxng.h>
#include <libxml/xmlsave.h>

#include "vi-check.h"
#include "vi-error.h"
#include "vi-xml.h"
#include "vi-users.h"

/* ------------------------------------------------------------------ */
/* The structural walk                                                 */

typedef struct {
    const char *element;
    const char *const *attributes;      /* NULL-terminated */
    const char *const *children;        /* NULL-terminated; NULL: text only */
} ElementRule;

static const char *const inject_attrs[] = { "policy", "on-error", "keep-dropped", NULL };
static const char *const inject_children[] = {
    "target", "user", "identity", "firstboot", "hostname", "directory", "file", "network", "meta",
    "selinux", NULL
};
static const char *const target_attrs[] = { "disk", "root", NULL };
static const char *const user_attrs[] = {
    "name", "create", "uid", "group", "groups", "shell", "home", NULL
};
static const char *const user_children[] = { "ssh-key", "password", "sudo", NULL };
static const char *const sudo_attrs[] = { "nopasswd", NULL };
static const char *const sshkey_attrs[] = { "allow-options", NULL };
static const char *const password_attrs[] = { "hash", "secret", "locked", NULL };
static const char *const dir_attrs[] = { "path", "mode", "owner", "group", NULL };
static const char *const file_attrs[] = { "path", "mode", "owner", "group", "encoding", NULL };
static const char *const network_attrs[] = { "renderer", NULL };
static const char *const network_children[] = { "interface", NULL };
static const char *const iface_attrs[] = { "name", "mac", NULL };
static const char *const iface_children[] = {
    "dhcp", "address", "gateway", "nameserver", "search", "route", "mtu", NULL
};
static const char *const route_attrs[] = { "to", "via", "metric", NULL };
static const char *const meta_attrs[] = { "key", NULL };
static const char *const selinux_attrs[] = { "relabel", NULL };
static const char *const identity_attrs[] = { "reset", NULL };
static const char *const firstboot_attrs[] = { "encoding", NULL };
static const char *const none[] = { NULL };

static const ElementRule element_rules[] = {
    { "inject", inject_attrs, inject_children },
    { "target", target_attrs, none },
    { "user", user_attrs, user_children },
    { "ssh-key", sshkey_attrs, NULL },
    { "password", password_attrs, none },
    { "sudo", sudo_attrs, none },
    { "identity", identity_attrs, none },
    { "firstboot", firstboot_attrs, NULL },
    { "hostname", none, NULL },
    { "directory", dir_attrs, none },
    { "file", file_attrs, NULL },
    { "network", network_attrs, network_children },
    { "interface", iface_attrs, iface_children },
    { "dhcp", none, none },
    { "address", none, NULL },
    { "gateway", none, NULL },
    { "nameserver", none, NULL },
    { "search", none, NULL },
    { "route", route_attrs, none },
    { "mtu", none, NULL },
    { "meta", meta_attrs, NULL },
    { "selinux", selinux_attrs, none },
};

static const ElementRule *
find_rule (const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS (element_rules); i++)
        if (g_str_equal (element_rules[i].element, name))
            return &element_rules[i];
    return NULL;
}

static gboolean
strv_has (const char *const *v, const char *s)
{
    for (; v && *v; v++)
        if (g_str_equal (*v, s))
            return TRUE;
    return FALSE;
}

static gboolean
walk_structure (xmlNode *node, guint *items, const ViLimits *limits, GError **error)
{
    const ElementRule *rule = find_rule ((const char *) node->name);

    if (++*items > limits->items_max)
        return vi_throw (error, VI_ERROR_INVALID,
                         "request has more than %u elements ([limits] items_max)", limits->items_max);
    if (rule == NULL)
        return vi_throw (error, VI_ERROR_INVALID, "<%s>: unknown element", node->name);

    for (xmlAttr *a = node->properties; a != NULL; a = a->next) {
        if (a->ns != NULL && !xmlStrEqual (a->ns->href, (const xmlChar *) VI_SPEC_NS))
            return vi_throw (error, VI_ERROR_INVALID, "<%s>: attribute '%s' of a foreign namespace",
                             node->name, a->name);
        if (!strv_has (rule->attributes, (const char *) a->name)) {
            if (g_str_equal (node->name, "password"))
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<password>: attribute '%s' not allowed: clear-text passwords are "
                                 "not allowed in the request; use hash=, secret= or locked=",
                                 a->name);
            return vi_throw (error, VI_ERROR_INVALID, "<%s>: unknown attribute '%s'",
                             node->name, a->name);
        }
    }

    for (xmlNode *c = node->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            if (c->ns == NULL || !xmlStrEqual (c->ns->href, (const xmlChar *) VI_SPEC_NS))
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<%s>: child <%s> is not in the virt-inject namespace %s",
                                 node->name, c->name, VI_SPEC_NS);
            if (rule->children == NULL || !strv_has (rule->children, (const char *) c->name))
                return vi_throw (error, VI_ERROR_INVALID, "<%s>: unknown child element <%s>",
                                 node->name, c->name);
            if (!walk_structure (c, items, limits, error))
                return FALSE;
        } else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (rule->children != NULL) {
                g_autofree char *t = vi_xml_content (c);
                if (*g_strstrip (t) != '\0') {
                    if (g_str_equal (node->name, "password"))
                        return vi_throw (error, VI_ERROR_INVALID,
                                         "<password>: text content not allowed: clear-text passwords "
                                         "are not allowed in the request; use hash=, secret= or locked=");
                    return vi_throw (error, VI_ERROR_INVALID, "<%s>: text content not allowed",
                                     node->name);
                }
            }
        } else if (c->type == XML_ENTITY_REF_NODE || c->type == XML_ENTITY_NODE) {
            return vi_throw (error, VI_ERROR_INVALID, "<%s>: entity references are not allowed",
                             node->name);
        }
    }
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* The schema, compiled into the library                               */

extern const char vi_schema_rng[];
extern const gsize vi_schema_rng_len;

static xmlRelaxNGPtr
schema_get (void)
{
    static xmlRelaxNGPtr schema = NULL;

    if (g_once_init_enter (&schema)) {
        xmlRelaxNGParserCtxtPtr pctxt = xmlRelaxNGNewMemParserCtxt (vi_schema_rng,
                                                                    (int) vi_schema_rng_len);
        xmlRelaxNGPtr s = xmlRelaxNGParse (pctxt);

        xmlRelaxNGFreeParserCtxt (pctxt);
        g_assert (s != NULL);   /* the schema is part of the program */
        g_once_init_leave (&schema, s);
    }
    return schema;
}

static void
on_schema_error (void *user_data, xmlErrorPtr err)
{
    GString *msg = user_data;

    if (msg->len == 0 && err != NULL && err->message != NULL) {
        g_string_append_printf (msg, "line %d: %s", err->line, err->message);
        g_strchomp (msg->str);
        msg->len = strlen (msg->str);
    }
}

static gboolean
validate_schema (xmlNode *inject, GError **error)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
    xmlNode *copy = xmlDocCopyNode (inject, doc, 1);
    xmlRelaxNGValidCtxtPtr vctxt;
    g_autoptr(GString) msg = g_string_new (NULL);
    int rc;

    xmlDocSetRootElement (doc, copy);
    xmlReconciliateNs (doc, copy);
    vctxt = xmlRelaxNGNewValidCtxt (schema_get ());
    xmlRelaxNGSetValidStructuredErrors (vctxt, on_schema_error, msg);
    rc = xmlRelaxNGValidateDoc (vctxt, doc);
    xmlRelaxNGFreeValidCtxt (vctxt);
    if (rc != 0)
        return vi_throw (error, VI_ERROR_INVALID, "request does not match the schema: %s",
                         msg->len ? msg->str : "invalid");
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* Conversion to the model                                             */

static gboolean
prop_check (xmlNode *node, const char *attr, char **out, gboolean required, GError **error)
{
    g_autofree char *v = vi_xml_prop (node, attr);

    if (v == NULL) {
        if (required)
            return vi_throw (error, VI_ERROR_INVALID, "<%s>: attribute '%s' is required",
                             node->name, attr);
        *out = NULL;
        return TRUE;
    }
    *out = g_steal_pointer (&v);
    return TRUE;
}

/* Prefix an error from a vi_check_* helper with "<element attr='...'>". */
static gboolean
fail_attr (GError **error, GError *cause, const char *element, const char *attr)
{
    g_set_error (error, VI_ERROR, VI_ERROR_INVALID, "<%s>: attribute '%s': %s", element, attr,
                 cause->message);
    g_error_free (cause);
    return FALSE;
}

static gboolean
fail_elem (GError **error, GError *cause, const char *element)
{
    g_set_error (error, VI_ERROR, VI_ERROR_INVALID, "<%s>: %s", element, cause->message);
    g_error_free (cause);
    return FALSE;
}

static gboolean
parse_owner_attrs (xmlNode *node, guint *mode, char **owner, char **group, GError **error)
{
    g_autofree char *m = vi_xml_prop (node, "mode");
    GError *e = NULL;

    if (m != NULL && !vi_parse_mode (m, mode, &e))
        return fail_attr (error, e, (const char *) node->name, "mode");
    *owner = vi_xml_prop (node, "owner");
    *group = vi_xml_prop (node, "group");
    if (*owner && !vi_check_account_name (*owner, &e))
        return fail_attr (error, e, (const char *) node->name, "owner");
    if (*group && !vi_check_account_name (*group, &e))
        return fail_attr (error, e, (const char *) node->name, "group");
    return TRUE;
}

/* The account attributes of <user>: create, uid, group, groups, shell,
 * home (checked by vi_spec_validate). */
static gboolean
parse_user_account (ViUser *u, xmlNode *node, GError **error)
{
    g_autofree char *create = vi_xml_prop (node, "create");
    g_autofree char *uid = vi_xml_prop (node, "uid");
    g_autofree char *groups = vi_xml_prop (node, "groups");

    u->create = create && g_str_equal (create, "yes");
    if (uid) {
        guint64 v;

        if (!g_ascii_string_to_unsigned (uid, 10, 0, G_MAXUINT32 - 1, &v, NULL))
            return vi_throw (error, VI_ERROR_INVALID,
                             "<user name='%s'>: attribute 'uid': '%s' is not a decimal user id",
                             u->name, uid);
        u->has_uid = TRUE;
        u->uid = (guint32) v;
    }
    if (groups) {
        g_auto(GStrv) names = g_strsplit (groups, ",", -1);

        for (guint i = 0; names[i]; i++)
            g_ptr_array_add (u->groups, g_strdup (names[i]));
    }
    u->group = vi_xml_prop (node, "group");
    u->shell = vi_xml_prop (node, "shell");
    u->home = vi_xml_prop (node, "home");
    return TRUE;
}

static gboolean
parse_user (ViSpec *spec, xmlNode *node, GError **error)
{
    g_autofree char *name = NULL;
    ViUser *u;

    if (!prop_check (node, "name", &name, TRUE, error))
        return FALSE;
    if (vi_spec_find_user (spec, name))
        return vi_throw (error, VI_ERROR_INVALID, "<user name='%s'>: user given twice", name);
    u = vi_user_new (name);
    g_ptr_array_add (spec->users, u);
    if (!parse_user_account (u, node, error))
        return FALSE;

    for (xmlNode *c = node->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (vi_xml_is (c, VI_SPEC_NS, "ssh-key")) {
            g_autofree char *allow = vi_xml_prop (c, "allow-options");
            g_autofree char *key = vi_xml_content (c);
            GError *e = NULL;

            /* Surrounding whitespace is layout; a newline inside the key is not. */
            g_strstrip (key);
            if (!vi_check_ssh_key (key, allow && g_str_equal (allow, "yes"), &e))
                return fail_elem (error, e, "ssh-key");
            g_ptr_array_add (u->ssh_keys, g_steal_pointer (&key));
        } else if (vi_xml_is (c, VI_SPEC_NS, "password")) {
            g_autofree char *hash = vi_xml_prop (c, "hash");
            g_autofree char *secret = vi_xml_prop (c, "secret");
            g_autofree char *locked = vi_xml_prop (c, "locked");
            GError *e = NULL;

            if (u->password_kind != VI_PASSWORD_NONE)
                return vi_throw (error, VI_ERROR_INVALID, "<user name='%s'>: <password> given twice",
                                 name);
            if ((hash != NULL) + (secret != NULL) + (locked != NULL) != 1)
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<password>: exactly one of 'hash', 'secret' or 'locked' is required");
            if (hash) {
                if (!vi_check_password_hash (hash, &e))
                    return fail_attr (error, e, "password", "hash");
                u->password_kind = VI_PASSWORD_HASH;
                u->password = g_steal_pointer (&hash);
            } else if (secret) {
                if (!vi_check_secret_name (secret, &e))
                    return fail_attr (error, e, "password", "secret");
                u->password_kind = VI_PASSWORD_SECRET;
                u->password = g_steal_pointer (&secret);
            } else {
                if (!g_str_equal (locked, "yes"))
                    return vi_throw (error, VI_ERROR_INVALID,
                                     "<password>: attribute 'locked': only \"yes\" is allowed");
                u->password_kind = VI_PASSWORD_LOCKED;
            }
        } else if (vi_xml_is (c, VI_SPEC_NS, "sudo")) {
            g_autofree char *nopasswd = vi_xml_prop (c, "nopasswd");

            if (u->sudo != VI_SUDO_NONE)
                return vi_throw (error, VI_ERROR_INVALID, "<user name='%s'>: <sudo> given twice",
                                 name);
            u->sudo = nopasswd && g_str_equal (nopasswd, "yes") ? VI_SUDO_NOPASSWD : VI_SUDO_YES;
        }
    }
    return TRUE;
}

/* The content of @node (a <file> or <firstboot>), its text or with
 * encoding="base64" the decoded bytes (whitespace ignored), at most
 * [limits] file_max bytes; @what names the element in errors. */
static gboolean
parse_content (xmlNode *node, const char *what, const ViLimits *limits, GBytes **out,
               gboolean *out_base64, GError **error)
{
    g_autofree char *encoding = vi_xml_prop (node, "encoding");
    g_autofree char *text = vi_xml_content (node);
    g_autoptr(GBytes) b = NULL;

    *out_base64 = encoding && g_str_equal (encoding, "base64");
    if (*out_base64) {
        g_autofree char *clean = g_strdup (text);
        gsize j = 0, len = 0;
        guchar *data;

        for (gsize i = 0; clean[i]; i++) {
            char ch = clean[i];
            if (g_ascii_isspace (ch))
                continue;
            if (!g_ascii_isalnum (ch) && ch != '+' && ch != '/' && ch != '=')
                return vi_throw (error, VI_ERROR_INVALID, "%s: content is not valid base64", what);
            clean[j++] = ch;
        }
        clean[j] = '\0';
        if (j % 4 != 0)
            return vi_throw (error, VI_ERROR_INVALID, "%s: content is not valid base64 (length)",
                             what);
        if (j / 4 * 3 > limits->file_max + 3)
            return vi_throw (error, VI_ERROR_INVALID, "%s: content exceeds the limit of %"
                             G_GSIZE_FORMAT " bytes ([limits] file_max)", what, limits->file_max);
        data = g_base64_decode (clean, &len);
        b = g_bytes_new_take (data, len);
    } else {
        b = g_bytes_new (text, strlen (text));
    }
    if (g_bytes_get_size (b) > limits->file_max)
        return vi_throw (error, VI_ERROR_INVALID, "%s: content exceeds the limit of %"
                         G_GSIZE_FORMAT " bytes ([limits] file_max)", what, limits->file_max);
    *out = g_steal_pointer (&b);
    return TRUE;
}

static gboolean
parse_file (ViSpec *spec, xmlNode *node, const ViLimits *limits, GError **error)
{
    g_autofree char *path = NULL;
    g_autofree char *what = NULL;
    g_autoptr(GBytes) content = NULL;
    ViFile *f;
    GError *e = NULL;
    gboolean base64;

    if (!prop_check (node, "path", &path, TRUE, error))
        return FALSE;
    if (!vi_check_guest_path (path, &e))
        return fail_attr (error, e, "file", "path");
    what = g_strdup_printf ("<file path='%s'>", path);
    if (!parse_content (node, what, limits, &content, &base64, error))
        return FALSE;
    f = vi_file_new (path, content);
    f->base64 = base64;
    g_ptr_array_add (spec->files, f);
    return parse_owner_attrs (node, &f->mode, &f->owner, &f->group, error);
}

static gboolean
parse_directory (ViSpec *spec, xmlNode *node, GError **error)
{
    g_autofree char *path = NULL;
    ViDirectory *d;
    GError *e = NULL;

    if (!prop_check (node, "path", &path, TRUE, error))
        return FALSE;
    if (!vi_check_guest_path (path, &e))
        return fail_attr (error, e, "directory", "path");
    d = vi_directory_new (path);
    g_ptr_array_add (spec->directories, d);
    return parse_owner_attrs (node, &d->mode, &d->owner, &d->group, error);
}

static gboolean
parse_address_text (xmlNode *node, const char *iface, char **out, GError **error)
{
    g_autofree char *t = vi_xml_content (node);

    g_strstrip (t);
    if (*t == '\0')
        return vi_throw (error, VI_ERROR_INVALID, "<interface name='%s'>: empty <%s>", iface,
                         node->name);
    *out = g_steal_pointer (&t);
    return TRUE;
}

/* <route to="NETWORK/PREFIX" via="ADDR" metric="N"/>: the syntax; how it
 * fits the interface is check_routes()'s. */
static gboolean
parse_route (ViInterface *iface, xmlNode *node, GError **error)
{
    g_autofree char *to = NULL, *via = NULL, *metric = NULL;
    g_autoptr(GInetAddressMask) mask = NULL;
    g_autoptr(GError) e = NULL;
    g_autoptr(ViRoute) r = g_new0 (ViRoute, 1);
    guint64 m = 0;

    if (!prop_check (node, "to", &to, TRUE, error) || !prop_check (node, "via", &via, TRUE, error) ||
        !prop_check (node, "metric", &metric, FALSE, error))
        return FALSE;
    /* GInetAddressMask refuses host bits beyond the prefix, as ip-route(8) does */
    mask = strchr (to, '/') ? g_inet_address_mask_new_from_string (to, &e) : NULL;
    if (mask == NULL)
        return vi_throw (error, VI_ERROR_INVALID,
                         "<interface name='%s'>: <route>: attribute 'to': '%s' is not a network "
                         "NETWORK/PREFIX without host bits (e.g. 198.51.100.0/24, 0.0.0.0/0)%s%s",
                         iface->name, to, e ? ": " : "", e ? e->message : "");
    r->to = g_inet_address_mask_to_string (mask);
    r->via = g_inet_address_new_from_string (via);
    if (r->via == NULL)
        return vi_throw (error, VI_ERROR_INVALID,
                         "<interface name='%s'>: <route>: attribute 'via': '%s' is not an "
                         "IPv4/IPv6 address", iface->name, via);
    if (metric) {
        if (!g_ascii_string_to_unsigned (metric, 10, 0, G_MAXUINT32, &m, NULL))
            return vi_throw (error, VI_ERROR_INVALID,
                             "<interface name='%s'>: <route>: attribute 'metric': '%s' is not a "
                             "number from 0 to 4294967295", iface->name, metric);
        r->has_metric = TRUE;
        r->metric = (guint32) m;
    }
    g_ptr_array_add (iface->routes, g_steal_pointer (&r));
    return TRUE;
}

/* <mtu> and <search>: given once per interface, and each search domain once. */
static gboolean
parse_mtu_search (ViInterface *iface, xmlNode *node, GError **error)
{
    g_autofree char *t = vi_xml_content (node);
    GError *e = NULL;
    guint64 mtu = 0;

    g_strstrip (t);
    if (vi_xml_is (node, VI_SPEC_NS, "mtu")) {
        if (iface->mtu != 0)
            return vi_throw (error, VI_ERROR_INVALID, "<interface name='%s'>: <mtu> given twice",
                             iface->name);
        if (!g_ascii_string_to_unsigned (t, 10, VI_MTU_MIN, VI_MTU_MAX, &mtu, NULL))
            return vi_throw (error, VI_ERROR_INVALID,
                             "<interface name='%s'>: <mtu> '%s' is not a number from %u to %u",
                             iface->name, t, VI_MTU_MIN, VI_MTU_MAX);
        iface->mtu = (guint) mtu;
        return TRUE;
    }
    if (!vi_check_hostname (t, &e)) {
        vi_throw (error, VI_ERROR_INVALID, "<interface name='%s'>: <search> '%s': %s", iface->name,
                  t, e->message);
        g_error_free (e);
        return FALSE;
    }
    if (g_ptr_array_find_with_equal_func (iface->search, t, g_str_equal, NULL))
        return vi_throw (error, VI_ERROR_INVALID, "<interface name='%s'>: <search> %s given twice",
                         iface->name, t);
    g_ptr_array_add (iface->search, g_steal_pointer (&t));
    return TRUE;
}

static gboolean
parse_interface (ViSpec *spec, xmlNode *node, GError **error)
{
    g_autofree char *name = NULL;
    g_autofree char *mac = vi_xml_prop (node, "mac");
    ViInterface *iface;

    if (!prop_check (node, "name", &name, TRUE, error))
        return FALSE;
    if (*name == '\0' || strlen (name) > 15 || strchr (name, '/') || strchr (name, ':') ||
        g_str_equal (name, ".") || g_str_equal (name, ".."))
        return vi_throw (error, VI_ERROR_INVALID,
                         "<interface>: attribute 'name': '%s' is not a valid interface name "
                         "(1-15 characters, no '/' or ':')", name);
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
            return vi_throw (error, VI_ERROR_INVALID,
                             "<interface>: attribute 'name': '%s' is not a valid interface name",
                             name);
    for (guint i = 0; i < spec->interfaces->len; i++)
        if (g_str_equal (((ViInterface *) spec->interfaces->pdata[i])->name, name))
            return vi_throw (error, VI_ERROR_INVALID, "<interface name='%s'>: interface given twice",
                             name);

    iface = vi_interface_new (name);
    g_ptr_array_add (spec->interfaces, iface);
    if (mac) {
        GError *e = NULL;
        if (!vi_check_mac (mac, &e))
            return fail_attr (error, e, "interface", "mac");
        iface->mac = g_ascii_strdown (mac, -1);
    }

    for (xmlNode *c = node->children; c != NULL; c = c->next) {
        g_autofree char *t = NULL;

        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (vi_xml_is (c, VI_SPEC_NS, "dhcp")) {
            iface->dhcp = TRUE;
            continue;
        }
        if (vi_xml_is (c, VI_SPEC_NS, "route")) {
            if (!parse_route (iface, c, error))
                return FALSE;
            continue;
        }
        if (vi_xml_is (c, VI_SPEC_NS, "mtu") || vi_xml_is (c, VI_SPEC_NS, "search")) {
            if (!parse_mtu_search (iface, c, error))
                return FALSE;
            continue;
        }
        if (!parse_address_text (c, name, &t, error))
            return FALSE;
        if (vi_xml_is (c, VI_SPEC_NS, "address")) {
            char *norm = vi_parse_address_prefix (t);

            if (norm == NULL)
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<interface name='%s'>: <address> '%s' is not an IPv4/IPv6 "
                                 "address with a prefix length (e.g. 192.0.2.10/24)", name, t);
            g_ptr_array_add (iface->addresses, norm);
        } else {
            GInetAddress *a = g_inet_address_new_from_string (t);
            gboolean is_gw = vi_xml_is (c, VI_SPEC_NS, "gateway");

            if (a == NULL)
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<interface name='%s'>: <%s> '%s' is not an IPv4/IPv6 address",
                                 name, c->name, t);
            if (is_gw) {
                for (guint k = 0; k < iface->gateways->len; k++)
                    if (g_inet_address_get_family (iface->gateways->pdata[k]) ==
                        g_inet_address_get_family (a)) {
                        g_object_unref (a);
                        return vi_throw (error, VI_ERROR_INVALID,
                                         "<interface name='%s'>: more than one <gateway> of the "
                                         "same address family", name);
                    }
                g_ptr_array_add (iface->gateways, a);
            } else {
                g_ptr_array_add (iface->nameservers, a);
            }
        }
    }
    return TRUE;
}

/* A <gateway> is the next hop of the default route over the interface's
 * static addresses of its family, so it needs one; and with <dhcp/> the
 * IPv4 default route is the lease's: a static IPv4 gateway as well would
 * give the guest two default routes, chosen differently by each stack
 * (route metrics, or whichever is added first), so it is refused. */
static gboolean
check_gateways (const ViInterface *iface, GError **error)
{
    for (guint k = 0; k < iface->gateways->len; k++) {
        GInetAddress *gw = iface->gateways->pdata[k];
        gboolean v6 = g_inet_address_get_family (gw) == G_SOCKET_FAMILY_IPV6;
        g_autofree char *s = g_inet_address_to_string (gw);
        gboolean has_address = FALSE;

        if (!v6 && iface->dhcp)
            return vi_throw (error, VI_ERROR_INVALID,
                             "<interface name='%s'>: <gateway> %s with <dhcp/>: the DHCP lease "
                             "gives the IPv4 default route; drop one of them", iface->name, s);
        for (guint a = 0; a < iface->addresses->len && !has_address; a++)
            has_address = (strchr (iface->addresses->pdata[a], ':') != NULL) == v6;
        if (!has_address)
            return vi_throw (error, VI_ERROR_INVALID,
                             "<interface name='%s'>: <gateway> %s needs a static IPv%c <address> "
                             "on the interface", iface->name, s, v6 ? '6' : '4');
    }
    return TRUE;
}

/* @a lies inside the "ADDR/PREFIX" @cidr (host bits of @cidr ignored). */
static gboolean
in_prefix (GInetAddress *a, const char *cidr)
{
    const char *slash = strchr (cidr, '/');
    g_autofree char *net_s = g_strndup (cidr, slash - cidr);
    g_autoptr(GInetAddress) net = g_inet_address_new_from_string (net_s);
    guint prefix = (guint) g_ascii_strtoull (slash + 1, NULL, 10);
    const guint8 *x = g_inet_address_to_bytes (a);
    const guint8 *y = g_inet_address_to_bytes (net);

    if (g_inet_address_get_family (a) != g_inet_address_get_family (net))
        return FALSE;
    for (guint bit = 0; bit < prefix; bit++)
        if (((x[bit / 8] ^ y[bit / 8]) >> (7 - bit % 8)) & 1)
            return FALSE;
    return TRUE;
}

/* A <route>'s next hop must be reachable over the interface: inside one of
 * its static prefixes of that family.  With <dhcp/> (DHCPv4), an IPv4
 * next hop is taken as it is: the lease's subnet is not known before boot,
 * and every stack adds the route once the lease is up.  A route to
 * 0.0.0.0/0 or ::/0 beside a <gateway> of its family would be a second
 * default route: refused, as is one to 0.0.0.0/0 with <dhcp/> (the lease
 * gives it), for the reason check_gateways() gives.  And the same
 * destination twice with the same metric: the second "ip route add"
 * fails. */
static gboolean
check_routes (const ViInterface *iface, GError **error)
{
    for (guint k = 0; k < iface->routes->len; k++) {
        const ViRoute *r = iface->routes->pdata[k];
        gboolean v6 = strchr (r->to, ':') != NULL;
        gboolean via_v6 = g_inet_address_get_family (r->via) == G_SOCKET_FAMILY_IPV6;
        g_autofree char *via = g_inet_address_to_string (r->via);
        gboolean reachable = !v6 && iface->dhcp;

        if (v6 != via_v6)
            return vi_throw (error, VI_ERROR_INVALID,
                             "<interface name='%s'>: <route to='%s' via='%s'>: 'to' is IPv%c and "
                             "'via' IPv%c; a route's next hop is of its destination's family",
                             iface->name, r->to, via, v6 ? '6' : '4', via_v6 ? '6' : '4');
        for (guint a = 0; a < iface->addresses->len && !reachable; a++)
            reachable = in_prefix (r->via, iface->addresses->pdata[a]);
        if (!reachable)
            return vi_throw (error, VI_ERROR_INVALID,
                             "<interface name='%s'>: <route to='%s' via='%s'>: %s is not reachable "
                             "from the interface: it is in none of its static IPv%c <address> "
                             "prefixes", iface->name, r->to, via, via, v6 ? '6' : '4');
        if (g_str_has_suffix (r->to, "/0") && !v6 && iface->dhcp)
            return vi_throw (error, VI_ERROR_INVALID,
                             "<interface name='%s'>: <route to='%s'> with <dhcp/>: the DHCP lease "
                             "gives the IPv4 default route; drop one of them", iface->name, r->to);
        for (guint g = 0; g < iface->gateways->len; g++)
            if (g_str_has_suffix (r->to, "/0") &&
                (g_inet_address_get_family (iface->gateways->pdata[g]) ==
                 g_inet_address_get_family (r->via)))
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<interface name='%s'>: <route to='%s'> and <gateway> both give "
                                 "the default route; drop one of them", iface->name, r->to);
        for (guint j = 0; j < k; j++) {
            const ViRoute *o = iface->routes->pdata[j];

            if (g_str_equal (o->to, r->to) && o->has_metric == r->has_metric &&
                o->metric == r->metric)
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<interface name='%s'>: <route to='%s'> given twice with the "
                                 "same metric", iface->name, r->to);
        }
    }
    if (iface->mtu != 0 && iface->mtu < VI_MTU_MIN_IPV6)
        for (guint a = 0; a < iface->addresses->len; a++)
            if (strchr (iface->addresses->pdata[a], ':') != NULL)
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<interface name='%s'>: <mtu> %u with an IPv6 <address>: IPv6 "
                                 "needs an MTU of at least %u (below it the kernel disables IPv6 "
                                 "on the link)", iface->name, iface->mtu, VI_MTU_MIN_IPV6);
    return TRUE;
}

static gboolean
spec_from_node (ViSpec *spec, xmlNode *inject, const ViLimits *limits, GError **error)
{
    g_autofree char *policy = vi_xml_prop (inject, "policy");
    g_autofree char *on_error = vi_xml_prop (inject, "on-error");
    g_autofree char *keep_dropped = vi_xml_prop (inject, "keep-dropped");

    if (policy) {
        int v = vi_policy_from_string (policy);
        if (v < 0)
            return vi_throw (error, VI_ERROR_INVALID,
                             "<inject>: attribute 'policy': unknown value '%s' (once, always)", policy);
        spec->policy = v;
        spec->has_policy = TRUE;
    }
    if (on_error) {
        int v = vi_on_error_from_string (on_error);
        if (v < 0)
            return vi_throw (error, VI_ERROR_INVALID,
                             "<inject>: attribute 'on-error': unknown value '%s' (fail, warn)",
                             on_error);
        spec->on_error = v;
    }
    if (keep_dropped) {
        if (!g_str_equal (keep_dropped, "yes") && !g_str_equal (keep_dropped, "no"))
            return vi_throw (error, VI_ERROR_INVALID,
                             "<inject>: attribute 'keep-dropped': unknown value '%s' (yes, no)",
                             keep_dropped);
        spec->keep_dropped = g_str_equal (keep_dropped, "yes");
    }

    for (xmlNode *c = inject->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (vi_xml_is (c, VI_SPEC_NS, "target")) {
            if (spec->target_disk || spec->target_root)
                return vi_throw (error, VI_ERROR_INVALID, "<target>: given twice");
            spec->target_disk = vi_xml_prop (c, "disk");
            spec->target_root = vi_xml_prop (c, "root");
            if (spec->target_disk && (*spec->target_disk == '\0' || strchr (spec->target_disk, '/')))
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<target>: attribute 'disk': '%s' is not a disk target name (e.g. vda)",
                                 spec->target_disk);
            if (spec->target_root && !g_str_has_prefix (spec->target_root, "/dev/"))
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<target>: attribute 'root': '%s' is not a device (/dev/...)",
                                 spec->target_root);
        } else if (vi_xml_is (c, VI_SPEC_NS, "user")) {
            if (!parse_user (spec, c, error))
                return FALSE;
        } else if (vi_xml_is (c, VI_SPEC_NS, "identity")) {
            g_autofree char *r = vi_xml_prop (c, "reset");

            if (r == NULL || (!g_str_equal (r, "yes") && !g_str_equal (r, "no")))
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<identity>: attribute 'reset': must be \"yes\" or \"no\"");
            spec->identity_reset = g_str_equal (r, "yes");
        } else if (vi_xml_is (c, VI_SPEC_NS, "firstboot")) {
            if (spec->firstboot)
                return vi_throw (error, VI_ERROR_INVALID, "<firstboot>: given twice");
            if (!parse_content (c, "<firstboot>", limits, &spec->firstboot,
                                &spec->firstboot_base64, error))
                return FALSE;
        } else if (vi_xml_is (c, VI_SPEC_NS, "hostname")) {
            g_autofree char *h = vi_xml_content (c);
            GError *e = NULL;

            if (spec->hostname)
                return vi_throw (error, VI_ERROR_INVALID, "<hostname>: given twice");
            g_strstrip (h);
            if (!vi_check_hostname (h, &e))
                return fail_elem (error, e, "hostname");
            spec->hostname = g_steal_pointer (&h);
        } else if (vi_xml_is (c, VI_SPEC_NS, "directory")) {
            if (!parse_directory (spec, c, error))
                return FALSE;
        } else if (vi_xml_is (c, VI_SPEC_NS, "file")) {
            if (!parse_file (spec, c, limits, error))
                return FALSE;
        } else if (vi_xml_is (c, VI_SPEC_NS, "network")) {
            g_autofree char *r = vi_xml_prop (c, "renderer");

            if (spec->has_network)
                return vi_throw (error, VI_ERROR_INVALID, "<network>: given twice");
            spec->has_network = TRUE;
            if (r) {
                int v = vi_net_renderer_from_string (r);
                if (v < 0)
                    return vi_throw (error, VI_ERROR_INVALID,
                                     "<network>: attribute 'renderer': unknown value '%s'", r);
                spec->net_renderer = v;
            }
            for (xmlNode *i = c->children; i != NULL; i = i->next)
                if (vi_xml_is (i, VI_SPEC_NS, "interface") && !parse_interface (spec, i, error))
                    return FALSE;
        } else if (vi_xml_is (c, VI_SPEC_NS, "meta")) {
            ViMeta *m = g_new0 (ViMeta, 1);

            m->key = vi_xml_prop (c, "key");
            m->value = vi_xml_content (c);
            g_ptr_array_add (spec->meta, m);
        } else if (vi_xml_is (c, VI_SPEC_NS, "selinux")) {
            g_autofree char *r = vi_xml_prop (c, "relabel");

            spec->has_selinux = TRUE;
            if (r) {
                int v = vi_selinux_relabel_from_string (r);
                if (v < 0)
                    return vi_throw (error, VI_ERROR_INVALID,
                                     "<selinux>: attribute 'relabel': unknown value '%s'", r);
                spec->selinux = v;
            }
        }
    }
    return vi_spec_validate (spec, limits, error);
}

ViSpec *
vi_spec_from_node (xmlNode *node, const ViLimits *limits, GError **error)
{
    ViLimits defaults;
    g_autoptr(ViSpec) spec = vi_spec_new ();
    guint items = 0;

    if (limits == NULL) {
        vi_limits_init_default (&defaults);
        limits = &defaults;
    }
    if (!vi_xml_is (node, VI_SPEC_NS, VI_SPEC_ELEMENT)) {
        vi_throw (error, VI_ERROR_INVALID, "<%s>: not an <inject> element of namespace %s",
                  node ? (const char *) node->name : "", VI_SPEC_NS);
        return NULL;
    }
    if (!walk_structure (node, &items, limits, error))
        return NULL;
    if (!validate_schema (node, error))
        return NULL;
    if (!spec_from_node (spec, node, limits, error))
        return NULL;
    return g_steal_pointer (&spec);
}

ViSpec *
vi_spec_parse (const char *data, gsize len, const ViLimits *limits, GError **error)
{
    ViLimits defaults;
    g_autoptr(xmlDoc) doc = NULL;
    xmlNode *root;

    if (limits == NULL) {
        vi_limits_init_default (&defaults);
        limits = &defaults;
    }
    doc = vi_xml_parse (data, len, limits->request_max, "request", error);
    if (doc == NULL)
        return NULL;
    root = xmlDocGetRootElement (doc);
    if (!vi_xml_is (root, VI_SPEC_NS, VI_SPEC_ELEMENT)) {
        vi_throw (error, VI_ERROR_INVALID,
                  "<%s>: the request must be an <inject> element of namespace %s",
                  root->name, VI_SPEC_NS);
        return NULL;
    }
    return vi_spec_from_node (root, limits, error);
}

ViSpec *
vi_spec_parse_file (const char *path, const ViLimits *limits, GError **error)
{
    ViLimits defaults;
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) e = NULL;
    g_autoptr(GMappedFile) mf = NULL;
    ViSpec *spec;

    if (limits == NULL) {
        vi_limits_init_default (&defaults);
        limits = &defaults;
    }
    mf = g_mapped_file_new (path, FALSE, &e);
    if (mf == NULL) {
        vi_throw (error, VI_ERROR_INVALID, "%s: %s", path, e->message);
        return NULL;
    }
    len = g_mapped_file_get_length (mf);
    if (len > limits->request_max) {
        vi_throw (error, VI_ERROR_INVALID, "%s: %" G_GSIZE_FORMAT " bytes exceeds the limit of %"
                  G_GSIZE_FORMAT " bytes ([limits] request_max)", path, len, limits->request_max);
        return NULL;
    }
    spec = vi_spec_parse (g_mapped_file_get_contents (mf), len, limits, &e);
    if (spec == NULL) {
        vi_throw (error, e->code, "%s: %s", path, e->message);
        return NULL;
    }
    return spec;
}

xmlNode *
vi_spec_find_in_domain (xmlNode *domain_root)
{
    for (xmlNode *md = domain_root ? domain_root->children : NULL; md; md = md->next) {
        if (!vi_xml_is (md, NULL, "metadata"))
            continue;
        for (xmlNode *c = md->children; c; c = c->next)
            if (vi_xml_is (c, VI_SPEC_NS, VI_SPEC_ELEMENT))
                return c;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Semantic rules over the whole model                                 */

/* The rules of a user's account attributes (README "Users"). */
static gboolean
validate_user_account (const ViUser *u, GError **error)
{
    GError *e = NULL;

    if ((u->create || u->sudo != VI_SUDO_NONE) && !vi_users_check_login_name (u->name, &e))
        return fail_attr (error, e, "user", "name");
    if (u->create && u->has_uid && u->uid == 0)
        return vi_throw (error, VI_ERROR_INVALID, "<user name='%s'>: attribute 'uid': a created "
                         "user may not have uid 0", u->name);
    if (u->group && !vi_check_account_name (u->group, &e))
        return fail_attr (error, e, "user", "group");
    if (u->create && u->group && g_str_equal (u->group, "0"))
        return vi_throw (error, VI_ERROR_INVALID, "<user name='%s'>: attribute 'group': a created "
                         "user may not have gid 0", u->name);
    for (guint i = 0; i < u->groups->len; i++)
        if (!vi_check_account_name (u->groups->pdata[i], &e))
            return fail_attr (error, e, "user", "groups");
    if (u->shell && !vi_check_guest_path (u->shell, &e))
        return fail_attr (error, e, "user", "shell");
    if (u->home && !vi_check_guest_path (u->home, &e))
        return fail_attr (error, e, "user", "home");
    if (u->home && g_str_equal (u->home, "/"))
        return vi_throw (error, VI_ERROR_INVALID, "<user name='%s'>: attribute 'home': \"/\" is "
                         "no home directory", u->name);
    /* sudo reads no file of sudoers.d whose name holds a '.' */
    if (u->sudo != VI_SUDO_NONE && strchr (u->name, '.') != NULL)
        return vi_throw (error, VI_ERROR_INVALID, "<user name='%s'>: <sudo>: sudo ignores a file "
                         "of /etc/sudoers.d whose name contains '.'; give this user sudo with a "
                         "<file> of your own", u->name);
    return TRUE;
}

gboolean
vi_spec_validate (const ViSpec *spec, const ViLimits *limits, GError **error)
{
    ViLimits defaults;
    g_autoptr(GHashTable) paths = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr(GHashTable) keys = g_hash_table_new (g_str_hash, g_str_equal);
    guint items;
    GError *e = NULL;

    if (limits == NULL) {
        vi_limits_init_default (&defaults);
        limits = &defaults;
    }
    items = spec->users->len + spec->files->len + spec->directories->len +
            spec->interfaces->len + spec->meta->len;
    if (items > limits->items_max)
        return vi_throw (error, VI_ERROR_INVALID,
                         "request has more than %u items ([limits] items_max)", limits->items_max);

    for (guint i = 0; i < spec->users->len; i++) {
        const ViUser *u = spec->users->pdata[i];

        if (!vi_check_account_name (u->name, &e))
            return fail_attr (error, e, "user", "name");
        for (guint k = 0; k < u->ssh_keys->len; k++)
            if (!vi_check_ssh_key (u->ssh_keys->pdata[k], TRUE, &e))
                return fail_elem (error, e, "ssh-key");
        if (u->password_kind == VI_PASSWORD_HASH && !vi_check_password_hash (u->password, &e))
            return fail_attr (error, e, "password", "hash");
        if (u->password_kind == VI_PASSWORD_SECRET && !vi_check_secret_name (u->password, &e))
            return fail_attr (error, e, "password", "secret");
        if (!validate_user_account (u, error))
            return FALSE;
    }
    if (spec->hostname && !vi_check_hostname (spec->hostname, &e))
        return fail_elem (error, e, "hostname");
    if (spec->firstboot) {
        gsize len;
        const char *data = g_bytes_get_data (spec->firstboot, &len);
        gsize blank = 0;

        while (blank < len && g_ascii_isspace (data[blank]))
            blank++;
        if (blank == len)
            return vi_throw (error, VI_ERROR_INVALID, "<firstboot>: the script is empty");
        if (len > limits->file_max)
            return vi_throw (error, VI_ERROR_INVALID, "<firstboot>: content exceeds the limit of %"
                             G_GSIZE_FORMAT " bytes ([limits] file_max)", limits->file_max);
        if (!spec->firstboot_base64 && !g_utf8_validate (data, len, NULL))
            return vi_throw (error, VI_ERROR_INVALID,
                             "<firstboot>: text content is not UTF-8 (use encoding=\"base64\")");
    }

    for (guint i = 0; i < spec->directories->len; i++) {
        const ViDirectory *d = spec->directories->pdata[i];

        if (!vi_check_guest_path (d->path, &e))
            return fail_attr (error, e, "directory", "path");
        if (d->mode != VI_MODE_UNSET && d->mode > 07777)
            return vi_throw (error, VI_ERROR_INVALID, "<directory path='%s'>: mode out of range",
                             d->path);
        if (!g_hash_table_add (paths, d->path))
            return vi_throw (error, VI_ERROR_INVALID,
                             "<directory path='%s'>: the same guest path is given twice", d->path);
    }
    for (guint i = 0; i < spec->files->len; i++) {
        const ViFile *f = spec->files->pdata[i];

        if (!vi_check_guest_path (f->path, &e))
            return fail_attr (error, e, "file", "path");
        if (f->mode != VI_MODE_UNSET && f->mode > 07777)
            return vi_throw (error, VI_ERROR_INVALID, "<file path='%s'>: mode out of range", f->path);
        if (g_bytes_get_size (f->content) > limits->file_max)
            return vi_throw (error, VI_ERROR_INVALID,
                             "<file path='%s'>: content exceeds the limit of %" G_GSIZE_FORMAT
                             " bytes ([limits] file_max)", f->path, limits->file_max);
        if (!g_hash_table_add (paths, f->path))
            return vi_throw (error, VI_ERROR_INVALID,
                             "<file path='%s'>: the same guest path is given twice", f->path);
        if (!f->base64 && !g_utf8_validate (g_bytes_get_data (f->content, NULL),
                                            g_bytes_get_size (f->content), NULL))
            return vi_throw (error, VI_ERROR_INVALID,
                             "<file path='%s'>: text content is not UTF-8 (use encoding=\"base64\")",
                             f->path);
    }
    for (guint i = 0; i < spec->meta->len; i++) {
        const ViMeta *m = spec->meta->pdata[i];

        if (m->key == NULL || *m->key == '\0' || strlen (m->key) > 255)
            return vi_throw (error, VI_ERROR_INVALID, "<meta>: attribute 'key' must be 1-255 bytes");
        for (const char *p = m->key; *p; p++)
            if ((guchar) *p < 0x20)
                return vi_throw (error, VI_ERROR_INVALID,
                                 "<meta>: attribute 'key' contains a control character");
        if (!g_hash_table_add (keys, m->key))
            return vi_throw (error, VI_ERROR_INVALID, "<meta key='%s'>: key given twice", m->key);
    }
    for (guint i = 0; i < spec->interfaces->len; i++) {
        const ViInterface *iface = spec->interfaces->pdata[i];

        if (iface->mac && !vi_check_mac (iface->mac, &e))
            return fail_attr (error, e, "interface", "mac");
        if (!iface->dhcp && iface->addresses->len == 0)
            return vi_throw (error, VI_ERROR_INVALID,
                             "<interface name='%s'>: needs <dhcp/> or at least one <address>",
                             iface->name);
        if (!check_gateways (iface, error) || !check_routes (iface, error))
            return FALSE;
    }
    if (spec->has_network && spec->interfaces->len == 0)
        return vi_throw (error, VI_ERROR_INVALID, "<network>: needs at least one <interface>");
    return TRUE;
}

/* ------------------------------------------------------------------ */
/* Canonical form                                                      */

static xmlNode *
add_child (xmlNode *parent, xmlNs *ns, const char *name, const char *text)
{
    return xmlNewTextChild (parent, ns, (const xmlChar *) name, (const xmlChar *) text);
}

static void
set_prop (xmlNode *node, const char *name, const char *value)
{
    if (value != NULL)
        xmlNewProp (node, (const xmlChar *) name, (const xmlChar *) value);
}

static void
set_owner_props (xmlNode *node, guint mode, const char *owner, const char *group)
{
    if (mode != VI_MODE_UNSET) {
        g_autofree char *m = g_strdup_printf ("%04o", mode);
        set_prop (node, "mode", m);
    }
    set_prop (node, "owner", owner);
    set_prop (node, "group", group);
}

/* @with_keep_dropped: FALSE for vi_spec_digest(), the digest of what the
 * request puts into a guest (first boot runs once per digest), which
 * keep-dropped does not change. */
static char *
spec_format (const ViSpec *spec, gboolean with_keep_dropped)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc ((const xmlChar *) "1.0");
    xmlNode *root = xmlNewNode (NULL, (const xmlChar *) VI_SPEC_ELEMENT);
    xmlNs *ns = xmlNewNs (root, (const xmlChar *) VI_SPEC_NS, (const xmlChar *) VI_SPEC_PREFIX);
    xmlBuffer *buf;
    xmlSaveCtxtPtr save;
    g_autofree char *out = NULL;

    xmlSetNs (root, ns);
    xmlDocSetRootElement (doc, root);
    if (spec->has_policy)
        set_prop (root, "policy", vi_policy_to_string (spec->policy));
    set_prop (root, "on-error", vi_on_error_to_string (spec->on_error));
    if (spec->keep_dropped && with_keep_dropped)
        set_prop (root, "keep-dropped", "yes");

    if (spec->target_disk || spec->target_root) {
        xmlNode *t = add_child (root, ns, "target", NULL);
        set_prop (t, "disk", spec->target_disk);
        set_prop (t, "root", spec->target_root);
    }
    for (guint i = 0; i < spec->users->len; i++) {
        const ViUser *u = spec->users->pdata[i];
        xmlNode *un = add_child (root, ns, "user", NULL);

        set_prop (un, "name", u->name);
        if (u->create)
            set_prop (un, "create", "yes");
        if (u->has_uid) {
            g_autofree char *uid = g_strdup_printf ("%u", u->uid);
            set_prop (un, "uid", uid);
        }
        set_prop (un, "group", u->group);
        if (u->groups->len > 0) {
            g_autoptr(GString) groups = g_string_new (NULL);

            for (guint k = 0; k < u->groups->len; k++)
                g_string_append_printf (groups, "%s%s", k ? "," : "", (char *) u->groups->pdata[k]);
            set_prop (un, "groups", groups->str);
        }
        set_prop (un, "shell", u->shell);
        set_prop (un, "home", u->home);
        for (guint k = 0; k < u->ssh_keys->len; k++) {
            const char *key = u->ssh_keys->pdata[k];
            xmlNode *kn = add_child (un, ns, "ssh-key", key);
            if (vi_ssh_key_has_options (key))
                set_prop (kn, "allow-options", "yes");
        }
        if (u->password_kind != VI_PASSWORD_NONE) {
            xmlNode *p = add_child (un, ns, "password", NULL);
            switch (u->password_kind) {
            case VI_PASSWORD_HASH: set_prop (p, "hash", u->password); break;
            case VI_PASSWORD_SECRET: set_prop (p, "secret", u->password); break;
            case VI_PASSWORD_LOCKED: set_prop (p, "locked", "yes"); break;
            case VI_PASSWORD_NONE:
            case VI_PASSWORD_LAST:
            default: g_assert_not_reached ();
            }
        }
        if (u->sudo != VI_SUDO_NONE) {
            xmlNode *sn = add_child (un, ns, "sudo", NULL);
            if (u->sudo == VI_SUDO_NOPASSWD)
                set_prop (sn, "nopasswd", "yes");
        }
    }
    if (spec->identity_reset)
        set_prop (add_child (root, ns, "identity", NULL), "reset", "yes");
    if (spec->firstboot) {
        gsize len;
        const guchar *data = g_bytes_get_data (spec->firstboot, &len);
        g_autofree char *text = spec->firstboot_base64 ? g_base64_encode (data, len)
                                : g_strndup ((const char *) data, len);
        xmlNode *n = add_child (root, ns, "firstboot", text);

        if (spec->firstboot_base64)
            set_prop (n, "encoding", "base64");
    }
    if (spec->hostname)
        add_child (root, ns, "hostname", spec->hostname);
    for (guint i = 0; i < spec->directories->len; i++) {
        const ViDirectory *d = spec->directories->pdata[i];
        xmlNode *n = add_child (root, ns, "directory", NULL);

        set_prop (n, "path", d->path);
        set_owner_props (n, d->mode, d->owner, d->group);
    }
    for (guint i = 0; i < spec->files->len; i++) {
        const ViFile *f = spec->files->pdata[i];
        gsize len;
        const guchar *data = g_bytes_get_data (f->content, &len);
        g_autofree char *text = f->base64 ? g_base64_encode (data, len) : g_strndup ((const char *) data, len);
        xmlNode *n = add_child (root, ns, "file", text);

        set_prop (n, "path", f->path);
        set_owner_props (n, f->mode, f->owner, f->group);
        if (f->base64)
            set_prop (n, "encoding", "base64");
    }
    if (spec->has_network) {
        xmlNode *net = add_child (root, ns, "network", NULL);

        if (spec->net_renderer != VI_RENDERER_AUTO)
            set_prop (net, "renderer", vi_net_renderer_to_string (spec->net_renderer));
        for (guint i = 0; i < spec->interfaces->len; i++) {
            const ViInterface *iface = spec->interfaces->pdata[i];
            xmlNode *in = add_child (net, ns, "interface", NULL);

            set_prop (in, "name", iface->name);
            set_prop (in, "mac", iface->mac);
            if (iface->dhcp)
                add_child (in, ns, "dhcp", NULL);
            for (guint k = 0; k < iface->addresses->len; k++)
                add_child (in, ns, "address", iface->addresses->pdata[k]);
            for (guint k = 0; k < iface->gateways->len; k++) {
                g_autofree char *s = g_inet_address_to_string (iface->gateways->pdata[k]);
                add_child (in, ns, "gateway", s);
            }
            for (guint k = 0; k < iface->nameservers->len; k++) {
                g_autofree char *s = g_inet_address_to_string (iface->nameservers->pdata[k]);
                add_child (in, ns, "nameserver", s);
            }
            for (guint k = 0; k < iface->search->len; k++)
                add_child (in, ns, "search", iface->search->pdata[k]);
            for (guint k = 0; k < iface->routes->len; k++) {
                const ViRoute *r = iface->routes->pdata[k];
                g_autofree char *via = g_inet_address_to_string (r->via);
                g_autofree char *metric = g_strdup_printf ("%u", r->metric);
                xmlNode *rn = add_child (in, ns, "route", NULL);

                set_prop (rn, "to", r->to);
                set_prop (rn, "via", via);
                if (r->has_metric)
                    set_prop (rn, "metric", metric);
            }
            if (iface->mtu != 0) {
                g_autofree char *mtu = g_strdup_printf ("%u", iface->mtu);
                add_child (in, ns, "mtu", mtu);
            }
        }
    }
    for (guint i = 0; i < spec->meta->len; i++) {
        const ViMeta *m = spec->meta->pdata[i];
        xmlNode *n = add_child (root, ns, "meta", m->value);
        set_prop (n, "key", m->key);
    }
    if (spec->has_selinux) {
        xmlNode *n = add_child (root, ns, "selinux", NULL);
        set_prop (n, "relabel", vi_selinux_relabel_to_string (spec->selinux));
    }

    buf = xmlBufferCreate ();
    save = xmlSaveToBuffer (buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
    xmlSaveTree (save, root);
    xmlSaveClose (save);
    out = g_strdup ((const char *) xmlBufferContent (buf));
    xmlBufferFree (buf);
    g_strchomp (out);
    return g_strconcat (out, "\n", NULL);
}

char *
vi_spec_format (const ViSpec *spec)
{
    return spec_format (spec, TRUE);
}

char *
vi_spec_digest (const ViSpec *spec)
{
    g_autofree char *canon = spec_format (spec, FALSE);

    return g_compute_checksum_for_string (G_CHECKSUM_SHA256, canon, -1);
}
