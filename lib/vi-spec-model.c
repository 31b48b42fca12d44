/* vi-spec-model.c: the request's data model: constructors, enum tables,
 * lookup and merge.  Parsing and formatting live in vi-spec.c. */
#include "vi-spec.h"

#include <string.h>

static const char *const policy_names[] = { "once", "always" };
G_STATIC_ASSERT (G_N_ELEMENTS (policy_names) == VI_POLICY_LAST);
static const char *const on_error_names[] = { "fail", "warn" };
G_STATIC_ASSERT (G_N_ELEMENTS (on_error_names) == VI_ON_ERROR_LAST);
static const char *const selinux_names[] = { "auto", "yes", "no" };
G_STATIC_ASSERT (G_N_ELEMENTS (selinux_names) == VI_SELINUX_LAST);
static const char *const renderer_names[] = {
    "auto", "ifupdown", "networkmanager", "netplan", "networkd"
};
G_STATIC_ASSERT (G_N_ELEMENTS (renderer_names) == VI_RENDERER_LAST);

static int
lookup (const char *const *names, gsize n, const char *s)
{
    if (s == NULL)
        return -1;
    for (gsize i = 0; i < n; i++)
        if (g_str_equal (names[i], s))
            return (int) i;
    return -1;
}

const char *vi_policy_to_string (ViPolicy v) { return policy_names[v]; }
int vi_policy_from_string (const char *s) { return lookup (policy_names, G_N_ELEMENTS (policy_names), s); }
const char *vi_on_error_to_string (ViOnError v) { return on_error_names[v]; }
int vi_on_error_from_string (const char *s) { return lookup (on_error_names, G_N_ELEMENTS (on_error_names), s); }
const char *vi_selinux_relabel_to_string (ViSelinuxRelabel v) { return selinux_names[v]; }
int vi_selinux_relabel_from_string (const char *s) { return lookup (selinux_names, G_N_ELEMENTS (selinux_names), s); }
const char *vi_net_renderer_to_string (ViNetRenderer v) { return renderer_names[v]; }
int vi_net_renderer_from_string (const char *s) { return lookup (renderer_names, G_N_ELEMENTS (renderer_names), s); }

void
vi_limits_init_default (ViLimits *limits)
{
    limits->request_max = VI_LIMITS_DEFAULT_REQUEST_MAX;
    limits->file_max = VI_LIMITS_DEFAULT_FILE_MAX;
    limits->items_max = VI_LIMITS_DEFAULT_ITEMS_MAX;
}

ViUser *
vi_user_new (const char *name)
{
    ViUser *u = g_new0 (ViUser, 1);

    u->name = g_strdup (name);
    u->ssh_keys = g_ptr_array_new_with_free_func (g_free);
    u->groups = g_ptr_array_new_with_free_func (g_free);
    return u;
}

void
vi_user_free (ViUser *u)
{
    if (u == NULL)
        return;
    g_free (u->name);
    g_ptr_array_unref (u->ssh_keys);
    g_free (u->password);
    g_free (u->group);
    g_ptr_array_unref (u->groups);
    g_free (u->shell);
    g_free (u->home);
    g_free (u);
}

ViFile *
vi_file_new (const char *path, GBytes *content)
{
    ViFile *f = g_new0 (ViFile, 1);

    f->path = g_strdup (path);
    f->mode = VI_MODE_UNSET;
    f->content = content ? g_bytes_ref (content) : g_bytes_new (NULL, 0);
    return f;
}

void
vi_file_free (ViFile *f)
{
    if (f == NULL)
        return;
    g_free (f->path);
    g_free (f->owner);
    g_free (f->group);
    g_bytes_unref (f->content);
    g_free (f);
}

ViDirectory *
vi_directory_new (const char *path)
{
    ViDirectory *d = g_new0 (ViDirectory, 1);

    d->path = g_strdup (path);
    d->mode = VI_MODE_UNSET;
    return d;
}

void
vi_directory_free (ViDirectory *d)
{
    if (d == NULL)
        return;
    g_free (d->path);
    g_free (d->owner);
    g_free (d->group);
    g_free (d);
}

ViInterface *
vi_interface_new (const char *name)
{
    ViInterface *i = g_new0 (ViInterface, 1);

    i->name = g_strdup (name);
    i->addresses = g_ptr_array_new_with_free_func (g_free);
    i->gateways = g_ptr_array_new_with_free_func (g_object_unref);
    i->nameservers = g_ptr_array_new_with_free_func (g_object_unref);
    i->search = g_ptr_array_new_with_free_func (g_free);
    i->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_route_free);
    return i;
}

void
vi_interface_free (ViInterface *i)
{
    if (i == NULL)
        return;
    g_free (i->name);
    g_free (i->mac);
    g_ptr_array_unref (i->addresses);
    g_ptr_array_unref (i->gateways);
    g_ptr_array_unref (i->nameservers);
    g_ptr_array_unref (i->search);
    g_ptr_array_unref (i->routes);
    g_free (i);
}

