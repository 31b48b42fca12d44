/* vi-spec.h: the injection request.
 *
 * The request is the <inject> element of namespace VI_SPEC_NS, either a
 * standalone "spec file" or found by namespace URI (never by prefix: libvirt
 * rewrites prefixes) inside a domain's <metadata>.  Parsing goes through the
 * hardened parser of vi-xml.h (no DTD, no entities, no network, size caps),
 * then xml/virt-inject.rng, then the semantic rules of DESIGN.md.  Any
 * violation is a VI_ERROR_INVALID whose message names the element, the
 * attribute and the reason; a request is either wholly valid or rejected.
 *
 * The canonical form (vi_spec_format) is what the ledger hashes: the same
 * request gives the same digest whatever prefix, attribute order, whitespace
 * or base64 line wrapping it was written with.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define VI_SPEC_NS "http://virt-inject.org/xmlns/libvirt/domain/1.0"
#define VI_SPEC_ELEMENT "inject"
#define VI_SPEC_PREFIX "vi"       /* prefix used when formatting */

typedef enum { VI_POLICY_ONCE, VI_POLICY_ALWAYS, VI_POLICY_LAST } ViPolicy;
typedef enum { VI_ON_ERROR_FAIL, VI_ON_ERROR_WARN, VI_ON_ERROR_LAST } ViOnError;
typedef enum { VI_SELINUX_AUTO, VI_SELINUX_YES, VI_SELINUX_NO, VI_SELINUX_LAST } ViSelinuxRelabel;

typedef enum {
    VI_PASSWORD_NONE,       /* no <password>: leave the account alone */
    VI_PASSWORD_HASH,       /* hash="$y$...": written as is */
    VI_PASSWORD_SECRET,     /* secret="NAME": /etc/virt-inject/secrets/NAME hashed at injection */
    VI_PASSWORD_LOCKED,     /* locked="yes": the account is locked */
    VI_PASSWORD_LAST
} ViPasswordKind;

typedef enum {
    VI_SUDO_NONE,           /* no <sudo>: sudoers left alone */
    VI_SUDO_YES,            /* <sudo/>: NAME ALL=(ALL:ALL) ALL */
    VI_SUDO_NOPASSWD,       /* <sudo nopasswd="yes"/>: ... NOPASSWD: ALL */
    VI_SUDO_LAST
} ViSudo;

typedef enum {
    VI_RENDERER_AUTO,
    VI_RENDERER_IFUPDOWN,
    VI_RENDERER_NETWORKMANAGER,
    VI_RENDERER_NETPLAN,
    VI_RENDERER_NETWORKD,
    VI_RENDERER_LAST
} ViNetRenderer;

/* enum <-> string, as they appear in the XML ("once", "networkmanager"...).
 * _from_string returns -1 for an unknown string. */
const char *vi_policy_to_string (ViPolicy v);
int vi_policy_from_string (const char *s);
const char *vi_on_error_to_string (ViOnError v);
int vi_on_error_from_string (const char *s);
const char *vi_selinux_relabel_to_string (ViSelinuxRelabel v);
int vi_selinux_relabel_from_string (const char *s);
const char *vi_net_renderer_to_string (ViNetRenderer v);
int vi_net_renderer_from_string (const char *s);

#define VI_MODE_UNSET ((guint) -1)  /* mode attribute absent */

typedef struct {
    char *name;                 /* guest user name */
    GPtrArray *ssh_keys;        /* (element-type utf8): one validated key line each */
    ViPasswordKind password_kind;
    char *password;             /* the hash (HASH) or secret name (SECRET); NULL otherwise */
    gboolean create;            /* create="yes": made when missing from the guest */
    gboolean has_uid;           /* uid= given... */
    guint32 uid;                /* ...and its value */
    char *group;                /* primary group, name or number; NULL when absent */
    GPtrArray *groups;          /* (element-type utf8): groups= supplementary groups */
    char *shell;                /* login shell, guest-absolute; NULL when absent */
    char *home;                 /* home directory, guest-absolute; NULL when absent */
    ViSudo sudo;
} ViUser;

