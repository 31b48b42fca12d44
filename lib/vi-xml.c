/* vi-xml.c: hardened parsing of XML that virt-inject did not write.
 *
 * Threats: external entities (XXE: reading host files such as /etc/shadow
 * into the request), network access during parsing, entity-expansion bombs
 * (billion laughs, quadratic blow-up), and oversize input.  Defence: the
 * input is capped before libxml2 sees it; libxml2 runs with XML_PARSE_NONET
 * and without NOENT/DTDLOAD/DTDATTR; and any DOCTYPE at all is refused after
 * the parse (the request format and libvirt's domain XML never carry one),
 * so no entity declared there is ever used.  Entity references to declared
 * entities are not substituted (no NOENT), and the parse is stopped by an
 * SAX hook as soon as an internal subset is seen, so a bomb costs nothing.
 * Errors are collected from the parser context, never printed.
 */
#include "vi-xml.h"

#include <string.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "vi-error.h"

typedef struct {
    GString *first_error;
    gboolean saw_doctype;
} ParseState;

static void
on_structured_error (void *user_data, xmlErrorPtr err)
{
    ParseState *st = user_data;
    g_autofree char *msg = NULL;

    if (st->first_error->len > 0 || err == NULL || err->level < XML_ERR_ERROR)
        return;
    msg = g_strdup (err->message ? err->message : "parse error");
    g_strchomp (msg);
    g_string_append_printf (st->first_error, "line %d: %s", err->line, msg);
}

static void
on_internal_subset (void *ctx, const xmlChar *name, const xmlChar *external_id,
                    const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    ParseState *st = ctxt->_private;

    st->saw_doctype = TRUE;
    xmlStopParser (ctxt);
}

static void
on_entity_decl (void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                const xmlChar *system_id, xmlChar *content)
{
    xmlParserCtxtPtr ctxt = ctx;
    ParseState *st = ctxt->_private;

    st->saw_doctype = TRUE;
    xmlStopParser (ctxt);
}

xmlDoc *
vi_xml_parse (const char *data, gsize len, gsize max_len, const char *what, GError **error)
{
    ParseState st = { g_string_new (NULL), FALSE };
    xmlParserCtxtPtr ctxt = NULL;
    xmlDoc *doc = NULL;
    const int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOWARNING |
                        XML_PARSE_NOERROR;

    if (len > max_len) {
        g_string_free (st.first_error, TRUE);
        vi_throw (error, VI_ERROR_INVALID, "%s: %" G_GSIZE_FORMAT " bytes exceeds the limit of %"
                  G_GSIZE_FORMAT " bytes ([limits] request_max)", what, len, max_len);
        return NULL;
    }
    if (len > G_MAXINT) {
        g_string_free (st.first_error, TRUE);
        vi_throw (error, VI_ERROR_INVALID, "%s: too large", what);
        return NULL;
    }

    ctxt = xmlNewParserCtxt ();
    if (ctxt == NULL) {
        g_string_free (st.first_error, TRUE);
        vi_throw (error, VI_ERROR_FAILED, "%s: cannot allocate an XML parser", what);
        return NULL;
    }
    ctxt->_private = &st;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->entityDecl = on_entity_decl;
    xmlSetStructuredErrorFunc (&st, on_structured_error);

    doc = xmlCtxtReadMemory (ctxt, data, (int) len, NULL, NULL, options);

    xmlSetStructuredErrorFunc (NULL, NULL);

    if (st.saw_doctype || (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))) {
        vi_throw (error, VI_ERROR_INVALID,
                  "%s: DOCTYPE and entity declarations are not allowed", what);
        g_clear_pointer (&doc, xmlFreeDoc);
    } else if (doc == NULL || !ctxt->wellFormed) {
        vi_throw (error, VI_ERROR_INVALID, "%s: malformed XML: %s", what,
                  st.first_error->len ? st.first_error->str : "parse error");
        g_clear_pointer (&doc, xmlFreeDoc);
    } else if (xmlDocGetRootElement (doc) == NULL) {
        vi_throw (error, VI_ERROR_INVALID, "%s: empty document", what);
        g_clear_pointer (&doc, xmlFreeDoc);
    }

    xmlFreeParserCtxt (ctxt);
    g_string_free (st.first_error, TRUE);
    return doc;
}

char *
vi_xml_prop (xmlNode *node, const char *name)
{
    xmlChar *v = xmlGetNoNsProp (node, (const xmlChar *) name);
    char *ret;

    if (v == NULL)
        return NULL;
    ret = g_strdup ((const char *) v);
    xmlFree (v);
    return ret;
}

char *
vi_xml_content (xmlNode *node)
{
    xmlChar *v = xmlNodeGetContent (node);
    char *ret = g_strdup (v ? (const char *) v : "");

    xmlFree (v);
    return ret;
}

gboolean
vi_xml_is (xmlNode *node, const char *ns, const char *name)
{
    if (node == NULL || node->type != XML_ELEMENT_NODE)
        return FALSE;
    if (!xmlStrEqual (node->name, (const xmlChar *) name))
        return FALSE;
    if (ns == NULL)
        return node->ns == NULL;
    return node->ns != NULL && xmlStrEqual (node->ns->href, (const xmlChar *) ns);
}

xmlNode *
vi_xml_child (xmlNode *node, const char *ns, const char *name)
{
    for (xmlNode *c = node ? node->children : NULL; c != NULL; c = c->next)
        if (vi_xml_is (c, ns, name))
            return c;
    return NULL;
}
