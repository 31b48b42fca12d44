/* vi-config.c: /etc/virt-inject/virt-inject.conf, with defaults.
 *
 * The key table below is the single source of truth: the parser, the
 * defaults and the test that data/virt-inject.conf documents every key all
 * read it.
 */
#include "vi-config.h"

#include <errno.h>
#include <stdlib.h>

#include "vi-error.h"

typedef enum { KEY_UINT, KEY_BOOL, KEY_SIZE, KEY_POLICY, KEY_PATH } KeyType;

typedef struct {
    const char *group;
    const char *key;
    KeyType type;
    gsize offset;
    guint64 min;
    guint64 max;
    const char *alias_of;       /* "group.key" this older name stands for; that one wins */
} ConfigKey;

#define OFF(field) G_STRUCT_OFFSET (ViConfig, field)

static const ConfigKey config_keys[] = {
    { "inject", "timeout", KEY_UINT, OFF (timeout), 1, 86400 },
    { "guestfs", "timeout", KEY_UINT, OFF (timeout), 1, 86400, "inject.timeout" },
    { "guestfs", "memsize", KEY_UINT, OFF (memsize), 128, 65536 },
    { "guestfs", "smp", KEY_UINT, OFF (smp), 1, 64 },
    { "guestfs", "force_tcg", KEY_BOOL, OFF (force_tcg), 0, 1 },
    { "guestfs", "max_parallel", KEY_UINT, OFF (max_parallel), 1, 1024 },
    { "limits", "request_max", KEY_SIZE, OFF (limits.request_max), 1024, 256u * 1024 * 1024 },
    { "limits", "file_max", KEY_SIZE, OFF (limits.file_max), 1, 256u * 1024 * 1024 },
    { "limits", "items_max", KEY_UINT, OFF (limits.items_max), 1, 1000000 },
    { "hook", "default_policy", KEY_POLICY, OFF (default_policy), 0, 0 },
    { "paths", "secrets_dir", KEY_PATH, OFF (secrets_dir), 0, 0 },
    { "paths", "digest_key", KEY_PATH, OFF (digest_key), 0, 0 },
    { "paths", "state_dir", KEY_PATH, OFF (state_dir), 0, 0 },
    { "paths", "run_dir", KEY_PATH, OFF (run_dir), 0, 0 },
};

GStrv
vi_config_known_keys (void)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

    for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
        if (config_keys[i].alias_of == NULL) {
            g_autofree char *name = g_strdup_printf ("%s.%s", config_keys[i].group,
                                                     config_keys[i].key);
            g_strv_builder_add (b, name);
        }
    return g_strv_builder_end (b);
}

ViConfig *
vi_config_new_default (void)
{
    ViConfig *cfg = g_new0 (ViConfig, 1);

    cfg->timeout = 600;
    cfg->memsize = 512;
    cfg->smp = 1;
    cfg->force_tcg = FALSE;
    cfg->max_parallel = 4;
    vi_limits_init_default (&cfg->limits);
    cfg->default_policy = VI_POLICY_ONCE;
    cfg->secrets_dir = g_build_filename (SYSCONFDIR, "virt-inject", "secrets", NULL);
    cfg->digest_key = g_build_filename (SYSCONFDIR, "virt-inject", "digest.key", NULL);
    cfg->state_dir = g_build_filename (LOCALSTATEDIR, "lib", "virt-inject", NULL);
    cfg->run_dir = g_build_filename (RUNSTATEDIR, "virt-inject", NULL);
    return cfg;
}

void
vi_config_free (ViConfig *cfg)
{
    if (cfg == NULL)
        return;
    g_free (cfg->secrets_dir);
    g_free (cfg->digest_key);
    g_free (cfg->state_dir);
    g_free (cfg->run_dir);
    g_free (cfg->path);
    g_free (cfg);
}

static const ConfigKey *
find_key (const char *group, const char *key)
{
    for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
        if (g_str_equal (config_keys[i].group, group) && g_str_equal (config_keys[i].key, key))
            return &config_keys[i];
    return NULL;
}