void
vi_route_free (ViRoute *r)
{
    if (r == NULL)
        return;
    g_free (r->to);
    g_clear_object (&r->via);
    g_free (r);
}

void
vi_meta_free (ViMeta *m)
{
    if (m == NULL)
        return;
    g_free (m->key);
    g_free (m->value);
    g_free (m);
}

ViSpec *
vi_spec_new (void)
{
    ViSpec *s = g_new0 (ViSpec, 1);

    s->policy = VI_POLICY_ONCE;
    s->on_error = VI_ON_ERROR_FAIL;
    s->users = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_user_free);
    s->directories = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_directory_free);
    s->files = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_file_free);
    s->interfaces = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_interface_free);
    s->meta = g_ptr_array_new_with_free_func ((GDestroyNotify) vi_meta_free);
    s->net_renderer = VI_RENDERER_AUTO;
    s->selinux = VI_SELINUX_AUTO;
    return s;
}

void
vi_spec_free (ViSpec *spec)
{
    if (spec == NULL)
        return;
    g_free (spec->target_disk);
    g_free (spec->target_root);
    g_ptr_array_unref (spec->users);
    g_free (spec->hostname);
    g_clear_pointer (&spec->firstboot, g_bytes_unref);
    g_ptr_array_unref (spec->directories);
    g_ptr_array_unref (spec->files);
    g_ptr_array_unref (spec->interfaces);
    g_ptr_array_unref (spec->meta);
    g_free (spec);
}

ViUser *
vi_spec_find_user (const ViSpec *spec, const char *name)
{
    for (guint i = 0; i < spec->users->len; i++) {
        ViUser *u = spec->users->pdata[i];
        if (g_str_equal (u->name, name))
            return u;
    }
    return NULL;
}

/* The key type and blob of an authorized_keys line: what identifies a key
 * (options and comment do not). */
static char *
ssh_key_identity (const char *line)
{
    g_auto(GStrv) words = g_strsplit_set (line, " \t", -1);

    for (guint i = 0; words[i] != NULL; i++) {
        if (g_str_has_prefix (words[i], "ssh-") || g_str_has_prefix (words[i], "ecdsa-") ||
            g_str_has_prefix (words[i], "sk-")) {
            const char *blob = NULL;
            for (guint j = i + 1; words[j] != NULL; j++)
                if (*words[j] != '\0') {
                    blob = words[j];
                    break;
                }
            return g_strconcat (words[i], " ", blob ? blob : "", NULL);
        }
    }
    return g_strdup (line);
}

/* The account attributes of @src (create, uid, groups, shell, home, sudo)
 * onto @u, replacing those @src gives. */
static void
user_copy_account (ViUser *u, const ViUser *src)
{
    u->create |= src->create;
    if (src->has_uid) {
        u->has_uid = TRUE;
        u->uid = src->uid;
    }
    if (src->group) {
        g_free (u->group);
        u->group = g_strdup (src->group);
    }
    if (src->groups->len > 0) {
        g_ptr_array_set_size (u->groups, 0);
        for (guint i = 0; i < src->groups->len; i++)
            g_ptr_array_add (u->groups, g_strdup (src->groups->pdata[i]));
    }
    if (src->shell) {
        g_free (u->shell);
        u->shell = g_strdup (src->shell);
    }
    if (src->home) {
        g_free (u->home);
        u->home = g_strdup (src->home);
    }
    if (src->sudo != VI_SUDO_NONE)
        u->sudo = src->sudo;
}

static ViUser *
user_copy (const ViUser *src)
{
    ViUser *u = vi_user_new (src->name);

    for (guint i = 0; i < src->ssh_keys->len; i++)
        g_ptr_array_add (u->ssh_keys, g_strdup (src->ssh_keys->pdata[i]));
    u->password_kind = src->password_kind;
    u->password = g_strdup (src->password);
    user_copy_account (u, src);
    return u;
}

static ViFile *
file_copy (const ViFile *src)
{
    ViFile *f = vi_file_new (src->path, src->content);

    f->mode = src->mode;
    f->owner = g_strdup (src->owner);
    f->group = g_strdup (src->group);
    f->base64 = src->base64;
    return f;
}

static ViDirectory *
directory_copy (const ViDirectory *src)
{
    ViDirectory *d = vi_directory_new (src->path);

    d->mode = src->mode;
    d->owner = g_strdup (src->owner);
    d->group = g_strdup (src->group);
    return d;
}

