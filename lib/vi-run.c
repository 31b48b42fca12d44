/* vi-run.c: dispatch (target, request) to the backend its kind calls for. */
#include "vi-run.h"

#include <json-glib/json-glib.h>

#include "vi-error.h"
#include "vi-image.h"
#include "vi-inject.h"
#include "vi-mount.h"
#include "vi-vfs.h"

typedef struct {
    const ViConfig *cfg;
    const ViTarget *target;
    const ViSpec *spec;
    gboolean dry_run;
    ViProgressFunc progress;
    gpointer progress_data;
} RootfsJob;

static gboolean
inject_rootfs (const char *root_dir, RootfsJob *job, ViInjectResult *out_result, GError **error)
{
    ViInjectOptions opts = { .secrets_dir = job->cfg->secrets_dir };
    g_autoptr(ViVfs) vfs = NULL;

    vfs = vi_vfs_rootfs_open (root_dir, job->target->idmap, error);
    if (vfs == NULL)
        return FALSE;
    if (job->progress)
        job->progress ("write", job->progress_data);
    return vi_inject (job->spec, vfs, &opts, job->dry_run, out_result, error);
}

/* The ViMountFunc: runs in vi_mount_run()'s child, so the result goes back
 * to the parent as text. */
static gboolean
inject_mounted (const char *root_dir, gpointer user_data, char **out_text, GError **error)
{
    g_auto(ViInjectResult) result = { 0 };

    if (!inject_rootfs (root_dir, user_data, &result, error))
        return FALSE;
    *out_text = vi_run_result_format (&result);
    return TRUE;
}

gboolean
vi_run_inject (const ViConfig *cfg, const ViTarget *target, const ViSpec *spec,
               gboolean dry_run, ViProgressFunc progress, gpointer progress_data,
               ViInjectResult *out_result, GError **error)
{
    RootfsJob job = { cfg, target, spec, dry_run, progress, progress_data };
    g_auto(ViInjectResult) result = { 0 };

    switch (target->kind) {
    case VI_TARGET_ROOTFS_DIR:
        if (!inject_rootfs (target->path, &job, &result, error))
            return FALSE;
        break;
    case VI_TARGET_ROOTFS_IMAGE: {
        g_autofree char *text = NULL;

        if (progress)
            progress ("mount", progress_data);
        if (!vi_mount_run (target, inject_mounted, &job, &text, error))
            return FALSE;
        if (!vi_run_result_parse (text ? text : "", -1, &result, error)) {
            g_prefix_error (error, "the mount helper process: ");
            return FALSE;
        }
        break;
    }
    case VI_TARGET_IMAGE:
        if (!vi_image_inject (cfg, target, spec, dry_run, progress, progress_data, &result, error))
            return FALSE;
        break;
    case VI_TARGET_LAST:
    default:
        g_assert_not_reached ();
    }

    if (out_result != NULL) {
        *out_result = result;
        result = (ViInjectResult) { 0 };
    }
    return TRUE;
}

char *
vi_run_result_format (const ViInjectResult *result)
{
    g_autoptr(JsonBuilder) b = json_builder_new ();
    g_autoptr(JsonNode) root = NULL;
    /* JSON strings are UTF-8; a guest path may not be (a home directory
     * from the guest's passwd), and the summary is for people */
    g_autofree char *summary = g_utf8_make_valid (result->summary ? result->summary : "", -1);

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "summary");
    json_builder_add_string_value (b, summary);
    json_builder_set_member_name (b, "autorelabel");
    json_builder_add_boolean_value (b, result->autorelabel);
    json_builder_set_member_name (b, "changes");
    json_builder_add_int_value (b, result->changes);
    json_builder_set_member_name (b, "unchanged");
    json_builder_add_int_value (b, result->unchanged);
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    return json_to_string (root, FALSE);
}

/* The member @name of @obj, a value of @type, or NULL. */
static JsonNode *
member_of_type (JsonObject *obj, const char *name, GType type)
{
    JsonNode *n = json_object_get_member (obj, name);

    if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != type)
        return NULL;
    return n;
}

gboolean
vi_run_result_parse (const char *text, gssize len, ViInjectResult *out_result, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(GError) e = NULL;
    JsonNode *root;
    JsonNode *summary, *autorelabel, *changes, *unchanged;
    JsonObject *obj;

    if (!json_parser_load_from_data (parser, text, len, &e))
        return vi_throw (error, VI_ERROR_FAILED, "unreadable injection result: %s", e->message);
    root = json_parser_get_root (parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        return vi_throw (error, VI_ERROR_FAILED, "unreadable injection result: not an object");
    obj = json_node_get_object (root);
    summary = member_of_type (obj, "summary", G_TYPE_STRING);
    autorelabel = member_of_type (obj, "autorelabel", G_TYPE_BOOLEAN);
    changes = member_of_type (obj, "changes", G_TYPE_INT64);
    unchanged = member_of_type (obj, "unchanged", G_TYPE_INT64);
    if (summary == NULL || autorelabel == NULL || changes == NULL || unchanged == NULL ||
        json_node_get_int (changes) < 0 || json_node_get_int (changes) > G_MAXUINT ||
        json_node_get_int (unchanged) < 0 || json_node_get_int (unchanged) > G_MAXUINT)
        return vi_throw (error, VI_ERROR_FAILED,
                         "unreadable injection result: a string \"summary\", a boolean "
                         "\"autorelabel\" and counts \"changes\" and \"unchanged\" are required");
    out_result->summary = g_strdup (json_node_get_string (summary));
    out_result->autorelabel = json_node_get_boolean (autorelabel);
    out_result->changes = (guint) json_node_get_int (changes);
    out_result->unchanged = (guint) json_node_get_int (unchanged);
    return TRUE;
}