static gboolean
set_value (ViConfig *cfg, const char *path, const ConfigKey *k, const char *raw, GError **error)
{
    gpointer field = G_STRUCT_MEMBER_P (cfg, k->offset);
    g_autofree char *value = g_strstrip (g_strdup (raw));

    switch (k->type) {
    case KEY_UINT:
    case KEY_SIZE: {
        guint64 v;
        g_autoptr(GError) e = NULL;

        if (!g_ascii_string_to_unsigned (value, 10, k->min, k->max, &v, &e))
            return vi_throw (error, VI_ERROR_INVALID, "%s: [%s] %s: '%s' is not a number from %"
                             G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, path, k->group, k->key,
                             value, k->min, k->max);
        if (k->type == KEY_SIZE)
            *(gsize *) field = v;
        else
            *(guint *) field = (guint) v;
        return TRUE;
    }
    case KEY_BOOL:
        if (g_str_equal (value, "true") || g_str_equal (value, "yes") || g_str_equal (value, "1"))
            *(gboolean *) field = TRUE;
        else if (g_str_equal (value, "false") || g_str_equal (value, "no") || g_str_equal (value, "0"))
            *(gboolean *) field = FALSE;
        else
            return vi_throw (error, VI_ERROR_INVALID, "%s: [%s] %s: '%s' is not true or false",
                             path, k->group, k->key, value);
        return TRUE;
    case KEY_POLICY: {
        int p = vi_policy_from_string (value);
        if (p < 0)
            return vi_throw (error, VI_ERROR_INVALID, "%s: [%s] %s: '%s' is not once or always",
                             path, k->group, k->key, value);
        *(ViPolicy *) field = p;
        return TRUE;
    }
    case KEY_PATH:
        if (!g_path_is_absolute (value))
            return vi_throw (error, VI_ERROR_INVALID, "%s: [%s] %s: '%s' is not an absolute path",
                             path, k->group, k->key, value);
        g_free (*(char **) field);
        *(char **) field = g_steal_pointer (&value);
        return TRUE;
    default:
        g_assert_not_reached ();
    }
}

ViConfig *
vi_config_load (const char *path, GError **error)
{
    g_autoptr(ViConfig) cfg = vi_config_new_default ();
    g_autoptr(GKeyFile) kf = g_key_file_new ();
    g_autoptr(GError) e = NULL;
    g_auto(GStrv) groups = NULL;
    const char *file = path ? path : VI_CONFIG_DEFAULT_PATH;

    if (!g_key_file_load_from_file (kf, file, G_KEY_FILE_NONE, &e)) {
        if (path == NULL && g_error_matches (e, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return g_steal_pointer (&cfg);
        vi_throw (error, VI_ERROR_INVALID, "%s: %s", file, e->message);
        return NULL;
    }
    cfg->path = g_strdup (file);

    groups = g_key_file_get_groups (kf, NULL);
    for (guint g = 0; groups[g] != NULL; g++) {
        g_auto(GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
        gboolean known = FALSE;

        for (gsize i = 0; i < G_N_ELEMENTS (config_keys); i++)
            known |= g_str_equal (config_keys[i].group, groups[g]);
        if (!known) {
            vi_throw (error, VI_ERROR_INVALID, "%s: [%s]: unknown group", file, groups[g]);
            return NULL;
        }
        for (guint i = 0; keys && keys[i] != NULL; i++) {
            const ConfigKey *k = find_key (groups[g], keys[i]);
            g_autofree char *raw = NULL;

            if (k == NULL) {
                vi_throw (error, VI_ERROR_INVALID, "%s: [%s] %s: unknown key", file, groups[g],
                          keys[i]);
                return NULL;
            }
            if (k->alias_of != NULL) {
                g_auto(GStrv) gk = g_strsplit (k->alias_of, ".", 2);

                if (g_key_file_has_key (kf, gk[0], gk[1], NULL))
                    continue;   /* the current name wins over the older one */
            }
            raw = g_key_file_get_value (kf, groups[g], keys[i], NULL);
            if (!set_value (cfg, file, k, raw, error))
                return NULL;
        }
    }
    return g_steal_pointer (&cfg);
}