static ViInterface *
interface_copy (const ViInterface *src)
{
    ViInterface *i = vi_interface_new (src->name);

    i->mac = g_strdup (src->mac);
    i->dhcp = src->dhcp;
    for (guint k = 0; k < src->addresses->len; k++)
        g_ptr_array_add (i->addresses, g_strdup (src->addresses->pdata[k]));
    for (guint k = 0; k < src->gateways->len; k++)
        g_ptr_array_add (i->gateways, g_object_ref (src->gateways->pdata[k]));
    for (guint k = 0; k < src->nameservers->len; k++)
        g_ptr_array_add (i->nameservers, g_object_ref (src->nameservers->pdata[k]));
    for (guint k = 0; k < src->search->len; k++)
        g_ptr_array_add (i->search, g_strdup (src->search->pdata[k]));
    for (guint k = 0; k < src->routes->len; k++) {
        const ViRoute *r = src->routes->pdata[k];
        ViRoute *c = g_new0 (ViRoute, 1);

        c->to = g_strdup (r->to);
        c->via = g_object_ref (r->via);
        c->has_metric = r->has_metric;
        c->metric = r->metric;
        g_ptr_array_add (i->routes, c);
    }
    i->mtu = src->mtu;
    return i;
}

/* Remove from @arr the item whose path (first struct member) is @path. */
static void
remove_path (GPtrArray *arr, const char *path)
{
    for (guint i = 0; i < arr->len; i++) {
        const char *const *p = arr->pdata[i];
        if (g_str_equal (*p, path)) {
            g_ptr_array_remove_index (arr, i);
            return;
        }
    }
}

void
vi_spec_merge (ViSpec *dest, const ViSpec *src)
{
    if (src->has_policy) {
        dest->policy = src->policy;
        dest->has_policy = TRUE;
    }
    dest->keep_dropped = dest->keep_dropped || src->keep_dropped;
    if (src->target_disk)
        g_free (dest->target_disk), dest->target_disk = g_strdup (src->target_disk);
    if (src->target_root)
        g_free (dest->target_root), dest->target_root = g_strdup (src->target_root);

    for (guint i = 0; i < src->users->len; i++) {
        const ViUser *su = src->users->pdata[i];
        ViUser *du = vi_spec_find_user (dest, su->name);

        if (du == NULL) {
            g_ptr_array_add (dest->users, user_copy (su));
            continue;
        }
        for (guint k = 0; k < su->ssh_keys->len; k++) {
            g_autofree char *id = ssh_key_identity (su->ssh_keys->pdata[k]);
            gboolean present = FALSE;

            for (guint j = 0; j < du->ssh_keys->len && !present; j++) {
                g_autofree char *other = ssh_key_identity (du->ssh_keys->pdata[j]);
                present = g_str_equal (id, other);
            }
            if (!present)
                g_ptr_array_add (du->ssh_keys, g_strdup (su->ssh_keys->pdata[k]));
        }
        if (su->password_kind != VI_PASSWORD_NONE) {
            du->password_kind = su->password_kind;
            g_free (du->password);
            du->password = g_strdup (su->password);
        }
        user_copy_account (du, su);
    }

    if (src->hostname)
        g_free (dest->hostname), dest->hostname = g_strdup (src->hostname);
    dest->identity_reset = dest->identity_reset || src->identity_reset;
    if (src->firstboot) {
        g_clear_pointer (&dest->firstboot, g_bytes_unref);
        dest->firstboot = g_bytes_ref (src->firstboot);
        dest->firstboot_base64 = src->firstboot_base64;
    }

    for (guint i = 0; i < src->directories->len; i++) {
        const ViDirectory *d = src->directories->pdata[i];
        remove_path (dest->directories, d->path);
        remove_path (dest->files, d->path);
        g_ptr_array_add (dest->directories, directory_copy (d));
    }
    for (guint i = 0; i < src->files->len; i++) {
        const ViFile *f = src->files->pdata[i];
        remove_path (dest->files, f->path);
        remove_path (dest->directories, f->path);
        g_ptr_array_add (dest->files, file_copy (f));
    }

    if (src->has_network) {
        dest->has_network = TRUE;
        if (src->net_renderer != VI_RENDERER_AUTO)
            dest->net_renderer = src->net_renderer;
        for (guint i = 0; i < src->interfaces->len; i++) {
            const ViInterface *si = src->interfaces->pdata[i];
            remove_path (dest->interfaces, si->name);
            g_ptr_array_add (dest->interfaces, interface_copy (si));
        }
    }

    for (guint i = 0; i < src->meta->len; i++) {
        const ViMeta *m = src->meta->pdata[i];
        ViMeta *copy = g_new0 (ViMeta, 1);

        remove_path (dest->meta, m->key);
        copy->key = g_strdup (m->key);
        copy->value = g_strdup (m->value);
        g_ptr_array_add (dest->meta, copy);
    }

    if (src->has_selinux) {
        dest->has_selinux = TRUE;
        dest->selinux = src->selinux;
    }
}
