/* vi-xml.h: the one way virt-inject parses XML it did not write.
 *
 * Domain XML reaches the hook from libvirt, spec files from users; both are
 * untrusted.  vi_xml_parse() uses libxml2 with XML_PARSE_NONET, never loads a
 * DTD or external entity, refuses any DOCTYPE or entity declaration outright
 * (so an expansion bomb fails in microseconds instead of being expanded),
 * caps the input size, and reports the first error as one line.
 */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)

/**
 * vi_xml_parse:
 * @data: the document
 * @len: its length in bytes
 * @max_len: the cap; larger input is refused before parsing (message names the limit)
 * @what: a noun for messages ("domain XML", "spec file /path")
 * @error: VI_ERROR_INVALID
 *
 * Returns: (transfer full): the document, or %NULL with @error set.
 */
xmlDoc *vi_xml_parse (const char *data, gsize len, gsize max_len, const char *what, GError **error);

/**
 * vi_xml_prop:
 * Returns: (transfer full) (nullable): attribute @name (no namespace) of @node,
 * as a g_malloc'ed string (not xmlChar*), or %NULL when absent.
 */
char *vi_xml_prop (xmlNode *node, const char *name);

/**
 * vi_xml_content:
 * Returns: (transfer full): the text content of @node, g_malloc'ed.
 */
char *vi_xml_content (xmlNode *node);

/**
 * vi_xml_child:
 * Returns: (transfer none) (nullable): the first element child of @node
 * named @name (with no namespace when @ns is %NULL, else namespace URI @ns).
 */
xmlNode *vi_xml_child (xmlNode *node, const char *ns, const char *name);

/** vi_xml_is: whether @node is an element named @name in namespace @ns (%NULL: none). */
gboolean vi_xml_is (xmlNode *node, const char *ns, const char *name);

G_END_DECLS