typedef struct {
    char *path;                 /* guest-absolute, normalized */
    guint mode;                 /* VI_MODE_UNSET when absent (default 0755) */
    char *owner;                /* guest user name or number; NULL = root */
    char *group;                /* guest group name or number; NULL = owner's group / root */
} ViDirectory;

typedef struct {
    char *path;                 /* guest-absolute, normalized */
    guint mode;                 /* VI_MODE_UNSET when absent (default 0644) */
    char *owner;
    char *group;
    GBytes *content;            /* decoded content */
    gboolean base64;            /* encoding="base64" (kept for the canonical form) */
} ViFile;

/* <route to= via= metric=>: a static route over the interface. */
typedef struct {
    char *to;                   /* normalized "NETWORK/PREFIX", no host bits (0.0.0.0/0, ::/0 allowed) */
    GInetAddress *via;          /* the next hop, of the family of @to */
    gboolean has_metric;
    guint32 metric;             /* when @has_metric */
} ViRoute;

#define VI_MTU_MIN 68u          /* RFC 791's minimum */
#define VI_MTU_MAX 65535u
#define VI_MTU_MIN_IPV6 1280u   /* RFC 8200: below it the kernel disables IPv6 on the link */

typedef struct {
    char *name;                 /* guest interface name, e.g. "eth0" */
    char *mac;                  /* lower-case "52:54:00:12:34:56", or NULL */
    gboolean dhcp;              /* <dhcp/> */
    GPtrArray *addresses;       /* (element-type utf8): normalized "ADDRESS/PREFIX" (host bits kept) */
    GPtrArray *gateways;        /* (element-type GInetAddress): at most one per family */
    GPtrArray *nameservers;     /* (element-type GInetAddress) */
    GPtrArray *search;          /* (element-type utf8): DNS search domains, in order, distinct */
    GPtrArray *routes;          /* (element-type ViRoute) */
    guint mtu;                  /* 0 = not set, else VI_MTU_MIN..VI_MTU_MAX */
} ViInterface;

typedef struct {
    char *key;
    char *value;
} ViMeta;

typedef struct {
    ViPolicy policy;            /* VI_POLICY_ONCE when absent... */
    gboolean has_policy;        /* ...but then [hook] default_policy applies */
    ViOnError on_error;
    gboolean keep_dropped;      /* keep-dropped="yes": take back nothing the guest record
                                 * holds that this request no longer asks for */

    char *target_disk;          /* <target disk=>, or NULL */
    char *target_root;          /* <target root=>, or NULL */

    GPtrArray *users;           /* (element-type ViUser) */
    gboolean identity_reset;    /* <identity reset="yes"/>: a clone gets its own identity */
    GBytes *firstboot;          /* <firstboot>: the script run once at first boot, decoded; or NULL */
    gboolean firstboot_base64;  /* encoding="base64" (kept for the canonical form) */
    char *hostname;             /* or NULL */
    GPtrArray *directories;     /* (element-type ViDirectory) */
    GPtrArray *files;           /* (element-type ViFile) */

    gboolean has_network;       /* <network> present */
    ViNetRenderer net_renderer;
    GPtrArray *interfaces;      /* (element-type ViInterface) */

    GPtrArray *meta;            /* (element-type ViMeta), keys unique, in request order */

    gboolean has_selinux;       /* <selinux> present */
    ViSelinuxRelabel selinux;   /* VI_SELINUX_AUTO when absent */
} ViSpec;

/* Caps applied while parsing ([limits] in the config). */
typedef struct {
    gsize request_max;          /* bytes of the whole request / document; default 4 MiB */
    gsize file_max;             /* decoded bytes of one <file>; default 1 MiB */
    guint items_max;            /* elements in one request; default 4096 */
} ViLimits;

#define VI_LIMITS_DEFAULT_REQUEST_MAX (4u * 1024 * 1024)
#define VI_LIMITS_DEFAULT_FILE_MAX (1u * 1024 * 1024)
#define VI_LIMITS_DEFAULT_ITEMS_MAX 4096u

/** vi_limits_init_default: fill @limits with the defaults above. */
void vi_limits_init_default (ViLimits *limits);

/**
 * vi_spec_new:
 * Returns: (transfer full): an empty request (policy once, on-error fail,
 * every array allocated and empty), for building requests in code (CLI quick
 * options, tests).
 */
