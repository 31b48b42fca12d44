/* vi-json.h: small helpers for reading JSON that came from elsewhere (a
 * child's result, a guest's record) with json-glib. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * vi_json_value_member:
 * Returns: (transfer none) (nullable): the member @name of @obj when it is
 * a value of @type (G_TYPE_STRING, G_TYPE_INT64, G_TYPE_BOOLEAN...), else
 * %NULL (missing, null, an object or array, another type).
 */
static inline JsonNode *
vi_json_value_member (JsonObject *obj, const char *name, GType type)
{
    JsonNode *n = json_object_get_member (obj, name);

    if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != type)
        return NULL;
    return n;
}

G_END_DECLS