ViSpec *vi_spec_new (void);
void vi_spec_free (ViSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViSpec, vi_spec_free)

/* Element constructors/destructors; arrays of a ViSpec own their elements. */
ViUser *vi_user_new (const char *name);
void vi_user_free (ViUser *u);
ViFile *vi_file_new (const char *path, GBytes *content);
void vi_file_free (ViFile *f);
ViDirectory *vi_directory_new (const char *path);
void vi_directory_free (ViDirectory *d);
ViInterface *vi_interface_new (const char *name);
void vi_interface_free (ViInterface *i);
void vi_route_free (ViRoute *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViRoute, vi_route_free)
void vi_meta_free (ViMeta *m);

/**
 * vi_spec_find_user:
 * Returns: (transfer none) (nullable): the user entry named @name.
 */
ViUser *vi_spec_find_user (const ViSpec *spec, const char *name);

/**
 * vi_spec_parse:
 * @data: a standalone <inject> document (spec file contents)
 * @len: its length
 * @limits: (nullable): caps; %NULL for the defaults
 * @error: VI_ERROR_INVALID naming element, attribute and reason
 *
 * Parses, validates against the schema, then semantically.
 *
 * Returns: (transfer full): the request, or %NULL with @error set.
 */
ViSpec *vi_spec_parse (const char *data, gsize len, const ViLimits *limits, GError **error);

/**
 * vi_spec_parse_file:
 * Like vi_spec_parse() on the contents of @path (read with the request cap).
 */
ViSpec *vi_spec_parse_file (const char *path, const ViLimits *limits, GError **error);

/**
 * vi_spec_from_node:
 * @node: an element of namespace VI_SPEC_NS named "inject", inside any
 *   document already parsed by vi_xml_parse() (e.g. a domain's <metadata>)
 *
 * Validates and converts @node (schema + semantic rules).
 * Returns: (transfer full): the request, or %NULL with @error set.
 */
struct _xmlNode;
ViSpec *vi_spec_from_node (struct _xmlNode *node, const ViLimits *limits, GError **error);

/**
 * vi_spec_find_in_domain:
 * @domain_root: the <domain> element of a parsed domain XML
 *
 * Returns: (transfer none) (nullable): the <inject> element of our namespace
 * that is a child of <metadata>, whatever its prefix; %NULL when absent.
 */
struct _xmlNode *vi_spec_find_in_domain (struct _xmlNode *domain_root);

/**
 * vi_spec_validate:
 * Re-checks the semantic rules on a request built in code (the CLI's quick
 * options, `metadata set` merges).  vi_spec_parse() already calls it.
 * Returns: %TRUE when valid, else %FALSE with VI_ERROR_INVALID.
 */
gboolean vi_spec_validate (const ViSpec *spec, const ViLimits *limits, GError **error);

/**
 * vi_spec_format:
 * Returns: (transfer full): the canonical XML of @spec: prefix "vi", fixed
 * attribute order, children grouped in schema order (target, user, identity,
 * firstboot, hostname, directory, file, network, meta, selinux), request order kept inside each
 * group, base64 content re-encoded unwrapped, two-space indentation, and a
 * trailing newline.  Parsing the result gives an equal request.
 */
char *vi_spec_format (const ViSpec *spec);

/**
 * vi_spec_digest:
 * Returns: (transfer full): lower-case hex SHA-256 of vi_spec_format(@spec)
 * without keep-dropped (which changes nothing the request puts in a guest).
 */
char *vi_spec_digest (const ViSpec *spec);

/**
 * vi_spec_merge:
 * @dest: the request to update
 * @src: requests to merge in (CLI quick options)
 *
 * Adds @src's items to @dest: SSH keys already present are not added again,
 * a file or directory path given again replaces the old item, a password,
 * hostname, first-boot script, meta key or interface given again replaces
 * the old one; a user's account attributes (uid, group, groups, shell,
 * home, sudo) given again replace the old ones, and create="yes" stays; an
 * identity reset given stays.
 */
void vi_spec_merge (ViSpec *dest, const ViSpec *src);

G_END_DECLS
